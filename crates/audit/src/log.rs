//! The audit log on the store: appends that keep the Merkle tree's interior
//! nodes beside the events, and proofs that read O(log n) nodes.

use std::collections::HashMap;

use lanyard_store::{AuditEntry, Store, StoreError, Tx};

use crate::merkle::{self, Fetched, Frontier, Hash, ProofError, Recorder};

/// A log operation failed.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    /// The store failed.
    #[error("{0}")]
    Store(StoreError),
    /// An index or size beyond the log.
    #[error("index or size beyond the audit log")]
    OutOfRange,
    /// A node the tree needs is missing or malformed: the log was damaged.
    #[error("audit tree node {index} at level {level} is missing or damaged")]
    MissingNode {
        /// Level of the node.
        level: u32,
        /// Index of the node at that level.
        index: u64,
    },
    /// The transaction carrying these events was abandoned before it
    /// reported; whether it committed is unknown, so the caller must not
    /// proceed as if it had.
    #[error("the audit append was abandoned before it was known to be durable")]
    Abandoned,
    /// A write carried no audit event, so it was not committed.
    #[error("a write without an audit event was refused (not committed)")]
    Unaudited,
    /// A write changed tagged rows after its last audit event, so no event
    /// could record them; it was not committed.
    #[error("a write changed tagged rows that no audit event records (not committed)")]
    Unstamped,
}

impl LogError {
    /// The database under the log cannot be reached or cannot write for
    /// now (down, restarting, disk full): nothing was appended.
    pub fn is_unavailable(&self) -> bool {
        matches!(self, LogError::Store(s) if s.is_unavailable())
    }
}

impl From<StoreError> for LogError {
    fn from(e: StoreError) -> Self {
        LogError::Store(e)
    }
}

fn to_hashes(positions: &[(u32, u64)], rows: Vec<Option<Vec<u8>>>) -> Result<Vec<Hash>, LogError> {
    positions
        .iter()
        .zip(rows)
        .map(|(&(level, index), row)| {
            row.and_then(|b| <[u8; 32]>::try_from(b).ok()).ok_or(LogError::MissingNode { level, index })
        })
        .collect()
}

/// Appends events and the tree nodes they complete, in the caller's
/// transaction; returns the index of the first event.
pub async fn append(tx: &mut Tx, entries: &[AuditEntry]) -> Result<u64, LogError> {
    let first = tx.append_audit(entries).await?;
    let size = u64::try_from(first).map_err(|_| LogError::OutOfRange)?;
    let positions = Frontier::positions(size);
    let hashes = to_hashes(&positions, tx.audit_nodes(&positions).await?)?;
    let mut frontier = Frontier::new(size, hashes).ok_or(LogError::OutOfRange)?;
    let mut nodes = Vec::new();
    for (_, leaf) in entries {
        nodes.extend(frontier.push(*leaf));
    }
    tx.insert_audit_nodes(&nodes).await?;
    Ok(size)
}

/// Number of events in the log.
pub async fn size(store: &Store) -> Result<u64, LogError> {
    u64::try_from(store.audit_len().await?).map_err(|_| LogError::OutOfRange)
}

async fn fetched(store: &Store, positions: Vec<(u32, u64)>) -> Result<Fetched, LogError> {
    let hashes = to_hashes(&positions, store.audit_nodes(&positions).await?)?;
    Ok(Fetched(positions.into_iter().zip(hashes).collect::<HashMap<_, _>>()))
}

fn missing<E>(e: ProofError<E>) -> LogError {
    match e {
        ProofError::OutOfRange => LogError::OutOfRange,
        ProofError::Source(_) => LogError::MissingNode { level: 0, index: 0 },
    }
}

/// The root of the first `size` events.
pub async fn root(store: &Store, size: u64) -> Result<Hash, LogError> {
    if size > self::size(store).await? {
        return Err(LogError::OutOfRange);
    }
    let recorder = Recorder::default();
    let _ = merkle::root(&recorder, size);
    let nodes = fetched(store, recorder.positions()).await?;
    merkle::root(&nodes, size).map_err(|_| LogError::MissingNode { level: 0, index: 0 })
}

