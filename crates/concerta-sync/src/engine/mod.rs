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
//!
//! Where things are: this file holds the types, the [`Engine`] and its event dispatch;
//! `peers.rs` the connections (frames, access per document, presence and rosters);
//! `ingest.rs` what a peer's sync message brings (checks, staging, waiting changes,
//! refusals); `durability.rs` the documents (loads, stores, relays once durable, snapshots,
//! compaction, other nodes' rows, eviction); `relay.rs` what goes to a peer and when
//! (one message per coalescing window while changes keep coming).

mod durability;
mod ingest;
mod peers;
mod relay;

use std::collections::{BTreeMap, BTreeSet, HashMap};

use automerge::ChangeHash;

use crate::graph::Schema;
use crate::presence::{Identity, PeerPresence, Sessions};
use crate::storage::{Materialized, StoredChunk};
use crate::wire::WireMessage;
use crate::DocumentId;
use durability::Doc;
use peers::{Bucket, Conn};

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
    /// Coalescing window: a peer gets at most about one sync message per window while
    /// changes keep becoming durable for it (they go out together a window after its last
    /// message), and replies that would tell it nothing new are not sent. A relay that comes
    /// 3/4 of a window or more after the previous relay to that peer goes out at once, so
    /// sparse edits are not delayed. 0 sends every relay at once and answers every message
    /// as automerge does. See `relay.rs`.
    pub coalesce_ms: Millis,
    /// Several nodes: each document's roster of this node and its peers' ephemeral messages
    /// are shared with the other nodes ([`Effect::SharePresence`], [`Effect::ShareEphemeral`])
    /// and theirs are shown here ([`Event::RemotePresence`], [`Event::RemoteEphemeral`]).
    pub share_presence: bool,
    /// A document's roster goes to its peers at most once per this window: the first change
    /// at once, those after it together when the window ends. Every join and leave changes
    /// the roster, which names everyone present, so 500 people opening one document in a
    /// burst would otherwise send 500 rosters of up to 500 names to each of them. 0 sends
    /// every change at once.
    pub roster_ms: Millis,
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
            coalesce_ms: 50,
            share_presence: false,
            roster_ms: 500,
        }
    }
}

