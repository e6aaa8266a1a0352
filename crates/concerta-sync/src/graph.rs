//! The change graph of one document: what the hot path keeps instead of a materialized
//! automerge document.
//!
//! Nodes are appended in causal order (a change only after all its dependencies), so a node's
//! index is a topological order. Every query the sync protocol needs ("which changes are not
//! ancestors of these heads") is a backwards walk in index order that stops as soon as only
//! ancestors of the given heads remain: its cost is proportional to the changes between the
//! given heads and ours, never to the whole history.
//!
//! Invariant: nodes `0..durable_len` are durable (stored); everything the engine advertises or
//! relays comes from that prefix, which is closed under dependencies because of the order.

use std::collections::{BinaryHeap, HashMap, HashSet};

use automerge::{ActorId, Change, ChangeHash, ObjType};

/// Index of a node in [`ChangeGraph::nodes`].
pub type Idx = u32;

/// One change: its metadata and its bytes.
#[derive(Debug, Clone)]
pub struct Node {
    pub hash: ChangeHash,
    pub deps: Vec<Idx>,
    pub actor: u32,
    pub seq: u64,
    pub start_op: u64,
    /// The largest op counter of this change (`start_op - 1` for an empty change).
    pub max_op: u64,
    pub bytes: Vec<u8>,
}

/// Why a change was refused. Shown to the peer in an `error` message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("change could not be decoded")]
    Malformed,
    #[error("seq {seq} of actor {actor} already exists with another hash")]
    DuplicateSeq { actor: String, seq: u64 },
    #[error("seq {seq} of actor {actor} does not follow the actor's previous change")]
    SeqGap { actor: String, seq: u64 },
    #[error("start op {got} should be {expected}")]
    WrongStartOp { got: u64, expected: u64 },
    #[error("operation refers to an object that does not exist")]
    UnknownObject,
    #[error("operation refers to an operation that does not exist")]
    UnknownOp,
    #[error("section schema: {0}")]
    Schema(&'static str),
    #[error("document too large")]
    TooLarge,
    #[error("change was refused before, or depends on one that was")]
    AlreadyRefused,
}

/// The shape a document's root must keep.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Schema {
    /// A strategy section: the root holds `title` and `body`, both text; objects created
    /// inside them belong to them.
    Section,
    /// Anything automerge accepts.
    Any,
}

/// A change that passed [`ChangeGraph::check`], ready to [`ChangeGraph::append`].
pub struct Checked {
    change: Change,
    new_actor: Option<ActorId>,
    actor: u32,
    deps: Vec<Idx>,
    objects: Vec<((u64, u32), ObjType)>,
}

/// The change graph. See the module docs.
#[derive(Default)]
pub struct ChangeGraph {
    nodes: Vec<Node>,
    by_hash: HashMap<ChangeHash, Idx>,
    actors: Vec<ActorId>,
    actor_index: HashMap<ActorId, u32>,
    /// Per actor, its changes in seq order (`seq - 1` is the position).
    actor_changes: Vec<Vec<Idx>>,
    /// Objects created by make operations, by op id (counter, actor index).
    objects: HashMap<(u64, u32), ObjType>,
    /// Heads over all nodes (durable or not).
    heads: HashSet<Idx>,
    durable_len: usize,
    durable_heads: HashSet<Idx>,
    /// Changes automerge rejected when materializing: never sent again.
    quarantined: HashSet<Idx>,
    total_bytes: usize,
}

impl ChangeGraph {
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of changes (durable or not).
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    pub fn durable_len(&self) -> usize {
        self.durable_len
    }

    /// Bytes of all changes held.
    pub fn total_bytes(&self) -> usize {
        self.total_bytes
    }

    pub fn node(&self, idx: Idx) -> &Node {
        &self.nodes[idx as usize]
    }

    pub fn nodes(&self) -> &[Node] {
        &self.nodes
    }

    pub fn actor(&self, idx: u32) -> &ActorId {
        &self.actors[idx as usize]
    }

    pub fn index_of(&self, hash: &ChangeHash) -> Option<Idx> {
        self.by_hash.get(hash).copied()
    }

    /// Known (durable or staged, not quarantined).
    pub fn has(&self, hash: &ChangeHash) -> bool {
        self.by_hash
            .get(hash)
            .is_some_and(|i| !self.quarantined.contains(i))
    }

