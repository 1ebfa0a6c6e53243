//! The register CSV of DESIGN §8, parsed as untrusted input.
//!
//! Header: `service_number,forenames,surname,rank,unit,vetting_level,salary,email,photo`,
//! in any order; only the first four are required. A bad file (no header,
//! unknown or repeated columns) is refused whole; a bad row is reported by
//! line, column and reason, and never with its values.

use std::collections::HashMap;
use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};

use lanyard_core::{Field, PersonRecord, RankTable};

use crate::photo::{MAX_PHOTO_BYTES, normalise_photo};

/// The columns a register CSV may have: DESIGN §8's, in its order, then the
/// two fields it leaves out (so that an export imports again).
pub const COLUMNS: [&str; 11] = [
    "service_number",
    "forenames",
    "surname",
    "rank",
    "unit",
    "vetting_level",
    "salary",
    "email",
    "photo",
    "vetting_expiry",
    "pay_grade",
];
const REQUIRED: [&str; 4] = ["service_number", "forenames", "surname", "rank"];

/// Why a whole file was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct FileError(pub String);

/// One refused row.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RowError {
    /// 1-based line in the file.
    pub line: u64,
    /// The column at fault, when one is.
    pub column: Option<String>,
    /// Why; never the value.
    pub reason: String,
}

impl fmt::Display for RowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.column {
            Some(c) => write!(f, "line {}, column {c}: {}", self.line, self.reason),
            None => write!(f, "line {}: {}", self.line, self.reason),
        }
    }
}

/// The rows of a file: valid records (photos already normalised) and errors.
#[derive(Debug, Default)]
pub struct Parsed {
    /// `(line, record)` of every valid row.
    pub records: Vec<(usize, PersonRecord)>,
    /// Every invalid row.
    pub errors: Vec<RowError>,
}

/// How to read a file.
#[derive(Clone, Copy, Debug)]
pub struct Options<'a> {
    /// Where `photo` file names point.
    pub photos_dir: Option<&'a Path>,
    /// Skip unknown columns instead of refusing the file.
    pub ignore_unknown: bool,
}

fn field_of(column: &str) -> Option<Field> {
    match column {
        "photo" => Some(Field::Photo),
        other => other.parse().ok(),
    }
}

/// Parses a whole register CSV into memory. For large files, use [`Parser`],
/// which reads it chunk by chunk.
pub fn parse(reader: impl Read, ranks: &RankTable, options: Options<'_>) -> Result<Parsed, FileError> {
    let mut parser = Parser::new(reader, ranks, options)?;
    let mut records = Vec::new();
    while let Some(chunk) = parser.next_chunk(4096) {
        records.extend(chunk);
    }
    Ok(Parsed { records, errors: parser.into_errors() })
}

/// A register CSV read a chunk at a time, so that an import of any size runs
/// in bounded memory and can seal and write while it reads.
pub struct Parser<R: Read> {
    csv: csv::Reader<R>,
    columns: Vec<Option<(String, Field)>>,
    ranks: RankTable,
    photos_dir: Option<PathBuf>,
    first_line_of: HashMap<String, u64>,
    errors: Vec<RowError>,
    done: bool,
}

