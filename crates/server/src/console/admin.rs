//! The administrator's pages: users (the sign-in QR shown once), service
//! tokens (the secret shown once), print suppliers and their recipients,
//! zones, and key rotation. None of them shows personal data; each calls
//! the service method its API route calls.

use axum::extract::Path;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use lanyard_core::policy::Action;
use lanyard_core::{Compartment, Role};
use maud::{Markup, PreEscaped, html};
use serde::Deserialize;

use super::csrf::Form;
use super::page::{Ctx, frame, role_name, when};
use crate::gate::Gate;
use crate::now_s;
use crate::problem::Problem;

fn text_field(id: &str, label: &str, kind: &str, help: Option<&str>) -> Markup {
    let help_id = format!("{id}-help");
    html! {
        div class="field" {
            label for=(id) { (label) }
            input id=(id) name=(id) type=(kind) required aria-describedby=[help.map(|_| help_id.as_str())];
            @if let Some(h) = help { p id=(help_id) class="help" { (h) } }
        }
    }
}

/// A failure the admin can correct, shown on the page it came from.
fn failed(ctx: &Ctx, here: &str, title: &str, what: &str, back: &str) -> Response {
    let body = html! {
        div class="banner bad" role="alert" { p { (what) } }
        p { a href=(back) { "Back" } }
    };
    (StatusCode::BAD_REQUEST, frame(ctx, here, title, body)).into_response()
}

/// A QR code of `text` as inline SVG (no script, no external file).
fn qr_svg(text: &str) -> Markup {
    match qrcode::QrCode::new(text.as_bytes()) {
        Ok(code) => {
            let svg = code.render::<qrcode::render::svg::Color>().min_dimensions(220, 220).quiet_zone(true).build();
            let svg = svg.find("<svg").map_or(svg.as_str(), |at| svg.get(at..).unwrap_or_default()).to_owned();
            html! { div class="qr" role="img" aria-label="QR code for an authenticator app" { (PreEscaped(svg)) } }
        }
        Err(_) => html! { p { "The QR code could not be drawn: type the secret instead." } },
    }
}

/// What a new or reset user needs once: never shown again.
fn enrolment(name: &str, e: &lanyard_access::Enrolment) -> Markup {
    html! {
        div class="banner warn" role="status" id="enrolment" {
            strong class="verdict" { "Shown once" }
            p { "Give this to " strong { (name) } " in person. When you leave this page it cannot be shown again; a reset makes a new one." }
        }
        (qr_svg(e.otpauth_uri.as_str()))
        dl class="record" {
            dt { "Secret, to type instead" } dd class="mono" id="totp-secret" { (e.totp_secret.as_str()) }
        }
        p { a href="/users" { "Back to users" } }
    }
}

/// `GET /users`.
pub(crate) async fn users(gate: Gate, headers: HeaderMap) -> Result<Markup, Problem> {
    let ctx = Ctx::of(&gate, &headers);
    let users = gate.access().users(now_s()).await?;
    let body = html! {
        table {
            thead { tr {
                th scope="col" { "User" } th scope="col" { "Role" } th scope="col" { "State" }
                th scope="col" { "Since" } th scope="col" { "Change" }
            } }
            tbody {
                @for u in &users {
                    tr {
                        td { (u.name) @if u.protected { " " span class="muted" { "(cleared for protected persons)" } } }
                        td { (role_name(u.role)) }
                        td { @if u.disabled { "disabled" } @else if u.locked_until > now_s() { "locked for now" } @else { "active" } }
                        td { (when(u.created_at)) }
                        td { div class="actions" {
                            @if !u.disabled {
                                form method="post" action=(format!("/users/{}/disable", u.name)) {
                                    (ctx.csrf_field())
                                    button type="submit" class="danger" aria-label=(format!("Disable {}", u.name)) { "Disable" }
                                }
                            }
                            form method="post" action=(format!("/users/{}/reset", u.name)) {
                                (ctx.csrf_field())
                                label for=(format!("pw-{}", u.name)) { "New password" }
                                input id=(format!("pw-{}", u.name)) name="password" type="password" required autocomplete="new-password";
                                button type="submit" class="secondary" { "Reset password and code" }
                            }
                        } }
                    }
                }
            }
        }
        h2 { "Add a user" }
        form method="post" action="/users" class="stack" {
            (ctx.csrf_field())
            (text_field("name", "User name", "text", Some("Letters, digits and . _ - @; up to 64.")))
            div class="field" {
                label for="role" { "Role" }
                select id="role" name="role" required {
                    @for r in Role::ALL.into_iter().filter(|r| !r.is_service()) {
                        option value=(r.as_str()) { (role_name(r)) }
                    }
                }
            }
            (text_field("password", "First password", "password", Some("At least 12 characters. The user changes it by asking for a reset.")))
            div class="choice" {
                input type="checkbox" id="protected" name="protected" value="true";
                label for="protected" { "Cleared to see protected persons" }
            }
            button type="submit" { "Add user" }
        }
    };
    Ok(frame(&ctx, "/users", "Users", body))
}

