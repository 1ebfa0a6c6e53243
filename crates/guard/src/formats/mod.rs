//! The format readers, and the router that picks one by the file's first
//! bytes (never by its name alone: a renamed file is still what it is).
//! Every reader sends what it reads to the [`Sink`]; a file no reader can
//! open is an error, which the caller reports as uninspectable (exit 2).

pub mod docx;
pub mod image;
pub mod mail;
pub mod odf;
pub mod ole;
pub mod ooxml;
pub mod pdf;
pub(crate) mod records;
pub mod text;
pub mod xlsx;
pub(crate) mod xml;

use std::io::{BufReader, Read, Write};
use std::path::Path;

use crate::error::ScanError;
use crate::report::Part;
use crate::sink::Sink;

/// What a file is, by its first bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A ZIP container (OOXML, ODF, or an archive).
    Zip,
    /// An OLE2 compound file (legacy Office, or encrypted OOXML).
    Ole,
    /// PDF.
    Pdf,
    /// JPEG, PNG, TIFF, HEIC, WebP or GIF.
    Image,
    /// An email message (RFC 5322, MIME).
    Mail,
    /// Text (UTF-8, or UTF-16 with a byte-order mark).
    Text,
    /// Anything else.
    Binary,
}

/// Sniffs the first bytes.
pub fn sniff(head: &[u8]) -> Kind {
    let starts = |m: &[u8]| head.starts_with(m);
    if starts(b"PK\x03\x04") || starts(b"PK\x05\x06") {
        Kind::Zip
    } else if starts(&[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1]) {
        Kind::Ole
    } else if starts(b"%PDF-") {
        Kind::Pdf
    } else if starts(&[0xFF, 0xD8, 0xFF])
        || starts(b"\x89PNG\r\n\x1a\n")
        || starts(b"II*\0")
        || starts(b"MM\0*")
        || starts(b"GIF8")
        || (head.len() >= 12 && head.get(4..8) == Some(b"ftyp"))
        || (starts(b"RIFF") && head.get(8..12) == Some(b"WEBP"))
    {
        Kind::Image
    } else if !head.contains(&0) && mail::looks_like_mail(head) {
        Kind::Mail
    } else if starts(&[0xFF, 0xFE]) || starts(&[0xFE, 0xFF]) || !head.contains(&0) {
        Kind::Text
    } else {
        Kind::Binary
    }
}

/// What a file's name promises it holds, by its extension: the kinds its
/// content may sniff as. `None` for a name that promises nothing we check.
fn promised(name: &str) -> Option<&'static [Kind]> {
    let ext = name.rsplit_once('.')?.1.to_ascii_lowercase();
    Some(match ext.as_str() {
        // Encrypted OOXML is an OLE2 file holding the encrypted package.
        "xlsx" | "xlsm" | "docx" | "docm" | "pptx" => &[Kind::Zip, Kind::Ole],
        "ods" | "odt" | "odp" | "zip" => &[Kind::Zip],
        "xls" | "doc" | "ppt" => &[Kind::Ole],
        "pdf" => &[Kind::Pdf],
        "jpg" | "jpeg" | "png" | "gif" | "tif" | "tiff" | "heic" | "webp" => &[Kind::Image],
        _ => return None,
    })
}

/// A file whose content is not what its name says (an empty `.xlsx`, a
/// text file called `.pdf`) cannot be inspected as what it will be opened
/// as: never clear.
fn keeps_its_promise(name: &str, kind: Kind, len: u64) -> Result<(), ScanError> {
    let Some(kinds) = promised(name) else { return Ok(()) };
    if len == 0 {
        return Err(ScanError::Corrupt("the file is empty, though its name says it holds a document".into()));
    }
    if kinds.contains(&kind) {
        return Ok(());
    }
    let ext = name.rsplit_once('.').map(|(_, e)| e).unwrap_or_default();
    Err(ScanError::Corrupt(format!("its name says .{ext}, but it does not hold that format")))
}

/// Scans a file on disk. Text streams and a ZIP is read in place; other
/// formats are read whole, within the memory budget.
pub(crate) fn scan_path(sink: &mut Sink<'_>, path: &Path, name: &str) -> Result<(), ScanError> {
    scan_file(sink, std::fs::File::open(path)?, name)
}

