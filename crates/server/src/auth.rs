//! Who is calling: a session cookie or a bearer token, turned into a
//! [`Caller`]. What the caller may then do is the gate's business
//! (`gate.rs`).

use std::net::SocketAddr;

use axum::extract::ConnectInfo;
use axum::http::header;
use axum::http::request::Parts;
use lanyard_access::{Access, Principal};
use lanyard_register::Operator;

use crate::now_s;
use crate::problem::Problem;

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "lanyard_session";

/// An authenticated caller, and the request id that ties its events.
pub struct Caller {
    /// Who.
    pub principal: Principal,
    /// Fresh per request.
    pub request_id: String,
    /// The client address, for audit details.
    pub client: String,
}

impl Caller {
    /// The register's view of this caller.
    pub fn operator(&self) -> Operator {
        Operator {
            actor: self.principal.actor.clone(),
            protected_clearance: self.principal.protected_clearance,
            request_id: self.request_id.clone(),
        }
    }
}

pub(crate) fn cookie_value<'a>(headers: &'a axum::http::HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|line| line.split(';').map(str::trim).find_map(|kv| kv.strip_prefix(name)?.strip_prefix('=')))
}

/// The client's address as the server saw it.
pub fn client_of(parts: &Parts) -> String {
    parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip().to_string())
        .unwrap_or_else(|| "unknown".to_owned())
}

/// The caller a request's bearer token or session cookie names; neither is
/// a 401.
pub(crate) async fn authenticate(parts: &Parts, access: &Access) -> Result<Caller, Problem> {
    let now = now_s();
    let bearer =
        parts.headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer "));
    let principal = match (bearer, cookie_value(&parts.headers, SESSION_COOKIE)) {
        (Some(token), _) => access.token(token.trim(), now).await?,
        (None, Some(cookie)) => access.session(cookie, now).await?,
        (None, None) => return Err(Problem::unauthenticated("log in, or present a bearer token")),
    };
    Ok(Caller { principal, request_id: uuid::Uuid::new_v4().to_string(), client: client_of(parts) })
}
