//! What a scan found: findings, each naming the file, the part, where in it,
//! the kind, the detector, how many and a masked sample; and the verdict
//! (exit code 0, 1 or 2). The JSON form is `docs/scan-report.schema.json`.
//!
//! A report never carries the personal data it found: only masked samples
//! (`S**** J.`, `AB******C`) built by [`crate::mask`].

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

/// The detector (or structural check) behind a finding. Stable names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Detector {
    /// National Insurance number.
    Nino,
    /// NHS number (mod 11).
    NhsNumber,
    /// UK postcode.
    Postcode,
    /// UK phone number.
    Phone,
    /// Email address.
    Email,
    /// Sort code with an account number.
    SortCodeAccount,
    /// Payment card number (Luhn).
    PaymentCard,
    /// IBAN (mod 97).
    Iban,
    /// Vehicle registration mark.
    VehicleRegistration,
    /// A date next to "date of birth", "DOB" or "born".
    DateOfBirth,
    /// A table whose header names people (Surname, DOB, Collar number…).
    PersonalDataTable,
    /// A register service number (exact data match).
    RegisterServiceNumber,
    /// A register full name (exact data match).
    RegisterFullName,
    /// A register surname with initial (exact data match).
    RegisterSurnameInitial,
    /// A register email (exact data match).
    RegisterEmail,
    /// A canary record planted for one recipient: the file holds data that
    /// was sent there. Always critical; no policy turns it off.
    Canary,
    /// Content the reader of the file does not see (see [`Hidden`]).
    HiddenContent,
    /// Metadata: author, last editor, company, GPS.
    Metadata,
    /// The file could not be inspected.
    Uninspectable,
}

impl Detector {
    /// The stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            Detector::Nino => "nino",
            Detector::NhsNumber => "nhs_number",
            Detector::Postcode => "postcode",
            Detector::Phone => "phone",
            Detector::Email => "email",
            Detector::SortCodeAccount => "sort_code_account",
            Detector::PaymentCard => "payment_card",
            Detector::Iban => "iban",
            Detector::VehicleRegistration => "vehicle_registration",
            Detector::DateOfBirth => "date_of_birth",
            Detector::PersonalDataTable => "personal_data_table",
            Detector::RegisterServiceNumber => "register_service_number",
            Detector::RegisterFullName => "register_full_name",
            Detector::RegisterSurnameInitial => "register_surname_initial",
            Detector::RegisterEmail => "register_email",
            Detector::Canary => "canary",
            Detector::HiddenContent => "hidden_content",
            Detector::Metadata => "metadata",
            Detector::Uninspectable => "uninspectable",
        }
    }

    /// Every detector of personal data (the ones a policy can tune).
    pub const PERSONAL: [Detector; 15] = [
        Detector::Nino,
        Detector::NhsNumber,
        Detector::Postcode,
        Detector::Phone,
        Detector::Email,
        Detector::SortCodeAccount,
        Detector::PaymentCard,
        Detector::Iban,
        Detector::VehicleRegistration,
        Detector::DateOfBirth,
        Detector::PersonalDataTable,
        Detector::RegisterServiceNumber,
        Detector::RegisterFullName,
        Detector::RegisterSurnameInitial,
        Detector::RegisterEmail,
    ];

    /// Parses a stable name.
    pub fn parse(name: &str) -> Option<Detector> {
        Detector::PERSONAL.into_iter().chain([Detector::HiddenContent, Detector::Metadata]).find(|d| d.as_str() == name)
    }
}

