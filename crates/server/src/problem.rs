//! RFC 9457 problem details: every error the API returns. The `type` is a
//! stable code; `detail` is written for people and never carries personal
//! data, SQL or a stack trace.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use lanyard_access::{AccessError, AccessErrorKind};
use lanyard_register::{ErrorKind, RegisterError};
use serde::Serialize;

/// Where the problem types are documented.
const TYPE_BASE: &str = "https://lanyard.invalid/problems/";

/// The `type` of a problem with stable `code`.
pub(crate) fn type_uri(code: &str) -> String {
    format!("{TYPE_BASE}{code}")
}

/// An API error.
#[derive(Debug)]
pub struct Problem {
    status: StatusCode,
    code: &'static str,
    detail: String,
    retry_after_s: Option<i64>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct ProblemBody {
    /// A URI naming the kind of problem (stable).
    #[serde(rename = "type")]
    kind: String,
    /// A short summary of the kind.
    title: &'static str,
    /// The HTTP status.
    status: u16,
    /// What went wrong in this case.
    detail: String,
}

impl Problem {
    /// A problem of `status` and stable `code`.
    pub fn new(status: StatusCode, code: &'static str, detail: impl Into<String>) -> Self {
        Problem { status, code, detail: detail.into(), retry_after_s: None }
    }

    /// 400.
    pub fn bad_request(code: &'static str, detail: impl Into<String>) -> Self {
        Problem::new(StatusCode::BAD_REQUEST, code, detail)
    }

    /// 401.
    pub fn unauthenticated(detail: impl Into<String>) -> Self {
        Problem::new(StatusCode::UNAUTHORIZED, "unauthenticated", detail)
    }

    /// 403, with the policy's reason code.
    pub fn forbidden(code: &'static str) -> Self {
        Problem::new(StatusCode::FORBIDDEN, code, "your role may not do this")
    }

    /// 429 with Retry-After.
    pub fn rate_limited(retry_after_s: u64) -> Self {
        let mut p =
            Problem::new(StatusCode::TOO_MANY_REQUESTS, "rate_limited", "too many reads of personal data; slow down");
        p.retry_after_s = Some(i64::try_from(retry_after_s).unwrap_or(i64::MAX));
        p
    }

    /// 503 with `Retry-After`: the database is down, restarting or full.
    /// Nothing was changed, so the same request may be sent again. The
    /// error is logged (it names no values); the answer says only that.
    pub fn store_unavailable(e: &dyn std::fmt::Display) -> Self {
        tracing::error!(error = %e, "the database is unavailable");
        let mut p = Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "store_unavailable",
            "the database cannot be reached or cannot write just now (down, restarting or out of space); \
             nothing was changed: try again shortly",
        );
        p.retry_after_s = Some(5);
        p
    }

    /// 503 with `Retry-After`: the key provider (the HSM token) does not
    /// answer, so the keys it released are not used. Nothing was read or
    /// changed. The provider's reason is logged, not answered.
    pub fn key_provider_unavailable(e: &dyn std::fmt::Display) -> Self {
        tracing::error!(error = %e, "the key provider is unavailable");
        let mut p = Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "key_provider_unavailable",
            "the key provider (HSM token or keyring) does not answer, so no personal data can be read or \
             changed; nothing was read or changed: try again shortly, and tell the key custodian if it lasts",
        );
        p.retry_after_s = Some(5);
        p
    }

    /// 503 with `Retry-After`: a shared resource is in use by others; the
    /// same request may be sent again shortly.
    pub fn busy(code: &'static str, detail: &'static str) -> Self {
        let mut p = Problem::new(StatusCode::SERVICE_UNAVAILABLE, code, detail);
        p.retry_after_s = Some(5);
        p
    }

    /// The status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// What went wrong, in words (no code).
    pub(crate) fn detail_text(&self) -> String {
        self.detail.clone()
    }

    fn title(&self) -> &'static str {
        self.status.canonical_reason().unwrap_or("Error")
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let body = ProblemBody {
            kind: type_uri(self.code),
            title: self.title(),
            status: self.status.as_u16(),
            detail: self.detail,
        };
        let mut response = (self.status, axum::Json(body)).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
        if let Some(s) = self.retry_after_s
            && let Ok(v) = HeaderValue::from_str(&s.max(1).to_string())
        {
            headers.insert(header::RETRY_AFTER, v);
        }
        response
    }
}

impl Problem {
    /// A row that decides who may do what failed its integrity check: the
    /// store was changed outside lanyard. 503, since nothing the caller can
    /// change will help; the operator's `audit verify` names the row.
    fn store_altered(e: &dyn std::fmt::Display) -> Problem {
        tracing::error!(error = %e, "integrity failure");
        Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "store_altered",
            "the store was changed outside lanyard; the row was refused and the refusal recorded \
             (an operator can run 'lanyard audit verify')",
        )
    }
}

