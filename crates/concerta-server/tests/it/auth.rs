use axum::http::{Method, StatusCode, header};
use concerta_server::auth::hash_password;
use concerta_store::{NewUser, test_both_dbs};
use serde_json::json;

use crate::{App, Auth, person};

async fn user_with_password(app: &App, email: &str, password: &str) {
    let hash = hash_password(password.to_owned()).await.unwrap();
    app.db()
        .create_user(NewUser {
            email: email.to_owned(),
            name: "Ana".to_owned(),
            password_hash: Some(hash),
            network_admin: false,
        })
        .await
        .unwrap();
}

test_both_dbs!(login_sets_a_session_cookie_and_logout_ends_it, |db| async move {
    let app = App::new(db);
    user_with_password(&app, "ana@example.org", "correct horse").await;

    let login = app
        .post("/api/auth/login", &Auth::None, json!({"email": "ANA@example.org", "password": "correct horse"}))
        .await;
    assert_eq!(login.status, StatusCode::OK, "{:?}", login.body);
    assert_eq!(login.body["email"], "ana@example.org");
    let cookie = login.headers[header::SET_COOKIE].to_str().unwrap().to_owned();
    for attribute in ["HttpOnly", "SameSite=Lax", "Path=/", "Max-Age=2592000"] {
        assert!(cookie.contains(attribute), "{cookie}");
    }
    assert!(!cookie.contains("Secure"), "plain http: no Secure flag ({cookie})");
    let pair = cookie.split(';').next().unwrap().to_owned();
    assert!(pair.starts_with("concerta_session=") && pair.len() > 40);

    let me = app.get("/api/me", &Auth::Cookie(pair.clone())).await;
    assert_eq!(me.status, StatusCode::OK);
    assert_eq!(me.body["email"], "ana@example.org");
    assert_eq!(me.body["memberships"], json!([]));
    assert!(me.body.get("password_hash").is_none());

    let logout = app.call(Method::POST, "/api/auth/logout", &Auth::Cookie(pair.clone()), None).await;
    assert_eq!(logout.status, StatusCode::NO_CONTENT);
    assert!(logout.headers[header::SET_COOKIE].to_str().unwrap().contains("Max-Age=0"));
    let after = app.get("/api/me", &Auth::Cookie(pair)).await;
    assert_eq!(after.status, StatusCode::UNAUTHORIZED);
    assert_eq!(after.code(), "unauthorized");
});

test_both_dbs!(wrong_credentials_are_refused_alike, |db| async move {
    let app = App::new(db);
    user_with_password(&app, "ana@example.org", "correct horse").await;
    let wrong = app.post("/api/auth/login", &Auth::None, json!({"email": "ana@example.org", "password": "nope nope"})).await;
    let unknown = app.post("/api/auth/login", &Auth::None, json!({"email": "bob@example.org", "password": "nope nope"})).await;
    for answer in [&wrong, &unknown] {
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
        assert_eq!(answer.code(), "invalid_credentials");
        assert!(answer.headers.get(header::SET_COOKIE).is_none());
    }
    assert_eq!(wrong.body, unknown.body, "no hint whether the email exists");
    // An account invited as a member has no password and cannot log in.
    person(app.db(), "invited@example.org", false).await;
    let invited = app.post("/api/auth/login", &Auth::None, json!({"email": "invited@example.org", "password": ""})).await;
    assert_eq!(invited.status, StatusCode::UNAUTHORIZED);
    app.assert_serving().await;
});

test_both_dbs!(secure_cookie_behind_https, |db| async move {
    let app = App::with_config(db, |c| c.public_url = Some("https://concerta.example.org".to_owned()));
    user_with_password(&app, "ana@example.org", "correct horse").await;
    let login = app.post("/api/auth/login", &Auth::None, json!({"email": "ana@example.org", "password": "correct horse"})).await;
    assert!(login.headers[header::SET_COOKIE].to_str().unwrap().contains("; Secure"));
});

