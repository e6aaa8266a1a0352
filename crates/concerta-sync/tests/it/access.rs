//! Access per document: no access and unknown documents are answered with
//! `doc-unavailable` at once; read-only peers get the document, are told they are read-only
//! in every sync message, and have their changes refused; access changes at runtime reach
//! the live connection.

use automerge::sync::MessageFlags;
use automerge::transaction::Transactable;
use automerge::{ReadDoc, ROOT};
use concerta_sync::wire::WireMessage;
use concerta_sync::{Access, DocumentId, Effect, Engine, Event, Schema};

use crate::refusals::{config, doc_id, world_with, World};
use crate::sim::{ephemeral_frame, has_flag, join_frame, pump, request_frame, route, Peer, Server, SERVER_PEER};

const QUIET: usize = 12;

fn sends(effects: &[Effect]) -> Vec<(u64, WireMessage)> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Send { conn, frame } => Some((*conn, WireMessage::decode(frame).expect("engine frames decode"))),
            _ => None,
        })
        .collect()
}

/// A roster the engine sends as itself.
fn is_roster(effect: &Effect) -> bool {
    matches!(effect, Effect::Send { frame, .. }
        if matches!(WireMessage::decode(frame), Ok(WireMessage::Ephemeral { sender_id, .. }) if sender_id == SERVER_PEER))
}

fn unavailable(doc: DocumentId, target: &str) -> WireMessage {
    WireMessage::DocUnavailable { sender_id: SERVER_PEER.into(), target_id: target.into(), document_id: doc }
}

fn sync_frame(name: &str, doc: DocumentId) -> Vec<u8> {
    let request = WireMessage::decode(&request_frame(name, doc)).expect("decodes");
    let WireMessage::Request { data, .. } = request else { unreachable!() };
    WireMessage::Sync { sender_id: name.into(), target_id: SERVER_PEER.into(), document_id: doc, data }.encode()
}

/// An engine with one joined connection (1, "alice").
fn joined_engine() -> Engine {
    let mut engine = Engine::new(config());
    engine.handle_event(0, Event::Connected { conn: 1, identity: crate::sim::identity(1) });
    let fx = engine.handle_event(1, Event::Frame { conn: 1, data: join_frame("alice") });
    assert!(matches!(sends(&fx)[..], [(1, WireMessage::Peer { .. })]));
    engine
}

#[test]
fn no_access_is_answered_with_doc_unavailable_at_once() {
    for first in [request_frame as fn(&str, DocumentId) -> Vec<u8>, sync_frame] {
        let mut engine = joined_engine();
        let doc = DocumentId::from_bytes([5; 16]);
        let fx = engine.handle_event(2, Event::Frame { conn: 1, data: first("alice", doc) });
        // The engine asks the runtime and does nothing else: no load, no send.
        assert!(matches!(fx[..], [Effect::CheckAccess { conn: 1, doc: d }] if d == doc), "{fx:?}");
        // The answer is no: doc-unavailable right away, with no load (existence not revealed).
        let fx = engine.handle_event(3, Event::Access { conn: 1, doc, access: Access::None });
        assert_eq!(sends(&fx), vec![(1, unavailable(doc, "alice"))]);
        assert_eq!(fx.len(), 1, "nothing but the answer: {fx:?}");
        // Asking again, by request or sync: answered at once, no new access check.
        for again in [request_frame("alice", doc), sync_frame("alice", doc)] {
            let fx = engine.handle_event(4, Event::Frame { conn: 1, data: again });
            assert_eq!(sends(&fx), vec![(1, unavailable(doc, "alice"))]);
            assert_eq!(fx.len(), 1, "{fx:?}");
        }
        assert_eq!(engine.stats().documents, 0, "nothing was loaded");
    }
}

#[test]
fn unknown_document_is_answered_with_doc_unavailable_at_once() {
    // Even when the runtime grants access (it may not know either), a document with no
    // rows is unavailable, and it does not stay in memory.
    let mut engine = joined_engine();
    let doc = DocumentId::from_bytes([6; 16]);
    let fx = engine.handle_event(2, Event::Frame { conn: 1, data: request_frame("alice", doc) });
    assert!(matches!(fx[..], [Effect::CheckAccess { .. }]));
    let fx = engine.handle_event(3, Event::Access { conn: 1, doc, access: Access::Write });
    // A load, and the roster naming the peer (no roster leaves the engine for a document the
    // runtime refused: see `no_access_is_answered_with_doc_unavailable_at_once`).
    let fx: Vec<Effect> = fx.into_iter().filter(|e| !is_roster(e)).collect();
    assert!(matches!(fx[..], [Effect::Load { doc: d }] if d == doc), "{fx:?}");
    let fx = engine.handle_event(4, Event::Loaded { doc, rows: None, schema: Schema::Section });
    assert_eq!(sends(&fx), vec![(1, unavailable(doc, "alice"))]);
    assert_eq!(engine.stats().documents, 0);
    // And again at once, without another load.
    let fx = engine.handle_event(5, Event::Frame { conn: 1, data: sync_frame("alice", doc) });
    assert_eq!(sends(&fx), vec![(1, unavailable(doc, "alice"))]);
    assert_eq!(fx.len(), 1, "{fx:?}");

    // Through the simulated runtime, which (like the server) grants nothing on unknown ids.
    let World { mut server, mut writer, .. } = world_with(config());
    let unknown = DocumentId::from_bytes([8; 16]);
    let loads = server.loads;
    server.frame(writer.conn, request_frame("writer", unknown));
    route(&mut server, &mut [&mut writer]);
    assert!(matches!(writer.received.last(), Some(WireMessage::DocUnavailable { document_id, .. }) if *document_id == unknown));
    assert_eq!(server.loads, loads, "no load for a document the peer may not see");
}

