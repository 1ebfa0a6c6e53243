//! The ledger: the one handle beneath the services. It owns the store and
//! the group committer, so every service (register, cards, supply, access)
//! reaches its own tables and the audit log the same way, and none reaches
//! through another.
//!
//! - [`Ledger::record`] is for events not tied to a data write (reads,
//!   finds, refusals): group-committed, durable when it returns.
//! - [`Ledger::begin`] opens a write. A [`Write`] commits only if it carries
//!   at least one audit event, appended in the same transaction as the rows,
//!   so a change and its event are durable together or not at all, and a
//!   write that forgot its event is refused rather than committed.

use std::sync::{Arc, OnceLock};

use lanyard_crypto::RowAuth;
use lanyard_store::{AuditEntry, Authenticated, NoteKeyRow, Store, Tx};

use crate::group::GroupCommitter;
use crate::integrity::{IntegrityError, RowCheck};
use crate::log::{self, LogError};
use crate::{Actor, Event, Outcome, RowWrite, leaf_hash};

/// The store and the audit log, shared by the services.
#[derive(Clone)]
pub struct Ledger {
    store: Store,
    committer: Arc<GroupCommitter>,
    // Set once, when the register opens with its keys; shared by clones.
    // Until then no row can be tagged or checked, and none is used.
    rows: Arc<OnceLock<RowAuth>>,
}

impl std::fmt::Debug for Ledger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Ledger")
    }
}

/// An event in the bytes the log stores, with its leaf hash.
pub fn encode(event: &Event) -> AuditEntry {
    let bytes = event.to_bytes();
    let hash = leaf_hash(&bytes);
    (bytes, hash)
}

impl Ledger {
    /// The ledger over `store`; one per process and store, shared by clones.
    pub fn new(store: Store) -> Self {
        let committer = Arc::new(GroupCommitter::new(store.clone()));
        Ledger { store, committer, rows: Arc::default() }
    }

    /// Loads the row-integrity key (the register does, as it opens). A
    /// second call keeps the first key.
    pub fn install_row_auth(&self, auth: RowAuth) {
        // Ignored if set: one key per process and store.
        let _ = self.rows.set(auth);
    }

    fn row_auth(&self) -> Result<&RowAuth, IntegrityError> {
        self.rows.get().ok_or(IntegrityError::NoKey)
    }

    /// Tags `row` for writing.
    pub fn tag<R: Authenticated>(&self, row: &mut R) -> Result<(), IntegrityError> {
        let tag = self.row_auth()?.tag(R::TABLE, &row.canonical())?;
        row.set_tag(tag.to_vec());
        Ok(())
    }

    /// A tag over `bytes` that lanyard keeps outside the store (the
    /// watch's replayed log, `domain` naming what it is), under the
    /// row-integrity key: a file in the data directory is trusted no more
    /// than a row is. `domain` is kept apart from every table name.
    pub fn tag_bytes(&self, domain: &str, bytes: &[u8]) -> Result<[u8; 32], IntegrityError> {
        Ok(self.row_auth()?.tag(&format!("state:{domain}"), bytes)?)
    }

    /// Whether `tag` is [`Ledger::tag_bytes`]'s tag of `bytes`.
    pub fn check_bytes(&self, domain: &str, bytes: &[u8], tag: &[u8]) -> Result<bool, IntegrityError> {
        Ok(self.row_auth()?.verify(&format!("state:{domain}"), bytes, tag)?)
    }

    /// What `row`'s tag says, recording nothing (for `audit verify`).
    pub fn inspect<R: Authenticated>(&self, row: &R) -> Result<RowCheck, IntegrityError> {
        let Some(tag) = row.tag() else { return Ok(RowCheck::Untagged) };
        Ok(if self.row_auth()?.verify(R::TABLE, &row.canonical(), tag)? { RowCheck::Valid } else { RowCheck::Mismatch })
    }

    /// `row`, if its tag verifies. If not, an `integrity.failure` event
    /// naming the table and the row's id is recorded and the row refused.
    pub async fn check<R: Authenticated>(&self, row: R, now_ms: i64) -> Result<R, IntegrityError> {
        match self.inspect(&row)?.failure(&row) {
            None => Ok(row),
            Some(e) => Err(self.refuse(e, now_ms).await),
        }
    }

    /// Every row of `rows`, if every tag verifies; the first that fails is
    /// recorded and refuses the whole answer.
    pub async fn check_all<R: Authenticated>(&self, rows: Vec<R>, now_ms: i64) -> Result<Vec<R>, IntegrityError> {
        for row in &rows {
            if let Some(e) = self.inspect(row)?.failure(row) {
                return Err(self.refuse(e, now_ms).await);
            }
        }
        Ok(rows)
    }

