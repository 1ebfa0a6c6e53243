//! UK identifiers, validated so that random runs of digits are not flagged:
//! NINO (prefix rules), NHS number (mod 11), postcode (real areas), phone
//! (numbering plan), email, sort code with account, payment card (Luhn and
//! issuer ranges), IBAN (mod 97 and length), vehicle registration (current
//! format, real age identifiers) and dates of birth in context.
//!
//! Each detector is a candidate regex plus a validator. The validators are
//! public so the property tests can hold them to their specifications.

use std::sync::LazyLock;

use regex::{Regex, RegexSet};

use crate::report::Detector;

/// One detection in a piece of text: which detector, and the byte range.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hit {
    /// What was found.
    pub detector: Detector,
    /// Byte offset of the start.
    pub start: usize,
    /// Byte offset past the end.
    pub end: usize,
    /// For a canary, the index of its recipient in the fingerprints.
    pub recipient: Option<u32>,
}

// The patterns are constants that every test compiles: a typo cannot ship.
#[allow(clippy::expect_used)]
pub(crate) fn re(pattern: &str) -> Regex {
    Regex::new(pattern).expect("a constant pattern")
}

// ASCII word boundaries and digits: identifiers are written in ASCII, and
// ASCII classes keep the automata small (Unicode ones made the combined
// prefilter thrash its cache).
const NINO_P: &str = r"(?-u:\b)([A-Z]{2}) ?([0-9]{2}) ?([0-9]{2}) ?([0-9]{2}) ?([A-D])(?-u:\b)";
const NHS_P: &str = r"(?-u:\b)([0-9]{3})([ -]?)([0-9]{3})([ -]?)([0-9]{4})(?-u:\b)";
const POSTCODE_P: &str = r"(?-u:\b)([A-Z]{1,2})([0-9][A-Z0-9]?) ?([0-9])([A-Z]{2})(?-u:\b)|(?-u:\b)GIR ?0AA(?-u:\b)";
const PHONE_P: &str = r"(?:\+44[ \t]?(?:\(0\)[ \t]?)?|(?-u:\b)0)[0-9][[0-9] \-]{7,12}[0-9](?-u:\b)";
const SORT_ACCOUNT_P: &str = r"(?-u:\b)[0-9]{2}[- ][0-9]{2}[- ][0-9]{2}(?-u:\b)[^0-9]{1,40}?(?-u:\b)[0-9]{8}(?-u:\b)|(?-u:\b)[0-9]{8}(?-u:\b)[^0-9]{1,40}?(?-u:\b)[0-9]{2}-[0-9]{2}-[0-9]{2}(?-u:\b)";
const CARD_P: &str = r"(?-u:\b)[0-9](?:[ -]?[0-9]){12,18}(?-u:\b)";
const IBAN_P: &str = r"(?-u:\b)[A-Z]{2}[0-9]{2}(?: ?[A-Z0-9]){11,30}(?-u:\b)";
const VRM_P: &str = r"(?-u:\b)([A-Z]{2})([0-9]{2}) ?([A-Z]{3})(?-u:\b)";
const DATE_P: &str = r"(?i)(?-u:\b)(?:([0-9]{1,2})[/.\-]([0-9]{1,2})[/.\-]([0-9]{4})|([0-9]{4})-([0-9]{2})-([0-9]{2})|([0-9]{1,2})(?:st|nd|rd|th)? (jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.? ([0-9]{4}))(?-u:\b)";

/// Every pattern that needs a digit, in one automaton: text in which none
/// of them matches (most text) is passed over in one scan, not eight.
/// Dates are not here: a date counts only beside words such as "date of
/// birth", which are looked for first.
const DIGIT_PATTERNS: [&str; 8] = [NINO_P, NHS_P, POSTCODE_P, PHONE_P, SORT_ACCOUNT_P, CARD_P, IBAN_P, VRM_P];

/// The prefilter's patterns for a table's raw bytes (`crate::prefilter`):
/// wherever [`find`] could find something in a cell, one of these matches
/// in the raw record. The digit patterns stand as they are: none matches a
/// quote or a delimiter, and their word boundaries see the same non-word
/// bytes at a cell's edges. The sort code with account number is looked
/// for by its sort code alone, since the whole may span a doubled quote. An
/// `@` stands for an email, and the stems of the birth words for a date
/// of birth (a table whose headers mention birth is not prefiltered).
pub(crate) const RAW_PATTERNS: [&str; 10] = [
    NINO_P,
    NHS_P,
    POSTCODE_P,
    PHONE_P,
    r"(?-u:\b)[0-9]{2}[- ][0-9]{2}[- ][0-9]{2}(?-u:\b)",
    CARD_P,
    IBAN_P,
    VRM_P,
    "@",
    r"(?i)dob|d\.o\.b|birth|born",
];

