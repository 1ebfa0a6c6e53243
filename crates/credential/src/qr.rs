//! The QR text of a card, `LY1:` + base45(zlib(COSE_Sign1)), as the EU
//! Digital COVID Certificate does with `HC1:`, and its QR symbol: every
//! character is in the QR alphanumeric set, and ECC level Q survives a
//! scratched card.

use std::io::Write;

use flate2::Compression;
use flate2::write::ZlibEncoder;
use qrcode::EcLevel;
use qrcode::canvas::Canvas;

use crate::error::CredentialError;

mod mask;

/// The prefix naming lanyard's credential format, version 1.
pub const PREFIX: &str = "LY1:";
/// The longest QR text accepted: a version-40 symbol's alphanumeric capacity.
pub const MAX_TEXT: usize = 4296;
/// The largest credential accepted after decompression; a card's is a few
/// hundred bytes, so anything bigger is a decompression bomb or not ours.
pub const MAX_COSE: usize = 8 * 1024;

/// The QR text of a signed credential.
pub fn encode_text(cose: &[u8]) -> Result<String, CredentialError> {
    let mut z = ZlibEncoder::new(Vec::with_capacity(cose.len()), Compression::best());
    z.write_all(cose).map_err(|e| CredentialError::Qr(e.to_string()))?;
    let compressed = z.finish().map_err(|e| CredentialError::Qr(e.to_string()))?;
    Ok(format!("{PREFIX}{}", base45::encode(compressed)))
}

/// The COSE bytes inside a QR text, refusing anything that is not exactly
/// `LY1:` + base45 + a bounded zlib stream.
pub fn decode_text(text: &str) -> Result<Vec<u8>, CredentialError> {
    let text = text.trim_end_matches(['\r', '\n']);
    if text.len() > MAX_TEXT {
        return Err(CredentialError::malformed(format!("QR text: longer than {MAX_TEXT} characters")));
    }
    let body = text
        .strip_prefix(PREFIX)
        .ok_or_else(|| CredentialError::malformed(format!("QR text: does not start with {PREFIX}")))?;
    let compressed = base45::decode(body).map_err(|_| CredentialError::malformed("QR text: not base45"))?;
    inflate_bounded(&compressed)
}

thread_local! {
    // One inflater per thread, reset for each credential: setting up a
    // zlib state (and its 32 KiB window) cost more than inflating a card.
    static INFLATER: std::cell::RefCell<flate2::Decompress> = std::cell::RefCell::new(flate2::Decompress::new(true));
}

/// Inflates a zlib stream into at most [`MAX_COSE`] bytes; anything longer,
/// truncated or not zlib is refused.
fn inflate_bounded(compressed: &[u8]) -> Result<Vec<u8>, CredentialError> {
    let bad = || CredentialError::malformed("QR text: not a zlib stream");
    INFLATER.with(|cell| {
        let mut z = cell.borrow_mut();
        z.reset(true);
        // One byte of room past the limit tells "exactly at" from "over".
        let mut out = Vec::with_capacity(MAX_COSE + 1);
        let status = z.decompress_vec(compressed, &mut out, flate2::FlushDecompress::Finish).map_err(|_| bad())?;
        if out.len() > MAX_COSE {
            return Err(CredentialError::malformed(format!("QR text: credential larger than {MAX_COSE} bytes")));
        }
        match status {
            flate2::Status::StreamEnd => Ok(out),
            // Output full before the stream ended: the credential is too big.
            _ if out.len() == out.capacity() => {
                Err(CredentialError::malformed(format!("QR text: credential larger than {MAX_COSE} bytes")))
            }
            _ => Err(bad()),
        }
    })
}

/// A QR symbol as a square of dark (`true`) and light modules, without the
/// quiet zone.
#[derive(Clone, Debug)]
pub struct QrMatrix {
    /// Modules per side.
    pub width: usize,
    /// Row-major modules.
    pub modules: Vec<bool>,
}

impl QrMatrix {
    /// Whether the module at column `x`, row `y` is dark.
    pub fn dark(&self, x: usize, y: usize) -> bool {
        x < self.width
            && y < self.width
            && y.checked_mul(self.width).and_then(|r| self.modules.get(r + x)).copied().unwrap_or(false)
    }
}

