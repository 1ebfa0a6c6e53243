//! Photo intake: decode, bound, re-encode. Re-encoding from pixels is what
//! strips EXIF, GPS and every other metadata segment: the encoder writes
//! only the image.

use std::io::Cursor;

use image::imageops::FilterType;
use image::{ImageReader, Limits};

/// Largest photo file accepted.
pub const MAX_PHOTO_BYTES: usize = 10 * 1024 * 1024;
/// Largest accepted width or height, in pixels.
pub const MAX_PHOTO_SIDE: u32 = 8000;
/// Stored photos are scaled down to fit this box (portrait, 3:4).
pub const STORED_BOX: (u32, u32) = (600, 800);

/// Decodes a JPEG or PNG and returns a clean JPEG, or why it was refused.
pub fn normalise_photo(bytes: &[u8]) -> Result<Vec<u8>, String> {
    if bytes.len() > MAX_PHOTO_BYTES {
        return Err(format!("larger than {} MiB", MAX_PHOTO_BYTES / (1024 * 1024)));
    }
    let mut reader =
        ImageReader::new(Cursor::new(bytes)).with_guessed_format().map_err(|_| "unreadable image".to_owned())?;
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_PHOTO_SIDE);
    limits.max_image_height = Some(MAX_PHOTO_SIDE);
    limits.max_alloc = Some(512 * 1024 * 1024);
    reader.limits(limits);
    match reader.format() {
        Some(image::ImageFormat::Jpeg) | Some(image::ImageFormat::Png) => {}
        _ => return Err("not a JPEG or PNG image".to_owned()),
    }
    let img = reader.decode().map_err(|e| match e {
        image::ImageError::Limits(_) => format!("wider or taller than {MAX_PHOTO_SIDE} pixels"),
        _ => "corrupt or unsupported image".to_owned(),
    })?;
    let img = if img.width() > STORED_BOX.0 || img.height() > STORED_BOX.1 {
        img.resize(STORED_BOX.0, STORED_BOX.1, FilterType::Triangle)
    } else {
        img
    };
    let rgb = img.to_rgb8();
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 85)
        .encode_image(&rgb)
        .map_err(|_| "could not re-encode the image".to_owned())?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jpeg(w: u32, h: u32) -> Vec<u8> {
        let img = image::RgbImage::from_fn(w, h, |x, y| image::Rgb([(x % 255) as u8, (y % 255) as u8, 90]));
        let mut out = Vec::new();
        image::codecs::jpeg::JpegEncoder::new(&mut out).encode_image(&img).unwrap();
        out
    }

    /// Inserts an APP1 Exif segment holding a fake GPS tag right after SOI.
    pub(crate) fn with_exif(jpeg: &[u8]) -> Vec<u8> {
        let payload = b"Exif\0\0MM\0*GPSLatitude=51.5007N;GPSLongitude=0.1246W";
        let len = (payload.len() + 2) as u16;
        let mut out = jpeg[..2].to_vec();
        out.extend_from_slice(&[0xFF, 0xE1]);
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(payload);
        out.extend_from_slice(&jpeg[2..]);
        out
    }

    #[test]
    fn strips_metadata_and_bounds_size() {
        let original = with_exif(&jpeg(1200, 1600));
        assert!(original.windows(4).any(|w| w == b"Exif"));
        let clean = normalise_photo(&original).unwrap();
        assert!(!clean.windows(4).any(|w| w == b"Exif"));
        assert!(!clean.windows(11).any(|w| w == b"GPSLatitude"));
        let img = image::load_from_memory(&clean).unwrap();
        assert_eq!((img.width(), img.height()), (600, 800));
    }

    #[test]
    fn refuses_garbage_huge_and_other_formats() {
        assert!(normalise_photo(b"not an image").is_err());
        assert!(normalise_photo(&vec![0u8; MAX_PHOTO_BYTES + 1]).unwrap_err().contains("larger"));
        let gif = b"GIF89a\x01\x00\x01\x00\x00\x00\x00;";
        assert!(normalise_photo(gif).is_err());
        let mut truncated = jpeg(100, 100);
        truncated.truncate(200);
        assert!(normalise_photo(&truncated).is_err());
    }
}
