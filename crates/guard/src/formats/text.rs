//! Text files: CSV and TSV as tables (headers, columns), everything else
//! (plain text, JSON, XML, HTML) line by line. Streamed, so memory does not
//! grow with the file: a record or line longer than [`MAX_RECORD`] is
//! refused rather than buffered. A table's records are found in place
//! (`records`), and once its header rows are past, those in which the raw
//! prefilter (`crate::prefilter`) finds nothing are passed over unsplit.

use std::borrow::Cow;
use std::cell::Cell;
use std::io::{BufRead, BufReader, Read};
use std::rc::Rc;

use crate::error::ScanError;
use crate::formats::records::{self, Next};
use crate::prefilter::Prefilter;
use crate::report::Part;
use crate::sink::{Loc, Sink, Table};

/// The longest record or line read. With the 1 MiB of slack `Bounded`
/// allows, a runaway record stops just under 64 MiB, so the buffers that
/// hold it (grown by doubling) never reach 128 MiB.
pub const MAX_RECORD: u64 = 62 << 20;

/// UTF-16 (by byte-order mark) to UTF-8; UTF-8 passes through without BOM.
pub(crate) fn decoded(bytes: &[u8]) -> Result<Vec<u8>, ScanError> {
    let utf16 = |be: bool| -> Vec<u8> {
        let units = bytes.get(2..).unwrap_or_default().chunks_exact(2).map(|c| {
            let pair = [c.first().copied().unwrap_or(0), c.get(1).copied().unwrap_or(0)];
            if be { u16::from_be_bytes(pair) } else { u16::from_le_bytes(pair) }
        });
        char::decode_utf16(units).map(|c| c.unwrap_or('\u{FFFD}')).collect::<String>().into_bytes()
    };
    Ok(if bytes.starts_with(&[0xFF, 0xFE]) {
        utf16(false)
    } else if bytes.starts_with(&[0xFE, 0xFF]) {
        utf16(true)
    } else {
        bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]).unwrap_or(bytes).to_vec()
    })
}

/// Counts bytes since the last record was taken, refusing runaway records.
struct Bounded<R> {
    inner: R,
    since: Rc<Cell<u64>>,
}

impl<R: Read> Read for Bounded<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.since.set(self.since.get() + n as u64);
        if self.since.get() > MAX_RECORD + (1 << 20) {
            return Err(std::io::Error::other(crate::error::LimitHit(format!(
                "a record or line longer than {} MiB",
                MAX_RECORD >> 20
            ))));
        }
        Ok(n)
    }
}

fn delimiter(name: &str, first_line: &[u8]) -> Option<u8> {
    let lower = name.to_ascii_lowercase();
    if lower.ends_with(".tsv") || lower.ends_with(".tab") {
        return Some(b'\t');
    }
    if lower.ends_with(".csv") {
        let semis = first_line.iter().filter(|b| **b == b';').count();
        let commas = first_line.iter().filter(|b| **b == b',').count();
        return Some(if semis > commas { b';' } else { b',' });
    }
    if [".txt", ".json", ".xml", ".html", ".htm", ".md"].iter().any(|e| lower.ends_with(e)) {
        return None;
    }
    // No telling extension: a first line with tabs or commas and no
    // sentence-like spaces is a table.
    let tabs = first_line.iter().filter(|b| **b == b'\t').count();
    let commas = first_line.iter().filter(|b| **b == b',').count();
    let spaces = first_line.iter().filter(|b| **b == b' ').count();
    if tabs >= 1 && tabs >= commas {
        Some(b'\t')
    } else if commas >= 2 && spaces <= commas {
        Some(b',')
    } else {
        None
    }
}

fn map_io(e: std::io::Error) -> ScanError {
    ScanError::from(e)
}

