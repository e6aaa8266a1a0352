//! Presence identity: relayed ephemeral messages are named by the connection they came from,
//! echoes of them are dropped, and every peer of a document gets the server's roster whenever
//! the document's peers or their access change (at most one roster per window per document:
//! the first change at once, the rest together when the window ends).

use concerta_sync::presence::decode_roster;
use concerta_sync::wire::WireMessage;
use concerta_sync::{Access, Config, Event, PeerPresence};

use crate::refusals::{config, doc_id, world_with, World};
use crate::sim::{ephemeral_frame, join_frame, pump, route, EngineServer, Peer, Server, SERVER_PEER};

const QUIET: usize = 12;

/// Every roster `p` received: (count, session, peers).
fn rosters(p: &Peer) -> Vec<(u64, String, Vec<PeerPresence>)> {
    p.received
        .iter()
        .filter_map(|m| match m {
            WireMessage::Ephemeral { sender_id, count, session_id, data, document_id, target_id } if sender_id == SERVER_PEER => {
                assert_eq!(*document_id, doc_id());
                assert_eq!(target_id, &p.name, "a roster is addressed to its peer");
                let peers = decode_roster(data).expect("the server's ephemeral messages are rosters");
                Some((*count, session_id.clone(), peers))
            }
            _ => None,
        })
        .collect()
}

fn last_roster(p: &Peer) -> Vec<(String, String, Access)> {
    let (_, _, peers) = rosters(p).pop().expect("a roster");
    peers.into_iter().map(|p| (p.peer_id, p.name, p.access)).collect()
}

fn entry(peer: &str, conn: u64, access: Access) -> (String, String, Access) {
    (peer.into(), format!("User {conn}"), access)
}

/// Ephemeral messages `p` got from other peers.
fn relayed(p: &Peer) -> Vec<(String, String, u64, Vec<u8>)> {
    p.received
        .iter()
        .filter_map(|m| match m {
            WireMessage::Ephemeral { sender_id, session_id, count, data, .. } if sender_id != SERVER_PEER => {
                Some((sender_id.clone(), session_id.clone(), *count, data.clone()))
            }
            _ => None,
        })
        .collect()
}

fn flush(server: &mut EngineServer, peers: &mut [&mut Peer]) {
    route(server, peers);
}

/// Every change, one roster: the window is off here (`roster_ms: 0`), so each step's roster
/// can be checked; `a_burst_of_joins_sends_one_roster_per_window` covers the window.
#[test]
fn every_peer_gets_the_roster_when_peers_come_go_or_change_access() {
    let World { mut server, mut writer, mut watcher, .. } = world_with(Config { roster_ms: 0, ..config() });
    // Both joined: each got a roster right after its own access was decided, the writer a
    // second one when the watcher came.
    assert_eq!(last_roster(&writer), vec![entry("writer", 1, Access::Write), entry("watcher", 2, Access::Write)]);
    assert_eq!(last_roster(&watcher), last_roster(&writer));
    assert_eq!(rosters(&writer).len(), 2);
    assert_eq!(rosters(&watcher).len(), 1);
    let first = rosters(&writer)[0].2.clone();
    assert_eq!(first.len(), 1, "the first roster names the writer alone: {first:?}");
    assert_eq!(first[0].user_id, "user-1");

    // A reader comes: everyone hears, the reader named as reading.
    let mut reader = Peer::new("reader", 3, 3);
    reader.connect(&mut server, Access::Read);
    pump(&mut server, &mut [&mut writer, &mut watcher, &mut reader], QUIET);
    let three = vec![entry("writer", 1, Access::Write), entry("watcher", 2, Access::Write), entry("reader", 3, Access::Read)];
    for p in [&writer, &watcher, &reader] {
        assert_eq!(last_roster(p), three, "{}", p.name);
    }

    // An access change: the watcher is downgraded.
    let before = rosters(&writer).len();
    server.set_access(watcher.conn, Access::Read);
    flush(&mut server, &mut [&mut writer, &mut watcher, &mut reader]);
    assert_eq!(rosters(&writer).len(), before + 1, "one roster per change");
    assert_eq!(last_roster(&reader)[1], entry("watcher", 2, Access::Read));

    // Access taken away: the others hear, the removed peer gets no more rosters.
    let watcher_rosters = rosters(&watcher).len();
    server.set_access(watcher.conn, Access::None);
    flush(&mut server, &mut [&mut writer, &mut watcher, &mut reader]);
    assert_eq!(last_roster(&writer), vec![entry("writer", 1, Access::Write), entry("reader", 3, Access::Read)]);
    assert_eq!(rosters(&watcher).len(), watcher_rosters);

    // A disconnect.
    server.disconnect(reader.conn);
    flush(&mut server, &mut [&mut writer, &mut watcher, &mut reader]);
    assert_eq!(last_roster(&writer), vec![entry("writer", 1, Access::Write)]);

    // Nothing else sends rosters: ordinary edits do not.
    let before = rosters(&writer).len();
    server.set_access(watcher.conn, Access::Write);
    flush(&mut server, &mut [&mut writer, &mut watcher]);
    assert_eq!(rosters(&writer).len(), before + 1);
    let before = rosters(&writer).len();
    for i in 0..5 {
        use automerge::transaction::Transactable;
        use automerge::ReadDoc;
        let body = writer.doc.get(automerge::ROOT, "body").unwrap().unwrap().1;
        writer.doc.splice_text(&body, 0, 0, &format!("{i}")).unwrap();
        writer.doc.commit();
        pump(&mut server, &mut [&mut writer, &mut watcher], QUIET);
    }
    assert_eq!(rosters(&writer).len(), before, "edits send no rosters");

    // The server's own session, its counts increasing across every roster it sent.
    let all: Vec<(u64, String)> = [&writer, &watcher, &reader]
        .iter()
        .flat_map(|p| rosters(p).into_iter().map(|(c, s, _)| (c, s)))
        .collect();
    let session = &all[0].1;
    assert!(all.iter().all(|(_, s)| s == session), "one session for the server's rosters");
    for p in [&writer, &watcher, &reader] {
        let counts: Vec<u64> = rosters(p).iter().map(|r| r.0).collect();
        assert!(counts.windows(2).all(|w| w[0] < w[1]), "{}: counts increase: {counts:?}", p.name);
    }
}

