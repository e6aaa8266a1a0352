use axum::http::{Method, StatusCode};
use concerta_store::test_both_dbs;
use serde_json::json;

use crate::{App, person};

test_both_dbs!(bad_input_gets_the_documented_errors_and_the_server_keeps_serving, |db| async move {
    let app = App::new(db);
    let admin = person(app.db(), "admin@example.org", true).await;

    // Syntax error → 400 bad_json.
    for body in [&b"{\"name\": "[..], b"not json", b"", b"{\"name\":\"a\",\"slug\":\"ab\"} extra"] {
        let answer = app.raw(Method::POST, "/api/cities", &admin.auth, Some(("application/json", body.to_vec()))).await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{body:?}");
        assert_eq!(answer.code(), "bad_json");
        app.assert_serving().await;
    }

    // Missing or mistyped field → 422 naming it.
    for (body, field) in [
        (json!({"name": "Quito"}), "slug"),
        (json!({"slug": "quito"}), "name"),
        (json!({"name": 7, "slug": "quito"}), "name"),
        (json!({"name": "Quito", "slug": "Not A Slug"}), "slug"),
        (json!({"name": "  ", "slug": "quito"}), "name"),
        (json!({"name": "Quito", "slug": "quito", "locale": "fr"}), "locale"),
        (json!([1, 2]), "body"),
    ] {
        let answer = app.post("/api/cities", &admin.auth, body.clone()).await;
        assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert_eq!(answer.code(), "invalid_field");
        assert_eq!(answer.body["error"]["field"], field, "{body}");
        assert!(answer.body["error"]["message"].as_str().unwrap().contains(field), "{:?}", answer.body);
        app.assert_serving().await;
    }

    // Not JSON at all → 415.
    let form = app
        .raw(Method::POST, "/api/cities", &admin.auth, Some(("application/x-www-form-urlencoded", b"name=x".to_vec())))
        .await;
    assert_eq!(form.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(form.code(), "unsupported_media_type");

    // Oversized body → 413.
    let huge = format!("{{\"name\":\"{}\",\"slug\":\"big\"}}", "x".repeat(2 * 1024 * 1024));
    let answer = app.raw(Method::POST, "/api/cities", &admin.auth, Some(("application/json", huge.into_bytes()))).await;
    assert_eq!(answer.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(answer.code(), "payload_too_large");
    app.assert_serving().await;

    // Duplicate → 409 naming the field, with no SQL in it.
    let first = app.post("/api/cities", &admin.auth, json!({"name": "Quito", "slug": "quito"})).await;
    assert_eq!(first.status, StatusCode::CREATED);
    let dup = app.post("/api/cities", &admin.auth, json!({"name": "Quito 2", "slug": "quito"})).await;
    assert_eq!(dup.status, StatusCode::CONFLICT);
    assert_eq!(dup.code(), "conflict");
    assert_eq!(dup.body["error"]["field"], "slug");
    let text = dup.body.to_string().to_lowercase();
    for leak in ["unique", "constraint", "sql", "insert", "duplicate key"] {
        assert!(!text.contains(leak), "{text}");
    }

    // Unknown things → 404 JSON; wrong method → 405 JSON; malformed ids are unknown ids.
    for uri in ["/api/nothing", "/api/cities/not-a-uuid", "/api/strategies/123", &format!("/api/cities/{}", uuid::Uuid::new_v4())] {
        let answer = app.get(uri, &admin.auth).await;
        assert_eq!(answer.status, StatusCode::NOT_FOUND, "{uri}");
        assert_eq!(answer.code(), "not_found");
    }
    let wrong_method = app.call(Method::DELETE, "/api/cities", &admin.auth, None).await;
    assert_eq!(wrong_method.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(wrong_method.code(), "method_not_allowed");

    // After all that, a normal request still works.
    let list = app.get("/api/cities", &admin.auth).await;
    assert_eq!(list.status, StatusCode::OK);
    assert_eq!(list.body.as_array().unwrap().len(), 1);
});

test_both_dbs!(member_and_strategy_fields_are_checked, |db| async move {
    let app = App::new(db);
    let a = crate::CityFixture::new(app.db(), "alpha").await;
    let b = crate::CityFixture::new(app.db(), "beta").await;
    let coord = &a.coordinator.auth;
    let cases = [
        (json!({"email": "x", "name": "X", "role": "observer"}), "email"),
        (json!({"email": "x@example.org", "name": "X", "role": "boss"}), "role"),
        (json!({"email": "x@example.org", "name": "X", "role": "editor"}), "area_id"),
        (json!({"email": "x@example.org", "name": "X", "role": "editor", "area_id": "nope"}), "area_id"),
        // An area of another city is not an area of this one.
        (json!({"email": "x@example.org", "name": "X", "role": "editor", "area_id": b.areas[0].id}), "area_id"),
        (json!({"email": "x@example.org", "role": "observer"}), "name"),
    ];
    for (body, field) in cases {
        let answer = app.post(&a.url("/members"), coord, body.clone()).await;
        assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {:?}", answer.body);
        assert_eq!(answer.body["error"]["field"], field, "{body}");
    }
    assert!(app.db().get_user_by_email("x@example.org").await.unwrap().is_none(), "nothing was created");

    let actor = app.post(&a.url("/actors"), coord, json!({"name": "Uni", "sector": "university"})).await;
    assert_eq!((actor.status, actor.body["error"]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("sector")));
    let strategy = app.post(&a.url("/strategies"), coord, json!({"title": "E", "template": "fancy"})).await;
    assert_eq!(strategy.body["error"]["field"], "template");
    let dup_member = app
        .post(&a.url("/members"), coord, json!({"email": "observer@alpha.example.org", "name": "O", "role": "observer"}))
        .await;
    assert_eq!((dup_member.status, dup_member.body["error"]["field"].as_str()), (StatusCode::CONFLICT, Some("email")));
    app.assert_serving().await;
});
