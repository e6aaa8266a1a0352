//! Bytes at rest: splitting automerge chunk streams, the compact change log that makes a
//! cold open cheap, and the materializer that builds snapshots off the hot path.
//!
//! A stored document is a set of rows: [`StoredChunk::Changes`] appended per accepted batch
//! (by any node), [`StoredChunk::Log`]s (our own encoding of the change graph and the
//! changes' bytes) that replace the rows they cover, and at most one
//! [`StoredChunk::Snapshot`] (a saved automerge document and its heads, for new peers).
//! Loading takes the union of every log and change row, deduplicated by hash: the log costs
//! no hashing and no decoding, only the few changes appended after it are decoded. Because
//! it is a union, two nodes compacting the same document at once lose nothing.

use std::collections::HashSet;

use automerge::{Automerge, Change, ChangeHash, ReadDoc};

use concerta_core::chunk_kind;

use crate::graph::{ChangeGraph, Schema};

const MAGIC: [u8; 4] = [0x85, 0x6f, 0x4a, 0x83];
const LOG_MAGIC: &[u8; 8] = b"CCTLOG01";

/// One stored row's payload, by kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoredChunk {
    /// Concatenated change chunks (kind 0), or any automerge chunk stream.
    Changes(Vec<u8>),
    /// A saved automerge document (kind 1).
    Snapshot(Vec<u8>),
    /// Our compact change log (kind 2).
    Log(Vec<u8>),
}

impl StoredChunk {
    /// The `kind` column value ([`chunk_kind`]).
    pub fn kind(&self) -> i16 {
        match self {
            StoredChunk::Changes(_) => chunk_kind::CHANGES,
            StoredChunk::Snapshot(_) => chunk_kind::SNAPSHOT,
            StoredChunk::Log(_) => chunk_kind::LOG,
        }
    }

    /// A stored row by its `kind` column; `None` for a kind this engine does not know.
    pub fn from_row(kind: i16, data: Vec<u8>) -> Option<Self> {
        match kind {
            chunk_kind::CHANGES => Some(StoredChunk::Changes(data)),
            chunk_kind::SNAPSHOT => Some(StoredChunk::Snapshot(data)),
            chunk_kind::LOG => Some(StoredChunk::Log(data)),
            _ => None,
        }
    }
}

/// A chunk stream that could not be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("invalid automerge data: {0}")]
pub struct ChunkError(pub String);

pub(crate) fn read_uleb(bytes: &[u8], pos: &mut usize) -> Option<u64> {
    let mut result: u64 = 0;
    let mut shift = 0;
    loop {
        let b = *bytes.get(*pos)?;
        *pos += 1;
        if shift >= 64 {
            return None;
        }
        result |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return Some(result);
        }
        shift += 7;
    }
}

fn write_uleb(out: &mut Vec<u8>, mut v: u64) {
    loop {
        let b = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(b);
            return;
        }
        out.push(b | 0x80);
    }
}

/// Splits a stream of concatenated automerge chunks into changes. Change chunks are parsed
/// one by one (cheap); a document or bundle chunk is loaded with automerge and its changes
/// extracted (a full load: rare, and never on the relay path of single changes).
pub fn split_changes(stream: &[u8]) -> Result<Vec<Change>, ChunkError> {
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < stream.len() {
        let start = pos;
        if stream.len() < pos + 9 || stream[pos..pos + 4] != MAGIC {
            return Err(ChunkError("bad chunk header".into()));
        }
        let chunk_type = stream[pos + 8];
        pos += 9;
        let len = read_uleb(stream, &mut pos).ok_or_else(|| ChunkError("bad chunk length".into()))?;
        let end = pos
            .checked_add(usize::try_from(len).map_err(|_| ChunkError("chunk too long".into()))?)
            .filter(|&e| e <= stream.len())
            .ok_or_else(|| ChunkError("truncated chunk".into()))?;
        let chunk = &stream[start..end];
        // Automerge's parsers panic on some damaged input (0.12 does on a document whose
        // columns are cut short, checksum notwithstanding): these bytes come from peers, so a
        // panic is an invalid chunk, never the engine's end.
        let parsed = std::panic::catch_unwind(|| match chunk_type {
            1 | 2 => Ok(vec![Change::from_bytes(chunk.to_vec()).map_err(|e| ChunkError(e.to_string()))?]),
            0 | 3 => {
                let doc = Automerge::load(chunk).map_err(|e| ChunkError(e.to_string()))?;
                Ok(doc.get_changes(&[]))
            }
            other => Err(ChunkError(format!("unknown chunk type {other}"))),
        })
        .map_err(|_| ChunkError("malformed chunk".into()))??;
        out.extend(parsed);
        pos = end;
    }
    Ok(out)
}

