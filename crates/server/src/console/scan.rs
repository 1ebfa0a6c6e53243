//! Checking files before release: upload one file or several, read the
//! verdict, see each finding with its place, a masked sample and how to fix
//! it, and download the JSON report.
//!
//! The scan is the API's (`scan::scan_files`): the same guard, the same
//! audit record. Files are never stored. The report, which holds only
//! masked samples, is kept in memory for half an hour so it can be
//! downloaded, and only by the user who ran the scan.

use std::collections::HashMap;
use std::sync::Mutex;

use axum::extract::{Multipart, Path};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use lanyard_guard::{Finding, Report, Severity, Verdict};
use maud::{Markup, html};
use uuid::Uuid;

use super::page::{Ctx, frame};
use crate::gate::Gate;
use crate::now_s;
use crate::problem::Problem;
use crate::scan::{MAX_FILES, Upload, clean_name, scan_files, spool};

/// How long a report can be downloaded.
const KEEP_S: i64 = 30 * 60;
/// Reports kept at most; the oldest goes first.
const KEEP_AT_MOST: usize = 200;

/// Reports kept for download: id → (who ran the scan, until, JSON).
#[derive(Default)]
pub(crate) struct Kept(Mutex<HashMap<Uuid, (Uuid, i64, String)>>);

impl Kept {
    fn put(&self, owner: Uuid, json: String) -> Uuid {
        let now = now_s();
        let id = Uuid::new_v4();
        let mut kept = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        kept.retain(|_, (_, until, _)| *until > now);
        if kept.len() >= KEEP_AT_MOST
            && let Some(oldest) = kept.iter().min_by_key(|(_, (_, until, _))| *until).map(|(k, _)| *k)
        {
            kept.remove(&oldest);
        }
        kept.insert(id, (owner, now + KEEP_S, json));
        id
    }

    fn get(&self, id: Uuid, owner: Uuid) -> Option<String> {
        let kept = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        kept.get(&id).filter(|(o, until, _)| *o == owner && *until > now_s()).map(|(_, _, json)| json.clone())
    }
}

fn upload_form(ctx: &Ctx) -> Markup {
    html! {
        form method="post" action="/scan" enctype="multipart/form-data" class="stack"
            data-busy="Uploading and checking the files. A large file takes a while; other users are not held up." {
            // First, so the token is read before any file is.
            (ctx.csrf_field())
            div class="field" {
                label for="files" { "Files to check" }
                input id="files" name="files" type="file" multiple required aria-describedby="files-help";
                p id="files-help" class="help" {
                    "Choose files, or drop them on the box. Spreadsheets, documents, PDFs, CSV and ZIP files are read; "
                    "up to " (MAX_FILES) " files and 256 MB at once. Nothing you upload is kept."
                }
            }
            button type="submit" { "Check the files" }
            p class="busy" role="status" aria-live="polite" {}
        }
    }
}

/// `GET /scan`.
pub(crate) async fn form(gate: Gate, headers: HeaderMap) -> Markup {
    let ctx = Ctx::of(&gate, &headers);
    frame(&ctx, "/scan", "Check files before release", upload_form(&ctx))
}

/// `POST /scan`: scans the upload and shows the verdict.
pub(crate) async fn submit(gate: Gate, headers: HeaderMap, mut multipart: Multipart) -> Result<Markup, Problem> {
    let whole =
        || Problem::bad_request("bad_upload", "the upload did not arrive whole; choose the files and send them again");
    super::csrf::check_multipart(&headers, &mut multipart).await?;
    let _slot = gate.scan_slot().await?;
    let mut files: Vec<Upload> = Vec::new();
    while let Some(field) = multipart.next_field().await.map_err(|_| whole())? {
        if files.len() >= MAX_FILES {
            return Err(Problem::bad_request("too_many_files", format!("send at most {MAX_FILES} files at once")));
        }
        let name = clean_name(field.file_name(), files.len());
        let upload = spool(name, field)
            .await
            .map_err(|p| if p.status() == axum::http::StatusCode::BAD_REQUEST { whole() } else { p })?;
        // A file input left empty still sends one nameless, empty part.
        if upload.is_empty() && field_was_empty(&upload.name) {
            continue;
        }
        files.push(upload);
    }
    let ctx = Ctx::of(&gate, &headers);
    if files.is_empty() {
        let body = html! {
            div class="banner warn" role="alert" { p { "No file arrived. Choose at least one file, then check again." } }
            (upload_form(&ctx))
        };
        return Ok(frame(&ctx, "/scan", "Check files before release", body));
    }
    let names: Vec<String> = files.iter().map(|f| f.name.clone()).collect();
    let report = scan_files(&gate, files).await?;
    let json = serde_json::to_string_pretty(&report).unwrap_or_default();
    let id = gate.console().scans.put(gate.principal().id, json);
    Ok(frame(&ctx, "/scan", "Check files before release", result(&ctx, &report, &names, id)))
}

