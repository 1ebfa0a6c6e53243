//! Whole-log passes (`audit verify`, breach scoping) read millions of events
//! in order. They get the log as a stream of pages filled by a reader of its
//! own, so reading and the caller's work overlap on two cores.
//!
//! On SQLite the reader is a read-only rusqlite connection on a blocking
//! thread, stepping one statement over the range: sqlx hands each row across
//! threads, which made a 10-million-event scan take minutes where this takes
//! seconds. A read transaction sees one snapshot, and the log is append-only,
//! so the pages are exactly the events `[from, to)`. On PostgreSQL the reader
//! is a task paging by key through the pool.
//!
//! Reconciliation reads every person with their sealed compartments the
//! same way ([`Store::people_pages`]): on SQLite one statement joining the
//! two tables in key order, so each person and their compartments come from
//! one snapshot.

use rusqlite::{Connection, OpenFlags};
use tokio::sync::mpsc;

use crate::error::{StoreError, StoreErrorKind};
use crate::rows::{AuditRow, PersonRow, SealedRow};
use crate::store::{Pool, Store};

/// Events per page.
const PAGE: usize = 4096;
/// Pages read ahead of the caller.
const AHEAD: usize = 4;

/// Pages of audit events in index order.
pub struct AuditPages {
    rx: mpsc::Receiver<Result<Vec<AuditRow>, StoreError>>,
}

impl AuditPages {
    /// The next page; `None` once the range is done. After an error there
    /// are no more pages.
    pub async fn next(&mut self) -> Option<Result<Vec<AuditRow>, StoreError>> {
        self.rx.recv().await
    }

    /// The same, for a plain thread (never call it on an async runtime's).
    pub fn blocking_next(&mut self) -> Option<Result<Vec<AuditRow>, StoreError>> {
        self.rx.blocking_recv()
    }
}

fn scan_failed(e: rusqlite::Error) -> StoreError {
    StoreError::new(StoreErrorKind::Unreachable(format!("reading the audit log: {e}")))
}

/// A person's row with their sealed compartments.
pub type PersonWithSealed = (PersonRow, Vec<SealedRow>);

/// Pages of people, in id order, each with their sealed compartments.
pub struct PeoplePages {
    rx: mpsc::Receiver<Result<Vec<PersonWithSealed>, StoreError>>,
}

impl PeoplePages {
    /// The next page; `None` once every person is read. After an error
    /// there are no more pages.
    pub async fn next(&mut self) -> Option<Result<Vec<PersonWithSealed>, StoreError>> {
        self.rx.recv().await
    }
}

fn people_failed(e: impl std::fmt::Display) -> StoreError {
    StoreError::new(StoreErrorKind::Unreachable(format!("reading the people: {e}")))
}

fn read_people_sqlite(
    path: &std::path::Path,
    tx: &mpsc::Sender<Result<Vec<PersonWithSealed>, StoreError>>,
) -> Result<(), StoreError> {
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)
        .map_err(people_failed)?;
    conn.busy_timeout(std::time::Duration::from_secs(5)).map_err(people_failed)?;
    let mut stmt = conn
        .prepare(
            "SELECT p.id, p.status, p.protected, p.created_at, p.updated_at, p.row_version, p.sn_index, \
             p.surname_index, p.email_index, s.compartment, s.ck_version, s.key_version, s.wrapped_key, s.fields \
             FROM people p LEFT JOIN sealed s ON s.person_id = p.id ORDER BY p.id, s.compartment",
        )
        .map_err(people_failed)?;
    let mut rows = stmt.query([]).map_err(people_failed)?;
    let mut page: Vec<PersonWithSealed> = Vec::with_capacity(PEOPLE_PAGE);
    while let Some(row) = rows.next().map_err(people_failed)? {
        let id_bytes: Vec<u8> = row.get(0).map_err(people_failed)?;
        let id = uuid::Uuid::from_slice(&id_bytes).map_err(people_failed)?;
        if page.last().is_none_or(|(p, _)| p.id != id) {
            if page.len() == PEOPLE_PAGE {
                let full = std::mem::replace(&mut page, Vec::with_capacity(PEOPLE_PAGE));
                if tx.blocking_send(Ok(full)).is_err() {
                    return Ok(());
                }
            }
            let status: String = row.get(1).map_err(people_failed)?;
            let person = PersonRow {
                id,
                status: status.try_into().map_err(people_failed)?,
                protected: row.get(2).map_err(people_failed)?,
                created_at: row.get(3).map_err(people_failed)?,
                updated_at: row.get(4).map_err(people_failed)?,
                row_version: row.get(5).map_err(people_failed)?,
                sn_index: row.get(6).map_err(people_failed)?,
                surname_index: row.get(7).map_err(people_failed)?,
                email_index: row.get(8).map_err(people_failed)?,
            };
            page.push((person, Vec::new()));
        }
        let compartment: Option<String> = row.get(9).map_err(people_failed)?;
        if let (Some(compartment), Some((_, sealed))) = (compartment, page.last_mut()) {
            sealed.push(SealedRow {
                person_id: id,
                compartment,
                ck_version: row.get(10).map_err(people_failed)?,
                key_version: row.get(11).map_err(people_failed)?,
                wrapped_key: row.get(12).map_err(people_failed)?,
                fields: row.get(13).map_err(people_failed)?,
            });
        }
    }
    if !page.is_empty() {
        let _ = tx.blocking_send(Ok(page));
    }
    Ok(())
}

