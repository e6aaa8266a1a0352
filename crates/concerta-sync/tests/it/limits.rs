//! Bounded resources and protocol violations: malformed frames get an `error` and a close
//! (never a panic), floods and too many documents close the connection, presence is relayed
//! and rate-limited per peer, idle documents leave memory and come back from storage, and a
//! restart serves the same durable heads.

use automerge::transaction::Transactable;
use automerge::sync::SyncDoc;
use automerge::{AutoCommit, ChangeHash, ReadDoc, ROOT};
use concerta_sync::wire::WireMessage;
use concerta_sync::{Access, Config, DocumentId, Event};
use minicbor::Encoder;

use crate::refusals::{config, doc_id, world_with, World};
use crate::sim::{ephemeral_frame, join_frame, pump, request_frame, route, EngineServer, Peer, Server, SERVER_PEER};

const QUIET: usize = 12;

fn server(config: Config) -> EngineServer {
    EngineServer::new(doc_id(), concerta_sync::new_section_change("Límites"), config)
}

fn cbor_map(entries: &[(&str, &str)]) -> Vec<u8> {
    let mut e = Encoder::new(Vec::new());
    e.map(entries.len() as u64).expect("infallible");
    for (k, v) in entries {
        e.str(k).expect("infallible").str(v).expect("infallible");
    }
    e.into_writer()
}

fn sync_with_data(doc: DocumentId, data: Vec<u8>) -> Vec<u8> {
    WireMessage::Sync { sender_id: "p".into(), target_id: SERVER_PEER.into(), document_id: doc, data }.encode()
}

/// `conn`'s last frame before the close is an error mentioning `why`, the close comes right
/// after it and nothing is sent after it.
fn assert_error_then_close(server: &EngineServer, conn: u64, why: &str) {
    assert!(server.closed(conn), "the engine closes the connection ({why})");
    let before = server.sent_before_close(conn);
    match before.last() {
        Some(WireMessage::Error { message }) => assert!(message.contains(why), "{message:?} should mention {why:?}"),
        other => panic!("the last frame before the close is an error about {why:?}, got {other:?}"),
    }
    let close_at = server.log.iter().position(|(c, f)| *c == conn && f.is_none()).expect("closed");
    assert!(
        server.log[close_at + 1..].iter().all(|(c, f)| *c != conn || f.is_none()),
        "nothing is sent after the close ({why})"
    );
    assert!(server.protocol_errors.iter().any(|(c, _)| *c == conn), "reported to the runtime");
}

