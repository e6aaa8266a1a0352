//! Shared pieces of the fuzz targets: a deterministic section document, a pool of valid
//! changes to build inputs from, and an in-memory runtime that performs the engine's effects
//! (access granted, storage in memory, materialization with automerge) and checks that
//! everything the engine sends decodes.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::sync::{Arc, OnceLock};

use automerge::sync::{Message, State, SyncDoc};
use automerge::transaction::{CommitOptions, Transactable};
use automerge::{ActorId, AutoCommit, Change, ObjType, ReadDoc, ROOT};
use concerta_sync::storage::{self, StoredChunk};
use concerta_sync::wire::WireMessage;
use concerta_sync::{Access, Config, ConnId, DocumentId, Effect, Engine, Event, Schema};

/// The one document the runtime holds.
pub fn doc() -> DocumentId {
    DocumentId::from_bytes([1; 16])
}

fn commit(doc: &mut AutoCommit) {
    // A fixed time: the same input gives the same hashes on every run.
    doc.commit_with(CommitOptions::default().with_time(0));
}

/// The section's first change: `title` and `body` texts, by a fixed actor.
pub fn initial_change() -> &'static [u8] {
    static INITIAL: OnceLock<Vec<u8>> = OnceLock::new();
    INITIAL.get_or_init(|| {
        let mut doc = AutoCommit::new().with_actor(ActorId::from([0xaa; 16]));
        let title = doc.put_object(ROOT, "title", ObjType::Text).expect("root key");
        doc.splice_text(&title, 0, 0, "Plan").expect("splice");
        doc.put_object(ROOT, "body", ObjType::Text).expect("root key");
        commit(&mut doc);
        doc.get_last_local_change().expect("committed").raw_bytes().to_vec()
    })
}

/// Valid changes on top of the initial one, by two actors, in causal order: text edits,
/// concurrent edits and a merge, a block marker and an edit inside it, a deletion.
pub fn pool() -> &'static [Change] {
    static POOL: OnceLock<Vec<Change>> = OnceLock::new();
    POOL.get_or_init(|| {
        let mut a = AutoCommit::new().with_actor(ActorId::from([1; 16]));
        a.load_incremental(initial_change()).expect("loads");
        let mut b = a.fork().with_actor(ActorId::from([2; 16]));
        let body = a.get(ROOT, "body").expect("readable").expect("body").1;
        a.splice_text(&body, 0, 0, "hola ").expect("splice");
        commit(&mut a);
        b.splice_text(&body, 0, 0, "mundo").expect("splice");
        commit(&mut b);
        a.merge(&mut b).expect("merge");
        let block = a.split_block(&body, 2).expect("block");
        commit(&mut a);
        a.put(&block, "type", "heading").expect("put");
        commit(&mut a);
        b.merge(&mut a).expect("merge");
        b.splice_text(&body, 1, 2, "").expect("delete");
        commit(&mut b);
        let title = b.get(ROOT, "title").expect("readable").expect("title").1;
        b.splice_text(&title, 4, 0, " 2030").expect("splice");
        commit(&mut b);
        b.get_changes(&[])[1..].to_vec()
    })
}

/// The actors that appear in the pool (and the initial change).
pub fn actors() -> [ActorId; 3] {
    [ActorId::from([0xaa; 16]), ActorId::from([1; 16]), ActorId::from([2; 16])]
}

/// A first `request` (an empty client's sync message) for [`doc()`].
pub fn request_frame(name: &str) -> Vec<u8> {
    let msg = AutoCommit::new().sync().generate_sync_message(&mut State::new()).expect("a first message");
    WireMessage::Request { sender_id: name.into(), target_id: "server".into(), document_id: doc(), data: msg.encode() }
        .encode()
}

pub fn join_frame(name: &str) -> Vec<u8> {
    WireMessage::Join { sender_id: name.into(), metadata: None, supported_protocol_versions: vec!["1".into()] }.encode()
}

pub fn sync_frame(name: &str, request: bool, data: Vec<u8>) -> Vec<u8> {
    let (sender_id, target_id) = (name.to_string(), "server".to_string());
    if request {
        WireMessage::Request { sender_id, target_id, document_id: doc(), data }.encode()
    } else {
        WireMessage::Sync { sender_id, target_id, document_id: doc(), data }.encode()
    }
}

