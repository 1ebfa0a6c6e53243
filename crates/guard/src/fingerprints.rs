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
//! Canaries (DESIGN §7) travel in the same file: made-up people planted per
//! recipient, whose fingerprints name the recipient. A canary's identifier
//! that is also a person's is dropped, so a real person is never taken for
//! a canary.
//!
//! Normalisation: Unicode NFKD with combining marks dropped (Siobhán →
//! siobhan), lower case, apostrophes dropped (O'Brien → obrien), hyphens
//! and runs of space to one space; "Surname, Forename" is read both ways.

use std::collections::{HashMap, HashSet};
use std::sync::{LazyLock, OnceLock};

use hmac::{Hmac, KeyInit, Mac};
use regex::Regex;
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use unicode_normalization::UnicodeNormalization;

use crate::identifiers::Hit;
use crate::prefilter::Prefilter;
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
struct CanaryForm {
    recipient: String,
    service_number: String,
    full_name: String,
    surname_initial: String,
    email: String,
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
    /// Absent in files made before canaries.
    #[serde(default)]
    canaries: Vec<CanaryForm>,
    /// The lengths normalised service numbers have, so a token of another
    /// length is not hashed at all (absent in older files: no such look).
    #[serde(default)]
    service_number_lengths: Vec<u8>,
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
    /// Canary fingerprints, to the index of their recipient.
    canaries: [HashMap<Fp, u32>; 4],
    recipients: Vec<String>,
    /// Bit n set: some service number is n characters long, normalised.
    /// Zero means unknown (a file from before), and every token is hashed.
    sn_lengths: u64,
    /// When the file form was written (unix seconds); `None` for a set
    /// built in memory and not read from a file.
    created_at: Option<i64>,
    /// The raw prefilter for tables, built at the first scan that needs it.
    prefilter: OnceLock<Option<Prefilter>>,
}

/// Whose identifier a fingerprint is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Owner {
    Person,
    /// The canary of recipient n.
    Canary(u32),
}

