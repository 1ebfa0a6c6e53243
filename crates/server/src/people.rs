//! The people routes: list, read, find, add, change and erase. Reads name
//! their compartments and purpose; the gate decides the compartments.

use axum::Json;
use axum::extract::{Path, Query};
use axum::http::{HeaderMap, StatusCode};
use lanyard_core::{Compartment, PersonId};
use lanyard_register::{PersonSummary, PhotoJson};
use serde::{Deserialize, Serialize};

use crate::gate::{Gate, PeopleGate};
use crate::now_s;
use crate::params::{ReadQuery, purpose_of, requested_compartments};
use crate::problem::{Problem, ProblemBody};

#[derive(Deserialize)]
pub(crate) struct ListQuery {
    after: Option<String>,
    limit: Option<i64>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct PersonSummaryJson {
    id: String,
    status: String,
    protected: bool,
    created_at: i64,
    updated_at: i64,
}

impl From<PersonSummary> for PersonSummaryJson {
    fn from(p: PersonSummary) -> Self {
        PersonSummaryJson {
            id: p.id.to_string(),
            status: p.status.as_str().to_owned(),
            protected: p.protected,
            created_at: p.created_at,
            updated_at: p.updated_at,
        }
    }
}

pub(crate) fn person_id(text: &str) -> Result<PersonId, Problem> {
    text.parse::<PersonId>().map_err(|_| Problem::bad_request("bad_person_id", "not a person id (a UUID)"))
}

/// People by id and status, decrypting nothing (no purpose needed).
#[utoipa::path(get, path = "/v1/people", params(("after" = Option<String>, Query), ("limit" = Option<i64>, Query)),
    responses((status = 200, body = [PersonSummaryJson]), (status = 401, body = ProblemBody), (status = 403, body = ProblemBody)))]
pub(crate) async fn list_people(
    gate: Gate,
    Query(q): Query<ListQuery>,
) -> Result<Json<Vec<PersonSummaryJson>>, Problem> {
    let after = q.after.as_deref().map(person_id).transpose()?;
    let limit = q.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(Problem::bad_request("bad_limit", "limit is 1 to 1000"));
    }
    let people = gate.register().list(after, limit).await?;
    Ok(Json(people.into_iter().map(Into::into).collect()))
}

/// Reveals compartments of one person. Needs a purpose (the
/// `X-Lanyard-Purpose` header or `purpose`), which the audit event records;
/// the event is durable before anything is decrypted.
#[utoipa::path(get, path = "/v1/people/{id}",
    params(("id" = String, Path), ("compartments" = String, Query, example = "identity,photo"),
           ("X-Lanyard-Purpose" = String, Header, description = "Why the data is read")),
    responses((status = 200, description = "the compartments asked for; `[protected]` where withheld"),
              (status = 400, body = ProblemBody), (status = 401, body = ProblemBody),
              (status = 403, body = ProblemBody), (status = 404, body = ProblemBody),
              (status = 410, description = "erased", body = ProblemBody),
              (status = 429, description = "read limit reached; see Retry-After", body = ProblemBody)))]
pub(crate) async fn get_person(
    people: PeopleGate,
    Path(id): Path<String>,
    Query(q): Query<ReadQuery>,
    headers: HeaderMap,
) -> Result<Json<serde_json::Value>, Problem> {
    let id = person_id(&id)?;
    let compartments = requested_compartments(q.compartments.as_deref())?;
    let (gate, action) = people.compartments(&compartments).await?;
    let purpose = purpose_of(&headers, q.purpose, "a read of personal data needs a purpose (X-Lanyard-Purpose)")?;
    gate.limit_reads(&action).await?;
    let person = gate.register().show(&gate.operator(), id, &compartments, Some(&purpose), now_s() * 1000).await?;
    gate.metrics().person_read(1);
    Ok(Json(person.to_json(&compartments, PhotoJson::Base64)))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewPerson {
    /// Field name to text value (DESIGN §2 fields; `photo` as base64 JPEG/PNG).
    fields: std::collections::BTreeMap<String, String>,
    /// Shield the identity and photo (DESIGN §2).
    #[serde(default)]
    protected: bool,
}

#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct Created {
    id: String,
}

