//! What goes to a peer and when: an idle peer gets an edit at once; a peer that has not
//! answered the changes it was sent last gets what became durable since in one message,
//! with the reply to its answer or once `coalesce_ms` passed; and a peer whose heads differ
//! from ours only by its own changes still being stored gets no reply until they are durable.

use automerge::sync::Message;
use automerge::transaction::Transactable;
use automerge::{AutoCommit, ChangeHash, ReadDoc, ROOT};
use concerta_sync::wire::WireMessage;
use concerta_sync::{Config, Event};

use crate::refusals::{config, doc_id, world_with, World};
use crate::sim::{pump, route, Peer, Server};

fn edit(doc: &mut AutoCommit, text: &str) -> ChangeHash {
    let body = doc.get(ROOT, "body").expect("readable").expect("a body").1;
    doc.splice_text(&body, 0, 0, text).expect("splice");
    // A fixed time: the same hashes on every run (see `fixed_section_change`).
    doc.commit_with(automerge::transaction::CommitOptions::default().with_time(0));
    doc.get_last_local_change().expect("committed").hash()
}

/// Sends the writer's next sync message and lets its store complete; returns the frames the
/// watcher was sent meanwhile (not delivered yet).
fn write(w: &mut World, text: &str) -> (ChangeHash, Vec<Vec<u8>>) {
    let hash = edit(&mut w.writer.doc, text);
    let frame = w.writer.sync_frame(doc_id()).expect("a new change makes a message");
    w.server.frame(w.writer.conn, frame);
    w.server.settle_all();
    let mut to_watcher = Vec::new();
    for (conn, frame) in w.server.take_outgoing() {
        if conn == w.watcher.conn {
            to_watcher.push(frame);
        } else if conn == w.writer.conn {
            w.writer.deliver(&frame);
        }
    }
    (hash, to_watcher)
}

fn changes_in(frames: &[Vec<u8>]) -> usize {
    frames
        .iter()
        .filter_map(|f| match WireMessage::decode(f).expect("decodes") {
            WireMessage::Sync { data, .. } => Some(Message::decode(&data).expect("decodes").changes.len()),
            _ => None,
        })
        .sum()
}

fn deliver(p: &mut Peer, frames: &[Vec<u8>]) {
    for f in frames {
        p.deliver(f);
    }
}

#[test]
fn an_idle_peer_gets_an_edit_at_once_and_a_busy_one_gets_a_burst_in_one_message() {
    let mut w = world_with(config());
    w.server.frozen_clock = true;
    // Sparse: the watcher answered everything, so the edit goes out with the store.
    let (first, frames) = write(&mut w, "uno ");
    assert_eq!(changes_in(&frames), 1, "an idle peer gets the edit at once");
    // The watcher has not answered yet: the next three edits are held for it.
    let mut held = Vec::new();
    for text in ["dos ", "tres ", "cuatro "] {
        let (hash, frames) = write(&mut w, text);
        held.push(hash);
        assert!(frames.is_empty(), "nothing more for a peer that has not answered: {} frames", frames.len());
    }
    assert!(w.server.engine.stats().relays_held >= 3);
    // Its answer to the first relay gets the three held edits back, in one message.
    deliver(&mut w.watcher, &frames);
    assert!(w.watcher.doc.get_change_by_hash(&first).is_some());
    let answer = w.watcher.sync_frame(doc_id()).expect("the watcher answers a relay");
    w.server.frame(w.watcher.conn, answer);
    let reply: Vec<Vec<u8>> =
        w.server.take_outgoing().into_iter().filter(|(c, _)| *c == w.watcher.conn).map(|(_, f)| f).collect();
    assert_eq!(reply.len(), 1, "one message");
    assert!(changes_in(&reply) >= 1, "with the held edits (as changes, or the whole document for a short one)");
    deliver(&mut w.watcher, &reply);
    for h in held {
        assert!(w.watcher.doc.get_change_by_hash(&h).is_some());
    }
    assert_eq!(w.watcher.doc.get_heads(), w.writer.doc.get_heads());
}

#[test]
fn a_peer_that_never_answers_gets_what_was_held_once_the_time_is_up() {
    let mut w = world_with(Config { coalesce_ms: 100, ..config() });
    w.server.frozen_clock = true;
    let (_, first) = write(&mut w, "uno ");
    assert_eq!(changes_in(&first), 1);
    deliver(&mut w.watcher, &first);
    let (second, frames) = write(&mut w, "dos ");
    assert!(frames.is_empty(), "held");
    let at = w.server.wake.expect("the engine asked to be woken for the held relay");
    // Not yet: an early wake sends nothing.
    w.server.event(Event::Wake);
    assert!(w.server.take_outgoing().iter().all(|(c, _)| *c != w.watcher.conn), "nothing before its time");
    w.server.advance(at);
    w.server.wake = None;
    w.server.event(Event::Wake);
    let out: Vec<Vec<u8>> =
        w.server.take_outgoing().into_iter().filter(|(c, _)| *c == w.watcher.conn).map(|(_, f)| f).collect();
    assert_eq!(changes_in(&out), 1, "the held edit goes out when its time is up");
    deliver(&mut w.watcher, &out);
    assert!(w.watcher.doc.get_change_by_hash(&second).is_some());
}