impl std::fmt::Debug for Fingerprints {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Fingerprints({} people, {} canaries, key [redacted])", self.people, self.recipients.len())
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
        let mut f = Fingerprints {
            mac: Self::keyed(&key),
            key,
            people: 0,
            sets: Default::default(),
            canaries: Default::default(),
            recipients: Vec::new(),
            sn_lengths: 0,
            created_at: None,
            prefilter: OnceLock::new(),
        };
        for p in people {
            f.people += 1;
            for (id, normalised) in identifiers_of(&p) {
                f.note_length(id, &normalised);
                let fp = f.fp(id, &normalised);
                if let Some(set) = f.sets.get_mut(id as usize) {
                    set.insert(fp);
                }
            }
        }
        f
    }

    /// Adds canaries, each with its recipient. Call it after the people are
    /// in: a canary's identifier that is also a person's is left out.
    pub fn with_canaries(mut self, canaries: impl IntoIterator<Item = (String, PersonIdentifiers)>) -> Fingerprints {
        // New lengths of service number change what the prefilter looks for.
        self.prefilter = OnceLock::new();
        for (recipient, p) in canaries {
            let n = u32::try_from(self.recipients.len()).unwrap_or(u32::MAX);
            self.recipients.push(recipient);
            for (id, normalised) in identifiers_of(&p) {
                self.note_length(id, &normalised);
                let fp = self.fp(id, &normalised);
                if !self.sets.get(id as usize).is_some_and(|s| s.contains(&fp))
                    && let Some(map) = self.canaries.get_mut(id as usize)
                {
                    map.insert(fp, n);
                }
            }
        }
        self
    }

    fn note_length(&mut self, id: Identifier, normalised: &str) {
        if id == Identifier::ServiceNumber {
            // Tokens are at most 20 characters; a longer number is never
            // looked for by length, so it turns the look off.
            self.sn_lengths |= if normalised.len() < 64 { 1 << normalised.len() } else { u64::MAX };
        }
    }

    fn sn_length_possible(&self, len: usize) -> bool {
        self.sn_lengths == 0 || (len < 64 && self.sn_lengths & (1 << len) != 0)
    }

    /// How many canaries the set holds.
    pub fn canaries(&self) -> usize {
        self.recipients.len()
    }

    /// The recipient of canary `n`.
    pub fn recipient(&self, n: u32) -> Option<&str> {
        self.recipients.get(n as usize).map(String::as_str)
    }

    /// When the file this set was read from was written (unix seconds).
    pub fn created_at(&self) -> Option<i64> {
        self.created_at
    }

    /// How many people the set was made from.
    pub fn people(&self) -> u64 {
        self.people
    }

    fn owner(&self, id: Identifier, normalised: &str) -> Option<Owner> {
        if normalised.is_empty() {
            return None;
        }
        let fp = self.fp(id, normalised);
        if self.sets.get(id as usize).is_some_and(|s| s.contains(&fp)) {
            return Some(Owner::Person);
        }
        self.canaries.get(id as usize).and_then(|m| m.get(&fp)).map(|n| Owner::Canary(*n))
    }

    fn hit(id: Identifier, owner: Owner, start: usize, end: usize) -> Hit {
        match owner {
            Owner::Person => Hit { detector: id.detector(), start, end, recipient: None },
            Owner::Canary(n) => Hit { detector: Detector::Canary, start, end, recipient: Some(n) },
        }
    }

    /// Finds register identifiers (and canaries) in `text`.
    pub fn find(&self, text: &str, out: &mut Vec<Hit>) {
        // Cheap looks first: most table cells hold no digit (no service
        // number) or no capital (no name), and a regex not run costs nothing.
        let bytes = text.as_bytes();
        let digits = bytes.iter().any(u8::is_ascii_digit);
        let capitals = !text.is_ascii() || bytes.iter().any(u8::is_ascii_uppercase);
        // Service numbers: tokens with a digit.
        for (start, end) in tokens(if digits { bytes } else { b"" }) {
            let t = text.get(start..end).unwrap_or("");
            if t.bytes().any(|b| b.is_ascii_digit())
                && let normalised = normalise_service_number(t)
                && self.sn_length_possible(normalised.len())
                && let Some(o) = self.owner(Identifier::ServiceNumber, &normalised)
            {
                out.push(Self::hit(Identifier::ServiceNumber, o, start, end));
            }
        }
        if text.contains('@') {
            for m in EMAIL.find_iter(text) {
                if let Some(o) = self.owner(Identifier::Email, &m.as_str().to_lowercase()) {
                    out.push(Self::hit(Identifier::Email, o, m.start(), m.end()));
                }
            }
        }
        // Names: runs of two to four capitalised words (or the whole text
        // when it is short, as in a table cell), in both orders.
        for m in NAME_RUN.find_iter(if capitals { text } else { "" }) {
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
            let mut found =
                candidates.iter().find_map(|c| self.owner(Identifier::FullName, c)).map(|o| (Identifier::FullName, o));
            if found.is_none() && words.len() == 2 {
                // "Smith J" / "J Smith" / "Smith, J."
                let (a, b) = (words.first().copied().unwrap_or(""), words.get(1).copied().unwrap_or(""));
                found = [(a, b), (b, a)]
                    .into_iter()
                    .filter(|(_, initial)| initial.chars().count() == 1 || (!comma && initial.chars().count() > 1))
                    .find_map(|(surname, initial)| {
                        let i: String = initial.chars().take(1).collect();
                        self.owner(Identifier::SurnameInitial, &format!("{surname} {i}"))
                    })
                    .map(|o| (Identifier::SurnameInitial, o));
            }
            if let Some((id, o)) = found {
                out.push(Self::hit(id, o, m.start(), m.end()));
            }
        }
    }

    /// The raw prefilter for tables under exact match: the identifier
    /// patterns and [`Fingerprints::raw_patterns`]. `None` when no
    /// prefilter can stand in for [`Fingerprints::find`].
    pub(crate) fn prefilter(&self) -> Option<&Prefilter> {
        self.prefilter
            .get_or_init(|| {
                let own = self.raw_patterns()?;
                Prefilter::new(crate::identifiers::RAW_PATTERNS.iter().map(|p| (*p).to_owned()).chain(own))
            })
            .as_ref()
    }

    /// Patterns of which one matches in a record's raw bytes wherever
    /// [`Fingerprints::find`] could find something in one of its cells
    /// (`crate::prefilter` says what raw bytes differ in): `None` for a
    /// file from before service-number lengths were kept, where every token
    /// with a digit is a candidate.
    ///
    /// - An email needs an `@`.
    /// - A name run starts with two capitalised words. In ASCII that is a
    ///   capital, letters, an optional full stop and comma, white space,
    ///   and a capital; any byte of a non-ASCII character (an accented
    ///   capital, a curly apostrophe, a non-breaking space) may stand for
    ///   a capital, a letter or a space.
    /// - A service number is a token whose letters and digits number one of
    ///   the lengths the register's have, with a digit among them; for each
    ///   such length, every place the first digit may take.
    fn raw_patterns(&self) -> Option<Vec<String>> {
        if self.sn_lengths == 0 {
            return None;
        }
        let mut out = vec![
            "@".to_owned(),
            r"(?:[A-Z]|[\x80-\xFF]+)[A-Za-z'\-\x80-\xFF]*\.?,?(?:[\t-\r\x1C-\x20]|[\x80-\xFF])+(?:[A-Z]|[\x80-\xFF])"
                .to_owned(),
        ];
        // A token is at most 20 characters long (`tokens`).
        for len in (1..=20usize).filter(|n| self.sn_lengths & (1 << n) != 0) {
            let alternatives: Vec<String> = (0..len)
                .map(|letters| {
                    format!(r"(?:[A-Za-z][/\-]*){{{letters}}}[0-9](?:[/\-]*[A-Za-z0-9]){{{}}}", len - 1 - letters)
                })
                .collect();
            out.push(format!(r"(?-u:\b)(?:{})(?-u:\b)", alternatives.join("|")));
        }
        Some(out)
    }

    /// Checks a table row's surname and forename/initial cells together (the
    /// PSNI sheet held them in separate columns): the detector, and the
    /// canary's recipient if it is one.
    pub fn find_split(&self, surname: &str, forename: &str) -> Option<(Detector, Option<u32>)> {
        let s = normalise_name(surname);
        let f = normalise_name(forename);
        let first = f.split(' ').next().unwrap_or("");
        if s.is_empty() || first.is_empty() {
            return None;
        }
        let full = (first.chars().count() > 1)
            .then(|| self.owner(Identifier::FullName, &format!("{first} {s}")).map(|o| (Identifier::FullName, o)))
            .flatten();
        let initial: String = first.chars().take(1).collect();
        let (id, owner) = full.or_else(|| {
            self.owner(Identifier::SurnameInitial, &format!("{s} {initial}")).map(|o| (Identifier::SurnameInitial, o))
        })?;
        let hit = Self::hit(id, owner, 0, 0);
        Some((hit.detector, hit.recipient))
    }

    /// The file form.
    pub fn to_json(&self, created_at: i64) -> String {
        use base64::Engine as _;
        let b64 = base64::engine::general_purpose::STANDARD;
        let encode = |mut v: Vec<&Fp>| {
            v.sort();
            b64.encode(v.into_iter().flatten().copied().collect::<Vec<u8>>())
        };
        let join = |id: Identifier| encode(self.sets.get(id as usize).map(|s| s.iter().collect()).unwrap_or_default());
        let of_canary = |id: Identifier, n: u32| {
            encode(
                self.canaries
                    .get(id as usize)
                    .map(|m| m.iter().filter(|(_, r)| **r == n).map(|(fp, _)| fp).collect())
                    .unwrap_or_default(),
            )
        };
        let canaries = (0..self.recipients.len())
            .filter_map(|i| u32::try_from(i).ok())
            .map(|n| CanaryForm {
                recipient: self.recipient(n).unwrap_or_default().to_owned(),
                service_number: of_canary(Identifier::ServiceNumber, n),
                full_name: of_canary(Identifier::FullName, n),
                surname_initial: of_canary(Identifier::SurnameInitial, n),
                email: of_canary(Identifier::Email, n),
            })
            .collect();
        let form = FileForm {
            format: FINGERPRINTS_FORMAT.into(),
            created_at,
            people: self.people,
            key: b64.encode(self.key),
            service_number: join(Identifier::ServiceNumber),
            full_name: join(Identifier::FullName),
            surname_initial: join(Identifier::SurnameInitial),
            email: join(Identifier::Email),
            canaries,
            service_number_lengths: (0..64u8).filter(|n| self.sn_lengths & (1 << n) != 0).collect(),
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
        let decode = |field: &str| -> Result<Vec<Fp>, FingerprintsError> {
            let bytes = b64.decode(field).map_err(|_| FingerprintsError("a fingerprint list is not base64".into()))?;
            if bytes.len() % 16 != 0 {
                return Err(FingerprintsError("a fingerprint list is not whole 16-byte fingerprints".into()));
            }
            Ok(bytes.chunks_exact(16).filter_map(|c| <Fp>::try_from(c).ok()).collect())
        };
        let mut sets: [HashSet<Fp>; 4] = Default::default();
        for (set, field) in
            sets.iter_mut().zip([&form.service_number, &form.full_name, &form.surname_initial, &form.email])
        {
            set.extend(decode(field)?);
        }
        let mut canaries: [HashMap<Fp, u32>; 4] = Default::default();
        let mut recipients = Vec::new();
        for (n, c) in form.canaries.into_iter().enumerate() {
            let n = u32::try_from(n).map_err(|_| FingerprintsError("too many canaries".into()))?;
            for (map, field) in canaries.iter_mut().zip([&c.service_number, &c.full_name, &c.surname_initial, &c.email])
            {
                map.extend(decode(field)?.into_iter().map(|fp| (fp, n)));
            }
            recipients.push(c.recipient);
        }
        let sn_lengths =
            form.service_number_lengths.iter().fold(0u64, |m, n| m | 1u64.checked_shl(u32::from(*n)).unwrap_or(0));
        Ok(Fingerprints {
            mac: Self::keyed(&key),
            key,
            people: form.people,
            sets,
            canaries,
            recipients,
            sn_lengths,
            created_at: Some(form.created_at),
            prefilter: OnceLock::new(),
        })
    }
}

