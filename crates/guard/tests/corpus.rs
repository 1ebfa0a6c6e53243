//! The disclosure guard's test corpus, generated here: one file per kind
//! of hidden content and per detector, the files that cannot be inspected,
//! and clean controls (real statistical tables) that must pass. Sheets are
//! written with rust_xlsxwriter; the parts it cannot write (pivot caches,
//! threaded comments, data models…) are added to its output as raw OOXML,
//! as Excel itself would write them.
// Tests may unwrap, index and panic: a failed assertion is the answer.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::io::{Cursor, Read, Write};

use image::ImageEncoder;

use lanyard_guard::{Detector, Fingerprints, Hidden, PersonIdentifiers, Policy, Report, Scanner, Severity, Verdict};
use rust_xlsxwriter::{Color, DocProperties, FilterCondition, Format, Note, Workbook, Worksheet};

// ---------------------------------------------------------------- builders

fn xlsx(build: impl FnOnce(&mut Workbook)) -> Vec<u8> {
    let mut wb = Workbook::new();
    build(&mut wb);
    wb.save_to_buffer().unwrap()
}

/// The visible sheet of an FOI reply: headcount by rank.
fn headcount(ws: &mut Worksheet) {
    ws.set_name("Headcount").unwrap();
    let rows = [
        ("Rank", "Headcount", "FTE"),
        ("Constable", "6803", "6512.4"),
        ("Sergeant", "1034", "1021"),
        ("Inspector", "312", "309.5"),
        ("Chief Inspector", "96", "95"),
        ("Total", "8245", "7937.9"),
    ];
    for (r, (a, b, c)) in rows.iter().enumerate() {
        ws.write_string(r as u32, 0, *a).unwrap();
        if r == 0 {
            ws.write_string(0, 1, *b).unwrap();
            ws.write_string(0, 2, *c).unwrap();
        } else {
            ws.write_number(r as u32, 1, b.parse::<f64>().unwrap()).unwrap();
            ws.write_number(r as u32, 2, c.parse::<f64>().unwrap()).unwrap();
        }
    }
}

/// The hidden tab of the PSNI reply, with invented people.
fn staff_list(ws: &mut Worksheet, start_row: u32) {
    let header = ["Surname", "Initial", "Rank", "Role", "Unit", "Location", "Staff Number"];
    for (c, h) in header.iter().enumerate() {
        ws.write_string(start_row, c as u16, *h).unwrap();
    }
    for i in 0..40u32 {
        let row = [
            format!("Surname{i}"),
            "J".to_owned(),
            "Constable".to_owned(),
            "Response".to_owned(),
            "D District".to_owned(),
            "Lisburn".to_owned(),
            format!("{}", 40_000 + i),
        ];
        for (c, v) in row.iter().enumerate() {
            ws.write_string(start_row + 1 + i, c as u16, v).unwrap();
        }
    }
}

/// Copies a ZIP, replacing or adding members.
fn augment(zip_bytes: &[u8], changes: &[(&str, Vec<u8>)]) -> Vec<u8> {
    let mut input = zip::ZipArchive::new(Cursor::new(zip_bytes)).unwrap();
    let mut out = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    for i in 0..input.len() {
        let mut f = input.by_index(i).unwrap();
        let name = f.name().unwrap().into_owned();
        if changes.iter().any(|(n, _)| *n == name) {
            continue;
        }
        let mut data = Vec::new();
        f.read_to_end(&mut data).unwrap();
        out.start_file(name, opts).unwrap();
        out.write_all(&data).unwrap();
    }
    for (name, data) in changes {
        out.start_file(*name, opts).unwrap();
        out.write_all(data).unwrap();
    }
    out.finish().unwrap().into_inner()
}

fn member(zip_bytes: &[u8], name: &str) -> String {
    let mut a = zip::ZipArchive::new(Cursor::new(zip_bytes)).unwrap();
    let mut s = String::new();
    a.by_name(name).unwrap().read_to_string(&mut s).unwrap();
    s
}

fn zip_of(members: &[(&str, Vec<u8>)]) -> Vec<u8> {
    let mut out = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    for (name, data) in members {
        out.start_file(*name, opts).unwrap();
        out.write_all(data).unwrap();
    }
    out.finish().unwrap().into_inner()
}

const W: &str = "http://schemas.openxmlformats.org/wordprocessingml/2006/main";

/// A docx whose body is `body` (WordprocessingML inside `w:body`), plus
/// extra parts.
fn docx(body: &str, extra: &[(&str, String)]) -> Vec<u8> {
    let content_types = r#"<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>"#;
    let rels = r#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/></Relationships>"#;
    let document = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><w:document xmlns:w="{W}"><w:body>{body}</w:body></w:document>"#
    );
    let mut members: Vec<(&str, Vec<u8>)> = vec![
        ("[Content_Types].xml", content_types.as_bytes().to_vec()),
        ("_rels/.rels", rels.as_bytes().to_vec()),
        ("word/document.xml", document.into_bytes()),
    ];
    for (name, data) in extra {
        members.push((name, data.clone().into_bytes()));
    }
    zip_of(&members)
}

fn para(text: &str) -> String {
    format!("<w:p><w:r><w:t xml:space=\"preserve\">{text}</w:t></w:r></w:p>")
}

fn clean_letter() -> String {
    [
        para("Freedom of Information Request Reference 2023-0412"),
        para("You asked for the number of officers by rank on 31 March 2023."),
        "<w:tbl><w:tr><w:tc><w:p><w:r><w:t>Rank</w:t></w:r></w:p></w:tc><w:tc><w:p><w:r><w:t>Headcount</w:t></w:r></w:p></w:tc></w:tr>\
         <w:tr><w:tc><w:p><w:r><w:t>Constable</w:t></w:r></w:p></w:tc><w:tc><w:p><w:r><w:t>6803</w:t></w:r></w:p></w:tc></w:tr>\
         <w:tr><w:tc><w:p><w:r><w:t>Sergeant</w:t></w:r></w:p></w:tc><w:tc><w:p><w:r><w:t>1034</w:t></w:r></w:p></w:tc></w:tr></w:tbl>"
            .to_owned(),
        para("Figures are rounded to the nearest whole officer. 12.5% are part-time."),
    ]
    .concat()
}

// ---------------------------------------------------------------- checks

fn scan(name: &str, bytes: &[u8]) -> Report {
    Scanner { explain: true, ..Scanner::default() }.scan_bytes(name, bytes)
}

fn has_hidden(r: &Report, kind: Hidden) -> bool {
    r.findings.iter().any(|f| f.hidden == Some(kind))
}

fn has_detector(r: &Report, d: Detector) -> bool {
    r.findings.iter().any(|f| f.detector == d)
}

#[track_caller]
fn expect(name: &str, bytes: &[u8], verdict: Verdict, hidden: &[Hidden], detectors: &[Detector]) -> Report {
    let r = scan(name, bytes);
    let text = r.to_text(true);
    assert_eq!(r.verdict, verdict, "{name}:\n{text}");
    for h in hidden {
        assert!(has_hidden(&r, *h), "{name}: no {h:?}\n{text}");
    }
    for d in detectors {
        assert!(has_detector(&r, *d), "{name}: no {d:?}\n{text}");
    }
    r
}

// ---------------------------------------------------------------- xlsx

