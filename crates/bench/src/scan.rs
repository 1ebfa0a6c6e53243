//! `lanyard bench scan`: the disclosure guard's throughput and memory on a
//! large CSV and a large xlsx, beside baselines in the same run (reading the
//! file, and parsing the CSV without detecting anything), and, with
//! `--presidio`, recall and speed beside Microsoft Presidio's pattern
//! recognizers on one seeded corpus. Each measured phase runs in its own
//! child process, so its peak RSS is its own; phases alternate, three runs
//! each, and medians are reported.

use std::io::{BufRead, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use lanyard_guard::identifiers::{iban_check_digits, luhn_check_digit, nhs_check_digit};
use lanyard_guard::{Detector, Scanner};
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{RngExt, SeedableRng};
use serde::{Deserialize, Serialize};

use crate::opts::Cli;
use crate::{peak_rss_kib, work_dir_or_temp};

/// One measured phase.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ScanPhase {
    mode: String,
    file_bytes: u64,
    seconds: f64,
    mb_per_s: f64,
    peak_rss_kib: u64,
    findings: usize,
}

const AREAS: &[&str] = &["North", "South", "East", "West", "Central", "City", "Airport", "Harbour"];
const OFFENCES: &[&str] = &[
    "Burglary",
    "Robbery",
    "Vehicle crime",
    "Violence with injury",
    "Criminal damage",
    "Shoplifting",
    "Public order",
    "Drugs possession",
];
const WORDS: &[&str] = &[
    "attended",
    "report",
    "taken",
    "no",
    "further",
    "action",
    "advice",
    "given",
    "referred",
    "to",
    "partner",
    "agency",
    "suspect",
    "left",
    "scene",
    "before",
    "arrival",
    "CCTV",
    "requested",
    "enquiries",
    "ongoing",
    "closed",
    "pending",
    "outcome",
    "victim",
    "declined",
    "to",
    "support",
    "prosecution",
    "at",
    "time",
];

/// Free text like an incident log's: words, times, references.
fn note(rng: &mut StdRng) -> String {
    let mut s = String::with_capacity(80);
    for i in 0..rng.random_range(6..12) {
        if i > 0 {
            s.push(' ');
        }
        match rng.random_range(0..10) {
            0 => s.push_str(&format!("{:02}:{:02}", rng.random_range(0..24), rng.random_range(0..60))),
            1 => s.push_str(&format!("ref {}/{:04}", 2023, rng.random_range(0..10_000))),
            _ => s.push_str(WORDS.choose(rng).unwrap_or(&"report")),
        }
    }
    s
}

/// A seeded UK identifier of each kind (0 NINO, 1 NHS, 2 email, 3 phone,
/// 4 card, 5 IBAN, 6 postcode, 7 and above vehicle registration), valid by
/// its check digits.
fn identifier(rng: &mut StdRng, kind: usize) -> String {
    match kind {
        0 => format!("AB{:06}C", rng.random_range(0..1_000_000)),
        // NHS numbers in England and Wales begin 4 to 9.
        1 => loop {
            let d: Vec<u32> = (0..9).map(|i| rng.random_range(if i == 0 { 4 } else { 0 }..10)).collect();
            let Some(check) = nhs_check_digit(&d) else { continue };
            let s: String =
                d.iter().chain(std::iter::once(&check)).map(|x| char::from_digit(*x, 10).unwrap_or('0')).collect();
            break format!("{} {} {}", &s[..3], &s[3..6], &s[6..]);
        },
        2 => format!("officer{}@example.police.uk", rng.random_range(0..100_000)),
        3 => format!("07700 9{:05}", rng.random_range(0..100_000)),
        4 => {
            let mut d: Vec<u8> = std::iter::once(4).chain((0..14).map(|_| rng.random_range(0..10))).collect();
            d.push(luhn_check_digit(&d));
            d.chunks(4)
                .map(|c| c.iter().map(|x| char::from(b'0' + x)).collect::<String>())
                .collect::<Vec<_>>()
                .join(" ")
        }
        5 => {
            let account: String = (0..14).map(|_| char::from(b'0' + rng.random_range(0..10u8))).collect();
            let bban = format!("WEST{account}");
            format!("GB{:02}{bban}", iban_check_digits("GB", &bban))
        }
        6 => {
            const AREAS: [&str; 8] = ["SW", "M", "B", "LS", "CF", "BT", "EH", "G"];
            const UNIT: &[u8] = b"ABDEFGHJLNPQRSTUWXYZ";
            let l = |rng: &mut StdRng| char::from(*UNIT.choose(rng).unwrap_or(&b'A'));
            let area = AREAS.choose(rng).unwrap_or(&"SW");
            let (d1, d2) = (rng.random_range(1..10), rng.random_range(0..10));
            format!("{area}{d1} {d2}{}{}", l(rng), l(rng))
        }
        _ => {
            const FIRST: &[u8] = b"ABCDEFGHKLMNOPRSVWY";
            const REST: &[u8] = b"ABCDEFGHJKLMNOPRSTUVWXYZ";
            let l = |rng: &mut StdRng, set: &[u8]| char::from(*set.choose(rng).unwrap_or(&b'A'));
            let age = if rng.random_bool(0.5) { rng.random_range(2..26) } else { rng.random_range(51..76) };
            let (a, b) = (l(rng, FIRST), l(rng, REST));
            format!("{a}{b}{age:02} {}{}{}", l(rng, REST), l(rng, REST), l(rng, REST))
        }
    }
}