fn field_was_empty(name: &str) -> bool {
    name.starts_with("upload-")
}

fn banner(verdict: Verdict) -> Markup {
    let (class, head, what) = match verdict {
        Verdict::Clear => ("good", "Clear to release", "Nothing was found that stops these files being released."),
        Verdict::DoNotRelease => (
            "bad",
            "Do not release",
            "Personal data or hidden content was found. Fix each finding below, then check the files again.",
        ),
        Verdict::CannotInspect => (
            "warn",
            "Cannot inspect: not cleared",
            "At least one file could not be read, so nothing is cleared. See below for which, and why.",
        ),
    };
    html! {
        div class=(format!("banner {class}")) role="status" id="verdict" {
            strong class="verdict" { (head) }
            p { (what) }
        }
    }
}

fn severity_label(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "Critical",
        Severity::High => "High",
        Severity::Medium => "Medium",
        Severity::Low => "Low",
    }
}

fn place(f: &Finding) -> String {
    let mut out = f.file.clone();
    if f.part.name != "(file)" && !f.part.name.is_empty() {
        out.push_str(", ");
        out.push_str(&f.part.name);
        if let Some(state) = &f.part.state
            && state != "visible"
        {
            out.push_str(&format!(" ({state} sheet)"));
        }
    }
    if let Some(r) = &f.range {
        out.push_str(", ");
        out.push_str(r);
    }
    out
}

fn what(f: &Finding) -> String {
    let mut out = f.detector.as_str().replace('_', " ");
    if let Some(h) = f.hidden {
        out = h.as_str().replace('_', " ");
    }
    if f.in_hidden {
        out.push_str(", in hidden content");
    }
    out
}

fn result(ctx: &Ctx, report: &Report, names: &[String], id: Uuid) -> Markup {
    let _ = ctx;
    html! {
        (banner(report.verdict))
        p { "Checked " (names.len()) " file(s): " (names.join(", ")) "." }
        @for severity in [Severity::Critical, Severity::High, Severity::Medium, Severity::Low] {
            @let group: Vec<&Finding> = report.findings.iter().filter(|f| f.severity == severity).collect();
            @if !group.is_empty() {
                h2 { (severity_label(severity)) " (" (group.len()) ")" }
                table {
                    thead { tr {
                        th scope="col" { "Where" } th scope="col" { "What" } th scope="col" { "How many" }
                        th scope="col" { "Example (masked)" } th scope="col" { "How to fix it" }
                    } }
                    tbody {
                        @for f in group {
                            tr {
                                td { (place(f)) }
                                td { (what(f)) @if let Some(n) = &f.note { br; span class="muted" { (n) } } }
                                td { (f.count) }
                                td class="mono" { (f.sample.as_deref().unwrap_or("—")) }
                                td { (f.how_to_fix()) }
                            }
                        }
                    }
                }
            }
        }
        p { a class="button" href=(format!("/scan/{id}/report.json")) download="scan-report.json" { "Download the report (JSON)" } }
        p { a href="/scan" { "Check other files" } }
    }
}

/// `GET /scan/{id}/report.json`: the report, for the user who ran the scan.
pub(crate) async fn report(gate: Gate, Path(id): Path<String>) -> Result<Response, Problem> {
    let not_found =
        || Problem::new(axum::http::StatusCode::NOT_FOUND, "not_found", "no such report, or it has expired");
    let id: Uuid = id.parse().map_err(|_| not_found())?;
    let json = gate.console().scans.get(id, gate.principal().id).ok_or_else(not_found)?;
    let mut r = json.into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    h.insert(header::CONTENT_DISPOSITION, HeaderValue::from_static("attachment; filename=\"scan-report.json\""));
    Ok(r)
}
