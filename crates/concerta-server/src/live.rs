//! Live updates of consultation comments (issue 17): every comment, reply, response, hide
//! and applied rewrite is published as a [`CommentEvent`] once committed
//! ([`AppState::publish_comment`]): at once to this node's listeners, and to the other nodes
//! on the same Postgres by `NOTIFY` on the consultations channel, which each node's cluster
//! listener (`sync/cluster.rs`, the same `LISTEN` connection as the chunk and access
//! notices) hands to its own listeners.
//!
//! Browsers listen with Server-Sent Events (`api/comment_events.rs`). An event names what
//! changed (ids and kind), never its words: the client fetches the comments again through
//! the REST API, which applies the reading rules (a stakeholder sees their own comments, the
//! others' published ones and the city's answers; hidden ones as hidden).

use std::convert::Infallible;
use std::time::Duration;

use axum::http::{HeaderMap, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use chrono::Utc;
use concerta_core::{CityId, CommentId, ConsultationId, SectionId, UserId};
use futures_util::Stream;
use serde::Serialize;
use tokio::sync::{broadcast, mpsc};

use crate::auth::{Authenticated, authenticate_credential, hash_secret, session_cookie};
use crate::error::Error;
use crate::state::{AccessEvent, AppState, Credential};

/// What happened to a comment.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CommentEventKind {
    /// A comment or a reply was written.
    Created,
    /// The city answered it (or changed its answer).
    Answered,
    /// A coordinator hid it.
    Hidden,
    /// Its suggested rewrite was applied to the draft.
    Applied,
}

impl CommentEventKind {
    fn as_str(self) -> &'static str {
        match self {
            Self::Created => "created",
            Self::Answered => "answered",
            Self::Hidden => "hidden",
            Self::Applied => "applied",
        }
    }

    fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "created" => Self::Created,
            "answered" => Self::Answered,
            "hidden" => Self::Hidden,
            "applied" => Self::Applied,
            _ => return None,
        })
    }
}

/// A comment changed; published after the write committed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CommentEvent {
    /// What happened.
    pub kind: CommentEventKind,
    /// The consultation's city.
    pub city_id: CityId,
    /// The consultation.
    pub consultation_id: ConsultationId,
    /// The section commented on.
    pub section_id: SectionId,
    /// The comment.
    pub comment_id: CommentId,
}

impl CommentEvent {
    /// The event as the text other nodes receive: `kind:city:consultation:section:comment`.
    pub fn to_notice(&self) -> String {
        format!("{}:{}:{}:{}:{}", self.kind.as_str(), self.city_id, self.consultation_id, self.section_id, self.comment_id)
    }

    /// Reads what [`CommentEvent::to_notice`] wrote.
    pub fn from_notice(text: &str) -> Option<Self> {
        let mut parts = text.split(':');
        let event = Self {
            kind: CommentEventKind::parse(parts.next()?)?,
            city_id: parts.next()?.parse().ok()?,
            consultation_id: parts.next()?.parse().ok()?,
            section_id: parts.next()?.parse().ok()?,
            comment_id: parts.next()?.parse().ok()?,
        };
        parts.next().is_none().then_some(event)
    }
}

/// What a stream follows.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Scope {
    /// Every comment of a consultation (its page).
    Consultation(ConsultationId),
    /// Every comment on a section, whatever the consultation (the section editor).
    Section(SectionId),
}

impl Scope {
    fn covers(&self, event: &CommentEvent) -> bool {
        match self {
            Scope::Consultation(id) => event.consultation_id == *id,
            Scope::Section(id) => event.section_id == *id,
        }
    }
}

/// How often a quiet stream checks again that its credential and access still hold.
const RECHECK: Duration = Duration::from_secs(60);

/// Who listens: the request's credentials (kept to authenticate again), the user they
/// authenticated, and the credential as access events name it.
pub(crate) struct Listener {
    headers: HeaderMap,
    user: UserId,
    credential: Option<Credential>,
    expires_at: Option<chrono::DateTime<Utc>>,
}

impl Listener {
    /// The listener of a request that authenticated as `auth`.
    pub(crate) fn new(headers: &HeaderMap, auth: &Authenticated) -> Self {
        let mut kept = HeaderMap::new();
        for name in [header::AUTHORIZATION, header::COOKIE] {
            for value in headers.get_all(&name) {
                kept.append(name.clone(), value.clone());
            }
        }
        let bearer = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().split_once(' '))
            .map(|(_, token)| Credential::ApiToken(hash_secret(token.trim())));
        let credential = bearer.or_else(|| session_cookie(headers).map(|s| Credential::Session(hash_secret(s))));
        Self { headers: kept, user: auth.user.id, credential, expires_at: auth.expires_at }
    }

    /// Whether the listener may still follow `scope`: its credential still authenticates the
    /// same user, and the access rule of the scope's REST reading still holds.
    async fn still_allowed(&self, state: &AppState, scope: Scope) -> bool {
        match authenticate_credential(state, &self.headers, None).await {
            Ok(Some(auth)) if auth.user.id == self.user => {
                crate::api::comment_events::may_follow(state, auth.user, scope).await.is_ok()
            }
            Ok(_) => false,
            Err(Error::Unauthorized) => false,
            Err(e) => {
                tracing::warn!(error = %e, "could not re-check a comment stream's credential; ending it");
                false
            }
        }
    }
}

