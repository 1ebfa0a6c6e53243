//! Supplier routes. The force's side: suppliers (admin), print batches
//! (ID-card office), the compromise drill (auditor). The supplier's side: a
//! `print_supplier` token lists its own pending batches, downloads one and
//! confirms it, and nothing else; which batches are its own is checked by
//! the supply service against the token's supplier name.

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, Query};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use lanyard_supply::{Batch, Created, Exposure, Receipt, Supplier, SupplyError};
use serde::{Deserialize, Serialize};

use crate::gate::Gate;
use crate::now_s;
use crate::problem::{Problem, ProblemBody};

impl From<SupplyError> for Problem {
    fn from(e: SupplyError) -> Self {
        use SupplyError as E;
        match e {
            E::Card(c) if c.is_conflict() => Problem::new(
                StatusCode::CONFLICT,
                "conflict",
                "a card changed while this ran (another request moved it); nothing was batched or changed: try again",
            ),
            E::Card(c) => c.into(),
            E::Register(r) => r.into(),
            E::NoSupplier(_) | E::NoBatch(_) => Problem::new(StatusCode::NOT_FOUND, "not_found", e.to_string()),
            E::SupplierDisabled(_) => Problem::new(StatusCode::FORBIDDEN, "supplier_disabled", e.to_string()),
            E::NotYours(_) => Problem::new(StatusCode::FORBIDDEN, "not_your_batch", e.to_string()),
            E::Gone { .. } => Problem::new(StatusCode::GONE, "batch_gone", e.to_string()),
            E::AlreadyConfirmed(_) => Problem::new(StatusCode::CONFLICT, "already_confirmed", e.to_string()),
            E::NothingToBatch => Problem::new(StatusCode::CONFLICT, "nothing_to_batch", e.to_string()),
            E::Invalid(_) | E::Package(lanyard_supply::package::PackageError::Recipient) => {
                Problem::bad_request("invalid", e.to_string())
            }
            E::Store(ref s) if s.is_unavailable() => Problem::store_unavailable(&e),
            E::Store(_) if e.is_conflict() => Problem::new(StatusCode::CONFLICT, "conflict", e.to_string()),
            E::Package(_) | E::Render(_) | E::Store(_) | E::FileBroken(_) => {
                tracing::error!(error = %e, "supplier request failed");
                Problem::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "the request failed")
            }
        }
    }
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewSupplier {
    /// 1 to 64 letters, digits or . _ - @; its tokens carry it.
    name: String,
    /// Its age X25519 recipient, `age1…`.
    recipient: String,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewRecipient {
    /// The supplier's new age recipient.
    recipient: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct SupplierJson {
    name: String,
    recipient: String,
    enabled: bool,
    created_at: i64,
}

impl From<Supplier> for SupplierJson {
    fn from(s: Supplier) -> Self {
        SupplierJson { name: s.name, recipient: s.recipient, enabled: s.enabled, created_at: s.created_at }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct SupplierChange {
    supplier: SupplierJson,
    /// Pending batches destroyed by the change; their cards are queued again.
    withdrawn: Vec<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct BatchJson {
    id: String,
    supplier: String,
    /// The age recipient the batch is sealed to.
    recipient: String,
    /// pending, confirmed, expired or destroyed.
    state: String,
    cards: i64,
    size: i64,
    sha256: String,
    created_at: i64,
    expires_at: i64,
    downloads: i64,
    closed_at: Option<i64>,
}

impl From<Batch> for BatchJson {
    fn from(b: Batch) -> Self {
        BatchJson {
            id: b.id,
            supplier: b.supplier,
            recipient: b.recipient,
            state: b.state.as_str().to_owned(),
            cards: b.cards,
            size: b.size,
            sha256: b.sha256,
            created_at: b.created_at,
            expires_at: b.expires_at,
            downloads: b.downloads,
            closed_at: b.closed_at,
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct CreatedJson {
    batch: BatchJson,
    cards: Vec<String>,
    /// Protected persons' cards, printed in-house and never batched.
    held_back: Vec<String>,
}

impl From<Created> for CreatedJson {
    fn from(c: Created) -> Self {
        CreatedJson { batch: c.batch.into(), cards: c.cards, held_back: c.held_back }
    }
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewBatch {
    supplier: String,
    /// At most this many cards (capped by the server's limit).
    #[serde(default, deserialize_with = "crate::params::whole::opt_usize")]
    max_cards: Option<usize>,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Confirmation {
    /// Cards printed.
    #[serde(default)]
    printed: Vec<String>,
    /// Cards spoiled; they return to the queue.
    #[serde(default)]
    spoiled: Vec<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct ReceiptJson {
    batch: String,
    printed: Vec<String>,
    spoiled: Vec<String>,
    /// Named printed, but left the queue meanwhile (revoked): unchanged.
    skipped: Vec<String>,
}

impl From<Receipt> for ReceiptJson {
    fn from(r: Receipt) -> Self {
        ReceiptJson { batch: r.batch, printed: r.printed, spoiled: r.spoiled, skipped: r.skipped }
    }
}

#[derive(Deserialize)]
pub(crate) struct BatchQuery {
    supplier: Option<String>,
    state: Option<String>,
}

/// The sealed file as the body, streamed from the store a chunk at a time
/// with its length declared: a file found broken on the way (short, or not
/// its recorded SHA-256) ends the body early, so the client sees a failed
/// transfer, never a whole-looking file.
fn sealed_file(id: &str, file: lanyard_supply::BatchFile) -> Response {
    let size = file.size();
    let chunks = futures_util::stream::unfold(file, |mut file| async move {
        match file.next_chunk().await {
            Ok(Some(chunk)) => Some((Ok(axum::body::Bytes::from(chunk)), file)),
            Ok(None) => None,
            Err(e) => {
                tracing::error!(batch = file.batch(), error = %e, "a batch download was cut off");
                Some((Err(std::io::Error::other("the batch file is broken")), file))
            }
        }
    });
    let mut resp = Body::from_stream(chunks).into_response();
    let headers = resp.headers_mut();
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(size));
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/octet-stream"));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{id}.age\"")) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    resp
}

/// Registers a supplier by its public age recipient.
#[utoipa::path(post, path = "/v1/suppliers", request_body = NewSupplier,
    responses((status = 201, body = SupplierJson), (status = 400, body = ProblemBody), (status = 403, body = ProblemBody),
              (status = 409, body = ProblemBody)))]
pub(crate) async fn add_supplier(
    gate: Gate,
    Json(body): Json<NewSupplier>,
) -> Result<(StatusCode, Json<SupplierJson>), Problem> {
    let s = gate.supply().add_supplier(&gate.operator(), &body.name, &body.recipient, now_s() * 1000).await?;
    Ok((StatusCode::CREATED, Json(s.into())))
}

/// Every supplier.
#[utoipa::path(get, path = "/v1/suppliers",
    responses((status = 200, body = [SupplierJson]), (status = 403, body = ProblemBody)))]
pub(crate) async fn list_suppliers(gate: Gate) -> Result<Json<Vec<SupplierJson>>, Problem> {
    Ok(Json(gate.supply().suppliers(now_s() * 1000).await?.into_iter().map(Into::into).collect()))
}

/// Disables a supplier; its pending batches are destroyed.
#[utoipa::path(post, path = "/v1/suppliers/{name}/disable", params(("name" = String, Path)),
    responses((status = 200, body = SupplierChange), (status = 403, body = ProblemBody), (status = 404, body = ProblemBody)))]
pub(crate) async fn disable_supplier(gate: Gate, Path(name): Path<String>) -> Result<Json<SupplierChange>, Problem> {
    let (s, withdrawn) = gate.supply().disable_supplier(&gate.operator(), &name, now_s() * 1000).await?;
    Ok(Json(SupplierChange { supplier: s.into(), withdrawn }))
}

/// Gives a supplier a new recipient; pending batches sealed to the old one
/// are destroyed and their cards queued again.
#[utoipa::path(post, path = "/v1/suppliers/{name}/recipient", params(("name" = String, Path)), request_body = NewRecipient,
    responses((status = 200, body = SupplierChange), (status = 400, body = ProblemBody), (status = 403, body = ProblemBody),
              (status = 404, body = ProblemBody)))]
