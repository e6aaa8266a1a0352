//! Accounts on the wire: argon2id passwords, session cookies, API tokens, and the
//! [`CurrentUser`] extractor.
//!
//! Secrets (session cookies, API tokens) are 32 random bytes, base64url; the database keeps
//! only their SHA-256, so a leaked database does not leak live credentials.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString, rand_core::OsRng};
use argon2::Argon2;
use axum::extract::{FromRequestParts, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header, request::Parts};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use chrono::{Duration, Utc};
use concerta_store::User;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{Error, JsonBody, Result};
use crate::state::AppState;

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "concerta_session";
/// How long a session lasts.
pub const SESSION_DAYS: i64 = 30;
/// The shortest password accepted.
pub const MIN_PASSWORD_LEN: usize = 8;

/// A new random secret: 32 bytes, base64url without padding.
pub fn new_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// The SHA-256 of a secret, hex; what the database stores.
pub fn hash_secret(secret: &str) -> String {
    Sha256::digest(secret.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

/// Hashes a password with argon2id (on a blocking thread: it is deliberately slow).
pub async fn hash_password(password: String) -> Result<String> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| anyhow::anyhow!("hashing a password: {e}"))
    })
    .await
    .map_err(|e| anyhow::anyhow!("password hashing task: {e}"))?
    .map_err(Error::Internal)
}

/// Checks `password` against an argon2 PHC string (on a blocking thread). With no hash, a
/// dummy verification still runs (and fails) so that unknown emails take as long as wrong
/// passwords.
pub async fn verify_password(password: String, hash: Option<String>) -> bool {
    tokio::task::spawn_blocking(move || {
        let real = hash.is_some();
        let hash = hash.unwrap_or_else(dummy_hash);
        let ok = PasswordHash::new(&hash)
            .map(|parsed| Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
            .unwrap_or(false);
        ok && real
    })
    .await
    .unwrap_or(false)
}

fn dummy_hash() -> String {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY
        .get_or_init(|| {
            let salt = SaltString::generate(&mut OsRng);
            Argon2::default()
                .hash_password(new_secret().as_bytes(), &salt)
                .map(|h| h.to_string())
                .unwrap_or_default()
        })
        .clone()
}

/// Checks a new password's length, naming the field `password`.
pub fn validate_password(password: &str) -> Result<()> {
    if password.chars().count() < MIN_PASSWORD_LEN {
        return Err(Error::invalid("password", format!("must be at least {MIN_PASSWORD_LEN} characters")));
    }
    Ok(())
}

/// The session secret in the request's cookies, if any.
fn session_cookie(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value.trim_matches('"'))
        .filter(|v| !v.is_empty())
}

/// Who is making a request, from (in order) `Authorization: Bearer <api token>`,
/// `query_token` (the `?token=` of a WebSocket upgrade, an API token) or the session cookie.
///
/// `Ok(None)`: no credentials at all (or only a stale session cookie). `Err(Unauthorized)`:
/// a bearer or query token was given and is wrong, or the Authorization header is not Bearer.
pub async fn authenticate(state: &AppState, headers: &HeaderMap, query_token: Option<&str>) -> Result<Option<User>> {
    if let Some(value) = headers.get(header::AUTHORIZATION) {
        let value = value.to_str().map_err(|_| Error::Unauthorized)?;
        let (scheme, token) = value.trim().split_once(' ').ok_or(Error::Unauthorized)?;
        if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
            return Err(Error::Unauthorized);
        }
        return match state.db.get_api_token_user(&hash_secret(token.trim())).await? {
            Some(user) => Ok(Some(user)),
            None => Err(Error::Unauthorized),
        };
    }
    if let Some(token) = query_token {
        return match state.db.get_api_token_user(&hash_secret(token)).await? {
            Some(user) => Ok(Some(user)),
            None => Err(Error::Unauthorized),
        };
    }
    if let Some(secret) = session_cookie(headers) {
        return Ok(state.db.get_session_user(&hash_secret(secret), Utc::now()).await?);
    }
    Ok(None)
}

/// The authenticated user of a request; rejects with 401 when there is none.
pub struct CurrentUser(pub User);

impl FromRequestParts<AppState> for CurrentUser {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self> {
        authenticate(state, &parts.headers, None).await?.map(CurrentUser).ok_or(Error::Unauthorized)
    }
}

