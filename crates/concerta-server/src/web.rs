//! The browser app (`web/`), served at `/` from the same origin as the API.
//!
//! `web/dist` (what `vite build` writes; `cargo xtask` builds it, never the user) is embedded
//! into release builds with `rust-embed`; debug builds read it from the source tree at run
//! time, so a rebuilt bundle shows up without recompiling the server.
//!
//! Rules, in the order [`fallback`] applies them:
//! - `/api/…` (and every other method than GET/HEAD) that no route took stays a JSON 404.
//! - `/assets/…` are Vite's content-hashed files: served with a one-year `immutable` cache;
//!   a missing one is a plain 404 (never the app's HTML in place of a script). The build
//!   writes a gzipped twin (`name.gz`) of each script, stylesheet and wasm; a browser that
//!   accepts gzip gets that (`Content-Encoding: gzip`, `Vary: Accept-Encoding`).
//! - Other files of the bundle (icons) are served with a short cache.
//! - Every other path is a client route: `index.html`, `Cache-Control: no-cache`, so a new
//!   deployment is picked up on the next load.
//!
//! A binary built without the bundle still runs: it answers those pages with a short HTML
//! page (503) saying how to build the app, and [`log_bundle_status`] says so at start.

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
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
pub async fn fallback(method: Method, uri: Uri, headers: HeaderMap) -> Response {
    let path = uri.path();
    if !(method == Method::GET || method == Method::HEAD) || is_reserved(path) {
        return Error::NotFound.into_response();
    }
    let file = path.trim_start_matches('/');
    if file.starts_with("assets/") {
        let Some(asset) = Bundle::get(file) else {
            return (StatusCode::NOT_FOUND, "not found").into_response();
        };
        if accepts_gzip(&headers)
            && let Some(gzipped) = Bundle::get(&format!("{file}.gz"))
        {
            let mut response = file_response(gzipped, IMMUTABLE);
            let headers = response.headers_mut();
            if let Ok(value) = HeaderValue::from_str(asset.metadata.mimetype()) {
                headers.insert(header::CONTENT_TYPE, value);
            }
            headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
            headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
            return response;
        }
        let mut response = file_response(asset, IMMUTABLE);
        response.headers_mut().insert(header::VARY, HeaderValue::from_static("accept-encoding"));
        return response;
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

/// Whether the request's `Accept-Encoding` names gzip (with a non-zero quality).
fn accepts_gzip(headers: &HeaderMap) -> bool {
    headers.get_all(header::ACCEPT_ENCODING).iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(',')).any(|item| {
        let mut parts = item.split(';');
        let coding = parts.next().unwrap_or("").trim();
        let zero = parts.any(|p| matches!(p.trim().strip_prefix("q=").map(str::trim), Some("0" | "0.0" | "0.00" | "0.000")));
        (coding.eq_ignore_ascii_case("gzip") || coding == "*") && !zero
    })
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
    fn gzip_is_sent_only_to_who_accepts_it() {
        let with = |value: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(header::ACCEPT_ENCODING, HeaderValue::from_str(value).unwrap());
            accepts_gzip(&headers)
        };
        assert!(with("gzip, deflate, br, zstd"));
        assert!(with("br;q=1.0, gzip;q=0.8"));
        assert!(with("*"));
        assert!(!with("br, zstd"));
        assert!(!with("gzip;q=0"));
        assert!(!with("identity"));
        assert!(!accepts_gzip(&HeaderMap::new()));
    }

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