/// Whether `bytes` may hold a whole document (a document or bundle chunk, types 0 and 3):
/// a byte scan that finds every one, and now and then one that is not.
pub fn may_hold_document(bytes: &[u8]) -> bool {
    bytes.windows(9).any(|w| w[..4] == MAGIC && matches!(w[8], 0 | 3))
}

/// A sync message, as a peer sent it, whose changes hold whole documents: re-encoded with
/// each document replaced by its changes, so that the engine has only changes to check.
/// Loading a document costs O(document), and several times its size in memory while it
/// inflates, so the server does it on the peer's own connection task, off the engine's.
/// `None` when nothing needs unpacking, or when the message or a document in it is not
/// valid (the engine refuses the original).
pub fn unpack_documents(sync_message: &[u8]) -> Option<Vec<u8>> {
    let mut message = automerge::sync::Message::decode(sync_message).ok()?;
    if !message.changes.iter().any(may_hold_document) {
        return None;
    }
    let mut chunks = Vec::with_capacity(message.changes.len());
    for chunk in message.changes.iter() {
        if may_hold_document(chunk) {
            let changes = split_changes(chunk).ok()?;
            chunks.push(changes.iter().flat_map(|c| c.raw_bytes().iter().copied()).collect());
        } else {
            chunks.push(chunk.to_vec());
        }
    }
    message.changes = chunks.into();
    Some(message.encode())
}

/// Encodes the graph's durable, non-quarantined changes as a compact log.
///
/// Layout: magic, 8 reserved bytes, the change count, then per change: a flag (1 when a new
/// actor's id, length-prefixed, follows), hash (32), deps count and dep positions, actor
/// position, seq, start op, op count, byte length, bytes (numbers as uleb128); then the
/// objects made (op counter, actor position, object type).
pub fn encode_log(graph: &ChangeGraph) -> Vec<u8> {
    let mut out = Vec::with_capacity(graph.total_bytes() + graph.durable_len() * 48 + 16);
    out.extend_from_slice(LOG_MAGIC);
    out.extend_from_slice(&0i64.to_le_bytes());
    let included: Vec<u32> = graph.durable_tail(0).collect();
    let mut position = std::collections::HashMap::with_capacity(included.len());
    write_uleb(&mut out, included.len() as u64);
    let mut actors_written: std::collections::HashMap<u32, u64> = Default::default();
    for (n, &i) in included.iter().enumerate() {
        position.insert(i, n as u64);
        let node = graph.node(i);
        if !actors_written.contains_key(&node.actor) {
            let id = graph.actor(node.actor).to_bytes();
            out.push(1);
            write_uleb(&mut out, id.len() as u64);
            out.extend_from_slice(id);
            let next = actors_written.len() as u64;
            actors_written.insert(node.actor, next);
        } else {
            out.push(0);
        }
        out.extend_from_slice(&node.hash.0);
        write_uleb(&mut out, node.deps.len() as u64);
        for d in &node.deps {
            write_uleb(&mut out, position[d]);
        }
        write_uleb(&mut out, actors_written[&node.actor]);
        write_uleb(&mut out, node.seq);
        write_uleb(&mut out, node.start_op);
        write_uleb(&mut out, node.max_op + 1 - node.start_op);
        write_uleb(&mut out, node.bytes.len() as u64);
        out.extend_from_slice(&node.bytes);
    }
    // Objects made by the included changes, for checking later changes' references.
    let objects: Vec<((u64, u32), automerge::ObjType)> = graph
        .objects()
        .filter(|((counter, actor), _)| {
            graph.op_owner(*counter, *actor).is_some_and(|i| position.contains_key(&i))
        })
        .collect();
    write_uleb(&mut out, objects.len() as u64);
    for ((counter, actor), obj_type) in objects {
        write_uleb(&mut out, counter);
        write_uleb(&mut out, actors_written[&actor]);
        out.push(obj_type_code(obj_type));
    }
    out
}

