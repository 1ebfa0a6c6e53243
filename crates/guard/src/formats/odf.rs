//! OpenDocument (ODS spreadsheets, ODT text) from the raw `content.xml` and
//! `meta.xml`: hidden sheets (a table style with `table:display="false"`),
//! collapsed and filtered rows and columns, white and tiny text, hidden
//! text and paragraphs, tracked deletions and insertions, and annotations.
//! A row or cell repeated N times is read once and counted N times.
//! Styles come from `styles.xml` (the common styles a user picks by name)
//! and `content.xml` (automatic ones), each through its parent chain: a
//! span styled "Secret" whose common style hides it is hidden text.

use std::collections::{HashMap, HashSet};

use quick_xml::events::{BytesStart, Event};

use super::xml::{Zip, ancestry, append_text, attr, each_event, local, reader, texts_of};
use crate::error::ScanError;
use crate::report::{Hidden, Part};
use crate::sink::{Loc, Sink, Table};

const CELL_CAP: usize = 64 * 1024;
const MAX_COLS: u32 = 16_384;

pub(crate) fn scan(sink: &mut Sink<'_>, zip: &mut Zip<'_>) -> Result<(), ScanError> {
    let styles =
        if zip.has("styles.xml") { zip.with_member(sink, "styles.xml", common_styles)? } else { Styles::default() };
    zip.with_member(sink, "content.xml", |r, sink| content(r, sink, styles))?;
    if zip.has("meta.xml") {
        let mut fields = Vec::new();
        zip.with_member(sink, "meta.xml", |r, sink| {
            texts_of(r, sink, |el, text| {
                if fields.len() < 10_000 {
                    fields.push((el.to_owned(), text.to_owned()));
                }
            })
        })?;
        let part = Part::named("meta.xml");
        for (field, value) in &fields {
            if matches!(
                field.as_str(),
                "initial-creator" | "creator" | "title" | "subject" | "description" | "keyword" | "user-defined"
            ) {
                sink.metadata(&part, field, value);
            }
        }
    }
    Ok(())
}

/// What the styles of this document hide.
#[derive(Default)]
struct Styles {
    hidden_tables: HashSet<String>,
    hidden_text: HashSet<String>,
    white: HashSet<String>,
    tiny: HashSet<String>,
    /// Style to the style it inherits from.
    parent: HashMap<String, String>,
}

impl Styles {
    /// Whether `name`, or a style it inherits from, is in `set`.
    fn has(&self, set: &HashSet<String>, name: &str) -> bool {
        ancestry(name, &self.parent).into_iter().any(|s| set.contains(s))
    }

    /// Notes a `style:style` element: its parent, and that it is the one
    /// whose properties follow.
    fn open(&mut self, e: &BytesStart<'_>) -> Option<String> {
        let name = attr(e, "name")?;
        if let Some(p) = attr(e, "parent-style-name") {
            self.parent.insert(name.clone(), p);
        }
        Some(name)
    }
}

/// The styles of `styles.xml`, common and automatic.
fn common_styles(r: &mut dyn std::io::Read, sink: &mut Sink<'_>) -> Result<Styles, ScanError> {
    let mut x = reader(r);
    let mut styles = Styles::default();
    let mut current: Option<String> = None;
    each_event(&mut x, sink, |_sink, ev| {
        match ev {
            Event::Start(e) if local(e) == "style" => current = styles.open(e),
            Event::Empty(e) if local(e) == "style" => {
                styles.open(e);
            }
            Event::Start(e) | Event::Empty(e) => {
                if let Some(name) = &current {
                    style_flags(e, &mut styles, name);
                }
            }
            Event::End(e) if AsRef::<str>::as_ref(&e.local_name()) == "style" => current = None,
            _ => {}
        }
        Ok(())
    })?;
    Ok(styles)
}

/// Where the reader is.
#[derive(Default)]
struct State {
    styles: Styles,
    style_name: Option<String>,
    // Spreadsheet.
    table: Option<(Part, bool)>,
    tables: Table,
    row: u32,
    row_repeat: u32,
    row_hidden: Option<Hidden>,
    col: u32,
    hidden_cols: Vec<(u32, u32)>,
    cells: Vec<(u32, String, Option<Hidden>)>,
    cell: Option<(u32, u32, Option<Hidden>, String)>,
    hidden_rows: u64,
    filtered_rows: u64,
    hidden_col_cells: u64,
    styled: [u64; 2],
    content_cells: u64,
    // Text.
    para: String,
    /// Text of hidden spans in the current paragraph.
    para_vanished: String,
    para_hidden: Option<Hidden>,
    line: u32,
    span_stack: Vec<bool>,
    in_annotation: u32,
    in_deletion: u32,
    annotation: String,
    tracked_insertions: u64,
}

