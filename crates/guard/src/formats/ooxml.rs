//! ZIP containers: Office Open XML (xlsx, xlsm, docx, docm), OpenDocument
//! (ODS, ODT),
//! and plain archives. Parts every OOXML file may carry are read here:
//! document properties, custom XML, VBA and embedded files (scanned as
//! files of their own, one container deeper).

use super::xml::{ReadSeek, Zip, texts_of};
use crate::error::ScanError;
use crate::report::{Hidden, Part};
use crate::sink::Sink;

pub(crate) fn scan(sink: &mut Sink<'_>, source: Box<dyn ReadSeek + '_>, depth: u32) -> Result<(), ScanError> {
    let mut zip = Zip::open(source, sink)?;
    if zip.has("xl/workbook.xml") {
        super::xlsx::scan(sink, &mut zip)?;
        common(sink, &mut zip, "xl/", depth)
    } else if zip.has("word/document.xml") {
        super::docx::scan(sink, &mut zip)?;
        common(sink, &mut zip, "word/", depth)
    } else if zip.has("mimetype") && zip.has("content.xml") {
        super::odf::scan(sink, &mut zip)?;
        for name in zip.names()? {
            if name.starts_with("Basic/") && name.ends_with(".xml") {
                sink.hidden(&Part::named(name), Hidden::Vba, 1, None, Some("macros".into()));
            }
        }
        Ok(())
    } else if zip.has("[Content_Types].xml") {
        Err(ScanError::Unsupported("an Office Open XML package other than a workbook or document".into()))
    } else {
        archive(sink, &mut zip, depth)
    }
}

/// Document properties, custom XML, VBA and embedded objects.
fn common(sink: &mut Sink<'_>, zip: &mut Zip<'_>, prefix: &str, depth: u32) -> Result<(), ScanError> {
    for name in zip.names()? {
        let lower = name.to_ascii_lowercase();
        let part = Part::named(name.clone());
        if lower.starts_with("docprops/") && lower.ends_with(".xml") {
            let mut fields = Vec::new();
            zip.with_member(sink, &name, |r, sink| {
                texts_of(r, sink, |el, text| {
                    if fields.len() < 10_000 {
                        fields.push((el.to_owned(), text.to_owned()));
                    }
                })
            })?;
            for (field, value) in &fields {
                // Application names and counts are not about people.
                if matches!(
                    field.as_str(),
                    "creator"
                        | "lastModifiedBy"
                        | "Manager"
                        | "Company"
                        | "title"
                        | "subject"
                        | "description"
                        | "keywords"
                        | "category"
                        | "lpwstr"
                        | "HyperlinkBase"
                ) {
                    sink.metadata(&part, field, value);
                }
            }
        } else if lower.starts_with("customxml/item") && !lower.contains("props") && lower.ends_with(".xml") {
            let mut texts = Vec::new();
            zip.with_member(sink, &name, |r, sink| {
                texts_of(r, sink, |_, text| {
                    if texts.len() < 100_000 {
                        texts.push(text.to_owned());
                    }
                })
            })?;
            if !texts.is_empty() {
                sink.hidden(&part, Hidden::CustomXml, texts.len() as u64, None, None);
            }
            for t in &texts {
                sink.text(&part, None, t, "", true);
            }
        } else if lower.ends_with("vbaproject.bin") {
            sink.hidden(&part, Hidden::Vba, 1, None, Some("VBA macros".into()));
        } else if lower.starts_with(&format!("{prefix}embeddings/")) && !name.ends_with('/') {
            sink.hidden(&part, Hidden::EmbeddedObject, 1, None, None);
            super::nested_member(sink, zip, &name, depth)?;
        }
    }
    Ok(())
}

/// A plain ZIP: every member scanned as a file, streamed from the archive
/// (an encrypted member is a finding of that member).
fn archive(sink: &mut Sink<'_>, zip: &mut Zip<'_>, depth: u32) -> Result<(), ScanError> {
    for name in zip.names()? {
        if name.ends_with('/') {
            continue;
        }
        super::nested_member(sink, zip, &name, depth)?;
    }
    Ok(())
}