fn obj_type_code(t: automerge::ObjType) -> u8 {
    match t {
        automerge::ObjType::Map => 0,
        automerge::ObjType::Table => 1,
        automerge::ObjType::List => 2,
        automerge::ObjType::Text => 3,
    }
}

fn obj_type_from(code: u8) -> Option<automerge::ObjType> {
    Some(match code {
        0 => automerge::ObjType::Map,
        1 => automerge::ObjType::Table,
        2 => automerge::ObjType::List,
        3 => automerge::ObjType::Text,
        _ => return None,
    })
}

/// One change read back from a log, trusted (we wrote it).
pub struct LogEntry {
    pub hash: ChangeHash,
    pub deps: Vec<u32>,
    pub actor: u32,
    pub seq: u64,
    pub start_op: u64,
    pub op_count: u64,
    pub bytes: Vec<u8>,
}

/// A decoded log: its actors, its changes in order and the objects they made (op id as
/// (counter, log actor index)).
pub struct Log {
    pub actors: Vec<automerge::ActorId>,
    pub entries: Vec<LogEntry>,
    pub objects: Vec<((u64, u32), automerge::ObjType)>,
}

/// Reads a log written by [`encode_log`].
pub fn decode_log(bytes: &[u8]) -> Result<Log, ChunkError> {
    let bad = || ChunkError("corrupt change log".into());
    if bytes.len() < 16 || &bytes[..8] != LOG_MAGIC {
        return Err(bad());
    }
    let mut pos = 16;
    let count = read_uleb(bytes, &mut pos).ok_or_else(bad)? as usize;
    let mut actors = Vec::new();
    let mut entries = Vec::with_capacity(count.min(1 << 20));
    let take = |pos: &mut usize, n: usize| -> Result<&[u8], ChunkError> {
        let s = bytes.get(*pos..pos.checked_add(n).ok_or_else(bad)?).ok_or_else(bad)?;
        *pos += n;
        Ok(s)
    };
    for n in 0..count {
        let new_actor = *bytes.get(pos).ok_or_else(bad)?;
        pos += 1;
        if new_actor == 1 {
            let len = read_uleb(bytes, &mut pos).ok_or_else(bad)? as usize;
            actors.push(automerge::ActorId::from(take(&mut pos, len)?));
        }
        let hash = ChangeHash::try_from(take(&mut pos, 32)?).map_err(|_| bad())?;
        let ndeps = read_uleb(bytes, &mut pos).ok_or_else(bad)? as usize;
        let mut deps = Vec::with_capacity(ndeps.min(64));
        for _ in 0..ndeps {
            let d = read_uleb(bytes, &mut pos).ok_or_else(bad)?;
            if d as usize >= n {
                return Err(bad());
            }
            deps.push(d as u32);
        }
        let actor = read_uleb(bytes, &mut pos).ok_or_else(bad)? as u32;
        if actor as usize >= actors.len() {
            return Err(bad());
        }
        let seq = read_uleb(bytes, &mut pos).ok_or_else(bad)?;
        let start_op = read_uleb(bytes, &mut pos).ok_or_else(bad)?;
        let op_count = read_uleb(bytes, &mut pos).ok_or_else(bad)?;
        // Every change starts at op 1 or later; the graph computes `start_op + op_count - 1`.
        if start_op == 0 || start_op.checked_add(op_count).is_none() {
            return Err(bad());
        }
        let len = read_uleb(bytes, &mut pos).ok_or_else(bad)? as usize;
        let change_bytes = take(&mut pos, len)?.to_vec();
        entries.push(LogEntry { hash, deps, actor, seq, start_op, op_count, bytes: change_bytes });
    }
    let nobjects = read_uleb(bytes, &mut pos).ok_or_else(bad)? as usize;
    let mut objects = Vec::with_capacity(nobjects.min(1 << 20));
    for _ in 0..nobjects {
        let counter = read_uleb(bytes, &mut pos).ok_or_else(bad)?;
        let actor = read_uleb(bytes, &mut pos).ok_or_else(bad)? as u32;
        if actor as usize >= actors.len() {
            return Err(bad());
        }
        let code = *bytes.get(pos).ok_or_else(bad)?;
        pos += 1;
        objects.push(((counter, actor), obj_type_from(code).ok_or_else(bad)?));
    }
    Ok(Log { actors, entries, objects })
}

