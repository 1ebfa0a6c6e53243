//! Excel workbooks (xlsx, xlsm) read from their raw parts, because a
//! higher-level reader hides exactly what matters here: sheet states,
//! hidden and zero-size rows and columns, autofilters, `;;;` formats, white
//! and tiny fonts, pivot caches, chart caches, defined names, data models,
//! external links and connections. Sheets are streamed; only the shared
//! strings table is held whole (every reader must).

use std::collections::HashMap;

use quick_xml::events::Event;

use super::xml::{Zip, append_text, attr, each_attribute, each_event, local, reader, texts_of};
use crate::error::ScanError;
use crate::report::{Hidden, Part};
use crate::sink::{Loc, Sink, Table};

/// What a cell style hides.
#[derive(Clone, Copy, Debug, Default)]
struct StyleFlags {
    invisible_format: bool,
    white: bool,
    tiny: bool,
}

impl StyleFlags {
    fn any(self) -> bool {
        self.invisible_format || self.white || self.tiny
    }
}

/// Longest cell text passed to the detectors.
const CELL_CAP: usize = 64 * 1024;
/// Excel's column count.
const MAX_COLS: u32 = 16_384;

pub(crate) fn scan(sink: &mut Sink<'_>, zip: &mut Zip<'_>) -> Result<(), ScanError> {
    let rels = relationships(sink, zip, "xl/_rels/workbook.xml.rels", "xl/")?;
    let (sheets, names) = workbook(sink, zip)?;
    let styles = if zip.has("xl/styles.xml") { styles(sink, zip)? } else { Vec::new() };
    let shared = if zip.has("xl/sharedStrings.xml") { shared_strings(sink, zip)? } else { Vec::new() };

    let wb = Part::named("xl/workbook.xml");
    for (name, hidden, value) in &names {
        // Print areas and filter ranges are Excel's own; user names can
        // hold anything, and hidden ones are meant not to be seen.
        if name.starts_with("_xlnm.") && !hidden {
            continue;
        }
        sink.hidden(&wb, Hidden::DefinedNames, 1, None, hidden.then(|| "hidden names".to_owned()));
        sink.text(&wb, None, value, name, true);
    }
    for sheet in &sheets {
        let Some(target) = rels.get(&sheet.rel) else { continue };
        if !zip.has(target) {
            return Err(ScanError::Corrupt(format!("sheet part {target} is missing")));
        }
        if target.contains("chartsheets/") {
            continue;
        }
        scan_sheet(sink, zip, target, sheet, &shared, &styles)?;
    }
    for name in zip.names()? {
        let lower = name.to_ascii_lowercase();
        let part = Part::named(name.clone());
        if lower.starts_with("xl/comments") && lower.ends_with(".xml") {
            comments(sink, zip, &name, "t")?;
        } else if lower.starts_with("xl/threadedcomments/") && lower.ends_with(".xml") {
            comments(sink, zip, &name, "text")?;
        } else if lower.starts_with("xl/persons/") && lower.ends_with(".xml") {
            zip.with_member(sink, &name, |r, sink| attributes_as_metadata(r, sink, &part, &["displayName"]))?;
        } else if lower.starts_with("xl/pivotcache/pivotcachedefinition") && lower.ends_with(".xml") {
            pivot_cache(sink, zip, &name)?;
        } else if lower.starts_with("xl/charts/chart") && lower.ends_with(".xml") {
            let mut values = Vec::new();
            zip.with_member(sink, &name, |r, sink| {
                texts_of(r, sink, |el, text| {
                    if el == "v" && values.len() < 100_000 {
                        values.push(text.to_owned());
                    }
                })
            })?;
            for v in &values {
                sink.text(&part, None, v, "", true);
            }
            if !values.is_empty() {
                sink.hidden(&part, Hidden::ChartCache, values.len() as u64, None, Some("cached chart values".into()));
            }
        } else if lower.starts_with("xl/model/") {
            sink.hidden(
                &part,
                Hidden::DataModel,
                1,
                None,
                Some("a Power Pivot data model; its binary content is not read".into()),
            );
        } else if lower.starts_with("xl/externallinks/") && lower.ends_with(".xml") {
            let mut values = Vec::new();
            zip.with_member(sink, &name, |r, sink| {
                texts_of(r, sink, |_, text| {
                    if values.len() < 100_000 {
                        values.push(text.to_owned());
                    }
                })
            })?;
            sink.hidden(&part, Hidden::ExternalLinks, 1, None, Some(format!("{} cached values", values.len())));
            for v in &values {
                sink.text(&part, None, v, "", true);
            }
        } else if lower == "xl/connections.xml" {
            zip.with_member(sink, &name, |r, sink| {
                attributes_scanned(r, sink, &part, Hidden::Connections, &["connection", "command", "name"])
            })?;
        }
    }
    Ok(())
}

