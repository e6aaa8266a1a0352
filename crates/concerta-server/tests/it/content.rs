//! Named versions, approvals, section states, diffs and exports through the router.

use axum::http::{Method, StatusCode, header};
use concerta_content::stored::load_document;
use concerta_content::{Block, BlockType, Inline, edit_section_change};
use concerta_store::{Database, test_both_dbs};
use serde_json::{Value, json};

use crate::{App, Auth, CityFixture, person};

/// Writes `blocks` into the section document `doc_url` the way a client's edit arrives:
/// one change on top of what is stored, appended as a stored chunk.
async fn write(db: &Database, section: &Value, blocks: &[Block]) {
    let doc = section["doc_url"].as_str().unwrap().trim_start_matches("automerge:").to_owned();
    let rows = db.load_doc_rows(&doc).await.unwrap().unwrap();
    let (current, _) = load_document(rows).unwrap();
    if let Some(change) = edit_section_change(&current, None, blocks).unwrap() {
        db.append_doc_chunks("test", &[(doc, 0, change)]).await.unwrap();
    }
}

fn political_will(extra: &str) -> Vec<Block> {
    vec![
        Block::heading(2, "Compromisos"),
        Block::new(
            BlockType::Paragraph,
            vec![Inline::plain("La ciudad asume la acción internacional como "), Inline::strong("política de Estado"), Inline::plain(extra)],
        ),
        Block::bullet(0, vec![Inline::plain("Plan de desarrollo")]),
    ]
}

async fn put(app: &App, uri: &str, auth: &Auth, body: Value) -> crate::Answer {
    app.call(Method::PUT, uri, auth, Some(body)).await
}

