//! What the login page needs to know before anyone logs in: whether first-run setup is
//! needed, and (under `concerta serve --demo`) the demo accounts to show.
//!
//! First-run setup: when no account can log in, `concerta serve` arms a one-time setup token
//! ([`Instance::arm_setup`]) and prints it in its log. `POST /api/setup` with that token
//! creates the first network administrator and logs them in; the token is then spent. Each
//! node arms its own token (it lives in memory), and setup is refused once any account can
//! log in, so a token from an old log can never make a second administrator.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use chrono::{Duration, Utc};
use concerta_core::{validate_email, validate_name};
use concerta_store::NewUser;
use serde::{Deserialize, Serialize};

use crate::auth::{SESSION_DAYS, UserView, hash_password, hash_secret, new_secret, session_cookie_header, validate_password};
use crate::demo::{DEMO_ACCOUNTS, DemoAccount};
use crate::error::{Error, JsonBody, Result};
use crate::state::AppState;

/// Per-process facts about this instance (see the module docs).
#[derive(Debug, Default)]
pub struct Instance {
    demo: AtomicBool,
    setup_token: Mutex<Option<String>>,
}

impl Instance {
    /// From now on, `GET /api/instance` lists the demo accounts.
    pub fn show_demo_accounts(&self) {
        self.demo.store(true, Ordering::Relaxed);
    }

    /// Makes a new one-time setup token (replacing any earlier one) and returns it.
    pub fn arm_setup(&self) -> String {
        let token = new_secret();
        *self.setup_token.lock().unwrap_or_else(|e| e.into_inner()) = Some(token.clone());
        token
    }

    /// Spends the setup token if `given` is it. Compared by hash, in constant time for equal
    /// lengths.
    fn take_setup_token(&self, given: &str) -> bool {
        let mut slot = self.setup_token.lock().unwrap_or_else(|e| e.into_inner());
        let matches = slot.as_deref().is_some_and(|token| {
            let (a, b) = (hash_secret(token), hash_secret(given));
            a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
        });
        if matches {
            *slot = None;
        }
        matches
    }

    fn setup_armed(&self) -> bool {
        self.setup_token.lock().unwrap_or_else(|e| e.into_inner()).is_some()
    }
}

/// `GET /api/instance` (no login).
#[derive(Serialize)]
pub struct InstanceView {
    /// No account can log in: the first screen is first-run setup.
    setup_needed: bool,
    /// Whether this process holds a setup token (printed in its log) that `POST /api/setup`
    /// accepts.
    setup_token_armed: bool,
    /// The demo accounts, only when the server runs with `--demo`.
    #[serde(skip_serializing_if = "Option::is_none")]
    demo_accounts: Option<&'static [DemoAccount]>,
    /// The server's version.
    version: &'static str,
}

/// `GET /api/instance` → `{"setup_needed", "setup_token_armed", "demo_accounts"?, "version"}`.
#[tracing::instrument(skip_all)]
pub async fn get(State(state): State<AppState>) -> Result<Json<InstanceView>> {
    let setup_needed = !state.db.any_user_can_log_in().await?;
    Ok(Json(InstanceView {
        setup_needed,
        setup_token_armed: setup_needed && state.instance.setup_armed(),
        demo_accounts: state.instance.demo.load(Ordering::Relaxed).then_some(&DEMO_ACCOUNTS[..]),
        version: env!("CARGO_PKG_VERSION"),
    }))
}

/// `POST /api/setup` body.
#[derive(Deserialize)]
pub struct SetupBody {
    token: String,
    email: String,
    name: String,
    password: String,
}

/// `POST /api/setup {"token","email","name","password"}` → 201 the new network
/// administrator, logged in (session cookie). 409 `setup_done` once any account can log in;
/// 422 on `token` when the token is wrong (the token stays armed); 409 on `email` when an
/// account (an invited member) already has that address.
#[tracing::instrument(skip_all)]
pub async fn setup(State(state): State<AppState>, JsonBody(body): JsonBody<SetupBody>) -> Result<Response> {
    if state.db.any_user_can_log_in().await? {
        return Err(Error::Conflict { field: "setup".to_owned() });
    }
    let email = validate_email("email", &body.email)?;
    let name = validate_name("name", &body.name)?;
    validate_password(&body.password)?;
    if !state.instance.take_setup_token(body.token.trim()) {
        tracing::warn!("first-run setup refused: wrong setup token");
        return Err(Error::invalid("token", "is not this server's setup token (see the server's log)"));
    }
    let password_hash = hash_password(body.password).await?;
    let user = state.db.create_user(NewUser { email, name, password_hash: Some(password_hash), network_admin: true }).await?;
    let secret = new_secret();
    state.db.create_session(user.id, hash_secret(&secret), Utc::now() + Duration::days(SESSION_DAYS)).await?;
    tracing::info!(user = %user.id, "first-run setup: the first administrator was created");
    let cookie = session_cookie_header(&state, &secret, SESSION_DAYS * 24 * 3600);
    Ok((axum::http::StatusCode::CREATED, [(header::SET_COOKIE, cookie)], Json(UserView::from(&user))).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_setup_token_is_spent_once() {
        let instance = Instance::default();
        assert!(!instance.take_setup_token("anything"), "nothing armed");
        let token = instance.arm_setup();
        assert!(!instance.take_setup_token("wrong"));
        assert!(instance.setup_armed(), "a wrong guess does not spend it");
        assert!(instance.take_setup_token(&token));
        assert!(!instance.take_setup_token(&token), "spent");
    }
}
