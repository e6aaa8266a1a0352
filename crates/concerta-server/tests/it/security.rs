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
    // More attempts than the default allowance (throttling has its own tests).
    let app = App::with_config(db, |c| c.login_limit_account = "20/1".parse().unwrap());
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

/// A login request from `address` (as the socket's peer), with the right or a wrong password.
fn login_from(address: &str, email: &str, password: &str) -> Request<Body> {
    let mut req = request(Method::POST, "/api/auth/login", &Auth::None, &[], Some(json!({"email": email, "password": password})));
    let peer: std::net::SocketAddr = format!("{address}:40000").parse().unwrap();
    req.extensions_mut().insert(axum::extract::ConnectInfo(peer));
    req
}

/// Polls with the right password until the login succeeds (a refused attempt costs nothing),
/// failing after a generous deadline.
async fn login_again_after_the_window(app: &App, address: &str, email: &str) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let answer = app.send(login_from(address, email, PASSWORD)).await;
        if answer.status == StatusCode::OK {
            return;
        }
        assert_eq!(answer.status, StatusCode::TOO_MANY_REQUESTS, "{:?}", answer.body);
        assert!(std::time::Instant::now() < deadline, "the login was still refused after the window");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

test_both_dbs!(repeated_login_failures_on_one_account_get_429_then_the_right_answer_after_the_window, |db| async move {
    // 3 attempts at once, then one more every 8 s (long enough that the attempts' own
    // hashing, slow on a loaded machine, never earns one back); addresses are not limited.
    let app = App::with_config(db, |c| {
        c.login_limit_account = "3/8".parse().unwrap();
        c.login_limit_address = "1000/1".parse().unwrap();
    });
    user_with_password(&app, "ana@example.org").await;
    for i in 0..3 {
        let answer = app.send(login_from(&format!("198.51.100.{i}"), "ana@example.org", "wrong password")).await;
        assert_eq!(answer.code(), "invalid_credentials", "attempt {i}");
    }
    // From yet another address, with the right password and another spelling: still 429.
    let refused = app.send(login_from("203.0.113.9", "ANA@example.org ", PASSWORD)).await;
    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS, "{:?}", refused.body);
    assert_eq!(refused.code(), "too_many_requests");
    let retry_after: u64 = refused.headers[header::RETRY_AFTER].to_str().unwrap().parse().unwrap();
    assert!((1..=8).contains(&retry_after), "Retry-After: {retry_after}");
    assert!(refused.body["error"]["message"].as_str().unwrap().contains("try again"));

    // An account that does not exist is throttled alike: no oracle.
    for i in 0..3 {
        let answer = app.send(login_from("198.51.100.50", "nobody@example.org", "wrong password")).await;
        assert_eq!(answer.code(), "invalid_credentials", "attempt {i}");
    }
    let unknown = app.send(login_from("198.51.100.50", "nobody@example.org", "wrong password")).await;
    assert_eq!((unknown.status, unknown.code()), (refused.status, refused.code()));
    let unknown_retry: u64 = unknown.headers[header::RETRY_AFTER].to_str().unwrap().parse().unwrap();
    assert!((1..=8).contains(&unknown_retry), "Retry-After: {unknown_retry}");

    // Other accounts are not affected; after the window the right password works again.
    user_with_password(&app, "bob@example.org").await;
    assert_eq!(app.send(login_from("203.0.113.9", "bob@example.org", PASSWORD)).await.status, StatusCode::OK);
    login_again_after_the_window(&app, "203.0.113.9", "ana@example.org").await;
    // Refused attempts were not audited as failures (no password was checked); the three
    // wrong passwords on each account were, and each account's run of refusals once (Ana's
    // went on through the polling above), naming the account and the allowance spent.
    let log = app.db().list_audit(None, None, 50).await.unwrap();
    assert_eq!(log.iter().filter(|e| e.action == "login_failed").count(), 6);
    let mut throttled: Vec<(String, String)> = log
        .iter()
        .filter(|e| e.action == "login_throttled")
        .map(|e| (e.details["email"].as_str().unwrap().to_owned(), e.details["by"].as_str().unwrap().to_owned()))
        .collect();
    throttled.sort();
    assert_eq!(throttled, [("ana@example.org".to_owned(), "account".to_owned()), ("nobody@example.org".to_owned(), "account".to_owned())]);
    app.assert_serving().await;
});

