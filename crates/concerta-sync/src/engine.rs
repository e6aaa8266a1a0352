//! The sans-IO engine: connections, documents, access, storage and relay as a state machine.
//!
//! The runtime calls [`Engine::handle_event`] with the time and one [`Event`] and performs the
//! [`Effect`]s it returns, in order. The engine never blocks and never does IO; storage,
//! access decisions and materialization come back to it as events.
//!
//! Invariants:
//! - a change is relayed and our heads include it only after the runtime reported it stored
//!   ([`Event::Stored`]): nothing relayed or acknowledged can be lost by a crash;
//! - a peer gets nothing of a document before the runtime granted it access, and a refused
//!   document is answered with `doc-unavailable` whether it exists or not;
//! - a change from a peer without write access, or one that fails the checks, is answered
//!   with an `error`, never stored or relayed, and the peer is read-only for that document.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use automerge::sync::{Message, State};
use automerge::{Change, ChangeHash};

use crate::graph::{ChangeGraph, Refusal, Schema};
use crate::presence::{self, Identity, PeerPresence, Sessions, Verdict};
use crate::protocol::{self, DocView, Snapshot};
use crate::storage::{self, Materialized, StoredChunk};
use crate::wire::{PeerMetadata, WireMessage};
use crate::DocumentId;

/// A connection, numbered by the runtime.
pub type ConnId = u64;
/// Milliseconds on any monotonic clock.
pub type Millis = u64;

/// What a connection's user may do with a document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    None,
    Read,
    Write,
}

/// Limits and identity.
#[derive(Debug, Clone)]
pub struct Config {
    /// Our peer id in `peer` messages.
    pub peer_id: String,
    /// Our storage id (stable across restarts), announced in `peer`.
    pub storage_id: Option<String>,
    pub max_docs_per_conn: usize,
    /// Token bucket for all frames of one connection: refill per second and burst.
    pub messages_per_sec: f64,
    pub message_burst: f64,
    /// Token bucket for ephemeral (presence) messages of one connection.
    pub ephemeral_per_sec: f64,
    pub ephemeral_burst: f64,
    /// A document with no peers leaves memory after this long.
    pub idle_unload_ms: Millis,
    /// Build a new snapshot once this many changes (and at least half the document) arrived
    /// since the last one: the materializer's cost is O(document), so its cost per edit stays
    /// flat as the history grows.
    pub snapshot_every: usize,
    /// Rewrite the change log once this many rows (and a twentieth of the document's
    /// changes) were appended after it: a rewrite costs O(document), so this keeps its cost
    /// per edit flat.
    pub compact_rows: usize,
    /// Changes waiting for missing dependencies, per document.
    pub max_pending: usize,
    /// Largest document (bytes of changes) the engine accepts changes into.
    pub max_doc_bytes: usize,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            peer_id: format!("concerta-{}", uuid::Uuid::new_v4()),
            storage_id: None,
            max_docs_per_conn: 1_000,
            messages_per_sec: 500.0,
            message_burst: 2_000.0,
            ephemeral_per_sec: 20.0,
            ephemeral_burst: 40.0,
            idle_unload_ms: 30_000,
            snapshot_every: 2_000,
            compact_rows: 256,
            max_pending: 10_000,
            max_doc_bytes: 64 << 20,
        }
    }
}

/// Something that happened, for the engine to act on.
#[derive(Debug)]
pub enum Event {
    /// A new connection, and who it is (named in presence rosters).
    Connected { conn: ConnId, identity: Identity },
    /// One binary WebSocket frame.
    Frame { conn: ConnId, data: Vec<u8> },
    Disconnected { conn: ConnId },
    /// The runtime ends a connection (its credential was revoked, its session ended): the
    /// peer gets an `error` saying `reason`, then the connection closes.
    Cut { conn: ConnId, reason: String },
    /// The answer to [`Effect::CheckAccess`], or a change of access at any time later.
    Access { conn: ConnId, doc: DocumentId, access: Access },
    /// The answer to [`Effect::Load`]: the stored rows (id, payload) in id order, or `None`
    /// when the document does not exist.
    Loaded { doc: DocumentId, rows: Option<Vec<(i64, StoredChunk)>>, schema: Schema },
    /// [`Effect::Store`] is durable as row `row`.
    Stored { doc: DocumentId, upto: usize, row: i64 },
    /// [`Effect::Compact`] is done, its log being row `log_row`; `None` when it failed (the
    /// rows stay as they were).
    Compacted { doc: DocumentId, log_row: Option<i64> },
    /// Rows another node stored (announced on the database); ignored for documents not in
    /// memory, whose next load reads them anyway.
    Remote { doc: DocumentId, rows: Vec<(i64, StoredChunk)> },
    /// The answer to [`Effect::Materialize`].
    Materialized { doc: DocumentId, result: Result<Materialized, String> },
    /// Time passes: evicts idle documents.
    Tick,
}