struct SheetRef {
    name: String,
    state: String,
    rel: String,
}

type DefinedName = (String, bool, String);

/// `Id` → part path, from a relationships part.
pub(crate) fn relationships(
    sink: &mut Sink<'_>,
    zip: &mut Zip<'_>,
    rels: &str,
    base: &str,
) -> Result<HashMap<String, String>, ScanError> {
    let mut map = HashMap::new();
    if !zip.has(rels) {
        return Ok(map);
    }
    zip.with_member(sink, rels, |r, sink| {
        let mut x = reader(r);
        each_event(&mut x, sink, |_sink, ev| {
            match ev {
                Event::Start(e) | Event::Empty(e) if local(e) == "Relationship" => {
                    if let (Some(id), Some(target)) = (attr(e, "Id"), attr(e, "Target")) {
                        let path = match target.strip_prefix('/') {
                            Some(abs) => abs.to_owned(),
                            None => resolve(base, &target),
                        };
                        map.insert(id, path);
                    }
                }
                _ => {}
            }
            Ok(())
        })?;
        Ok(())
    })?;
    Ok(map)
}

/// `xl/` + `../customXml/item1.xml` → `customXml/item1.xml`.
fn resolve(base: &str, target: &str) -> String {
    let mut parts: Vec<&str> = base.split('/').filter(|p| !p.is_empty()).collect();
    for seg in target.split('/') {
        match seg {
            ".." => {
                parts.pop();
            }
            "." | "" => {}
            s => parts.push(s),
        }
    }
    parts.join("/")
}

fn workbook(sink: &mut Sink<'_>, zip: &mut Zip<'_>) -> Result<(Vec<SheetRef>, Vec<DefinedName>), ScanError> {
    zip.with_member(sink, "xl/workbook.xml", |r, sink| {
        let mut x = reader(r);
        let mut sheets = Vec::new();
        let mut names = Vec::new();
        let mut current: Option<(String, bool, String)> = None;
        each_event(&mut x, sink, |_sink, ev| {
            match ev {
                Event::Start(e) | Event::Empty(e) if local(e) == "sheet" => sheets.push(SheetRef {
                    name: attr(e, "name").unwrap_or_default(),
                    state: attr(e, "state").unwrap_or_else(|| "visible".into()),
                    rel: attr(e, "id").unwrap_or_default(),
                }),
                Event::Start(e) if local(e) == "definedName" => {
                    let hidden = matches!(attr(e, "hidden").as_deref(), Some("1" | "true"));
                    current = Some((attr(e, "name").unwrap_or_default(), hidden, String::new()));
                }
                Event::End(e) if e.local_name().as_ref() == "definedName" => names.extend(current.take()),
                other => {
                    if let Some((_, _, v)) = current.as_mut() {
                        append_text(other, v, CELL_CAP);
                    }
                }
            }
            Ok(())
        })?;
        Ok((sheets, names))
    })
}