#[test]
fn protocol_violations_get_an_error_then_a_close() {
    let doc = doc_id();
    let valid_sync = {
        let WireMessage::Request { data, .. } = WireMessage::decode(&request_frame("p", doc)).expect("decodes") else {
            unreachable!()
        };
        data
    };
    let mut bad_doc_id = cbor_map(&[("type", "sync"), ("senderId", "p"), ("targetId", "server"), ("documentId", "nope")]);
    bad_doc_id[0] = 0xa5; // five entries: add the data
    bad_doc_id.extend_from_slice(&{
        let mut e = Encoder::new(Vec::new());
        e.str("data").expect("infallible").bytes(&valid_sync).expect("infallible");
        e.into_writer()
    });
    let cases: Vec<(&str, bool, Vec<u8>, &str)> = vec![
        ("garbage", true, b"not cbor at all".to_vec(), "invalid message"),
        ("truncated map", true, b"\xa2\x64type".to_vec(), "invalid message"),
        ("a lone break", true, vec![0xff], "invalid message"),
        ("an array", true, vec![0x83, 1, 2, 3], "invalid message"),
        ("empty frame", true, Vec::new(), "invalid message"),
        ("no type", true, cbor_map(&[("senderId", "p")]), "missing field `type`"),
        ("unknown type", true, cbor_map(&[("type", "gossip"), ("senderId", "p")]), "unknown message type"),
        ("sync without document", true, cbor_map(&[("type", "sync"), ("senderId", "p"), ("targetId", "s")]), "missing field"),
        ("invalid document id", true, bad_doc_id, "invalid document id"),
        ("request before join", false, request_frame("p", doc), "expected a join message first"),
        ("sync before join", false, sync_with_data(doc, valid_sync.clone()), "expected a join message first"),
        ("peer from a client", true, WireMessage::Peer {
            sender_id: "p".into(),
            target_id: "server".into(),
            metadata: None,
            selected_protocol_version: "1".into(),
        }
        .encode(), "unexpected peer message"),
        ("invalid sync bytes", true, sync_with_data(doc, vec![0x42, 1, 2, 3]), "invalid sync message"),
        ("empty sync bytes", true, sync_with_data(doc, Vec::new()), "invalid sync message"),
        ("truncated sync bytes", true, sync_with_data(doc, valid_sync[..valid_sync.len() / 2].to_vec()), "invalid sync message"),
    ];
    for (name, join, frame, why) in cases {
        let mut s = server(config());
        s.connect(1, Access::Write);
        if join {
            s.frame(1, join_frame("p"));
            assert!(!s.closed(1));
        }
        s.frame(1, frame);
        assert_error_then_close(&s, 1, why);
        // The runtime closes the socket and reports it: the engine forgets the connection.
        s.disconnect(1);
        assert_eq!(s.engine.stats().connections, 0, "{name}");
    }

    // A join with only unknown protocol versions.
    let mut s = server(config());
    s.connect(1, Access::Write);
    let join = WireMessage::Join { sender_id: "p".into(), metadata: None, supported_protocol_versions: vec!["9".into()] };
    s.frame(1, join.encode());
    assert_error_then_close(&s, 1, "unsupported protocol version");
}

#[test]
fn invalid_sync_bytes_queued_before_the_access_answer_close_once_it_comes() {
    // The runtime answers access later (as the server does, from the database): the frame
    // waits, then fails.
    let mut engine = concerta_sync::Engine::new(config());
    engine.handle_event(0, Event::Connected { conn: 1, identity: crate::sim::identity(1) });
    engine.handle_event(1, Event::Frame { conn: 1, data: join_frame("p") });
    let fx = engine.handle_event(2, Event::Frame { conn: 1, data: sync_with_data(doc_id(), vec![9, 9, 9]) });
    assert!(fx.iter().all(|e| !matches!(e, concerta_sync::Effect::Close { .. })));
    let fx = engine.handle_event(3, Event::Access { conn: 1, doc: doc_id(), access: Access::Write });
    let fx2 = engine.handle_event(
        4,
        Event::Loaded {
            doc: doc_id(),
            rows: Some(vec![(1, concerta_sync::storage::StoredChunk::Changes(concerta_sync::new_section_change("x")))]),
            schema: concerta_sync::Schema::Section,
        },
    );
    let all: Vec<_> = fx.into_iter().chain(fx2).collect();
    let error = all.iter().position(|e| {
        matches!(e, concerta_sync::Effect::Send { frame, .. }
            if matches!(WireMessage::decode(frame), Ok(WireMessage::Error { ref message }) if message.contains("invalid sync message")))
    });
    let close = all.iter().position(|e| matches!(e, concerta_sync::Effect::Close { conn: 1 }));
    assert!(matches!((error, close), (Some(e), Some(c)) if e < c), "error then close: {all:?}");
}

#[test]
fn undecodable_changes_inside_a_valid_sync_message_are_refused() {
    // The sync message decodes but its change chunk is not automerge data: refused like
    // any bad change (error, read-only, nothing stored), so the client stops resending it.
    let World { mut server, mut writer, mut watcher, .. } = world_with(config());
    let rows = server.rows.clone();
    let mut chunk = vec![0x85, 0x6f, 0x4a, 0x83, 0, 0, 0, 0, 1, 3];
    chunk.extend_from_slice(&[7, 7, 7]);
    writer.send_raw(&mut server, doc_id(), vec![chunk], vec![ChangeHash([1; 32])]);
    server.settle_all();
    route(&mut server, &mut [&mut writer, &mut watcher]);
    assert_eq!(writer.errors().len(), 1, "{:?}", writer.errors());
    assert!(writer.errors()[0].contains("invalid automerge data"), "{:?}", writer.errors());
    assert_eq!(server.rows, rows);
    assert!(writer.state.is_peer_read_only());
    pump(&mut server, &mut [&mut writer, &mut watcher], QUIET);
}

