//! A person in the register, as plaintext, and the rules that validate and
//! normalise each field.
//!
//! `PersonRecord` never prints its values through `Debug`: a stray `{:?}` in a
//! log line or a panic message shows only which fields are present.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use time::Date;
use time::macros::format_description;
use unicode_normalization::UnicodeNormalization;
use uuid::Uuid;

use crate::compartment::{Compartment, Field};
use crate::error::{ValidationError, ValidationErrorKind};
use crate::reference::{RankTable, VettingLevel};

/// The id of a person: a UUIDv7, so ids sort by creation time. Not personal data.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PersonId(Uuid);

impl PersonId {
    /// A fresh id.
    pub fn new() -> Self {
        PersonId(Uuid::now_v7())
    }

    /// Wraps an existing UUID.
    pub fn from_uuid(id: Uuid) -> Self {
        PersonId(id)
    }

    /// The UUID.
    pub fn as_uuid(&self) -> &Uuid {
        &self.0
    }
}

impl Default for PersonId {
    fn default() -> Self {
        PersonId::new()
    }
}

impl fmt::Display for PersonId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl FromStr for PersonId {
    type Err = ValidationError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Uuid::parse_str(s.trim())
            .map(PersonId)
            .map_err(|_| ValidationError::new(None, ValidationErrorKind::BadPersonId))
    }
}

/// Whether a record is live or has been crypto-shredded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PersonStatus {
    /// A live record.
    Active,
    /// A tombstone: the keys are destroyed and nothing can be decrypted.
    Erased,
}

impl PersonStatus {
    /// The stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            PersonStatus::Active => "active",
            PersonStatus::Erased => "erased",
        }
    }
}

impl FromStr for PersonStatus {
    type Err = ValidationError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "active" => Ok(PersonStatus::Active),
            "erased" => Ok(PersonStatus::Erased),
            _ => Err(ValidationError::new(None, ValidationErrorKind::UnknownStatus)),
        }
    }
}

/// For rows that keep a status by name: an unknown name is refused.
impl TryFrom<String> for PersonStatus {
    type Error = ValidationError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

/// An annual salary in pence.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Salary(u64);

/// £10m: anything above is a data-entry error, not a police salary.
const MAX_SALARY_PENCE: u64 = 10_000_000 * 100;

impl Salary {
    /// A salary of `pence`.
    pub fn from_pence(pence: u64) -> Result<Self, ValidationError> {
        if pence > MAX_SALARY_PENCE {
            return Err(ValidationError::new(Some(Field::Salary), ValidationErrorKind::NotANumber));
        }
        Ok(Salary(pence))
    }

    /// The salary in pence.
    pub fn pence(self) -> u64 {
        self.0
    }
}

impl fmt::Debug for Salary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Salary([redacted])")
    }
}

impl fmt::Display for Salary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:02}", self.0 / 100, self.0 % 100)
    }
}

impl FromStr for Salary {
    type Err = ValidationError;

    /// Accepts `34500`, `34,500`, `£34,500.50`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || ValidationError::new(Some(Field::Salary), ValidationErrorKind::NotANumber);
        let s = s.trim();
        let s = s.strip_prefix('£').unwrap_or(s);
        let (whole, frac) = match s.split_once('.') {
            Some((w, f)) => (w, Some(f)),
            None => (s, None),
        };
        let whole: String = whole.chars().filter(|c| *c != ',').collect();
        if whole.is_empty() || whole.len() > 12 || !whole.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        let pounds: u64 = whole.parse().map_err(|_| bad())?;
        let pence: u64 = match frac {
            None => 0,
            Some(f) if f.len() == 2 && f.bytes().all(|b| b.is_ascii_digit()) => f.parse().map_err(|_| bad())?,
            Some(_) => return Err(bad()),
        };
        Salary::from_pence(pounds.checked_mul(100).and_then(|p| p.checked_add(pence)).ok_or_else(bad)?)
    }
}

/// The plaintext of one person, or of the compartments of one person that were
/// revealed. Fields of compartments that were not revealed are `None`.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PersonRecord {
    /// Identity: service number.
    pub service_number: Option<String>,
    /// Identity: forenames.
    pub forenames: Option<String>,
    /// Identity: surname.
    pub surname: Option<String>,
    /// Identity: rank (canonical spelling).
    pub rank: Option<String>,
    /// Identity: unit.
    pub unit: Option<String>,
    /// Identity: email.
    pub email: Option<String>,
    /// Photo: JPEG bytes.
    #[serde(skip)]
    pub photo: Option<Vec<u8>>,
    /// Vetting: level.
    pub vetting_level: Option<VettingLevel>,
    /// Vetting: expiry date.
    pub vetting_expiry: Option<Date>,
    /// Pay: salary.
    #[serde(with = "salary_serde", default)]
    pub salary: Option<Salary>,
    /// Pay: grade.
    pub pay_grade: Option<String>,
}

