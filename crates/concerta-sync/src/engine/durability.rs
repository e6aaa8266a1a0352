//! Durability: loading documents, storing what was accepted, relaying it once durable,
//! snapshots, compaction, changes other nodes stored, and eviction.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use automerge::{Change, ChangeHash};

use super::ingest::retry_pending;
use super::{Access, ConnId, Effect, Engine, Millis};
use crate::graph::{ChangeGraph, Schema};
use crate::protocol::{DocView, Snapshot};
use crate::storage::{self, Materialized, StoredChunk};
use crate::wire::WireMessage;
use crate::DocumentId;

#[derive(PartialEq, Eq)]
pub(super) enum Status {
    Loading,
    Ready,
}

pub(super) struct Doc {
    pub(super) status: Status,
    pub(super) schema: Schema,
    pub(super) graph: ChangeGraph,
    pub(super) pending: HashMap<ChangeHash, Change>,
    /// Who sent each pending change: a pending change that fails its checks once its
    /// dependencies arrive is that peer's fault, not the fault of whoever sent them.
    pub(super) pending_from: HashMap<ChangeHash, ConnId>,
    /// Bytes of the pending changes: they count against the document's size limit.
    pub(super) pending_bytes: usize,
    /// Pending changes by a dependency they wait for: what to look at when it arrives, so
    /// that resolving a chain of waiting changes is linear in its length.
    pub(super) dependants: HashMap<ChangeHash, Vec<ChangeHash>>,
    /// Connections syncing this document (access granted, asked for it).
    pub(super) peers: BTreeSet<ConnId>,
    /// Connections waiting for the load.
    pub(super) waiting: BTreeSet<ConnId>,
    pub(super) store_in_flight: bool,
    /// Changes another node stored: never stored again, durable once what precedes them is.
    pub(super) stored_elsewhere: HashSet<ChangeHash>,
    /// Rows another node stored that arrived while loading.
    pub(super) remote_while_loading: Vec<(i64, StoredChunk)>,
    /// Ids of the change and log rows whose changes are all in the graph: what the next
    /// compaction replaces.
    pub(super) rows: Vec<i64>,
    /// The rows a compaction in flight replaces.
    pub(super) compacting: Option<Compacting>,
    pub(super) snapshot: Option<Snapshot>,
    /// A snapshot row waiting for a quiet moment to be written with a compaction.
    pub(super) snapshot_row: Option<Vec<u8>>,
    /// Durable changes since the last snapshot was asked for.
    pub(super) since_snapshot: usize,
    pub(super) materializing: bool,
    pub(super) idle_since: Option<Millis>,
    /// Changes refused lately (and changes that depend on them), whoever sent them: sent
    /// again, on any connection, they are refused at once. Bounded.
    pub(super) refused: RefusedHashes,
}

/// The most refused hashes a document remembers (oldest forgotten first).
const REFUSED_MEMORY: usize = 4_096;

/// A bounded set of refused change hashes, forgetting the oldest first.
#[derive(Default)]
pub(super) struct RefusedHashes {
    set: HashSet<ChangeHash>,
    order: std::collections::VecDeque<ChangeHash>,
}

impl RefusedHashes {
    pub(super) fn contains(&self, hash: &ChangeHash) -> bool {
        self.set.contains(hash)
    }

    pub(super) fn insert(&mut self, hash: ChangeHash) {
        if self.set.insert(hash) {
            self.order.push_back(hash);
            if self.order.len() > REFUSED_MEMORY
                && let Some(old) = self.order.pop_front()
            {
                self.set.remove(&old);
            }
        }
    }
}

impl Doc {
    pub(super) fn loading() -> Self {
        Doc {
            status: Status::Loading,
            schema: Schema::Section,
            graph: ChangeGraph::new(),
            pending: HashMap::new(),
            pending_from: HashMap::new(),
            pending_bytes: 0,
            dependants: HashMap::new(),
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
            refused: RefusedHashes::default(),
        }
    }

    /// Holds `change` until its missing dependencies arrive.
    pub(super) fn add_pending(&mut self, change: Change, from: Option<ConnId>) {
        let hash = change.hash();
        if self.pending.contains_key(&hash) {
            return;
        }
        for dep in change.deps() {
            if self.graph.index_of(dep).is_none() {
                self.dependants.entry(*dep).or_default().push(hash);
            }
        }
        self.pending_bytes += change.raw_bytes().len();
        if let Some(conn) = from {
            self.pending_from.insert(hash, conn);
        }
        self.pending.insert(hash, change);
    }