/// The normalised identifiers of a person, each as it is fingerprinted.
fn identifiers_of(p: &PersonIdentifiers) -> Vec<(Identifier, String)> {
    let mut out = Vec::new();
    if let Some(sn) = &p.service_number {
        out.push((Identifier::ServiceNumber, normalise_service_number(sn)));
    }
    if let Some(e) = &p.email {
        out.push((Identifier::Email, e.trim().to_lowercase()));
    }
    if let Some(surname) = p.surname.as_deref().map(normalise_name).filter(|s| !s.is_empty()) {
        let forenames = p.forenames.as_deref().map(normalise_name).unwrap_or_default();
        if let Some(first) = forenames.split(' ').next().filter(|f| !f.is_empty()) {
            out.push((Identifier::FullName, format!("{forenames} {surname}")));
            out.push((Identifier::FullName, format!("{first} {surname}")));
            let initial: String = first.chars().take(1).collect();
            out.push((Identifier::SurnameInitial, format!("{surname} {initial}")));
        }
    }
    out.retain(|(_, v)| !v.is_empty());
    out
}

/// The tokens a service number may be: what the regex
/// `(?-u:\b)[A-Za-z0-9][A-Za-z0-9/\-]{1,19}(?-u:\b)` finds, leftmost first,
/// greedy, without a regex (it was a third of an exact-match scan). A test
/// holds it to the regex on arbitrary text.
fn tokens(text: &[u8]) -> impl Iterator<Item = (usize, usize)> + '_ {
    let word = |i: usize| text.get(i).is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'_');
    let class = |b: u8| b.is_ascii_alphanumeric() || b == b'/' || b == b'-';
    let boundary = move |i: usize| i.checked_sub(1).is_some_and(word) != word(i);
    let mut at = 0;
    std::iter::from_fn(move || {
        while at < text.len() {
            let start = at;
            at += 1;
            if !(text.get(start).is_some_and(u8::is_ascii_alphanumeric) && boundary(start)) {
                continue;
            }
            let mut end = start + 1;
            while end < text.len() && end - start < 20 && text.get(end).is_some_and(|b| class(*b)) {
                end += 1;
            }
            // Back off to the longest token that ends on a word boundary.
            while end >= start + 2 {
                if boundary(end) {
                    at = end;
                    return Some((start, end));
                }
                end -= 1;
            }
        }
        None
    })
}
static EMAIL: LazyLock<Regex> =
    LazyLock::new(|| crate::identifiers::re(r"[A-Za-z0-9._%+\-]{1,64}@[A-Za-z0-9\-.]{1,253}\.[A-Za-z]{2,24}"));
