//! The web app's server side: first-run setup, the instance facts the login page reads, and
//! the fallback that serves the app for client routes while unknown API paths stay JSON.

use axum::http::{Method, StatusCode, header};
use concerta_store::test_both_dbs;
use serde_json::json;

use crate::{App, Auth};

test_both_dbs!(first_run_setup_makes_one_administrator_with_the_logged_token, |db| async move {
    let app = App::new(db);
    let instance = app.get("/api/instance", &Auth::None).await;
    assert_eq!(instance.status, StatusCode::OK);
    assert_eq!(instance.body["setup_needed"], json!(true));
    assert_eq!(instance.body["setup_token_armed"], json!(false), "nothing armed yet");
    assert!(instance.body.get("demo_accounts").is_none(), "no demo accounts without --demo");

    let body = |token: &str| json!({"token": token, "email": "ada@example.org", "name": "Ada", "password": "correct horse"});
    // Not armed: no token works.
    let refused = app.post("/api/setup", &Auth::None, body("guess")).await;
    assert_eq!((refused.status, refused.body["error"]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("token")));

    let token = app.state.instance.arm_setup();
    assert_eq!(app.get("/api/instance", &Auth::None).await.body["setup_token_armed"], json!(true));
    let wrong = app.post("/api/setup", &Auth::None, body("wrong")).await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    let short = app
        .post("/api/setup", &Auth::None, json!({"token": token, "email": "ada@example.org", "name": "Ada", "password": "short"}))
        .await;
    assert_eq!((short.status, short.body["error"]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("password")));

    let done = app.post("/api/setup", &Auth::None, body(&token)).await;
    assert_eq!(done.status, StatusCode::CREATED, "{:?}", done.body);
    assert_eq!(done.body["network_admin"], json!(true));
    let cookie = done.headers.get(header::SET_COOKIE).expect("a session cookie").to_str().unwrap();
    let session = cookie.split(';').next().unwrap().to_owned();
    let me = app.get("/api/me", &Auth::Cookie(session)).await;
    assert_eq!((me.status, me.body["email"].as_str()), (StatusCode::OK, Some("ada@example.org")));

    // Spent, and setup is over for good: even a newly armed token cannot make a second admin.
    assert_eq!(app.get("/api/instance", &Auth::None).await.body["setup_needed"], json!(false));
    let again = app.post("/api/setup", &Auth::None, body(&token)).await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    let rearmed = app.state.instance.arm_setup();
    let again = app.post("/api/setup", &Auth::None, body(&rearmed)).await;
    assert_eq!(again.status, StatusCode::CONFLICT);
});

test_both_dbs!(demo_accounts_show_only_when_asked, |db| async move {
    let app = App::new(db);
    app.state.instance.show_demo_accounts();
    let instance = app.get("/api/instance", &Auth::None).await;
    let accounts = instance.body["demo_accounts"].as_array().expect("demo accounts");
    assert!(accounts.iter().any(|a| a["email"] == "ori@demo.concerta" && a["role"] == "coordinator"));
    assert!(accounts.iter().all(|a| a["password"] == "concerta-demo"));
});

test_both_dbs!(client_routes_get_the_app_and_unknown_api_paths_stay_json, |db| async move {
    let app = App::new(db);
    for (method, path) in [(Method::GET, "/api/nothing"), (Method::GET, "/api"), (Method::POST, "/somewhere"), (Method::GET, "/sync/x")] {
        let answer = app.call(method.clone(), path, &Auth::None, None).await;
        assert_eq!((answer.status, answer.code()), (StatusCode::NOT_FOUND, "not_found"), "{method} {path}");
    }
    // A client route: the app (200) when the bundle is built, else the page saying how to
    // build it (503); HTML either way, never cached.
    let page = app.get("/strategies/some/sections/other", &Auth::None).await;
    let content_type = page.headers.get(header::CONTENT_TYPE).unwrap().to_str().unwrap();
    assert!(content_type.starts_with("text/html"), "{content_type}");
    assert_eq!(page.headers.get(header::CACHE_CONTROL).unwrap(), "no-cache");
    assert_eq!(page.status, if concerta_server::web::bundle_present() { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE });
    // A hashed asset that does not exist is a plain 404, not the app's HTML.
    let missing = app.get("/assets/nothing-1234.js", &Auth::None).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
});

test_both_dbs!(presence_lists_nobody_when_nobody_is_connected_and_only_to_who_may_see, |db| async move {
    let app = App::new(db.clone());
    let a = crate::CityFixture::new(&db, "rio").await;
    let b = crate::CityFixture::new(&db, "lima").await;
    let strategy = app.post(&a.url("/strategies"), &a.coordinator.auth, json!({"title": "Estratégia", "template": "seed"})).await;
    let id: String = strategy.id();
    let url = format!("/api/strategies/{id}/presence");
    for who in [&a.coordinator.auth, &a.editor.auth, &a.observer.auth] {
        let answer = app.get(&url, who).await;
        assert_eq!(answer.status, StatusCode::OK);
        assert_eq!(answer.body, json!({"sections": []}));
    }
    assert_eq!(app.get(&url, &a.stakeholder.auth).await.status, StatusCode::FORBIDDEN);
    assert_eq!(app.get(&url, &b.coordinator.auth).await.status, StatusCode::NOT_FOUND);
    assert_eq!(app.get(&url, &Auth::None).await.status, StatusCode::UNAUTHORIZED);
});