test_both_dbs!(repeated_logins_from_one_address_get_429_across_accounts_then_the_right_answer_after_the_window, |db| async move {
    let app = App::with_config(db, |c| {
        c.login_limit_account = "1000/1".parse().unwrap();
        // One more every 8 s: the four attempts' hashing never earns one back.
        c.login_limit_address = "4/8".parse().unwrap();
    });
    user_with_password(&app, "ana@example.org").await;
    for i in 0..4 {
        let answer = app.send(login_from("192.0.2.7", &format!("guess{i}@example.org"), "wrong password")).await;
        assert_eq!(answer.code(), "invalid_credentials", "attempt {i}");
    }
    let refused = app.send(login_from("192.0.2.7", "ana@example.org", PASSWORD)).await;
    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS, "{:?}", refused.body);
    assert!(refused.headers.contains_key(header::RETRY_AFTER));
    // Another address logs in to the same account at once.
    assert_eq!(app.send(login_from("192.0.2.8", "ana@example.org", PASSWORD)).await.status, StatusCode::OK);
    login_again_after_the_window(&app, "192.0.2.7", "ana@example.org").await;

    // Behind a trusted proxy, the address is the one the proxy appended to X-Forwarded-For.
    let proxied = App::with_config(app.db().clone(), |c| {
        c.trust_proxy = true;
        c.login_limit_account = "1000/1".parse().unwrap();
        c.login_limit_address = "2/60".parse().unwrap();
    });
    let via_proxy = |forwarded: &str| {
        let mut req = login_from("127.0.0.1", "ana@example.org", "wrong password");
        req.headers_mut().insert("x-forwarded-for", forwarded.parse().unwrap());
        req
    };
    for _ in 0..2 {
        assert_eq!(proxied.send(via_proxy("10.9.9.9, 198.51.100.20")).await.code(), "invalid_credentials");
    }
    // The client-supplied first entry changes nothing; the proxy's last one decides.
    assert_eq!(proxied.send(via_proxy("10.1.1.1, 198.51.100.20")).await.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(proxied.send(via_proxy("198.51.100.21")).await.code(), "invalid_credentials");
});

test_both_dbs!(password_change_attempts_count_against_the_accounts_allowance, |db| async move {
    let app = App::with_config(db, |c| c.login_limit_account = "2/60".parse().unwrap());
    user_with_password(&app, "ana@example.org").await;
    let here = login(&app, "ana@example.org", PASSWORD).await;
    let wrong = app.post("/api/me/password", &here, json!({"current_password": "a guess", "new_password": "a new secret"})).await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    let refused = app.post("/api/me/password", &here, json!({"current_password": PASSWORD, "new_password": "a new secret"})).await;
    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS, "{:?}", refused.body);
    assert_eq!(app.post("/api/auth/login", &Auth::None, json!({"email": "ana@example.org", "password": PASSWORD})).await.status, StatusCode::TOO_MANY_REQUESTS);
});

/// `GET /metrics` from `peer`, with extra headers; the status.
async fn metrics_status(app: &App, peer: &str, headers: &[(&str, &str)]) -> StatusCode {
    let mut req = request(Method::GET, "/metrics", &Auth::None, headers, None);
    req.extensions_mut().insert(axum::extract::ConnectInfo(peer.parse::<std::net::SocketAddr>().unwrap()));
    app.send(req).await.status
}

test_both_dbs!(metrics_answer_loopback_clients_only_unless_a_token_is_configured, |db| async move {
    let app = App::new(db.clone());
    assert_eq!(metrics_status(&app, "127.0.0.1:1", &[]).await, StatusCode::OK);
    assert_eq!(metrics_status(&app, "[::1]:1", &[]).await, StatusCode::OK);
    for public in ["192.0.2.10:1", "[2001:db8::1]:1", "10.0.0.5:1"] {
        assert_eq!(metrics_status(&app, public, &[]).await, StatusCode::NOT_FOUND, "{public}");
    }
    // An address that cannot be told (no socket) is not loopback.
    assert_eq!(app.get("/metrics", &Auth::None).await.status, StatusCode::NOT_FOUND);
    // A client's own X-Forwarded-For proves nothing unless the proxy is trusted…
    assert_eq!(metrics_status(&app, "192.0.2.10:1", &[("x-forwarded-for", "127.0.0.1")]).await, StatusCode::NOT_FOUND);
    // …and behind a trusted proxy (itself on loopback) the forwarded client address decides.
    let proxied = App::with_config(db.clone(), |c| c.trust_proxy = true);
    assert_eq!(metrics_status(&proxied, "127.0.0.1:1", &[("x-forwarded-for", "192.0.2.10")]).await, StatusCode::NOT_FOUND);

    // With a token: from anywhere with it, from nowhere without it (not even loopback).
    let scraped = App::with_config(db, |c| c.metrics_token = Some("a-long-scrape-secret".to_owned()));
    assert_eq!(metrics_status(&scraped, "192.0.2.10:1", &[("authorization", "Bearer a-long-scrape-secret")]).await, StatusCode::OK);
    assert_eq!(metrics_status(&scraped, "127.0.0.1:1", &[]).await, StatusCode::UNAUTHORIZED);
    assert_eq!(metrics_status(&scraped, "192.0.2.10:1", &[("authorization", "Bearer a-long-scrape-secreT")]).await, StatusCode::UNAUTHORIZED);
    assert_eq!(metrics_status(&scraped, "192.0.2.10:1", &[("authorization", "Basic a-long-scrape-secret")]).await, StatusCode::UNAUTHORIZED);
});