/// A GET whose answer is not JSON: status, headers, body text.
async fn raw_get(app: &App, uri: &str, auth: &Auth) -> (StatusCode, axum::http::HeaderMap, String) {
    let req = axum::http::Request::builder().method(Method::GET).uri(uri);
    let req = match auth {
        Auth::Bearer(t) => req.header(header::AUTHORIZATION, format!("Bearer {t}")),
        _ => req,
    };
    let response = tower::ServiceExt::oneshot(concerta_server::router(app.state.clone()), req.body(axum::body::Body::empty()).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
    (status, headers, String::from_utf8(bytes.to_vec()).unwrap())
}

test_both_dbs!(versions_approvals_diffs_and_exports, |db| async move {
    let app = App::new(db);
    let c = CityFixture::new(app.db(), "quito").await;
    let strategy = app.post(&c.url("/strategies"), &c.coordinator.auth, json!({"title": "Estrategia 2030", "template": "seed"})).await;
    assert_eq!(strategy.status, StatusCode::CREATED);
    assert_eq!(strategy.body["approved_version"], Value::Null);
    let sections = strategy.body["sections"].as_array().unwrap().clone();
    assert_eq!(sections[0]["state"], "not_started");
    assert_eq!(sections[0]["changed_since_approved"], Value::Null);
    let sid = strategy.body["id"].as_str().unwrap().to_owned();
    let (first, second) = (&sections[0], &sections[1]);
    let first_id = first["id"].as_str().unwrap().to_owned();

    write(app.db(), first, &political_will(".")).await;

    // Naming a version: coordinators only; it records every section's stored heads.
    for (who, auth) in [("editor", &c.editor.auth), ("observer", &c.observer.auth), ("stakeholder", &c.stakeholder.auth)] {
        let refused = app.post(&format!("/api/strategies/{sid}/versions"), auth, json!({"name": "x"})).await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "{who}");
    }
    let admin = person(app.db(), "admin@network.example", true).await;
    let refused = app.post(&format!("/api/strategies/{sid}/versions"), &admin.auth, json!({"name": "x"})).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "a network admin does not speak for the city");
    let bad = app.post(&format!("/api/strategies/{sid}/versions"), &c.coordinator.auth, json!({"name": "  "})).await;
    assert_eq!((bad.status, bad.body["error"]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("name")));
    let bad = app.post(&format!("/api/strategies/{sid}/versions"), &c.coordinator.auth, json!({})).await;
    assert_eq!((bad.status, bad.body["error"]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("name")));

    let v1 = app.post(&format!("/api/strategies/{sid}/versions"), &c.coordinator.auth, json!({"name": "Borrador para la mesa"})).await;
    assert_eq!(v1.status, StatusCode::CREATED, "{:?}", v1.body);
    let v1_id = v1.body["id"].as_str().unwrap().to_owned();
    assert_eq!(v1.body["strategy_id"], sid.as_str());
    assert_eq!(v1.body["name"], "Borrador para la mesa");
    assert_eq!(v1.body["created_by"]["id"], c.coordinator.user.id.to_string());
    assert_eq!(v1.body["approved_at"], Value::Null);
    assert_eq!(v1.body["approved_by"], Value::Null);
    let recorded = v1.body["sections"].as_array().unwrap();
    assert_eq!(recorded.len(), sections.len());
    assert_eq!(recorded[0]["section_id"], first["id"]);
    assert_eq!(recorded[0]["doc_url"], first["doc_url"]);
    // The heads are the stored document's heads.
    let doc = first["doc_url"].as_str().unwrap().trim_start_matches("automerge:");
    let (_, stored) = load_document(app.db().load_doc_rows(doc).await.unwrap().unwrap()).unwrap();
    let want: Vec<String> = stored.iter().map(|h| h.to_string()).collect();
    assert_eq!(recorded[0]["heads"], json!(want));
    let dup = app.post(&format!("/api/strategies/{sid}/versions"), &c.coordinator.auth, json!({"name": "Borrador para la mesa"})).await;
    assert_eq!((dup.status, dup.body["error"]["field"].as_str()), (StatusCode::CONFLICT, Some("name")));

    // The text changes after the version.
    write(app.db(), first, &political_will(" y de ciudad.")).await;

    // The diff since the version shows the new words; an untouched section shows none.
    let diff = app.get(&format!("/api/sections/{first_id}/diff?since={v1_id}"), &c.observer.auth).await;
    assert_eq!(diff.status, StatusCode::OK, "{:?}", diff.body);
    assert_eq!(diff.body["changed"], true);
    // Words are runs between spaces (punctuation stays with its word).
    assert_eq!(
        diff.body["ops"],
        json!([
            {"op": "equal", "text": "Compromisos\nLa ciudad asume la acción internacional como política de "},
            {"op": "delete", "text": "Estado."},
            {"op": "insert", "text": "Estado y de ciudad."},
            {"op": "equal", "text": "\nPlan de desarrollo"},
        ])
    );
    let untouched = app.get(&format!("/api/sections/{}/diff?since={v1_id}", second["id"].as_str().unwrap()), &c.editor.auth).await;
    assert_eq!(untouched.body, json!({"changed": false, "ops": []}));
    for (uri, field) in [
        (format!("/api/sections/{first_id}/diff"), "since"),
        (format!("/api/sections/{first_id}/diff?since=nope"), "since"),
        (format!("/api/sections/{first_id}/diff?since={}", uuid::Uuid::new_v4()), "since"),
    ] {
        let bad = app.get(&uri, &c.coordinator.auth).await;
        assert_eq!((bad.status, bad.body["error"]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some(field)), "{uri}");
    }
    assert_eq!(app.get(&format!("/api/sections/{first_id}/diff?since={v1_id}"), &c.stakeholder.auth).await.status, StatusCode::FORBIDDEN);

    // Approval: coordinators only; the outline then says which sections changed since.
    assert_eq!(app.post(&format!("/api/versions/{v1_id}/approve"), &c.editor.auth, json!({})).await.status, StatusCode::FORBIDDEN);
    assert_eq!(app.post(&format!("/api/versions/{v1_id}/approve"), &admin.auth, json!({})).await.status, StatusCode::FORBIDDEN);
    let approved = app.post(&format!("/api/versions/{v1_id}/approve"), &c.coordinator.auth, json!({})).await;
    assert_eq!(approved.status, StatusCode::OK, "{:?}", approved.body);
    assert!(approved.body["approved_at"].is_string());
    assert_eq!(approved.body["approved_by"]["id"], c.coordinator.user.id.to_string());
    let again = app.post(&format!("/api/versions/{v1_id}/approve"), &c.coordinator.auth, json!({})).await;
    assert_eq!(again.body["approved_at"], approved.body["approved_at"], "approving twice changes nothing");
    let outline = app.get(&format!("/api/strategies/{sid}"), &c.observer.auth).await;
    assert_eq!(outline.body["approved_version"]["id"], v1_id.as_str());
    assert_eq!(outline.body["sections"][0]["changed_since_approved"], true);
    assert_eq!(outline.body["sections"][1]["changed_since_approved"], false);
    let listed = app.get(&c.url("/strategies"), &c.editor.auth).await;
    assert_eq!(listed.body[0]["approved_version"]["id"], v1_id.as_str());
    assert_eq!(listed.body[0]["sections"][0]["changed_since_approved"], true);

    // Back to the approved words: new heads, same content, so not changed.
    write(app.db(), first, &political_will(".")).await;
    let outline = app.get(&format!("/api/strategies/{sid}"), &c.coordinator.auth).await;
    assert_eq!(outline.body["sections"][0]["changed_since_approved"], false);
    write(app.db(), first, &political_will(" y de ciudad.")).await;

    // A second version, newest first in the list; GET one by id.
    let v2 = app.post(&format!("/api/strategies/{sid}/versions"), &c.coordinator.auth, json!({"name": "Aprobada por el Alcalde"})).await;
    let v2_id = v2.body["id"].as_str().unwrap().to_owned();
    let list = app.get(&format!("/api/strategies/{sid}/versions"), &c.observer.auth).await;
    let ids: Vec<_> = list.body.as_array().unwrap().iter().map(|v| v["id"].as_str().unwrap().to_owned()).collect();
    assert_eq!(ids, vec![v2_id.clone(), v1_id.clone()]);
    let got = app.get(&format!("/api/versions/{v1_id}"), &c.editor.auth).await;
    assert_eq!(got.body, approved.body);
    assert_eq!(app.get(&format!("/api/versions/{}", uuid::Uuid::new_v4()), &c.editor.auth).await.status, StatusCode::NOT_FOUND);
    assert_eq!(app.get(&format!("/api/versions/{v1_id}"), &c.stakeholder.auth).await.status, StatusCode::FORBIDDEN);

    // Exports: the current text, or a version's.
    let (status, headers, md) = raw_get(&app, &format!("/api/strategies/{sid}/export?format=md"), &c.observer.auth).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CONTENT_TYPE], "text/markdown; charset=utf-8");
    assert_eq!(headers[header::CONTENT_DISPOSITION], "attachment; filename=\"estrategia-2030.md\"");
    assert!(md.starts_with("# Estrategia 2030\n"), "{md}");
    assert!(md.contains("como **política de Estado** y de ciudad."), "{md}");
    assert!(md.contains("- Plan de desarrollo"));
    assert!(md.contains(&format!("### {}", first["title"].as_str().unwrap())));
    let (status, headers, html) =
        raw_get(&app, &format!("/api/strategies/{sid}/export?format=html&version={v1_id}"), &c.editor.auth).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CONTENT_TYPE], "text/html; charset=utf-8");
    assert_eq!(
        headers[header::CONTENT_DISPOSITION],
        "inline; filename=\"estrategia-2030-borrador-para-la-mesa.html\""
    );
    assert!(headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap().contains("style-src 'sha256-"));
    assert!(html.contains("como <strong>política de Estado</strong>.</p>"), "the version's words: {html}");
    assert!(!html.contains("y de ciudad"), "not the later words");
    assert!(html.contains("Borrador para la mesa"));
    for (uri, field) in [
        (format!("/api/strategies/{sid}/export"), "format"),
        (format!("/api/strategies/{sid}/export?format=pdf"), "format"),
        (format!("/api/strategies/{sid}/export?format=md&version=zzz"), "version"),
        (format!("/api/strategies/{sid}/export?format=md&version={}", uuid::Uuid::new_v4()), "version"),
    ] {
        let bad = app.get(&uri, &c.coordinator.auth).await;
        assert_eq!((bad.status, bad.body["error"]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some(field)), "{uri}");
    }
    assert_eq!(app.get(&format!("/api/strategies/{sid}/export?format=md"), &c.stakeholder.auth).await.status, StatusCode::FORBIDDEN);
    assert_eq!(app.get(&format!("/api/strategies/{sid}/export?format=md"), &admin.auth).await.status, StatusCode::FORBIDDEN);
    app.assert_serving().await;
});