mod salary_serde {
    use serde::{Deserialize, Deserializer, Serializer};

    use super::Salary;

    pub fn serialize<S: Serializer>(v: &Option<Salary>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(salary) => s.serialize_str(&salary.to_string()),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Salary>, D::Error> {
        let text: Option<String> = Option::deserialize(d)?;
        text.map(|t| t.parse().map_err(serde::de::Error::custom)).transpose()
    }
}

impl fmt::Debug for PersonRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let present: Vec<&str> = Field::ALL.into_iter().filter(|field| self.has(*field)).map(Field::as_str).collect();
        write!(f, "PersonRecord {{ fields present: {present:?}, values: [redacted] }}")
    }
}

const DATE_FORMAT: &[time::format_description::BorrowedFormatItem<'static>] =
    format_description!("[year]-[month]-[day]");

/// Parses `YYYY-MM-DD`.
pub fn parse_date(field: Field, text: &str) -> Result<Date, ValidationError> {
    Date::parse(text.trim(), DATE_FORMAT).map_err(|_| ValidationError::new(Some(field), ValidationErrorKind::BadDate))
}

fn format_date(date: Date) -> String {
    format!("{:04}-{:02}-{:02}", date.year(), u8::from(date.month()), date.day())
}

impl PersonRecord {
    /// True when `field` holds a value.
    pub fn has(&self, field: Field) -> bool {
        match field {
            Field::ServiceNumber => self.service_number.is_some(),
            Field::Forenames => self.forenames.is_some(),
            Field::Surname => self.surname.is_some(),
            Field::Rank => self.rank.is_some(),
            Field::Unit => self.unit.is_some(),
            Field::Email => self.email.is_some(),
            Field::Photo => self.photo.is_some(),
            Field::VettingLevel => self.vetting_level.is_some(),
            Field::VettingExpiry => self.vetting_expiry.is_some(),
            Field::Salary => self.salary.is_some(),
            Field::PayGrade => self.pay_grade.is_some(),
        }
    }

    /// True when any field of `compartment` holds a value.
    pub fn has_compartment(&self, compartment: Compartment) -> bool {
        compartment.fields().iter().any(|f| self.has(*f))
    }

    /// The bytes that get sealed for `field`: UTF-8 text, or the JPEG itself.
    pub fn field_bytes(&self, field: Field) -> Option<Vec<u8>> {
        match field {
            Field::ServiceNumber => self.service_number.clone().map(String::into_bytes),
            Field::Forenames => self.forenames.clone().map(String::into_bytes),
            Field::Surname => self.surname.clone().map(String::into_bytes),
            Field::Rank => self.rank.clone().map(String::into_bytes),
            Field::Unit => self.unit.clone().map(String::into_bytes),
            Field::Email => self.email.clone().map(String::into_bytes),
            Field::Photo => self.photo.clone(),
            Field::VettingLevel => self.vetting_level.map(|l| l.as_str().as_bytes().to_vec()),
            Field::VettingExpiry => self.vetting_expiry.map(|d| format_date(d).into_bytes()),
            Field::Salary => self.salary.map(|s| s.pence().to_string().into_bytes()),
            Field::PayGrade => self.pay_grade.clone().map(String::into_bytes),
        }
    }

    /// Sets `field` from bytes produced by [`PersonRecord::field_bytes`].
    pub fn set_field_bytes(&mut self, field: Field, bytes: Vec<u8>) -> Result<(), ValidationError> {
        let bad = || ValidationError::new(Some(field), ValidationErrorKind::BadCharacters);
        if field == Field::Photo {
            self.photo = Some(bytes);
            return Ok(());
        }
        let text = String::from_utf8(bytes).map_err(|_| bad())?;
        match field {
            Field::ServiceNumber => self.service_number = Some(text),
            Field::Forenames => self.forenames = Some(text),
            Field::Surname => self.surname = Some(text),
            Field::Rank => self.rank = Some(text),
            Field::Unit => self.unit = Some(text),
            Field::Email => self.email = Some(text),
            Field::Photo => {}
            Field::VettingLevel => self.vetting_level = Some(text.parse()?),
            Field::VettingExpiry => self.vetting_expiry = Some(parse_date(field, &text)?),
            Field::Salary => {
                let pence: u64 = text.parse().map_err(|_| bad())?;
                self.salary = Some(Salary::from_pence(pence)?);
            }
            Field::PayGrade => self.pay_grade = Some(text),
        }
        Ok(())
    }

    /// Sets `field` from operator or CSV text, validating it. An empty string
    /// clears an optional field.
    pub fn set_from_text(&mut self, field: Field, text: &str, ranks: &RankTable) -> Result<(), ValidationError> {
        let text = text.trim();
        match field {
            Field::ServiceNumber => self.service_number = Some(normalise_service_number(text)?),
            Field::Forenames => self.forenames = Some(clean_text(field, text, 100)?),
            Field::Surname => self.surname = Some(clean_text(field, text, 100)?),
            Field::Rank => self.rank = Some(ranks.canonical(text)?.to_owned()),
            Field::Unit => self.unit = optional(text).map(|t| clean_text(field, t, 100)).transpose()?,
            Field::Email => self.email = optional(text).map(validate_email).transpose()?,
            Field::Photo => {
                return Err(ValidationError::new(Some(field), ValidationErrorKind::BadCharacters));
            }
            Field::VettingLevel => self.vetting_level = optional(text).map(str::parse).transpose()?,
            Field::VettingExpiry => self.vetting_expiry = optional(text).map(|t| parse_date(field, t)).transpose()?,
            Field::Salary => self.salary = optional(text).map(str::parse).transpose()?,
            Field::PayGrade => self.pay_grade = optional(text).map(|t| clean_text(field, t, 40)).transpose()?,
        }
        Ok(())
    }

    /// Checks that a new person has every required identity field.
    pub fn check_complete(&self) -> Result<(), ValidationError> {
        for field in [Field::ServiceNumber, Field::Forenames, Field::Surname, Field::Rank] {
            if !self.has(field) {
                return Err(ValidationError::new(Some(field), ValidationErrorKind::Missing));
            }
        }
        Ok(())
    }

    /// The text form of `field`, as the CLI and CSV export show it.
    pub fn field_text(&self, field: Field) -> Option<String> {
        match field {
            Field::Photo => self.photo.as_ref().map(|p| format!("[jpeg, {} bytes]", p.len())),
            Field::Salary => self.salary.map(|s| s.to_string()),
            Field::VettingExpiry => self.vetting_expiry.map(format_date),
            _ => self.field_bytes(field).and_then(|b| String::from_utf8(b).ok()),
        }
    }

    /// Keeps only the fields of `compartments`.
    pub fn retain_compartments(&mut self, compartments: &[Compartment]) {
        for field in Field::ALL {
            if !compartments.contains(&field.compartment()) {
                self.clear(field);
            }
        }
    }

    fn clear(&mut self, field: Field) {
        match field {
            Field::ServiceNumber => self.service_number = None,
            Field::Forenames => self.forenames = None,
            Field::Surname => self.surname = None,
            Field::Rank => self.rank = None,
            Field::Unit => self.unit = None,
            Field::Email => self.email = None,
            Field::Photo => self.photo = None,
            Field::VettingLevel => self.vetting_level = None,
            Field::VettingExpiry => self.vetting_expiry = None,
            Field::Salary => self.salary = None,
            Field::PayGrade => self.pay_grade = None,
        }
    }
}

fn optional(text: &str) -> Option<&str> {
    if text.is_empty() { None } else { Some(text) }
}

fn clean_text(field: Field, text: &str, max: usize) -> Result<String, ValidationError> {
    let collapsed = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if collapsed.is_empty() {
        return Err(ValidationError::new(Some(field), ValidationErrorKind::Missing));
    }
    if collapsed.chars().count() > max {
        return Err(ValidationError::new(Some(field), ValidationErrorKind::TooLong { max }));
    }
    if collapsed.chars().any(char::is_control) {
        return Err(ValidationError::new(Some(field), ValidationErrorKind::BadCharacters));
    }
    Ok(collapsed.nfc().collect())
}

fn validate_email(text: &str) -> Result<String, ValidationError> {
    let bad = || ValidationError::new(Some(Field::Email), ValidationErrorKind::BadEmail);
    if text.len() > 254 || text.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(bad());
    }
    let (local, domain) = text.rsplit_once('@').ok_or_else(bad)?;
    let labels: Vec<&str> = domain.split('.').collect();
    if local.is_empty()
        || local.contains('@')
        || labels.len() < 2
        || labels.iter().any(|l| l.is_empty() || l.starts_with('-') || l.ends_with('-'))
    {
        return Err(bad());
    }
    Ok(normalise_email(text))
}

