//! Audit events: what every read, write or export of personal data leaves
//! behind (DESIGN §4), in canonical bytes, with their RFC 9162 leaf hashes.
//!
//! An event holds ids, compartments, field names, purpose and outcome, and
//! never a name or a value. Its bytes are canonical JSON (sorted keys, no
//! spaces), and the bytes hashed are the bytes stored.
//!
//! ```
//! use lanyard_audit::{Actor, Event, Outcome};
//!
//! let e = Event::new(1_700_000_000_000, Actor::operator("alice"), "person.read", Outcome::Ok);
//! let bytes = e.to_bytes();
//! assert!(bytes.starts_with(b"{\"action\":\"person.read\""));
//! assert_eq!(lanyard_audit::leaf_hash(&bytes).len(), 32);
//! ```

pub mod checkpoint;
mod event;
pub mod group;
pub mod integrity;
pub mod ledger;
pub mod log;
pub mod merkle;
pub mod proof;
pub mod tiles;

pub use event::{Actor, Event, Note, Outcome, RowWrite, leaf_hash};
pub use integrity::{IntegrityError, RowCheck};
pub use ledger::{Housekeeping, Ledger, Write};
