//! Consultations through the real router (issue 17): opening, invitations, passage comments
//! anchored with automerge cursors through edits, threads, visibility, responses, hiding,
//! the unanswered counts, the report in every format, and the refusals (closed, not yet
//! open, outside the consultation, not invited, another city).

use axum::http::{Method, StatusCode};
use chrono::{Duration, Utc};
use concerta_content::stored::load_document;
use concerta_content::{Block, BlockType, Inline, edit_section_change};
use concerta_server::auth::issue_api_token;
use concerta_store::{Database, test_both_dbs};
use serde_json::{Value, json};

use crate::{App, Auth, CityFixture};

/// Writes `blocks` into a section's document the way a client's edit arrives.
async fn write(db: &Database, doc_url: &str, blocks: &[Block]) {
    let doc = doc_url.trim_start_matches("automerge:").to_owned();
    let rows = db.load_doc_rows(&doc).await.unwrap().unwrap();
    let (current, _) = load_document(rows).unwrap();
    if let Some(change) = edit_section_change(&current, None, blocks).unwrap() {
        db.append_doc_chunks("test", &[(doc, 0, change)]).await.unwrap();
    }
}

fn paragraph(text: &str) -> Vec<Block> {
    vec![Block::heading(2, "Compromisos"), Block::new(BlockType::Paragraph, vec![Inline::plain(text)])]
}

/// A strategy of `c` with text in its first section, assigned to the editor's area.
async fn strategy(app: &App, c: &CityFixture) -> Value {
    let s = app.post(&c.url("/strategies"), &c.coordinator.auth, json!({"title": "Estrategia 2030", "template": "seed"})).await;
    assert_eq!(s.status, StatusCode::CREATED, "{:?}", s.body);
    let first = &s.body["sections"][0];
    write(app.db(), first["doc_url"].as_str().unwrap(), &paragraph("La ciudad asume la acción internacional como política de Estado.")).await;
    let area = app
        .call(Method::PUT, &format!("/api/sections/{}/area", first["id"].as_str().unwrap()), &c.coordinator.auth, Some(json!({"area_id": c.areas[0].id})))
        .await;
    assert_eq!(area.status, StatusCode::OK, "{:?}", area.body);
    s.body
}

async fn token_for(db: &Database, email: &str) -> Auth {
    let user = db.get_user_by_email(email).await.unwrap().expect("the invitee's account");
    Auth::Bearer(issue_api_token(db, &user).await.unwrap())
}

fn days(n: i64) -> String {
    (Utc::now() + Duration::days(n)).to_rfc3339()
}

