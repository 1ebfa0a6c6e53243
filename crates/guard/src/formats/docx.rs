//! Word documents (docx, docm): body, headers, footers, footnotes,
//! endnotes and comments, with tracked insertions and deletions, hidden
//! (`w:vanish`), white and tiny text told apart from what a reader sees.
//! Tables are read as tables, so a table of people is found as one.

use std::collections::HashMap;

use quick_xml::events::Event;

use super::xml::{Zip, ancestry, append_text, attr, each_event, local, reader};
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
    let styles = if zip.has("word/styles.xml") { styles(sink, zip)? } else { HashMap::new() };
    for name in zip.names()? {
        if let Some(visible) = text_part(&name) {
            scan_part(sink, zip, &name, visible, &styles)?;
        }
    }
    Ok(())
}

/// What each paragraph and character style hides (`w:vanish`, white, tiny
/// in its run properties), through `w:basedOn` chains: text can be hidden
/// by a style as well as directly.
fn styles(sink: &mut Sink<'_>, zip: &mut Zip<'_>) -> Result<HashMap<String, RunFlags>, ScanError> {
    let (own, based) = zip.with_member(sink, "word/styles.xml", |r, sink| {
        let mut x = reader(r);
        let mut own: HashMap<String, RunFlags> = HashMap::new();
        let mut based: HashMap<String, String> = HashMap::new();
        let mut current: Option<String> = None;
        let mut in_rpr = false;
        each_event(&mut x, sink, |_sink, ev| {
            match ev {
                Event::Start(e) | Event::Empty(e) => {
                    let empty = matches!(ev, Event::Empty(_));
                    match local(e).as_str() {
                        "style" if !empty => current = attr(e, "styleId"),
                        "basedOn" => {
                            if let (Some(id), Some(parent)) = (current.clone(), attr(e, "val")) {
                                based.insert(id, parent);
                            }
                        }
                        "rPr" if !empty => in_rpr = true,
                        name if in_rpr => {
                            if let Some(id) = &current {
                                let flags = own.entry(id.clone()).or_default();
                                apply(name, e, flags);
                            }
                        }
                        _ => {}
                    }
                }
                Event::End(e) => match e.local_name().as_ref() {
                    "style" => current = None,
                    "rPr" => in_rpr = false,
                    _ => {}
                },
                _ => {}
            }
            Ok(())
        })?;
        Ok((own, based))
    })?;
    let mut resolved = HashMap::new();
    for id in own.keys().chain(based.keys()) {
        let mut flags = RunFlags::default();
        // Farthest first, so a style can undo what it is based on.
        for s in ancestry(id, &based).into_iter().rev() {
            if let Some(f) = own.get(s) {
                flags = flags.overlay(*f);
            }
        }
        resolved.insert(id.clone(), flags);
    }
    Ok(resolved)
}

/// Sets `flags` from one run-property element.
fn apply(name: &str, e: &quick_xml::events::BytesStart<'_>, flags: &mut RunFlags) {
    let on = || !matches!(attr(e, "val").as_deref(), Some("0" | "false"));
    match name {
        "vanish" | "specVanish" => flags.vanish = Some(on()),
        "color" => flags.white = Some(attr(e, "val").is_some_and(|v| v.eq_ignore_ascii_case("FFFFFF"))),
        // Half-points: under 8 is under 4pt.
        "sz" => flags.tiny = Some(attr(e, "val").and_then(|v| v.parse::<u32>().ok()).is_some_and(|v| v < 8)),
        _ => {}
    }
}

/// What a run hides; `None` where nothing says (so a style underneath
/// decides).
#[derive(Clone, Copy, Default)]
struct RunFlags {
    vanish: Option<bool>,
    white: Option<bool>,
    tiny: Option<bool>,
}

impl RunFlags {
    /// `top` where it says something, `self` elsewhere.
    fn overlay(self, top: RunFlags) -> RunFlags {
        RunFlags { vanish: top.vanish.or(self.vanish), white: top.white.or(self.white), tiny: top.tiny.or(self.tiny) }
    }
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

fn scan_part(
    sink: &mut Sink<'_>,
    zip: &mut Zip<'_>,
    name: &str,
    visible_part: bool,
    styles: &HashMap<String, RunFlags>,
) -> Result<(), ScanError> {
    let part = Part::named(name);
    zip.with_member(sink, name, |r, sink| {
        let mut x = reader(r);
        let mut para = Para::default();
        let mut run = RunFlags::default();
        // The paragraph style's run properties, under every run's own.
        let mut para_style = RunFlags::default();
        let mut in_ppr = false;
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
        each_event(&mut x, sink, |sink, ev| {
            match ev {
                Event::Start(e) | Event::Empty(e) => {
                    let empty = matches!(ev, Event::Empty(_));
                    match local(e).as_str() {
                        "ins" if !empty => ins_depth += 1,
                        "del" if !empty => del_depth += 1,
                        "r" if !empty => run = para_style,
                        "pPr" if !empty => in_ppr = true,
                        "pStyle" if in_ppr => {
                            para_style = attr(e, "val").and_then(|v| styles.get(&v).copied()).unwrap_or_default()
                        }
                        "rPr" if !empty && !in_ppr => in_rpr = true,
                        "rStyle" if in_rpr => {
                            if let Some(f) = attr(e, "val").and_then(|v| styles.get(&v).copied()) {
                                run = run.overlay(f);
                            }
                        }
                        other if in_rpr => apply(other, e, &mut run),
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
                        "pPr" => in_ppr = false,
                        "t" | "delText" | "instrText" => in_text = false,
                        "p" => {
                            para_style = RunFlags::default();
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
                other if in_text => {
                    let target = if del_depth > 0 {
                        &mut para.deleted
                    } else if run.vanish == Some(true) {
                        &mut para.vanish
                    } else if ins_depth > 0 {
                        &mut para.inserted
                    } else if run.white == Some(true) {
                        &mut para.white
                    } else if run.tiny == Some(true) {
                        &mut para.tiny
                    } else {
                        &mut para.visible
                    };
                    append_text(other, target, PARA_CAP);
                    // Inserted text is also what the reader sees, once accepted.
                    if ins_depth > 0 && del_depth == 0 && run.vanish != Some(true) {
                        append_text(other, &mut para.visible, PARA_CAP);
                    }
                }
                _ => {}
            }
            Ok(())
        })?;
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