/// Parts added to a workbook.
type Parts<'a> = Vec<(&'a str, Vec<u8>)>;
/// A document, its verdict, and what must be found in it.
type DocCase = (&'static str, Vec<u8>, Verdict, Vec<Hidden>, Vec<Detector>);

#[test]
fn the_psni_reply_a_hidden_sheet_listing_staff_is_critical() {
    let bytes = xlsx(|wb| {
        headcount(wb.add_worksheet());
        let ws = wb.add_worksheet().set_name("Sheet2").unwrap();
        staff_list(ws, 0);
        ws.set_hidden(true);
    });
    let r = expect("psni.xlsx", &bytes, Verdict::DoNotRelease, &[Hidden::HiddenSheet], &[Detector::PersonalDataTable]);
    let table = r.findings.iter().find(|f| f.detector == Detector::PersonalDataTable).unwrap();
    assert_eq!((table.count, table.severity, table.in_hidden), (40, Severity::Critical, true));
    assert_eq!(table.part.name, "Sheet2");
    assert_eq!(table.part.state.as_deref(), Some("hidden"));
    assert_eq!(table.range.as_deref(), Some("A2:A41"));
    assert_eq!(table.sample.as_deref(), Some("S*******"));
    let sheet = r.findings.iter().find(|f| f.hidden == Some(Hidden::HiddenSheet)).unwrap();
    assert_eq!(sheet.severity, Severity::Critical);
    assert_eq!(r.findings[0].severity, Severity::Critical, "most serious first");
    // Masked, never the value.
    let json = serde_json::to_string(&r).unwrap();
    assert!(!json.contains("Surname1") && !json.contains("40001"), "{json}");
}

#[test]
fn a_very_hidden_sheet() {
    let bytes = xlsx(|wb| {
        headcount(wb.add_worksheet());
        let ws = wb.add_worksheet().set_name("Data").unwrap();
        ws.write_string(0, 0, "Contact 07700 900123").unwrap();
        ws.set_very_hidden(true);
    });
    expect("very.xlsx", &bytes, Verdict::DoNotRelease, &[Hidden::VeryHiddenSheet], &[Detector::Phone]);
}

#[test]
fn hidden_zero_height_and_collapsed_rows() {
    for (name, hide) in [("hidden_rows.xlsx", 0), ("zero_height.xlsx", 1), ("collapsed_outline.xlsx", 2)] {
        let bytes = xlsx(|wb| {
            let ws = wb.add_worksheet();
            headcount(ws);
            ws.write_string(7, 0, "Victim NI number AB123456C").unwrap();
            ws.write_string(8, 0, "Victim NI number CE654321A").unwrap();
            match hide {
                0 => {
                    ws.set_row_hidden(7).unwrap();
                    ws.set_row_hidden(8).unwrap();
                }
                1 => {
                    ws.set_row_height(7, 0).unwrap();
                    ws.set_row_height(8, 0).unwrap();
                }
                _ => {
                    ws.group_rows_collapsed(7, 8).unwrap();
                }
            }
        });
        let r = expect(name, &bytes, Verdict::DoNotRelease, &[Hidden::HiddenRows], &[Detector::Nino]);
        let rows = r.findings.iter().find(|f| f.hidden == Some(Hidden::HiddenRows)).unwrap();
        assert_eq!((rows.count, rows.range.as_deref()), (2, Some("A8:A9")), "{name}");
        assert!(r.findings.iter().any(|f| f.detector == Detector::Nino && f.in_hidden), "{name}");
    }
}

#[test]
fn hidden_and_zero_width_columns() {
    for zero_width in [false, true] {
        let bytes = xlsx(|wb| {
            let ws = wb.add_worksheet();
            headcount(ws);
            ws.write_string(0, 5, "Email").unwrap();
            ws.write_string(1, 5, "a.officer@example.police.uk").unwrap();
            if zero_width {
                ws.set_column_width(5, 0).unwrap();
            } else {
                ws.set_column_hidden(5).unwrap();
            }
        });
        let r = expect("cols.xlsx", &bytes, Verdict::DoNotRelease, &[Hidden::HiddenColumns], &[Detector::Email]);
        let cols = r.findings.iter().find(|f| f.hidden == Some(Hidden::HiddenColumns)).unwrap();
        assert_eq!(cols.note.as_deref(), Some("columns F"));
    }
}

#[test]
fn rows_an_autofilter_hides() {
    let bytes = xlsx(|wb| {
        let ws = wb.add_worksheet();
        let rows = [("Area", "Count"), ("North", "12"), ("South", "7"), ("Witness 07700 900456", "1")];
        for (r, (a, b)) in rows.iter().enumerate() {
            ws.write_string(r as u32, 0, *a).unwrap();
            ws.write_string(r as u32, 1, *b).unwrap();
        }
        ws.autofilter(0, 0, 3, 1).unwrap();
        let only = FilterCondition::new().add_list_filter("North").add_list_filter("South");
        ws.filter_column(0, &only).unwrap();
    });
    expect("filtered.xlsx", &bytes, Verdict::DoNotRelease, &[Hidden::FilteredRows], &[Detector::Phone]);
}

#[test]
fn invisible_formats_white_and_tiny_text() {
    let cases = [
        ("format.xlsx", Format::new().set_num_format(";;;"), Hidden::InvisibleFormat),
        ("white.xlsx", Format::new().set_font_color(Color::White), Hidden::WhiteText),
        ("tiny.xlsx", Format::new().set_font_size(1), Hidden::TinyText),
    ];
    for (name, format, kind) in cases {
        let bytes = xlsx(|wb| {
            let ws = wb.add_worksheet();
            headcount(ws);
            ws.write_string_with_format(9, 0, "NHS 943 476 5919", &format).unwrap();
        });
        expect(name, &bytes, Verdict::DoNotRelease, &[kind], &[Detector::NhsNumber]);
    }
}

#[test]
fn notes_and_threaded_comments() {
    let bytes = xlsx(|wb| {
        let ws = wb.add_worksheet();
        headcount(ws);
        ws.insert_note(1, 0, &Note::new("Call the victim on 07700 900789").set_author("Analyst")).unwrap();
    });
    expect("notes.xlsx", &bytes, Verdict::DoNotRelease, &[Hidden::Comments], &[Detector::Phone]);

    let threaded = r#"<?xml version="1.0" encoding="UTF-8"?><ThreadedComments xmlns="http://schemas.microsoft.com/office/spreadsheetml/2018/threadedcomments"><threadedComment ref="B2" id="{1}" personId="{2}"><text>Suspect lives at SW1A 2AA</text></threadedComment></ThreadedComments>"#;
    let persons = r#"<?xml version="1.0" encoding="UTF-8"?><personList xmlns="http://schemas.microsoft.com/office/spreadsheetml/2018/threadedcomments"><person displayName="Jane Analyst" id="{2}"/></personList>"#;
    let bytes = augment(
        &xlsx(|wb| headcount(wb.add_worksheet())),
        &[("xl/threadedComments/threadedComment1.xml", threaded.into()), ("xl/persons/person.xml", persons.into())],
    );
    let r = expect("threaded.xlsx", &bytes, Verdict::DoNotRelease, &[Hidden::Comments], &[Detector::Postcode]);
    assert!(has_detector(&r, Detector::Metadata), "the comment author is metadata");
}

#[test]
fn defined_names_hidden_ones_included() {
    let base = xlsx(|wb| {
        headcount(wb.add_worksheet());
        wb.define_name("Informant", "=\"AB123456C\"").unwrap();
    });
    let workbook = member(&base, "xl/workbook.xml")
        .replace("<definedName name=\"Informant\"", "<definedName name=\"Informant\" hidden=\"1\"");
    let bytes = augment(&base, &[("xl/workbook.xml", workbook.into_bytes())]);
    let r = expect("names.xlsx", &bytes, Verdict::DoNotRelease, &[Hidden::DefinedNames], &[Detector::Nino]);
    let names = r.findings.iter().find(|f| f.hidden == Some(Hidden::DefinedNames)).unwrap();
    assert_eq!(names.note.as_deref(), Some("hidden names"));
}

const PIVOT_RELS: &str = r#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/pivotCacheRecords" Target="pivotCacheRecords1.xml"/></Relationships>"#;

#[test]
fn a_pivot_cache_keeps_the_source_rows() {
    // A headcount pivot whose cache holds the staff list it was made from.
    let mut items = String::new();
    for i in 0..25 {
        items.push_str(&format!("<s v=\"Surname{i}\"/>"));
    }
    let definition = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><pivotCacheDefinition xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships" r:id="rId1" recordCount="25"><cacheSource type="worksheet"><worksheetSource ref="A1:C26" sheet="Staff"/></cacheSource><cacheFields count="3"><cacheField name="Surname"><sharedItems count="25">{items}</sharedItems></cacheField><cacheField name="Forename"><sharedItems/></cacheField><cacheField name="Rank"><sharedItems count="2"><s v="Constable"/><s v="Sergeant"/></sharedItems></cacheField></cacheFields></pivotCacheDefinition>"#
    );
    let mut records = String::new();
    for i in 0..25 {
        records.push_str(&format!("<r><x v=\"{i}\"/><s v=\"John\"/><x v=\"{}\"/></r>", i % 2));
    }
    let records = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><pivotCacheRecords xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="25">{records}</pivotCacheRecords>"#
    );
    let bytes = augment(
        &xlsx(|wb| headcount(wb.add_worksheet())),
        &[
            ("xl/pivotCache/pivotCacheDefinition1.xml", definition.into_bytes()),
            ("xl/pivotCache/pivotCacheRecords1.xml", records.into_bytes()),
            ("xl/pivotCache/_rels/pivotCacheDefinition1.xml.rels", PIVOT_RELS.into()),
        ],
    );
    let r = expect("pivot.xlsx", &bytes, Verdict::DoNotRelease, &[Hidden::PivotCache], &[Detector::PersonalDataTable]);
    let cache = r.findings.iter().find(|f| f.hidden == Some(Hidden::PivotCache)).unwrap();
    assert_eq!((cache.count, cache.severity), (25, Severity::Critical));
    assert_eq!(cache.note.as_deref(), Some("3 fields, 25 source records"));
    let table = r.findings.iter().find(|f| f.detector == Detector::PersonalDataTable).unwrap();
    assert_eq!(table.count, 25);
}

