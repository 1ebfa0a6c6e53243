//! OLE2 compound files: legacy Excel (.xls), and the wrapper Office puts
//! around an encrypted OOXML file. An encrypted file cannot be inspected;
//! legacy Word and PowerPoint are not read (exit 2, never a silent pass).

use std::io::Read as _;

use crate::error::ScanError;
use crate::sink::Sink;

/// Cells a legacy sheet may declare (its Dimensions record). calamine
/// reserves memory for every declared cell before reading one, so a forged
/// Dimensions would exhaust memory; such a file is refused first.
const MAX_DECLARED_CELLS: u64 = 4_000_000;

/// What a compound file is.
enum Kind {
    Workbook(Layout),
}

/// What calamine does not tell: hidden rows and columns per sheet (by the
/// sheet's BOF offset in the stream), and whether a pivot cache is stored.
#[derive(Default)]
struct Layout {
    sheet_offsets: Vec<usize>,
    hidden_rows: std::collections::HashMap<usize, std::collections::HashSet<u32>>,
    hidden_cols: std::collections::HashMap<usize, Vec<(u32, u32)>>,
    pivot_cache: bool,
}

fn classify(bytes: &[u8], limit: u64) -> Result<Kind, ScanError> {
    let mut cf = cfb::CompoundFile::open(std::io::Cursor::new(bytes))
        .map_err(|e| ScanError::Corrupt(format!("OLE2: {}", e.kind())))?;
    if cf.exists("EncryptionInfo") || cf.exists("EncryptedPackage") {
        return Err(ScanError::Encrypted("a password-protected Office file".into()));
    }
    if cf.exists("WordDocument") {
        return Err(ScanError::Unsupported("legacy Word (.doc): save it as .docx and scan again".into()));
    }
    if cf.exists("PowerPoint Document") {
        return Err(ScanError::Unsupported("legacy PowerPoint (.ppt): save it as .pptx or PDF".into()));
    }
    if cf.exists("__properties_version1.0") {
        return Err(ScanError::Unsupported(
            "an Outlook message (.msg): save the message as .eml, or save its attachments, and scan those".into(),
        ));
    }
    let name = ["Workbook", "Book"].into_iter().find(|n| cf.exists(n));
    let Some(name) = name else {
        return Err(ScanError::Unsupported("an OLE2 compound file of unknown kind".into()));
    };
    let mut stream = cf.open_stream(name).map_err(|e| ScanError::Corrupt(format!("OLE2: {}", e.kind())))?;
    let mut data = Vec::new();
    std::io::Read::take(&mut stream, limit).read_to_end(&mut data)?;
    let mut layout = check_records(&data)?;
    // Pivot caches live in their own storage; their records are not read.
    layout.pivot_cache = cf.exists("_SX_DB_CUR");
    Ok(Kind::Workbook(layout))
}

/// Walks the BIFF records: a password (FilePass) or a forged Dimensions
/// record stops the file here; hidden rows (ROW with fDyZero) and columns
/// (COLINFO with fHidden) are noted per sheet substream.
fn check_records(stream: &[u8]) -> Result<Layout, ScanError> {
    let u16_at = |b: &[u8], i: usize| {
        b.get(i..i + 2).and_then(|s| <[u8; 2]>::try_from(s).ok()).map_or(0, |a| u64::from(u16::from_le_bytes(a)))
    };
    let u32_at = |b: &[u8], i: usize| {
        b.get(i..i + 4).and_then(|s| <[u8; 4]>::try_from(s).ok()).map_or(0, |a| u64::from(u32::from_le_bytes(a)))
    };
    let mut layout = Layout::default();
    let mut substream = 0usize;
    let mut at = 0usize;
    while at + 4 <= stream.len() {
        let typ = u16_at(stream, at);
        let len = usize::try_from(u16_at(stream, at + 2)).unwrap_or(0);
        let data = stream.get(at + 4..at + 4 + len).unwrap_or_default();
        match typ {
            0x002F if u16_at(data, 0) != 0 => {
                return Err(ScanError::Encrypted("a password-protected workbook".into()));
            }
            0x0200 if data.len() >= 12 => {
                let rows = u32_at(data, 4).saturating_sub(u32_at(data, 0)) + 1;
                let cols = u16_at(data, 10).saturating_sub(u16_at(data, 8)) + 1;
                if rows.saturating_mul(cols) > MAX_DECLARED_CELLS {
                    return Err(ScanError::TooLarge(format!(
                        "a legacy sheet declares {rows} x {cols} cells, more than {MAX_DECLARED_CELLS}"
                    )));
                }
            }
            0x0809 => substream = at,
            0x0085 if data.len() >= 4 => layout.sheet_offsets.push(usize::try_from(u32_at(data, 0)).unwrap_or(0)),
            0x0208 if data.len() >= 14 && u16_at(data, 12) & 0x20 != 0 => {
                let rows = layout.hidden_rows.entry(substream).or_default();
                if rows.len() < 1 << 20 {
                    rows.insert(u32::try_from(u16_at(data, 0)).unwrap_or(0));
                }
            }
            0x007D if data.len() >= 10 && u16_at(data, 8) & 0x1 != 0 => {
                let cols = layout.hidden_cols.entry(substream).or_default();
                if cols.len() < 1024 {
                    let (a, b) = (u16_at(data, 0), u16_at(data, 2));
                    cols.push((u32::try_from(a).unwrap_or(0), u32::try_from(b).unwrap_or(0)));
                }
            }
            _ => {}
        }
        at += 4 + len;
    }
    Ok(layout)
}