/// `POST /api/auth/login` body.
#[derive(Deserialize)]
pub struct LoginBody {
    email: String,
    password: String,
}

/// A user as the API shows it.
#[derive(Serialize)]
pub struct UserView {
    id: concerta_core::UserId,
    email: String,
    name: String,
    network_admin: bool,
}

impl From<&User> for UserView {
    fn from(u: &User) -> Self {
        Self { id: u.id, email: u.email.clone(), name: u.name.clone(), network_admin: u.network_admin }
    }
}

/// The `Set-Cookie` value of a session cookie (`value` empty and `max_age_secs` 0 clear it).
pub(crate) fn session_cookie_header(state: &AppState, value: &str, max_age_secs: i64) -> HeaderValue {
    let secure = if state.config.secure_cookies() { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{SESSION_COOKIE}={value}; HttpOnly; SameSite=Lax; Path=/; Max-Age={max_age_secs}{secure}"
    ))
    .expect("a cookie of base64url characters is a valid header value")
}

/// `POST /api/auth/login {"email","password"}` → the user, and a session cookie.
#[tracing::instrument(skip_all)]
pub async fn login(State(state): State<AppState>, JsonBody(body): JsonBody<LoginBody>) -> Result<Response> {
    let found = state.db.get_user_credentials(&body.email).await?;
    let (user, hash) = match found {
        Some((user, hash)) => (Some(user), hash),
        None => (None, None),
    };
    let verified = verify_password(body.password, hash.clone()).await;
    let user = match (user, hash, verified) {
        (Some(user), Some(_), true) => user,
        _ => return Err(Error::InvalidCredentials),
    };
    let secret = new_secret();
    state.db.create_session(user.id, hash_secret(&secret), Utc::now() + Duration::days(SESSION_DAYS)).await?;
    tracing::info!(user = %user.id, "logged in");
    let cookie = session_cookie_header(&state, &secret, SESSION_DAYS * 24 * 3600);
    Ok(([(header::SET_COOKIE, cookie)], axum::Json(UserView::from(&user))).into_response())
}

/// `POST /api/auth/logout` → 204; ends the session of the cookie, if any, and clears it.
#[tracing::instrument(skip_all)]
pub async fn logout(State(state): State<AppState>, headers: HeaderMap) -> Result<Response> {
    if let Some(secret) = session_cookie(&headers) {
        state.db.delete_session(&hash_secret(secret)).await?;
    }
    let cookie = session_cookie_header(&state, "", 0);
    Ok((StatusCode::NO_CONTENT, [(header::SET_COOKIE, cookie)]).into_response())
}

/// `POST /api/me/tokens` → 201 `{"token"}`: a new API token of the current user. The token
/// is shown once; only its hash is kept.
#[tracing::instrument(skip_all)]
pub async fn create_token(State(state): State<AppState>, CurrentUser(user): CurrentUser) -> Result<Response> {
    let token = issue_api_token(&state.db, &user).await?;
    Ok((StatusCode::CREATED, axum::Json(serde_json::json!({ "token": token }))).into_response())
}

/// Makes and records a new API token of `user`; returns the secret.
pub async fn issue_api_token(db: &concerta_store::Database, user: &User) -> Result<String> {
    let token = new_secret();
    db.create_api_token(user.id, hash_secret(&token)).await?;
    Ok(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_random_and_hash_stably() {
        let (a, b) = (new_secret(), new_secret());
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
        assert_eq!(hash_secret(&a), hash_secret(&a));
        assert_eq!(hash_secret(&a).len(), 64);
        assert_ne!(hash_secret(&a), hash_secret(&b));
    }

    #[tokio::test]
    async fn passwords_verify() {
        let hash = hash_password("correct horse".to_owned()).await.unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password("correct horse".to_owned(), Some(hash.clone())).await);
        assert!(!verify_password("wrong horse".to_owned(), Some(hash)).await);
        assert!(!verify_password("anything".to_owned(), None).await);
    }

    #[test]
    fn finds_the_session_cookie_among_others() {
        let mut headers = HeaderMap::new();
        headers.insert(header::COOKIE, HeaderValue::from_static("a=1; concerta_session=abc; b=2"));
        assert_eq!(session_cookie(&headers), Some("abc"));
        headers.insert(header::COOKIE, HeaderValue::from_static("concerta_session="));
        assert_eq!(session_cookie(&headers), None);
    }
}