test_both_dbs!(tokens_are_named_listed_expiring_and_revoked_at_once, |db| async move {
    let app = App::new(db);
    user_with_password(&app, "ana@example.org").await;
    let ana = login(&app, "ana@example.org", PASSWORD).await;
    let bob = person(app.db(), "bob@example.org", false).await;

    // Bad input names the field.
    let unnamed = app.post("/api/tokens", &ana, json!({"name": "  "})).await;
    assert_eq!((unnamed.status, unnamed.body["error"]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("name")));
    for bad in ["next week", "2020-01-01T00:00:00Z"] {
        let answer = app.post("/api/tokens", &ana, json!({"name": "ci", "expires_at": bad})).await;
        assert_eq!(answer.body["error"]["field"], "expires_at", "{bad}: {:?}", answer.body);
    }
    assert_eq!(app.post("/api/tokens", &Auth::None, json!({"name": "ci"})).await.status, StatusCode::UNAUTHORIZED);

    let expires = (chrono::Utc::now() + chrono::Duration::days(30)).to_rfc3339();
    let made = app.post("/api/tokens", &ana, json!({"name": "Nightly export", "expires_at": expires})).await;
    assert_eq!(made.status, StatusCode::CREATED, "{:?}", made.body);
    let secret = made.body["token"].as_str().unwrap().to_owned();
    let id = made.body["id"].as_str().unwrap().to_owned();
    assert_eq!(made.body["name"], "Nightly export");
    assert!(made.body["expires_at"].is_string());
    let forever = app.post("/api/tokens", &ana, json!({"name": "Forever"})).await;
    assert!(forever.body["expires_at"].is_null());
    let token = Auth::Bearer(secret.clone());
    assert_eq!(app.get("/api/me", &token).await.body["email"], "ana@example.org");

    // Listed without secrets, with when it was last used and which one is asking.
    let list = app.get("/api/tokens", &token).await;
    let listed = list.body.as_array().unwrap();
    assert_eq!(listed.len(), 2);
    assert!(!list.body.to_string().contains(&secret), "a secret leaked into the list");
    assert!(listed.iter().all(|t| t.get("token").is_none() && t.get("token_hash").is_none()));
    let nightly = listed.iter().find(|t| t["id"] == id).unwrap();
    assert_eq!((nightly["name"].as_str(), nightly["current"].as_bool(), nightly["expired"].as_bool()), (Some("Nightly export"), Some(true), Some(false)));
    assert!(nightly["last_used_at"].is_string(), "{nightly}");
    assert!(listed.iter().find(|t| t["name"] == "Forever").unwrap()["last_used_at"].is_null());
    // Bob sees only his own, and cannot revoke Ana's.
    let bobs = app.get("/api/tokens", &bob.auth).await;
    assert!(bobs.body.as_array().unwrap().iter().all(|t| t["user_id"] == bob.user.id.to_string()));
    let theirs = app.call(Method::DELETE, &format!("/api/tokens/{id}"), &bob.auth, None).await;
    assert_eq!(theirs.status, StatusCode::NOT_FOUND);
    assert_eq!(app.get("/api/me", &token).await.status, StatusCode::OK);

    // Revoked: refused by the very next request (the /sync upgrade too: see the e2e tests).
    let revoked = app.call(Method::DELETE, &format!("/api/tokens/{id}"), &ana, None).await;
    assert_eq!(revoked.status, StatusCode::NO_CONTENT, "{:?}", revoked.body);
    assert_eq!(app.get("/api/me", &token).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(app.call(Method::DELETE, &format!("/api/tokens/{id}"), &ana, None).await.status, StatusCode::NOT_FOUND);
    assert_eq!(app.get("/api/tokens", &ana).await.body.as_array().unwrap().len(), 1);

    // Expired: refused as soon as its time has passed, still listed (as expired) until revoked.
    let soon = (chrono::Utc::now() + chrono::Duration::milliseconds(1500)).to_rfc3339();
    let short = app.post("/api/tokens", &ana, json!({"name": "short-lived", "expires_at": soon})).await;
    let short_auth = Auth::Bearer(short.body["token"].as_str().unwrap().to_owned());
    assert_eq!(app.get("/api/me", &short_auth).await.status, StatusCode::OK);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while app.get("/api/me", &short_auth).await.status == StatusCode::OK {
        assert!(std::time::Instant::now() < deadline, "the token still worked long after it expired");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(app.get("/api/me", &short_auth).await.status, StatusCode::UNAUTHORIZED);
    let listed = app.get("/api/tokens", &ana).await;
    let expired = listed.body.as_array().unwrap().iter().find(|t| t["name"] == "short-lived").unwrap().clone();
    assert_eq!(expired["expired"], true);

    // Every issue and revocation is in the instance's audit log, with who did it.
    let log = app.db().list_audit(None, None, 50).await.unwrap();
    let issued = log.iter().filter(|e| e.action == "token_issued" && e.details["user"] == json!(expired["user_id"])).count();
    assert_eq!(issued, 3);
    let revocation = log.iter().find(|e| e.action == "token_revoked").expect("a token_revoked entry");
    assert_eq!(revocation.target_id.as_deref(), Some(id.as_str()));
    assert_eq!(revocation.details["name"], "Nightly export");
});

test_both_dbs!(users_list_and_end_their_other_sessions_and_ended_sessions_are_refused, |db| async move {
    let app = App::new(db);
    user_with_password(&app, "ana@example.org").await;
    let laptop = login(&app, "ana@example.org", PASSWORD).await;
    let phone = login(&app, "ana@example.org", PASSWORD).await;
    let tablet = login(&app, "ana@example.org", PASSWORD).await;
    let bob = person(app.db(), "bob@example.org", false).await;

    let sessions = app.get("/api/me/sessions", &laptop).await;
    let list = sessions.body.as_array().unwrap();
    assert_eq!(list.len(), 3, "{:?}", sessions.body);
    assert_eq!(list.iter().filter(|s| s["current"] == true).count(), 1);
    assert!(list.iter().all(|s| s.get("token_hash").is_none()));
    let phone_id = app.get("/api/me/sessions", &phone).await.body.as_array().unwrap().iter().find(|s| s["current"] == true).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(app.get("/api/me/sessions", &bob.auth).await.body.as_array().unwrap().is_empty());

    // Someone else's session is not found; one's own ends and is refused at once.
    let theirs = app.call(Method::DELETE, &format!("/api/me/sessions/{phone_id}"), &bob.auth, None).await;
    assert_eq!(theirs.status, StatusCode::NOT_FOUND);
    assert_eq!(app.get("/api/me", &phone).await.status, StatusCode::OK);
    let ended = app.call(Method::DELETE, &format!("/api/me/sessions/{phone_id}"), &laptop, None).await;
    assert_eq!(ended.status, StatusCode::NO_CONTENT, "{:?}", ended.body);
    assert_eq!(app.get("/api/me", &phone).await.status, StatusCode::UNAUTHORIZED);

    // "Log out everywhere else": the tablet ends, the laptop goes on.
    let others = app.call(Method::POST, "/api/me/sessions/end-others", &laptop, None).await;
    assert_eq!(others.body["ended"], 1, "{:?}", others.body);
    assert_eq!(app.get("/api/me", &tablet).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(app.get("/api/me", &laptop).await.status, StatusCode::OK);
    assert_eq!(app.get("/api/me/sessions", &laptop).await.body.as_array().unwrap().len(), 1);

    let log = app.db().list_audit(None, None, 20).await.unwrap();
    let ended: Vec<_> = log.iter().filter(|e| e.action == "sessions_ended").collect();
    assert_eq!(ended.len(), 2, "{log:#?}");
    assert!(ended.iter().all(|e| e.actor != "anonymous"));
});
