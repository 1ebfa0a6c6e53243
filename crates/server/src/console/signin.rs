//! Sign-in with password and TOTP code, sign-out, and the start page that
//! shows each role what it can do.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, RawQuery};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use lanyard_access::AccessErrorKind;
use maud::{Markup, html};
use serde::Deserialize;

use super::csrf::{SIGNIN_COOKIE, SignInForm, token};
use super::page::{Ctx, bare, frame, role_name};
use crate::auth::{SESSION_COOKIE, cookie_value};
use crate::gate::{Gate, Public};
use crate::now_s;

/// A console cookie: HttpOnly, SameSite=Strict, the whole site, Secure
/// under TLS; `max_age` to expire it.
pub(crate) fn cookie(name: &str, value: &str, secure: bool, max_age: Option<i64>) -> Option<HeaderValue> {
    let secure = if secure { "; Secure" } else { "" };
    let age = max_age.map(|s| format!("; Max-Age={s}")).unwrap_or_default();
    HeaderValue::from_str(&format!("{name}={value}; HttpOnly; SameSite=Strict; Path=/{secure}{age}")).ok()
}

fn signin_page(csrf: &str, message: Option<&str>) -> Markup {
    bare(
        "Sign in",
        html! {
            @if let Some(m) = message {
                div class="banner bad" role="alert" { p { (m) } }
            }
            form method="post" action="/login" class="stack" {
                input type="hidden" name="csrf" value=(csrf);
                div class="field" {
                    label for="name" { "User name" }
                    input id="name" name="name" type="text" autocomplete="username" required autofocus;
                }
                div class="field" {
                    label for="password" { "Password" }
                    input id="password" name="password" type="password" autocomplete="current-password" required;
                }
                div class="field" {
                    label for="code" { "Code from your authenticator app" }
                    input id="code" name="code" type="text" inputmode="numeric" autocomplete="one-time-code"
                        pattern="[0-9]{6}" maxlength="6" required aria-describedby="code-help";
                    p id="code-help" class="help" { "Six digits. A new code appears every 30 seconds." }
                }
                button type="submit" { "Sign in" }
            }
        },
    )
}

/// A fresh pre-session cookie and the form bound to it.
fn fresh_form(secure: bool, status: StatusCode, message: Option<&str>) -> Response {
    let nonce = uuid::Uuid::new_v4().simple().to_string();
    let mut r = (status, signin_page(&token(&nonce), message)).into_response();
    if let Some(v) = cookie(SIGNIN_COOKIE, &nonce, secure, Some(600)) {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
    r
}

/// `GET /login`.
pub(crate) async fn form(public: Public, RawQuery(query): RawQuery) -> Response {
    let message = (query.as_deref() == Some("expired"))
        .then_some("Your session ended because it was not used for a while. Sign in again to go on.");
    fresh_form(public.secure_cookies(), StatusCode::OK, message)
}

#[derive(Deserialize)]
pub(crate) struct Credentials {
    name: String,
    password: String,
    code: String,
}

/// `POST /login`: a session cookie and the start page, or the form again
/// with what went wrong and what to do.
pub(crate) async fn submit(
    public: Public,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    SignInForm(c): SignInForm<Credentials>,
) -> Response {
    let secure = public.secure_cookies();
    let result =
        public.sessions().login(c.name.trim(), &c.password, c.code.trim(), &addr.ip().to_string(), now_s()).await;
    let (session, _) = match result {
        Ok(ok) => ok,
        Err(e) => {
            public.metrics().login("failed");
            let (status, message) = match e.kind() {
                AccessErrorKind::BadCredentials | AccessErrorKind::NoSession => (
                    StatusCode::UNAUTHORIZED,
                    "The user name, password or code is not right. Check each, and use the code your \
                     authenticator app shows now."
                        .to_owned(),
                ),
                AccessErrorKind::Locked { retry_after_s } | AccessErrorKind::Throttled { retry_after_s } => (
                    StatusCode::TOO_MANY_REQUESTS,
                    format!(
                        "Too many attempts that did not succeed. Sign-in is paused: try again in {}. \
                         If you have forgotten your password, ask an administrator to reset it.",
                        minutes(*retry_after_s)
                    ),
                ),
                _ => (
                    StatusCode::SERVICE_UNAVAILABLE,
                    "Sign-in is not working at the moment. Try again in a few minutes; if it goes on, \
                     tell your administrator."
                        .to_owned(),
                ),
            };
            return fresh_form(secure, status, Some(&message));
        }
    };
    public.metrics().login("ok");
    let mut r = Redirect::to("/").into_response();
    let h = r.headers_mut();
    for v in [cookie(SESSION_COOKIE, session.as_str(), secure, None), cookie(SIGNIN_COOKIE, "", secure, Some(0))]
        .into_iter()
        .flatten()
    {
        h.append(header::SET_COOKIE, v);
    }
    r
}

fn minutes(seconds: i64) -> String {
    match seconds {
        s if s <= 60 => format!("{} seconds", s.max(1)),
        s => format!("{} minutes", (s + 59) / 60),
    }
}

/// `POST /logout`: ends the session and clears the task. A form whose
/// token does not fit is refused; one whose session has already ended just
/// goes to sign-in.
pub(crate) async fn logout(public: Public, headers: HeaderMap, body: axum::body::Bytes) -> Response {
    let secure = public.secure_cookies();
    if let Some(session) = cookie_value(&headers, SESSION_COOKIE) {
        let sent: Vec<(String, String)> = serde_urlencoded::from_bytes(&body).unwrap_or_default();
        let sent = sent.iter().find(|(k, _)| k == super::csrf::FIELD).map(|(_, v)| v.as_str());
        if super::csrf::check(&headers, sent).is_err() {
            return super::csrf::refused().into_response();
        }
        if let Err(e) = public.sessions().logout(session, now_s()).await {
            tracing::warn!(error = %e, "sign-out of a session that had already ended");
        }
    }
    let mut r = Redirect::to("/login").into_response();
    let h = r.headers_mut();
    for name in [SESSION_COOKIE, super::purpose::COOKIE] {
        if let Some(v) = cookie(name, "", secure, Some(0)) {
            h.append(header::SET_COOKIE, v);
        }
    }
    // Tell the browser to drop what it kept of this site's pages.
    h.insert(HeaderName::from_static("clear-site-data"), HeaderValue::from_static("\"cache\""));
    r
}

/// `GET /`: what this role can do here.
pub(crate) async fn home(gate: Gate, headers: HeaderMap) -> Markup {
    let ctx = Ctx::of(&gate, &headers);
    let tasks: Vec<(&str, &str, &str)> = super::page::places(&ctx).map(|p| (p.href, p.title, p.what)).collect();
    frame(
        &ctx,
        "/",
        "Start",
        html! {
            p { "You are signed in to the " (role_name(ctx.role)) " pages." }
            ul class="tasks" {
                @for (href, label, what) in &tasks {
                    li { a href=(href) { (label) } p { (what) } }
                }
            }
            @if tasks.is_empty() {
                p { "There is nothing for your role in the console yet. The command line covers every task." }
            }
        },
    )
}