#[test]
fn chart_caches_data_models_external_links_connections_custom_xml_vba_and_embeddings() {
    let chart = r#"<?xml version="1.0" encoding="UTF-8"?><c:chartSpace xmlns:c="http://schemas.openxmlformats.org/drawingml/2006/chart"><c:chart><c:plotArea><c:barChart><c:ser><c:cat><c:strRef><c:f>Staff!$A$2:$A$3</c:f><c:strCache><c:ptCount val="2"/><c:pt idx="0"><c:v>DOB 12/03/1984</c:v></c:pt><c:pt idx="1"><c:v>DOB 01/07/1990</c:v></c:pt></c:strCache></c:strRef></c:cat></c:ser></c:barChart></c:plotArea></c:chart></c:chartSpace>"#;
    let external = r#"<?xml version="1.0" encoding="UTF-8"?><externalLink xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><externalBook><sheetNames><sheetName val="HR"/></sheetNames><sheetDataSet><sheetData sheetId="0"><row r="1"><cell r="A1" t="str"><v>j.bloggs@example.police.uk</v></cell></row></sheetData></sheetDataSet></externalBook></externalLink>"#;
    let connections = r#"<?xml version="1.0" encoding="UTF-8"?><connections xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><connection id="1" name="HR"><dbPr connection="Provider=SQLOLEDB;Data Source=hr-db;Initial Catalog=Payroll" command="SELECT surname, nino FROM staff WHERE nino = 'AB123456C'"/></connection></connections>"#;
    let custom = r#"<?xml version="1.0"?><people><person><name>Officer</name><card>4111 1111 1111 1111</card></person></people>"#;
    let embedded = xlsx(|wb| staff_list(wb.add_worksheet(), 0));
    let base = xlsx(|wb| headcount(wb.add_worksheet()));
    let cases: Vec<(&str, Parts, Hidden, Option<Detector>)> = vec![
        ("chart.xlsx", vec![("xl/charts/chart1.xml", chart.into())], Hidden::ChartCache, Some(Detector::DateOfBirth)),
        ("model.xlsx", vec![("xl/model/item.data", vec![0u8, 1, 2, 3])], Hidden::DataModel, None),
        (
            "links.xlsx",
            vec![("xl/externalLinks/externalLink1.xml", external.into())],
            Hidden::ExternalLinks,
            Some(Detector::Email),
        ),
        ("conn.xlsx", vec![("xl/connections.xml", connections.into())], Hidden::Connections, Some(Detector::Nino)),
        (
            "customxml.xlsx",
            vec![("customXml/item1.xml", custom.into())],
            Hidden::CustomXml,
            Some(Detector::PaymentCard),
        ),
        ("macros.xlsm", vec![("xl/vbaProject.bin", b"\xD0\xCF\x11\xE0 not really VBA".to_vec())], Hidden::Vba, None),
        (
            "embedded.xlsx",
            vec![("xl/embeddings/Microsoft_Excel_Worksheet1.xlsx", embedded)],
            Hidden::EmbeddedObject,
            Some(Detector::PersonalDataTable),
        ),
    ];
    for (name, parts, kind, detector) in cases {
        let bytes = augment(&base, &parts);
        let r = expect(name, &bytes, Verdict::DoNotRelease, &[kind], detector.as_slice());
        let f = r.findings.iter().find(|f| f.hidden == Some(kind)).unwrap();
        let want = if detector.is_some() { Severity::Critical } else { Severity::Medium };
        // Nested files' findings carry their own name; the container's hidden
        // finding is raised by what is in the same part.
        if kind != Hidden::EmbeddedObject {
            assert_eq!(f.severity, want, "{name}");
        }
        assert!(f.remedy.is_some(), "{name}: --explain says how to fix it");
    }
    // A chart cache of figures alone is reported, low.
    let figures = chart.replace("DOB 12/03/1984", "6803").replace("DOB 01/07/1990", "1034");
    let r = scan("figures.xlsx", &augment(&base, &[("xl/charts/chart1.xml", figures.into())]));
    assert_eq!(r.verdict, Verdict::Clear, "{}", r.to_text(false));
    assert!(has_hidden(&r, Hidden::ChartCache));
}

#[test]
fn document_properties_are_metadata() {
    let bytes = xlsx(|wb| {
        headcount(wb.add_worksheet());
        wb.set_properties(&DocProperties::new().set_author("Sgt Jane Doe").set_company("Example Police"));
    });
    let r = expect("props.xlsx", &bytes, Verdict::Clear, &[], &[Detector::Metadata]);
    let m = r.findings.iter().find(|f| f.detector == Detector::Metadata && f.part.name == "docProps/core.xml").unwrap();
    assert_eq!(m.severity, Severity::Low);
    assert!(m.note.as_deref().unwrap().contains("creator"));
    assert!(!serde_json::to_string(&r).unwrap().contains("Jane"));
    // A policy that wants metadata stripped fails it.
    let strict = Scanner { policy: Policy::parse("metadata = \"medium\"\n").unwrap(), ..Scanner::default() };
    assert_eq!(strict.scan_bytes("props.xlsx", &bytes).verdict, Verdict::DoNotRelease);
}

// ---------------------------------------------------------------- docx

