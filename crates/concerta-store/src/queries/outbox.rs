//! The email outbox: one row per message, written in the transaction of the domain write
//! that causes it ([`enqueue`]), then claimed, sent and marked by the worker of
//! `concerta-notify` ([`Database::claim_outbox`], [`Database::mark_outbox_sent`],
//! [`Database::mark_outbox_retry`], [`Database::mark_outbox_failed`]).
//!
//! A message is `queued` until its first attempt, `deferred` while it waits for a retry,
//! then `sent` or `failed`. While a worker sends it, the row carries a *claim*
//! (`claimed_by`, `claimed_until`): other workers skip it until the lease ends, so a worker
//! killed mid-send leaves a row that another worker (or the same one, restarted) takes up
//! once the lease has passed. Nothing is lost; a message that the SMTP server accepted just
//! before the process died, and that was not yet marked `sent`, is sent again after the
//! lease, with the same `Message-ID`, so that receivers can tell it is the same message.
//!
//! Invariants:
//! - On Postgres the claim reads due rows `FOR UPDATE SKIP LOCKED` and sets the claim in the
//!   same transaction, so two nodes never claim one row; on SQLite (one writer at a time) the
//!   claim's conditional update does the same.
//! - Marks only apply to the claim they name: a worker whose lease ran out cannot overwrite
//!   what the next claimer recorded.

use chrono::{DateTime, Utc};
use concerta_core::{CityId, Locale, OutboxMessageId};
use sea_orm::sea_query::{Expr, ExprTrait, LockBehavior, LockType};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, Condition, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect,
};
use serde::{Deserialize, Serialize};

use crate::error::parse_stored;
use crate::tables::{actor, city, outbox_message, user};
use crate::{Database, Error, Result, TransactionHandle};

/// Where a message stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Delivery {
    /// Written, not tried yet.
    Queued,
    /// Tried, failed for a reason that may pass (server down, 4xx); tried again later.
    Deferred,
    /// Accepted by the SMTP server (or written as a `.eml` file).
    Sent,
    /// Refused for good (5xx), or given up after too many attempts; `last_error` says why.
    Failed,
}

impl Delivery {
    /// The stored and API spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Deferred => "deferred",
            Self::Sent => "sent",
            Self::Failed => "failed",
        }
    }
}

impl std::str::FromStr for Delivery {
    type Err = ();

    fn from_str(s: &str) -> std::result::Result<Self, ()> {
        Ok(match s {
            "queued" => Self::Queued,
            "deferred" => Self::Deferred,
            "sent" => Self::Sent,
            "failed" => Self::Failed,
            _ => return Err(()),
        })
    }
}

/// Who a message goes to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recipient {
    /// The address.
    pub email: String,
    /// The display name (may be empty).
    pub name: String,
    /// The recipient's language, when known; else the city's is used.
    pub locale: Option<Locale>,
}

/// How an extra MIME part of a message is placed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PartDisposition {
    /// One more alternative beside the text and HTML bodies (e.g. `text/calendar;
    /// method=REQUEST`, which makes mail clients show a meeting invitation).
    Alternative,
    /// An attachment with a file name (e.g. `invite.ics`).
    Attachment,
}

/// An extra MIME part, fixed when the message is enqueued (so every attempt sends the same
/// bytes).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MailPart {
    /// Alternative or attachment.
    pub disposition: PartDisposition,
    /// The full content type, e.g. `text/calendar; method=REQUEST; charset=UTF-8`.
    pub content_type: String,
    /// The file name (attachments).
    pub filename: Option<String>,
    /// The content (text).
    pub content: String,
}

/// What a message is about, so screens can show the delivery status of, say, one invitation
/// (`kind` = `"account_invitation"`, `id` = the invitation's id).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subject {
    /// The kind of thing (`account_invitation`, `roundtable_invitation`…).
    pub kind: String,
    /// Its id.
    pub id: uuid::Uuid,
}

