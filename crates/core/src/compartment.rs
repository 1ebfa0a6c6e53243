//! Compartments and the fields inside them (DESIGN §2).
//!
//! Each field belongs to exactly one compartment; the mapping lives here and
//! nowhere else, so access rules and encryption agree on it.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::{ValidationError, ValidationErrorKind};

/// A separately encrypted part of a person's record.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Compartment {
    /// Service number, names, rank, unit, email.
    Identity,
    /// The card photo, re-encoded JPEG.
    Photo,
    /// Vetting level and expiry.
    Vetting,
    /// Salary and pay grade.
    Pay,
}

impl Compartment {
    /// Every compartment, in a fixed order.
    pub const ALL: [Compartment; 4] =
        [Compartment::Identity, Compartment::Photo, Compartment::Vetting, Compartment::Pay];

    /// The stable name used in storage, associated data and audit events.
    pub fn as_str(self) -> &'static str {
        match self {
            Compartment::Identity => "identity",
            Compartment::Photo => "photo",
            Compartment::Vetting => "vetting",
            Compartment::Pay => "pay",
        }
    }

    /// The fields this compartment holds.
    pub fn fields(self) -> &'static [Field] {
        match self {
            Compartment::Identity => {
                &[Field::ServiceNumber, Field::Forenames, Field::Surname, Field::Rank, Field::Unit, Field::Email]
            }
            Compartment::Photo => &[Field::Photo],
            Compartment::Vetting => &[Field::VettingLevel, Field::VettingExpiry],
            Compartment::Pay => &[Field::Salary, Field::PayGrade],
        }
    }

    /// Parses a comma-separated list such as `identity,photo`, without duplicates.
    pub fn parse_list(text: &str) -> Result<Vec<Compartment>, ValidationError> {
        let mut out = Vec::new();
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let c: Compartment = part.parse()?;
            if !out.contains(&c) {
                out.push(c);
            }
        }
        if out.is_empty() {
            return Err(ValidationError::new(None, ValidationErrorKind::NoCompartment));
        }
        out.sort();
        Ok(out)
    }
}

impl fmt::Display for Compartment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Compartment {
    type Err = ValidationError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        // The input here is a compartment name typed by an operator, never
        // personal data, so it may be repeated in the error.
        Compartment::ALL
            .into_iter()
            .find(|c| c.as_str() == s)
            .ok_or_else(|| ValidationError::new(None, ValidationErrorKind::UnknownCompartment(s.to_owned())))
    }
}

/// One personal-data field.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    /// Collar, warrant or staff number; unique in the register.
    ServiceNumber,
    /// Given names.
    Forenames,
    /// Family name.
    Surname,
    /// Rank, from the force's rank table.
    Rank,
    /// Unit or department.
    Unit,
    /// Work email address.
    Email,
    /// Card photo (JPEG bytes).
    Photo,
    /// Vetting level (DESIGN §8).
    VettingLevel,
    /// Date the vetting lapses.
    VettingExpiry,
    /// Annual salary.
    Salary,
    /// Pay grade or band.
    PayGrade,
}

impl Field {
    /// Every field, in a fixed order.
    pub const ALL: [Field; 11] = [
        Field::ServiceNumber,
        Field::Forenames,
        Field::Surname,
        Field::Rank,
        Field::Unit,
        Field::Email,
        Field::Photo,
        Field::VettingLevel,
        Field::VettingExpiry,
        Field::Salary,
        Field::PayGrade,
    ];

    /// The stable name used in storage, associated data, CSV headers and events.
    pub fn as_str(self) -> &'static str {
        match self {
            Field::ServiceNumber => "service_number",
            Field::Forenames => "forenames",
            Field::Surname => "surname",
            Field::Rank => "rank",
            Field::Unit => "unit",
            Field::Email => "email",
            Field::Photo => "photo",
            Field::VettingLevel => "vetting_level",
            Field::VettingExpiry => "vetting_expiry",
            Field::Salary => "salary",
            Field::PayGrade => "pay_grade",
        }
    }

    /// The compartment that holds this field.
    pub fn compartment(self) -> Compartment {
        match self {
            Field::ServiceNumber | Field::Forenames | Field::Surname | Field::Rank | Field::Unit | Field::Email => {
                Compartment::Identity
            }
            Field::Photo => Compartment::Photo,
            Field::VettingLevel | Field::VettingExpiry => Compartment::Vetting,
            Field::Salary | Field::PayGrade => Compartment::Pay,
        }
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Field {
    type Err = ValidationError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Field::ALL
            .into_iter()
            .find(|f| f.as_str() == s)
            .ok_or_else(|| ValidationError::new(None, ValidationErrorKind::UnknownField(s.to_owned())))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn an_empty_list_says_what_is_missing() {
        for empty in ["", " , ", ","] {
            let e = Compartment::parse_list(empty).unwrap_err().to_string();
            assert!(e.contains("names no compartment") && e.contains("identity, photo, vetting, pay"), "{e}");
        }
    }

    use super::*;

    #[test]
    fn every_field_is_in_exactly_its_compartment() {
        for field in Field::ALL {
            let holders: Vec<_> = Compartment::ALL.into_iter().filter(|c| c.fields().contains(&field)).collect();
            assert_eq!(holders, vec![field.compartment()], "{field}");
        }
    }

    #[test]
    fn names_round_trip() {
        for c in Compartment::ALL {
            assert_eq!(c.as_str().parse::<Compartment>().unwrap(), c);
        }
        for f in Field::ALL {
            assert_eq!(f.as_str().parse::<Field>().unwrap(), f);
        }
    }

    #[test]
    fn compartment_lists_are_deduplicated_and_checked() {
        assert_eq!(
            Compartment::parse_list("pay, identity,pay").unwrap(),
            vec![Compartment::Identity, Compartment::Pay]
        );
        assert!(Compartment::parse_list("identity,salary").is_err());
        assert!(Compartment::parse_list(" , ").is_err());
    }
}