#[derive(Deserialize)]
pub(crate) struct NewUser {
    name: String,
    role: String,
    password: String,
    protected: Option<String>,
}

/// `POST /users`: adds the user and shows their sign-in QR once.
pub(crate) async fn add_user(gate: Gate, headers: HeaderMap, Form(f): Form<NewUser>) -> Result<Response, Problem> {
    let ctx = Ctx::of(&gate, &headers);
    let Ok(role) = f.role.parse::<Role>() else {
        return Ok(failed(&ctx, "/users", "Users", "Choose a role from the list.", "/users"));
    };
    let by = &gate.caller().principal.actor;
    let name = f.name.trim();
    match gate.access().create_user(by, name, role, &f.password, f.protected.is_some(), now_s()).await {
        Ok(e) => Ok(frame(&ctx, "/users", "User added", enrolment(name, &e)).into_response()),
        Err(e)
            if matches!(
                e.kind(),
                lanyard_access::AccessErrorKind::Invalid(_) | lanyard_access::AccessErrorKind::Conflict(_)
            ) =>
        {
            Ok(failed(&ctx, "/users", "Users", &format!("Not added: {e}."), "/users"))
        }
        Err(e) => Err(e.into()),
    }
}

/// `POST /users/{name}/disable`.
pub(crate) async fn disable_user(
    gate: Gate,
    Path(name): Path<String>,
    Form(_): Form<serde::de::IgnoredAny>,
) -> Result<Response, Problem> {
    gate.access().disable_user(&gate.caller().principal.actor, &name, now_s()).await?;
    Ok(Redirect::to("/users").into_response())
}

#[derive(Deserialize)]
pub(crate) struct NewPassword {
    password: String,
}

/// `POST /users/{name}/reset`: a new password and a new code, shown once.
pub(crate) async fn reset_user(
    gate: Gate,
    Path(name): Path<String>,
    headers: HeaderMap,
    Form(f): Form<NewPassword>,
) -> Result<Response, Problem> {
    let ctx = Ctx::of(&gate, &headers);
    match gate.access().reset_user(&gate.caller().principal.actor, &name, &f.password, now_s()).await {
        Ok(e) => Ok(frame(&ctx, "/users", "User reset", enrolment(&name, &e)).into_response()),
        Err(e) if matches!(e.kind(), lanyard_access::AccessErrorKind::Invalid(_)) => {
            Ok(failed(&ctx, "/users", "Users", &format!("Not reset: {e}."), "/users"))
        }
        Err(e) => Err(e.into()),
    }
}