/// Scans an open file from its start, as [`scan_path`] does.
pub(crate) fn scan_file(sink: &mut Sink<'_>, mut file: std::fs::File, name: &str) -> Result<(), ScanError> {
    std::io::Seek::rewind(&mut file)?;
    let len = file.metadata()?.len();
    let head = read_head(&mut file)?;
    let kind = sniff(&head);
    keeps_its_promise(name, kind, len)?;
    if streams_as_text(kind, &head) {
        if len > sink.limits().max_file_bytes {
            return Err(ScanError::TooLarge(format!("{len} bytes, more than the text limit")));
        }
        let reader = std::io::Cursor::new(head).chain(BufReader::with_capacity(1 << 20, file));
        return text::scan(sink, reader, name);
    }
    if kind == Kind::Zip {
        // Read in place: only the members being scanned are inflated.
        std::io::Seek::rewind(&mut file)?;
        return ooxml::scan(sink, Box::new(BufReader::with_capacity(1 << 16, file)), 0);
    }
    let bytes = whole(sink, head, &mut file)?;
    scan_bytes(sink, bytes, name, 0)
}

/// Scans a file read from a stream (a ZIP member), `depth` containers
/// down, holding no more of it than it must: text streams through the
/// detectors, a ZIP is spooled to an unnamed temporary file and read in
/// place, and only what must be parsed whole (a PDF, legacy Office, an
/// image, mail) is held, within the memory budget.
pub(crate) fn scan_stream(sink: &mut Sink<'_>, r: &mut dyn Read, name: &str, depth: u32) -> Result<(), ScanError> {
    if depth > sink.limits().max_depth {
        return Err(ScanError::TooLarge(format!("nested more than {} containers deep", sink.limits().max_depth)));
    }
    let head = read_head(r)?;
    let kind = sniff(&head);
    keeps_its_promise(name, kind, head.len() as u64)?;
    if streams_as_text(kind, &head) {
        let reader = std::io::Cursor::new(head).chain(BufReader::with_capacity(1 << 16, r));
        return text::scan(sink, reader, name);
    }
    if kind == Kind::Zip {
        let mut spool = tempfile::tempfile()?;
        spool.write_all(&head)?;
        let mut buf = vec![0u8; 1 << 20];
        loop {
            sink.tick()?;
            let n = r.read(&mut buf)?;
            if n == 0 {
                break;
            }
            spool.write_all(buf.get(..n).unwrap_or_default())?;
        }
        std::io::Seek::rewind(&mut spool)?;
        return ooxml::scan(sink, Box::new(BufReader::with_capacity(1 << 16, spool)), depth);
    }
    let bytes = whole(sink, head, r)?;
    scan_bytes(sink, bytes, name, depth)
}

/// Up to the first 8 KiB, for sniffing.
fn read_head(r: &mut dyn Read) -> Result<Vec<u8>, ScanError> {
    let mut head = vec![0u8; 8192];
    let mut filled = 0;
    while filled < head.len() {
        let n = r.read(head.get_mut(filled..).unwrap_or_default())?;
        if n == 0 {
            break;
        }
        filled += n;
    }
    head.truncate(filled);
    Ok(head)
}

/// UTF-8 text streams; UTF-16 (with its mark) is decoded whole.
fn streams_as_text(kind: Kind, head: &[u8]) -> bool {
    kind == Kind::Text && !head.starts_with(&[0xFF, 0xFE]) && !head.starts_with(&[0xFE, 0xFF])
}

/// The rest of a file after its `head`, read whole: at most the memory
/// budget, or the file is uninspectable (never half-read and cleared).
fn whole(sink: &Sink<'_>, head: Vec<u8>, rest: &mut dyn Read) -> Result<Vec<u8>, ScanError> {
    let budget = sink.limits().max_memory_bytes;
    // Reserved once: grown by doubling, the buffer would be copied into
    // one twice its size on the way (untouched pages of a reservation
    // cost no memory).
    let mut bytes = Vec::with_capacity(usize::try_from(budget).unwrap_or(usize::MAX).saturating_add(1));
    bytes.extend_from_slice(&head);
    rest.take((budget + 1).saturating_sub(bytes.len() as u64)).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > budget {
        return Err(crate::sink::over_budget(sink.limits(), "to read whole (it is not a format that streams)"));
    }
    Ok(bytes)
}

/// Scans a file held in memory; `depth` counts the containers around it.
pub(crate) fn scan_bytes(sink: &mut Sink<'_>, bytes: Vec<u8>, name: &str, depth: u32) -> Result<(), ScanError> {
    if depth > sink.limits().max_depth {
        return Err(ScanError::TooLarge(format!("nested more than {} containers deep", sink.limits().max_depth)));
    }
    if bytes.len() as u64 > sink.limits().max_memory_bytes {
        return Err(crate::sink::over_budget(sink.limits(), "to read whole"));
    }
    let head = bytes.get(..8192).unwrap_or(&bytes);
    let kind = sniff(head);
    keeps_its_promise(name, kind, bytes.len() as u64)?;
    match kind {
        Kind::Zip => ooxml::scan(sink, Box::new(std::io::Cursor::new(bytes)), depth),
        Kind::Ole => ole::scan(sink, bytes),
        Kind::Pdf => pdf::scan(sink, bytes),
        Kind::Image => image::scan(sink, &bytes),
        Kind::Mail => mail::scan(sink, &bytes, depth),
        Kind::Text => text::scan(sink, text::decoded(&bytes)?.as_slice(), name),
        Kind::Binary => Err(ScanError::Unsupported("a binary file of unknown type".into())),
    }
}

