//! Word documents (docx, docm): body, headers, footers, footnotes,
//! endnotes and comments, with tracked insertions and deletions, hidden
//! (`w:vanish`), white and tiny text told apart from what a reader sees.
//! Tables are read as tables, so a table of people is found as one.

use quick_xml::events::Event;

use super::xml::{Zip, append_text, attr, local, reader, xml_error};
use crate::error::ScanError;
use crate::report::{Hidden, Part};
use crate::sink::{Loc, Sink, Table};

const PARA_CAP: usize = 1 << 20;

/// Which parts of a document hold text, and whether a reader sees them.
fn text_part(name: &str) -> Option<bool> {
    let lower = name.to_ascii_lowercase();
    let rest = lower.strip_prefix("word/")?;
    if rest.contains('/') || !rest.ends_with(".xml") {
        return None;
    }
    let seen = ["header", "footer", "footnotes", "endnotes"];
    if rest == "document.xml" || seen.iter().any(|p| rest.starts_with(p)) {
        Some(true)
    } else if rest == "comments.xml" || rest.starts_with("commentsextended") || rest.starts_with("commentsextensible") {
        Some(false)
    } else {
        None
    }
}

pub(crate) fn scan(sink: &mut Sink<'_>, zip: &mut Zip<'_>) -> Result<(), ScanError> {
    if !zip.has("word/document.xml") {
        return Err(ScanError::Corrupt("no word/document.xml".into()));
    }
    for name in zip.names()? {
        if let Some(visible) = text_part(&name) {
            scan_part(sink, zip, &name, visible)?;
        }
    }
    Ok(())
}

/// What the run being read hides.
#[derive(Clone, Copy, Default)]
struct RunFlags {
    vanish: bool,
    white: bool,
    tiny: bool,
}

/// A paragraph's text, split by how visible it is.
#[derive(Default)]
struct Para {
    visible: String,
    inserted: String,
    deleted: String,
    vanish: String,
    white: String,
    tiny: String,
}

