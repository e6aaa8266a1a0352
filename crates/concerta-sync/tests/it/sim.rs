//! A simulated network of automerge peers around a server: either our [`Engine`] with an
//! in-memory runtime, or a reference server built on automerge's own `SyncDoc`. The
//! in-memory runtime can misbehave as a real one may ([`Chaos`]: late loads, failed
//! compactions, changes automerge rejects) and keeps the durability oracle.

use std::collections::{HashMap, HashSet, VecDeque};

use automerge::sync::{Message, State, SyncDoc};
use automerge::{AutoCommit, Automerge, ChangeHash, ReadDoc, ROOT};
use concerta_sync::storage::{self, StoredChunk};
use concerta_sync::wire::WireMessage;
use concerta_sync::{Access, Config, ConnId, DocumentId, Effect, Engine, Event, Identity, Schema};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// A server as the peers see it: frames in, frames out.
pub trait Server {
    fn connect(&mut self, conn: ConnId, access: Access);
    fn frame(&mut self, conn: ConnId, frame: Vec<u8>);
    fn disconnect(&mut self, conn: ConnId);
    /// Lets time pass: pending storage completes, background work finishes.
    fn settle(&mut self, rng: &mut ChaCha8Rng, everything: bool);
    /// Frames the server wants to send.
    fn take_outgoing(&mut self) -> Vec<(ConnId, Vec<u8>)>;
    /// Errors the server sent, per connection.
    fn errors(&self) -> usize;
    fn heads(&self) -> Vec<ChangeHash>;
    /// Simulates a crash and restart: what is durable survives, connections do not (every
    /// client was disconnected before).
    fn restart(&mut self);
    /// Broken promises the server's runtime noticed (the durability oracle), for failures.
    fn violations(&self) -> Vec<String> {
        Vec::new()
    }
    /// The server's state, for failure messages.
    fn describe(&self) -> String {
        String::new()
    }
}

pub const SERVER_PEER: &str = "server";

/// The identity the simulated runtime gives connection `conn`: user `user-<conn>`.
pub fn identity(conn: ConnId) -> Identity {
    Identity { user_id: format!("user-{conn}"), name: format!("User {conn}") }
}

/// What the store does for `Effect::Compact`, in one transaction: the replaced rows go (and
/// every older snapshot when a new one comes), the snapshot and the log are appended.
/// Returns the log's row id.
pub fn compact_rows(
    rows: &mut Vec<(i64, StoredChunk)>,
    next_row: &mut i64,
    log: Vec<u8>,
    snapshot: Option<Vec<u8>>,
    replaces: &[i64],
) -> i64 {
    let replacing = snapshot.is_some();
    rows.retain(|(id, r)| match r {
        StoredChunk::Snapshot(_) => !replacing,
        _ => !replaces.contains(id),
    });
    if let Some(s) = snapshot {
        rows.push((*next_row, StoredChunk::Snapshot(s)));
        *next_row += 1;
    }
    let log_row = *next_row;
    rows.push((log_row, StoredChunk::Log(log)));
    *next_row += 1;
    log_row
}

/// A new section's first change as `concerta_sync::new_section_change` makes it, but with a
/// fixed actor and time: its hash, and so every later hash and the sync protocol's bloom
/// filters (whose false positives cost an extra round), are the same on every run, so tests
/// that count messages count the same ones each time.
pub fn fixed_section_change(title: &str) -> Vec<u8> {
    use automerge::transaction::{CommitOptions, Transactable};
    let mut doc = AutoCommit::new().with_actor(automerge::ActorId::from([0xa0; 16]));
    let title_obj = doc.put_object(automerge::ROOT, "title", automerge::ObjType::Text).expect("a root key");
    doc.splice_text(&title_obj, 0, 0, title).expect("a splice");
    doc.put_object(automerge::ROOT, "body", automerge::ObjType::Text).expect("a root key");
    doc.commit_with(CommitOptions::default().with_time(0));
    doc.get_last_local_change().expect("committed").raw_bytes().to_vec()
}

