//! What goes to a peer and when: a peer that had nothing from us for a while gets an edit at
//! once; edits that become durable within a window of its last message go out together in
//! one message a window after that one, whatever it answers meanwhile; a reply that would
//! tell a peer nothing new is not sent; and a peer whose heads differ from ours only by its
//! own changes still being stored gets no reply until they are durable.

use automerge::sync::Message;
use automerge::transaction::Transactable;
use automerge::{AutoCommit, ChangeHash, ReadDoc, ROOT};
use concerta_sync::wire::WireMessage;
use concerta_sync::{Config, Event};

use crate::refusals::{config, doc_id, world_with, World};
use crate::sim::{pump, route, EngineServer, Peer, Server};

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

/// Frames for `conn` in what the server sent since the last take.
fn frames_for(server: &mut EngineServer, conn: u64) -> Vec<Vec<u8>> {
    server.take_outgoing().into_iter().filter(|(c, _)| *c == conn).map(|(_, f)| f).collect()
}

#[test]
fn an_idle_peer_gets_an_edit_at_once_and_a_burst_within_a_window_in_one_message() {
    let mut w = world_with(config());
    w.server.frozen_clock = true;
    // Sparse: the watcher had nothing from us for a while, so the edit goes out with the store.
    let (first, frames) = write(&mut w, "uno ");
    assert_eq!(changes_in(&frames), 1, "an idle peer gets the edit at once");
    let start = w.server.wake;
    // The next three edits come within the window: held for the watcher.
    let mut held = Vec::new();
    for text in ["dos ", "tres ", "cuatro "] {
        let (hash, frames) = write(&mut w, text);
        held.push(hash);
        assert!(frames.is_empty(), "nothing more within the window: {} frames", frames.len());
    }
    assert!(start.is_none(), "nothing was held before the burst");
    assert!(w.server.engine.stats().relays_held >= 3);
    // Its answer to the first relay does not release them (that was one message per round
    // trip): no reply at all, since what is held goes out at its time.
    deliver(&mut w.watcher, &frames);
    assert!(w.watcher.doc.get_change_by_hash(&first).is_some());
    let answer = w.watcher.sync_frame(doc_id()).expect("the watcher answers a relay");
    w.server.frame(w.watcher.conn, answer);
    assert!(frames_for(&mut w.server, w.watcher.conn).is_empty(), "no reply to an answer while edits are held for it");
    // A window after the first message, the three edits go out in one message.
    let at = w.server.wake.expect("a wake for the held edits");
    w.server.advance(at);
    w.server.wake = None;
    w.server.event(Event::Wake);
    let out = frames_for(&mut w.server, w.watcher.conn);
    assert_eq!(out.len(), 1, "one message for three edits");
    assert!(changes_in(&out) >= 1, "with the held edits (as changes, or the whole document for a short one)");
    deliver(&mut w.watcher, &out);
    for h in held {
        assert!(w.watcher.doc.get_change_by_hash(&h).is_some());
    }
    assert_eq!(w.watcher.doc.get_heads(), w.writer.doc.get_heads());
}

