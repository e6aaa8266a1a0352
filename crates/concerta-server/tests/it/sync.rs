//! The sync runtime through `run_connection` over channels: who is in which document
//! (`SyncHandle::presence`), and connections cut when their credential ends.

use std::time::{Duration, Instant};

use automerge::sync::{State as SyncState, SyncDoc};
use axum::extract::ws::Message as WsMessage;
use axum::http::StatusCode;
use concerta_core::Role;
use concerta_server::auth::hash_secret;
use concerta_server::state::Credential;
use concerta_server::sync::{ConnIdentity, PeerPresence, SyncHandle, run_connection};
use concerta_server::AccessEvent;
use concerta_store::{MemberUpdate, test_both_dbs};
use concerta_sync::wire::WireMessage;
use concerta_sync::{Access, DocumentId};
use serde_json::json;
use tokio::sync::mpsc;

use crate::{App, Auth, CityFixture, Person};

/// One connection driven by the test: frames in through `to_server`, frames out in `from_server`.
struct Conn {
    peer_id: String,
    to_server: mpsc::UnboundedSender<WsMessage>,
    from_server: mpsc::UnboundedReceiver<WsMessage>,
}

impl Conn {
    fn open(sync: SyncHandle, identity: ConnIdentity, peer_id: &str) -> Conn {
        let (to_server, incoming) = mpsc::unbounded_channel::<WsMessage>();
        let (outgoing, from_server) = mpsc::unbounded_channel::<WsMessage>();
        let stream = Box::pin(futures_util::stream::unfold(incoming, |mut rx| async move {
            rx.recv().await.map(|m| (Ok::<_, std::convert::Infallible>(m), rx))
        }));
        let sink = Box::pin(futures_util::sink::unfold(outgoing, |tx, m: WsMessage| async move {
            tx.send(m).map_err(|_| ()).map(|_| tx)
        }));
        tokio::spawn(run_connection(sync, identity, sink, stream));
        Conn { peer_id: peer_id.to_owned(), to_server, from_server }
    }

    fn send(&self, msg: WireMessage) {
        self.to_server.send(WsMessage::Binary(msg.encode().into())).expect("the connection is open");
    }

    /// Joins and asks for `doc` as an empty client.
    fn join_and_request(&self, doc: DocumentId) {
        self.send(WireMessage::Join { sender_id: self.peer_id.clone(), metadata: None, supported_protocol_versions: vec!["1".into()] });
        let first = automerge::AutoCommit::new().sync().generate_sync_message(&mut SyncState::new()).expect("a first message");
        self.send(WireMessage::Request { sender_id: self.peer_id.clone(), target_id: String::new(), document_id: doc, data: first.encode() });
    }

    /// The next message (`None` for a close or the end), within `within`.
    async fn next(&mut self, within: Duration) -> Option<Option<WireMessage>> {
        match tokio::time::timeout(within, self.from_server.recv()).await {
            Err(_) => None,
            Ok(Some(WsMessage::Binary(b))) => Some(Some(WireMessage::decode(&b).expect("server frames decode"))),
            Ok(_) => Some(None),
        }
    }

    /// Reads until a message satisfies `pred` (panics after 5 s or at a close).
    async fn until(&mut self, what: &str, pred: impl Fn(&WireMessage) -> bool) -> WireMessage {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.next(left).await {
                Some(Some(m)) if pred(&m) => return m,
                Some(Some(_)) => {}
                Some(None) => panic!("closed while waiting for {what}"),
                None => panic!("no {what} within 5 s"),
            }
        }
    }

    /// Reads until the server closes the connection, within `within`; the messages before.
    async fn until_closed(&mut self, within: Duration) -> Vec<WireMessage> {
        let deadline = Instant::now() + within;
        let mut seen = Vec::new();
        loop {
            match self.next(deadline.saturating_duration_since(Instant::now())).await {
                Some(Some(m)) => seen.push(m),
                Some(None) => return seen,
                None => panic!("not closed within {within:?}; got {seen:?}"),
            }
        }
    }
}

fn identity(person: &Person, name: &str, credential: Credential) -> ConnIdentity {
    ConnIdentity { user: person.user.id, name: name.to_owned(), network_admin: false, credential: Some(credential), expires_at: None }
}

fn token(person: &Person) -> String {
    match &person.auth {
        Auth::Bearer(t) => t.clone(),
        other => panic!("a bearer token, got {other:?}"),
    }
}

/// A strategy from the seed template; the first section's document.
async fn first_section(app: &App, city: &CityFixture) -> DocumentId {
    let strategy = app.post(&city.url("/strategies"), &city.coordinator.auth, json!({"title": "E", "template": "seed"})).await;
    assert_eq!(strategy.status, StatusCode::CREATED);
    DocumentId::parse_url(strategy.body["sections"][0]["doc_url"].as_str().unwrap()).expect("an automerge URL")
}

fn is_sync(m: &WireMessage) -> bool {
    matches!(m, WireMessage::Sync { .. })
}