/// Our engine plus an in-memory runtime whose stores complete when `settle` says so.
pub struct EngineServer {
    pub engine: Engine,
    pub doc: DocumentId,
    pub rows: Vec<(i64, StoredChunk)>,
    next_row: i64,
    access: HashMap<ConnId, Access>,
    now: u64,
    /// Stores not yet durable: (upto, chunk).
    pending_stores: VecDeque<(usize, Vec<u8>)>,
    pending_materialize: Vec<Vec<Vec<u8>>>,
    outgoing: Vec<(ConnId, Vec<u8>)>,
    errors: usize,
    pub refused: Vec<String>,
    pub config: Config,
    /// Every send and close, in the order the engine asked for them: `Some(frame)` for a
    /// send, `None` for a close.
    pub log: Vec<(ConnId, Option<Vec<u8>>)>,
    /// `Effect::Load`s the engine asked for.
    pub loads: usize,
    /// `Effect::ProtocolError` reasons.
    pub protocol_errors: Vec<(ConnId, String)>,
    /// The `Effect::Wake` asked for, if any: `settle` lets that much time pass.
    pub wake: Option<u64>,
    /// `settle` does not let time pass for held relays (tests that drive the clock).
    pub frozen_clock: bool,
    /// What the runtime does besides storing, off by default (the targeted tests count on a
    /// load and a compaction answered at once). See [`Chaos`].
    pub chaos: Chaos,
    /// This many of the next compactions fail (`Compacted { log_row: None }`), whatever chaos says.
    pub fail_compactions: usize,
    /// Loads and compactions the engine asked for and `settle` has not answered yet (with
    /// [`Chaos::slow_loads`] and [`Chaos::failing_compactions`]).
    pending_loads: Vec<DocumentId>,
    pending_compacts: Vec<(Vec<u8>, Option<Vec<u8>>, Vec<i64>)>,
    /// The durability oracle ([`Chaos::oracle`]): every change hash a sync message to a peer
    /// carried or named in its heads (what automerge-repo takes for "the server has it"),
    /// since the start; checked against the stored rows at every crash.
    pub acknowledged: HashSet<ChangeHash>,
    /// Every hash the engine reported quarantined ([`Effect::Quarantined`]), and those since
    /// the document was last loaded (after a restart or an eviction the engine knows nothing
    /// of them until it materializes again: they come back from the rows a failed compaction
    /// left).
    pub quarantined: HashSet<ChangeHash>,
    quarantined_here: HashSet<ChangeHash>,
    /// The changes this runtime's "automerge" rejects, every time ([`Chaos::rejections`]).
    poisoned: HashSet<ChangeHash>,
    /// Broken promises: acknowledged changes missing from the rows at a crash, quarantined
    /// ones sent or advertised again.
    pub violations: Vec<String>,
    /// What the chaos made happen (so tests can check it did): frames that arrived while a
    /// load was pending, compactions failed, stores lost in a crash, idle evictions.
    pub frames_while_loading: usize,
    pub failed_compactions: usize,
    pub stores_lost: usize,
    pub long_pauses: usize,
}

/// What the simulated runtime does that the engine must survive, decided by `settle`'s
/// random stream (never by the session's, so a session plays the same against any server).
#[derive(Debug, Clone, Copy, Default)]
pub struct Chaos {
    /// `Effect::Load` is answered by a later `settle` (sometimes one more later), so frames,
    /// connections and disconnections arrive while the document is still loading; and now
    /// and then `settle` lets the idle time pass, so a document nobody has open is evicted
    /// and loaded again.
    pub slow_loads: bool,
    /// A `settle` often completes no store at all (a slow database): a crash has a wide
    /// window to lose a store in.
    pub slow_stores: bool,
    /// `Effect::Compact` is answered by a later `settle`, and a third of them fail
    /// (`Compacted { log_row: None }`, the rows untouched), as the server's writer reports a
    /// failed compaction transaction.
    pub failing_compactions: bool,
    /// The share of materializations in which automerge "rejects" one change the checks let
    /// through (and so every change after it that depends on it): the engine must quarantine
    /// them (`Effect::Quarantined`).
    pub rejections: f64,
    /// Record what is acknowledged and check it at every crash (see
    /// [`EngineServer::acknowledged`]); costs a decode of every sync message sent.
    pub oracle: bool,
}

impl EngineServer {
    pub fn new(doc: DocumentId, initial: Vec<u8>, config: Config) -> Self {
        Self {
            engine: Engine::new(config.clone()),
            doc,
            rows: vec![(1, StoredChunk::Changes(initial))],
            next_row: 2,
            access: HashMap::new(),
            now: 0,
            pending_stores: VecDeque::new(),
            fail_compactions: 0,
            pending_materialize: Vec::new(),
            outgoing: Vec::new(),
            errors: 0,
            refused: Vec::new(),
            config,
            log: Vec::new(),
            loads: 0,
            protocol_errors: Vec::new(),
            wake: None,
            frozen_clock: false,
            chaos: Chaos::default(),
            pending_loads: Vec::new(),
            pending_compacts: Vec::new(),
            acknowledged: HashSet::new(),
            quarantined: HashSet::new(),
            quarantined_here: HashSet::new(),
            poisoned: HashSet::new(),
            violations: Vec::new(),
            frames_while_loading: 0,
            failed_compactions: 0,
            stores_lost: 0,
            long_pauses: 0,
        }
    }

    pub fn event(&mut self, event: Event) {
        self.now += 1;
        let effects = self.engine.handle_event(self.now, event);
        // Every peer hears of what became durable: now, or at a wake asked for.
        let stale = self.engine.unannounced();
        assert!(stale.is_empty(), "peers that would never hear our durable heads: {stale:?}; {}", self.engine.describe(&self.doc));
        self.apply(effects);
    }