/// Scans text from `reader`; `name` picks CSV/TSV by extension.
pub(crate) fn scan(sink: &mut Sink<'_>, reader: impl Read, name: &str) -> Result<(), ScanError> {
    let since = Rc::new(Cell::new(0));
    let mut reader = BufReader::with_capacity(1 << 20, Bounded { inner: reader, since: Rc::clone(&since) });
    let first_line: Vec<u8> = {
        let buf = reader.fill_buf().map_err(map_io)?;
        let end = memchr::memchr(b'\n', buf).unwrap_or(buf.len());
        buf.get(..end).unwrap_or_default().to_vec()
    };
    match delimiter(name, &first_line) {
        Some(d) => table(sink, reader, d, &since, true, BLOCK),
        None => lines(sink, reader, &since),
    }
}

/// How much a table is read at a time: records are judged in place.
const BLOCK: usize = 1 << 20;

/// The most a table's buffer holds: a record at its limit, the slack
/// [`Bounded`] allows, and what the read that finds it too long brought.
const BUFFER_MAX: usize = 64 << 20;

/// Reads a table record by record. Once its header rows are past, a record
/// in which the raw prefilter finds nothing (most of a release-sized
/// table) is counted and passed over without being split into fields.
/// `prefilter` false reads every record, and `block` is how much is read
/// at a time, for the tests that compare.
fn table(
    sink: &mut Sink<'_>,
    mut reader: impl Read,
    delimiter: u8,
    since: &Rc<Cell<u64>>,
    prefilter: bool,
    block: usize,
) -> Result<(), ScanError> {
    let part = Part::named("(table)");
    let mut table = Table::default();
    let mut row: u32 = 0;
    // No prefilter stands in for exact match without the register's
    // service-number lengths (`Fingerprints::prefilter` says none).
    let filter = match (prefilter, sink.fingerprints()) {
        (false, _) => None,
        (true, None) => Prefilter::identifiers(),
        (true, Some(f)) => f.prefilter(),
    };
    let mut gate = filter.map(Prefilter::gate);
    let mut buf: Vec<u8> = Vec::with_capacity(BLOCK);
    let mut from = 0;
    let mut eof = false;
    loop {
        sink.tick()?;
        let span = match records::next_record(&buf, from, eof, delimiter) {
            Next::End => break,
            Next::More(keep) => {
                buf.drain(..keep.min(buf.len()));
                from = 0;
                if let Some(g) = gate.as_mut() {
                    g.reset();
                }
                // What the unfinished record holds counts towards its limit.
                since.set(buf.len() as u64);
                // A long record is read in ever larger steps, so that it is
                // split again only as often as its length doubles; the
                // buffer stops at the 64 MiB the record limit leaves room
                // for, and never regrows past it.
                let step = block.max(buf.len()).min(BUFFER_MAX.saturating_sub(buf.len())).max(1);
                eof = fill(&mut reader, &mut buf, step)?;
                continue;
            }
            Next::Record(span) => span,
        };
        from = span.next;
        let this = row;
        row = row.saturating_add(1);
        if !span.rejoined
            && sink.may_pass_over(&table)
            && let Some(g) = gate.as_mut()
            && !g.may_match(&buf, span.start, span.end)
        {
            continue;
        }
        let mut fields = Vec::new();
        records::fields(buf.get(span.start..span.end).unwrap_or_default(), delimiter, &mut fields);
        let cells: Vec<(u32, Cow<'_, str>)> = fields
            .iter()
            .take(16_384)
            .enumerate()
            .filter(|(_, f)| !f.is_empty())
            .map(|(i, f)| (i as u32, String::from_utf8_lossy(f)))
            .collect();
        let refs: Vec<(u32, &str)> = cells.iter().map(|(c, t)| (*c, t.as_ref())).collect();
        sink.row(&mut table, &part, this, &refs, &|_| false);
    }
    Ok(())
}

/// Reads up to `block` more bytes onto the end of `buf`; whether the
/// input has ended.
fn fill(reader: &mut impl Read, buf: &mut Vec<u8>, block: usize) -> Result<bool, ScanError> {
    let old = buf.len();
    if old + block > buf.capacity() && old + block > 2 * BLOCK {
        // A record past two blocks may run to the limit: the buffer is
        // set aside once at its largest (untouched pages cost nothing),
        // not copied at every doubling.
        buf.reserve_exact(BUFFER_MAX.max(old + block) - old);
    }
    buf.resize(old + block, 0);
    let mut got = 0;
    let result = loop {
        match reader.read(buf.get_mut(old + got..).unwrap_or_default()) {
            Ok(0) => break Ok(true),
            Ok(n) => {
                got += n;
                if old + got >= buf.len() {
                    break Ok(false);
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => break Err(map_io(e)),
        }
    };
    buf.truncate(old + got);
    result
}

fn lines(sink: &mut Sink<'_>, mut reader: impl BufRead, since: &Rc<Cell<u64>>) -> Result<(), ScanError> {
    let part = Part::named("(text)");
    let mut line = Vec::new();
    let mut n: u32 = 0;
    loop {
        sink.tick()?;
        line.clear();
        let read = reader.read_until(b'\n', &mut line).map_err(map_io)?;
        if read == 0 {
            break;
        }
        since.set(0);
        let text = String::from_utf8_lossy(&line);
        sink.text(&part, Some(Loc::line(n)), &text, "", false);
        n = n.saturating_add(1);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Fingerprints, Limits, PersonIdentifiers, Policy};
    use proptest::prelude::*;
    use std::time::{Duration, Instant};

    /// Text that some detector finds, text none does, and text of the
    /// shapes the prefilter looks for without anything being there.
    const TOKENS: &[&str] = &[
        // Found on their own (the first FOUND).
        "AB123456C",
        "AB 12 34 56 C",
        "943 476 5919",
        "jo.bloggs@example.police.uk",
        "07700 900123",
        "+44 20 7946 0018",
        "SW1A 1AA",
        "M1 1AE",
        "4111 1111 1111 1111",
        "GB82 WEST 1234 5698 7654 32",
        "AB51 ABC",
        "12-34-56 12345678",
        "born 12/03/1980",
        "John Smith",
        "Smith, John",
        "SMITH J",
        "Siobhán O'Brien",
        "P200001",
        "P-200-001",
        "john.smith@force.example",
        // Found beside other words or headers, or never.
        "9434765919",
        "12-34-56",
        "12345678",
        "born",
        "DOB",
        "12/03/1980",
        "1980-03-12",
        "O’Brien",
        "report",
        "North",
        "No further action",
        "CCTV",
        "2023-01-02",
        "INC00000001",
        "12:30",
        "ref 2023/0001",
        "Leeds Road",
        "£40",
        "café",
        "7",
        "",
        " ",
        "\u{FFFD}",
    ];
    const FOUND: usize = 20;

    const HEADERS: &[&str] = &[
        "",
        "Incident,Date,Area,Notes\n",
        "Notes\tRef\tCount\n",
        "Name,Date of birth,Notes\n",
        "Surname,Forename,Rank\n",
        "NHS number,Notes\n",
        "Notes,Date of birth\n",
    ];

    fn field() -> impl Strategy<Value = Vec<u8>> {
        (proptest::collection::vec(proptest::sample::select(TOKENS), 1..4), 0..9u8, any::<u8>()).prop_map(
            |(tokens, quoting, noise)| {
                let text = tokens.join(if noise % 3 == 0 { "," } else { " " });
                let mut b = text.into_bytes();
                if noise % 11 == 0 {
                    b.push(0xE9); // Latin-1, not UTF-8
                }
                match quoting {
                    0 => [b"\"".as_slice(), &b, b"\""].concat(),
                    1 => [
                        b"\"".as_slice(),
                        &b.iter()
                            .flat_map(|c| if *c == b' ' { vec![b'"', b'"'] } else { vec![*c] })
                            .collect::<Vec<u8>>(),
                        b"\"",
                    ]
                    .concat(),
                    2 => [b"\"".as_slice(), &b, b"\"x ", &b].concat(),
                    3 => [b"\"".as_slice(), &b, b"\n", &b, b"\""].concat(),
                    4 => [&b, b"\"".as_slice(), &b].concat(),
                    // Closed mid-text: `"AB1234"56C` reads `AB123456C`.
                    5 => {
                        let (head, tail) = b.split_at(b.len() / 2);
                        [b"\"".as_slice(), head, b"\"", tail].concat()
                    }
                    _ => b,
                }
            },
        )
    }

    fn csv_input() -> impl Strategy<Value = (Vec<u8>, u8)> {
        (
            proptest::sample::select(HEADERS),
            proptest::collection::vec((proptest::collection::vec(field(), 1..6), 0..4u8), 0..24),
            prop_oneof![Just(b','), Just(b'\t'), Just(b';')],
        )
            .prop_map(|(header, rows, delimiter)| {
                let mut out =
                    header.replace([',', '\t'], std::str::from_utf8(&[delimiter]).unwrap_or(",")).into_bytes();
                for (fields, end) in rows {
                    out.extend(fields.join(&delimiter));
                    out.extend_from_slice(match end {
                        0 => b"\r\n".as_slice(),
                        1 => b"\n\n",
                        _ => b"\n",
                    });
                }
                (out, delimiter)
            })
    }

    fn fingerprints() -> Fingerprints {
        Fingerprints::build(
            [
                PersonIdentifiers {
                    service_number: Some("P200001".into()),
                    forenames: Some("John".into()),
                    surname: Some("Smith".into()),
                    email: Some("john.smith@force.example".into()),
                },
                PersonIdentifiers {
                    service_number: Some("MX1234".into()),
                    forenames: Some("Siobhán".into()),
                    surname: Some("O'Brien".into()),
                    email: None,
                },
            ],
            [3; 32],
        )
    }

    /// The findings of a table scan, in an order that does not depend on
    /// a hash map's.
    fn findings(input: &[u8], delimiter: u8, fp: Option<&Fingerprints>, prefilter: bool, block: usize) -> Vec<String> {
        let (policy, limits) = (Policy::default(), Limits::default());
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut sink = Sink::new("t.csv".into(), &policy, fp, &limits, deadline, false);
        let since = Rc::new(Cell::new(0));
        if let Err(e) = table(&mut sink, input, delimiter, &since, prefilter, block) {
            return vec![format!("error: {e}")];
        }
        let mut out: Vec<String> = sink.finish().iter().map(|f| format!("{f:?}")).collect();
        out.sort();
        out
    }

    #[test]
    fn every_token_meant_to_be_found_is_found_in_a_table() {
        let fp = fingerprints();
        for t in TOKENS.iter().take(FOUND) {
            let input = format!("Notes,Ref\nx,y\nx,y\nx,y\nx,y\nx,y\nnothing,\"{t}\"\n");
            let found = findings(input.as_bytes(), b',', Some(&fp), true, BLOCK);
            assert!(!found.is_empty(), "{t} is found");
        }
    }

    #[test]
    fn a_release_sized_table_is_mostly_passed_over_yet_every_identifier_is_found() {
        let mut input = String::from("Incident,Date,Notes\n");
        for n in 0..5_000 {
            let note = if n % 500 == 7 { "contact AB123456C" } else { "officer attended at 12:30" };
            input.push_str(&format!("INC{n:08},2023-01-02,\"{note}\"\n"));
        }
        let fast = findings(input.as_bytes(), b',', None, true, 4096);
        assert_eq!(fast, findings(input.as_bytes(), b',', None, false, BLOCK));
        assert_eq!(fast.len(), 1);
        assert!(fast[0].contains("count: 10"), "{fast:?}");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(500))]

        /// The prefilter never hides a finding: a table's findings are the
        /// same with it and without it, with and without exact match, and
        /// wherever the reads cut the records.
        #[test]
        fn the_prefilter_never_hides_a_finding((input, delimiter) in csv_input(), block in 1usize..97) {
            let fp = fingerprints();
            for fp in [None, Some(&fp)] {
                let slow = findings(&input, delimiter, fp, false, BLOCK);
                prop_assert_eq!(&findings(&input, delimiter, fp, true, BLOCK), &slow);
                prop_assert_eq!(&findings(&input, delimiter, fp, true, block), &slow);
            }
        }
    }
}
