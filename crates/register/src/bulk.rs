//! Bulk import: a pipeline in one transaction. A worker thread parses and
//! seals the next chunk of records on every core while this task writes the
//! last one; the database writer is the bottleneck.

use std::collections::HashSet;

use lanyard_core::{PersonId, PersonRecord};
use lanyard_crypto::Vault;
use lanyard_store::AuditEntry;

use crate::error::{ErrorKind, RegisterError};
use crate::register::{ImportOutcome, Operator, Register};
use crate::write::{SealedPerson, duplicate_or, encode_event, seal_new, write_event};

/// People per unit of import work: sealed together, written together.
pub(crate) const IMPORT_CHUNK: usize = 2000;

/// One chunk of an import, sealed and ready to write: input line, sealed
/// person, audit event.
pub(crate) type SealedChunk = Vec<(usize, SealedPerson, AuditEntry)>;

/// Where an import's records come from, a chunk at a time.
pub trait RecordSource: Send {
    /// Up to `max` records with their input lines; `None` when there are no more.
    fn next_chunk(&mut self, max: usize) -> Option<Vec<(usize, PersonRecord)>>;

    /// How many input rows were refused so far.
    fn refused(&self) -> usize {
        0
    }
}

impl RecordSource for std::vec::IntoIter<(usize, PersonRecord)> {
    fn next_chunk(&mut self, max: usize) -> Option<Vec<(usize, PersonRecord)>> {
        let chunk: Vec<_> = self.by_ref().take(max.max(1)).collect();
        if chunk.is_empty() { None } else { Some(chunk) }
    }
}

impl<R: std::io::Read + Send> RecordSource for crate::import::Parser<R> {
    fn next_chunk(&mut self, max: usize) -> Option<Vec<(usize, PersonRecord)>> {
        crate::import::Parser::next_chunk(self, max)
    }

    fn refused(&self) -> usize {
        self.errors().len()
    }
}

/// Seals a chunk of records on all cores, with their audit events.
pub(crate) fn seal_chunk(
    vault: &Vault,
    op: &Operator,
    records: &[(usize, PersonRecord)],
    now_ms: i64,
) -> Result<SealedChunk, RegisterError> {
    let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1).min(8);
    let per_thread = records.len().div_ceil(threads).max(1);
    let parts: Vec<Result<SealedChunk, RegisterError>> = std::thread::scope(|s| {
        let handles: Vec<_> = records
            .chunks(per_thread)
            .map(|part| {
                s.spawn(move || {
                    part.iter()
                        .map(|(line, r)| {
                            let sp = seal_new(vault, PersonId::new(), r, false, now_ms / 1000)?;
                            let event = encode_event(&write_event(op, "person.create", now_ms, &sp));
                            Ok((*line, sp, event))
                        })
                        .collect()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join().unwrap_or_else(|_| Err(RegisterError::new(ErrorKind::Internal("a sealing thread failed"))))
            })
            .collect()
    });
    let mut chunk = SealedChunk::with_capacity(records.len());
    for part in parts {
        chunk.extend(part?);
    }
    Ok(chunk)
}

impl Register {
    /// Imports validated records (photos already normalised) in one
    /// transaction. Records whose service number is already registered are
    /// left alone and reported, which makes a repeated import a no-op.
    pub async fn import(
        &self,
        op: &Operator,
        records: Vec<(usize, PersonRecord)>,
        now_ms: i64,
        progress: &(dyn Fn(u64) + Sync),
    ) -> Result<ImportOutcome, RegisterError> {
        let (outcome, _) = self.import_from(op, records.into_iter(), false, now_ms, progress).await?;
        Ok(outcome)
    }

    /// Imports from a source read chunk by chunk, in one transaction: a
    /// worker thread reads and seals the next chunk while this task writes
    /// the last one (the database writer is one thread, so that is where the
    /// time goes). With `strict`, a source that refused any row rolls the
    /// whole import back. The source is handed back for its error list.
    pub async fn import_from<S: RecordSource + 'static>(
        &self,
        op: &Operator,
        source: S,
        strict: bool,
        now_ms: i64,
        progress: &(dyn Fn(u64) + Sync),
    ) -> Result<(ImportOutcome, S), RegisterError> {
        let mut outcome = ImportOutcome::default();
        let (sender, mut receiver) = tokio::sync::mpsc::channel::<Result<SealedChunk, RegisterError>>(4);
        let vault = self.vault()?;
        let worker_op = op.clone();
        let worker = std::thread::spawn(move || {
            let mut source = source;
            while let Some(part) = source.next_chunk(IMPORT_CHUNK) {
                let chunk = seal_chunk(&vault, &worker_op, &part, now_ms);
                let failed = chunk.is_err();
                if sender.blocking_send(chunk).is_err() || failed {
                    break;
                }
            }
            source
        });
        let mut tx = self.ledger.begin().await?;
        let (mut waited, mut wrote) = (std::time::Duration::ZERO, std::time::Duration::ZERO);
        loop {
            let t = std::time::Instant::now();
            let Some(chunk) = receiver.recv().await else { break };
            waited += t.elapsed();
            let t = std::time::Instant::now();
            let chunk = chunk?;
            let in_chunk = chunk.len() as u64;
            let indexes: Vec<Vec<u8>> =
                chunk.iter().map(|(_, sp, _)| sp.row.sn_index.clone().unwrap_or_default()).collect();
            let taken: HashSet<Vec<u8>> = tx.tx().taken_service_indexes(&indexes).await?.into_iter().collect();
            let (mut people, mut sealed, mut events) = (Vec::new(), Vec::new(), Vec::new());
            for ((line, sp, event), index) in chunk.into_iter().zip(indexes) {
                if taken.contains(&index) {
                    outcome.already_registered.push(line);
                    continue;
                }
                outcome.imported.push(PersonId::from_uuid(sp.row.id));
                people.push(sp.row);
                sealed.extend(sp.sealed);
                events.push(event);
            }
            tx.tx().insert_people(&people).await.map_err(duplicate_or)?;
            tx.tx().insert_sealed(&sealed).await?;
            tx.append_encoded(&events).await?;
            progress(in_chunk);
            wrote += t.elapsed();
        }
        let source = worker.join().map_err(|_| RegisterError::new(ErrorKind::Internal("the sealing thread failed")))?;
        if strict && source.refused() > 0 {
            drop(tx);
            return Ok((ImportOutcome { rolled_back: true, ..outcome }, source));
        }
        if tx.events() == 0 {
            // Everyone was registered already: nothing was written.
            return Ok((outcome, source));
        }
        let t = std::time::Instant::now();
        tx.commit().await?;
        tracing::debug!(
            people = outcome.imported.len(),
            waited_for_sealing_ms = waited.as_millis() as u64,
            writing_ms = wrote.as_millis() as u64,
            commit_ms = t.elapsed().as_millis() as u64,
            "import committed"
        );
        Ok((outcome, source))
    }
}