/// People per page.
const PEOPLE_PAGE: usize = 2000;

fn read_sqlite(
    path: &std::path::Path,
    from: i64,
    to: i64,
    leaf_hashes: bool,
    tx: &mpsc::Sender<Result<Vec<AuditRow>, StoreError>>,
) -> Result<(), StoreError> {
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)
        .map_err(scan_failed)?;
    conn.busy_timeout(std::time::Duration::from_secs(5)).map_err(scan_failed)?;
    let mut stmt = conn
        .prepare(if leaf_hashes {
            "SELECT idx, event, leaf_hash FROM audit_log WHERE idx >= ?1 AND idx < ?2 ORDER BY idx"
        } else {
            "SELECT idx, event, X'' FROM audit_log WHERE idx >= ?1 AND idx < ?2 ORDER BY idx"
        })
        .map_err(scan_failed)?;
    let mut rows = stmt.query([from, to]).map_err(scan_failed)?;
    let mut page = Vec::with_capacity(PAGE);
    while let Some(row) = rows.next().map_err(scan_failed)? {
        page.push(AuditRow {
            idx: row.get(0).map_err(scan_failed)?,
            event: row.get(1).map_err(scan_failed)?,
            leaf_hash: row.get(2).map_err(scan_failed)?,
        });
        if page.len() == PAGE {
            let full = std::mem::replace(&mut page, Vec::with_capacity(PAGE));
            if tx.blocking_send(Ok(full)).is_err() {
                // The caller stopped listening.
                return Ok(());
            }
        }
    }
    if !page.is_empty() {
        let _ = tx.blocking_send(Ok(page));
    }
    Ok(())
}

impl Store {
    /// Events `[from, to)` as a stream of pages, read ahead of the caller.
    /// Without `leaf_hashes`, each row's `leaf_hash` is left empty (on
    /// SQLite), for passes that only read the events.
    pub fn audit_pages(&self, from: i64, to: i64, leaf_hashes: bool) -> AuditPages {
        let (tx, rx) = mpsc::channel(AHEAD);
        match (&self.pool, &self.sqlite_path) {
            (Pool::Sqlite(_), Some(path)) => {
                let path = path.clone();
                tokio::task::spawn_blocking(move || {
                    if let Err(e) = read_sqlite(&path, from, to, leaf_hashes, &tx) {
                        let _ = tx.blocking_send(Err(e));
                    }
                });
            }
            _ => {
                let store = self.clone();
                tokio::spawn(async move {
                    let mut next = from;
                    while next < to {
                        let limit = (to - next).min(PAGE as i64);
                        match store.audit_rows(next, limit).await {
                            Ok(rows) => {
                                let Some(last) = rows.last() else { break };
                                next = last.idx + 1;
                                if tx.send(Ok(rows)).await.is_err() {
                                    break;
                                }
                            }
                            Err(e) => {
                                let _ = tx.send(Err(e)).await;
                                break;
                            }
                        }
                    }
                });
            }
        }
        AuditPages { rx }
    }

    /// Every person with their sealed compartments, in id order, as a
    /// stream of pages read ahead of the caller.
    pub fn people_pages(&self) -> PeoplePages {
        let (tx, rx) = mpsc::channel(AHEAD);
        match (&self.pool, &self.sqlite_path) {
            (Pool::Sqlite(_), Some(path)) => {
                let path = path.clone();
                tokio::task::spawn_blocking(move || {
                    if let Err(e) = read_people_sqlite(&path, &tx) {
                        let _ = tx.blocking_send(Err(e));
                    }
                });
            }
            _ => {
                let store = self.clone();
                tokio::spawn(async move {
                    let mut after = None;
                    loop {
                        let page = match store.people_with_sealed(after).await {
                            Ok(page) => page,
                            Err(e) => {
                                let _ = tx.send(Err(e)).await;
                                break;
                            }
                        };
                        let Some((last, _)) = page.last() else { break };
                        after = Some(last.id);
                        if tx.send(Ok(page)).await.is_err() {
                            break;
                        }
                    }
                });
            }
        }
        PeoplePages { rx }
    }

    /// One page of people after `after`, with their compartments.
    async fn people_with_sealed(&self, after: Option<uuid::Uuid>) -> Result<Vec<PersonWithSealed>, StoreError> {
        let people = self.people_page(after, PEOPLE_PAGE as i64).await?;
        let ids: Vec<uuid::Uuid> = people.iter().map(|p| p.id).collect();
        let names = lanyard_core::Compartment::ALL.map(|c| c.as_str());
        let mut sealed: std::collections::HashMap<uuid::Uuid, Vec<SealedRow>> = std::collections::HashMap::new();
        for s in self.sealed(&ids, &names).await? {
            sealed.entry(s.person_id).or_default().push(s);
        }
        Ok(people
            .into_iter()
            .map(|p| {
                let mine = sealed.remove(&p.id).unwrap_or_default();
                (p, mine)
            })
            .collect())
    }
}