/// Input for [`enqueue`].
#[derive(Clone, Debug)]
pub struct NewMessage {
    /// The message kind: names the templates `concerta-notify` renders it with
    /// (`account_invitation`, `measurement_reminder`…).
    pub kind: String,
    /// The city it is sent for: its name is the sender's name and its locale the fallback
    /// language. `None` for instance-wide mail (sender name "Concerta").
    pub city: Option<CityId>,
    /// Who it goes to.
    pub recipient: Recipient,
    /// What the templates of `kind` read (JSON object).
    pub payload: serde_json::Value,
    /// Extra MIME parts (calendar alternatives, attachments).
    pub parts: Vec<MailPart>,
    /// What it is about (for delivery status on screens).
    pub subject: Option<Subject>,
}

/// A message of the outbox.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct OutboxMessage {
    /// The row's id.
    pub id: OutboxMessageId,
    /// The `Message-ID` header (without angle brackets), the same on every attempt.
    pub message_id: String,
    /// The kind (names the templates).
    pub kind: String,
    /// The city it was sent for.
    pub city_id: Option<CityId>,
    /// The sender's display name (the city's name).
    pub sender_name: String,
    /// The recipient (with the resolved locale).
    pub recipient_email: String,
    /// The recipient's name.
    pub recipient_name: String,
    /// The language it is rendered in.
    pub locale: Locale,
    /// What the templates read.
    pub payload: serde_json::Value,
    /// Extra MIME parts.
    pub parts: Vec<MailPart>,
    /// What it is about.
    pub subject: Option<Subject>,
    /// Where it stands.
    pub status: Delivery,
    /// How many times a worker claimed it to send it.
    pub attempts: u32,
    /// When it is due (next).
    pub next_attempt_at: DateTime<Utc>,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
    /// The claim the worker holds while sending (`None` when not claimed by the caller).
    #[serde(skip)]
    pub claim: Option<String>,
    /// When it was enqueued.
    pub created_at: DateTime<Utc>,
    /// When it was sent.
    pub sent_at: Option<DateTime<Utc>>,
}

impl OutboxMessage {
    fn from_model(m: outbox_message::Model) -> Result<Self> {
        let subject = match (m.subject_kind, m.subject_id) {
            (Some(kind), Some(id)) => Some(Subject { kind, id }),
            _ => None,
        };
        Ok(Self {
            id: m.id.into(),
            message_id: m.message_id,
            kind: m.kind,
            city_id: m.city_id.map(CityId::from),
            sender_name: m.sender_name,
            recipient_email: m.recipient_email,
            recipient_name: m.recipient_name,
            locale: parse_stored("locale", &m.locale)?,
            payload: serde_json::from_str(&m.payload)
                .map_err(|e| Error::Internal(format!("stored outbox payload: {e}")))?,
            parts: serde_json::from_str(&m.attachments)
                .map_err(|e| Error::Internal(format!("stored outbox parts: {e}")))?,
            subject,
            status: parse_stored("status", &m.status)?,
            attempts: u32::try_from(m.attempts).unwrap_or(0),
            next_attempt_at: m.next_attempt_at,
            last_error: m.last_error,
            claim: m.claimed_by,
            created_at: m.created_at,
            sent_at: m.sent_at,
        })
    }
}

/// The sender name of instance-wide mail (no city).
pub const INSTANCE_SENDER: &str = "Concerta";

