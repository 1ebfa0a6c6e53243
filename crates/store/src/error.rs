//! The store's one error. Messages name tables and constraints, never values.

/// A store operation failed.
#[derive(Debug, thiserror::Error)]
#[error("{kind}")]
pub struct StoreError {
    kind: StoreErrorKind,
}

/// What failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreErrorKind {
    /// The database could not be reached or opened.
    #[error("cannot reach the database: {0}")]
    Unreachable(String),
    /// A uniqueness rule was broken; names the constraint.
    #[error("conflict: {0} already exists")]
    Conflict(String),
    /// The disk under the database is full, or failed a write: nothing
    /// was written.
    #[error("the database cannot write to its disk (full, or failing: code {0}); nothing was changed")]
    Full(String),
    /// Migrations could not be applied.
    #[error("database migration failed: {0}")]
    Migration(String),
    /// A row holds something this version cannot read.
    #[error("database holds an unreadable row: {0}")]
    Corrupt(String),
    /// Any other database failure.
    #[error("database error: {0}")]
    Database(String),
}

impl StoreError {
    pub(crate) fn new(kind: StoreErrorKind) -> Self {
        StoreError { kind }
    }

    /// What failed.
    pub fn kind(&self) -> &StoreErrorKind {
        &self.kind
    }

    /// The database cannot be reached or cannot write for now (down,
    /// restarting, disk full): nothing was changed, and the same request
    /// may succeed later.
    pub fn is_unavailable(&self) -> bool {
        matches!(self.kind, StoreErrorKind::Unreachable(_) | StoreErrorKind::Full(_))
    }

    /// A uniqueness or optimistic-concurrency conflict.
    pub fn is_conflict(&self) -> bool {
        matches!(self.kind, StoreErrorKind::Conflict(_))
    }

    pub(crate) fn corrupt(what: impl Into<String>) -> Self {
        StoreError::new(StoreErrorKind::Corrupt(what.into()))
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        match &e {
            sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::new(StoreErrorKind::Conflict(
                db.constraint().map(str::to_owned).unwrap_or_else(|| "a unique value".to_owned()),
            )),
            sqlx::Error::Database(db)
                if is_full(db.code().as_deref(), db.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some()) =>
            {
                StoreError::new(StoreErrorKind::Full(db.code().unwrap_or_default().into_owned()))
            }
            // PostgreSQL shutting down or restarting (57P01-57P03), or a
            // connection failure (class 08): the server is going away.
            sqlx::Error::Database(db) if db.code().is_some_and(|c| c.starts_with("57P") || c.starts_with("08")) => {
                StoreError::new(StoreErrorKind::Unreachable(format!(
                    "the database is restarting or down ({})",
                    db.code().unwrap_or_default()
                )))
            }
            sqlx::Error::Io(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::Tls(_)
            | sqlx::Error::Protocol(_)
            | sqlx::Error::WorkerCrashed => StoreError::new(StoreErrorKind::Unreachable(e.to_string())),
            sqlx::Error::ColumnDecode { .. } | sqlx::Error::Decode(_) | sqlx::Error::ColumnNotFound(_) => {
                StoreError::corrupt(e.to_string())
            }
            _ => StoreError::new(StoreErrorKind::Database(e.to_string())),
        }
    }
}

/// SQLITE_FULL (13) or SQLITE_IOERR (10: a failed write, which is how a
/// full disk shows in the WAL's shared memory), extended codes keeping the
/// primary one in the low byte; or PostgreSQL's disk_full (53100).
fn is_full(code: Option<&str>, sqlite: bool) -> bool {
    match code {
        Some(c) if sqlite => c.parse::<i32>().is_ok_and(|n| matches!(n & 0xff, 10 | 13)),
        Some(c) => c == "53100",
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn disk_full_codes_of_both_databases() {
        assert!(is_full(Some("13"), true) && is_full(Some("53100"), false));
        assert!(is_full(Some("4874"), true), "SQLITE_IOERR_SHMSIZE: the WAL index could not grow");
        assert!(!is_full(Some("2067"), true) && !is_full(Some("23505"), false) && !is_full(None, true));
        assert!(!is_full(Some("13"), false), "a PostgreSQL code is not read as SQLite's");
    }
}