/// What the materializer made: a snapshot of the changes it could apply, its heads, and the
/// hashes automerge rejected (to quarantine).
#[derive(Debug)]
pub struct Materialized {
    pub snapshot: Vec<u8>,
    pub heads: Vec<ChangeHash>,
    pub rejected: Vec<ChangeHash>,
}

/// Changes applied to the materializer's document at once: automerge's batch apply holds
/// about 4 KB per change in flight (decoded ops, patches) on top of the document, and each
/// batch costs a pass over the document. A sixteenth of the history per batch keeps the peak
/// near the document's own size (about 0.3 KB per change) at a bounded number of passes, so
/// the cost per edit stays flat as the history grows.
fn batch_size(changes: usize) -> usize {
    (changes / 16).max(1000)
}

/// Builds a snapshot of `changes` (in causal order), applied with automerge from an empty
/// document in batches (see [`batch_size`]). Changes automerge rejects are left out with
/// every change built on them, and reported. Expensive: call it off the hot path.
///
/// From scratch rather than on top of the last snapshot: loading a saved document holds
/// about six times its size while it inflates (36 MB for a 20,000-change section saved in
/// 0.4 MB), more than applying its changes in batches, and is no faster.
pub fn materialize(changes: Vec<Vec<u8>>) -> Result<Materialized, ChunkError> {
    materialize_in_batches(&changes, batch_size(changes.len()))
}

fn materialize_in_batches(changes: &[Vec<u8>], size: usize) -> Result<Materialized, ChunkError> {
    let parse = |batch: &[Vec<u8>]| {
        batch.iter().map(|b| Change::from_bytes(b.clone()).map_err(|e| ChunkError(e.to_string()))).collect::<Result<Vec<_>, _>>()
    };
    let mut doc = Automerge::new();
    let mut rejected = Vec::new();
    let mut bad: HashSet<ChangeHash> = HashSet::new();
    let applies = |doc: &mut Automerge, parsed: Vec<Change>| {
        let ok = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| doc.apply_changes(parsed)));
        matches!(ok, Ok(Ok(()))) && doc.get_missing_deps(&[]).is_empty()
    };
    for (n, batch) in changes.chunks(size).enumerate() {
        let parsed = parse(batch)?;
        if parsed.iter().all(|c| c.deps().iter().all(|d| !bad.contains(d))) {
            if applies(&mut doc, parsed) {
                continue;
            }
            // Something in this batch is wrong (rare: the graph's checks let it through).
            // The document is rebuilt from the batches before it.
            doc = Automerge::new();
            for earlier in changes[..n * size].chunks(size) {
                let good: Vec<Change> = parse(earlier)?.into_iter().filter(|c| !bad.contains(&c.hash())).collect();
                if !applies(&mut doc, good) {
                    return Err(ChunkError("changes that applied before failed on a second pass".into()));
                }
            }
        }
        // This batch one change at a time, each tried on a copy.
        for change in parse(batch)? {
            let hash = change.hash();
            if change.deps().iter().any(|d| bad.contains(d)) {
                bad.insert(hash);
                rejected.push(hash);
                continue;
            }
            let ok = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                let mut trial = doc.clone();
                trial.apply_changes([change]).map(|_| trial)
            }));
            match ok {
                Ok(Ok(trial)) if trial.get_missing_deps(&[]).is_empty() => doc = trial,
                _ => {
                    bad.insert(hash);
                    rejected.push(hash);
                }
            }
        }
    }
    Ok(Materialized { snapshot: doc.save(), heads: doc.get_heads(), rejected })
}