    /// Known, durable and not quarantined: what may be sent or advertised.
    pub fn has_durable(&self, hash: &ChangeHash) -> bool {
        self.by_hash
            .get(hash)
            .is_some_and(|&i| (i as usize) < self.durable_len && !self.quarantined.contains(&i))
    }

    pub fn is_quarantined(&self, idx: Idx) -> bool {
        self.quarantined.contains(&idx)
    }

    /// The durable heads, sorted: what the engine advertises.
    pub fn durable_heads(&self) -> Vec<ChangeHash> {
        let mut heads: Vec<ChangeHash> = self
            .durable_heads
            .iter()
            .map(|&i| self.nodes[i as usize].hash)
            .collect();
        heads.sort_unstable();
        heads
    }

    /// The heads over every change held, durable or not, sorted.
    pub fn all_heads(&self) -> Vec<ChangeHash> {
        let mut heads: Vec<ChangeHash> =
            self.heads.iter().map(|&i| self.nodes[i as usize].hash).collect();
        heads.sort_unstable();
        heads
    }

    /// Checks `change` against the graph (sequence, dependencies, start op, references,
    /// schema) without changing anything. `Ok(None)` means its dependencies are not all
    /// here yet (the caller queues it); the caller skips changes it already has.
    pub fn check(&self, change: Change, schema: Schema) -> Result<Option<Checked>, Refusal> {
        let mut deps = Vec::with_capacity(change.deps().len());
        for dep in change.deps() {
            match self.by_hash.get(dep) {
                Some(&i) if !self.quarantined.contains(&i) => deps.push(i),
                Some(_) => return Err(Refusal::UnknownOp),
                None => return Ok(None),
            }
        }
        let (actor, new_actor) = match self.actor_index.get(change.actor_id()) {
            Some(&a) => (a, None),
            None => (self.actors.len() as u32, Some(change.actor_id().clone())),
        };
        let seq = change.seq();
        let previous = self.actor_changes.get(actor as usize).map_or(0, |v| v.len() as u64);
        if seq == 0 || seq <= previous {
            return Err(Refusal::DuplicateSeq { actor: change.actor_id().to_hex_string(), seq });
        }
        if seq != previous + 1 {
            return Err(Refusal::SeqGap { actor: change.actor_id().to_hex_string(), seq });
        }
        if seq > 1 {
            let prev = self.actor_changes[actor as usize][(seq - 2) as usize];
            if !self.is_ancestor_of(prev, &deps) {
                return Err(Refusal::SeqGap { actor: change.actor_id().to_hex_string(), seq });
            }
        }
        let expected = deps
            .iter()
            .map(|&d| self.nodes[d as usize].max_op)
            .max()
            .unwrap_or(0)
            + 1;
        let start_op = change.start_op().get();
        if start_op != expected {
            return Err(Refusal::WrongStartOp { got: start_op, expected });
        }
        let objects = self.check_ops(&change, actor, schema)?;
        Ok(Some(Checked { change, new_actor, actor, deps, objects }))
    }