test_both_dbs!(section_states_by_area, |db| async move {
    let app = App::new(db);
    let c = CityFixture::new(app.db(), "lima").await;
    let strategy = app.post(&c.url("/strategies"), &c.coordinator.auth, json!({"title": "E", "template": "seed"})).await;
    let section = strategy.body["sections"][0]["id"].as_str().unwrap().to_owned();
    let uri = format!("/api/sections/{section}/state");

    // Without an area, only the coordinator.
    assert_eq!(put(&app, &uri, &c.editor.auth, json!({"state": "drafting"})).await.status, StatusCode::FORBIDDEN);
    let set = put(&app, &uri, &c.coordinator.auth, json!({"state": "drafting"})).await;
    assert_eq!(set.status, StatusCode::OK, "{:?}", set.body);
    assert_eq!(set.body["state"], "drafting");
    assert_eq!(set.body["changed_since_approved"], Value::Null);

    // The editor of the section's area may; of another area, an observer or a stakeholder not.
    put(&app, &format!("/api/sections/{section}/area"), &c.coordinator.auth, json!({"area_id": c.areas[0].id})).await;
    let by_editor = put(&app, &uri, &c.editor.auth, json!({"state": "in_review"})).await;
    assert_eq!(by_editor.status, StatusCode::OK);
    assert_eq!(by_editor.body["state"], "in_review");
    for auth in [&c.observer.auth, &c.stakeholder.auth] {
        assert_eq!(put(&app, &uri, auth, json!({"state": "ready"})).await.status, StatusCode::FORBIDDEN);
    }
    put(&app, &format!("/api/sections/{section}/area"), &c.coordinator.auth, json!({"area_id": c.areas[1].id})).await;
    assert_eq!(put(&app, &uri, &c.editor.auth, json!({"state": "ready"})).await.status, StatusCode::FORBIDDEN);

    for body in [json!({"state": "done"}), json!({}), json!({"state": 3})] {
        let bad = put(&app, &uri, &c.coordinator.auth, body.clone()).await;
        assert_eq!((bad.status, bad.body["error"]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("state")), "{body}");
    }
    let outline = app.get(&format!("/api/strategies/{}", strategy.body["id"].as_str().unwrap()), &c.observer.auth).await;
    assert_eq!(outline.body["sections"][0]["state"], "in_review");
    assert_eq!(outline.body["sections"][1]["state"], "not_started");
    assert_eq!(put(&app, &format!("/api/sections/{}/state", uuid::Uuid::new_v4()), &c.coordinator.auth, json!({"state": "ready"})).await.status, StatusCode::NOT_FOUND);
});