impl fmt::Display for Detector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Kinds of hidden content (DESIGN §7, and the ICO's list).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Hidden {
    /// A worksheet set to hidden.
    HiddenSheet,
    /// A worksheet set to veryHidden (only VBA can show it).
    VeryHiddenSheet,
    /// Rows hidden, zero height, or folded in a collapsed outline.
    HiddenRows,
    /// Columns hidden or zero width.
    HiddenColumns,
    /// Rows an autofilter hides.
    FilteredRows,
    /// Cells whose number format shows nothing (`;;;`).
    InvisibleFormat,
    /// White text (on the default white background).
    WhiteText,
    /// Text too small to read (under 4pt).
    TinyText,
    /// Cell comments, notes and threaded comments.
    Comments,
    /// Defined names, hidden ones included.
    DefinedNames,
    /// A pivot cache: a copy of the source data, kept in the file.
    PivotCache,
    /// A chart's cached series values.
    ChartCache,
    /// A Power Pivot data model (`xl/model`).
    DataModel,
    /// Links to other workbooks, with cached values.
    ExternalLinks,
    /// Data connections (queries to databases).
    Connections,
    /// Custom XML parts.
    CustomXml,
    /// VBA macros.
    Vba,
    /// An embedded file or OLE object.
    EmbeddedObject,
    /// Tracked insertions not yet accepted.
    TrackedInsertion,
    /// Tracked deletions: removed text that is still in the file.
    TrackedDeletion,
    /// Text formatted as hidden (`w:vanish`).
    HiddenText,
    /// EXIF data in an image (camera, times, GPS).
    ImageMetadata,
    /// GPS position in an image.
    Gps,
}

/// Every kind of hidden content.
pub const HIDDEN_ALL: [Hidden; 23] = [
    Hidden::HiddenSheet,
    Hidden::VeryHiddenSheet,
    Hidden::HiddenRows,
    Hidden::HiddenColumns,
    Hidden::FilteredRows,
    Hidden::InvisibleFormat,
    Hidden::WhiteText,
    Hidden::TinyText,
    Hidden::Comments,
    Hidden::DefinedNames,
    Hidden::PivotCache,
    Hidden::ChartCache,
    Hidden::DataModel,
    Hidden::ExternalLinks,
    Hidden::Connections,
    Hidden::CustomXml,
    Hidden::Vba,
    Hidden::EmbeddedObject,
    Hidden::TrackedInsertion,
    Hidden::TrackedDeletion,
    Hidden::HiddenText,
    Hidden::ImageMetadata,
    Hidden::Gps,
];

impl Hidden {
    /// The stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            Hidden::HiddenSheet => "hidden_sheet",
            Hidden::VeryHiddenSheet => "very_hidden_sheet",
            Hidden::HiddenRows => "hidden_rows",
            Hidden::HiddenColumns => "hidden_columns",
            Hidden::FilteredRows => "filtered_rows",
            Hidden::InvisibleFormat => "invisible_format",
            Hidden::WhiteText => "white_text",
            Hidden::TinyText => "tiny_text",
            Hidden::Comments => "comments",
            Hidden::DefinedNames => "defined_names",
            Hidden::PivotCache => "pivot_cache",
            Hidden::ChartCache => "chart_cache",
            Hidden::DataModel => "data_model",
            Hidden::ExternalLinks => "external_links",
            Hidden::Connections => "connections",
            Hidden::CustomXml => "custom_xml",
            Hidden::Vba => "vba",
            Hidden::EmbeddedObject => "embedded_object",
            Hidden::TrackedInsertion => "tracked_insertion",
            Hidden::TrackedDeletion => "tracked_deletion",
            Hidden::HiddenText => "hidden_text",
            Hidden::ImageMetadata => "image_metadata",
            Hidden::Gps => "gps",
        }
    }

    /// How to fix a file with this in it (`--explain`).
    pub fn remedy(self) -> &'static str {
        match self {
            Hidden::HiddenSheet | Hidden::VeryHiddenSheet => {
                "delete the sheet (unhiding shows it; veryHidden sheets need the VBA editor), or re-export only the \
                 visible table as CSV"
            }
            Hidden::HiddenRows | Hidden::HiddenColumns | Hidden::FilteredRows => {
                "delete the hidden or filtered rows and columns rather than hiding them, or copy the visible cells \
                 into a new workbook and re-export as CSV"
            }
            Hidden::InvisibleFormat | Hidden::WhiteText | Hidden::TinyText => {
                "delete the cells or text rather than making them invisible"
            }
            Hidden::Comments => "delete every comment and note (Review > Delete All Comments)",
            Hidden::DefinedNames => "delete the defined names (Formulas > Name Manager)",
            Hidden::PivotCache => {
                "the pivot table keeps a full copy of its source data: paste the pivot as values into a new \
                 workbook, or re-export the visible table as CSV"
            }
            Hidden::ChartCache => "paste the chart as a picture, or rebuild it from the released figures only",
            Hidden::DataModel | Hidden::Connections | Hidden::ExternalLinks => {
                "remove the data model, connections and links (Data > Queries & Connections, Edit Links > Break \
                 Link), or re-export the visible table as CSV"
            }
            Hidden::CustomXml | Hidden::EmbeddedObject => {
                "remove embedded objects and custom XML, or re-export as CSV/PDF"
            }
            Hidden::Vba => "save as .xlsx or .docx (without macros)",
            Hidden::TrackedInsertion | Hidden::TrackedDeletion => {
                "accept or reject every tracked change and delete comments (Review > Accept All), then save a new copy"
            }
            Hidden::HiddenText => "delete the hidden text (Home > Show/Hide shows it)",
            Hidden::ImageMetadata | Hidden::Gps => {
                "strip the image's metadata (e.g. exiftool -all= FILE) or re-save it without EXIF"
            }
        }
    }
}