    fn check_ops(
        &self,
        change: &Change,
        actor: u32,
        schema: Schema,
    ) -> Result<Vec<((u64, u32), ObjType)>, Refusal> {
        use automerge::legacy::{ElementId, Key, ObjectId, OpId, OpType};
        if change.is_empty() {
            return Ok(Vec::new());
        }
        // `decode` trusts bytes that `from_bytes` verified, but a crafted change must never
        // take the engine down: a panic here is a refusal.
        let decoded = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| change.decode()))
            .map_err(|_| Refusal::Malformed)?;
        let start = change.start_op().get();
        let own_actor = change.actor_id();
        let mut created: Vec<((u64, u32), ObjType)> = Vec::new();
        // Resolves an op id to (counter, actor index) when it exists in the graph or earlier
        // in this change.
        let resolve = |id: &OpId, upto: u64| -> Result<(u64, u32), Refusal> {
            if id.actor() == own_actor {
                if id.counter() >= start && id.counter() < upto {
                    return Ok((id.counter(), actor));
                }
                if self.op_exists(id.counter(), actor) {
                    return Ok((id.counter(), actor));
                }
                return Err(Refusal::UnknownOp);
            }
            let a = *self.actor_index.get(id.actor()).ok_or(Refusal::UnknownOp)?;
            if self.op_exists(id.counter(), a) {
                Ok((id.counter(), a))
            } else {
                Err(Refusal::UnknownOp)
            }
        };
        for (i, op) in decoded.operations.iter().enumerate() {
            let counter = start + i as u64;
            match &op.obj {
                ObjectId::Root => {
                    if schema == Schema::Section {
                        let Key::Map(key) = &op.key else {
                            return Err(Refusal::Schema("the root is a map"));
                        };
                        if key != "title" && key != "body" {
                            return Err(Refusal::Schema("the root holds only title and body"));
                        }
                        if op.action != OpType::Make(ObjType::Text) {
                            return Err(Refusal::Schema("title and body must be text"));
                        }
                    }
                }
                ObjectId::Id(id) => {
                    let key = resolve(id, counter).map_err(|_| Refusal::UnknownObject)?;
                    let known = self.objects.contains_key(&key)
                        || created.iter().any(|(k, _)| *k == key);
                    if !known {
                        return Err(Refusal::UnknownObject);
                    }
                }
            }
            if let Key::Seq(ElementId::Id(elem)) = &op.key {
                resolve(elem, counter)?;
            }
            for pred in op.pred.iter() {
                resolve(pred, counter)?;
            }
            if let OpType::Make(obj_type) = op.action {
                created.push(((counter, actor), obj_type));
            }
        }
        Ok(created)
    }

    fn op_exists(&self, counter: u64, actor: u32) -> bool {
        self.op_owner(counter, actor).is_some_and(|i| !self.quarantined.contains(&i))
    }

    /// The change that holds op (counter, actor), if any.
    pub fn op_owner(&self, counter: u64, actor: u32) -> Option<Idx> {
        let changes = self.actor_changes.get(actor as usize)?;
        // An actor's changes have increasing, disjoint op ranges.
        let pos = changes.partition_point(|&i| self.nodes[i as usize].start_op <= counter);
        let idx = *changes.get(pos.checked_sub(1)?)?;
        (counter <= self.nodes[idx as usize].max_op).then_some(idx)
    }

    /// The objects made so far, by op id (counter, actor index).
    pub fn objects(&self) -> impl Iterator<Item = ((u64, u32), ObjType)> + '_ {
        self.objects.iter().map(|(k, v)| (*k, *v))
    }

    /// Rebuilds a graph from a stored log; every node is durable.
    pub fn from_log(log: crate::storage::Log) -> Self {
        let mut graph = ChangeGraph::new();
        // Sized once: a vector grown by doubling holds up to twice what it needs.
        graph.nodes.reserve_exact(log.entries.len());
        graph.by_hash.reserve(log.entries.len());
        let mut actor_map = Vec::with_capacity(log.actors.len());
        for actor in log.actors {
            let idx = graph.intern_actor(actor);
            actor_map.push(idx);
        }
        for entry in log.entries {
            let actor = actor_map[entry.actor as usize];
            graph.push_node(Node {
                hash: entry.hash,
                deps: entry.deps,
                actor,
                seq: entry.seq,
                start_op: entry.start_op,
                max_op: entry.start_op + entry.op_count - 1,
                bytes: entry.bytes,
            });
        }
        graph.objects.extend(log.objects.into_iter().map(|((c, a), t)| ((c, actor_map[a as usize]), t)));
        let len = graph.nodes.len();
        graph.mark_durable(len);
        graph
    }

    fn intern_actor(&mut self, actor: ActorId) -> u32 {
        if let Some(&i) = self.actor_index.get(&actor) {
            return i;
        }
        let i = self.actors.len() as u32;
        self.actor_index.insert(actor.clone(), i);
        self.actors.push(actor);
        self.actor_changes.push(Vec::new());
        i
    }

    fn push_node(&mut self, node: Node) -> Idx {
        let idx = self.nodes.len() as Idx;
        for dep in &node.deps {
            self.heads.remove(dep);
        }
        self.heads.insert(idx);
        self.total_bytes += node.bytes.len();
        self.by_hash.insert(node.hash, idx);
        self.actor_changes[node.actor as usize].push(idx);
        self.nodes.push(node);
        idx
    }

    /// Appends a stored change whose dependencies are present, without the checks (it was
    /// checked when it arrived). `None` when a dependency is missing.
    pub fn append_unchecked(&mut self, change: Change) -> Option<Idx> {
        let deps = change.deps().iter().map(|d| self.index_of(d)).collect::<Option<Vec<_>>>()?;
        let actor = self.intern_actor(change.actor_id().clone());
        let start_op = change.start_op().get();
        if let Ok(decoded) =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| change.decode()))
        {
            for (i, op) in decoded.operations.iter().enumerate() {
                if let automerge::legacy::OpType::Make(t) = op.action {
                    self.objects.insert((start_op + i as u64, actor), t);
                }
            }
        }
        Some(self.push_node(Node {
            hash: change.hash(),
            deps,
            actor,
            seq: change.seq(),
            start_op,
            max_op: start_op + change.len() as u64 - 1,
            bytes: change.raw_bytes().to_vec(),
        }))
    }

    /// Appends a checked change (not yet durable) and returns its index.
    pub fn append(&mut self, checked: Checked) -> Idx {
        let Checked { change, new_actor, actor, deps, objects } = checked;
        if let Some(actor_id) = new_actor {
            let interned = self.intern_actor(actor_id);
            debug_assert_eq!(interned, actor);
        }
        self.objects.extend(objects);
        let start_op = change.start_op().get();
        self.push_node(Node {
            hash: change.hash(),
            deps,
            actor,
            seq: change.seq(),
            start_op,
            max_op: start_op + change.len() as u64 - 1,
            bytes: change.raw_bytes().to_vec(),
        })
    }

    /// Marks every node up to `len` as durable.
    pub fn mark_durable(&mut self, len: usize) {
        while self.durable_len < len.min(self.nodes.len()) {
            let idx = self.durable_len as Idx;
            if !self.quarantined.contains(&idx) {
                for dep in &self.nodes[idx as usize].deps {
                    self.durable_heads.remove(dep);
                }
                self.durable_heads.insert(idx);
            }
            self.durable_len += 1;
        }
    }

    /// Excludes changes automerge rejected (and everything that depends on them) from sync.
    pub fn quarantine(&mut self, hashes: &[ChangeHash]) -> Vec<ChangeHash> {
        let mut marked: Vec<Idx> = hashes.iter().filter_map(|h| self.index_of(h)).collect();
        if marked.is_empty() {
            return Vec::new();
        }
        let first = *marked.iter().min().expect("not empty");
        let mut set: HashSet<Idx> = marked.iter().copied().collect();
        for idx in first..self.nodes.len() as Idx {
            if !set.contains(&idx) && self.nodes[idx as usize].deps.iter().any(|d| set.contains(d)) {
                set.insert(idx);
                marked.push(idx);
            }
        }
        self.quarantined.extend(set);
        // Rare: rebuild both head sets from scratch.
        self.heads.clear();
        self.durable_heads.clear();
        for (i, node) in self.nodes.iter().enumerate() {
            let i = i as Idx;
            if self.quarantined.contains(&i) {
                continue;
            }
            for dep in &node.deps {
                self.heads.remove(dep);
                if (i as usize) < self.durable_len {
                    self.durable_heads.remove(dep);
                }
            }
            self.heads.insert(i);
            if (i as usize) < self.durable_len {
                self.durable_heads.insert(i);
            }
        }
        marked.iter().map(|&i| self.nodes[i as usize].hash).collect()
    }

    /// Is `target` an ancestor of (or one of) `from`? Walks back in index order and stops
    /// below `target`'s index.
    fn is_ancestor_of(&self, target: Idx, from: &[Idx]) -> bool {
        let mut heap: BinaryHeap<Idx> = from.iter().copied().filter(|&i| i >= target).collect();
        let mut seen: HashSet<Idx> = HashSet::new();
        while let Some(idx) = heap.pop() {
            if idx == target {
                return true;
            }
            if !seen.insert(idx) {
                continue;
            }
            for &dep in &self.nodes[idx as usize].deps {
                if dep >= target && !seen.contains(&dep) {
                    heap.push(dep);
                }
            }
        }
        false
    }

    /// The durable, non-quarantined changes that are not ancestors of `heads` (unknown hashes
    /// in `heads` are ignored), in topological order.
    ///
    /// Cost: proportional to the nodes between `heads` and the durable heads, not to the
    /// history: the walk stops once every pending node is an ancestor of `heads`.
    pub fn missing_from(&self, heads: &[ChangeHash]) -> Vec<Idx> {
        // A head that is staged (known, not yet durable) stands for its durable ancestors:
        // ignoring it would make the walk believe the peer has nothing and go through the
        // whole history.
        let mut theirs = Vec::new();
        let mut stack: Vec<Idx> = heads.iter().filter_map(|h| self.by_hash.get(h).copied()).collect();
        let mut seen_staged: HashSet<Idx> = HashSet::new();
        while let Some(i) = stack.pop() {
            if (i as usize) < self.durable_len {
                theirs.push(i);
            } else if seen_staged.insert(i) {
                stack.extend(self.nodes[i as usize].deps.iter().copied());
            }
        }
        let mut result = self.not_ancestors(self.durable_heads.iter().copied(), theirs);
        result.retain(|i| !self.quarantined.contains(i));
        result.reverse();
        result
    }

    /// Removes from `hashes` every change that is an ancestor of `heads` (all known).
    pub fn remove_ancestors(&self, hashes: &mut std::collections::BTreeSet<ChangeHash>, heads: &[ChangeHash]) {
        if hashes.is_empty() {
            return;
        }
        // What the peer does not have yet, given its heads (over every node held, durable
        // or not); everything else it has.
        let theirs = heads.iter().filter_map(|h| self.by_hash.get(h).copied()).collect();
        let not_theirs: HashSet<ChangeHash> = self
            .not_ancestors(self.heads.iter().copied(), theirs)
            .into_iter()
            .map(|i| self.nodes[i as usize].hash)
            .collect();
        hashes.retain(|h| not_theirs.contains(h) || !self.by_hash.contains_key(h));
    }

    /// The ancestors of `ours` (themselves included) that are not ancestors of `theirs`, in
    /// descending index order. Walks back in index order, marking nodes reached from
    /// `theirs`, and stops once every pending node is one of those: the cost is proportional
    /// to the nodes between the two sets of heads, not to the history.
    fn not_ancestors(&self, ours: impl Iterator<Item = Idx>, theirs: Vec<Idx>) -> Vec<Idx> {
        const OURS: u8 = 1;
        const THEIRS: u8 = 2;
        let mut mark: HashMap<Idx, u8> = HashMap::new();
        let mut heap: BinaryHeap<Idx> = BinaryHeap::new();
        let mut ours_pending = 0usize;
        for i in theirs {
            if mark.insert(i, THEIRS).is_none() {
                heap.push(i);
            }
        }
        for i in ours {
            if let std::collections::hash_map::Entry::Vacant(e) = mark.entry(i) {
                e.insert(OURS);
                heap.push(i);
                ours_pending += 1;
            }
        }
        let mut result = Vec::new();
        while ours_pending > 0 {
            let Some(idx) = heap.pop() else { break };
            let state = mark[&idx];
            if state == OURS {
                ours_pending -= 1;
                result.push(idx);
            }
            for &dep in &self.nodes[idx as usize].deps {
                match mark.get(&dep).copied() {
                    None => {
                        mark.insert(dep, state);
                        heap.push(dep);
                        if state == OURS {
                            ours_pending += 1;
                        }
                    }
                    Some(OURS) if state == THEIRS => {
                        mark.insert(dep, THEIRS);
                        ours_pending -= 1;
                    }
                    _ => {}
                }
            }
        }
        result
    }

    /// Indices `from..durable_len` that are not quarantined: the tail after a snapshot.
    pub fn durable_tail(&self, from: usize) -> impl Iterator<Item = Idx> + '_ {
        (from..self.durable_len)
            .map(|i| i as Idx)
            .filter(|i| !self.quarantined.contains(i))
    }

    /// All non-quarantined durable hashes, in topological order.
    pub fn durable_hashes(&self) -> Vec<ChangeHash> {
        self.durable_tail(0).map(|i| self.nodes[i as usize].hash).collect()
    }
}
