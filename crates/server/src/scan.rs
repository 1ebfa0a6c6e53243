//! `POST /v1/scan`: the disclosure guard over HTTP, for release officers
//! who work through the server. Files arrive as a multipart upload, are
//! spooled as they arrive to unnamed temporary files (no name, so nothing
//! can open them, and gone when the scan ends, crash or not), scanned as
//! files on disk are, and never stored; the answer is the same report as
//! `lanyard scan --json`. Memory is the scan's budget, not the upload's
//! size. The audit event counts files, bytes and findings;
//! it names no file (a file name can itself be personal data).

use std::io::Write as _;

use axum::Json;
use axum::extract::Multipart;
use axum::extract::multipart::Field;

use crate::gate::Gate;
use crate::now_s;
use crate::problem::{Problem, ProblemBody};

/// Files per upload at most.
pub(crate) const MAX_FILES: usize = 64;

/// The last path component of an uploaded name, printable, at most 200
/// characters.
pub(crate) fn clean_name(raw: Option<&str>, index: usize) -> String {
    let base = raw.and_then(|n| n.rsplit(['/', '\\']).next()).unwrap_or("");
    let name: String = base.chars().filter(|c| !c.is_control()).take(200).collect();
    if name.trim().is_empty() { format!("upload-{}", index + 1) } else { name }
}

/// Scans uploaded files for personal data and hidden content. The verdict
/// is in the body (`exit_code` 0, 1 or 2); the status is 200 whenever the
/// scan ran.
#[utoipa::path(post, path = "/v1/scan", request_body(content_type = "multipart/form-data", description = "one or more files"),
    responses((status = 200, description = "the scan report (docs/scan-report.schema.json)"),
              (status = 400, body = ProblemBody), (status = 403, body = ProblemBody), (status = 413, body = ProblemBody)))]
pub(crate) async fn scan(gate: Gate, mut multipart: Multipart) -> Result<Json<lanyard_guard::Report>, Problem> {
    // Before the upload is read: its bytes count against the slot too.
    let _slot = gate.scan_slot().await?;
    let mut files: Vec<Upload> = Vec::new();
    while let Some(field) =
        multipart.next_field().await.map_err(|e| Problem::bad_request("bad_upload", e.body_text()))?
    {
        // One name for every file, as the OpenAPI document says: a part of
        // another name is a mistake worth saying, not a file to guess at.
        if field.name() != Some("file") {
            return Err(Problem::bad_request("bad_part", "send each file as a form part named \"file\""));
        }
        if files.len() >= MAX_FILES {
            return Err(Problem::bad_request("too_many_files", format!("at most {MAX_FILES} files per scan")));
        }
        let name = clean_name(field.file_name(), files.len());
        files.push(spool(name, field).await?);
    }
    if files.is_empty() {
        return Err(Problem::bad_request("no_files", "upload at least one file (multipart/form-data)"));
    }
    Ok(Json(scan_files(&gate, files).await?))
}

/// One uploaded file, spooled.
pub(crate) struct Upload {
    pub(crate) name: String,
    file: std::fs::File,
    len: u64,
}

/// Writes a form part, chunk by chunk as it arrives, to an unnamed
/// temporary file.
pub(crate) async fn spool(name: String, mut field: Field<'_>) -> Result<Upload, Problem> {
    let failed = |_| {
        Problem::busy(
            "scan_spool_failed",
            "the upload could not be held for scanning (no temporary space); nothing was kept: try again shortly",
        )
    };
    let mut file = tempfile::tempfile().map_err(failed)?;
    let mut len = 0u64;
    while let Some(chunk) = field.chunk().await.map_err(|e| Problem::bad_request("bad_upload", e.body_text()))? {
        // Chunks are small and land in the page cache: not worth a thread.
        file.write_all(&chunk).map_err(failed)?;
        len += chunk.len() as u64;
    }
    Ok(Upload { name, file, len })
}

impl Upload {
    /// Whether nothing arrived.
    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// Scans files off the async workers and records the scan (counts and
/// canaries, no names). The API and the console both scan through here.
pub(crate) async fn scan_files(gate: &Gate, files: Vec<Upload>) -> Result<lanyard_guard::Report, Problem> {
    let scanner = gate.guard();
    let report = tokio::task::spawn_blocking(move || {
        let mut findings = Vec::new();
        let total: u64 = files.iter().map(|f| f.len).sum();
        let count = files.len() as u64;
        for upload in files {
            findings.extend(scanner.scan_open_file(&upload.name, upload.file).findings);
        }
        lanyard_guard::Report::finish(findings, count, total, scanner.policy.fail_at)
    })
    .await
    .map_err(|_| Problem::new(axum::http::StatusCode::INTERNAL_SERVER_ERROR, "internal", "the scan failed"))?;

    // A canary found is the log's business: it names where a leak came from.
    gate.register().record_scan(&gate.operator(), &scan_record(&report), now_s() * 1000).await?;
    Ok(report)
}

/// The audit record of a report: counts and canaries, no names.
pub(crate) fn scan_record(report: &lanyard_guard::Report) -> lanyard_register::ScanRecord {
    lanyard_register::ScanRecord {
        files: report.files,
        bytes: report.bytes,
        verdict: serde_json::to_value(report.verdict).unwrap_or_default(),
        findings: serde_json::to_value(&report.summary).unwrap_or_default(),
        canaries: report.canaries(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_cut_to_their_last_component() {
        assert_eq!(clean_name(Some("../../etc/passwd"), 0), "passwd");
        assert_eq!(clean_name(Some("C:\\FOI\\reply.xlsx"), 0), "reply.xlsx");
        assert_eq!(clean_name(Some("a\nb.csv"), 0), "ab.csv");
        assert_eq!(clean_name(None, 2), "upload-3");
    }
}