/// The QR symbol of `text` at ECC level Q. The encoder picks alphanumeric
/// mode by itself for an `LY1:` text, since base45 is that alphabet.
///
/// These are the steps of qrcode's `QrCode::with_error_correction_level`,
/// through its public parts, with the mask chosen by [`mask::best`] (the
/// same choice, several times faster): the symbol is qrcode's, bit for bit.
pub fn symbol(text: &str) -> Result<QrMatrix, CredentialError> {
    let qr = |e: qrcode::types::QrError| CredentialError::Qr(e.to_string());
    let bits = qrcode::bits::encode_auto(text.as_bytes(), EcLevel::Q).map_err(qr)?;
    let version = bits.version();
    let (data, ec) = qrcode::ec::construct_codewords(&bits.into_bytes(), version, EcLevel::Q).map_err(qr)?;
    let mut canvas = Canvas::new(version, EcLevel::Q);
    canvas.draw_all_functional_patterns();
    canvas.draw_data(&data, &ec);
    let width = usize::try_from(version.width()).map_err(|_| CredentialError::Qr("symbol width".into()))?;
    Ok(QrMatrix { width, modules: mask::best(&canvas, width) })
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn round_trips_and_refuses_foreign_text() {
        let text = encode_text(b"\xd2\x84cose bytes").unwrap();
        assert!(text.starts_with(PREFIX));
        assert_eq!(decode_text(&text).unwrap(), b"\xd2\x84cose bytes");
        assert_eq!(decode_text(&format!("{text}\n")).unwrap(), b"\xd2\x84cose bytes");
        assert!(decode_text("HC1:ABC").unwrap_err().to_string().contains("LY1:"));
        assert!(decode_text("LY1:abc").unwrap_err().to_string().contains("base45"));
        assert!(decode_text("LY1:").is_err());
    }

    #[test]
    fn refuses_decompression_bombs() {
        let bomb = vec![0u8; 1 << 20];
        let text = encode_text(&bomb).unwrap();
        assert!(text.len() < MAX_TEXT);
        assert!(decode_text(&text).unwrap_err().to_string().contains("larger than"));
    }

    #[test]
    fn symbol_is_alphanumeric_level_q_and_decodes() {
        let text = encode_text(&[7u8; 200]).unwrap();
        let m = symbol(&text).unwrap();
        // Render at 4 px per module with a 4-module quiet zone and read it back.
        let scale = 4;
        let side = (m.width + 8) * scale;
        let img = image::GrayImage::from_fn(side as u32, side as u32, |x, y| {
            let (mx, my) = ((x as usize / scale).wrapping_sub(4), (y as usize / scale).wrapping_sub(4));
            image::Luma([if m.dark(mx, my) { 0 } else { 255 }])
        });
        let mut prepared = rqrr::PreparedImage::prepare(img);
        let grids = prepared.detect_grids();
        let (meta, content) = grids[0].decode().unwrap();
        assert_eq!(content, text);
        assert_eq!(meta.ecc_level, 3, "ECC level Q");
    }

    /// qrcode's own symbol, its mask chosen by `apply_best_mask`: the
    /// reference `symbol` must equal.
    fn qrcodes_symbol(text: &str) -> Vec<bool> {
        let code = qrcode::QrCode::with_error_correction_level(text, EcLevel::Q).unwrap();
        code.to_colors().into_iter().map(|c| c == qrcode::Color::Dark).collect()
    }

    #[test]
    fn the_symbol_is_qrcodes_at_every_version() {
        // Alphanumeric texts from one character to a version-40 symbol's
        // level-Q capacity (2,420), so every version and every mask's
        // penalty is met along the way; and real credentials.
        let alphabet: Vec<char> = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:".chars().collect();
        let mut versions = std::collections::BTreeSet::new();
        let mut seed = 0x9e37_79b9_u64;
        for len in (1..=2420).step_by(19).chain([2420]) {
            let text: String = (0..len)
                .map(|_| {
                    seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
                    alphabet[(seed >> 33) as usize % alphabet.len()]
                })
                .collect();
            let m = symbol(&text).unwrap();
            assert_eq!(m.modules, qrcodes_symbol(&text), "{len} characters");
            versions.insert(m.width);
        }
        assert_eq!(versions.len(), 40, "every version was made: {versions:?}");
        for n in [0, 1, 50, 200, 400] {
            let text = encode_text(&vec![n as u8; n + 1]).unwrap();
            assert_eq!(symbol(&text).unwrap().modules, qrcodes_symbol(&text));
        }
        assert!(symbol(&"A".repeat(2421)).unwrap_err().to_string().contains("QR encoding failed"));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn any_text_makes_qrcodes_symbol(s in "LY1:[0-9A-Z $%*+./:-]{0,700}|\\PC{0,300}") {
            prop_assert_eq!(symbol(&s).unwrap().modules, qrcodes_symbol(&s));
        }
    }

    proptest! {
        #[test]
        fn any_text_decodes_or_refuses_without_panic(s in "LY1:[0-9A-Z $%*+./:-]{0,300}") {
            let _ = decode_text(&s);
        }
    }
}
