//! The routes and their OpenAPI description. Each handler: authenticate,
//! authorize, call one service method, answer.

use std::net::SocketAddr;

use axum::Json;
use axum::extract::{ConnectInfo, Path, Query};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use lanyard_core::policy::Action;
use lanyard_core::{Compartment, PersonId};
use lanyard_register::{PersonSummary, PhotoJson};
use serde::{Deserialize, Serialize};
use utoipa::OpenApi;

use crate::auth::SESSION_COOKIE;
use crate::gate::{Gate, Need, PeopleGate, Public, Routes};
use crate::now_s;
use crate::problem::{Problem, ProblemBody};

/// The header naming why personal data is read.
pub const PURPOSE_HEADER: &str = "x-lanyard-purpose";

#[derive(OpenApi)]
#[openapi(
    info(title = "lanyard", description = "The personnel register behind police ID cards and permits."),
    paths(
        healthz,
        readyz,
        login,
        logout,
        list_people,
        get_person,
        create_person,
        update_person,
        erase_person,
        keys_status,
        find_people,
        rotate_issuer,
        crate::bulk::export_people,
        crate::bulk::import_people,
        crate::bulk::rotate_compartment,
        audit_checkpoint,
        audit_inclusion,
        audit_consistency,
        audit_export,
        breach_scope,
        crate::cards::request_card,
        crate::cards::list_cards,
        crate::cards::get_card,
        crate::cards::card_step,
        crate::cards::card_credential,
        crate::cards::status_list,
        crate::cards::trust_bundle,
        crate::cards::verify,
        crate::cards::create_zone,
        crate::cards::grant_permit,
        crate::cards::access_check,
        crate::supply::add_supplier,
        crate::supply::list_suppliers,
        crate::supply::disable_supplier,
        crate::supply::rotate_recipient,
        crate::supply::exposure,
        crate::supply::create_batch,
        crate::supply::list_batches,
        crate::supply::export_batch,
        crate::supply::own_batches,
        crate::supply::download_batch,
        crate::supply::confirm_batch,
        crate::admin::add_user,
        crate::admin::list_users,
        crate::admin::disable_user,
        crate::admin::reset_user,
        crate::admin::create_token,
        crate::admin::list_tokens,
        crate::admin::revoke_token,
        crate::admin::audit_verify,
        crate::admin::audit_event,
        crate::admin::list_zones,
        crate::admin::list_permits,
        crate::admin::revoke_permit,
        crate::scan::scan
    ),
    components(schemas(
        LoginRequest,
        LoginResponse,
        PersonSummaryJson,
        NewPerson,
        Created,
        ScopeRequest,
        ConsistencyRequest,
        ProblemBody,
        crate::cards::CardRequest,
        crate::cards::CardStep,
        crate::cards::CardJson,
        crate::cards::VerifyRequest,
        crate::cards::NewZone,
        crate::cards::NewPermit,
        crate::cards::AccessCheck,
        crate::supply::NewSupplier,
        crate::supply::NewRecipient,
        crate::supply::SupplierJson,
        crate::supply::SupplierChange,
        crate::supply::BatchJson,
        crate::supply::CreatedJson,
        crate::supply::NewBatch,
        crate::supply::Confirmation,
        crate::supply::ReceiptJson,
        crate::admin::UserJson,
        crate::admin::NewUser,
        crate::admin::NewPassword,
        crate::admin::EnrolmentJson,
        crate::admin::TokenJson,
        crate::admin::NewToken,
        crate::admin::IssuedTokenJson
    ))
)]
struct ApiDoc;

pub(crate) fn openapi_json() -> String {
    ApiDoc::openapi().to_pretty_json().unwrap_or_default()
}

/// Bulk import: larger bodies than every other route, so it is its own
/// group with its own limit.
pub(crate) fn import_routes() -> Routes {
    Routes::new().post("/v1/people/import", Need::WritePeople, crate::bulk::import_people)
}

/// Scans: uploads up to [`crate::MAX_SCAN_BYTES`].
pub(crate) fn scan_routes() -> Routes {
    Routes::new().post("/v1/scan", Need::Action(Action::ScanFiles), crate::scan::scan)
}

