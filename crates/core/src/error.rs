//! The one error of this crate: a value that failed validation.
//!
//! Messages name the field and the rule that failed, never the value, so they
//! are safe to print, log and return over HTTP.

use crate::compartment::Field;

/// A value was refused by validation.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{}", named(.field, .kind))]
pub struct ValidationError {
    field: Option<Field>,
    kind: ValidationErrorKind,
}

/// Why a value was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ValidationErrorKind {
    /// A required value is absent or blank.
    #[error("is missing")]
    Missing,
    /// The value is longer than allowed.
    #[error("is longer than {max} characters")]
    TooLong {
        /// The limit, in characters.
        max: usize,
    },
    /// The value holds control characters or characters not allowed here.
    #[error("holds characters that are not allowed")]
    BadCharacters,
    /// The rank is not in the force's rank table.
    #[error("is not a rank in the force's rank table")]
    UnknownRank,
    /// The vetting level is not one of DESIGN §8's.
    #[error("is not a vetting level (RV, MV, NPPV1, NPPV2A, NPPV2F, NPPV3, CTC, SC, eSC, DV)")]
    UnknownVettingLevel,
    /// A date is not `YYYY-MM-DD`.
    #[error("is not a date of the form YYYY-MM-DD")]
    BadDate,
    /// A number could not be read, or is out of range.
    #[error("is not a number in range")]
    NotANumber,
    /// An email address is not of the form `local@domain.tld`.
    #[error("is not an email address")]
    BadEmail,
    /// A service number is not 1 to 20 letters, digits, `-` or `/`.
    #[error("must be 1 to 20 letters, digits, '-' or '/'")]
    BadServiceNumber,
    /// A compartment name that does not exist (operator input, safe to echo).
    #[error("unknown compartment '{0}' (expected identity, photo, vetting or pay)")]
    UnknownCompartment(String),
    /// A field name that does not exist (operator input, safe to echo).
    #[error("unknown field '{0}'")]
    UnknownField(String),
    /// A card type that does not exist (operator input, safe to echo).
    #[error("unknown card type '{0}' (expected warrant_card, staff_pass, contractor_pass or visitor_pass)")]
    UnknownCardType(String),
    /// A person id that is not a UUID.
    #[error("is not a person id (a UUID)")]
    BadPersonId,
    /// A role name that does not exist (operator input, safe to echo).
    #[error(
        "unknown role '{0}' (expected id_officer, approver, vetting_officer, hr_payroll, auditor, admin, disclosure_officer, print_supplier or verifier)"
    )]
    UnknownRole(String),
    /// A list of compartments that names none.
    #[error("names no compartment (expected one or more of identity, photo, vetting, pay, comma-separated)")]
    NoCompartment,
    /// A stored person status lanyard does not know.
    #[error("is not a person status (active or erased)")]
    UnknownStatus,
}

impl ValidationError {
    /// A new error about `field` (or about no particular field).
    pub fn new(field: Option<Field>, kind: ValidationErrorKind) -> Self {
        ValidationError { field, kind }
    }

    /// The field that was refused, when there is one.
    pub fn field(&self) -> Option<Field> {
        self.field
    }

    /// Why it was refused.
    pub fn kind(&self) -> &ValidationErrorKind {
        &self.kind
    }
}

/// The rule that failed, after the field's name when there is one.
fn named(field: &Option<Field>, kind: &ValidationErrorKind) -> String {
    match field {
        Some(field) => format!("{field} {kind}"),
        None => kind.to_string(),
    }
}
