//! Fuzzed bytes as a CSV release: tables, headers and every detector, with
//! and without exact data match (whose raw prefilter differs).
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;

#[path = "guard_common.rs"]
mod common;

static WITH_FINGERPRINTS: LazyLock<lanyard_guard::Scanner> = LazyLock::new(|| {
    let person = lanyard_guard::PersonIdentifiers {
        service_number: Some("P200001".into()),
        forenames: Some("Siobhán".into()),
        surname: Some("O'Brien".into()),
        email: Some("s.obrien@force.example".into()),
    };
    lanyard_guard::Scanner {
        fingerprints: Some(lanyard_guard::Fingerprints::build([person], [9; 32])),
        ..common::scanner()
    }
});

fuzz_target!(|data: &[u8]| {
    let scanner = common::scanner();
    let _ = scanner.scan_bytes("fuzz.csv", data);
    let _ = scanner.scan_bytes("fuzz.txt", data);
    let _ = WITH_FINGERPRINTS.scan_bytes("fuzz.csv", data);
});
