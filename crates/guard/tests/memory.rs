//! The guard's memory budget (issue 20): every bomb in `tests/bombs/`
//! (made by `tests/bombs/make.py`; fuzzers' crashes go there too) is
//! scanned, from disk and from memory, and must be answered "cannot
//! inspect" with the process's peak RSS under 512 MiB. Before the budget,
//! the 10 MB `zeros-10g.zip` alone took the guard to 3.65 GB.
//!
//! One test in its own binary, so the high-water mark (`VmHWM`) is this
//! scan's and no other test's.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::path::{Path, PathBuf};

use lanyard_guard::{Limits, Scanner, Verdict};

/// Peak resident memory of this process, in KiB (Linux).
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn bombs() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/bombs");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e != "py"))
        .collect();
    files.sort();
    files
}

#[test]
fn every_bomb_is_refused_within_the_memory_budget() {
    let Some(before) = peak_rss_kib() else {
        eprintln!("skipped: no /proc/self/status (VmHWM) on this system to measure the peak with");
        return;
    };
    // The default budget and limits, but less decompression allowed in all:
    // what is measured is the memory, and each bomb that streams is
    // otherwise read up to 4 GiB, which takes a debug build minutes.
    let scanner =
        Scanner { limits: Limits { max_inflated_bytes: 512 << 20, ..Limits::default() }, ..Scanner::default() };
    let files = bombs();
    assert!(files.len() >= 7, "the bombs are missing: {files:?}");
    for path in &files {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let from_disk = scanner.scan_paths(std::slice::from_ref(path));
        let bytes = std::fs::read(path).unwrap();
        let from_memory = scanner.scan_bytes(&name, &bytes);
        drop(bytes);
        for (how, r) in [("from disk", &from_disk), ("from memory", &from_memory)] {
            assert_eq!(r.verdict, Verdict::CannotInspect, "{name} {how}: {}", r.to_text(false));
            assert_eq!(r.exit_code, 2);
        }
        let peak = peak_rss_kib().unwrap();
        eprintln!("{name}: peak RSS so far {} MiB", peak / 1024);
    }
    let peak = peak_rss_kib().unwrap();
    eprintln!("peak RSS {} MiB (before the scans: {} MiB)", peak / 1024, before / 1024);
    assert!(peak < 512 * 1024, "peak RSS {} MiB, over the 512 MiB a scan may take", peak / 1024);
}