/// Adds a person. The caller's role must be able to write every
/// compartment the fields fall in; the write and its audit event commit
/// together.
#[utoipa::path(post, path = "/v1/people", request_body = NewPerson,
    responses((status = 201, body = Created), (status = 400, body = ProblemBody), (status = 401, body = ProblemBody),
              (status = 403, body = ProblemBody), (status = 409, body = ProblemBody)))]
pub(crate) async fn create_person(
    people: PeopleGate,
    Json(body): Json<NewPerson>,
) -> Result<(StatusCode, Json<Created>), Problem> {
    if body.fields.is_empty() {
        return Err(Problem::bad_request("no_fields", "give the person's fields"));
    }
    let (record, compartments) = parse_fields(&body.fields, people.ranks())?;
    let (gate, _) = people.compartments(&compartments).await?;
    let id = gate.register().add(&gate.operator(), record, body.protected, now_s() * 1000).await?;
    Ok((StatusCode::CREATED, Json(Created { id: id.to_string() })))
}

/// Field texts to a record, and the compartments they fall in.
pub(crate) fn parse_fields(
    fields: &std::collections::BTreeMap<String, String>,
    ranks: &lanyard_core::RankTable,
) -> Result<(lanyard_core::PersonRecord, Vec<Compartment>), Problem> {
    use base64::Engine;
    let mut record = lanyard_core::PersonRecord::default();
    let mut compartments = Vec::new();
    for (name, value) in fields {
        let field: lanyard_core::Field = name
            .parse()
            .map_err(|e: lanyard_core::ValidationError| Problem::bad_request("bad_field", e.to_string()))?;
        if !compartments.contains(&field.compartment()) {
            compartments.push(field.compartment());
        }
        if field == lanyard_core::Field::Photo {
            let raw = base64::engine::general_purpose::STANDARD
                .decode(value.trim())
                .map_err(|_| Problem::bad_request("bad_photo", "photo is not base64"))?;
            record.photo = Some(raw);
        } else {
            record.set_from_text(field, value, ranks).map_err(|e| Problem::bad_request("invalid", e.to_string()))?;
        }
    }
    Ok((record, compartments))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct PersonChanges {
    /// Fields to change, as for a new person.
    #[serde(default)]
    fields: std::collections::BTreeMap<String, String>,
    /// Set or clear the protected flag (an identity change).
    protected: Option<bool>,
}

/// Changes fields of a person. The role must be able to write every
/// compartment touched; changing the protected flag counts as writing
/// identity.
#[utoipa::path(patch, path = "/v1/people/{id}", params(("id" = String, Path)), request_body = PersonChanges,
    responses((status = 204), (status = 400, body = ProblemBody), (status = 401, body = ProblemBody),
              (status = 403, body = ProblemBody), (status = 404, body = ProblemBody), (status = 410, body = ProblemBody)))]
pub(crate) async fn update_person(
    people: PeopleGate,
    Path(id): Path<String>,
    Json(body): Json<PersonChanges>,
) -> Result<StatusCode, Problem> {
    let id = person_id(&id)?;
    let (changes, mut compartments) = parse_fields(&body.fields, people.ranks())?;
    if body.protected.is_some() && !compartments.contains(&Compartment::Identity) {
        compartments.push(Compartment::Identity);
    }
    if compartments.is_empty() {
        return Err(Problem::bad_request("no_changes", "give fields to change, or the protected flag"));
    }
    let (gate, _) = people.compartments(&compartments).await?;
    gate.register().update(&gate.operator(), id, changes, body.protected, now_s() * 1000).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Erases a person: their keys are destroyed, so nothing of them can be
/// decrypted again.
#[utoipa::path(delete, path = "/v1/people/{id}", params(("id" = String, Path)),
    responses((status = 204), (status = 401, body = ProblemBody), (status = 403, body = ProblemBody),
              (status = 404, body = ProblemBody), (status = 410, body = ProblemBody)))]
