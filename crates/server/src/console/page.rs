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

/// One page a role may start from: where, its name in the navigation, its
/// name and what it is for on the start page, and who may open it.
pub(crate) struct Place {
    pub href: &'static str,
    pub nav: &'static str,
    pub title: &'static str,
    pub what: &'static str,
    /// The action its route's gate decides; `None`: anyone who reads some
    /// compartment (the people pages).
    pub needs: Option<Action>,
}

const fn place(
    href: &'static str,
    nav: &'static str,
    title: &'static str,
    what: &'static str,
    needs: Option<Action>,
) -> Place {
    Place { href, nav, title, what, needs }
}

/// Every starting page, in the order the navigation shows them.
static PLACES: [Place; 15] = [
    place(
        "/find",
        "Find a person",
        "Find a person",
        "By service number or surname, to open their record and cards.",
        None,
    ),
    place(
        "/import",
        "Import",
        "Import people",
        "Add people from a register CSV, every row checked first.",
        Some(Action::RequestCard),
    ),
    place(
        "/approvals",
        "Approvals",
        "Approve card requests",
        "Requests waiting for a second person.",
        Some(Action::ApproveCard),
    ),
    place(
        "/batches",
        "Print batches",
        "Print batches",
        "Send approved cards to the print supplier, sealed.",
        Some(Action::ManageBatches),
    ),
    place(
        "/audit",
        "Audit log",
        "Search the audit log",
        "Every access, by actor, action, person and time, with proofs.",
        Some(Action::ReadAudit),
    ),
    place(
        "/audit/log",
        "Checkpoint",
        "Check the log",
        "The signed checkpoint, and a full verification now.",
        Some(Action::ReadAudit),
    ),
    place(
        "/breach",
        "Breach scope",
        "Scope a breach",
        "Who was exposed by an actor or in a window, with the ICO drafts.",
        Some(Action::ScopeBreach),
    ),
    place(
        "/access",
        "Picture of access",
        "Picture of access",
        "Reads per day over 90 days, and who reads far more than usual.",
        Some(Action::ScopeBreach),
    ),
    place(
        "/exposure",
        "Supplier drill",
        "Supplier compromise drill",
        "What a print supplier's breach would expose now.",
        Some(Action::DrillSupplier),
    ),
    place(
        "/users",
        "Users",
        "Users",
        "Add people who sign in, disable them, reset their password and code.",
        Some(Action::ManageUsers),
    ),
    place(
        "/tokens",
        "Tokens",
        "Service tokens",
        "For print suppliers' agents and gate devices.",
        Some(Action::ManageUsers),
    ),
    place(
        "/suppliers",
        "Suppliers",
        "Print suppliers",
        "Who receives print batches, and their keys.",
        Some(Action::ManageSuppliers),
    ),
    place(
        "/zones",
        "Zones",
        "Zones",
        "Places a permit opens, and the vetting each accepts.",
        Some(Action::ManageZones),
    ),
    place("/keys", "Keys", "Keys", "Key versions per compartment, and rotation.", Some(Action::RotateKeys)),
    place(
        "/scan",
        "Check a file for release",
        "Check a file before release",
        "Upload a spreadsheet or document to find personal data and hidden content.",
        Some(Action::ScanFiles),
    ),
];

/// The pages this role may start from: each only where the policy allows it.
pub(crate) fn places(ctx: &Ctx) -> impl Iterator<Item = &'static Place> + '_ {
    PLACES.iter().filter(|p| match &p.needs {
        None => ctx.reads_people(),
        Some(action) => ctx.may(action),
    })
}

fn nav(ctx: &Ctx) -> Vec<(&'static str, &'static str)> {
    std::iter::once(("/", "Start")).chain(places(ctx).map(|p| (p.href, p.nav))).collect()
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

/// The head of every page; the script only where there is a session to
/// count down.
fn head(title: &str, script: bool) -> Markup {
    html! {
        head {
            meta charset="utf-8";
            meta name="viewport" content="width=device-width, initial-scale=1";
            title { (title) " · lanyard" }
            link rel="stylesheet" href="/static/console.css";
            link rel="icon" href="/static/icon.svg" type="image/svg+xml";
            @if script { script src="/static/console.js" defer {} }
        }
    }
}

/// A whole page. `here` is the page's own path, to come back to after the
/// task is changed.
pub(crate) fn frame(ctx: &Ctx, here: &str, title: &str, body: Markup) -> Markup {
    let idle_min = ctx.idle_s / 60;
    html! {
        (DOCTYPE)
        html lang="en" {
            (head(title, true))
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
            (head(title, false))
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
