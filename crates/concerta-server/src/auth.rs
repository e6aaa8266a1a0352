//! Accounts on the wire: argon2id passwords, session cookies, API tokens, and the
//! [`CurrentUser`] and [`Authenticated`] extractors.
//!
//! Secrets (session cookies, API tokens) are 32 random bytes, base64url; the database keeps
//! only their SHA-256, so a leaked database does not leak live credentials. Every request
//! looks its credential up again (no cache): a session ended or a token revoked or expired is
//! refused by the very next request.

use argon2::password_hash::{self, Output, ParamsString, PasswordHash, SaltString, rand_core::OsRng};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header, request::Parts};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use chrono::{Duration, Utc};
use concerta_core::{ApiTokenId, AuditAction, SessionId};
use concerta_store::{AuditActor, NewAuditEntry, NewSession, User};
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
/// The longest password accepted.
pub const MAX_PASSWORD_LEN: usize = 1024;

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

/// A job for the hashing threads.
type HashJob = Box<dyn FnOnce() + Send>;

/// The threads that run argon2: a fixed few (one per core, at least two), started on first
/// use. Each computation takes ~19 MiB, which the allocator keeps in the thread's own arena
/// after it ends; on tokio's blocking pool a flood of logins spread its hashes over dozens of
/// threads and the process kept dozens of such blocks (~750 MiB after 1,000 logins, `cargo
/// xtask bench-logins`). On these threads it keeps at most one per thread, and a flood queues
/// here.
fn hashing_threads() -> &'static std::sync::mpsc::Sender<HashJob> {
    static JOBS: std::sync::OnceLock<std::sync::mpsc::Sender<HashJob>> = std::sync::OnceLock::new();
    JOBS.get_or_init(|| {
        let (tx, rx) = std::sync::mpsc::channel::<HashJob>();
        let rx = std::sync::Arc::new(std::sync::Mutex::new(rx));
        for n in 0..hashing_concurrency() {
            let rx = rx.clone();
            std::thread::Builder::new()
                .name(format!("concerta-argon2-{n}"))
                .spawn(move || {
                    loop {
                        let job = match rx.lock() {
                            Ok(rx) => rx.recv(),
                            Err(_) => return,
                        };
                        match job {
                            // A panic ends the job (its caller sees an error), not the thread.
                            Ok(job) => drop(std::panic::catch_unwind(std::panic::AssertUnwindSafe(job))),
                            Err(_) => return,
                        }
                    }
                })
                .expect("starting a password hashing thread");
        }
        tx
    })
}

/// The number of argon2 computations that may run at once ([`hashing_threads`]).
pub fn hashing_concurrency() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get()).clamp(2, 8)
}

/// Runs `work` (an argon2 computation) on a hashing thread, once one is free.
async fn on_hashing_thread<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> anyhow::Result<T> {
    let (done, result) = tokio::sync::oneshot::channel();
    hashing_threads()
        .send(Box::new(move || {
            let _ = done.send(work());
        }))
        .map_err(|_| anyhow::anyhow!("the password hashing threads have stopped"))?;
    result.await.map_err(|_| anyhow::anyhow!("a password hashing job failed"))
}

/// Hashes a password with argon2id (on a hashing thread, a bounded number at once: it is
/// deliberately slow and memory-hard).
pub async fn hash_password(password: String) -> Result<String> {
    on_hashing_thread(move || phc_hash(password.as_bytes()).map_err(|e| anyhow::anyhow!("hashing a password: {e}")))
        .await
        .map_err(Error::Internal)?
        .map_err(Error::Internal)
}

/// Checks `password` against an argon2 PHC string (on a hashing thread, a bounded number
/// at once). With no hash, a dummy verification still runs (and fails) so that unknown
/// emails take as long as wrong passwords.
pub async fn verify_password(password: String, hash: Option<String>) -> bool {
    on_hashing_thread(move || {
        let real = hash.is_some();
        let hash = hash.unwrap_or_else(dummy_hash);
        phc_verify(password.as_bytes(), &hash) && real
    })
    .await
    .unwrap_or(false)
}

