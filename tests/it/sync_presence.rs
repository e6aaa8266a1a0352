//! Presence identity through the real server with the official JS client: every peer of a
//! section gets the server's `concerta-peers` roster (through `handle.on("ephemeral-message")`)
//! naming each peer with the account behind it, and an ephemeral message is named by the
//! connection it came from, whatever it claimed.

use std::time::{Duration, Instant};

use concerta_e2e::concerta_sync::presence::decode_roster;
use concerta_e2e::concerta_sync::wire::WireMessage;
use concerta_e2e::{Api, Client, Peer, Recv, Server, Store, both_backends, load_doc, setup_city};
use serde_json::{Value, json};

both_backends!(js_clients_see_the_roster_and_spoofed_senders_are_replaced, roster_and_spoofing);

/// `{"spoof": true}` in CBOR, as a client's presence payload.
const SPOOF_CBOR: &[u8] = &[0xa1, 0x65, b's', b'p', b'o', b'o', b'f', 0xf5];

/// The roster entries of a state line, as (peerId, userId, name, access), sorted by name.
fn roster(line: &Value) -> Vec<(String, String, String, String)> {
    let mut peers: Vec<(String, String, String, String)> = line["roster"]["peers"]
        .as_array()
        .unwrap_or_else(|| panic!("a roster in {line}"))
        .iter()
        .map(|p| {
            let s = |k: &str| p[k].as_str().unwrap_or_else(|| panic!("{k} in {p}")).to_owned();
            (s("peerId"), s("userId"), s("name"), s("access"))
        })
        .collect();
    peers.sort_by(|a, b| a.2.cmp(&b.2));
    peers
}

/// The user id and display name behind a token, as the REST API tells them.
async fn me(server: &Server, token: &str) -> (String, String) {
    let me = Api::bearer(server, token).get("/api/me").await.expect(200);
    (me["id"].as_str().expect("id").to_owned(), me["name"].as_str().expect("name").to_owned())
}

async fn roster_and_spoofing(store: Store) {
    let server = Server::start(&store).await;
    let city = setup_city(&store, &server).await;
    let doc = &city.section_a.doc_url;
    let (coordinator_id, coordinator_name) = me(&server, &city.coordinator.token).await;
    let (observer_id, observer_name) = me(&server, &city.observer.token).await;
    let (editor_id, editor_name) = me(&server, &city.editor_a.token).await;
    let names = |v: &[&str]| json!(v);

    // The coordinator (writes) and an observer (reads) open the section.
    let mut ana = Client::js(
        "coordinator",
        &json!({"url": server.sync_url(&city.coordinator.token), "doc": doc, "timeoutMs": 40000, "actions": [
            {"waitRoster": {"names": names(&[&coordinator_name, &observer_name])}},
            {"print": true},
            {"waitEphemeral": {"matching": {"hello": "from-observer"}}},
            {"print": true},
            {"waitLine": "bye"},
        ]}),
    );
    let mut obs = Client::js(
        "observer",
        &json!({"url": server.sync_url(&city.observer.token), "doc": doc, "timeoutMs": 40000, "syncBeforeExit": false,
                "actions": [
            {"waitRoster": {"names": names(&[&coordinator_name, &observer_name])}},
            {"print": true},
            {"broadcast": {"hello": "from-observer"}},
            {"waitEphemeral": {"matching": {"spoof": true}}},
            {"print": true},
            {"waitRoster": {"names": names(&[&observer_name, &editor_name])}},
            {"print": true},
        ]}),
    );
    let a = ana.wait_for("the roster of two", Duration::from_secs(20), |l| l["event"] == "state").await;
    let o = obs.wait_for("the roster of two", Duration::from_secs(20), |l| l["event"] == "state").await;
    let ana_peer = a["peerId"].as_str().expect("peer id").to_owned();
    let obs_peer = o["peerId"].as_str().expect("peer id").to_owned();
    let expected = vec![
        (ana_peer.clone(), coordinator_id.clone(), coordinator_name.clone(), "write".to_owned()),
        (obs_peer.clone(), observer_id.clone(), observer_name.clone(), "read".to_owned()),
    ];
    let mut expected_sorted = expected.clone();
    expected_sorted.sort_by(|a, b| a.2.cmp(&b.2));
    assert_eq!(roster(&a), expected_sorted, "{a}");
    assert_eq!(roster(&o), expected_sorted, "{o}");
    let server_peer = a["serverPeer"]["senderId"].as_str().expect("the server's peer id");
    assert_eq!(a["roster"]["senderId"], json!(server_peer), "the server authors rosters");

    // The observer's presence reaches the coordinator under the observer's peer id.
    let got = ana.wait_for("the observer's presence", Duration::from_secs(10), |l| l["event"] == "state").await;
    let from_observer: Vec<&Value> =
        got["ephemeral"].as_array().expect("ephemeral").iter().filter(|e| e["message"]["hello"] == "from-observer").collect();
    assert_eq!(from_observer.len(), 1, "{got}");
    assert_eq!(from_observer[0]["senderId"], json!(obs_peer));

    // A raw protocol peer (the area's editor) claims to be the coordinator.
    let mut mallory = Peer::connect(&server.sync_url(&city.editor_a.token)).await.expect("connect to /sync");
    load_doc(&mut mallory, city.section_a.doc_id, Duration::from_secs(10)).await.expect("the section loads");
    let spoof = WireMessage::Ephemeral {
        sender_id: ana_peer.clone(),
        target_id: mallory.server_id.clone(),
        count: 1,
        session_id: "mallory-session".into(),
        document_id: city.section_a.doc_id,
        data: SPOOF_CBOR.to_vec(),
    };
    mallory.send(&spoof).await.expect("send the spoof");
    let got = obs.wait_for("the spoofed presence", Duration::from_secs(10), |l| l["event"] == "state").await;
    let spoofed: Vec<&Value> =
        got["ephemeral"].as_array().expect("ephemeral").iter().filter(|e| e["message"]["spoof"] == true).collect();
    assert_eq!(spoofed.len(), 1, "{got}");
    assert_eq!(spoofed[0]["senderId"], json!(mallory.peer_id), "named by its own connection: {got}");
    assert_ne!(spoofed[0]["senderId"], json!(ana_peer));
    // The raw peer got the roster too: three users now, the editor writing.
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut latest = None;
    while Instant::now() < deadline && latest.as_ref().is_none_or(|r: &Vec<_>| r.len() != 3) {
        if let Recv::Msg(WireMessage::Ephemeral { sender_id, data, .. }) = mallory.recv(Duration::from_millis(200)).await
            && sender_id == mallory.server_id
        {
            latest = decode_roster(&data);
        }
    }
    let latest = latest.expect("a roster for the raw peer");
    assert!(
        latest.iter().any(|p| p.peer_id == mallory.peer_id && p.user_id == editor_id && p.name == editor_name),
        "{latest:?}"
    );

    // The coordinator leaves: the observer's roster drops them.
    ana.send_line("bye").await;
    ana.finish(Duration::from_secs(20)).await.ok();
    let last = obs.wait_for("the roster without the coordinator", Duration::from_secs(10), |l| l["event"] == "state").await;
    let names_left: Vec<String> = roster(&last).into_iter().map(|p| p.2).collect();
    let mut want = vec![observer_name.clone(), editor_name.clone()];
    want.sort();
    assert_eq!(names_left, want, "{last}");
    obs.finish(Duration::from_secs(20)).await.ok();
}
