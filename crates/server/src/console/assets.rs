//! The console's static files, built into the binary: a force network may
//! be air-gapped, so nothing is fetched from anywhere else. The one script
//! only counts down the session; every page works with JavaScript off, and
//! a file input takes a dropped file by itself.

use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::gate::Public;

const CSS: &str = include_str!("static/console.css");
const ICON: &str = include_str!("static/icon.svg");
const JS: &str = include_str!("static/console.js");

/// `GET /static/{file}`.
pub(crate) async fn serve(_: Public, Path(file): Path<String>) -> Response {
    let (body, kind) = match file.as_str() {
        "console.css" => (CSS, "text/css; charset=utf-8"),
        "icon.svg" => (ICON, "image/svg+xml"),
        "console.js" => (JS, "text/javascript; charset=utf-8"),
        _ => return (StatusCode::NOT_FOUND, "no such file").into_response(),
    };
    let mut r = body.into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(kind));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=3600"));
    r
}