/// Writes `message` into the outbox inside the caller's transaction `tx`: it commits (and is
/// sent) exactly when the caller's write commits. The worker of this process is woken once
/// the transaction commits. Store methods that cause an email call this with their own
/// transaction; [`Database::enqueue_message`] is the stand-alone form.
///
/// The sender name is the city's name and the language the recipient's, else the city's
/// ([`recipient_locale`]). [`Error::NotFound`] for an unknown city.
pub async fn enqueue(tx: &TransactionHandle, message: &NewMessage) -> Result<OutboxMessage> {
    let (sender_name, city_locale) = match message.city {
        Some(id) => {
            let found = city::Entity::find_by_id(id.uuid()).one(&**tx).await?.ok_or(Error::NotFound)?;
            let locale: Locale = parse_stored("locale", &found.locale)?;
            (found.name, Some(locale))
        }
        None => (INSTANCE_SENDER.to_owned(), None),
    };
    let locale = recipient_locale(&**tx, message.city, city_locale, &message.recipient).await?;
    let id = OutboxMessageId::new();
    let now = crate::now();
    let model = outbox_message::ActiveModel {
        id: Set(id.uuid()),
        message_id: Set(format!("{}@concerta", id.uuid().simple())),
        kind: Set(message.kind.clone()),
        city_id: Set(message.city.map(CityId::uuid)),
        sender_name: Set(sender_name),
        recipient_email: Set(message.recipient.email.clone()),
        recipient_name: Set(message.recipient.name.clone()),
        locale: Set(locale.as_str().to_owned()),
        payload: Set(message.payload.to_string()),
        attachments: Set(serde_json::to_string(&message.parts).map_err(|e| Error::Internal(e.to_string()))?),
        subject_kind: Set(message.subject.as_ref().map(|s| s.kind.clone())),
        subject_id: Set(message.subject.as_ref().map(|s| s.id)),
        status: Set(Delivery::Queued.as_str().to_owned()),
        attempts: Set(0),
        next_attempt_at: Set(now),
        claimed_by: Set(None),
        claimed_until: Set(None),
        last_error: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        sent_at: Set(None),
    }
    .insert(&**tx)
    .await?;
    tx.mark_enqueued();
    OutboxMessage::from_model(model)
}

/// The language of an email to `recipient` sent for `city` (whose own language is
/// `city_locale`): the one place every email's language is decided. In order:
/// 1. the recipient's language as the message carries it (a roundtable invitee's, the
///    language a comment was written in);
/// 2. the language the holder of the account with that address chose;
/// 3. the language of the city's registry actor with that address;
/// 4. the city's language (Spanish for instance-wide mail).
pub async fn recipient_locale(
    conn: &impl sea_orm::ConnectionTrait,
    city: Option<CityId>,
    city_locale: Option<Locale>,
    recipient: &Recipient,
) -> Result<Locale> {
    if let Some(locale) = recipient.locale {
        return Ok(locale);
    }
    let email = recipient.email.trim().to_lowercase();
    let chosen = user::Entity::find().filter(user::Column::Email.eq(email.as_str())).one(conn).await?.and_then(|u| u.locale);
    let chosen = match (chosen, city) {
        (Some(l), _) => Some(l),
        (None, Some(city)) => actor::Entity::find()
            .filter(actor::Column::CityId.eq(city.uuid()))
            .filter(actor::Column::Email.eq(email.as_str()))
            .filter(actor::Column::Locale.is_not_null())
            .one(conn)
            .await?
            .and_then(|a| a.locale),
        (None, None) => None,
    };
    // An unreadable stored language is no language: the fallback, never a lost email.
    Ok(chosen.and_then(|l| l.parse::<Locale>().ok()).or(city_locale).unwrap_or(Locale::Es))
}

fn claim_condition(now: DateTime<Utc>) -> Condition {
    Condition::all()
        .add(outbox_message::Column::Status.is_in([Delivery::Queued.as_str(), Delivery::Deferred.as_str()]))
        .add(outbox_message::Column::NextAttemptAt.lte(now))
        .add(
            Condition::any()
                .add(outbox_message::Column::ClaimedUntil.is_null())
                .add(outbox_message::Column::ClaimedUntil.lt(now)),
        )
}

impl Database {
    /// Enqueues one message in a transaction of its own (for callers with no other write).
    #[tracing::instrument(skip_all)]
    pub async fn enqueue_message(&self, message: NewMessage) -> Result<OutboxMessage> {
        let message = &message;
        self.transaction(|tx| async move { enqueue(&tx, message).await }).await
    }

