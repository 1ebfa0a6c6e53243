//! The audit routes: checkpoints, proofs, exports, breach scoping; and the
//! key status and issuer rotation.

use axum::Json;
use axum::body::Body;
use axum::extract::Query;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use lanyard_core::Compartment;
use serde::{Deserialize, Serialize};

use crate::gate::Gate;
use crate::now_s;
use crate::problem::{Problem, ProblemBody};

/// Adds a new card issuer key; approvals from now on sign with it, and the
/// old key stays in the trust bundle until its last card expires.
#[utoipa::path(post, path = "/v1/keys/issuer/rotate",
    responses((status = 200, description = "the new key version"), (status = 403, body = ProblemBody)))]
pub(crate) async fn rotate_issuer(gate: Gate) -> Result<Json<serde_json::Value>, Problem> {
    let version = gate.cards().rotate_issuer(&gate.operator(), now_s() * 1000).await?;
    Ok(Json(serde_json::json!({ "key": "issuer", "new_version": version })))
}

/// Key provider, key versions and counts; no personal data.
#[utoipa::path(get, path = "/v1/keys",
    responses((status = 200, description = "key status"), (status = 401, body = ProblemBody), (status = 403, body = ProblemBody)))]
pub(crate) async fn keys_status(gate: Gate) -> Result<Json<serde_json::Value>, Problem> {
    let status = gate.register().keys_status().await?;
    Ok(Json(
        serde_json::to_value(status)
            .map_err(|_| Problem::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "the request failed"))?,
    ))
}

pub(crate) fn json_of<T: Serialize>(value: &T) -> Result<Json<serde_json::Value>, Problem> {
    serde_json::to_value(value)
        .map(Json)
        .map_err(|_| Problem::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "the request failed"))
}

/// The signed checkpoint of the whole log (signed now if the log grew), with
/// the verifier key that checks it.
#[utoipa::path(get, path = "/v1/audit/checkpoint",
    responses((status = 200, description = "C2SP signed checkpoint and verifier key"),
              (status = 401, body = ProblemBody), (status = 403, body = ProblemBody)))]
pub(crate) async fn audit_checkpoint(gate: Gate) -> Result<Json<serde_json::Value>, Problem> {
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
pub(crate) struct InclusionQuery {
    index: u64,
    size: Option<u64>,
}

/// RFC 9162 inclusion proof of event `index`, against a signed checkpoint.
#[utoipa::path(get, path = "/v1/audit/proofs/inclusion",
    params(("index" = u64, Query), ("size" = Option<u64>, Query)),
    responses((status = 200, description = "the proof, as `lanyard audit prove inclusion --json`"),
              (status = 400, body = ProblemBody), (status = 401, body = ProblemBody), (status = 403, body = ProblemBody),
              (status = 404, description = "no checkpoint of that size, or no such event in it", body = ProblemBody)))]
pub(crate) async fn audit_inclusion(
    gate: Gate,
    Query(q): Query<InclusionQuery>,
) -> Result<Json<serde_json::Value>, Problem> {
    let proof = gate.register().prove_inclusion(&gate.operator(), q.index, q.size, now_s() * 1000).await?;
    json_of(&proof)
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ConsistencyRequest {
    /// A checkpoint (C2SP signed note) the caller holds from earlier.
    old_checkpoint: String,
}

/// RFC 9162 consistency proof from the caller's old checkpoint to the
/// current one: the log only grew.
#[utoipa::path(post, path = "/v1/audit/proofs/consistency", request_body = ConsistencyRequest,
    responses((status = 200, description = "the proof, as `lanyard audit prove consistency --json`"),
              (status = 400, body = ProblemBody), (status = 403, body = ProblemBody),
              (status = 409, description = "the old checkpoint is not one this log signed, or is of more events than it holds", body = ProblemBody)))]
pub(crate) async fn audit_consistency(
    gate: Gate,
    Json(body): Json<ConsistencyRequest>,
) -> Result<Json<serde_json::Value>, Problem> {
    let proof = gate.register().prove_consistency(&gate.operator(), &body.old_checkpoint, now_s() * 1000).await?;
    json_of(&proof)
}

#[derive(Deserialize)]
pub(crate) struct ExportQuery {
    from_ms: Option<i64>,
    to_ms: Option<i64>,
}

/// The events of a time window, each with its inclusion proof against one
/// signed checkpoint, for an outside reviewer. The export is audited.
///
/// The body is written a page of events at a time as the log is read, so
/// a long window costs the server one page of memory. A log found damaged
/// on the way ends the body early: the client holds JSON that does not
/// parse, never an export that looks whole.
#[utoipa::path(get, path = "/v1/audit/export",
    params(("from_ms" = Option<i64>, Query), ("to_ms" = Option<i64>, Query)),
    responses((status = 200, description = "as `lanyard audit export`"), (status = 403, body = ProblemBody)))]
pub(crate) async fn audit_export(gate: Gate, Query(q): Query<ExportQuery>) -> Result<Response, Problem> {
    let export = gate.register().export_window(&gate.operator(), q.from_ms, q.to_ms, now_s() * 1000).await?;
    let chunks = futures_util::stream::unfold(Some(export), |export| async move {
        let mut export = export?;
        match export.next_chunk().await {
            Ok(Some(chunk)) => Some((Ok(axum::body::Bytes::from(chunk)), Some(export))),
            Ok(None) => None,
            Err(e) => {
                tracing::error!(error = %e, "an audit export was cut off");
                Some((Err(std::io::Error::other("the audit log could not be exported whole")), None))
            }
        }
    });
    let mut resp = Body::from_stream(chunks).into_response();
    resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    Ok(resp)
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ScopeRequest {
    /// An actor id or name (`user:ida`, `acme` for every token of supplier acme).
    actor: Option<String>,
    /// Unix milliseconds, inclusive.
    #[serde(default, deserialize_with = "crate::params::whole::opt_i64")]
    from_ms: Option<i64>,
    /// Unix milliseconds, exclusive; after `from_ms`.
    #[serde(default, deserialize_with = "crate::params::whole::opt_i64")]
    to_ms: Option<i64>,
    /// Only revelations of this compartment.
    compartment: Option<String>,
}

/// Who was exposed, from the log alone, complete up to a signed checkpoint.
#[utoipa::path(post, path = "/v1/breach/scope", request_body = ScopeRequest,
    responses((status = 200, description = "the scope report, as `lanyard breach scope --json`"),
              (status = 400, body = ProblemBody), (status = 401, body = ProblemBody), (status = 403, body = ProblemBody)))]
pub(crate) async fn breach_scope(
    gate: Gate,
    Json(req): Json<ScopeRequest>,
) -> Result<Json<serde_json::Value>, Problem> {
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
