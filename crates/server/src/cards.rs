//! Card routes: requests and their lifecycle (dual control enforced by the
//! cards service, roles by the policy module), credentials, the status list
//! and trust bundle that verifiers fetch, and online verification.

use axum::Json;
use axum::extract::{Path, Query};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use lanyard_cards::{Card, PersonRef};
use lanyard_core::policy::Action;
use lanyard_core::{CardAction, CardState, CardType, PersonId, Reason};
use lanyard_credential::TrustBundle;
use serde::{Deserialize, Serialize};

use crate::gate::{Gate, Public};
use crate::now_s;
use crate::params::purpose_of;
use crate::problem::{Problem, ProblemBody};

/// The media type of a status list token (draft-ietf-oauth-status-list).
const STATUS_LIST_TYPE: &str = "application/statuslist+cwt";

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CardRequest {
    /// A person id or a service number.
    person: String,
    /// warrant_card, staff_pass, contractor_pass or visitor_pass.
    #[serde(rename = "type")]
    card_type: String,
}

#[derive(Deserialize, utoipa::ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct CardStep {
    /// A reason code: lost, stolen, damaged, details_changed, left,
    /// investigation, replaced, spoiled, not_justified, other.
    reason: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct CardJson {
    id: String,
    person: String,
    #[serde(rename = "type")]
    card_type: String,
    state: String,
    number: String,
    requested_by: String,
    approved_by: Option<String>,
    supersedes: Option<String>,
    valid_from: Option<i64>,
    expires_at: Option<i64>,
    reason: Option<String>,
}

impl From<Card> for CardJson {
    fn from(c: Card) -> Self {
        CardJson {
            id: c.id,
            person: c.person,
            card_type: c.card_type,
            state: c.state.as_str().to_owned(),
            number: c.number,
            requested_by: c.requested_by,
            approved_by: c.approved_by,
            supersedes: c.supersedes,
            valid_from: c.valid_from,
            expires_at: c.expires_at,
            reason: c.reason,
        }
    }
}

/// Asks for a card; a second person must approve it.
#[utoipa::path(post, path = "/v1/cards", request_body = CardRequest,
    responses((status = 201, body = CardJson), (status = 400, body = ProblemBody), (status = 403, body = ProblemBody),
              (status = 404, body = ProblemBody)))]
pub(crate) async fn request_card(
    gate: Gate,
    Json(body): Json<CardRequest>,
) -> Result<(StatusCode, Json<CardJson>), Problem> {
    let card_type: CardType = body
        .card_type
        .parse()
        .map_err(|e: lanyard_core::ValidationError| Problem::bad_request("bad_type", e.to_string()))?;
    let who = match body.person.parse::<PersonId>() {
        Ok(id) => PersonRef::Id(id),
        Err(_) => PersonRef::ServiceNumber(&body.person),
    };
    let row = gate.cards().request(&gate.operator(), who, card_type, now_s() * 1000).await?;
    Ok((StatusCode::CREATED, Json(row.into())))
}

#[derive(Deserialize)]
pub(crate) struct CardQuery {
    person: Option<String>,
    state: Option<String>,
}

/// Cards, by person or state (ids and states only).
#[utoipa::path(get, path = "/v1/cards", params(("person" = Option<String>, Query), ("state" = Option<String>, Query)),
    responses((status = 200, body = [CardJson]), (status = 403, body = ProblemBody)))]
pub(crate) async fn list_cards(gate: Gate, Query(q): Query<CardQuery>) -> Result<Json<Vec<CardJson>>, Problem> {
    let person = q
        .person
        .as_deref()
        .map(|p| p.parse::<PersonId>().map_err(|_| Problem::bad_request("bad_person_id", "not a person id")))
        .transpose()?;
    let card_state = q
        .state
        .as_deref()
        .map(|s| s.parse::<CardState>().map_err(|_| Problem::bad_request("bad_state", "unknown card state")))
        .transpose()?;
    let rows = gate.cards().list(person, card_state, now_s() * 1000).await?;
    Ok(Json(rows.into_iter().map(Into::into).collect()))
}

/// One card.
#[utoipa::path(get, path = "/v1/cards/{id}", params(("id" = String, Path)),
    responses((status = 200, body = CardJson), (status = 403, body = ProblemBody), (status = 404, body = ProblemBody)))]