    fn apply(&mut self, effects: Vec<Effect>) {
        let mut follow = Vec::new();
        for effect in effects {
            match effect {
                Effect::Send { conn, frame } => {
                    if let Ok(WireMessage::Error { .. }) = WireMessage::decode(&frame) {
                        self.errors += 1;
                    }
                    if self.chaos.oracle {
                        self.note_sent(conn, &frame);
                    }
                    self.log.push((conn, Some(frame.clone())));
                    self.outgoing.push((conn, frame));
                }
                Effect::Close { conn } => self.log.push((conn, None)),
                Effect::ProtocolError { conn, reason } => self.protocol_errors.push((conn, reason)),
                Effect::Quarantined { hashes, .. } => {
                    self.quarantined.extend(hashes.iter().copied());
                    self.quarantined_here.extend(hashes);
                }
                Effect::SharePresence { .. } | Effect::ShareEphemeral { .. } => {}
                Effect::Wake { at } => self.wake = Some(self.wake.map_or(at, |w| w.min(at))),
                Effect::Refused { reason, .. } => self.refused.push(reason),
                Effect::CheckAccess { conn, doc } => {
                    let access = if doc == self.doc { self.access.get(&conn).copied().unwrap_or(Access::None) } else { Access::None };
                    follow.push(Event::Access { conn, doc, access });
                }
                Effect::Load { doc } => {
                    self.loads += 1;
                    // A reload knows nothing of earlier quarantines (see `quarantined`).
                    self.quarantined_here.clear();
                    if self.chaos.slow_loads {
                        self.pending_loads.push(doc);
                    } else {
                        let rows = (doc == self.doc).then(|| self.rows.clone());
                        follow.push(Event::Loaded { doc, rows, schema: Schema::Section });
                    }
                }
                Effect::Store { chunk, upto, .. } => self.pending_stores.push_back((upto, chunk)),
                Effect::Materialize { changes, .. } => self.pending_materialize.push(changes),
                Effect::Compact { log, snapshot, replaces, doc } => {
                    if self.fail_compactions > 0 {
                        self.fail_compactions -= 1;
                        follow.push(Event::Compacted { doc, log_row: None });
                    } else if self.chaos.failing_compactions {
                        self.pending_compacts.push((log, snapshot, replaces));
                    } else {
                        let log_row = compact_rows(&mut self.rows, &mut self.next_row, log, snapshot, &replaces);
                        follow.push(Event::Compacted { doc, log_row: Some(log_row) });
                    }
                }
            }
        }
        for event in follow {
            self.event(event);
        }
    }

    /// The oracle's record of a frame sent (see [`acknowledged_by`]). A quarantined change is
    /// never sent or advertised again.
    fn note_sent(&mut self, conn: ConnId, frame: &[u8]) {
        for h in acknowledged_by(frame) {
            if self.quarantined_here.contains(&h) {
                self.violations.push(format!("quarantined change {} sent or advertised to conn {conn}", short(&h)));
            }
            self.acknowledged.insert(h);
        }
    }

    /// The durability oracle: every acknowledged change (but those quarantined since) is in
    /// the stored rows.
    pub fn check_durable(&mut self, when: &str) {
        if self.chaos.oracle {
            self.violations.extend(missing_from_rows(&self.rows, &self.acknowledged, &self.quarantined, when));
        }
    }

    fn complete_load(&mut self, doc: DocumentId) {
        let rows = (doc == self.doc).then(|| self.rows.clone());
        self.event(Event::Loaded { doc, rows, schema: Schema::Section });
    }
}

/// What a frame the server sends acknowledges, for the durability oracle: the heads of a sync
/// message and the changes it carries (what automerge-repo takes for "the server has it").
pub fn acknowledged_by(frame: &[u8]) -> Vec<ChangeHash> {
    let Ok(WireMessage::Sync { data, .. }) = WireMessage::decode(frame) else { return Vec::new() };
    let msg = Message::decode(&data).expect("engine sync messages decode");
    let mut hashes = msg.heads.clone();
    if msg.version == automerge::sync::MessageVersion::V1 {
        for chunk in msg.changes.iter() {
            hashes.extend(storage::split_changes(chunk).expect("engine chunks split").iter().map(|c| c.hash()));
        }
    }
    hashes
}

/// The oracle's check: the acknowledged changes (but quarantined ones) missing from `rows`,
/// as a violation found `when`.
pub fn missing_from_rows(rows: &[(i64, StoredChunk)], acknowledged: &HashSet<ChangeHash>, quarantined: &HashSet<ChangeHash>, when: &str) -> Option<String> {
    let loaded = storage::load_graph(rows.to_vec(), Schema::Section).expect("stored rows load");
    let mut lost: Vec<String> = acknowledged.iter().filter(|h| loaded.graph.index_of(h).is_none() && !quarantined.contains(h)).map(short).collect();
    lost.sort();
    (!lost.is_empty()).then(|| format!("{when}: acknowledged changes missing from the stored rows: {lost:?}"))
}

