//! Arbitrary QR text through the offline verifier: any verdict or error,
//! never a panic. Half the inputs are wrapped as `LY1:` + base45(zlib(data))
//! so the fuzzer reaches the COSE and claims parsers behind the encoding.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lanyard_credential::{TrustBundle, qr, verify_qr};

fuzz_target!(|data: &[u8]| {
    let bundle = TrustBundle {
        issuer: "lanyard.example/force".into(),
        keys: vec![lanyard_credential::IssuerKey::ed25519(b"k1", &[0x3b; 32])],
        status_list_uri: "https://lanyard.example/v1/status-lists/1".into(),
    };
    let text = match data.split_first() {
        Some((0, rest)) => qr::encode_text(rest).unwrap_or_default(),
        _ => String::from_utf8_lossy(data).into_owned(),
    };
    let _ = verify_qr(&text, &bundle, None, 1_800_000_000);
    let _ = lanyard_credential::CardClaims::from_bytes(data);
});
