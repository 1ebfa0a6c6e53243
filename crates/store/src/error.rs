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
            sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut | sqlx::Error::Tls(_) => {
                StoreError::new(StoreErrorKind::Unreachable(e.to_string()))
            }
            sqlx::Error::ColumnDecode { .. } | sqlx::Error::Decode(_) | sqlx::Error::ColumnNotFound(_) => {
                StoreError::corrupt(e.to_string())
            }
            _ => StoreError::new(StoreErrorKind::Database(e.to_string())),
        }
    }
}
