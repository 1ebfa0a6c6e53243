//! Every refusal as problem+json, and every refusal counted in the log.
//!
//! Extractors and layers answer some requests before any handler runs: a
//! body that is not JSON, a bad query, a body over its limit, a timeout, an
//! unknown route or method. Their answers are plain text, and no service
//! sees them. This outermost layer turns each into an RFC 9457 problem
//! whose detail names what was wrong and where, never echoing the input (a
//! JSON error quotes it), and counts every 4xx and 5xx answer by route
//! template, status and caller (when the gate had authenticated one). The
//! counts go into the log as one
//! `request.rejected` event per window (the access service's), so probing
//! leaves a trace and a flood leaves one event a window, not one a request.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::gate::AppState;
use crate::problem::Problem;

/// Refusals counted since the last event.
#[derive(Default)]
pub(crate) struct Rejections {
    window: Duration,
    counts: Mutex<Window>,
}

/// Counts per (route, status, caller if known), and since when (unix ms).
type Counted = (Vec<(String, u16, Option<String>, u64)>, i64);

#[derive(Default)]
struct Window {
    since_ms: i64,
    counts: BTreeMap<(String, u16, Option<String>), u64>,
}

impl Rejections {
    pub(crate) fn new(window: Duration) -> Self {
        Rejections { window, counts: Mutex::default() }
    }

    /// Counts one; returns the window's counts when it is time to record
    /// them.
    fn count(&self, route: String, status: u16, caller: Option<String>, now_ms: i64) -> Option<Counted> {
        let mut w = self.counts.lock().ok()?;
        if w.counts.is_empty() {
            w.since_ms = now_ms;
        }
        *w.counts.entry((route, status, caller)).or_default() += 1;
        let due = now_ms.saturating_sub(w.since_ms) >= i64::try_from(self.window.as_millis()).unwrap_or(i64::MAX);
        due.then(|| Self::take(&mut w))
    }

    /// Whatever is counted and not yet recorded (at shutdown).
    pub(crate) fn drain(&self) -> Option<Counted> {
        let mut w = self.counts.lock().ok()?;
        (!w.counts.is_empty()).then(|| Self::take(&mut w))
    }

    fn take(w: &mut Window) -> Counted {
        let counts = std::mem::take(&mut w.counts);
        (counts.into_iter().map(|((r, s, c), n)| (r, s, c, n)).collect(), w.since_ms)
    }
}

/// The problem for an answer a handler did not write: what was wrong, in
/// words that name the place (body, query, route) and not the input.
fn problem_for(status: StatusCode) -> Problem {
    let (code, detail) = match status {
        StatusCode::BAD_REQUEST => ("bad_request", "the request could not be read: check its query string and body"),
        StatusCode::NOT_FOUND => ("not_found", "no such route"),
        StatusCode::METHOD_NOT_ALLOWED => ("method_not_allowed", "this route does not take that method"),
        StatusCode::PAYLOAD_TOO_LARGE => ("body_too_large", "the request body is larger than this route accepts"),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => {
            ("unsupported_media_type", "the request body is not of the type this route takes (application/json?)")
        }
        StatusCode::UNPROCESSABLE_ENTITY => {
            ("invalid_body", "the request body is JSON but not of the shape this route takes")
        }
        StatusCode::SERVICE_UNAVAILABLE | StatusCode::REQUEST_TIMEOUT => {
            ("timeout", "the request took too long and was stopped")
        }
        s if s.is_server_error() => ("internal", "the request failed"),
        _ => ("rejected", "the request was refused"),
    };
    Problem::new(status, code, detail)
}

fn is_problem(r: &Response) -> bool {
    r.headers().get(header::CONTENT_TYPE).is_some_and(|v| v.as_bytes().starts_with(b"application/problem+json"))
}

/// The layer (see the module doc).
pub(crate) async fn layer(State(state): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    let route = match req.extensions().get::<MatchedPath>() {
        Some(p) => format!("{} {}", req.method(), p.as_str()),
        None => format!("{} (no such route)", req.method()),
    };
    let response = next.run(req).await;
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    // The gate names the caller once it has authenticated one (a refusal
    // by the gate itself, or by an extractor after it).
    let caller = response.extensions().get::<crate::gate::Decided>().and_then(|d| d.caller.clone());
    // A console page already says what went wrong, in words for people.
    let response = if is_problem(&response) || crate::problem::is_page(&response) {
        response
    } else {
        problem_for(status).into_response()
    };
    let now_ms = crate::now_s() * 1000;
    if let Some((counts, since_ms)) = state.rejections().count(route, status.as_u16(), caller, now_ms) {
        state.record_rejections(&counts, since_ms, now_ms).await;
    }
    response
}