/// A release-sized CSV of incidents: ~1 row in 500 carries an identifier.
fn write_csv(path: &Path, target: u64, seed: u64) -> Result<u64> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut w = BufWriter::with_capacity(1 << 20, std::fs::File::create(path)?);
    writeln!(w, "Incident,Date,Area,Offence,Outcome,Count,Notes")?;
    let mut written = 0u64;
    let mut n = 0u64;
    while written < target {
        n += 1;
        let mut notes = note(&mut rng);
        if rng.random_range(0..500) == 0 {
            let kind = rng.random_range(0..8);
            notes.push_str(" contact ");
            notes.push_str(&identifier(&mut rng, kind));
        }
        let line = format!(
            "INC{n:08},2023-{:02}-{:02},{},{},{},{},\"{}\"\n",
            rng.random_range(1..13),
            rng.random_range(1..29),
            AREAS.choose(&mut rng).unwrap_or(&"North"),
            OFFENCES.choose(&mut rng).unwrap_or(&"Burglary"),
            if rng.random_bool(0.3) { "Charged" } else { "No further action" },
            rng.random_range(1..40),
            notes
        );
        w.write_all(line.as_bytes())?;
        written += line.len() as u64;
    }
    w.flush()?;
    Ok(written)
}

/// A workbook of the same incidents: shared strings for the categories,
/// inline strings for the notes; `target` bytes of sheet XML.
fn write_xlsx(path: &Path, target: u64, seed: u64) -> Result<u64> {
    let mut rng = StdRng::seed_from_u64(seed);
    let file = std::fs::File::create(path)?;
    let mut zip = zip::ZipWriter::new(BufWriter::with_capacity(1 << 20, file));
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .compression_level(Some(1))
        .large_file(true);
    let parts: [(&str, String); 4] = [
        ("[Content_Types].xml", r#"<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/><Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>"#.into()),
        ("_rels/.rels", r#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>"#.into()),
        ("xl/workbook.xml", r#"<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="Incidents" sheetId="1" r:id="rId1"/></sheets></workbook>"#.into()),
        ("xl/_rels/workbook.xml.rels", r#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/><Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/></Relationships>"#.into()),
    ];
    for (name, body) in &parts {
        zip.start_file(*name, opts)?;
        zip.write_all(body.as_bytes())?;
    }
    let shared: Vec<&str> = AREAS.iter().chain(OFFENCES).copied().collect();
    zip.start_file("xl/sharedStrings.xml", opts)?;
    let si: String = shared.iter().map(|s| format!("<si><t>{s}</t></si>")).collect();
    write!(
        zip,
        r#"<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">{si}</sst>"#
    )?;
    zip.start_file("xl/worksheets/sheet1.xml", opts)?;
    let head = r#"<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>Incident</t></is></c><c r="B1" t="inlineStr"><is><t>Area</t></is></c><c r="C1" t="inlineStr"><is><t>Offence</t></is></c><c r="D1" t="inlineStr"><is><t>Count</t></is></c><c r="E1" t="inlineStr"><is><t>Notes</t></is></c></row>"#;
    zip.write_all(head.as_bytes())?;
    let mut written = head.len() as u64;
    let mut r = 1u64;
    while written < target {
        r += 1;
        let mut notes = note(&mut rng);
        if rng.random_range(0..500) == 0 {
            let kind = rng.random_range(0..8);
            notes.push_str(" contact ");
            notes.push_str(&identifier(&mut rng, kind));
        }
        let row = format!(
            r#"<row r="{r}"><c r="A{r}" t="inlineStr"><is><t>INC{r:08}</t></is></c><c r="B{r}" t="s"><v>{}</v></c><c r="C{r}" t="s"><v>{}</v></c><c r="D{r}"><v>{}</v></c><c r="E{r}" t="inlineStr"><is><t>{notes}</t></is></c></row>"#,
            rng.random_range(0..AREAS.len()),
            AREAS.len() + rng.random_range(0..OFFENCES.len()),
            rng.random_range(1..40),
        );
        zip.write_all(row.as_bytes())?;
        written += row.len() as u64;
    }
    zip.write_all(b"</sheetData></worksheet>")?;
    zip.finish()?.flush()?;
    Ok(written)
}

/// People in the synthetic register the exact-match phase fingerprints.
const FINGERPRINTED: usize = 10_000;

/// Fingerprints of a made-up register of `n` people (service numbers,
/// names, emails) and one canary, as `fingerprints export` would write.
fn synthetic_fingerprints(n: usize) -> lanyard_guard::Fingerprints {
    const FORENAMES: [&str; 12] =
        ["Aisha", "Alan", "Bethan", "Callum", "Deborah", "Emeka", "Grace", "Imran", "Niamh", "Priya", "Rhys", "Zoe"];
    const SURNAMES: [&str; 10] =
        ["Adeyemi", "Brown", "Campbell", "Davies", "Fitzgerald", "Kaur", "MacDonald", "O'Brien", "Patel", "Wright"];
    let person = |i: usize| lanyard_guard::PersonIdentifiers {
        service_number: Some(format!("P{:06}", 200_000 + i)),
        forenames: Some(FORENAMES.get(i % FORENAMES.len()).copied().unwrap_or_default().to_owned()),
        surname: Some(format!(
            "{}{}",
            SURNAMES.get((i / FORENAMES.len()) % SURNAMES.len()).copied().unwrap_or_default(),
            i / 120
        )),
        email: Some(format!("officer.{i}@force.police.example")),
    };
    lanyard_guard::Fingerprints::build((0..n).map(person), [5; 32])
        .with_canaries([("bench-recipient".to_owned(), person(n + 1))])
}

/// One phase, in this process: `mode` is read, parse, scan, or scan-fp
/// (with exact data match against [`FINGERPRINTED`] people).
pub fn phase(mode: &str, file: &Path) -> Result<()> {
    let bytes = std::fs::metadata(file)?.len();
    let fingerprints = (mode == "scan-fp").then(|| synthetic_fingerprints(FINGERPRINTED));
    let started = Instant::now();
    let findings = match mode {
        // The I/O ceiling: every byte read and its lines counted.
        "read" => {
            let mut r = std::io::BufReader::with_capacity(1 << 20, std::fs::File::open(file)?);
            let mut lines = 0usize;
            loop {
                let buf = r.fill_buf()?;
                if buf.is_empty() {
                    break;
                }
                lines += memchr::memchr_iter(b'\n', buf).count();
                let n = buf.len();
                r.consume(n);
            }
            std::hint::black_box(lines);
            0
        }
        // The parsing ceiling: every CSV field decoded, nothing detected.
        "parse" => {
            let mut csv = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_path(file)?;
            let mut record = csv::ByteRecord::new();
            let mut fields = 0usize;
            while csv.read_byte_record(&mut record)? {
                for f in record.iter() {
                    fields += String::from_utf8_lossy(f).len();
                }
            }
            std::hint::black_box(fields);
            0
        }
        "scan" | "scan-fp" => {
            let report = Scanner { fingerprints, ..Scanner::default() }.scan_paths(&[file.to_owned()]);
            if report.verdict == lanyard_guard::Verdict::CannotInspect {
                bail!("the scan could not inspect the benchmark file: {}", report.to_text(false));
            }
            report.findings.len()
        }
        other => bail!("unknown phase {other}"),
    };
    let seconds = started.elapsed().as_secs_f64();
    let out = ScanPhase {
        mode: mode.to_owned(),
        file_bytes: bytes,
        seconds,
        mb_per_s: bytes as f64 / 1e6 / seconds,
        peak_rss_kib: peak_rss_kib(),
        findings,
    };
    println!("{}", serde_json::to_string(&out)?);
    Ok(())
}

/// The regex baseline of issue 20: ripgrep counting lines that match any
/// of the NINO, NHS number, email and payment card patterns.
const RG_PATTERNS: [&str; 4] = [
    r"[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z] ?[0-9]{2} ?[0-9]{2} ?[0-9]{2} ?[A-D]",
    r"\b[0-9]{3}[ -]?[0-9]{3}[ -]?[0-9]{4}\b",
    r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}",
    r"\b(?:[0-9][ -]?){13,19}\b",
];

/// Whether Debian's `ripgrep` is here to run as the baseline.
fn ripgrep_present() -> bool {
    Command::new("rg").arg("--version").output().is_ok_and(|o| o.status.success())
}

/// `rg -c` of [`RG_PATTERNS`] over `file`, timed from outside (its start
/// included, as the scan phases' is).
fn run_rg(file: &Path) -> Result<ScanPhase> {
    let bytes = std::fs::metadata(file)?.len();
    let mut cmd = Command::new("rg");
    cmd.arg("-c");
    for p in RG_PATTERNS {
        cmd.args(["-e", p]);
    }
    let started = Instant::now();
    let out = cmd.arg(file).output().context("running rg")?;
    let seconds = started.elapsed().as_secs_f64();
    // 1: no line matched, which is an answer too.
    if !matches!(out.status.code(), Some(0 | 1)) {
        bail!("rg failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    let findings = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap_or(0);
    Ok(ScanPhase {
        mode: "rg".into(),
        file_bytes: bytes,
        seconds,
        mb_per_s: bytes as f64 / 1e6 / seconds,
        peak_rss_kib: 0,
        findings,
    })
}

fn run_phase(mode: &str, file: &Path) -> Result<ScanPhase> {
    if mode == "rg" {
        return run_rg(file);
    }
    let out = Command::new(std::env::current_exe()?)
        .args(["bench", "scan-phase", mode])
        .arg(file)
        .output()
        .context("running a scan phase")?;
    if !out.status.success() {
        bail!("scan phase {mode} failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    Ok(serde_json::from_slice(&out.stdout)?)
}

/// A mode, its median MB/s, its median peak RSS in MiB, and its runs.
type Measured = (String, f64, f64, Vec<ScanPhase>);

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}

/// Runs `modes` on `file` three times, alternating; returns (mode, median
/// MB/s, median peak RSS MiB, runs).
fn measure(modes: &[&str], file: &Path) -> Result<Vec<Measured>> {
    let mut runs: Vec<ScanPhase> = Vec::new();
    for _ in 0..3 {
        for m in modes {
            runs.push(run_phase(m, file)?);
        }
    }
    Ok(modes
        .iter()
        .map(|m| {
            let mine: Vec<ScanPhase> = runs.iter().filter(|p| p.mode == *m).cloned().collect();
            let rate = median(mine.iter().map(|p| p.mb_per_s).collect());
            let rss = median(mine.iter().map(|p| p.peak_rss_kib as f64 / 1024.0).collect());
            ((*m).to_owned(), rate, rss, mine)
        })
        .collect())
}

/// `lanyard bench scan`.
pub fn run(cli: &Cli, csv_mb: u64, xlsx_mb: u64, presidio: bool, work_dir: Option<&PathBuf>) -> Result<()> {
    let dir = work_dir_or_temp(work_dir)?;
    let mut summary = serde_json::Map::new();
    // CSV: a small file and the large one, to show memory does not grow.
    for mb in [csv_mb / 5, csv_mb].into_iter().filter(|mb| *mb > 0) {
        let path = dir.join(format!("incidents-{mb}mb.csv"));
        let bytes = write_csv(&path, mb * 1_000_000, 7)?;
        let mut modes = vec!["read", "parse", "scan", "scan-fp"];
        if ripgrep_present() {
            modes.insert(2, "rg");
        } else if !cli.json {
            println!("(ripgrep is not installed: no regex baseline; apt-get install ripgrep)");
        }
        let results = measure(&modes, &path)?;
        print_results(cli, &format!("CSV, {:.0} MB", bytes as f64 / 1e6), &results);
        summary.insert(format!("csv_{mb}mb"), to_json(&results));
        if work_dir.is_none() {
            std::fs::remove_file(&path).ok();
        }
    }
    if xlsx_mb > 0 {
        for mb in [xlsx_mb / 5, xlsx_mb] {
            let path = dir.join(format!("incidents-{mb}mb.xlsx"));
            let xml = write_xlsx(&path, mb * 1_000_000, 11)?;
            let results = measure(&["read", "scan"], &path)?;
            let file = std::fs::metadata(&path)?.len();
            let label = format!("xlsx, {:.0} MB file, {:.0} MB of sheet XML", file as f64 / 1e6, xml as f64 / 1e6);
            print_results(cli, &label, &results);
            if let Some((_, rate, _, _)) = results.iter().find(|r| r.0 == "scan") {
                let xml_rate = rate * xml as f64 / file as f64;
                if !cli.json {
                    println!("  scan of the sheet XML: {xml_rate:.0} MB/s");
                }
            }
            summary.insert(format!("xlsx_{mb}mb_xml"), to_json(&results));
            if work_dir.is_none() {
                std::fs::remove_file(&path).ok();
            }
        }
    }
    if presidio {
        summary.insert("presidio".into(), presidio_comparison(cli, &dir)?);
    }
    if cli.json {
        println!("{}", serde_json::to_string_pretty(&summary)?);
    }
    // A folder the user named is theirs, with the files in it (to profile a
    // phase: `lanyard bench scan-phase scan-fp FILE`); only ours goes.
    if work_dir.is_none() {
        std::fs::remove_dir_all(&dir).ok();
    }
    Ok(())
}

fn to_json(results: &[Measured]) -> serde_json::Value {
    results
        .iter()
        .map(|(m, rate, rss, runs)| {
            (m.clone(), serde_json::json!({ "median_mb_per_s": rate, "median_peak_rss_mib": rss, "runs": runs }))
        })
        .collect::<serde_json::Map<_, _>>()
        .into()
}

fn print_results(cli: &Cli, label: &str, results: &[Measured]) {
    if cli.json {
        return;
    }
    println!("{label} (median of 3 alternating runs, one core)");
    for (mode, rate, rss, _) in results {
        let what = match mode.as_str() {
            "read" => "read the file (I/O ceiling)",
            "parse" => "parse every CSV field",
            "scan-fp" => "lanyard scan, exact match",
            "rg" => "rg -c, four patterns",
            _ => "lanyard scan",
        };
        println!("  {what:<30} {rate:>8.1} MB/s   peak RSS {rss:>6.1} MiB");
    }
    let rate = |m: &str| results.iter().find(|r| r.0 == m).map(|r| r.1);
    if let (Some(scan), Some(rg)) = (rate("scan"), rate("rg")) {
        println!("  scan ÷ rg {:.2} (issue 20's target: 0.5 or more)", scan / rg);
    }
    if let (Some(fp), Some(scan)) = (rate("scan-fp"), rate("scan")) {
        println!("  exact match ÷ scan {:.2} (target: 0.7 or more)", fp / scan);
    }
}

/// Kinds both tools detect, with Presidio's entity names.
const COMPARED: [(Detector, &str); 8] = [
    (Detector::Nino, "UK_NINO"),
    (Detector::NhsNumber, "UK_NHS"),
    (Detector::Email, "EMAIL_ADDRESS"),
    (Detector::Phone, "PHONE_NUMBER"),
    (Detector::PaymentCard, "CREDIT_CARD"),
    (Detector::Iban, "IBAN_CODE"),
    (Detector::Postcode, "UK_POSTCODE"),
    (Detector::VehicleRegistration, "UK_VEHICLE_REGISTRATION"),
];

/// A corpus's lines as the quoted notes of a numbered table, beside it as
/// `.csv`.
fn as_table(lines: &Path) -> Result<PathBuf> {
    let out = lines.with_extension("csv");
    let mut w = BufWriter::new(std::fs::File::create(&out)?);
    writeln!(w, "Entry,Notes")?;
    for (n, line) in std::fs::read_to_string(lines)?.lines().enumerate() {
        writeln!(w, "{n},\"{}\"", line.replace('"', "\"\""))?;
    }
    w.flush()?;
    Ok(out)
}

/// Writes one corpus of `per_kind` valid identifiers of each kind (one per
/// line, among filler lines), and one of decoys that fail their checks.
fn write_corpora(dir: &Path, per_kind: usize) -> Result<(PathBuf, PathBuf)> {
    let mut rng = StdRng::seed_from_u64(42);
    let seeded = dir.join("seeded.txt");
    let mut w = BufWriter::new(std::fs::File::create(&seeded)?);
    for i in 0..per_kind * COMPARED.len() {
        let kind = i % COMPARED.len();
        writeln!(w, "{} {} end", note(&mut rng).replace(|c: char| c.is_ascii_digit(), ""), identifier(&mut rng, kind))?;
        for _ in 0..3 {
            writeln!(w, "{}", note(&mut rng).replace(|c: char| c.is_ascii_digit(), ""))?;
        }
    }
    w.flush()?;
    let decoys = dir.join("decoys.txt");
    let mut w = BufWriter::new(std::fs::File::create(&decoys)?);
    for _ in 0..per_kind {
        // A forbidden NINO prefix, an NHS number with a wrong check digit, a
        // card number failing Luhn, an IBAN failing mod 97, an 11-digit
        // number that is no UK phone number (06), a reference number, a
        // postcode in no area (QX) and a registration with an age
        // identifier never issued (90-99).
        let nhs = identifier(&mut rng, 1);
        let last = nhs.chars().last().and_then(|c| c.to_digit(10)).unwrap_or(0);
        let bad_nhs = format!("{}{}", &nhs[..nhs.len() - 1], (last + 1) % 10);
        let card = identifier(&mut rng, 4);
        let last = card.chars().last().and_then(|c| c.to_digit(10)).unwrap_or(0);
        let bad_card = format!("{}{}", &card[..card.len() - 1], (last + 1) % 10);
        let iban = identifier(&mut rng, 5);
        let bad_iban = format!("{}{}", &iban[..2], if &iban[2..4] == "00" { "01" } else { "00" }) + &iban[4..];
        writeln!(w, "case QQ{:06}C noted", rng.random_range(0..1_000_000))?;
        writeln!(w, "nhs {bad_nhs} noted")?;
        writeln!(w, "paid {bad_card} noted")?;
        writeln!(w, "account {bad_iban} noted")?;
        writeln!(w, "ref 06{:09} noted", rng.random_range(0..1_000_000_000u64))?;
        writeln!(w, "crime ref {} noted", rng.random_range(1_000_000_000..10_000_000_000u64))?;
        writeln!(w, "item QX{} {}AA noted", rng.random_range(1..10), rng.random_range(0..10))?;
        writeln!(w, "model AB9{} CDE noted", rng.random_range(0..10))?;
    }
    w.flush()?;
    Ok((seeded, decoys))
}

fn lanyard_counts(file: &Path) -> Result<(f64, serde_json::Map<String, serde_json::Value>)> {
    let started = Instant::now();
    let report = Scanner::default().scan_paths(&[file.to_owned()]);
    let seconds = started.elapsed().as_secs_f64();
    let mut counts = serde_json::Map::new();
    for (d, name) in COMPARED {
        let n: u64 = report.findings.iter().filter(|f| f.detector == d).map(|f| f.count).sum();
        counts.insert(name.to_owned(), n.into());
    }
    Ok((seconds, counts))
}

fn presidio_counts(script: &Path, file: &Path) -> Result<(f64, serde_json::Map<String, serde_json::Value>)> {
    let out = Command::new("python3").arg(script).arg(file).output().context("running python3")?;
    if !out.status.success() {
        bail!("Presidio run failed (pip install presidio-analyzer): {}", String::from_utf8_lossy(&out.stderr));
    }
    let v: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    let seconds = v.get("seconds").and_then(serde_json::Value::as_f64).unwrap_or(0.0);
    Ok((seconds, v.get("counts").and_then(serde_json::Value::as_object).cloned().unwrap_or_default()))
}

fn presidio_comparison(cli: &Cli, dir: &Path) -> Result<serde_json::Value> {
    // The script lives at the top of the repository, beside the other bench scripts.
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../bench/presidio_scan.py");
    if !script.exists() {
        bail!("{} is missing", script.display());
    }
    let per_kind = 500;
    let (seeded, decoys) = write_corpora(dir, per_kind)?;
    let size = std::fs::metadata(&seeded)?.len() as f64;
    let mut rows = Vec::new();
    let (l_secs, l_counts) = lanyard_counts(&seeded)?;
    let (p_secs, p_counts) = presidio_counts(&script, &seeded)?;
    let (_, l_decoys) = lanyard_counts(&decoys)?;
    let (_, p_decoys) = presidio_counts(&script, &decoys)?;
    // The same lines as the cells of a table, where the raw prefilter
    // passes over records: it must find what the line reader finds.
    let (_, t_counts) = lanyard_counts(&as_table(&seeded)?)?;
    let (_, t_decoys) = lanyard_counts(&as_table(&decoys)?)?;
    let get = |m: &serde_json::Map<String, serde_json::Value>, k: &str| m.get(k).and_then(|v| v.as_u64()).unwrap_or(0);
    for (_, name) in COMPARED {
        rows.push(serde_json::json!({
            "entity": name,
            "seeded": per_kind,
            "lanyard_found": get(&l_counts, name),
            "presidio_found": get(&p_counts, name),
            "lanyard_recall": (get(&l_counts, name).min(per_kind as u64) as f64 / per_kind as f64),
            "presidio_recall": (get(&p_counts, name).min(per_kind as u64) as f64 / per_kind as f64),
            "lanyard_on_decoys": get(&l_decoys, name),
            "presidio_on_decoys": get(&p_decoys, name),
            "lanyard_found_as_csv": get(&t_counts, name),
            "lanyard_on_decoys_as_csv": get(&t_decoys, name),
        }));
    }
    let result = serde_json::json!({
        "corpus_bytes": size,
        "lanyard_mb_per_s": size / 1e6 / l_secs,
        "presidio_mb_per_s": size / 1e6 / p_secs,
        "speed_ratio": p_secs / l_secs,
        "entities": rows,
    });
    if !cli.json {
        println!("Presidio side by side: {:.1} MB corpus, {per_kind} seeded identifiers of each kind", size / 1e6);
        println!(
            "  throughput: lanyard {:.2} MB/s, Presidio {:.3} MB/s ({:.0}x)",
            size / 1e6 / l_secs,
            size / 1e6 / p_secs,
            p_secs / l_secs
        );
        println!(
            "  {:<14} {:>8} {:>8} {:>10} {:>10} {:>10}",
            "entity", "lanyard", "Presidio", "lanyard FP", "Presidio FP", "as CSV"
        );
        for r in &rows {
            println!(
                "  {:<14} {:>8} {:>8} {:>10} {:>10} {:>10}",
                r["entity"].as_str().unwrap_or(""),
                format!("{:.1}%", r["lanyard_recall"].as_f64().unwrap_or(0.0) * 100.0),
                format!("{:.1}%", r["presidio_recall"].as_f64().unwrap_or(0.0) * 100.0),
                // A JSON value ignores a width: as text it is padded.
                r["lanyard_on_decoys"].to_string(),
                r["presidio_on_decoys"].to_string(),
                format!("{}/{}", r["lanyard_found_as_csv"], r["lanyard_on_decoys_as_csv"]),
            );
        }
    }
    Ok(result)
}
