//! Live comment streams through the real router (issue 17): a comment, an answer or a hide
//! reaches the open event streams of those who may read it (the section editor's, the
//! consultation page's) and nobody else's: not a stakeholder of another consultation, not
//! another city; a stream ends when its invitation is withdrawn or its credential revoked.

use std::time::Duration;

use axum::body::{Body, BodyDataStream};
use axum::http::{Method, Request, StatusCode, header};
use chrono::Utc;
use concerta_store::test_both_dbs;
use futures_util::StreamExt;
use serde_json::{Value, json};
use tower::ServiceExt;

use crate::{App, Auth, CityFixture};

/// An open `text/event-stream` answer.
struct Events {
    body: BodyDataStream,
    buffer: String,
}

impl Events {
    /// The next event (name and JSON data), skipping keep-alive comments; `None` when the
    /// stream ended. Panics when nothing comes within ten seconds.
    async fn next(&mut self) -> Option<(String, Value)> {
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let mut name = String::from("message");
                let mut data = String::new();
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("event:") {
                        name = v.trim().to_owned();
                    } else if let Some(v) = line.strip_prefix("data:") {
                        data.push_str(v.trim());
                    }
                }
                if data.is_empty() && name == "message" {
                    continue;
                }
                return Some((name, serde_json::from_str(&data).unwrap_or(Value::Null)));
            }
            match tokio::time::timeout(Duration::from_secs(10), self.body.next()).await {
                Ok(Some(Ok(bytes))) => self.buffer.push_str(std::str::from_utf8(&bytes).unwrap()),
                Ok(Some(Err(e))) => panic!("reading the event stream: {e}"),
                Ok(None) => return None,
                Err(_) => panic!("no event within 10 s (buffer: {:?})", self.buffer),
            }
        }
    }

    /// The next `comment` event's data.
    async fn comment(&mut self) -> Value {
        let (name, data) = self.next().await.expect("the stream is open");
        assert_eq!(name, "comment", "{data}");
        data
    }
}

/// Opens `uri` as an event stream: its status, and the stream when it is 200.
async fn open(app: &App, uri: &str, auth: &Auth) -> (StatusCode, Option<Events>) {
    let mut req = Request::builder().method(Method::GET).uri(uri).header(header::ACCEPT, "text/event-stream");
    match auth {
        Auth::None => {}
        Auth::Bearer(token) => req = req.header(header::AUTHORIZATION, format!("Bearer {token}")),
        Auth::Cookie(cookie) => req = req.header(header::COOKIE, cookie.as_str()),
    }
    let response = concerta_server::router(app.state.clone()).oneshot(req.body(Body::empty()).unwrap()).await.unwrap();
    let status = response.status();
    if status != StatusCode::OK {
        return (status, None);
    }
    let kind = response.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    assert!(kind.starts_with("text/event-stream"), "{kind}");
    let mut events = Events { body: response.into_body().into_data_stream(), buffer: String::new() };
    let (name, _) = events.next().await.expect("a first event");
    assert_eq!(name, "ready", "a stream says it is ready before anything else");
    (status, Some(events))
}

async fn stream(app: &App, uri: &str, auth: &Auth) -> Events {
    let (status, events) = open(app, uri, auth).await;
    assert_eq!(status, StatusCode::OK, "{uri}");
    events.unwrap()
}

/// A consultation open now on every section of a new strategy of `c`; (its id, the first
/// section's id).
async fn consultation(app: &App, c: &CityFixture, title: &str) -> (String, String) {
    let s = app.post(&c.url("/strategies"), &c.coordinator.auth, json!({"title": title, "template": "seed"})).await;
    assert_eq!(s.status, StatusCode::CREATED, "{:?}", s.body);
    let section = s.body["sections"][0]["id"].as_str().unwrap().to_owned();
    let area = app.call(Method::PUT, &format!("/api/sections/{section}/area"), &c.coordinator.auth, Some(json!({"area_id": c.areas[0].id}))).await;
    assert_eq!(area.status, StatusCode::OK, "{:?}", area.body);
    let closes = (Utc::now() + chrono::Duration::days(7)).to_rfc3339();
    let made = app.post(&c.url("/consultations"), &c.coordinator.auth, json!({"strategy_id": s.body["id"], "title": title, "closes_at": closes})).await;
    assert_eq!(made.status, StatusCode::CREATED, "{:?}", made.body);
    (made.body["id"].as_str().unwrap().to_owned(), section)
}

/// Invites `email` to consultation `id`; their API token and invitee id.
async fn invite(app: &App, c: &CityFixture, id: &str, email: &str) -> (Auth, String) {
    let body = json!({"invitees": [{"email": email, "name": email, "organization": "Org", "sector": "academia"}]});
    let invited = app.post(&format!("/api/consultations/{id}/invitations"), &c.coordinator.auth, body).await;
    assert_eq!(invited.status, StatusCode::CREATED, "{:?}", invited.body);
    let user = app.db().get_user_by_email(email).await.unwrap().unwrap();
    let token = concerta_server::auth::issue_api_token(app.db(), &user).await.unwrap();
    (Auth::Bearer(token), invited.body["invitations"][0]["id"].as_str().unwrap().to_owned())
}

async fn comment(app: &App, id: &str, section: &str, auth: &Auth, body: &str) -> String {
    let made = app.post(&format!("/api/consultations/{id}/comments"), auth, json!({"section_id": section, "body": body})).await;
    assert_eq!(made.status, StatusCode::CREATED, "{:?}", made.body);
    made.body["id"].as_str().unwrap().to_owned()
}

