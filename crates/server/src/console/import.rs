//! Importing people from a register CSV, with its progress shown.
//!
//! The file is checked whole before anything is written (the API's
//! `bulk::parse_import`: any invalid row refuses the file, naming the
//! rows). The import itself then runs as a background task, one
//! transaction as always, while its page shows how many people are sealed
//! so far: the user is not left waiting on one long request, and the
//! server goes on answering everyone else. The job's record (counts only,
//! no personal data) is kept in memory for the user who started it.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use axum::Json;
use axum::extract::{Multipart, Path};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use uuid::Uuid;

use super::page::{Ctx, frame};
use crate::gate::{Gate, PeopleGate};
use crate::now_s;
use crate::problem::Problem;

/// Jobs kept at most; the oldest finished one goes first.
const KEEP_AT_MOST: usize = 100;

/// How an import ended: people imported and lines already registered, or
/// why it failed.
type Ended = Option<Result<(usize, usize), String>>;

/// One import under way or done.
struct Job {
    owner: Uuid,
    started_s: i64,
    total: u64,
    done: Arc<AtomicU64>,
    outcome: Arc<Mutex<Ended>>,
}

/// The imports the console has started.
#[derive(Default)]
pub(crate) struct Jobs(Mutex<HashMap<Uuid, Job>>);

impl Jobs {
    fn put(&self, job: Job) -> Uuid {
        let id = Uuid::new_v4();
        let mut jobs = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if jobs.len() >= KEEP_AT_MOST {
            let finished = |j: &Job| j.outcome.lock().map(|o| o.is_some()).unwrap_or(true);
            if let Some(oldest) =
                jobs.iter().filter(|(_, j)| finished(j)).min_by_key(|(_, j)| j.started_s).map(|(k, _)| *k)
            {
                jobs.remove(&oldest);
            }
        }
        jobs.insert(id, job);
        id
    }

    /// (done, total, how it ended) of the owner's job.
    fn status(&self, id: Uuid, owner: Uuid) -> Option<(u64, u64, Ended)> {
        let jobs = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let job = jobs.get(&id).filter(|j| j.owner == owner)?;
        let outcome = job.outcome.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone();
        Some((job.done.load(Ordering::Relaxed).min(job.total), job.total, outcome))
    }
}

fn form(ctx: &Ctx, error: Option<&str>) -> Markup {
    html! {
        @if let Some(e) = error { div class="banner bad" role="alert" id="import-error" { p { (e) } } }
        form method="post" action="/import" enctype="multipart/form-data" class="stack"
            data-busy="Uploading and checking every row before anything is written." {
            (ctx.csrf_field())
            div class="field" {
                label for="file" { "Register CSV" }
                input id="file" name="file" type="file" accept=".csv,text/csv" required aria-describedby="file-help";
                p id="file-help" class="help" {
                    "Columns as in the register's CSV (service_number, forenames, surname, rank, …). "
                    "Every row is checked first: one wrong row and nothing is imported, and the rows are named."
                }
            }
            div class="choice" {
                input type="checkbox" id="ignore_unknown" name="ignore_unknown" value="true";
                label for="ignore_unknown" { "Skip columns lanyard does not know, instead of refusing the file" }
            }
            button type="submit" { "Import" }
            p class="busy" role="status" aria-live="polite" {}
        }
    }
}

/// `GET /import`.
pub(crate) async fn form_page(people: PeopleGate, headers: HeaderMap) -> Result<Markup, Problem> {
    // A register CSV names people by identity: who may not write it may
    // not import.
    let (gate, _) = people.compartments(&[lanyard_core::Compartment::Identity]).await?;
    let ctx = Ctx::of(&gate, &headers);
    Ok(frame(&ctx, "/import", "Import people", form(&ctx, None)))
}