/// The first 8 hex digits of a hash, for messages.
pub fn short(h: &ChangeHash) -> String {
    h.to_string()[..8].to_owned()
}

impl Server for EngineServer {
    fn connect(&mut self, conn: ConnId, access: Access) {
        self.access.insert(conn, access);
        self.event(Event::Connected { conn, identity: identity(conn) });
    }

    fn frame(&mut self, conn: ConnId, frame: Vec<u8>) {
        if !self.pending_loads.is_empty() {
            self.frames_while_loading += 1;
        }
        self.event(Event::Frame { conn, data: frame });
    }

    fn disconnect(&mut self, conn: ConnId) {
        self.event(Event::Disconnected { conn });
    }

    fn settle(&mut self, rng: &mut ChaCha8Rng, everything: bool) {
        // Loads finish first (nothing is stored for a document still loading); now and then
        // one waits for the next settle, and what arrives meanwhile queues.
        for doc in std::mem::take(&mut self.pending_loads) {
            if !everything && rng.random_bool(0.3) {
                self.pending_loads.push(doc);
            } else {
                self.complete_load(doc);
            }
        }
        let mut stores = 0;
        let slow = self.chaos.slow_stores && !everything && rng.random_bool(0.7);
        while !slow && let Some((upto, chunk)) = self.pending_stores.pop_front() {
            stores += 1;
            assert!(stores < 10_000, "the engine keeps storing: a store loop");
            let row = self.next_row;
            self.next_row += 1;
            self.rows.push((row, StoredChunk::Changes(chunk)));
            self.event(Event::Stored { doc: self.doc, upto, row });
            if !everything && rng.random_bool(0.5) {
                break;
            }
        }
        for changes in std::mem::take(&mut self.pending_materialize) {
            let result = if self.chaos.rejections > 0.0 {
                let poison = rng.random_bool(self.chaos.rejections);
                materialize_rejecting(changes, &mut self.poisoned, poison, rng)
            } else {
                storage::materialize(changes)
            };
            self.event(Event::Materialized { doc: self.doc, result: result.map_err(|e| e.to_string()) });
        }
        for (log, snapshot, replaces) in std::mem::take(&mut self.pending_compacts) {
            // The store's transaction failed: nothing changed.
            let log_row = if rng.random_bool(1.0 / 3.0) {
                self.failed_compactions += 1;
                None
            } else {
                Some(compact_rows(&mut self.rows, &mut self.next_row, log, snapshot, &replaces))
            };
            self.event(Event::Compacted { doc: self.doc, log_row });
        }
        // Held relays whose time came.
        if !self.frozen_clock
            && let Some(at) = self.wake.take()
        {
            self.now = self.now.max(at);
            self.event(Event::Wake);
        }
        if self.chaos.slow_loads && !everything && rng.random_bool(0.05) {
            self.long_pauses += 1;
            self.now += self.config.idle_unload_ms;
        }
        self.event(Event::Tick);
    }

    fn take_outgoing(&mut self) -> Vec<(ConnId, Vec<u8>)> {
        std::mem::take(&mut self.outgoing)
    }

    fn errors(&self) -> usize {
        self.errors
    }

    fn heads(&self) -> Vec<ChangeHash> {
        // Through a fresh load of what is durable: what a restart would serve.
        let loaded = storage::load_graph(self.rows.clone(), Schema::Section).expect("stored rows load");
        loaded.graph.durable_heads()
    }

    fn restart(&mut self) {
        // Whatever was not durable is lost, as with kill -9; a compaction in flight either
        // committed or did not (here: did not).
        self.check_durable("at a crash");
        self.stores_lost += self.pending_stores.len();
        self.pending_stores.clear();
        self.pending_materialize.clear();
        self.pending_loads.clear();
        self.pending_compacts.clear();
        self.outgoing.clear();
        self.wake = None;
        self.quarantined_here.clear();
        self.engine = Engine::new(self.config.clone());
    }

    fn violations(&self) -> Vec<String> {
        self.violations.clone()
    }

    fn describe(&self) -> String {
        self.engine.describe(&self.doc)
    }
}

/// automerge "rejecting" changes the engine's checks let through (the materializer's
/// contract, which no real change is known to exercise): the poisoned changes of the batch
/// are left out and reported, with what depends on them; with `poison`, one more change of
/// the batch (never the document's first) is poisoned first, for good.
fn materialize_rejecting(
    changes: Vec<Vec<u8>>,
    poisoned: &mut HashSet<ChangeHash>,
    poison: bool,
    rng: &mut ChaCha8Rng,
) -> Result<storage::Materialized, storage::ChunkError> {
    let hash = |bytes: &Vec<u8>| automerge::Change::from_bytes(bytes.clone()).expect("stored changes parse").hash();
    // Never the section's first change.
    if poison && changes.len() > 1 {
        poisoned.insert(hash(&changes[rng.random_range(1..changes.len())]));
    }
    let (bad, good): (Vec<Vec<u8>>, Vec<Vec<u8>>) = changes.into_iter().partition(|c| poisoned.contains(&hash(c)));
    let mut m = storage::materialize(good)?;
    m.rejected.splice(0..0, bad.iter().map(hash));
    Ok(m)
}