thread_local! {
    /// argon2's working memory (~19 MiB with the default parameters), kept by each hashing
    /// thread and reused: allocated afresh per computation, the allocator kept every freed
    /// block resident (~19 MiB more per login, `cargo xtask bench-logins`).
    static ARGON2_MEMORY: std::cell::RefCell<Vec<Block>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// argon2 of `password` and `salt` into `out`, in this thread's reused memory.
fn argon2_into(argon: &Argon2<'_>, password: &[u8], salt: &[u8], out: &mut [u8]) -> password_hash::Result<()> {
    ARGON2_MEMORY.with_borrow_mut(|memory| {
        let blocks = argon.params().block_count();
        if memory.len() < blocks {
            memory.resize(blocks, Block::default());
        }
        argon.hash_password_into_with_memory(password, salt, out, &mut memory[..blocks]).map_err(Into::into)
    })
}

/// A new argon2id PHC string of `password` with the default parameters and a random salt
/// (what `PasswordHasher::hash_password` makes, in reused memory).
fn phc_hash(password: &[u8]) -> password_hash::Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    let argon = Argon2::default();
    let mut salt_bytes = [0u8; 64];
    let salt_bytes = salt.as_salt().decode_b64(&mut salt_bytes)?;
    let len = argon.params().output_len().unwrap_or(Params::DEFAULT_OUTPUT_LEN);
    let output = Output::init_with(len, |out| argon2_into(&argon, password, salt_bytes, out))?;
    let hash = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(argon.params())?,
        salt: Some(salt.as_salt()),
        hash: Some(output),
    };
    Ok(hash.to_string())
}

/// Whether `password` matches the argon2 PHC string `hash` (any argon2 variant, version and
/// parameters it names; the comparison is constant-time).
fn phc_verify(password: &[u8], hash: &str) -> bool {
    let check = || -> password_hash::Result<bool> {
        let parsed = PasswordHash::new(hash)?;
        let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else { return Ok(false) };
        let algorithm = Algorithm::try_from(parsed.algorithm)?;
        let version = parsed.version.map(Version::try_from).transpose()?.unwrap_or_default();
        let argon = Argon2::new(algorithm, version, Params::try_from(&parsed)?);
        let mut salt_bytes = [0u8; 64];
        let salt_bytes = salt.decode_b64(&mut salt_bytes)?;
        let computed = Output::init_with(expected.len(), |out| argon2_into(&argon, password, salt_bytes, out))?;
        Ok(computed == expected)
    };
    check().unwrap_or(false)
}

fn dummy_hash() -> String {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| phc_hash(new_secret().as_bytes()).unwrap_or_default()).clone()
}

/// Checks a new password's length, naming the field `password`.
pub fn validate_password(password: &str) -> Result<()> {
    validate_new_password("password", password)
}

/// Checks a new password's length, naming `field`.
pub fn validate_new_password(field: &str, password: &str) -> Result<()> {
    let len = password.chars().count();
    if len < MIN_PASSWORD_LEN {
        return Err(Error::invalid(field, format!("must be at least {MIN_PASSWORD_LEN} characters")));
    }
    if len > MAX_PASSWORD_LEN {
        return Err(Error::invalid(field, format!("must be at most {MAX_PASSWORD_LEN} characters")));
    }
    Ok(())
}

/// Whether the request carries a (non-empty) session cookie.
pub fn has_session_cookie(headers: &HeaderMap) -> bool {
    session_cookie(headers).is_some()
}

/// The session secret in the request's cookies, if any.
pub(crate) fn session_cookie(headers: &HeaderMap) -> Option<&str> {
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

/// The credential a request authenticated with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Credential {
    /// A browser session (the session cookie).
    Session(SessionId),
    /// An API token (`Authorization: Bearer`, or `?token=` on `/sync`).
    Token(ApiTokenId),
}

