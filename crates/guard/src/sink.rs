//! Where the format readers send what they read: text and table rows (run
//! through every detector), hidden content, metadata, and the reason a file
//! cannot be inspected. It counts per (part, detector, hidden kind) and
//! keeps one masked sample, so memory does not grow with the file.

use std::collections::HashMap;
use std::time::Instant;

use crate::error::ScanError;
use crate::headers::personal_header;
use crate::identifiers::{self, Hit};
use crate::mask::{mask, mask_name};
use crate::policy::Policy;
use crate::report::{Detector, Finding, Hidden, Part, Severity, a1_range};
use crate::{Fingerprints, Limits};

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Key {
    part: Part,
    detector: Detector,
    hidden: Option<Hidden>,
    in_hidden: bool,
    /// A canary's recipient (index in the fingerprints).
    recipient: Option<u32>,
}

#[derive(Debug, Default)]
struct Group {
    count: u64,
    /// (row, col) corners, zero-based; for text, col is 0 and rows are lines.
    first: Option<(u32, u32)>,
    last: Option<(u32, u32)>,
    lines: bool,
    sample: Option<String>,
    note: Option<String>,
}

impl Group {
    fn add(&mut self, n: u64, at: Option<Loc>) {
        self.count += n;
        if let Some(loc) = at {
            self.lines = loc.lines;
            let p = (loc.row, loc.col);
            self.first = Some(self.first.map_or(p, |f| (f.0.min(p.0), f.1.min(p.1))));
            self.last = Some(self.last.map_or(p, |l| (l.0.max(p.0), l.1.max(p.1))));
        }
    }
}

/// A position: a cell (zero-based) or a line.
#[derive(Clone, Copy, Debug)]
pub struct Loc {
    /// Row or line, zero-based.
    pub row: u32,
    /// Column, zero-based (0 for lines).
    pub col: u32,
    /// Whether `row` is a line of text.
    pub lines: bool,
}

impl Loc {
    /// A cell.
    pub fn cell(row: u32, col: u32) -> Self {
        Loc { row, col, lines: false }
    }

    /// A line of text.
    pub fn line(line: u32) -> Self {
        Loc { row: line, col: 0, lines: true }
    }
}

/// The header state of one table (a sheet, a CSV file, a pivot cache).
#[derive(Debug, Default)]
pub struct Table {
    rows_seen: u32,
    headers: Vec<String>,
    /// The headers as one text, the context of a whole row.
    header_text: String,
    name_cols: Option<(usize, usize)>,
    personal: Option<(Part, Vec<usize>)>,
    /// The headers mention birth: any date in any row may be one.
    birth_header: bool,
}

/// Rows looked at for a header before a table is taken to have none.
const HEADER_ROWS: u32 = 5;

/// The collector for one file.
pub struct Sink<'a> {
    file: String,
    policy: &'a Policy,
    fingerprints: Option<&'a Fingerprints>,
    limits: &'a Limits,
    deadline: Instant,
    groups: HashMap<Key, Group>,
    hits: Vec<Hit>,
    joined: String,
    ticks: u32,
    explain: bool,
    /// Findings of files inside this one, already finished.
    nested_findings: Vec<Finding>,
    /// Bytes of decompressed content read so far (zip members and parts).
    pub inflated: u64,
    /// Bytes of text collected so far to be looked at later (shared
    /// strings, comments, cached values), against the memory budget.
    held: u64,
}

impl<'a> Sink<'a> {
    /// A collector for `file`, which must be done by `deadline`.
    pub fn new(
        file: String,
        policy: &'a Policy,
        fingerprints: Option<&'a Fingerprints>,
        limits: &'a Limits,
        deadline: Instant,
        explain: bool,
    ) -> Self {
        Sink {
            file,
            policy,
            fingerprints,
            limits,
            deadline,
            groups: HashMap::new(),
            hits: Vec::new(),
            joined: String::new(),
            ticks: 0,
            explain,
            nested_findings: Vec::new(),
            inflated: 0,
            held: 0,
        }
    }

    /// The limits in force.
    pub fn limits(&self) -> &Limits {
        self.limits
    }

