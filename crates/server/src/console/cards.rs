//! Cards in the console: a card's page with its preview and the lifecycle
//! steps its state and the role allow, a card request, and the approvers'
//! queue.
//!
//! A step is offered only where the card's state allows it and the policy
//! lets the role take it; the service still decides (a stale page cannot
//! move a card the wrong way). A card the approver requested is shown with
//! why they cannot approve it: dual control.

use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use lanyard_cards::{Card, PersonRef, same_person};
use lanyard_core::policy::Action;
use lanyard_core::{CardAction, CardState, CardType, Reason};
use maud::{Markup, html};
use serde::Deserialize;

use super::csrf::Form;
use super::page::{Ctx, frame, when};
use super::people::type_label;
use super::purpose::local;
use crate::gate::Gate;
use crate::now_s;
use crate::people::person_id;
use crate::problem::Problem;

fn card_action(step: &str) -> Option<CardAction> {
    crate::cards::step_of(step)
}

/// The reasons a step asks for; none for a step that takes none.
fn reasons(step: &str) -> &'static [Reason] {
    use Reason::*;
    match step {
        "reject" => &[NotJustified, Other],
        "suspend" => &[Investigation, Other],
        "revoke" => &[Lost, Stolen, Damaged, DetailsChanged, Left, Other],
        "reissue" => &[Lost, Stolen, Damaged, DetailsChanged, Other],
        _ => &[],
    }
}

fn reason_label(r: Reason) -> &'static str {
    match r {
        Reason::Lost => "Reported lost",
        Reason::Stolen => "Reported stolen",
        Reason::Damaged => "Damaged or worn",
        Reason::DetailsChanged => "Details changed (name, rank)",
        Reason::Left => "Holder left the force",
        Reason::Investigation => "Under investigation, or on leave",
        Reason::Replaced => "Replaced",
        Reason::Spoiled => "Spoiled in printing",
        Reason::BatchExpired => "Print batch expired",
        Reason::BatchWithdrawn => "Print batch withdrawn",
        Reason::NotJustified => "Not justified",
        Reason::Other => "Other (recorded elsewhere)",
    }
}

fn step_label(step: &str) -> &'static str {
    match step {
        "approve" => "Approve",
        "reject" => "Reject",
        "print" => "Mark printed",
        "issue" => "Issue to holder",
        "suspend" => "Suspend",
        "resume" => "Resume",
        "revoke" => "Revoke",
        "destroy" => "Record destroyed",
        "reissue" => "Reissue (revokes this card)",
        _ => "Go",
    }
}

/// Whether the card's state lets `step` be taken at all.
fn state_allows(state: CardState, step: &str) -> bool {
    match step {
        "reissue" => {
            state.after(CardAction::Revoke).is_some()
                || matches!(state, CardState::Revoked | CardState::Expired | CardState::Destroyed)
        }
        s => card_action(s).is_some_and(|a| state.after(a).is_some()),
    }
}

/// The form for one step, or why it is not offered to this user.
fn step_form(ctx: &Ctx, card: &Card, step: &str, back: &str) -> Markup {
    let own = same_person(&ctx.actor, &card.requested_by);
    if step == "approve" && own {
        return html! {
            p class="notice" id="dual-control" {
                "You requested this card, so you cannot approve it. Another approver must (dual control)."
            }
        };
    }
    let danger = matches!(step, "revoke" | "reject" | "destroy" | "reissue");
    let id = format!("reason-{}-{step}", card.id);
    html! {
        form method="post" action=(format!("/cards/{}/{step}", card.id)) {
            (ctx.csrf_field())
            input type="hidden" name="back" value=(back);
            @if !reasons(step).is_empty() {
                label for=(id) { "Reason" }
                select id=(id) name="reason" required {
                    option value="" { "Choose a reason" }
                    @for r in reasons(step) { option value=(r.as_str()) { (reason_label(*r)) } }
                }
            }
            button type="submit" class=[danger.then_some("danger")] { (step_label(step)) }
        }
    }
}