async fn raw(app: &App, uri: &str, auth: &Auth) -> (StatusCode, String) {
    let req = axum::http::Request::builder().method(Method::GET).uri(uri);
    let req = match auth {
        Auth::Bearer(t) => req.header(axum::http::header::AUTHORIZATION, format!("Bearer {t}")),
        _ => req,
    };
    let response = tower::ServiceExt::oneshot(concerta_server::router(app.state.clone()), req.body(axum::body::Body::empty()).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
    (status, String::from_utf8(bytes.to_vec()).unwrap())
}

fn field(answer: &crate::Answer) -> (StatusCode, &str) {
    (answer.status, answer.body["error"]["field"].as_str().unwrap_or(answer.code()))
}

test_both_dbs!(a_consultation_from_opening_to_report, |db| async move {
    let app = App::new(db);
    let c = CityFixture::new(app.db(), "quito").await;
    let s = strategy(&app, &c).await;
    let sections = s["sections"].as_array().unwrap();
    let (s0, s1, s2) = (sections[0]["id"].as_str().unwrap(), sections[1]["id"].as_str().unwrap(), sections[2]["id"].as_str().unwrap());
    let url = c.url("/consultations");

    // Opening: coordinators only, with clear refusals.
    let body = json!({"strategy_id": s["id"], "title": "Consulta pública", "explanation": "Queremos su opinión.", "closes_at": days(7), "section_ids": [s0, s1]});
    for who in [&c.editor.auth, &c.observer.auth, &c.stakeholder.auth] {
        assert_eq!(app.post(&url, who, body.clone()).await.status, StatusCode::FORBIDDEN);
    }
    let mut bad = body.clone();
    bad["closes_at"] = json!(days(-1));
    assert_eq!(field(&app.post(&url, &c.coordinator.auth, bad).await), (StatusCode::UNPROCESSABLE_ENTITY, "closes_at"));
    let mut bad = body.clone();
    bad["section_ids"] = json!([uuid::Uuid::now_v7().to_string()]);
    assert_eq!(field(&app.post(&url, &c.coordinator.auth, bad).await), (StatusCode::UNPROCESSABLE_ENTITY, "section_ids"));
    let mut bad = body.clone();
    bad["title"] = json!(" ");
    assert_eq!(field(&app.post(&url, &c.coordinator.auth, bad).await), (StatusCode::UNPROCESSABLE_ENTITY, "title"));
    let made = app.post(&url, &c.coordinator.auth, body).await;
    assert_eq!(made.status, StatusCode::CREATED, "{:?}", made.body);
    assert_eq!(made.body["status"], "open");
    assert_eq!(made.body["sections"].as_array().unwrap().len(), 2);
    let id = made.body["id"].as_str().unwrap().to_owned();
    let curl = |rest: &str| format!("/api/consultations/{id}{rest}");

    // Invitations: a new address and an actor of the registry; both become stakeholders.
    let actor = app
        .post(&c.url("/actors"), &c.coordinator.auth, json!({"name": "Cámara de Comercio", "sector": "business", "email": "info@camara.example"}))
        .await;
    assert_eq!(actor.status, StatusCode::CREATED, "{:?}", actor.body);
    let invited = app
        .post(
            &curl("/invitations"),
            &c.coordinator.auth,
            json!({"invitees": [
                {"email": "Ana@Uni.example", "name": "Ana", "organization": "Universidad Central", "sector": "academia"},
                {"actor_id": actor.body["id"]},
            ]}),
        )
        .await;
    assert_eq!(invited.status, StatusCode::CREATED, "{:?}", invited.body);
    let list = invited.body["invitations"].as_array().unwrap();
    assert_eq!(list[0]["email"], "ana@uni.example");
    assert_eq!(list[1]["organization"], "Cámara de Comercio");
    assert_eq!(list[1]["sector"], "business");
    assert_eq!(list[1]["needs_password"], true);
    let bad = app.post(&curl("/invitations"), &c.coordinator.auth, json!({"invitees": [{"email": "x@y.example", "organization": "X"}]})).await;
    assert_eq!(field(&bad), (StatusCode::UNPROCESSABLE_ENTITY, "invitees[0].sector"));
    assert_eq!(app.post(&curl("/invitations"), &c.stakeholder.auth, json!({"invitees": []})).await.status, StatusCode::FORBIDDEN);
    let members = app.get(&c.url("/members"), &c.coordinator.auth).await;
    let ana = members.body.as_array().unwrap().iter().find(|m| m["email"] == "ana@uni.example").expect("Ana is a member").clone();
    assert_eq!(ana["role"], "stakeholder");
    let ana = token_for(app.db(), "ana@uni.example").await;
    let camara = token_for(app.db(), "info@camara.example").await;

    // What an invitee sees; a stakeholder who was not invited is told so.
    let seen = app.get(&curl(""), &ana).await;
    assert_eq!(seen.status, StatusCode::OK);
    assert_eq!(seen.body["invitation"]["organization"], "Universidad Central");
    assert_eq!(seen.body["may_comment"], true);
    assert_eq!(seen.body["sections"][0].get("doc_url"), None, "no licence to the live document");
    let text = app.get(&curl(&format!("/sections/{s0}")), &ana).await;
    assert_eq!(text.status, StatusCode::OK, "{:?}", text.body);
    assert!(text.body["text"].as_str().unwrap().contains("acción internacional"));
    assert_eq!(app.get(&curl(&format!("/sections/{s2}")), &ana).await.status, StatusCode::NOT_FOUND);
    let refused = app.get(&curl(""), &c.stakeholder.auth).await;
    assert_eq!((refused.status, refused.code()), (StatusCode::FORBIDDEN, "not_invited"));
    let listed = app.get(&url, &c.stakeholder.auth).await;
    assert_eq!(listed.body, json!([]));
    assert_eq!(app.get(&url, &ana).await.body.as_array().unwrap().len(), 1);

    // Comments: a passage anchored by its quote; refusals.
    let comment = |auth: &Auth, body: Value| {
        let uri = curl("/comments");
        let auth = auth.clone();
        let app = &app;
        async move { app.post(&uri, &auth, body).await }
    };
    let on_passage = comment(
        &ana,
        json!({"section_id": s0, "body": "Precisen qué significa.", "anchor": {"quote": "acción internacional como"}, "suggestion": "acción internacional sostenida como"}),
    )
    .await;
    assert_eq!(on_passage.status, StatusCode::CREATED, "{:?}", on_passage.body);
    assert_eq!(on_passage.body["organization"], "Universidad Central");
    assert_eq!(on_passage.body["sector"], "academia");
    assert_eq!(on_passage.body["anchor"]["text"], "acción internacional como");
    assert_eq!(on_passage.body["anchor"]["removed"], false);
    let passage_id = on_passage.body["id"].as_str().unwrap().to_owned();
    let refused = comment(&c.stakeholder.auth, json!({"section_id": s0, "body": "Hola"})).await;
    assert_eq!((refused.status, refused.code()), (StatusCode::FORBIDDEN, "not_invited"));
    assert_eq!(comment(&c.observer.auth, json!({"section_id": s0, "body": "Hola"})).await.status, StatusCode::FORBIDDEN);
    assert_eq!(field(&comment(&ana, json!({"section_id": s2, "body": "Fuera"})).await), (StatusCode::UNPROCESSABLE_ENTITY, "section_id"));
    assert_eq!(field(&comment(&ana, json!({"section_id": s0, "body": "  "})).await), (StatusCode::UNPROCESSABLE_ENTITY, "body"));
    assert_eq!(field(&comment(&ana, json!({"section_id": s0, "body": "x".repeat(5001)})).await), (StatusCode::UNPROCESSABLE_ENTITY, "body"));
    assert_eq!(field(&comment(&ana, json!({"body": "¿Dónde?"})).await), (StatusCode::UNPROCESSABLE_ENTITY, "section_id"));
    let missing = comment(&ana, json!({"section_id": s0, "body": "x", "anchor": {"quote": "no está en el texto"}})).await;
    assert_eq!(field(&missing), (StatusCode::UNPROCESSABLE_ENTITY, "anchor.quote"));
    let bad_cursor = comment(&ana, json!({"section_id": s0, "body": "x", "anchor": {"quote": "La", "start": "nope", "end": "nope"}})).await;
    assert_eq!(field(&bad_cursor), (StatusCode::UNPROCESSABLE_ENTITY, "anchor.start"));
    let no_anchor = comment(&ana, json!({"section_id": s0, "body": "x", "suggestion": "y"})).await;
    assert_eq!(field(&no_anchor), (StatusCode::UNPROCESSABLE_ENTITY, "suggestion"));
    let whole = comment(&camara, json!({"section_id": s1, "body": "=HYPERLINK(\"http://evil.example\")"})).await;
    assert_eq!(whole.status, StatusCode::CREATED);
    let whole_id = whole.body["id"].as_str().unwrap().to_owned();
    let abusive = comment(&camara, json!({"section_id": s0, "body": "<script>alert('x')</script> insultos"})).await;
    let abusive_id = abusive.body["id"].as_str().unwrap().to_owned();

    // The editor edits around and inside the passage: the comment stays on its words.
    let doc_url = sections[0]["doc_url"].as_str().unwrap();
    write(app.db(), doc_url, &paragraph("Hoy la ciudad asume la acción pública internacional como política de Estado.")).await;
    let listed = app.get(&curl(&format!("/comments?section_id={s0}")), &c.editor.auth).await;
    let anchored = listed.body.as_array().unwrap().iter().find(|m| m["id"] == passage_id.as_str()).unwrap().clone();
    assert_eq!(anchored["anchor"]["text"], "acción pública internacional como");
    assert_eq!(anchored["anchor"]["quote"], "acción internacional como");

    // A reply from the city in the thread.
    let reply = comment(&c.editor.auth, json!({"parent_id": passage_id, "body": "Gracias, lo revisamos."})).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
    assert_eq!(reply.body["by_city"], true);
    assert_eq!(reply.body["section_id"], s0);
    let nested = comment(&ana, json!({"parent_id": reply.body["id"], "body": "ok"})).await;
    assert_eq!(field(&nested), (StatusCode::UNPROCESSABLE_ENTITY, "parent_id"));

    // Hiding: coordinators, with a reason; others see it as hidden, without its words.
    assert_eq!(app.post(&format!("/api/comments/{abusive_id}/hide"), &c.editor.auth, json!({"reason": "x"})).await.status, StatusCode::FORBIDDEN);
    assert_eq!(field(&app.post(&format!("/api/comments/{abusive_id}/hide"), &c.coordinator.auth, json!({"reason": ""})).await), (StatusCode::UNPROCESSABLE_ENTITY, "reason"));
    let hidden = app.post(&format!("/api/comments/{abusive_id}/hide"), &c.coordinator.auth, json!({"reason": "Lenguaje ofensivo"})).await;
    assert_eq!(hidden.status, StatusCode::OK, "{:?}", hidden.body);
    let by_ana = app.get(&curl("/comments"), &ana).await;
    let seen = by_ana.body.as_array().unwrap().iter().find(|m| m["id"] == abusive_id.as_str()).unwrap().clone();
    assert_eq!((seen["body"].as_str(), seen["hidden"]["reason"].as_str()), (Some(""), Some("Lenguaje ofensivo")));
    let by_author = app.get(&curl("/comments"), &camara).await;
    let own = by_author.body.as_array().unwrap().iter().find(|m| m["id"] == abusive_id.as_str()).unwrap().clone();
    assert!(own["body"].as_str().unwrap().contains("insultos"));
    assert_eq!(own["mine"], true);
    assert_eq!(by_ana.body.as_array().unwrap().len(), 4, "own, the others' and the city's reply");

    // Unanswered, per section and per area.
    let open = app.get(&curl("/unanswered"), &c.coordinator.auth).await;
    assert_eq!(open.status, StatusCode::OK, "{:?}", open.body);
    assert_eq!((open.body["comments"].as_u64(), open.body["unanswered"].as_u64()), (Some(2), Some(2)));
    let area = open.body["by_area"].as_array().unwrap().iter().find(|a| a["area_id"] == json!(c.areas[0].id)).unwrap().clone();
    assert_eq!((area["name"].as_str(), area["unanswered"].as_u64()), (Some("Culture"), Some(1)));
    assert_eq!(app.get(&curl("/unanswered"), &ana).await.status, StatusCode::FORBIDDEN);

    // Responses: coordinators and the section's editors; audited.
    let respond = |auth: &Auth, comment: &str, body: Value| {
        let uri = format!("/api/comments/{comment}/response");
        let auth = auth.clone();
        let app = &app;
        async move { app.post(&uri, &auth, body).await }
    };
    let answer = json!({"decision": "partly", "reason": "Lo precisamos en parte."});
    assert_eq!(respond(&ana, &passage_id, answer.clone()).await.status, StatusCode::FORBIDDEN);
    assert_eq!(respond(&c.editor.auth, &whole_id, answer.clone()).await.status, StatusCode::FORBIDDEN, "another area's section");
    assert_eq!(field(&respond(&c.editor.auth, &passage_id, json!({"decision": "maybe", "reason": "x"})).await), (StatusCode::UNPROCESSABLE_ENTITY, "decision"));
    assert_eq!(field(&respond(&c.editor.auth, &passage_id, json!({"decision": "noted", "reason": " "})).await), (StatusCode::UNPROCESSABLE_ENTITY, "reason"));
    assert_eq!(field(&respond(&c.editor.auth, reply.body["id"].as_str().unwrap(), answer.clone()).await), (StatusCode::UNPROCESSABLE_ENTITY, "comment"));
    let answered = respond(&c.editor.auth, &passage_id, answer).await;
    assert_eq!(answered.status, StatusCode::OK, "{:?}", answered.body);
    assert_eq!(answered.body["response"]["decision"], "partly");
    let answered = respond(&c.coordinator.auth, &whole_id, json!({"decision": "rejected", "reason": "Fuera de alcance."})).await;
    assert_eq!(answered.status, StatusCode::OK);
    let seen = app.get(&curl("/comments"), &ana).await;
    let mine = seen.body.as_array().unwrap().iter().find(|m| m["id"] == passage_id.as_str()).unwrap().clone();
    assert_eq!(mine["response"]["reason"], "Lo precisamos en parte.");
    let open = app.get(&curl("/unanswered"), &c.coordinator.auth).await;
    assert_eq!(open.body["unanswered"], 0);
    let audit = app.get(&c.url("/audit"), &c.coordinator.auth).await;
    let actions: Vec<&str> = audit.body.as_array().unwrap().iter().filter_map(|e| e["action"].as_str()).collect();
    for want in ["consultation_opened", "stakeholders_invited", "comment_answered", "comment_hidden"] {
        assert!(actions.contains(&want), "{want} in {actions:?}");
    }

    // The passage deleted: the comment keeps its quote and reads "removed".
    write(app.db(), doc_url, &paragraph("Hoy la ciudad asume la política de Estado.")).await;
    let listed = app.get(&curl("/comments"), &c.coordinator.auth).await;
    let anchored = listed.body.as_array().unwrap().iter().find(|m| m["id"] == passage_id.as_str()).unwrap().clone();
    assert_eq!(anchored["anchor"]["removed"], true, "{anchored:?}");
    assert_eq!(anchored["anchor"]["quote"], "acción internacional como");

    // The report: staff any time; stakeholders once it closed. Figures add up.
    let early = app.get(&curl("/report?format=json"), &ana).await;
    assert_eq!((early.status, early.code()), (StatusCode::FORBIDDEN, "report_not_published"));
    let report = app.get(&curl("/report?format=json&lang=en"), &c.coordinator.auth).await;
    assert_eq!(report.status, StatusCode::OK, "{:?}", report.body);
    let figures = &report.body["figures"];
    let total = figures["comments"].as_u64().unwrap();
    assert_eq!(total, 3);
    for table in ["by_sector", "by_section", "by_decision"] {
        let sum: u64 = figures[table].as_array().unwrap().iter().map(|c| c["count"].as_u64().unwrap()).sum();
        assert_eq!(sum, total, "{table}: {:?}", figures[table]);
    }
    assert_eq!(figures["invited"], 2);
    assert_eq!(report.body["rows"][0]["passage_removed"], true);
    let (status, md) = raw(&app, &curl("/report?format=md&lang=en"), &c.coordinator.auth).await;
    assert_eq!(status, StatusCode::OK);
    assert!(md.contains("Partly accepted") && md.contains("Rejected") && md.contains("Hidden"), "{md}");
    assert!(md.contains("passage removed"), "{md}");
    let (_, csv) = raw(&app, &curl("/report?format=csv"), &c.coordinator.auth).await;
    assert_eq!(csv.lines().count(), 4, "{csv}");
    assert!(csv.contains("'=HYPERLINK"), "{csv}");
    assert!(!csv.contains(",=HYPERLINK") && !csv.contains(",\"=HYPERLINK"), "{csv}");
    let (_, html) = raw(&app, &curl("/report?format=html"), &c.coordinator.auth).await;
    assert!(html.contains("Partly accepted"), "the city's language (English) by default");
    let (_, spanish) = raw(&app, &curl("/report?format=html&lang=es"), &c.coordinator.auth).await;
    assert!(spanish.contains("Aceptado en parte") && spanish.contains("<html lang=\"es\">"));
    assert!(!html.contains("<script>"), "{html}");
    assert!(!html.contains("insultos"), "a hidden comment's words are not published");
    assert!(html.contains("Lenguaje ofensivo"));
    assert_eq!(field(&app.get(&curl("/report?format=pdf"), &c.coordinator.auth).await), (StatusCode::UNPROCESSABLE_ENTITY, "format"));
});

test_both_dbs!(closed_not_yet_open_and_other_cities, |db| async move {
    let app = App::new(db);
    let a = CityFixture::new(app.db(), "lima").await;
    let b = CityFixture::new(app.db(), "quito").await;
    let sa = strategy(&app, &a).await;
    let sb = strategy(&app, &b).await;
    let s0 = sa["sections"][0]["id"].as_str().unwrap().to_owned();
    let open = |c: &CityFixture, s: &Value, opens: i64, closes: i64| {
        let body = json!({"strategy_id": s["id"], "title": "Consulta", "opens_at": days(opens), "closes_at": days(closes)});
        let uri = c.url("/consultations");
        let auth = c.coordinator.auth.clone();
        let app = &app;
        async move {
            let made = app.post(&uri, &auth, body).await;
            assert_eq!(made.status, StatusCode::CREATED, "{:?}", made.body);
            made.body["id"].as_str().unwrap().to_owned()
        }
    };
    let closed = open(&a, &sa, -3, -1).await;
    let upcoming = open(&a, &sa, 2, 9).await;
    let running = open(&a, &sa, -1, 5).await;
    let in_b = open(&b, &sb, -1, 5).await;
    // A strategy of another city cannot be consulted.
    let foreign = app.post(&a.url("/consultations"), &a.coordinator.auth, json!({"strategy_id": sb["id"], "title": "x", "closes_at": days(3)})).await;
    assert_eq!(foreign.body["error"]["field"], "strategy_id");

    let invitee = json!({"invitees": [{"email": "eva@ong.example", "name": "Eva", "organization": "ONG Verde", "sector": "civil_society"}]});
    for id in [&closed, &upcoming, &running] {
        let r = app.post(&format!("/api/consultations/{id}/invitations"), &a.coordinator.auth, invitee.clone()).await;
        assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    }
    let r = app
        .post(
            &format!("/api/consultations/{in_b}/invitations"),
            &b.coordinator.auth,
            json!({"invitees": [{"email": "bob@b.example", "name": "Bob", "organization": "Cámara B", "sector": "business"}]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    let eva = token_for(app.db(), "eva@ong.example").await;
    let bob = token_for(app.db(), "bob@b.example").await;

    let body = json!({"section_id": s0, "body": "Comentario"});
    let r = app.post(&format!("/api/consultations/{closed}/comments"), &eva, body.clone()).await;
    assert_eq!((r.status, r.code()), (StatusCode::CONFLICT, "consultation_closed"));
    let r = app.post(&format!("/api/consultations/{upcoming}/comments"), &eva, body.clone()).await;
    assert_eq!((r.status, r.code()), (StatusCode::CONFLICT, "consultation_not_open"));
    let r = app.post(&format!("/api/consultations/{running}/comments"), &eva, body.clone()).await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let comment_id = r.body["id"].as_str().unwrap().to_owned();

    // A stakeholder of city B sees nothing of city A, and the other way round.
    for uri in [
        format!("/api/consultations/{running}"),
        format!("/api/consultations/{running}/comments"),
        format!("/api/consultations/{running}/report?format=json"),
        format!("/api/consultations/{closed}/report?format=json"),
        format!("/api/consultations/{running}/sections/{s0}"),
        a.url("/consultations"),
    ] {
        assert_eq!(app.get(&uri, &bob).await.status, StatusCode::NOT_FOUND, "{uri}");
    }
    assert_eq!(app.post(&format!("/api/consultations/{running}/comments"), &bob, body.clone()).await.status, StatusCode::NOT_FOUND);
    assert_eq!(app.post(&format!("/api/comments/{comment_id}/response"), &b.coordinator.auth, json!({"decision": "noted", "reason": "x"})).await.status, StatusCode::NOT_FOUND);
    assert_eq!(app.post(&format!("/api/comments/{comment_id}/hide"), &b.coordinator.auth, json!({"reason": "x"})).await.status, StatusCode::NOT_FOUND);
    assert_eq!(app.get(&format!("/api/consultations/{in_b}"), &eva).await.status, StatusCode::NOT_FOUND);
    // B's consultation in B cannot take a section of A.
    let r = app.post(&format!("/api/consultations/{in_b}/comments"), &bob, body.clone()).await;
    assert_eq!(r.body["error"]["field"], "section_id");

    // A closed consultation's report is published: to its invitees and on the public page.
    let r = app.get(&format!("/api/consultations/{closed}/report?format=json"), &eva).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let page = app.get("/public/lima?format=json", &Auth::None).await;
    let listed = page.body["consultations"].as_array().unwrap();
    assert_eq!(listed.len(), 1, "only the closed one: {listed:?}");
    let report_url = listed[0]["report_url"].as_str().unwrap().to_owned();
    let (status, html) = raw(&app, &report_url, &Auth::None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("<h1>"), "{html}");
    assert!(!html.contains("eva@ong.example"), "no invitee's address on the public page");
    let (status, _) = raw(&app, &format!("/public/lima/consultations/{running}"), &Auth::None).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "not before it closes");
    let (status, _) = raw(&app, &format!("/public/quito/consultations/{closed}"), &Auth::None).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "not under another city");
});

test_both_dbs!(a_named_version_is_read_at_its_heads, |db| async move {
    let app = App::new(db);
    let c = CityFixture::new(app.db(), "montevideo").await;
    let s = strategy(&app, &c).await;
    let first = &s["sections"][0];
    let (sid, doc_url) = (first["id"].as_str().unwrap(), first["doc_url"].as_str().unwrap());
    let version = app.post(&format!("/api/strategies/{}/versions", s["id"].as_str().unwrap()), &c.coordinator.auth, json!({"name": "Borrador 1"})).await;
    assert_eq!(version.status, StatusCode::CREATED, "{:?}", version.body);
    // The draft moves on after the version was named.
    write(app.db(), doc_url, &paragraph("La ciudad asume la cooperación descentralizada como política de Estado.")).await;
    let made = app
        .post(
            &c.url("/consultations"),
            &c.coordinator.auth,
            json!({"strategy_id": s["id"], "version_id": version.body["id"], "title": "Sobre el borrador 1", "closes_at": days(5), "section_ids": [sid]}),
        )
        .await;
    assert_eq!(made.status, StatusCode::CREATED, "{:?}", made.body);
    let id = made.body["id"].as_str().unwrap();
    app.post(
        &format!("/api/consultations/{id}/invitations"),
        &c.coordinator.auth,
        json!({"invitees": [{"email": "rita@red.example", "name": "Rita", "organization": "Red de Ciudades", "sector": "city_network"}]}),
    )
    .await;
    let rita = token_for(app.db(), "rita@red.example").await;
    // The consulted text is the version's, not the draft's.
    let text = app.get(&format!("/api/consultations/{id}/sections/{sid}"), &rita).await;
    assert!(text.body["text"].as_str().unwrap().contains("acción internacional"), "{:?}", text.body);
    assert!(!text.body["text"].as_str().unwrap().contains("cooperación"));
    // A quote from the version anchors there; the draft no longer has those words.
    let comment = app
        .post(&format!("/api/consultations/{id}/comments"), &rita, json!({"section_id": sid, "body": "Bien.", "anchor": {"quote": "acción internacional"}}))
        .await;
    assert_eq!(comment.status, StatusCode::CREATED, "{:?}", comment.body);
    assert_eq!(comment.body["anchor"]["quote"], "acción internacional");
    // Resolved against the draft now, where those words were rewritten (a character-level edit
    // keeps the letters both texts share, so the passage reads what lies between them now).
    assert_ne!(comment.body["anchor"]["text"], "acción internacional", "{:?}", comment.body["anchor"]);
    // A quote only the draft has is not in the consulted text.
    let missing = app
        .post(&format!("/api/consultations/{id}/comments"), &rita, json!({"section_id": sid, "body": "x", "anchor": {"quote": "cooperación descentralizada"}}))
        .await;
    assert_eq!(field(&missing), (StatusCode::UNPROCESSABLE_ENTITY, "anchor.quote"));
});

test_both_dbs!(invitations_and_answers_queue_their_emails_with_the_write, |db| async move {
    let app = App::new(db);
    let c = CityFixture::new(app.db(), "lima").await;
    let s = strategy(&app, &c).await;
    let s0 = s["sections"][0]["id"].as_str().unwrap().to_owned();
    let made = app
        .post(&c.url("/consultations"), &c.coordinator.auth, json!({"strategy_id": s["id"], "title": "Consulta <pública>", "closes_at": days(7)}))
        .await;
    assert_eq!(made.status, StatusCode::CREATED, "{:?}", made.body);
    let cid = made.body["id"].as_str().unwrap().to_owned();
    app.db()
        .create_user(concerta_store::NewUser {
            email: "has@lima.example.org".to_owned(),
            name: "Has".to_owned(),
            password_hash: Some("not a real hash".to_owned()),
            network_admin: false,
        })
        .await
        .unwrap();
    let body = json!({"invitees": [
        {"email": "new@lima.example.org", "name": "New", "organization": "Org <1>", "sector": "academia"},
        {"email": "has@lima.example.org", "name": "Has", "organization": "Org 2", "sector": "business"},
    ]});
    let invited = app.post(&format!("/api/consultations/{cid}/invitations"), &c.coordinator.auth, body.clone()).await;
    assert_eq!(invited.status, StatusCode::CREATED, "{:?}", invited.body);
    let id_of = |email: &str| {
        let list = invited.body["invitations"].as_array().unwrap();
        let found = list.iter().find(|i| i["email"] == email).unwrap_or_else(|| panic!("{email} invited"));
        uuid::Uuid::parse_str(found["id"].as_str().unwrap()).unwrap()
    };
    let (new_id, has_id) = (id_of("new@lima.example.org"), id_of("has@lima.example.org"));
    let queued = |ids: Vec<uuid::Uuid>| {
        let db = app.db().clone();
        async move { db.list_outbox_by_subject("consultation_invitee", &ids).await.unwrap() }
    };
    let first = queued(vec![new_id, has_id]).await;
    assert_eq!(first.len(), 2, "one email per invitee, committed with the invitation: {first:?}");
    let to_new = first.iter().find(|m| m.recipient_email == "new@lima.example.org").unwrap();
    assert_eq!(to_new.kind, "consultation_account_invitation", "no password yet: the account invitation");
    let link = to_new.payload["link"].as_str().unwrap().to_owned();
    assert!(link.contains("/invite/") && link.ends_with(&format!("?next=/consultations/{cid}")), "{link}");
    assert_eq!(to_new.payload["title"], "Consulta <pública>");
    assert_eq!(to_new.payload["organization"], "Org <1>");
    assert_eq!(to_new.payload["consultation_id"], json!(cid));
    let to_has = first.iter().find(|m| m.recipient_email == "has@lima.example.org").unwrap();
    assert_eq!(to_has.kind, "consultation_invitation", "an account: the invitation to comment");
    assert!(to_has.payload.get("link").is_none(), "no password link for an account that has one");
    // The same invitees again: already invited, no second email.
    let again = app.post(&format!("/api/consultations/{cid}/invitations"), &c.coordinator.auth, body).await;
    assert_eq!(again.status, StatusCode::CREATED, "{:?}", again.body);
    assert_eq!(queued(vec![new_id, has_id]).await.len(), 2);
    // Resend: a new link; the listing shows the delivery; only coordinators may resend.
    let resend = format!("/api/consultations/{cid}/invitations/{new_id}/resend");
    assert_eq!(app.post(&resend, &c.editor.auth, json!({})).await.status, StatusCode::FORBIDDEN);
    let resent = app.post(&resend, &c.coordinator.auth, json!({})).await;
    assert_eq!(resent.status, StatusCode::OK, "{:?}", resent.body);
    assert_eq!(resent.body["delivery"], "queued");
    let now = queued(vec![new_id]).await;
    assert_eq!(now.len(), 2);
    assert_ne!(now[1].payload["link"], json!(link), "a new link");
    let listed = app.get(&format!("/api/consultations/{cid}/invitations"), &c.coordinator.auth).await;
    let row = listed.body["invitations"].as_array().unwrap().iter().find(|i| i["email"] == "new@lima.example.org").unwrap().clone();
    assert_eq!((row["needs_password"].clone(), row["delivery"].clone()), (json!(true), json!("queued")), "{row}");

    // The new stakeholder comments in Portuguese; a wrong language is refused by name.
    let new_auth = token_for(app.db(), "new@lima.example.org").await;
    let comments = format!("/api/consultations/{cid}/comments");
    let bad = app.post(&comments, &new_auth, json!({"section_id": s0, "body": "Texto", "locale": "klingon"})).await;
    assert_eq!(field(&bad), (StatusCode::UNPROCESSABLE_ENTITY, "locale"));
    let comment = app.post(&comments, &new_auth, json!({"section_id": s0, "body": "Mais <cultura>", "locale": "pt"})).await;
    assert_eq!(comment.status, StatusCode::CREATED, "{:?}", comment.body);
    let comment_id = comment.body["id"].as_str().unwrap().to_owned();
    let answers = || {
        let db = app.db().clone();
        let id = uuid::Uuid::parse_str(&comment_id).unwrap();
        async move { db.list_outbox_by_subject("consultation_comment", &[id]).await.unwrap() }
    };
    assert!(answers().await.is_empty(), "nothing before the answer");
    // A staff reply in the thread is no answer: no email.
    let reply = app.post(&comments, &c.editor.auth, json!({"parent_id": comment_id, "body": "Gracias"})).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
    assert!(answers().await.is_empty());
    let respond = format!("/api/comments/{comment_id}/response");
    for _ in 0..2 {
        let r = app.post(&respond, &c.editor.auth, json!({"decision": "partly", "reason": "Em parte <sim>"})).await;
        assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    }
    let sent = answers().await;
    assert_eq!(sent.len(), 1, "the same answer twice is one email: {sent:?}");
    assert_eq!(sent[0].kind, "consultation_response");
    assert_eq!(sent[0].recipient_email, "new@lima.example.org");
    assert_eq!(sent[0].locale, concerta_core::Locale::Pt, "the language the comment was written in");
    assert_eq!((sent[0].payload["decision"].clone(), sent[0].payload["reason"].clone()), (json!("partly"), json!("Em parte <sim>")));
    assert_eq!(sent[0].payload["comment"], "Mais <cultura>");
    // A changed answer is news: a second email.
    let r = app.post(&respond, &c.coordinator.auth, json!({"decision": "accepted", "reason": "Sim"})).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let sent = answers().await;
    assert_eq!(sent.len(), 2);
    assert_eq!(sent[1].payload["decision"], "accepted");

    // Revoking: the invitee no longer sees the consultation, and their unused link dies.
    let current_link = now[1].payload["link"].as_str().unwrap().to_owned();
    let token = current_link.split('?').next().unwrap().rsplit('/').next().unwrap().to_owned();
    assert_eq!(app.get(&format!("/api/invitations/{token}"), &Auth::None).await.status, StatusCode::OK);
    let revoke = format!("/api/consultations/{cid}/invitations/{new_id}/revoke");
    assert_eq!(app.post(&revoke, &c.editor.auth, json!({})).await.status, StatusCode::FORBIDDEN);
    let revoked = app.post(&revoke, &c.coordinator.auth, json!({})).await;
    assert_eq!(revoked.status, StatusCode::OK, "{:?}", revoked.body);
    let gone = app.get(&format!("/api/consultations/{cid}"), &new_auth).await;
    assert_eq!((gone.status, gone.code()), (StatusCode::FORBIDDEN, "not_invited"));
    let link = app.get(&format!("/api/invitations/{token}"), &Auth::None).await;
    assert_eq!((link.status, link.code()), (StatusCode::GONE, "invitation_revoked"));
    // The invitation is kept, shown as withdrawn with its time; withdrawing again changes nothing.
    let row_of = |listed: &crate::Answer| {
        listed.body["invitations"].as_array().unwrap().iter().find(|i| i["email"] == "new@lima.example.org").cloned().expect("kept in the list")
    };
    let listed = app.get(&format!("/api/consultations/{cid}/invitations"), &c.coordinator.auth).await;
    let row = row_of(&listed);
    assert_eq!(row["state"], "withdrawn", "{row}");
    let withdrawn_at = row["withdrawn_at"].as_str().expect("when it was withdrawn").to_owned();
    assert_eq!(revoked.body["state"], "withdrawn");
    let twice = app.post(&revoke, &c.coordinator.auth, json!({})).await;
    assert_eq!((twice.status, twice.body["withdrawn_at"].as_str()), (StatusCode::OK, Some(withdrawn_at.as_str())), "{:?}", twice.body);
    let active = app.get(&format!("/api/consultations/{cid}/invitations"), &c.coordinator.auth).await;
    assert_eq!(active.body["invitations"].as_array().unwrap().iter().filter(|i| i["state"] == "active").count(), 1, "{:?}", active.body);
    let listed_for_them = app.get(&c.url("/consultations"), &new_auth).await;
    assert_eq!(listed_for_them.body.as_array().map(Vec::len), Some(0), "a withdrawn invitee lists nothing: {:?}", listed_for_them.body);
    // What they wrote stays, with its answer.
    let kept = app.get(&comments, &c.coordinator.auth).await;
    assert!(kept.body.as_array().unwrap().iter().any(|m| m["id"] == json!(comment_id)), "{:?}", kept.body);

    // Inviting the same address again: active again, with a fresh link; the old one stays dead.
    let emails_before = queued(vec![new_id]).await.len();
    let again = app
        .post(
            &format!("/api/consultations/{cid}/invitations"),
            &c.coordinator.auth,
            json!({"invitees": [{"email": "new@lima.example.org", "name": "New", "organization": "Org <1> bis", "sector": "academia"}]}),
        )
        .await;
    assert_eq!(again.status, StatusCode::CREATED, "{:?}", again.body);
    let back = &again.body["invitations"][0];
    assert_eq!((back["id"].as_str(), back["state"].as_str(), back["withdrawn_at"].clone()), (Some(new_id.to_string().as_str()), Some("active"), Value::Null), "{back}");
    assert_eq!(back["organization"], "Org <1> bis");
    let mails = queued(vec![new_id]).await;
    assert_eq!(mails.len(), emails_before + 1, "a fresh invitation email: {mails:?}");
    let fresh = mails.last().unwrap().payload["link"].as_str().expect("a password link").to_owned();
    assert_ne!(fresh, current_link);
    let fresh_token = fresh.split('?').next().unwrap().rsplit('/').next().unwrap().to_owned();
    assert_eq!(app.get(&format!("/api/invitations/{fresh_token}"), &Auth::None).await.status, StatusCode::OK, "the fresh link works");
    let old = app.get(&format!("/api/invitations/{token}"), &Auth::None).await;
    assert_eq!((old.status, old.code()), (StatusCode::NOT_FOUND, "invitation_invalid"), "the withdrawn link stays refused (superseded)");
    assert_eq!(app.get(&format!("/api/consultations/{cid}"), &new_auth).await.status, StatusCode::OK, "they see it again");
    let row = row_of(&app.get(&format!("/api/consultations/{cid}/invitations"), &c.coordinator.auth).await);
    assert_eq!(row["state"], "active");
});

async fn set_zone(app: &App, city: &str, auth: &Auth, zone: &str) -> crate::Answer {
    app.call(Method::PATCH, city, auth, Some(json!({"timezone": zone}))).await
}

test_both_dbs!(consultation_times_are_in_the_city_time_zone, |db| async move {
    let app = App::new(db);
    let c = CityFixture::new(app.db(), "bogota").await;
    let s = strategy(&app, &c).await;
    // Cities start in UTC; coordinators set an IANA zone, checked by name.
    let city = c.url("");
    assert_eq!(app.get(&city, &c.editor.auth).await.body["timezone"], "UTC");
    assert_eq!(set_zone(&app, &city, &c.editor.auth, "America/Bogota").await.status, StatusCode::FORBIDDEN);
    let other = CityFixture::new(app.db(), "quito").await;
    assert_eq!(set_zone(&app, &city, &other.coordinator.auth, "America/Bogota").await.status, StatusCode::NOT_FOUND);
    for bad in ["Mars/Olympus", "", "UTC+5"] {
        assert_eq!(field(&set_zone(&app, &city, &c.coordinator.auth, bad).await), (StatusCode::UNPROCESSABLE_ENTITY, "timezone"), "{bad}");
    }
    let ok = set_zone(&app, &city, &c.coordinator.auth, "america/bogota").await;
    assert_eq!((ok.status, ok.body["timezone"].as_str()), (StatusCode::OK, Some("America/Bogota")), "{:?}", ok.body);
    let audit = app.get(&c.url("/audit"), &c.coordinator.auth).await;
    assert!(audit.body.to_string().contains("city_changed"), "audited: {:?}", audit.body);

    // A wall-clock time is read in the city's zone (UTC-5); an instant stays as given.
    let made = app
        .post(
            &c.url("/consultations"),
            &c.coordinator.auth,
            json!({"strategy_id": s["id"], "title": "Consulta", "opens_at": "2020-01-01T00:00:00Z", "closes_at": "2099-12-27T18:00"}),
        )
        .await;
    assert_eq!(made.status, StatusCode::CREATED, "{:?}", made.body);
    assert_eq!(made.body["closes_at"], "2099-12-27T23:00:00Z");
    assert_eq!(made.body["opens_at"], "2020-01-01T00:00:00Z");
    assert_eq!(made.body["timezone"], "America/Bogota");
    let bad = app.post(&c.url("/consultations"), &c.coordinator.auth, json!({"strategy_id": s["id"], "title": "X", "closes_at": "next week"})).await;
    assert_eq!(field(&bad), (StatusCode::UNPROCESSABLE_ENTITY, "closes_at"));
    let cid = made.body["id"].as_str().unwrap().to_owned();

    // The invitation email names the closing time in the city's zone.
    let invited = app
        .post(
            &format!("/api/consultations/{cid}/invitations"),
            &c.coordinator.auth,
            json!({"invitees": [{"email": "ana@bogota.example.org", "name": "Ana", "organization": "U", "sector": "academia"}]}),
        )
        .await;
    assert_eq!(invited.status, StatusCode::CREATED, "{:?}", invited.body);
    let id = uuid::Uuid::parse_str(invited.body["invitations"][0]["id"].as_str().unwrap()).unwrap();
    let mails = app.db().list_outbox_by_subject("consultation_invitee", &[id]).await.unwrap();
    assert_eq!(mails[0].payload["closes_at"], "2099-12-27 18:00 (America/Bogota)", "{:?}", mails[0].payload);

    // A closed consultation's refusal names its time in the same zone.
    let closed = app
        .post(
            &c.url("/consultations"),
            &c.coordinator.auth,
            json!({"strategy_id": s["id"], "title": "Cerrada", "opens_at": "2020-01-01T00:00:00Z", "closes_at": "2020-06-01T00:00:00Z"}),
        )
        .await;
    assert_eq!(closed.status, StatusCode::CREATED, "{:?}", closed.body);
    let s0 = s["sections"][0]["id"].as_str().unwrap();
    let late = app.post(&format!("/api/consultations/{}/comments", closed.body["id"].as_str().unwrap()), &c.coordinator.auth, json!({"section_id": s0, "body": "Tarde"})).await;
    assert_eq!(late.code(), "consultation_closed");
    assert!(late.body["error"]["message"].as_str().unwrap().contains("2020-05-31 19:00 (America/Bogota)"), "{:?}", late.body);
});