fn styles(sink: &mut Sink<'_>, zip: &mut Zip<'_>) -> Result<Vec<StyleFlags>, ScanError> {
    zip.with_member(sink, "xl/styles.xml", |r, sink| {
        let mut x = reader(r);
        let mut invisible_formats = Vec::new();
        // (white, tiny) per font; filled per fill.
        let mut fonts: Vec<(bool, bool)> = Vec::new();
        let mut fills: Vec<bool> = Vec::new();
        let mut xfs = Vec::new();
        let mut section = String::new();
        each_event(&mut x, sink, |_sink, ev| {
            match ev {
                Event::Start(e) | Event::Empty(e) => {
                    let name = local(e);
                    match name.as_str() {
                        "fonts" | "fills" | "cellXfs" | "cellStyleXfs" | "dxfs" => section = name,
                        "numFmt" => {
                            let code = attr(e, "formatCode").unwrap_or_default();
                            if code.contains(';')
                                && code.split(';').all(|s| s.trim().is_empty())
                                && let Some(id) = attr(e, "numFmtId").and_then(|v| v.parse::<u32>().ok())
                            {
                                invisible_formats.push(id);
                            }
                        }
                        "font" if section == "fonts" => fonts.push((false, false)),
                        "color" if section == "fonts" => {
                            let rgb = attr(e, "rgb").unwrap_or_default().to_ascii_uppercase();
                            let white = rgb.ends_with("FFFFFF") || attr(e, "theme").as_deref() == Some("0");
                            if let Some(f) = fonts.last_mut() {
                                f.0 = white;
                            }
                        }
                        "sz" if section == "fonts" => {
                            let size = attr(e, "val").and_then(|v| v.parse::<f64>().ok()).unwrap_or(11.0);
                            if let Some(f) = fonts.last_mut() {
                                f.1 = size < 4.0;
                            }
                        }
                        "fill" if section == "fills" => fills.push(false),
                        "patternFill" if section == "fills" => {
                            let solid = attr(e, "patternType").is_some_and(|p| p != "none");
                            if let Some(f) = fills.last_mut() {
                                *f = solid;
                            }
                        }
                        "xf" if section == "cellXfs" => {
                            let num = attr(e, "numFmtId").and_then(|v| v.parse::<u32>().ok()).unwrap_or(0);
                            let font = attr(e, "fontId").and_then(|v| v.parse::<usize>().ok()).unwrap_or(0);
                            let fill = attr(e, "fillId").and_then(|v| v.parse::<usize>().ok()).unwrap_or(0);
                            let (white, tiny) = fonts.get(font).copied().unwrap_or_default();
                            let filled = fills.get(fill).copied().unwrap_or(false) && fill >= 2;
                            xfs.push(StyleFlags {
                                invisible_format: invisible_formats.contains(&num),
                                white: white && !filled,
                                tiny,
                            });
                        }
                        _ => {}
                    }
                }
                Event::End(e) => {
                    let n = e.local_name();
                    let n: &str = n.as_ref();
                    if n == section {
                        section.clear();
                    }
                }
                _ => {}
            }
            Ok(())
        })?;
        Ok(xfs)
    })
}

fn shared_strings(sink: &mut Sink<'_>, zip: &mut Zip<'_>) -> Result<Vec<String>, ScanError> {
    zip.with_member(sink, "xl/sharedStrings.xml", |r, sink| {
        let mut x = reader(r);
        let mut out = Vec::new();
        let mut current = String::new();
        let mut in_t = false;
        let mut in_phonetic = false;
        // Every reader holds this table whole, so it counts against the
        // scan's memory budget (with a String's own size).
        each_event(&mut x, sink, |sink, ev| {
            match ev {
                Event::Start(e) => match local(e).as_str() {
                    "si" => current.clear(),
                    "t" => in_t = true,
                    "rPh" => in_phonetic = true,
                    _ => {}
                },
                Event::Empty(e) if local(e) == "si" => {
                    sink.hold(std::mem::size_of::<String>())?;
                    out.push(String::new());
                }
                Event::End(e) => {
                    let n = e.local_name();
                    match n.as_ref() {
                        "si" => {
                            sink.hold(current.len() + std::mem::size_of::<String>())?;
                            out.push(std::mem::take(&mut current));
                        }
                        "t" => in_t = false,
                        "rPh" => in_phonetic = false,
                        _ => {}
                    }
                }
                other if in_t && !in_phonetic => append_text(other, &mut current, CELL_CAP),
                _ => {}
            }
            Ok(())
        })?;
        Ok(out)
    })
}

