//! Issue 16 through the real router: password change and sessions, CSRF, browser headers,
//! tokens, throttling, the last coordinator, `/metrics` exposure and the audit log.

use axum::http::{Method, StatusCode, header};
use concerta_server::auth::hash_password;
use concerta_store::{NewUser, test_both_dbs};
use serde_json::json;

use crate::{App, Auth, person};

const PASSWORD: &str = "correct horse";

async fn user_with_password(app: &App, email: &str) {
    let hash = hash_password(PASSWORD.to_owned()).await.unwrap();
    app.db()
        .create_user(NewUser { email: email.to_owned(), name: "Ana".to_owned(), password_hash: Some(hash), network_admin: false })
        .await
        .unwrap();
}

/// Logs in and returns the `name=value` of the session cookie.
async fn login(app: &App, email: &str, password: &str) -> Auth {
    let answer = app.post("/api/auth/login", &Auth::None, json!({"email": email, "password": password})).await;
    assert_eq!(answer.status, StatusCode::OK, "{:?}", answer.body);
    let cookie = answer.headers[header::SET_COOKIE].to_str().unwrap();
    Auth::Cookie(cookie.split(';').next().unwrap().to_owned())
}

test_both_dbs!(a_password_change_keeps_this_session_ends_the_others_and_keeps_tokens, |db| async move {
    let app = App::new(db);
    user_with_password(&app, "ana@example.org").await;
    let here = login(&app, "ana@example.org", PASSWORD).await;
    let elsewhere = login(&app, "ana@example.org", PASSWORD).await;
    let token = app.call(Method::POST, "/api/me/tokens", &here, None).await.body["token"].as_str().unwrap().to_owned();
    let token = Auth::Bearer(token);

    // Wrong current password, too short a new one: 422 naming the field, nothing changes.
    let wrong = app
        .post("/api/me/password", &here, json!({"current_password": "not it at all", "new_password": "a new secret"}))
        .await;
    assert_eq!((wrong.status, wrong.body["error"]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("current_password")));
    let short = app.post("/api/me/password", &here, json!({"current_password": PASSWORD, "new_password": "short"})).await;
    assert_eq!((short.status, short.body["error"]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("new_password")));
    let missing = app.post("/api/me/password", &here, json!({"current_password": PASSWORD})).await;
    assert_eq!(missing.body["error"]["field"], "new_password");
    assert_eq!(app.get("/api/me", &elsewhere).await.status, StatusCode::OK, "nothing ended yet");
    let anonymous = app.post("/api/me/password", &Auth::None, json!({"current_password": PASSWORD, "new_password": "a new secret"})).await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);

    let changed = app
        .post("/api/me/password", &here, json!({"current_password": PASSWORD, "new_password": "a new secret"}))
        .await;
    assert_eq!(changed.status, StatusCode::NO_CONTENT, "{:?}", changed.body);
    assert_eq!(app.get("/api/me", &here).await.status, StatusCode::OK, "this session goes on");
    assert_eq!(app.get("/api/me", &elsewhere).await.status, StatusCode::UNAUTHORIZED, "the other one ended");
    assert_eq!(app.get("/api/me", &token).await.status, StatusCode::OK, "API tokens stay valid");
    let old = app.post("/api/auth/login", &Auth::None, json!({"email": "ana@example.org", "password": PASSWORD})).await;
    assert_eq!(old.status, StatusCode::UNAUTHORIZED);
    login(&app, "ana@example.org", "a new secret").await;

    // Through an API token there is no session to keep: every session ends.
    let changed = app
        .post("/api/me/password", &token, json!({"current_password": "a new secret", "new_password": "a third secret"}))
        .await;
    assert_eq!(changed.status, StatusCode::NO_CONTENT);
    assert_eq!(app.get("/api/me", &here).await.status, StatusCode::UNAUTHORIZED);

    let log = app.db().list_audit(None, None, 20).await.unwrap();
    let actions: Vec<&str> = log.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(
        actions,
        ["sessions_ended", "password_changed", "login_failed", "sessions_ended", "password_changed", "token_issued"],
        "{log:#?}"
    );
    assert_eq!(log[2].details["email"], "ana@example.org");
    assert_eq!(log[3].details["sessions"], 1);
    app.assert_serving().await;
});

test_both_dbs!(login_failures_are_audited_alike_for_unknown_accounts, |db| async move {
    let app = App::new(db);
    user_with_password(&app, "ana@example.org").await;
    let ana = app.db().get_user_by_email("ana@example.org").await.unwrap().unwrap();
    for email in ["ana@example.org", "Nobody@Example.org"] {
        let answer = app.post("/api/auth/login", &Auth::None, json!({"email": email, "password": "wrong one"})).await;
        assert_eq!(answer.code(), "invalid_credentials");
    }
    let log = app.db().list_audit(None, None, 10).await.unwrap();
    assert_eq!(log.len(), 2);
    assert!(log.iter().all(|e| e.action == "login_failed" && e.actor == "anonymous"));
    assert_eq!(log[0].details["email"], "nobody@example.org");
    assert_eq!(log[0].target_id, None);
    assert_eq!(log[1].target_id, Some(ana.id.to_string()));
    // A token-authenticated request needs no login and leaves no failure.
    let bob = person(app.db(), "bob@example.org", false).await;
    assert_eq!(app.get("/api/me", &bob.auth).await.status, StatusCode::OK);
    assert_eq!(app.db().list_audit(None, None, 10).await.unwrap()[0].action, "token_issued");
});