test_both_dbs!(bearer_tokens_authenticate_and_wrong_ones_are_401, |db| async move {
    let app = App::new(db);
    let ana = person(app.db(), "ana@example.org", false).await;
    let me = app.get("/api/me", &ana.auth).await;
    assert_eq!(me.status, StatusCode::OK);
    assert_eq!(me.body["id"], ana.user.id.to_string());

    // A token made through the API works too, and is not the same as the first.
    let made = app.call(Method::POST, "/api/me/tokens", &ana.auth, None).await;
    assert_eq!(made.status, StatusCode::CREATED);
    let token = made.body["token"].as_str().unwrap().to_owned();
    assert_eq!(app.get("/api/me", &Auth::Bearer(token.clone())).await.status, StatusCode::OK);

    for bad in [Auth::Bearer("not-a-token".to_owned()), Auth::Bearer(format!("{token}x")), Auth::None] {
        let answer = app.get("/api/me", &bad).await;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{bad:?}");
        assert_eq!(answer.code(), "unauthorized");
        assert_eq!(answer.headers[header::WWW_AUTHENTICATE], "Bearer");
    }
    // An unknown session cookie is no authentication, and a non-Bearer Authorization
    // scheme is refused.
    let stale = app
        .raw(Method::GET, "/api/me", &Auth::Cookie("concerta_session=whatever".to_owned()), None)
        .await;
    assert_eq!(stale.status, StatusCode::UNAUTHORIZED);
    let req_basic = axum::http::Request::builder()
        .uri("/api/me")
        .header(header::AUTHORIZATION, "Basic YTpi")
        .body(axum::body::Body::empty())
        .unwrap();
    let state = app.state.clone();
    let user = concerta_server::authenticate(&state, req_basic.headers(), None).await;
    assert!(matches!(user, Err(concerta_server::Error::Unauthorized)));
    // The WebSocket path: `?token=` authenticates, a wrong one is refused.
    let empty = axum::http::HeaderMap::new();
    let found = concerta_server::authenticate(&state, &empty, Some(&token)).await.unwrap();
    assert_eq!(found.map(|u| u.id), Some(ana.user.id));
    assert!(concerta_server::authenticate(&state, &empty, Some("wrong")).await.is_err());
    assert!(concerta_server::authenticate(&state, &empty, None).await.unwrap().is_none());
    app.assert_serving().await;
});

test_both_dbs!(cli_create_user_then_login, with_url, |db, url| async move {
    use clap::Parser;
    let app = App::new(db);
    let run = |args: &[&str]| {
        let mut argv = vec!["concerta", "--database-url", url.as_str()];
        argv.extend_from_slice(args);
        concerta_server::cli::run(concerta_server::Cli::try_parse_from(argv).unwrap())
    };
    run(&["admin", "create-user", "--email", "Root@Example.org", "--name", "Root", "--password", "long enough", "--network-admin"])
        .await
        .unwrap();
    let again = run(&["admin", "create-user", "--email", "root@example.org", "--name", "R", "--password", "long enough"]).await;
    assert!(again.is_err(), "an existing account is not overwritten");
    let short = run(&["admin", "create-user", "--email", "x@example.org", "--name", "X", "--password", "short"]).await;
    assert!(short.unwrap_err().to_string().contains("password"));

    let login = app.post("/api/auth/login", &Auth::None, json!({"email": "root@example.org", "password": "long enough"})).await;
    assert_eq!(login.status, StatusCode::OK, "{:?}", login.body);
    assert_eq!(login.body["network_admin"], true);
    let cookie = login.headers[header::SET_COOKIE].to_str().unwrap().split(';').next().unwrap().to_owned();
    let city = app.post("/api/cities", &Auth::Cookie(cookie), json!({"name": "Quito", "slug": "quito"})).await;
    assert_eq!(city.status, StatusCode::CREATED);
    assert_eq!(city.body["locale"], "es", "the default locale");
});
