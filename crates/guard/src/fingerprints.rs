//! Exact data match against the register, without the register: keyed
//! fingerprints (HMAC-SHA256, truncated to 128 bits) of normalised
//! identifiers. `lanyard fingerprints export` writes them; a scanner that
//! holds only the file finds register people in a document and counts them
//! by identifier.
//!
//! The key travels in the file (the scanner must compute the same
//! fingerprints), so the file resists casual reading but not a dictionary
//! attack on low-entropy values such as service numbers: keep it as
//! carefully as the register's exports (0600, never released).
//!
//! Normalisation: Unicode NFKD with combining marks dropped (Siobhán →
//! siobhan), lower case, apostrophes dropped (O'Brien → obrien), hyphens
//! and runs of space to one space; "Surname, Forename" is read both ways.

use std::collections::HashSet;
use std::sync::LazyLock;

use hmac::{Hmac, KeyInit, Mac};
use regex::Regex;
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use unicode_normalization::UnicodeNormalization;

use crate::identifiers::Hit;
use crate::report::Detector;

/// The file's format tag.
pub const FINGERPRINTS_FORMAT: &str = "lanyard-fingerprints/1";

/// Which identifier a fingerprint is of.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Identifier {
    /// Service number.
    ServiceNumber,
    /// Forenames and surname (all forenames, and the first alone).
    FullName,
    /// Surname and first initial.
    SurnameInitial,
    /// Email address.
    Email,
}

impl Identifier {
    fn tag(self) -> &'static [u8] {
        match self {
            Identifier::ServiceNumber => b"sn",
            Identifier::FullName => b"fn",
            Identifier::SurnameInitial => b"si",
            Identifier::Email => b"em",
        }
    }

    fn detector(self) -> Detector {
        match self {
            Identifier::ServiceNumber => Detector::RegisterServiceNumber,
            Identifier::FullName => Detector::RegisterFullName,
            Identifier::SurnameInitial => Detector::RegisterSurnameInitial,
            Identifier::Email => Detector::RegisterEmail,
        }
    }
}

/// One person's identifiers, as the register holds them.
#[derive(Clone, Debug, Default)]
pub struct PersonIdentifiers {
    /// Service number.
    pub service_number: Option<String>,
    /// Forenames, space-separated.
    pub forenames: Option<String>,
    /// Surname.
    pub surname: Option<String>,
    /// Email.
    pub email: Option<String>,
}

#[derive(Serialize, Deserialize)]
struct FileForm {
    format: String,
    created_at: i64,
    people: u64,
    /// Base64 HMAC key.
    key: String,
    /// Base64 of concatenated 16-byte fingerprints, per identifier.
    service_number: String,
    full_name: String,
    surname_initial: String,
    email: String,
}

type Fp = [u8; 16];

/// A set of fingerprints and the key that made them.
pub struct Fingerprints {
    key: [u8; 32],
    /// HMAC keyed once: each fingerprint clones it rather than deriving
    /// the inner and outer pads again.
    mac: Option<Hmac<Sha256>>,
    people: u64,
    sets: [HashSet<Fp>; 4],
}

impl std::fmt::Debug for Fingerprints {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Fingerprints({} people, key [redacted])", self.people)
    }
}

/// A fingerprints file that cannot be read.
#[derive(Debug, thiserror::Error)]
#[error("fingerprints file: {0}")]
pub struct FingerprintsError(String);

/// Lower case, accents and apostrophes gone, hyphens and spaces to single
/// spaces, other punctuation dropped.
pub fn normalise_name(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut space = false;
    for c in text.nfkd() {
        if unicode_normalization::char::is_combining_mark(c) || matches!(c, '\'' | '’' | '‘' | '`') {
            continue;
        }
        if c.is_alphabetic() {
            if space && !out.is_empty() {
                out.push(' ');
            }
            space = false;
            out.extend(c.to_lowercase());
        } else if c.is_whitespace() || c == '-' || c == '.' || c == ',' {
            space = true;
        }
    }
    out
}

/// Upper case letters and digits only.
pub fn normalise_service_number(text: &str) -> String {
    text.chars().filter(char::is_ascii_alphanumeric).map(|c| c.to_ascii_uppercase()).collect()
}

impl Fingerprints {
    fn fp(&self, id: Identifier, normalised: &str) -> Fp {
        let mut out = [0u8; 16];
        if let Some(keyed) = &self.mac {
            let mut mac = keyed.clone();
            mac.update(id.tag());
            mac.update(&[0]);
            mac.update(normalised.as_bytes());
            out.copy_from_slice(mac.finalize().into_bytes().get(..16).unwrap_or(&[0; 16]));
        }
        out
    }

    fn keyed(key: &[u8; 32]) -> Option<Hmac<Sha256>> {
        <Hmac<Sha256> as KeyInit>::new_from_slice(key).ok()
    }

    /// Fingerprints of `people` under a fresh key.
    pub fn build(people: impl IntoIterator<Item = PersonIdentifiers>, key: [u8; 32]) -> Fingerprints {
        let mut f = Fingerprints { mac: Self::keyed(&key), key, people: 0, sets: Default::default() };
        for p in people {
            f.people += 1;
            f.add(&p);
        }
        f
    }

