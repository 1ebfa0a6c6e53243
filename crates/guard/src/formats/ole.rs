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
    Workbook,
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
    let name = ["Workbook", "Book"].into_iter().find(|n| cf.exists(n));
    let Some(name) = name else {
        return Err(ScanError::Unsupported("an OLE2 compound file of unknown kind".into()));
    };
    let mut stream = cf.open_stream(name).map_err(|e| ScanError::Corrupt(format!("OLE2: {}", e.kind())))?;
    let mut data = Vec::new();
    std::io::Read::take(&mut stream, limit).read_to_end(&mut data)?;
    check_records(&data)?;
    Ok(Kind::Workbook)
}

/// Walks the BIFF records: a password (FilePass) or a forged Dimensions
/// record stops the file here.
fn check_records(stream: &[u8]) -> Result<(), ScanError> {
    let u16_at = |b: &[u8], i: usize| {
        b.get(i..i + 2).and_then(|s| <[u8; 2]>::try_from(s).ok()).map_or(0, |a| u64::from(u16::from_le_bytes(a)))
    };
    let u32_at = |b: &[u8], i: usize| {
        b.get(i..i + 4).and_then(|s| <[u8; 4]>::try_from(s).ok()).map_or(0, |a| u64::from(u32::from_le_bytes(a)))
    };
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
            _ => {}
        }
        at += 4 + len;
    }
    Ok(())
}

pub(crate) fn scan(sink: &mut Sink<'_>, bytes: &[u8]) -> Result<(), ScanError> {
    let owned = bytes.to_vec();
    let limit = sink.limits().max_container_bytes;
    let kind = super::isolated(sink, move || classify(&owned, limit))?;
    match kind {
        Kind::Workbook => xls(sink, bytes),
    }
}

/// A legacy workbook's sheets (with their states) and cells, by calamine.
/// BIFF keeps hidden rows and columns in records calamine does not expose,
/// so a hidden or veryHidden sheet is found but hidden rows are not: the
/// note says so, and the file is never called clear on that account.
struct XlsSheet {
    name: String,
    state: &'static str,
    rows: Vec<(u32, Vec<(u32, String)>)>,
}

fn xls(sink: &mut Sink<'_>, bytes: &[u8]) -> Result<(), ScanError> {
    use calamine::Reader as _;
    let owned = bytes.to_vec();
    let sheets = super::isolated(sink, move || {
        let mut book = calamine::Xls::new(std::io::Cursor::new(owned)).map_err(|e| match e {
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
                if !cells.is_empty() {
                    rows.push((r0 + i as u32, cells));
                }
            }
            out.push(XlsSheet { name: s.name, state, rows });
        }
        Ok(out)
    })?;
    for sheet in sheets {
        let part = crate::report::Part { name: sheet.name, state: Some(sheet.state.to_owned()) };
        let hidden_kind = match sheet.state {
            "hidden" => Some(crate::report::Hidden::HiddenSheet),
            "veryHidden" => Some(crate::report::Hidden::VeryHiddenSheet),
            _ => None,
        };
        let mut table = crate::sink::Table::default();
        let mut cells_seen = 0u64;
        for (row, cells) in &sheet.rows {
            sink.tick()?;
            cells_seen += cells.len() as u64;
            let refs: Vec<(u32, &str)> = cells.iter().map(|(c, t)| (*c, t.as_str())).collect();
            sink.row(&mut table, &part, *row, &refs, &|_| hidden_kind.is_some());
        }
        if let Some(kind) = hidden_kind
            && cells_seen > 0
        {
            sink.hidden(&part, kind, cells_seen, None, None);
        }
    }
    Ok(())
}
