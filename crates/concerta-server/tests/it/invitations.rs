//! Account invitations through the router: a member added without an account is invited in
//! the same request (queued, never waiting on SMTP); the signed link sets a password once and
//! logs in; forged links change nothing; only coordinators list, resend and revoke.

use axum::http::{HeaderValue, Method, Request, StatusCode, header};
use concerta_store::test_both_dbs;
use serde_json::json;

use crate::{App, Auth, CityFixture};

/// The token in the link of the latest queued invitation to `email`.
async fn token_for(app: &App, city: concerta_core::CityId, email: &str) -> String {
    let messages = app.db().list_city_outbox(city, 100).await.unwrap();
    let message = messages.iter().find(|m| m.recipient_email == email && m.kind == "account_invitation").expect("an invitation email");
    let link = message.payload["link"].as_str().expect("a link");
    link.rsplit('/').next().unwrap().to_owned()
}

test_both_dbs!(the_link_sets_a_password_once_and_forgeries_fail, |db| async move {
    let app = App::new(db.clone());
    let a = CityFixture::new(&db, "lima").await;
    let created = app
        .post(&a.url("/members"), &a.coordinator.auth, json!({"email": "nueva@lima.example.org", "name": "Nueva", "role": "observer"}))
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
    assert_eq!(created.body["email"], "nueva@lima.example.org", "the member's fields stay at the top");
    assert_eq!(created.body["invitation"]["delivery"], "queued");
    let messages = app.get(&a.url("/messages"), &a.coordinator.auth).await;
    assert_eq!(messages.status, StatusCode::OK);
    assert_eq!(messages.body[0]["status"], "queued");
    assert_eq!(messages.body[0]["kind"], "account_invitation");
    assert!(messages.body[0].get("payload").is_none(), "no secrets through the API");
    assert_eq!(app.get(&a.url("/messages"), &a.editor.auth).await.status, StatusCode::FORBIDDEN);
    assert_eq!(app.get(&a.url("/invitations"), &a.observer.auth).await.status, StatusCode::FORBIDDEN);

    let token = token_for(&app, a.city.id, "nueva@lima.example.org").await;
    let preview = app.get(&format!("/api/invitations/{token}"), &Auth::None).await;
    assert_eq!(preview.status, StatusCode::OK, "{:?}", preview.body);
    assert_eq!(preview.body["city_name"], "City lima");
    // Forged, garbage: 404 invitation_invalid.
    let mut forged = token.clone().into_bytes();
    let last = forged.len() - 1;
    forged[last] = if forged[last] == b'A' { b'B' } else { b'A' };
    let forged = String::from_utf8(forged).unwrap();
    for bad in [forged.as_str(), "nonsense"] {
        let answer = app.post(&format!("/api/invitations/{bad}/accept"), &Auth::None, json!({"password": "long enough password"})).await;
        assert_eq!((answer.status, answer.code()), (StatusCode::NOT_FOUND, "invitation_invalid"), "{bad}");
    }
    // A cross-site form cannot use a link to log someone in.
    let cross = Request::builder()
        .method(Method::POST)
        .uri(format!("/api/invitations/{token}/accept"))
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::ORIGIN, HeaderValue::from_static("https://evil.example"))
        .body(axum::body::Body::from(json!({"password": "long enough password"}).to_string()))
        .unwrap();
    assert_eq!(app.send(cross).await.status, StatusCode::FORBIDDEN);
    // Bad password: 422 on the field; then the real thing logs in.
    let short = app.post(&format!("/api/invitations/{token}/accept"), &Auth::None, json!({"password": "short"})).await;
    assert_eq!(short.status, StatusCode::UNPROCESSABLE_ENTITY);
    let accepted = app.post(&format!("/api/invitations/{token}/accept"), &Auth::None, json!({"password": "long enough password"})).await;
    assert_eq!(accepted.status, StatusCode::OK, "{:?}", accepted.body);
    assert_eq!(accepted.body["city_id"], json!(a.city.id));
    let cookie = accepted.headers.get(header::SET_COOKIE).expect("a session cookie").to_str().unwrap().split(';').next().unwrap().to_owned();
    let me = app.get("/api/me", &Auth::Cookie(cookie)).await;
    assert_eq!(me.body["email"], "nueva@lima.example.org");
    let again = app.post(&format!("/api/invitations/{token}/accept"), &Auth::None, json!({"password": "another password"})).await;
    assert_eq!((again.status, again.code()), (StatusCode::GONE, "invitation_used"));
    let listed = app.get(&a.url("/invitations"), &a.coordinator.auth).await;
    assert_eq!(listed.body[0]["state"], "accepted");
    // Another city's coordinator cannot resend or revoke it.
    let b = CityFixture::new(&db, "quito").await;
    let id = listed.body[0]["id"].as_str().unwrap();
    let other = app.post(&b.url(&format!("/invitations/{id}/revoke")), &b.coordinator.auth, json!({})).await;
    assert_eq!(other.status, StatusCode::NOT_FOUND);
});
