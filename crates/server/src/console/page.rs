//! The page frame every console page shares: landmarks, the navigation the
//! role may use, who is signed in and when the session ends, the task in
//! hand, and the sign-out.

use axum::http::HeaderMap;
use lanyard_core::Role;
use lanyard_core::policy::{self, Action, Decision};
use maud::{DOCTYPE, Markup, html};

use super::purpose::{self, Purpose};
use crate::gate::Gate;

/// What a page needs to know about the request.
pub(crate) struct Ctx {
    /// `user:name`.
    pub actor: String,
    /// The signed-in role.
    pub role: Role,
    /// The CSRF token for this session's forms.
    pub csrf: String,
    /// The task chosen, if any.
    pub purpose: Option<Purpose>,
    /// The tasks on offer.
    pub tasks: Vec<Purpose>,
    /// Seconds of idleness that end the session.
    pub idle_s: i64,
}

impl Ctx {
    /// The context of a gated request.
    pub(crate) fn of(gate: &Gate, headers: &HeaderMap) -> Ctx {
        let p = gate.principal();
        Ctx {
            actor: p.actor.id.clone(),
            role: p.role,
            csrf: super::csrf::session_token(headers).unwrap_or_default(),
            purpose: purpose::current(headers, gate.register().purpose_codes()),
            tasks: purpose::offered(gate.register().purpose_codes()),
            idle_s: gate.access().session_policy().idle_s,
        }
    }

    /// Whether the role may do `action` (what a page offers).
    pub(crate) fn may(&self, action: &Action) -> bool {
        policy::decide(self.role, action) == Decision::Allow
    }

    /// The hidden CSRF field every state-changing form carries.
    pub(crate) fn csrf_field(&self) -> Markup {
        html! { input type="hidden" name=(super::csrf::FIELD) value=(self.csrf); }
    }

    /// Whether the role reads any compartment of a person.
    pub(crate) fn reads_people(&self) -> bool {
        lanyard_core::Compartment::ALL.iter().any(|c| policy::may_read(self.role, *c))
    }
}

/// The links a role sees: each only where the policy allows it.
fn nav(ctx: &Ctx) -> Vec<(&'static str, &'static str)> {
    let mut links = vec![("/", "Start")];
    if ctx.reads_people() {
        links.push(("/find", "Find a person"));
    }
    if ctx.may(&Action::ApproveCard) {
        links.push(("/approvals", "Approvals"));
    }
    if ctx.may(&Action::ManageBatches) {
        links.push(("/batches", "Print batches"));
    }
    if ctx.may(&Action::ReadAudit) {
        links.push(("/audit", "Audit log"));
        links.push(("/audit/log", "Checkpoint"));
    }
    if ctx.may(&Action::ScopeBreach) {
        links.push(("/breach", "Breach scope"));
        links.push(("/access", "Picture of access"));
    }
    if ctx.may(&Action::DrillSupplier) {
        links.push(("/exposure", "Supplier drill"));
    }
    if ctx.may(&Action::ManageUsers) {
        links.push(("/users", "Users"));
        links.push(("/tokens", "Tokens"));
    }
    if ctx.may(&Action::ManageSuppliers) {
        links.push(("/suppliers", "Suppliers"));
    }
    if ctx.may(&Action::ManageZones) {
        links.push(("/zones", "Zones"));
    }
    if ctx.may(&Action::RotateKeys) {
        links.push(("/keys", "Keys"));
    }
    if ctx.may(&Action::ScanFiles) {
        links.push(("/scan", "Check a file for release"));
    }
    links
}

/// Names a role as its users say it.
pub(crate) fn role_name(role: Role) -> &'static str {
    match role {
        Role::IdOfficer => "ID-card office",
        Role::Approver => "Approver",
        Role::VettingOfficer => "Vetting officer",
        Role::HrPayroll => "HR and payroll",
        Role::Auditor => "Data protection and audit",
        Role::Admin => "Administrator",
        Role::PrintSupplier => "Print supplier",
        Role::Verifier => "Gate verifier",
        Role::DisclosureOfficer => "Disclosure officer",
    }
}