    /// Claims up to `limit` due messages for `claim` (a string unique to this claimer and
    /// attempt) for `lease`: each claimed row counts one more attempt and is skipped by every
    /// other claimer until the lease ends. Oldest due first.
    #[tracing::instrument(skip_all)]
    pub async fn claim_outbox(&self, claim: &str, lease: std::time::Duration, limit: u64) -> Result<Vec<OutboxMessage>> {
        self.transaction(|tx| async move {
            let now = crate::now();
            let until = now + chrono::Duration::from_std(lease).unwrap_or(chrono::Duration::minutes(5));
            let due = outbox_message::Entity::find()
                .filter(claim_condition(now))
                .order_by_asc(outbox_message::Column::NextAttemptAt)
                .order_by_asc(outbox_message::Column::Id)
                .limit(limit)
                .lock_with_behavior(LockType::Update, LockBehavior::SkipLocked)
                .all(&*tx)
                .await?;
            let mut claimed = Vec::with_capacity(due.len());
            for row in due {
                let updated = outbox_message::Entity::update_many()
                    .col_expr(outbox_message::Column::ClaimedBy, Expr::value(claim))
                    .col_expr(outbox_message::Column::ClaimedUntil, Expr::value(until))
                    .col_expr(outbox_message::Column::Attempts, Expr::col(outbox_message::Column::Attempts).add(1))
                    .col_expr(outbox_message::Column::UpdatedAt, Expr::value(now))
                    .filter(outbox_message::Column::Id.eq(row.id))
                    .filter(claim_condition(now))
                    .exec(&*tx)
                    .await?;
                if updated.rows_affected == 1 {
                    let mut row = row;
                    row.attempts += 1;
                    row.claimed_by = Some(claim.to_owned());
                    row.claimed_until = Some(until);
                    claimed.push(OutboxMessage::from_model(row)?);
                }
            }
            Ok(claimed)
        })
        .await
    }

    /// When the next message falls due (`None` when nothing waits), for the worker's sleep.
    #[tracing::instrument(skip_all)]
    pub async fn next_outbox_due(&self) -> Result<Option<DateTime<Utc>>> {
        let row = outbox_message::Entity::find()
            .filter(outbox_message::Column::Status.is_in([Delivery::Queued.as_str(), Delivery::Deferred.as_str()]))
            .order_by_asc(outbox_message::Column::NextAttemptAt)
            .one(&self.conn)
            .await?;
        Ok(row.map(|r| match r.claimed_until {
            Some(until) if until > r.next_attempt_at => until,
            _ => r.next_attempt_at,
        }))
    }

    /// Records that the message claimed under `claim` was sent. `false` when the claim was
    /// lost (the lease ran out and another worker took it).
    #[tracing::instrument(skip_all)]
    pub async fn mark_outbox_sent(&self, id: OutboxMessageId, claim: &str) -> Result<bool> {
        let now = crate::now();
        self.mark(id, claim, Delivery::Sent, now, None, Some(now)).await
    }

    /// Records a transient failure of the claimed message: `deferred` until `retry_at`.
    #[tracing::instrument(skip_all)]
    pub async fn mark_outbox_retry(&self, id: OutboxMessageId, claim: &str, retry_at: DateTime<Utc>, error: &str) -> Result<bool> {
        self.mark(id, claim, Delivery::Deferred, retry_at, Some(error), None).await
    }

    /// Records a permanent failure of the claimed message, with the reason.
    #[tracing::instrument(skip_all)]
    pub async fn mark_outbox_failed(&self, id: OutboxMessageId, claim: &str, error: &str) -> Result<bool> {
        self.mark(id, claim, Delivery::Failed, crate::now(), Some(error), None).await
    }

    /// Marks one claimed row, in a transaction of its own: on SQLite that makes the worker's
    /// marks wait their turn behind this process's other write transactions (the writer lock
    /// of [`Database::transaction`]) instead of committing in the middle of one, which left
    /// that transaction's snapshot stale ("database is locked", SQLITE_BUSY_SNAPSHOT, found
    /// by `cargo xtask bench-mail`'s 1,000 roundtable invitations).
    async fn mark(
        &self,
        id: OutboxMessageId,
        claim: &str,
        status: Delivery,
        next: DateTime<Utc>,
        error: Option<&str>,
        sent_at: Option<DateTime<Utc>>,
    ) -> Result<bool> {
        self.transaction(|tx| async move { mark_in(&tx, id, claim, status, next, error, sent_at).await }).await
    }
}

