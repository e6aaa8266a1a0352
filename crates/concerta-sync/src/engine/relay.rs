//! What goes to a peer and when: sync messages built from the change graph, sent at once
//! when the peer has had nothing from us for a while, held (coalesced) into one message per
//! window while changes keep coming.
//!
//! Why: a client applies every sync message with changes it receives in O(document)
//! (automerge 3), and answers each one. Relaying every durable change at once to ten busy
//! peers makes each of them apply, and answer, one message per change. Releasing what was
//! held when the peer answered our previous message still gave one message per round trip,
//! and a JS client answers in milliseconds: with ten writers, nearly one message per change.
//! So a peer's messages are throttled by time, as automerge-repo's server throttles a
//! document's sync (100 ms there, 50 ms here by default: ten writers each waiting for its
//! previous edit to reach the others got fewer edits through with 100 ms than against the JS
//! server; see `bench/RESULTS.md`):
//! - a relay goes out at once when the previous relay to that peer came at least [`LEAD`]
//!   of [`Config::coalesce_ms`](super::Config::coalesce_ms) before, or its last message went
//!   a window ago: a sparse edit, even one every `coalesce_ms` with some jitter, is not
//!   delayed (the gap is measured between relays, so one held relay does not make every
//!   later one of a steady stream late);
//! - otherwise it is held until `coalesce_ms` after the last message to that peer, and
//!   everything that became durable meanwhile goes out in that one message;
//! - the peer's answers do not release what is held (that was the round trip), and a reply
//!   that would tell the peer nothing new is not sent ([`protocol::generate_reply`]).

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

/// A relay goes out at once when the previous relay to that peer came at least this share of
/// the window before (3/4: a sparse stream of one edit per window, with jitter, is never held).
pub(super) const LEAD: (u64, u64) = (3, 4);

/// The next sync message for a peer as a frame, if it needs one, and the changes it carries;
/// notes when it went. A reply leaves out a message that would tell the peer nothing new.
pub(super) fn sync_frame(
    peer_id: &str,
    remote: String,
    doc_id: DocumentId,
    doc: &Doc,
    pd: &mut PeerDoc,
    now: Millis,
    reply: bool,
) -> Option<(Vec<u8>, usize)> {
    let message = if reply {
        protocol::generate_reply(&doc.view(), &mut pd.sync)?
    } else {
        protocol::generate(&doc.view(), &mut pd.sync)?
    };
    pd.last_sent = Some(now);
    let changes = message.changes.len();
    let frame = WireMessage::Sync { sender_id: peer_id.to_owned(), target_id: remote, document_id: doc_id, data: message.encode() }
        .encode();
    Some((frame, changes))
}

impl Engine {
    /// Sends `conn` what it lacks of `doc_id` now (and with it whatever was held for it).
    /// What was held stays held if no message went out and the peer has not heard our
    /// durable heads (see [`Engine::unannounced`]).
    pub(super) fn sync_now(&mut self, conn: ConnId, doc_id: DocumentId, why: Why, out: &mut Vec<Effect>) {
        let held = self.held.remove(&(conn, doc_id));
        let (Some(c), Some(doc)) = (self.conns.get_mut(&conn), self.docs.get(&doc_id)) else { return };
        let remote = c.remote.clone().unwrap_or_default();
        let Some(pd) = c.docs.get_mut(&doc_id) else { return };
        let reply = why == Why::Reply && self.config.coalesce_ms > 0;
        match sync_frame(&self.config.peer_id, remote, doc_id, doc, pd, self.now, reply) {
            Some((frame, changes)) => {
                self.count(why, changes);
                out.push(Effect::Send { conn, frame });
            }
            None => {
                if let Some(at) = held
                    && pd.sync.last_sent_heads != doc.graph.durable_heads()
                {
                    self.held.insert((conn, doc_id), at);
                }
            }
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

    /// Relays what became durable to `conn`: at once unless the previous relay to it came
    /// less than [`LEAD`] of a window ago and its last message went less than a window ago;
    /// then held until a window after that message (see the module docs).
    pub(super) fn relay(&mut self, conn: ConnId, doc_id: DocumentId, out: &mut Vec<Effect>) {
        let window = self.config.coalesce_ms;
        let now = self.now;
        let Some(pd) = self.conns.get_mut(&conn).and_then(|c| c.docs.get_mut(&doc_id)) else { return };
        // Measured between relays, not from the last message: a stream of one edit per
        // window whose relay was once held would otherwise stay that late for good.
        let previous = pd.last_relay.replace(now);
        if window > 0 {
            if self.held.contains_key(&(conn, doc_id)) {
                self.stats.relays_held += 1;
                return;
            }
            let burst = previous.is_some_and(|p| now.saturating_sub(p) * LEAD.1 < window * LEAD.0);
            if burst
                && let Some(last) = pd.last_sent
                && last + window > now
            {
                self.held.insert((conn, doc_id), last + window);
                self.stats.relays_held += 1;
                return;
            }
        }
        self.sync_now(conn, doc_id, Why::Relay, out);
    }

    /// The peers that would never hear of what became durable: what we last told them is not
    /// the document's durable heads, yet nothing is held for them with a wake asked for (a
    /// message that went out updates what we told them). Always empty between events; the
    /// engine tests check it after every event.
    #[doc(hidden)]
    pub fn unannounced(&self) -> Vec<(ConnId, DocumentId)> {
        let mut stale = Vec::new();
        for (&conn, c) in &self.conns {
            if c.closed {
                continue;
            }
            for (&doc_id, pd) in &c.docs {
                let Some(doc) = self.docs.get(&doc_id) else { continue };
                if !doc.peers.contains(&conn) || !pd.sync.have_responded {
                    continue;
                }
                let waking = self.held.get(&(conn, doc_id)).is_some_and(|at| self.wake_at.is_some_and(|w| w <= *at));
                if pd.sync.last_sent_heads != doc.graph.durable_heads() && !waking {
                    stale.push((conn, doc_id));
                }
            }
        }
        stale
    }

    /// Sends what was held and whose time is up.
    pub(super) fn release_held(&mut self, now: Millis, out: &mut Vec<Effect>) {
        let due: Vec<(ConnId, DocumentId)> = self.held.iter().filter(|(_, at)| **at <= now).map(|(k, _)| *k).collect();
        for (conn, doc_id) in due {
            self.sync_now(conn, doc_id, Why::Released, out);
        }
    }

    /// Asks the runtime to wake us for the earliest held relay or roster, unless already asked.
    pub(super) fn ask_wake(&mut self, out: &mut Vec<Effect>) {
        // Forget what went away (a closed connection, an evicted document).
        if !self.held.is_empty() {
            let (conns, docs) = (&self.conns, &self.docs);
            self.held.retain(|(conn, doc), _| conns.contains_key(conn) && docs.contains_key(doc));
        }
        let relays = self.held.values().copied().min();
        let Some(earliest) = relays.into_iter().chain(self.next_roster()).min() else { return };
        if self.wake_at.is_none_or(|w| earliest < w) {
            self.wake_at = Some(earliest);
            out.push(Effect::Wake { at: earliest });
        }
    }
}
