//! The register's one error, with stable codes. Messages carry ids, field
//! names and reasons, never personal values.

use lanyard_core::{Compartment, Field, PersonId, ValidationError};
use lanyard_crypto::CryptoError;
use lanyard_store::StoreError;

/// A register operation failed.
#[derive(Debug, thiserror::Error)]
#[error("{kind}")]
pub struct RegisterError {
    kind: ErrorKind,
}

/// What failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The store has no lanyard schema yet; run `lanyard init`.
    #[error("no register here yet; run 'lanyard init' first")]
    NotInitialised,
    /// `init` found an existing register.
    #[error("a register already exists here")]
    AlreadyInitialised,
    /// Input failed validation.
    #[error("invalid input: {0}")]
    Invalid(ValidationError),
    /// A read of personal data without a stated purpose.
    #[error(
        "reading personal data needs a purpose (--purpose CODE or 'CODE: note', 3 to 200 characters; codes such as card_renewal, lost_card, vetting_review)"
    )]
    PurposeRequired,
    /// No such person.
    #[error("no person {0}")]
    NotFound(PersonId),
    /// The person was erased; nothing of them remains readable.
    #[error("person {0} was erased")]
    Erased(PersonId),
    /// The service number is already registered.
    #[error("service number is already registered")]
    DuplicateServiceNumber,
    /// A ciphertext or wrapped key failed authentication.
    #[error("{}", tampered(.person, .compartment, .field))]
    Tampered {
        /// Whose record.
        person: PersonId,
        /// Which compartment.
        compartment: Compartment,
        /// Which field, when a field (not the person key) failed.
        field: Option<Field>,
    },
    /// A stored row could not be decoded.
    #[error("stored record of person {person} is unreadable: {what}")]
    Corrupt {
        /// Whose record.
        person: PersonId,
        /// What was wrong.
        what: String,
    },
    /// The photo was refused.
    #[error("photo refused: {0}")]
    Photo(String),
    /// A key operation failed.
    #[error("{0}")]
    Keys(CryptoError),
    /// The store failed.
    #[error("{0}")]
    Store(StoreError),
    /// The keys in the store do not open with this key provider.
    #[error("the key provider's root key does not open this register's keys (wrong keyring or token?)")]
    KeyMismatch,
    /// A bug: something that should not happen did.
    #[error("internal error: {0}")]
    Internal(&'static str),
    /// Writing output (an export) failed.
    #[error("{0}")]
    Output(&'static str),
    /// A purpose code or an audit note: what is wrong, naming no note text.
    #[error("{0}")]
    Note(String),
    /// A row that decides who may do what fails its integrity check (or
    /// cannot be checked); it was not used.
    #[error("{0}")]
    Integrity(std::sync::Arc<lanyard_audit::IntegrityError>),
    /// The audit log could not be appended to or read.
    #[error("audit log: {0}")]
    Audit(std::sync::Arc<lanyard_audit::log::LogError>),
    /// A checkpoint or proof was refused or cannot be made.
    #[error("{0}")]
    Proof(String),
    /// The log holds no event at this index.
    #[error("the log holds no event {0}")]
    NoSuchEvent(u64),
    /// No such proof: a size past the log, an event outside the tree asked
    /// about. Nothing the caller sent was malformed; the log just holds no
    /// such thing.
    #[error("{0}")]
    NoSuchProof(String),
    /// The old checkpoint given is not one this log signed (or is of more
    /// events than the log holds): the caller's view and the log's differ.
    #[error("{0}")]
    CheckpointRefused(String),
    /// A canary cannot be planted or used; says why (ids and recipient
    /// names only).
    #[error("{0}")]
    Canary(String),
    /// An export names a recipient with no canary planted yet: plant one
    /// first. Says which recipient.
    #[error("{0}")]
    CanaryMissing(String),
    /// Not a tlog-tiles path; says which part.
    #[error("not a tile path: {0}")]
    BadTilePath(&'static str),
    /// No such tile at the latest signed checkpoint.
    #[error("no such tile at the latest checkpoint")]
    NoSuchTile,
    /// The database file was replaced under this process.
    #[error("the database file was replaced under this server (a new init or demo in its data directory?); restart it")]
    StoreReplaced,
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
            ErrorKind::NoSuchProof(_) => "REG-026",
            ErrorKind::CheckpointRefused(_) => "REG-027",
            ErrorKind::CanaryMissing(_) => "REG-028",
            ErrorKind::Canary(_) => "REG-019",
            ErrorKind::Integrity(_) => "REG-020",
            ErrorKind::Note(_) => "REG-021",
            ErrorKind::BadTilePath(_) => "REG-022",
            ErrorKind::NoSuchTile => "REG-023",
            ErrorKind::StoreReplaced => "REG-024",
        }
    }

    /// An optimistic-concurrency conflict: someone changed the row since
    /// it was read; trying again may succeed.
    pub fn is_conflict(&self) -> bool {
        matches!(&self.kind, ErrorKind::Store(s) if s.is_conflict())
    }

    /// The database cannot be reached or cannot write for now (down,
    /// restarting, disk full): nothing was changed; try again later.
    pub fn is_unavailable(&self) -> bool {
        match &self.kind {
            ErrorKind::Store(s) => s.is_unavailable(),
            ErrorKind::Audit(l) => l.is_unavailable(),
            _ => false,
        }
    }

    /// The key provider does not answer (a token removed, a PIN refused):
    /// the keys it released are not used until it does; nothing was read
    /// or changed.
    pub fn is_key_provider_down(&self) -> bool {
        matches!(&self.kind, ErrorKind::Keys(k) if k.is_provider_unavailable())
    }

    /// True for a negative answer (not found, erased) rather than a fault.
    pub fn is_negative_answer(&self) -> bool {
        matches!(
            self.kind,
            ErrorKind::NotFound(_)
                | ErrorKind::Erased(_)
                | ErrorKind::NoSuchEvent(_)
                | ErrorKind::NoSuchTile
                | ErrorKind::NoSuchProof(_)
        )
    }
}

// No `source()`: the message already carries the cause's, and `{:#}` would
// print it twice.

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

impl From<lanyard_audit::IntegrityError> for RegisterError {
    fn from(e: lanyard_audit::IntegrityError) -> Self {
        RegisterError::new(ErrorKind::Integrity(std::sync::Arc::new(e)))
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

/// The message of a failed authentication: which field, or which
/// compartment's key.
fn tampered(person: &PersonId, compartment: &Compartment, field: &Option<Field>) -> String {
    match field {
        Some(field) => format!("ciphertext of person {person}, field {field} failed authentication: tampered or moved"),
        None => format!(
            "key of person {person}, compartment {compartment} failed authentication: tampered, moved or wrong keys"
        ),
    }
}