/// `GET /cards/{id}`.
pub(crate) async fn card(gate: Gate, Path(id): Path<String>, headers: HeaderMap) -> Result<Markup, Problem> {
    let ctx = Ctx::of(&gate, &headers);
    let card = gate.cards().card(&id, now_s() * 1000).await?;
    let here = format!("/cards/{}", card.id);
    let steps: Vec<&str> = crate::cards::STEPS
        .iter()
        .filter(|(_, step, action)| ctx.may(action) && state_allows(card.state, step))
        .map(|(_, step, _)| *step)
        .collect();
    let preview = ctx.may(&Action::RenderCard) && card.state.has_credential();
    let title = format!("{} {}", type_label(&card.card_type), card.number);
    let body = html! {
        dl class="record" {
            dt { "State" } dd { span class=(format!("state {}", card.state.as_str())) id="card-state" { (card.state.as_str()) } }
            dt { "Holder" } dd { a href=(format!("/people/{}", card.person)) { "Open the holder's record" } }
            dt { "Requested by" } dd { (card.requested_by) }
            dt { "Approved by" } dd { (card.approved_by.as_deref().unwrap_or("not yet")) }
            dt { "Valid from" } dd { (card.valid_from.map(when).unwrap_or_else(|| "—".into())) }
            dt { "Expires" } dd { (card.expires_at.map(when).unwrap_or_else(|| "—".into())) }
            @if let Some(r) = card.reason.as_deref().and_then(|r| r.parse::<Reason>().ok()) {
                dt { "Last reason" } dd { (reason_label(r)) }
            }
            @if let Some(old) = &card.supersedes {
                dt { "Replaces" } dd { a href=(format!("/cards/{old}")) { "the card it replaces" } }
            }
        }
        h2 { "What you can do" }
        @if steps.is_empty() {
            p { "Nothing: in this state, a card takes no step your role may make." }
        } @else {
            div class="actions" { @for s in &steps { (step_form(&ctx, &card, s, &here)) } }
        }
        @if preview {
            h2 { "Preview" }
            @if ctx.purpose.is_some() {
                div class="cards-preview" {
                    img src=(format!("/cards/{}/artwork/front", card.id)) alt="Front of the card as it will be printed";
                    img src=(format!("/cards/{}/artwork/back", card.id)) alt="Back of the card as it will be printed";
                }
            } @else {
                p { "Choose your task in the bar above to see the card: the preview reads the holder's name and photo." }
            }
        }
    };
    Ok(frame(&ctx, &here, &title, body))
}

#[derive(Deserialize)]
pub(crate) struct NewCard {
    #[serde(rename = "type")]
    card_type: String,
}

/// `POST /people/{id}/cards`: requests a card and shows it.
pub(crate) async fn request(gate: Gate, Path(id): Path<String>, Form(f): Form<NewCard>) -> Result<Response, Problem> {
    let person = person_id(&id)?;
    let card_type: CardType = f
        .card_type
        .parse()
        .map_err(|e: lanyard_core::ValidationError| Problem::bad_request("bad_type", e.to_string()))?;
    let card = gate.cards().request(&gate.operator(), PersonRef::Id(person), card_type, now_s() * 1000).await?;
    Ok(Redirect::to(&format!("/cards/{}", card.id)).into_response())
}

#[derive(Deserialize)]
pub(crate) struct StepForm {
    reason: Option<String>,
    back: Option<String>,
}

/// `POST /cards/{id}/{step}`: takes the step, then back to where it was
/// taken (the card, or the approvals queue); a reissue goes to the new card.
pub(crate) async fn step(
    gate: Gate,
    Path(id): Path<String>,
    step: &'static str,
    Form(f): Form<StepForm>,
) -> Result<Response, Problem> {
    let now = now_s() * 1000;
    let reason = match f.reason.as_deref().filter(|r| !r.is_empty()) {
        Some(r) => {
            Some(r.parse::<Reason>().map_err(|_| Problem::bad_request("bad_reason", "choose a reason from the list"))?)
        }
        None if !reasons(step).is_empty() => {
            return Err(Problem::bad_request("reason_required", "choose a reason from the list"));
        }
        None => None,
    };
    if step == "reissue" {
        let why = reason.ok_or_else(|| Problem::bad_request("reason_required", "choose a reason from the list"))?;
        let (_, new) = gate.cards().reissue(&gate.operator(), &id, why, now).await?;
        return Ok(Redirect::to(&format!("/cards/{}", new.id)).into_response());
    }
    let action = card_action(step).ok_or_else(|| Problem::bad_request("bad_step", "no such step"))?;
    gate.cards().transition(&gate.operator(), &id, action, reason, now).await?;
    Ok(Redirect::to(local(f.back.as_deref())).into_response())
}

/// `GET /cards/{id}/artwork/{side}`: the card as it will be printed (an
/// audited read of the holder's identity and photo, for the task).
pub(crate) async fn artwork(
    gate: Gate,
    Path((id, side)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    use lanyard_supply::Side;
    let side = match side.as_str() {
        "front" => Side::Front,
        "back" => Side::Back,
        _ => return Err(Problem::bad_request("bad_side", "a card has a front and a back")),
    };
    let purpose = super::purpose::current(&headers, gate.register().purpose_codes())
        .ok_or_else(|| Problem::bad_request("purpose_required", "choose your task before opening a record"))?;
    gate.limit_reads(&Action::RenderCard).await?;
    let png = gate.supply().artwork(&gate.operator(), &id, &[side], false, Some(&purpose.code), now_s() * 1000).await?;
    let mut r = png.into_response();
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("image/png"));
    Ok(r)
}

