//! Administration over the API: users and service tokens (admin), the log's
//! own check and single events (auditor, admin), zones and permits. Each
//! handler is the HTTP face of the CLI command of the same name.
//!
//! Secrets (a new user's TOTP secret, a token) appear in one response only;
//! every response here is `Cache-Control: no-store` like all the API.

use axum::Json;
use axum::extract::{Path, Query};
use axum::http::StatusCode;
use base64::Engine as _;
use lanyard_core::{PersonId, Role};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::gate::Gate;
use crate::now_s;
use crate::problem::{Problem, ProblemBody};

#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct UserJson {
    id: Uuid,
    name: String,
    role: String,
    protected: bool,
    disabled: bool,
    /// Unix seconds; 0 when not locked.
    locked_until: i64,
    created_at: i64,
}

impl From<lanyard_access::User> for UserJson {
    fn from(u: lanyard_access::User) -> Self {
        UserJson {
            id: u.id,
            name: u.name,
            role: u.role.as_str().to_owned(),
            protected: u.protected,
            disabled: u.disabled,
            locked_until: u.locked_until,
            created_at: u.created_at,
        }
    }
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewUser {
    /// 1 to 64 letters, digits or . _ - @.
    name: String,
    /// A user role (not print_supplier or verifier).
    role: String,
    /// At least 12 characters.
    password: String,
    /// Clearance to see protected persons.
    #[serde(default)]
    protected: bool,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewPassword {
    password: String,
}

/// A second factor to enrol, shown once.
#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct EnrolmentJson {
    user_id: Uuid,
    /// Base32, for typing into an authenticator.
    totp_secret: String,
    /// `otpauth://` URI, for a QR code.
    otpauth_uri: String,
}

impl From<lanyard_access::Enrolment> for EnrolmentJson {
    fn from(e: lanyard_access::Enrolment) -> Self {
        EnrolmentJson {
            user_id: e.user_id,
            totp_secret: e.totp_secret.to_string(),
            otpauth_uri: e.otpauth_uri.to_string(),
        }
    }
}

fn role_of(text: &str) -> Result<Role, Problem> {
    text.parse::<Role>().map_err(|_| Problem::bad_request("bad_role", "not a role name"))
}

/// Adds a user; the answer carries their second factor, once.
#[utoipa::path(post, path = "/v1/users", request_body = NewUser,
    responses((status = 201, body = EnrolmentJson), (status = 400, body = ProblemBody),
              (status = 403, body = ProblemBody), (status = 409, body = ProblemBody)))]
pub(crate) async fn add_user(
    gate: Gate,
    Json(body): Json<NewUser>,
) -> Result<(StatusCode, Json<EnrolmentJson>), Problem> {
    let role = role_of(&body.role)?;
    let enrolment = gate
        .access()
        .create_user(&gate.caller().principal.actor, &body.name, role, &body.password, body.protected, now_s())
        .await?;
    Ok((StatusCode::CREATED, Json(enrolment.into())))
}

/// Every user (no password hashes, no second-factor secrets).
#[utoipa::path(get, path = "/v1/users",
    responses((status = 200, body = [UserJson]), (status = 403, body = ProblemBody)))]
pub(crate) async fn list_users(gate: Gate) -> Result<Json<Vec<UserJson>>, Problem> {
    Ok(Json(gate.access().users(now_s()).await?.into_iter().map(UserJson::from).collect()))
}

/// Disables a user and ends their sessions.
#[utoipa::path(post, path = "/v1/users/{name}/disable", params(("name" = String, Path)),
    responses((status = 204), (status = 403, body = ProblemBody), (status = 404, body = ProblemBody),
              (status = 409, description = "not one's own account", body = ProblemBody)))]
pub(crate) async fn disable_user(gate: Gate, Path(name): Path<String>) -> Result<StatusCode, Problem> {
    gate.access().disable_user(&gate.caller().principal.actor, &name, now_s()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// New password and second factor; lockout cleared, sessions ended.
#[utoipa::path(post, path = "/v1/users/{name}/reset", params(("name" = String, Path)), request_body = NewPassword,
    responses((status = 200, body = EnrolmentJson), (status = 400, body = ProblemBody),
              (status = 403, body = ProblemBody), (status = 404, body = ProblemBody),
              (status = 409, description = "not one's own account", body = ProblemBody)))]