/// `GET /tokens`.
pub(crate) async fn tokens(gate: Gate, headers: HeaderMap) -> Result<Markup, Problem> {
    let ctx = Ctx::of(&gate, &headers);
    let tokens = gate.access().tokens(now_s()).await?;
    let body = html! {
        p { "Tokens let a print supplier's agent or a gate device call the server without a person signing in." }
        table {
            thead { tr { th scope="col" { "For" } th scope="col" { "Role" } th scope="col" { "Expires" } th scope="col" { "State" } th scope="col" { "" } } }
            tbody {
                @for t in &tokens {
                    tr {
                        td { (t.subject) }
                        td { (role_name(t.role)) }
                        td { (when(t.expires_at)) }
                        td { @if t.revoked_at.is_some() { "revoked" } @else if t.expires_at <= now_s() { "expired" } @else { "in use" } }
                        td { @if t.revoked_at.is_none() {
                            form method="post" action=(format!("/tokens/{}/revoke", t.id)) {
                                (ctx.csrf_field())
                                button type="submit" class="danger" aria-label=(format!("Revoke the token for {}", t.subject)) { "Revoke" }
                            }
                        } }
                    }
                }
            }
        }
        h2 { "Issue a token" }
        form method="post" action="/tokens" class="stack" {
            (ctx.csrf_field())
            div class="field" {
                label for="kind" { "For" }
                select id="kind" name="kind" {
                    option value="print_supplier" { "A print supplier's agent" }
                    option value="verifier" { "A gate or door device" }
                }
            }
            (text_field("subject", "Supplier or device name", "text", Some("The supplier's name as added, or the device's name.")))
            div class="field" {
                label for="days" { "Valid for (days)" }
                input id="days" name="days" type="number" min="1" max="366" value="90" required;
            }
            button type="submit" { "Issue token" }
        }
    };
    Ok(frame(&ctx, "/tokens", "Service tokens", body))
}

#[derive(Deserialize)]
pub(crate) struct NewToken {
    kind: String,
    subject: String,
    days: i64,
}

/// `POST /tokens`: the secret, shown once.
pub(crate) async fn create_token(gate: Gate, headers: HeaderMap, Form(f): Form<NewToken>) -> Result<Response, Problem> {
    let ctx = Ctx::of(&gate, &headers);
    let (role, supplier, device) = match f.kind.as_str() {
        "print_supplier" => (Role::PrintSupplier, Some(f.subject.trim()), None),
        "verifier" => (Role::Verifier, None, Some(f.subject.trim())),
        _ => return Ok(failed(&ctx, "/tokens", "Service tokens", "Choose what the token is for.", "/tokens")),
    };
    let subject = match lanyard_core::policy::token_subject(role, supplier, device) {
        Ok(s) => s,
        Err(why) => return Ok(failed(&ctx, "/tokens", "Service tokens", why, "/tokens")),
    };
    if !(1..=366).contains(&f.days) {
        return Ok(failed(&ctx, "/tokens", "Service tokens", "A token is valid for 1 to 366 days.", "/tokens"));
    }
    let issued =
        gate.access().create_token(&gate.caller().principal.actor, role, subject, f.days * 86_400, now_s()).await?;
    let body = html! {
        div class="banner warn" role="status" {
            strong class="verdict" { "Shown once" }
            p { "Put this secret in the " (subject) " agent's token file now. It cannot be shown again; issue a new token if it is lost." }
        }
        pre class="mono" tabindex="0" id="token-secret" { (issued.secret.as_str()) }
        p { a href="/tokens" { "Back to tokens" } }
    };
    Ok(frame(&ctx, "/tokens", "Token issued", body).into_response())
}

/// `POST /tokens/{id}/revoke`.
pub(crate) async fn revoke_token(
    gate: Gate,
    Path(id): Path<String>,
    Form(_): Form<serde::de::IgnoredAny>,
) -> Result<Response, Problem> {
    let id = id.parse::<uuid::Uuid>().map_err(|_| Problem::bad_request("bad_token_id", "not a token id"))?;
    gate.access().revoke_token(&gate.caller().principal.actor, id, now_s()).await?;
    Ok(Redirect::to("/tokens").into_response())
}

