//! `kill -9` in the middle of a write burst loses no edit that the server acknowledged (its
//! advertised heads) or relayed (sent to another peer).
//!
//! A writer (a bare protocol client on automerge's own `SyncDoc`) appends one small change per
//! sync message, pipelined up to [`WINDOW`] unacknowledged (it answers the server otherwise
//! only when the server needs a change of its and its window is full), while a read-only
//! receiver takes the relays. Once [`KILL_AFTER_ACKED`] edits are acknowledged the server gets SIGKILL; it is
//! restarted on the same data and a fresh client loads the section.
//!
//! With two nodes on one Postgres, the writer is on the node that is killed and the
//! receiver on the other, which relays what the killed node stored (chunk notices); after
//! the kill, a fresh client of the surviving node, and one of the restarted node, must hold
//! every acknowledged and relayed change.

use std::collections::BTreeSet;
use std::time::Duration;

use automerge::sync::{Message as SyncMessage, SyncDoc};
use automerge::transaction::Transactable;
use automerge::{AutoCommit, ChangeHash, ROOT, ReadDoc};
use concerta_e2e::concerta_sync::wire::WireMessage;
use concerta_e2e::{Peer, Recv, Server, Store, both_backends, load_doc, load_doc_state, root_text, setup_city};
use tokio::sync::oneshot;

both_backends!(kill_9_mid_burst_loses_no_acknowledged_or_relayed_edit, kill_mid_burst);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_of_one_of_two_nodes_mid_burst_loses_no_acknowledged_or_relayed_edit() {
    let Some(store) = Store::postgres() else { return };
    kill_mid_burst_on(store, true).await;
}

/// Upper bound on the burst; the kill comes long before its end.
const BURST: u64 = 1_500;
/// Edits in flight without an acknowledgement.
const WINDOW: u64 = 16;
/// Acknowledged edits before the kill.
const KILL_AFTER_ACKED: u64 = 300;

/// What the writer saw.
struct Written {
    sent: u64,
    /// Every head the server advertised to the writer.
    acked_heads: BTreeSet<ChangeHash>,
    /// The highest sequence number of ours among them.
    acked_seq: u64,
    doc: AutoCommit,
    ended: String,
}

/// The edit with sequence number `seq` (1-based) appends this to the body.
fn edit_text(seq: u64) -> String {
    format!("e{seq};")
}

async fn kill_mid_burst(store: Store) {
    kill_mid_burst_on(store, false).await;
}