pub(crate) async fn reset_user(
    gate: Gate,
    Path(name): Path<String>,
    Json(body): Json<NewPassword>,
) -> Result<Json<EnrolmentJson>, Problem> {
    let enrolment = gate.access().reset_user(&gate.caller().principal.actor, &name, &body.password, now_s()).await?;
    Ok(Json(enrolment.into()))
}

#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct TokenJson {
    id: Uuid,
    role: String,
    /// The supplier or device.
    subject: String,
    created_at: i64,
    expires_at: i64,
    revoked_at: Option<i64>,
}

impl From<lanyard_access::Token> for TokenJson {
    fn from(t: lanyard_access::Token) -> Self {
        TokenJson {
            id: t.id,
            role: t.role.as_str().to_owned(),
            subject: t.subject,
            created_at: t.created_at,
            expires_at: t.expires_at,
            revoked_at: t.revoked_at,
        }
    }
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewToken {
    /// print_supplier (with `supplier`) or verifier (with `device`).
    role: String,
    supplier: Option<String>,
    device: Option<String>,
    /// Lifetime in seconds, 60 to 366 days.
    #[serde(deserialize_with = "crate::params::whole::i64")]
    expires_in_s: i64,
}

#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct IssuedTokenJson {
    #[serde(flatten)]
    token: TokenJson,
    /// The bearer secret, shown once; only its hash is kept.
    secret: String,
}

/// Issues a service token for a print supplier or a verifier device.
#[utoipa::path(post, path = "/v1/tokens", request_body = NewToken,
    responses((status = 201, body = IssuedTokenJson), (status = 400, body = ProblemBody), (status = 403, body = ProblemBody)))]
pub(crate) async fn create_token(
    gate: Gate,
    Json(body): Json<NewToken>,
) -> Result<(StatusCode, Json<IssuedTokenJson>), Problem> {
    let role = role_of(&body.role)?;
    let subject = lanyard_core::policy::token_subject(role, body.supplier.as_deref(), body.device.as_deref())
        .map_err(|why| Problem::bad_request("bad_subject", why))?;
    let issued =
        gate.access().create_token(&gate.caller().principal.actor, role, subject, body.expires_in_s, now_s()).await?;
    let secret = issued.secret.to_string();
    Ok((StatusCode::CREATED, Json(IssuedTokenJson { token: issued.token.into(), secret })))
}

/// Every service token (ids and subjects, never secrets or hashes).
#[utoipa::path(get, path = "/v1/tokens",
    responses((status = 200, body = [TokenJson]), (status = 403, body = ProblemBody)))]
pub(crate) async fn list_tokens(gate: Gate) -> Result<Json<Vec<TokenJson>>, Problem> {
    Ok(Json(gate.access().tokens(now_s()).await?.into_iter().map(TokenJson::from).collect()))
}

/// Revokes a token at once.
#[utoipa::path(post, path = "/v1/tokens/{id}/revoke", params(("id" = Uuid, Path)),
    responses((status = 204), (status = 403, body = ProblemBody), (status = 404, body = ProblemBody)))]
pub(crate) async fn revoke_token(gate: Gate, Path(id): Path<String>) -> Result<StatusCode, Problem> {
    let id = id.parse::<Uuid>().map_err(|_| Problem::bad_request("bad_token_id", "not a token id"))?;
    gate.access().revoke_token(&gate.caller().principal.actor, id, now_s()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Checks the whole log against its checkpoints and the store: the answer
/// of `lanyard audit verify --json`. Findings name ids, never values.
#[utoipa::path(post, path = "/v1/audit/verify",
    responses((status = 200, description = "events, checkpoints and people checked; findings (empty when all agree)"),
              (status = 403, body = ProblemBody)))]
pub(crate) async fn audit_verify(gate: Gate) -> Result<Json<serde_json::Value>, Problem> {
    let report = gate.register().verify_log(&gate.operator(), now_s() * 1000).await?;
    let mut v = serde_json::to_value(&report)
        .map_err(|_| Problem::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "the report could not be encoded"))?;
    if let Some(o) = v.as_object_mut() {
        o.insert("ok".into(), serde_json::Value::Bool(report.findings.is_empty()));
    }
    Ok(Json(v))
}

/// One event of the log, exactly as hashed, with its leaf hash.
#[utoipa::path(get, path = "/v1/audit/events/{index}", params(("index" = u64, Path)),
    responses((status = 200, description = "the event, its bytes in base64 and its RFC 9162 leaf hash"),
              (status = 403, body = ProblemBody), (status = 404, body = ProblemBody)))]