/// "BC12" → (11, 1) zero-based (row, col).
fn cell_ref(r: &str) -> Option<(u32, u32)> {
    let split = r.find(|c: char| c.is_ascii_digit())?;
    let (letters, digits) = r.split_at(split);
    let mut col: u32 = 0;
    for b in letters.bytes() {
        if !b.is_ascii_uppercase() {
            return None;
        }
        col = col.checked_mul(26)?.checked_add(u32::from(b - b'A') + 1)?;
    }
    let row: u32 = digits.parse().ok()?;
    Some((row.checked_sub(1)?, col.checked_sub(1)?))
}

/// The rows of an `A1:F200` reference, zero-based, inclusive.
fn ref_rows(r: &str) -> Option<(u32, u32)> {
    let (a, b) = r.split_once(':').unwrap_or((r, r));
    Some((cell_ref(a)?.0, cell_ref(b)?.0))
}

#[derive(Default)]
struct CellState {
    col: u32,
    style: usize,
    kind: String,
    value: String,
    inline: String,
    in_v: bool,
    in_is_t: bool,
}

fn scan_sheet(
    sink: &mut Sink<'_>,
    zip: &mut Zip<'_>,
    path: &str,
    sheet: &SheetRef,
    shared: &[String],
    styles: &[StyleFlags],
) -> Result<(), ScanError> {
    let part = Part { name: sheet.name.clone(), state: Some(sheet.state.clone()) };
    let sheet_hidden = match sheet.state.as_str() {
        "hidden" => Some(Hidden::HiddenSheet),
        "veryHidden" => Some(Hidden::VeryHiddenSheet),
        _ => None,
    };
    zip.with_member(sink, path, |r, sink| {
        let mut x = reader(r);
        let mut hidden_cols: Vec<(u32, u32)> = Vec::new();
        let mut zero_height_default = false;
        let mut table = Table::default();
        let mut row_no: u32 = 0;
        let mut next_row: u32 = 0;
        let mut row_hidden = false;
        let mut cells: Vec<(u32, String, StyleFlags)> = Vec::new();
        let mut cell: Option<CellState> = None;
        let mut hidden_rows: Vec<u32> = Vec::new();
        let mut hidden_col_cells = 0u64;
        let mut styled: [u64; 3] = [0; 3];
        let mut content_cells = 0u64;
        let mut filter: Option<(u32, u32)> = None;
        let mut first_last: Option<((u32, u32), (u32, u32))> = None;

        let col_hidden = |cols: &[(u32, u32)], c: u32| cols.iter().any(|(a, b)| (*a..=*b).contains(&c));
        each_event(&mut x, sink, |sink, ev| {
            match ev {
                Event::Start(e) | Event::Empty(e) => {
                    let empty = matches!(ev, Event::Empty(_));
                    match local(e).as_str() {
                        "sheetFormatPr" => {
                            zero_height_default = matches!(attr(e, "zeroHeight").as_deref(), Some("1" | "true"))
                        }
                        "col" => {
                            let min = attr(e, "min").and_then(|v| v.parse::<u32>().ok()).unwrap_or(1);
                            let max = attr(e, "max").and_then(|v| v.parse::<u32>().ok()).unwrap_or(min);
                            let hidden = matches!(attr(e, "hidden").as_deref(), Some("1" | "true"))
                                || attr(e, "width").and_then(|w| w.parse::<f64>().ok()) == Some(0.0);
                            if hidden && hidden_cols.len() < 16_384 {
                                hidden_cols.push((min.saturating_sub(1), max.saturating_sub(1).min(MAX_COLS)));
                            }
                        }
                        "row" => {
                            row_no = attr(e, "r")
                                .and_then(|v| v.parse::<u32>().ok())
                                .map_or(next_row, |r| r.saturating_sub(1));
                            next_row = row_no.saturating_add(1);
                            let custom = matches!(attr(e, "customHeight").as_deref(), Some("1" | "true"));
                            row_hidden = matches!(attr(e, "hidden").as_deref(), Some("1" | "true"))
                                || attr(e, "ht").and_then(|h| h.parse::<f64>().ok()) == Some(0.0)
                                || (zero_height_default && !custom);
                            cells.clear();
                        }
                        "c" if !empty => {
                            let col = attr(e, "r")
                                .and_then(|r| cell_ref(&r))
                                .map_or_else(|| cells.last().map_or(0, |c| c.0 + 1), |(_, c)| c);
                            cell = Some(CellState {
                                col,
                                style: attr(e, "s").and_then(|s| s.parse().ok()).unwrap_or(0),
                                kind: attr(e, "t").unwrap_or_default(),
                                ..CellState::default()
                            });
                        }
                        "v" => {
                            if let Some(c) = cell.as_mut() {
                                c.in_v = !empty;
                            }
                        }
                        "t" => {
                            if let Some(c) = cell.as_mut() {
                                c.in_is_t = !empty;
                            }
                        }
                        "autoFilter" => filter = attr(e, "ref").and_then(|r| ref_rows(&r)),
                        _ => {}
                    }
                }
                Event::End(e) => {
                    let n = e.local_name();
                    match n.as_ref() {
                        "v" => {
                            if let Some(c) = cell.as_mut() {
                                c.in_v = false;
                            }
                        }
                        "t" => {
                            if let Some(c) = cell.as_mut() {
                                c.in_is_t = false;
                            }
                        }
                        "c" => {
                            if let Some(c) = cell.take() {
                                let text = match c.kind.as_str() {
                                    "s" => c
                                        .value
                                        .trim()
                                        .parse::<usize>()
                                        .ok()
                                        .and_then(|i| shared.get(i))
                                        .cloned()
                                        .unwrap_or_default(),
                                    "inlineStr" => c.inline,
                                    _ => c.value,
                                };
                                if !text.trim().is_empty() && cells.len() < MAX_COLS as usize {
                                    let flags = styles.get(c.style).copied().unwrap_or_default();
                                    cells.push((c.col, text, flags));
                                }
                            }
                        }
                        "row" => {
                            for (c, _, flags) in &cells {
                                content_cells += 1;
                                let p = (row_no, *c);
                                first_last = Some(first_last.map_or((p, p), |(f, l)| {
                                    ((f.0.min(p.0), f.1.min(p.1)), (l.0.max(p.0), l.1.max(p.1)))
                                }));
                                if col_hidden(&hidden_cols, *c) {
                                    hidden_col_cells += 1;
                                }
                                for (i, on) in [flags.invisible_format, flags.white, flags.tiny].into_iter().enumerate()
                                {
                                    if on && let Some(n) = styled.get_mut(i) {
                                        *n += 1;
                                    }
                                }
                            }
                            if row_hidden && !cells.is_empty() && hidden_rows.len() < 1_048_576 {
                                hidden_rows.push(row_no);
                            }
                            let refs: Vec<(u32, &str)> = cells.iter().map(|(c, t, _)| (*c, t.as_str())).collect();
                            let flags: HashMap<u32, StyleFlags> = cells.iter().map(|(c, _, f)| (*c, *f)).collect();
                            let hidden = |c: u32| {
                                sheet_hidden.is_some()
                                    || row_hidden
                                    || col_hidden(&hidden_cols, c)
                                    || flags.get(&c).is_some_and(|f| f.any())
                            };
                            sink.row(&mut table, &part, row_no, &refs, &hidden);
                            cells.clear();
                        }
                        _ => {}
                    }
                }
                other => {
                    if let Some(c) = cell.as_mut() {
                        if c.in_v {
                            append_text(other, &mut c.value, CELL_CAP);
                        } else if c.in_is_t {
                            append_text(other, &mut c.inline, CELL_CAP);
                        }
                    }
                }
            }
            Ok(())
        })?;

        if let (Some(kind), Some((f, l))) = (sheet_hidden, first_last) {
            sink.hidden(&part, kind, content_cells, Some(Loc::cell(f.0, f.1)), None);
            sink.hidden(&part, kind, 0, Some(Loc::cell(l.0, l.1)), None);
        }
        let (filtered, plain): (Vec<u32>, Vec<u32>) =
            hidden_rows.iter().partition(|r| filter.is_some_and(|(a, b)| (a..=b).contains(*r)));
        for (rows, kind) in [(filtered, Hidden::FilteredRows), (plain, Hidden::HiddenRows)] {
            if let (Some(first), Some(last)) = (rows.first(), rows.last()) {
                sink.hidden(&part, kind, rows.len() as u64, Some(Loc::cell(*first, 0)), None);
                sink.hidden(&part, kind, 0, Some(Loc::cell(*last, 0)), None);
            }
        }
        if hidden_col_cells > 0 {
            let note = hidden_cols
                .iter()
                .take(8)
                .map(|(a, b)| {
                    let (a, b) = (crate::report::column_name(*a), crate::report::column_name(*b));
                    if a == b { a } else { format!("{a}:{b}") }
                })
                .collect::<Vec<_>>()
                .join(", ");
            sink.hidden(&part, Hidden::HiddenColumns, hidden_col_cells, None, Some(format!("columns {note}")));
        }
        for (n, kind) in styled.into_iter().zip([Hidden::InvisibleFormat, Hidden::WhiteText, Hidden::TinyText]) {
            if n > 0 {
                sink.hidden(&part, kind, n, None, None);
            }
        }
        Ok(())
    })
}