/// How often the runtime sends [`Event::Tick`], in milliseconds.
pub const TICK_MS: Millis = 5_000;

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
    /// The time asked for by [`Effect::Wake`] came: held relays whose time is up go out.
    Wake,
    /// Who is in `doc` on another node (its whole roster there; empty when nobody is left).
    RemotePresence { node: String, doc: DocumentId, roster: Vec<PeerPresence> },
    /// An ephemeral message of a peer on another node (already checked and named there).
    RemoteEphemeral { doc: DocumentId, sender_id: String, session_id: String, count: u64, data: Vec<u8> },
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
    Materialize { doc: DocumentId, changes: Vec<Vec<u8>> },
    /// In one transaction: delete the rows `replaces` (changes and logs whose every change is
    /// in `log`), and every older snapshot row when `snapshot` is given; append the snapshot
    /// row (see [`storage::encode_snapshot`]) and the log row; answer with
    /// [`Event::Compacted`].
    Compact { doc: DocumentId, log: Vec<u8>, snapshot: Option<Vec<u8>>, replaces: Vec<i64> },
    /// A change was refused (for logs and metrics; the peer was already told).
    Refused { doc: DocumentId, conn: ConnId, reason: String },
    /// The materializer rejected changes the checks let through (and these are them plus
    /// every change on top of them): from now on they are never sent, advertised or asked
    /// for, and every peer is told the heads without them. A peer that got them before
    /// keeps them (a change of its built on one is refused); they leave the rows at the
    /// next compaction, and a load before it (a restart, an eviction) serves them until
    /// the next materialization.
    Quarantined { doc: DocumentId, hashes: Vec<ChangeHash> },
    /// A protocol violation that closed a connection (for logs and metrics).
    ProtocolError { conn: ConnId, reason: String },
    /// Send [`Event::Wake`] at `at` (on the clock of `now`); a later `Wake` effect replaces
    /// an earlier one only if it is sooner.
    Wake { at: Millis },
    /// Tell the other nodes who is in `doc` here ([`Config::share_presence`]): when it
    /// changes, and again every tick while anyone is (a node that stops repeating it is
    /// forgotten).
    SharePresence { doc: DocumentId, roster: Vec<PeerPresence> },
    /// Pass a peer's ephemeral message in `doc` to the other nodes.
    ShareEphemeral { doc: DocumentId, sender_id: String, session_id: String, count: u64, data: Vec<u8> },
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
    /// Relays held back because the peer had a message from us less than a window ago
    /// (coalescing).
    pub relays_held: u64,
    /// Sync messages sent, by what made them go: a relay sent at once ([`Self::sync_relayed`]),
    /// held relays whose time came ([`Self::sync_released`]), the reply to a peer's own
    /// message ([`Self::sync_replies`]), and the rest (access changes, refusals).
    pub sync_relayed: u64,
    pub sync_released: u64,
    pub sync_replies: u64,
    pub sync_other: u64,
    /// Changes those sync messages carried (a whole-document message counts once).
    pub changes_out: u64,
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
    /// Documents whose roster here changed during the current event.
    roster_dirty: BTreeSet<DocumentId>,
    /// Per document, who is in it on other nodes: node → (roster, when last heard).
    remote_present: HashMap<DocumentId, HashMap<String, (Vec<PeerPresence>, Millis)>>,
    /// Documents whose roster on another node changed during the current event (resent to
    /// the peers here, not shared again).
    roster_resend: BTreeSet<DocumentId>,
    /// Announced peer ids in use: (user, connections). Another user may not take one.
    peer_ids: HashMap<String, (String, usize)>,
    sessions: Sessions,
    /// Our own ephemeral session (rosters): fresh per engine, so a restarted server's counts
    /// are never taken for old ones.
    session_id: String,
    ephemeral_count: u64,
    /// Held relays: (connection, document) → when they go out.
    held: HashMap<(ConnId, DocumentId), Millis>,
    /// When each document's roster last went out ([`Config::roster_ms`]).
    roster_sent: HashMap<DocumentId, Millis>,
    /// Rosters that changed within the window, held until it ends: document → whether the
    /// change was this node's (then it is shared with the other nodes too).
    roster_held: BTreeMap<DocumentId, bool>,
    /// The earliest [`Effect::Wake`] asked for and not yet come.
    wake_at: Option<Millis>,
    /// The `now` of the event being handled.
    now: Millis,
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
            remote_present: HashMap::new(),
            roster_resend: BTreeSet::new(),
            peer_ids: HashMap::new(),
            sessions: Sessions::default(),
            session_id: uuid::Uuid::new_v4().to_string(),
            ephemeral_count: 0,
            held: HashMap::new(),
            roster_sent: HashMap::new(),
            roster_held: BTreeMap::new(),
            wake_at: None,
            now: 0,
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
        self.now = now;
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
            Event::Compacted { doc, log_row } => self.on_compacted(doc, log_row, &mut out),
            Event::Remote { doc, rows } => self.on_remote(doc, rows, &mut out),
            Event::Materialized { doc, result } => self.on_materialized(doc, result, &mut out),
            Event::RemotePresence { node, doc, roster } => self.on_remote_presence(now, node, doc, roster),
            Event::RemoteEphemeral { doc, sender_id, session_id, count, data } => {
                self.on_remote_ephemeral(doc, sender_id, session_id, count, data, &mut out)
            }
            Event::Tick => {
                self.on_tick(now);
                self.presence_tick(now, &mut out);
                self.forget_rosters(now);
                self.release_held(now, &mut out);
            }
            Event::Wake => {
                self.wake_at = None;
                self.release_held(now, &mut out);
            }
        }
        self.send_rosters(now, &mut out);
        self.ask_wake(&mut out);
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

}

