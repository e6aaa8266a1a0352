//! Real clients converge through the real server: two official JS automerge-repo clients and
//! a samod client edit one section at the same moment.

use std::time::Duration;

use concerta_e2e::{Client, Peer, Server, Store, both_backends, load_doc, root_text, setup_city};
use serde_json::{Value, json};

both_backends!(two_js_clients_and_samod_converge_on_one_section, three_clients_converge);
both_backends!(a_whole_document_upload_is_unpacked_on_its_connection_and_stored, whole_document_upload);

async fn three_clients_converge(store: Store) {
    let server = Server::start(&store).await;
    let city = setup_city(&store, &server).await;
    let doc = &city.section_a.doc_url;
    let edits = ["js-one ", "js-two ", "samod-three "];
    // Each client opens the section, reports ready, waits for the barrier, inserts its text at
    // the start of the body, then waits until it holds the other two edits.
    let scenario = |token: &str, mine: usize| {
        let mut actions = vec![
            json!({"print": true}),
            json!({"waitLine": "go"}),
            json!({"splice": {"path": ["body"], "index": 0, "text": edits[mine]}}),
        ];
        for (i, other) in edits.iter().enumerate() {
            if i != mine {
                actions.push(json!({"waitFor": {"path": ["body"], "contains": other}}));
            }
        }
        json!({"url": server.sync_url(token), "doc": doc, "actions": actions, "timeoutMs": 30000})
    };
    // Different accounts with write access: the coordinator and the editor of the section's area.
    let mut clients = vec![
        Client::js("js-one", &scenario(&city.coordinator.token, 0)),
        Client::js("js-two", &scenario(&city.editor_a.token, 1)),
        Client::samod("samod-three", &scenario(&city.coordinator.token, 2)),
    ];
    for client in &mut clients {
        let ready = client.wait_for("the document open", Duration::from_secs(20), |l| l["event"] == "state").await;
        assert_eq!(ready["title"], json!(section_title(&server, &city).await), "{}: {ready}", client.name);
    }
    for client in &mut clients {
        client.send_line("go").await;
    }
    let mut outcomes = Vec::new();
    for client in clients {
        outcomes.push(client.finish(Duration::from_secs(40)).await);
    }
    let finals: Vec<&Value> = outcomes.iter().map(|o| o.ok()).collect();
    let body = finals[0]["body"].as_str().expect("a body").to_owned();
    for edit in edits {
        assert_eq!(body.matches(edit).count(), 1, "{edit:?} once in {body:?}");
    }
    assert_eq!(body.len(), edits.iter().map(|e| e.len()).sum::<usize>(), "nothing but the three edits: {body:?}");
    for (outcome, last) in outcomes.iter().zip(&finals) {
        assert_eq!(last["body"], finals[0]["body"], "{} diverged: {outcome}", outcome.name);
        assert_eq!(last["heads"], finals[0]["heads"], "{} has other heads: {outcome}", outcome.name);
        assert_eq!(last["serverErrors"].as_array().map(Vec::len).unwrap_or(0), 0, "{}: {outcome}", outcome.name);
        assert_eq!(last["peerReadOnly"], json!(false), "{}: {outcome}", outcome.name);
    }
    let heads: Vec<String> =
        finals[0]["heads"].as_array().expect("heads").iter().map(|h| h.as_str().expect("hex").to_owned()).collect();
    eprintln!("converged on {body:?} with {} heads (more than one: the edits were truly concurrent)", heads.len());

    // The server holds exactly that state: a fresh protocol client loads the same heads.
    let mut peer = Peer::connect(&server.sync_url(&city.observer.token)).await.expect("connect to /sync");
    let mut loaded =
        load_doc(&mut peer, city.section_a.doc_id, Duration::from_secs(10)).await.expect("the section loads");
    let mut loaded_heads: Vec<String> = loaded.get_heads().iter().map(|h| h.to_string()).collect();
    loaded_heads.sort();
    assert_eq!(loaded_heads, heads);
    assert_eq!(root_text(&loaded, "body"), body);
}

/// The title of section A as the server created it.
async fn section_title(server: &Server, city: &concerta_e2e::City) -> String {
    let strategy = city.admin_api(server).get(&format!("/api/strategies/{}", city.strategy_id)).await.expect(200);
    strategy["sections"]
        .as_array()
        .and_then(|s| s.iter().find(|s| s["id"] == city.section_a.id.as_str()))
        .and_then(|s| s["title"].as_str())
        .expect("section A in its strategy")
        .to_owned()
}

/// A peer that uploads its whole document (a saved document as the sync message's changes,
/// as automerge does for a peer that has nothing): the connection unpacks it into changes
/// before the engine sees it (counted on `/metrics`), the server acknowledges every change,
/// and a fresh client loads exactly that document.
async fn whole_document_upload(store: Store) {
    use automerge::sync::{Message as SyncMessage, MessageVersion};
    use automerge::transaction::Transactable;
    use concerta_e2e::{Recv, load_doc_state};
    use concerta_e2e::concerta_sync::wire::WireMessage;

    let server = Server::start(&store).await;
    let city = setup_city(&store, &server).await;
    let section = &city.section_a;
    let mut peer = Peer::connect(&server.sync_url(&city.coordinator.token)).await.expect("connect to /sync");
    let (mut doc, _) = load_doc_state(&mut peer, section.doc_id, Duration::from_secs(10)).await.expect("the section loads");
    let body = match automerge::ReadDoc::get(&doc, automerge::ROOT, "body") {
        Ok(Some((_, body))) => body,
        other => panic!("a section has a body: {other:?}"),
    };
    for i in 0..300 {
        doc.splice_text(&body, 0, 0, &format!("w{i} ")).expect("a local edit");
        doc.commit();
    }
    let heads = doc.get_heads();
    let upload = SyncMessage { heads: heads.clone(), need: vec![], have: vec![], changes: doc.save().into(), flags: None, version: MessageVersion::V2 };
    peer.send_sync(section.doc_id, &upload, false).await.expect("send the document");
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        match peer.recv(deadline.saturating_duration_since(std::time::Instant::now())).await {
            Recv::Msg(WireMessage::Sync { data, .. }) => {
                let msg = SyncMessage::decode(&data).expect("a sync message");
                if msg.heads == heads {
                    break;
                }
            }
            Recv::Msg(WireMessage::Error { message }) => panic!("the upload was refused: {message}"),
            Recv::Msg(_) => {}
            other => panic!("no acknowledgement of the uploaded document: {other:?}"),
        }
    }
    let unpacked = concerta_e2e::counter(&server, "concerta_sync_documents_unpacked_total").await;
    assert_eq!(unpacked, 1, "the connection unpacked the document once");

    let mut fresh = Peer::connect(&server.sync_url(&city.observer.token)).await.expect("connect to /sync");
    let mut loaded = load_doc(&mut fresh, section.doc_id, Duration::from_secs(10)).await.expect("the section loads");
    assert_eq!(loaded.get_heads(), heads);
    assert_eq!(root_text(&loaded, "body"), root_text(&doc, "body"));
    assert!(root_text(&loaded, "body").starts_with("w299 w298 "));
}