static DIGIT_SET: LazyLock<RegexSet> = LazyLock::new(|| {
    // A larger lazy-DFA cache than the default: the union has many states,
    // and rebuilding them after each cache flush cost more than the scan.
    #[allow(clippy::expect_used)]
    regex::RegexSetBuilder::new(DIGIT_PATTERNS).dfa_size_limit(64 << 20).build().expect("constant patterns")
});
static NINO: LazyLock<Regex> = LazyLock::new(|| re(NINO_P));
static NHS: LazyLock<Regex> = LazyLock::new(|| re(NHS_P));
static POSTCODE: LazyLock<Regex> = LazyLock::new(|| re(POSTCODE_P));
static PHONE: LazyLock<Regex> = LazyLock::new(|| re(PHONE_P));
static EMAIL: LazyLock<Regex> =
    LazyLock::new(|| re(r"[A-Za-z0-9._%+\-]{1,64}@[A-Za-z0-9\-]{1,63}(?:\.[A-Za-z0-9\-]{1,63})*\.[A-Za-z]{2,24}\b"));
static SORT_ACCOUNT: LazyLock<Regex> = LazyLock::new(|| re(SORT_ACCOUNT_P));
static CARD: LazyLock<Regex> = LazyLock::new(|| re(CARD_P));
static IBAN: LazyLock<Regex> = LazyLock::new(|| re(IBAN_P));
static VRM: LazyLock<Regex> = LazyLock::new(|| re(VRM_P));
static DATE: LazyLock<Regex> = LazyLock::new(|| re(DATE_P));
static DOB_CONTEXT: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?i)\b(?:dob|d\.o\.b|date of birth|birth ?date|born|birthday)\b"));
/// The stems of the words above, for a cheap first look.
static DOB_STEMS: LazyLock<Option<aho_corasick::AhoCorasick>> = LazyLock::new(|| {
    aho_corasick::AhoCorasick::builder().ascii_case_insensitive(true).build(["dob", "d.o.b", "birth", "born"]).ok()
});

/// Whether `text` holds a stem of a word for birth ("dob", "born"…).
pub(crate) fn mentions_birth(text: &str) -> bool {
    DOB_STEMS.as_ref().is_none_or(|m| m.is_match(text))
}

/// Whether `text` could hold anything [`find`] detects: an `@`, or a
/// digit pattern, or a date beside a birth word. Cheap, and exact in the
/// direction that matters: when it says no, `find` finds nothing.
pub fn might_match(text: &str, context: &str) -> bool {
    let bytes = text.as_bytes();
    if memchr::memchr(b'@', bytes).is_some() {
        return true;
    }
    if !bytes.iter().any(u8::is_ascii_digit) {
        return false;
    }
    DIGIT_SET.is_match(text) || mentions_birth(text) || mentions_birth(context)
}

/// The current year, for plausible dates of birth and vehicle ages. A
/// scanner is not a clock: this is set once from the system time.
static THIS_YEAR: LazyLock<i32> = LazyLock::new(|| {
    let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    1970 + i32::try_from(secs / 31_556_952).unwrap_or(56)
});