/// A user and the credential they authenticated with. As an extractor, it rejects with 401
/// when the request has no valid credential.
#[derive(Clone, Debug)]
pub struct Authenticated {
    /// Who.
    pub user: User,
    /// With what.
    pub credential: Credential,
    /// When that credential expires, if ever.
    pub expires_at: Option<chrono::DateTime<Utc>>,
}

/// Who is making a request, from (in order) `Authorization: Bearer <api token>`,
/// `query_token` (the `?token=` of a WebSocket upgrade, an API token) or the session cookie.
///
/// `Ok(None)`: no credentials at all (or only a stale session cookie). `Err(Unauthorized)`:
/// a bearer or query token was given and is wrong, revoked or expired, or the Authorization
/// header is not Bearer.
pub async fn authenticate_credential(
    state: &AppState,
    headers: &HeaderMap,
    query_token: Option<&str>,
) -> Result<Option<Authenticated>> {
    let now = Utc::now();
    let token = match headers.get(header::AUTHORIZATION) {
        Some(value) => {
            let value = value.to_str().map_err(|_| Error::Unauthorized)?;
            let (scheme, token) = value.trim().split_once(' ').ok_or(Error::Unauthorized)?;
            if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
                return Err(Error::Unauthorized);
            }
            Some(token.trim())
        }
        None => query_token,
    };
    if let Some(token) = token {
        return match state.db.get_api_token(&hash_secret(token), now).await? {
            Some((user, token)) => {
                Ok(Some(Authenticated { user, credential: Credential::Token(token.id), expires_at: token.expires_at }))
            }
            None => Err(Error::Unauthorized),
        };
    }
    if let Some(secret) = session_cookie(headers) {
        return Ok(state
            .db
            .get_session(&hash_secret(secret), now)
            .await?
            .map(|(user, session)| Authenticated {
                user,
                credential: Credential::Session(session.id),
                expires_at: Some(session.expires_at),
            }));
    }
    Ok(None)
}

/// [`authenticate_credential`], the user only.
pub async fn authenticate(state: &AppState, headers: &HeaderMap, query_token: Option<&str>) -> Result<Option<User>> {
    Ok(authenticate_credential(state, headers, query_token).await?.map(|a| a.user))
}

impl FromRequestParts<AppState> for Authenticated {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self> {
        authenticate_credential(state, &parts.headers, None).await?.ok_or(Error::Unauthorized)
    }
}

/// The authenticated user of a request; rejects with 401 when there is none.
pub struct CurrentUser(pub User);

impl FromRequestParts<AppState> for CurrentUser {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self> {
        Authenticated::from_request_parts(parts, state).await.map(|a| CurrentUser(a.user))
    }
}

/// The client's address: the socket's peer, or, when the server is configured to trust a
/// proxy (`CONCERTA_TRUST_PROXY`), the last address of `X-Forwarded-For` (the one the proxy
/// added; earlier ones come from the client and prove nothing). `None` when unknown (tests
/// calling the router directly).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientAddress(pub Option<IpAddr>);

impl ClientAddress {
    /// Works the address out of a request's parts.
    pub fn of(state: &AppState, parts: &Parts) -> Self {
        let peer = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|ConnectInfo(addr)| addr.ip());
        if state.config.trust_proxy {
            let forwarded = parts
                .headers
                .get_all("x-forwarded-for")
                .iter()
                .filter_map(|v| v.to_str().ok())
                .flat_map(|v| v.split(','))
                .filter_map(|a| a.trim().parse::<IpAddr>().ok())
                .last();
            if forwarded.is_some() {
                return Self(forwarded);
            }
        }
        Self(peer)
    }
}

impl FromRequestParts<AppState> for ClientAddress {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        Ok(Self::of(state, parts))
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
    /// The language the user chose (app and email); `null`: not chosen.
    locale: Option<concerta_core::Locale>,
}

