//! The one error of this crate: a value that failed validation.
//!
//! Messages name the field and the rule that failed, never the value, so they
//! are safe to print, log and return over HTTP.

use std::fmt;

use crate::compartment::Field;

/// A value was refused by validation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValidationError {
    field: Option<Field>,
    kind: ValidationErrorKind,
}

/// Why a value was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ValidationErrorKind {
    /// A required value is absent or blank.
    Missing,
    /// The value is longer than allowed.
    TooLong {
        /// The limit, in characters.
        max: usize,
    },
    /// The value holds control characters or characters not allowed here.
    BadCharacters,
    /// The rank is not in the force's rank table.
    UnknownRank,
    /// The vetting level is not one of DESIGN §8's.
    UnknownVettingLevel,
    /// A date is not `YYYY-MM-DD`.
    BadDate,
    /// A number could not be read, or is out of range.
    NotANumber,
    /// An email address is not of the form `local@domain.tld`.
    BadEmail,
    /// A service number is not 1 to 20 letters, digits, `-` or `/`.
    BadServiceNumber,
    /// A compartment name that does not exist (operator input, safe to echo).
    UnknownCompartment(String),
    /// A field name that does not exist (operator input, safe to echo).
    UnknownField(String),
    /// A card type that does not exist (operator input, safe to echo).
    UnknownCardType(String),
    /// A person id that is not a UUID.
    BadPersonId,
    /// A role name that does not exist (operator input, safe to echo).
    UnknownRole(String),
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

impl fmt::Display for ValidationErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ValidationErrorKind::Missing => f.write_str("is missing"),
            ValidationErrorKind::TooLong { max } => write!(f, "is longer than {max} characters"),
            ValidationErrorKind::BadCharacters => f.write_str("holds characters that are not allowed"),
            ValidationErrorKind::UnknownRank => f.write_str("is not a rank in the force's rank table"),
            ValidationErrorKind::UnknownVettingLevel => {
                f.write_str("is not a vetting level (RV, MV, NPPV1, NPPV2A, NPPV2F, NPPV3, CTC, SC, eSC, DV)")
            }
            ValidationErrorKind::BadDate => f.write_str("is not a date of the form YYYY-MM-DD"),
            ValidationErrorKind::NotANumber => f.write_str("is not a number in range"),
            ValidationErrorKind::BadEmail => f.write_str("is not an email address"),
            ValidationErrorKind::BadServiceNumber => f.write_str("must be 1 to 20 letters, digits, '-' or '/'"),
            ValidationErrorKind::UnknownCompartment(name) => {
                write!(f, "unknown compartment '{name}' (expected identity, photo, vetting or pay)")
            }
            ValidationErrorKind::UnknownField(name) => write!(f, "unknown field '{name}'"),
            ValidationErrorKind::UnknownCardType(name) => write!(
                f,
                "unknown card type '{name}' (expected warrant_card, staff_pass, contractor_pass or visitor_pass)"
            ),
            ValidationErrorKind::BadPersonId => f.write_str("is not a person id (a UUID)"),
            ValidationErrorKind::UnknownRole(name) => write!(
                f,
                "unknown role '{name}' (expected id_officer, approver, vetting_officer, hr_payroll, auditor, admin, print_supplier or verifier)"
            ),
        }
    }
}

impl fmt::Display for ValidationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.field {
            Some(field) => write!(f, "{field} {}", self.kind),
            None => write!(f, "{}", self.kind),
        }
    }
}

impl std::error::Error for ValidationError {}
