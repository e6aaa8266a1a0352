//! Two `concerta serve` nodes on one Postgres (the scale-out the README describes): official
//! JS clients on different nodes converge, and an access change made through one node
//! reaches live connections on the other (removal cuts, role changes downgrade); who is in a
//! section, and their cursors, reach the peers of the other node. The `kill -9` of one of
//! two nodes is in `durability`.

use std::time::{Duration, Instant};

use concerta_e2e::concerta_sync::presence::decode_roster;
use concerta_e2e::concerta_sync::wire::WireMessage;
use concerta_e2e::concerta_sync::{Access, PeerPresence};
use concerta_e2e::{Api, Client, Peer, Recv, Server, Store, load_doc, run_js, setup_city};
use serde_json::{Value, json};

fn text(v: &Value) -> &str {
    v.as_str().unwrap_or_default()
}

/// A JS client on `server` that writes `mark` into the body, then waits until the body
/// also holds `other` (written through the other node).
fn writer(server: &Server, token: &str, doc: &str, name: &str, mark: &str, other: &str) -> Client {
    Client::js(
        name,
        &json!({
            "url": server.sync_url(token), "doc": doc, "timeoutMs": 60000,
            "actions": [
                {"splice": {"path": ["body"], "index": 0, "text": mark}},
                {"waitSynced": {}},
                {"waitFor": {"path": ["body"], "contains": other}},
            ],
        }),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn js_clients_on_two_nodes_converge_and_access_changes_reach_every_node() {
    let Some(store) = Store::postgres() else { return };
    let node_a = Server::start(&store).await;
    let city = setup_city(&store, &node_a).await;
    let node_b = Server::start(&store).await;
    let section = &city.section_a;

    // Convergence: one writer on each node, concurrently.
    let one = writer(&node_a, &city.coordinator.token, &section.doc_url, "on-a", "FROM-A ", "FROM-B");
    let two = writer(&node_b, &city.editor_a.token, &section.doc_url, "on-b", "FROM-B ", "FROM-A");
    let (one, two) = (one.finish(Duration::from_secs(90)).await, two.finish(Duration::from_secs(90)).await);
    let (a, b) = (one.ok().clone(), two.ok().clone());
    assert_eq!(a["heads"], b["heads"], "both ended on the same heads: {one} / {two}");
    assert_eq!(a["body"], b["body"], "{one} / {two}");
    assert!(text(&a["body"]).contains("FROM-A") && text(&a["body"]).contains("FROM-B"), "{one}");

    // A late reader on node B gets both through a cold load.
    let late = run_js(
        "late-on-b",
        &json!({"url": node_b.sync_url(&city.observer.token), "doc": section.doc_url, "timeoutMs": 30000,
                "syncBeforeExit": false,
                "actions": [{"waitFor": {"path": ["body"], "contains": "FROM-A"}}, {"waitFor": {"path": ["body"], "contains": "FROM-B"}}]}),
    )
    .await;
    assert_eq!(late.ok()["heads"], a["heads"], "{late}");

    // Access: editor A watches the section on node B; their removal is made through node A.
    let mut watcher = Client::js(
        "editor-a-on-b",
        &json!({"url": node_b.sync_url(&city.editor_a.token), "doc": section.doc_url, "timeoutMs": 120000,
                "syncBeforeExit": false,
                "actions": [{"print": true}, {"repeat": {"count": 2400, "intervalMs": 25, "action": {"print": true}}}]}),
    );
    let ready = watcher.wait_for("the document open on node B", Duration::from_secs(30), |l| l["event"] == "state").await;
    assert_eq!(ready["docUnavailable"], json!([]), "{ready}");
    assert_eq!(ready["peerReadOnly"], false, "editor A writes section A: {ready}");

    // A role change on node A downgrades the live connection on node B...
    let member = city.editor_a.member_id.as_deref().expect("a member id");
    let admin = city.admin_api(&node_a);
    let changed = Instant::now();
    let answer = admin
        .patch(&format!("/api/cities/{}/members/{member}", city.id), json!({"role": "observer", "area_id": null}))
        .await;
    assert_eq!(answer.expect(200)["role"], "observer");
    watcher.wait_for("READ_ONLY on node B after the role change on node A", Duration::from_secs(30), |l| l["peerReadOnly"] == true).await;
    eprintln!("PATCH role on node A → READ_ONLY on node B in {:?}", changed.elapsed());

    // ... and the removal on node A cuts it.
    let doc = section.doc_id.to_string();
    let answer = admin.delete(&format!("/api/cities/{}/members/{member}", city.id)).await;
    assert_eq!(answer.status, 204, "{}", answer.text);
    let removed = Instant::now();
    let cut = watcher
        .wait_for("doc-unavailable on node B after the DELETE on node A", Duration::from_secs(30), |l| {
            l["docUnavailable"].as_array().is_some_and(|d| d.contains(&json!(doc)))
        })
        .await;
    // The bound: within a second of the removal's answer (it takes about a tenth;
    // the client reports its state every 25 ms).
    let took = removed.elapsed();
    eprintln!("DELETE on node A answered → doc-unavailable on node B in {took:?}: {}", cut["docUnavailable"]);
    assert!(took < Duration::from_secs(1), "the removal on node A cut the session on node B only after {took:?}");
}

/// An open `text/event-stream` answer read with reqwest.
struct Events {
    response: reqwest::Response,
    buffer: String,
}

impl Events {
    async fn open(server: &Server, path: &str, token: &str) -> Events {
        let response = reqwest::Client::new()
            .get(server.url(path))
            .bearer_auth(token)
            .header("accept", "text/event-stream")
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {path}: {e}"));
        assert_eq!(response.status().as_u16(), 200, "GET {path}");
        let mut events = Events { response, buffer: String::new() };
        assert_eq!(events.next().await.0, "ready");
        events
    }

    /// The next event (name, JSON data), keep-alive comments skipped; panics after 30 s.
    async fn next(&mut self) -> (String, Value) {
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let name = block.lines().find_map(|l| l.strip_prefix("event:")).map(|v| v.trim().to_owned());
                let data: String = block.lines().filter_map(|l| l.strip_prefix("data:")).map(str::trim).collect();
                match name {
                    Some(name) => return (name, serde_json::from_str(&data).unwrap_or(Value::Null)),
                    None => continue,
                }
            }
            let chunk = tokio::time::timeout(Duration::from_secs(30), self.response.chunk())
                .await
                .expect("an event within 30 s")
                .expect("reading the event stream")
                .expect("the stream is open");
            self.buffer.push_str(std::str::from_utf8(&chunk).expect("UTF-8"));
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn comments_written_on_one_node_reach_event_streams_on_the_other() {
    let Some(store) = Store::postgres() else { return };
    let node_a = Server::start(&store).await;
    let city = setup_city(&store, &node_a).await;
    let node_b = Server::start(&store).await;
    let coordinator = concerta_e2e::Api::bearer(&node_a, &city.coordinator.token);
    let closes = (chrono::Utc::now() + chrono::Duration::days(7)).to_rfc3339();
    let mut open = Vec::new();
    for title in ["X", "Y"] {
        let body = json!({"strategy_id": city.strategy_id, "title": title, "closes_at": closes});
        open.push(coordinator.post(&format!("/api/cities/{}/consultations", city.id), body).await.expect(201)["id"].as_str().unwrap().to_owned());
    }
    let (x, y) = (&open[0], &open[1]);
    // The fixture's stakeholder is invited to Y only.
    let invitee = json!({"invitees": [{"email": city.stakeholder.email, "name": "S", "organization": "Org", "sector": "academia"}]});
    coordinator.post(&format!("/api/consultations/{y}/invitations"), invitee).await.expect(201);

    // On node B: editor A follows section A; the stakeholder follows Y.
    let section = &city.section_a.id;
    let mut editor = Events::open(&node_b, &format!("/api/sections/{section}/comments/events"), &city.editor_a.token).await;
    let mut stakeholder = Events::open(&node_b, &format!("/api/consultations/{y}/events"), &city.stakeholder.token).await;

    // A comment on X written through node A reaches the editor's stream on node B...
    let written = Instant::now();
    let on_x = coordinator.post(&format!("/api/consultations/{x}/comments"), json!({"section_id": section, "body": "Desde el nodo A"})).await.expect(201);
    let (name, event) = editor.next().await;
    eprintln!("comment on node A → event on node B in {:?}", written.elapsed());
    assert_eq!((name.as_str(), event["comment_id"].clone(), event["kind"].clone()), ("comment", on_x["id"].clone(), json!("created")), "{event}");
    // ... and not the stakeholder's stream of Y: its next event is Y's own comment.
    let on_y = coordinator.post(&format!("/api/consultations/{y}/comments"), json!({"section_id": section, "body": "Sobre Y"})).await.expect(201);
    let (name, event) = stakeholder.next().await;
    assert_eq!((name.as_str(), event["comment_id"].clone()), ("comment", on_y["id"].clone()), "{event}");
    assert_eq!(editor.next().await.1["comment_id"], on_y["id"], "the same section, another consultation");
}

/// The next roster `peer` gets from its server that `done` accepts, within `within`.
async fn roster_until(peer: &mut Peer, within: Duration, done: impl Fn(&[PeerPresence]) -> bool) -> Vec<PeerPresence> {
    let deadline = Instant::now() + within;
    let mut last = Vec::new();
    while Instant::now() < deadline {
        if let Recv::Msg(WireMessage::Ephemeral { sender_id, data, .. }) = peer.recv(Duration::from_millis(200)).await
            && sender_id == peer.server_id
            && let Some(roster) = decode_roster(&data)
        {
            if done(&roster) {
                return roster;
            }
            last = roster;
        }
    }
    panic!("no such roster within {within:?}; the last one: {last:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn presence_and_cursors_reach_the_peers_of_the_other_node() {
    let Some(store) = Store::postgres() else { return };
    let one = Server::start(&store).await;
    let two = Server::start(&store).await;
    let city = setup_city(&store, &one).await;
    let doc_id = city.section_a.doc_id;
    let coordinator = Api::bearer(&one, &city.coordinator.token).get("/api/me").await.expect(200);
    let coordinator_id = coordinator["id"].as_str().expect("id").to_owned();
    let coordinator_name = coordinator["name"].as_str().expect("name").to_owned();

    // The coordinator on node one, an observer on node two, in the same section.
    let mut ana = Peer::connect(&one.sync_url(&city.coordinator.token)).await.expect("connect to node one");
    load_doc(&mut ana, doc_id, Duration::from_secs(10)).await.expect("the section loads on node one");
    let mut obs = Peer::connect(&two.sync_url(&city.observer.token)).await.expect("connect to node two");
    load_doc(&mut obs, doc_id, Duration::from_secs(10)).await.expect("the section loads on node two");

    // (Rosters that came while they loaded were read by `load_doc`.) A third person joins
    // on node two: everyone's roster goes out again.
    let mut eve = Peer::connect(&two.sync_url(&city.editor_a.token)).await.expect("connect to node two");
    load_doc(&mut eve, doc_id, Duration::from_secs(10)).await.expect("the section loads on node two");

    // Node two's roster names the coordinator, as node one authenticated them.
    let ana_peer = ana.peer_id.clone();
    let roster = roster_until(&mut obs, Duration::from_secs(10), |r| r.iter().any(|p| p.peer_id == ana_peer) && r.len() == 3).await;
    let entry = roster.iter().find(|p| p.peer_id == ana_peer).expect("the coordinator");
    assert_eq!((entry.user_id.as_str(), entry.name.as_str(), entry.access), (coordinator_id.as_str(), coordinator_name.as_str(), Access::Write));
    assert!(roster.iter().any(|p| p.peer_id == obs.peer_id && p.access == Access::Read), "the observer too: {roster:?}");
    // And node one's roster names the two people on node two.
    let (obs_peer, eve_peer) = (obs.peer_id.clone(), eve.peer_id.clone());
    roster_until(&mut ana, Duration::from_secs(10), |r| {
        r.iter().any(|p| p.peer_id == obs_peer) && r.iter().any(|p| p.peer_id == eve_peer) && r.iter().any(|p| p.peer_id == ana_peer)
    })
    .await;

    // The coordinator's cursor (an ephemeral message, claiming another sender) reaches the
    // observer on the other node, named by the connection it came from.
    let cursor = b"\xa1\x66cursor\x18\x2a".to_vec();
    let message = WireMessage::Ephemeral {
        sender_id: ana.peer_id.clone(),
        target_id: ana.server_id.clone(),
        count: 1,
        session_id: "ana-session".into(),
        document_id: doc_id,
        data: cursor.clone(),
    };
    ana.send(&message).await.expect("send the cursor");
    let deadline = Instant::now() + Duration::from_secs(10);
    let got = loop {
        assert!(Instant::now() < deadline, "the cursor did not reach node two's peer within 10 s");
        if let Recv::Msg(WireMessage::Ephemeral { sender_id, session_id, count, data, document_id, .. }) = obs.recv(Duration::from_millis(200)).await
            && sender_id != obs.server_id
        {
            break (sender_id, session_id, count, data, document_id);
        }
    };
    assert_eq!(got, (ana_peer.clone(), "ana-session".to_owned(), 1, cursor, doc_id));

    // The coordinator leaves node one: node two's roster drops them.
    drop(ana);
    let roster = roster_until(&mut obs, Duration::from_secs(10), |r| r.iter().all(|p| p.peer_id != ana_peer)).await;
    assert!(roster.iter().any(|p| p.peer_id == obs.peer_id), "{roster:?}");
}