fn style_flags(e: &BytesStart<'_>, styles: &mut Styles, name: &str) {
    match local(e).as_str() {
        "table-properties" if attr(e, "display").as_deref() == Some("false") => {
            styles.hidden_tables.insert(name.to_owned());
        }
        "text-properties" => {
            if attr(e, "display").as_deref() == Some("none") {
                styles.hidden_text.insert(name.to_owned());
            }
            if attr(e, "color").is_some_and(|c| c.eq_ignore_ascii_case("#ffffff")) {
                styles.white.insert(name.to_owned());
            }
            let size = attr(e, "font-size").and_then(|s| s.trim_end_matches("pt").parse::<f64>().ok());
            if size.is_some_and(|s| s < 4.0) {
                styles.tiny.insert(name.to_owned());
            }
        }
        _ => {}
    }
}

fn repeat(e: &BytesStart<'_>, name: &str) -> u32 {
    attr(e, name).and_then(|v| v.parse::<u32>().ok()).unwrap_or(1).max(1)
}

fn content(r: &mut dyn std::io::Read, sink: &mut Sink<'_>, styles: Styles) -> Result<(), ScanError> {
    let mut x = reader(r);
    let mut s = State { styles, ..State::default() };
    each_event(&mut x, sink, |sink, ev| {
        match ev {
            Event::Start(e) | Event::Empty(e) => {
                let empty = matches!(ev, Event::Empty(_));
                let name = local(e);
                if let Some(style) = s.style_name.clone() {
                    style_flags(e, &mut s.styles, &style);
                }
                match name.as_str() {
                    "style" => {
                        let opened = s.styles.open(e);
                        if !empty {
                            s.style_name = opened;
                        }
                    }
                    "table" if !empty => {
                        let table_name = attr(e, "name").unwrap_or_default();
                        let hidden = attr(e, "style-name").is_some_and(|st| s.styles.has(&s.styles.hidden_tables, &st));
                        let state = if hidden { "hidden" } else { "visible" };
                        s.table = Some((Part { name: table_name, state: Some(state.into()) }, hidden));
                        s.tables = Table::default();
                        s.row = 0;
                        s.hidden_cols.clear();
                        s.content_cells = 0;
                        s.col = 0;
                    }
                    "table-column" => {
                        let n = repeat(e, "number-columns-repeated");
                        let end = s.col.saturating_add(n).min(MAX_COLS);
                        if matches!(attr(e, "visibility").as_deref(), Some("collapse" | "filter")) {
                            s.hidden_cols.push((s.col, end.saturating_sub(1)));
                        }
                        s.col = end;
                    }
                    "table-row" => {
                        s.row_repeat = repeat(e, "number-rows-repeated");
                        s.row_hidden = match attr(e, "visibility").as_deref() {
                            Some("collapse") => Some(Hidden::HiddenRows),
                            Some("filter") => Some(Hidden::FilteredRows),
                            _ => None,
                        };
                        s.col = 0;
                        s.cells.clear();
                        if empty {
                            s.row = s.row.saturating_add(s.row_repeat);
                        }
                    }
                    "table-cell" | "covered-table-cell" => {
                        let n = repeat(e, "number-columns-repeated");
                        let style = attr(e, "style-name").unwrap_or_default();
                        let styled = if s.styles.has(&s.styles.white, &style) {
                            Some(Hidden::WhiteText)
                        } else if s.styles.has(&s.styles.tiny, &style) {
                            Some(Hidden::TinyText)
                        } else {
                            None
                        };
                        if empty {
                            s.col = s.col.saturating_add(n).min(MAX_COLS);
                        } else {
                            s.cell = Some((s.col, n, styled, String::new()));
                        }
                    }
                    "annotation" if !empty => s.in_annotation += 1,
                    "deletion" if !empty => s.in_deletion += 1,
                    "change-start" => s.tracked_insertions += 1,
                    "span" if !empty => {
                        let hidden = attr(e, "style-name").is_some_and(|st| s.styles.has(&s.styles.hidden_text, &st));
                        s.span_stack.push(hidden);
                    }
                    "hidden-text" | "hidden-paragraph" => {
                        if let Some(v) = attr(e, "string-value") {
                            let part = Part::named("content.xml");
                            sink.hidden(&part, Hidden::HiddenText, 1, Some(Loc::line(s.line)), None);
                            sink.text(&part, Some(Loc::line(s.line)), &v, "", true);
                        }
                        if name == "hidden-paragraph" {
                            s.para_hidden = Some(Hidden::HiddenText);
                        }
                    }
                    "p" | "h" if !empty => {
                        s.para.clear();
                        if attr(e, "style-name").is_some_and(|st| s.styles.has(&s.styles.hidden_text, &st)) {
                            s.para_hidden = Some(Hidden::HiddenText);
                        }
                    }
                    "s" | "tab" | "line-break" => s.para.push(' '),
                    _ => {}
                }
            }
            Event::End(e) => {
                let n = e.local_name();
                let name: &str = n.as_ref();
                match name {
                    "style" => s.style_name = None,
                    "span" => {
                        s.span_stack.pop();
                    }
                    "annotation" => {
                        s.in_annotation = s.in_annotation.saturating_sub(1);
                        if s.in_annotation == 0 {
                            let part = s.table.as_ref().map_or_else(|| Part::named("content.xml"), |t| t.0.clone());
                            sink.hidden(&part, Hidden::Comments, 1, None, None);
                            let text = std::mem::take(&mut s.annotation);
                            sink.text(&part, None, &text, "comment", true);
                        }
                    }
                    "deletion" => s.in_deletion = s.in_deletion.saturating_sub(1),
                    "p" | "h" => end_paragraph(sink, &mut s),
                    "table-cell" | "covered-table-cell" => {
                        if let Some((col, n, styled, text)) = s.cell.take() {
                            if !text.trim().is_empty() && s.cells.len() < MAX_COLS as usize {
                                s.cells.push((col, text, styled));
                            }
                            s.col = col.saturating_add(n).min(MAX_COLS);
                        }
                    }
                    "table-row" => end_row(sink, &mut s),
                    "table" => end_table(sink, &mut s),
                    _ => {}
                }
            }
            other => {
                if s.in_annotation > 0 {
                    append_text(other, &mut s.annotation, CELL_CAP);
                } else if s.span_stack.iter().any(|h| *h) {
                    append_text(other, &mut s.para_vanished, CELL_CAP);
                } else {
                    append_text(other, &mut s.para, CELL_CAP);
                }
            }
        }
        Ok(())
    })?;
    if s.tracked_insertions > 0 {
        sink.hidden(&Part::named("content.xml"), Hidden::TrackedInsertion, s.tracked_insertions, None, None);
    }
    Ok(())
}

