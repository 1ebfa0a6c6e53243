//! Domain types shared by every lanyard crate: people and their compartments,
//! the reference data of the force (ranks, vetting levels, card types), and
//! the validation rules that turn untrusted text into those types.
//!
//! This crate does no I/O and holds no keys. Its errors name the field that is
//! wrong and why, and never repeat the value: a rejected surname must not end
//! up in a log line.
//!
//! ```
//! use lanyard_core::{Compartment, Field, VettingLevel};
//!
//! assert_eq!(Field::Salary.compartment(), Compartment::Pay);
//! let sc: VettingLevel = "SC".parse().unwrap();
//! assert!(sc.satisfies(VettingLevel::Ctc));
//! assert!(!sc.satisfies(VettingLevel::Mv));
//! ```

mod batch;
pub mod card;
mod compartment;
mod error;
mod person;
pub mod policy;
pub mod purpose;
mod reference;

pub use batch::{BatchState, PrintOutcome};
pub use card::{CardAction, CardState, CardStatus, Reason, UnknownName};
pub use compartment::{Compartment, Field};
pub use error::{ValidationError, ValidationErrorKind};
pub use person::{
    PersonId, PersonRecord, PersonStatus, Salary, normalise_email, normalise_name, normalise_service_number,
};
pub use policy::{Action, Decision, Role};
pub use purpose::{Purpose, PurposeError};
pub use reference::{CardType, Ladder, RankTable, VettingLevel};

/// Whether `name` is a good name for a user, a supplier or a device: 1 to
/// 64 of ASCII letters, digits and `._-@`, not starting with `.` or `-`
/// (so it is never a path or an option). The OpenAPI document states the
/// same rule as a pattern.
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name.chars().all(|c| c.is_ascii_alphanumeric() || "._-@".contains(c))
        && !name.starts_with(['.', '-'])
}
