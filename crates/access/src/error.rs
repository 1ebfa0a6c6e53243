//! The access error. Messages never carry a password, code, cookie or token.

use std::sync::Arc;

use lanyard_crypto::CryptoError;
use lanyard_store::{StoreError, StoreErrorKind};

/// An access operation failed.
#[derive(Debug, thiserror::Error)]
#[error("{kind}")]
pub struct AccessError {
    kind: AccessErrorKind,
}

/// What failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AccessErrorKind {
    /// Input refused (operator-facing reason).
    #[error("{0}")]
    Invalid(String),
    /// The name is taken.
    #[error("that {0} already exists")]
    Conflict(&'static str),
    /// An admin asked to disable or reset their own account: another
    /// admin, or `lanyard user` on the register host, must.
    #[error("you cannot disable or reset your own account; ask another admin")]
    OwnAccount,
    /// Wrong name, password or code, or a disabled account: one answer for
    /// all, so that accounts cannot be probed.
    #[error("wrong name, password or code")]
    BadCredentials,
    /// The account is locked after repeated failures.
    #[error("account locked after repeated failures; try again in {retry_after_s} s")]
    Locked {
        /// Seconds until it may try again.
        retry_after_s: i64,
    },
    /// This client address is throttled after repeated failures.
    #[error("too many failed logins from this address; try again in {retry_after_s} s")]
    Throttled {
        /// Seconds until it may try again.
        retry_after_s: i64,
    },
    /// No valid session or token.
    #[error("not logged in, or the session has ended")]
    NoSession,
    /// The token has expired.
    #[error("the token has expired")]
    TokenExpired,
    /// The token was revoked.
    #[error("the token was revoked")]
    TokenRevoked,
    /// No user of that name.
    #[error("no such user")]
    NoSuchUser,
    /// No unrevoked token of that id.
    #[error("no such unrevoked token")]
    NoSuchToken,
    /// The store failed.
    #[error("{0}")]
    Store(StoreError),
    /// The key provider failed.
    #[error("{0}")]
    Keys(CryptoError),
    /// The audit event could not be made durable, so nothing happened.
    #[error("audit log: {0}")]
    Audit(Arc<lanyard_audit::log::LogError>),
    /// A row that decides who may do what was changed outside lanyard (or
    /// cannot be checked); it was refused and the refusal recorded.
    #[error("{0}")]
    Integrity(Arc<lanyard_audit::IntegrityError>),
    /// A bug or an impossible state.
    #[error("internal error: {0}")]
    Internal(String),
}

impl AccessError {
    pub(crate) fn new(kind: AccessErrorKind) -> Self {
        AccessError { kind }
    }

    pub(crate) fn invalid(why: String) -> Self {
        AccessError::new(AccessErrorKind::Invalid(why))
    }

    pub(crate) fn conflict_or(e: StoreError, what: &'static str) -> Self {
        match e.kind() {
            StoreErrorKind::Conflict(_) => AccessError::new(AccessErrorKind::Conflict(what)),
            _ => AccessError::new(AccessErrorKind::Store(e)),
        }
    }

    /// What failed.
    pub fn kind(&self) -> &AccessErrorKind {
        &self.kind
    }
}

impl From<StoreError> for AccessError {
    fn from(e: StoreError) -> Self {
        AccessError::new(AccessErrorKind::Store(e))
    }
}

impl From<lanyard_audit::IntegrityError> for AccessError {
    fn from(e: lanyard_audit::IntegrityError) -> Self {
        AccessError::new(AccessErrorKind::Integrity(Arc::new(e)))
    }
}

impl From<CryptoError> for AccessError {
    fn from(e: CryptoError) -> Self {
        AccessError::new(AccessErrorKind::Keys(e))
    }
}

impl From<lanyard_audit::log::LogError> for AccessError {
    fn from(e: lanyard_audit::log::LogError) -> Self {
        AccessError::new(AccessErrorKind::Audit(Arc::new(e)))
    }
}

impl From<Arc<lanyard_audit::log::LogError>> for AccessError {
    fn from(e: Arc<lanyard_audit::log::LogError>) -> Self {
        AccessError::new(AccessErrorKind::Audit(e))
    }
}
