//! Document ingest: a peer's sync message is read, its changes split, checked against the
//! change graph and staged (or held until their dependencies arrive), refused ones answered.

use automerge::sync::Message;
use automerge::{Change, ChangeHash};

use super::durability::{start_materialize, Doc};
use super::relay::Why;
use super::{Access, ConnId, Effect, Engine, Millis};
use crate::graph::Refusal;
use crate::protocol;
use crate::storage;
use crate::wire::WireMessage;
use crate::DocumentId;

impl Engine {
    pub(super) fn process_sync(
        &mut self,
        _now: Millis,
        conn: ConnId,
        doc_id: DocumentId,
        data: Vec<u8>,
        is_request: bool,
        out: &mut Vec<Effect>,
    ) {
        let message = match Message::decode(&data) {
            Ok(m) => m,
            Err(e) => return self.fail(conn, format!("invalid sync message: {e}"), out),
        };
        if !protocol::blooms_are_sane(&message) {
            return self.fail(conn, "invalid sync message: unusable bloom filter".into(), out);
        }
        let peer_id = self.config.peer_id.clone();
        let max_pending = self.config.max_pending;
        let max_doc_bytes = self.config.max_doc_bytes;
        let (Some(c), Some(doc)) = (self.conns.get_mut(&conn), self.docs.get_mut(&doc_id)) else { return };
        let Some(pd) = c.docs.get_mut(&doc_id) else { return };
        let remote = c.remote.clone().unwrap_or_default();
        doc.peers.insert(conn);
        let view = doc.view();
        // automerge's `receive` takes a peer's heads equal to ours for "they know our heads"
        // and then stays silent. They know our *changes*, but learn that we have theirs
        // (automerge-repo's "synced", the app's "saved") only from a message of ours with
        // those heads, and a held relay means our heads moved without one: keep what we
        // really told them, so the reply to this message is that message.
        let told = self.held.contains_key(&(conn, doc_id)).then(|| pd.sync.last_sent_heads.clone());
        protocol::receive(&view, &mut pd.sync, &message);
        if let Some(told) = told {
            pd.sync.last_sent_heads = told;
        }

        let before = doc.graph.len();
        let mut refusal: Option<String> = None;
        let mut late = Vec::new();
        if !message.changes.is_empty() {
            if pd.access != Some(Access::Write) || pd.refused {
                if !pd.refused {
                    refusal = Some("read-only: you may not change this document".into());
                }
            } else {
                let mut incoming = Vec::new();
                for chunk in message.changes.iter() {
                    match storage::split_changes(chunk) {
                        Ok(changes) => incoming.extend(changes),
                        Err(e) => {
                            refusal = Some(format!("refused: {e}"));
                            break;
                        }
                    }
                }
                if refusal.is_none() {
                    let (result, failed) = accept_changes(doc, conn, incoming, max_pending, max_doc_bytes);
                    refusal = result.err().map(|r| format!("refused: {r}"));
                    late = failed;
                }
            }
        }
        if let Some(reason) = refusal {
            if !pd.refused {
                self.roster_dirty.insert(doc_id);
            }
            pd.refused = true;
            if !pd.sync.read_only {
                pd.sync.read_only = true;
                pd.sync.in_flight = false;
                pd.sync.have_responded = false;
            }
            self.stats.changes_refused += 1;
            out.push(Effect::Refused { doc: doc_id, conn, reason: reason.clone() });
            out.push(Effect::Send { conn, frame: WireMessage::Error { message: reason }.encode() });
        }
        let staged = doc.graph.len() > before;
        if staged {
            // Their heads we now hold are shared: our `have` stops covering them.
            protocol::note_staged(&doc.graph, &mut pd.sync);
            self.stats.changes_accepted += (doc.graph.len() - before) as u64;
            self.flush(doc_id, out);
            self.refuse_late(doc_id, late, out);
            // The reply (and the relay) waits until the changes are durable.
            return;
        }
        // A peer whose heads differ from ours only by changes of its own that we are still
        // storing needs no reply now: automerge would answer with our unchanged heads, it
        // would answer that, and so on until the store completes. The relay once they are
        // durable is the reply. (Off with coalescing: `coalesce_ms: 0` answers every message
        // as automerge does.)
        let waiting_for_our_store = self.config.coalesce_ms > 0
            && message.changes.is_empty()
            && message.need.is_empty()
            && pd.sync.have_responded
            && !self.held.contains_key(&(conn, doc_id))
            && pd.sync.their_heads.as_ref().is_some_and(|theirs| {
                theirs.iter().all(|h| doc.graph.has(h)) && theirs.iter().any(|h| !doc.graph.has_durable(h))
            })
            && pd.sync.last_sent_heads == doc.graph.durable_heads();
        // A new peer that needs the whole document is best served by a fresh snapshot, once
        // enough is new: 200 changes, or a sixteenth of the history (a snapshot costs
        // O(document), so peers arriving one after another on a long history cost a constant
        // per edit, not a full rebuild each).
        let new_peer = pd.sync.their_heads.as_deref() == Some(&[]);
        if new_peer && doc.since_snapshot > (doc.graph.durable_len() / 16).max(200) {
            start_materialize(doc_id, doc, out);
        }
        // While something is held for them, an answer that asks for nothing gets no reply of
        // its own: what is held goes out at its time with everything since (replying now
        // would be one message per round trip again, see `relay.rs`).
        let held_answers_it = self.config.coalesce_ms > 0
            && message.changes.is_empty()
            && message.need.is_empty()
            && !is_request
            && !pd.sync.needs_reset
            && self.held.contains_key(&(conn, doc_id));
        let _ = (peer_id, remote);
        if !waiting_for_our_store && !held_answers_it {
            self.sync_now(conn, doc_id, Why::Reply, out);
        }
        self.refuse_late(doc_id, late, out);
    }