#[test]
fn with_coalescing_off_every_edit_goes_out_at_once() {
    let mut w = world_with(Config { coalesce_ms: 0, ..config() });
    for text in ["uno ", "dos ", "tres "] {
        let (_, frames) = write(&mut w, text);
        assert_eq!(changes_in(&frames), 1, "each edit at once");
    }
    assert_eq!(w.server.engine.stats().relays_held, 0);
}

#[test]
fn no_reply_to_a_peer_whose_only_news_is_its_own_change_being_stored() {
    let mut w = world_with(config());
    // The writer's change arrives; its store has not completed.
    let hash = edit(&mut w.writer.doc, "mío ");
    let frame = w.writer.sync_frame(doc_id()).expect("a message");
    w.server.frame(w.writer.conn, frame);
    assert_eq!(w.server.pending_stores(), 1);
    route(&mut w.server, &mut [&mut w.writer, &mut w.watcher]);
    // automerge's client says its heads again (its own change, not yet ours).
    let again = w.writer.sync_frame(doc_id());
    let sent_before = w.server.log.iter().filter(|(c, _)| *c == w.writer.conn).count();
    if let Some(frame) = again {
        w.server.frame(w.writer.conn, frame);
        let sent = w.server.log.iter().filter(|(c, _)| *c == w.writer.conn).count();
        assert_eq!(sent, sent_before, "no reply while its own change is being stored");
    }
    // Once stored, the reply (our heads, now with its change) goes out.
    w.server.settle_all();
    route(&mut w.server, &mut [&mut w.writer, &mut w.watcher]);
    assert!(w.writer.state.shared_heads.contains(&hash) || w.writer.sync_messages().last().is_some_and(|m| m.heads.contains(&hash)));
    assert!(w.watcher.doc.get_change_by_hash(&hash).is_some());
}

/// What automerge-repo calls "synced" (and the app's "saved"): the last heads the server
/// sent this peer are its own heads.
fn server_confirmed(p: &mut Peer) -> bool {
    let mut ours = p.doc.get_heads();
    ours.sort();
    let mut theirs = p.state.their_heads.clone().unwrap_or_default();
    theirs.sort();
    theirs == ours
}

/// Two writers type at once; the watcher's change becomes durable while its relay is held
/// (it has not answered the writer's change yet). Its answer then carries heads equal to
/// ours: automerge's `receive` takes that for "they know our heads" and would stay silent,
/// so the watcher never heard that the server has its change (the JS client's
/// `waitSynced` timed out in CI). The reply to that answer must carry our heads.
#[test]
fn a_peer_whose_change_became_durable_while_held_hears_our_heads_within_the_hold() {
    let mut w = world_with(Config { coalesce_ms: 100, ..config() });
    w.server.frozen_clock = true;
    let a = edit(&mut w.writer.doc, "uno ");
    let b = edit(&mut w.watcher.doc, "dos ");
    let from_writer = w.writer.sync_frame(doc_id()).expect("a message with a");
    w.server.frame(w.writer.conn, from_writer);
    let from_watcher = w.watcher.sync_frame(doc_id()).expect("a message with b");
    w.server.frame(w.watcher.conn, from_watcher);
    // `a` is durable first: the watcher is sent it (and now owes an answer); then `b`, whose
    // relay to the watcher is held.
    assert!(w.server.complete_one_store(), "a is being stored");
    assert!(w.server.complete_one_store(), "b is stored after a");
    assert_eq!(w.server.engine.heads(&doc_id()).map(|h| h.len()), Some(2), "both durable");
    assert!(w.server.engine.stats().relays_held >= 1, "b's relay to the watcher was held");
    let start = w.server.wake.expect("a wake for the held relay");
    route(&mut w.server, &mut [&mut w.writer, &mut w.watcher]);
    assert!(w.watcher.doc.get_change_by_hash(&a).is_some());
    assert!(!server_confirmed(&mut w.watcher), "the server has not told the watcher about b yet");
    // The watcher answers with heads [a, b]: ours.
    let answer = w.watcher.sync_frame(doc_id()).expect("the watcher answers the relay of a");
    w.server.frame(w.watcher.conn, answer);
    route(&mut w.server, &mut [&mut w.writer, &mut w.watcher]);
    assert!(
        w.watcher.state.their_heads.as_ref().is_some_and(|h| h.contains(&b)),
        "within the hold window (no wake came), the watcher got a sync message whose heads include its change"
    );
    assert!(server_confirmed(&mut w.watcher));
    // And nothing more: the exchange goes quiet, both peers confirmed.
    w.server.advance(start + 100);
    w.server.event(Event::Wake);
    pump(&mut w.server, &mut [&mut w.writer, &mut w.watcher], 10);
    assert!(server_confirmed(&mut w.writer));
    assert!(server_confirmed(&mut w.watcher));
    assert_eq!(w.writer.doc.get_heads(), w.watcher.doc.get_heads());
}