/// Something for the runtime to do.
#[derive(Debug)]
pub enum Effect {
    Send { conn: ConnId, frame: Vec<u8> },
    /// Close the connection (after sending what came before).
    Close { conn: ConnId },
    /// Decide the access of the connection's user to the document; answer with
    /// [`Event::Access`].
    CheckAccess { conn: ConnId, doc: DocumentId },
    /// Read the document's rows; answer with [`Event::Loaded`].
    Load { doc: DocumentId },
    /// Append `chunk` (concatenated changes) durably; answer with [`Event::Stored`].
    Store { doc: DocumentId, chunk: Vec<u8>, upto: usize },
    /// Build a snapshot off the hot path ([`storage::materialize`]); answer with
    /// [`Event::Materialized`].
    Materialize { doc: DocumentId, base: Option<Arc<Vec<u8>>>, changes: Vec<Vec<u8>> },
    /// In one transaction: delete the rows `replaces` (changes and logs whose every change is
    /// in `log`), and every older snapshot row when `snapshot` is given; append the snapshot
    /// row (see [`storage::encode_snapshot`]) and the log row; answer with
    /// [`Event::Compacted`].
    Compact { doc: DocumentId, log: Vec<u8>, snapshot: Option<Vec<u8>>, replaces: Vec<i64> },
    /// A change was refused (for logs and metrics; the peer was already told).
    Refused { doc: DocumentId, conn: ConnId, reason: String },
    /// The materializer rejected changes the checks let through.
    Quarantined { doc: DocumentId, hashes: Vec<ChangeHash> },
    /// A protocol violation that closed a connection (for logs and metrics).
    ProtocolError { conn: ConnId, reason: String },
}

/// Counters for metrics.
#[derive(Debug, Default, Clone)]
pub struct Stats {
    pub connections: usize,
    pub documents: usize,
    pub frames_in: u64,
    pub bytes_in: u64,
    pub frames_out: u64,
    pub bytes_out: u64,
    pub changes_accepted: u64,
    pub changes_refused: u64,
    pub changes_quarantined: u64,
}

struct Bucket {
    tokens: f64,
    at: Millis,
}

impl Bucket {
    fn new(burst: f64, now: Millis) -> Self {
        Self { tokens: burst, at: now }
    }

