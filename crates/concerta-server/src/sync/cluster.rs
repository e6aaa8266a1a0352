//! Several nodes on one Postgres: each follows what the others store (`LISTEN` on the chunk
//! channel) so that its peers get their edits, and the access changes they make (`LISTEN` on
//! the access channel) so that a member removed on one node loses their live sessions on
//! every node, and the consultation comments they change (`LISTEN` on the consultations
//! channel) so that comment streams on every node hear of them, and who is in each document
//! and where their cursors are (`LISTEN` on the presence channel, see [`PresenceNotice`]).
//! On SQLite (one node) it
//! follows the access changes another process (the CLI) leaves in the database, polled twice
//! a second.

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use concerta_store::{Database, MAX_NOTIFY_PAYLOAD, Notice};
use concerta_sync::{DocumentId, Event, PeerPresence, presence};
use tokio::sync::{broadcast, mpsc};

use super::runtime::Command;
use crate::live::CommentEvent;
use crate::state::AccessEvent;

/// Follows what the other nodes store (Postgres `LISTEN`), so peers here get their edits.
/// Never exits on an error: it reconnects and has every document in memory re-read.
/// Comment changes go to `comments`, for this node's comment streams.
pub(super) async fn listen_to_other_nodes(
    db: Database,
    node: String,
    tx: mpsc::Sender<Command>,
    comments: broadcast::Sender<CommentEvent>,
) {
    let mut interrupted = false;
    loop {
        let mut listener = match db.doc_listener().await {
            Ok(Some(l)) => l,
            // SQLite: one node; only the CLI's access changes to follow.
            Ok(None) => return follow_access_from_outside(db, tx).await,
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen to other nodes; retrying");
                tokio::time::sleep(Duration::from_secs(2)).await;
                interrupted = true;
                continue;
            }
        };
        if interrupted && tx.send(Command::ResyncAll).await.is_err() {
            return;
        }
        loop {
            match listener.next().await {
                Ok(None) => {
                    tracing::warn!("notices from other nodes interrupted; re-reading documents");
                    if tx.send(Command::ResyncAll).await.is_err() {
                        return;
                    }
                }
                Ok(Some(Notice::Chunk(notice))) if notice.node == node => {}
                Ok(Some(Notice::Chunk(notice))) => {
                    let Ok(doc) = notice.doc.parse::<DocumentId>() else { continue };
                    if tx.send(Command::RemoteRow { doc, row: notice.row }).await.is_err() {
                        return;
                    }
                }
                // Ours were acted on when published.
                Ok(Some(Notice::Access { node: from, .. })) if from == node => {}
                Ok(Some(Notice::Access { event, .. })) => match AccessEvent::from_notice(&event) {
                    Some(event) => {
                        if tx.send(Command::RemoteAccess(event)).await.is_err() {
                            return;
                        }
                    }
                    None => tracing::warn!(%event, "unreadable access notice from another node"),
                },
                Ok(Some(Notice::Consultation { node: from, .. })) if from == node => {}
                Ok(Some(Notice::Consultation { event, .. })) => match CommentEvent::from_notice(&event) {
                    // Nobody listening here is fine.
                    Some(event) => {
                        let _ = comments.send(event);
                    }
                    None => tracing::warn!(%event, "unreadable comment notice from another node"),
                },
                Ok(Some(Notice::Presence { node: from, .. })) if from == node => {}
                Ok(Some(Notice::Presence { node: from, event })) => match PresenceNotice::decode(&event) {
                    Some(notice) => {
                        if tx.send(Command::Event(notice.into_event(from))).await.is_err() {
                            return;
                        }
                    }
                    None => tracing::warn!(%from, "unreadable presence notice from another node"),
                },
                Err(e) => {
                    tracing::warn!(error = %e, "notices from other nodes interrupted; reconnecting");
                    interrupted = true;
                    break;
                }
            }
        }
    }
}

/// How often a SQLite server looks for access changes left by the CLI.
const OUTSIDE_POLL: Duration = Duration::from_millis(500);