/// `GET /suppliers`.
pub(crate) async fn suppliers(gate: Gate, headers: HeaderMap) -> Result<Markup, Problem> {
    let ctx = Ctx::of(&gate, &headers);
    let list = gate.supply().suppliers(now_s() * 1000).await?;
    let body = html! {
        p { "A supplier receives print batches encrypted to its recipient key (age). Disabling one, or changing its key, withdraws the batches it has not collected." }
        table {
            thead { tr { th scope="col" { "Supplier" } th scope="col" { "Recipient key" } th scope="col" { "State" } th scope="col" { "Change" } } }
            tbody {
                @for s in &list {
                    tr {
                        td { (s.name) }
                        td class="mono" { (s.recipient) }
                        td { @if s.enabled { "enabled" } @else { "disabled" } }
                        td { @if s.enabled { div class="actions" {
                            form method="post" action=(format!("/suppliers/{}/recipient", s.name)) {
                                (ctx.csrf_field())
                                label for=(format!("rcpt-{}", s.name)) { "New recipient key" }
                                input id=(format!("rcpt-{}", s.name)) name="recipient" type="text" required;
                                button type="submit" class="secondary" { "Change key" }
                            }
                            form method="post" action=(format!("/suppliers/{}/disable", s.name)) {
                                (ctx.csrf_field())
                                button type="submit" class="danger" aria-label=(format!("Disable {}", s.name)) { "Disable" }
                            }
                        } } }
                    }
                }
            }
        }
        h2 { "Add a supplier" }
        form method="post" action="/suppliers" class="stack" {
            (ctx.csrf_field())
            (text_field("name", "Name", "text", None))
            (text_field("recipient", "Recipient key", "text", Some("The supplier's age public key, age1…")))
            button type="submit" { "Add supplier" }
        }
    };
    Ok(frame(&ctx, "/suppliers", "Print suppliers", body))
}

#[derive(Deserialize)]
pub(crate) struct NewSupplier {
    name: String,
    recipient: String,
}

/// `POST /suppliers`.
pub(crate) async fn add_supplier(
    gate: Gate,
    headers: HeaderMap,
    Form(f): Form<NewSupplier>,
) -> Result<Response, Problem> {
    let ctx = Ctx::of(&gate, &headers);
    match gate.supply().add_supplier(&gate.operator(), f.name.trim(), f.recipient.trim(), now_s() * 1000).await {
        Ok(_) => Ok(Redirect::to("/suppliers").into_response()),
        Err(lanyard_supply::SupplyError::Invalid(why)) => {
            Ok(failed(&ctx, "/suppliers", "Print suppliers", &format!("Not added: {why}."), "/suppliers"))
        }
        Err(e) => Err(e.into()),
    }
}

/// `POST /suppliers/{name}/disable`.
pub(crate) async fn disable_supplier(
    gate: Gate,
    Path(name): Path<String>,
    Form(_): Form<serde::de::IgnoredAny>,
) -> Result<Response, Problem> {
    gate.supply().disable_supplier(&gate.operator(), &name, now_s() * 1000).await?;
    Ok(Redirect::to("/suppliers").into_response())
}

#[derive(Deserialize)]
pub(crate) struct NewRecipient {
    recipient: String,
}

/// `POST /suppliers/{name}/recipient`.
pub(crate) async fn rotate_recipient(
    gate: Gate,
    Path(name): Path<String>,
    headers: HeaderMap,
    Form(f): Form<NewRecipient>,
) -> Result<Response, Problem> {
    let ctx = Ctx::of(&gate, &headers);
    match gate.supply().rotate_recipient(&gate.operator(), &name, f.recipient.trim(), now_s() * 1000).await {
        Ok(_) => Ok(Redirect::to("/suppliers").into_response()),
        Err(lanyard_supply::SupplyError::Invalid(why)) => {
            Ok(failed(&ctx, "/suppliers", "Print suppliers", &format!("Not changed: {why}."), "/suppliers"))
        }
        Err(e) => Err(e.into()),
    }
}