/// automerge's own sync, as the official servers run it: one document, one `State` per peer.
pub struct ReferenceServer {
    pub doc: Automerge,
    document_id: DocumentId,
    peers: HashMap<ConnId, (State, String)>,
    outgoing: Vec<(ConnId, Vec<u8>)>,
}

impl ReferenceServer {
    pub fn new(document_id: DocumentId, initial: &[u8]) -> Self {
        let mut doc = Automerge::new();
        doc.load_incremental(initial).expect("initial change loads");
        Self { doc, document_id, peers: HashMap::new(), outgoing: Vec::new() }
    }

    fn sync_all(&mut self) {
        let ids: Vec<ConnId> = self.peers.keys().copied().collect();
        for conn in ids {
            let (state, remote) = self.peers.get_mut(&conn).expect("listed");
            if let Some(msg) = self.doc.generate_sync_message(state) {
                let frame = WireMessage::Sync {
                    sender_id: SERVER_PEER.into(),
                    target_id: remote.clone(),
                    document_id: self.document_id,
                    data: msg.encode(),
                }
                .encode();
                self.outgoing.push((conn, frame));
            }
        }
    }
}

impl Server for ReferenceServer {
    fn connect(&mut self, conn: ConnId, access: Access) {
        let state = if access == Access::Read { State::new_read_only() } else { State::new() };
        self.peers.insert(conn, (state, String::new()));
    }

    fn frame(&mut self, conn: ConnId, frame: Vec<u8>) {
        let Ok(msg) = WireMessage::decode(&frame) else { return };
        match msg {
            WireMessage::Join { sender_id, .. } => {
                if let Some(p) = self.peers.get_mut(&conn) {
                    p.1 = sender_id.clone();
                }
                let reply = WireMessage::Peer {
                    sender_id: SERVER_PEER.into(),
                    target_id: sender_id,
                    metadata: None,
                    selected_protocol_version: "1".into(),
                };
                self.outgoing.push((conn, reply.encode()));
            }
            WireMessage::Request { data, .. } | WireMessage::Sync { data, .. } => {
                let msg = Message::decode(&data).expect("peers send valid messages");
                let (state, _) = self.peers.get_mut(&conn).expect("connected");
                self.doc.receive_sync_message(state, msg).expect("valid changes apply");
                self.sync_all();
            }
            _ => {}
        }
    }

    fn disconnect(&mut self, conn: ConnId) {
        self.peers.remove(&conn);
    }

    fn settle(&mut self, _rng: &mut ChaCha8Rng, _everything: bool) {}

    fn restart(&mut self) {
        // automerge-repo's server keeps its document (every change it took is on disk before
        // it answers) and loses its connections.
        self.peers.clear();
        self.outgoing.clear();
    }

    fn take_outgoing(&mut self) -> Vec<(ConnId, Vec<u8>)> {
        std::mem::take(&mut self.outgoing)
    }

    fn errors(&self) -> usize {
        0
    }

    fn heads(&self) -> Vec<ChangeHash> {
        self.doc.get_heads()
    }
}

/// One simulated client: an automerge document, its sync state with the server, and its
/// connection (if connected). Its own changes are made in advance (see
/// [`Client::take_in`]), so they are the same bytes whatever the server did.
pub struct Client {
    pub name: String,
    pub doc: AutoCommit,
    pub state: State,
    pub conn: Option<ConnId>,
    pub access: Access,
    pub inbox: VecDeque<Vec<u8>>,
    pub outbox: VecDeque<Vec<u8>>,
    pub joined: bool,
    pub errors_seen: usize,
    /// Sends its first changes as a whole saved document in a V2 message.
    pub sends_whole_doc: bool,
    /// Changes made in advance, waiting for their dependencies (the document's first change,
    /// which a client that joined empty gets from the server).
    pub waiting: VecDeque<Vec<u8>>,
    /// Changes the server sent on the current connection (in V1 messages).
    delivered: HashSet<ChangeHash>,
    /// Changes the server sent twice on one connection (V1 messages; a whole document in a
    /// V2 message repeats what the peer may have, as automerge's own does).
    pub redelivered: Vec<ChangeHash>,
    /// Changes that came in a message before a change of the same message they depend on.
    pub disordered: Vec<ChangeHash>,
}

/// The actor id of client `n`.
pub fn client_actor(n: u8) -> automerge::ActorId {
    let mut actor_bytes = [0u8; 16];
    actor_bytes[0] = n;
    actor_bytes[15] = 0xcc;
    automerge::ActorId::from(actor_bytes)
}