/// A snapshot row's payload: its heads (count as u32 LE, then 32 bytes each) and the saved
/// automerge document.
pub fn encode_snapshot(heads: &[ChangeHash], saved: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(saved.len() + 4 + heads.len() * 32);
    out.extend_from_slice(&(heads.len() as u32).to_le_bytes());
    for h in heads {
        out.extend_from_slice(&h.0);
    }
    out.extend_from_slice(saved);
    out
}

/// Reads a snapshot row written by [`encode_snapshot`]: (heads, saved document).
pub fn decode_snapshot(row: &[u8]) -> Option<(Vec<ChangeHash>, &[u8])> {
    let count = u32::from_le_bytes(row.get(..4)?.try_into().ok()?) as usize;
    let end = count.checked_mul(32)?.checked_add(4)?;
    let heads = row
        .get(4..end)?
        .chunks_exact(32)
        .map(|c| ChangeHash::try_from(c).ok())
        .collect::<Option<Vec<_>>>()?;
    Some((heads, &row[end..]))
}

/// A document as loaded: the graph (every node durable), the latest snapshot if its heads
/// are all in the graph, and the ids of the change and log rows it was built from (the
/// rows a compaction may replace).
pub struct Loaded {
    pub graph: ChangeGraph,
    pub snapshot: Option<(Vec<u8>, Vec<ChangeHash>)>,
    pub rows: Vec<i64>,
}

/// Rebuilds a graph from stored rows (id, payload), oldest first: the union of every log
/// and every change row, deduplicated by hash, and the latest usable snapshot.
pub fn load_graph(rows: Vec<(i64, StoredChunk)>, schema: Schema) -> Result<Loaded, ChunkError> {
    let mut graph = ChangeGraph::new();
    let mut snapshot = None;
    let mut queue: Vec<Change> = Vec::new();
    let mut ids = Vec::new();
    for (id, row) in rows {
        match row {
            StoredChunk::Log(bytes) => {
                ids.push(id);
                let log = decode_log(&bytes)?;
                if graph.is_empty() {
                    graph = ChangeGraph::from_log(log);
                } else {
                    // A second log (two nodes compacted at once): merge it the slow way.
                    for entry in log.entries {
                        if graph.index_of(&entry.hash).is_none() {
                            queue.push(Change::from_bytes(entry.bytes).map_err(|e| ChunkError(e.to_string()))?);
                        }
                    }
                }
            }
            StoredChunk::Changes(bytes) => {
                ids.push(id);
                queue.extend(split_changes(&bytes)?);
            }
            StoredChunk::Snapshot(bytes) => {
                if let Some((heads, saved)) = decode_snapshot(&bytes) {
                    snapshot = Some((saved.to_vec(), heads));
                }
            }
        }
    }
    append_stored(&mut graph, queue, schema);
    let len = graph.len();
    graph.mark_durable(len);
    let snapshot = snapshot.filter(|(_, heads)| heads.iter().all(|h| graph.has(h)));
    Ok(Loaded { graph, snapshot, rows: ids })
}

/// Appends stored changes (checked when they arrived) in an order their dependencies
/// allow, skipping the ones already there. Returns those still missing dependencies.
pub fn append_stored(graph: &mut ChangeGraph, mut queue: Vec<Change>, schema: Schema) -> Vec<Change> {
    loop {
        let before = queue.len();
        let mut waiting = Vec::new();
        for change in queue {
            if graph.index_of(&change.hash()).is_some() {
                continue;
            }
            match graph.check(change.clone(), schema) {
                Ok(Some(checked)) => {
                    graph.append(checked);
                }
                Ok(None) => waiting.push(change),
                Err(_) => {
                    // Accepted under older rules: it was relayed, so keep serving it.
                    if graph.append_unchecked(change.clone()).is_none() {
                        waiting.push(change);
                    }
                }
            }
        }
        queue = waiting;
        if queue.is_empty() || queue.len() == before {
            return queue;
        }
    }
}

#[cfg(test)]
mod tests {
    use automerge::transaction::Transactable;
    use automerge::{AutoCommit, ROOT};