/// The burst and the kill; with `two_nodes`, the receiver is on a second node that survives.
async fn kill_mid_burst_on(store: Store, two_nodes: bool) {
    let mut server = Server::start(&store).await;
    let city = setup_city(&store, &server).await;
    let doc_id = city.section_a.doc_id;
    let survivor = if two_nodes { Some(Server::start(&store).await) } else { None };
    let receiver_node = survivor.as_ref().unwrap_or(&server);

    let mut writer = Peer::connect(&server.sync_url(&city.coordinator.token)).await.expect("connect the writer");
    let (mut wdoc, mut wstate) =
        load_doc_state(&mut writer, doc_id, Duration::from_secs(10)).await.expect("the writer loads");
    let mut receiver =
        Peer::connect(&receiver_node.sync_url(&city.observer.token)).await.expect("connect the receiver");
    let (mut rdoc, mut rstate) =
        load_doc_state(&mut receiver, doc_id, Duration::from_secs(10)).await.expect("the receiver loads");
    assert_eq!(wdoc.get_heads(), rdoc.get_heads());

    // The receiver takes relays until the socket dies (or, on the surviving node, until the
    // writer is done).
    let (stop_tx, mut stop_rx) = oneshot::channel::<()>();
    let receiving = tokio::spawn(async move {
        let ended = loop {
            let got = tokio::select! {
                got = receiver.recv(Duration::from_secs(20)) => got,
                _ = &mut stop_rx => break "stopped after the writer".to_owned(),
            };
            match got {
                Recv::Msg(WireMessage::Sync { data, .. }) => {
                    let msg = SyncMessage::decode(&data).expect("a sync message");
                    rdoc.sync().receive_sync_message(&mut rstate, msg).expect("the receiver applies a relay");
                    if let Some(reply) = rdoc.sync().generate_sync_message(&mut rstate)
                        && receiver.send_sync(doc_id, &reply, false).await.is_err()
                    {
                        break "send failed".to_owned();
                    }
                }
                Recv::Msg(WireMessage::Error { message }) => panic!("the receiver got an error: {message}"),
                Recv::Msg(_) => {}
                Recv::Closed(why) => break why,
                Recv::Timeout => break "no relay for 20 s".to_owned(),
            }
        };
        (rdoc, ended)
    });

    // The writer: one change per sync message, as fast as the window allows.
    let (killable_tx, killable_rx) = oneshot::channel();
    let writing = tokio::spawn(async move {
        let (mut tx, mut rx) = writer.split();
        let me = wdoc.get_actor().clone();
        let body = match wdoc.get(ROOT, "body") {
            Ok(Some((_, body))) => body,
            other => panic!("a section has a body: {other:?}"),
        };
        let mut killable_tx = Some(killable_tx);
        let mut written = Written {
            sent: 0,
            acked_heads: BTreeSet::new(),
            acked_seq: 0,
            doc: AutoCommit::new(),
            ended: String::new(),
        };
        written.ended = loop {
            let can_send = written.sent < BURST && written.sent - written.acked_seq < WINDOW;
            tokio::select! {
                biased;
                got = rx.recv(Duration::from_secs(10)) => match got {
                    Recv::Msg(WireMessage::Sync { data, .. }) => {
                        let msg = SyncMessage::decode(&data).expect("a sync message");
                        for head in &msg.heads {
                            written.acked_heads.insert(*head);
                            if let Some(change) = wdoc.get_change_by_hash(head)
                                && change.actor_id() == &me
                            {
                                written.acked_seq = written.acked_seq.max(change.seq());
                            }
                        }
                        let needs = !msg.need.is_empty();
                        wdoc.sync().receive_sync_message(&mut wstate, msg).expect("the writer applies the server's message");
                        // The server needs a change of ours that it lacks (automerge left it out
                        // of a message when the server's `have` bloom filter took it for one the
                        // server holds: about 1% of the changes checked against a non-empty
                        // filter). With our window full, our next change never comes, so answer
                        // now, as any automerge peer does.
                        if needs
                            && written.sent - written.acked_seq >= WINDOW
                            && let Some(answer) = wdoc.sync().generate_sync_message(&mut wstate)
                            && let Err(e) = tx.send_sync(doc_id, &answer).await
                        {
                            break format!("send failed: {e:#}");
                        }
                        if written.acked_seq >= KILL_AFTER_ACKED && let Some(tx) = killable_tx.take() {
                            let _ = tx.send(());
                        }
                    }
                    Recv::Msg(WireMessage::Error { message }) => panic!("the writer got an error: {message}"),
                    Recv::Msg(_) => {}
                    Recv::Closed(why) => break why,
                    Recv::Timeout => break "no acknowledgement for 10 s".to_owned(),
                },
                () = std::future::ready(()), if can_send => {
                    let seq = written.sent + 1;
                    let len = wdoc.text(&body).expect("the body is text").chars().count();
                    wdoc.splice_text(&body, len, 0, &edit_text(seq)).expect("a local edit");
                    wdoc.commit();
                    let msg = wdoc.sync().generate_sync_message(&mut wstate).expect("a new change makes a message");
                    if let Err(e) = tx.send_sync(doc_id, &msg).await {
                        break format!("send failed: {e:#}");
                    }
                    written.sent = seq;
                }
            }
        };
        written.doc = wdoc;
        written
    });

    match tokio::time::timeout(Duration::from_secs(60), killable_rx).await {
        Ok(Ok(())) => {}
        Ok(Err(_)) => {
            let written = writing.await.expect("writer task");
            panic!(
                "the writer stopped before {KILL_AFTER_ACKED} acknowledgements (sent {}, acknowledged {}): {}",
                written.sent, written.acked_seq, written.ended
            );
        }
        Err(_) => panic!("the writer got no {KILL_AFTER_ACKED} acknowledgements within 60 s"),
    }
    server.kill9().await;
    let written =
        tokio::time::timeout(Duration::from_secs(20), writing).await.expect("the writer stops").expect("writer task");
    let _ = stop_tx.send(());
    let (relayed_doc, receiver_ended) = tokio::time::timeout(Duration::from_secs(30), receiving)
        .await
        .expect("the receiver stops")
        .expect("receiver task");
    let mut relayed_doc = relayed_doc;
    let relayed: Vec<ChangeHash> = relayed_doc.get_changes(&[]).iter().map(|c| c.hash()).collect();
    let mut wdoc = written.doc;
    assert!(written.acked_seq >= KILL_AFTER_ACKED, "the kill came after {KILL_AFTER_ACKED} acknowledgements");
    assert!(written.sent < BURST, "the kill came mid-burst (sent {} of {BURST})", written.sent);
    assert!(!written.ended.contains("no acknowledgement"), "the writer ended because: {}", written.ended);
    assert!(!receiver_ended.contains("no relay"), "the receiver ended because: {receiver_ended}");

    // Restart on the same data; a fresh client loads the section (from the surviving node
    // first, when there is one, which kept the document in memory).
    if let Some(survivor) = &survivor {
        let mut peer = Peer::connect(&survivor.sync_url(&city.coordinator.token)).await.expect("connect to the survivor");
        let held = load_doc(&mut peer, doc_id, Duration::from_secs(20)).await.expect("the survivor serves the section");
        let lost: Vec<_> = written.acked_heads.iter().filter(|h| held.get_change_by_hash(h).is_none()).collect();
        assert!(lost.is_empty(), "acknowledged heads missing on the surviving node: {lost:?}");
        let lost = relayed.iter().filter(|h| held.get_change_by_hash(h).is_none()).count();
        assert_eq!(lost, 0, "relayed changes missing on the surviving node");
    }
    let server = Server::start(&store).await;
    let mut peer = Peer::connect(&server.sync_url(&city.coordinator.token)).await.expect("connect after the restart");
    let mut loaded =
        load_doc(&mut peer, doc_id, Duration::from_secs(20)).await.expect("the section loads after the restart");

    let lost_acked: Vec<_> = written.acked_heads.iter().filter(|h| loaded.get_change_by_hash(h).is_none()).collect();
    assert!(lost_acked.is_empty(), "acknowledged heads lost by kill -9: {lost_acked:?}");
    let lost_relayed: Vec<_> = relayed.iter().filter(|h| loaded.get_change_by_hash(h).is_none()).collect();
    assert!(lost_relayed.is_empty(), "relayed changes lost by kill -9: {} of {}", lost_relayed.len(), relayed.len());

    // The survivors are a prefix of the burst at least as long as what was acknowledged.
    let me = wdoc.get_actor().clone();
    let survived = loaded.get_changes(&[]).iter().filter(|c| c.actor_id() == &me).count() as u64;
    assert!(
        survived >= written.acked_seq && survived <= written.sent,
        "survived {survived}, acked {}",
        written.acked_seq
    );
    let expected: String = (1..=survived).map(edit_text).collect();
    assert_eq!(root_text(&loaded, "body"), expected);
    for ours in wdoc.get_changes(&[]).iter().filter(|c| c.actor_id() == &me && c.seq() <= written.acked_seq) {
        assert!(loaded.get_change_by_hash(&ours.hash()).is_some(), "acknowledged edit {} lost", ours.seq());
    }
    eprintln!(
        "{:?}{}: sent {}, acknowledged {} ({} heads seen), relayed {} changes, {} survived the kill (writer: {}; receiver: {})",
        store.backend,
        if two_nodes { " (two nodes)" } else { "" },
        written.sent,
        written.acked_seq,
        written.acked_heads.len(),
        relayed.len(),
        survived,
        written.ended,
        receiver_ended
    );
}
