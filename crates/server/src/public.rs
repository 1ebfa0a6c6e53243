//! The routes anyone may call: liveness, readiness, metrics, the OpenAPI
//! document, login and logout.

use std::net::SocketAddr;

use axum::Json;
use axum::extract::ConnectInfo;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use crate::auth::SESSION_COOKIE;
use crate::gate::Public;
use crate::now_s;
use crate::problem::{Problem, ProblemBody};

/// Liveness: the process answers.
#[utoipa::path(get, path = "/healthz", responses((status = 200, description = "alive")))]
pub(crate) async fn healthz() -> &'static str {
    "ok\n"
}

/// Readiness: the store answers and the key provider wraps and unwraps, and
/// the start-up check passed. A server started with `--allow-degraded` over
/// a store that failed it is never ready: it serves whoever is sent to it
/// directly, to look into what was found, but no balancer should.
#[utoipa::path(get, path = "/readyz", responses((status = 200, description = "ready"), (status = 503, description = "not ready, or degraded", body = ProblemBody)))]
pub(crate) async fn readyz(public: Public) -> Result<String, Problem> {
    if let Some(why) = public.degraded() {
        return Err(Problem::new(StatusCode::SERVICE_UNAVAILABLE, "degraded", why.to_owned()));
    }
    public.check_ready().await.map_err(|e| {
        tracing::warn!(error = %e, "not ready");
        let detail = match e.kind() {
            // Its own words: the operator must restart, not wait.
            lanyard_register::ErrorKind::StoreReplaced => e.to_string(),
            _ if e.is_unavailable() => {
                "the database cannot be reached or cannot write (down, restarting or out of space)".to_owned()
            }
            lanyard_register::ErrorKind::Keys(_) => {
                "the key provider cannot be reached or refused (token removed, PIN changed?)".to_owned()
            }
            _ => "the store or the key provider is unreachable".to_owned(),
        };
        Problem::new(StatusCode::SERVICE_UNAVAILABLE, "not_ready", detail)
    })?;
    // The detail: how old the last verified backup is.
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis());
    let backup = match public.backup_verified_at().await.ok().flatten() {
        Some(at) => {
            let age_s = (i64::try_from(now).unwrap_or(i64::MAX) - at) / 1000;
            public.metrics().backup_verified_age(age_s as f64);
            format!("last verified backup: {age_s} s ago")
        }
        None => "last verified backup: none".to_owned(),
    };
    Ok(format!("ready\n{backup}\n"))
}

pub(crate) async fn metrics(public: Public) -> Response {
    let mut r = public.metrics().render().into_response();
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; version=0.0.4"));
    r
}

pub(crate) async fn openapi(public: Public) -> Response {
    let mut r = crate::routes::openapi_json(public.ranks()).into_response();
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    r
}

#[derive(Deserialize, utoipa::ToSchema)]
pub(crate) struct LoginRequest {
    name: String,
    password: String,
    /// The current code from the user's authenticator.
    code: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct LoginResponse {
    actor: String,
    role: String,
}

/// Password and TOTP code for a session cookie (Secure when served over
/// TLS; HttpOnly; SameSite=Strict).
#[utoipa::path(post, path = "/v1/login", request_body = LoginRequest,
    responses((status = 200, body = LoginResponse), (status = 401, body = ProblemBody), (status = 429, body = ProblemBody)))]
pub(crate) async fn login(
    public: Public,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    Json(req): Json<LoginRequest>,
) -> Result<Response, Problem> {
    let client = addr.ip().to_string();
    let result = public.sessions().login(&req.name, &req.password, &req.code, &client, now_s()).await;
    let (cookie, principal) = match result {
        Ok(ok) => ok,
        Err(e) => {
            public.metrics().login("failed");
            return Err(e.into());
        }
    };
    public.metrics().login("ok");
    let secure = if public.secure_cookies() { "; Secure" } else { "" };
    let set = format!("{SESSION_COOKIE}={}; HttpOnly; SameSite=Strict; Path=/{secure}", cookie.as_str());
    let mut r =
        Json(LoginResponse { actor: principal.actor.id, role: principal.role.as_str().to_owned() }).into_response();
    let value = HeaderValue::from_str(&set)
        .map_err(|_| Problem::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "the request failed"))?;
    r.headers_mut().insert(header::SET_COOKIE, value);
    Ok(r)
}

/// Ends the session.
#[utoipa::path(post, path = "/v1/logout", responses((status = 204), (status = 401, body = ProblemBody)))]
pub(crate) async fn logout(public: Public, headers: HeaderMap) -> Result<Response, Problem> {
    let cookie =
        crate::auth::cookie_value(&headers, SESSION_COOKIE).ok_or_else(|| Problem::unauthenticated("not logged in"))?;
    public.sessions().logout(cookie, now_s()).await?;
    let mut r = StatusCode::NO_CONTENT.into_response();
    let clear = format!("{SESSION_COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0");
    if let Ok(v) = HeaderValue::from_str(&clear) {
        r.headers_mut().insert(header::SET_COOKIE, v);
    }
    Ok(r)
}