    fn take(&mut self, now: Millis, rate: f64, burst: f64) -> bool {
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

enum Queued {
    Sync { data: Vec<u8>, is_request: bool },
}

struct PeerDoc {
    /// `None` until the runtime decided.
    access: Option<Access>,
    queued: Vec<Queued>,
    sync: State,
    /// A change of theirs was refused: read-only for this document from now on.
    refused: bool,
}

struct Conn {
    remote: Option<String>,
    identity: Identity,
    /// The engine asked the runtime to close it: nothing more is taken from it.
    closed: bool,
    docs: HashMap<DocumentId, PeerDoc>,
    frames: Bucket,
    ephemeral: Bucket,
}

#[derive(PartialEq, Eq)]
enum Status {
    Loading,
    Ready,
}

struct Doc {
    status: Status,
    schema: Schema,
    graph: ChangeGraph,
    pending: HashMap<ChangeHash, Change>,
    /// Who sent each pending change: a pending change that fails its checks once its
    /// dependencies arrive is that peer's fault, not the fault of whoever sent them.
    pending_from: HashMap<ChangeHash, ConnId>,
    /// Connections syncing this document (access granted, asked for it).
    peers: BTreeSet<ConnId>,
    /// Connections waiting for the load.
    waiting: BTreeSet<ConnId>,
    store_in_flight: bool,
    /// Changes another node stored: never stored again, durable once what precedes them is.
    stored_elsewhere: HashSet<ChangeHash>,
    /// Rows another node stored that arrived while loading.
    remote_while_loading: Vec<(i64, StoredChunk)>,
    /// Ids of the change and log rows whose changes are all in the graph: what the next
    /// compaction replaces.
    rows: Vec<i64>,
    /// The rows a compaction in flight replaces.
    compacting: Option<Vec<i64>>,
    snapshot: Option<Snapshot>,
    /// A snapshot row waiting for a quiet moment to be written with a compaction.
    snapshot_row: Option<Vec<u8>>,
    /// Durable changes since the last snapshot was asked for.
    since_snapshot: usize,
    materializing: bool,
    idle_since: Option<Millis>,
}

impl Doc {
    fn loading() -> Self {
        Doc {
            status: Status::Loading,
            schema: Schema::Section,
            graph: ChangeGraph::new(),
            pending: HashMap::new(),
            pending_from: HashMap::new(),
            peers: BTreeSet::new(),
            waiting: BTreeSet::new(),
            store_in_flight: false,
            stored_elsewhere: HashSet::new(),
            remote_while_loading: Vec::new(),
            rows: Vec::new(),
            compacting: None,
            snapshot: None,
            snapshot_row: None,
            since_snapshot: 0,
            materializing: false,
            idle_since: None,
        }
    }

    fn view(&self) -> DocView<'_> {
        DocView { graph: &self.graph, pending: &self.pending, snapshot: self.snapshot.as_ref() }
    }
}

/// The engine. See the module docs.
pub struct Engine {
    config: Config,
    conns: HashMap<ConnId, Conn>,
    docs: HashMap<DocumentId, Doc>,
    stats: Stats,
    /// Per document, the connections whose access to it was decided read or write: who a
    /// roster names.
    present: HashMap<DocumentId, BTreeSet<ConnId>>,
    /// Documents whose roster changed during the current event.
    roster_dirty: BTreeSet<DocumentId>,
    /// Announced peer ids in use: (user, connections). Another user may not take one.
    peer_ids: HashMap<String, (String, usize)>,
    sessions: Sessions,
    /// Our own ephemeral session (rosters): fresh per engine, so a restarted server's counts
    /// are never taken for old ones.
    session_id: String,
    ephemeral_count: u64,
}

impl Engine {
    pub fn new(config: Config) -> Self {
        Self {
            config,
            conns: HashMap::new(),
            docs: HashMap::new(),
            stats: Stats::default(),
            present: HashMap::new(),
            roster_dirty: BTreeSet::new(),
            peer_ids: HashMap::new(),
            sessions: Sessions::default(),
            session_id: uuid::Uuid::new_v4().to_string(),
            ephemeral_count: 0,
        }
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Counters and gauges for metrics.
    pub fn stats(&self) -> Stats {
        Stats { connections: self.conns.len(), documents: self.docs.len(), ..self.stats.clone() }
    }

    /// The documents a connection has asked for, with the access it was granted.
    pub fn conn_docs(&self, conn: ConnId) -> Vec<(DocumentId, Option<Access>)> {
        self.conns
            .get(&conn)
            .map(|c| c.docs.iter().map(|(d, p)| (*d, p.access)).collect())
            .unwrap_or_default()
    }

    /// A one-line summary of a document's state, for logs and failing tests.
    pub fn describe(&self, doc: &DocumentId) -> String {
        match self.docs.get(doc) {
            None => "not loaded".into(),
            Some(d) => format!(
                "changes {} durable {} pending {} stored-elsewhere {} store-in-flight {} peers {:?} heads {:?}",
                d.graph.len(),
                d.graph.durable_len(),
                d.pending.len(),
                d.stored_elsewhere.len(),
                d.store_in_flight,
                d.peers,
                d.graph.durable_heads().iter().map(|h| h.to_string()[..8].to_owned()).collect::<Vec<_>>()
            ),
        }
    }

    /// The documents in memory.
    pub fn loaded_docs(&self) -> Vec<DocumentId> {
        self.docs.keys().copied().collect()
    }

    /// The durable heads of a loaded document.
    pub fn heads(&self, doc: &DocumentId) -> Option<Vec<ChangeHash>> {
        self.docs.get(doc).map(|d| d.graph.durable_heads())
    }

    /// Handles one event; returns what to do.
    pub fn handle_event(&mut self, now: Millis, event: Event) -> Vec<Effect> {
        let mut out = Vec::new();
        match event {
            Event::Connected { conn, identity } => {
                let c = Conn {
                    remote: None,
                    identity,
                    closed: false,
                    docs: HashMap::new(),
                    frames: Bucket::new(self.config.message_burst, now),
                    ephemeral: Bucket::new(self.config.ephemeral_burst, now),
                };
                self.conns.insert(conn, c);
            }
            Event::Frame { conn, data } => self.on_frame(now, conn, data, &mut out),
            Event::Disconnected { conn } => self.on_disconnect(now, conn),
            Event::Cut { conn, reason } => {
                if self.conns.get(&conn).is_some_and(|c| !c.closed) {
                    self.send(conn, WireMessage::Error { message: reason }, &mut out);
                    self.close(conn, &mut out);
                }
            }
            Event::Access { conn, doc, access } => self.on_access(now, conn, doc, access, &mut out),
            Event::Loaded { doc, rows, schema } => self.on_loaded(now, doc, rows, schema, &mut out),
            Event::Stored { doc, upto, row } => self.on_stored(doc, upto, row, &mut out),
            Event::Compacted { doc, log_row } => {
                if let Some(d) = self.docs.get_mut(&doc) {
                    let replaced = d.compacting.take().unwrap_or_default();
                    match log_row {
                        Some(row) => d.rows.push(row),
                        None => d.rows.extend(replaced),
                    }
                }
            }
            Event::Remote { doc, rows } => self.on_remote(doc, rows, &mut out),
            Event::Materialized { doc, result } => self.on_materialized(doc, result, &mut out),
            Event::Tick => self.on_tick(now),
        }
        self.send_rosters(&mut out);
        for effect in &out {
            if let Effect::Send { frame, .. } = effect {
                self.stats.frames_out += 1;
                self.stats.bytes_out += frame.len() as u64;
            }
        }
        out
    }

    fn send(&self, conn: ConnId, msg: WireMessage, out: &mut Vec<Effect>) {
        out.push(Effect::Send { conn, frame: msg.encode() });
    }

    fn fail(&mut self, conn: ConnId, reason: String, out: &mut Vec<Effect>) {
        self.send(conn, WireMessage::Error { message: reason.clone() }, out);
        out.push(Effect::ProtocolError { conn, reason });
        self.close(conn, out);
    }

    /// Closes a connection: it leaves every roster at once (its disconnect follows).
    fn close(&mut self, conn: ConnId, out: &mut Vec<Effect>) {
        out.push(Effect::Close { conn });
        let Some(c) = self.conns.get_mut(&conn) else { return };
        c.closed = true;
        let docs: Vec<DocumentId> = c.docs.keys().copied().collect();
        for doc in docs {
            self.set_present(conn, doc, false);
        }
    }

    fn remote(&self, conn: ConnId) -> String {
        self.conns.get(&conn).and_then(|c| c.remote.clone()).unwrap_or_default()
    }

    fn on_frame(&mut self, now: Millis, conn: ConnId, data: Vec<u8>, out: &mut Vec<Effect>) {
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

    fn on_sync(&mut self, now: Millis, conn: ConnId, doc: DocumentId, msg: Queued, out: &mut Vec<Effect>) {
        let max_docs = self.config.max_docs_per_conn;
        let Some(c) = self.conns.get_mut(&conn) else { return };
        if !c.docs.contains_key(&doc) && c.docs.len() >= max_docs {
            return self.fail(conn, "too many documents on one connection".into(), out);
        }
        let pd = c.docs.entry(doc).or_insert_with(|| {
            out.push(Effect::CheckAccess { conn, doc });
            PeerDoc { access: None, queued: Vec::new(), sync: State::new(), refused: false }
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
    fn run_queue(&mut self, now: Millis, conn: ConnId, doc_id: DocumentId, out: &mut Vec<Effect>) {
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

    fn process_sync(
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
    fn refuse_late(&mut self, doc_id: DocumentId, late: Vec<(ConnId, Refusal)>, out: &mut Vec<Effect>) {
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

    #[allow(clippy::too_many_arguments)]
    fn on_ephemeral(
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
        for &other in doc.peers.iter().filter(|&&p| p != conn) {
            let target = self.remote(other);
            // Named by the connection it came from, whatever it claimed.
            let msg = WireMessage::Ephemeral {
                sender_id: own.clone(),
                target_id: target,
                count,
                session_id: session_id.clone(),
                document_id: doc_id,
                data: data.clone(),
            };
            out.push(Effect::Send { conn: other, frame: msg.encode() });
        }
    }

    /// Who is in `doc` on this node: every connection whose access to it was decided read
    /// or write, in connection order.
    pub fn presence(&self, doc: &DocumentId) -> Vec<PeerPresence> {
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
    fn set_present(&mut self, conn: ConnId, doc: DocumentId, present: bool) {
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
    fn send_rosters(&mut self, out: &mut Vec<Effect>) {
        for doc in std::mem::take(&mut self.roster_dirty) {
            let roster = self.presence(&doc);
            if roster.is_empty() {
                continue;
            }
            let data = presence::encode_roster(&roster);
            let conns: Vec<ConnId> = self.present.get(&doc).map(|s| s.iter().copied().collect()).unwrap_or_default();
            for conn in conns {
                self.ephemeral_count += 1;
                let msg = WireMessage::Ephemeral {
                    sender_id: self.config.peer_id.clone(),
                    target_id: self.remote(conn),
                    count: self.ephemeral_count,
                    session_id: self.session_id.clone(),
                    document_id: doc,
                    data: data.clone(),
                };
                out.push(Effect::Send { conn, frame: msg.encode() });
            }
        }
    }

    fn release_peer_id(&mut self, peer_id: &str) {
        if let Some((_, n)) = self.peer_ids.get_mut(peer_id) {
            *n -= 1;
            if *n == 0 {
                self.peer_ids.remove(peer_id);
            }
        }
    }

    fn on_disconnect(&mut self, now: Millis, conn: ConnId) {
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

    fn on_access(&mut self, now: Millis, conn: ConnId, doc_id: DocumentId, access: Access, out: &mut Vec<Effect>) {
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
                    if let Some(doc) = self.docs.get(&doc_id) {
                        if doc.status == Status::Ready && doc.peers.contains(&conn) {
                            if let Some(reply) = protocol::generate(&doc.view(), &mut pd.sync) {
                                let msg = WireMessage::Sync {
                                    sender_id: peer_id,
                                    target_id: remote,
                                    document_id: doc_id,
                                    data: reply.encode(),
                                };
                                out.push(Effect::Send { conn, frame: msg.encode() });
                            }
                        }
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

    fn on_loaded(
        &mut self,
        now: Millis,
        doc_id: DocumentId,
        rows: Option<Vec<(i64, StoredChunk)>>,
        schema: Schema,
        out: &mut Vec<Effect>,
    ) {
        let Some(doc) = self.docs.get_mut(&doc_id) else { return };
        let waiting = std::mem::take(&mut doc.waiting);
        match rows.map(|rows| storage::load_graph(rows, schema)) {
            Some(Ok(loaded)) => {
                doc.status = Status::Ready;
                doc.schema = schema;
                doc.rows = loaded.rows;
                doc.since_snapshot = match &loaded.snapshot {
                    Some((_, heads)) => loaded.graph.missing_from(heads).len(),
                    None => loaded.graph.durable_len(),
                };
                doc.snapshot = loaded.snapshot.map(|(bytes, heads)| Snapshot { bytes: Arc::new(bytes), heads });
                doc.graph = loaded.graph;
                let remote = std::mem::take(&mut doc.remote_while_loading);
                if !remote.is_empty() {
                    self.on_remote(doc_id, remote, out);
                }
                for conn in waiting {
                    self.run_queue(now, conn, doc_id, out);
                }
            }
            other => {
                if let Some(Err(e)) = other {
                    out.push(Effect::ProtocolError { conn: 0, reason: format!("document {doc_id} failed to load: {e}") });
                }
                self.docs.remove(&doc_id);
                for conn in waiting {
                    let remote = self.remote(conn);
                    if let Some(pd) = self.conns.get_mut(&conn).and_then(|c| c.docs.get_mut(&doc_id)) {
                        pd.queued.clear();
                        pd.access = Some(Access::None);
                    }
                    self.set_present(conn, doc_id, false);
                    self.send(
                        conn,
                        WireMessage::DocUnavailable { sender_id: self.config.peer_id.clone(), target_id: remote, document_id: doc_id },
                        out,
                    );
                }
            }
        }
    }

    fn on_stored(&mut self, doc_id: DocumentId, upto: usize, row: i64, out: &mut Vec<Effect>) {
        let Some(doc) = self.docs.get_mut(&doc_id) else { return };
        doc.store_in_flight = false;
        doc.rows.push(row);
        self.make_durable(doc_id, upto, out);
        self.flush(doc_id, out);
    }

    /// Marks nodes up to `upto` durable, relays them, and starts the background work their
    /// number calls for.
    fn make_durable(&mut self, doc_id: DocumentId, upto: usize, out: &mut Vec<Effect>) {
        let Some(doc) = self.docs.get_mut(&doc_id) else { return };
        let before = doc.graph.durable_len();
        doc.graph.mark_durable(upto);
        let added = doc.graph.durable_len() - before;
        if added == 0 {
            return;
        }
        doc.since_snapshot += added;
        // Relay: every peer of the document gets what it lacks.
        let peers: Vec<ConnId> = doc.peers.iter().copied().collect();
        for conn in peers {
            let Some(c) = self.conns.get_mut(&conn) else { continue };
            let remote = c.remote.clone().unwrap_or_default();
            let Some(pd) = c.docs.get_mut(&doc_id) else { continue };
            if let Some(msg) = protocol::generate(&doc.view(), &mut pd.sync) {
                let frame = WireMessage::Sync {
                    sender_id: self.config.peer_id.clone(),
                    target_id: remote,
                    document_id: doc_id,
                    data: msg.encode(),
                }
                .encode();
                out.push(Effect::Send { conn, frame });
            }
        }
        let durable = doc.graph.durable_len();
        if doc.since_snapshot >= self.config.snapshot_every.max(durable / 2) {
            start_materialize(doc_id, doc, out);
        } else if doc.rows.len() > self.config.compact_rows.max(durable / 20) {
            compact(doc_id, doc, out);
        }
    }

    /// Stores the staged changes this node received; changes another node stored only wait
    /// for those before them.
    fn flush(&mut self, doc_id: DocumentId, out: &mut Vec<Effect>) {
        let Some(doc) = self.docs.get_mut(&doc_id) else { return };
        if doc.store_in_flight {
            return;
        }
        let from = doc.graph.durable_len();
        let upto = doc.graph.len();
        let rows_threshold = self.config.compact_rows;
        if from == upto {
            compact_if_waiting(doc_id, doc, rows_threshold, out);
            return;
        }
        let mut chunk = Vec::new();
        for node in &doc.graph.nodes()[from..upto] {
            if !doc.stored_elsewhere.remove(&node.hash) {
                chunk.extend_from_slice(&node.bytes);
            }
        }
        if chunk.is_empty() {
            self.make_durable(doc_id, upto, out);
            if let Some(doc) = self.docs.get_mut(&doc_id) {
                compact_if_waiting(doc_id, doc, rows_threshold, out);
            }
        } else {
            doc.store_in_flight = true;
            out.push(Effect::Store { doc: doc_id, chunk, upto });
        }
    }

    fn on_remote(&mut self, doc_id: DocumentId, rows: Vec<(i64, StoredChunk)>, out: &mut Vec<Effect>) {
        let Some(doc) = self.docs.get_mut(&doc_id) else { return };
        if doc.status == Status::Loading {
            doc.remote_while_loading.extend(rows);
            return;
        }
        let mut changes = Vec::new();
        for (id, row) in rows {
            let parsed = match row {
                StoredChunk::Changes(bytes) => storage::split_changes(&bytes),
                StoredChunk::Log(bytes) => storage::decode_log(&bytes).and_then(|log| {
                    log.entries
                        .into_iter()
                        .filter(|e| doc.graph.index_of(&e.hash).is_none())
                        .map(|e| Change::from_bytes(e.bytes).map_err(|e| storage::ChunkError(e.to_string())))
                        .collect()
                }),
                StoredChunk::Snapshot(_) => continue,
            };
            match parsed {
                Ok(c) => {
                    changes.extend(c);
                    doc.rows.push(id);
                }
                Err(e) => out.push(Effect::ProtocolError { conn: 0, reason: format!("row {id} of {doc_id} unreadable: {e}") }),
            }
        }
        let fresh: Vec<Change> = changes
            .into_iter()
            .filter(|c| doc.graph.index_of(&c.hash()).is_none() && !doc.pending.contains_key(&c.hash()))
            .collect();
        for c in &fresh {
            doc.stored_elsewhere.insert(c.hash());
        }
        let waiting = storage::append_stored(&mut doc.graph, fresh, doc.schema);
        for c in waiting {
            doc.pending.insert(c.hash(), c);
        }
        // What arrived may be what earlier changes (from peers or other nodes) waited for.
        let late = retry_pending(doc);
        self.flush(doc_id, out);
        self.refuse_late(doc_id, late, out);
    }

    fn on_materialized(&mut self, doc_id: DocumentId, result: Result<Materialized, String>, out: &mut Vec<Effect>) {
        let Some(doc) = self.docs.get_mut(&doc_id) else { return };
        doc.materializing = false;
        let materialized = match result {
            Ok(m) => m,
            Err(reason) => {
                out.push(Effect::ProtocolError { conn: 0, reason: format!("materializing {doc_id} failed: {reason}") });
                return;
            }
        };
        if !materialized.rejected.is_empty() {
            let hashes = doc.graph.quarantine(&materialized.rejected);
            self.stats.changes_quarantined += hashes.len() as u64;
            out.push(Effect::Quarantined { doc: doc_id, hashes });
        }
        doc.snapshot_row = Some(storage::encode_snapshot(&materialized.heads, &materialized.snapshot));
        doc.snapshot = Some(Snapshot { bytes: Arc::new(materialized.snapshot), heads: materialized.heads });
        compact(doc_id, doc, out);
    }

    fn on_tick(&mut self, now: Millis) {
        let conns = &self.conns;
        self.sessions.sweep(|c| conns.contains_key(&c));
        let idle = self.config.idle_unload_ms;
        self.docs.retain(|_, doc| {
            let busy = doc.status == Status::Loading
                || !doc.peers.is_empty()
                || doc.store_in_flight
                || doc.materializing
                || doc.compacting.is_some()
                || doc.graph.len() > doc.graph.durable_len();
            busy || doc.idle_since.is_none_or(|t| now.saturating_sub(t) < idle)
        });
        for doc in self.docs.values_mut() {
            if doc.peers.is_empty() && doc.idle_since.is_none() {
                doc.idle_since = Some(now);
            }
        }
    }
}

/// Checks and stages incoming changes from `conn`; returns the first refusal of one of them,
/// and the waiting changes (with their senders) that failed their checks once these
/// completed their dependencies.
fn accept_changes(
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
fn retry_pending(doc: &mut Doc) -> Vec<(ConnId, Refusal)> {
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

/// Writes the log of every change and replaces the rows it covers, with the waiting
/// snapshot if any. Only when the document is quiet (nothing staged or pending), so every
/// row in `rows` is covered by the log.
fn compact(doc_id: DocumentId, doc: &mut Doc, out: &mut Vec<Effect>) {
    let quiet = doc.graph.len() == doc.graph.durable_len() && doc.pending.is_empty() && !doc.store_in_flight;
    if !quiet || doc.compacting.is_some() || doc.status != Status::Ready {
        return;
    }
    let log = storage::encode_log(&doc.graph);
    let replaces = std::mem::take(&mut doc.rows);
    let snapshot = doc.snapshot_row.take();
    doc.compacting = Some(replaces.clone());
    out.push(Effect::Compact { doc: doc_id, log, snapshot, replaces });
}

/// A snapshot made, or rows piled up, while the document was busy: compact at the next
/// quiet moment.
fn compact_if_waiting(doc_id: DocumentId, doc: &mut Doc, row_threshold: usize, out: &mut Vec<Effect>) {
    if doc.snapshot_row.is_some() || doc.rows.len() > row_threshold.max(doc.graph.durable_len() / 20) {
        compact(doc_id, doc, out);
    }
}

fn start_materialize(doc_id: DocumentId, doc: &mut Doc, out: &mut Vec<Effect>) {
    if doc.materializing || doc.graph.durable_len() == 0 {
        return;
    }
    let usable = doc.snapshot.as_ref().filter(|s| s.heads.iter().all(|h| doc.graph.has_durable(h)));
    let (base, tail): (_, Vec<u32>) = match usable {
        Some(s) => (Some(s.bytes.clone()), doc.graph.missing_from(&s.heads)),
        None => (None, doc.graph.durable_tail(0).collect()),
    };
    let changes = tail.into_iter().map(|i| doc.graph.node(i).bytes.clone()).collect();
    doc.materializing = true;
    doc.since_snapshot = 0;
    out.push(Effect::Materialize { doc: doc_id, base, changes });
}