/// Every other route, each with what the gate must decide before it runs.
pub(crate) fn routes() -> Routes {
    use Action as A;
    use Need::{Public as Open, ReadPeople, WritePeople};
    let need = Need::Action;
    let mut r = Routes::new()
        .get("/healthz", Open, healthz)
        .get("/readyz", Open, readyz)
        .get("/metrics", Open, metrics)
        .get("/v1/openapi.json", Open, openapi)
        .post("/v1/login", Open, login)
        .post("/v1/logout", Open, logout)
        .get("/v1/people", need(A::ListPeople), list_people)
        .post("/v1/people", WritePeople, create_person)
        .get("/v1/people/find", ReadPeople, find_people)
        .get("/v1/people/{id}", ReadPeople, get_person)
        .patch("/v1/people/{id}", WritePeople, update_person)
        .delete("/v1/people/{id}", need(A::ErasePerson), erase_person)
        .get("/v1/keys", need(A::ReadStatus), keys_status)
        .post("/v1/keys/issuer/rotate", need(A::ManageIssuer), rotate_issuer)
        .post("/v1/keys/{compartment}/rotate", need(A::RotateKeys), crate::bulk::rotate_compartment)
        .get("/v1/people/export", ReadPeople, crate::bulk::export_people)
        .get("/v1/audit/checkpoint", need(A::ReadAudit), audit_checkpoint)
        .get("/v1/audit/proofs/inclusion", need(A::ReadAudit), audit_inclusion)
        .post("/v1/audit/proofs/consistency", need(A::ReadAudit), audit_consistency)
        .get("/v1/audit/export", need(A::ReadAudit), audit_export)
        .post("/v1/breach/scope", need(A::ScopeBreach), breach_scope)
        .get("/v1/cards", need(A::ReadCards), crate::cards::list_cards)
        .post("/v1/cards", need(A::RequestCard), crate::cards::request_card)
        .get("/v1/cards/{id}", need(A::ReadCards), crate::cards::get_card)
        .get("/v1/cards/{id}/credential", need(A::RenderCard), crate::cards::card_credential)
        .get("/v1/status-lists/{id}", Open, crate::cards::status_list)
        .get("/v1/trust-bundle", Open, crate::cards::trust_bundle)
        .post("/v1/verify", need(A::VerifyCards), crate::cards::verify)
        .get("/v1/zones", need(A::ReadZones), crate::admin::list_zones)
        .post("/v1/zones", need(A::ManageZones), crate::cards::create_zone)
        .get("/v1/permits", need(A::ReadPermits), crate::admin::list_permits)
        .post("/v1/permits", need(A::GrantPermit), crate::cards::grant_permit)
        .post("/v1/permits/{id}/revoke", need(A::GrantPermit), crate::admin::revoke_permit)
        .get("/v1/users", need(A::ManageUsers), crate::admin::list_users)
        .post("/v1/users", need(A::ManageUsers), crate::admin::add_user)
        .post("/v1/users/{name}/disable", need(A::ManageUsers), crate::admin::disable_user)
        .post("/v1/users/{name}/reset", need(A::ManageUsers), crate::admin::reset_user)
        .get("/v1/tokens", need(A::ManageUsers), crate::admin::list_tokens)
        .post("/v1/tokens", need(A::ManageUsers), crate::admin::create_token)
        .post("/v1/tokens/{id}/revoke", need(A::ManageUsers), crate::admin::revoke_token)
        .post("/v1/audit/verify", need(A::ReadAudit), crate::admin::audit_verify)
        .get("/v1/audit/events/{index}", need(A::ReadAudit), crate::admin::audit_event)
        .post("/v1/access/check", need(A::CheckAccess), crate::cards::access_check)
        .get("/v1/suppliers", need(A::ManageSuppliers), crate::supply::list_suppliers)
        .post("/v1/suppliers", need(A::ManageSuppliers), crate::supply::add_supplier)
        .post("/v1/suppliers/{name}/disable", need(A::ManageSuppliers), crate::supply::disable_supplier)
        .post("/v1/suppliers/{name}/recipient", need(A::ManageSuppliers), crate::supply::rotate_recipient)
        .get("/v1/suppliers/{name}/exposure", need(A::DrillSupplier), crate::supply::exposure)
        .get("/v1/batches", need(A::ManageBatches), crate::supply::list_batches)
        .post("/v1/batches", need(A::ManageBatches), crate::supply::create_batch)
        .get("/v1/batches/{id}/file", need(A::ManageBatches), crate::supply::export_batch)
        .get("/v1/supplier/batches", need(A::SupplierExchange), crate::supply::own_batches)
        .get("/v1/supplier/batches/{id}", need(A::SupplierExchange), crate::supply::download_batch)
        .post("/v1/supplier/batches/{id}/confirm", need(A::SupplierExchange), crate::supply::confirm_batch);
    for (path, verb, action) in crate::cards::STEPS {
        r = r.post(
            path,
            need(action),
            move |gate: Gate, id: Path<String>, body: Option<Json<crate::cards::CardStep>>| {
                crate::cards::card_step(gate, id, verb, body)
            },
        );
    }
    r
}

