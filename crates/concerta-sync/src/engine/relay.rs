//! What goes to a peer and when: sync messages built from the change graph, sent at once
//! when the peer is idle and held (coalesced) while it has not answered the changes we
//! last sent it.
//!
//! Why: a client applies every sync message it receives in O(document) (automerge 3), and
//! answers each one. Relaying every durable change at once to ten busy peers makes each of
//! them apply, and answer, one message per change. Holding what becomes durable for a peer
//! until it answered our previous changes (its answer's reply carries everything held), or
//! until [`Config::coalesce_ms`](super::Config::coalesce_ms) passed, bounds that to one
//! message per round trip under load, while a sparse edit still goes out at once.

use super::durability::Doc;
use super::peers::PeerDoc;
use super::{ConnId, Effect, Engine, Millis};
use crate::protocol;
use crate::wire::WireMessage;
use crate::DocumentId;

/// What made a sync message go to a peer (counted in [`Stats`](super::Stats)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Why {
    /// Changes became durable and went out at once.
    Relay,
    /// Held changes whose time came.
    Released,
    /// The reply to the peer's own message.
    Reply,
    /// An access change or a refusal.
    Other,
}

/// The next sync message for a peer as a frame, if it needs one, and the changes it carries;
/// notes whether it carries changes (then the peer owes us an answer).
pub(super) fn sync_frame(
    peer_id: &str,
    remote: String,
    doc_id: DocumentId,
    doc: &Doc,
    pd: &mut PeerDoc,
) -> Option<(Vec<u8>, usize)> {
    let message = protocol::generate(&doc.view(), &mut pd.sync)?;
    pd.awaiting |= !message.changes.is_empty();
    let changes = message.changes.len();
    let frame = WireMessage::Sync { sender_id: peer_id.to_owned(), target_id: remote, document_id: doc_id, data: message.encode() }
        .encode();
    Some((frame, changes))
}

impl Engine {
    /// Sends `conn` what it lacks of `doc_id` now (and with it whatever was held for it).
    pub(super) fn sync_now(&mut self, conn: ConnId, doc_id: DocumentId, why: Why, out: &mut Vec<Effect>) {
        self.held.remove(&(conn, doc_id));
        let (Some(c), Some(doc)) = (self.conns.get_mut(&conn), self.docs.get(&doc_id)) else { return };
        let remote = c.remote.clone().unwrap_or_default();
        let Some(pd) = c.docs.get_mut(&doc_id) else { return };
        if let Some((frame, changes)) = sync_frame(&self.config.peer_id, remote, doc_id, doc, pd) {
            self.count(why, changes);
            out.push(Effect::Send { conn, frame });
        }
    }

    pub(super) fn count(&mut self, why: Why, changes: usize) {
        let s = &mut self.stats;
        *match why {
            Why::Relay => &mut s.sync_relayed,
            Why::Released => &mut s.sync_released,
            Why::Reply => &mut s.sync_replies,
            Why::Other => &mut s.sync_other,
        } += 1;
        s.changes_out += changes as u64;
    }

    /// Relays what became durable to `conn`: at once if it answered what we sent it last,
    /// else held until it answers or `coalesce_ms` passed.
    pub(super) fn relay(&mut self, conn: ConnId, doc_id: DocumentId, out: &mut Vec<Effect>) {
        let awaiting = self.conns.get(&conn).and_then(|c| c.docs.get(&doc_id)).is_some_and(|pd| pd.awaiting);
        if awaiting && self.config.coalesce_ms > 0 {
            let at = self.now + self.config.coalesce_ms;
            if let std::collections::hash_map::Entry::Vacant(e) = self.held.entry((conn, doc_id)) {
                e.insert(at);
            }
            self.stats.relays_held += 1;
            return;
        }
        self.sync_now(conn, doc_id, Why::Relay, out);
    }

    /// Sends what was held and whose time is up.
    pub(super) fn release_held(&mut self, now: Millis, out: &mut Vec<Effect>) {
        let due: Vec<(ConnId, DocumentId)> = self.held.iter().filter(|(_, at)| **at <= now).map(|(k, _)| *k).collect();
        for (conn, doc_id) in due {
            self.sync_now(conn, doc_id, Why::Released, out);
        }
    }

    /// Asks the runtime to wake us for the earliest held relay, unless already asked.
    pub(super) fn ask_wake(&mut self, out: &mut Vec<Effect>) {
        // Forget what went away (a closed connection, an evicted document).
        if !self.held.is_empty() {
            let (conns, docs) = (&self.conns, &self.docs);
            self.held.retain(|(conn, doc), _| conns.contains_key(conn) && docs.contains_key(doc));
        }
        let Some(earliest) = self.held.values().copied().min() else { return };
        if self.wake_at.is_none_or(|w| earliest < w) {
            self.wake_at = Some(earliest);
            out.push(Effect::Wake { at: earliest });
        }
    }
}
