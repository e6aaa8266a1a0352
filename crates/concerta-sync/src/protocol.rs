//! The automerge sync protocol, run over a [`ChangeGraph`] instead of a document.
//!
//! This mirrors `automerge::sync::SyncDoc` for `Automerge` message for message, with three
//! differences that keep the hot path cheap and the server in charge:
//! - incoming changes are not applied here: the engine checks, stores and only then
//!   advertises them, so our heads are always the *durable* heads;
//! - a peer that needs most of the document gets the background snapshot plus the changes
//!   after it in one V2 message, instead of a freshly saved document;
//! - our messages carry the flags section only when it says something (read-only, sync
//!   reset): a peer that never saw our flags never uploads whole documents to us.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use automerge::sync::{BloomFilter, Capability, Have, Message, MessageFlags, MessageVersion, State};
use automerge::{Change, ChangeHash};

use crate::graph::{ChangeGraph, Idx};

/// A saved automerge document and its heads: it holds exactly their ancestors.
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub bytes: Arc<Vec<u8>>,
    pub heads: Vec<ChangeHash>,
}

/// What the protocol reads of a document.
pub struct DocView<'a> {
    pub graph: &'a ChangeGraph,
    /// Changes received whose dependencies have not arrived yet.
    pub pending: &'a HashMap<ChangeHash, Change>,
    pub snapshot: Option<&'a Snapshot>,
}

fn supports_v2(st: &State) -> bool {
    st.their_capabilities.as_ref().is_some_and(|c| c.contains(&Capability::MessageV2))
}

fn supports_reset(st: &State) -> bool {
    st.their_capabilities.as_ref().is_some_and(|c| c.contains(&Capability::SyncReset))
}

/// Most probes a peer's bloom filter may ask for (automerge uses 7).
const MAX_BLOOM_PROBES: u64 = 64;

/// Whether every bloom filter in a peer's message can be queried. automerge decodes filters
/// it cannot query: entries but no bits make `contains_hash` divide by zero, and each query
/// allocates and computes as many probes as the filter says (up to 2^32).
pub fn blooms_are_sane(message: &Message) -> bool {
    message.have.iter().all(|have| {
        // `num_entries, bits_per_entry, num_probes` (uleb), then the bits; empty if no entries.
        let bytes = have.bloom.to_bytes();
        let mut pos = 0;
        let entries = crate::storage::read_uleb(&bytes, &mut pos).unwrap_or(0);
        let _bits_per_entry = crate::storage::read_uleb(&bytes, &mut pos);
        let probes = crate::storage::read_uleb(&bytes, &mut pos).unwrap_or(0);
        entries == 0 || (pos < bytes.len() && probes <= MAX_BLOOM_PROBES)
    })
}

/// Updates `st` for an incoming message. The message's changes are the engine's business.
pub fn receive(view: &DocView<'_>, st: &mut State, message: &Message) {
    let graph = view.graph;
    st.in_flight = false;
    if let Some(flags) = message.flags {
        let mut caps = vec![Capability::MessageV2];
        if flags.contains(MessageFlags::SUPPORTS_SYNC_RESET) {
            caps.push(Capability::SyncReset);
        }
        st.their_capabilities = Some(caps);
        if flags.contains(MessageFlags::SYNC_RESET) {
            st.sent_hashes.clear();
        }
        st.peer_read_only = flags.contains(MessageFlags::READ_ONLY);
    }
    // Peers should send their heads sorted; ours go back out as `last_sync`, which automerge
    // asserts is sorted when encoding, and comparisons with our (sorted) heads need the same
    // order.
    let mut heads = message.heads.clone();
    heads.sort_unstable();
    heads.dedup();
    let known: Vec<ChangeHash> = heads.iter().filter(|h| graph.has(h)).copied().collect();
    graph.remove_ancestors(&mut st.sent_hashes, &known);
    if message.changes.is_empty() && heads == graph.durable_heads() {
        st.last_sent_heads.clone_from(&heads);
    }
    if known.len() == heads.len() {
        st.shared_heads.clone_from(&heads);
        if heads.is_empty() {
            st.last_sent_heads = Vec::new();
            st.sent_hashes = Default::default();
        }
    } else {
        let mut shared: Vec<ChangeHash> = st.shared_heads.iter().chain(&known).copied().collect();
        shared.sort_unstable();
        shared.dedup();
        st.shared_heads = shared;
    }
    st.their_have = Some(message.have.clone());
    st.their_heads = Some(heads);
    st.their_need = Some(message.need.clone());
}