    /// As [`Ledger::check`], for an optional row.
    pub async fn check_opt<R: Authenticated>(&self, row: Option<R>, now_ms: i64) -> Result<Option<R>, IntegrityError> {
        match row {
            Some(r) => self.check(r, now_ms).await.map(Some),
            None => Ok(None),
        }
    }

    async fn refuse(&self, e: IntegrityError, now_ms: i64) -> IntegrityError {
        let detail = match &e {
            IntegrityError::Altered { table, id, what } => {
                serde_json::json!({ "table": table, "id": id, "found": what })
            }
            _ => return e,
        };
        let mut ev = Event::new(now_ms, Actor::system(), "integrity.failure", Outcome::Error);
        ev.detail = Some(detail);
        match self.record(&[ev]).await {
            Ok(_) => e,
            Err(log) => IntegrityError::Log(log),
        }
    }

    /// The store, for a service's reads of its own tables.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Appends events, group-committed with any concurrent ones, and
    /// returns the leaf index of the first once it is durable.
    pub async fn record(&self, events: &[Event]) -> Result<u64, Arc<LogError>> {
        self.committer.append(events.iter().map(encode).collect()).await
    }

    /// The same for events that carry sealed notes, with the notes' keys:
    /// an event and its note key are durable together or not at all.
    pub async fn record_noted(&self, events: &[Event], notes: Vec<NoteKeyRow>) -> Result<u64, Arc<LogError>> {
        self.committer.append_noted(events.iter().map(encode).collect(), notes).await
    }

    /// Opens a write: rows and their audit events in one transaction.
    // The one place a service's write transaction is opened (clippy.toml).
    #[allow(clippy::disallowed_methods)]
    pub async fn begin(&self) -> Result<Write, LogError> {
        Ok(Write { tx: self.store.begin().await?, pending: Vec::new(), events: 0 })
    }
}

/// A write in progress. Dropped without [`Write::commit`], it rolls back.
///
/// Events given to [`Write::append`] are held until the write commits (or
/// until pre-encoded events follow them), so that the first of them can
/// carry every tagged row the write changed, whatever the order of the
/// service's calls.
pub struct Write {
    tx: Tx,
    pending: Vec<Event>,
    events: u64,
}

impl Write {
    /// The transaction, for the service's row writes.
    pub fn tx(&mut self) -> &mut Tx {
        &mut self.tx
    }

    /// Adds events to this write; they are appended to the log, in order,
    /// in this transaction.
    pub async fn append(&mut self, events: &[Event]) -> Result<(), LogError> {
        self.pending.extend_from_slice(events);
        self.events += events.len() as u64;
        Ok(())
    }

    /// The same for events already encoded (an import encodes them on the
    /// threads that seal). They cannot carry row writes: the events before
    /// them are appended first, with the rows changed so far.
    pub async fn append_encoded(&mut self, entries: &[AuditEntry]) -> Result<(), LogError> {
        self.flush().await?;
        log::append(&mut self.tx, entries).await?;
        self.events += entries.len() as u64;
        Ok(())
    }

    /// Appends the held events, the first carrying the rows changed so far.
    async fn flush(&mut self) -> Result<(), LogError> {
        let Some(first) = self.pending.first_mut() else { return Ok(()) };
        first.rows.extend(self.tx.take_stamps().iter().map(RowWrite::from));
        let entries: Vec<AuditEntry> = self.pending.drain(..).map(|e| encode(&e)).collect();
        log::append(&mut self.tx, &entries).await?;
        Ok(())
    }

    /// Commits a write that records nothing new about anyone, and so
    /// carries no event: one of the few kinds named in [`Housekeeping`].
    /// (A session's touch or expiry changes its row without a record:
    /// `audit verify` reconciles sessions only against their endings.)
    pub async fn commit_housekeeping(mut self, _what: Housekeeping) -> Result<(), LogError> {
        self.tx.take_stamps();
        Ok(self.tx.commit().await?)
    }

    /// How many events this write carries so far.
    pub fn events(&self) -> u64 {
        self.events
    }

    /// Commits the rows and their events. A write that appended no event
    /// is rolled back and refused: no change goes unrecorded. So is one
    /// that changed tagged rows after its last event.
    pub async fn commit(mut self) -> Result<(), LogError> {
        if self.events == 0 {
            return Err(LogError::Unaudited);
        }
        self.flush().await?;
        if !self.tx.take_stamps().is_empty() {
            return Err(LogError::Unstamped);
        }
        Ok(self.tx.commit().await?)
    }
}

/// The writes that carry no audit event, named so that each is visible
/// where it is made and reviewable here.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Housekeeping {
    /// A signed checkpoint of the log: derived from the log, and itself
    /// the evidence.
    Checkpoint,
    /// A session's last-seen time, at most once a minute.
    SessionTouch,
    /// An expired or disabled user's session removed on sight.
    SessionExpiry,
    /// A backup loaded into an empty store: rows and events restored as
    /// they were, the restore itself recorded once the store is open.
    Restore,
}