/// Finds every validated identifier in `text`. `context` is what stands
/// around it that is not part of it (a column header), for detectors that
/// need context (dates of birth, NHS numbers written without spaces).
pub fn find(text: &str, context: &str, out: &mut Vec<Hit>) {
    let bytes = text.as_bytes();
    let has_digit = bytes.iter().any(u8::is_ascii_digit);
    let has_at = memchr::memchr(b'@', bytes).is_some();
    if has_at {
        for m in EMAIL.find_iter(text) {
            out.push(Hit { detector: Detector::Email, start: m.start(), end: m.end(), recipient: None });
        }
    }
    if !has_digit {
        return;
    }
    let set = DIGIT_SET.matches(text);
    let on = |i: usize| set.matched(i);
    for c in NINO.captures_iter(gated(on(0), text)) {
        if let (Some(m), Some(prefix)) = (c.get(0), c.get(1))
            && nino_prefix_ok(prefix.as_str())
        {
            out.push(Hit { detector: Detector::Nino, start: m.start(), end: m.end(), recipient: None });
        }
    }
    let lower_context = |start: usize| {
        let from = floor_char(text, start.saturating_sub(48));
        let mut s = text.get(from..start).unwrap_or("").to_ascii_lowercase();
        s.push(' ');
        s.push_str(&context.to_ascii_lowercase());
        s
    };
    for c in NHS.captures_iter(gated(on(1), text)) {
        let Some(m) = c.get(0) else { continue };
        let digits: String = m.as_str().chars().filter(char::is_ascii_digit).collect();
        let grouped = c.get(2).is_some_and(|g| !g.is_empty()) && c.get(4).is_some_and(|g| !g.is_empty());
        if nhs_number_ok(&digits) && (grouped || lower_context(m.start()).contains("nhs")) {
            out.push(Hit { detector: Detector::NhsNumber, start: m.start(), end: m.end(), recipient: None });
        }
    }
    for c in POSTCODE.captures_iter(gated(on(2), text)) {
        let Some(m) = c.get(0) else { continue };
        let ok = match (c.get(1), c.get(2), c.get(4)) {
            (Some(area), Some(district), Some(unit)) => postcode_ok(area.as_str(), district.as_str(), unit.as_str()),
            _ => true, // GIR 0AA
        };
        if ok {
            out.push(Hit { detector: Detector::Postcode, start: m.start(), end: m.end(), recipient: None });
        }
    }
    for m in PHONE.find_iter(gated(on(3), text)) {
        if !preceded_by_digit(bytes, m.start()) && uk_phone_ok(m.as_str()) {
            out.push(Hit { detector: Detector::Phone, start: m.start(), end: m.end(), recipient: None });
        }
    }
    for m in SORT_ACCOUNT.find_iter(gated(on(4), text)) {
        out.push(Hit { detector: Detector::SortCodeAccount, start: m.start(), end: m.end(), recipient: None });
    }
    for m in CARD.find_iter(gated(on(5), text)) {
        let digits: Vec<u8> = m.as_str().bytes().filter(u8::is_ascii_digit).map(|b| b - b'0').collect();
        if payment_card_ok(&digits) {
            out.push(Hit { detector: Detector::PaymentCard, start: m.start(), end: m.end(), recipient: None });
        }
    }
    for m in IBAN.find_iter(gated(on(6), text)) {
        if iban_ok(m.as_str()) {
            out.push(Hit { detector: Detector::Iban, start: m.start(), end: m.end(), recipient: None });
        }
    }
    for c in VRM.captures_iter(gated(on(7), text)) {
        if let (Some(m), Some(area), Some(age), Some(letters)) = (c.get(0), c.get(1), c.get(2), c.get(3))
            && vehicle_registration_ok(area.as_str(), age.as_str(), letters.as_str())
        {
            out.push(Hit { detector: Detector::VehicleRegistration, start: m.start(), end: m.end(), recipient: None });
        }
    }
    let dates = mentions_birth(text) || mentions_birth(context);
    for c in DATE.captures_iter(gated(dates, text)) {
        let Some(m) = c.get(0) else { continue };
        let num = |i: usize| c.get(i).and_then(|g| g.as_str().parse::<u32>().ok());
        let (day, month, year) = if let (Some(d), Some(mo), Some(y)) = (num(1), num(2), num(3)) {
            (d, mo, y)
        } else if let (Some(y), Some(mo), Some(d)) = (num(4), num(5), num(6)) {
            (d, mo, y)
        } else if let (Some(d), Some(mo), Some(y)) = (num(7), c.get(8).map(|g| month_of(g.as_str())), num(9)) {
            (d, mo, y)
        } else {
            continue;
        };
        if plausible_birth_date(day, month, year) && DOB_CONTEXT.is_match(&lower_context(m.start())) {
            out.push(Hit { detector: Detector::DateOfBirth, start: m.start(), end: m.end(), recipient: None });
        }
    }
}

/// The text for a detector the prefilter let through; nothing otherwise.
fn gated(on: bool, text: &str) -> &str {
    if on { text } else { "" }
}