/// The inclusion proof of event `index` in the tree of `size`, and its leaf hash.
pub async fn inclusion(store: &Store, index: u64, size: u64) -> Result<(Hash, Vec<Hash>), LogError> {
    if size > self::size(store).await? {
        return Err(LogError::OutOfRange);
    }
    let recorder = Recorder::default();
    merkle::inclusion_proof(&recorder, index, size).map_err(missing)?;
    let mut positions = recorder.positions();
    positions.push((0, index));
    let nodes = fetched(store, positions).await?;
    let proof = merkle::inclusion_proof(&nodes, index, size).map_err(missing)?;
    let leaf = nodes.0.get(&(0, index)).copied().ok_or(LogError::MissingNode { level: 0, index })?;
    Ok((leaf, proof))
}

/// The inclusion proofs of many events in the tree of `size`, each with its
/// leaf hash, in the order of `indexes`.
///
/// One proof at a time costs a round trip per event, so an export of a
/// long log took minutes. The nodes a set of proofs needs lie, at each
/// level, in a few runs of neighbours (the events' own ancestors' siblings
/// and the right edge's subtrees), so this reads each run with one range
/// query: O(log n) queries for a page of events rather than one per event.
pub async fn inclusions(store: &Store, indexes: &[u64], size: u64) -> Result<Vec<(Hash, Vec<Hash>)>, LogError> {
    if size > self::size(store).await? {
        return Err(LogError::OutOfRange);
    }
    let recorder = Recorder::default();
    for &index in indexes {
        merkle::inclusion_proof(&recorder, index, size).map_err(missing)?;
        let _ = merkle::NodeSource::node(&recorder, 0, index);
    }
    let mut positions = recorder.positions();
    positions.sort_unstable();
    let mut nodes = HashMap::with_capacity(positions.len());
    for (level, from, count) in runs(&positions) {
        let (start, len) = (i64::try_from(from), i64::try_from(count));
        let (Ok(start), Ok(len)) = (start, len) else { return Err(LogError::OutOfRange) };
        let hashes = store.audit_hash_range(level, start, len).await?;
        if hashes.len() as u64 != count {
            // A range read cannot say which node is missing; one read by
            // position can, so the damage is named where it is.
            let run: Vec<(u32, u64)> = (from..from + count).map(|i| (level, i)).collect();
            to_hashes(&run, store.audit_nodes(&run).await?)?;
            return Err(LogError::MissingNode { level, index: from });
        }
        for (i, h) in (from..).zip(hashes) {
            let h = <[u8; 32]>::try_from(h).map_err(|_| LogError::MissingNode { level, index: i })?;
            nodes.insert((level, i), h);
        }
    }
    let nodes = Fetched(nodes);
    indexes
        .iter()
        .map(|&index| {
            let proof = merkle::inclusion_proof(&nodes, index, size).map_err(missing)?;
            let leaf = nodes.0.get(&(0, index)).copied().ok_or(LogError::MissingNode { level: 0, index })?;
            Ok((leaf, proof))
        })
        .collect()
}

/// Sorted positions as `(level, first index, count)` runs to read. Gaps
/// of up to `GAP` nodes are read through: a few extra hashes cost less
/// than another query.
fn runs(sorted: &[(u32, u64)]) -> Vec<(u32, u64, u64)> {
    const GAP: u64 = 32;
    let mut out: Vec<(u32, u64, u64)> = Vec::new();
    for &(level, index) in sorted {
        match out.last_mut() {
            Some((l, from, count)) if *l == level && index - (*from + *count) <= GAP => {
                *count = index - *from + 1;
            }
            _ => out.push((level, index, 1)),
        }
    }
    out
}

/// The consistency proof from `old_size` to `new_size`.
pub async fn consistency(store: &Store, old_size: u64, new_size: u64) -> Result<Vec<Hash>, LogError> {
    if new_size > self::size(store).await? {
        return Err(LogError::OutOfRange);
    }
    let recorder = Recorder::default();
    merkle::consistency_proof(&recorder, old_size, new_size).map_err(missing)?;
    let nodes = fetched(store, recorder.positions()).await?;
    merkle::consistency_proof(&nodes, old_size, new_size).map_err(missing)
}