/// A sync message carrying `chunks`.
pub fn changes_message(heads: Vec<automerge::ChangeHash>, chunks: Vec<Vec<u8>>) -> Vec<u8> {
    Message {
        heads,
        need: Vec::new(),
        have: vec![automerge::sync::Have::default()],
        changes: chunks.into(),
        flags: None,
        version: automerge::sync::MessageVersion::V1,
    }
    .encode()
}

/// The engine with an in-memory runtime. Every frame it sends is checked to decode.
pub struct Runtime {
    pub engine: Engine,
    pub now: u64,
    pub rows: Vec<(i64, StoredChunk)>,
    next_row: i64,
    /// What the runtime answers for [`doc()`] per connection (other documents: none).
    pub access: [Access; 2],
    stores: VecDeque<(usize, Vec<u8>)>,
    materialize: Vec<Vec<Vec<u8>>>,
    /// Every frame sent, by connection.
    pub sent: Vec<(ConnId, Vec<u8>)>,
}

impl Default for Runtime {
    fn default() -> Self {
        Self::new()
    }
}

impl Runtime {
    pub fn new() -> Self {
        let config = Config {
            peer_id: "server".into(),
            // Small limits so that the fuzzer reaches them.
            max_docs_per_conn: 4,
            message_burst: 64.0,
            ephemeral_burst: 4.0,
            idle_unload_ms: 1_000,
            snapshot_every: 8,
            compact_rows: 4,
            max_pending: 16,
            max_doc_bytes: 1 << 20,
            ..Config::default()
        };
        Self {
            engine: Engine::new(config),
            now: 0,
            rows: vec![(1, StoredChunk::Changes(initial_change().to_vec()))],
            next_row: 2,
            access: [Access::Write, Access::Write],
            stores: VecDeque::new(),
            materialize: Vec::new(),
            sent: Vec::new(),
        }
    }

    pub fn event(&mut self, event: Event) {
        self.now += 1;
        let effects = self.engine.handle_event(self.now, event);
        let mut follow = Vec::new();
        for effect in effects {
            match effect {
                Effect::Send { conn, frame } => {
                    let msg = WireMessage::decode(&frame).expect("every frame the engine sends decodes");
                    if let WireMessage::Sync { data, .. } = &msg {
                        Message::decode(data).expect("every sync message the engine sends decodes");
                    }
                    self.sent.push((conn, frame));
                }
                Effect::CheckAccess { conn, doc: d } => {
                    let access = if d == doc() { self.access[(conn as usize) % 2] } else { Access::None };
                    follow.push(Event::Access { conn, doc: d, access });
                }
                Effect::Load { doc: d } => {
                    let rows = (d == doc()).then(|| self.rows.clone());
                    follow.push(Event::Loaded { doc: d, rows, schema: Schema::Section });
                }
                Effect::Store { chunk, upto, .. } => self.stores.push_back((upto, chunk)),
                Effect::Materialize { changes, .. } => self.materialize.push(changes),
                Effect::Compact { doc: d, log, snapshot, replaces } => {
                    let replacing = snapshot.is_some();
                    self.rows.retain(|(id, r)| match r {
                        StoredChunk::Snapshot(_) => !replacing,
                        _ => !replaces.contains(id),
                    });
                    if let Some(s) = snapshot {
                        self.rows.push((self.next_row, StoredChunk::Snapshot(s)));
                        self.next_row += 1;
                    }
                    let log_row = self.next_row;
                    self.rows.push((log_row, StoredChunk::Log(log)));
                    self.next_row += 1;
                    follow.push(Event::Compacted { doc: d, log_row: Some(log_row) });
                }
                Effect::Close { .. }
                | Effect::Refused { .. }
                | Effect::Quarantined { .. }
                | Effect::ProtocolError { .. }
                | Effect::SharePresence { .. }
                | Effect::ShareEphemeral { .. }
                | Effect::Wake { .. } => {}
            }
        }
        for event in follow {
            self.event(event);
        }
    }

    /// Completes the oldest pending store.
    pub fn store_one(&mut self) {
        if let Some((upto, chunk)) = self.stores.pop_front() {
            let row = self.next_row;
            self.next_row += 1;
            self.rows.push((row, StoredChunk::Changes(chunk)));
            self.event(Event::Stored { doc: doc(), upto, row });
        }
    }