impl From<RegisterError> for Problem {
    fn from(e: RegisterError) -> Self {
        let (status, code) = match e.kind() {
            ErrorKind::Invalid(_) | ErrorKind::Photo(_) | ErrorKind::Canary(_) => (StatusCode::BAD_REQUEST, "invalid"),
            ErrorKind::NotFound(_) | ErrorKind::NoSuchEvent(_) | ErrorKind::NoSuchTile => {
                (StatusCode::NOT_FOUND, "not_found")
            }
            ErrorKind::BadTilePath(_) => (StatusCode::BAD_REQUEST, "bad_tile_path"),
            ErrorKind::NoSuchProof(_) => (StatusCode::NOT_FOUND, "no_such_proof"),
            ErrorKind::CheckpointRefused(_) => (StatusCode::CONFLICT, "checkpoint_refused"),
            ErrorKind::CanaryMissing(_) => (StatusCode::CONFLICT, "canary_missing"),
            ErrorKind::Erased(_) => (StatusCode::GONE, "erased"),
            ErrorKind::PurposeRequired => (StatusCode::BAD_REQUEST, "purpose_required"),
            ErrorKind::Note(_) => (StatusCode::CONFLICT, "note_unavailable"),
            ErrorKind::DuplicateServiceNumber => (StatusCode::CONFLICT, "duplicate_service_number"),
            // Optimistic concurrency: someone changed the row since it was read.
            ErrorKind::Store(_) if e.is_conflict() => (StatusCode::CONFLICT, "conflict"),
            ErrorKind::Store(_) | ErrorKind::Audit(_) if e.is_unavailable() => return Problem::store_unavailable(&e),
            ErrorKind::Keys(_) if e.is_key_provider_down() => return Problem::key_provider_unavailable(&e),
            ErrorKind::Audit(_) => (StatusCode::SERVICE_UNAVAILABLE, "audit_unavailable"),
            ErrorKind::Integrity(_) => return Problem::store_altered(&e),
            _ => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        };
        // Server-side faults are logged with their message (ids and reasons,
        // never values) and answered without it.
        let detail = if status.is_server_error() {
            tracing::error!(code = e.code(), error = %e, "request failed");
            format!("the request failed (error {})", e.code())
        } else {
            e.to_string()
        };
        Problem::new(status, code, detail)
    }
}

impl From<lanyard_cards::CardError> for Problem {
    fn from(e: lanyard_cards::CardError) -> Self {
        use lanyard_cards::CardError as E;
        match e {
            E::Register(r) => r.into(),
            E::NotFound(_) | E::Missing(_) => Problem::new(StatusCode::NOT_FOUND, "not_found", e.to_string()),
            E::IllegalTransition { .. } => Problem::new(StatusCode::CONFLICT, "illegal_transition", e.to_string()),
            E::DualControl(_) => Problem::new(StatusCode::CONFLICT, "dual_control", e.to_string()),
            E::BreakGlassApproval(_) => Problem::new(StatusCode::FORBIDDEN, "break_glass", e.to_string()),
            E::Exists(_) => Problem::new(StatusCode::CONFLICT, "exists", e.to_string()),
            E::AlreadyLive { .. } => Problem::new(StatusCode::CONFLICT, "card_in_service", e.to_string()),
            E::PermitRefused(_) => Problem::new(StatusCode::CONFLICT, "permit_refused", e.to_string()),
            E::Person(_) | E::Invalid(_) => Problem::bad_request("invalid", e.to_string()),
            E::Store(ref s) if s.is_unavailable() => Problem::store_unavailable(&e),
            E::Store(_) if e.is_conflict() => Problem::new(
                StatusCode::CONFLICT,
                "conflict",
                "the card changed while this request ran; nothing was changed: look again and retry",
            ),
            E::Store(_) | E::Credential(_) => {
                tracing::error!(error = %e, "card request failed");
                Problem::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "the request failed")
            }
        }
    }
}

impl From<AccessError> for Problem {
    fn from(e: AccessError) -> Self {
        match e.kind() {
            AccessErrorKind::Invalid(why) => Problem::bad_request("invalid", why.clone()),
            AccessErrorKind::Conflict(_) => Problem::new(StatusCode::CONFLICT, "conflict", e.to_string()),
            AccessErrorKind::OwnAccount => Problem::new(StatusCode::CONFLICT, "own_account", e.to_string()),
            AccessErrorKind::BadCredentials => Problem::unauthenticated(e.to_string()),
            AccessErrorKind::Locked { retry_after_s } | AccessErrorKind::Throttled { retry_after_s } => {
                let mut p = Problem::new(StatusCode::TOO_MANY_REQUESTS, "login_locked", e.to_string());
                p.retry_after_s = Some(*retry_after_s);
                p
            }
            AccessErrorKind::NoSession => Problem::unauthenticated(e.to_string()),
            AccessErrorKind::TokenExpired => Problem::new(StatusCode::UNAUTHORIZED, "token_expired", e.to_string()),
            AccessErrorKind::TokenRevoked => Problem::new(StatusCode::UNAUTHORIZED, "token_revoked", e.to_string()),
            AccessErrorKind::NoSuchUser | AccessErrorKind::NoSuchToken => {
                Problem::new(StatusCode::NOT_FOUND, "not_found", e.to_string())
            }
            AccessErrorKind::Integrity(_) => Problem::store_altered(&e),
            AccessErrorKind::Store(s) if s.is_unavailable() => Problem::store_unavailable(&e),
            AccessErrorKind::Audit(l) if l.is_unavailable() => Problem::store_unavailable(&e),
            AccessErrorKind::Audit(_) => {
                tracing::error!(error = %e, "audit unavailable");
                Problem::new(StatusCode::SERVICE_UNAVAILABLE, "audit_unavailable", "the audit log is unavailable")
            }
            _ => {
                tracing::error!(error = %e, "request failed");
                Problem::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "the request failed")
            }
        }
    }
}