/// `GET /approvals`: requested cards, oldest first, with who asked and why.
pub(crate) async fn approvals(gate: Gate, headers: HeaderMap) -> Result<Markup, Problem> {
    let ctx = Ctx::of(&gate, &headers);
    let mut waiting = gate.cards().list(None, Some(CardState::Requested), now_s() * 1000).await?;
    waiting.sort_by_key(Card::updated_at);
    let body = html! {
        @if waiting.is_empty() {
            p { "No card requests are waiting." }
        } @else {
            table {
                caption class="muted" { (waiting.len()) " waiting" }
                thead { tr {
                    th scope="col" { "Card" } th scope="col" { "Type" } th scope="col" { "Asked by" }
                    th scope="col" { "Why" } th scope="col" { "Waiting since" } th scope="col" { "Decision" }
                } }
                tbody {
                    @for c in &waiting {
                        tr {
                            td { a href=(format!("/cards/{}", c.id)) { (c.number) } }
                            td { (type_label(&c.card_type)) }
                            td { (c.requested_by) }
                            td {
                                @if c.supersedes.is_some() { "Replaces an earlier card" } @else { "A new card" }
                            }
                            td { (when(c.updated_at())) }
                            td { div class="actions" {
                                (step_form(&ctx, c, "approve", "/approvals"))
                                (step_form(&ctx, c, "reject", "/approvals"))
                            } }
                        }
                    }
                }
            }
        }
    };
    Ok(frame(&ctx, "/approvals", "Card requests to approve", body))
}

/// `GET /batches`: print batches, and a new one for a supplier.
pub(crate) async fn batches(gate: Gate, headers: HeaderMap) -> Result<Markup, Problem> {
    let ctx = Ctx::of(&gate, &headers);
    let now = now_s() * 1000;
    let list = gate.supply().batches(None, None, now).await?;
    let suppliers: Vec<String> =
        gate.supply().suppliers(now).await?.into_iter().filter(|s| s.enabled).map(|s| s.name).collect();
    let waiting = gate.cards().list(None, Some(CardState::Approved), now).await?.len();
    let body = html! {
        p { (waiting) " approved card(s) wait for a print batch." }
        @if suppliers.is_empty() {
            p { "No supplier is enabled: an administrator adds one first." }
        } @else {
            form method="post" action="/batches" class="stack" data-busy="Building the batch: rendering, packing and encrypting each card. This page will update when it is done." {
                (ctx.csrf_field())
                div class="field" {
                    label for="supplier" { "Supplier" }
                    select id="supplier" name="supplier" {
                        @for s in &suppliers { option value=(s) { (s) } }
                    }
                }
                div class="field" {
                    label for="max_cards" { "At most this many cards (optional)" }
                    input id="max_cards" name="max_cards" type="number" min="1";
                }
                button type="submit" { "Create a print batch" }
                p class="busy" role="status" aria-live="polite" {}
            }
        }
        h2 { "Batches" }
        @if list.is_empty() { p { "No batches yet." } } @else {
            table {
                thead { tr {
                    th scope="col" { "Batch" } th scope="col" { "Supplier" } th scope="col" { "State" }
                    th scope="col" { "Cards" } th scope="col" { "Created" } th scope="col" { "Expires" } th scope="col" { "Downloads" }
                } }
                tbody {
                    @for b in &list {
                        tr {
                            td class="mono" { (b.id) }
                            td { (b.supplier) }
                            td { (b.state.as_str()) }
                            td { (b.cards) }
                            td { (when(b.created_at)) }
                            td { (when(b.expires_at)) }
                            td { (b.downloads) }
                        }
                    }
                }
            }
        }
    };
    Ok(frame(&ctx, "/batches", "Print batches", body))
}

#[derive(Deserialize)]
pub(crate) struct NewBatch {
    supplier: String,
    max_cards: Option<String>,
}

/// `POST /batches`: every approved card (or the first N) into one sealed
/// batch for the supplier to collect.
pub(crate) async fn create_batch(gate: Gate, headers: HeaderMap, Form(f): Form<NewBatch>) -> Result<Markup, Problem> {
    let ctx = Ctx::of(&gate, &headers);
    let max = match f.max_cards.as_deref().map(str::trim).filter(|m| !m.is_empty()) {
        Some(m) => Some(
            m.parse::<usize>()
                .map_err(|_| Problem::bad_request("bad_max", "give a whole number of cards, or leave it empty"))?,
        ),
        None => None,
    };
    let created = gate.supply().create_batch(&gate.operator(), f.supplier.trim(), max, now_s() * 1000).await?;
    let body = html! {
        div class="banner good" role="status" id="batch-created" {
            strong class="verdict" { "Batch created" }
            p { (created.cards.len()) " card(s) sealed for " (created.batch.supplier) ". It expires " (when(created.batch.expires_at)) " if not collected." }
            @if !created.held_back.is_empty() {
                p { (created.held_back.len()) " card(s) were held back for the next batch." }
            }
        }
        p { a href="/batches" { "Back to batches" } }
    };
    Ok(frame(&ctx, "/batches", "Print batches", body))
}