/// `POST /import`: checks the file, then starts the import and shows its
/// progress page.
pub(crate) async fn start(
    people: PeopleGate,
    headers: HeaderMap,
    mut multipart: Multipart,
) -> Result<Response, Problem> {
    let bad = |_| Problem::bad_request("bad_upload", "the file did not arrive whole; choose it and send it again");
    super::csrf::check_multipart(&headers, &mut multipart).await?;
    let (mut body, mut ignore_unknown) = (Vec::new(), false);
    while let Some(field) = multipart.next_field().await.map_err(bad)? {
        match field.name() {
            Some("file") => body = field.bytes().await.map_err(bad)?.to_vec(),
            Some("ignore_unknown") => ignore_unknown = true,
            _ => {}
        }
    }
    let checked = crate::bulk::parse_import(&body, people.ranks(), ignore_unknown);
    let (records, compartments) = match checked {
        Ok(ok) => ok,
        Err(p) if p.status() == StatusCode::BAD_REQUEST => {
            // The gate decides the compartments the role writes at all, so
            // a role that may not import gets its refusal, not this form.
            let (gate, _) = people.compartments(&[lanyard_core::Compartment::Identity]).await?;
            let ctx = Ctx::of(&gate, &headers);
            let page = frame(&ctx, "/import", "Import people", form(&ctx, Some(&p.detail_text())));
            return Ok((StatusCode::BAD_REQUEST, page).into_response());
        }
        Err(p) => return Err(p),
    };
    let (gate, _) = people.compartments(&compartments).await?;
    let total = records.len() as u64;
    let done = Arc::new(AtomicU64::new(0));
    let outcome = Arc::new(Mutex::new(None));
    let (register, op) = (gate.register_shared(), gate.operator());
    let (counter, result) = (Arc::clone(&done), Arc::clone(&outcome));
    tokio::spawn(async move {
        let progress = move |n: u64| {
            counter.fetch_add(n, Ordering::Relaxed);
        };
        let finished = match register.import(&op, records, now_s() * 1000, &progress).await {
            Ok(o) => Ok((o.imported.len(), o.already_registered.len())),
            Err(e) => {
                tracing::warn!(code = e.code(), "a console import failed");
                Err(Problem::from(e).detail_text())
            }
        };
        *result.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(finished);
    });
    let id = gate.console().imports.put(Job { owner: gate.principal().id, started_s: now_s(), total, done, outcome });
    Ok(Redirect::to(&format!("/import/{id}")).into_response())
}

fn job_id(text: &str) -> Result<Uuid, Problem> {
    text.parse().map_err(|_| Problem::new(StatusCode::NOT_FOUND, "not_found", "no such import"))
}

/// `GET /import/{id}`: how far it has got, or how it ended.
pub(crate) async fn progress(gate: Gate, Path(id): Path<String>, headers: HeaderMap) -> Result<Markup, Problem> {
    let ctx = Ctx::of(&gate, &headers);
    let id = job_id(&id)?;
    let (done, total, outcome) =
        gate.console().imports.status(id, gate.principal().id).ok_or_else(|| {
            Problem::new(StatusCode::NOT_FOUND, "not_found", "no such import, or it was another user's")
        })?;
    let body = html! {
        @match outcome {
            None => {
                div class="banner warn" role="status" id="import-status" data-status=(format!("/import/{id}/status.json")) {
                    p id="import-count" { "Sealing and writing: " (done) " of " (total) " people so far." }
                    progress id="import-progress" value=(done) max=(total) aria-label="Import progress" { (done) " of " (total) }
                    p { "You can leave this page; the import goes on. " a href=(format!("/import/{id}")) { "Reload to see how far it has got." } }
                }
            }
            Some(Ok((imported, already))) => {
                div class="banner good" role="status" id="import-status" {
                    strong class="verdict" { "Imported" }
                    p { (imported) " people added; " (already) " line(s) were people already in the register and were left as they are." }
                }
            }
            Some(Err(why)) => {
                div class="banner bad" role="alert" id="import-status" {
                    strong class="verdict" { "Nothing was imported" }
                    p { (why) }
                }
            }
        }
        p { a href="/import" { "Import another file" } }
    };
    Ok(frame(&ctx, "/import", "Import people", body))
}

/// `GET /import/{id}/status.json`: the counts, for the page's script.
pub(crate) async fn status(gate: Gate, Path(id): Path<String>) -> Result<Json<serde_json::Value>, Problem> {
    let id = job_id(&id)?;
    let (done, total, outcome) = gate
        .console()
        .imports
        .status(id, gate.principal().id)
        .ok_or_else(|| Problem::new(StatusCode::NOT_FOUND, "not_found", "no such import"))?;
    Ok(Json(serde_json::json!({ "done": done, "total": total, "finished": outcome.is_some() })))
}