/// Ten edits from two writers within one window reach a third peer, which answers every
/// message at once (as the JS client does), in two messages with changes: the first edit at once, the
/// other nine together when the window ends; not one per edit (one per round trip was what
/// releasing held edits on the peer's answer gave). With coalescing off, ten.
#[test]
fn edits_from_several_writers_within_a_window_reach_a_peer_that_answers_at_once_as_one_message() {
    for coalesce_ms in [100, 0] {
        let mut w = world_with(Config { coalesce_ms, ..config() });
        let mut third = Peer::new("third", 3, 3);
        third.connect(&mut w.server, concerta_sync::Access::Write);
        pump(&mut w.server, &mut [&mut w.writer, &mut w.watcher, &mut third], 20);
        w.server.frozen_clock = true;
        w.server.advance(1_000);
        let _ = frames_for(&mut w.server, third.conn);
        let mut hashes = Vec::new();
        let mut to_third = 0;
        let third_hears = |w: &mut World, third: &mut Peer, to_third: &mut usize| {
            for (c, f) in w.server.take_outgoing() {
                if c == third.conn {
                    // Messages that carry changes: what costs a browser an apply.
                    *to_third += usize::from(changes_in(std::slice::from_ref(&f)) > 0);
                    third.deliver(&f);
                    // It answers at once.
                    if let Some(answer) = third.sync_frame(doc_id()) {
                        w.server.frame(third.conn, answer);
                    }
                } else if c == w.writer.conn {
                    w.writer.deliver(&f);
                } else if c == w.watcher.conn {
                    w.watcher.deliver(&f);
                }
            }
        };
        for i in 0..10 {
            let who = if i % 2 == 0 { &mut w.writer } else { &mut w.watcher };
            hashes.push(edit(&mut who.doc, &format!("e{i} ")));
            let frame = who.sync_frame(doc_id()).expect("a new change makes a message");
            let conn = who.conn;
            w.server.frame(conn, frame);
            w.server.settle_all();
            // Its answers, and our replies to them, until nothing more goes to it now.
            for _ in 0..5 {
                third_hears(&mut w, &mut third, &mut to_third);
            }
        }
        if coalesce_ms > 0 {
            assert_eq!(to_third, 1, "the first edit at once, the other nine held, whatever it answered");
            let at = w.server.wake.expect("a wake for the held edits");
            w.server.advance(at);
            w.server.wake = None;
            w.server.event(Event::Wake);
            third_hears(&mut w, &mut third, &mut to_third);
            assert_eq!(to_third, 2, "nine held edits in one message");
        } else {
            assert_eq!(to_third, 10, "every edit its own message");
        }
        for h in &hashes {
            assert!(third.doc.get_change_by_hash(h).is_some(), "the third peer has every edit");
        }
    }
}

