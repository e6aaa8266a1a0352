//! Two engines ("nodes") sharing one store, as several `concerta serve` on one Postgres:
//! each announces the rows it stores to the other, which takes their changes as stored
//! elsewhere. Notices arrive late, in bursts, or are lost (then the node re-reads
//! everything, as the runtime does after a dropped `LISTEN` connection); both nodes compact
//! the same document. Peers connect to either node and move between them.
//!
//! With [`Cluster::chaos`], each node's runtime is as slow and faulty as the single engine's
//! (`Chaos` in `sim.rs`): stores completing late, loads answered by a later `settle` (frames
//! arrive while loading),
//! compactions answered late and a third of them failing, and the durability oracle checked
//! at every crash (both nodes die; every change either node acknowledged must be stored).

use std::collections::{HashMap, HashSet, VecDeque};

use automerge::ChangeHash;
use concerta_sync::storage::{self, StoredChunk};
use concerta_sync::{Access, Config, ConnId, DocumentId, Effect, Engine, Event, Schema};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use crate::sim::{acknowledged_by, compact_rows, missing_from_rows, Server};

struct Node {
    engine: Engine,
    stores: VecDeque<(usize, Vec<u8>)>,
    materialize: Vec<Vec<Vec<u8>>>,
    /// Rows the other node stored, not yet announced here.
    notices: VecDeque<i64>,
    /// A notice was lost: the node must re-read everything.
    lost: bool,
    /// The `Effect::Wake` asked for, if any.
    wake: Option<u64>,
    /// Loads and compactions asked for and not answered yet (with `chaos`).
    loads: Vec<DocumentId>,
    compacts: Vec<(Vec<u8>, Option<Vec<u8>>, Vec<i64>)>,
}

impl Node {
    fn new(config: &Config) -> Self {
        Node { engine: Engine::new(config.clone()), stores: VecDeque::new(), materialize: Vec::new(), notices: VecDeque::new(), lost: false, wake: None, loads: Vec::new(), compacts: Vec::new() }
    }
}

/// See the module docs.
pub struct Cluster {
    doc: DocumentId,
    nodes: Vec<Node>,
    rows: Vec<(i64, StoredChunk)>,
    next_row: i64,
    access: HashMap<ConnId, Access>,
    outgoing: Vec<(ConnId, Vec<u8>)>,
    config: Config,
    now: u64,
    /// Decides which notices get lost, reproducibly.
    coin: u64,
    /// Slow loads, late and failing compactions, the durability oracle (module docs).
    pub chaos: bool,
    /// The oracle: every change a node acknowledged to a peer (`sim::acknowledged_by`).
    acknowledged: HashSet<ChangeHash>,
    violations: Vec<String>,
    /// What the chaos made happen, so a test can check it did.
    pub frames_while_loading: usize,
    pub failed_compactions: usize,
    pub stores_lost: usize,
}

impl Cluster {
    pub fn new(doc: DocumentId, initial: Vec<u8>, config: Config) -> Self {
        Cluster {
            doc,
            nodes: vec![Node::new(&config), Node::new(&config)],
            rows: vec![(1, StoredChunk::Changes(initial))],
            next_row: 2,
            access: HashMap::new(),
            outgoing: Vec::new(),
            config,
            now: 0,
            coin: 0,
            chaos: false,
            acknowledged: HashSet::new(),
            violations: Vec::new(),
            frames_while_loading: 0,
            failed_compactions: 0,
            stores_lost: 0,
        }
    }

    fn node_of(conn: ConnId) -> usize {
        (conn % 2) as usize
    }

    fn event(&mut self, n: usize, event: Event) {
        self.now += 1;
        let effects = self.nodes[n].engine.handle_event(self.now, event);
        let mut follow = Vec::new();
        for effect in effects {
            match effect {
                Effect::Send { conn, frame } => {
                    if self.chaos {
                        self.acknowledged.extend(acknowledged_by(&frame));
                    }
                    self.outgoing.push((conn, frame));
                }
                Effect::CheckAccess { conn, doc } => {
                    let access = if doc == self.doc { self.access.get(&conn).copied().unwrap_or(Access::None) } else { Access::None };
                    follow.push(Event::Access { conn, doc, access });
                }
                Effect::Load { doc } if self.chaos => self.nodes[n].loads.push(doc),
                Effect::Load { doc } => {
                    let rows = (doc == self.doc).then(|| self.rows.clone());
                    follow.push(Event::Loaded { doc, rows, schema: Schema::Section });
                }
                Effect::Compact { log, snapshot, replaces, .. } if self.chaos => self.nodes[n].compacts.push((log, snapshot, replaces)),
                Effect::Store { chunk, upto, .. } => self.nodes[n].stores.push_back((upto, chunk)),
                Effect::Materialize { changes, .. } => self.nodes[n].materialize.push(changes),
                Effect::Compact { doc, log, snapshot, replaces } => {
                    let log_row = compact_rows(&mut self.rows, &mut self.next_row, log, snapshot, &replaces);
                    follow.push(Event::Compacted { doc, log_row: Some(log_row) });
                }
                Effect::Wake { at } => self.nodes[n].wake = Some(self.nodes[n].wake.map_or(at, |w| w.min(at))),
                Effect::Close { .. }
                | Effect::Refused { .. }
                | Effect::Quarantined { .. }
                | Effect::ProtocolError { .. }
                // Presence between nodes is off here (`share_presence`), and tested with
                // two real nodes (tests/it/cluster.rs at the root).
                | Effect::SharePresence { .. }
                | Effect::ShareEphemeral { .. } => {}
            }
        }
        for e in follow {
            self.event(n, e);
        }
    }