pub(crate) async fn audit_event(gate: Gate, Path(index): Path<String>) -> Result<Json<serde_json::Value>, Problem> {
    let index = index.parse::<u64>().map_err(|_| Problem::bad_request("bad_index", "not an event index"))?;
    let (bytes, hash) = gate.register().audit_event(index).await?;
    let b64 = base64::engine::general_purpose::STANDARD;
    let event: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null);
    Ok(Json(serde_json::json!({
        "index": index,
        "event": event,
        "event_base64": b64.encode(&bytes),
        "leaf_hash": b64.encode(hash),
    })))
}

/// The sealed note of one event (the free text of its purpose), opened for
/// the auditor; the opening is itself audited first. 409 `note_unavailable`
/// when the event has none, or it was shredded with a person it names.
#[utoipa::path(get, path = "/v1/audit/events/{index}/note", params(("index" = u64, Path)),
    responses((status = 200, description = "index, code and the note"),
              (status = 403, body = ProblemBody), (status = 404, body = ProblemBody),
              (status = 409, body = ProblemBody)))]
pub(crate) async fn audit_note(gate: Gate, Path(index): Path<String>) -> Result<Json<serde_json::Value>, Problem> {
    let index = index.parse::<u64>().map_err(|_| Problem::bad_request("bad_index", "not an event index"))?;
    let opened = gate.register().audit_note(&gate.operator(), index, now_s() * 1000).await?;
    Ok(Json(serde_json::json!({ "index": opened.index, "code": opened.code, "note": opened.note })))
}

/// Every zone and the vetting it accepts (no personal data).
#[utoipa::path(get, path = "/v1/zones",
    responses((status = 200, description = "code, name, accepts"), (status = 403, body = ProblemBody)))]
pub(crate) async fn list_zones(gate: Gate) -> Result<Json<Vec<serde_json::Value>>, Problem> {
    let zones = gate.cards().zones(now_s() * 1000).await?;
    Ok(Json(
        zones.iter().map(|z| serde_json::json!({ "code": z.code, "name": z.name, "accepts": z.accepts })).collect(),
    ))
}

#[derive(Deserialize)]
pub(crate) struct PermitQuery {
    person: Option<String>,
}

/// Permits, of one person or all: ids, zones and windows.
#[utoipa::path(get, path = "/v1/permits", params(("person" = Option<String>, Query)),
    responses((status = 200, description = "id, person, zone, from, to, revoked_at"), (status = 403, body = ProblemBody)))]
pub(crate) async fn list_permits(
    gate: Gate,
    Query(q): Query<PermitQuery>,
) -> Result<Json<Vec<serde_json::Value>>, Problem> {
    let person = q
        .person
        .as_deref()
        .map(str::parse::<PersonId>)
        .transpose()
        .map_err(|_| Problem::bad_request("bad_person_id", "not a person id"))?;
    let permits = gate.cards().permits(person, now_s() * 1000).await?;
    Ok(Json(
        permits
            .iter()
            .map(|p| {
                serde_json::json!({ "id": p.id, "person": p.person_id, "zone": p.zone, "from": p.valid_from,
                    "to": p.valid_to, "revoked_at": p.revoked_at })
            })
            .collect(),
    ))
}

/// Withdraws a permit at once.
#[utoipa::path(post, path = "/v1/permits/{id}/revoke", params(("id" = Uuid, Path)),
    responses((status = 204), (status = 403, body = ProblemBody), (status = 404, body = ProblemBody)))]
pub(crate) async fn revoke_permit(gate: Gate, Path(id): Path<String>) -> Result<StatusCode, Problem> {
    let id = id.parse::<Uuid>().map_err(|_| Problem::bad_request("bad_permit_id", "not a permit id"))?;
    gate.cards().revoke_permit(&gate.operator(), id, now_s() * 1000).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Who the caller is, as the server knows them.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub(crate) struct SessionJson {
    /// The audited actor id.
    actor: String,
    /// The role.
    role: String,
    /// Cleared to see protected persons.
    protected_clearance: bool,
}

/// The caller's own actor and role: what `lanyard login` shows, and how a
/// client learns that its session has ended.
#[utoipa::path(get, path = "/v1/session",
    responses((status = 200, body = SessionJson), (status = 401, body = crate::problem::ProblemBody)))]
pub(crate) async fn session(gate: crate::gate::Gate) -> axum::Json<SessionJson> {
    let p = gate.principal();
    axum::Json(SessionJson {
        actor: p.actor.id.clone(),
        role: p.role.as_str().to_owned(),
        protected_clearance: p.protected_clearance,
    })
}