impl<R: Read> Parser<R> {
    /// Reads and checks the header; a bad header refuses the whole file.
    pub fn new(reader: R, ranks: &RankTable, options: Options<'_>) -> Result<Self, FileError> {
        let mut csv =
            csv::ReaderBuilder::new().has_headers(true).flexible(false).trim(csv::Trim::All).from_reader(reader);
        let headers =
            csv.headers().map_err(|e| FileError(format!("cannot read the CSV header: {}", csv_reason(&e))))?.clone();
        let mut columns: Vec<Option<(String, Field)>> = Vec::new();
        let mut seen = HashMap::new();
        for (i, name) in headers.iter().enumerate() {
            let name = name.trim().trim_start_matches('\u{feff}').to_ascii_lowercase();
            if let Some(first) = seen.insert(name.clone(), i) {
                return Err(FileError(format!("column '{name}' appears twice (columns {} and {})", first + 1, i + 1)));
            }
            match COLUMNS.contains(&name.as_str()).then(|| field_of(&name)).flatten() {
                Some(field) => columns.push(Some((name, field))),
                None if options.ignore_unknown => columns.push(None),
                None => {
                    return Err(FileError(format!(
                        "unknown column '{}' (column {}); expected some of {} (or pass --ignore-unknown)",
                        name.chars().filter(|c| !c.is_control()).take(40).collect::<String>(),
                        i + 1,
                        COLUMNS.join(",")
                    )));
                }
            }
        }
        for required in REQUIRED {
            if !seen.contains_key(required) {
                return Err(FileError(format!("the CSV header has no '{required}' column")));
            }
        }
        if seen.contains_key("photo") && options.photos_dir.is_none() {
            return Err(FileError("the CSV has a photo column; name the photo folder with --photos DIR".into()));
        }
        Ok(Parser {
            csv,
            columns,
            ranks: ranks.clone(),
            photos_dir: options.photos_dir.map(Path::to_owned),
            first_line_of: HashMap::new(),
            errors: Vec::new(),
            done: false,
        })
    }

    /// Up to `max` valid records, in file order; `None` once the file is read.
    /// Invalid rows are kept aside (see [`Parser::errors`]).
    pub fn next_chunk(&mut self, max: usize) -> Option<Vec<(usize, PersonRecord)>> {
        if self.done {
            return None;
        }
        // Reading CSV is sequential and cheap; validating rows (and decoding
        // photos) is not, so it runs on every core, then results are put back
        // in file order for the duplicate check.
        let mut rows: Vec<Result<(u64, csv::StringRecord), RowError>> = Vec::with_capacity(max);
        let mut record = csv::StringRecord::new();
        while rows.len() < max.max(1) {
            match self.csv.read_record(&mut record) {
                Ok(true) => rows.push(Ok((record.position().map(|p| p.line()).unwrap_or(0), record.clone()))),
                Ok(false) => {
                    self.done = true;
                    break;
                }
                Err(e) => rows.push(Err(RowError {
                    line: e.position().map(|p| p.line()).unwrap_or(0),
                    column: None,
                    reason: csv_reason(&e),
                })),
            }
        }
        let options = Options { photos_dir: self.photos_dir.as_deref(), ignore_unknown: true };
        let validated = validate_all(&rows, &self.columns, &self.ranks, options);
        let mut out = Vec::with_capacity(validated.len());
        for row in validated {
            match row {
                Err(e) => self.errors.push(e),
                Ok((line, person)) => {
                    let sn = person.service_number.clone().unwrap_or_default();
                    match self.first_line_of.get(&sn) {
                        Some(first) => self.errors.push(RowError {
                            line,
                            column: Some("service_number".into()),
                            reason: format!("duplicate service number (first on line {first})"),
                        }),
                        None => {
                            self.first_line_of.insert(sn, line);
                            out.push((line as usize, person));
                        }
                    }
                }
            }
        }
        Some(out)
    }

    /// Invalid rows found so far.
    pub fn errors(&self) -> &[RowError] {
        &self.errors
    }

    /// Invalid rows found, by value.
    pub fn into_errors(self) -> Vec<RowError> {
        self.errors
    }
}

