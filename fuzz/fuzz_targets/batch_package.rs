//! Arbitrary bytes as what the supplier agent receives: an age file (opened
//! with a fixed identity) and the archive inside. Refused cleanly, never a
//! panic, and never more than the limits allow.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use lanyard_supply::package::{self, Limits};

type Identities = Vec<Box<dyn age::Identity + Send + Sync>>;

fn identities() -> &'static Identities {
    static IDS: OnceLock<Identities> = OnceLock::new();
    IDS.get_or_init(|| {
        use age::secrecy::ExposeSecret;
        let (text, _) = package::keygen("fuzz");
        package::parse_identities(text.expose_secret().as_bytes()).unwrap_or_default()
    })
}

fuzz_target!(|data: &[u8]| {
    let limits = Limits { max_total: 1 << 20, max_entries: 64, max_file: 256 << 10 };
    let _ = package::unpack(data, &limits);
    let _ = package::open(data, identities(), &limits);
    let _ = package::parse_identities(data);
});