/// Twenty readers open the document in one burst (as 500 people might open a published
/// strategy): the first join's roster goes out at once, the others' together when the window
/// ends, naming everyone. Without the window every join sent a roster to everyone present.
#[test]
fn a_burst_of_joins_sends_one_roster_per_window() {
    let rosters_in_burst = |roster_ms| {
        let World { mut server, mut writer, mut watcher, .. } = world_with(Config { roster_ms, ..config() });
        let before = rosters(&writer).len();
        let mut readers: Vec<Peer> = (0..20u8).map(|i| Peer::new(&format!("reader-{i}"), 10 + i, 10 + u64::from(i))).collect();
        for r in &mut readers {
            r.connect(&mut server, Access::Read);
        }
        for r in &mut readers {
            let frame = r.sync_frame(doc_id()).expect("a first sync message");
            server.frame(r.conn, frame);
        }
        let mut peers: Vec<&mut Peer> = vec![&mut writer, &mut watcher];
        peers.extend(readers.iter_mut());
        route(&mut server, &mut peers);
        let at_once = rosters(peers[0]).len() - before;
        // The window ends: `settle` lets the time of the wake the engine asked for pass.
        pump(&mut server, &mut peers, QUIET);
        for p in &peers {
            assert_eq!(last_roster(p).len(), 22, "{}: the last roster names everyone", p.name);
        }
        let most = peers[2..].iter().map(|r| rosters(r).len()).max().unwrap_or_default();
        (at_once, rosters(peers[0]).len() - before, most)
    };
    let (at_once, total, reader_most) = rosters_in_burst(500);
    assert_eq!(at_once, 1, "the first join's roster goes out at once");
    assert_eq!(total, 2, "then one more when the window ends");
    assert!(reader_most <= 2, "a reader got {reader_most} rosters");
    let (_, total, reader_most) = rosters_in_burst(0);
    assert_eq!((total, reader_most), (20, 20), "without the window: one roster per join");
}

#[test]
fn a_refused_writer_is_named_as_reading() {
    let World { mut server, mut writer, mut watcher, .. } = world_with(config());
    // A change that breaks the section's shape: refused.
    use automerge::transaction::Transactable;
    let mut other = writer.doc.fork().with_actor(automerge::ActorId::from([9u8; 16]));
    other.put(automerge::ROOT, "not-a-section-key", 1).unwrap();
    other.commit();
    let second = other.get_last_local_change().unwrap();
    let heads = writer.doc.get_heads();
    writer.send_raw(&mut server, doc_id(), vec![second.raw_bytes().to_vec()], heads);
    server.settle_all();
    flush(&mut server, &mut [&mut writer, &mut watcher]);
    assert_eq!(writer.errors().len(), 1, "refused");
    assert_eq!(last_roster(&watcher), vec![entry("writer", 1, Access::Read), entry("watcher", 2, Access::Write)]);
    assert_eq!(
        server.engine.presence(&doc_id()).iter().map(|p| (p.user_id.as_str(), p.access)).collect::<Vec<_>>(),
        [("user-1", Access::Read), ("user-2", Access::Write)]
    );
}

