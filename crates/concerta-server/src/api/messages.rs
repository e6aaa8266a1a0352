//! `GET /api/cities/{city}/messages`: the city's outgoing email and where each stands
//! (coordinators). The payload is never shown: it may hold links with secrets.

use axum::Json;
use axum::extract::{Path, State};
use chrono::{DateTime, Utc};
use concerta_core::{Action, CityId, Locale, OutboxMessageId};
use concerta_store::{Delivery, OutboxMessage, Subject};
use serde::Serialize;

use super::{authorize, path_id};
use crate::auth::CurrentUser;
use crate::error::Result;
use crate::state::AppState;

/// How many messages the list shows (newest first).
const LIMIT: u64 = 500;

/// One message as the API shows it.
#[derive(Serialize)]
pub struct MessageView {
    id: OutboxMessageId,
    kind: String,
    recipient_email: String,
    recipient_name: String,
    locale: Locale,
    /// `queued`, `sent`, `deferred` or `failed`.
    status: Delivery,
    attempts: u32,
    /// Why the last attempt failed (the SMTP server's answer).
    last_error: Option<String>,
    subject: Option<Subject>,
    created_at: DateTime<Utc>,
    next_attempt_at: DateTime<Utc>,
    sent_at: Option<DateTime<Utc>>,
}

impl From<OutboxMessage> for MessageView {
    fn from(m: OutboxMessage) -> Self {
        Self {
            id: m.id,
            kind: m.kind,
            recipient_email: m.recipient_email,
            recipient_name: m.recipient_name,
            locale: m.locale,
            status: m.status,
            attempts: m.attempts,
            last_error: m.last_error,
            subject: m.subject,
            created_at: m.created_at,
            next_attempt_at: m.next_attempt_at,
            sent_at: m.sent_at,
        }
    }
}

/// `GET /api/cities/{city}/messages` → the city's last 500 messages, newest first.
#[tracing::instrument(skip_all)]
pub(super) async fn list(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(city): Path<String>,
) -> Result<Json<Vec<MessageView>>> {
    let city: CityId = path_id(&city)?;
    authorize(&state, &user, city, Action::ManageMembers, None).await?;
    let messages = state.db.list_city_outbox(city, LIMIT).await?;
    Ok(Json(messages.into_iter().map(MessageView::from).collect()))
}