/// SQLite: follows the access changes that another process (`concerta admin revoke-token`)
/// leaves in the database, so a token revoked beside a running server also loses its live
/// connections within a second. Notices older than this server are not replayed.
async fn follow_access_from_outside(db: Database, tx: mpsc::Sender<Command>) {
    let mut seen = None;
    let mut ticks = tokio::time::interval(OUTSIDE_POLL);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        if tx.is_closed() {
            return;
        }
        let Some(after) = seen else {
            match db.newest_access_notice().await {
                Ok(newest) => seen = Some(newest),
                Err(e) => tracing::warn!(error = %e, "cannot read access notices; retrying"),
            }
            continue;
        };
        let notices = match db.access_notices_after(after).await {
            Ok(notices) => notices,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read access notices; retrying");
                continue;
            }
        };
        for (id, event) in notices {
            seen = Some(id);
            match AccessEvent::from_notice(&event) {
                Some(event) => {
                    if tx.send(Command::RemoteAccess(event)).await.is_err() {
                        return;
                    }
                }
                None => tracing::warn!(%event, "unreadable access notice from another process"),
            }
        }
    }
}

/// Presence shared between nodes (Postgres only): who is in a document on a node, and the
/// ephemeral messages (cursors) of its peers there, as `NOTIFY` payloads. Binary parts are
/// base64url, so a peer's own ids cannot break the format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum PresenceNotice {
    /// `r|doc|roster` (the engine's CBOR roster).
    Roster { doc: DocumentId, roster: Vec<PeerPresence> },
    /// `e|doc|count|sender|session|data`.
    Ephemeral { doc: DocumentId, sender_id: String, session_id: String, count: u64, data: Vec<u8> },
}

impl PresenceNotice {
    /// The payload, unless it is too large for a `NOTIFY` (then it is not shared).
    pub(super) fn encode(&self) -> Option<String> {
        let event = match self {
            Self::Roster { doc, roster } => format!("r|{doc}|{}", B64.encode(presence::encode_roster(roster))),
            Self::Ephemeral { doc, sender_id, session_id, count, data } => format!(
                "e|{doc}|{count}|{}|{}|{}",
                B64.encode(sender_id),
                B64.encode(session_id),
                B64.encode(data)
            ),
        };
        // The node id and its separator go in front.
        (event.len() + 64 <= MAX_NOTIFY_PAYLOAD).then_some(event)
    }

    pub(super) fn decode(event: &str) -> Option<Self> {
        let text = |part: &str| B64.decode(part).ok().and_then(|b| String::from_utf8(b).ok());
        let mut parts = event.split('|');
        let kind = parts.next()?;
        let doc: DocumentId = parts.next()?.parse().ok()?;
        let notice = match kind {
            "r" => {
                let bytes = B64.decode(parts.next()?).ok()?;
                let roster = presence::decode_roster(&bytes)?;
                Self::Roster { doc, roster }
            }
            "e" => Self::Ephemeral {
                doc,
                count: parts.next()?.parse().ok()?,
                sender_id: text(parts.next()?)?,
                session_id: text(parts.next()?)?,
                data: B64.decode(parts.next()?).ok()?,
            },
            _ => return None,
        };
        parts.next().is_none().then_some(notice)
    }

    fn into_event(self, node: String) -> Event {
        match self {
            Self::Roster { doc, roster } => Event::RemotePresence { node, doc, roster },
            Self::Ephemeral { doc, sender_id, session_id, count, data } => {
                Event::RemoteEphemeral { doc, sender_id, session_id, count, data }
            }
        }
    }
}

/// Sends what the engine shares with the other nodes, in order, one `NOTIFY` each; what
/// cannot keep up is dropped (presence is repeated every tick, cursors move again).
pub(super) async fn share_presence(db: Database, node: String, mut rx: mpsc::Receiver<String>) {
    while let Some(event) = rx.recv().await {
        if let Err(e) = db.notify_presence(&node, &event).await {
            tracing::debug!(error = %e, "could not share presence with the other nodes");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use concerta_sync::Access;

    #[test]
    fn presence_notices_read_back_as_written() {
        let doc = DocumentId::random();
        let roster = vec![PeerPresence { peer_id: "p|1".into(), user_id: "u1".into(), name: "Ana | Cultura".into(), access: Access::Write }];
        for notice in [
            PresenceNotice::Roster { doc, roster },
            PresenceNotice::Roster { doc, roster: Vec::new() },
            PresenceNotice::Ephemeral { doc, sender_id: "peer|x".into(), session_id: "s".into(), count: 7, data: vec![0, 1, 255] },
        ] {
            let event = notice.encode().expect("small enough");
            assert_eq!(PresenceNotice::decode(&event), Some(notice));
        }
        assert_eq!(PresenceNotice::decode("e|nonsense"), None);
        let huge = PresenceNotice::Ephemeral { doc, sender_id: "p".into(), session_id: "s".into(), count: 1, data: vec![7; 8_000] };
        assert_eq!(huge.encode(), None, "too large for a NOTIFY: not shared");
    }
}