test_both_dbs!(presence_lists_each_user_once_with_their_most_access, |db| async move {
    let app = App::new(db);
    let city = CityFixture::new(app.db(), "presence").await;
    let doc = first_section(&app, &city).await;
    let sync = app.state.sync.clone();
    assert_eq!(sync.presence(vec![doc]).await, Default::default(), "nobody yet");

    let coordinator_token = Credential::ApiToken(hash_secret(&token(&city.coordinator)));
    let mut one = Conn::open(sync.clone(), identity(&city.coordinator, "Ana", coordinator_token.clone()), "ana-1");
    let mut two = Conn::open(sync.clone(), identity(&city.coordinator, "Ana", coordinator_token), "ana-2");
    let observer_token = Credential::ApiToken(hash_secret(&token(&city.observer)));
    let mut obs = Conn::open(sync.clone(), identity(&city.observer, "Olga", observer_token), "olga");
    for c in [&one, &two, &obs] {
        c.join_and_request(doc);
    }
    for c in [&mut one, &mut two, &mut obs] {
        c.until("the first sync message", is_sync).await;
    }
    let presence = sync.presence(vec![doc, DocumentId::random()]).await;
    assert_eq!(presence.len(), 1, "only documents someone is in: {presence:?}");
    let mut people = presence[&doc].clone();
    people.sort_by(|a, b| a.name.cmp(&b.name));
    assert_eq!(
        people,
        vec![
            PeerPresence { user_id: city.coordinator.user.id, name: "Ana".into(), access: Access::Write },
            PeerPresence { user_id: city.observer.user.id, name: "Olga".into(), access: Access::Read },
        ],
        "one entry per user"
    );

    // The observer leaves: gone from presence.
    drop(obs);
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let now = sync.presence(vec![doc]).await;
        if now[&doc].len() == 1 {
            assert_eq!(now[&doc][0].user_id, city.coordinator.user.id);
            break;
        }
        assert!(Instant::now() < deadline, "the observer is still present: {now:?}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    drop((one, two));
});

test_both_dbs!(an_ended_credential_cuts_its_live_connections_within_a_second, |db| async move {
    let app = App::new(db);
    let city = CityFixture::new(app.db(), "credentials").await;
    let doc = first_section(&app, &city).await;
    let sync = app.state.sync.clone();
    // The editor is connected twice: with an API token and with a browser session.
    let editor = &city.editor;
    let api_token = Credential::ApiToken(hash_secret(&token(editor)));
    let session_secret = "a-session-secret-for-the-test";
    app.db()
        .create_session(editor.user.id, hash_secret(session_secret), chrono::Utc::now() + chrono::Duration::days(1))
        .await
        .unwrap();
    let session = Credential::Session(hash_secret(session_secret));
    let mut by_token = Conn::open(sync.clone(), identity(editor, "Edu", api_token.clone()), "edu-token");
    let mut by_session = Conn::open(sync.clone(), identity(editor, "Edu", session), "edu-session");
    let other_token = Credential::ApiToken(hash_secret(&token(&city.coordinator)));
    let mut bystander = Conn::open(sync.clone(), identity(&city.coordinator, "Ana", other_token), "ana");
    for c in [&by_token, &by_session, &bystander] {
        c.join_and_request(doc);
    }
    for c in [&mut by_token, &mut by_session, &mut bystander] {
        c.until("the first sync message", is_sync).await;
    }

    // The token is revoked: its connection gets an error and is closed, at once.
    let revoked = Instant::now();
    app.state.publish_access(AccessEvent::Credential(api_token));
    let before_close = by_token.until_closed(Duration::from_secs(1)).await;
    assert!(
        before_close.iter().any(|m| matches!(m, WireMessage::Error { message } if message.contains("revoked"))),
        "{before_close:?}"
    );
    eprintln!("token revoked → connection closed in {:?}", revoked.elapsed());

    // The session ends (logged out elsewhere) and the user is re-checked: that connection is
    // cut; the coordinator's is not.
    app.db().delete_session(&hash_secret(session_secret)).await.unwrap();
    let ended = Instant::now();
    app.state.publish_access(AccessEvent::User(editor.user.id));
    by_session.until_closed(Duration::from_secs(1)).await;
    eprintln!("session ended → connection closed in {:?}", ended.elapsed());
    let presence = sync.presence(vec![doc]).await;
    assert_eq!(presence[&doc].iter().map(|p| p.user_id).collect::<Vec<_>>(), vec![city.coordinator.user.id]);
    assert!(bystander.next(Duration::from_millis(200)).await.is_none_or(|m| m.is_some()), "the bystander stays connected");

    // A re-check of a user whose credential is fine keeps the connection and re-decides
    // access: the coordinator is demoted to observer and becomes read-only.
    // (A city keeps a coordinator: the observer, not connected, takes over first.)
    let observer = app.db().get_membership(city.city.id, city.observer.user.id).await.unwrap().unwrap();
    let promote = MemberUpdate { role: Some(Role::Coordinator), area: None };
    app.db().update_member(city.city.id, observer.id, promote, concerta_store::AuditActor::System).await.unwrap();
    let member = app.db().get_membership(city.city.id, city.coordinator.user.id).await.unwrap().unwrap();
    let update = MemberUpdate { role: Some(Role::Observer), area: None };
    app.db().update_member(city.city.id, member.id, update, concerta_store::AuditActor::System).await.unwrap();
    app.state.publish_access(AccessEvent::User(city.coordinator.user.id));
    let deadline = Instant::now() + Duration::from_secs(1);
    loop {
        let now = sync.presence(vec![doc]).await;
        if now[&doc][0].access == Access::Read {
            break;
        }
        assert!(Instant::now() < deadline, "still writing after the demotion: {now:?}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let _ = bystander.to_server.send(WsMessage::Close(None));
});