    /// Takes a pending change out, with its sender.
    pub(super) fn take_pending(&mut self, hash: &ChangeHash) -> Option<(Change, Option<ConnId>)> {
        let change = self.pending.remove(hash)?;
        self.pending_bytes -= change.raw_bytes().len();
        let from = self.pending_from.remove(hash);
        if self.pending.is_empty() {
            self.dependants.clear();
        }
        Some((change, from))
    }

    pub(super) fn view(&self) -> DocView<'_> {
        DocView { graph: &self.graph, pending: &self.pending, snapshot: self.snapshot.as_ref() }
    }
}

impl Engine {
    pub(super) fn on_loaded(
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

    pub(super) fn on_stored(&mut self, doc_id: DocumentId, upto: usize, row: i64, out: &mut Vec<Effect>) {
        let Some(doc) = self.docs.get_mut(&doc_id) else { return };
        doc.store_in_flight = false;
        doc.rows.push(row);
        self.make_durable(doc_id, upto, out);
        self.flush(doc_id, out);
    }

    /// Marks nodes up to `upto` durable, relays them, and starts the background work their
    /// number calls for.
    pub(super) fn make_durable(&mut self, doc_id: DocumentId, upto: usize, out: &mut Vec<Effect>) {
        let Some(doc) = self.docs.get_mut(&doc_id) else { return };
        let before = doc.graph.durable_len();
        doc.graph.mark_durable(upto);
        let added = doc.graph.durable_len() - before;
        if added == 0 {
            return;
        }
        doc.since_snapshot += added;
        // Relay: every peer of the document gets what it lacks (at once, or held while it
        // has not answered what we sent it last: see `relay.rs`).
        let peers: Vec<ConnId> = doc.peers.iter().copied().collect();
        for conn in peers {
            self.relay(conn, doc_id, out);
        }
        let Some(doc) = self.docs.get_mut(&doc_id) else { return };
        let durable = doc.graph.durable_len();
        if doc.snapshot_due(self.config.snapshot_every) {
            start_materialize(doc_id, doc, out);
        } else if doc.rows.len() > self.config.compact_rows.max(durable / 20) {
            compact(doc_id, doc, out);
        }
    }

    /// Stores the staged changes this node received; changes another node stored only wait
    /// for those before them.
    pub(super) fn flush(&mut self, doc_id: DocumentId, out: &mut Vec<Effect>) {
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

    pub(super) fn on_remote(&mut self, doc_id: DocumentId, rows: Vec<(i64, StoredChunk)>, out: &mut Vec<Effect>) {
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
        let before = doc.graph.len();
        let waiting = storage::append_stored(&mut doc.graph, fresh, doc.schema);
        for c in waiting {
            doc.add_pending(c, None);
        }
        // What arrived may be what earlier changes (from peers or other nodes) waited for.
        let late = retry_pending(doc, before);
        self.flush(doc_id, out);
        self.refuse_late(doc_id, late, out);
    }

    pub(super) fn on_materialized(&mut self, doc_id: DocumentId, result: Result<Materialized, String>, out: &mut Vec<Effect>) {
        let Some(doc) = self.docs.get_mut(&doc_id) else { return };
        doc.materializing = false;
        let materialized = match result {
            Ok(m) => m,
            Err(reason) => {
                out.push(Effect::ProtocolError { conn: 0, reason: format!("materializing {doc_id} failed: {reason}") });
                return;
            }
        };
        let mut quarantined = false;
        if !materialized.rejected.is_empty() {
            let hashes = doc.graph.quarantine(&materialized.rejected);
            quarantined = !hashes.is_empty();
            self.stats.changes_quarantined += hashes.len() as u64;
            out.push(Effect::Quarantined { doc: doc_id, hashes });
        }
        doc.snapshot_row = Some(storage::encode_snapshot(&materialized.heads, &materialized.snapshot));
        doc.snapshot = Some(Snapshot { bytes: Arc::new(materialized.snapshot), heads: materialized.heads });
        compact(doc_id, doc, out);
        if quarantined {
            // Our durable heads went back: every peer hears them (see `unannounced`).
            let peers: Vec<ConnId> = doc.peers.iter().copied().collect();
            for conn in peers {
                self.relay(conn, doc_id, out);
            }
        }
    }

    pub(super) fn on_tick(&mut self, now: Millis) {
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

/// Writes the log of every change and replaces the rows it covers, with the waiting
/// snapshot if any. Only when the document is quiet (nothing staged or pending), so every
/// row in `rows` is covered by the log, and never while the materializer runs (nor the
/// materializer while a compaction is in flight): the log and the store's copies of it
/// (some 3 × 4.6 MB for 20,000 changes) beside the materializer's document made the peak of
/// a long upload. The materializer's end compacts (with its snapshot) and a compaction's
/// end starts a materialization that was due.
pub(super) fn compact(doc_id: DocumentId, doc: &mut Doc, out: &mut Vec<Effect>) {
    let quiet = doc.graph.len() == doc.graph.durable_len() && doc.pending.is_empty() && !doc.store_in_flight;
    if !quiet || doc.compacting.is_some() || doc.materializing || doc.status != Status::Ready {
        return;
    }
    let log = storage::encode_log(&doc.graph);
    let replaces = std::mem::take(&mut doc.rows);
    let snapshot = doc.snapshot_row.take();
    doc.compacting = Some(Compacting { replaces: replaces.clone(), with_snapshot: snapshot.is_some() });
    out.push(Effect::Compact { doc: doc_id, log, snapshot, replaces });
}

/// A compaction on its way to the store: the rows it replaces, and whether it carries the
/// snapshot row.
pub(super) struct Compacting {
    replaces: Vec<i64>,
    with_snapshot: bool,
}

impl Engine {
    /// The store's answer to a compaction. Failed, the rows stay as they were and a snapshot
    /// it carried waits for the next one (the rows may hold quarantined changes that only a
    /// new snapshot's compaction leaves out).
    pub(super) fn on_compacted(&mut self, doc_id: DocumentId, log_row: Option<i64>, out: &mut Vec<Effect>) {
        let snapshot_every = self.config.snapshot_every;
        let Some(doc) = self.docs.get_mut(&doc_id) else { return };
        let Some(compacting) = doc.compacting.take() else { return };
        match log_row {
            Some(row) => doc.rows.push(row),
            None => {
                doc.rows.extend(compacting.replaces);
                if compacting.with_snapshot && doc.snapshot_row.is_none() {
                    doc.snapshot_row = doc.snapshot.as_ref().map(|s| storage::encode_snapshot(&s.heads, &s.bytes));
                }
            }
        }
        // A materialization that came due while the compaction was in flight.
        if doc.status == Status::Ready && doc.snapshot_due(snapshot_every) {
            start_materialize(doc_id, doc, out);
        }
    }
}

/// A snapshot made, or rows piled up, while the document was busy: compact at the next
/// quiet moment.
pub(super) fn compact_if_waiting(doc_id: DocumentId, doc: &mut Doc, row_threshold: usize, out: &mut Vec<Effect>) {
    if doc.snapshot_row.is_some() || doc.rows.len() > row_threshold.max(doc.graph.durable_len() / 20) {
        compact(doc_id, doc, out);
    }
}

impl Doc {
    /// A new snapshot is due once half the document is new since the last one (and at least
    /// `snapshot_every` changes), so its O(document) cost amortizes to a constant per edit.
    fn snapshot_due(&self, snapshot_every: usize) -> bool {
        self.since_snapshot >= snapshot_every.max(self.graph.durable_len() / 2)
    }
}

pub(super) fn start_materialize(doc_id: DocumentId, doc: &mut Doc, out: &mut Vec<Effect>) {
    if doc.materializing || doc.compacting.is_some() || doc.graph.durable_len() == 0 {
        return;
    }
    // Every durable change, not the last snapshot plus what came after it: see
    // `storage::materialize`.
    let changes = doc.graph.durable_tail(0).map(|i| doc.graph.node(i).bytes.clone()).collect();
    doc.materializing = true;
    doc.since_snapshot = 0;
    out.push(Effect::Materialize { doc: doc_id, changes });
}
