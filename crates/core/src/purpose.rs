//! Why someone reads personal data, in two parts: a code from a fixed list,
//! kept in clear in the audit log for statistics, and an optional free-text
//! note, which the register seals before it reaches the log.
//!
//! Free text is where personal data slips in ("renewal for Callum Ahmed,
//! callum.ahmed@…"), so no free text is ever kept in clear. What an
//! operator types is read as `CODE`, `CODE: note`, or, when it names no
//! code, as code `other` with the whole text as the note: an officer who
//! types a sentence is not turned away, and the sentence is sealed all the
//! same.

/// The code of a purpose that named none of the list.
pub const OTHER: &str = "other";

/// The codes a force starts with. `lanyard.toml` may add its own.
pub const DEFAULT_CODES: &[&str] = &[
    "card_renewal",
    "lost_card",
    "new_starter",
    "card_request",
    "card_print",
    "print_batch",
    "vetting_review",
    "payroll",
    "hr_casework",
    "subject_access_request",
    "foi_request",
    "breach_investigation",
    "audit_review",
    "access_check",
    "canary_plant",
    OTHER,
];

/// The longest purpose, note included, in characters.
pub const MAX_LEN: usize = 200;

/// A purpose: a code in clear and an optional note to be sealed.
#[derive(Clone, PartialEq, Eq)]
pub struct Purpose {
    code: String,
    note: Option<String>,
}

// The note may hold personal data: never printed.
impl std::fmt::Debug for Purpose {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Purpose {{ code: {}, note: {} }}", self.code, if self.note.is_some() { "[sealed]" } else { "none" })
    }
}

/// Why a purpose was refused; names the rule, never the text.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PurposeError {
    /// Missing, too short or too long, or holding control characters.
    #[error(
        "reading personal data needs a purpose: a code (card_renewal, lost_card, …) and optionally ': a note', 3 to 200 characters"
    )]
    Missing,
    /// A code that is not on the force's list.
    #[error("'{0}' is not a purpose code of this force (codes: {1})")]
    UnknownCode(String, String),
}

/// `Card Renewal`, `card-renewal` and `card_renewal` are one code.
fn normalise(code: &str) -> String {
    code.trim().chars().map(|c| if c == ' ' || c == '-' { '_' } else { c.to_ascii_lowercase() }).collect()
}

/// A code as configured: lower-case letters, digits and `_`.
pub fn valid_code(code: &str) -> bool {
    !code.is_empty()
        && code.len() <= 40
        && code.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

impl Purpose {
    /// Reads what an operator typed against the force's `codes`.
    pub fn parse(text: &str, codes: &[String]) -> Result<Self, PurposeError> {
        let text = text.trim();
        let len = text.chars().count();
        if !(3..=MAX_LEN).contains(&len) || text.chars().any(char::is_control) {
            return Err(PurposeError::Missing);
        }
        let known = |c: &str| codes.iter().any(|k| *k == c);
        let whole = normalise(text);
        if known(&whole) {
            return Ok(Purpose { code: whole, note: None });
        }
        if let Some((code, note)) = text.split_once(':') {
            let code = normalise(code);
            if known(&code) {
                let note = note.trim();
                return Ok(Purpose { code, note: (!note.is_empty()).then(|| note.to_owned()) });
            }
        }
        Ok(Purpose { code: OTHER.to_owned(), note: Some(text.to_owned()) })
    }

    /// A code and a note given apart (the web form, `--note`); the code
    /// must be on the list.
    pub fn from_parts(code: &str, note: Option<&str>, codes: &[String]) -> Result<Self, PurposeError> {
        let code = normalise(code);
        if !codes.contains(&code) {
            let shown: String = code.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '_').take(40).collect();
            return Err(PurposeError::UnknownCode(shown, codes.join(", ")));
        }
        let note = note.map(str::trim).filter(|n| !n.is_empty());
        if let Some(n) = note
            && (n.chars().count() > MAX_LEN || n.chars().any(char::is_control))
        {
            return Err(PurposeError::Missing);
        }
        Ok(Purpose { code, note: note.map(str::to_owned) })
    }

    /// A purpose lanyard states itself (a print batch, a door decision):
    /// a code and no note.
    pub fn system(code: &str) -> Self {
        Purpose { code: code.to_owned(), note: None }
    }

    /// The code, in clear.
    pub fn code(&self) -> &str {
        &self.code
    }

    /// The note, to be sealed.
    pub fn note(&self) -> Option<&str> {
        self.note.as_deref()
    }
}

/// The default list as owned strings.
pub fn default_codes() -> Vec<String> {
    DEFAULT_CODES.iter().map(|c| (*c).to_owned()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_notes_and_free_text() {
        let codes = default_codes();
        let p = Purpose::parse("card renewal", &codes).unwrap();
        assert_eq!((p.code(), p.note()), ("card_renewal", None));
        let p = Purpose::parse("Lost-Card: reported at front desk", &codes).unwrap();
        assert_eq!((p.code(), p.note()), ("lost_card", Some("reported at front desk")));
        let p = Purpose::parse("renewal for Callum Ahmed callum.ahmed@example.police.uk", &codes).unwrap();
        assert_eq!(p.code(), OTHER);
        assert_eq!(p.note(), Some("renewal for Callum Ahmed callum.ahmed@example.police.uk"));
        // A colon after something that is not a code is all note.
        let p = Purpose::parse("re: Callum", &codes).unwrap();
        assert_eq!((p.code(), p.note()), (OTHER, Some("re: Callum")));
        assert!(!format!("{p:?}").contains("Callum"));
        for bad in ["", "  ", "ab", "a\nb c", &"x".repeat(201)] {
            assert_eq!(Purpose::parse(bad, &codes), Err(PurposeError::Missing), "{bad:?}");
        }
    }

    #[test]
    fn parts_need_a_known_code() {
        let codes = default_codes();
        let p = Purpose::from_parts("payroll", Some(" month end "), &codes).unwrap();
        assert_eq!((p.code(), p.note()), ("payroll", Some("month end")));
        assert!(matches!(Purpose::from_parts("nosy", None, &codes), Err(PurposeError::UnknownCode(..))));
        assert!(DEFAULT_CODES.iter().all(|c| valid_code(c)));
    }

    proptest::proptest! {
        #[test]
        fn free_text_is_never_a_code_in_clear(text in "\\PC{3,150}") {
            // Whatever is typed, the clear part is a listed code.
            let codes = default_codes();
            if let Ok(p) = Purpose::parse(&text, &codes) {
                proptest::prop_assert!(codes.iter().any(|c| c == p.code()));
            }
        }
    }
}