#[test]
fn a_flood_of_frames_closes_the_connection() {
    let config = Config { messages_per_sec: 10.0, message_burst: 5.0, ..config() };
    let mut s = server(config.clone());
    s.connect(1, Access::Write);
    s.frame(1, join_frame("p"));
    // Four more frames spend the burst (ephemeral messages about a document the peer never
    // asked for: ignored, but counted).
    for i in 0..4 {
        s.frame(1, ephemeral_frame("p", doc_id(), i, vec![]));
        assert!(!s.closed(1), "frame {} is within the burst", i + 2);
    }
    s.frame(1, ephemeral_frame("p", doc_id(), 9, vec![]));
    assert_error_then_close(&s, 1, "rate limit exceeded");

    // The same number of frames and many more, at the allowed rate, are fine.
    let mut s = server(config);
    s.connect(1, Access::Write);
    s.frame(1, join_frame("p"));
    for i in 0..200 {
        s.advance(100);
        s.frame(1, ephemeral_frame("p", doc_id(), i, vec![]));
    }
    assert!(!s.closed(1), "a steady 10 frames/s is allowed");
}

#[test]
fn too_many_documents_on_one_connection_closes_it() {
    let mut s = server(Config { max_docs_per_conn: 3, ..config() });
    let mut p = Peer::new("p", 1, 1);
    p.connect(&mut s, Access::Write);
    let others = [DocumentId::from_bytes([21; 16]), DocumentId::from_bytes([22; 16])];
    for doc in [doc_id(), others[0], others[1], doc_id(), others[0]] {
        s.frame(1, request_frame("p", doc));
        assert!(!s.closed(1), "three documents (asked for again and again) are within the limit");
    }
    s.frame(1, request_frame("p", DocumentId::from_bytes([23; 16])));
    assert_error_then_close(&s, 1, "too many documents");
}

/// The ephemeral messages `p` got from other peers (not the server's own rosters).
fn ephemerals(p: &Peer) -> Vec<WireMessage> {
    p.received
        .iter()
        .filter(|m| matches!(m, WireMessage::Ephemeral { sender_id, .. } if sender_id != SERVER_PEER))
        .cloned()
        .collect()
}

fn ephemerals_from(p: &Peer, sender: &str) -> usize {
    p.received.iter().filter(|m| matches!(m, WireMessage::Ephemeral { sender_id, .. } if sender_id == sender)).count()
}