test_both_dbs!(comments_reach_the_open_streams_of_those_who_may_read_them, |db| async move {
    let app = App::new(db);
    let c = CityFixture::new(app.db(), "quito").await;
    let other_city = CityFixture::new(app.db(), "lima").await;
    let (x, section) = consultation(&app, &c, "Consulta X").await;
    let (y, y_section) = consultation(&app, &c, "Consulta Y").await;
    let (b, b_section) = consultation(&app, &other_city, "Consulta B").await;
    let (ana, ana_invitee) = invite(&app, &c, &x, "ana@quito.example.org").await;
    let (bruno, _) = invite(&app, &c, &y, "bruno@quito.example.org").await;

    // Who may not listen is told so before any event, as by the REST reading.
    let x_events = format!("/api/consultations/{x}/events");
    assert_eq!(open(&app, &x_events, &Auth::None).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(open(&app, &x_events, &bruno).await.0, StatusCode::FORBIDDEN, "not invited to X");
    assert_eq!(open(&app, &x_events, &other_city.coordinator.auth).await.0, StatusCode::NOT_FOUND, "another city");
    let section_events = format!("/api/sections/{section}/comments/events");
    assert_eq!(open(&app, &section_events, &ana).await.0, StatusCode::FORBIDDEN, "a stakeholder reads no live section");
    assert_eq!(open(&app, &format!("/api/consultations/{}/events", uuid::Uuid::nil()), &c.coordinator.auth).await.0, StatusCode::NOT_FOUND);

    let mut editor = stream(&app, &section_events, &c.editor.auth).await;
    let mut ana_x = stream(&app, &x_events, &ana).await;
    let mut bruno_y = stream(&app, &format!("/api/consultations/{y}/events"), &bruno).await;
    let mut city_b = stream(&app, &format!("/api/consultations/{b}/events"), &other_city.coordinator.auth).await;

    // Ana comments on X: the editor's section panel and Ana's own page hear it.
    let first = comment(&app, &x, &section, &ana, "Más cooperación cultural").await;
    for events in [&mut editor, &mut ana_x] {
        let event = events.comment().await;
        assert_eq!((event["kind"].as_str(), event["comment_id"].as_str()), (Some("created"), Some(first.as_str())), "{event}");
        assert_eq!((event["consultation_id"].as_str(), event["section_id"].as_str()), (Some(x.as_str()), Some(section.as_str())));
        assert!(event.get("body").is_none(), "an event names what changed, never its words: {event}");
    }
    // Bruno (consultation Y) and city B hear nothing of it: their next events are their own.
    let on_y = comment(&app, &y, &y_section, &bruno, "Sobre Y").await;
    assert_eq!(bruno_y.comment().await["comment_id"], json!(on_y), "Bruno's first event is Y's, not X's");
    let on_b = comment(&app, &b, &b_section, &other_city.coordinator.auth, "En B").await;
    assert_eq!(city_b.comment().await["comment_id"], json!(on_b), "city B's first event is its own");

    // Answers and hides are heard too; the editor's section stream hears only its section.
    let answered = app.post(&format!("/api/comments/{first}/response"), &c.coordinator.auth, json!({"decision": "noted", "reason": "Gracias"})).await;
    assert_eq!(answered.status, StatusCode::OK, "{:?}", answered.body);
    assert_eq!(ana_x.comment().await["kind"], "answered");
    assert_eq!(editor.comment().await["kind"], "answered", "Y's comment was on another section; the next is X's answer");
    let reply = comment(&app, &x, &section, &c.editor.auth, "Una respuesta en el hilo").await;
    assert_eq!(ana_x.comment().await["comment_id"], json!(reply));
    assert_eq!(editor.comment().await["comment_id"], json!(reply));
    let hidden = app.post(&format!("/api/comments/{reply}/hide"), &c.coordinator.auth, json!({"reason": "Prueba"})).await;
    assert_eq!(hidden.status, StatusCode::OK, "{:?}", hidden.body);
    assert_eq!(ana_x.comment().await["kind"], "hidden");
    assert_eq!(editor.comment().await["kind"], "hidden");

    // Withdrawn, Ana's stream ends at once, and she hears nothing more.
    let revoked = app.post(&format!("/api/consultations/{x}/invitations/{ana_invitee}/revoke"), &c.coordinator.auth, json!({})).await;
    assert_eq!(revoked.status, StatusCode::OK, "{:?}", revoked.body);
    assert_eq!(ana_x.next().await.map(|(name, _)| name).as_deref(), Some("end"));
    assert!(ana_x.next().await.is_none(), "closed after `end`");
    let after = comment(&app, &x, &section, &c.coordinator.auth, "Después del retiro").await;
    assert_eq!(editor.comment().await["comment_id"], json!(after));

    // A revoked token ends its stream at once, with no comment needed.
    let tokens = app.get("/api/tokens", &bruno).await;
    let token_id = tokens.body.as_array().unwrap()[0]["id"].as_str().unwrap().to_owned();
    let gone = app.call(Method::DELETE, &format!("/api/tokens/{token_id}"), &bruno, None).await;
    assert_eq!(gone.status, StatusCode::NO_CONTENT, "{:?}", gone.body);
    assert_eq!(bruno_y.next().await.map(|(name, _)| name).as_deref(), Some("end"));
});