fn comments(sink: &mut Sink<'_>, zip: &mut Zip<'_>, name: &str, element: &str) -> Result<(), ScanError> {
    let part = Part::named(name);
    let mut texts = Vec::new();
    zip.with_member(sink, name, |r, sink| {
        texts_of(r, sink, |el, text| {
            if el == element && texts.len() < 100_000 {
                texts.push(text.to_owned());
            }
        })
    })?;
    if !texts.is_empty() {
        sink.hidden(&part, Hidden::Comments, texts.len() as u64, None, None);
    }
    for t in &texts {
        sink.text(&part, None, t, "comment", true);
    }
    Ok(())
}

/// Scans named attributes of every element (connection strings, queries),
/// and records the part as hidden content of `kind` if any were found.
pub(crate) fn attributes_scanned(
    r: &mut dyn std::io::Read,
    sink: &mut Sink<'_>,
    part: &Part,
    kind: Hidden,
    names: &[&str],
) -> Result<(), ScanError> {
    let mut n = 0u64;
    each_attribute(r, sink, names, |sink, name, value| {
        n += 1;
        sink.text(part, None, value, name, true);
    })?;
    if n > 0 {
        sink.hidden(part, kind, n, None, None);
    }
    Ok(())
}

fn attributes_as_metadata(
    r: &mut dyn std::io::Read,
    sink: &mut Sink<'_>,
    part: &Part,
    names: &[&str],
) -> Result<(), ScanError> {
    each_attribute(r, sink, names, |sink, name, value| sink.metadata(part, name, value))
}