test_both_dbs!(the_demo_strategy_has_rich_text_versions_and_later_changes, |db| async move {
    let app = App::new(db);
    assert!(matches!(concerta_server::demo::load(app.db()).await.unwrap(), concerta_server::demo::Loaded::Created { .. }));
    let ori = app.db().get_user_by_email("ori@demo.concerta").await.unwrap().unwrap();
    let token = concerta_server::auth::issue_api_token(app.db(), &ori).await.unwrap();
    let auth = Auth::Bearer(token);
    let city = app.db().list_cities().await.unwrap().into_iter().find(|c| c.slug == "demo").unwrap();
    let strategies = app.get(&format!("/api/cities/{}/strategies", city.id), &auth).await;
    let strategy = &strategies.body[0];
    assert_eq!(strategy["approved_version"]["name"], "Aprobada por el Alcalde");
    assert!(strategy["approved_version"]["approved_by"]["id"].is_string());
    let sections = strategy["sections"].as_array().unwrap();
    let by_key = |key: &str| sections.iter().find(|s| s["key"] == key).unwrap().clone();
    assert_eq!(by_key("political_will")["changed_since_approved"], true);
    assert_eq!(by_key("budget_share")["changed_since_approved"], true);
    assert_eq!(by_key("actor_map")["changed_since_approved"], false, "changed before the approval only");
    assert_eq!(by_key("political_will")["state"], "in_review");
    let sid = strategy["id"].as_str().unwrap();
    let versions = app.get(&format!("/api/strategies/{sid}/versions"), &auth).await;
    let names: Vec<_> = versions.body.as_array().unwrap().iter().map(|v| v["name"].as_str().unwrap().to_owned()).collect();
    assert_eq!(names, ["Aprobada por el Alcalde", "Primer borrador de la ORI"]);

    let approved = strategy["approved_version"]["id"].as_str().unwrap();
    let diff = app.get(&format!("/api/sections/{}/diff?since={approved}", by_key("political_will")["id"].as_str().unwrap()), &auth).await;
    assert_eq!(diff.body["changed"], true);
    assert!(diff.body["ops"].as_array().unwrap().iter().any(|o| o["op"] == "insert" && o["text"].as_str().unwrap().contains("Concejo")));
    let first = versions.body[1]["id"].as_str().unwrap();
    let diff = app.get(&format!("/api/sections/{}/diff?since={first}", by_key("actor_map")["id"].as_str().unwrap()), &auth).await;
    assert!(diff.body["ops"].as_array().unwrap().iter().any(|o| o["op"] == "insert" && o["text"].as_str().unwrap().contains("multi-actor")));

    let (status, _, md) = raw_get(&app, &format!("/api/strategies/{sid}/export?format=md"), &auth).await;
    assert_eq!(status, StatusCode::OK);
    assert!(md.contains("La **voluntad política** es el primer factor de apoyo"), "{md}");
    assert!(md.contains("#### Coordinación interna"));
    assert!(md.contains("- Áreas de gobierno: Desarrollo Económico, Cultura, Ambiente.\n  - Generación de empatías"), "{md}");
    assert!(md.contains("1. Atraer cooperación técnica"));
    assert!(md.contains("*Área responsable: Relaciones Internacionales*"));
    let (_, _, html) = raw_get(&app, &format!("/api/strategies/{sid}/export?format=html&version={approved}"), &auth).await;
    assert!(html.contains("Aprobada por el Alcalde"));
    assert!(!html.contains("0,5 %"), "a later draft is not in the approved version");
    assert!(html.contains("<h2>Evaluación</h2>"));
    assert_eq!(concerta_server::demo::load(app.db()).await.unwrap(), concerta_server::demo::Loaded::AlreadyThere);
});
