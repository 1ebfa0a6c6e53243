//! `lanyard serve`: the register over HTTP. A JSON API under `/v1`, with
//! its OpenAPI 3.1 document at `/v1/openapi.json`; `/healthz`, `/readyz` and
//! Prometheus `/metrics` beside it.
//!
//! Every route is declared in one table with what it needs, and passes one
//! gate ([`gate`]) before its handler runs: who (a session cookie or a
//! bearer token, [`auth`]) and may they (the one policy module, refusals
//! audited). Handlers reach the services only through the gate's ticket,
//! then call one service method; the services audit what they reveal.

mod admin;
mod audit;
pub mod auth;
mod bulk;
mod cards;
mod console;
pub mod gate;
pub mod limits;
mod listen;
mod metrics;
mod openapi;
mod openapi_bodies;
mod params;
mod people;
pub mod problem;
mod public;
mod rejections;
mod routes;
mod scan;
mod supply;
mod tiles;
pub mod tls;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;

pub use listen::ConnectionLimits;
pub use metrics::Metrics;

pub use gate::{AppState, Guard, Options, RouteSpec, Services};

/// Request bodies larger than this are refused (413).
pub const MAX_BODY_BYTES: usize = 1024 * 1024;
/// A CSV import may be larger (about 100,000 people without photos).
pub const MAX_IMPORT_BYTES: usize = 32 * 1024 * 1024;
/// Files uploaded for a scan, together, at most.
pub const MAX_SCAN_BYTES: usize = 256 * 1024 * 1024;
/// Requests taking longer than this are cut off (503), by default (see
/// [`ConnectionLimits`]).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

pub(crate) fn now_s() -> i64 {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    i64::try_from(now.as_secs()).unwrap_or(i64::MAX)
}

/// The whole application: routes, limits and security headers.
pub fn router(state: Arc<AppState>) -> Router {
    router_and_table(state).0
}

/// Every route the server declares, with what it needs, without building a
/// server: what a client's endpoint list is checked against.
pub fn route_table() -> Vec<RouteSpec> {
    routes::import_routes()
        .merge(console::import_routes())
        .merge(routes::scan_routes())
        .merge(routes::routes())
        .merge(console::scan_routes())
        .merge(console::routes())
        .table()
}

/// The application and the table of every route in it with what it needs
/// (the authorization matrix test walks it).
pub fn router_and_table(state: Arc<AppState>) -> (Router, Vec<RouteSpec>) {
    let hsts = state.secure_cookies();
    let request_timeout = state.connection_limits().request;
    let counted = Arc::clone(&state);
    let import = routes::import_routes().merge(console::import_routes()).map(|r| {
        r.layer(axum::extract::DefaultBodyLimit::max(MAX_IMPORT_BYTES))
            .layer(RequestBodyLimitLayer::new(MAX_IMPORT_BYTES))
    });
    let scan = routes::scan_routes().merge(console::scan_routes()).map(|r| {
        r.layer(axum::extract::DefaultBodyLimit::max(MAX_SCAN_BYTES)).layer(RequestBodyLimitLayer::new(MAX_SCAN_BYTES))
    });
    let console_state = Arc::clone(&state);
    let (app, table) = routes::routes()
        .merge(console::routes())
        .map(|r| r.layer(RequestBodyLimitLayer::new(MAX_BODY_BYTES)))
        .merge(import)
        .merge(scan)
        .finish(state);
    let mut app = app
        .layer(TimeoutLayer::with_status_code(StatusCode::SERVICE_UNAVAILABLE, request_timeout))
        .layer(axum::middleware::map_response(problem::uniform))
        .layer(axum::middleware::from_fn_with_state(counted, rejections::layer))
        .layer(SetResponseHeaderLayer::overriding(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"),
        ))
        .layer(SetResponseHeaderLayer::overriding(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")))
        .layer(SetResponseHeaderLayer::overriding(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")))
        .layer(SetResponseHeaderLayer::overriding(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer")))
        // Handlers that may be cached (the status list) say so themselves.
        .layer(SetResponseHeaderLayer::if_not_present(header::CACHE_CONTROL, HeaderValue::from_static("no-store")));
    if hsts {
        app = app.layer(SetResponseHeaderLayer::overriding(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000; includeSubDomains"),
        ));
    }
    let app = app
        .layer(SetResponseHeaderLayer::overriding(
            HeaderName::from_static("cross-origin-resource-policy"),
            HeaderValue::from_static("same-origin"),
        ))
        // Outermost: console pages get their own policy, and pages for
        // problems.
        .layer(axum::middleware::from_fn_with_state(console_state, console::errors::layer));
    (app, table)
}

/// Serves plain HTTP until `shutdown` completes, within the limits of
/// `Options::connections`.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: Arc<AppState>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = router(Arc::clone(&state));
    listen::serve(listener, state, app, None, shutdown).await
}

/// The OpenAPI document, for a force with the default ranks (the server
/// serves its own force's at `/v1/openapi.json`).
pub fn openapi_json() -> String {
    routes::openapi_json(&lanyard_core::RankTable::default_ranks())
}