/// How serious a finding is. A scan fails (exit 1) at `medium` and above,
/// unless the policy says otherwise.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Worth knowing; never blocks by default (e.g. an author's name).
    Low,
    /// Must be looked at before release (hidden content with nothing
    /// detected in it, a single identifier).
    Medium,
    /// Personal data in the file.
    High,
    /// Personal data in hidden content, or register people in bulk.
    Critical,
}

impl Severity {
    /// The stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

/// Where in a file.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Part {
    /// The part's name: a sheet name, or a part path (`word/document.xml`),
    /// or an archive member path for nested files.
    pub name: String,
    /// For sheets: visible, hidden or veryHidden.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
}

impl Part {
    /// A part with no state.
    pub fn named(name: impl Into<String>) -> Self {
        Part { name: name.into(), state: None }
    }
}

/// One finding: one kind of thing, found `count` times in one part.
#[derive(Clone, Debug, Serialize)]
pub struct Finding {
    /// The file (archive members as `outer.zip!inner.xlsx`).
    pub file: String,
    /// Where in the file.
    pub part: Part,
    /// A1 range of the cells involved, or line range, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub range: Option<String>,
    /// `personal_data`, `hidden_content`, `metadata` or `uninspectable`.
    pub kind: &'static str,
    /// What found it.
    pub detector: Detector,
    /// For hidden content, what kind.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hidden: Option<Hidden>,
    /// Whether it was found inside hidden content.
    pub in_hidden: bool,
    /// How many.
    pub count: u64,
    /// How serious.
    pub severity: Severity,
    /// For a canary, the recipient it was planted for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recipient: Option<String>,
    /// A masked example, never the value.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sample: Option<String>,
    /// A reason (uninspectable files) or a short note, free of personal data.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// How to fix it (`--explain`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remedy: Option<String>,
}

impl Finding {
    /// How to fix it, whether or not the scan was asked to explain.
    pub fn how_to_fix(&self) -> String {
        self.remedy.clone().or_else(|| crate::sink::remedy(self.detector, self.hidden, &self.part)).unwrap_or_default()
    }
}

/// The overall answer, as an exit code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// 0: clear to release.
    Clear,
    /// 1: do not release.
    DoNotRelease,
    /// 2: cannot inspect (fail closed).
    CannotInspect,
}

impl Verdict {
    /// The process exit code.
    pub fn exit_code(self) -> i32 {
        match self {
            Verdict::Clear => 0,
            Verdict::DoNotRelease => 1,
            Verdict::CannotInspect => 2,
        }
    }

    /// The human headline.
    pub fn headline(self) -> &'static str {
        match self {
            Verdict::Clear => "CLEAR: nothing found that stops release",
            Verdict::DoNotRelease => "DO NOT RELEASE: personal data or hidden content found",
            Verdict::CannotInspect => "CANNOT INSPECT: at least one file could not be checked, so nothing is cleared",
        }
    }
}

/// A scan's result.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    /// The report format.
    pub format: &'static str,
    /// The verdict.
    pub verdict: Verdict,
    /// The exit code it means.
    pub exit_code: i32,
    /// Files looked at (archive members count separately).
    pub files: u64,
    /// Bytes read.
    pub bytes: u64,
    /// Findings, most serious first.
    pub findings: Vec<Finding>,
    /// Findings per severity.
    pub summary: BTreeMap<&'static str, u64>,
}

