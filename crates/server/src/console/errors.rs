//! What a console user sees when something is refused or goes wrong: a page
//! in plain words that says what to do next, never a code alone. The gate
//! and the services answer problems (RFC 9457) as they do for the API; this
//! layer turns those on console paths into pages, sends an ended session
//! back to sign-in, and sets the console's own security headers.
//!
//! It also receives Content-Security-Policy violation reports when the
//! server is started to collect them (the browser tests do): a page that
//! breaks the policy is a bug, and a report is how it is seen.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;

use super::page::bare;
use crate::gate::{AppState, Public};

/// Most reports kept in memory (a page that breaks the policy reports on
/// every load).
const MAX_REPORTS: usize = 200;

/// The console's layer: headers, pages for problems, sign-in for an ended
/// session. API paths pass untouched.
pub(crate) async fn layer(State(state): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    if !super::is_console_path(req.uri().path()) {
        return next.run(req).await;
    }
    // A visitor with no session is asked to sign in, not told it ended.
    let had_session = crate::auth::cookie_value(req.headers(), crate::auth::SESSION_COOKIE).is_some();
    let response = next.run(req).await;
    let mut response = page_for_problem(response, had_session).await;
    let csp = if state.console().report_csp {
        format!("{}; report-uri /csp-report", super::CSP)
    } else {
        super::CSP.to_owned()
    };
    if let Ok(v) = HeaderValue::from_str(&csp) {
        response.headers_mut().insert(header::CONTENT_SECURITY_POLICY, v);
    }
    response
}

async fn page_for_problem(response: Response, had_session: bool) -> Response {
    let status = response.status();
    let is_problem = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/problem+json"));
    if !is_problem {
        return response;
    }
    if status == StatusCode::UNAUTHORIZED {
        return Redirect::to(if had_session { "/login?expired" } else { "/login" }).into_response();
    }
    let retry = response.headers().get(header::RETRY_AFTER).cloned();
    let (parts, body) = response.into_parts();
    let detail = axum::body::to_bytes(body, 16 * 1024)
        .await
        .ok()
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
        .and_then(|v| v.get("detail").and_then(|d| d.as_str()).map(str::to_owned))
        .unwrap_or_default();
    let retry_s = retry.as_ref().and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    let (title, what, next) = words(status, &detail, retry_s);
    let page = bare(
        title,
        html! {
            div class="banner bad" role="alert" { p { (what) } }
            p { (next) }
            p { a href="/" { "Go to your start page" } }
        },
    );
    let mut out = (status, page).into_response();
    // Keep what the layers inside set (the gate's decision, for the counts).
    *out.extensions_mut() = parts.extensions;
    if let Some(r) = retry {
        out.headers_mut().insert(header::RETRY_AFTER, r);
    }
    out
}

/// The title, what happened and what to do, by status.
fn words(status: StatusCode, detail: &str, retry_s: Option<u64>) -> (&'static str, String, String) {
    let detail = sentence(detail);
    match status.as_u16() {
        400 | 422 => ("That could not be done", detail, "Check what you entered, then try again.".into()),
        403 if detail.starts_with("This form") => {
            ("The form has expired", detail, "Go back, reload the page, and send the form again.".into())
        }
        403 => (
            "This is not for your role",
            "Your role may not open this page or do this.".into(),
            "The attempt has been recorded in the audit log. If your work needs it, ask an administrator.".into(),
        ),
        404 => (
            "Not found",
            "There is no such page or record.".into(),
            "It may have been erased, or the address is wrong. Start again from your start page.".into(),
        ),
        409 => ("It has changed", detail, "Reload the page to see where it stands now.".into()),
        410 => ("Erased", detail, "This person's record was erased and cannot be shown.".into()),
        413 => ("Too large", detail, "Send less at once: split the files, or ask an administrator.".into()),
        429 => (
            "Please wait",
            detail,
            format!(
                "You have read many records in a short time. Wait {} seconds, then reload the page.",
                retry_s.unwrap_or(60)
            ),
        ),
        503 => (
            "Not available just now",
            detail,
            "Try again in a few minutes. If it goes on, tell your administrator.".into(),
        ),
        _ => (
            "Something went wrong",
            detail,
            "Try again. If it happens again, tell your administrator what you were doing and when.".into(),
        ),
    }
}

/// A message as a sentence: capital first, a full stop at the end.
pub(crate) fn sentence(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => {
            let rest: String = chars.collect();
            let end = if rest.ends_with('.') || rest.ends_with(')') { "" } else { "." };
            format!("{}{rest}{end}", first.to_uppercase())
        }
        None => String::new(),
    }
}

/// `POST /csp-report`: keeps a violation report, when reports are
/// collected. Reports name a page and a directive, not personal data; only
/// the directive and the blocked address are kept.
pub(crate) async fn csp_report(public: Public, body: axum::body::Bytes) -> StatusCode {
    let console = public.console();
    if !console.report_csp {
        return StatusCode::NOT_FOUND;
    }
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
    let field = |name: &str| v.get("csp-report").and_then(|r| r.get(name)).and_then(|f| f.as_str()).unwrap_or("?");
    let text = format!("{} blocked {} on {}", field("violated-directive"), field("blocked-uri"), field("document-uri"));
    tracing::warn!(report = %text, "content security policy violation");
    let mut reports = console.csp_reports.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    if reports.len() < MAX_REPORTS {
        reports.push(text);
    }
    StatusCode::NO_CONTENT
}

/// What the console keeps while the server runs.
#[derive(Default)]
pub struct Shared {
    /// Whether CSP violations are reported to `/csp-report` and kept.
    pub report_csp: bool,
    /// The reports kept.
    pub(crate) csp_reports: std::sync::Mutex<Vec<String>>,
    /// Scan reports, for download (see `scan`).
    pub(crate) scans: super::scan::Kept,
    /// Imports under way or done (see `import`).
    pub(crate) imports: super::import::Jobs,
}

impl Shared {
    /// The violation reports received so far.
    pub fn csp_violations(&self) -> Vec<String> {
        self.csp_reports.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }

    /// Forgets the reports received so far.
    pub fn csp_reports_clear(&self) {
        self.csp_reports.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_problem_becomes_a_page_that_says_what_to_do() {
        let p = crate::problem::Problem::forbidden("card_approval_not_allowed").into_response();
        let page = page_for_problem(p, true).await;
        assert_eq!(page.status(), StatusCode::FORBIDDEN);
        assert!(page.headers()[header::CONTENT_TYPE].to_str().unwrap_or("").starts_with("text/html"));
        let body = axum::body::to_bytes(page.into_body(), 1 << 20).await.unwrap_or_default();
        let text = String::from_utf8_lossy(&body);
        assert!(text.contains("not for your role") && text.contains("recorded in the audit log"), "{text}");
        assert!(!text.contains("card_approval_not_allowed"), "no code alone: {text}");
        // An ended session goes back to sign-in, saying so; a visitor
        // who never signed in is just asked to.
        let p = crate::problem::Problem::unauthenticated("no session").into_response();
        let r = page_for_problem(p, true).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        assert_eq!(r.headers()[header::LOCATION], "/login?expired");
        let p = crate::problem::Problem::unauthenticated("no session").into_response();
        assert_eq!(page_for_problem(p, false).await.headers()[header::LOCATION], "/login");
        // A page passes untouched.
        let ok = (StatusCode::OK, "fine").into_response();
        assert_eq!(page_for_problem(ok, true).await.status(), StatusCode::OK);
    }
}