/// A world with a writer (conn 1) and a read-only peer (conn 3) that synced.
fn with_reader() -> (World, Peer) {
    let mut w = world_with(config());
    let mut reader = Peer::new("reader", 4, 3);
    reader.connect(&mut w.server, Access::Read);
    pump(&mut w.server, &mut [&mut w.writer, &mut w.watcher, &mut reader], QUIET);
    (w, reader)
}

fn body(doc: &automerge::AutoCommit) -> automerge::ObjId {
    doc.get(ROOT, "body").expect("readable").expect("has a body").1
}

fn edit(peer: &mut Peer, text: &str) -> automerge::ChangeHash {
    let body = body(&peer.doc);
    peer.doc.splice_text(&body, 0, 0, text).expect("splice");
    peer.doc.commit();
    peer.doc.get_last_local_change().expect("committed").hash()
}

#[test]
fn read_only_peer_gets_the_document_and_read_only_in_every_message() {
    let (mut w, mut reader) = with_reader();
    for i in 0..5 {
        edit(&mut w.writer, &format!("línea {i} "));
        pump(&mut w.server, &mut [&mut w.writer, &mut w.watcher, &mut reader], QUIET);
    }
    assert_eq!(reader.doc.get_heads(), w.writer.doc.get_heads(), "the reader has everything");
    let messages = reader.sync_messages();
    assert!(messages.len() >= 5);
    for m in &messages {
        assert!(has_flag(m, MessageFlags::READ_ONLY), "every sync message to a reader says read-only");
    }
    for m in w.writer.sync_messages() {
        assert!(!has_flag(&m, MessageFlags::READ_ONLY), "writers are not told they are read-only");
    }
    assert!(reader.errors().is_empty());
}

#[test]
fn read_only_peer_that_sends_a_change_anyway_is_refused() {
    let (mut w, mut reader) = with_reader();
    let rows = w.server.rows.clone();
    // Its client, told it is read-only, does not offer its edit...
    let hash = edit(&mut reader, "no debería ");
    pump(&mut w.server, &mut [&mut w.writer, &mut w.watcher, &mut reader], QUIET);
    assert!(reader.errors().is_empty(), "nothing was sent, nothing to refuse");
    // ...a modified client sends it anyway.
    let change = reader.doc.get_change_by_hash(&hash).expect("its own change");
    let seen = reader.received.len();
    reader.send_raw(&mut w.server, doc_id(), vec![change.raw_bytes().to_vec()], vec![hash]);
    assert_eq!(w.server.pending_stores(), 0, "nothing staged");
    w.server.settle_all();
    route(&mut w.server, &mut [&mut w.writer, &mut w.watcher, &mut reader]);
    let errors = reader.errors();
    assert_eq!(errors.len(), 1);
    assert!(errors[0].contains("read-only"), "{errors:?}");
    assert_eq!(w.server.rows, rows, "nothing stored");
    assert!(w.writer.doc.get_change_by_hash(&hash).is_none(), "nothing relayed");
    assert!(w.watcher.doc.get_change_by_hash(&hash).is_none(), "nothing relayed");
    for m in reader.received[seen..].iter() {
        if let WireMessage::Sync { data, .. } = m {
            assert!(has_flag(&automerge::sync::Message::decode(data).expect("decodes"), MessageFlags::READ_ONLY));
        }
    }
    pump(&mut w.server, &mut [&mut w.writer, &mut w.watcher, &mut reader], QUIET);
    assert_eq!(w.server.rows, rows);
}

