//! The print supplier exchange (issue 6, DESIGN §6): the contractor prints
//! cards without ever holding the force's data.
//!
//! - A supplier is registered by its public age recipient; lanyard never
//!   sees its private key.
//! - Every batch's manifest is signed with the force's batch key
//!   (`signing.rs`), which the supplier pins at enrolment: age says only
//!   who can open a batch, the signature says who made it.
//! - A print batch is one age-sealed ZIP ([`package`]): `manifest.json` (ids
//!   and numbers) and each card's print files (front and back PNG, a
//!   two-page PDF), each carrying the batch id in its metadata. It holds
//!   what is printed and nothing else: never vetting, pay, unit or email.
//! - Batch creation, downloads, exports, confirmations, expiries and
//!   withdrawals are audit events naming every person whose data left, in
//!   the same transaction as the change.
//! - A batch lives until it is confirmed or expires (72 h by default); then
//!   its file is destroyed and a download answers "gone".
//! - The drill ([`Supply::drill`]) says what a full compromise of a supplier
//!   would yield now, from the store alone.

pub mod artwork;
mod drill;
mod error;
mod file;
mod service;
mod signing;

/// The batch file format, in its own crate so the agent can read it alone.
pub use lanyard_package as package;

pub use artwork::CardPrint;
pub use drill::{ExposedBatch, ExposedPerson, ExposedToken, Exposure, NEVER_PACKED};
pub use error::SupplyError;
pub use file::BatchFile;
pub use lanyard_core::{BatchState, PrintOutcome};
pub use lanyard_render::Side;
pub use service::{AutoBatch, Batch, BatchCard, Created, Receipt, Supplier, Supply, SupplyConfig};