fn scan_part(sink: &mut Sink<'_>, zip: &mut Zip<'_>, name: &str, visible_part: bool) -> Result<(), ScanError> {
    let part = Part::named(name);
    zip.with_member(sink, name, |r, sink| {
        let mut x = reader(r);
        let mut buf = Vec::new();
        let mut para = Para::default();
        let mut run = RunFlags::default();
        let mut in_rpr = false;
        let mut in_text = false;
        let mut ins_depth = 0u32;
        let mut del_depth = 0u32;
        let mut line = 0u32;
        let mut comments = 0u64;
        // Tables: the top-level table's current row and cell.
        let mut tbl_depth = 0u32;
        let mut table = Table::default();
        let mut row: Vec<String> = Vec::new();
        let mut cell = String::new();
        let mut table_row = 0u32;
        let mut counts = [0u64; 5];
        loop {
            sink.tick()?;
            let ev = x.read_event_into(&mut buf).map_err(xml_error)?;
            match &ev {
                Event::Start(e) | Event::Empty(e) => {
                    let empty = matches!(ev, Event::Empty(_));
                    match local(e).as_str() {
                        "ins" if !empty => ins_depth += 1,
                        "del" if !empty => del_depth += 1,
                        "r" if !empty => run = RunFlags::default(),
                        "rPr" if !empty => in_rpr = true,
                        "vanish" | "specVanish" if in_rpr => {
                            run.vanish = !matches!(attr(e, "val").as_deref(), Some("0" | "false"))
                        }
                        "color" if in_rpr => {
                            run.white = attr(e, "val").is_some_and(|v| v.eq_ignore_ascii_case("FFFFFF"))
                        }
                        "sz" if in_rpr => {
                            // Half-points: under 8 is under 4pt.
                            run.tiny = attr(e, "val").and_then(|v| v.parse::<u32>().ok()).is_some_and(|v| v < 8)
                        }
                        "t" | "delText" | "instrText" if !empty => in_text = true,
                        "tab" | "br" | "cr" => para.visible.push(' '),
                        "comment" if !empty => comments += 1,
                        "tbl" if !empty => tbl_depth += 1,
                        "tr" if tbl_depth == 1 => row.clear(),
                        "tc" if tbl_depth == 1 => cell.clear(),
                        _ => {}
                    }
                }
                Event::End(e) => {
                    let n = e.local_name();
                    match n.as_ref() {
                        "ins" => ins_depth = ins_depth.saturating_sub(1),
                        "del" => del_depth = del_depth.saturating_sub(1),
                        "rPr" => in_rpr = false,
                        "t" | "delText" | "instrText" => in_text = false,
                        "p" => {
                            line += 1;
                            if tbl_depth == 1 {
                                if !cell.is_empty() {
                                    cell.push(' ');
                                }
                                cell.push_str(para.visible.trim());
                            }
                            let send = (tbl_depth == 0).then_some(!visible_part);
                            flush(sink, &part, &mut para, line, send, &mut counts);
                        }
                        "tc" if tbl_depth == 1 => row.push(std::mem::take(&mut cell)),
                        "tr" if tbl_depth == 1 => {
                            let cells: Vec<(u32, &str)> =
                                row.iter().enumerate().map(|(i, c)| (i as u32, c.as_str())).collect();
                            sink.row(&mut table, &part, table_row, &cells, &|_| !visible_part);
                            table_row += 1;
                        }
                        "tbl" => {
                            tbl_depth = tbl_depth.saturating_sub(1);
                            if tbl_depth == 0 {
                                table = Table::default();
                            }
                        }
                        _ => {}
                    }
                }
                Event::Eof => break,
                other if in_text => {
                    let target = if del_depth > 0 {
                        &mut para.deleted
                    } else if run.vanish {
                        &mut para.vanish
                    } else if ins_depth > 0 {
                        &mut para.inserted
                    } else if run.white {
                        &mut para.white
                    } else if run.tiny {
                        &mut para.tiny
                    } else {
                        &mut para.visible
                    };
                    append_text(other, target, PARA_CAP);
                    // Inserted text is also what the reader sees, once accepted.
                    if ins_depth > 0 && del_depth == 0 && !run.vanish {
                        append_text(other, &mut para.visible, PARA_CAP);
                    }
                }
                _ => {}
            }
            buf.clear();
        }
        flush(sink, &part, &mut para, line + 1, Some(!visible_part), &mut counts);
        let kinds = [
            Hidden::TrackedInsertion,
            Hidden::TrackedDeletion,
            Hidden::HiddenText,
            Hidden::WhiteText,
            Hidden::TinyText,
        ];
        for (n, kind) in counts.into_iter().zip(kinds) {
            if n > 0 {
                sink.hidden(&part, kind, n, None, None);
            }
        }
        if comments > 0 {
            sink.hidden(&part, Hidden::Comments, comments, None, None);
        }
        Ok(())
    })
}

/// Sends a paragraph's text on: the visible part (unless it travels with
/// its table row) marked `in_hidden` as given, each hidden part as hidden
/// content.
fn flush(sink: &mut Sink<'_>, part: &Part, para: &mut Para, line: u32, visible: Option<bool>, counts: &mut [u64; 5]) {
    let at = Some(Loc::line(line.saturating_sub(1)));
    if let Some(in_hidden) = visible {
        sink.text(part, at, &para.visible, "", in_hidden);
    }
    for (i, text) in [&para.inserted, &para.deleted, &para.vanish, &para.white, &para.tiny].into_iter().enumerate() {
        if !text.trim().is_empty() {
            if let Some(c) = counts.get_mut(i) {
                *c += 1;
            }
            // Inserted text was already scanned with the visible text.
            if i != 0 {
                sink.text(part, at, text, "", true);
            }
        }
    }
    *para = Para::default();
}