    use super::*;

    fn edits(doc: &mut AutoCommit, n: usize) -> Vec<Vec<u8>> {
        (0..n)
            .map(|i| {
                doc.put(ROOT, "n", i as i64).unwrap();
                doc.commit();
                doc.get_last_local_change().unwrap().raw_bytes().to_vec()
            })
            .collect()
    }

    fn hash(bytes: &[u8]) -> ChangeHash {
        Change::from_bytes(bytes.to_vec()).unwrap().hash()
    }

    #[test]
    fn materialize_applies_every_batch_in_order() {
        let mut doc = AutoCommit::new();
        let changes = edits(&mut doc, 7);
        for size in [1, 2, 3, 7, 1000] {
            let all = materialize_in_batches(&changes, size).unwrap();
            assert!(all.rejected.is_empty());
            assert_eq!(all.heads, doc.get_heads());
            assert_eq!(Automerge::load(&all.snapshot).unwrap().get_changes(&[]).len(), 7);
        }
        assert_eq!(materialize(changes).unwrap().heads, doc.get_heads());
    }

    #[test]
    fn materialize_leaves_out_what_automerge_cannot_apply_and_what_is_built_on_it() {
        let mut doc = AutoCommit::new();
        let a = edits(&mut doc, 7);
        // Another actor's change on the first one only: it does not depend on what fails.
        let mut other = AutoCommit::load(&a[0]).unwrap().with_actor(automerge::ActorId::from([9u8; 16]));
        other.put(ROOT, "other", 1).unwrap();
        other.commit();
        let b = vec![other.get_last_local_change().unwrap().raw_bytes().to_vec()];
        // The fourth change is missing: it, and the three built on it, cannot apply. Batches
        // of two split the good from the bad at every place (a batch that fails after good
        // ones, one that depends on a failed one, the other actor's change after them).
        let gappy = vec![a[0].clone(), a[1].clone(), a[2].clone(), a[4].clone(), a[5].clone(), a[6].clone(), b[0].clone()];
        for size in [1, 2, 3, 1000] {
            let partial = materialize_in_batches(&gappy, size).unwrap();
            assert_eq!(partial.rejected, vec![hash(&a[4]), hash(&a[5]), hash(&a[6])], "batches of {size}");
            let mut heads = vec![hash(&a[2]), hash(&b[0])];
            heads.sort();
            assert_eq!(partial.heads, heads, "batches of {size}");
            assert_eq!(Automerge::load(&partial.snapshot).unwrap().get_changes(&[]).len(), 4);
        }
    }

    #[test]
    fn a_whole_document_in_a_sync_message_is_unpacked_into_its_changes() {
        use automerge::sync::{Message, SyncDoc};
        let mut doc = AutoCommit::new();
        edits(&mut doc, 5);
        let heads = doc.get_heads();
        // What a peer that uploads whole documents sends: its saved document as the changes.
        let mut message = Message { heads: heads.clone(), need: vec![], have: vec![], changes: doc.save().into(), flags: None, version: automerge::sync::MessageVersion::V2 };
        let unpacked = unpack_documents(&message.clone().encode()).expect("a document to unpack");
        let got = Message::decode(&unpacked).unwrap();
        assert_eq!(got.heads, heads);
        let hashes: Vec<ChangeHash> = got.changes.iter().flat_map(|c| split_changes(c).unwrap()).map(|c| c.hash()).collect();
        let expected: Vec<ChangeHash> = doc.get_changes(&[]).iter().map(|c| c.hash()).collect();
        assert_eq!(hashes, expected);
        assert!(!got.changes.iter().any(may_hold_document));

        // Changes only: nothing to do. A damaged document: left for the engine to refuse.
        let mut fresh = automerge::sync::State::new();
        let plain = doc.sync().generate_sync_message(&mut fresh).unwrap();
        assert_eq!(unpack_documents(&plain.encode()), None);
        let mut saved = doc.save();
        let last = saved.len() - 1;
        saved[last] ^= 0xff;
        message.changes = saved.into();
        assert_eq!(unpack_documents(&message.encode()), None);
    }
}
