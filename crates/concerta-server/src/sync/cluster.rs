//! Several nodes on one Postgres: each follows what the others store (`LISTEN` on the chunk
//! channel) so that its peers get their edits, and the access changes they make (`LISTEN` on
//! the access channel) so that a member removed on one node loses their live sessions on
//! every node, and the consultation comments they change (`LISTEN` on the consultations
//! channel) so that comment streams on every node hear of them. On SQLite (one node) it
//! follows the access changes another process (the CLI) leaves in the database, polled twice
//! a second.

use std::time::Duration;

use concerta_store::{Database, Notice};
use concerta_sync::DocumentId;
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
