//! The web console: server-rendered HTML pages at `/`, beside the API, for
//! the people who run an ID office and do not work in a terminal.
//!
//! The console is not a second API client. Its routes are declared in the
//! same table as the API's ([`crate::gate::Routes`]), with what each needs,
//! so the gate authenticates, decides and audits a refusal before any page
//! handler runs; a handler then calls the same service method the matching
//! API route calls. What differs is only the surface:
//!
//! - pages are maud templates ([`page`]), work with JavaScript off, and load
//!   nothing from outside the binary ([`assets`]);
//! - every state-changing form carries a CSRF token bound to the session
//!   ([`csrf`]), and sign-in carries one bound to a pre-session cookie;
//! - a read of personal data records the task the user chose once
//!   ([`purpose`]), never a free text that could itself be personal;
//! - nothing personal goes in a URL: searches are POSTs, pages are named by
//!   ids;
//! - a refusal, or any error, is an HTML page in plain words ([`errors`]),
//!   and an expired session goes back to sign-in.
//!
//! Pages by subject: [`signin`], [`people`], [`import`], [`cards`], [`scan`],
//! [`audit`], [`admin`].

pub(crate) mod admin;
pub(crate) mod assets;
pub(crate) mod audit;
pub(crate) mod cards;
pub(crate) mod csrf;
pub(crate) mod errors;
pub(crate) mod import;
pub(crate) mod page;
pub(crate) mod people;
pub(crate) mod purpose;
pub(crate) mod scan;
pub(crate) mod signin;

use lanyard_core::policy::Action;

use crate::gate::{Need, Routes};

/// The console's Content-Security-Policy: scripts, styles, images and
/// forms from the server itself and nothing else; no inline script or
/// style, no eval, no framing. The script may call back to the server
/// (`connect-src 'self'`: an import's progress, "stay signed in"), and
/// nowhere else.
pub(crate) const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
                              connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// Whether a path is the console's (every path outside the API, the probes
/// and the metrics).
pub(crate) fn is_console_path(path: &str) -> bool {
    !(path.starts_with("/v1/") || matches!(path, "/v1" | "/healthz" | "/readyz" | "/metrics"))
}

/// Uploads: scans up to [`crate::MAX_SCAN_BYTES`], as the API's, and a
/// photo (the register refuses one over its own limit).
pub(crate) fn scan_routes() -> Routes {
    Routes::new().post("/scan", Need::Action(Action::ScanFiles), scan::submit).post(
        "/people/{id}/photo",
        Need::WritePeople,
        people::upload_photo,
    )
}

/// Imports: a register CSV up to [`crate::MAX_IMPORT_BYTES`], as the API's.
pub(crate) fn import_routes() -> Routes {
    Routes::new().post("/import", Need::WritePeople, import::start)
}

/// Every other console page, each with what the gate must decide first.
pub(crate) fn routes() -> Routes {
    use Action as A;
    use Need::{Public as Open, ReadPeople, WritePeople};
    let need = Need::Action;
    let mut r = Routes::new()
        .get("/", need(A::ReadSession), signin::home)
        .get("/login", Open, signin::form)
        .post("/login", Open, signin::submit)
        .post("/logout", Open, signin::logout)
        .get("/static/{file}", Open, assets::serve)
        .post("/csp-report", Open, errors::csp_report)
        .post("/purpose", need(A::ReadSession), purpose::choose)
        .get("/find", ReadPeople, people::find_form)
        .post("/find", ReadPeople, people::find)
        .get("/people/{id}", ReadPeople, people::person)
        .get("/people/{id}/photo", ReadPeople, people::photo)
        .get("/people/{id}/edit", WritePeople, people::edit_form_page)
        .post("/people/{id}/edit", WritePeople, people::edit)
        .post("/people/{id}/cards", need(A::RequestCard), cards::request)
        .get("/cards/{id}", need(A::ReadCards), cards::card)
        .get("/cards/{id}/artwork/{side}", need(A::RenderCard), cards::artwork)
        .get("/import", WritePeople, import::form_page)
        .get("/import/{id}", need(A::ReadSession), import::progress)
        .get("/import/{id}/status.json", need(A::ReadSession), import::status)
        .get("/approvals", need(A::ApproveCard), cards::approvals)
        .get("/batches", need(A::ManageBatches), cards::batches)
        .post("/batches", need(A::ManageBatches), cards::create_batch)
        .get("/scan", need(A::ScanFiles), scan::form)
        .get("/scan/{id}/report.json", need(A::ScanFiles), scan::report)
        .get("/audit", need(A::ReadAudit), audit::explorer)
        .post("/audit", need(A::ReadAudit), audit::search)
        .get("/audit/events/{index}", need(A::ReadAudit), audit::event)
        .get("/audit/events/{index}/proof.json", need(A::ReadAudit), audit::proof)
        .get("/audit/log", need(A::ReadAudit), audit::log)
        .post("/audit/verify", need(A::ReadAudit), audit::verify)
        .get("/breach", need(A::ScopeBreach), audit::breach_form)
        .post("/breach", need(A::ScopeBreach), audit::breach)
        .post("/breach/report", need(A::ScopeBreach), audit::breach_report)
        .post("/breach/letters", need(A::ScopeBreach), audit::breach_letters)
        .get("/exposure", need(A::DrillSupplier), audit::exposure_form_page)
        .post("/exposure", need(A::DrillSupplier), audit::exposure)
        .get("/access", need(A::ScopeBreach), audit::picture)
        .get("/users", need(A::ManageUsers), admin::users)
        .post("/users", need(A::ManageUsers), admin::add_user)
        .post("/users/{name}/disable", need(A::ManageUsers), admin::disable_user)
        .post("/users/{name}/reset", need(A::ManageUsers), admin::reset_user)
        .get("/tokens", need(A::ManageUsers), admin::tokens)
        .post("/tokens", need(A::ManageUsers), admin::create_token)
        .post("/tokens/{id}/revoke", need(A::ManageUsers), admin::revoke_token)
        .get("/suppliers", need(A::ManageSuppliers), admin::suppliers)
        .post("/suppliers", need(A::ManageSuppliers), admin::add_supplier)
        .post("/suppliers/{name}/disable", need(A::ManageSuppliers), admin::disable_supplier)
        .post("/suppliers/{name}/recipient", need(A::ManageSuppliers), admin::rotate_recipient)
        .get("/zones", need(A::ReadZones), admin::zones)
        .post("/zones", need(A::ManageZones), admin::add_zone)
        .get("/keys", need(A::ReadStatus), admin::keys)
        .post("/keys/{compartment}/rotate", need(A::RotateKeys), admin::rotate_key);
    // The card steps are the API's, one route each, at the same paths
    // without `/v1`.
    for (path, step, action) in crate::cards::STEPS {
        let path = path.strip_prefix("/v1").unwrap_or(path);
        r = r.post(path, need(action), move |ctx, id, form| cards::step(ctx, id, step, form));
    }
    r
}
