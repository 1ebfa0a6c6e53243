//! CSRF tokens for the console's forms, and the form extractors that check
//! them.
//!
//! The session cookie is already `SameSite=Strict`, which stops most
//! cross-site posts; the token is the second lock, for browsers and proxies
//! that get SameSite wrong. A token is a hash of the cookie it is bound to:
//! the session cookie for a signed-in form, a random pre-session cookie for
//! sign-in (so another site cannot sign a user in as someone else). Only
//! the browser holding the cookie can know it, no server state is kept,
//! and it dies with the session.

use std::sync::Arc;

use axum::extract::{FromRequest, Request};
use axum::http::{HeaderMap, StatusCode};
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};

use crate::auth::{SESSION_COOKIE, cookie_value};
use crate::gate::AppState;
use crate::problem::Problem;

/// The pre-session cookie the sign-in form's token is bound to.
pub(crate) const SIGNIN_COOKIE: &str = "lanyard_signin";

/// The form field a token travels in.
pub(crate) const FIELD: &str = "csrf";

/// The token for a cookie's value.
pub(crate) fn token(cookie: &str) -> String {
    let digest = Sha256::new().chain_update(b"lanyard console csrf/1\0").chain_update(cookie.as_bytes()).finalize();
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// The token for the session a request carries, if any.
pub(crate) fn session_token(headers: &HeaderMap) -> Option<String> {
    cookie_value(headers, SESSION_COOKIE).map(token)
}

/// Whether `sent` is the token for `cookie`. Both sides are hashed again,
/// so the comparison's timing tells nothing about the expected token.
fn matches(sent: Option<&str>, cookie: Option<&str>) -> bool {
    match (sent, cookie) {
        (Some(sent), Some(cookie)) if !cookie.is_empty() => {
            Sha256::digest(sent.as_bytes()) == Sha256::digest(token(cookie).as_bytes())
        }
        _ => false,
    }
}

pub(crate) fn refused() -> Problem {
    Problem::new(
        StatusCode::FORBIDDEN,
        "form_expired",
        "this form has expired or did not come from this console; reload the page and try again",
    )
}

/// Checks a token sent outside a url-encoded form (a multipart upload).
pub(crate) fn check(headers: &HeaderMap, sent: Option<&str>) -> Result<(), Problem> {
    if matches(sent, cookie_value(headers, SESSION_COOKIE)) { Ok(()) } else { Err(refused()) }
}

/// Checks the token of a multipart form, which must come first (so it is
/// read before any file is).
pub(crate) async fn check_multipart(
    headers: &HeaderMap,
    multipart: &mut axum::extract::Multipart,
) -> Result<(), Problem> {
    let bad =
        |_| Problem::bad_request("bad_upload", "the upload did not arrive whole; choose the file and send it again");
    let token = match multipart.next_field().await.map_err(bad)? {
        Some(f) if f.name() == Some(FIELD) => Some(f.text().await.map_err(bad)?),
        _ => None,
    };
    check(headers, token.as_deref())
}

async fn read_form<T: DeserializeOwned>(req: Request, cookie: &str) -> Result<T, Problem> {
    let headers = req.headers().clone();
    let bytes = axum::body::to_bytes(req.into_body(), crate::MAX_BODY_BYTES)
        .await
        .map_err(|_| Problem::new(StatusCode::PAYLOAD_TOO_LARGE, "too_large", "the form is too large"))?;
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(&bytes)
        .map_err(|_| Problem::bad_request("bad_form", "the form could not be read; reload the page and try again"))?;
    let sent = pairs.iter().find(|(k, _)| k == FIELD).map(|(_, v)| v.as_str());
    if !matches(sent, cookie_value(&headers, cookie)) {
        return Err(refused());
    }
    serde_urlencoded::from_bytes(&bytes)
        .map_err(|_| Problem::bad_request("bad_form", "the form could not be read; reload the page and try again"))
}

/// A url-encoded form from a signed-in page, its CSRF token checked.
pub(crate) struct Form<T>(pub T);

impl<T: DeserializeOwned> FromRequest<Arc<AppState>> for Form<T> {
    type Rejection = Problem;

    async fn from_request(req: Request, _: &Arc<AppState>) -> Result<Self, Self::Rejection> {
        read_form(req, SESSION_COOKIE).await.map(Form)
    }
}

/// The sign-in form, its token checked against the pre-session cookie.
pub(crate) struct SignInForm<T>(pub T);

impl<T: DeserializeOwned> FromRequest<Arc<AppState>> for SignInForm<T> {
    type Rejection = Problem;

    async fn from_request(req: Request, _: &Arc<AppState>) -> Result<Self, Self::Rejection> {
        read_form(req, SIGNIN_COOKIE).await.map(SignInForm)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_fits_only_its_cookie() {
        let t = token("session-a");
        assert_eq!(t.len(), 64);
        assert!(matches(Some(&t), Some("session-a")));
        assert!(!matches(Some(&t), Some("session-b")));
        assert!(!matches(None, Some("session-a")));
        assert!(!matches(Some(&t), None));
        // An empty cookie is no cookie: its token is public knowledge.
        assert!(!matches(Some(&token("")), Some("")));
    }
}
