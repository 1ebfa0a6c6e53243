//! The register's one error, with stable codes. Messages carry ids, field
//! names and reasons, never personal values.

use std::fmt;

use lanyard_core::{Compartment, Field, PersonId, ValidationError};
use lanyard_crypto::CryptoError;
use lanyard_store::StoreError;

/// A register operation failed.
#[derive(Debug)]
pub struct RegisterError {
    kind: ErrorKind,
}

/// What failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The store has no lanyard schema yet; run `lanyard init`.
    NotInitialised,
    /// `init` found an existing register.
    AlreadyInitialised,
    /// Input failed validation.
    Invalid(ValidationError),
    /// A read of personal data without a stated purpose.
    PurposeRequired,
    /// No such person.
    NotFound(PersonId),
    /// The person was erased; nothing of them remains readable.
    Erased(PersonId),
    /// The service number is already registered.
    DuplicateServiceNumber,
    /// A ciphertext or wrapped key failed authentication.
    Tampered {
        /// Whose record.
        person: PersonId,
        /// Which compartment.
        compartment: Compartment,
        /// Which field, when a field (not the person key) failed.
        field: Option<Field>,
    },
    /// A stored row could not be decoded.
    Corrupt {
        /// Whose record.
        person: PersonId,
        /// What was wrong.
        what: String,
    },
    /// The photo was refused.
    Photo(String),
    /// A key operation failed.
    Keys(CryptoError),
    /// The store failed.
    Store(StoreError),
    /// The keys in the store do not open with this key provider.
    KeyMismatch,
    /// A bug: something that should not happen did.
    Internal(&'static str),
    /// Writing output (an export) failed.
    Output(&'static str),
    /// The audit log could not be appended to or read.
    Audit(std::sync::Arc<lanyard_audit::log::LogError>),
    /// A checkpoint or proof was refused or cannot be made.
    Proof(String),
    /// The log holds no event at this index.
    NoSuchEvent(u64),
    /// A canary cannot be planted or used; says why (ids and recipient
    /// names only).
    Canary(String),
}

impl RegisterError {
    pub(crate) fn new(kind: ErrorKind) -> Self {
        RegisterError { kind }
    }

    /// Writing output failed; for callers' sinks (exports).
    pub fn output(what: &'static str) -> Self {
        RegisterError::new(ErrorKind::Output(what))
    }

    /// What failed.
    pub fn kind(&self) -> &ErrorKind {
        &self.kind
    }

    /// A stable code for this kind of failure, for logs and problem reports.
    pub fn code(&self) -> &'static str {
        match self.kind {
            ErrorKind::NotInitialised => "REG-001",
            ErrorKind::AlreadyInitialised => "REG-002",
            ErrorKind::Invalid(_) => "REG-003",
            ErrorKind::PurposeRequired => "REG-004",
            ErrorKind::NotFound(_) => "REG-005",
            ErrorKind::Erased(_) => "REG-006",
            ErrorKind::DuplicateServiceNumber => "REG-007",
            ErrorKind::Tampered { .. } => "REG-008",
            ErrorKind::Corrupt { .. } => "REG-009",
            ErrorKind::Photo(_) => "REG-010",
            ErrorKind::Keys(_) => "REG-011",
            ErrorKind::Store(_) => "REG-012",
            ErrorKind::KeyMismatch => "REG-013",
            ErrorKind::Internal(_) => "REG-014",
            ErrorKind::Output(_) => "REG-015",
            ErrorKind::Audit(_) => "REG-016",
            ErrorKind::Proof(_) => "REG-017",
            ErrorKind::NoSuchEvent(_) => "REG-018",
            ErrorKind::Canary(_) => "REG-019",
        }
    }

    /// An optimistic-concurrency conflict: someone changed the row since
    /// it was read; trying again may succeed.
    pub fn is_conflict(&self) -> bool {
        matches!(&self.kind, ErrorKind::Store(s) if s.is_conflict())
    }

    /// True for a negative answer (not found, erased) rather than a fault.
    pub fn is_negative_answer(&self) -> bool {
        matches!(self.kind, ErrorKind::NotFound(_) | ErrorKind::Erased(_) | ErrorKind::NoSuchEvent(_))
    }
}

impl fmt::Display for RegisterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            ErrorKind::NotInitialised => f.write_str("no register here yet; run 'lanyard init' first"),
            ErrorKind::AlreadyInitialised => f.write_str("a register already exists here"),
            ErrorKind::Invalid(e) => write!(f, "invalid input: {e}"),
            ErrorKind::PurposeRequired => {
                f.write_str("reading personal data needs a purpose (--purpose TEXT, 3 to 200 characters)")
            }
            ErrorKind::NotFound(id) => write!(f, "no person {id}"),
            ErrorKind::Erased(id) => write!(f, "person {id} was erased"),
            ErrorKind::DuplicateServiceNumber => f.write_str("service number is already registered"),
            ErrorKind::Tampered { person, compartment, field } => match field {
                Some(field) => {
                    write!(f, "ciphertext of person {person}, field {field} failed authentication: tampered or moved")
                }
                None => write!(
                    f,
                    "key of person {person}, compartment {compartment} failed authentication: tampered, moved or wrong keys"
                ),
            },
            ErrorKind::Corrupt { person, what } => write!(f, "stored record of person {person} is unreadable: {what}"),
            ErrorKind::Photo(why) => write!(f, "photo refused: {why}"),
            ErrorKind::Keys(e) => write!(f, "{e}"),
            ErrorKind::Store(e) => write!(f, "{e}"),
            ErrorKind::KeyMismatch => {
                f.write_str("the key provider's root key does not open this register's keys (wrong keyring or token?)")
            }
            ErrorKind::Internal(what) => write!(f, "internal error: {what}"),
            ErrorKind::Output(what) => f.write_str(what),
            ErrorKind::Audit(e) => write!(f, "audit log: {e}"),
            ErrorKind::Proof(why) => write!(f, "{why}"),
            ErrorKind::NoSuchEvent(index) => write!(f, "the log holds no event {index}"),
            ErrorKind::Canary(why) => f.write_str(why),
        }
    }
}

// No `source()`: the message already carries the cause's, and `{:#}` would
// print it twice.
impl std::error::Error for RegisterError {}

impl From<StoreError> for RegisterError {
    fn from(e: StoreError) -> Self {
        RegisterError::new(ErrorKind::Store(e))
    }
}

impl From<lanyard_audit::log::LogError> for RegisterError {
    fn from(e: lanyard_audit::log::LogError) -> Self {
        RegisterError::new(ErrorKind::Audit(std::sync::Arc::new(e)))
    }
}

impl From<std::sync::Arc<lanyard_audit::log::LogError>> for RegisterError {
    fn from(e: std::sync::Arc<lanyard_audit::log::LogError>) -> Self {
        RegisterError::new(ErrorKind::Audit(e))
    }
}

impl From<CryptoError> for RegisterError {
    fn from(e: CryptoError) -> Self {
        RegisterError::new(ErrorKind::Keys(e))
    }
}

impl From<ValidationError> for RegisterError {
    fn from(e: ValidationError) -> Self {
        RegisterError::new(ErrorKind::Invalid(e))
    }
}
