//! Fuzzed bytes as a CSV release: tables, headers and every detector.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "guard_common.rs"]
mod common;

fuzz_target!(|data: &[u8]| {
    let scanner = common::scanner();
    let _ = scanner.scan_bytes("fuzz.csv", data);
    let _ = scanner.scan_bytes("fuzz.txt", data);
});