/// Liveness: the process answers.
#[utoipa::path(get, path = "/healthz", responses((status = 200, description = "alive")))]
async fn healthz() -> &'static str {
    "ok\n"
}

/// Readiness: the store answers and the key provider wraps and unwraps.
#[utoipa::path(get, path = "/readyz", responses((status = 200, description = "ready"), (status = 503, description = "not ready", body = ProblemBody)))]
async fn readyz(public: Public) -> Result<&'static str, Problem> {
    public.check_ready().await.map_err(|e| {
        tracing::warn!(error = %e, "not ready");
        Problem::new(StatusCode::SERVICE_UNAVAILABLE, "not_ready", "the store or the key provider is unreachable")
    })?;
    Ok("ready\n")
}

async fn metrics(public: Public) -> Response {
    let mut r = public.metrics().render().into_response();
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; version=0.0.4"));
    r
}

async fn openapi() -> Response {
    let mut r = openapi_json().into_response();
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    r
}

#[derive(Deserialize, utoipa::ToSchema)]
struct LoginRequest {
    name: String,
    password: String,
    /// The current code from the user's authenticator.
    code: String,
}

#[derive(Serialize, utoipa::ToSchema)]
struct LoginResponse {
    actor: String,
    role: String,
}

/// Password and TOTP code for a session cookie (Secure when served over
/// TLS; HttpOnly; SameSite=Strict).
#[utoipa::path(post, path = "/v1/login", request_body = LoginRequest,
    responses((status = 200, body = LoginResponse), (status = 401, body = ProblemBody), (status = 429, body = ProblemBody)))]
async fn login(
    public: Public,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    Json(req): Json<LoginRequest>,
) -> Result<Response, Problem> {
    let client = addr.ip().to_string();
    let result = public.sessions().login(&req.name, &req.password, &req.code, &client, now_s()).await;
    let (cookie, principal) = match result {
        Ok(ok) => ok,
        Err(e) => {
            public.metrics().login("failed");
            return Err(e.into());
        }
    };
    public.metrics().login("ok");
    let secure = if public.secure_cookies() { "; Secure" } else { "" };
    let set = format!("{SESSION_COOKIE}={}; HttpOnly; SameSite=Strict; Path=/{secure}", cookie.as_str());
    let mut r =
        Json(LoginResponse { actor: principal.actor.id, role: principal.role.as_str().to_owned() }).into_response();
    let value = HeaderValue::from_str(&set)
        .map_err(|_| Problem::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "the request failed"))?;
    r.headers_mut().insert(header::SET_COOKIE, value);
    Ok(r)
}

/// Ends the session.
#[utoipa::path(post, path = "/v1/logout", responses((status = 204), (status = 401, body = ProblemBody)))]
async fn logout(public: Public, headers: HeaderMap) -> Result<Response, Problem> {
    let cookie = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|l| l.split(';').map(str::trim).map(str::to_owned).collect::<Vec<_>>())
        .find_map(|kv| kv.strip_prefix(SESSION_COOKIE).and_then(|r| r.strip_prefix('=')).map(str::to_owned))
        .ok_or_else(|| Problem::unauthenticated("not logged in"))?;
    public.sessions().logout(&cookie, now_s()).await?;
    let mut r = StatusCode::NO_CONTENT.into_response();
    let clear = format!("{SESSION_COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0");
    if let Ok(v) = HeaderValue::from_str(&clear) {
        r.headers_mut().insert(header::SET_COOKIE, v);
    }
    Ok(r)
}

