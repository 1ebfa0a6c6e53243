//! Text files: CSV and TSV as tables (headers, columns), everything else
//! (plain text, JSON, XML, HTML) line by line. Streamed, so memory does not
//! grow with the file: a record or line longer than [`MAX_RECORD`] is
//! refused rather than buffered.

use std::borrow::Cow;
use std::cell::Cell;
use std::io::{BufRead, BufReader, Read};
use std::rc::Rc;

use crate::error::ScanError;
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
        Some(d) => table(sink, reader, d, &since),
        None => lines(sink, reader, &since),
    }
}

fn table(sink: &mut Sink<'_>, reader: impl Read, delimiter: u8, since: &Rc<Cell<u64>>) -> Result<(), ScanError> {
    let part = Part::named("(table)");
    let mut csv = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .buffer_capacity(1 << 20)
        .from_reader(reader);
    let mut record = csv::ByteRecord::new();
    let mut table = Table::default();
    let mut row: u32 = 0;
    loop {
        sink.tick()?;
        match csv.read_byte_record(&mut record) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => {
                return Err(match e.into_kind() {
                    csv::ErrorKind::Io(io) => map_io(io),
                    other => ScanError::Corrupt(format!("CSV: {other:?}")),
                });
            }
        }
        since.set(0);
        // One UTF-8 check per record, not per field; a record that is not
        // UTF-8 is decoded field by field, lossily.
        let cells: Vec<(u32, Cow<'_, str>)> = match std::str::from_utf8(record.as_slice()) {
            Ok(all) => (0..record.len().min(16_384))
                .filter_map(|i| record.range(i).and_then(|r| all.get(r)).map(|t| (i as u32, t)))
                .filter(|(_, t)| !t.is_empty())
                .map(|(i, t)| (i, Cow::Borrowed(t)))
                .collect(),
            Err(_) => record
                .iter()
                .enumerate()
                .take(16_384)
                .filter(|(_, f)| !f.is_empty())
                .map(|(i, f)| (i as u32, String::from_utf8_lossy(f)))
                .collect(),
        };
        let refs: Vec<(u32, &str)> = cells.iter().map(|(c, t)| (*c, t.as_ref())).collect();
        sink.row(&mut table, &part, row, &refs, &|_| false);
        row = row.saturating_add(1);
    }
    Ok(())
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