    fn insert(&mut self, id: Identifier, normalised: String) {
        if normalised.is_empty() {
            return;
        }
        let fp = self.fp(id, &normalised);
        if let Some(set) = self.sets.get_mut(id as usize) {
            set.insert(fp);
        }
    }

    fn add(&mut self, p: &PersonIdentifiers) {
        if let Some(sn) = &p.service_number {
            self.insert(Identifier::ServiceNumber, normalise_service_number(sn));
        }
        if let Some(e) = &p.email {
            self.insert(Identifier::Email, e.trim().to_lowercase());
        }
        if let Some(surname) = p.surname.as_deref().map(normalise_name).filter(|s| !s.is_empty()) {
            let forenames = p.forenames.as_deref().map(normalise_name).unwrap_or_default();
            if let Some(first) = forenames.split(' ').next().filter(|f| !f.is_empty()) {
                self.insert(Identifier::FullName, format!("{forenames} {surname}"));
                self.insert(Identifier::FullName, format!("{first} {surname}"));
                let initial: String = first.chars().take(1).collect();
                self.insert(Identifier::SurnameInitial, format!("{surname} {initial}"));
            }
        }
    }

    /// How many people the set was made from.
    pub fn people(&self) -> u64 {
        self.people
    }

    fn contains(&self, id: Identifier, normalised: &str) -> bool {
        !normalised.is_empty() && self.sets.get(id as usize).is_some_and(|s| s.contains(&self.fp(id, normalised)))
    }

    /// Finds register identifiers in `text`.
    pub fn find(&self, text: &str, out: &mut Vec<Hit>) {
        // Service numbers: tokens with a digit.
        for m in TOKEN.find_iter(text) {
            let t = m.as_str();
            if t.bytes().any(|b| b.is_ascii_digit())
                && self.contains(Identifier::ServiceNumber, &normalise_service_number(t))
            {
                out.push(Hit { detector: Detector::RegisterServiceNumber, start: m.start(), end: m.end() });
            }
        }
        if text.contains('@') {
            for m in EMAIL.find_iter(text) {
                if self.contains(Identifier::Email, &m.as_str().to_lowercase()) {
                    out.push(Hit { detector: Detector::RegisterEmail, start: m.start(), end: m.end() });
                }
            }
        }
        // Names: runs of two to four capitalised words (or the whole text
        // when it is short, as in a table cell), in both orders.
        for m in NAME_RUN.find_iter(text) {
            let run = m.as_str();
            let norm = normalise_name(run);
            let words: Vec<&str> = norm.split(' ').collect();
            let comma = run.contains(',');
            let mut candidates = vec![norm.clone()];
            if words.len() >= 2 {
                // "Smith, John" and "Smith John" read as "john smith".
                let (last, rest) = words.split_first().unwrap_or((&"", &[]));
                candidates.push(format!("{} {last}", rest.join(" ")));
            }
            let mut found = None;
            for c in &candidates {
                if self.contains(Identifier::FullName, c) {
                    found = Some(Detector::RegisterFullName);
                    break;
                }
            }
            if found.is_none() && words.len() == 2 {
                // "Smith J" / "J Smith" / "Smith, J."
                let (a, b) = (words.first().copied().unwrap_or(""), words.get(1).copied().unwrap_or(""));
                let pairs = [(a, b), (b, a)];
                for (surname, initial) in pairs {
                    if initial.chars().count() == 1 || (!comma && initial.chars().count() > 1) {
                        let i: String = initial.chars().take(1).collect();
                        if self.contains(Identifier::SurnameInitial, &format!("{surname} {i}")) {
                            found = Some(Detector::RegisterSurnameInitial);
                            break;
                        }
                    }
                }
            }
            if let Some(d) = found {
                out.push(Hit { detector: d, start: m.start(), end: m.end() });
            }
        }
    }

    /// Checks a table row's surname and forename/initial cells together (the
    /// PSNI sheet held them in separate columns).
    pub fn find_split(&self, surname: &str, forename: &str) -> Option<Detector> {
        let s = normalise_name(surname);
        let f = normalise_name(forename);
        let first = f.split(' ').next().unwrap_or("");
        if s.is_empty() || first.is_empty() {
            return None;
        }
        if first.chars().count() > 1 && self.contains(Identifier::FullName, &format!("{first} {s}")) {
            return Some(Identifier::FullName.detector());
        }
        let initial: String = first.chars().take(1).collect();
        self.contains(Identifier::SurnameInitial, &format!("{s} {initial}"))
            .then(|| Identifier::SurnameInitial.detector())
    }