/// The format tag of the JSON report.
pub const REPORT_FORMAT: &str = "lanyard-scan-report/1";

impl Report {
    /// The recipients whose canaries this report found, each once, sorted.
    pub fn canaries(&self) -> Vec<String> {
        let set: std::collections::BTreeSet<&str> =
            self.findings.iter().filter_map(|f| f.recipient.as_deref()).collect();
        set.into_iter().map(str::to_owned).collect()
    }

    /// Orders findings and sets the verdict: cannot-inspect wins (fail
    /// closed), then anything at or above `fail_at`.
    pub fn finish(mut findings: Vec<Finding>, files: u64, bytes: u64, fail_at: Severity) -> Report {
        findings.sort_by(|a, b| {
            b.severity
                .cmp(&a.severity)
                .then_with(|| a.file.cmp(&b.file))
                .then_with(|| a.part.cmp(&b.part))
                .then_with(|| a.detector.cmp(&b.detector))
        });
        let verdict = if findings.iter().any(|f| f.detector == Detector::Uninspectable) {
            Verdict::CannotInspect
        } else if findings.iter().any(|f| f.severity >= fail_at) {
            Verdict::DoNotRelease
        } else {
            Verdict::Clear
        };
        let mut summary = BTreeMap::new();
        for f in &findings {
            *summary.entry(f.severity.as_str()).or_insert(0) += 1;
        }
        Report { format: REPORT_FORMAT, verdict, exit_code: verdict.exit_code(), files, bytes, findings, summary }
    }

    /// The human report: verdict first, then findings by severity.
    pub fn to_text(&self, explain: bool) -> String {
        use std::fmt::Write as _;
        let mut out = String::new();
        let _ = writeln!(out, "{}", self.verdict.headline());
        let _ = writeln!(out, "{} files, {} bytes, {} findings", self.files, self.bytes, self.findings.len());
        let recipients: std::collections::BTreeSet<&str> =
            self.findings.iter().filter_map(|f| f.recipient.as_deref()).collect();
        for r in recipients {
            let _ =
                writeln!(out, "CANARY: the canary planted for {r} is here; this content came from data sent to {r}");
        }
        for f in &self.findings {
            let state = f.part.state.as_deref().map(|s| format!(" ({s})")).unwrap_or_default();
            let range = f.range.as_deref().map(|r| format!(" {r}")).unwrap_or_default();
            let what = match f.hidden {
                Some(h) => format!("{} {}", f.detector, h.as_str()),
                None if f.in_hidden && f.detector != Detector::Metadata => format!("{} in hidden content", f.detector),
                None => f.detector.to_string(),
            };
            let _ = write!(
                out,
                "\n[{}] {}: {}{state}{range}: {what} x{}",
                f.severity.as_str(),
                f.file,
                f.part.name,
                f.count
            );
            if let Some(s) = &f.sample {
                let _ = write!(out, " e.g. {s}");
            }
            if let Some(n) = &f.note {
                let _ = write!(out, " ({n})");
            }
            if explain && let Some(r) = &f.remedy {
                let _ = write!(out, "\n    fix: {r}");
            }
        }
        out.push('\n');
        out
    }
}

/// A1 name of a zero-based column.
pub fn column_name(mut col: u32) -> String {
    let mut name = Vec::new();
    loop {
        name.push(b'A' + (col % 26) as u8);
        if col < 26 {
            break;
        }
        col = col / 26 - 1;
    }
    name.reverse();
    String::from_utf8(name).unwrap_or_default()
}

/// A1 range of zero-based (row, col) corners.
pub fn a1_range(first: (u32, u32), last: (u32, u32)) -> String {
    let a = format!("{}{}", column_name(first.1), first.0 + 1);
    if first == last { a } else { format!("{a}:{}{}", column_name(last.1), last.0 + 1) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a1_names() {
        assert_eq!(column_name(0), "A");
        assert_eq!(column_name(25), "Z");
        assert_eq!(column_name(26), "AA");
        assert_eq!(column_name(16383), "XFD");
        assert_eq!(a1_range((1, 0), (9483, 6)), "A2:G9484");
    }
}
