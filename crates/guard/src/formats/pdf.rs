//! PDF: the text layer of every page, and the document information
//! (author, title…). A PDF that needs a password, or that the reader cannot
//! parse, is uninspectable. What is drawn but not in the text layer (a
//! scanned page) is not read: there is no OCR here.

use crate::error::ScanError;
use crate::report::Part;
use crate::sink::{Loc, Sink};

/// Decompressed content per page at most.
const PAGE_LIMIT: usize = 16 << 20;

struct Content {
    pages: Vec<String>,
    info: Vec<(String, String)>,
}

/// The text of every page and the document information; more text than
/// `budget` bytes is over the memory a scan may hold.
fn extract(bytes: &[u8], budget: u64) -> Result<Content, ScanError> {
    let doc = lopdf::Document::load_mem(bytes).map_err(|e| match e {
        lopdf::Error::Decryption(_) | lopdf::Error::InvalidPassword => {
            ScanError::Encrypted("a password-protected PDF".into())
        }
        other => ScanError::Corrupt(format!("PDF: {}", short(&other.to_string()))),
    })?;
    if doc.is_encrypted() {
        return Err(ScanError::Encrypted("a password-protected PDF".into()));
    }
    let mut pages = Vec::new();
    let mut held = 0u64;
    for (n, _) in doc.get_pages() {
        let text = doc
            .extract_text_with_limit(&[n], PAGE_LIMIT)
            .map_err(|e| ScanError::Corrupt(format!("PDF page {n}: {}", short(&e.to_string()))))?;
        held += text.len() as u64;
        if held > budget {
            return Err(ScanError::TooLarge(format!(
                "more than {} MiB of text in its pages, past the memory a scan may use",
                budget >> 20
            )));
        }
        pages.push(text);
    }
    let mut info = Vec::new();
    if let Ok(dict) =
        doc.trailer.get(b"Info").and_then(lopdf::Object::as_reference).and_then(|id| doc.get_dictionary(id))
    {
        for key in ["Author", "Title", "Subject", "Keywords", "Creator"] {
            if let Ok(v) = dict.get(key.as_bytes()).and_then(lopdf::decode_text_string) {
                info.push((key.to_owned(), v));
            }
        }
    }
    Ok(Content { pages, info })
}

/// Library messages can quote the file; keep the reason, not the bytes.
fn short(message: &str) -> String {
    message.chars().filter(|c| !c.is_control()).take(80).collect()
}

pub(crate) fn scan(sink: &mut Sink<'_>, bytes: Vec<u8>) -> Result<(), ScanError> {
    let budget = sink.limits().max_memory_bytes;
    let content = super::isolated(sink, move || extract(&bytes, budget))?;
    for (i, text) in content.pages.iter().enumerate() {
        let part = Part::named(format!("page {}", i + 1));
        for (line_no, line) in text.lines().enumerate() {
            sink.tick()?;
            sink.text(&part, Some(Loc::line(line_no as u32)), line, "", false);
        }
    }
    let info = Part::named("document information");
    for (field, value) in &content.info {
        sink.metadata(&info, field, value);
    }
    Ok(())
}
