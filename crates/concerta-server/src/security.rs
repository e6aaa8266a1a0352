//! What browsers are told and refused: the cross-site request rule (CSRF) and the security
//! headers of every response. Both are layers of [`crate::router`], so routes added later
//! get them too.
//!
//! **Cross-site requests.** A session cookie rides along with any request a browser makes to
//! us, whichever site asked for it (`SameSite=Lax` still lets top-level form POSTs through
//! from a sibling subdomain, and older browsers ignore it). So a request that may change
//! state (any method but GET, HEAD, OPTIONS) and carries the session cookie, and every login
//! (`/api/auth/login`, an invitation's `/api/invitations/{token}/accept`),
//! is refused with 403 `cross_site` when the browser says it came from another site: an
//! `Origin` that is not this server's (the public URL's, or the `Host` the request was sent
//! to), or `Sec-Fetch-Site: cross-site`. It is refused before any handler runs, so it
//! changes nothing. Requests with `Authorization: Bearer` are not affected (a browser never
//! attaches that by itself), nor are clients that send neither header (curl, scripts). The
//! web client also sends `x-concerta-csrf: 1` on writes, a header no cross-site form can set.
//!
//! **Headers.** Every response gets [`CONTENT_SECURITY_POLICY`] (unless the handler set its
//! own, as server-rendered pages do with [`PAGE_CONTENT_SECURITY_POLICY`]), `nosniff`,
//! `Referrer-Policy: no-referrer`, `X-Frame-Options: DENY`, same-origin opener and resource
//! policies, a Permissions-Policy that turns off what the app never uses, and, when the
//! public URL is https, `Strict-Transport-Security`.

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::Error;
use crate::state::AppState;

/// The Content-Security-Policy of the browser app and of every response that sets none of
/// its own. Kept in this one place; what each directive allows, and why:
///
/// - `default-src 'self'`: anything not listed below comes from this origin only.
/// - `script-src 'self' 'wasm-unsafe-eval'`: the Vite bundle's own files, no inline script
///   and no `eval`; `'wasm-unsafe-eval'` lets automerge compile its WebAssembly (fetched
///   from `/assets/…`), and nothing else.
/// - `style-src 'self'`: the bundle's stylesheet; no inline `<style>` or `style="…"`
///   markup (React's `style` prop sets properties through the DOM, which CSP allows).
/// - `img-src 'self' data: blob:`, `font-src 'self' data:`: our files, and images or fonts
///   the app builds in memory.
/// - `connect-src 'self'`: `fetch` to the API and the automerge wasm, the comment event
///   streams (`EventSource` on `/api/…/events`), and the `/sync` WebSocket to the same host
///   (CSP Level 3 `'self'` covers `ws:`/`wss:` of this host).
/// - `worker-src 'self' blob:`, `manifest-src 'self'`: workers and a manifest of our own.
/// - `object-src 'none'`, `base-uri 'none'`: no plugins, no `<base>` rewriting links.
/// - `form-action 'self'`: forms post here only.
/// - `frame-ancestors 'none'`: no site may frame us (clickjacking).
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; \
     style-src 'self'; img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; \
     worker-src 'self' blob:; manifest-src 'self'; object-src 'none'; base-uri 'none'; \
     form-action 'self'; frame-ancestors 'none'";

/// The Content-Security-Policy for server-rendered pages with no script (RSVP answers, the
/// public accountability page, printable exports): nothing runs, styles may be inline in the
/// page, images come from here, forms post here, no framing. Set it on such a response with
/// [`page_csp`].
pub const PAGE_CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'unsafe-inline'; \
     img-src 'self' data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/// The header pair that gives a server-rendered page [`PAGE_CONTENT_SECURITY_POLICY`]
/// (for example `([page_csp()], Html(body))`).
pub fn page_csp() -> (HeaderName, HeaderValue) {
    (header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(PAGE_CONTENT_SECURITY_POLICY))
}

