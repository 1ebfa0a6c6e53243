//! The access error. Messages never carry a password, code, cookie or token.

use std::fmt;
use std::sync::Arc;

use lanyard_crypto::CryptoError;
use lanyard_store::{StoreError, StoreErrorKind};

/// An access operation failed.
#[derive(Debug)]
pub struct AccessError {
    kind: AccessErrorKind,
}

/// What failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum AccessErrorKind {
    /// Input refused (operator-facing reason).
    Invalid(String),
    /// The name is taken.
    Conflict(&'static str),
    /// Wrong name, password or code, or a disabled account: one answer for
    /// all, so that accounts cannot be probed.
    BadCredentials,
    /// The account is locked after repeated failures.
    Locked {
        /// Seconds until it may try again.
        retry_after_s: i64,
    },
    /// This client address is throttled after repeated failures.
    Throttled {
        /// Seconds until it may try again.
        retry_after_s: i64,
    },
    /// No valid session or token.
    NoSession,
    /// The token has expired.
    TokenExpired,
    /// The token was revoked.
    TokenRevoked,
    /// No user of that name.
    NoSuchUser,
    /// No unrevoked token of that id.
    NoSuchToken,
    /// The store failed.
    Store(StoreError),
    /// The key provider failed.
    Keys(CryptoError),
    /// The audit event could not be made durable, so nothing happened.
    Audit(Arc<lanyard_audit::log::LogError>),
    /// A bug or an impossible state.
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

impl fmt::Display for AccessError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            AccessErrorKind::Invalid(why) => f.write_str(why),
            AccessErrorKind::Conflict(what) => write!(f, "that {what} already exists"),
            AccessErrorKind::BadCredentials => f.write_str("wrong name, password or code"),
            AccessErrorKind::Locked { retry_after_s } => {
                write!(f, "account locked after repeated failures; try again in {retry_after_s} s")
            }
            AccessErrorKind::Throttled { retry_after_s } => {
                write!(f, "too many failed logins from this address; try again in {retry_after_s} s")
            }
            AccessErrorKind::NoSession => f.write_str("not logged in, or the session has ended"),
            AccessErrorKind::TokenExpired => f.write_str("the token has expired"),
            AccessErrorKind::TokenRevoked => f.write_str("the token was revoked"),
            AccessErrorKind::NoSuchUser => f.write_str("no such user"),
            AccessErrorKind::NoSuchToken => f.write_str("no such unrevoked token"),
            AccessErrorKind::Store(e) => write!(f, "{e}"),
            AccessErrorKind::Keys(e) => write!(f, "{e}"),
            AccessErrorKind::Audit(e) => write!(f, "audit log: {e}"),
            AccessErrorKind::Internal(why) => write!(f, "internal error: {why}"),
        }
    }
}

impl std::error::Error for AccessError {}

impl From<StoreError> for AccessError {
    fn from(e: StoreError) -> Self {
        AccessError::new(AccessErrorKind::Store(e))
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
