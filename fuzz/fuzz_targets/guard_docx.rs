//! Fuzzed bytes as a Word document's body and comments inside an otherwise
//! valid package.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "guard_common.rs"]
mod common;

fuzz_target!(|data: &[u8]| {
    let mut parts = data.splitn(2, |b| *b == 0xFF);
    let body = parts.next().unwrap_or_default();
    let comments = parts.next().unwrap_or_default();
    let bytes = common::package(&[
        ("[Content_Types].xml", b"<Types/>"),
        ("word/document.xml", body),
        ("word/comments.xml", comments),
    ]);
    let _ = common::scanner().scan_bytes("fuzz.docx", &bytes);
});
