//! Document ingest: a peer's sync message is read, its changes split, checked against the
//! change graph and staged (or held until their dependencies arrive), refused ones answered.

use automerge::sync::Message;
use automerge::{Change, ChangeHash};

use super::durability::{start_materialize, Doc};
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
        protocol::receive(&view, &mut pd.sync, &message);

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
            self.stats.changes_accepted += (doc.graph.len() - before) as u64;
            self.flush(doc_id, out);
            self.refuse_late(doc_id, late, out);
            // The reply (and the relay) waits until the changes are durable.
            return;
        }
        let view = doc.view();
        if let Some(reply) = protocol::generate(&view, &mut pd.sync) {
            let _ = is_request;
            out.push(Effect::Send {
                conn,
                frame: WireMessage::Sync { sender_id: peer_id, target_id: remote, document_id: doc_id, data: reply.encode() }
                    .encode(),
            });
        }
        // A new peer that needs the whole document is best served by a fresh snapshot.
        let new_peer = pd.sync.their_heads.as_deref() == Some(&[]);
        if new_peer && doc.since_snapshot > 200 {
            start_materialize(doc_id, doc, out);
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
            if let Some(doc) = self.docs.get(&doc_id).filter(|d| d.peers.contains(&sender)) {
                if let Some(reply) = protocol::generate(&doc.view(), &mut pd.sync) {
                    let msg = WireMessage::Sync {
                        sender_id: self.config.peer_id.clone(),
                        target_id: remote,
                        document_id: doc_id,
                        data: reply.encode(),
                    };
                    out.push(Effect::Send { conn: sender, frame: msg.encode() });
                }
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
    let mut progressed = false;
    for change in incoming {
        let hash = change.hash();
        if doc.graph.index_of(&hash).is_some() || doc.pending.contains_key(&hash) {
            continue;
        }
        if doc.graph.total_bytes() + change.raw_bytes().len() > max_bytes {
            return (Err(Refusal::TooLarge), late);
        }
        let checked = match doc.graph.check(change.clone(), doc.schema) {
            Ok(c) => c,
            Err(r) => return (Err(r), late),
        };
        match checked {
            Some(checked) => {
                doc.graph.append(checked);
                progressed = true;
            }
            None => {
                if doc.pending.len() >= max_pending {
                    return (Err(Refusal::TooLarge), late);
                }
                doc.pending.insert(hash, change);
                doc.pending_from.insert(hash, conn);
            }
        }
    }
    if progressed {
        late.extend(retry_pending(doc));
    }
    (Ok(()), late)
}

/// Appends the waiting changes whose dependencies have all arrived, until none is left
/// ready. Returns the ones that fail their checks, with the connection that sent them; a
/// change another node stored (it has no sender here) is taken as that node accepted it.
pub(super) fn retry_pending(doc: &mut Doc) -> Vec<(ConnId, Refusal)> {
    let mut late = Vec::new();
    let mut progressed = true;
    while progressed && !doc.pending.is_empty() {
        progressed = false;
        let ready: Vec<ChangeHash> = doc
            .pending
            .iter()
            .filter(|(_, c)| c.deps().iter().all(|d| doc.graph.index_of(d).is_some()))
            .map(|(h, _)| *h)
            .collect();
        for hash in ready {
            let change = doc.pending.remove(&hash).expect("listed above");
            let sender = doc.pending_from.remove(&hash);
            match (doc.graph.check(change.clone(), doc.schema), sender) {
                (Ok(Some(checked)), _) => {
                    doc.graph.append(checked);
                    progressed = true;
                }
                // Unreachable: its dependencies are all here.
                (Ok(None), _) => {}
                (Err(r), Some(sender)) => late.push((sender, r)),
                (Err(_), None) => {
                    progressed |= doc.graph.append_unchecked(change).is_some();
                }
            }
        }
    }
    late
}