pub(crate) async fn get_card(gate: Gate, Path(id): Path<String>) -> Result<Json<CardJson>, Problem> {
    Ok(Json(gate.cards().card(&id, now_s() * 1000).await?.into()))
}

/// The card verbs, one route each (`POST /v1/cards/{id}/VERB`), with the
/// action the gate decides for it.
pub(crate) const STEPS: [(&str, &str, Action); 9] = [
    ("/v1/cards/{id}/approve", "approve", Action::ApproveCard),
    ("/v1/cards/{id}/reject", "reject", Action::ApproveCard),
    ("/v1/cards/{id}/print", "print", Action::ManageCard),
    ("/v1/cards/{id}/issue", "issue", Action::ManageCard),
    ("/v1/cards/{id}/suspend", "suspend", Action::ManageCard),
    ("/v1/cards/{id}/resume", "resume", Action::ManageCard),
    ("/v1/cards/{id}/revoke", "revoke", Action::ManageCard),
    ("/v1/cards/{id}/destroy", "destroy", Action::ManageCard),
    ("/v1/cards/{id}/reissue", "reissue", Action::RequestCard),
];

pub(crate) fn step_of(verb: &str) -> Option<CardAction> {
    Some(match verb {
        "approve" => CardAction::Approve,
        "reject" => CardAction::Reject,
        "print" => CardAction::Print,
        "issue" => CardAction::Issue,
        "suspend" => CardAction::Suspend,
        "resume" => CardAction::Resume,
        "revoke" => CardAction::Revoke,
        "destroy" => CardAction::Destroy,
        _ => return None,
    })
}

fn reason(text: Option<&str>) -> Result<Option<Reason>, Problem> {
    text.map(|r| r.parse::<Reason>().map_err(|_| Problem::bad_request("bad_reason", "unknown reason code"))).transpose()
}

/// Moves a card on: approve, reject, print, issue, suspend, resume, revoke,
/// destroy; or reissue (revokes it and requests a replacement). Approval is
/// dual control: never by the requester (409 `dual_control`).
#[utoipa::path(post, path = "/v1/cards/{id}/{verb}", params(("id" = String, Path), ("verb" = String, Path)),
    request_body = CardStep,
    responses((status = 200, body = CardJson), (status = 400, body = ProblemBody), (status = 403, body = ProblemBody),
              (status = 404, body = ProblemBody), (status = 409, body = ProblemBody)))]
pub(crate) async fn card_step(
    gate: Gate,
    Path(id): Path<String>,
    verb: &'static str,
    body: Option<Json<CardStep>>,
) -> Result<Json<serde_json::Value>, Problem> {
    let body = body.map(|Json(b)| b).unwrap_or_default();
    let now = now_s() * 1000;
    if verb == "reissue" {
        let why = reason(body.reason.as_deref())?
            .ok_or_else(|| Problem::bad_request("reason_required", "a reissue needs a reason"))?;
        let (old, new) = gate.cards().reissue(&gate.operator(), &id, why, now).await?;
        let (old, new): (CardJson, CardJson) = (old.into(), new.into());
        return Ok(Json(serde_json::json!({ "revoked": old, "requested": new })));
    }
    let card_action =
        step_of(verb).ok_or_else(|| Problem::new(StatusCode::NOT_FOUND, "no_route", "no such card action"))?;
    let row = gate.cards().transition(&gate.operator(), &id, card_action, reason(body.reason.as_deref())?, now).await?;
    Ok(Json(serde_json::to_value(CardJson::from(row)).unwrap_or_default()))
}

#[derive(Deserialize)]
pub(crate) struct PurposeQuery {
    purpose: Option<String>,
}

/// Signs the card's credential and answers its `LY1:` QR text and claims.
/// Reads the holder's identity: needs a purpose, and is audited.
#[utoipa::path(get, path = "/v1/cards/{id}/credential",
    params(("id" = String, Path), ("X-Lanyard-Purpose" = String, Header, description = "Why the data is read")),
    responses((status = 200, description = "qr and claims"), (status = 400, body = ProblemBody),
              (status = 403, body = ProblemBody), (status = 404, body = ProblemBody), (status = 409, body = ProblemBody)))]