/// Messages cross: the watcher's answer to our first relay arrives after our second relay
/// went out. automerge would answer it with our heads again (it lags them only by what is on
/// its way); we send nothing, and the exchange still ends with everyone at the same heads.
#[test]
fn an_answer_that_crossed_our_next_relay_gets_no_reply_that_tells_nothing_new() {
    for coalesce_ms in [100, 0] {
        let mut w = world_with(Config { coalesce_ms, ..config() });
        w.server.frozen_clock = true;
        let (_, first) = write(&mut w, "uno ");
        assert_eq!(changes_in(&first), 1);
        deliver(&mut w.watcher, &first);
        let answer = w.watcher.sync_frame(doc_id()).expect("the watcher answers the first relay");
        // A window later, the second edit goes out at once, before the answer arrives.
        w.server.advance(1_000);
        let (second, frames) = write(&mut w, "dos ");
        assert_eq!(changes_in(&frames), 1, "the second edit at once");
        w.server.frame(w.watcher.conn, answer);
        let reply = frames_for(&mut w.server, w.watcher.conn);
        if coalesce_ms > 0 {
            assert!(reply.is_empty(), "no reply that tells the watcher nothing new: {} frames", reply.len());
        } else {
            assert_eq!(reply.len(), 1, "automerge's own behaviour with coalescing off: our heads again");
            assert_eq!(changes_in(&reply), 0);
        }
        deliver(&mut w.watcher, &frames);
        assert!(w.watcher.doc.get_change_by_hash(&second).is_some());
        w.server.frozen_clock = false;
        pump(&mut w.server, &mut [&mut w.writer, &mut w.watcher], 10);
        assert!(server_confirmed(&mut w.writer));
        assert!(server_confirmed(&mut w.watcher));
        assert_eq!(w.writer.doc.get_heads(), w.watcher.doc.get_heads());
    }
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
/// (it had the writer's change a moment before). Its answer then carries heads equal to
/// ours: automerge's `receive` takes that for "they know our heads" and would stay silent,
/// so the watcher never heard that the server has its change (the JS client's `waitSynced`
/// timed out in CI). The held message, when its time comes, must carry our heads.
#[test]
fn a_peer_whose_change_became_durable_while_held_hears_our_heads_when_the_hold_ends() {
    let mut w = world_with(Config { coalesce_ms: 100, ..config() });
    w.server.frozen_clock = true;
    let a = edit(&mut w.writer.doc, "uno ");
    let b = edit(&mut w.watcher.doc, "dos ");
    let from_writer = w.writer.sync_frame(doc_id()).expect("a message with a");
    w.server.frame(w.writer.conn, from_writer);
    let from_watcher = w.watcher.sync_frame(doc_id()).expect("a message with b");
    w.server.frame(w.watcher.conn, from_watcher);
    // `a` is durable first: the watcher is sent it at once; then `b`, whose relay to the
    // watcher is held (it had a message from us a moment ago).
    assert!(w.server.complete_one_store(), "a is being stored");
    assert!(w.server.complete_one_store(), "b is stored after a");
    assert_eq!(w.server.engine.heads(&doc_id()).map(|h| h.len()), Some(2), "both durable");
    assert!(w.server.engine.stats().relays_held >= 1, "b's relay to the watcher was held");
    let start = w.server.wake.expect("a wake for the held relay");
    route(&mut w.server, &mut [&mut w.writer, &mut w.watcher]);
    assert!(w.watcher.doc.get_change_by_hash(&a).is_some());
    assert!(!server_confirmed(&mut w.watcher), "the server has not told the watcher about b yet");
    // The watcher answers with heads [a, b]: ours. No reply while b's relay is held.
    let answer = w.watcher.sync_frame(doc_id()).expect("the watcher answers the relay of a");
    w.server.frame(w.watcher.conn, answer);
    route(&mut w.server, &mut [&mut w.writer, &mut w.watcher]);
    assert!(!server_confirmed(&mut w.watcher), "nothing before the hold ends");
    // When the hold ends, the watcher gets a sync message whose heads include its change.
    w.server.advance(start + 100);
    w.server.wake = None;
    w.server.event(Event::Wake);
    route(&mut w.server, &mut [&mut w.writer, &mut w.watcher]);
    assert!(
        w.watcher.state.their_heads.as_ref().is_some_and(|h| h.contains(&b)),
        "the held message carries our heads, with the watcher's change"
    );
    assert!(server_confirmed(&mut w.watcher));
    // And nothing more: the exchange goes quiet, both peers confirmed.
    w.server.frozen_clock = false;
    pump(&mut w.server, &mut [&mut w.writer, &mut w.watcher], 10);
    assert!(server_confirmed(&mut w.writer));
    assert!(server_confirmed(&mut w.watcher));
    assert_eq!(w.writer.doc.get_heads(), w.watcher.doc.get_heads());
}

/// A steady stream of one edit per window: one edit that came early is held until a window
/// after the previous message, and the next ones, a window apart again, go out at once (the
/// gap counts between edits, not from the held message: otherwise every later edit of the
/// stream would stay as late as that one).
#[test]
fn a_steady_stream_of_one_edit_per_window_goes_out_at_once_after_one_early_edit() {
    let mut w = world_with(config());
    w.server.frozen_clock = true;
    let (_, frames) = write(&mut w, "uno ");
    assert_eq!(changes_in(&frames), 1, "at once");
    deliver(&mut w.watcher, &frames);
    w.server.advance(10);
    let (_, frames) = write(&mut w, "dos ");
    assert!(frames.is_empty(), "an edit a tenth of a window after the last one is held");
    assert!(w.server.wake.is_some(), "a wake for the held edit");
    // Its time comes (a window after the first message): out it goes.
    w.server.advance(100);
    w.server.wake = None;
    w.server.event(Event::Wake);
    let out = frames_for(&mut w.server, w.watcher.conn);
    assert_eq!(changes_in(&out), 1, "the held edit went out a window after the first");
    deliver(&mut w.watcher, &out);
    // The next edits come a window after the one before them (the first of them just after
    // the held message went): each goes out at once.
    for (i, text) in ["tres ", "cuatro ", "cinco "].into_iter().enumerate() {
        if i > 0 {
            w.server.advance(99);
        }
        let (_, frames) = write(&mut w, text);
        assert_eq!(changes_in(&frames), 1, "a window after the previous edit: at once");
        deliver(&mut w.watcher, &frames);
    }
}