pub(crate) async fn rotate_recipient(
    gate: Gate,
    Path(name): Path<String>,
    Json(body): Json<NewRecipient>,
) -> Result<Json<SupplierChange>, Problem> {
    let (s, withdrawn) =
        gate.supply().rotate_recipient(&gate.operator(), &name, &body.recipient, now_s() * 1000).await?;
    Ok(Json(SupplierChange { supplier: s.into(), withdrawn }))
}

/// What a full compromise of the supplier would yield now.
#[utoipa::path(get, path = "/v1/suppliers/{name}/exposure", params(("name" = String, Path)),
    responses((status = 200, description = "the drill's report"), (status = 403, body = ProblemBody),
              (status = 404, body = ProblemBody)))]
pub(crate) async fn exposure(gate: Gate, Path(name): Path<String>) -> Result<Json<Exposure>, Problem> {
    Ok(Json(gate.supply().drill(&gate.operator(), &name, now_s() * 1000).await?))
}

/// Batches approved cards for a supplier.
#[utoipa::path(post, path = "/v1/batches", request_body = NewBatch,
    responses((status = 201, body = CreatedJson), (status = 403, body = ProblemBody), (status = 404, body = ProblemBody),
              (status = 409, body = ProblemBody)))]
pub(crate) async fn create_batch(
    gate: Gate,
    Json(body): Json<NewBatch>,
) -> Result<(StatusCode, Json<CreatedJson>), Problem> {
    let created = gate.supply().create_batch(&gate.operator(), &body.supplier, body.max_cards, now_s() * 1000).await?;
    Ok((StatusCode::CREATED, Json(created.into())))
}

/// Batches, by supplier or state.
#[utoipa::path(get, path = "/v1/batches", params(("supplier" = Option<String>, Query), ("state" = Option<String>, Query)),
    responses((status = 200, body = [BatchJson]), (status = 403, body = ProblemBody)))]
