//! Issue 16 through the real router: password change and sessions, CSRF, browser headers,
//! tokens, throttling, the last coordinator, `/metrics` exposure and the audit log.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use concerta_server::auth::hash_password;
use concerta_store::{NewUser, test_both_dbs};
use serde_json::json;

use crate::{App, Auth, CityFixture, person};

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

/// A request with a JSON body (or none) and extra headers.
fn request(method: Method, uri: &str, auth: &Auth, headers: &[(&str, &str)], body: Option<serde_json::Value>) -> Request<Body> {
    let mut req = Request::builder().method(method).uri(uri);
    match auth {
        Auth::None => {}
        Auth::Bearer(token) => req = req.header(header::AUTHORIZATION, format!("Bearer {token}")),
        Auth::Cookie(cookie) => req = req.header(header::COOKIE, cookie.as_str()),
    }
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    match body {
        Some(body) => req.header(header::CONTENT_TYPE, "application/json").body(Body::from(body.to_string())),
        None => req.body(Body::empty()),
    }
    .unwrap()
}

test_both_dbs!(cross_site_writes_with_the_session_cookie_change_nothing, |db| async move {
    let app = App::new(db);
    let fixture = CityFixture::new(app.db(), "quito").await;
    let hash = hash_password(PASSWORD.to_owned()).await.unwrap();
    app.db().set_password_hash(fixture.coordinator.user.id, hash).await.unwrap();
    let email = fixture.coordinator.user.email.clone();
    let cookie = login(&app, &email, PASSWORD).await;
    let areas = fixture.url("/areas");
    let area_count = || async { app.get(&fixture.url("/areas"), &fixture.coordinator.auth).await.body.as_array().unwrap().len() };
    let before = area_count().await;

    let evil: &[&[(&str, &str)]] = &[
        &[("origin", "https://evil.example")],
        &[("origin", "null")],
        &[("origin", "https://concerta.test.evil.example"), ("host", "concerta.test")],
        &[("sec-fetch-site", "cross-site")],
        &[("sec-fetch-site", "cross-site"), ("origin", "http://concerta.test"), ("host", "concerta.test")],
        &[("origin", "https://evil.example"), ("x-concerta-csrf", "1")],
    ];
    for headers in evil {
        let answer = app.send(request(Method::POST, &areas, &cookie, headers, Some(json!({"name": "Forged"})))).await;
        assert_eq!((answer.status, answer.code()), (StatusCode::FORBIDDEN, "cross_site"), "{headers:?}");
    }
    assert_eq!(area_count().await, before, "nothing was created");
    let member = fixture.editor.user.id;
    let member_id = app.db().get_membership(fixture.city.id, member).await.unwrap().unwrap().id;
    let delete = format!("{}/{member_id}", fixture.url("/members"));
    let forged = app.send(request(Method::DELETE, &delete, &cookie, &[("origin", "https://evil.example")], None)).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert!(app.db().get_membership(fixture.city.id, member).await.unwrap().is_some(), "the member is still there");
    let logout = app.send(request(Method::POST, "/api/auth/logout", &cookie, &[("sec-fetch-site", "cross-site")], None)).await;
    assert_eq!(logout.status, StatusCode::FORBIDDEN);
    assert_eq!(app.get("/api/me", &cookie).await.status, StatusCode::OK, "a forged logout ends nothing");

    // A cross-site login is refused too (login CSRF), and sets no cookie.
    let forged_login = request(
        Method::POST,
        "/api/auth/login",
        &Auth::None,
        &[("origin", "https://evil.example")],
        Some(json!({"email": email, "password": PASSWORD})),
    );
    let answer = app.send(forged_login).await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    assert!(answer.headers.get(header::SET_COOKIE).is_none());

    // The same writes from this site, or from clients that say nothing, go through.
    let own: &[&[(&str, &str)]] = &[
        &[("origin", "http://concerta.test"), ("host", "concerta.test"), ("x-concerta-csrf", "1")],
        &[("origin", "https://concerta.test"), ("host", "concerta.test"), ("sec-fetch-site", "same-origin")],
        &[("origin", "http://127.0.0.1:0")],
        &[("sec-fetch-site", "same-origin")],
        &[],
    ];
    for (i, headers) in own.iter().enumerate() {
        let body = json!({"name": format!("Area {i}")});
        let answer = app.send(request(Method::POST, &areas, &cookie, headers, Some(body))).await;
        assert_eq!(answer.status, StatusCode::CREATED, "{headers:?}: {:?}", answer.body);
    }
    // Bearer tokens are not affected, whatever the Origin; reads are not either.
    let token = &fixture.coordinator.auth;
    let answer = app.send(request(Method::POST, &areas, token, &[("origin", "https://evil.example")], Some(json!({"name": "By script"})))).await;
    assert_eq!(answer.status, StatusCode::CREATED);
    let read = app.send(request(Method::GET, "/api/me", &cookie, &[("sec-fetch-site", "cross-site")], None)).await;
    assert_eq!(read.status, StatusCode::OK);
    assert_eq!(area_count().await, before + own.len() + 1);
    let login_here = request(
        Method::POST,
        "/api/auth/login",
        &Auth::None,
        &[("origin", "http://concerta.test"), ("host", "concerta.test")],
        Some(json!({"email": email, "password": PASSWORD})),
    );
    assert_eq!(app.send(login_here).await.status, StatusCode::OK);
});