/// Service numbers are compared upper-case without spaces: `pc 1234` is `PC1234`.
pub fn normalise_service_number(text: &str) -> Result<String, ValidationError> {
    let out: String = text.chars().filter(|c| !c.is_whitespace()).map(|c| c.to_ascii_uppercase()).collect();
    if out.is_empty() {
        return Err(ValidationError::new(Some(Field::ServiceNumber), ValidationErrorKind::Missing));
    }
    if out.len() > 20 || !out.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '/') {
        return Err(ValidationError::new(Some(Field::ServiceNumber), ValidationErrorKind::BadServiceNumber));
    }
    Ok(out)
}

/// Emails are compared trimmed and lower-case.
pub fn normalise_email(text: &str) -> String {
    text.trim().to_lowercase()
}

/// Names are compared without case, accents, apostrophes, hyphens or repeated
/// spaces: `O'Brien`, `OBRIEN` and `o’brien` match, as do `Zoë` and `Zoe`.
pub fn normalise_name(text: &str) -> String {
    let stripped: String = text
        .nfkd()
        .filter(|c| !unicode_normalization::char::is_combining_mark(*c))
        .filter(|c| !matches!(c, '\'' | '\u{2019}' | '\u{2018}' | '`' | '.'))
        .map(|c| if c == '-' { ' ' } else { c })
        .collect();
    stripped.split_whitespace().map(str::to_lowercase).collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_values() {
        let mut p = PersonRecord::default();
        let ranks = RankTable::default_ranks();
        p.set_from_text(Field::Surname, "Featherstonehaugh", &ranks).unwrap();
        p.set_from_text(Field::Salary, "41234", &ranks).unwrap();
        let shown = format!("{p:?}");
        assert!(!shown.contains("Featherstonehaugh"));
        assert!(!shown.contains("41234"));
        assert!(shown.contains("surname"));
    }

    #[test]
    fn salary_forms() {
        assert_eq!("34500".parse::<Salary>().unwrap().pence(), 3_450_000);
        assert_eq!("£34,500.50".parse::<Salary>().unwrap().pence(), 3_450_050);
        for bad in ["", "abc", "12.5", "-3", "1e6", "99999999999"] {
            assert!(bad.parse::<Salary>().is_err(), "{bad}");
        }
    }

    #[test]
    fn field_bytes_round_trip() {
        let ranks = RankTable::default_ranks();
        let mut p = PersonRecord::default();
        for (f, v) in [
            (Field::ServiceNumber, "pc 1234"),
            (Field::Forenames, "Anne  Marie"),
            (Field::Surname, "O'Brien"),
            (Field::Rank, "inspector"),
            (Field::Unit, "Traffic"),
            (Field::Email, "A.OBrien@Example.Police.uk"),
            (Field::VettingLevel, "esc"),
            (Field::VettingExpiry, "2027-03-01"),
            (Field::Salary, "51000.25"),
            (Field::PayGrade, "P3"),
        ] {
            p.set_from_text(f, v, &ranks).unwrap();
        }
        assert_eq!(p.service_number.as_deref(), Some("PC1234"));
        assert_eq!(p.forenames.as_deref(), Some("Anne Marie"));
        assert_eq!(p.rank.as_deref(), Some("Inspector"));
        assert_eq!(p.email.as_deref(), Some("a.obrien@example.police.uk"));
        let mut q = PersonRecord::default();
        for f in Field::ALL {
            if let Some(b) = p.field_bytes(f) {
                q.set_field_bytes(f, b).unwrap();
            }
        }
        assert_eq!(p, q);
    }

    #[test]
    fn names_normalise() {
        assert_eq!(normalise_name("O'Brien"), normalise_name("OBRIEN"));
        assert_eq!(normalise_name("o\u{2019}brien"), "obrien");
        assert_eq!(normalise_name(" Zoë  Smith-Jones "), "zoe smith jones");
    }

    #[test]
    fn bad_values_are_refused_without_echo() {
        let ranks = RankTable::default_ranks();
        let mut p = PersonRecord::default();
        for (f, v) in [
            (Field::ServiceNumber, "PC 12<34>"),
            (Field::Email, "not-an-email"),
            (Field::Email, "a@b"),
            (Field::Rank, "Sheriff"),
            (Field::VettingExpiry, "01/02/2027"),
            (Field::Surname, "   "),
        ] {
            let err = p.set_from_text(f, v, &ranks).unwrap_err();
            assert_eq!(err.field(), Some(f));
            assert!(!err.to_string().contains(v.trim()) || v.trim().is_empty());
        }
    }
}