fn end_paragraph(sink: &mut Sink<'_>, s: &mut State) {
    if s.in_annotation > 0 {
        s.annotation.push(' ');
        return;
    }
    let text = std::mem::take(&mut s.para);
    let vanished = std::mem::take(&mut s.para_vanished);
    let hidden = if s.in_deletion > 0 { Some(Hidden::TrackedDeletion) } else { s.para_hidden.take() };
    s.para_hidden = None;
    if !vanished.trim().is_empty() {
        let part = s.table.as_ref().map_or_else(|| Part::named("content.xml"), |t| t.0.clone());
        sink.hidden(&part, Hidden::HiddenText, 1, Some(Loc::line(s.line)), None);
        sink.text(&part, Some(Loc::line(s.line)), &vanished, "", true);
    }
    if let Some((col, _, _, cell)) = s.cell.as_mut() {
        // Inside a spreadsheet cell: the paragraph is (part of) its text.
        let _ = col;
        if !cell.is_empty() {
            cell.push(' ');
        }
        cell.push_str(&text);
        return;
    }
    let part = Part::named("content.xml");
    let at = Some(Loc::line(s.line));
    s.line = s.line.saturating_add(1);
    if text.trim().is_empty() {
        return;
    }
    if let Some(kind) = hidden {
        sink.hidden(&part, kind, 1, at, None);
    }
    sink.text(&part, at, &text, "", hidden.is_some());
}

fn end_row(sink: &mut Sink<'_>, s: &mut State) {
    let Some((part, sheet_hidden)) = s.table.clone() else { return };
    let cells = std::mem::take(&mut s.cells);
    if !cells.is_empty() {
        let repeats = u64::from(s.row_repeat);
        s.content_cells += cells.len() as u64 * repeats;
        match s.row_hidden {
            Some(Hidden::FilteredRows) => s.filtered_rows += repeats,
            Some(_) => s.hidden_rows += repeats,
            None => {}
        }
        let hidden_cols = s.hidden_cols.clone();
        let col_hidden = move |c: u32| hidden_cols.iter().any(|(a, b)| (*a..=*b).contains(&c));
        for (c, _, styled) in &cells {
            if col_hidden(*c) {
                s.hidden_col_cells += repeats;
            }
            match styled {
                Some(Hidden::WhiteText) => s.styled[0] += repeats,
                Some(Hidden::TinyText) => s.styled[1] += repeats,
                _ => {}
            }
        }
        let refs: Vec<(u32, &str)> = cells.iter().map(|(c, t, _)| (*c, t.as_str())).collect();
        let styled_cols: Vec<u32> = cells.iter().filter(|(_, _, st)| st.is_some()).map(|(c, _, _)| *c).collect();
        let row_hidden = s.row_hidden.is_some();
        let hidden = |c: u32| sheet_hidden || row_hidden || col_hidden(c) || styled_cols.contains(&c);
        sink.row(&mut s.tables, &part, s.row, &refs, &hidden);
    }
    s.row = s.row.saturating_add(s.row_repeat);
    s.row_hidden = None;
}

fn end_table(sink: &mut Sink<'_>, s: &mut State) {
    let Some((part, sheet_hidden)) = s.table.take() else { return };
    if sheet_hidden && s.content_cells > 0 {
        sink.hidden(&part, Hidden::HiddenSheet, s.content_cells, None, None);
    }
    for (n, kind) in [
        (std::mem::take(&mut s.hidden_rows), Hidden::HiddenRows),
        (std::mem::take(&mut s.filtered_rows), Hidden::FilteredRows),
        (std::mem::take(&mut s.hidden_col_cells), Hidden::HiddenColumns),
        (std::mem::take(&mut s.styled[0]), Hidden::WhiteText),
        (std::mem::take(&mut s.styled[1]), Hidden::TinyText),
    ] {
        if n > 0 {
            sink.hidden(&part, kind, n, None, None);
        }
    }
}