#[derive(Deserialize)]
struct ListQuery {
    after: Option<String>,
    limit: Option<i64>,
}

#[derive(Serialize, utoipa::ToSchema)]
struct PersonSummaryJson {
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

/// The stated purpose of a read: the `X-Lanyard-Purpose` header, else the
/// `purpose` query field; none (or blank) is a 400 saying `why`.
pub(crate) fn purpose_of(headers: &HeaderMap, query: Option<String>, why: &'static str) -> Result<String, Problem> {
    headers
        .get(PURPOSE_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .or(query)
        .filter(|p| !p.trim().is_empty())
        .ok_or_else(|| Problem::bad_request("purpose_required", why))
}

fn person_id(text: &str) -> Result<PersonId, Problem> {
    text.parse::<PersonId>().map_err(|_| Problem::bad_request("bad_person_id", "not a person id (a UUID)"))
}

/// People by id and status, decrypting nothing (no purpose needed).
#[utoipa::path(get, path = "/v1/people", params(("after" = Option<String>, Query), ("limit" = Option<i64>, Query)),
    responses((status = 200, body = [PersonSummaryJson]), (status = 401, body = ProblemBody), (status = 403, body = ProblemBody)))]
async fn list_people(gate: Gate, Query(q): Query<ListQuery>) -> Result<Json<Vec<PersonSummaryJson>>, Problem> {
    let after = q.after.as_deref().map(person_id).transpose()?;
    let limit = q.limit.unwrap_or(100).clamp(1, 1000);
    let people = gate.register().list(after, limit).await?;
    Ok(Json(people.into_iter().map(Into::into).collect()))
}

#[derive(Deserialize)]
pub(crate) struct ReadQuery {
    pub(crate) compartments: Option<String>,
    pub(crate) purpose: Option<String>,
}

/// The compartments a read names; at least one.
pub(crate) fn requested_compartments(text: Option<&str>) -> Result<Vec<Compartment>, Problem> {
    let compartments = Compartment::parse_list(text.unwrap_or(""))
        .map_err(|e| Problem::bad_request("bad_compartments", e.to_string()))?;
    if compartments.is_empty() {
        return Err(Problem::bad_request("no_compartments", "name the compartments to read (compartments=identity,…)"));
    }
    Ok(compartments)
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
              (status = 429, description = "read limit reached; see Retry-After", body = ProblemBody)))]
async fn get_person(
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
struct NewPerson {
    /// Field name to text value (DESIGN §2 fields; `photo` as base64 JPEG/PNG).
    fields: std::collections::BTreeMap<String, String>,
    /// Shield the identity and photo (DESIGN §2).
    #[serde(default)]
    protected: bool,
}

#[derive(Serialize, utoipa::ToSchema)]
struct Created {
    id: String,
}

/// Adds a person. The caller's role must be able to write every
/// compartment the fields fall in; the write and its audit event commit
/// together.
#[utoipa::path(post, path = "/v1/people", request_body = NewPerson,
    responses((status = 201, body = Created), (status = 400, body = ProblemBody), (status = 401, body = ProblemBody),
              (status = 403, body = ProblemBody), (status = 409, body = ProblemBody)))]
