//! Who is calling (a session cookie or a bearer token), and the one gate
//! every handler passes: [`authorize`], which asks `lanyard_core::policy`
//! and audits a refusal.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::header;
use axum::http::request::Parts;
use lanyard_access::Principal;
use lanyard_audit::{Event, Outcome};
use lanyard_core::policy::{self, Action, Decision};
use lanyard_register::Operator;

use crate::problem::Problem;
use crate::{AppState, now_s};

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

fn cookie_value<'a>(parts: &'a Parts, name: &str) -> Option<&'a str> {
    parts
        .headers
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

impl FromRequestParts<Arc<AppState>> for Caller {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &Arc<AppState>) -> Result<Self, Self::Rejection> {
        let now = now_s();
        let bearer = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        let principal = match (bearer, cookie_value(parts, SESSION_COOKIE)) {
            (Some(token), _) => state.access.token(token.trim(), now).await?,
            (None, Some(cookie)) => state.access.session(cookie, now).await?,
            (None, None) => return Err(Problem::unauthenticated("log in, or present a bearer token")),
        };
        Ok(Caller { principal, request_id: uuid::Uuid::new_v4().to_string(), client: client_of(parts) })
    }
}

/// Allows `action` for `caller`, or records the refusal and answers 403.
/// A refusal that cannot be recorded is still a refusal.
pub async fn authorize(state: &AppState, caller: &Caller, action: Action, route: &str) -> Result<(), Problem> {
    match policy::decide(caller.principal.role, &action) {
        Decision::Allow => Ok(()),
        Decision::Deny(reason) => {
            record_refusal(state, caller, &action, route, reason).await;
            Err(Problem::forbidden(reason))
        }
    }
}

/// Applies the caller's read limit before personal data is read; a refusal
/// is audited and answered 429 with Retry-After.
pub async fn limit_reads(state: &AppState, caller: &Caller, action: &Action, route: &str) -> Result<(), Problem> {
    match state.reads.check(caller.principal.id) {
        Ok(()) => Ok(()),
        Err(wait) => {
            record_refusal(state, caller, action, route, "rate_limited").await;
            Err(Problem::rate_limited(wait.as_secs().saturating_add(1)))
        }
    }
}

/// Charges a bulk read of `n` people against the caller's allowance. Past
/// the burst it is refused for good (403), else it waits like any read (429).
pub async fn limit_reads_n(
    state: &AppState,
    caller: &Caller,
    action: &Action,
    route: &str,
    n: u32,
) -> Result<(), Problem> {
    match state.reads.check_n(caller.principal.id, n) {
        Ok(()) => Ok(()),
        Err(crate::limits::Refusal::Wait(wait)) => {
            record_refusal(state, caller, action, route, "rate_limited").await;
            Err(Problem::rate_limited(wait.as_secs().saturating_add(1)))
        }
        Err(crate::limits::Refusal::OverBurst) => {
            record_refusal(state, caller, action, route, "over_read_allowance").await;
            Err(Problem::new(
                axum::http::StatusCode::FORBIDDEN,
                "over_read_allowance",
                format!(
                    "an export of {n} people is more than this server lets one user or token read at once; \
                     export on the register host (lanyard person export), where it is audited the same way"
                ),
            ))
        }
    }
}

/// An audit event for a refused request. The refusal stands even if the
/// event cannot be written.
async fn record_refusal(state: &AppState, caller: &Caller, action: &Action, route: &str, reason: &str) {
    let mut event = Event::new(now_s() * 1000, caller.principal.actor.clone(), "access.denied", Outcome::Denied);
    event.request_id = Some(caller.request_id.clone());
    if let Action::ReadPeople(cs) | Action::WritePeople(cs) = action {
        event.compartments = cs.clone();
    }
    event.detail = Some(serde_json::json!({ "route": route, "reason": reason }));
    if let Err(e) = state.register.record(&[event]).await {
        tracing::error!(error = %e, "a refusal could not be audited");
    }
    state.metrics.denied();
}