/// The headers every response carries unless its handler set them.
const HEADERS: &[(&str, &str)] = &[
    ("content-security-policy", CONTENT_SECURITY_POLICY),
    ("x-content-type-options", "nosniff"),
    ("referrer-policy", "no-referrer"),
    ("x-frame-options", "DENY"),
    ("cross-origin-opener-policy", "same-origin"),
    ("cross-origin-resource-policy", "same-origin"),
    ("permissions-policy", "camera=(), microphone=(), geolocation=(), payment=(), usb=()"),
];

/// HSTS for deployments whose public URL is https (one year).
const STRICT_TRANSPORT_SECURITY: &str = "max-age=31536000";

/// Adds the security headers to a response (see the module docs).
pub async fn headers(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let mut response = next.run(req).await;
    let headers = response.headers_mut();
    for (name, value) in HEADERS {
        let name = HeaderName::from_static(name);
        if !headers.contains_key(&name) {
            headers.insert(name, HeaderValue::from_static(value));
        }
    }
    if state.config.secure_cookies() && !headers.contains_key(header::STRICT_TRANSPORT_SECURITY) {
        headers.insert(header::STRICT_TRANSPORT_SECURITY, HeaderValue::from_static(STRICT_TRANSPORT_SECURITY));
    }
    response
}

/// Refuses cross-site state-changing requests that carry the session cookie, and cross-site
/// logins (see the module docs).
pub async fn csrf_guard(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if needs_same_site(&req) && came_from_another_site(&state, req.headers()) {
        tracing::warn!(method = %req.method(), path = %req.uri().path(), "cross-site request refused");
        return Error::CrossSite.into_response();
    }
    next.run(req).await
}

/// Whether the rule applies: a login, or a state-changing request authenticated by the
/// session cookie (not by a bearer token).
fn needs_same_site(req: &Request) -> bool {
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return false;
    }
    // Logins, and the invitation link's password form (it logs in too).
    let path = req.uri().path();
    if path == "/api/auth/login" || (path.starts_with("/api/invitations/") && path.ends_with("/accept")) {
        return true;
    }
    !req.headers().contains_key(header::AUTHORIZATION) && crate::auth::has_session_cookie(req.headers())
}

/// Whether the browser says the request came from another site.
pub fn came_from_another_site(state: &AppState, headers: &HeaderMap) -> bool {
    if headers.get("sec-fetch-site").is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"cross-site")) {
        return true;
    }
    match headers.get(header::ORIGIN) {
        None => false,
        Some(origin) => !origin.to_str().is_ok_and(|origin| is_own_origin(state, headers, origin)),
    }
}

/// Whether `origin` is this server: the public URL's origin, or the host the request was
/// addressed to (`Host`), whatever the scheme (a TLS proxy in front changes it).
pub fn is_own_origin(state: &AppState, headers: &HeaderMap, origin: &str) -> bool {
    let origin = origin.trim_end_matches('/');
    if origin.eq_ignore_ascii_case(&public_origin(&state.config.public_url())) {
        return true;
    }
    let Some((scheme, origin_host)) = origin.split_once("://") else { return false };
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or("");
    matches!(scheme, "http" | "https") && !host.is_empty() && origin_host.eq_ignore_ascii_case(host)
}

/// `scheme://host[:port]` of a URL (its path dropped).
fn public_origin(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => format!("{scheme}://{}", rest.split('/').next().unwrap_or(rest)),
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_origins_drop_the_path() {
        assert_eq!(public_origin("https://concerta.example.org/base"), "https://concerta.example.org");
        assert_eq!(public_origin("http://127.0.0.1:8080"), "http://127.0.0.1:8080");
    }

    #[test]
    fn the_policy_is_one_valid_header_value() {
        assert!(HeaderValue::from_str(CONTENT_SECURITY_POLICY).is_ok());
        assert!(!CONTENT_SECURITY_POLICY.contains("  "), "no doubled spaces from line breaks");
        assert!(CONTENT_SECURITY_POLICY.contains("frame-ancestors 'none'"));
        assert!(!CONTENT_SECURITY_POLICY.contains("unsafe-inline"));
        assert!(!CONTENT_SECURITY_POLICY.contains("'unsafe-eval'"));
    }
}