pub(crate) async fn card_credential(
    gate: Gate,
    Path(id): Path<String>,
    Query(q): Query<PurposeQuery>,
    headers: HeaderMap,
) -> Result<Json<serde_json::Value>, Problem> {
    let action = Action::RenderCard;
    let purpose = purpose_of(&headers, q.purpose, "a credential reads identity; give a purpose (X-Lanyard-Purpose)")?;
    gate.limit_reads(&action).await?;
    let c = gate.cards().credential(&gate.operator(), &id, Some(&purpose), now_s() * 1000).await?;
    Ok(Json(serde_json::json!({ "qr": c.qr_text, "claims": c.claims })))
}

#[derive(Deserialize)]
pub(crate) struct ArtworkQuery {
    side: Option<String>,
    format: Option<String>,
}

/// The card's artwork, as it will print: a PNG of one side (`side=front`
/// or `back`), or a PDF (`format=pdf`) of both sides, or of the one `side`
/// names. Signs the
/// credential and reads the holder's identity and photo: needs a purpose,
/// and is audited. Never cached.
#[utoipa::path(get, path = "/v1/cards/{id}/artwork",
    params(("id" = String, Path), ("side" = Option<String>, Query, description = "front or back; by default the front of a PNG, both sides of a PDF"),
           ("format" = Option<String>, Query, description = "png (default) or pdf"),
           ("X-Lanyard-Purpose" = String, Header, description = "Why the data is read")),
    responses((status = 200, description = "the artwork", content_type = "image/png"),
              (status = 400, body = ProblemBody), (status = 403, body = ProblemBody),
              (status = 404, body = ProblemBody), (status = 409, body = ProblemBody)))]
pub(crate) async fn card_artwork(
    gate: Gate,
    Path(id): Path<String>,
    Query(q): Query<ArtworkQuery>,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    use lanyard_supply::Side;
    let pdf = match q.format.as_deref().unwrap_or("png") {
        "png" => false,
        "pdf" => true,
        _ => return Err(Problem::bad_request("bad_format", "format is png or pdf")),
    };
    let sides: &[Side] = match (q.side.as_deref(), pdf) {
        (None, true) => &[Side::Front, Side::Back],
        (None | Some("front"), _) => &[Side::Front],
        (Some("back"), _) => &[Side::Back],
        _ => {
            return Err(Problem::bad_request(
                "bad_side",
                "side is front or back (a PDF holds both sides when no side is given)",
            ));
        }
    };
    let action = Action::RenderCard;
    let purpose = purpose_of(&headers, None, "artwork reads identity and photo; give a purpose (X-Lanyard-Purpose)")?;
    gate.limit_reads(&action).await?;
    let bytes = gate.supply().artwork(&gate.operator(), &id, sides, pdf, Some(&purpose), now_s() * 1000).await?;
    let mut r = bytes.into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(if pdf { "application/pdf" } else { "image/png" }));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(r)
}

/// The signed status list (CWT, `application/statuslist+cwt`), cacheable
/// for its TTL. Public: it holds one 2-bit status per card index and no
/// personal data, and relying parties must be able to refresh it.
#[utoipa::path(get, path = "/v1/status-lists/{id}", params(("id" = String, Path)),
    responses((status = 200, description = "the status list token", content_type = "application/statuslist+cwt"),
              (status = 404, body = ProblemBody)))]
pub(crate) async fn status_list(public: Public, Path(id): Path<String>) -> Result<Response, Problem> {
    if id != "1" {
        return Err(Problem::new(StatusCode::NOT_FOUND, "no_status_list", "no such status list"));
    }
    let op = lanyard_register::Operator::local(lanyard_audit::Actor::operator("status-list"), false);
    let bytes = public.cards().status_list(&op, now_s() * 1000).await?;
    let mut r = bytes.into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(STATUS_LIST_TYPE));
    if let Ok(v) = HeaderValue::from_str(&format!("public, max-age={}", public.cards().config().list_ttl_s)) {
        h.insert(header::CACHE_CONTROL, v);
    }
    Ok(r)
}

