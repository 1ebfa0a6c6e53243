//! The register service: people, their sealed compartments, and the keys
//! behind them. This is where the rules of DESIGN §2 meet the store.
//!
//! - [`Register`] is the service. [`Register::init`] makes the keys of a new
//!   register, [`Register::open`] unwraps them from the key provider.
//! - Writes seal each compartment under a fresh person key and record an
//!   audit event, with a digest of the new sealed state, in the same
//!   transaction.
//! - Reads need a purpose; their audit event is committed before anything is
//!   decrypted, so a read whose event cannot be made durable never happens.
//! - Canaries ([`Register::plant_canary`]) are made-up people planted per
//!   recipient in exports, so a leaked file names where it came from.
//! - [`import`] parses the register CSV of DESIGN §8 and reports every bad row
//!   by line, column and reason without repeating its values.

mod auditlog;
mod breach;
mod bulk;
mod canary;
mod codec;
mod disclosure;
pub mod drafts;
mod error;
mod export;
mod finding;
pub mod import;
mod keys;
mod notes;
mod oldpurposes;
mod photo;
mod register;
mod replay;
mod reveal;
mod rowlog;
mod verify;
mod witnessing;
mod write;

pub use auditlog::{ConsistencyProof, DEFAULT_ORIGIN, EventFilter, FoundEvents, InclusionProof, SignedCheckpoint};
pub use breach::{Exposure, REVEALING_ACTIONS, ScopeQuery, ScopeReport};
pub use bulk::RecordSource;
pub use canary::{Canary, CanarySummary, CanaryTemplate, check_recipient};
pub use codec::{decode_fields, encode_fields};
pub use disclosure::ScanRecord;
pub use error::{ErrorKind, RegisterError};
pub use export::{AuditExport, ExportedEvent};
pub use keys::{CompartmentKeyStatus, KeysStatus, RotateReport};
pub use notes::OpenedNote;
pub use photo::{MAX_PHOTO_BYTES, normalise_photo};
pub use register::{
    FindFilter, ImportOutcome, Lookup, Operator, PROTECTED_MARK, PersonSummary, PhotoJson, Register, Revealed,
    ShortEntry, VettingDecision,
};
pub use verify::{Finding, VerifyReport};
pub use witnessing::{WitnessOutcome, WitnessTarget};
pub use write::state_digest;