/// Every error answer as problem+json, the framework's own included: a
/// query string, path or body axum could not read, a route or method that
/// does not exist, an over-size body, a timeout. Answers that are already
/// problem+json pass untouched.
pub(crate) async fn uniform(response: Response) -> Response {
    let status = response.status();
    let is_problem = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/problem+json"));
    // A console page says what went wrong in its own words.
    if !(status.is_client_error() || status.is_server_error()) || is_problem || is_page(&response) {
        return response;
    }
    let (parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, 4096).await.map(|b| String::from_utf8_lossy(&b).into_owned());
    let code = match status {
        StatusCode::BAD_REQUEST => "bad_request",
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::PAYLOAD_TOO_LARGE => "too_large",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
        StatusCode::UNPROCESSABLE_ENTITY => "unprocessable",
        StatusCode::SERVICE_UNAVAILABLE => "unavailable",
        s if s.is_client_error() => "bad_request",
        _ => "internal",
    };
    let detail = match text {
        Ok(t) if !t.trim().is_empty() && status.is_client_error() => without_quoted(t.trim()),
        _ => match status {
            StatusCode::NOT_FOUND => "no such route".to_owned(),
            StatusCode::METHOD_NOT_ALLOWED => "this route does not take that method".to_owned(),
            StatusCode::SERVICE_UNAVAILABLE => "the request took too long; try again".to_owned(),
            s => s.canonical_reason().unwrap_or("error").to_lowercase(),
        },
    };
    let mut out = Problem::new(status, code, detail).into_response();
    // Keep what the layers inside set: the caller the gate authenticated
    // (the refusal counter names them), Allow on a 405.
    *out.extensions_mut() = parts.extensions;
    for (name, value) in &parts.headers {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            out.headers_mut().entry(name).or_insert(value.clone());
        }
    }
    out
}

/// Whether an answer is a console page (HTML), which says what went wrong
/// in words for people and is left as it is.
pub(crate) fn is_page(response: &Response) -> bool {
    response.headers().get(header::CONTENT_TYPE).is_some_and(|v| v.as_bytes().starts_with(b"text/html"))
}

/// The framework's message with any quoted value cut out: it names the
/// field and what was wrong, never what the caller sent.
fn without_quoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut quoted = false;
    for c in text.chars() {
        match (c, quoted) {
            ('"', false) => {
                quoted = true;
                out.push_str("\"…\"");
            }
            ('"', true) => quoted = false,
            (c, false) => out.push(c),
            (_, true) => {}
        }
    }
    out.chars().take(300).collect()
}

#[cfg(test)]
mod uniform_tests {
    use super::*;

    #[tokio::test]
    async fn framework_errors_become_problems_without_the_values_sent() {
        let plain =
            (StatusCode::BAD_REQUEST, "Failed to deserialize query string: to_ms: invalid value: string \"Ann Smith\"")
                .into_response();
        let out = uniform(plain).await;
        assert_eq!(out.headers()[header::CONTENT_TYPE], "application/problem+json");
        let body = axum::body::to_bytes(out.into_body(), 4096).await.unwrap();
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v["status"], 400);
        assert!(v["detail"].as_str().unwrap().contains("to_ms"), "{v}");
        assert!(!v.to_string().contains("Ann Smith"), "{v}");
        // A bare 404 and a timeout's empty 503 say what they are.
        let out = uniform(StatusCode::NOT_FOUND.into_response()).await;
        assert_eq!(out.headers()[header::CONTENT_TYPE], "application/problem+json");
        let out = uniform(StatusCode::SERVICE_UNAVAILABLE.into_response()).await;
        let body = axum::body::to_bytes(out.into_body(), 4096).await.unwrap();
        assert!(String::from_utf8_lossy(&body).contains("too long"));
        // A problem passes untouched; a success too.
        let p = Problem::bad_request("x", "y").into_response();
        assert_eq!(uniform(p).await.status(), StatusCode::BAD_REQUEST);
        assert_eq!(uniform(StatusCode::OK.into_response()).await.status(), StatusCode::OK);
    }
}
