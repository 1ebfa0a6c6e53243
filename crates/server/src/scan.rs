//! `POST /v1/scan`: the disclosure guard over HTTP, for release officers
//! who work through the server. Files arrive as a multipart upload, are
//! scanned in memory (never stored), and the answer is the same report as
//! `lanyard scan --json`. The audit event counts files, bytes and findings;
//! it names no file (a file name can itself be personal data).

use axum::Json;
use axum::extract::Multipart;

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
    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
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
        let bytes = field.bytes().await.map_err(|e| Problem::bad_request("bad_upload", e.body_text()))?;
        files.push((name, bytes.to_vec()));
    }
    if files.is_empty() {
        return Err(Problem::bad_request("no_files", "upload at least one file (multipart/form-data)"));
    }
    Ok(Json(scan_files(&gate, files).await?))
}

/// Scans files off the async workers and records the scan (counts and
/// canaries, no names). The API and the console both scan through here.
pub(crate) async fn scan_files(gate: &Gate, files: Vec<(String, Vec<u8>)>) -> Result<lanyard_guard::Report, Problem> {
    let scanner = gate.guard();
    let report = tokio::task::spawn_blocking(move || {
        let mut findings = Vec::new();
        let total: u64 = files.iter().map(|(_, b)| b.len() as u64).sum();
        for (name, bytes) in &files {
            findings.extend(scanner.scan_bytes(name, bytes).findings);
        }
        lanyard_guard::Report::finish(findings, files.len() as u64, total, scanner.policy.fail_at)
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