#[test]
fn presence_is_relayed_to_the_other_peers_and_rate_limited_per_peer() {
    let config = Config { ephemeral_per_sec: 1.0, ephemeral_burst: 3.0, ..config() };
    let World { mut server, mut writer, mut watcher, .. } = world_with(config);
    let mut reader = Peer::new("reader", 4, 3);
    reader.connect(&mut server, Access::Read);
    pump(&mut server, &mut [&mut writer, &mut watcher, &mut reader], QUIET);
    // Connected and joined, but never asked for the document.
    let mut outsider = Peer::new("outsider", 5, 4);
    outsider.connect(&mut server, Access::Write);

    server.frame(writer.conn, ephemeral_frame("writer", doc_id(), 1, vec![1, 2, 3]));
    route(&mut server, &mut [&mut writer, &mut watcher, &mut reader, &mut outsider]);
    for (peer, name) in [(&watcher, "watcher"), (&reader, "reader")] {
        assert_eq!(
            ephemerals(peer),
            vec![WireMessage::Ephemeral {
                sender_id: "writer".into(),
                target_id: name.into(),
                count: 1,
                session_id: "session-writer".into(),
                document_id: doc_id(),
                data: vec![1, 2, 3],
            }],
            "relayed to {name} with its own peer id as target"
        );
    }
    assert!(ephemerals(&writer).is_empty(), "not echoed to the sender");
    assert!(ephemerals(&outsider).is_empty(), "not sent to a connection without the document");

    // A burst: two more fit in the bucket (three in all), the rest is dropped quietly.
    for i in 2..12 {
        server.frame(writer.conn, ephemeral_frame("writer", doc_id(), i, vec![]));
    }
    route(&mut server, &mut [&mut writer, &mut watcher, &mut reader, &mut outsider]);
    assert_eq!(ephemerals_from(&watcher, "writer"), 3, "the burst is capped");
    assert!(!server.closed(writer.conn), "presence over the limit is dropped, not fatal");
    // The limit is per peer: the reader still has its own budget.
    server.frame(reader.conn, ephemeral_frame("reader", doc_id(), 1, vec![]));
    route(&mut server, &mut [&mut writer, &mut watcher, &mut reader, &mut outsider]);
    assert_eq!(ephemerals_from(&writer, "reader"), 1, "a read-only peer's presence is relayed");
    assert_eq!(ephemerals_from(&watcher, "reader"), 1);
    // Time refills the writer's bucket.
    server.advance(2_000);
    server.frame(writer.conn, ephemeral_frame("writer", doc_id(), 20, vec![]));
    route(&mut server, &mut [&mut writer, &mut watcher, &mut reader, &mut outsider]);
    assert_eq!(ephemerals_from(&watcher, "writer"), 4, "a refilled bucket lets presence through again");
    // A peer without access is not relayed.
    server.frame(outsider.conn, ephemeral_frame("outsider", doc_id(), 1, vec![]));
    route(&mut server, &mut [&mut writer, &mut watcher, &mut reader, &mut outsider]);
    assert_eq!(ephemerals_from(&writer, "outsider"), 0);
    assert_eq!(ephemerals_from(&watcher, "outsider"), 0);
}

fn edit(doc: &mut AutoCommit, text: &str) -> ChangeHash {
    let body = doc.get(ROOT, "body").expect("readable").expect("has a body").1;
    doc.splice_text(&body, 0, 0, text).expect("splice");
    doc.commit();
    doc.get_last_local_change().expect("committed").hash()
}

/// A new, empty peer fetches the document; returns its heads.
fn fresh_fetch(server: &mut EngineServer, conn: u64) -> Vec<ChangeHash> {
    let mut p = Peer::new(&format!("late-{conn}"), 40 + conn as u8, conn);
    p.connect(server, Access::Read);
    pump(server, &mut [&mut p], QUIET);
    assert!(p.errors().is_empty());
    p.doc.get_heads()
}

#[test]
fn idle_documents_leave_memory_and_come_back_with_the_same_heads() {
    // Small compaction threshold: the reload reads a log row plus change rows.
    let config = Config { idle_unload_ms: 1_000, compact_rows: 3, ..config() };
    let World { mut server, mut writer, mut watcher, .. } = world_with(config);
    for i in 0..10 {
        edit(&mut writer.doc, &format!("{i} "));
        pump(&mut server, &mut [&mut writer, &mut watcher], QUIET);
    }
    let heads = server.engine.heads(&doc_id()).expect("loaded");
    assert_eq!(heads, writer.doc.get_heads());
    assert!(server.rows.iter().any(|(_, r)| matches!(r, concerta_sync::storage::StoredChunk::Log(_))), "compacted");
    assert_eq!(server.engine.stats().documents, 1);

    server.disconnect(writer.conn);
    server.disconnect(watcher.conn);
    server.advance(500);
    server.event(Event::Tick);
    assert_eq!(server.engine.stats().documents, 1, "not idle long enough");
    server.advance(600);
    server.event(Event::Tick);
    assert_eq!(server.engine.stats().documents, 0, "idle documents leave memory");
    assert_eq!(server.engine.heads(&doc_id()), None);

    let loads = server.loads;
    assert_eq!(fresh_fetch(&mut server, 10), heads, "reloaded with the same heads");
    assert_eq!(server.loads, loads + 1, "from storage");
    assert_eq!(server.engine.heads(&doc_id()), Some(heads));
}

