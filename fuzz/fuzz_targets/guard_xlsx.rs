//! Fuzzed bytes as the parts of a workbook a reader trusts least: the
//! sheet, shared strings, styles and a pivot cache, inside an otherwise
//! valid package. Every outcome is a report; none is a panic or a hang.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "guard_common.rs"]
mod common;

const WORKBOOK: &[u8] = br#"<workbook xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="S" sheetId="1" state="hidden" r:id="rId1"/></sheets><definedNames><definedName name="N" hidden="1">x</definedName></definedNames></workbook>"#;
const RELS: &[u8] = br#"<Relationships><Relationship Id="rId1" Target="worksheets/sheet1.xml"/></Relationships>"#;

fuzz_target!(|data: &[u8]| {
    // The input is split in four by 0xFF bytes: sheet, strings, styles, pivot.
    let mut parts = data.splitn(4, |b| *b == 0xFF);
    let sheet = parts.next().unwrap_or_default();
    let strings = parts.next().unwrap_or_default();
    let styles = parts.next().unwrap_or_default();
    let pivot = parts.next().unwrap_or_default();
    let bytes = common::package(&[
        ("[Content_Types].xml", b"<Types/>"),
        ("xl/workbook.xml", WORKBOOK),
        ("xl/_rels/workbook.xml.rels", RELS),
        ("xl/worksheets/sheet1.xml", sheet),
        ("xl/sharedStrings.xml", strings),
        ("xl/styles.xml", styles),
        ("xl/pivotCache/pivotCacheDefinition1.xml", pivot),
    ]);
    let _ = common::scanner().scan_bytes("fuzz.xlsx", &bytes);
});