#[test]
fn every_part_of_a_word_document() {
    let footer = format!(r#"<w:ftr xmlns:w="{W}">{}</w:ftr>"#, para("Direct line 020 7946 0018"));
    let footnotes = format!(
        r#"<w:footnotes xmlns:w="{W}"><w:footnote w:id="1">{}</w:footnote></w:footnotes>"#,
        para("Source: j.smith@example.police.uk")
    );
    let comments = format!(
        r#"<w:comments xmlns:w="{W}"><w:comment w:id="0" w:author="Reviewer">{}</w:comment></w:comments>"#,
        para("Is AB123456C the informant?")
    );
    let cases: Vec<DocCase> = vec![
        (
            "body.docx",
            docx(&para("Suspect NI number AB123456C"), &[]),
            Verdict::DoNotRelease,
            vec![],
            vec![Detector::Nino],
        ),
        (
            "footer.docx",
            docx(&clean_letter(), &[("word/footer1.xml", footer)]),
            Verdict::DoNotRelease,
            vec![],
            vec![Detector::Phone],
        ),
        (
            "footnote.docx",
            docx(&clean_letter(), &[("word/footnotes.xml", footnotes)]),
            Verdict::DoNotRelease,
            vec![],
            vec![Detector::Email],
        ),
        (
            "comments.docx",
            docx(&clean_letter(), &[("word/comments.xml", comments)]),
            Verdict::DoNotRelease,
            vec![Hidden::Comments],
            vec![Detector::Nino],
        ),
        (
            "insertion.docx",
            docx(
                &format!(
                    "<w:p><w:ins w:id=\"1\" w:author=\"A\"><w:r><w:t>Victim born 12/03/1984</w:t></w:r></w:ins></w:p>{}",
                    clean_letter()
                ),
                &[],
            ),
            Verdict::DoNotRelease,
            vec![Hidden::TrackedInsertion],
            vec![Detector::DateOfBirth],
        ),
        (
            "deletion.docx",
            docx(
                &format!(
                    "<w:p><w:del w:id=\"1\" w:author=\"A\"><w:r><w:delText>NHS 943 476 5919</w:delText></w:r></w:del></w:p>{}",
                    clean_letter()
                ),
                &[],
            ),
            Verdict::DoNotRelease,
            vec![Hidden::TrackedDeletion],
            vec![Detector::NhsNumber],
        ),
        (
            "vanish.docx",
            docx(
                &format!(
                    "<w:p><w:r><w:rPr><w:vanish/></w:rPr><w:t>Card 4111 1111 1111 1111</w:t></w:r></w:p>{}",
                    clean_letter()
                ),
                &[],
            ),
            Verdict::DoNotRelease,
            vec![Hidden::HiddenText],
            vec![Detector::PaymentCard],
        ),
        (
            "white.docx",
            docx(
                &format!(
                    "<w:p><w:r><w:rPr><w:color w:val=\"FFFFFF\"/></w:rPr><w:t>IBAN GB82 WEST 1234 5698 7654 32</w:t></w:r></w:p>{}",
                    clean_letter()
                ),
                &[],
            ),
            Verdict::DoNotRelease,
            vec![Hidden::WhiteText],
            vec![Detector::Iban],
        ),
        (
            "tiny.docx",
            docx(
                &format!(
                    "<w:p><w:r><w:rPr><w:sz w:val=\"2\"/></w:rPr><w:t>Vehicle AB12 CDE</w:t></w:r></w:p>{}",
                    clean_letter()
                ),
                &[],
            ),
            Verdict::DoNotRelease,
            vec![Hidden::TinyText],
            vec![Detector::VehicleRegistration],
        ),
        (
            "table.docx",
            docx(
                "<w:tbl><w:tr><w:tc><w:p><w:r><w:t>Victim surname</w:t></w:r></w:p></w:tc><w:tc><w:p><w:r><w:t>Forename</w:t></w:r></w:p></w:tc><w:tc><w:p><w:r><w:t>Offence</w:t></w:r></w:p></w:tc></w:tr>\
                 <w:tr><w:tc><w:p><w:r><w:t>Bloggs</w:t></w:r></w:p></w:tc><w:tc><w:p><w:r><w:t>Joe</w:t></w:r></w:p></w:tc><w:tc><w:p><w:r><w:t>Theft</w:t></w:r></w:p></w:tc></w:tr></w:tbl>",
                &[],
            ),
            Verdict::DoNotRelease,
            vec![],
            vec![Detector::PersonalDataTable],
        ),
    ];
    for (name, bytes, verdict, hidden, detectors) in cases {
        expect(name, &bytes, verdict, &hidden, &detectors);
    }
    // Embedded workbooks and properties.
    let embedded = xlsx(|wb| staff_list(wb.add_worksheet(), 0));
    let mut bytes = docx(&clean_letter(), &[]);
    bytes = augment(&bytes, &[("word/embeddings/Microsoft_Excel_Worksheet.xlsx", embedded)]);
    let r = expect(
        "embedded.docx",
        &bytes,
        Verdict::DoNotRelease,
        &[Hidden::EmbeddedObject],
        &[Detector::PersonalDataTable],
    );
    assert!(
        r.findings.iter().any(|f| f.file.ends_with("embedded.docx!word/embeddings/Microsoft_Excel_Worksheet.xlsx"))
    );
    let core = r#"<?xml version="1.0"?><cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:creator>DC 1234 Smith</dc:creator><cp:lastModifiedBy>Jane Doe</cp:lastModifiedBy></cp:coreProperties>"#;
    let bytes = augment(&docx(&clean_letter(), &[]), &[("docProps/core.xml", core.into())]);
    let r = expect("props.docx", &bytes, Verdict::Clear, &[], &[Detector::Metadata]);
    let m = r.findings.iter().find(|f| f.detector == Detector::Metadata).unwrap();
    assert_eq!(m.note.as_deref(), Some("creator, lastModifiedBy"));
}

// ---------------------------------------------------------------- detectors

#[test]
fn each_detector_in_a_csv_and_its_clean_twin() {
    let cases: &[(Detector, &str, &str)] = &[
        (Detector::Nino, "ref,ni\n1,AB123456C\n", "ref,ni\n1,QQ123456C\n"),
        (Detector::NhsNumber, "ref,nhs number\n1,9434765919\n", "ref,nhs number\n1,9434765918\n"),
        (Detector::Postcode, "area,postcode\nx,SW1A 2AA\n", "area,code\nx,QX1A 2AA\n"),
        (Detector::Phone, "who,tel\nx,07700 900123\n", "who,tel\nx,07000 900123\n"),
        (Detector::Email, "who,mail\nx,a.b@example.org\n", "who,mail\nx,a.b at example\n"),
        (Detector::SortCodeAccount, "bank\nsort code 12-34-56 account 12345678\n", "bank\nsort code 12-34-56 only\n"),
        (Detector::PaymentCard, "card\n4111 1111 1111 1111\n", "card\n4111 1111 1111 1112\n"),
        (Detector::Iban, "iban\nGB82WEST12345698765432\n", "iban\nGB82WEST12345698765433\n"),
        (Detector::VehicleRegistration, "vrm\nAB12 CDE\n", "vrm\nAB99 CDE\n"),
        (Detector::DateOfBirth, "ref,date of birth\n1,12/03/1984\n", "ref,date of report\n1,12/03/1984\n"),
        (
            Detector::PersonalDataTable,
            "Surname,Forename,Station\nBloggs,Joe,Central\n",
            "Station,Incidents\nCentral,41\n",
        ),
    ];
    for (detector, dirty, clean) in cases {
        let r = expect(&format!("{detector}.csv"), dirty.as_bytes(), Verdict::DoNotRelease, &[], &[*detector]);
        let f = r.findings.iter().find(|f| f.detector == *detector).unwrap();
        assert_eq!(f.part.name, "(table)");
        assert!(f.range.is_some() && f.sample.is_some(), "{detector}");
        let r = scan(&format!("{detector}-clean.csv"), clean.as_bytes());
        assert_eq!(r.verdict, Verdict::Clear, "{detector} clean twin:\n{}", r.to_text(false));
    }
}

#[test]
fn register_people_by_fingerprint_with_no_plaintext() {
    let people = (0..50).map(|i| PersonIdentifiers {
        service_number: Some(format!("MX{i:04}")),
        forenames: Some("Siobhán".into()),
        surname: Some(format!("O'Brien{}", ["", "a", "b", "c", "d"][i % 5]).replace("O'Briena", "Smith")),
        email: Some(format!("officer{i}@example.police.uk")),
    });
    let fp = Fingerprints::build(people, [9; 32]);
    let file = fp.to_json(0);
    let scanner = Scanner { fingerprints: Some(Fingerprints::from_json(&file).unwrap()), ..Scanner::default() };
    let doc =
        "Attendees: Siobhan O'Brien (MX0000), SMITH, Siobhan; officer7@example.police.uk. Not: Mary Jones, MX9999.";
    let r = scanner.scan_bytes("minutes.txt", doc.as_bytes());
    let count = |d: Detector| r.findings.iter().filter(|f| f.detector == d).map(|f| f.count).sum::<u64>();
    assert_eq!(count(Detector::RegisterFullName), 2, "{}", r.to_text(false));
    assert_eq!(count(Detector::RegisterServiceNumber), 1);
    assert_eq!(count(Detector::RegisterEmail), 1);
    assert_eq!(r.verdict, Verdict::DoNotRelease);
    // The PSNI layout: surname and initial in separate columns.
    let sheet = "Surname,Initial,Rank\nO'Brien,S,Constable\nNobody,X,Sergeant\n";
    let r = scanner.scan_bytes("staff.csv", sheet.as_bytes());
    assert_eq!(
        r.findings.iter().filter(|f| f.detector == Detector::RegisterSurnameInitial).map(|f| f.count).sum::<u64>(),
        1,
        "{}",
        r.to_text(false)
    );
}

#[test]
fn a_canary_on_a_hidden_sheet_names_its_recipient_and_is_critical() {
    let people = [PersonIdentifiers {
        service_number: Some("MX0001".into()),
        forenames: Some("Robin".into()),
        surname: Some("Quayle".into()),
        email: None,
    }];
    let canary = PersonIdentifiers {
        service_number: Some("MX7315".into()),
        forenames: Some("Neil".into()),
        surname: Some("Lomax".into()),
        email: Some("neil.lomax42@police.example".into()),
    };
    let fp = Fingerprints::build(people, [3; 32]).with_canaries([("occ-health".to_owned(), canary)]);
    let scanner =
        Scanner { fingerprints: Some(Fingerprints::from_json(&fp.to_json(0)).unwrap()), ..Scanner::default() };
    let bytes = xlsx(|wb| {
        headcount(wb.add_worksheet());
        let ws = wb.add_worksheet().set_hidden(true);
        for (r, row) in [["Name", "Number"], ["Lomax, Neil", "MX7315"], ["Quayle, Robin", "MX0001"]].iter().enumerate()
        {
            for (c, v) in row.iter().enumerate() {
                ws.write_string(r as u32, c as u16, *v).unwrap();
            }
        }
    });
    let r = scanner.scan_bytes("reply.xlsx", &bytes);
    assert_eq!(r.verdict, Verdict::DoNotRelease);
    let canaries: Vec<_> = r.findings.iter().filter(|f| f.detector == Detector::Canary).collect();
    assert_eq!(canaries.iter().map(|f| f.count).sum::<u64>(), 2, "{}", r.to_text(false));
    for f in &canaries {
        assert_eq!((f.recipient.as_deref(), f.severity, f.in_hidden), (Some("occ-health"), Severity::Critical, true));
        assert_eq!(f.part.state.as_deref(), Some("hidden"));
    }
    assert!(r.findings.iter().any(|f| f.detector == Detector::RegisterServiceNumber), "the person is a person");
    let text = r.to_text(true);
    assert!(text.contains("CANARY: the canary planted for occ-health is here"), "{text}");
    assert!(!text.contains("Lomax") && !text.contains("MX7315"), "{text}");
    // A policy can neither allow-list nor turn off a canary.
    let policy = Policy::parse("allow = [\"MX7315\"]\n").unwrap();
    let strict = Scanner { policy, ..scanner };
    let r = strict.scan_bytes("reply.xlsx", &bytes);
    assert_eq!(r.findings.iter().filter(|f| f.detector == Detector::Canary).map(|f| f.count).sum::<u64>(), 2);
}

// ---------------------------------------------------------------- cannot inspect

#[test]
fn what_cannot_be_inspected_is_never_cleared() {
    let ole = compound("EncryptionInfo");
    let bomb = {
        let mut out = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let opts = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
        out.start_file("zeros.csv", opts).unwrap();
        let zeros = vec![b'0'; 1 << 20];
        for _ in 0..64 {
            out.write_all(&zeros).unwrap();
        }
        out.finish().unwrap().into_inner()
    };
    let mut deep = b"Rank,Headcount\nConstable,6803\n".to_vec();
    for i in 0..7 {
        deep = zip_of(&[(if i == 0 { "inner.csv" } else { "inner.zip" }, deep)]);
    }
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("encrypted.xlsx", ole, "encrypted"),
        ("legacy.doc", compound("WordDocument"), "legacy Word"),
        ("reply.msg", compound("__properties_version1.0"), "Outlook message"),
        (
            "fake.xls",
            {
                let mut ole = vec![0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];
                ole.extend("Workbook".encode_utf16().flat_map(u16::to_le_bytes));
                ole
            },
            "OLE2",
        ),
        ("corrupt.xlsx", b"PK\x03\x04 this is not a zip".to_vec(), "corrupt"),
        ("bomb.zip", bomb, "zip bomb"),
        ("deep.zip", deep, "nested more than"),
        ("report.pdf", b"%PDF-1.7\n".to_vec(), "PDF"),
        (
            "photo.jpg",
            vec![0xFF, 0xD8, 0xFF, 0xE1, 0x00, 0x10, b'E', b'x', b'i', b'f', 0, 0, b'M', b'M', 0, 42, 0, 0, 0, 99],
            "image metadata",
        ),
        ("blob.bin", vec![0u8, 1, 2, 3, 0, 0, 7], "unknown type"),
        (
            "sheet.xlsx",
            augment(
                &xlsx(|wb| headcount(wb.add_worksheet())),
                &[(
                    "xl/worksheets/sheet1.xml",
                    b"<worksheet><sheetData><row><c r=\"A1\"><v>1</v></row></sheetData></worksheet>".to_vec(),
                )],
            ),
            "XML",
        ),
    ];
    for (name, bytes, why) in cases {
        let r = scan(name, &bytes);
        assert_eq!(r.verdict, Verdict::CannotInspect, "{name}: {}", r.to_text(false));
        assert_eq!(r.exit_code, 2);
        let f = r.findings.iter().find(|f| f.detector == Detector::Uninspectable).unwrap();
        assert!(f.note.as_deref().unwrap().contains(why), "{name}: {:?}", f.note);
    }
}