fn floor_char(text: &str, mut at: usize) -> usize {
    while at > 0 && !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

fn preceded_by_digit(bytes: &[u8], start: usize) -> bool {
    start > 0 && bytes.get(start - 1).is_some_and(u8::is_ascii_digit)
}

fn month_of(name: &str) -> u32 {
    const MONTHS: [&str; 12] = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];
    let lower = name.to_ascii_lowercase();
    MONTHS.iter().position(|m| lower.starts_with(m)).map_or(0, |i| i as u32 + 1)
}

/// A real calendar date, of someone between 0 and 120 years old.
pub fn plausible_birth_date(day: u32, month: u32, year: u32) -> bool {
    let Ok(year) = i32::try_from(year) else { return false };
    if !(*THIS_YEAR - 120..=*THIS_YEAR).contains(&year) || !(1..=12).contains(&month) || day == 0 {
        return false;
    }
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    let days = match month {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    };
    day <= days
}

/// HMRC's rules for the two prefix letters of a National Insurance number.
pub fn nino_prefix_ok(prefix: &str) -> bool {
    let b = prefix.as_bytes();
    let (Some(&first), Some(&second)) = (b.first(), b.get(1)) else { return false };
    if b.len() != 2 || b"DFIQUV".contains(&first) || b"DFIOQUV".contains(&second) {
        return false;
    }
    !matches!(prefix, "BG" | "GB" | "KN" | "NK" | "NT" | "TN" | "ZZ")
}

/// NHS number: ten digits, the last a mod-11 check digit over the first nine
/// (weights 10 to 2); a check value of 10 is never issued. Repeated-digit
/// numbers pass the arithmetic and are not real.
pub fn nhs_number_ok(digits: &str) -> bool {
    let d: Vec<u32> = digits.chars().filter_map(|c| c.to_digit(10)).collect();
    if d.len() != 10 || digits.len() != 10 || d.iter().all(|x| Some(x) == d.first()) {
        return false;
    }
    let Some(check) = d.get(..9).and_then(nhs_check_digit) else { return false };
    d.get(9) == Some(&check)
}

/// The check digit of an NHS number's first nine digits (weights 10 to 2,
/// mod 11), or None for the nine digits that can never begin one.
pub fn nhs_check_digit(first_nine: &[u32]) -> Option<u32> {
    let sum: u32 = first_nine.iter().take(9).zip((2..=10).rev()).map(|(x, w)| x * w).sum();
    match 11 - sum % 11 {
        11 => Some(0),
        10 => None,
        c => Some(c),
    }
}

/// The Luhn check digit that completes `payload`.
pub fn luhn_check_digit(payload: &[u8]) -> u8 {
    let mut with = payload.to_vec();
    with.push(0);
    (0..10u8)
        .find(|d| {
            if let Some(last) = with.last_mut() {
                *last = *d;
            }
            luhn_ok(&with)
        })
        .unwrap_or(0)
}

/// The check digits (02 to 98) that make `country` and `bban` an IBAN.
pub fn iban_check_digits(country: &str, bban: &str) -> u8 {
    let mut rem: u32 = 0;
    for b in bban.bytes().chain(country.bytes()).chain(*b"00") {
        let v = if b.is_ascii_digit() { u32::from(b - b'0') } else { u32::from(b.to_ascii_uppercase() - b'A') + 10 };
        rem = if v >= 10 { (rem * 100 + v) % 97 } else { (rem * 10 + v) % 97 };
    }
    u8::try_from(98 - rem).unwrap_or(0)
}

/// The UK's postcode areas (Royal Mail), so "AB12 3CD" in a product code
/// only counts when AB is an area.
const POSTCODE_AREAS: &[&str] = &[
    "AB", "AL", "B", "BA", "BB", "BD", "BF", "BH", "BL", "BN", "BR", "BS", "BT", "BX", "CA", "CB", "CF", "CH", "CM",
    "CO", "CR", "CT", "CV", "CW", "DA", "DD", "DE", "DG", "DH", "DL", "DN", "DT", "DY", "E", "EC", "EH", "EN", "EX",
    "FK", "FY", "G", "GL", "GU", "GY", "HA", "HD", "HG", "HP", "HR", "HS", "HU", "HX", "IG", "IM", "IP", "IV", "JE",
    "KA", "KT", "KW", "KY", "L", "LA", "LD", "LE", "LL", "LN", "LS", "LU", "M", "ME", "MK", "ML", "N", "NE", "NG",
    "NN", "NP", "NR", "NW", "OL", "OX", "PA", "PE", "PH", "PL", "PO", "PR", "RG", "RH", "RM", "S", "SA", "SE", "SG",
    "SK", "SL", "SM", "SN", "SO", "SP", "SR", "SS", "ST", "SW", "SY", "TA", "TD", "TF", "TN", "TQ", "TR", "TS", "TW",
    "UB", "W", "WA", "WC", "WD", "WF", "WN", "WR", "WS", "WV", "YO", "ZE",
];

