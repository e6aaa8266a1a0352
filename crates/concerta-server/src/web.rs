//! The browser app (`web/`), served at `/` from the same origin as the API.
//!
//! `web/dist` (what `vite build` writes; `cargo xtask` builds it, never the user) is embedded
//! into release builds with `rust-embed`; debug builds read it from the source tree at run
//! time, so a rebuilt bundle shows up without recompiling the server.
//!
//! Rules, in the order [`fallback`] applies them:
//! - `/api/…` (and every other method than GET/HEAD) that no route took stays a JSON 404.
//! - `/assets/…` are Vite's content-hashed files: served with a one-year `immutable` cache;
//!   a missing one is a plain 404 (never the app's HTML in place of a script).
//! - Other files of the bundle (icons) are served with a short cache.
//! - Every other path is a client route: `index.html`, `Cache-Control: no-cache`, so a new
//!   deployment is picked up on the next load.
//!
//! A binary built without the bundle still runs: it answers those pages with a short HTML
//! page (503) saying how to build the app, and [`log_bundle_status`] says so at start.

use axum::body::Body;
use axum::http::{HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use rust_embed::RustEmbed;

use crate::error::Error;

/// The built app: `web/dist`, relative to this crate's manifest.
#[derive(RustEmbed)]
#[folder = "../../web/dist"]
#[allow_missing = true]
struct Bundle;

/// Cache policy of hashed assets: their name changes whenever their content does.
pub const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// Cache policy of `index.html`: always revalidate.
pub const NO_CACHE: &str = "no-cache";
/// Cache policy of the bundle's other files (icons).
pub const SHORT_CACHE: &str = "public, max-age=3600";

/// Whether the app's `index.html` is available (built into or next to this binary).
pub fn bundle_present() -> bool {
    Bundle::get("index.html").is_some()
}

/// Logs at start whether the web app is there, and how to build it when it is not.
pub fn log_bundle_status() {
    if bundle_present() {
        tracing::info!("web app: served at /");
    } else {
        tracing::warn!(
            "web app: not built into this binary; `/` shows how to build it (`cargo xtask run` \
             builds web/ with npm ci and vite build, then serves)"
        );
    }
}

/// The router's fallback: the app for client routes and assets, JSON 404 for the rest.
pub async fn fallback(method: Method, uri: Uri) -> Response {
    let path = uri.path();
    if !(method == Method::GET || method == Method::HEAD) || is_reserved(path) {
        return Error::NotFound.into_response();
    }
    let file = path.trim_start_matches('/');
    if file.starts_with("assets/") {
        return match Bundle::get(file) {
            Some(asset) => file_response(asset, IMMUTABLE),
            None => (StatusCode::NOT_FOUND, "not found").into_response(),
        };
    }
    if !file.is_empty()
        && file != "index.html"
        && let Some(asset) = Bundle::get(file)
    {
        return file_response(asset, SHORT_CACHE);
    }
    match Bundle::get("index.html") {
        Some(index) => file_response(index, NO_CACHE),
        None => missing_bundle(),
    }
}

/// Paths that belong to the server, never to the app's client routes.
fn is_reserved(path: &str) -> bool {
    const PREFIXES: &[&str] = &["/api/", "/sync", "/public/", "/rsvp/", "/healthz", "/readyz", "/metrics"];
    path == "/api" || PREFIXES.iter().any(|p| path.starts_with(p))
}

fn file_response(file: rust_embed::EmbeddedFile, cache: &'static str) -> Response {
    let mime = file.metadata.mimetype().to_owned();
    let mut response = Response::new(Body::from(file.data.into_owned()));
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&mime) {
        headers.insert(header::CONTENT_TYPE, value);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    response
}

/// What `/` says when the binary has no app: how to get one.
fn missing_bundle() -> Response {
    const PAGE: &str = "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<title>Concerta: web app not built</title></head><body>\
<h1>The web app is not built into this server</h1>\
<p>This <code>concerta</code> binary was built without <code>web/dist</code>. \
The API (<code>/api</code>) and live editing (<code>/sync</code>) work; the browser app does not.</p>\
<p>From the source tree, <code>cargo xtask run</code> builds the app (npm ci and vite build in \
<code>web/</code>) and starts the server with it; <code>cargo xtask web</code> only builds it.</p>\
</body></html>\n";
    (
        StatusCode::SERVICE_UNAVAILABLE,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8"), (header::CACHE_CONTROL, NO_CACHE)],
        PAGE,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_paths_are_reserved() {
        for path in ["/api", "/api/", "/api/unknown", "/sync", "/healthz", "/metrics", "/rsvp/abc", "/public/demo"] {
            assert!(is_reserved(path), "{path}");
        }
        for path in ["/", "/login", "/cities/x", "/apiary", "/assets/index.js", "/strategies/s/sections/t"] {
            assert!(!is_reserved(path), "{path}");
        }
    }
}
