//! Shared by the guard targets: a scanner with small limits, and a minimal
//! OOXML package around fuzzed part bytes.

use std::io::{Cursor, Write};

pub fn scanner() -> lanyard_guard::Scanner {
    let limits = lanyard_guard::Limits {
        max_memory_bytes: 4 << 20,
        max_inflated_bytes: 16 << 20,
        max_entries: 256,
        timeout: std::time::Duration::from_secs(5),
        ..lanyard_guard::Limits::default()
    };
    lanyard_guard::Scanner { limits, explain: true, ..lanyard_guard::Scanner::default() }
}

// Used by the office-file targets, not by every target that includes this.
#[allow(dead_code)]
pub fn package(parts: &[(&str, &[u8])]) -> Vec<u8> {
    let mut out = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    for (name, data) in parts {
        if out.start_file(*name, opts).is_err() || out.write_all(data).is_err() {
            return Vec::new();
        }
    }
    out.finish().map(|c| c.into_inner()).unwrap_or_default()
}
