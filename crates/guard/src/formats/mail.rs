//! Email messages (`.eml`, RFC 5322 with MIME). An FOI reply often leaves
//! as an email, and its attachments are base64 inside the text: read as
//! plain text, a spreadsheet attached to it would pass unread. So the
//! message is parsed (mail-parser, on its own thread like the other
//! third-party readers), its bodies are scanned as text and every
//! attachment as a file of its own (`reply.eml!staff.xlsx`), nested
//! messages included.
//!
//! Address headers (From, To, Cc, Bcc, Reply-To, Sender) are reported as
//! metadata, not run through the detectors: every reply names its
//! requester, and that is not a disclosure. The subject is scanned.

use mail_parser::{MessageParser, MimeHeaders, PartType};

use crate::error::ScanError;
use crate::report::{Detector, Part};
use crate::sink::{Loc, Sink};

const ADDRESS_HEADERS: [&str; 6] = ["from", "to", "cc", "bcc", "reply-to", "sender"];

/// What a message holds, owned, so the parse can run on its own thread.
enum Piece {
    Address { field: String, value: String },
    Subject(String),
    Body { html: bool, text: String },
    File { name: String, bytes: Vec<u8> },
}

/// Whether text starts like an email: header lines up to a blank line,
/// among them at least two that every message has.
pub fn looks_like_mail(head: &[u8]) -> bool {
    let text = String::from_utf8_lossy(head.get(..4096).unwrap_or(head));
    let mut known = 0;
    let mut lines = 0;
    for line in text.lines() {
        if line.is_empty() {
            return lines >= 2 && known >= 2;
        }
        lines += 1;
        if line.starts_with([' ', '\t']) {
            continue;
        }
        if lines == 1 && line.starts_with("From ") {
            continue; // an mbox separator
        }
        let Some((name, _)) = line.split_once(':') else { return false };
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
            return false;
        }
        let name = name.to_ascii_lowercase();
        if matches!(
            name.as_str(),
            "from" | "to" | "subject" | "date" | "mime-version" | "message-id" | "received" | "return-path"
        ) {
            known += 1;
        }
    }
    false
}

fn pieces(bytes: Vec<u8>) -> Result<Vec<Piece>, ScanError> {
    let message = MessageParser::default()
        .parse(&bytes)
        .ok_or_else(|| ScanError::Corrupt("the email has no readable headers".into()))?;
    let mut out = Vec::new();
    for (name, value) in message.headers_raw() {
        let lower = name.to_ascii_lowercase();
        if ADDRESS_HEADERS.contains(&lower.as_str()) {
            out.push(Piece::Address { field: name.to_owned(), value: value.trim().to_owned() });
        }
    }
    if let Some(subject) = message.subject() {
        out.push(Piece::Subject(subject.to_owned()));
    }
    // Every part, the root included: a message that is a single PDF has
    // no sub-parts, and its one part must be read too.
    for (i, part) in message.parts.iter().enumerate() {
        let named = part.attachment_name().map(str::to_owned);
        match (&part.body, named) {
            (PartType::Multipart(_), _) => {}
            (PartType::Text(t), None) => out.push(Piece::Body { html: false, text: t.to_string() }),
            (PartType::Html(t), None) => out.push(Piece::Body { html: true, text: t.to_string() }),
            (PartType::Message(m), name) => out.push(Piece::File {
                name: name.unwrap_or_else(|| format!("message-{i}.eml")),
                bytes: m.raw_message().to_vec(),
            }),
            (_, name) => out.push(Piece::File {
                name: name.unwrap_or_else(|| format!("part-{i}")),
                bytes: part.contents().to_vec(),
            }),
        }
    }
    Ok(out)
}

/// Scans one email message; `depth` counts the containers around it.
pub(crate) fn scan(sink: &mut Sink<'_>, bytes: &[u8], depth: u32) -> Result<(), ScanError> {
    let owned = bytes.to_vec();
    let pieces = super::isolated(sink, move || pieces(owned))?;
    let headers = Part::named("(headers)");
    let mut bodies = 0;
    for piece in pieces {
        sink.tick()?;
        match piece {
            Piece::Address { field, value } => sink.envelope(&headers, &field, &value, Detector::Email),
            Piece::Subject(s) => sink.text(&headers, None, &s, "subject", false),
            Piece::Body { html, text } => {
                bodies += 1;
                let part = Part::named(if bodies == 1 { "(body)".to_owned() } else { format!("(body {bodies})") });
                let text = if html { strip_tags(&text) } else { text };
                for (n, line) in text.lines().enumerate() {
                    sink.text(&part, Some(Loc::line(u32::try_from(n).unwrap_or(u32::MAX))), line, "", false);
                }
            }
            Piece::File { name, bytes } => super::nested(sink, &name, bytes, depth)?,
        }
    }
    Ok(())
}

/// Text of an HTML body: tags dropped, entities for the usual characters
/// decoded. (A hidden element in an HTML email is still read.)
fn strip_tags(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => {
                in_tag = false;
                out.push(' ');
            }
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.replace("&nbsp;", " ").replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">").replace("&#64;", "@")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_looks_like_mail() {
        assert!(looks_like_mail(b"From: a@b.example\r\nTo: c@d.example\r\nSubject: x\r\n\r\nbody"));
        assert!(looks_like_mail(b"From x@y Mon Jan 1\nReceived: by host\n\tcontinued\nDate: today\n\nbody"));
        assert!(!looks_like_mail(b"Rank,Headcount\nConstable,6803\n"));
        assert!(!looks_like_mail(b"Subject: minutes\n\nonly one header"));
        assert!(!looks_like_mail(b"Note: this\nAgenda: that\n\nnot mail"));
        assert!(!looks_like_mail(b"From: a\nTo: b\nno blank line ends the headers"));
    }

    #[test]
    fn tags_go_and_text_stays() {
        assert_eq!(
            strip_tags("<p>Dear <b>Ms</b>&nbsp;Jones</p>").split_whitespace().collect::<Vec<_>>(),
            ["Dear", "Ms", "Jones"]
        );
    }
}
