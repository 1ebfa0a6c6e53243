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

use rusqlite::{Connection, OpenFlags};
use tokio::sync::mpsc;

use crate::error::{StoreError, StoreErrorKind};
use crate::rows::AuditRow;
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
}
