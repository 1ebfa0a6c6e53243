//! OLE2 compound files: legacy Excel (.xls), and the wrapper Office puts
//! around an encrypted OOXML file. An encrypted file cannot be inspected;
//! legacy Word and PowerPoint are not read (exit 2, never a silent pass).

use crate::error::ScanError;
use crate::sink::Sink;

/// UTF-16LE directory names that mark an encrypted OOXML package.
fn utf16(name: &str) -> Vec<u8> {
    name.encode_utf16().flat_map(u16::to_le_bytes).collect()
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && hay.windows(needle.len()).any(|w| w == needle)
}

pub(crate) fn scan(sink: &mut Sink<'_>, bytes: &[u8]) -> Result<(), ScanError> {
    if contains(bytes, &utf16("EncryptionInfo")) || contains(bytes, &utf16("EncryptedPackage")) {
        return Err(ScanError::Encrypted("a password-protected Office file".into()));
    }
    if contains(bytes, &utf16("WordDocument")) {
        return Err(ScanError::Unsupported("legacy Word (.doc): save it as .docx and scan again".into()));
    }
    if contains(bytes, &utf16("Workbook")) || contains(bytes, &utf16("Book")) {
        return xls(sink, bytes);
    }
    Err(ScanError::Unsupported("an OLE2 compound file of unknown kind".into()))
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