/// After a peer's changes were staged: if we now hold every head it sent, those heads are
/// shared, as automerge's `receive` notes once it applied a message's changes. [`receive`]
/// runs before the changes are checked and staged, so without this a peer whose every
/// message brings a new change (a writer pipelining its edits) never advances the shared
/// heads: our `have` then covers every change since it joined, and its bloom filter (about
/// 1% false positives) makes the writer's automerge leave out a new change now and then, to
/// be fetched with a `need` one round trip later (a writer that answers only with its next
/// change, its window full, waited for that forever).
pub fn note_staged(graph: &ChangeGraph, st: &mut State) {
    if let Some(theirs) = &st.their_heads
        && !theirs.is_empty()
        && theirs.iter().all(|h| graph.has(h))
    {
        st.shared_heads.clone_from(theirs);
    }
}

/// The hashes in `start` we neither have nor can get from the pending queue's dependencies.
/// A change we quarantined is not missing: we will never take it again.
fn missing_deps(view: &DocView<'_>, start: &[ChangeHash]) -> Vec<ChangeHash> {
    let mut missing = HashSet::new();
    let mut seen = HashSet::new();
    let mut stack: Vec<ChangeHash> = start.to_vec();
    while let Some(hash) = stack.pop() {
        if view.graph.index_of(&hash).is_some() || !seen.insert(hash) {
            continue;
        }
        match view.pending.get(&hash) {
            Some(change) => stack.extend(change.deps().iter().copied()),
            None => {
                missing.insert(hash);
            }
        }
    }
    let mut missing: Vec<ChangeHash> = missing.into_iter().collect();
    missing.sort_unstable();
    missing
}

fn hashes_to_send(graph: &ChangeGraph, have: &[Have], need: &[ChangeHash]) -> Vec<Idx> {
    let need: Vec<Idx> = need
        .iter()
        .filter(|h| graph.has_durable(h))
        .filter_map(|h| graph.index_of(h))
        .collect();
    if have.is_empty() {
        return need;
    }
    let mut last_sync: Vec<ChangeHash> = have.iter().flat_map(|h| h.last_sync.iter().copied()).collect();
    last_sync.sort_unstable();
    last_sync.dedup();
    let candidates = graph.missing_from(&last_sync);
    let in_candidates: HashSet<Idx> = candidates.iter().copied().collect();
    let mut to_send: HashSet<Idx> = candidates
        .iter()
        .copied()
        .filter(|&i| {
            let hash = graph.node(i).hash;
            have.iter().all(|h| !h.bloom.contains_hash(&hash))
        })
        .collect();
    // A change the peer lacks makes every change that depends on it lacking too (bloom
    // false positives).
    if !to_send.is_empty() {
        for &i in &candidates {
            if !to_send.contains(&i)
                && graph.node(i).deps.iter().any(|d| in_candidates.contains(d) && to_send.contains(d))
            {
                to_send.insert(i);
            }
        }
    }
    let mut result: Vec<Idx> = need.into_iter().filter(|i| !to_send.contains(i)).collect();
    result.extend(candidates.iter().copied().filter(|i| to_send.contains(i)));
    result
}

/// The whole document for a peer that needs most of it: the snapshot plus the changes after
/// it, as one chunk (a V2 message), and every hash it covers.
fn whole_document(view: &DocView<'_>) -> (Vec<u8>, Vec<ChangeHash>) {
    let graph = view.graph;
    let usable = view.snapshot.filter(|s| s.heads.iter().all(|h| graph.has_durable(h)));
    let (mut bytes, tail) = match usable {
        Some(s) => (s.bytes.as_ref().clone(), graph.missing_from(&s.heads)),
        None => (Vec::new(), graph.durable_tail(0).collect()),
    };
    for i in tail {
        bytes.extend_from_slice(&graph.node(i).bytes);
    }
    (bytes, graph.durable_hashes())
}

/// The next message for this peer, if any (`SyncDoc::generate_sync_message` semantics).
pub fn generate(view: &DocView<'_>, st: &mut State) -> Option<Message> {
    generate_inner(view, st, false)
}

/// [`generate`] for the reply to a peer's message, without the messages that would tell it
/// nothing new: no changes, heads we already sent it, nothing we need, and heads of theirs
/// that we all have. automerge sends one when the peer's heads lag ours only by changes
/// already on their way to it (messages crossed); the peer's answer to those changes
/// settles it, and its own changes come with their own messages.
pub fn generate_reply(view: &DocView<'_>, st: &mut State) -> Option<Message> {
    generate_inner(view, st, true)
}