test_both_dbs!(every_response_carries_the_security_headers, |db| async move {
    let app = App::new(db.clone());
    let ana = person(app.db(), "ana@example.org", false).await;
    let answers = [
        app.get("/healthz", &Auth::None).await,
        app.get("/api/me", &ana.auth).await,
        app.get("/api/me", &Auth::None).await,
        app.get("/no/such/page", &Auth::None).await,
        app.post("/api/auth/login", &Auth::None, json!({"email": "x@example.org", "password": "nope nope"})).await,
    ];
    for answer in &answers {
        let csp = answer.headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
        assert_eq!(csp, concerta_server::security::CONTENT_SECURITY_POLICY, "{:?}", answer.status);
        assert!(csp.contains("frame-ancestors 'none'") && csp.contains("'wasm-unsafe-eval'"));
        assert_eq!(answer.headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
        assert_eq!(answer.headers[header::REFERRER_POLICY], "no-referrer");
        assert_eq!(answer.headers[header::X_FRAME_OPTIONS], "DENY");
        assert!(answer.headers.get(header::STRICT_TRANSPORT_SECURITY).is_none(), "plain http: no HSTS");
    }
    let https = App::with_config(db, |c| c.public_url = Some("https://concerta.example.org".to_owned()));
    let answer = https.get("/healthz", &Auth::None).await;
    assert_eq!(answer.headers[header::STRICT_TRANSPORT_SECURITY], "max-age=31536000");
});

test_both_dbs!(the_last_coordinator_can_be_neither_removed_nor_demoted, |db| async move {
    let app = App::new(db);
    let fixture = CityFixture::new(app.db(), "quito").await;
    let admin = person(app.db(), "admin@example.org", true).await;
    let coordinator = app.db().get_membership(fixture.city.id, fixture.coordinator.user.id).await.unwrap().unwrap();
    let url = format!("{}/{}", fixture.url("/members"), coordinator.id);
    for who in [&fixture.coordinator.auth, &admin.auth] {
        let demote = app.call(Method::PATCH, &url, who, Some(json!({"role": "observer"}))).await;
        assert_eq!((demote.status, demote.code()), (StatusCode::CONFLICT, "last_coordinator"), "{:?}", demote.body);
        assert!(demote.body["error"]["message"].as_str().unwrap().contains("at least one coordinator"));
        let remove = app.call(Method::DELETE, &url, who, None).await;
        assert_eq!((remove.status, remove.code()), (StatusCode::CONFLICT, "last_coordinator"));
    }
    let still = app.db().get_membership(fixture.city.id, fixture.coordinator.user.id).await.unwrap().unwrap();
    assert_eq!(still.role, concerta_core::Role::Coordinator);
    // Changing the coordinator's area (not the role) is fine.
    let area = fixture.areas[0].id.to_string();
    let moved = app.call(Method::PATCH, &url, &admin.auth, Some(json!({"area_id": area}))).await;
    assert_eq!(moved.status, StatusCode::OK, "{:?}", moved.body);

    // With a second coordinator, the first may step down.
    let second = app
        .post(&fixture.url("/members"), &admin.auth, json!({"email": "second@quito.ec", "name": "S", "role": "coordinator"}))
        .await;
    assert_eq!(second.status, StatusCode::CREATED);
    let demote = app.call(Method::PATCH, &url, &fixture.coordinator.auth, Some(json!({"role": "observer"}))).await;
    assert_eq!(demote.status, StatusCode::OK);
    let second_url = format!("{}/{}", fixture.url("/members"), second.body["id"].as_str().unwrap());
    let remove = app.call(Method::DELETE, &second_url, &admin.auth, None).await;
    assert_eq!(remove.code(), "last_coordinator");
});

test_both_dbs!(coordinators_read_their_citys_audit_log_and_nobody_else_does, |db| async move {
    let app = App::new(db);
    let quito = CityFixture::new(app.db(), "quito").await;
    let lima = CityFixture::new(app.db(), "lima").await;
    let admin = person(app.db(), "admin@example.org", true).await;
    let coordinator = &quito.coordinator.auth;
    let added = app
        .post(&quito.url("/members"), coordinator, json!({"email": "new@quito.ec", "name": "New", "role": "observer"}))
        .await;
    let member_url = format!("{}/{}", quito.url("/members"), added.body["id"].as_str().unwrap());
    app.call(Method::PATCH, &member_url, coordinator, Some(json!({"role": "editor", "area_id": quito.areas[1].id.to_string()}))).await;
    app.call(Method::DELETE, &member_url, coordinator, None).await;
    let strategy = app.post(&quito.url("/strategies"), coordinator, json!({"title": "E", "template": "seed"})).await;
    let section = strategy.body["sections"][0]["id"].as_str().unwrap().to_owned();
    let set = app
        .call(Method::PUT, &format!("/api/sections/{section}/area"), coordinator, Some(json!({"area_id": quito.areas[0].id.to_string()})))
        .await;
    assert_eq!(set.status, StatusCode::OK);

    let log = app.get(&quito.url("/audit"), coordinator).await;
    assert_eq!(log.status, StatusCode::OK, "{:?}", log.body);
    let entries = log.body.as_array().unwrap();
    let actions: Vec<&str> = entries.iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions[..4], ["section_area_changed", "member_removed", "member_changed", "member_added"]);
    // The fixture's four members come first in the chain (added by the system).
    assert_eq!(actions.len(), 8);
    let coordinator_email = quito.coordinator.user.email.as_str();
    assert!(entries[..4].iter().all(|e| e["actor"] == coordinator_email), "{entries:#?}");
    assert_eq!(entries[0]["target_kind"], "section");
    assert_eq!(entries[0]["target_id"], section);
    assert_eq!(entries[2]["details"]["role"], json!({"from": "observer", "to": "editor"}));
    assert_eq!(entries[3]["details"]["email"], "new@quito.ec");
    for e in entries {
        assert_eq!(e["hash"].as_str().unwrap().len(), 64);
        assert_eq!(e["city_id"], quito.city.id.to_string());
    }

    // Pages, newest first.
    let page = app.get(&format!("{}?limit=3", quito.url("/audit")), coordinator).await.body;
    let seqs: Vec<i64> = page.as_array().unwrap().iter().map(|e| e["seq"].as_i64().unwrap()).collect();
    assert_eq!(seqs, [8, 7, 6]);
    let next = app.get(&format!("{}?limit=3&before=6", quito.url("/audit")), coordinator).await.body;
    let seqs: Vec<i64> = next.as_array().unwrap().iter().map(|e| e["seq"].as_i64().unwrap()).collect();
    assert_eq!(seqs, [5, 4, 3]);
    for bad in ["?limit=0", "?limit=1000", "?before=-1", "?before=x", "?limit=%ZZ"] {
        let answer = app.get(&format!("{}{bad}", quito.url("/audit")), coordinator).await;
        assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {:?}", answer.body);
    }

    // Who may read it: the city's coordinators and network admins; members of other roles get
    // 403, outsiders and other cities' coordinators 404.
    assert_eq!(app.get(&quito.url("/audit"), &admin.auth).await.status, StatusCode::OK);
    for who in [&quito.editor.auth, &quito.observer.auth, &quito.stakeholder.auth] {
        assert_eq!(app.get(&quito.url("/audit"), who).await.status, StatusCode::FORBIDDEN);
    }
    assert_eq!(app.get(&quito.url("/audit"), &lima.coordinator.auth).await.status, StatusCode::NOT_FOUND);
    let lima_log = app.get(&lima.url("/audit"), &lima.coordinator.auth).await.body;
    assert!(lima_log.as_array().unwrap().iter().all(|e| e["city_id"] == lima.city.id.to_string()));

    // The instance log (logins, tokens) is for network admins.
    assert_eq!(app.get("/api/audit", coordinator).await.status, StatusCode::FORBIDDEN);
    let instance = app.get("/api/audit", &admin.auth).await;
    assert_eq!(instance.status, StatusCode::OK);
    assert!(instance.body.as_array().unwrap().iter().all(|e| e["action"] == "token_issued"));
});