// ---------------------------------------------------------------- clean controls

#[test]
fn clean_statistical_releases_pass() {
    let workbook = xlsx(|wb| {
        headcount(wb.add_worksheet());
        let ws = wb.add_worksheet().set_name("Notes").unwrap();
        ws.write_string(0, 0, "Figures as at 31/03/2023. Source: HR system extract, rounded.").unwrap();
        ws.write_string(1, 0, "Call 101 for non-emergencies.").unwrap();
    });
    let crime = "Month,Burglary,Robbery,Vehicle crime,Violence\n2023-01,412,38,277,1893\n2023-02,398,41,251,1777\n\
                 2023-03,441,29,263,1920\nTotal,1251,108,791,5590\nChange %,+3.2,-12.1,+0.4,+1.1\n";
    let letter = docx(&clean_letter(), &[]);
    let folder =
        zip_of(&[("headcount.xlsx", workbook.clone()), ("crime.csv", crime.into()), ("letter.docx", letter.clone())]);
    for (name, bytes) in [
        ("headcount.xlsx", workbook),
        ("crime.csv", crime.as_bytes().to_vec()),
        ("letter.docx", letter),
        ("release.zip", folder),
    ] {
        let r = scan(name, &bytes);
        assert_eq!(r.verdict, Verdict::Clear, "{name}:\n{}", r.to_text(false));
        assert_eq!(r.exit_code, 0);
    }
    // An FOI unit's own address is allowed by policy, not by default.
    let signed = format!("{}{}", clean_letter(), para("foi@example.police.uk"));
    let bytes = docx(&signed, &[]);
    assert_eq!(scan("signed.docx", &bytes).verdict, Verdict::DoNotRelease);
    let allowed =
        Scanner { policy: Policy::parse("allow = [\"foi@example.police.uk\"]\n").unwrap(), ..Scanner::default() };
    assert_eq!(allowed.scan_bytes("signed.docx", &bytes).verdict, Verdict::Clear);
}

// ---------------------------------------------------------------- email

/// An email to an FOI requester with `body` and base64 attachments.
fn eml(body: &str, attachments: &[(&str, &str, &[u8])]) -> Vec<u8> {
    use base64::Engine as _;
    let mut m = String::from(
        "From: FOI Unit <foi@example.police.uk>\r\nTo: A Requester <requester@example.org>\r\n\
         Subject: Your request FOI-2023-0815\r\nDate: Tue, 8 Aug 2023 10:00:00 +0100\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=\"XYZ\"\r\n\r\n--XYZ\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n",
    );
    m.push_str(body);
    m.push_str("\r\n");
    for (name, ctype, bytes) in attachments {
        let b64 = base64::engine::general_purpose::STANDARD.encode(bytes);
        let wrapped: Vec<&str> = b64.as_bytes().chunks(76).map(|c| std::str::from_utf8(c).unwrap()).collect();
        m.push_str(&format!(
            "--XYZ\r\nContent-Type: {ctype}; name=\"{name}\"\r\nContent-Disposition: attachment; filename=\"{name}\"\r\n\
             Content-Transfer-Encoding: base64\r\n\r\n{}\r\n",
            wrapped.join("\r\n")
        ));
    }
    m.push_str("--XYZ--\r\n");
    m.into_bytes()
}

const XLSX_TYPE: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

#[test]
fn an_emailed_reply_is_read_with_its_attachments() {
    // The PSNI mistake, sent by email: read as text, the base64 would pass.
    let psni = xlsx(|wb| {
        headcount(wb.add_worksheet());
        staff_list(wb.add_worksheet().set_hidden(true), 0);
    });
    let letter = "Dear Requester,\r\nPlease find attached the headcount by rank.\r\nFOI Unit";
    let bytes = eml(letter, &[("headcount.xlsx", XLSX_TYPE, &psni)]);
    let r = expect("reply.eml", &bytes, Verdict::DoNotRelease, &[Hidden::HiddenSheet], &[Detector::PersonalDataTable]);
    let f = r.findings.iter().find(|f| f.hidden == Some(Hidden::HiddenSheet)).unwrap();
    assert_eq!((f.file.as_str(), f.severity), ("reply.eml!headcount.xlsx", Severity::Critical));
    // The envelope is metadata: the requester's own address fails nothing.
    let m = r.findings.iter().find(|f| f.detector == Detector::Metadata).unwrap();
    assert_eq!((m.note.as_deref(), m.severity), (Some("From, To"), Severity::Low));
    assert!(!r.to_text(false).contains("requester@example.org"));

    // The clean twin: the headcount alone, a CSV of crime figures.
    let clean = xlsx(|wb| headcount(wb.add_worksheet()));
    let crime = b"Month,Burglary\n2023-01,412\n2023-02,398\n";
    let bytes = eml(letter, &[("headcount.xlsx", XLSX_TYPE, &clean), ("crime.csv", "text/csv", crime)]);
    let r = scan("reply.eml", &bytes);
    assert_eq!(r.verdict, Verdict::Clear, "{}", r.to_text(false));

    // An attached CSV is read as a table; the body as text, by line.
    let victims = b"Victim surname,Forename,Offence\nBloggs,Joe,Theft\n";
    let body = "Dear Requester,\r\nThe officer's NI number is AB123456C.";
    let bytes = eml(body, &[("victims.csv", "text/csv", victims)]);
    let r = expect("leak.eml", &bytes, Verdict::DoNotRelease, &[], &[Detector::PersonalDataTable, Detector::Nino]);
    let nino = r.findings.iter().find(|f| f.detector == Detector::Nino).unwrap();
    assert_eq!((nino.part.name.as_str(), nino.range.as_deref()), ("(body)", Some("line 2")));
    assert!(r.findings.iter().any(|f| f.file == "leak.eml!victims.csv" && f.detector == Detector::PersonalDataTable));

    // A forwarded message inside a message, and an attachment that cannot
    // be read: the whole email is uninspectable, never clear.
    let inner = eml("forwarded", &[("staff.xlsx", XLSX_TYPE, &psni)]);
    let mut outer = String::from_utf8(eml(letter, &[])).unwrap();
    outer = outer.replace(
        "--XYZ--",
        &format!("--XYZ\r\nContent-Type: message/rfc822\r\n\r\n{}\r\n--XYZ--", String::from_utf8(inner).unwrap()),
    );
    let r = scan("fwd.eml", outer.as_bytes());
    assert!(
        r.findings.iter().any(|f| f.hidden == Some(Hidden::HiddenSheet) && f.file.ends_with("!staff.xlsx")),
        "{}",
        r.to_text(false)
    );
    // A message that is nothing but one attachment.
    let single = String::from_utf8(eml("", &[("staff.xlsx", XLSX_TYPE, &psni)])).unwrap();
    let part = single.split("--XYZ\r\n").nth(2).unwrap().trim_end_matches("--XYZ--\r\n").to_owned();
    let only =
        format!("From: foi@example.police.uk\r\nDate: Tue, 8 Aug 2023 10:00:00 +0100\r\nMIME-Version: 1.0\r\n{part}");
    let r = scan("only.eml", only.as_bytes());
    assert!(r.findings.iter().any(|f| f.hidden == Some(Hidden::HiddenSheet)), "{}", r.to_text(false));
    let bytes = eml(letter, &[("locked.xlsx", XLSX_TYPE, &compound("EncryptionInfo"))]);
    let r = scan("locked.eml", &bytes);
    assert_eq!(r.verdict, Verdict::CannotInspect, "{}", r.to_text(false));
}

// ---------------------------------------------------------------- PDF and images

/// A one-page PDF whose text layer holds `lines`, with an author.
fn pdf(lines: &[&str], author: &str) -> Vec<u8> {
    use lopdf::content::{Content, Operation};
    use lopdf::{Document, Object, Stream, dictionary};
    let mut doc = Document::with_version("1.5");
    let pages_id = doc.new_object_id();
    let font_id = doc.add_object(dictionary! { "Type" => "Font", "Subtype" => "Type1", "BaseFont" => "Courier" });
    let resources_id = doc.add_object(dictionary! { "Font" => dictionary! { "F1" => font_id } });
    let mut ops = vec![Operation::new("BT", vec![]), Operation::new("Tf", vec!["F1".into(), 12.into()])];
    for (i, line) in lines.iter().enumerate() {
        if i == 0 {
            ops.push(Operation::new("Td", vec![72.into(), 700.into()]));
        } else {
            ops.push(Operation::new("Td", vec![0.into(), (-16).into()]));
        }
        ops.push(Operation::new("Tj", vec![Object::string_literal(*line)]));
    }
    ops.push(Operation::new("ET", vec![]));
    let content_id = doc.add_object(Stream::new(dictionary! {}, Content { operations: ops }.encode().unwrap()));
    let page_id = doc.add_object(dictionary! { "Type" => "Page", "Parent" => pages_id, "Contents" => content_id });
    doc.objects.insert(
        pages_id,
        Object::Dictionary(dictionary! {
            "Type" => "Pages", "Kids" => vec![page_id.into()], "Count" => 1, "Resources" => resources_id,
            "MediaBox" => vec![0.into(), 0.into(), 595.into(), 842.into()],
        }),
    );
    let catalog_id = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages_id });
    let info_id = doc.add_object(dictionary! { "Author" => Object::string_literal(author) });
    doc.trailer.set("Root", catalog_id);
    doc.trailer.set("Info", info_id);
    let mut out = Vec::new();
    doc.save_to(&mut out).unwrap();
    out
}