    /// What the runtime sends after a notice: every row from that id on (a compaction may
    /// already have folded the announced row into a later log).
    fn rows_from(&self, from: i64) -> Vec<(i64, StoredChunk)> {
        self.rows.iter().filter(|(id, _)| *id >= from).cloned().collect()
    }
}

impl Server for Cluster {
    fn connect(&mut self, conn: ConnId, access: Access) {
        self.access.insert(conn, access);
        self.event(Self::node_of(conn), Event::Connected { conn, identity: crate::sim::identity(conn) });
    }

    fn frame(&mut self, conn: ConnId, frame: Vec<u8>) {
        let n = Self::node_of(conn);
        self.frames_while_loading += usize::from(!self.nodes[n].loads.is_empty());
        self.event(n, Event::Frame { conn, data: frame });
    }

    fn disconnect(&mut self, conn: ConnId) {
        self.event(Self::node_of(conn), Event::Disconnected { conn });
    }

    fn settle(&mut self, rng: &mut ChaCha8Rng, everything: bool) {
        for n in 0..self.nodes.len() {
            // With chaos, a slow database: often no store completes at all, so a crash has a
            // wide window to lose one in.
            if self.chaos && !everything && rng.random_bool(0.5) {
                continue;
            }
            let mut stores = 0;
            while let Some((upto, chunk)) = self.nodes[n].stores.pop_front() {
                stores += 1;
                assert!(stores < 10_000, "a node keeps storing: a store loop");
                let row = self.next_row;
                self.next_row += 1;
                self.rows.push((row, StoredChunk::Changes(chunk)));
                // The announcement to the other node: sometimes lost.
                self.coin = self.coin.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                let other = 1 - n;
                if (self.coin >> 33) % 13 == 0 {
                    self.nodes[other].lost = true;
                } else {
                    self.nodes[other].notices.push_back(row);
                }
                self.event(n, Event::Stored { doc: self.doc, upto, row });
                if !everything && rng.random_bool(0.5) {
                    break;
                }
            }
        }
        for n in 0..self.nodes.len() {
            // Notices arrive late and in bursts.
            if !everything && rng.random_bool(0.4) {
                continue;
            }
            if std::mem::take(&mut self.nodes[n].lost) {
                self.nodes[n].notices.clear();
                let rows = self.rows_from(i64::MIN);
                self.event(n, Event::Remote { doc: self.doc, rows });
            }
            while let Some(row) = self.nodes[n].notices.pop_front() {
                let rows = self.rows_from(row);
                self.event(n, Event::Remote { doc: self.doc, rows });
            }
            for doc in std::mem::take(&mut self.nodes[n].loads) {
                // Sometimes one more settle later.
                if !everything && rng.random_bool(0.3) {
                    self.nodes[n].loads.push(doc);
                    continue;
                }
                let rows = (doc == self.doc).then(|| self.rows.clone());
                self.event(n, Event::Loaded { doc, rows, schema: Schema::Section });
            }
            for (log, snapshot, replaces) in std::mem::take(&mut self.nodes[n].compacts) {
                // A third fail, as a failed compaction transaction: the rows stay as they were.
                let log_row = if rng.random_bool(1.0 / 3.0) {
                    self.failed_compactions += 1;
                    None
                } else {
                    Some(compact_rows(&mut self.rows, &mut self.next_row, log, snapshot, &replaces))
                };
                self.event(n, Event::Compacted { doc: self.doc, log_row });
            }
            for changes in std::mem::take(&mut self.nodes[n].materialize) {
                let result = storage::materialize(changes).map_err(|e| e.to_string());
                self.event(n, Event::Materialized { doc: self.doc, result });
            }
            if let Some(at) = self.nodes[n].wake.take() {
                self.now = self.now.max(at);
                self.event(n, Event::Wake);
            }
            self.event(n, Event::Tick);
        }
    }

    fn take_outgoing(&mut self) -> Vec<(ConnId, Vec<u8>)> {
        std::mem::take(&mut self.outgoing)
    }

    fn errors(&self) -> usize {
        0
    }

    fn violations(&self) -> Vec<String> {
        self.violations.clone()
    }

    fn heads(&self) -> Vec<ChangeHash> {
        storage::load_graph(self.rows.clone(), Schema::Section).expect("stored rows load").graph.durable_heads()
    }

    fn describe(&self) -> String {
        self.nodes
            .iter()
            .enumerate()
            .map(|(i, n)| format!("node {i}: {}", n.engine.describe(&self.doc)))
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn restart(&mut self) {
        // Both nodes crash: what was not stored is gone, and a compaction in flight did not
        // commit. Nothing either node acknowledged may be lost.
        if self.chaos {
            self.violations.extend(missing_from_rows(&self.rows, &self.acknowledged, &HashSet::new(), "at a crash"));
        }
        self.stores_lost += self.nodes.iter().map(|n| n.stores.len()).sum::<usize>();
        self.nodes = vec![Node::new(&self.config), Node::new(&self.config)];
        self.outgoing.clear();
    }
}
