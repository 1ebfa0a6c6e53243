//! Arbitrary bytes as a status list token and as a trust bundle: refused
//! cleanly, never a panic or an unbounded allocation.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lanyard_credential::{StatusList, StatusListToken, TrustBundle};

fuzz_target!(|data: &[u8]| {
    let bundle = TrustBundle {
        issuer: "i".into(),
        keys: vec![lanyard_credential::IssuerKey::ed25519(b"k1", &[0x3b; 32])],
        status_list_uri: "u".into(),
    };
    let _ = StatusListToken::verify(data, &bundle, 0);
    let _ = StatusList::decompress(data);
    let _ = TrustBundle::from_json(data);
});