    /// The file form.
    pub fn to_json(&self, created_at: i64) -> String {
        use base64::Engine as _;
        let b64 = base64::engine::general_purpose::STANDARD;
        let join = |id: Identifier| {
            let set = self.sets.get(id as usize);
            let mut v: Vec<&Fp> = set.map(|s| s.iter().collect()).unwrap_or_default();
            v.sort();
            b64.encode(v.into_iter().flatten().copied().collect::<Vec<u8>>())
        };
        let form = FileForm {
            format: FINGERPRINTS_FORMAT.into(),
            created_at,
            people: self.people,
            key: b64.encode(self.key),
            service_number: join(Identifier::ServiceNumber),
            full_name: join(Identifier::FullName),
            surname_initial: join(Identifier::SurnameInitial),
            email: join(Identifier::Email),
        };
        serde_json::to_string(&form).unwrap_or_default()
    }

    /// Reads the file form.
    pub fn from_json(text: &str) -> Result<Fingerprints, FingerprintsError> {
        use base64::Engine as _;
        let b64 = base64::engine::general_purpose::STANDARD;
        let form: FileForm = serde_json::from_str(text).map_err(|e| FingerprintsError(e.to_string()))?;
        if form.format != FINGERPRINTS_FORMAT {
            return Err(FingerprintsError(format!("format is not {FINGERPRINTS_FORMAT}")));
        }
        let key: [u8; 32] = b64
            .decode(&form.key)
            .ok()
            .and_then(|k| k.try_into().ok())
            .ok_or_else(|| FingerprintsError("key is not 32 bytes of base64".into()))?;
        let mut sets: [HashSet<Fp>; 4] = Default::default();
        for (i, field) in [&form.service_number, &form.full_name, &form.surname_initial, &form.email].iter().enumerate()
        {
            let bytes = b64.decode(field).map_err(|_| FingerprintsError("a fingerprint list is not base64".into()))?;
            if bytes.len() % 16 != 0 {
                return Err(FingerprintsError("a fingerprint list is not whole 16-byte fingerprints".into()));
            }
            if let Some(set) = sets.get_mut(i) {
                set.extend(bytes.chunks_exact(16).filter_map(|c| <Fp>::try_from(c).ok()));
            }
        }
        Ok(Fingerprints { mac: Self::keyed(&key), key, people: form.people, sets })
    }
}

static TOKEN: LazyLock<Regex> =
    LazyLock::new(|| crate::identifiers::re(r"(?-u:\b)[A-Za-z0-9][A-Za-z0-9/\-]{1,19}(?-u:\b)"));
static EMAIL: LazyLock<Regex> =
    LazyLock::new(|| crate::identifiers::re(r"[A-Za-z0-9._%+\-]{1,64}@[A-Za-z0-9\-.]{1,253}\.[A-Za-z]{2,24}"));
static NAME_RUN: LazyLock<Regex> =
    LazyLock::new(|| crate::identifiers::re(r"\b\p{Lu}[\p{L}'’\-]*\.?(?:,?\s+\p{Lu}[\p{L}'’\-]*\.?){1,3}"));

#[cfg(test)]
mod tests {
    use super::*;

    fn register() -> Fingerprints {
        Fingerprints::build(
            [
                PersonIdentifiers {
                    service_number: Some("MX-1234".into()),
                    forenames: Some("Siobhán Mary".into()),
                    surname: Some("O'Brien".into()),
                    email: Some("S.OBrien@example.police.uk".into()),
                },
                PersonIdentifiers {
                    service_number: Some("7001".into()),
                    forenames: Some("John".into()),
                    surname: Some("Smith-Jones".into()),
                    email: None,
                },
            ],
            [7; 32],
        )
    }

    fn detectors(f: &Fingerprints, text: &str) -> Vec<Detector> {
        let mut out = Vec::new();
        f.find(text, &mut out);
        out.into_iter().map(|h| h.detector).collect()
    }

    #[test]
    fn the_normalisations_the_issue_names_find_the_person() {
        let f = register();
        for text in [
            "Siobhan O'Brien attended",
            "SIOBHAN OBRIEN",
            "O’Brien, Siobhán",
            "Siobhán Mary O'Brien",
            "officer John Smith Jones",
        ] {
            assert!(detectors(&f, text).contains(&Detector::RegisterFullName), "{text}");
        }
        assert!(detectors(&f, "O'Brien S.").contains(&Detector::RegisterSurnameInitial));
        assert!(detectors(&f, "ref mx1234").contains(&Detector::RegisterServiceNumber));
        assert!(detectors(&f, "mail s.obrien@EXAMPLE.police.uk").contains(&Detector::RegisterEmail));
        assert_eq!(f.find_split("Smith-Jones", "J"), Some(Detector::RegisterSurnameInitial));
        assert!(detectors(&f, "Siobhan Murphy and John Brown, 7002").is_empty());
    }

    #[test]
    fn the_file_round_trips_and_holds_no_plaintext() {
        let f = register();
        let json = f.to_json(0);
        assert!(!json.to_lowercase().contains("brien") && !json.contains("1234"));
        let g = Fingerprints::from_json(&json).unwrap();
        assert_eq!(g.people(), 2);
        assert!(detectors(&g, "Siobhan O'Brien").contains(&Detector::RegisterFullName));
        assert!(Fingerprints::from_json("{}").is_err());
    }
}
