//! The route table (every route with what the gate must decide before it
//! runs) and the OpenAPI document. The handlers live by subject: `public.rs`,
//! `people.rs`, `audit.rs`, `bulk.rs`, `cards.rs`, `supply.rs`, `admin.rs`,
//! `scan.rs`; what several of them read from a request is `params.rs`.

use axum::Json;
use axum::extract::Path;
use lanyard_core::policy::Action;
use utoipa::OpenApi;

use crate::gate::{Gate, Need, Routes};
use crate::problem::ProblemBody;

#[derive(OpenApi)]
#[openapi(
    info(title = "lanyard", description = "The personnel register behind police ID cards and permits."),
    paths(
        crate::public::healthz,
        crate::public::readyz,
        crate::public::login,
        crate::public::logout,
        crate::admin::session,
        crate::people::list_people,
        crate::people::get_person,
        crate::people::create_person,
        crate::people::update_person,
        crate::people::erase_person,
        crate::audit::keys_status,
        crate::people::find_people,
        crate::audit::rotate_issuer,
        crate::bulk::export_people,
        crate::bulk::import_people,
        crate::bulk::rotate_compartment,
        crate::audit::audit_checkpoint,
        crate::tiles::checkpoint,
        crate::tiles::hash_tile,
        crate::tiles::entry_bundle,
        crate::audit::audit_inclusion,
        crate::audit::audit_consistency,
        crate::audit::audit_export,
        crate::audit::breach_scope,
        crate::cards::request_card,
        crate::cards::list_cards,
        crate::cards::get_card,
        crate::cards::card_step,
        crate::cards::card_credential,
        crate::cards::card_artwork,
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
        crate::supply::show_batch,
        crate::supply::batch_key,
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
        crate::admin::audit_note,
        crate::admin::list_zones,
        crate::admin::list_permits,
        crate::admin::revoke_permit,
        crate::scan::scan
    ),
    components(schemas(
        crate::public::LoginRequest,
        crate::public::LoginResponse,
        crate::people::PersonSummaryJson,
        crate::people::NewPerson,
        crate::people::Created,
        crate::people::FindRequest,
        crate::admin::SessionJson,
        crate::audit::ScopeRequest,
        crate::audit::ConsistencyRequest,
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

/// The document, finished from the route table (`openapi.rs`), with the
/// force's ranks.
pub(crate) fn openapi_json(ranks: &lanyard_core::RankTable) -> String {
    let doc = serde_json::to_value(ApiDoc::openapi()).unwrap_or_default();
    let doc = crate::openapi::finish(doc, &crate::route_table(), ranks);
    serde_json::to_string_pretty(&doc).unwrap_or_default()
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
        .get("/healthz", Open, crate::public::healthz)
        .get("/readyz", Open, crate::public::readyz)
        .get("/metrics", Open, crate::public::metrics)
        .get("/v1/openapi.json", Open, crate::public::openapi)
        .post("/v1/login", Open, crate::public::login)
        .post("/v1/logout", Open, crate::public::logout)
        .get("/v1/session", need(A::ReadSession), crate::admin::session)
        .get("/v1/people", need(A::ListPeople), crate::people::list_people)
        .post("/v1/people", WritePeople, crate::people::create_person)
        .post("/v1/people/find", ReadPeople, crate::people::find_people)
        .get("/v1/people/{id}", ReadPeople, crate::people::get_person)
        .patch("/v1/people/{id}", WritePeople, crate::people::update_person)
        .delete("/v1/people/{id}", need(A::ErasePerson), crate::people::erase_person)
        .get("/v1/keys", need(A::ReadStatus), crate::audit::keys_status)
        .post("/v1/keys/issuer/rotate", need(A::ManageIssuer), crate::audit::rotate_issuer)
        .post("/v1/keys/{compartment}/rotate", need(A::RotateKeys), crate::bulk::rotate_compartment)
        .get("/v1/people/export", ReadPeople, crate::bulk::export_people)
        .get("/v1/audit/checkpoint", need(A::ReadAudit), crate::audit::audit_checkpoint)
        .get("/v1/log/checkpoint", Open, crate::tiles::checkpoint)
        .get("/v1/log/tile/entries/{*path}", need(A::ReadAudit), crate::tiles::entry_bundle)
        .get("/v1/log/tile/{*path}", Open, crate::tiles::hash_tile)
        .get("/v1/audit/proofs/inclusion", need(A::ReadAudit), crate::audit::audit_inclusion)
        .post("/v1/audit/proofs/consistency", need(A::ReadAudit), crate::audit::audit_consistency)
        .get("/v1/audit/export", need(A::ReadAudit), crate::audit::audit_export)
        .post("/v1/breach/scope", need(A::ScopeBreach), crate::audit::breach_scope)
        .get("/v1/cards", need(A::ReadCards), crate::cards::list_cards)
        .post("/v1/cards", need(A::RequestCard), crate::cards::request_card)
        .get("/v1/cards/{id}", need(A::ReadCards), crate::cards::get_card)
        .get("/v1/cards/{id}/credential", need(A::RenderCard), crate::cards::card_credential)
        .get("/v1/cards/{id}/artwork", need(A::RenderCard), crate::cards::card_artwork)
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
        .get("/v1/audit/events/{index}/note", need(A::ReadAuditNotes), crate::admin::audit_note)
        .post("/v1/access/check", need(A::CheckAccess), crate::cards::access_check)
        .get("/v1/suppliers", need(A::ManageSuppliers), crate::supply::list_suppliers)
        .post("/v1/suppliers", need(A::ManageSuppliers), crate::supply::add_supplier)
        .post("/v1/suppliers/{name}/disable", need(A::ManageSuppliers), crate::supply::disable_supplier)
        .post("/v1/suppliers/{name}/recipient", need(A::ManageSuppliers), crate::supply::rotate_recipient)
        .get("/v1/suppliers/{name}/exposure", need(A::DrillSupplier), crate::supply::exposure)
        .get("/v1/batches", need(A::ManageBatches), crate::supply::list_batches)
        .post("/v1/batches", need(A::ManageBatches), crate::supply::create_batch)
        .get("/v1/batches/{id}", need(A::ManageBatches), crate::supply::show_batch)
        .get("/v1/batch-key", need(A::ManageSuppliers), crate::supply::batch_key)
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