pub(crate) fn scan(sink: &mut Sink<'_>, bytes: Vec<u8>) -> Result<(), ScanError> {
    // Shared with the reader threads rather than copied for each.
    let bytes: std::sync::Arc<[u8]> = bytes.into();
    let limit = sink.limits().max_memory_bytes;
    let owned = std::sync::Arc::clone(&bytes);
    let kind = super::isolated(sink, move || classify(&owned, limit))?;
    match kind {
        Kind::Workbook(layout) => xls(sink, bytes, &layout),
    }
}

/// A legacy workbook's sheets (with their states) and cells, by calamine;
/// hidden rows and columns from the records calamine does not expose.
struct XlsSheet {
    name: String,
    state: &'static str,
    rows: Vec<(u32, Vec<(u32, String)>)>,
}

fn xls(sink: &mut Sink<'_>, bytes: std::sync::Arc<[u8]>, layout: &Layout) -> Result<(), ScanError> {
    use calamine::Reader as _;
    let budget = sink.limits().max_memory_bytes;
    let sheets = super::isolated(sink, move || {
        let mut held = 0u64;
        let mut book = calamine::Xls::new(std::io::Cursor::new(bytes)).map_err(|e| match e {
            calamine::XlsError::Password => ScanError::Encrypted("a password-protected workbook".into()),
            other => ScanError::Corrupt(format!("XLS: {}", other.to_string().chars().take(80).collect::<String>())),
        })?;
        let meta = book.sheets_metadata().to_vec();
        let mut out = Vec::new();
        for s in meta {
            let state = match s.visible {
                calamine::SheetVisible::Visible => "visible",
                calamine::SheetVisible::Hidden => "hidden",
                calamine::SheetVisible::VeryHidden => "veryHidden",
            };
            let Ok(range) = book.worksheet_range(&s.name) else { continue };
            let (r0, c0) = range.start().unwrap_or((0, 0));
            let mut rows = Vec::new();
            for (i, row) in range.rows().enumerate() {
                let cells: Vec<(u32, String)> = row
                    .iter()
                    .enumerate()
                    .filter(|(_, d)| !matches!(d, calamine::Data::Empty))
                    .map(|(j, d)| (c0 + j as u32, d.to_string()))
                    .collect();
                held += cells.iter().map(|(_, t)| t.len() as u64 + 32).sum::<u64>();
                if held > budget {
                    return Err(ScanError::TooLarge(format!(
                        "more than {} MiB of cells, past the memory a scan may use",
                        budget >> 20
                    )));
                }
                if !cells.is_empty() {
                    rows.push((r0 + i as u32, cells));
                }
            }
            out.push(XlsSheet { name: s.name, state, rows });
        }
        Ok(out)
    })?;
    use crate::report::Hidden;
    let no_rows = std::collections::HashSet::new();
    for (index, sheet) in sheets.into_iter().enumerate() {
        let part = crate::report::Part { name: sheet.name, state: Some(sheet.state.to_owned()) };
        let hidden_kind = match sheet.state {
            "hidden" => Some(Hidden::HiddenSheet),
            "veryHidden" => Some(Hidden::VeryHiddenSheet),
            _ => None,
        };
        let offset = layout.sheet_offsets.get(index).copied().unwrap_or(usize::MAX);
        let hidden_rows = layout.hidden_rows.get(&offset).unwrap_or(&no_rows);
        let hidden_cols = layout.hidden_cols.get(&offset).map(Vec::as_slice).unwrap_or_default();
        let col_hidden = |c: u32| hidden_cols.iter().any(|(a, b)| (*a..=*b).contains(&c));
        let mut table = crate::sink::Table::default();
        let (mut cells_seen, mut rows_hidden, mut cells_in_hidden_cols) = (0u64, 0u64, 0u64);
        for (row, cells) in &sheet.rows {
            sink.tick()?;
            cells_seen += cells.len() as u64;
            let row_hidden = hidden_rows.contains(row);
            rows_hidden += u64::from(row_hidden);
            cells_in_hidden_cols += cells.iter().filter(|(c, _)| col_hidden(*c)).count() as u64;
            let refs: Vec<(u32, &str)> = cells.iter().map(|(c, t)| (*c, t.as_str())).collect();
            sink.row(&mut table, &part, *row, &refs, &|c| hidden_kind.is_some() || row_hidden || col_hidden(c));
        }
        for (n, kind) in [
            (if hidden_kind.is_some() { cells_seen } else { 0 }, hidden_kind),
            (rows_hidden, Some(Hidden::HiddenRows)),
            (cells_in_hidden_cols, Some(Hidden::HiddenColumns)),
        ] {
            if let (true, Some(kind)) = (n > 0, kind) {
                sink.hidden(&part, kind, n, None, None);
            }
        }
    }
    if layout.pivot_cache {
        let note = Some("a pivot cache (_SX_DB_CUR); its records are not read".to_owned());
        sink.hidden(&crate::report::Part::named("_SX_DB_CUR"), Hidden::PivotCache, 1, None, note);
    }
    Ok(())
}