    /// Refuses waiting changes that failed their checks once their dependencies arrived:
    /// their sender gets the `error` and becomes read-only for the document, as if they had
    /// failed on arrival.
    pub(super) fn refuse_late(&mut self, doc_id: DocumentId, late: Vec<(ConnId, Refusal)>, out: &mut Vec<Effect>) {
        for (sender, reason) in late {
            let reason = format!("refused: {reason}");
            self.stats.changes_refused += 1;
            out.push(Effect::Refused { doc: doc_id, conn: sender, reason: reason.clone() });
            let Some(c) = self.conns.get_mut(&sender) else { continue };
            let remote = c.remote.clone().unwrap_or_default();
            let Some(pd) = c.docs.get_mut(&doc_id) else { continue };
            if pd.refused {
                continue;
            }
            pd.refused = true;
            self.roster_dirty.insert(doc_id);
            pd.sync.read_only = true;
            pd.sync.in_flight = false;
            pd.sync.have_responded = false;
            out.push(Effect::Send { conn: sender, frame: WireMessage::Error { message: reason }.encode() });
            let _ = remote;
            if self.docs.get(&doc_id).is_some_and(|d| d.peers.contains(&sender)) {
                self.sync_now(sender, doc_id, Why::Other, out);
            }
        }
    }
}

/// Checks and stages incoming changes from `conn`; returns the first refusal of one of them,
/// and the waiting changes (with their senders) that failed their checks once these
/// completed their dependencies.
pub(super) fn accept_changes(
    doc: &mut Doc,
    conn: ConnId,
    incoming: Vec<Change>,
    max_pending: usize,
    max_bytes: usize,
) -> (Result<(), Refusal>, Vec<(ConnId, Refusal)>) {
    let mut late = Vec::new();
    for change in incoming {
        let hash = change.hash();
        if doc.graph.index_of(&hash).is_some() || doc.pending.contains_key(&hash) {
            continue;
        }
        // A change refused before, or built on one: refused again at once, whoever sends it.
        if doc.refused.contains(&hash) || change.deps().iter().any(|d| doc.refused.contains(d)) {
            refuse_hash(doc, hash);
            return (Err(Refusal::AlreadyRefused), late);
        }
        // Waiting changes count too: a peer may not park a document's worth of bytes in
        // changes whose dependencies never come.
        if doc.graph.total_bytes() + doc.pending_bytes + change.raw_bytes().len() > max_bytes {
            return (Err(Refusal::TooLarge), late);
        }
        let checked = match doc.graph.check(change.clone(), doc.schema) {
            Ok(c) => c,
            Err(r) => {
                refuse_hash(doc, hash);
                return (Err(r), late);
            }
        };
        match checked {
            Some(checked) => {
                doc.graph.append(checked);
                // What waited for it may follow now (and a later change of this message may
                // depend on those).
                late.extend(retry_pending(doc, doc.graph.len() - 1));
            }
            None => {
                if doc.pending.len() >= max_pending {
                    return (Err(Refusal::TooLarge), late);
                }
                doc.add_pending(change, Some(conn));
            }
        }
    }
    (Ok(()), late)
}

/// Appends the waiting changes whose dependencies have all arrived, starting from what
/// depends on the graph's nodes `from..` (the ones just appended) and following on through
/// the dependants index: linear in what it resolves. Returns the ones that fail their
/// checks, with the connection that sent them; a change another node stored (it has no
/// sender here) is taken as that node accepted it.
pub(super) fn retry_pending(doc: &mut Doc, from: usize) -> Vec<(ConnId, Refusal)> {
    let mut late = Vec::new();
    if doc.pending.is_empty() {
        return late;
    }
    let mut arrived: Vec<ChangeHash> = doc.graph.nodes()[from.min(doc.graph.len())..].iter().map(|n| n.hash).collect();
    while let Some(arrived_hash) = arrived.pop() {
        let Some(waiting) = doc.dependants.remove(&arrived_hash) else { continue };
        for hash in waiting {
            let ready = doc.pending.get(&hash).is_some_and(|c| c.deps().iter().all(|d| doc.graph.index_of(d).is_some()));
            if !ready {
                // Still waiting for another dependency: listed under that one too.
                continue;
            }
            let (change, sender) = doc.take_pending(&hash).expect("checked above");
            match (doc.graph.check(change.clone(), doc.schema), sender) {
                (Ok(Some(checked)), _) => {
                    doc.graph.append(checked);
                    arrived.push(hash);
                }
                // Unreachable: its dependencies are all here.
                (Ok(None), _) => {}
                (Err(r), Some(sender)) => {
                    refuse_hash(doc, hash);
                    late.push((sender, r));
                }
                (Err(_), None) => {
                    if doc.graph.append_unchecked(change).is_some() {
                        arrived.push(hash);
                    }
                }
            }
        }
    }
    late
}

/// Remembers a refused change, and drops the waiting changes built on it (they could never
/// be accepted), remembering them as refused too.
pub(super) fn refuse_hash(doc: &mut Doc, hash: ChangeHash) {
    let mut stack = vec![hash];
    while let Some(h) = stack.pop() {
        doc.refused.insert(h);
        let dependants = doc.dependants.remove(&h).unwrap_or_default();
        for d in dependants {
            if doc.take_pending(&d).is_some() {
                stack.push(d);
            }
        }
    }
}