/// A random edit of the body, committed at a fixed time (the same seed gives the same bytes).
pub fn random_edit(doc: &mut AutoCommit, rng: &mut ChaCha8Rng) {
    use automerge::transaction::{CommitOptions, Transactable};
    let body = doc.get(ROOT, "body").expect("readable").expect("a section has a body").1;
    let len = doc.length(&body);
    if len > 0 && rng.random_bool(0.3) {
        let pos = rng.random_range(0..len);
        let del = rng.random_range(1..=(len - pos).min(3)) as isize;
        doc.splice_text(&body, pos, del, "").expect("valid splice");
    } else {
        let pos = rng.random_range(0..=len);
        let words = ["ciudad ", "red ", "mesa ", "actor ", "plan ", "ñandú ", "🌍 "];
        let text = words[rng.random_range(0..words.len())];
        doc.splice_text(&body, pos, 0, text).expect("valid splice");
    }
    doc.commit_with(CommitOptions::default().with_time(0));
}

impl Client {
    pub fn new(name: String, actor: u8, access: Access) -> Self {
        Self {
            name,
            doc: AutoCommit::new().with_actor(client_actor(actor)),
            state: State::new(),
            conn: None,
            access,
            inbox: VecDeque::new(),
            outbox: VecDeque::new(),
            joined: false,
            errors_seen: 0,
            sends_whole_doc: false,
            waiting: VecDeque::new(),
            delivered: HashSet::new(),
            redelivered: Vec::new(),
            disordered: Vec::new(),
        }
    }

    pub fn body(&self) -> String {
        match self.doc.get(ROOT, "body") {
            Ok(Some((_, obj))) => self.doc.text(&obj).unwrap_or_default(),
            _ => String::new(),
        }
    }

    pub fn heads(&mut self) -> Vec<ChangeHash> {
        self.doc.get_heads()
    }

    /// Takes in changes made in advance (its own edits, or another tab's), in causal order:
    /// each as soon as the changes it depends on are in the document.
    pub fn take_in(&mut self, changes: &[Vec<u8>]) {
        self.waiting.extend(changes.iter().cloned());
        self.apply_ready();
    }

    fn apply_ready(&mut self) {
        while let Some(bytes) = self.waiting.front() {
            let change = automerge::Change::from_bytes(bytes.clone()).expect("made in advance");
            if self.doc.get_change_by_hash(&change.hash()).is_none() {
                if !change.deps().iter().all(|d| self.doc.get_change_by_hash(d).is_some()) {
                    return;
                }
                self.doc.apply_changes([change]).expect("own changes apply");
            }
            self.waiting.pop_front();
        }
    }

    /// A new connection: nothing was delivered on it yet.
    pub fn connected(&mut self, conn: ConnId) {
        self.conn = Some(conn);
        self.joined = false;
        self.inbox.clear();
        self.outbox.clear();
        self.delivered.clear();
    }

    pub fn sync_frame(&mut self, doc_id: DocumentId) -> Option<Vec<u8>> {
        let msg = if self.sends_whole_doc && !self.doc.get_heads().is_empty() {
            // What the official client does for a V2 peer when a third of its history is
            // new: the whole document in one chunk.
            self.sends_whole_doc = false;
            let mut m = self.doc.sync().generate_sync_message(&mut self.state)?;
            m.changes = self.doc.save().into();
            m.version = automerge::sync::MessageVersion::V2;
            m
        } else {
            self.doc.sync().generate_sync_message(&mut self.state)?
        };
        let empty = self.doc.get_heads().is_empty();
        let data = msg.encode();
        let frame = if empty {
            WireMessage::Request { sender_id: self.name.clone(), target_id: SERVER_PEER.into(), document_id: doc_id, data }
        } else {
            WireMessage::Sync { sender_id: self.name.clone(), target_id: SERVER_PEER.into(), document_id: doc_id, data }
        };
        Some(frame.encode())
    }

    pub fn receive(&mut self, frame: &[u8]) {
        match WireMessage::decode(frame).expect("server frames decode") {
            WireMessage::Peer { .. } => self.joined = true,
            WireMessage::Sync { data, .. } => {
                let msg = Message::decode(&data).expect("server sync messages decode");
                if msg.version == automerge::sync::MessageVersion::V1 {
                    self.note_delivered(&msg);
                }
                self.doc.sync().receive_sync_message(&mut self.state, msg).expect("server changes apply");
                self.apply_ready();
            }
            WireMessage::Error { .. } => self.errors_seen += 1,
            // Rosters and other peers' presence.
            WireMessage::DocUnavailable { .. } | WireMessage::Ephemeral { .. } => {}
            other => panic!("unexpected frame to client: {other:?}"),
        }
    }