fn validate_all(
    rows: &[Result<(u64, csv::StringRecord), RowError>],
    columns: &[Option<(String, Field)>],
    ranks: &RankTable,
    options: Options<'_>,
) -> Vec<Result<(u64, PersonRecord), RowError>> {
    let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1).min(8);
    let per_thread = rows.len().div_ceil(threads).max(1);
    std::thread::scope(|s| {
        let handles: Vec<_> = rows
            .chunks(per_thread)
            .map(|part| {
                s.spawn(move || {
                    part.iter()
                        .map(|row| match row {
                            Ok((line, record)) => validate_row(*line, record, columns, ranks, options),
                            Err(e) => Err(e.clone()),
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| {
                h.join().unwrap_or_else(|_| {
                    vec![Err(RowError { line: 0, column: None, reason: "could not be validated".into() })]
                })
            })
            .collect()
    })
}

fn validate_row(
    line: u64,
    record: &csv::StringRecord,
    columns: &[Option<(String, Field)>],
    ranks: &RankTable,
    options: Options<'_>,
) -> Result<(u64, PersonRecord), RowError> {
    let mut person = PersonRecord::default();
    for (value, column) in record.iter().zip(columns) {
        let Some((name, field)) = column else { continue };
        let outcome = if *field == Field::Photo {
            load_photo(value, options.photos_dir).map(|p| person.photo = p)
        } else {
            person.set_from_text(*field, value, ranks).map_err(|e| e.kind().to_string())
        };
        outcome.map_err(|reason| RowError { line, column: Some(name.clone()), reason })?;
    }
    person.check_complete().map_err(|e| RowError {
        line,
        column: e.field().map(|f| f.to_string()),
        reason: e.kind().to_string(),
    })?;
    Ok((line, person))
}

fn csv_reason(e: &csv::Error) -> String {
    match e.kind() {
        csv::ErrorKind::UnequalLengths { expected_len, len, .. } => {
            format!("has {len} fields where the header has {expected_len}")
        }
        csv::ErrorKind::Utf8 { .. } => "is not valid UTF-8".to_owned(),
        csv::ErrorKind::Io(_) => "could not be read".to_owned(),
        _ => "is not valid CSV".to_owned(),
    }
}

fn load_photo(name: &str, dir: Option<&Path>) -> Result<Option<Vec<u8>>, String> {
    if name.is_empty() {
        return Ok(None);
    }
    let Some(dir) = dir else { return Err("no --photos folder given".into()) };
    let plain = Path::new(name).components().count() == 1 && !name.contains(['/', '\\']) && name != ".." && name != ".";
    if !plain {
        return Err("photo must be a plain file name inside the --photos folder".into());
    }
    let path = dir.join(name);
    let meta = std::fs::metadata(&path).map_err(|_| "photo file not found".to_owned())?;
    if !meta.is_file() {
        return Err("photo is not a file".into());
    }
    if meta.len() > MAX_PHOTO_BYTES as u64 {
        return Err(format!("photo file is larger than {} MiB", MAX_PHOTO_BYTES / (1024 * 1024)));
    }
    let bytes = std::fs::read(&path).map_err(|_| "photo file could not be read".to_owned())?;
    normalise_photo(&bytes).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(text: &str) -> Result<Parsed, FileError> {
        parse(text.as_bytes(), &RankTable::default_ranks(), Options { photos_dir: None, ignore_unknown: false })
    }

    #[test]
    fn columns_in_any_order_and_every_bad_row_named() {
        let text = "surname,service_number,rank,forenames,salary,vetting_level\n\
                    Smith,PC1,Police Constable,Ann,30000,RV\n\
                    Jones,PC2,Sheriff,Bob,30000,RV\n\
                    Brown,PC3,Inspector,Cy,lots,RV\n\
                    Green,PC4,Inspector,Di,30000,TOPSECRET\n\
                    Black,PC1,Inspector,Ed,30000,SC\n\
                    White,PC6,Inspector\n";
        let p = run(text).unwrap();
        assert_eq!(p.records.len(), 1);
        let got: Vec<String> = p.errors.iter().map(|e| e.to_string()).collect();
        assert_eq!(
            got,
            vec![
                "line 3, column rank: is not a rank in the force's rank table",
                "line 4, column salary: is not a number in range",
                "line 5, column vetting_level: is not a vetting level (RV, MV, NPPV1, NPPV2A, NPPV2F, NPPV3, CTC, SC, eSC, DV)",
                "line 6, column service_number: duplicate service number (first on line 2)",
                "line 7: has 3 fields where the header has 6",
            ]
        );
        for e in &got {
            for secret in ["Jones", "Sheriff", "lots", "TOPSECRET", "Black", "White"] {
                assert!(!e.contains(secret), "{e}");
            }
        }
    }

    #[test]
    fn bad_files_are_refused_whole() {
        assert!(run("service_number,forenames,surname,rank,shoe_size\n").unwrap_err().0.contains("shoe_size"));
        assert!(run("service_number,forenames,surname\n").unwrap_err().0.contains("rank"));
        assert!(run("surname,surname,service_number,forenames,rank\n").unwrap_err().0.contains("twice"));
        assert!(run("service_number,forenames,surname,rank,photo\n").unwrap_err().0.contains("--photos"));
        let p = parse(
            "service_number,forenames,surname,rank,shoe_size\nPC1,A,B,Inspector,9\n".as_bytes(),
            &RankTable::default_ranks(),
            Options { photos_dir: None, ignore_unknown: true },
        )
        .unwrap();
        assert_eq!(p.records.len(), 1);
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..512)) {
            let _ = parse(bytes.as_slice(), &RankTable::default_ranks(), Options { photos_dir: None, ignore_unknown: true });
        }

        #[test]
        fn written_rows_parse_back(
            people in proptest::collection::vec(
                ("[A-Z]{1,3}[0-9]{1,6}", "[A-Za-z][A-Za-z' -]{0,18}[a-z]", "[A-Za-z][A-Za-z'-]{0,18}", 0usize..29, 0u64..10_000_000),
                1..40,
            )
        ) {
            let ranks = RankTable::default_ranks();
            let mut w = csv::Writer::from_writer(Vec::new());
            w.write_record(["salary", "rank", "surname", "forenames", "service_number"]).unwrap();
            let mut unique = std::collections::HashSet::new();
            let mut expected = Vec::new();
            for (sn, forenames, surname, rank, salary) in &people {
                if !unique.insert(sn.clone()) {
                    continue;
                }
                let rank = &ranks.ranks()[*rank];
                w.write_record([salary.to_string(), rank.clone(), surname.clone(), forenames.clone(), sn.clone()]).unwrap();
                expected.push((sn.clone(), forenames.split_whitespace().collect::<Vec<_>>().join(" "), surname.clone(), rank.clone(), *salary * 100));
            }
            let bytes = w.into_inner().unwrap();
            let parsed = parse(bytes.as_slice(), &ranks, Options { photos_dir: None, ignore_unknown: false }).unwrap();
            proptest::prop_assert!(parsed.errors.is_empty(), "{:?}", parsed.errors);
            let got: Vec<_> = parsed
                .records
                .iter()
                .map(|(_, p)| (
                    p.service_number.clone().unwrap(),
                    p.forenames.clone().unwrap(),
                    p.surname.clone().unwrap(),
                    p.rank.clone().unwrap(),
                    p.salary.unwrap().pence(),
                ))
                .collect();
            proptest::prop_assert_eq!(got, expected);
        }
    }

    #[test]
    fn photo_names_cannot_escape_the_folder() {
        let dir = tempfile::tempdir().unwrap();
        let text = "service_number,forenames,surname,rank,photo\nPC1,A,B,Inspector,../etc/passwd\nPC2,A,B,Inspector,missing.jpg\n";
        let p = parse(
            text.as_bytes(),
            &RankTable::default_ranks(),
            Options { photos_dir: Some(dir.path()), ignore_unknown: false },
        )
        .unwrap();
        assert_eq!(p.errors.len(), 2);
        assert!(p.errors[0].reason.contains("plain file name"));
        assert_eq!(p.errors[1].reason, "photo file not found");
    }
}
