//! Importing people from a register CSV.
//!
//! The file is checked whole before anything is written (the API's
//! `bulk::parse_import`: any invalid row refuses the file, naming the
//! rows), then imported in one transaction as the API does. The request
//! waits for the import; the page says it is under way meanwhile (the
//! console's script), and the server goes on answering everyone else.

use axum::extract::Multipart;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};

use super::page::{Ctx, frame};
use crate::gate::PeopleGate;
use crate::now_s;
use crate::problem::Problem;

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

/// `POST /import`: checks the file, imports it, and says how it went.
pub(crate) async fn start(
    people: PeopleGate,
    headers: HeaderMap,
    mut multipart: Multipart,
) -> Result<Response, Problem> {
    let bad = |_| Problem::bad_request("bad_upload", "the file did not arrive whole; choose it and send it again");
    let token = match multipart.next_field().await.map_err(bad)? {
        Some(f) if f.name() == Some(super::csrf::FIELD) => Some(f.text().await.map_err(bad)?),
        _ => None,
    };
    super::csrf::check(&headers, token.as_deref())?;
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
    let ctx = Ctx::of(&gate, &headers);
    let outcome = gate.register().import(&gate.operator(), records, now_s() * 1000, &|_| {}).await?;
    let body = html! {
        div class="banner good" role="status" id="import-status" {
            strong class="verdict" { "Imported" }
            p {
                (outcome.imported.len()) " people added; " (outcome.already_registered.len())
                " line(s) were people already in the register and were left as they are."
            }
        }
        p { a href="/import" { "Import another file" } }
    };
    Ok(frame(&ctx, "/import", "Import people", body).into_response())
}
