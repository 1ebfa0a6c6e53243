//! What several routes read from a request: the purpose of a read and the
//! compartments it names.

use axum::http::HeaderMap;
use lanyard_core::Compartment;
use serde::Deserialize;

use crate::problem::Problem;

/// The header naming why personal data is read.
pub(crate) const PURPOSE_HEADER: &str = "x-lanyard-purpose";

/// The stated purpose of a read: the `X-Lanyard-Purpose` header, else the
/// `purpose` query field; none (or blank) is a 400 saying `why`.
pub(crate) fn purpose_of(headers: &HeaderMap, query: Option<String>, why: &'static str) -> Result<String, Problem> {
    headers
        .get(PURPOSE_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .or(query)
        .filter(|p| !p.trim().is_empty())
        .ok_or_else(|| Problem::bad_request("purpose_required", why))
}

#[derive(Deserialize)]
pub(crate) struct ReadQuery {
    pub(crate) compartments: Option<String>,
    pub(crate) purpose: Option<String>,
}

/// The compartments a read names; at least one.
pub(crate) fn requested_compartments(text: Option<&str>) -> Result<Vec<Compartment>, Problem> {
    let compartments = Compartment::parse_list(text.unwrap_or(""))
        .map_err(|e| Problem::bad_request("bad_compartments", e.to_string()))?;
    if compartments.is_empty() {
        return Err(Problem::bad_request("no_compartments", "name the compartments to read (compartments=identity,…)"));
    }
    Ok(compartments)
}