/// A whole page. `here` is the page's own path, to come back to after the
/// task is changed.
pub(crate) fn frame(ctx: &Ctx, here: &str, title: &str, body: Markup) -> Markup {
    let idle_min = ctx.idle_s / 60;
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · lanyard" }
                link rel="stylesheet" href="/static/console.css";
                link rel="icon" href="/static/icon.svg" type="image/svg+xml";
                script src="/static/console.js" defer {}
            }
            body data-idle-s=(ctx.idle_s) {
                a class="skip" href="#main" { "Skip to the content" }
                header class="top" {
                    span class="brand" { "lanyard" }
                    nav aria-label="Main" {
                        ul {
                            @for (href, label) in nav(ctx) {
                                li { a href=(href) aria-current=[(href == here).then_some("page")] { (label) } }
                            }
                        }
                    }
                    div class="who" {
                        span { "Signed in as " strong { (ctx.actor.trim_start_matches("user:")) } " · " (role_name(ctx.role)) }
                        span class="timeout" id="session-left" role="timer" aria-live="off" {
                            "Signs out after " (idle_min) " minutes without use"
                        }
                        form method="post" action="/logout" class="inline" {
                            (ctx.csrf_field())
                            button type="submit" class="link" { "Sign out" }
                        }
                    }
                }
                div class="banner warn session-warning" id="session-warning" role="alert" hidden {
                    p { "Your session is about to end because it has not been used. " }
                    button type="button" id="session-stay" { "Stay signed in" }
                }
                @if ctx.reads_people() {
                    (task_bar(ctx, here))
                }
                main id="main" tabindex="-1" {
                    h1 { (title) }
                    (body)
                }
                footer { p { "Every read of personal data is recorded in the audit log, with your task." } }
            }
        }
    }
}

/// The task in hand, and a way to change it.
fn task_bar(ctx: &Ctx, here: &str) -> Markup {
    html! {
        section class="task" aria-label="Your task" {
            form method="post" action="/purpose" class="inline" {
                (ctx.csrf_field())
                input type="hidden" name="back" value=(here);
                label for="purpose" { "Your task: " }
                select id="purpose" name="purpose" {
                    @if ctx.purpose.is_none() {
                        option value="" selected { "Choose what you are doing" }
                    }
                    @for p in &ctx.tasks {
                        option value=(p.code) selected[ctx.purpose.as_ref() == Some(p)] { (p.label) }
                    }
                }
                button type="submit" { "Set task" }
            }
        }
    }
}

/// The form that asks for a task before a record is opened.
pub(crate) fn ask_task(ctx: &Ctx, here: &str) -> Markup {
    html! {
        p class="notice" {
            "Choose your task before opening a record. It is recorded with every read you make, "
            "and you can change it at any time from the bar above."
        }
        form method="post" action="/purpose" class="stack" {
            (ctx.csrf_field())
            input type="hidden" name="back" value=(here);
            fieldset {
                legend { "What are you doing?" }
                @for (i, p) in ctx.tasks.iter().enumerate() {
                    div class="choice" {
                        input type="radio" name="purpose" id=(format!("task-{i}")) value=(p.code) required;
                        label for=(format!("task-{i}")) { (p.label) }
                    }
                }
            }
            button type="submit" { "Continue" }
        }
    }
}

/// A page outside a session (sign-in, errors).
pub(crate) fn bare(title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · lanyard" }
                link rel="stylesheet" href="/static/console.css";
                link rel="icon" href="/static/icon.svg" type="image/svg+xml";
            }
            body {
                header class="top" { span class="brand" { "lanyard" } }
                main id="main" class="narrow" {
                    h1 { (title) }
                    (body)
                }
            }
        }
    }
}

/// A date and time from Unix seconds, in UTC, as people read it.
pub(crate) fn when(unix_s: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix_s)
        .ok()
        .and_then(|t| {
            t.format(time::macros::format_description!("[day] [month repr:short] [year], [hour]:[minute] UTC")).ok()
        })
        .unwrap_or_else(|| "unknown".to_owned())
}
