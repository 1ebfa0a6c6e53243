//! Row integrity beneath the services: the ledger tags the rows that decide
//! who may do what before they are written, and checks the tag of each one
//! read before it is used. A row that fails is never used: the refusal is
//! an `integrity.failure` event naming the table and the row's id, and the
//! caller answers that the store was changed outside lanyard.

use std::sync::Arc;

use lanyard_store::Authenticated;

use crate::log::LogError;

/// A row could not be shown to be one lanyard wrote.
#[derive(Debug, thiserror::Error)]
pub enum IntegrityError {
    /// The row-integrity key is not loaded: no register was opened with its
    /// keys in this process, so no row can be checked (and none is used).
    #[error("row integrity cannot be checked: the register's keys are not loaded")]
    NoKey,
    /// The row's tag does not verify, or it has none.
    #[error("the store was changed outside lanyard: {table} row {id} {what}")]
    Altered {
        /// Table.
        table: &'static str,
        /// The row's id (never personal data).
        id: String,
        /// `carries no tag` or `does not match its tag`.
        what: &'static str,
    },
    /// The key failed.
    #[error("row integrity: {0}")]
    Crypto(#[from] lanyard_crypto::CryptoError),
    /// The refusal could not be recorded (the row is refused all the same).
    #[error("{0}")]
    Log(Arc<LogError>),
}

/// What a check of one row found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RowCheck {
    /// Its tag verifies.
    Valid,
    /// It carries no tag.
    Untagged,
    /// Its tag does not verify.
    Mismatch,
}

impl RowCheck {
    pub(crate) fn failure<R: Authenticated>(self, row: &R) -> Option<IntegrityError> {
        let what = match self {
            RowCheck::Valid => return None,
            RowCheck::Untagged => "carries no tag",
            RowCheck::Mismatch => "does not match its tag",
        };
        Some(IntegrityError::Altered { table: R::TABLE, id: row.row_id(), what })
    }
}