/// What cannot be read of a file found inside another is a finding of the
/// nested file, not a failure of the outer one; running out of time stops
/// the whole file.
fn inside<'a>(sink: &mut Sink<'a>, inner: Sink<'a>, scanned: Result<(), ScanError>) -> Result<(), ScanError> {
    let mut inner = inner;
    match scanned {
        Ok(()) => {}
        Err(e @ ScanError::Timeout(_)) => {
            sink.absorb(inner);
            return Err(e);
        }
        Err(e) => inner.uninspectable(&Part::named("(file)"), &e),
    }
    sink.absorb(inner);
    Ok(())
}

/// Scans a file found inside another, held in memory (a mail attachment).
pub(crate) fn nested(sink: &mut Sink<'_>, name: &str, bytes: Vec<u8>, depth: u32) -> Result<(), ScanError> {
    let mut inner = sink.nested(name);
    let scanned = scan_bytes(&mut inner, bytes, name, depth + 1);
    inside(sink, inner, scanned)
}

/// Scans a ZIP member as a file of its own, streamed from the archive.
pub(crate) fn nested_member(
    sink: &mut Sink<'_>,
    zip: &mut xml::Zip<'_>,
    name: &str,
    depth: u32,
) -> Result<(), ScanError> {
    let mut inner = sink.nested(name);
    let scanned = zip.with_member(&mut inner, name, |r, inner| scan_stream(inner, r, name, depth + 1));
    inside(sink, inner, scanned)
}

/// Runs a third-party reader (PDF, legacy Excel) on its own thread: a
/// panic becomes "corrupt", and a reader still busy at the file's deadline
/// is abandoned and the file called uninspectable. (Our own readers check
/// the deadline as they go; these cannot.)
pub(crate) fn isolated<T: Send + 'static>(
    sink: &Sink<'_>,
    f: impl FnOnce() -> Result<T, ScanError> + Send + 'static,
) -> Result<T, ScanError> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name("guard-reader".into())
        .spawn(move || {
            let out = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
            let _ = tx.send(out);
        })
        .map_err(ScanError::from)?;
    match rx.recv_timeout(sink.remaining()) {
        Ok(Ok(result)) => result,
        Ok(Err(_)) => Err(ScanError::Corrupt("the reader failed on this file".into())),
        Err(_) => Err(ScanError::Timeout(sink.limits().timeout.as_secs())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffing() {
        assert_eq!(sniff(b"PK\x03\x04rest"), Kind::Zip);
        assert_eq!(sniff(b"%PDF-1.7"), Kind::Pdf);
        assert_eq!(sniff(b"name,rank\n"), Kind::Text);
        assert_eq!(sniff(b"\x00\x01\x02"), Kind::Binary);
        assert_eq!(sniff(&[0xFF, 0xD8, 0xFF, 0xE0]), Kind::Image);
        assert_eq!(sniff(b"From: a@b.example\nDate: today\n\nhello"), Kind::Mail);
    }

    #[test]
    fn a_name_that_promises_a_format_the_content_lacks_cannot_be_inspected() {
        // Issue 20: a 0-byte .xlsx was reported clear.
        assert!(matches!(keeps_its_promise("reply.xlsx", Kind::Text, 0), Err(ScanError::Corrupt(_))));
        assert!(matches!(keeps_its_promise("reply.pdf", Kind::Text, 10), Err(ScanError::Corrupt(_))));
        assert!(matches!(keeps_its_promise("REPLY.XLSX", Kind::Pdf, 10), Err(ScanError::Corrupt(_))));
        // What the name promises, or no promise at all, goes on.
        assert!(keeps_its_promise("reply.xlsx", Kind::Zip, 10).is_ok());
        assert!(keeps_its_promise("locked.xlsx", Kind::Ole, 10).is_ok(), "encrypted OOXML is OLE2");
        assert!(keeps_its_promise("notes.txt", Kind::Text, 0).is_ok());
        assert!(keeps_its_promise("no-extension", Kind::Binary, 10).is_ok());
    }
}
