//! Finding a person and their page: the compartments the role reads, the
//! photo, their cards and permits, and a card request.
//!
//! Every read goes through the same gate decision and the same audited
//! register call as `GET /v1/people/{id}`, with the task as its purpose. A
//! search is a POST, so a surname never appears in a URL; pages are named
//! by the person's id alone.

use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use lanyard_core::policy::{self, Action};
use lanyard_core::{CardType, Compartment, Field};
use lanyard_register::{Lookup, Revealed};
use maud::{Markup, html};
use serde::Deserialize;

use super::csrf::Form;
use super::page::{Ctx, ask_task, frame, when};
use crate::gate::PeopleGate;
use crate::now_s;
use crate::people::person_id;
use crate::problem::Problem;

fn search_form(ctx: &Ctx, by: &str, value: &str, error: Option<&str>) -> Markup {
    html! {
        form method="post" action="/find" class="stack" {
            (ctx.csrf_field())
            fieldset {
                legend { "Search by" }
                div class="choice" {
                    input type="radio" id="by-sn" name="by" value="service_number" checked[by != "surname"];
                    label for="by-sn" { "Service number" }
                }
                div class="choice" {
                    input type="radio" id="by-surname" name="by" value="surname" checked[by == "surname"];
                    label for="by-surname" { "Surname (exact)" }
                }
            }
            div class="field" {
                label for="value" { "Service number or surname" }
                input id="value" name="value" type="search" value=(value) required autocomplete="off"
                    aria-invalid=[error.map(|_| "true")] aria-describedby=[error.map(|_| "value-error")];
                @if let Some(e) = error { p id="value-error" class="error-text" { (e) } }
            }
            button type="submit" { "Find" }
        }
    }
}

/// `GET /find`.
pub(crate) async fn find_form(people: PeopleGate, headers: HeaderMap) -> Result<Markup, Problem> {
    let (gate, _) = people.compartments(&[Compartment::Identity]).await?;
    let ctx = Ctx::of(&gate, &headers);
    Ok(frame(&ctx, "/find", "Find a person", search_form(&ctx, "service_number", "", None)))
}

#[derive(Deserialize)]
pub(crate) struct Search {
    by: String,
    value: String,
}

/// `POST /find`: the short list (identity alone), each linking to the
/// person's page.
pub(crate) async fn find(people: PeopleGate, headers: HeaderMap, Form(q): Form<Search>) -> Result<Response, Problem> {
    let (gate, action) = people.compartments(&[Compartment::Identity]).await?;
    let ctx = Ctx::of(&gate, &headers);
    let Some(purpose) = ctx.purpose.clone() else {
        return Ok(frame(&ctx, "/find", "Find a person", ask_task(&ctx, "/find")).into_response());
    };
    let value = q.value.trim();
    if value.is_empty() {
        let form = search_form(&ctx, &q.by, "", Some("Enter a service number or a surname."));
        return Ok((StatusCode::BAD_REQUEST, frame(&ctx, "/find", "Find a person", form)).into_response());
    }
    let lookup = if q.by == "surname" { Lookup::Surname(value) } else { Lookup::ServiceNumber(value) };
    gate.limit_reads(&action).await?;
    let filter = lanyard_register::FindFilter::default();
    let found =
        gate.register().find_short(&gate.operator(), lookup, &filter, Some(&purpose.code), now_s() * 1000).await?;
    gate.metrics().person_read(found.len());
    let body = html! {
        (search_form(&ctx, &q.by, value, None))
        h2 { "Results" }
        @if found.is_empty() {
            p { "No one matches. A surname must be whole (not part of one); check the spelling, or search by service number." }
        } @else {
            table {
                caption class="muted" { (found.len()) " found" }
                thead { tr { th scope="col" { "Name" } th scope="col" { "Service number" } th scope="col" { "Rank" } } }
                tbody {
                    @for p in &found {
                        tr {
                            td { a href=(format!("/people/{}", p.id)) { (p.name) } }
                            td { (p.service_number.as_deref().unwrap_or("withheld")) }
                            td { (p.rank.as_deref().unwrap_or("withheld")) }
                        }
                    }
                }
            }
        }
    };
    Ok(frame(&ctx, "/find", "Find a person", body).into_response())
}

/// The compartments a role's person page shows (the photo is its own read).
fn page_compartments(role: lanyard_core::Role) -> Vec<Compartment> {
    [Compartment::Identity, Compartment::Vetting, Compartment::Pay]
        .into_iter()
        .filter(|c| policy::may_read(role, *c))
        .collect()
}