// Unicode classes (names carry accents) make a large lazy DFA: with the
// default cache it was cleared and regrown over and over, and a fifth of
// an exact-match scan was the kernel zeroing pages for it.
#[allow(clippy::expect_used)]
static NAME_RUN: LazyLock<Regex> = LazyLock::new(|| {
    regex::RegexBuilder::new(r"\b\p{Lu}[\p{L}'’\-]*\.?(?:,?\s+\p{Lu}[\p{L}'’\-]*\.?){1,3}")
        .dfa_size_limit(64 << 20)
        .build()
        .expect("a constant pattern")
});

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
        assert_eq!(f.find_split("Smith-Jones", "J"), Some((Detector::RegisterSurnameInitial, None)));
        assert!(detectors(&f, "Siobhan Murphy and John Brown, 7002").is_empty());
    }

    #[test]
    fn the_file_round_trips_and_holds_no_plaintext() {
        let f = register();
        let json = f.to_json(1_700_000_000);
        assert!(!json.to_lowercase().contains("brien") && !json.contains("1234"));
        let g = Fingerprints::from_json(&json).unwrap();
        assert_eq!(g.people(), 2);
        assert_eq!((f.created_at(), g.created_at()), (None, Some(1_700_000_000)), "the file says when it was made");
        assert!(detectors(&g, "Siobhan O'Brien").contains(&Detector::RegisterFullName));
        assert!(Fingerprints::from_json("{}").is_err());
    }

    fn canary(sn: &str, forename: &str, surname: &str) -> PersonIdentifiers {
        PersonIdentifiers {
            service_number: Some(sn.into()),
            forenames: Some(forename.into()),
            surname: Some(surname.into()),
            email: Some(format!("{forename}.{surname}@police.example")),
        }
    }

    fn hits<'a>(f: &'a Fingerprints, text: &str) -> Vec<(Detector, Option<&'a str>)> {
        let mut out = Vec::new();
        f.find(text, &mut out);
        out.into_iter().map(|h| (h.detector, h.recipient.and_then(|n| f.recipient(n)))).collect()
    }

    #[test]
    fn a_canary_is_told_from_people_and_names_its_recipient() {
        let f = register().with_canaries([
            ("hr-payroll".to_owned(), canary("MX9001", "Neil", "Lomax")),
            // Shares a surname and initial with a person: only its own
            // identifiers count, the shared one stays the person's.
            ("occ-health".to_owned(), canary("MX9002", "Simon", "O'Brien")),
        ]);
        assert_eq!(f.canaries(), 2);
        assert_eq!(hits(&f, "MX9001"), vec![(Detector::Canary, Some("hr-payroll"))]);
        assert_eq!(hits(&f, "Lomax, Neil"), vec![(Detector::Canary, Some("hr-payroll"))]);
        assert_eq!(hits(&f, "mail neil.lomax@POLICE.example"), vec![(Detector::Canary, Some("hr-payroll"))]);
        assert_eq!(hits(&f, "Simon O'Brien"), vec![(Detector::Canary, Some("occ-health"))]);
        assert_eq!(hits(&f, "O'Brien S."), vec![(Detector::RegisterSurnameInitial, None)], "the person wins");
        assert_eq!(f.find_split("Lomax", "N"), Some((Detector::Canary, Some(0))));
        assert!(hits(&f, "MX9003 Neil Lomaxx").is_empty());

        let g = Fingerprints::from_json(&f.to_json(0)).unwrap();
        assert_eq!(g.canaries(), 2);
        assert_eq!(hits(&g, "MX9002"), vec![(Detector::Canary, Some("occ-health"))]);
        assert_eq!(hits(&g, "O'Brien S."), vec![(Detector::RegisterSurnameInitial, None)]);
        let json = f.to_json(0);
        assert!(!json.contains("Lomax") && !json.contains("9001"), "canaries are fingerprints too");
        // A file from before canaries still reads.
        let mut old: serde_json::Value = serde_json::from_str(&register().to_json(0)).unwrap();
        old.as_object_mut().unwrap().remove("canaries");
        old.as_object_mut().unwrap().remove("service_number_lengths");
        let old = Fingerprints::from_json(&old.to_string()).unwrap();
        assert_eq!(old.canaries(), 0);
        assert_eq!(detectors(&old, "ref mx-1234 and 7001"), [Detector::RegisterServiceNumber; 2], "no length look");
        // The length look skips only what cannot be a service number.
        assert_eq!(f.sn_lengths, 1 << 6 | 1 << 4);
        assert_eq!(detectors(&g, "ref MX1234, 7001, 70011, MX12345"), [Detector::RegisterServiceNumber; 2]);
    }

    proptest::proptest! {
        #[test]
        fn the_token_scanner_is_the_regex(text in "[A-Za-z0-9/_ .,:@é-]{0,60}") {
            let re = Regex::new(r"(?-u:\b)[A-Za-z0-9][A-Za-z0-9/\-]{1,19}(?-u:\b)").unwrap();
            let want: Vec<(usize, usize)> = re.find_iter(&text).map(|m| (m.start(), m.end())).collect();
            proptest::prop_assert_eq!(tokens(text.as_bytes()).collect::<Vec<_>>(), want);
        }
    }

    #[test]
    fn tokens_at_their_edges() {
        fn all(t: &str) -> Vec<&str> {
            tokens(t.as_bytes()).map(|(a, b)| &t[a..b]).collect()
        }
        assert_eq!(all("ref MX-1234, 2023/7435 a"), ["ref", "MX-1234", "2023/7435"]);
        // A run longer than 20 ends inside a word: no token, as with the regex.
        assert_eq!(all("AB- x_1 P1234567890123456789012 P12345"), ["AB", "P12345"]);
    }
}