    /// Notes the changes of a V1 message: sent twice on this connection, or before a change
    /// of the same message they depend on.
    fn note_delivered(&mut self, msg: &Message) {
        let changes: Vec<automerge::Change> = msg
            .changes
            .iter()
            .flat_map(|chunk| storage::split_changes(chunk).expect("server chunks split"))
            .collect();
        let later: HashSet<ChangeHash> = changes.iter().map(|c| c.hash()).collect();
        let mut seen = HashSet::new();
        for c in &changes {
            let hash = c.hash();
            if c.deps().iter().any(|d| later.contains(d) && !seen.contains(d)) {
                self.disordered.push(hash);
            }
            seen.insert(hash);
            if !self.delivered.insert(hash) {
                self.redelivered.push(hash);
            }
        }
    }
}

pub fn join_frame(name: &str) -> Vec<u8> {
    WireMessage::Join {
        sender_id: name.into(),
        metadata: None,
        supported_protocol_versions: vec!["1".into()],
    }
    .encode()
}

// Helpers for the targeted tests (refusals, access, limits).

impl EngineServer {
    /// Changes what the runtime answers for `conn` and tells the engine at once, as the
    /// server does when a member's role changes while connected.
    pub fn set_access(&mut self, conn: ConnId, access: Access) {
        self.access.insert(conn, access);
        self.event(Event::Access { conn, doc: self.doc, access });
    }

    /// Completes every pending store and materialization, then ticks.
    pub fn settle_all(&mut self) {
        use rand::SeedableRng;
        self.settle(&mut ChaCha8Rng::seed_from_u64(0), true);
    }

    /// Makes the oldest pending store durable (and nothing else); false if there was none.
    pub fn complete_one_store(&mut self) -> bool {
        let Some((upto, chunk)) = self.pending_stores.pop_front() else { return false };
        let row = self.next_row;
        self.next_row += 1;
        self.rows.push((row, StoredChunk::Changes(chunk)));
        self.event(Event::Stored { doc: self.doc, upto, row });
        true
    }

    /// Stores the engine asked for that are not durable yet.
    pub fn pending_stores(&self) -> usize {
        self.pending_stores.len()
    }

    /// Moves the clock forward (every event also advances it by 1 ms).
    pub fn advance(&mut self, ms: u64) {
        self.now += ms;
    }

    /// The clock (the `now` of the last event, plus what `advance` added).
    pub fn now(&self) -> u64 {
        self.now
    }

    /// Whether the engine asked to close `conn`.
    pub fn closed(&self, conn: ConnId) -> bool {
        self.log.iter().any(|(c, f)| *c == conn && f.is_none())
    }

    /// The frames sent to `conn` before the engine closed it (all of them if it did not),
    /// decoded.
    pub fn sent_before_close(&self, conn: ConnId) -> Vec<WireMessage> {
        self.log
            .iter()
            .filter(|(c, _)| *c == conn)
            .map_while(|(_, f)| f.as_ref())
            .map(|f| WireMessage::decode(f).expect("engine frames decode"))
            .collect()
    }
}

/// A peer for targeted tests: an automerge document with its sync state (as the official
/// client keeps them), plus every frame it received.
pub struct Peer {
    pub name: String,
    pub conn: ConnId,
    pub doc: AutoCommit,
    pub state: State,
    /// Every frame received, decoded, in order.
    pub received: Vec<WireMessage>,
    /// Syncs the document in [`pump`]; stops on `doc-unavailable` (as the JS client does).
    pub syncing: bool,
}

impl Peer {
    /// A peer whose actor id is 16 bytes of `actor`.
    pub fn new(name: &str, actor: u8, conn: ConnId) -> Self {
        Self {
            name: name.into(),
            conn,
            doc: AutoCommit::new().with_actor(automerge::ActorId::from([actor; 16])),
            state: State::new(),
            received: Vec::new(),
            syncing: true,
        }
    }

    /// Connects with `access` to the server's document and joins.
    pub fn connect(&mut self, server: &mut EngineServer, access: Access) {
        server.connect(self.conn, access);
        server.frame(self.conn, join_frame(&self.name));
        let out = server.take_outgoing();
        assert!(
            out.iter().any(|(c, f)| *c == self.conn && matches!(WireMessage::decode(f), Ok(WireMessage::Peer { .. }))),
            "{} got no peer message",
            self.name
        );
        for (c, f) in out {
            if c == self.conn {
                self.deliver(&f);
            } else {
                // Only rosters for others (from earlier events, such as a disconnect) may be
                // waiting: a join tells nobody else anything.
                let roster = matches!(WireMessage::decode(&f), Ok(WireMessage::Ephemeral { sender_id, .. }) if sender_id == SERVER_PEER);
                assert!(roster, "only the joining peer hears about a join");
            }
        }
    }

    /// Handles one frame from the server: records it and applies sync messages (which
    /// must apply: the server never relays what automerge rejects).
    pub fn deliver(&mut self, frame: &[u8]) {
        let msg = WireMessage::decode(frame).expect("engine frames decode");
        match &msg {
            WireMessage::Sync { data, .. } => {
                let m = Message::decode(data).expect("engine sync messages decode");
                self.doc.sync().receive_sync_message(&mut self.state, m).expect("what the engine sends applies");
            }
            WireMessage::DocUnavailable { .. } => self.syncing = false,
            _ => {}
        }
        self.received.push(msg);
    }

