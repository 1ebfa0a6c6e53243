//! Fuzzed bytes as a whole file: ZIP containers (archives, office files,
//! nesting, bombs) and whatever else the router sniffs.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "guard_common.rs"]
mod common;

fuzz_target!(|data: &[u8]| {
    let _ = common::scanner().scan_bytes("fuzz.zip", data);
});
