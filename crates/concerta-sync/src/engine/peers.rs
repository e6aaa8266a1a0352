//! Peer handling: connections, the frames they send, their access per document, and
//! presence (ephemeral messages and the server's rosters).

use std::collections::HashMap;

use automerge::sync::State;

use super::{relay, Access, ConnId, Effect, Engine, Millis, TICK_MS};
use crate::presence::{self, Identity, PeerPresence, Verdict};
use crate::wire::{PeerMetadata, WireMessage};
use crate::DocumentId;
use super::durability::{Doc, Status};

pub(super) struct Bucket {
    pub(super) tokens: f64,
    pub(super) at: Millis,
}

impl Bucket {
    pub(super) fn new(burst: f64, now: Millis) -> Self {
        Self { tokens: burst, at: now }
    }

    pub(super) fn take(&mut self, now: Millis, rate: f64, burst: f64) -> bool {
        let elapsed = now.saturating_sub(self.at) as f64 / 1000.0;
        self.tokens = (self.tokens + elapsed * rate).min(burst);
        self.at = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

pub(super) enum Queued {
    Sync { data: Vec<u8>, is_request: bool },
}

pub(super) struct PeerDoc {
    /// `None` until the runtime decided.
    pub(super) access: Option<Access>,
    pub(super) queued: Vec<Queued>,
    pub(super) sync: State,
    /// A change of theirs was refused: read-only for this document from now on.
    pub(super) refused: bool,
    /// When the last sync message went to them (relays within a window of it are held).
    pub(super) last_sent: Option<Millis>,
    /// When changes last became durable for them (the gap to the next decides holding).
    pub(super) last_relay: Option<Millis>,
}

pub(super) struct Conn {
    pub(super) remote: Option<String>,
    pub(super) identity: Identity,
    /// The engine asked the runtime to close it: nothing more is taken from it.
    pub(super) closed: bool,
    pub(super) docs: HashMap<DocumentId, PeerDoc>,
    pub(super) frames: Bucket,
    pub(super) ephemeral: Bucket,
}

impl Engine {
    pub(super) fn on_frame(&mut self, now: Millis, conn: ConnId, data: Vec<u8>, out: &mut Vec<Effect>) {
        self.stats.frames_in += 1;
        self.stats.bytes_in += data.len() as u64;
        let (rate, burst) = (self.config.messages_per_sec, self.config.message_burst);
        let Some(c) = self.conns.get_mut(&conn).filter(|c| !c.closed) else { return };
        if !c.frames.take(now, rate, burst) {
            return self.fail(conn, "rate limit exceeded".into(), out);
        }
        let msg = match WireMessage::decode(&data) {
            Ok(m) => m,
            Err(e) => return self.fail(conn, format!("invalid message: {e}"), out),
        };
        let joined = c.remote.is_some();
        match msg {
            WireMessage::Join { sender_id, supported_protocol_versions, .. } => {
                if !supported_protocol_versions.is_empty()
                    && !supported_protocol_versions.iter().any(|v| v == "1")
                {
                    return self.fail(conn, "unsupported protocol version".into(), out);
                }
                // A peer id names cursors and presence: another user's live connection may
                // not take it. The same user reconnecting (a new socket before the old one
                // is noticed gone) may.
                let user = c.identity.user_id.clone();
                if let Some((owner, _)) = self.peer_ids.get(&sender_id)
                    && *owner != user
                {
                    return self.fail(conn, "peer id in use by another user".into(), out);
                }
                let previous = c.remote.replace(sender_id.clone());
                if let Some(previous) = previous {
                    self.release_peer_id(&previous);
                }
                self.peer_ids.entry(sender_id.clone()).or_insert((user, 0)).1 += 1;
                let reply = WireMessage::Peer {
                    sender_id: self.config.peer_id.clone(),
                    target_id: sender_id,
                    metadata: Some(PeerMetadata { storage_id: self.config.storage_id.clone(), is_ephemeral: false }),
                    selected_protocol_version: "1".into(),
                };
                self.send(conn, reply, out);
            }
            _ if !joined => self.fail(conn, "expected a join message first".into(), out),
            WireMessage::Request { document_id, data, .. } => {
                self.on_sync(now, conn, document_id, Queued::Sync { data, is_request: true }, out)
            }
            WireMessage::Sync { document_id, data, .. } => {
                self.on_sync(now, conn, document_id, Queued::Sync { data, is_request: false }, out)
            }
            WireMessage::Ephemeral { sender_id, count, session_id, document_id, data, .. } => {
                self.on_ephemeral(now, conn, document_id, sender_id, count, session_id, data, out)
            }
            WireMessage::Leave { .. } => self.close(conn, out),
            WireMessage::Peer { .. } => self.fail(conn, "unexpected peer message".into(), out),
            // Nothing to do: errors are the peer's to log; we keep no remote-heads
            // subscriptions and never ask peers for documents.
            WireMessage::Error { .. }
            | WireMessage::DocUnavailable { .. }
            | WireMessage::RemoteSubscriptionChange { .. }
            | WireMessage::RemoteHeadsChanged { .. } => {}
        }
    }

    pub(super) fn on_sync(&mut self, now: Millis, conn: ConnId, doc: DocumentId, msg: Queued, out: &mut Vec<Effect>) {
        let max_docs = self.config.max_docs_per_conn;
        let Some(c) = self.conns.get_mut(&conn) else { return };
        if !c.docs.contains_key(&doc) && c.docs.len() >= max_docs {
            return self.fail(conn, "too many documents on one connection".into(), out);
        }
        let pd = c.docs.entry(doc).or_insert_with(|| {
            out.push(Effect::CheckAccess { conn, doc });
            PeerDoc { access: None, queued: Vec::new(), sync: State::new(), refused: false, last_sent: None, last_relay: None }
        });
        match pd.access {
            None => {
                if pd.queued.len() < 64 {
                    pd.queued.push(msg);
                }
            }
            Some(Access::None) => {
                let remote = self.remote(conn);
                self.send(
                    conn,
                    WireMessage::DocUnavailable { sender_id: self.config.peer_id.clone(), target_id: remote, document_id: doc },
                    out,
                );
            }
            Some(_) => {
                pd.queued.push(msg);
                self.run_queue(now, conn, doc, out);
            }
        }
    }

    /// Processes a connection's queued messages for a document once access is granted and
    /// the document is loaded (or starts the load).
    pub(super) fn run_queue(&mut self, now: Millis, conn: ConnId, doc_id: DocumentId, out: &mut Vec<Effect>) {
        let doc = self.docs.entry(doc_id).or_insert_with(|| {
            out.push(Effect::Load { doc: doc_id });
            Doc::loading()
        });
        doc.idle_since = None;
        if doc.status == Status::Loading {
            doc.waiting.insert(conn);
            return;
        }
        let Some(pd) = self.conns.get_mut(&conn).and_then(|c| c.docs.get_mut(&doc_id)) else { return };
        let queued = std::mem::take(&mut pd.queued);
        for msg in queued {
            match msg {
                Queued::Sync { data, is_request } => self.process_sync(now, conn, doc_id, data, is_request, out),
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn on_ephemeral(
        &mut self,
        now: Millis,
        conn: ConnId,
        doc_id: DocumentId,
        sender_id: String,
        count: u64,
        session_id: String,
        data: Vec<u8>,
        out: &mut Vec<Effect>,
    ) {
        let (rate, burst) = (self.config.ephemeral_per_sec, self.config.ephemeral_burst);
        let Some(c) = self.conns.get_mut(&conn) else { return };
        let allowed = matches!(c.docs.get(&doc_id).and_then(|p| p.access), Some(Access::Read | Access::Write));
        let Some(own) = c.remote.clone().filter(|_| allowed) else { return };
        // Our own session is ours alone; echoes of what we relayed cost nothing.
        if session_id == self.session_id
            || self.sessions.classify(conn, &own, &sender_id, &session_id) != Verdict::Relay
            || !c.ephemeral.take(now, rate, burst)
        {
            return;
        }
        let Some(doc) = self.docs.get(&doc_id) else { return };
        // Named by the connection it came from, whatever it claimed.
        let others = doc.peers.iter().copied().filter(|&p| p != conn);
        self.send_ephemeral(others, doc_id, &own, &session_id, count, &data, out);
        if self.config.share_presence {
            out.push(Effect::ShareEphemeral { doc: doc_id, sender_id: own, session_id, count, data });
        }
    }

    /// An ephemeral message of a peer on another node goes to every peer of the document
    /// here (named as that node named it).
    pub(super) fn on_remote_ephemeral(
        &mut self,
        doc: DocumentId,
        sender_id: String,
        session_id: String,
        count: u64,
        data: Vec<u8>,
        out: &mut Vec<Effect>,
    ) {
        let Some(conns) = self.present.get(&doc) else { return };
        self.send_ephemeral(conns.iter().copied(), doc, &sender_id, &session_id, count, &data, out);
    }

    /// One ephemeral message (`data`, number `count` of `sender_id`'s session `session_id`)
    /// to each of `conns`, addressed to each by its peer id.
    #[allow(clippy::too_many_arguments)]
    fn send_ephemeral(
        &self,
        conns: impl IntoIterator<Item = ConnId>,
        doc: DocumentId,
        sender_id: &str,
        session_id: &str,
        count: u64,
        data: &[u8],
        out: &mut Vec<Effect>,
    ) {
        for conn in conns {
            let msg = WireMessage::Ephemeral {
                sender_id: sender_id.to_owned(),
                target_id: self.remote(conn),
                count,
                session_id: session_id.to_owned(),
                document_id: doc,
                data: data.to_vec(),
            };
            out.push(Effect::Send { conn, frame: msg.encode() });
        }
    }

    /// Another node's roster of `doc` replaces what we knew of it there.
    pub(super) fn on_remote_presence(&mut self, now: Millis, node: String, doc: DocumentId, roster: Vec<PeerPresence>) {
        let nodes = self.remote_present.entry(doc).or_default();
        let changed = if roster.is_empty() {
            nodes.remove(&node).is_some()
        } else {
            nodes.insert(node, (roster.clone(), now)).is_none_or(|(before, _)| before != roster)
        };
        if nodes.is_empty() {
            self.remote_present.remove(&doc);
        }
        if changed {
            self.roster_resend.insert(doc);
        }
    }

    /// Every tick: the rosters here go to the other nodes again, and a node not heard from
    /// for three ticks is forgotten (it stopped or lost its database connection).
    pub(super) fn presence_tick(&mut self, now: Millis, out: &mut Vec<Effect>) {
        if !self.config.share_presence {
            return;
        }
        let docs: Vec<DocumentId> = self.present.keys().copied().collect();
        for doc in docs {
            out.push(Effect::SharePresence { doc, roster: self.local_presence(&doc) });
        }
        let stale = 3 * TICK_MS;
        for (doc, nodes) in &mut self.remote_present {
            let before = nodes.len();
            nodes.retain(|_, (_, heard)| now.saturating_sub(*heard) < stale);
            if nodes.len() != before {
                self.roster_resend.insert(*doc);
            }
        }
        self.remote_present.retain(|_, nodes| !nodes.is_empty());
    }

    /// Who is in `doc`: every connection of this node whose access to it was decided read or
    /// write, in connection order, then those other nodes told us of
    /// ([`Config::share_presence`](super::Config::share_presence)), by node.
    pub fn presence(&self, doc: &DocumentId) -> Vec<PeerPresence> {
        let mut all = self.local_presence(doc);
        if let Some(nodes) = self.remote_present.get(doc) {
            let mut nodes: Vec<_> = nodes.iter().collect();
            nodes.sort_by(|a, b| a.0.cmp(b.0));
            all.extend(nodes.into_iter().flat_map(|(_, (roster, _))| roster.iter().cloned()));
        }
        all
    }

    /// Who is in `doc` on this node.
    fn local_presence(&self, doc: &DocumentId) -> Vec<PeerPresence> {
        let Some(conns) = self.present.get(doc) else { return Vec::new() };
        conns
            .iter()
            .filter_map(|conn| {
                let c = self.conns.get(conn)?;
                let pd = c.docs.get(doc)?;
                let access = match pd.access? {
                    Access::Write if !pd.refused => Access::Write,
                    Access::Write | Access::Read => Access::Read,
                    Access::None => return None,
                };
                Some(PeerPresence {
                    peer_id: c.remote.clone().unwrap_or_default(),
                    user_id: c.identity.user_id.clone(),
                    name: c.identity.name.clone(),
                    access,
                })
            })
            .collect()
    }

    /// Records whether `conn` is present in `doc` (access decided read or write); a change
    /// makes the document's roster go out at the end of the event.
    pub(super) fn set_present(&mut self, conn: ConnId, doc: DocumentId, present: bool) {
        let changed = if present {
            self.present.entry(doc).or_default().insert(conn)
        } else {
            let removed = self.present.get_mut(&doc).is_some_and(|s| s.remove(&conn));
            if self.present.get(&doc).is_some_and(|s| s.is_empty()) {
                self.present.remove(&doc);
            }
            removed
        };
        if changed {
            self.roster_dirty.insert(doc);
        }
    }

    /// Sends the roster of every document whose peers or their access changed to each of its
    /// peers, as a server-authored ephemeral message.
    pub(super) fn send_rosters(&mut self, now: Millis, out: &mut Vec<Effect>) {
        for doc in std::mem::take(&mut self.roster_dirty) {
            self.roster_held.insert(doc, true);
        }
        for doc in std::mem::take(&mut self.roster_resend) {
            self.roster_held.entry(doc).or_insert(false);
        }
        let due: Vec<(DocumentId, bool)> = self
            .roster_held
            .iter()
            .filter(|(doc, _)| self.roster_due(doc).is_none_or(|at| at <= now))
            .map(|(doc, share)| (*doc, *share))
            .collect();
        for (doc, share) in due {
            self.roster_held.remove(&doc);
            self.roster_sent.insert(doc, now);
            if share && self.config.share_presence {
                out.push(Effect::SharePresence { doc, roster: self.local_presence(&doc) });
            }
            let roster = self.presence(&doc);
            if roster.is_empty() {
                continue;
            }
            let data = presence::encode_roster(&roster);
            // One number per roster: each peer sees our session's numbers rise.
            self.ephemeral_count += 1;
            let conns = self.present.get(&doc).into_iter().flatten().copied();
            self.send_ephemeral(conns, doc, &self.config.peer_id, &self.session_id, self.ephemeral_count, &data, out);
        }
    }

    /// When `doc`'s roster may go out again (`None`: at once).
    pub(super) fn roster_due(&self, doc: &DocumentId) -> Option<Millis> {
        let window = self.config.roster_ms;
        self.roster_sent.get(doc).filter(|_| window > 0).map(|sent| sent + window)
    }

    /// The earliest time a held roster goes out.
    pub(super) fn next_roster(&self) -> Option<Millis> {
        self.roster_held.keys().filter_map(|doc| self.roster_due(doc)).min()
    }

    /// Forgets when rosters went out once their window is over (nothing is held for them).
    pub(super) fn forget_rosters(&mut self, now: Millis) {
        let window = self.config.roster_ms;
        let held = &self.roster_held;
        self.roster_sent.retain(|doc, sent| held.contains_key(doc) || now < *sent + window);
    }

    pub(super) fn release_peer_id(&mut self, peer_id: &str) {
        if let Some((_, n)) = self.peer_ids.get_mut(peer_id) {
            *n -= 1;
            if *n == 0 {
                self.peer_ids.remove(peer_id);
            }
        }
    }

    pub(super) fn on_disconnect(&mut self, now: Millis, conn: ConnId) {
        let Some(c) = self.conns.remove(&conn) else { return };
        if let Some(remote) = &c.remote {
            self.release_peer_id(remote);
        }
        for doc_id in c.docs.keys() {
            self.set_present(conn, *doc_id, false);
            if let Some(doc) = self.docs.get_mut(doc_id) {
                doc.peers.remove(&conn);
                doc.waiting.remove(&conn);
                if doc.peers.is_empty() {
                    doc.idle_since = Some(now);
                }
            }
        }
    }

    pub(super) fn on_access(&mut self, now: Millis, conn: ConnId, doc_id: DocumentId, access: Access, out: &mut Vec<Effect>) {
        let peer_id = self.config.peer_id.clone();
        let Some(c) = self.conns.get_mut(&conn).filter(|c| !c.closed) else { return };
        let remote = c.remote.clone().unwrap_or_default();
        let Some(pd) = c.docs.get_mut(&doc_id) else { return };
        let previous = pd.access.replace(access);
        let was_writer = previous == Some(Access::Write);
        let unavailable =
            WireMessage::DocUnavailable { sender_id: peer_id.clone(), target_id: remote.clone(), document_id: doc_id };
        match access {
            Access::None => {
                let had_any = !pd.queued.is_empty() || matches!(previous, Some(Access::Read | Access::Write));
                pd.queued.clear();
                pd.sync = State::new();
                if let Some(doc) = self.docs.get_mut(&doc_id) {
                    doc.peers.remove(&conn);
                    doc.waiting.remove(&conn);
                    if doc.peers.is_empty() {
                        doc.idle_since = Some(now);
                    }
                }
                if had_any {
                    self.send(conn, unavailable, out);
                }
                self.set_present(conn, doc_id, false);
            }
            Access::Read | Access::Write => {
                let read_only = access == Access::Read || pd.refused;
                if previous.is_some() && pd.sync.read_only != read_only {
                    // Mirrors `State::set_read_only`.
                    if read_only {
                        pd.sync.read_only = true;
                        pd.sync.in_flight = false;
                        pd.sync.have_responded = false;
                    } else {
                        let caps = pd.sync.their_capabilities.take();
                        pd.sync = State { their_capabilities: caps, needs_reset: true, ..State::new() };
                    }
                    if let Some(doc) = self.docs.get(&doc_id)
                        && doc.status == Status::Ready
                        && doc.peers.contains(&conn)
                        && let Some((frame, changes)) = relay::sync_frame(&peer_id, remote, doc_id, doc, pd, now, false)
                    {
                        self.held.remove(&(conn, doc_id));
                        self.stats.sync_other += 1;
                        self.stats.changes_out += changes as u64;
                        out.push(Effect::Send { conn, frame });
                    }
                } else {
                    pd.sync.read_only = read_only;
                }
                let queued = !pd.queued.is_empty();
                if was_writer != (access == Access::Write) {
                    self.roster_dirty.insert(doc_id);
                }
                self.set_present(conn, doc_id, true);
                if queued {
                    self.run_queue(now, conn, doc_id, out);
                }
            }
        }
    }
}
