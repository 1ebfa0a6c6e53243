//! Personal-data tables: a header row whose words name people (Surname,
//! Forename, DOB, Address, Collar number, Victim…). One such word is not
//! enough ("Rank" heads statistics too); the rule is two person words, at
//! least one of which identifies someone on its own.

use aho_corasick::AhoCorasick;
use std::sync::LazyLock;

/// Words that identify a person by themselves.
const IDENTIFYING: &[&str] = &[
    "surname",
    "last name",
    "family name",
    "forename",
    "forenames",
    "first name",
    "given name",
    "full name",
    "name",
    "dob",
    "d.o.b",
    "date of birth",
    "address",
    "home address",
    "collar number",
    "collar no",
    "warrant number",
    "warrant no",
    "service number",
    "service no",
    "staff number",
    "staff no",
    "payroll number",
    "employee number",
    "ni number",
    "national insurance",
    "nhs number",
    "victim",
    "victim name",
    "suspect",
    "suspect name",
    "witness",
    "offender",
    "email",
    "e-mail",
    "phone",
    "telephone",
    "mobile",
    "initial",
    "initials",
];

/// Words that describe a person when an identifying word is beside them.
const DESCRIBING: &[&str] = &[
    "rank",
    "role",
    "grade",
    "unit",
    "department",
    "location",
    "station",
    "gender",
    "sex",
    "age",
    "ethnicity",
    "religion",
    "postcode",
    "salary",
    "pay",
    "vetting",
    "title",
    "nationality",
    "occupation",
    "job title",
];

fn normalise(cell: &str) -> String {
    let lower = cell.trim().to_lowercase();
    let cleaned: String =
        lower.chars().map(|c| if c.is_alphanumeric() || c == '.' || c == '-' { c } else { ' ' }).collect();
    let joined = cleaned.split_whitespace().collect::<Vec<_>>().join(" ");
    joined.trim_end_matches('.').to_owned()
}

static ALL: LazyLock<Vec<&'static str>> = LazyLock::new(|| IDENTIFYING.iter().chain(DESCRIBING).copied().collect());
static MATCHER: LazyLock<Option<AhoCorasick>> = LazyLock::new(|| {
    AhoCorasick::builder().match_kind(aho_corasick::MatchKind::LeftmostLongest).build(ALL.iter()).ok()
});

/// Whether a cell is a person-header word, and whether it identifies.
fn classify(cell: &str) -> Option<bool> {
    let n = normalise(cell);
    if n.is_empty() || n.len() > 40 {
        return None;
    }
    if IDENTIFYING.contains(&n.as_str()) {
        return Some(true);
    }
    if DESCRIBING.contains(&n.as_str()) {
        return Some(false);
    }
    // "Victim surname", "Officer collar no.": a whole header word inside.
    let m = MATCHER.as_ref()?;
    let mut best = None;
    for hit in m.find_iter(&n) {
        let word_start = hit.start() == 0 || n.as_bytes().get(hit.start() - 1) == Some(&b' ');
        let word_end = hit.end() == n.len() || n.as_bytes().get(hit.end()) == Some(&b' ');
        if word_start && word_end {
            let identifying = hit.pattern().as_usize() < IDENTIFYING.len();
            best = Some(best.unwrap_or(false) || identifying);
        }
    }
    best
}

/// The person-header words of a row, if it heads a personal-data table:
/// their column indexes, or None.
pub fn personal_header(cells: &[&str]) -> Option<Vec<usize>> {
    let mut columns = Vec::new();
    let mut identifying = false;
    for (i, c) in cells.iter().enumerate() {
        if let Some(id) = classify(c) {
            columns.push(i);
            identifying |= id;
        }
    }
    (identifying && columns.len() >= 2).then_some(columns)
}

/// The surname column and the forename (or initial) column of a header,
/// when a table keeps them apart, so that exact data match can join them.
pub fn name_columns(headers: &[String]) -> Option<(usize, usize)> {
    let find = |words: &[&str]| {
        headers.iter().position(|h| {
            let n = normalise(h);
            words.iter().any(|w| n == *w || n.ends_with(&format!(" {w}")) || n.starts_with(&format!("{w} ")))
        })
    };
    let surname = find(&["surname", "last name", "family name"])?;
    let forename = find(&["forename", "forenames", "first name", "given name", "initial", "initials"])?;
    (surname != forename).then_some((surname, forename))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_psni_sheet_is_a_personal_table_and_a_headcount_is_not() {
        let psni = ["Surname", "Initial", "Rank", "Role", "Unit", "Location", "Staff Number"];
        assert_eq!(personal_header(&psni).map(|c| c.len()), Some(7));
        assert_eq!(personal_header(&["Rank", "Headcount", "FTE"]), None);
        assert_eq!(personal_header(&["Rank", "Gender", "Count"]), None);
        assert_eq!(personal_header(&["Name", "Total"]), None);
        assert!(personal_header(&["Victim surname", "Offence", "D.O.B."]).is_some());
        assert!(personal_header(&["Officer collar no.", "Station"]).is_some());
    }
}