fn generate_inner(view: &DocView<'_>, st: &mut State, quiet: bool) -> Option<Message> {
    let graph = view.graph;
    let our_heads = graph.durable_heads();
    let our_need = if st.read_only {
        Vec::new()
    } else {
        missing_deps(view, st.their_heads.as_deref().unwrap_or(&[]))
    };
    let their_heads: HashSet<&ChangeHash> = st.their_heads.iter().flatten().collect();
    // A read-only peer's changes are never taken, so it needs no summary of ours (whose
    // bloom filter would cover the whole history while its local edits keep the shared
    // heads from advancing).
    let our_have = if st.read_only {
        Vec::new()
    } else if our_need.iter().all(|h| their_heads.contains(h)) {
        let since = graph.missing_from(&st.shared_heads);
        let bloom = BloomFilter::from_hashes(since.iter().map(|&i| graph.node(i).hash));
        vec![Have { last_sync: st.shared_heads.clone(), bloom }]
    } else {
        Vec::new()
    };

    if let Some(first) = st.their_have.as_ref().and_then(|h| h.first()) {
        // (A change we quarantined is known: they got it from us before.)
        if !first.last_sync.iter().all(|h| graph.index_of(h).is_some()) {
            return Some(Message {
                heads: our_heads,
                need: Vec::new(),
                have: vec![Have::default()],
                changes: automerge::sync::ChunkList::empty(),
                flags: None,
                version: MessageVersion::V1,
            });
        }
    }

    let mut version = MessageVersion::V1;
    let mut chunks: Vec<Vec<u8>> = Vec::new();
    let mut sent: Vec<ChangeHash> = Vec::new();
    if !st.peer_read_only {
        if let (Some(have), Some(need)) = (st.their_have.as_ref(), st.their_need.as_ref()) {
            let whole = if st.their_heads.as_deref() == Some(&[]) && supports_v2(st) && graph.durable_len() > 0 {
                true
            } else {
                let idxs: Vec<Idx> = hashes_to_send(graph, have, need)
                    .into_iter()
                    .filter(|&i| !st.sent_hashes.contains(&graph.node(i).hash))
                    .collect();
                if idxs.len() > graph.durable_len() / 3 && supports_v2(st) {
                    true
                } else {
                    for i in idxs {
                        let node = graph.node(i);
                        chunks.push(node.bytes.clone());
                        sent.push(node.hash);
                    }
                    false
                }
            };
            if whole {
                let (bytes, hashes) = whole_document(view);
                if !bytes.is_empty() {
                    version = MessageVersion::V2;
                    chunks = vec![bytes];
                    sent = hashes;
                }
            }
        }
    }

    let heads_unchanged = st.last_sent_heads == our_heads;
    let heads_equal = st.their_heads.as_ref() == Some(&our_heads);
    // Their heads differ from ours only by changes we quarantined after they got them: we
    // have nothing to tell them, and they have nothing we would take (automerge would
    // answer them forever).
    let quarantined = |h: &ChangeHash| graph.index_of(h).is_some_and(|i| graph.is_quarantined(i));
    let equal_but_quarantined = st.their_heads.as_ref().is_some_and(|theirs| {
        theirs.iter().any(quarantined) && theirs.iter().all(|h| graph.has_durable(h) || quarantined(h))
    });
    if quiet
        && sent.is_empty()
        && heads_unchanged
        && st.have_responded
        && our_need.is_empty()
        && !st.needs_reset
        && st.their_heads.as_ref().is_some_and(|theirs| theirs.iter().all(|h| graph.index_of(h).is_some()))
    {
        return None;
    }
    if heads_unchanged && st.have_responded {
        if (heads_equal || equal_but_quarantined || st.read_only) && sent.is_empty() {
            return None;
        }
        if st.in_flight {
            return None;
        }
    }
    st.have_responded = true;
    st.last_sent_heads.clone_from(&our_heads);
    st.sent_hashes.extend(sent);

    // Flags only when they say something: a peer that saw our flags would take us for a V2
    // peer and upload whole documents, which cost a full load to split.
    let mut flags = None;
    let mut heads = our_heads;
    if st.read_only || st.needs_reset {
        let mut f = MessageFlags::new();
        f.set(MessageFlags::SUPPORTS_SYNC_RESET);
        if st.read_only {
            f.set(MessageFlags::READ_ONLY);
        }
        if st.needs_reset {
            st.needs_reset = false;
            if supports_reset(st) {
                f.set(MessageFlags::SYNC_RESET);
            } else {
                heads = Vec::new();
            }
        }
        flags = Some(f);
    }
    st.in_flight = true;
    Some(Message {
        heads,
        need: our_need,
        have: our_have,
        changes: chunks.into(),
        flags,
        version,
    })
}
