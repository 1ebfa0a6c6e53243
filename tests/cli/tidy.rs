//! House rules checked as an ordinary test: every Rust file opens with a
//! module doc, and no test hides behind `should_panic` or `ignore`.

use std::path::{Path, PathBuf};

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if path.is_dir() {
            if name != "target" && !name.starts_with('.') {
                rust_files(&path, out);
            }
        } else if name.ends_with(".rs") {
            out.push(path);
        }
    }
}

#[test]
fn every_file_has_a_module_doc_and_no_test_is_skipped() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for dir in ["crates", "tests", "fuzz"] {
        if root.join(dir).exists() {
            rust_files(&root.join(dir), &mut files);
        }
    }
    assert!(files.len() > 20);
    let mut problems = Vec::new();
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        if !text.trim_start().starts_with("//!") && !text.starts_with("#![no_main]") {
            problems.push(format!("{}: no //! module doc at the top", f.display()));
        }
        let banned = [concat!("#[should", "_panic"), concat!("#[ig", "nore]")];
        for b in banned {
            if text.contains(b) {
                problems.push(format!("{}: uses {b}", f.display()));
            }
        }
        if text.lines().any(|l| l.ends_with(' ') || l.ends_with('\t')) {
            problems.push(format!("{}: trailing whitespace", f.display()));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The house lints live in one place, `[workspace.lints]`: every crate
/// takes them, and none carries its own lint header that could drift.
#[test]
fn every_crate_takes_the_workspace_lints_and_none_has_its_own_header() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut problems = Vec::new();
    let mut manifests = vec![root.join("Cargo.toml")];
    for entry in std::fs::read_dir(root.join("crates")).unwrap() {
        let dir = entry.unwrap().path();
        if dir.join("Cargo.toml").exists() && !dir.ends_with("testkit") {
            manifests.push(dir.join("Cargo.toml"));
        }
    }
    for m in &manifests {
        let text = std::fs::read_to_string(m).unwrap();
        if !text.contains("[lints]\nworkspace = true") {
            problems.push(format!("{}: no `[lints] workspace = true`", m.display()));
        }
    }
    let mut files = Vec::new();
    rust_files(&root.join("crates"), &mut files);
    for f in files.iter().filter(|f| f.ends_with("lib.rs") || f.ends_with("main.rs")) {
        let text = std::fs::read_to_string(f).unwrap();
        for header in ["#![deny(", "#![forbid(", "#![cfg_attr(not(test), deny("] {
            if text.contains(header) {
                problems.push(format!("{}: its own lint header {header}…)]", f.display()));
            }
        }
    }
    assert!(manifests.len() > 10);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Every library's errors derive `thiserror::Error`; none writes
/// `impl std::error::Error` by hand (only the binaries' edges use anyhow).
#[test]
fn library_errors_derive_thiserror() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    rust_files(&root.join("crates"), &mut files);
    let hand_written: Vec<String> = files
        .iter()
        .filter(|f| !f.starts_with(root.join("crates/cli")))
        .filter(|f| {
            let text = std::fs::read_to_string(f).unwrap();
            text.contains("impl std::error::Error for") || text.contains("impl Error for")
        })
        .map(|f| f.display().to_string())
        .collect();
    assert!(files.len() > 50);
    assert!(hand_written.is_empty(), "hand-written error impls: {hand_written:?}");
}

/// Every `DESIGN §N` cited in the docs, the help and the code names a
/// section of `docs/DESIGN.md`, which is in the repository (issue 17: the
/// citations pointed at a document that was not).
#[test]
fn every_design_citation_points_at_a_section_in_the_repository() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let design = std::fs::read_to_string(root.join("docs/DESIGN.md")).unwrap();
    let mut files = vec![root.join("README.md"), root.join("ARCHITECTURE.md")];
    rust_files(&root.join("crates"), &mut files);
    let mut cited = 0;
    let mut problems = Vec::new();
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        for (at, _) in text.match_indices("DESIGN") {
            let rest = &text[at..];
            let Some(after) = rest.strip_prefix("DESIGN.md §").or_else(|| rest.strip_prefix("DESIGN §")) else {
                continue;
            };
            let n: String = after.chars().take_while(char::is_ascii_digit).collect();
            cited += 1;
            if n.is_empty() || !design.contains(&format!("\n## {n}. ")) {
                problems.push(format!("{}: DESIGN §{n} is no section of docs/DESIGN.md", f.display()));
            }
        }
    }
    assert!(cited > 10, "the citations were found ({cited})");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
