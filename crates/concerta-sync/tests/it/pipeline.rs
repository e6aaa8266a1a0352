//! A writer that pipelines its changes, as the `kill -9` durability test's writer does: one
//! change per sync message, up to [`WINDOW`] of them not yet acknowledged (an acknowledgement
//! is a message of ours whose heads include its change), answering our messages only with
//! its next change, or at once when we `need` something and its window is full. Stores
//! complete at random moments, messages take random times on the way, the clock moves on,
//! a read-only receiver answers every relay. Whatever the interleaving:
//! - the writer always gets its acknowledgements (it never stalls);
//! - once we acknowledged a change of it, every message of the writer carries its new
//!   change: our `have` (the changes we hold that it may not know) is empty for a lone
//!   writer, so no bloom filter false positive makes its automerge leave a change out.
//!   Before, our shared heads with a writer never moved (every message of it brings a new
//!   change, not yet staged when its heads are read), so our `have` covered every change
//!   since it joined, and about 1% of its changes came a round trip late: with a full
//!   window and a writer that did not answer, never.

use std::collections::VecDeque;

use automerge::sync::Message;
use automerge::transaction::{CommitOptions, Transactable};
use automerge::{ReadDoc, ROOT};
use concerta_sync::storage;
use concerta_sync::wire::WireMessage;
use concerta_sync::{Access, Config, Event};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::refusals::{config, doc_id};
use crate::sim::{fixed_section_change, pump, EngineServer, Peer, Server};

/// Changes in flight without an acknowledgement (as in `tests/it/durability.rs`).
const WINDOW: u64 = 16;

/// Runs one writer through `edits` pipelined changes; `Err` says what went wrong.
fn pipeline(seed: u64, coalesce_ms: u64, edits: u64) -> Result<(), String> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut server =
        EngineServer::new(doc_id(), fixed_section_change("Plan de movilidad"), Config { coalesce_ms, ..config() });
    let mut writer = Peer::new("writer", 1, 1);
    let mut receiver = Peer::new("receiver", 2, 2);
    writer.connect(&mut server, Access::Write);
    receiver.connect(&mut server, Access::Read);
    pump(&mut server, &mut [&mut writer, &mut receiver], 20);
    server.frozen_clock = true;
    server.advance(1_000);
    let me = writer.doc.get_actor().clone();
    let body = writer.doc.get(ROOT, "body").expect("readable").expect("a body").1;
    // How long a message of ours takes to reach a peer, at most (ms): from a local loop to
    // longer than the writer takes to fill its window.
    let latency = [2, 10, 40][seed as usize % 3];
    // Frames on their way to each peer (ordered, each due at a time), and when each store
    // the engine asked for completes (in order, as the storage writer commits them).
    let (mut to_writer, mut to_receiver) = (VecDeque::<(u64, Vec<u8>)>::new(), VecDeque::<(u64, Vec<u8>)>::new());
    let mut stores_due = VecDeque::<u64>::new();
    let (mut sent, mut acked) = (0u64, 0u64);
    for _ in 0..1_000_000 {
        let now = server.now();
        for (conn, frame) in server.take_outgoing() {
            let queue = if conn == writer.conn { &mut to_writer } else { &mut to_receiver };
            let at = queue.back().map_or(0, |(at, _)| *at).max(now + rng.random_range(0..=latency));
            queue.push_back((at, frame));
        }
        while stores_due.len() < server.pending_stores() {
            let at = stores_due.back().copied().unwrap_or(0).max(now + rng.random_range(1..=15));
            stores_due.push_back(at);
        }
        if acked >= edits {
            return Ok(());
        }
        let can_send = sent < edits && sent - acked < WINDOW;
        // The writer reads what has arrived first, then sends while its window allows.
        if to_writer.front().is_some_and(|(at, _)| *at <= now) {
            let (_, frame) = to_writer.pop_front().expect("checked");
            let mut needs = false;
            if let Ok(WireMessage::Sync { data, .. }) = WireMessage::decode(&frame) {
                let msg = Message::decode(&data).expect("a sync message");
                for head in &msg.heads {
                    if let Some(change) = writer.doc.get_change_by_hash(head)
                        && change.actor_id() == &me
                    {
                        acked = acked.max(change.seq());
                    }
                }
                needs = !msg.need.is_empty();
            }
            writer.deliver(&frame);
            if needs
                && sent - acked >= WINDOW
                && let Some(answer) = writer.sync_frame(doc_id())
            {
                server.frame(writer.conn, answer);
            }
        } else if can_send {
            let len = writer.doc.text(&body).expect("text").chars().count();
            // The seed in the text: other hashes, other bloom filters, on every seed.
            writer.doc.splice_text(&body, len, 0, &format!("s{seed}e{};", sent + 1)).expect("a splice");
            writer.doc.commit_with(CommitOptions::default().with_time(0));
            let frame = writer.sync_frame(doc_id()).expect("a new change makes a message");
            let hash = writer.doc.get_last_local_change().expect("committed").hash();
            let carried = match WireMessage::decode(&frame) {
                Ok(WireMessage::Sync { data, .. }) => Message::decode(&data)
                    .expect("a sync message")
                    .changes
                    .iter()
                    .flat_map(|chunk| storage::split_changes(chunk).expect("changes"))
                    .any(|c| c.hash() == hash),
                _ => false,
            };
            if acked > 0 && !carried {
                return Err(format!(
                    "seed {seed}: the writer's change {} was left out of its message (acknowledged {acked}): our `have` made it think we hold it",
                    sent + 1
                ));
            }
            server.frame(writer.conn, frame);
            sent += 1;
        } else if to_receiver.front().is_some_and(|(at, _)| *at <= now) {
            let (_, frame) = to_receiver.pop_front().expect("checked");
            receiver.deliver(&frame);
            if let Some(answer) = receiver.sync_frame(doc_id()) {
                server.frame(receiver.conn, answer);
            }
        } else if stores_due.front().is_some_and(|at| *at <= now) {
            stores_due.pop_front();
            assert!(server.complete_one_store(), "a store was pending");
        } else if server.wake.is_some_and(|at| at <= now) {
            server.wake = None;
            server.event(Event::Wake);
        } else {
            let next = [to_writer.front().map(|(at, _)| *at), to_receiver.front().map(|(at, _)| *at), stores_due.front().copied(), server.wake]
                .into_iter()
                .flatten()
                .min();
            let Some(next) = next else {
                let need = writer.sync_messages().last().map(|m| format!("{:?}", m.need)).unwrap_or_default();
                return Err(format!(
                    "seed {seed}: the writer stalled: sent {sent}, acknowledged {acked}; the last message it got needs {need}; server: {}",
                    server.engine.describe(&doc_id())
                ));
            };
            server.advance(next - now);
        }
    }
    Err(format!("seed {seed}: no end after 1,000,000 steps (sent {sent}, acknowledged {acked})"))
}

/// Many interleavings, with coalescing on (the server's setting) and off.
#[test]
fn a_writer_pipelining_sixteen_changes_always_gets_its_acknowledgements() {
    let mut failures = Vec::new();
    for coalesce_ms in [100, 0] {
        for seed in 0..24 {
            if let Err(e) = pipeline(seed, coalesce_ms, 300) {
                failures.push(format!("coalesce {coalesce_ms} ms: {e}"));
            }
        }
    }
    assert!(failures.is_empty(), "{} failures:\n{}", failures.len(), failures.join("\n"));
}