/// `GET /zones`.
pub(crate) async fn zones(gate: Gate, headers: HeaderMap) -> Result<Markup, Problem> {
    let ctx = Ctx::of(&gate, &headers);
    let zones = gate.cards().zones(now_s() * 1000).await?;
    let body = html! {
        table {
            thead { tr { th scope="col" { "Code" } th scope="col" { "Name" } th scope="col" { "Vetting accepted" } } }
            tbody { @for z in &zones { tr { td { (z.code) } td { (z.name) } td { (z.accepts) } } } }
        }
        @if ctx.may(&Action::ManageZones) {
            h2 { "Add a zone" }
            form method="post" action="/zones" class="stack" {
                (ctx.csrf_field())
                (text_field("code", "Code", "text", Some("Short, e.g. CUSTODY.")))
                (text_field("zone-name", "Name", "text", None))
                (text_field("accepts", "Vetting levels accepted", "text", Some("Comma-separated, e.g. SC,DV.")))
                button type="submit" { "Add zone" }
            }
        }
    };
    Ok(frame(&ctx, "/zones", "Zones", body))
}

#[derive(Deserialize)]
pub(crate) struct NewZone {
    code: String,
    #[serde(rename = "zone-name")]
    name: String,
    accepts: String,
}

/// `POST /zones`.
pub(crate) async fn add_zone(gate: Gate, headers: HeaderMap, Form(f): Form<NewZone>) -> Result<Response, Problem> {
    let ctx = Ctx::of(&gate, &headers);
    match gate.cards().add_zone(&gate.operator(), f.code.trim(), f.name.trim(), f.accepts.trim(), now_s() * 1000).await
    {
        Ok(_) => Ok(Redirect::to("/zones").into_response()),
        Err(lanyard_cards::CardError::Invalid(why)) => {
            Ok(failed(&ctx, "/zones", "Zones", &format!("Not added: {why}."), "/zones"))
        }
        Err(e) => Err(e.into()),
    }
}

/// `GET /keys`: key versions per compartment, and rotation.
pub(crate) async fn keys(gate: Gate, headers: HeaderMap) -> Result<Markup, Problem> {
    let ctx = Ctx::of(&gate, &headers);
    let status = gate.register().keys_status().await?;
    let body = html! {
        p { "Key provider: " strong { (status.provider) } " " span class="muted" { (status.provider_detail) } }
        table {
            thead { tr { th scope="col" { "Compartment" } th scope="col" { "Current version" } th scope="col" { "Versions" } th scope="col" { "" } } }
            tbody {
                @for c in &status.compartments {
                    tr {
                        td { (c.compartment.as_str()) }
                        td { (c.current) }
                        td { (c.versions.len()) }
                        td { @if ctx.may(&Action::RotateKeys) {
                            form method="post" action=(format!("/keys/{}/rotate", c.compartment.as_str())) {
                                (ctx.csrf_field())
                                button type="submit" class="secondary" aria-label=(format!("Rotate the {} key", c.compartment.as_str())) { "Rotate" }
                            }
                        } }
                    }
                }
            }
        }
        p class="help" { "Rotating adds a key version that new seals use at once, then re-wraps every person's key under it in the background." }
    };
    Ok(frame(&ctx, "/keys", "Keys", body))
}

/// `POST /keys/{compartment}/rotate`.
pub(crate) async fn rotate_key(
    gate: Gate,
    Path(name): Path<String>,
    headers: HeaderMap,
    Form(_): Form<serde::de::IgnoredAny>,
) -> Result<Markup, Problem> {
    let ctx = Ctx::of(&gate, &headers);
    let compartment: Compartment =
        name.parse().map_err(|_| Problem::bad_request("bad_compartment", "not a compartment"))?;
    let (version, rewrapped) = crate::bulk::rotate(&gate, compartment).await?;
    let body = html! {
        div class="banner good" role="status" id="rotated" {
            p {
                "The " (compartment.as_str()) " key is now version " (version) ". "
                @match rewrapped {
                    Some(n) => { (n) " people's keys were re-wrapped." }
                    None => { "Re-wrapping goes on in the background; this page shows the counts when you reload it." }
                }
            }
        }
        p { a href="/keys" { "Back to keys" } }
    };
    Ok(frame(&ctx, "/keys", "Keys", body))
}