/// `GET /people/{id}`.
pub(crate) async fn person(
    people: PeopleGate,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    let id = person_id(&id)?;
    let compartments = page_compartments(people.caller().principal.role);
    let (gate, action) = people.compartments(&compartments).await?;
    let ctx = Ctx::of(&gate, &headers);
    let here = format!("/people/{id}");
    let Some(purpose) = ctx.purpose.clone() else {
        return Ok(frame(&ctx, &here, "Open a record", ask_task(&ctx, &here)).into_response());
    };
    gate.limit_reads(&action).await?;
    let now = now_s() * 1000;
    let person = gate.register().show(&gate.operator(), id, &compartments, Some(&purpose.code), now).await?;
    gate.metrics().person_read(1);
    let cards = if ctx.may(&Action::ReadCards) { gate.cards().list(Some(id), None, now).await? } else { Vec::new() };
    let permits = if ctx.may(&Action::ReadPermits) { gate.cards().permits(Some(id), now).await? } else { Vec::new() };
    let shows_photo =
        policy::may_read(ctx.role, Compartment::Photo) && !person.withheld.contains(&Compartment::Identity);
    let title = display_name(&person);
    let body = html! {
        div class="person" {
            @if shows_photo {
                img class="photo" src=(format!("/people/{id}/photo")) alt="The person's card photo";
            }
            div {
                @if person.protected { p class="notice" { "This person is protected: their identity is shown only to cleared users." } }
                @for c in &compartments {
                    (compartment_section(&person, *c))
                }
            }
        }
        @if ctx.may(&Action::ReadCards) {
            h2 { "Cards" }
            @if cards.is_empty() { p { "No cards." } } @else {
                table {
                    thead { tr { th scope="col" { "Card" } th scope="col" { "Type" } th scope="col" { "State" } th scope="col" { "Expires" } } }
                    tbody {
                        @for c in &cards {
                            tr {
                                td { a href=(format!("/cards/{}", c.id)) { (c.number) } }
                                td { (type_label(&c.card_type)) }
                                td { span class=(format!("state {}", c.state.as_str())) { (c.state.as_str()) } }
                                td { (c.expires_at.map(when).unwrap_or_else(|| "—".into())) }
                            }
                        }
                    }
                }
            }
        }
        @if ctx.may(&Action::RequestCard) {
            form method="post" action=(format!("/people/{id}/cards")) class="inline" {
                (ctx.csrf_field())
                label for="card-type" { "Request a new card:" }
                select id="card-type" name="type" {
                    @for t in CardType::ALL { option value=(t.as_str()) { (type_label(t.as_str())) } }
                }
                button type="submit" { "Request card" }
            }
        }
        @if ctx.may(&Action::ReadPermits) {
            h2 { "Permits" }
            @if permits.is_empty() { p { "No permits." } } @else {
                table {
                    thead { tr { th scope="col" { "Zone" } th scope="col" { "From" } th scope="col" { "To" } th scope="col" { "State" } } }
                    tbody {
                        @for p in &permits {
                            tr {
                                td { (p.zone) }
                                td { (when(p.valid_from)) }
                                td { (when(p.valid_to)) }
                                td { @if p.revoked_at.is_some() { "withdrawn" } @else { "in force" } }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(frame(&ctx, &here, &title, body).into_response())
}

fn display_name(p: &Revealed) -> String {
    if p.withheld.contains(&Compartment::Identity) {
        return "Protected person".to_owned();
    }
    let r = &p.record;
    match (r.forenames.as_deref(), r.surname.as_deref()) {
        (Some(f), Some(s)) => format!("{f} {s}"),
        (None, Some(s)) => s.to_owned(),
        _ => "Person".to_owned(),
    }
}

pub(crate) fn type_label(t: &str) -> &str {
    match t {
        "warrant_card" => "Warrant card",
        "staff_pass" => "Staff pass",
        "contractor_pass" => "Contractor pass",
        "visitor_pass" => "Visitor pass",
        other => other,
    }
}

fn field_label(f: Field) -> &'static str {
    match f {
        Field::ServiceNumber => "Service number",
        Field::Forenames => "Forenames",
        Field::Surname => "Surname",
        Field::Rank => "Rank",
        Field::Unit => "Unit",
        Field::Email => "Email",
        Field::Photo => "Photo",
        Field::VettingLevel => "Vetting level",
        Field::VettingExpiry => "Vetting expires",
        Field::Salary => "Salary",
        Field::PayGrade => "Pay grade",
    }
}

fn compartment_title(c: Compartment) -> &'static str {
    match c {
        Compartment::Identity => "Identity",
        Compartment::Photo => "Photo",
        Compartment::Vetting => "Vetting",
        Compartment::Pay => "Pay",
    }
}

fn compartment_section(p: &Revealed, c: Compartment) -> Markup {
    html! {
        section aria-labelledby=(format!("c-{}", c.as_str())) {
            h2 id=(format!("c-{}", c.as_str())) { (compartment_title(c)) }
            @if p.withheld.contains(&c) {
                p { "Withheld: this person is protected." }
            } @else {
                dl class="record" {
                    @for f in c.fields().iter().filter(|f| **f != Field::Photo) {
                        dt { (field_label(*f)) }
                        dd { (p.record.field_text(*f).unwrap_or_else(|| "—".into())) }
                    }
                }
            }
        }
    }
}

/// `GET /people/{id}/photo`: the photo, read (and audited) on its own.
pub(crate) async fn photo(people: PeopleGate, Path(id): Path<String>, headers: HeaderMap) -> Result<Response, Problem> {
    let id = person_id(&id)?;
    let (gate, action) = people.compartments(&[Compartment::Photo]).await?;
    let purpose = super::purpose::current(&headers, gate.register().purpose_codes())
        .ok_or_else(|| Problem::bad_request("purpose_required", "choose your task before opening a record"))?;
    gate.limit_reads(&action).await?;
    let person =
        gate.register().show(&gate.operator(), id, &[Compartment::Photo], Some(&purpose.code), now_s() * 1000).await?;
    gate.metrics().person_read(1);
    let Some(bytes) = person.record.photo else {
        return Err(Problem::new(StatusCode::NOT_FOUND, "no_photo", "there is no photo on this record"));
    };
    let kind = if bytes.starts_with(b"\x89PNG") { "image/png" } else { "image/jpeg" };
    let mut r = bytes.into_response();
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(kind));
    Ok(r)
}