    /// The fingerprints exact match looks for, if any.
    pub fn fingerprints(&self) -> Option<&'a Fingerprints> {
        self.fingerprints
    }

    /// Whether a row of `table` in which the raw prefilter finds nothing
    /// may be passed over, as [`Sink::row`] would find nothing in it. Not
    /// while header rows are still looked for; never in a personal-data
    /// table (every row counts), under headers that mention birth (every
    /// date may be one), or where exact match reads the name columns
    /// together.
    pub fn may_pass_over(&self, table: &Table) -> bool {
        table.personal.is_none()
            && (!table.headers.is_empty() || table.rows_seen >= HEADER_ROWS)
            && !table.birth_header
            && (self.fingerprints.is_none() || table.name_cols.is_none())
    }

    /// The file's display name.
    pub fn file(&self) -> &str {
        &self.file
    }

    /// A sink for a file inside this one (an archive member, an embedded
    /// object), sharing the deadline and the inflation count.
    pub fn nested(&self, name: &str) -> Sink<'a> {
        let file = format!("{}!{name}", self.file);
        let mut s = Sink::new(file, self.policy, self.fingerprints, self.limits, self.deadline, self.explain);
        s.inflated = self.inflated;
        s.held = self.held;
        s
    }

    /// Takes back a nested sink's findings and inflation count.
    pub fn absorb(&mut self, nested: Sink<'a>) {
        self.inflated = nested.inflated;
        self.held = nested.held;
        let findings = nested.finish();
        self.nested_findings.extend(findings);
    }

    /// Fails once the file's time is up. Cheap: the clock is read every
    /// 256 calls.
    pub fn tick(&mut self) -> Result<(), ScanError> {
        self.ticks = self.ticks.wrapping_add(1);
        if self.ticks.is_multiple_of(256) && Instant::now() > self.deadline {
            return Err(ScanError::Timeout(self.limits.timeout.as_secs()));
        }
        Ok(())
    }

    /// Time left before the file's deadline.
    pub fn remaining(&self) -> std::time::Duration {
        self.deadline.saturating_duration_since(Instant::now())
    }

    /// Counts `n` more decompressed bytes against the file's limit.
    pub fn inflate(&mut self, n: u64) -> Result<(), ScanError> {
        self.inflated = self.inflated.saturating_add(n);
        if self.inflated > self.limits.max_inflated_bytes {
            return Err(ScanError::TooLarge(format!(
                "more than {} MiB decompressed (zip bomb?)",
                self.limits.max_inflated_bytes >> 20
            )));
        }
        Ok(())
    }

    /// Counts `n` more bytes of text collected to be read later against
    /// the scan's memory budget: a table of fifty million strings is a
    /// memory bomb, not a workbook.
    pub fn hold(&mut self, n: usize) -> Result<(), ScanError> {
        self.held = self.held.saturating_add(n as u64);
        if self.held > self.limits.max_memory_bytes {
            return Err(over_budget(self.limits, "of text collected from it"));
        }
        Ok(())
    }

    fn group(&mut self, part: &Part, detector: Detector, hidden: Option<Hidden>, in_hidden: bool) -> &mut Group {
        self.group_of(part, detector, hidden, in_hidden, None)
    }

    fn group_of(
        &mut self,
        part: &Part,
        detector: Detector,
        hidden: Option<Hidden>,
        in_hidden: bool,
        recipient: Option<u32>,
    ) -> &mut Group {
        self.groups.entry(Key { part: part.clone(), detector, hidden, in_hidden, recipient }).or_default()
    }

    /// Runs the detectors over `text` found at `at` in `part`; `context` is
    /// the column header or other surrounding words.
    pub fn text(&mut self, part: &Part, at: Option<Loc>, text: &str, context: &str, in_hidden: bool) {
        self.detect(part, at, text, context, in_hidden, true);
    }

    /// As [`Sink::text`]; `identifiers` false skips the UK identifier
    /// detectors (a row the prefilter has ruled out) but not exact match.
    fn detect(&mut self, part: &Part, at: Option<Loc>, text: &str, context: &str, in_hidden: bool, identifiers: bool) {
        if text.is_empty() {
            return;
        }
        let mut hits = std::mem::take(&mut self.hits);
        hits.clear();
        if identifiers {
            identifiers::find(text, context, &mut hits);
        }
        if let Some(fp) = self.fingerprints {
            fp.find(text, &mut hits);
        }
        for h in &hits {
            let value = text.get(h.start..h.end).unwrap_or("");
            // A canary is never allow-listed or turned off.
            if h.detector != Detector::Canary && (!self.policy.enabled(h.detector) || self.policy.allowed(value)) {
                continue;
            }
            let g = self.group_of(part, h.detector, None, in_hidden, h.recipient);
            g.add(1, at);
            if g.sample.is_none() {
                g.sample = Some(mask(h.detector, value));
            }
        }
        self.hits = hits;
    }

    /// One row of a table: header detection on the first rows, then every
    /// cell through the detectors with its column header as context.
    /// `hidden(col)` says whether a cell is hidden (row, column, sheet or
    /// format); hidden cells are scanned and marked so.
    pub fn row(
        &mut self,
        table: &mut Table,
        part: &Part,
        row: u32,
        cells: &[(u32, &str)],
        hidden: &dyn Fn(u32) -> bool,
    ) {
        if cells.iter().all(|(_, t)| t.trim().is_empty()) {
            return;
        }
        table.rows_seen += 1;
        if table.personal.is_none() && table.rows_seen <= HEADER_ROWS && table.headers.is_empty() {
            let texts: Vec<&str> = cells.iter().map(|(_, t)| *t).collect();
            let width = cells.iter().map(|(c, _)| *c as usize + 1).max().unwrap_or(0);
            if let Some(cols) = personal_header(&texts) {
                let cols: Vec<usize> = cols.iter().filter_map(|i| cells.get(*i).map(|(c, _)| *c as usize)).collect();
                table.personal = Some((part.clone(), cols));
            }
            if texts.iter().filter(|t| !t.trim().is_empty()).count() >= 2
                && texts.iter().all(|t| !t.bytes().any(|b| b.is_ascii_digit()) || t.len() > 12)
            {
                let mut headers = vec![String::new(); width.min(16_384)];
                for (c, t) in cells {
                    if let Some(h) = headers.get_mut(*c as usize) {
                        *h = t.to_string();
                    }
                }
                table.name_cols = crate::headers::name_columns(&headers);
                table.header_text = headers.join("\n");
                table.birth_header = identifiers::mentions_birth(&table.header_text);
                table.headers = headers;
                return;
            }
        }
        let any_hidden = cells.iter().any(|(c, _)| hidden(*c));
        if let Some((tpart, cols)) = table.personal.clone() {
            let first_col = cols.first().copied().unwrap_or(0);
            let sample = cells.iter().find(|(c, _)| *c as usize == first_col).map(|(_, t)| mask_name(t));
            let g = self.group(&tpart, Detector::PersonalDataTable, None, any_hidden);
            g.add(1, Some(Loc::cell(row, first_col as u32)));
            if g.sample.is_none() {
                g.sample = sample;
            }
        }
        if let (Some(fp), Some((s, f))) = (self.fingerprints, table.name_cols) {
            let cell = |i: usize| cells.iter().find(|(c, _)| *c as usize == i).map(|(_, t)| *t);
            if let (Some(surname), Some(forename)) = (cell(s), cell(f))
                && let Some((d, recipient)) = fp.find_split(surname, forename)
                && (d == Detector::Canary || self.policy.enabled(d))
            {
                let g = self.group_of(part, d, None, hidden(s as u32), recipient);
                g.add(1, Some(Loc::cell(row, s as u32)));
                if g.sample.is_none() {
                    g.sample = Some(mask_name(&format!("{surname} {forename}")));
                }
            }
        }
        // Most rows hold nothing to find: one look at the whole row (cells
        // apart, so no pattern spans two) spares the identifier detectors a
        // look at every cell. Exact match still looks at every cell.
        let mut joined = std::mem::take(&mut self.joined);
        joined.clear();
        for (_, t) in cells {
            joined.push_str(t);
            joined.push('\n');
        }
        let worth = identifiers::might_match(&joined, &table.header_text);
        self.joined = joined;
        if !worth && self.fingerprints.is_none() {
            return;
        }
        for (col, text) in cells {
            let header = table.headers.get(*col as usize).map(String::as_str).unwrap_or("");
            self.detect(part, Some(Loc::cell(row, *col)), text, header, hidden(*col), worth);
        }
    }

    /// Records hidden content of `kind`: `n` items at `at`.
    pub fn hidden(&mut self, part: &Part, kind: Hidden, n: u64, at: Option<Loc>, note: Option<String>) {
        let g = self.group(part, Detector::HiddenContent, Some(kind), true);
        g.add(n, at);
        if g.note.is_none() {
            g.note = note;
        }
    }

    /// Records a metadata field (author, company…) and scans its value.
    pub fn metadata(&mut self, part: &Part, field: &str, value: &str) {
        let value = value.trim();
        if value.is_empty() {
            return;
        }
        self.note_metadata(part, field, mask_name(value), true);
        self.text(part, None, value, field, true);
    }

    /// Records an envelope field (an email's From or To) as metadata,
    /// masked as `as_detector` would mask it, without scanning it: every
    /// reply names its requester.
    pub fn envelope(&mut self, part: &Part, field: &str, value: &str, as_detector: Detector) {
        let value = value.trim();
        if !value.is_empty() {
            self.note_metadata(part, field, mask(as_detector, value), false);
        }
    }

    fn note_metadata(&mut self, part: &Part, field: &str, sample: String, in_hidden: bool) {
        let g = self.group(part, Detector::Metadata, None, in_hidden);
        g.add(1, None);
        let note = g.note.get_or_insert_with(String::new);
        if !note.split(", ").any(|f| f == field) {
            if !note.is_empty() {
                note.push_str(", ");
            }
            note.push_str(field);
        }
        if g.sample.is_none() {
            g.sample = Some(sample);
        }
    }

    /// Records that the file, or a part of it, cannot be inspected.
    pub fn uninspectable(&mut self, part: &Part, why: &ScanError) {
        let g = self.group(part, Detector::Uninspectable, None, false);
        g.add(1, None);
        g.note = Some(why.to_string());
    }

    /// The findings, with severities set by what is where.
    pub fn finish(self) -> Vec<Finding> {
        let (policy, explain, fingerprints) = (self.policy, self.explain, self.fingerprints);
        // Parts where personal data sits in hidden content.
        let hot: std::collections::HashSet<Part> = self
            .groups
            .keys()
            .filter(|k| {
                k.in_hidden
                    && k.hidden.is_none()
                    && (Detector::PERSONAL.contains(&k.detector) || k.detector == Detector::Canary)
            })
            .map(|k| k.part.clone())
            .collect();
        let mut out = self.nested_findings;
        for (k, g) in self.groups {
            let (kind, mut severity) = match (k.detector, k.hidden) {
                (Detector::Uninspectable, _) => ("uninspectable", Severity::Critical),
                (Detector::Metadata, _) => ("metadata", policy.metadata_severity()),
                (_, Some(h)) => {
                    let base = policy.hidden_severity(h);
                    let raised = hot.contains(&k.part);
                    ("hidden_content", if raised { Severity::Critical } else { base })
                }
                (Detector::Canary, None) => ("personal_data", Severity::Critical),
                (d, None) => {
                    let base = if k.in_hidden { Severity::Critical } else { Severity::High };
                    ("personal_data", policy.personal_severity(d, g.count, base))
                }
            };
            if k.detector == Detector::Uninspectable {
                severity = Severity::Critical;
            }
            let range = match (g.first, g.last) {
                (Some(f), Some(l)) if g.lines => Some(if f.0 == l.0 {
                    format!("line {}", f.0 + 1)
                } else {
                    format!("lines {}-{}", f.0 + 1, l.0 + 1)
                }),
                (Some(f), Some(l)) => Some(a1_range(f, l)),
                _ => None,
            };
            let remedy = explain.then(|| remedy(k.detector, k.hidden, &k.part)).flatten();
            let recipient = k.recipient.and_then(|n| fingerprints.and_then(|f| f.recipient(n))).map(str::to_owned);
            let note = match &recipient {
                Some(r) => Some(format!("a canary planted only in data sent to {r}: this content came from there")),
                None => g.note,
            };
            out.push(Finding {
                file: self.file.clone(),
                part: k.part,
                range,
                kind,
                detector: k.detector,
                hidden: k.hidden,
                in_hidden: k.in_hidden,
                count: g.count,
                severity,
                recipient,
                sample: g.sample,
                note,
                remedy,
            });
        }
        out
    }
}

