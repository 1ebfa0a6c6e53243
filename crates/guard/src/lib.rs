//! The disclosure guard (DESIGN §7): the gate every outgoing file passes
//! through. It reads a file as hostile input, finds personal data (UK
//! identifiers, personal-data tables, register people by fingerprint) and
//! content its reader would not see (hidden sheets, rows, pivot caches,
//! tracked changes…), and answers clear (0), do not release (1) or cannot
//! inspect (2). A file it cannot read is never cleared.
//!
//! Start with [`Scanner::scan_path`]; the format readers live in
//! [`formats`], and each sends what it reads to one [`sink::Sink`].

pub mod error;
pub mod fingerprints;
pub mod formats;
pub mod headers;
pub mod identifiers;
pub mod mask;
pub mod policy;
pub(crate) mod prefilter;
pub mod report;
pub mod sink;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

pub use error::ScanError;
pub use fingerprints::{Fingerprints, PersonIdentifiers};
pub use policy::Policy;
pub use report::{Detector, Finding, Hidden, Report, Severity, Verdict};

use crate::report::Part;
use crate::sink::Sink;

/// Bounds on what one file may cost. Over any of them, the file is
/// uninspectable (exit 2), never skipped.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Largest file read (text streams; other formats are read whole).
    pub max_file_bytes: u64,
    /// The scan's memory budget: the largest file or member read whole
    /// (PDFs, legacy Office, images, mail; text and ZIPs stream), and the
    /// most text a scan may collect to look at later (a workbook's shared
    /// strings, comments, cached values). A scan's peak memory is a small
    /// multiple of this, whatever its input: over it, the file is
    /// uninspectable.
    pub max_memory_bytes: u64,
    /// Decompressed bytes per top-level file, members included.
    pub max_inflated_bytes: u64,
    /// Largest ratio of decompressed to compressed size of a ZIP member.
    pub max_ratio: u64,
    /// ZIP members per archive.
    pub max_entries: usize,
    /// Archives inside archives.
    pub max_depth: u32,
    /// Time per top-level file.
    pub timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_file_bytes: 64 << 30,
            max_memory_bytes: 96 << 20,
            max_inflated_bytes: 4 << 30,
            max_ratio: 200,
            max_entries: 20_000,
            max_depth: 4,
            timeout: Duration::from_secs(300),
        }
    }
}

/// What a scan runs with.
#[derive(Debug, Default)]
pub struct Scanner {
    /// Thresholds and allow-lists.
    pub policy: Policy,
    /// Register fingerprints, for exact data match.
    pub fingerprints: Option<Fingerprints>,
    /// Bounds per file.
    pub limits: Limits,
    /// Add a remedy to each finding.
    pub explain: bool,
}

impl Scanner {
    /// Scans files and folders (recursively). Unreadable paths are findings
    /// (exit 2), never skipped.
    pub fn scan_paths(&self, paths: &[PathBuf]) -> Report {
        let mut findings = Vec::new();
        let (mut files, mut bytes) = (0u64, 0u64);
        let mut queue: Vec<PathBuf> = paths.to_vec();
        queue.reverse();
        while let Some(path) = queue.pop() {
            match std::fs::symlink_metadata(&path) {
                Ok(m) if m.is_dir() => match std::fs::read_dir(&path) {
                    Ok(entries) => {
                        let mut children: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
                        children.sort();
                        children.reverse();
                        queue.extend(children);
                    }
                    Err(e) => findings.extend(self.unreadable(&path, ScanError::from(e))),
                },
                // Links are not followed: a release folder should hold files.
                Ok(m) if m.file_type().is_symlink() => findings
                    .extend(self.unreadable(&path, ScanError::Unsupported("a symbolic link (scan its target)".into()))),
                Ok(m) => {
                    files += 1;
                    bytes += m.len();
                    findings.extend(self.scan_file(&path));
                }
                Err(e) => findings.extend(self.unreadable(&path, ScanError::from(e))),
            }
        }
        Report::finish(findings, files, bytes, self.policy.fail_at)
    }

    fn unreadable(&self, path: &Path, e: ScanError) -> Vec<Finding> {
        let mut sink = self.sink(path.display().to_string());
        sink.uninspectable(&Part::named("(file)"), &e);
        sink.finish()
    }

    fn sink(&self, name: String) -> Sink<'_> {
        let deadline = Instant::now() + self.limits.timeout;
        Sink::new(name, &self.policy, self.fingerprints.as_ref(), &self.limits, deadline, self.explain)
    }

    /// Scans one file.
    pub fn scan_file(&self, path: &Path) -> Vec<Finding> {
        let mut sink = self.sink(path.display().to_string());
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        if let Err(e) = formats::scan_path(&mut sink, path, &name) {
            sink.uninspectable(&Part::named("(file)"), &e);
        }
        sink.finish()
    }

    /// Scans one open file under the display name `name`, from its start:
    /// an upload spooled to an unnamed temporary file, which is read as a
    /// file on disk is (text streamed, a ZIP in place), so an upload costs
    /// no more memory than a file given by path.
    pub fn scan_open_file(&self, name: &str, file: std::fs::File) -> Report {
        let len = file.metadata().map(|m| m.len()).unwrap_or(0);
        let mut sink = self.sink(name.to_owned());
        if let Err(e) = formats::scan_file(&mut sink, file, name) {
            sink.uninspectable(&Part::named("(file)"), &e);
        }
        Report::finish(sink.finish(), 1, len, self.policy.fail_at)
    }

    /// Scans one file held in memory.
    pub fn scan_bytes(&self, name: &str, bytes: &[u8]) -> Report {
        let mut sink = self.sink(name.to_owned());
        if let Err(e) = formats::scan_bytes(&mut sink, bytes.to_vec(), name, 0) {
            sink.uninspectable(&Part::named("(file)"), &e);
        }
        Report::finish(sink.finish(), 1, bytes.len() as u64, self.policy.fail_at)
    }
}