#[test]
fn a_document_with_a_store_in_flight_stays_in_memory() {
    let config = Config { idle_unload_ms: 1_000, ..config() };
    let World { mut server, mut writer, watcher, .. } = world_with(config);
    let hash = edit(&mut writer.doc, "en vuelo ");
    let frame = writer.sync_frame(doc_id()).expect("something to send");
    server.frame(writer.conn, frame);
    assert_eq!(server.pending_stores(), 1);
    server.disconnect(writer.conn);
    server.disconnect(watcher.conn);
    server.advance(10_000);
    server.event(Event::Tick);
    assert_eq!(server.engine.stats().documents, 1, "a store in flight keeps the document");
    // The store completes; the document may go now, and the change comes back with it.
    server.settle_all();
    server.advance(10_000);
    server.event(Event::Tick);
    assert_eq!(server.engine.stats().documents, 0);
    assert_eq!(fresh_fetch(&mut server, 10), vec![hash]);
}

#[test]
fn a_restart_serves_the_same_durable_heads_and_loses_nothing_relayed() {
    let World { mut server, mut writer, mut watcher, .. } = world_with(config());
    for i in 0..5 {
        edit(&mut writer.doc, &format!("{i} "));
        pump(&mut server, &mut [&mut writer, &mut watcher], QUIET);
    }
    let durable = server.engine.heads(&doc_id()).expect("loaded");
    // One more edit reaches the engine but is not durable when the process dies.
    let lost = edit(&mut writer.doc, "sin guardar ");
    let frame = writer.sync_frame(doc_id()).expect("something to send");
    server.frame(writer.conn, frame);
    route(&mut server, &mut [&mut writer, &mut watcher]);
    assert!(watcher.doc.get_change_by_hash(&lost).is_none(), "not relayed before it is durable");
    server.restart();
    assert_eq!(server.engine.stats().documents, 0);
    assert_eq!(fresh_fetch(&mut server, 10), durable, "a new engine over the same rows serves the same heads");
    // Everything the watcher ever saw survived: it saw exactly the durable heads.
    assert_eq!(watcher.doc.get_heads(), durable);
    // The writer reconnects and uploads what was lost; everyone converges.
    for (p, conn) in [(&mut writer, 20), (&mut watcher, 21)] {
        p.conn = conn;
        p.state = automerge::sync::State::new();
        p.syncing = true;
        p.connect(&mut server, Access::Write);
    }
    pump(&mut server, &mut [&mut writer, &mut watcher], QUIET);
    assert_eq!(server.engine.heads(&doc_id()).expect("loaded"), vec![lost]);
    assert_eq!(watcher.doc.get_heads(), vec![lost]);
}

/// A saved document whose columns were damaged (checksum fixed up), found by the `chunks`
/// fuzz target: automerge 0.12 panics loading it.
const DAMAGED_DOCUMENT: &[&str] = &[
    "856f4a836c49721200d902031001010101fe010101010101010101fe01100202020202020202020202020202020210aa",
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa0188ae5a47803a66c1dd2eb5b5f84fec333eb65fad33a56da66535f6461b01ded6",
    "0701070309130923024009430956020e01060208111013191514210a231634034208560a571a8001068101028301037e",
    "0201030002017f01020002017e7f017d06050002017e020507007f0002017c0201f3010d007a027f02017d0407070002",
    "14027f00000209010b067f0c0003040204010001050100010400000100027e000203017f0b03017c6d07010002017e76",
    "07030100017e04626f6479057469746c6500147f0474797065060207017f00030106007e067b04017f0b04017c730104",
    "7d02017f7c04017f0202140102040b017f00090102000b167f0008167f76506c616e20323033306d759e646f686f6c61",
    "2068656164696e670c000201090002017e0e0106",
];