    /// The automerge sync message the peer would send now, as a frame.
    pub fn sync_frame(&mut self, doc: DocumentId) -> Option<Vec<u8>> {
        let msg = self.doc.sync().generate_sync_message(&mut self.state)?;
        Some(self.frame_for(doc, msg))
    }

    /// Wraps a sync message the way the client does: `request` while the document is empty.
    pub fn frame_for(&mut self, doc: DocumentId, msg: Message) -> Vec<u8> {
        let data = msg.encode();
        let (sender_id, target_id) = (self.name.clone(), SERVER_PEER.to_string());
        if self.doc.get_heads().is_empty() {
            WireMessage::Request { sender_id, target_id, document_id: doc, data }.encode()
        } else {
            WireMessage::Sync { sender_id, target_id, document_id: doc, data }.encode()
        }
    }

    /// Sends `changes` (raw change chunks) in one sync message, claiming `heads`, whatever
    /// the peer's own document and sync state say: what a buggy or hostile client does.
    pub fn send_raw(&mut self, server: &mut EngineServer, doc: DocumentId, changes: Vec<Vec<u8>>, heads: Vec<ChangeHash>) {
        let msg = Message {
            heads,
            need: Vec::new(),
            have: vec![automerge::sync::Have::default()],
            changes: changes.into(),
            flags: None,
            version: automerge::sync::MessageVersion::V1,
        };
        let data = msg.encode();
        let frame = WireMessage::Sync { sender_id: self.name.clone(), target_id: SERVER_PEER.into(), document_id: doc, data };
        server.frame(self.conn, frame.encode());
    }

    /// The sync messages received, decoded.
    pub fn sync_messages(&self) -> Vec<Message> {
        self.received
            .iter()
            .filter_map(|m| match m {
                WireMessage::Sync { data, .. } => Some(Message::decode(data).expect("decodes")),
                _ => None,
            })
            .collect()
    }

    /// The `error` messages received.
    pub fn errors(&self) -> Vec<String> {
        self.received
            .iter()
            .filter_map(|m| match m {
                WireMessage::Error { message } => Some(message.clone()),
                _ => None,
            })
            .collect()
    }

    /// Every change hash the server ever sent this peer.
    pub fn hashes_received(&self) -> Vec<ChangeHash> {
        self.sync_messages()
            .iter()
            .flat_map(|m| m.changes.iter().map(|c| c.to_vec()).collect::<Vec<_>>())
            .flat_map(|chunk| storage::split_changes(&chunk).expect("engine chunks split"))
            .map(|c| c.hash())
            .collect()
    }
}

/// Delivers the server's outgoing frames to the peers; true if there were any. Frames for
/// connections no peer holds are dropped.
pub fn route(server: &mut EngineServer, peers: &mut [&mut Peer]) -> bool {
    let out = server.take_outgoing();
    let any = !out.is_empty();
    for (conn, frame) in out {
        if let Some(p) = peers.iter_mut().find(|p| p.conn == conn) {
            p.deliver(&frame);
        }
    }
    any
}

/// Runs the exchange (every syncing peer says what automerge makes it say, stores
/// complete, the server's answers are delivered) until a round passes with no frame in
/// either direction. Returns the number of rounds; panics if it is still talking after
/// `max_rounds`: an exchange that never ends.
pub fn pump(server: &mut EngineServer, peers: &mut [&mut Peer], max_rounds: usize) -> usize {
    let doc = server.doc;
    for round in 0..max_rounds {
        let mut traffic = false;
        for p in peers.iter_mut() {
            if p.syncing
                && let Some(frame) = p.sync_frame(doc)
            {
                traffic = true;
                server.frame(p.conn, frame);
            }
        }
        server.settle_all();
        traffic |= route(server, peers);
        if !traffic {
            return round;
        }
    }
    panic!("the exchange did not go quiet after {max_rounds} rounds");
}

/// The flags of a sync message carry `flag`.
pub fn has_flag(msg: &Message, flag: u8) -> bool {
    msg.flags.is_some_and(|f| f.contains(flag))
}

/// An `ephemeral` frame from `name` about `doc`.
pub fn ephemeral_frame(name: &str, doc: DocumentId, count: u64, data: Vec<u8>) -> Vec<u8> {
    WireMessage::Ephemeral {
        sender_id: name.into(),
        target_id: SERVER_PEER.into(),
        count,
        session_id: format!("session-{name}"),
        document_id: doc,
        data,
    }
    .encode()
}

/// A `request` frame from a peer with an empty document, as the client sends it first.
pub fn request_frame(name: &str, doc: DocumentId) -> Vec<u8> {
    let msg = AutoCommit::new().sync().generate_sync_message(&mut State::new()).expect("a first message");
    WireMessage::Request { sender_id: name.into(), target_id: SERVER_PEER.into(), document_id: doc, data: msg.encode() }
        .encode()
}
