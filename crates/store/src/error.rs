//! The store's one error. Messages name tables and constraints, never values.

use std::fmt;

/// A store operation failed.
#[derive(Debug)]
pub struct StoreError {
    kind: StoreErrorKind,
}

/// What failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum StoreErrorKind {
    /// The database could not be reached or opened.
    Unreachable(String),
    /// A uniqueness rule was broken; names the constraint.
    Conflict(String),
    /// Migrations could not be applied.
    Migration(String),
    /// A row holds something this version cannot read.
    Corrupt(String),
    /// Any other database failure.
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

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            StoreErrorKind::Unreachable(why) => write!(f, "cannot reach the database: {why}"),
            StoreErrorKind::Conflict(what) => write!(f, "conflict: {what} already exists"),
            StoreErrorKind::Migration(why) => write!(f, "database migration failed: {why}"),
            StoreErrorKind::Corrupt(why) => write!(f, "database holds an unreadable row: {why}"),
            StoreErrorKind::Database(why) => write!(f, "database error: {why}"),
        }
    }
}

impl std::error::Error for StoreError {}

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