#[test]
fn a_pdf_text_layer_and_its_document_information() {
    let bytes = pdf(&["Response to FOI 2023-0412", "Complainant NI number AB123456C"], "DC 4711 Bloggs");
    let r = expect("reply.pdf", &bytes, Verdict::DoNotRelease, &[], &[Detector::Nino, Detector::Metadata]);
    let nino = r.findings.iter().find(|f| f.detector == Detector::Nino).unwrap();
    assert_eq!(nino.part.name, "page 1");
    let clean = pdf(&["Response to FOI 2023-0412", "Constables: 6803. Sergeants: 1034."], "");
    expect("clean.pdf", &clean, Verdict::Clear, &[], &[]);
    // A PDF that does not parse is not cleared.
    let mut broken = bytes.clone();
    broken.truncate(bytes.len() / 3);
    let r = scan("broken.pdf", &broken);
    assert_eq!(r.verdict, Verdict::CannotInspect, "{}", r.to_text(false));
}

/// A JPEG with an EXIF block: GPS, a camera model and an artist.
fn jpeg_with_exif(gps: bool) -> Vec<u8> {
    use exif::{Field, In, Rational, Tag, Value};
    let img = image::RgbImage::from_fn(32, 32, |x, y| image::Rgb([(x * 8) as u8, (y * 8) as u8, 90]));
    let mut jpeg = Vec::new();
    image::codecs::jpeg::JpegEncoder::new(&mut jpeg).encode_image(&img).unwrap();
    let model = Field { tag: Tag::Model, ifd_num: In::PRIMARY, value: Value::Ascii(vec![b"Body-worn 3".to_vec()]) };
    let artist = Field { tag: Tag::Artist, ifd_num: In::PRIMARY, value: Value::Ascii(vec![b"PC Jane Doe".to_vec()]) };
    let lat = Field {
        tag: Tag::GPSLatitude,
        ifd_num: In::PRIMARY,
        value: Value::Rational(vec![Rational::from((54, 1)), Rational::from((35, 1)), Rational::from((50, 1))]),
    };
    let lat_ref = Field { tag: Tag::GPSLatitudeRef, ifd_num: In::PRIMARY, value: Value::Ascii(vec![b"N".to_vec()]) };
    let mut w = exif::experimental::Writer::new();
    w.push_field(&model);
    w.push_field(&artist);
    if gps {
        w.push_field(&lat);
        w.push_field(&lat_ref);
    }
    let mut tiff = Cursor::new(Vec::new());
    w.write(&mut tiff, false).unwrap();
    let mut payload = b"Exif\0\0".to_vec();
    payload.extend(tiff.into_inner());
    let mut out = jpeg[..2].to_vec();
    out.extend([0xFF, 0xE1]);
    out.extend(((payload.len() + 2) as u16).to_be_bytes());
    out.extend(payload);
    out.extend(&jpeg[2..]);
    out
}

#[test]
fn photo_gps_and_metadata() {
    let r =
        expect("scene.jpg", &jpeg_with_exif(true), Verdict::DoNotRelease, &[Hidden::Gps, Hidden::ImageMetadata], &[]);
    assert_eq!(r.findings.iter().find(|f| f.hidden == Some(Hidden::Gps)).unwrap().severity, Severity::Medium);
    assert!(!serde_json::to_string(&r).unwrap().contains("Jane"));
    // Without a position, the metadata is reported and does not block.
    let r =
        expect("scene.jpg", &jpeg_with_exif(false), Verdict::Clear, &[Hidden::ImageMetadata], &[Detector::Metadata]);
    assert!(!has_hidden(&r, Hidden::Gps));
    // No EXIF at all: nothing to find.
    let img = image::RgbImage::from_fn(8, 8, |_, _| image::Rgb([1, 2, 3]));
    let mut png = Vec::new();
    image::codecs::png::PngEncoder::new(&mut png)
        .write_image(img.as_raw(), 8, 8, image::ExtendedColorType::Rgb8)
        .unwrap();
    expect("plain.png", &png, Verdict::Clear, &[], &[]);
}

// ---------------------------------------------------------------- OpenDocument

fn odf(mimetype: &str, body: &str, styles: &str, meta: Option<&str>) -> Vec<u8> {
    let content = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:style="urn:oasis:names:tc:opendocument:xmlns:style:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" xmlns:fo="urn:oasis:names:tc:opendocument:xmlns:xsl-fo-compatible:1.0"><office:automatic-styles>{styles}</office:automatic-styles><office:body>{body}</office:body></office:document-content>"#
    );
    let mut members: Vec<(&str, Vec<u8>)> = vec![("mimetype", mimetype.into()), ("content.xml", content.into_bytes())];
    if let Some(m) = meta {
        let meta = format!(
            r#"<?xml version="1.0"?><office:document-meta xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:meta="urn:oasis:names:tc:opendocument:xmlns:meta:1.0" xmlns:dc="http://purl.org/dc/elements/1.1/"><office:meta>{m}</office:meta></office:document-meta>"#
        );
        members.push(("meta.xml", meta.into_bytes()));
    }
    zip_of(&members)
}

fn ods(tables: &str, styles: &str) -> Vec<u8> {
    odf(
        "application/vnd.oasis.opendocument.spreadsheet",
        &format!("<office:spreadsheet>{tables}</office:spreadsheet>"),
        styles,
        None,
    )
}

fn ods_row(cells: &[&str], attrs: &str) -> String {
    let cells: String = cells
        .iter()
        .map(|c| format!("<table:table-cell office:value-type=\"string\"><text:p>{c}</text:p></table:table-cell>"))
        .collect();
    format!("<table:table-row {attrs}>{cells}</table:table-row>")
}

#[test]
fn opendocument_spreadsheets_and_text() {
    let visible = format!(
        "<table:table table:name=\"Headcount\">{}{}</table:table>",
        ods_row(&["Rank", "Headcount"], ""),
        ods_row(&["Constable", "6803"], "")
    );
    expect("clean.ods", &ods(&visible, ""), Verdict::Clear, &[], &[]);

    let hidden_style = r#"<style:style style:name="ta2" style:family="table"><style:table-properties table:display="false"/></style:style>"#;
    let staff = format!(
        "<table:table table:name=\"Staff\" table:style-name=\"ta2\">{}{}</table:table>",
        ods_row(&["Surname", "Initial", "Staff Number"], ""),
        ods_row(&["Bloggs", "J", "40001"], "table:number-rows-repeated=\"3\"")
    );
    let r = expect(
        "psni.ods",
        &ods(&format!("{visible}{staff}"), hidden_style),
        Verdict::DoNotRelease,
        &[Hidden::HiddenSheet],
        &[Detector::PersonalDataTable],
    );
    let sheet = r.findings.iter().find(|f| f.hidden == Some(Hidden::HiddenSheet)).unwrap();
    assert_eq!((sheet.count, sheet.severity, sheet.part.state.as_deref()), (12, Severity::Critical, Some("hidden")));

    let rows = format!(
        "<table:table table:name=\"T\"><table:table-column table:number-columns-repeated=\"2\"/><table:table-column table:visibility=\"collapse\"/>{}{}{}</table:table>",
        ods_row(&["Area", "Count", "Notes"], ""),
        ods_row(&["North", "12", "NI AB123456C"], ""),
        ods_row(&["Witness 07700 900456", "1", ""], "table:visibility=\"filter\"")
    );
    expect(
        "rows.ods",
        &ods(&rows, ""),
        Verdict::DoNotRelease,
        &[Hidden::HiddenColumns, Hidden::FilteredRows],
        &[Detector::Nino, Detector::Phone],
    );

    let annotated = "<table:table table:name=\"T\"><table:table-row><table:table-cell><text:p>12</text:p><office:annotation><text:p>Victim DOB 12/03/1984</text:p></office:annotation></table:table-cell></table:table-row></table:table>";
    expect("notes.ods", &ods(annotated, ""), Verdict::DoNotRelease, &[Hidden::Comments], &[Detector::DateOfBirth]);

    let text_styles = r#"<style:style style:name="T1" style:family="text"><style:text-properties text:display="none"/></style:style>"#;
    let body = "<office:text><text:p>Response to your request.</text:p>\
        <text:p>Figures <text:span text:style-name=\"T1\">NHS 943 476 5919</text:span></text:p>\
        <text:tracked-changes><text:changed-region text:id=\"c1\"><text:deletion><text:p>Suspect postcode SW1A 2AA</text:p></text:deletion></text:changed-region></text:tracked-changes></office:text>";
    let meta = "<meta:initial-creator>DC Jane Doe</meta:initial-creator><dc:creator>Jane Doe</dc:creator>";
    let odt = odf("application/vnd.oasis.opendocument.text", body, text_styles, Some(meta));
    let r = expect(
        "letter.odt",
        &odt,
        Verdict::DoNotRelease,
        &[Hidden::HiddenText, Hidden::TrackedDeletion],
        &[Detector::NhsNumber, Detector::Postcode, Detector::Metadata],
    );
    assert!(r.findings.iter().filter(|f| f.detector == Detector::NhsNumber).all(|f| f.in_hidden));
}

