//! Arbitrary bytes as what the supplier agent receives: an age file (opened
//! with a fixed identity), the archive inside, the manifest's COSE
//! signature, and a verifier key string as `trust` reads it. Refused
//! cleanly, never a panic, and never more than the limits allow.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use lanyard_supply::package::{self, Limits, Verifier};

type Identities = Vec<Box<dyn age::Identity + Send + Sync>>;

fn identities() -> &'static Identities {
    static IDS: OnceLock<Identities> = OnceLock::new();
    IDS.get_or_init(|| {
        use age::secrecy::ExposeSecret;
        let (text, _) = package::keygen("fuzz");
        package::parse_identities(text.expose_secret().as_bytes()).unwrap_or_default()
    })
}

fn pinned() -> &'static [Verifier] {
    static KEYS: OnceLock<Vec<Verifier>> = OnceLock::new();
    // The Ed25519 base point's encoding: a valid public key.
    let mut key = [0x66u8; 32];
    key[0] = 0x58;
    KEYS.get_or_init(|| Verifier::new("fuzz.example/print-batches", &key).into_iter().collect())
}

fuzz_target!(|data: &[u8]| {
    let limits = Limits { max_total: 1 << 20, max_entries: 64, max_file: 256 << 10 };
    let _ = package::unpack(data, &limits, pinned());
    // The agent's path: the archive read in place, and age as a stream.
    let _ = package::check(std::io::Cursor::new(data), &limits, pinned());
    let _ = package::signature::verify(b"{}", Some(data), pinned());
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = Verifier::parse(text);
    }
    let _ = package::open(data, identities(), &limits);
    let _ = package::open_to(data, identities(), &limits, &mut std::io::sink());
    let _ = package::parse_identities(data);
});