async fn create_person(
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
fn parse_fields(
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
struct PersonChanges {
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
async fn update_person(
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
async fn erase_person(gate: Gate, Path(id): Path<String>) -> Result<StatusCode, Problem> {
    let id = person_id(&id)?;
    gate.register().erase(&gate.operator(), id, now_s() * 1000).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
struct FindQuery {
    service_number: Option<String>,
    surname: Option<String>,
    email: Option<String>,
    compartments: Option<String>,
    purpose: Option<String>,
}

/// Finds people by exact service number, surname or email (through the
/// blind indexes) and reveals the compartments named, with a purpose; the
/// find is audited before anything is decrypted.
#[utoipa::path(get, path = "/v1/people/find",
    params(("service_number" = Option<String>, Query), ("surname" = Option<String>, Query),
           ("email" = Option<String>, Query), ("compartments" = String, Query, example = "identity"),
           ("X-Lanyard-Purpose" = String, Header, description = "Why the data is read")),
    responses((status = 200, description = "the people found, each as GET /v1/people/{id}"),
              (status = 400, body = ProblemBody), (status = 403, body = ProblemBody), (status = 429, body = ProblemBody)))]
async fn find_people(
    people: PeopleGate,
    Query(q): Query<FindQuery>,
    headers: HeaderMap,
) -> Result<Json<Vec<serde_json::Value>>, Problem> {
    let lookup = match (&q.service_number, &q.surname, &q.email) {
        (Some(sn), None, None) => lanyard_register::Lookup::ServiceNumber(sn),
        (None, Some(s), None) => lanyard_register::Lookup::Surname(s),
        (None, None, Some(e)) => lanyard_register::Lookup::Email(e),
        _ => return Err(Problem::bad_request("bad_lookup", "give exactly one of service_number, surname and email")),
    };
    let compartments = Compartment::parse_list(q.compartments.as_deref().unwrap_or(""))
        .map_err(|e| Problem::bad_request("bad_compartments", e.to_string()))?;
    if compartments.is_empty() {
        return Err(Problem::bad_request("no_compartments", "name the compartments to read (compartments=identity,…)"));
    }
    let (gate, action) = people.compartments(&compartments).await?;
    let purpose = purpose_of(&headers, q.purpose, "a read of personal data needs a purpose (X-Lanyard-Purpose)")?;
    gate.limit_reads(&action).await?;
    let found = gate.register().find(&gate.operator(), lookup, &compartments, Some(&purpose), now_s() * 1000).await?;
    gate.metrics().person_read(found.len());
    Ok(Json(found.iter().map(|p| p.to_json(&compartments, PhotoJson::Base64)).collect()))
}

/// Adds a new card issuer key; approvals from now on sign with it, and the
/// old key stays in the trust bundle until its last card expires.
#[utoipa::path(post, path = "/v1/keys/issuer/rotate",
    responses((status = 200, description = "the new key version"), (status = 403, body = ProblemBody)))]
async fn rotate_issuer(gate: Gate) -> Result<Json<serde_json::Value>, Problem> {
    let version = gate.cards().rotate_issuer(&gate.operator(), now_s() * 1000).await?;
    Ok(Json(serde_json::json!({ "key": "issuer", "new_version": version })))
}

/// Key provider, key versions and counts; no personal data.
#[utoipa::path(get, path = "/v1/keys",
    responses((status = 200, description = "key status"), (status = 401, body = ProblemBody), (status = 403, body = ProblemBody)))]
async fn keys_status(gate: Gate) -> Result<Json<serde_json::Value>, Problem> {
    let status = gate.register().keys_status().await?;
    Ok(Json(
        serde_json::to_value(status)
            .map_err(|_| Problem::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "the request failed"))?,
    ))
}

fn json_of<T: Serialize>(value: &T) -> Result<Json<serde_json::Value>, Problem> {
    serde_json::to_value(value)
        .map(Json)
        .map_err(|_| Problem::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "the request failed"))
}

/// The signed checkpoint of the whole log (signed now if the log grew), with
/// the verifier key that checks it.
#[utoipa::path(get, path = "/v1/audit/checkpoint",
    responses((status = 200, description = "C2SP signed checkpoint and verifier key"),
              (status = 401, body = ProblemBody), (status = 403, body = ProblemBody)))]
async fn audit_checkpoint(gate: Gate) -> Result<Json<serde_json::Value>, Problem> {
    let op = gate.operator();
    let now = now_s() * 1000;
    let cp = gate.register().checkpoint(&op, None, now).await?;
    let key = gate.register().verifier_key(&op, now).await?;
    let mut v = json_of(&cp)?.0;
    if let Some(o) = v.as_object_mut() {
        o.insert("verifier_key".into(), serde_json::Value::String(key));
    }
    Ok(Json(v))
}