/// A postcode whose area exists and whose inward letters are ones Royal
/// Mail uses (never C, I, K, M, O or V).
pub fn postcode_ok(area: &str, district: &str, unit_letters: &str) -> bool {
    POSTCODE_AREAS.contains(&area)
        && !district.is_empty()
        && unit_letters.len() == 2
        && !unit_letters.bytes().any(|b| b"CIKMOV".contains(&b))
}

/// A UK number under the national numbering plan: after +44 or 0, ten
/// digits starting 1, 2, 3, 7 or 8 (or nine for some 01 areas and 0800).
pub fn uk_phone_ok(text: &str) -> bool {
    let digits: String = text.chars().filter(char::is_ascii_digit).collect();
    let national = if let Some(rest) = text.trim_start().strip_prefix("+44") {
        let rest_digits: String = rest.chars().filter(char::is_ascii_digit).collect();
        rest_digits.strip_prefix('0').map(str::to_owned).unwrap_or(rest_digits)
    } else if let Some(rest) = digits.strip_prefix('0') {
        rest.to_owned()
    } else {
        return false;
    };
    let Some(first) = national.chars().next() else { return false };
    let len = national.len();
    match first {
        '7' => len == 10 && !national.starts_with("70") && !national.starts_with("76"),
        '1' => len == 10 || len == 9,
        '2' | '3' => len == 10,
        '8' => len == 10 || (len == 9 && national.starts_with("800")),
        _ => false,
    }
}

/// A payment card number: 13 to 19 digits, a known issuer range, Luhn.
pub fn payment_card_ok(digits: &[u8]) -> bool {
    if !(13..=19).contains(&digits.len()) || digits.iter().all(|d| Some(d) == digits.first()) {
        return false;
    }
    let prefix = |n: usize| digits.iter().take(n).fold(0u32, |acc, d| acc * 10 + u32::from(*d));
    let issuer = matches!(digits.first(), Some(4))
        || (51..=55).contains(&prefix(2))
        || (2221..=2720).contains(&prefix(4))
        || matches!(prefix(2), 34 | 37 | 35 | 36 | 65)
        || prefix(4) == 6011
        || (300..=305).contains(&prefix(3));
    issuer && luhn_ok(digits)
}

/// The Luhn check (ISO/IEC 7812-1).
pub fn luhn_ok(digits: &[u8]) -> bool {
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, d)| {
            let d = u32::from(*d);
            if i % 2 == 1 {
                let x = d * 2;
                if x > 9 { x - 9 } else { x }
            } else {
                d
            }
        })
        .sum();
    !digits.is_empty() && sum.is_multiple_of(10)
}

/// IBAN lengths by country (SWIFT registry), for the countries a UK force
/// pays into most; others need only the mod-97 check and 15 to 34 characters.
const IBAN_LENGTHS: &[(&str, usize)] = &[
    ("GB", 22),
    ("IE", 22),
    ("DE", 22),
    ("FR", 27),
    ("ES", 24),
    ("IT", 27),
    ("NL", 18),
    ("BE", 16),
    ("PT", 25),
    ("PL", 28),
    ("GI", 23),
    ("CH", 21),
    ("AT", 20),
    ("DK", 18),
    ("SE", 24),
    ("NO", 15),
    ("LT", 20),
    ("RO", 24),
];

/// ISO 13616: check digits 02 to 98, mod 97 of the rearranged number is 1,
/// at the country's length.
pub fn iban_ok(text: &str) -> bool {
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    let Some(country) = compact.get(..2) else { return false };
    let len_ok = match IBAN_LENGTHS.iter().find(|(c, _)| *c == country) {
        Some((_, n)) => compact.len() == *n,
        None => (15..=34).contains(&compact.len()),
    };
    if !len_ok || !compact.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()) {
        return false;
    }
    // ISO 13616 issues check digits 02 to 98 only.
    if !matches!(compact.get(2..4).and_then(|d| d.parse::<u8>().ok()), Some(2..=98)) {
        return false;
    }
    let rearranged = compact.get(4..).unwrap_or("").bytes().chain(compact.bytes().take(4));
    let mut rem: u32 = 0;
    for b in rearranged {
        let v = if b.is_ascii_digit() { u32::from(b - b'0') } else { u32::from(b - b'A') + 10 };
        rem = if v >= 10 { (rem * 100 + v) % 97 } else { (rem * 10 + v) % 97 };
    }
    rem == 1
}

