//! The clients' documents.
//!
//! - [`LightDoc`]: a light but honest automerge sync peer. It keeps only the change graph
//!   (hashes, dependencies, the changes' bytes) in `concerta_sync`'s [`ChangeGraph`] and runs
//!   `concerta_sync::protocol` (held to automerge's own `SyncDoc` by the engine's differential
//!   test) over it. It never materializes a document, so a receiver's cost per edit is one
//!   `Change::from_bytes` plus graph bookkeeping, whatever the history. It advertises no flags
//!   (a V1 peer), so servers send it changes, not whole documents.
//! - [`Writer`]: a real automerge document that makes real text edits on the real history,
//!   plus a [`LightDoc`] mirror that speaks the protocol for it.

use std::collections::HashMap;

use anyhow::{Context, Result};
use automerge::sync::{Message, State};
use automerge::transaction::Transactable;
use automerge::{ActorId, Automerge, Change, ChangeHash, ObjId, ROOT, ReadDoc};
use concerta_sync::graph::ChangeGraph;
use concerta_sync::protocol::{self, DocView};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

#[derive(Default)]
pub struct LightDoc {
    pub graph: ChangeGraph,
    pending: HashMap<ChangeHash, Change>,
    pub state: State,
}

impl LightDoc {
    pub fn new() -> Self {
        LightDoc { graph: ChangeGraph::new(), pending: HashMap::new(), state: State::new() }
    }

    /// Our heads, sorted.
    pub fn heads(&self) -> Vec<ChangeHash> {
        let mut h = self.graph.durable_heads();
        h.sort_unstable();
        h
    }

    /// The peer's last advertised heads, sorted.
    pub fn their_heads(&self) -> Option<Vec<ChangeHash>> {
        self.state.their_heads.clone().map(|mut h| {
            h.sort_unstable();
            h
        })
    }

    /// Adds a change whose dependencies we have (a local edit, or a prepared history).
    pub fn add_local(&mut self, change: Change) {
        self.insert(change, &mut |_| {});
        self.graph.mark_durable(self.graph.len());
    }

    fn insert(&mut self, change: Change, on_new: &mut dyn FnMut(&Change)) {
        let hash = change.hash();
        if self.graph.has(&hash) || self.pending.contains_key(&hash) {
            return;
        }
        if change.deps().iter().all(|d| self.graph.has(d)) {
            on_new(&change);
            self.graph.append_unchecked(change);
            // Rare: changes that were waiting for this one.
            while !self.pending.is_empty() {
                let ready: Vec<ChangeHash> = self
                    .pending
                    .iter()
                    .filter(|(_, c)| c.deps().iter().all(|d| self.graph.has(d)))
                    .map(|(h, _)| *h)
                    .collect();
                if ready.is_empty() {
                    break;
                }
                for h in ready {
                    let c = self.pending.remove(&h).expect("listed");
                    on_new(&c);
                    self.graph.append_unchecked(c);
                }
            }
        } else {
            self.pending.insert(hash, change);
        }
    }

    /// Takes in a sync message: its changes join the graph (each new one is passed to
    /// `on_new`), then the protocol state is updated.
    pub fn receive(&mut self, msg: &Message, on_new: &mut dyn FnMut(&Change)) -> Result<()> {
        for chunk in msg.changes.iter() {
            match Change::from_bytes(chunk.to_vec()) {
                Ok(c) => self.insert(c, on_new),
                Err(_) => {
                    // A whole document (V2). We never advertise V2, but be tolerant.
                    let doc = Automerge::load(chunk).context("chunk is neither a change nor a document")?;
                    for c in doc.get_changes(&[]) {
                        self.insert(c.clone(), on_new);
                    }
                }
            }
        }
        self.graph.mark_durable(self.graph.len());
        let view = DocView { graph: &self.graph, pending: &self.pending, snapshot: None };
        protocol::receive(&view, &mut self.state, msg);
        Ok(())
    }

    /// The next sync message to send, encoded, if any.
    pub fn generate(&mut self) -> Option<Vec<u8>> {
        let view = DocView { graph: &self.graph, pending: &self.pending, snapshot: None };
        protocol::generate(&view, &mut self.state).map(|m| m.encode())
    }

    /// Forget the peer (a new connection): keep the graph, reset the protocol state.
    pub fn reset_peer(&mut self) {
        self.state = State::new();
    }

    /// Every change, in causal order.
    pub fn changes(&self) -> impl Iterator<Item = Change> + '_ {
        self.graph.nodes().iter().map(|n| Change::from_bytes(n.bytes.clone()).expect("held changes decode"))
    }
}

/// One small text edit in `body`: insert three characters at a random place and, every other
/// time, delete four, so the text grows about one character per change.
pub fn edit(doc: &mut Automerge, body: &ObjId, rng: &mut SmallRng, tick: u64) -> Change {
    let len = doc.length(body);
    let mut tx = doc.transaction();
    let pos = if len == 0 { 0 } else { rng.random_range(0..=len) };
    let text: String = (0..3).map(|_| rng.random_range(b'a'..=b'z') as char).collect();
    tx.splice_text(body, pos, 0, &text).expect("splice in body");
    if tick % 2 == 1 && len > 8 {
        let at = rng.random_range(0..len - 5);
        tx.splice_text(body, at, 4, "").expect("delete in body");
    }
    tx.commit();
    doc.get_last_local_change().expect("just committed").clone()
}

pub fn body_of(doc: &Automerge) -> Result<ObjId> {
    let (_, body) = doc.get(ROOT, "body")?.context("document has no `body`")?;
    Ok(body)
}

/// Extends `doc` to `total` changes, a new actor (a "browser session") every 200 changes.
/// Returns the new changes.
pub fn extend_history(doc: &mut Automerge, total: usize, seed: u64) -> Result<Vec<Change>> {
    let body = body_of(doc)?;
    let mut rng = SmallRng::seed_from_u64(seed);
    let mut out = Vec::new();
    let mut n = doc.get_changes(&[]).len();
    let mut tick = 0u64;
    while n < total {
        if tick % 200 == 0 {
            doc.set_actor(ActorId::random());
        }
        out.push(edit(doc, &body, &mut rng, tick));
        tick += 1;
        n += 1;
    }
    Ok(out)
}

/// A writer: a real document, edited locally, synced through a [`LightDoc`] mirror.
pub struct Writer {
    pub doc: Automerge,
    body: ObjId,
    rng: SmallRng,
    tick: u64,
    pub light: LightDoc,
}

impl Writer {
    /// A new session (new actor) on `doc`, whose history the light mirror is built from.
    pub fn new(mut doc: Automerge, seed: u64) -> Result<Writer> {
        doc.set_actor(ActorId::random());
        let body = body_of(&doc)?;
        let mut light = LightDoc::new();
        for c in doc.get_changes(&[]) {
            light.add_local(c.clone());
        }
        Ok(Writer { doc, body, rng: SmallRng::seed_from_u64(seed), tick: 0, light })
    }

    /// Makes one edit; returns its hash.
    pub fn edit(&mut self) -> ChangeHash {
        let c = edit(&mut self.doc, &self.body, &mut self.rng, self.tick);
        self.tick += 1;
        let h = c.hash();
        self.light.add_local(c);
        h
    }

    /// An incoming sync message; changes from others are applied to the real document too.
    pub fn receive(&mut self, msg: &Message) -> Result<()> {
        let mut new = Vec::new();
        self.light.receive(msg, &mut |c| new.push(c.clone()))?;
        if !new.is_empty() {
            self.doc.apply_changes(new)?;
        }
        Ok(())
    }
}