#[derive(Deserialize)]
struct InclusionQuery {
    index: u64,
    size: Option<u64>,
}

/// RFC 9162 inclusion proof of event `index`, against a signed checkpoint.
#[utoipa::path(get, path = "/v1/audit/proofs/inclusion",
    params(("index" = u64, Query), ("size" = Option<u64>, Query)),
    responses((status = 200, description = "the proof, as `lanyard audit prove inclusion --json`"),
              (status = 400, body = ProblemBody), (status = 401, body = ProblemBody), (status = 403, body = ProblemBody)))]
async fn audit_inclusion(gate: Gate, Query(q): Query<InclusionQuery>) -> Result<Json<serde_json::Value>, Problem> {
    let proof = gate.register().prove_inclusion(&gate.operator(), q.index, q.size, now_s() * 1000).await?;
    json_of(&proof)
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct ConsistencyRequest {
    /// A checkpoint (C2SP signed note) the caller holds from earlier.
    old_checkpoint: String,
}

/// RFC 9162 consistency proof from the caller's old checkpoint to the
/// current one: the log only grew.
#[utoipa::path(post, path = "/v1/audit/proofs/consistency", request_body = ConsistencyRequest,
    responses((status = 200, description = "the proof, as `lanyard audit prove consistency --json`"),
              (status = 400, body = ProblemBody), (status = 403, body = ProblemBody)))]
async fn audit_consistency(
    gate: Gate,
    Json(body): Json<ConsistencyRequest>,
) -> Result<Json<serde_json::Value>, Problem> {
    let proof = gate.register().prove_consistency(&gate.operator(), &body.old_checkpoint, now_s() * 1000).await?;
    json_of(&proof)
}

#[derive(Deserialize)]
struct ExportQuery {
    from_ms: Option<i64>,
    to_ms: Option<i64>,
}

/// The events of a time window, each with its inclusion proof against one
/// signed checkpoint, for an outside reviewer. The export is audited.
#[utoipa::path(get, path = "/v1/audit/export",
    params(("from_ms" = Option<i64>, Query), ("to_ms" = Option<i64>, Query)),
    responses((status = 200, description = "as `lanyard audit export`"), (status = 403, body = ProblemBody)))]
async fn audit_export(gate: Gate, Query(q): Query<ExportQuery>) -> Result<Json<serde_json::Value>, Problem> {
    let export = gate.register().export_window(&gate.operator(), q.from_ms, q.to_ms, now_s() * 1000).await?;
    json_of(&export)
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct ScopeRequest {
    /// An actor id or name (`user:ida`, `acme` for every token of supplier acme).
    actor: Option<String>,
    /// Unix milliseconds, inclusive.
    from_ms: Option<i64>,
    /// Unix milliseconds, exclusive.
    to_ms: Option<i64>,
    /// Only revelations of this compartment.
    compartment: Option<String>,
}

/// Who was exposed, from the log alone, complete up to a signed checkpoint.
#[utoipa::path(post, path = "/v1/breach/scope", request_body = ScopeRequest,
    responses((status = 200, description = "the scope report, as `lanyard breach scope --json`"),
              (status = 400, body = ProblemBody), (status = 401, body = ProblemBody), (status = 403, body = ProblemBody)))]
async fn breach_scope(gate: Gate, Json(req): Json<ScopeRequest>) -> Result<Json<serde_json::Value>, Problem> {
    let compartment = req
        .compartment
        .as_deref()
        .map(str::parse::<Compartment>)
        .transpose()
        .map_err(|e| Problem::bad_request("bad_compartment", e.to_string()))?;
    if let (Some(a), Some(b)) = (req.from_ms, req.to_ms)
        && a >= b
    {
        return Err(Problem::bad_request("bad_window", "from_ms must be before to_ms"));
    }
    let query = lanyard_register::ScopeQuery { actor: req.actor, from_ms: req.from_ms, to_ms: req.to_ms, compartment };
    let report = gate.register().breach_scope(&gate.operator(), query, now_s() * 1000).await?;
    json_of(&report)
}