impl From<&User> for UserView {
    fn from(u: &User) -> Self {
        Self { id: u.id, email: u.email.clone(), name: u.name.clone(), network_admin: u.network_admin, locale: u.locale }
    }
}

/// The `Set-Cookie` value of the session cookie (`HttpOnly`, `SameSite=Lax`, `Secure` when
/// the public URL is https); an empty `value` with `max_age_secs` 0 clears it.
pub fn session_cookie_header(state: &AppState, value: &str, max_age_secs: i64) -> HeaderValue {
    let secure = if state.config.secure_cookies() { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{SESSION_COOKIE}={value}; HttpOnly; SameSite=Lax; Path=/; Max-Age={max_age_secs}{secure}"
    ))
    .expect("a cookie of base64url characters is a valid header value")
}

/// Takes one login attempt from the allowances of `address` and `email`
/// ([`crate::throttle`]); 429 with `Retry-After` when either is spent. Runs before any
/// password is checked, and alike for accounts that do not exist. The first refusal of a
/// run (until that account or address is allowed again) is audited as `login_throttled`.
pub async fn throttle_login(state: &AppState, address: Option<IpAddr>, email: &str) -> Result<()> {
    let Err(refused) = state.login_throttle.attempt(address, email) else { return Ok(()) };
    metrics::counter!(LOGINS_THROTTLED).increment(1);
    tracing::info!(client = ?address, by = refused.by.as_str(), retry_after = refused.retry_after.as_secs(), "login attempt throttled");
    if refused.run_started {
        let entry = NewAuditEntry::new(AuditAction::LoginThrottled, AuditActor::Anonymous).details(serde_json::json!({
            "email": email.trim().to_lowercase(),
            "client_address": address.map(|a| a.to_string()),
            "by": refused.by.as_str(),
            "retry_after_secs": refused.retry_after.as_secs(),
        }));
        state.db.record_audit(entry).await?;
    }
    Err(Error::TooManyRequests { retry_after: refused.retry_after })
}

/// Login attempts refused by throttling (a Prometheus counter).
pub const LOGINS_THROTTLED: &str = "concerta_logins_throttled_total";

/// `POST /api/auth/login {"email","password"}` → the user, and a session cookie. Throttled
/// per account and per client address (429 with `Retry-After`). A failure is audited and
/// answers the same whether or not the account exists.
#[tracing::instrument(skip_all)]
pub async fn login(
    State(state): State<AppState>,
    ClientAddress(address): ClientAddress,
    headers: HeaderMap,
    JsonBody(body): JsonBody<LoginBody>,
) -> Result<Response> {
    throttle_login(&state, address, &body.email).await?;
    let found = state.db.get_user_credentials(&body.email).await?;
    let (user, hash) = match found {
        Some((user, hash)) => (Some(user), hash),
        None => (None, None),
    };
    let verified = verify_password(body.password, hash.clone()).await;
    let user = match (user, hash, verified) {
        (Some(user), Some(_), true) => user,
        (user, ..) => {
            let mut entry = NewAuditEntry::new(AuditAction::LoginFailed, AuditActor::Anonymous).details(
                serde_json::json!({
                    "email": body.email.trim().to_lowercase(),
                    "client_address": address.map(|a| a.to_string()),
                }),
            );
            if let Some(user) = &user {
                entry = entry.target("user", user.id);
            }
            state.db.record_audit(entry).await?;
            tracing::info!(client = ?address, "login failed");
            return Err(Error::InvalidCredentials);
        }
    };
    let (secret, session) = start_session(&state, &user, &headers, address).await?;
    tracing::info!(user = %user.id, session = %session, "logged in");
    let cookie = session_cookie_header(&state, &secret, SESSION_DAYS * 24 * 3600);
    Ok(([(header::SET_COOKIE, cookie)], axum::Json(UserView::from(&user))).into_response())
}

