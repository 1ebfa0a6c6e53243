//! Masked samples for reports: enough to recognise what was found, never
//! enough to read it. Names keep initials (`S**** J.`); identifiers keep two
//! characters at the front and one at the end (`AB******C`); emails keep the
//! first letter of each side (`j***@e***`).

use crate::report::Detector;

/// A masked form of `value` as found by `detector`.
pub fn mask(detector: Detector, value: &str) -> String {
    match detector {
        Detector::RegisterFullName | Detector::RegisterSurnameInitial => mask_name(value),
        Detector::Email | Detector::RegisterEmail => mask_email(value),
        Detector::DateOfBirth => mask_date(value),
        Detector::Canary if value.contains('@') => mask_email(value),
        Detector::Canary if !value.bytes().any(|b| b.is_ascii_digit()) => mask_name(value),
        _ => mask_identifier(value),
    }
}

/// `Smith, John` → `S**** J.`; `John Smith` → `J. S****`.
pub fn mask_name(value: &str) -> String {
    let words: Vec<&str> = value.split(|c: char| c.is_whitespace() || c == ',').filter(|w| !w.is_empty()).collect();
    let (Some(first), rest) = (words.first(), words.get(1..).unwrap_or(&[])) else { return "*".into() };
    let stars = |w: &str| {
        let mut chars = w.chars();
        let head = chars.next().unwrap_or('*');
        let n = chars.count().clamp(1, 8);
        format!("{head}{}", "*".repeat(n))
    };
    let mut out = stars(first);
    for w in rest {
        out.push(' ');
        out.push(w.chars().next().unwrap_or('*'));
        out.push('.');
    }
    out
}

/// `AB123456C` → `AB******C`; short values keep less.
pub fn mask_identifier(value: &str) -> String {
    let chars: Vec<char> = value.chars().filter(|c| !c.is_whitespace() && *c != '-').collect();
    let n = chars.len();
    let (keep_front, keep_back) = match n {
        0..=4 => (0, 0),
        5..=7 => (1, 1),
        _ => (2, 1),
    };
    chars.iter().enumerate().map(|(i, c)| if i < keep_front || i + keep_back >= n { *c } else { '*' }).collect()
}

fn mask_email(value: &str) -> String {
    let (local, domain) = value.split_once('@').unwrap_or((value, ""));
    let first = |s: &str| s.chars().next().map(String::from).unwrap_or_default();
    format!("{}***@{}***", first(local), first(domain))
}

/// Dates keep only their shape: `12/03/1984` → `**/**/19**`.
fn mask_date(value: &str) -> String {
    let mut seen_digits = 0;
    value
        .chars()
        .map(|c| {
            if c.is_ascii_digit() {
                seen_digits += 1;
                // Keep the century of a four-digit year at the end.
                if value.len() >= 8
                    && seen_digits > 4
                    && seen_digits <= 6
                    && value.ends_with(|c: char| c.is_ascii_digit())
                {
                    return c;
                }
                '*'
            } else if c.is_alphabetic() {
                '*'
            } else {
                c
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_forms_the_issue_names() {
        assert_eq!(mask_name("Smith, John"), "S**** J.");
        assert_eq!(mask_identifier("AB123456C"), "AB******C");
        assert_eq!(mask_identifier("AB 12 34 56 C"), "AB******C");
        assert_eq!(mask(Detector::Email, "john.smith@example.police.uk"), "j***@e***");
        assert_eq!(mask(Detector::DateOfBirth, "12/03/1984"), "**/**/19**");
    }

    #[test]
    fn nothing_of_the_middle_survives() {
        for v in ["4111111111111111", "GB82WEST12345698765432", "9434765919"] {
            let m = mask_identifier(v);
            assert_eq!(m.chars().filter(|c| *c != '*').count(), 3, "{m}");
        }
    }
}