/// A pivot cache: its fields are a header, its records the source rows.
fn pivot_cache(sink: &mut Sink<'_>, zip: &mut Zip<'_>, definition: &str) -> Result<(), ScanError> {
    let part = Part::named(definition);
    // Field names and each field's shared items.
    let (fields, items) = zip.with_member(sink, definition, |r, sink| {
        let mut x = reader(r);
        let mut fields: Vec<String> = Vec::new();
        let mut items: Vec<Vec<String>> = Vec::new();
        let mut in_shared = false;
        each_event(&mut x, sink, |_sink, ev| {
            match ev {
                Event::Start(e) | Event::Empty(e) => match local(e).as_str() {
                    "cacheField" => {
                        fields.push(attr(e, "name").unwrap_or_default());
                        items.push(Vec::new());
                    }
                    "sharedItems" => in_shared = true,
                    "s" | "n" | "d" | "b" | "e" if in_shared => {
                        if let Some(list) = items.last_mut()
                            && list.len() < 1_048_576
                        {
                            list.push(attr(e, "v").unwrap_or_default());
                        }
                    }
                    "m" if in_shared => {
                        if let Some(list) = items.last_mut() {
                            list.push(String::new());
                        }
                    }
                    _ => {}
                },
                Event::End(e) if e.local_name().as_ref() == "sharedItems" => in_shared = false,
                _ => {}
            }
            Ok(())
        })?;
        Ok((fields, items))
    })?;
    let mut table = Table::default();
    let header: Vec<(u32, &str)> = fields.iter().enumerate().map(|(i, f)| (i as u32, f.as_str())).collect();
    sink.row(&mut table, &part, 0, &header, &|_| true);

    // The records, if the cache keeps them (saveData), via its relationships.
    let dir = definition.rsplit_once('/').map_or("", |(d, _)| d);
    let file = definition.rsplit('/').next().unwrap_or(definition);
    let rels = relationships(sink, zip, &format!("{dir}/_rels/{file}.rels"), &format!("{dir}/"))?;
    let records = rels.values().find(|t| t.to_ascii_lowercase().contains("pivotcacherecords")).cloned();
    let mut rows = 0u64;
    if let Some(records) = records.filter(|r| zip.has(r)) {
        rows = zip.with_member(sink, &records, |r, sink| {
            let mut x = reader(r);
            let mut row: Vec<String> = Vec::new();
            let mut n = 0u64;
            each_event(&mut x, sink, |sink, ev| {
                match ev {
                    Event::Start(e) | Event::Empty(e) => match local(e).as_str() {
                        "r" => row.clear(),
                        "x" => {
                            let field = row.len();
                            let v = attr(e, "v")
                                .and_then(|v| v.parse::<usize>().ok())
                                .and_then(|i| items.get(field).and_then(|list| list.get(i)))
                                .cloned()
                                .unwrap_or_default();
                            row.push(v);
                        }
                        "s" | "n" | "d" | "b" | "e" => row.push(attr(e, "v").unwrap_or_default()),
                        "m" => row.push(String::new()),
                        _ => {}
                    },
                    Event::End(e) if e.local_name().as_ref() == "r" => {
                        n += 1;
                        let cells: Vec<(u32, &str)> =
                            row.iter().enumerate().map(|(i, v)| (i as u32, v.as_str())).collect();
                        sink.row(&mut table, &part, u32::try_from(n).unwrap_or(u32::MAX), &cells, &|_| true);
                    }
                    _ => {}
                }
                Ok(())
            })?;
            Ok(n)
        })?;
    } else {
        // No records: the shared items are still the source's values.
        for (field, list) in fields.iter().zip(&items) {
            for v in list {
                sink.text(&part, None, v, field, true);
            }
        }
    }
    let note = format!("{} fields, {rows} source records", fields.len());
    sink.hidden(&part, Hidden::PivotCache, rows.max(1), None, Some(note));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cell_references() {
        assert_eq!(cell_ref("A1"), Some((0, 0)));
        assert_eq!(cell_ref("BC12"), Some((11, 54)));
        assert_eq!(cell_ref("XFD1048576"), Some((1_048_575, 16_383)));
        assert_eq!(cell_ref("A0"), None);
        assert_eq!(cell_ref("a1"), None);
        assert_eq!(cell_ref("ZZZZZZZZZZZZZZ1"), None);
        assert_eq!(ref_rows("A1:F200"), Some((0, 199)));
        assert_eq!(resolve("xl/", "../customXml/item1.xml"), "customXml/item1.xml");
        assert_eq!(resolve("xl/", "worksheets/sheet1.xml"), "xl/worksheets/sheet1.xml");
    }
}
