//! The log as C2SP tlog-tiles: `/v1/log/checkpoint` and the hash tiles
//! `/v1/log/tile/L/N[.p/W]` for anyone (they hold hashes only, so a
//! witness, an inspectorate or a journalist can check proofs without an
//! account), and the entry bundles `/v1/log/tile/entries/N[.p/W]`, which
//! hold the events, for the auditor.

use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::gate::{Gate, Public};
use crate::problem::{Problem, ProblemBody};

fn answer(bytes: Vec<u8>, content_type: &'static str, cache: &'static str) -> Response {
    let mut r = bytes.into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    r
}

/// A full tile never changes; a partial one is replaced by a wider one.
fn cache_for(full: bool) -> &'static str {
    if full { "public, max-age=31536000, immutable" } else { "public, max-age=5" }
}

/// The latest signed checkpoint, with the witnesses' cosignatures.
#[utoipa::path(get, path = "/v1/log/checkpoint",
    responses((status = 200, description = "C2SP checkpoint note, cosigned", content_type = "text/plain"),
              (status = 404, body = ProblemBody)))]
pub(crate) async fn checkpoint(public: Public) -> Result<Response, Problem> {
    let note = public
        .log_checkpoint()
        .await?
        .ok_or_else(|| Problem::new(StatusCode::NOT_FOUND, "no_checkpoint", "the log has no signed checkpoint yet"))?;
    Ok(answer(note.into_bytes(), "text/plain; charset=utf-8", "no-cache"))
}

/// A hash tile: the hashes at tree level 8·L from index 256·N, 32 bytes each.
#[utoipa::path(get, path = "/v1/log/tile/{path}", params(("path" = String, Path, description = "L/N[.p/W]")),
    responses((status = 200, description = "the tile", content_type = "application/octet-stream"),
              (status = 400, body = ProblemBody), (status = 404, body = ProblemBody)))]
pub(crate) async fn hash_tile(public: Public, Path(path): Path<String>) -> Result<Response, Problem> {
    let (bytes, full) = public.log_tile(&path).await?;
    Ok(answer(bytes, "application/octet-stream", cache_for(full)))
}

/// An entry bundle: the events from index 256·N, each prefixed by its
/// length (big-endian u16). For the auditor.
#[utoipa::path(get, path = "/v1/log/tile/entries/{path}", params(("path" = String, Path, description = "N[.p/W]")),
    responses((status = 200, description = "the bundle", content_type = "application/octet-stream"),
              (status = 400, body = ProblemBody), (status = 401, body = ProblemBody),
              (status = 403, body = ProblemBody), (status = 404, body = ProblemBody)))]
pub(crate) async fn entry_bundle(gate: Gate, Path(path): Path<String>) -> Result<Response, Problem> {
    let (bytes, full) = gate.register().log_tile(&format!("entries/{path}"), true).await?;
    // Events are for the auditor: never in a shared cache.
    let _ = full;
    Ok(answer(bytes, "application/octet-stream", "private, no-store"))
}