pub(crate) async fn list_batches(gate: Gate, Query(q): Query<BatchQuery>) -> Result<Json<Vec<BatchJson>>, Problem> {
    let state = q
        .state
        .as_deref()
        .map(|s| {
            s.parse::<lanyard_supply::BatchState>().map_err(|_| {
                Problem::bad_request("bad_state", "unknown batch state; use pending, confirmed, expired or destroyed")
            })
        })
        .transpose()?;
    if q.supplier.as_deref().is_some_and(|s| !lanyard_core::valid_name(s)) {
        return Err(Problem::bad_request("bad_supplier", "not a supplier name (1 to 64 letters, digits or . _ - @)"));
    }
    let list = gate.supply().batches(q.supplier.as_deref(), state, now_s() * 1000).await?;
    Ok(Json(list.into_iter().map(Into::into).collect()))
}

/// One batch and its cards: which person each card is for, the fields
/// packed for it, and what the supplier said of it. Ids only.
#[derive(Serialize)]
pub(crate) struct BatchShow {
    batch: BatchJson,
    cards: Vec<lanyard_supply::BatchCard>,
}

/// One batch and its cards (ids, packed field names, print outcomes).
#[utoipa::path(get, path = "/v1/batches/{id}", params(("id" = String, Path)),
    responses((status = 200, description = "the batch and its cards: card_id, person_id, fields, outcome"),
              (status = 403, body = ProblemBody), (status = 404, body = ProblemBody)))]
pub(crate) async fn show_batch(gate: Gate, Path(id): Path<String>) -> Result<Json<BatchShow>, Problem> {
    let supply = gate.supply();
    let batch = supply.batch(&id, now_s() * 1000).await?;
    let cards = supply.batch_cards(&id).await?;
    Ok(Json(BatchShow { batch: batch.into(), cards }))
}

#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct BatchKey {
    /// The force's batch-signing public key, for a supplier to pin
    /// (`lanyard-agent trust --supplier NAME --key KEY`).
    key: String,
}

/// The force's batch-signing public key (made, and audited, on first use).
#[utoipa::path(get, path = "/v1/batch-key",
    responses((status = 200, body = BatchKey), (status = 403, body = ProblemBody)))]
pub(crate) async fn batch_key(gate: Gate) -> Result<Json<BatchKey>, Problem> {
    let key = gate.supply().batch_key(&gate.operator(), now_s() * 1000).await?;
    Ok(Json(BatchKey { key: key.to_key_string() }))
}

/// A pending batch's sealed file, for delivery out of band (audited as a
/// download).
#[utoipa::path(get, path = "/v1/batches/{id}/file", params(("id" = String, Path)),
    responses((status = 200, description = "the age file", content_type = "application/octet-stream"),
              (status = 403, body = ProblemBody), (status = 404, body = ProblemBody), (status = 410, body = ProblemBody)))]
pub(crate) async fn export_batch(gate: Gate, Path(id): Path<String>) -> Result<Response, Problem> {
    let bytes = gate.supply().export(&gate.operator(), &id, now_s() * 1000).await?;
    Ok(sealed_file(&id, bytes))
}

/// The calling supplier's pending batches.
#[utoipa::path(get, path = "/v1/supplier/batches",
    responses((status = 200, body = [BatchJson]), (status = 403, body = ProblemBody)))]
pub(crate) async fn own_batches(gate: Gate) -> Result<Json<Vec<BatchJson>>, Problem> {
    let list = gate.supply().pending_for(&gate.operator(), gate.own_supplier()?, now_s() * 1000).await?;
    Ok(Json(list.into_iter().map(Into::into).collect()))
}

/// One of the calling supplier's batches: the age file. 410 once confirmed,
/// expired or destroyed.
#[utoipa::path(get, path = "/v1/supplier/batches/{id}", params(("id" = String, Path)),
    responses((status = 200, description = "the age file", content_type = "application/octet-stream"),
              (status = 403, body = ProblemBody), (status = 404, body = ProblemBody), (status = 410, body = ProblemBody)))]
pub(crate) async fn download_batch(gate: Gate, Path(id): Path<String>) -> Result<Response, Problem> {
    let bytes = gate.supply().download(&gate.operator(), gate.own_supplier()?, &id, now_s() * 1000).await?;
    Ok(sealed_file(&id, bytes))
}

/// The supplier's receipt: which cards printed and which spoiled. The batch
/// and its file are destroyed.
#[utoipa::path(post, path = "/v1/supplier/batches/{id}/confirm", params(("id" = String, Path)), request_body = Confirmation,
    responses((status = 200, body = ReceiptJson), (status = 400, body = ProblemBody), (status = 403, body = ProblemBody),
              (status = 409, body = ProblemBody), (status = 410, body = ProblemBody)))]
pub(crate) async fn confirm_batch(
    gate: Gate,
    Path(id): Path<String>,
    Json(body): Json<Confirmation>,
) -> Result<Json<ReceiptJson>, Problem> {
    let receipt = gate
        .supply()
        .confirm(&gate.operator(), gate.own_supplier()?, &id, &body.printed, &body.spoiled, now_s() * 1000)
        .await?;
    Ok(Json(receipt.into()))
}