#[test]
fn a_damaged_whole_document_is_refused_not_a_panic() {
    let bytes: Vec<u8> = DAMAGED_DOCUMENT
        .concat()
        .as_bytes()
        .chunks(2)
        .map(|h| u8::from_str_radix(std::str::from_utf8(h).expect("ascii"), 16).expect("hex"))
        .collect();
    assert!(concerta_sync::storage::split_changes(&bytes).is_err());
    // Sent by a writer as a V2 message's chunk: refused like any bad change.
    let World { mut server, mut writer, mut watcher, .. } = world_with(config());
    let rows = server.rows.clone();
    writer.send_raw(&mut server, doc_id(), vec![bytes], vec![ChangeHash([1; 32])]);
    server.settle_all();
    route(&mut server, &mut [&mut writer, &mut watcher]);
    assert_eq!(writer.errors().len(), 1, "{:?}", writer.errors());
    assert_eq!(server.rows, rows);
    pump(&mut server, &mut [&mut writer, &mut watcher], QUIET);
}

/// A sync message whose `have` carries `bloom` (raw bloom filter bytes).
fn message_with_bloom(bloom: &[u8]) -> Vec<u8> {
    let bloom = automerge::sync::BloomFilter::try_from(bloom).expect("automerge decodes this filter");
    automerge::sync::Message {
        heads: Vec::new(),
        need: Vec::new(),
        have: vec![automerge::sync::Have { last_sync: Vec::new(), bloom }],
        changes: automerge::sync::ChunkList::empty(),
        flags: None,
        version: automerge::sync::MessageVersion::V1,
    }
    .encode()
}

#[test]
fn a_bloom_filter_that_cannot_be_queried_closes_the_connection() {
    // Found while writing the sync_message fuzz target: automerge decodes these filters but
    // querying them divides by zero (entries but no bits) or allocates and loops billions of
    // times (billions of probes). Any peer that may read can send one.
    for (name, bloom) in [
        ("entries without bits", vec![1u8, 0, 1]),
        ("billions of probes", vec![1u8, 10, 0xff, 0xff, 0xff, 0xff, 0x0f, 0xff, 0xff]),
    ] {
        for access in [Access::Write, Access::Read] {
            let World { mut server, mut writer, mut watcher, .. } = world_with(config());
            edit(&mut watcher.doc, "algo ");
            pump(&mut server, &mut [&mut writer, &mut watcher], QUIET);
            let mut peer = Peer::new("peer", 7, 9);
            peer.connect(&mut server, access);
            server.frame(9, sync_with_data(doc_id(), message_with_bloom(&bloom)));
            assert_error_then_close(&server, 9, "invalid sync message");
            // The document goes on for the others.
            let hash = edit(&mut watcher.doc, "sigue ");
            pump(&mut server, &mut [&mut writer, &mut watcher], QUIET);
            assert!(writer.doc.get_change_by_hash(&hash).is_some(), "{name}");
        }
    }
}

#[test]
fn unsorted_heads_from_a_peer_are_taken_in_any_order() {
    // Peers should send heads sorted, but a message with known heads out of order decodes;
    // the engine must not echo them unsorted (automerge's encoder asserts they are sorted).
    let World { mut server, mut writer, mut watcher, .. } = world_with(config());
    edit(&mut writer.doc, "uno ");
    edit(&mut watcher.doc, "dos ");
    pump(&mut server, &mut [&mut writer, &mut watcher], QUIET);
    // The two concurrent edits are the document's heads.
    let heads = server.engine.heads(&doc_id()).expect("loaded");
    assert!(heads.len() >= 2, "two concurrent heads to put out of order: {heads:?}");
    let mut peer = Peer::new("peer", 7, 9);
    peer.connect(&mut server, Access::Write);
    let mut data = automerge::sync::Message {
        heads: heads.clone(),
        need: Vec::new(),
        have: vec![automerge::sync::Have::default()],
        changes: automerge::sync::ChunkList::empty(),
        flags: None,
        version: automerge::sync::MessageVersion::V1,
    }
    .encode();
    // Message type, count, then 32 bytes per head: reverse the first two.
    let (a, b) = (2..34, 34..66);
    let first = data[a.clone()].to_vec();
    data.copy_within(b.clone(), a.start);
    data[b].copy_from_slice(&first);
    let decoded = automerge::sync::Message::decode(&data).expect("decodes");
    assert_eq!(decoded.heads[0], heads[1], "sent out of order");
    server.frame(9, sync_with_data(doc_id(), data));
    assert!(!server.closed(9));
    route(&mut server, &mut [&mut writer, &mut watcher, &mut peer]);
    // It gets what it lacks.
    server.frame(9, sync_with_data(doc_id(), peer.doc.sync().generate_sync_message(&mut peer.state).expect("first").encode()));
    pump(&mut server, &mut [&mut writer, &mut watcher, &mut peer], QUIET);
}