async fn mark_in(
    tx: &TransactionHandle,
    id: OutboxMessageId,
    claim: &str,
    status: Delivery,
    next: DateTime<Utc>,
    error: Option<&str>,
    sent_at: Option<DateTime<Utc>>,
) -> Result<bool> {
    let now = crate::now();
    let mut update = outbox_message::Entity::update_many()
        .col_expr(outbox_message::Column::Status, Expr::value(status.as_str()))
        .col_expr(outbox_message::Column::NextAttemptAt, Expr::value(next))
        .col_expr(outbox_message::Column::ClaimedBy, Expr::value(Option::<String>::None))
        .col_expr(outbox_message::Column::ClaimedUntil, Expr::value(Option::<DateTime<Utc>>::None))
        .col_expr(outbox_message::Column::UpdatedAt, Expr::value(now));
    if let Some(error) = error {
        update = update.col_expr(outbox_message::Column::LastError, Expr::value(truncate(error, 2000)));
    }
    if let Some(at) = sent_at {
        update = update.col_expr(outbox_message::Column::SentAt, Expr::value(at));
    }
    let result = update
        .filter(outbox_message::Column::Id.eq(id.uuid()))
        .filter(outbox_message::Column::ClaimedBy.eq(claim))
        .exec(&**tx)
        .await?;
    Ok(result.rows_affected == 1)
}

impl Database {
    /// One message by id (any city: callers check access through what it is about).
    #[tracing::instrument(skip_all)]
    pub async fn get_outbox_message(&self, id: OutboxMessageId) -> Result<OutboxMessage> {
        let found = outbox_message::Entity::find_by_id(id.uuid()).one(&self.conn).await?.ok_or(Error::NotFound)?;
        OutboxMessage::from_model(found)
    }

    /// The messages about `subject_kind` / each of `ids`, oldest first (a screen takes the
    /// last one per subject as its delivery status).
    #[tracing::instrument(skip_all)]
    pub async fn list_outbox_by_subject(&self, subject_kind: &str, ids: &[uuid::Uuid]) -> Result<Vec<OutboxMessage>> {
        let mut out = Vec::new();
        for chunk in ids.chunks(500) {
            let rows = outbox_message::Entity::find()
                .filter(outbox_message::Column::SubjectKind.eq(subject_kind))
                .filter(outbox_message::Column::SubjectId.is_in(chunk.to_vec()))
                .order_by_asc(outbox_message::Column::CreatedAt)
                .order_by_asc(outbox_message::Column::Id)
                .all(&self.conn)
                .await?;
            for row in rows {
                out.push(OutboxMessage::from_model(row)?);
            }
        }
        out.sort_by_key(|m| (m.created_at, m.id));
        Ok(out)
    }

    /// The messages sent for `city`, newest first, at most `limit`.
    #[tracing::instrument(skip_all)]
    pub async fn list_city_outbox(&self, city: CityId, limit: u64) -> Result<Vec<OutboxMessage>> {
        outbox_message::Entity::find()
            .filter(outbox_message::Column::CityId.eq(city.uuid()))
            .order_by_desc(outbox_message::Column::CreatedAt)
            .order_by_desc(outbox_message::Column::Id)
            .limit(limit)
            .all(&self.conn)
            .await?
            .into_iter()
            .map(OutboxMessage::from_model)
            .collect()
    }

    /// How many messages are in each state (for metrics and tests).
    #[tracing::instrument(skip_all)]
    pub async fn count_outbox(&self) -> Result<std::collections::BTreeMap<String, u64>> {
        let rows: Vec<(String, i64)> = outbox_message::Entity::find()
            .select_only()
            .column(outbox_message::Column::Status)
            .column_as(outbox_message::Column::Id.count(), "n")
            .group_by(outbox_message::Column::Status)
            .into_tuple()
            .all(&self.conn)
            .await?;
        Ok(rows.into_iter().map(|(s, n)| (s, u64::try_from(n).unwrap_or(0))).collect())
    }
}

fn truncate(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}