/// The Server-Sent Events stream of `scope` for `listener`, whose access the caller checked.
///
/// It says `ready` first (the client fetches then, so nothing between its last fetch and the
/// stream is missed), then `comment` with a [`CommentEvent`] (JSON) for each change in
/// scope, and `resync` when it fell behind (fetch everything again). Before each event,
/// and every minute when quiet, it checks that the credential and access still hold; when
/// they do not, or when the credential ends (logout, revocation, expiry), it says `end` and
/// closes (a withdrawn invitation publishes an access event for its user, so that stream ends
/// at once). A comment line every 20 s keeps proxies from timing it out.
pub(crate) fn stream(state: AppState, listener: Listener, city: CityId, scope: Scope) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let comments = state.comment_events.subscribe();
    let access = state.access_events.subscribe();
    let (tx, rx) = mpsc::channel::<Event>(64);
    tokio::spawn(follow(state, listener, city, scope, comments, access, tx));
    let events = futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|e| (Ok::<Event, Infallible>(e), rx)) });
    Sse::new(events).keep_alive(KeepAlive::new().interval(Duration::from_secs(20)))
}

async fn follow(
    state: AppState,
    listener: Listener,
    city: CityId,
    scope: Scope,
    mut comments: broadcast::Receiver<CommentEvent>,
    mut access: broadcast::Receiver<AccessEvent>,
    tx: mpsc::Sender<Event>,
) {
    let end = || Event::default().event("end").data("{}");
    let expiry = listener.expires_at.map(|at| (at - Utc::now()).to_std().unwrap_or_default());
    let expired = async move {
        match expiry {
            Some(after) => tokio::time::sleep(after).await,
            None => std::future::pending().await,
        }
    };
    tokio::pin!(expired);
    let mut recheck = tokio::time::interval_at(tokio::time::Instant::now() + RECHECK, RECHECK);
    if tx.send(Event::default().event("ready").data("{}")).await.is_err() {
        return;
    }
    loop {
        let check = tokio::select! {
            _ = tx.closed() => return,
            _ = &mut expired => {
                let _ = tx.send(end()).await;
                return;
            }
            _ = recheck.tick() => true,
            event = comments.recv() => match event {
                Ok(event) if event.city_id == city && scope.covers(&event) => {
                    if !listener.still_allowed(&state, scope).await {
                        let _ = tx.send(end()).await;
                        return;
                    }
                    let Ok(data) = serde_json::to_string(&event) else { continue };
                    if tx.send(Event::default().event("comment").data(data)).await.is_err() {
                        return;
                    }
                    false
                }
                Ok(_) => false,
                Err(broadcast::error::RecvError::Lagged(_)) => {
                    if tx.send(Event::default().event("resync").data("{}")).await.is_err() {
                        return;
                    }
                    true
                }
                Err(broadcast::error::RecvError::Closed) => return,
            },
            event = access.recv() => match event {
                Ok(AccessEvent::Credential(ended)) if Some(&ended) == listener.credential.as_ref() => {
                    let _ = tx.send(end()).await;
                    return;
                }
                Ok(AccessEvent::User(u)) => u == listener.user,
                Ok(AccessEvent::City(c)) => c == city,
                Ok(AccessEvent::Credential(_)) => false,
                Err(broadcast::error::RecvError::Lagged(_)) => true,
                Err(broadcast::error::RecvError::Closed) => false,
            },
        };
        if check && !listener.still_allowed(&state, scope).await {
            let _ = tx.send(end()).await;
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notices_round_trip() {
        let event = CommentEvent {
            kind: CommentEventKind::Answered,
            city_id: CityId::new(),
            consultation_id: ConsultationId::new(),
            section_id: SectionId::new(),
            comment_id: CommentId::new(),
        };
        assert_eq!(CommentEvent::from_notice(&event.to_notice()), Some(event.clone()));
        assert_eq!(CommentEvent::from_notice("answered:x"), None);
        assert_eq!(CommentEvent::from_notice(&format!("{}:extra", event.to_notice())), None);
        assert_eq!(CommentEvent::from_notice(&event.to_notice().replacen("answered", "deleted", 1)), None);
    }
}