/// The trust bundle verifiers need (public keys only; public).
#[utoipa::path(get, path = "/v1/trust-bundle", responses((status = 200, description = "issuer, keys as JWK, status list URI")))]
pub(crate) async fn trust_bundle(public: Public) -> Result<Json<TrustBundle>, Problem> {
    let op = lanyard_register::Operator::local(lanyard_audit::Actor::operator("trust-bundle"), false);
    Ok(Json(public.cards().trust_bundle(&op, now_s() * 1000).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct VerifyRequest {
    /// The `LY1:` QR text read from a card.
    qr: String,
}

/// Verifies a card's QR text against the current keys and the card's live
/// state, for devices holding a `verifier` token. The verdict is audited (card id and
/// verdict only).
#[utoipa::path(post, path = "/v1/verify", request_body = VerifyRequest,
    responses((status = 200, description = "verdict, reason and claims"), (status = 403, body = ProblemBody)))]
pub(crate) async fn verify(gate: Gate, Json(body): Json<VerifyRequest>) -> Result<Json<serde_json::Value>, Problem> {
    let now = now_s() * 1000;
    let op = gate.operator();
    let v = gate.cards().verify_recorded(&op, &body.qr, now / 1000, now).await?;
    Ok(Json(serde_json::to_value(&v).unwrap_or_default()))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewZone {
    /// 1 to 16 of A-Z, 0-9 and -.
    code: String,
    name: String,
    /// Minimum vetting levels accepted, one per ladder: `["SC", "NPPV3"]`.
    accepts: Vec<String>,
}

/// Defines a zone and the vetting it accepts.
#[utoipa::path(post, path = "/v1/zones", request_body = NewZone,
    responses((status = 201, description = "created"), (status = 400, body = ProblemBody), (status = 403, body = ProblemBody),
              (status = 409, description = "a zone of that code exists", body = ProblemBody)))]
pub(crate) async fn create_zone(
    gate: Gate,
    Json(body): Json<NewZone>,
) -> Result<(StatusCode, Json<serde_json::Value>), Problem> {
    let z = gate
        .cards()
        .add_zone(&gate.operator(), &body.code, &body.name, &body.accepts.join(","), now_s() * 1000)
        .await?;
    Ok((StatusCode::CREATED, Json(serde_json::json!({ "code": z.code, "name": z.name, "accepts": z.accepts }))))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewPermit {
    person: String,
    zone: String,
    /// Unix seconds.
    #[serde(deserialize_with = "crate::params::whole::i64")]
    from: i64,
    /// Unix seconds; after `from`.
    #[serde(deserialize_with = "crate::params::whole::i64")]
    to: i64,
}

/// Grants a person a zone for a window, if their vetting meets it. The
/// answer is yes (201) or a reason code (409 `permit_refused`); the level
/// is never shown.
#[utoipa::path(post, path = "/v1/permits", request_body = NewPermit,
    responses((status = 201, description = "granted"), (status = 403, body = ProblemBody),
              (status = 404, description = "no such person or zone", body = ProblemBody), (status = 409, body = ProblemBody)))]
pub(crate) async fn grant_permit(
    gate: Gate,
    Json(body): Json<NewPermit>,
) -> Result<(StatusCode, Json<serde_json::Value>), Problem> {
    let person =
        body.person.parse::<PersonId>().map_err(|_| Problem::bad_request("bad_person_id", "not a person id"))?;
    let p = gate.cards().grant_permit(&gate.operator(), person, &body.zone, body.from, body.to, now_s() * 1000).await?;
    Ok((
        StatusCode::CREATED,
        Json(serde_json::json!({ "id": p.id, "zone": p.zone, "from": p.valid_from, "to": p.valid_to })),
    ))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct AccessCheck {
    /// The QR text read from the card, or
    qr: Option<String>,
    /// the card id.
    card: Option<String>,
    zone: String,
    /// Unix seconds; default now.
    #[serde(default, deserialize_with = "crate::params::whole::opt_i64")]
    at: Option<i64>,
}

/// Does this card open this zone now? Allow or deny with a reason code;
/// every decision is audited.
#[utoipa::path(post, path = "/v1/access/check", request_body = AccessCheck,
    responses((status = 200, description = "allow, reason, card"), (status = 400, body = ProblemBody), (status = 403, body = ProblemBody)))]
pub(crate) async fn access_check(
    gate: Gate,
    Json(body): Json<AccessCheck>,
) -> Result<Json<lanyard_cards::AccessDecision>, Problem> {
    let subject = match (&body.qr, &body.card) {
        (Some(q), None) => lanyard_cards::AccessSubject::Qr(q),
        (None, Some(c)) => lanyard_cards::AccessSubject::Card(c),
        _ => return Err(Problem::bad_request("bad_subject", "give exactly one of qr and card")),
    };
    let now = now_s() * 1000;
    let d =
        gate.cards().check_access(&gate.operator(), subject, &body.zone, body.at.unwrap_or(now / 1000), now).await?;
    Ok(Json(d))
}
