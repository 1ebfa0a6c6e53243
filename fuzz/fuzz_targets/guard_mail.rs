//! Fuzzed email messages: headers always present so the router sends the
//! bytes to the MIME reader, then whatever MIME structure, encodings and
//! nested messages the fuzzer makes.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "guard_common.rs"]
mod common;

fuzz_target!(|data: &[u8]| {
    let mut message = b"From: a@example.org\r\nDate: Tue, 8 Aug 2023 10:00:00 +0100\r\n".to_vec();
    message.extend_from_slice(data);
    let _ = common::scanner().scan_bytes("fuzz.eml", &message);
});
