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
use lanyard_core::{CardType, Compartment, Field, PersonId};
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
        @if !editable(ctx.role).is_empty() {
            p { a class="button" href=(format!("/people/{id}/edit")) { "Change this record" } }
        }
        @if policy::may_write(ctx.role, Compartment::Photo) && !person.withheld.contains(&Compartment::Identity) {
            form method="post" action=(format!("/people/{id}/photo")) enctype="multipart/form-data" class="inline" {
                (ctx.csrf_field())
                label for="photo" { "New card photo:" }
                input id="photo" name="photo" type="file" accept="image/jpeg,image/png" required;
                button type="submit" class="secondary" { "Upload photo" }
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

/// The fields a role may change on the edit page (the photo has its own
/// upload, not built here).
fn editable(role: lanyard_core::Role) -> Vec<Field> {
    Field::ALL.into_iter().filter(|f| *f != Field::Photo && policy::may_write(role, f.compartment())).collect()
}

/// A hint beside a field: what it takes.
fn field_help(f: Field) -> Option<&'static str> {
    match f {
        Field::VettingLevel => Some("One of the force's levels, e.g. NPPV2, SC, DV."),
        Field::VettingExpiry => Some("A date, YYYY-MM-DD."),
        Field::Salary => Some("Pounds a year, e.g. 41250 or 41250.50."),
        Field::Rank => Some("As the force's rank table spells it."),
        _ => None,
    }
}

fn edit_form(
    ctx: &Ctx,
    id: PersonId,
    fields: &[Field],
    values: &std::collections::BTreeMap<Field, String>,
    errors: &std::collections::BTreeMap<Field, String>,
) -> Markup {
    html! {
        @if !errors.is_empty() {
            div class="banner bad" role="alert" {
                p { "Nothing was saved. Correct the fields marked below, then save again." }
            }
        }
        form method="post" action=(format!("/people/{id}/edit")) class="stack" novalidate {
            (ctx.csrf_field())
            @for f in fields {
                @let name = f.as_str();
                @let err = errors.get(f);
                @let help = field_help(*f);
                @let described: Vec<String> = [help.map(|_| format!("{name}-help")), err.map(|_| format!("{name}-error"))]
                    .into_iter().flatten().collect();
                div class="field" {
                    label for=(name) { (field_label(*f)) }
                    input id=(name) name=(name) type="text" value=(values.get(f).map(String::as_str).unwrap_or(""))
                        aria-invalid=[err.map(|_| "true")]
                        aria-describedby=[(!described.is_empty()).then(|| described.join(" "))];
                    @if let Some(h) = help { p id=(format!("{name}-help")) class="help" { (h) } }
                    @if let Some(e) = err { p id=(format!("{name}-error")) class="error-text" { (e) } }
                    input type="hidden" name=(format!("was_{name}")) value=(values.get(f).map(String::as_str).unwrap_or(""));
                }
            }
            button type="submit" { "Save changes" }
        }
    }
}

/// `GET /people/{id}/edit`: the fields of the compartments the role
/// writes, as they stand (an audited read, for the task).
pub(crate) async fn edit_form_page(
    people: PeopleGate,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    let id = person_id(&id)?;
    let role = people.caller().principal.role;
    let fields = editable(role);
    let mut compartments: Vec<Compartment> = fields.iter().map(|f| f.compartment()).collect();
    compartments.dedup();
    if compartments.is_empty() {
        return Err(Problem::forbidden("compartment_not_writable"));
    }
    let (gate, action) = people.compartments(&compartments).await?;
    let ctx = Ctx::of(&gate, &headers);
    let here = format!("/people/{id}/edit");
    let Some(purpose) = ctx.purpose.clone() else {
        return Ok(frame(&ctx, &here, "Change a record", ask_task(&ctx, &here)).into_response());
    };
    // Writing a compartment is not reading it: the values shown are read
    // only where the role may read them too.
    let readable: Vec<Compartment> = compartments.iter().copied().filter(|c| policy::may_read(role, *c)).collect();
    let mut values = std::collections::BTreeMap::new();
    if !readable.is_empty() {
        gate.limit_reads(&action).await?;
        let person = gate.register().show(&gate.operator(), id, &readable, Some(&purpose.code), now_s() * 1000).await?;
        gate.metrics().person_read(1);
        for f in &fields {
            if let Some(v) = person.record.field_text(*f) {
                values.insert(*f, v);
            }
        }
    }
    let form = edit_form(&ctx, id, &fields, &values, &std::collections::BTreeMap::new());
    Ok(frame(&ctx, &here, "Change a record", form).into_response())
}

/// `POST /people/{id}/edit`: every changed field checked first, each error
/// beside its field; nothing is saved unless all are right.
pub(crate) async fn edit(
    people: PeopleGate,
    Path(id): Path<String>,
    headers: HeaderMap,
    Form(form): Form<std::collections::BTreeMap<String, String>>,
) -> Result<Response, Problem> {
    let id = person_id(&id)?;
    let fields = editable(people.caller().principal.role);
    let ranks = people.ranks().clone();
    let mut changes = lanyard_core::PersonRecord::default();
    let mut changed: Vec<Compartment> = Vec::new();
    let mut values = std::collections::BTreeMap::new();
    let mut errors = std::collections::BTreeMap::new();
    for f in &fields {
        let now = form.get(f.as_str()).map(|v| v.trim().to_owned()).unwrap_or_default();
        let was = form.get(&format!("was_{}", f.as_str())).map(|v| v.trim().to_owned()).unwrap_or_default();
        values.insert(*f, now.clone());
        if now == was {
            continue;
        }
        if now.is_empty() {
            errors.insert(*f, "This cannot be emptied here. Put back the value, or ask the ID office.".to_owned());
            continue;
        }
        match changes.set_from_text(*f, &now, &ranks) {
            Ok(()) => {
                if !changed.contains(&f.compartment()) {
                    changed.push(f.compartment());
                }
            }
            Err(e) => {
                // The message names the field first; the page shows it
                // beside the field already.
                let text = e.to_string();
                let text = text.strip_prefix(f.as_str()).unwrap_or(&text).trim_start_matches([':', ' ']);
                let text = text.strip_prefix("is ").unwrap_or(text);
                errors.insert(*f, super::errors::sentence(text));
            }
        }
    }
    let mut compartments: Vec<Compartment> = fields.iter().map(|f| f.compartment()).collect();
    compartments.dedup();
    let asked = if changed.is_empty() { compartments } else { changed.clone() };
    let (gate, _) = people.compartments(&asked).await?;
    let ctx = Ctx::of(&gate, &headers);
    let here = format!("/people/{id}/edit");
    if !errors.is_empty() {
        let page = frame(&ctx, &here, "Change a record", edit_form(&ctx, id, &fields, &values, &errors));
        return Ok((StatusCode::BAD_REQUEST, page).into_response());
    }
    if !changed.is_empty() {
        gate.register().update(&gate.operator(), id, changes, None, now_s() * 1000).await?;
    }
    let body = html! {
        div class="banner good" role="status" id="saved" {
            p { @if changed.is_empty() { "Nothing had changed, so nothing was saved." } @else { "Saved. The change is in the audit log." } }
        }
        p { a href=(format!("/people/{id}")) { "Back to the record" } }
    };
    Ok(frame(&ctx, &here, "Change a record", body).into_response())
}

/// `POST /people/{id}/photo`: a new card photo from a file (JPEG or PNG),
/// checked and normalised by the register as any photo is.
pub(crate) async fn upload_photo(
    people: PeopleGate,
    Path(id): Path<String>,
    headers: HeaderMap,
    mut multipart: axum::extract::Multipart,
) -> Result<Response, Problem> {
    let id = person_id(&id)?;
    let bad = |_| Problem::bad_request("bad_upload", "the photo did not arrive whole; choose it and send it again");
    super::csrf::check_multipart(&headers, &mut multipart).await?;
    let (gate, _) = people.compartments(&[Compartment::Photo]).await?;
    let ctx = Ctx::of(&gate, &headers);
    let mut photo = None;
    while let Some(field) = multipart.next_field().await.map_err(bad)? {
        if field.name() == Some("photo") {
            photo = Some(field.bytes().await.map_err(bad)?.to_vec());
        }
    }
    let here = format!("/people/{id}");
    let Some(photo) = photo.filter(|p| !p.is_empty()) else {
        let body = html! {
            div class="banner bad" role="alert" { p { "No photo arrived. Choose a JPEG or PNG file, then upload it." } }
            p { a href=(here) { "Back to the record" } }
        };
        return Ok((StatusCode::BAD_REQUEST, frame(&ctx, &here, "Change the photo", body)).into_response());
    };
    let changes = lanyard_core::PersonRecord { photo: Some(photo), ..Default::default() };
    match gate.register().update(&gate.operator(), id, changes, None, now_s() * 1000).await {
        Ok(()) => Ok(axum::response::Redirect::to(&here).into_response()),
        Err(e) if matches!(e.kind(), lanyard_register::ErrorKind::Photo(_)) => {
            let body = html! {
                div class="banner bad" role="alert" id="photo-error" {
                    p { "The photo was not saved: " (e.to_string()) "." }
                    p { "Use a JPEG or PNG portrait, as a camera or scanner saves it." }
                }
                p { a href=(here) { "Back to the record" } }
            };
            Ok((StatusCode::BAD_REQUEST, frame(&ctx, &here, "Change the photo", body)).into_response())
        }
        Err(e) => Err(e.into()),
    }
}