#[test]
fn relayed_presence_is_named_by_its_connection_and_echoes_are_dropped() {
    let World { mut server, mut writer, mut watcher, .. } = world_with(config());
    let mut reader = Peer::new("reader", 3, 3);
    reader.connect(&mut server, Access::Read);
    pump(&mut server, &mut [&mut writer, &mut watcher, &mut reader], QUIET);

    // The writer claims to be the watcher: relayed, named as the writer.
    let spoof = WireMessage::Ephemeral {
        sender_id: "watcher".into(),
        target_id: SERVER_PEER.into(),
        count: 7,
        session_id: "session-writer".into(),
        document_id: doc_id(),
        data: vec![1],
    };
    server.frame(writer.conn, spoof.encode());
    flush(&mut server, &mut [&mut writer, &mut watcher, &mut reader]);
    for p in [&watcher, &reader] {
        assert_eq!(relayed(p), vec![("writer".into(), "session-writer".into(), 7, vec![1])], "{}", p.name);
    }
    assert!(relayed(&writer).is_empty(), "not sent back to its author");

    // The official client passes what it receives on to its other peers (the server): the
    // reader sends it back under the writer's name. Dropped, and free: the reader's own
    // presence still goes through with a tight budget.
    for _ in 0..50 {
        let echo = WireMessage::Ephemeral {
            sender_id: "writer".into(),
            target_id: SERVER_PEER.into(),
            count: 7,
            session_id: "session-writer".into(),
            document_id: doc_id(),
            data: vec![1],
        };
        server.frame(reader.conn, echo.encode());
    }
    flush(&mut server, &mut [&mut writer, &mut watcher, &mut reader]);
    assert_eq!(relayed(&watcher).len(), 1, "echoes are not relayed");
    assert!(relayed(&writer).is_empty());
    server.frame(reader.conn, ephemeral_frame("reader", doc_id(), 1, vec![2]));
    flush(&mut server, &mut [&mut writer, &mut watcher, &mut reader]);
    assert_eq!(relayed(&writer), vec![("reader".into(), "session-reader".into(), 1, vec![2])]);

    // Nobody may speak in the server's session: its rosters' session id is its own.
    let server_session = rosters(&writer)[0].1.clone();
    let forged = WireMessage::Ephemeral {
        sender_id: SERVER_PEER.into(),
        target_id: SERVER_PEER.into(),
        count: 1_000_000,
        session_id: server_session,
        document_id: doc_id(),
        data: vec![3],
    };
    server.frame(writer.conn, forged.encode());
    flush(&mut server, &mut [&mut writer, &mut watcher, &mut reader]);
    assert_eq!(relayed(&watcher).len(), 2, "a message in the server's session is dropped");
}

#[test]
fn another_user_may_not_take_a_live_peer_id() {
    let World { mut server, mut writer, mut watcher, .. } = world_with(config());
    // Connection 5 is another user announcing the writer's peer id: closed.
    server.connect(5, Access::Write);
    server.frame(5, join_frame("writer"));
    let out = server.take_outgoing();
    assert!(server.closed(5), "{out:?}");
    assert!(out.iter().any(|(c, f)| *c == 5 && matches!(WireMessage::decode(f), Ok(WireMessage::Error { message }) if message.contains("peer id"))));
    // Once the writer left, the id is free again.
    server.disconnect(writer.conn);
    server.disconnect(5);
    flush(&mut server, &mut [&mut writer, &mut watcher]);
    let mut again = Peer::new("writer", 1, 6);
    again.connect(&mut server, Access::Write);
    assert!(!server.closed(6));
}

#[test]
fn the_same_user_may_reconnect_under_the_same_peer_id() {
    // The runtime names user `user-<conn>`; give connection 7 the writer's user.
    let World { mut server, mut writer, mut watcher, .. } = world_with(config());
    server.event(Event::Connected { conn: 7, identity: crate::sim::identity(writer.conn) });
    server.frame(7, join_frame("writer"));
    let out = server.take_outgoing();
    assert!(!server.closed(7), "{out:?}");
    assert!(out.iter().any(|(c, f)| *c == 7 && matches!(WireMessage::decode(f), Ok(WireMessage::Peer { .. }))));
    flush(&mut server, &mut [&mut writer, &mut watcher]);
}