/// The error for a file that would take more memory than a scan may.
pub(crate) fn over_budget(limits: &Limits, what: &str) -> ScanError {
    ScanError::TooLarge(format!(
        "more than {} MiB {what}, past the memory a scan may use",
        limits.max_memory_bytes >> 20
    ))
}

pub(crate) fn remedy(detector: Detector, hidden: Option<Hidden>, part: &Part) -> Option<String> {
    if let Some(h) = hidden {
        return Some(h.remedy().to_owned());
    }
    Some(
        match detector {
            Detector::Uninspectable => {
                "the file cannot be checked, so it is not cleared: remove the password or encryption, repair it, or \
                 release its content in a format lanyard reads (CSV, XLSX, DOCX, PDF)"
            }
            Detector::Canary => {
                "do not release: this file holds data that was sent to the named recipient; report it to the \
                 data-protection team as a possible leak from there"
            }
            Detector::Metadata => "clear the document properties (File > Info > Inspect Document) before release",
            Detector::PersonalDataTable => {
                "this table lists people: release counts (aggregate by rank, unit…) instead of rows, or remove the \
                 identifying columns"
            }
            _ if part.state.is_some() => {
                "delete the cells holding personal data, then re-export the visible table as CSV"
            }
            _ => "remove or redact the personal data, then scan the file again",
        }
        .to_owned(),
    )
}