/// `n` edits of the writer's document (which holds the server's document), each its own
/// change, in causal order.
fn chain(w: &mut World, n: usize) -> Vec<automerge::Change> {
    let mut doc = w.writer.doc.fork();
    let body = doc.get(ROOT, "body").expect("readable").expect("a body").1;
    (0..n)
        .map(|i| {
            doc.splice_text(&body, 0, 0, &format!("{i};")).expect("splice");
            doc.commit();
            doc.get_last_local_change().expect("committed")
        })
        .collect()
}

/// Changes waiting for dependencies that never come count against the document's size
/// limit: a peer cannot park a document's worth of bytes in them.
#[test]
fn waiting_changes_count_against_the_document_limit() {
    let mut w = world_with(Config { max_doc_bytes: 8 * 1024, ..config() });
    let changes = chain(&mut w, 400);
    let total: usize = changes.iter().map(|c| c.raw_bytes().len()).sum();
    assert!(total > 8 * 1024, "the chain is bigger than the limit ({total} bytes)");
    // Everything but the first: all of it waits for the first, which never comes.
    let heads = vec![changes.last().expect("some").hash()];
    let chunks: Vec<Vec<u8>> = changes[1..].iter().map(|c| c.raw_bytes().to_vec()).collect();
    w.writer.send_raw(&mut w.server, doc_id(), chunks, heads);
    w.server.settle_all();
    route(&mut w.server, &mut [&mut w.writer, &mut w.watcher]);
    let errors = w.writer.errors();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(errors[0].contains("too large"), "{errors:?}");
    let described = w.server.engine.describe(&doc_id());
    let pending: usize = described.split("pending ").nth(1).and_then(|s| s.split(' ').next()).and_then(|n| n.parse().ok()).expect("describe names pending");
    assert!(pending < changes.len() - 1, "the engine stopped holding changes at the limit: {described}");
}

/// A long chain that arrives backwards (every change waits for the one before it) resolves
/// completely once its first change comes: each waiting change is looked at when what it
/// waits for arrives (linear), and all of it is stored and relayed.
#[test]
fn a_chain_that_arrives_backwards_resolves_when_its_first_change_comes() {
    let mut w = world();
    let changes = chain(&mut w, 3_000);
    for c in changes[1..].iter().rev() {
        w.writer.send_raw(&mut w.server, doc_id(), vec![c.raw_bytes().to_vec()], vec![c.hash()]);
    }
    assert!(w.writer.errors().is_empty(), "{:?}", w.writer.errors());
    assert_eq!(w.server.pending_stores(), 0, "nothing stored while it all waits");
    let first = &changes[0];
    w.writer.send_raw(&mut w.server, doc_id(), vec![first.raw_bytes().to_vec()], vec![first.hash()]);
    w.server.settle_all();
    assert_eq!(w.server.engine.heads(&doc_id()).expect("loaded"), vec![changes.last().expect("some").hash()]);
    pump(&mut w.server, &mut [&mut w.watcher], QUIET);
    assert!(w.watcher.doc.get_change_by_hash(&changes.last().expect("some").hash()).is_some(), "relayed");
}

fn world() -> World {
    world_with(config())
}