/// A current-format (2001 on) registration: a DVLA area letter pair, an
/// age identifier that has been issued (March: the year, September: +50),
/// and three random letters without I or Q.
pub fn vehicle_registration_ok(area: &str, age: &str, letters: &str) -> bool {
    let Ok(age) = age.parse::<i32>() else { return false };
    let year = *THIS_YEAR % 100;
    let issued = (2..=year).contains(&age) || (51..=year + 50).contains(&age) || age == 1;
    let area_ok =
        area.bytes().next().is_some_and(|b| !b"IQUZ".contains(&b)) && !area.bytes().any(|b| b"IQ".contains(&b));
    issued && area_ok && !letters.bytes().any(|b| b"IQ".contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(text: &str) -> Vec<Detector> {
        let mut out = Vec::new();
        find(text, "", &mut out);
        out.into_iter().map(|h| h.detector).collect()
    }

    #[test]
    fn each_detector_finds_a_valid_example_and_refuses_a_near_miss() {
        let cases: &[(&str, Option<Detector>)] = &[
            ("NINO QQ123456C", None),
            ("NINO AB123456C", Some(Detector::Nino)),
            ("NINO AB 12 34 56 C", Some(Detector::Nino)),
            ("NINO GB123456C", None),
            ("NHS 943 476 5919", Some(Detector::NhsNumber)),
            ("NHS 943 476 5918", None),
            ("ref 9434765919", None),
            ("NHS no 9434765919", Some(Detector::NhsNumber)),
            ("lives at SW1A 2AA", Some(Detector::Postcode)),
            ("code QX1A 2AA", None),
            ("call 07700 900123", Some(Detector::Phone)),
            ("call 020 7946 0018", Some(Detector::Phone)),
            ("call +44 20 7946 0018", Some(Detector::Phone)),
            ("total 0 1234 5", None),
            ("mail j.smith@example.police.uk", Some(Detector::Email)),
            ("sort 12-34-56 account 12345678", Some(Detector::SortCodeAccount)),
            ("card 4111 1111 1111 1111", Some(Detector::PaymentCard)),
            ("card 4111 1111 1111 1112", None),
            ("iban GB82 WEST 1234 5698 7654 32", Some(Detector::Iban)),
            ("iban GB82 WEST 1234 5698 7654 33", None),
            ("car AB12 CDE", Some(Detector::VehicleRegistration)),
            ("car AB99 CDE", None),
            ("DOB: 12/03/1984", Some(Detector::DateOfBirth)),
            ("report of 12/03/1984", None),
            ("date of birth 30/02/1984", None),
            ("born 4th July 1976", Some(Detector::DateOfBirth)),
        ];
        for (text, want) in cases {
            let got = found(text);
            match want {
                Some(d) => assert!(got.contains(d), "{text}: {got:?}"),
                None => assert!(got.is_empty(), "{text}: {got:?}"),
            }
        }
    }

    #[test]
    fn a_statistics_table_has_nothing_to_find() {
        let text = "Rank,Headcount,FTE,2023\nConstable,6803,6512.4,12\nSergeant,1034,1021.0,7\nTotal,9483,9111.2,19\n\
                    Year ending 31/03/2023: 1,234,567 calls; 0.5% change; budget £12,345,678";
        assert_eq!(found(text), Vec::<Detector>::new());
    }

    #[test]
    fn reference_check_digits() {
        assert!(nhs_number_ok("9434765919"));
        assert!(!nhs_number_ok("0000000000"));
        assert!(luhn_ok(&[7, 9, 9, 2, 7, 3, 9, 8, 7, 1, 3]));
        assert!(iban_ok("GB82WEST12345698765432"));
        assert!(iban_ok("DE89370400440532013000"));
        assert!(!iban_ok("GB82WEST1234569876543"));
        assert_eq!(nhs_check_digit(&[9, 4, 3, 4, 7, 6, 5, 9, 1]), Some(9));
        assert_eq!(luhn_check_digit(&[4, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1]), 1);
        assert_eq!(iban_check_digits("GB", "WEST12345698765432"), 82);
    }
}