#[test]
fn opendocument_common_styles_are_resolved_through_their_parents() {
    const NS: &str = r#"xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:style="urn:oasis:names:tc:opendocument:xmlns:style:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" xmlns:fo="urn:oasis:names:tc:opendocument:xmlns:xsl-fo-compatible:1.0""#;
    // "Secret" is a common style the user picked by name; "Quiet" inherits
    // from it; P1, in content.xml, inherits from "Quiet".
    let styles = format!(
        r#"<?xml version="1.0"?><office:document-styles {NS}><office:styles>
        <style:style style:name="Secret" style:family="paragraph"><style:text-properties text:display="none"/></style:style>
        <style:style style:name="Quiet" style:family="paragraph" style:parent-style-name="Secret"/>
        </office:styles></office:document-styles>"#
    );
    let odt = |body: &str| {
        let content = format!(
            r#"<?xml version="1.0"?><office:document-content {NS}><office:automatic-styles>
            <style:style style:name="P1" style:family="paragraph" style:parent-style-name="Quiet"/>
            </office:automatic-styles><office:body><office:text><text:p>Response to your request.</text:p>{body}</office:text></office:body></office:document-content>"#
        );
        zip_of(&[
            ("mimetype", "application/vnd.oasis.opendocument.text".into()),
            ("styles.xml", styles.clone().into_bytes()),
            ("content.xml", content.into_bytes()),
        ])
    };
    for (name, body) in [
        ("direct.odt", r#"<text:p text:style-name="Secret">NHS 943 476 5919</text:p>"#),
        ("inherited.odt", r#"<text:p text:style-name="P1">NHS 943 476 5919</text:p>"#),
    ] {
        let r = expect(name, &odt(body), Verdict::DoNotRelease, &[Hidden::HiddenText], &[Detector::NhsNumber]);
        assert!(r.findings.iter().filter(|f| f.detector == Detector::NhsNumber).all(|f| f.in_hidden), "{name}");
    }
    // The same paragraph in a visible common style is personal data, not
    // hidden content; and a style that does not hide anything hides nothing.
    let r = scan("visible.odt", &odt(r#"<text:p text:style-name="Standard">NHS 943 476 5919</text:p>"#));
    assert!(!has_hidden(&r, Hidden::HiddenText) && has_detector(&r, Detector::NhsNumber), "{}", r.to_text(false));
    let r = scan("clean.odt", &odt(r#"<text:p text:style-name="Quiet2">Figures for 2023.</text:p>"#));
    assert_eq!(r.verdict, Verdict::Clear, "{}", r.to_text(false));
}

// ---------------------------------------------------------------- legacy Excel

/// A BIFF8 workbook in a compound file: `sheets` of (name, state, cells),
/// state 0 visible, 1 hidden, 2 veryHidden. `dimensions` forges the first
/// sheet's declared size.
/// (row, column, text) cells of a legacy sheet.
type XlsCells<'a> = &'a [(u16, u16, &'a str)];

fn xls(sheets: &[(&str, u8, XlsCells<'_>)], dimensions: Option<(u32, u16)>) -> Vec<u8> {
    xls_with(sheets, dimensions, &[], &[])
}

/// The same, with rows and columns of the first sheet hidden (ROW with
/// fDyZero, COLINFO with fHidden), and extra compound-file streams.
fn xls_with(
    sheets: &[(&str, u8, XlsCells<'_>)],
    dimensions: Option<(u32, u16)>,
    hidden: &[(u16, bool)],
    streams: &[&str],
) -> Vec<u8> {
    fn rec(out: &mut Vec<u8>, typ: u16, data: &[u8]) {
        out.extend(typ.to_le_bytes());
        out.extend((data.len() as u16).to_le_bytes());
        out.extend(data);
    }
    let bof = |dt: u16| {
        let mut d = 0x0600u16.to_le_bytes().to_vec();
        d.extend(dt.to_le_bytes());
        d.extend([0u8; 12]);
        d
    };
    // Sheet substreams first, to know their sizes.
    let mut subs = Vec::new();
    for (i, (_, _, cells)) in sheets.iter().enumerate() {
        let mut s = Vec::new();
        rec(&mut s, 0x0809, &bof(0x0010));
        if let (0, Some((rows, cols))) = (i, dimensions) {
            let mut d = 0u32.to_le_bytes().to_vec();
            d.extend(rows.to_le_bytes());
            d.extend(0u16.to_le_bytes());
            d.extend(cols.to_le_bytes());
            d.extend(0u16.to_le_bytes());
            rec(&mut s, 0x0200, &d);
        }
        if i == 0 {
            for (n, is_row) in hidden {
                if *is_row {
                    // ROW: rw, colMic, colMac, miyRw, 4 reserved bytes, flags (fDyZero = 0x20), ixfe.
                    let mut d = n.to_le_bytes().to_vec();
                    d.extend([0, 0, 8, 0, 0xFF, 0, 0, 0, 0, 0]);
                    d.extend(0x0020u16.to_le_bytes());
                    d.extend(0x000Fu16.to_le_bytes());
                    rec(&mut s, 0x0208, &d);
                } else {
                    // COLINFO: colFirst, colLast, coldx, ixfe, flags (fHidden = 1), reserved.
                    let mut d = n.to_le_bytes().to_vec();
                    d.extend(n.to_le_bytes());
                    d.extend([0, 9, 0x0F, 0, 1, 0, 0, 0]);
                    rec(&mut s, 0x007D, &d);
                }
            }
        }
        for (row, col, text) in *cells {
            let mut d = row.to_le_bytes().to_vec();
            d.extend(col.to_le_bytes());
            d.extend(0u16.to_le_bytes());
            d.extend((text.len() as u16).to_le_bytes());
            d.push(0);
            d.extend(text.as_bytes());
            rec(&mut s, 0x0204, &d);
        }
        rec(&mut s, 0x000A, &[]);
        subs.push(s);
    }
    let boundsheet = |pos: u32, state: u8, name: &str| {
        let mut d = pos.to_le_bytes().to_vec();
        d.extend([state, 0, name.len() as u8, 0]);
        d.extend(name.as_bytes());
        d
    };
    let globals_len = |positions: &[u32]| {
        let mut g = Vec::new();
        rec(&mut g, 0x0809, &bof(0x0005));
        for ((name, state, _), pos) in sheets.iter().zip(positions) {
            rec(&mut g, 0x0085, &boundsheet(*pos, *state, name));
        }
        rec(&mut g, 0x000A, &[]);
        g
    };
    let first = globals_len(&vec![0; sheets.len()]).len() as u32;
    let mut positions = Vec::new();
    let mut at = first;
    for s in &subs {
        positions.push(at);
        at += s.len() as u32;
    }
    let mut stream = globals_len(&positions);
    for s in subs {
        stream.extend(s);
    }
    let mut cf = cfb::CompoundFile::create(Cursor::new(Vec::new())).unwrap();
    cf.create_stream("Workbook").unwrap().write_all(&stream).unwrap();
    for name in streams {
        cf.create_stream(name).unwrap().write_all(b"cache").unwrap();
    }
    cf.flush().unwrap();
    cf.into_inner().into_inner()
}

fn compound(stream: &str) -> Vec<u8> {
    let mut cf = cfb::CompoundFile::create(Cursor::new(Vec::new())).unwrap();
    cf.create_stream(stream).unwrap().write_all(b"not really").unwrap();
    cf.flush().unwrap();
    cf.into_inner().into_inner()
}

#[test]
fn legacy_excel_sheets_states_and_cells() {
    let visible: &[(u16, u16, &str)] = &[(0, 0, "Rank"), (0, 1, "Headcount"), (1, 0, "Constable"), (1, 1, "6803")];
    expect("clean.xls", &xls(&[("Headcount", 0, visible)], None), Verdict::Clear, &[], &[]);
    let staff: &[(u16, u16, &str)] =
        &[(0, 0, "Surname"), (0, 1, "Initial"), (0, 2, "Staff Number"), (1, 0, "Bloggs"), (1, 1, "J"), (1, 2, "40001")];
    let r = expect(
        "psni.xls",
        &xls(&[("Headcount", 0, visible), ("Sheet2", 1, staff)], None),
        Verdict::DoNotRelease,
        &[Hidden::HiddenSheet],
        &[Detector::PersonalDataTable],
    );
    assert!(r.findings.iter().any(|f| f.part.name == "Sheet2" && f.part.state.as_deref() == Some("hidden")));
    let nino: &[(u16, u16, &str)] = &[(0, 0, "NI AB123456C")];
    expect(
        "very.xls",
        &xls(&[("A", 0, visible), ("B", 2, nino)], None),
        Verdict::DoNotRelease,
        &[Hidden::VeryHiddenSheet],
        &[Detector::Nino],
    );
    // Hidden rows and columns, which calamine does not report, and a pivot cache.
    let cells: &[(u16, u16, &str)] = &[
        (0, 0, "Area"),
        (0, 1, "Count"),
        (1, 0, "North"),
        (1, 1, "12"),
        (2, 0, "Witness 07700 900456"),
        (1, 3, "AB123456C"),
    ];
    let bytes = xls_with(&[("A", 0, cells)], None, &[(2, true), (3, false)], &["_SX_DB_CUR"]);
    let r = expect(
        "hidden.xls",
        &bytes,
        Verdict::DoNotRelease,
        &[Hidden::HiddenRows, Hidden::HiddenColumns, Hidden::PivotCache],
        &[Detector::Phone, Detector::Nino],
    );
    assert!(
        r.findings
            .iter()
            .filter(|f| f.detector == Detector::Phone || f.detector == Detector::Nino)
            .all(|f| f.in_hidden)
    );
    // A forged size is refused before the reader reserves memory for it.
    let r = scan("forged.xls", &xls(&[("A", 0, visible)], Some((1_000_000, 255))));
    assert_eq!(r.verdict, Verdict::CannotInspect, "{}", r.to_text(false));
    assert!(r.findings[0].note.as_deref().unwrap().contains("declares"));
    for (stream, why) in [("EncryptionInfo", "encrypted"), ("WordDocument", "legacy Word"), ("Other", "unknown kind")] {
        let r = scan("x.xls", &compound(stream));
        assert_eq!(r.verdict, Verdict::CannotInspect);
        assert!(r.findings[0].note.as_deref().unwrap().contains(why), "{stream}: {:?}", r.findings[0].note);
    }
}

// ---------------------------------------------------------------- the documented schema

/// Checks `value` against the parts of JSON Schema the report schema uses
/// (type, required, additionalProperties, properties, enum, const, items,
/// $ref), so the document and the code cannot drift apart.
fn conforms(value: &serde_json::Value, schema: &serde_json::Value, root: &serde_json::Value, at: &str) {
    use serde_json::Value;
    if let Some(r) = schema.get("$ref").and_then(Value::as_str) {
        let name = r.trim_start_matches("#/$defs/");
        return conforms(value, &root["$defs"][name], root, at);
    }
    if let Some(c) = schema.get("const") {
        assert_eq!(value, c, "{at}");
    }
    if let Some(e) = schema.get("enum").and_then(Value::as_array) {
        assert!(e.contains(value), "{at}: {value} not in {e:?}");
    }
    match schema.get("type").and_then(Value::as_str) {
        Some("object") => assert!(value.is_object(), "{at}"),
        Some("array") => assert!(value.is_array(), "{at}"),
        Some("string") => assert!(value.is_string(), "{at}"),
        Some("integer") => assert!(value.is_u64() || value.is_i64(), "{at}"),
        Some("boolean") => assert!(value.is_boolean(), "{at}"),
        _ => {}
    }
    if let Some(obj) = value.as_object() {
        for req in schema.get("required").and_then(Value::as_array).into_iter().flatten() {
            assert!(obj.contains_key(req.as_str().unwrap()), "{at}: missing {req}");
        }
        let props = schema.get("properties").and_then(Value::as_object);
        for (k, v) in obj {
            match props.and_then(|p| p.get(k)) {
                Some(s) => conforms(v, s, root, &format!("{at}.{k}")),
                None => {
                    if let Some(extra) = schema.get("additionalProperties") {
                        assert_ne!(extra, &Value::Bool(false), "{at}: unexpected {k}");
                        conforms(v, extra, root, &format!("{at}.{k}"));
                    }
                }
            }
        }
    }
    if let (Some(items), Some(arr)) = (schema.get("items"), value.as_array()) {
        for (i, v) in arr.iter().enumerate() {
            conforms(v, items, root, &format!("{at}[{i}]"));
        }
    }
}

#[test]
fn reports_match_the_documented_schema() {
    let schema: serde_json::Value =
        serde_json::from_str(include_str!("../../../docs/scan-report.schema.json")).unwrap();
    let psni = xlsx(|wb| {
        headcount(wb.add_worksheet());
        let ws = wb.add_worksheet().set_name("Sheet2").unwrap();
        staff_list(ws, 0);
        ws.set_hidden(true);
        wb.set_properties(&DocProperties::new().set_author("Someone"));
    });
    for (name, bytes) in [
        ("psni.xlsx", psni),
        ("clean.csv", b"Rank,Headcount\nConstable,6803\n".to_vec()),
        ("bad.pdf", b"%PDF-1.7 broken".to_vec()),
        ("release.zip", zip_of(&[("a.csv", b"ref,ni\n1,AB123456C\n".to_vec())])),
    ] {
        let report = serde_json::to_value(scan(name, &bytes)).unwrap();
        conforms(&report, &schema, &schema, name);
    }
    // Every detector and hidden kind the code can emit is in the schema.
    let detectors = schema["$defs"]["finding"]["properties"]["detector"]["enum"].as_array().unwrap();
    for d in
        Detector::PERSONAL.into_iter().chain([Detector::HiddenContent, Detector::Metadata, Detector::Uninspectable])
    {
        assert!(detectors.contains(&serde_json::json!(d.as_str())), "{d}");
    }
    let kinds = schema["$defs"]["finding"]["properties"]["hidden"]["enum"].as_array().unwrap();
    for h in lanyard_guard::report::HIDDEN_ALL {
        assert!(kinds.contains(&serde_json::json!(h.as_str())), "{h:?}");
    }
}

#[test]
fn files_on_disk_and_folders_are_read_in_place() {
    let dir = tempfile::tempdir().unwrap();
    let psni = xlsx(|wb| {
        headcount(wb.add_worksheet());
        let ws = wb.add_worksheet().set_name("Sheet2").unwrap();
        staff_list(ws, 0);
        ws.set_hidden(true);
    });
    std::fs::create_dir(dir.path().join("reply")).unwrap();
    std::fs::write(dir.path().join("reply/psni.xlsx"), &psni).unwrap();
    std::fs::write(dir.path().join("reply/letter.docx"), docx(&clean_letter(), &[])).unwrap();
    let r = Scanner::default().scan_paths(&[dir.path().to_owned()]);
    assert_eq!((r.verdict, r.files), (Verdict::DoNotRelease, 2), "{}", r.to_text(false));
    let hidden = r.findings.iter().find(|f| f.hidden == Some(Hidden::HiddenSheet)).unwrap();
    assert!(hidden.file.ends_with("reply/psni.xlsx"));
    // The same bytes in memory give the same findings.
    let in_memory = scan("psni.xlsx", &psni);
    assert_eq!(in_memory.findings.len(), r.findings.len());
}

#[test]
fn a_file_that_takes_too_long_is_uninspectable() {
    let rows: String = (0..5_000).map(|i| format!("Constable,{i}\n")).collect();
    let slow = Scanner {
        limits: lanyard_guard::Limits { timeout: std::time::Duration::ZERO, ..Default::default() },
        ..Scanner::default()
    };
    let r = slow.scan_bytes("long.csv", format!("Rank,Headcount\n{rows}").as_bytes());
    assert_eq!(r.verdict, Verdict::CannotInspect, "{}", r.to_text(false));
    assert!(r.findings[0].note.as_deref().unwrap().contains("took longer"));
}

#[test]
fn text_hidden_by_a_style_is_hidden_text() {
    let styles = format!(
        r#"<w:styles xmlns:w="{W}">
            <w:style w:type="character" w:styleId="Quiet"><w:rPr><w:vanish/></w:rPr></w:style>
            <w:style w:type="character" w:styleId="Quieter"><w:basedOn w:val="Quiet"/></w:style>
            <w:style w:type="paragraph" w:styleId="Ghost"><w:rPr><w:color w:val="FFFFFF"/></w:rPr></w:style>
            <w:style w:type="character" w:styleId="Loud"><w:basedOn w:val="Quiet"/><w:rPr><w:vanish w:val="0"/></w:rPr></w:style>
        </w:styles>"#
    );
    let body = format!(
        "<w:p><w:r><w:rPr><w:rStyle w:val=\"Quieter\"/></w:rPr><w:t>Informant AB123456C</w:t></w:r></w:p>\
         <w:p><w:pPr><w:pStyle w:val=\"Ghost\"/></w:pPr><w:r><w:t>Call 07700 900123</w:t></w:r></w:p>\
         <w:p><w:r><w:rPr><w:rStyle w:val=\"Loud\"/></w:rPr><w:t>Constables 6803</w:t></w:r></w:p>{}",
        clean_letter()
    );
    let r = expect(
        "styled.docx",
        &docx(&body, &[("word/styles.xml", styles)]),
        Verdict::DoNotRelease,
        &[Hidden::HiddenText, Hidden::WhiteText],
        &[Detector::Nino, Detector::Phone],
    );
    assert!(
        r.findings
            .iter()
            .filter(|f| f.detector == Detector::Nino || f.detector == Detector::Phone)
            .all(|f| f.in_hidden)
    );
    // A style that undoes its parent's vanish leaves its text visible.
    let hidden = r.findings.iter().find(|f| f.hidden == Some(Hidden::HiddenText)).unwrap();
    assert_eq!(hidden.count, 1);
}