#[test]
fn downgrade_from_write_to_read_reaches_the_live_connection() {
    let mut w = world_with(config());
    let seen = w.writer.received.len();
    w.server.set_access(w.writer.conn, Access::Read);
    route(&mut w.server, &mut [&mut w.writer, &mut w.watcher]);
    // The next message (sent at once) says read-only.
    let next = w.writer.received[seen..]
        .iter()
        .find_map(|m| match m {
            WireMessage::Sync { data, .. } => Some(automerge::sync::Message::decode(data).expect("decodes")),
            _ => None,
        })
        .expect("the engine tells the peer at once");
    assert!(has_flag(&next, MessageFlags::READ_ONLY));
    assert!(w.writer.state.is_peer_read_only());
    // Its later edits are not taken: its client does not offer them...
    let rows = w.server.rows.clone();
    let hash = edit(&mut w.writer, "ya no ");
    pump(&mut w.server, &mut [&mut w.writer, &mut w.watcher], QUIET);
    assert_eq!(w.server.rows, rows);
    assert!(w.watcher.doc.get_change_by_hash(&hash).is_none());
    // ...and when sent anyway they are refused.
    let change = w.writer.doc.get_change_by_hash(&hash).expect("own change");
    w.writer.send_raw(&mut w.server, doc_id(), vec![change.raw_bytes().to_vec()], vec![hash]);
    w.server.settle_all();
    route(&mut w.server, &mut [&mut w.writer, &mut w.watcher]);
    assert!(w.writer.errors().iter().any(|e| e.contains("read-only")), "{:?}", w.writer.errors());
    assert_eq!(w.server.rows, rows);
    assert!(w.watcher.doc.get_change_by_hash(&hash).is_none());
    // It still receives the others' edits.
    let theirs = edit(&mut w.watcher, "sigue ");
    pump(&mut w.server, &mut [&mut w.writer, &mut w.watcher], QUIET);
    assert!(w.writer.doc.get_change_by_hash(&theirs).is_some());
}

#[test]
fn upgrade_from_read_to_write_resets_the_sync_and_takes_its_changes() {
    let (mut w, mut reader) = with_reader();
    // An edit made while read-only stays with the reader.
    let hash = edit(&mut reader, "propuesta ");
    pump(&mut w.server, &mut [&mut w.writer, &mut w.watcher, &mut reader], QUIET);
    assert!(w.writer.doc.get_change_by_hash(&hash).is_none());
    let seen = reader.received.len();
    w.server.set_access(reader.conn, Access::Write);
    route(&mut w.server, &mut [&mut w.writer, &mut w.watcher, &mut reader]);
    let next = reader.received[seen..]
        .iter()
        .find_map(|m| match m {
            WireMessage::Sync { data, .. } => Some(automerge::sync::Message::decode(data).expect("decodes")),
            _ => None,
        })
        .expect("the engine tells the peer at once");
    assert!(has_flag(&next, MessageFlags::SYNC_RESET), "the peer is asked to offer again what it held back");
    assert!(!has_flag(&next, MessageFlags::READ_ONLY));
    assert!(!reader.state.is_peer_read_only());
    // Its held-back edit and a new one now go through to everyone.
    let again = edit(&mut reader, "y otra ");
    pump(&mut w.server, &mut [&mut w.writer, &mut w.watcher, &mut reader], QUIET);
    assert!(reader.errors().is_empty(), "{:?}", reader.errors());
    for h in [hash, again] {
        assert!(w.writer.doc.get_change_by_hash(&h).is_some());
        assert!(w.watcher.doc.get_change_by_hash(&h).is_some());
    }
    assert_eq!(w.server.engine.heads(&doc_id()).expect("loaded"), reader.doc.get_heads());
}

#[test]
fn revoking_access_sends_doc_unavailable_and_nothing_more() {
    let mut w = world_with(config());
    let seen = w.watcher.received.len();
    w.server.set_access(w.watcher.conn, Access::None);
    route(&mut w.server, &mut [&mut w.writer, &mut w.watcher]);
    assert_eq!(w.watcher.received[seen..], [unavailable(doc_id(), "watcher")]);
    assert!(!w.watcher.syncing);
    let seen = w.watcher.received.len();
    // The document goes on without it: no sync, no presence.
    for i in 0..3 {
        edit(&mut w.writer, &format!("{i} "));
        pump(&mut w.server, &mut [&mut w.writer, &mut w.watcher], QUIET);
    }
    w.server.frame(w.writer.conn, ephemeral_frame("writer", doc_id(), 1, vec![1]));
    route(&mut w.server, &mut [&mut w.writer, &mut w.watcher]);
    assert_eq!(w.watcher.received.len(), seen, "no frame about the document after revocation: {:?}", &w.watcher.received[seen..]);
    // Its own presence is not relayed either.
    let writer_seen = w.writer.received.len();
    w.server.frame(w.watcher.conn, ephemeral_frame("watcher", doc_id(), 1, vec![2]));
    route(&mut w.server, &mut [&mut w.writer, &mut w.watcher]);
    assert_eq!(w.writer.received.len(), writer_seen);
    // Asking again is answered with doc-unavailable, and only that.
    let frame = sync_frame("watcher", doc_id());
    w.server.frame(w.watcher.conn, frame);
    route(&mut w.server, &mut [&mut w.writer, &mut w.watcher]);
    assert_eq!(w.watcher.received[seen..], [unavailable(doc_id(), "watcher")]);
}
