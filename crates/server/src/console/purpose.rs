//! The task a user is doing, asked once and recorded with every read.
//!
//! The API takes a purpose with each read; a person at a desk should not
//! type one per page. The console asks for the task once ("card renewal"),
//! shows it on every page, and sends its code as the purpose of each read
//! until the user changes it or signs out. The tasks are the force's
//! purpose codes (`lanyard_core::purpose`, with what `lanyard.toml` adds),
//! so the purpose in the log is never free text (free text invites a name)
//! and the cookie carries no personal data.

use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::csrf::Form;
use crate::auth::cookie_value;
use crate::gate::Gate;

/// The cookie holding the task's code.
pub(crate) const COOKIE: &str = "lanyard_purpose";

/// Codes that are not a desk task (the host's own work).
const NOT_TASKS: [&str; 3] = ["canary_plant", "print_batch", "access_check"];

/// One task a read of personal data may be for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Purpose {
    /// What the log records.
    pub code: String,
    /// What the user reads.
    pub label: String,
}

/// The words for a code.
fn label(code: &str) -> String {
    let known = match code {
        "card_renewal" => "Card renewal",
        "lost_card" => "A lost or stolen card",
        "new_starter" => "A new starter",
        "card_request" => "A card request",
        "card_print" => "Printing cards",
        "vetting_review" => "Vetting review",
        "payroll" => "Payroll",
        "hr_casework" => "HR casework",
        "subject_access_request" => "A subject access request",
        "foi_request" => "A Freedom of Information request",
        "breach_investigation" => "A breach investigation",
        "audit_review" => "An audit review",
        "other" => "Something else",
        _ => "",
    };
    if !known.is_empty() {
        return known.to_owned();
    }
    let words = code.replace('_', " ");
    let mut chars = words.chars();
    chars.next().map(|c| c.to_uppercase().chain(chars).collect()).unwrap_or_default()
}

/// The tasks offered: the force's codes, less the host's own.
pub(crate) fn offered(codes: &[String]) -> Vec<Purpose> {
    codes
        .iter()
        .filter(|c| !NOT_TASKS.contains(&c.as_str()))
        .map(|c| Purpose { code: c.clone(), label: label(c) })
        .collect()
}

/// The task a request's cookie names, if it is one of the force's.
pub(crate) fn current(headers: &HeaderMap, codes: &[String]) -> Option<Purpose> {
    let code = cookie_value(headers, COOKIE)?;
    offered(codes).into_iter().find(|p| p.code == code)
}

#[derive(Deserialize)]
pub(crate) struct Choice {
    purpose: String,
    /// The page to go back to.
    back: Option<String>,
}

/// A path on this console to go back to; anything else goes to the start.
pub(crate) fn local(back: Option<&str>) -> &str {
    match back {
        Some(b) if b.starts_with('/') && !b.starts_with("//") && !b.contains(['\\', '\r', '\n']) => b,
        _ => "/",
    }
}

/// `POST /purpose`: sets the task.
pub(crate) async fn choose(gate: Gate, Form(choice): Form<Choice>) -> Response {
    let Some(p) = offered(gate.register().purpose_codes()).into_iter().find(|p| p.code == choice.purpose) else {
        return Redirect::to(local(choice.back.as_deref())).into_response();
    };
    let mut r = Redirect::to(local(choice.back.as_deref())).into_response();
    if let Some(v) = super::signin::cookie(COOKIE, &p.code, gate.secure_cookies(), None) {
        r.headers_mut().insert(header::SET_COOKIE, v);
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tasks_are_the_forces_codes_in_words() {
        let codes: Vec<String> = lanyard_core::purpose::DEFAULT_CODES.iter().map(|c| (*c).to_owned()).collect();
        let tasks = offered(&codes);
        assert!(tasks.iter().all(|t| !NOT_TASKS.contains(&t.code.as_str())));
        assert!(tasks.iter().any(|t| t.code == "card_renewal" && t.label == "Card renewal"));
        let own = offered(&["firearms_licensing".to_owned()]);
        assert_eq!(own[0].label, "Firearms licensing");
    }

    #[test]
    fn only_local_paths_are_gone_back_to() {
        assert_eq!(local(Some("/people/1")), "/people/1");
        assert_eq!(local(Some("//evil.example/")), "/");
        assert_eq!(local(Some("https://evil.example/")), "/");
        assert_eq!(local(Some("/\\evil")), "/");
        assert_eq!(local(None), "/");
    }
}
