//! The witness's parsers of what anyone may send it: an `add-checkpoint`
//! request body, a witness key, and cosignature lines.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lanyard_note::cosignature::{Cosigner, CosignatureVerifier};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let _ = lanyard_witness::parse_request(text);
    let _ = CosignatureVerifier::parse(text);
    if let Ok(w) = Cosigner::new("fuzz.example/w", &[7u8; 32]) {
        let (body, lines) = text.split_once("\n\n").unwrap_or((text, ""));
        let _ = w.verifier().verify(body, lines);
    }
});