    /// Completes every store, then every materialization.
    pub fn settle(&mut self) {
        while !self.stores.is_empty() {
            self.store_one();
        }
        for changes in std::mem::take(&mut self.materialize) {
            let result = storage::materialize(changes).map_err(|e| e.to_string());
            self.event(Event::Materialized { doc: doc(), result });
        }
    }

    /// After [`Self::settle`]: the stored rows load, and give the engine's durable heads.
    pub fn check_storage(&mut self) {
        self.settle();
        let loaded = storage::load_graph(self.rows.clone(), Schema::Section).expect("stored rows load");
        // A change the materializer quarantined is still in the rows it was stored in until
        // the next compaction, and comes back on a load (to be quarantined again): compare
        // only when there was none.
        if self.engine.stats().changes_quarantined > 0 {
            return;
        }
        if let Some(heads) = self.engine.heads(&doc()) {
            assert_eq!(loaded.graph.durable_heads(), heads, "a restart would serve the same heads");
        }
    }
}

thread_local! {
    static LAST_PANIC: RefCell<String> = const { RefCell::new(String::new()) };
}

/// libfuzzer-sys aborts on every panic, even one the engine catches on purpose (it runs
/// automerge's decoder and apply under `catch_unwind` and refuses what panics). Keep
/// those caught, as in production: remember the message quietly, and abort only when a
/// panic escapes `body`.
pub fn run_catching(body: impl FnOnce()) {
    static HOOK: OnceLock<()> = OnceLock::new();
    HOOK.get_or_init(|| {
        std::panic::set_hook(Box::new(|info| {
            let location = info.location().map(|l| l.to_string()).unwrap_or_default();
            let message = info
                .payload()
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| info.payload().downcast_ref::<String>().cloned())
                .unwrap_or_default();
            let trace = if std::env::var_os("CONCERTA_FUZZ_BACKTRACE").is_some() {
                std::backtrace::Backtrace::force_capture().to_string()
            } else {
                "(set CONCERTA_FUZZ_BACKTRACE=1 for a backtrace)".into()
            };
            LAST_PANIC.with(|p| *p.borrow_mut() = format!("{message} at {location}\n{trace}"));
        }));
    });
    if std::panic::catch_unwind(std::panic::AssertUnwindSafe(body)).is_err() {
        LAST_PANIC.with(|p| eprintln!("panic escaped: {}", p.borrow()));
        std::process::abort();
    }
}

/// Applies `edits` (3 bytes each: position u16 LE, xor mask) to `bytes`.
pub fn damage(bytes: &mut [u8], edits: &[u8]) {
    if bytes.is_empty() {
        return;
    }
    for e in edits.chunks_exact(3) {
        let pos = usize::from(u16::from_le_bytes([e[0], e[1]])) % bytes.len();
        bytes[pos] ^= e[2];
    }
}

/// Recomputes the checksum of every chunk in an automerge chunk stream (as far as the
/// headers still parse), so that damaged contents get past the checksum and into the parsers.
pub fn fix_checksums(stream: &mut [u8]) {
    use sha2::{Digest, Sha256};
    let mut pos = 0;
    while pos + 9 <= stream.len() && stream[pos..pos + 4] == [0x85, 0x6f, 0x4a, 0x83] {
        let mut p = pos + 9;
        let (mut len, mut shift) = (0u64, 0);
        loop {
            let Some(&b) = stream.get(p) else { return };
            p += 1;
            if shift > 56 {
                return;
            }
            len |= u64::from(b & 0x7f) << shift;
            shift += 7;
            if b & 0x80 == 0 {
                break;
            }
        }
        let Some(end) = usize::try_from(len).ok().and_then(|l| p.checked_add(l)).filter(|&e| e <= stream.len()) else {
            return;
        };
        let mut hasher = Sha256::new();
        hasher.update(&stream[pos + 8..p]);
        hasher.update(&stream[p..end]);
        let hash = hasher.finalize();
        stream[pos + 4..pos + 8].copy_from_slice(&hash[..4]);
        pos = end;
    }
}

/// The initial change and the pool as one stream of change chunks.
pub fn pool_stream() -> Vec<u8> {
    let mut out = initial_change().to_vec();
    for c in pool() {
        out.extend_from_slice(c.raw_bytes());
    }
    out
}

/// The pool as a saved document.
pub fn pool_document() -> Vec<u8> {
    let mut doc = automerge::Automerge::new();
    doc.load_incremental(&pool_stream()).expect("the pool loads");
    doc.save()
}
