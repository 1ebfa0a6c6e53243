//! Images: their EXIF metadata. A GPS position is hidden content that must
//! be looked at (it can say where a photo was taken: a victim's home);
//! camera, times and the rest are reported; free-text fields (artist,
//! description, comment) are scanned. The pixels are not read (no OCR).

use exif::{Context, In, Tag};

use crate::error::ScanError;
use crate::report::{Hidden, Part};
use crate::sink::Sink;

pub(crate) fn scan(sink: &mut Sink<'_>, bytes: &[u8]) -> Result<(), ScanError> {
    let mut cursor = std::io::BufReader::new(std::io::Cursor::new(bytes));
    let exif = match exif::Reader::new().read_from_container(&mut cursor) {
        Ok(e) => e,
        // No EXIF at all: nothing hidden in the metadata.
        Err(exif::Error::NotFound(_)) => return Ok(()),
        Err(exif::Error::BlankValue(_)) => return Ok(()),
        Err(e) => return Err(ScanError::Corrupt(format!("image metadata: {e}"))),
    };
    let part = Part::named("EXIF");
    let mut gps = 0u64;
    let mut other = 0u64;
    for field in exif.fields() {
        sink.tick()?;
        if field.tag.context() == Context::Gps {
            gps += 1;
            continue;
        }
        other += 1;
        if matches!(field.tag, Tag::Artist | Tag::ImageDescription | Tag::UserComment | Tag::Copyright)
            && field.ifd_num == In::PRIMARY
        {
            let value = field.display_value().to_string();
            sink.metadata(&part, &field.tag.to_string(), value.trim_matches('"'));
        }
    }
    if gps > 0 {
        sink.hidden(&part, Hidden::Gps, gps, None, Some("a GPS position: where the picture was taken".into()));
    }
    if other > 0 {
        sink.hidden(&part, Hidden::ImageMetadata, other, None, Some("camera, times and settings".into()));
    }
    Ok(())
}
