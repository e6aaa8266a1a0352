//! A user's own credentials: API tokens (`/api/tokens`) and browser sessions
//! (`/api/me/sessions`). Each user sees and ends only their own; the secret of a token is
//! shown once, when it is made, and never again.
//!
//! Revoking a token or ending a session takes effect at once: every request looks its
//! credential up again, and live `/sync` connections of the user are re-checked (a
//! connection whose credential no longer authenticates is cut) through
//! [`AccessEvent::User`].

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use concerta_core::{ApiTokenId, SessionId, validate_name};
use concerta_store::{ApiToken, AuditActor, NewApiToken, Session};
use serde::{Deserialize, Serialize};

use super::path_id;
use crate::auth::{Authenticated, Credential, CurrentUser, hash_secret, new_secret};
use crate::error::{Error, JsonBody, Result};
use crate::state::{AccessEvent, AppState};

/// The longest a token may be made to last: ten years.
const MAX_TOKEN_DAYS: i64 = 3650;

/// `POST /api/tokens` body.
#[derive(Deserialize)]
pub(super) struct NewTokenBody {
    name: String,
    #[serde(default)]
    expires_at: Option<String>,
}

/// A token as its user sees it: never the secret, except in [`create_token`]'s answer.
#[derive(Serialize)]
pub(super) struct TokenView {
    #[serde(flatten)]
    token: ApiToken,
    /// Whether it has expired (expired tokens are listed until revoked).
    expired: bool,
    /// Whether this request was made with it.
    current: bool,
}

impl TokenView {
    fn new(token: ApiToken, auth: &Authenticated, now: DateTime<Utc>) -> Self {
        let expired = token.expires_at.is_some_and(|at| at <= now);
        let current = auth.credential == Credential::Token(token.id);
        Self { token, expired, current }
    }
}

/// Parses `expires_at` (RFC 3339, in the future, at most ten years ahead); 422 naming the
/// field otherwise.
fn parse_expiry(text: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>> {
    let at = DateTime::parse_from_rfc3339(text.trim())
        .map_err(|_| Error::invalid("expires_at", "must be a date and time such as 2027-01-31T00:00:00Z"))?
        .with_timezone(&Utc);
    if at <= now {
        return Err(Error::invalid("expires_at", "must be in the future"));
    }
    if at > now + chrono::Duration::days(MAX_TOKEN_DAYS) {
        return Err(Error::invalid("expires_at", "must be at most ten years ahead"));
    }
    Ok(at)
}

/// `POST /api/tokens {"name","expires_at"?}` → 201 `{"id","name","token",…}`: a new API
/// token of the caller. The secret (`token`) is in this answer only; the server keeps its
/// hash. Audited as `token_issued`.
#[tracing::instrument(skip_all)]
pub(super) async fn create_token(
    State(state): State<AppState>,
    auth: Authenticated,
    JsonBody(body): JsonBody<NewTokenBody>,
) -> Result<Response> {
    let now = Utc::now();
    let name = validate_name("name", &body.name)?;
    let expires_at = body.expires_at.as_deref().filter(|t| !t.trim().is_empty()).map(|t| parse_expiry(t, now)).transpose()?;
    let secret = new_secret();
    let token = state
        .db
        .issue_api_token(
            NewApiToken { user: auth.user.id, name, token_hash: hash_secret(&secret), expires_at },
            AuditActor::User(auth.user.id),
        )
        .await?;
    tracing::info!(user = %auth.user.id, token = %token.id, "API token issued");
    let mut view = serde_json::to_value(TokenView::new(token, &auth, now)).map_err(|e| Error::Internal(e.into()))?;
    view["token"] = serde_json::Value::String(secret);
    Ok((StatusCode::CREATED, Json(view)).into_response())
}

/// `GET /api/tokens` → the caller's API tokens, newest first, with when each was last used
/// (to the minute) and whether it expired; never a secret.
#[tracing::instrument(skip_all)]
pub(super) async fn list_tokens(State(state): State<AppState>, auth: Authenticated) -> Result<Json<Vec<TokenView>>> {
    let now = Utc::now();
    let tokens = state.db.list_api_tokens(auth.user.id).await?;
    Ok(Json(tokens.into_iter().map(|t| TokenView::new(t, &auth, now)).collect()))
}

/// `DELETE /api/tokens/{id}` → 204: revokes one of the caller's tokens (404 for anyone
/// else's). Requests with it are refused from now on and its live `/sync` connections are
/// cut. Audited as `token_revoked`.
#[tracing::instrument(skip_all)]
pub(super) async fn revoke_token(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
) -> Result<StatusCode> {
    let id: ApiTokenId = path_id(&id)?;
    state.db.revoke_api_token(user.id, id, AuditActor::User(user.id)).await?;
    state.publish_access(AccessEvent::User(user.id));
    tracing::info!(user = %user.id, token = %id, "API token revoked");
    Ok(StatusCode::NO_CONTENT)
}

/// A browser session as its user sees it.
#[derive(Serialize)]
pub(super) struct SessionView {
    #[serde(flatten)]
    session: Session,
    /// Whether this request was made with it.
    current: bool,
}

/// `GET /api/me/sessions` → the caller's live browser sessions, most recently used first,
/// with browser, address and times; the one this request came with is `current`.
#[tracing::instrument(skip_all)]
pub(super) async fn list_sessions(State(state): State<AppState>, auth: Authenticated) -> Result<Json<Vec<SessionView>>> {
    let sessions = state.db.list_sessions(auth.user.id, Utc::now()).await?;
    Ok(Json(
        sessions
            .into_iter()
            .map(|session| {
                let current = auth.credential == Credential::Session(session.id);
                SessionView { session, current }
            })
            .collect(),
    ))
}

/// `DELETE /api/me/sessions/{id}` → 204: ends one of the caller's sessions (404 for
/// anyone else's). Ending the current one is logging out.
#[tracing::instrument(skip_all)]
pub(super) async fn end_session(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
) -> Result<StatusCode> {
    let id: SessionId = path_id(&id)?;
    state.db.end_session(user.id, id, AuditActor::User(user.id)).await?;
    state.publish_access(AccessEvent::User(user.id));
    tracing::info!(user = %user.id, session = %id, "session ended");
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /api/me/sessions/end-others` → `{"ended": n}`: ends every session of the caller
/// but the current one (all of them when called with an API token).
#[tracing::instrument(skip_all)]
pub(super) async fn end_other_sessions(State(state): State<AppState>, auth: Authenticated) -> Result<Json<serde_json::Value>> {
    let keep = match auth.credential {
        Credential::Session(id) => Some(id),
        Credential::Token(_) => None,
    };
    let ended = state.db.end_other_sessions(auth.user.id, keep, AuditActor::User(auth.user.id)).await?;
    if ended > 0 {
        state.publish_access(AccessEvent::User(auth.user.id));
    }
    tracing::info!(user = %auth.user.id, ended, "other sessions ended");
    Ok(Json(serde_json::json!({ "ended": ended })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiries_must_be_future_dates_within_ten_years() {
        let now: DateTime<Utc> = "2026-11-29T12:00:00Z".parse().unwrap();
        assert_eq!(parse_expiry("2026-12-01T00:00:00+01:00", now).unwrap().to_rfc3339(), "2026-11-30T23:00:00+00:00");
        for bad in ["tomorrow", "2026-11-29", "2026-11-29T11:59:59Z", "2040-01-01T00:00:00Z"] {
            let err = parse_expiry(bad, now).unwrap_err();
            assert!(matches!(&err, Error::InvalidField { field, .. } if field == "expires_at"), "{bad}: {err}");
        }
    }
}