/// Starts a browser session for `user` (after a login, or a password set from an
/// invitation); returns the cookie secret and the session's id. Put the secret in the
/// response with [`session_cookie_header`].
pub async fn start_session(
    state: &AppState,
    user: &User,
    headers: &HeaderMap,
    address: Option<IpAddr>,
) -> Result<(String, SessionId)> {
    let secret = new_secret();
    let user_agent = headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let session = state
        .db
        .start_session(NewSession {
            user: user.id,
            token_hash: hash_secret(&secret),
            expires_at: Utc::now() + Duration::days(SESSION_DAYS),
            user_agent,
            client_address: address.map(|a| a.to_string()),
        })
        .await?;
    Ok((secret, session.id))
}

/// `POST /api/me/password` body.
#[derive(Deserialize)]
pub struct PasswordBody {
    current_password: String,
    new_password: String,
}

/// `POST /api/me/password {"current_password","new_password"}` → 204. Ends the user's other
/// browser sessions (all of them when called with an API token); the current session and
/// the user's API tokens stay valid. A wrong current password is 422 on
/// `current_password`. Each try counts against the account's and the address's login
/// allowances, so a stolen session cannot guess the password faster than a login could.
#[tracing::instrument(skip_all)]
pub async fn change_password(
    State(state): State<AppState>,
    ClientAddress(address): ClientAddress,
    auth: Authenticated,
    JsonBody(body): JsonBody<PasswordBody>,
) -> Result<StatusCode> {
    validate_new_password("new_password", &body.new_password)?;
    let user = &auth.user;
    throttle_login(&state, address, &user.email).await?;
    let hash = state.db.get_user_credentials(&user.email).await?.and_then(|(_, hash)| hash);
    if !verify_password(body.current_password, hash).await {
        return Err(Error::invalid("current_password", "is not your current password"));
    }
    let new_hash = hash_password(body.new_password).await?;
    let keep = match auth.credential {
        Credential::Session(id) => Some(id),
        Credential::Token(_) => None,
    };
    let ended = state.db.change_password(user.id, new_hash, keep, AuditActor::User(user.id)).await?;
    tracing::info!(user = %user.id, sessions_ended = ended, "password changed");
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /api/auth/logout` → 204; ends the session of the cookie, if any, and clears it.
#[tracing::instrument(skip_all)]
pub async fn logout(State(state): State<AppState>, headers: HeaderMap) -> Result<Response> {
    if let Some(secret) = session_cookie(&headers) {
        let hash = hash_secret(secret);
        state.db.delete_session(&hash).await?;
        // Its live sync connections end too, on every node.
        state.publish_access(crate::state::AccessEvent::Credential(crate::state::Credential::Session(hash)));
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

/// Makes and records a new API token of `user` (no name, no expiry), audited as issued by
/// the user; returns the secret.
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
    fn hashes_agree_with_the_argon2_crates_own() {
        use argon2::password_hash::{PasswordHasher, PasswordVerifier};
        // Stored by the crate's own hasher (as before the memory was reused), checked here.
        let salt = SaltString::generate(&mut OsRng);
        let theirs = Argon2::default().hash_password(b"correct horse", &salt).unwrap().to_string();
        assert!(phc_verify(b"correct horse", &theirs));
        assert!(!phc_verify(b"correct horsE", &theirs));
        // Made here, checked by the crate; other parameters and variants too.
        let ours = phc_hash(b"correct horse").unwrap();
        Argon2::default().verify_password(b"correct horse", &PasswordHash::new(&ours).unwrap()).unwrap();
        let small = Argon2::new(Algorithm::Argon2i, Version::V0x10, Params::new(1024, 3, 1, Some(24)).unwrap());
        let other = small.hash_password(b"pw", &salt).unwrap().to_string();
        assert!(phc_verify(b"pw", &other) && !phc_verify(b"px", &other));
        assert!(!phc_verify(b"pw", "not a hash") && !phc_verify(b"pw", ""));
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