pub(crate) async fn erase_person(gate: Gate, Path(id): Path<String>) -> Result<StatusCode, Problem> {
    let id = person_id(&id)?;
    gate.register().erase(&gate.operator(), id, now_s() * 1000).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct FindRequest {
    /// Exactly one of service_number, surname and email.
    service_number: Option<String>,
    surname: Option<String>,
    email: Option<String>,
    /// Narrow to forenames containing this (identity).
    forenames: Option<String>,
    /// Narrow to this rank, whole (identity).
    rank: Option<String>,
    /// Omit for the short list (id, service number, name, rank, from the
    /// identity compartment alone); name compartments for full records.
    compartments: Option<String>,
}

/// Finds people by exact service number, surname or email (through the
/// blind indexes). By default answers a short list read from the identity
/// compartment alone; with `compartments`, the full records of those. A
/// POST, so that a surname never appears in a URL (URLs are logged). Needs
/// a purpose; audited before anything is decrypted.
#[utoipa::path(post, path = "/v1/people/find", request_body = FindRequest,
    params(("X-Lanyard-Purpose" = String, Header, description = "Why the data is read")),
    responses((status = 200, description = "the short list, or each person as GET /v1/people/{id}"),
              (status = 400, body = ProblemBody), (status = 401, body = ProblemBody),
              (status = 403, body = ProblemBody), (status = 429, body = ProblemBody)))]
pub(crate) async fn find_people(
    people: PeopleGate,
    headers: HeaderMap,
    Json(q): Json<FindRequest>,
) -> Result<Json<Vec<serde_json::Value>>, Problem> {
    let lookup = match (&q.service_number, &q.surname, &q.email) {
        (Some(sn), None, None) => lanyard_register::Lookup::ServiceNumber(sn),
        (None, Some(s), None) => lanyard_register::Lookup::Surname(s),
        (None, None, Some(e)) => lanyard_register::Lookup::Email(e),
        _ => return Err(Problem::bad_request("bad_lookup", "give exactly one of service_number, surname and email")),
    };
    let filter = lanyard_register::FindFilter { forenames: q.forenames.clone(), rank: q.rank.clone() };
    let short = q.compartments.is_none();
    let compartments = match &q.compartments {
        None => vec![Compartment::Identity],
        Some(list) => {
            Compartment::parse_list(list).map_err(|e| Problem::bad_request("bad_compartments", e.to_string()))?
        }
    };
    if compartments.is_empty() {
        return Err(Problem::bad_request(
            "no_compartments",
            "name the compartments to read, or omit them for the short list",
        ));
    }
    if !filter.is_empty() && !compartments.contains(&Compartment::Identity) {
        return Err(Problem::bad_request(
            "filter_needs_identity",
            "forenames and rank filter on the identity compartment: add identity to compartments",
        ));
    }
    let (gate, action) = people.compartments(&compartments).await?;
    let purpose = purpose_of(&headers, None, "a read of personal data needs a purpose (X-Lanyard-Purpose)")?;
    gate.limit_reads(&action).await?;
    let now = now_s() * 1000;
    if short {
        let found = gate.register().find_short(&gate.operator(), lookup, &filter, Some(&purpose), now).await?;
        gate.metrics().person_read(found.len());
        return Ok(Json(found.iter().map(|e| serde_json::to_value(e).unwrap_or_default()).collect()));
    }
    let mut found = gate.register().find(&gate.operator(), lookup, &compartments, Some(&purpose), now).await?;
    found.retain(|p| filter.keeps(p));
    gate.metrics().person_read(found.len());
    Ok(Json(found.iter().map(|p| p.to_json(&compartments, PhotoJson::Base64)).collect()))
}
