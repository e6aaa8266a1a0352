//! The foundation through the real binary: the README's first-run flow (CLI accounts, cookie
//! login, API token, cities, areas, members, actors, a seed strategy), the documented error
//! answers with the server still serving after each, and tenancy between two cities.

use std::time::Duration;

use concerta_e2e::concerta_sync::wire::WireMessage;
use concerta_e2e::{Answer, Api, Peer, Recv, Server, Store, both_backends, early_answer, setup_city};
use serde_json::json;

both_backends!(readme_flow, readme_flow);
both_backends!(bad_input_is_answered_and_the_server_keeps_serving, bad_input);
both_backends!(a_member_of_one_city_cannot_reach_another, tenancy);

/// What no error body may reveal: SQL, driver or constraint text.
#[track_caller]
fn assert_no_internals(answer: &Answer) {
    let text = answer.text.to_ascii_lowercase();
    for leak in ["select ", "insert ", "sqlx", "sqlite", "postgres", "constraint", "duplicate key", "panicked"] {
        assert!(!text.contains(leak), "the answer leaks internals ({leak}): {}", answer.text);
    }
}

async fn readme_flow(store: Store) {
    let server = Server::start(&store).await;
    store.create_user("admin@example.org", "Ada Admin", true).await;

    // Browser-style login: an HttpOnly SameSite session cookie, then /api/me through it.
    let browser = Api::browser(&server);
    let wrong =
        browser.post("/api/auth/login", json!({"email": "admin@example.org", "password": "wrong password"})).await;
    wrong.expect_error(401, "invalid_credentials");
    let login = browser
        .post("/api/auth/login", json!({"email": "admin@example.org", "password": concerta_e2e::PASSWORD}))
        .await;
    let cookie = login
        .headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("concerta_session="))
        .unwrap_or_else(|| panic!("login sets the session cookie: {:?}", login.headers))
        .to_owned();
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.to_ascii_lowercase().contains("samesite"), "{cookie}");
    assert_eq!(login.expect(200)["email"], "admin@example.org");
    let me = browser.get("/api/me").await.expect(200);
    assert_eq!(me["email"], "admin@example.org");
    assert_eq!(me["network_admin"], true, "{me}");

    // Scripts: an API token from the CLI.
    let token = store.token("admin@example.org").await;
    let api = Api::bearer(&server, &token);
    assert_eq!(api.get("/api/me").await.expect(200)["email"], "admin@example.org");

    let city =
        api.post("/api/cities", json!({"name": "Medellín", "slug": "medellin", "locale": "es"})).await.expect(201);
    let city_id = city["id"].as_str().expect("city id").to_owned();
    assert_eq!(city["slug"], "medellin");
    assert_eq!(city["name"], "Medellín");
    let dup = api.post("/api/cities", json!({"name": "Otra", "slug": "medellin", "locale": "es"})).await;
    dup.expect_error(409, "conflict");
    assert_eq!(dup.body["error"]["field"], "slug", "{}", dup.text);
    assert_no_internals(&dup);

    // The cookie session writes too.
    let area = browser
        .post(&format!("/api/cities/{city_id}/areas"), json!({"name": "Desarrollo económico"}))
        .await
        .expect(201);
    let area_id = area["id"].as_str().expect("area id").to_owned();
    let areas = api.get(&format!("/api/cities/{city_id}/areas")).await.expect(200);
    assert!(areas.as_array().expect("a list").iter().any(|a| a["id"] == area_id.as_str()), "{areas}");

    let editor = api
        .post(
            &format!("/api/cities/{city_id}/members"),
            json!({"email": "economia@example.org", "name": "Economía", "role": "editor", "area_id": area_id}),
        )
        .await
        .expect(201);
    assert_eq!(editor["role"], "editor");
    assert_eq!(editor["area_id"], area_id.as_str());
    let coordinator = api
        .post(
            &format!("/api/cities/{city_id}/members"),
            json!({"email": "ori@example.org", "name": "ORI", "role": "coordinator"}),
        )
        .await
        .expect(201);
    assert_eq!(coordinator["role"], "coordinator");
    let members = api.get(&format!("/api/cities/{city_id}/members")).await.expect(200);
    assert_eq!(members.as_array().expect("a list").len(), 2, "{members}");

    let actor = api
        .post(
            &format!("/api/cities/{city_id}/actors"),
            json!({"name": "Universidad de Antioquia", "sector": "academia", "country": "Colombia",
                   "website": "https://www.udea.edu.co"}),
        )
        .await
        .expect(201);
    assert_eq!(actor["sector"], "academia");
    let actors = api.get(&format!("/api/cities/{city_id}/actors")).await.expect(200);
    assert_eq!(actors.as_array().expect("a list").len(), 1, "{actors}");
    api.post(&format!("/api/cities/{city_id}/actors"), json!({"name": "X", "sector": "guild"}))
        .await
        .expect_error(422, "invalid_field");

    let strategy = api
        .post(&format!("/api/cities/{city_id}/strategies"), json!({"title": "Estrategia 2026", "template": "seed"}))
        .await
        .expect(201);
    let sections = strategy["sections"].as_array().expect("sections");
    assert!(!sections.is_empty(), "the seed template has sections: {strategy}");
    for section in sections {
        assert!(section["doc_url"].as_str().is_some_and(|u| u.starts_with("automerge:")), "{section}");
        assert!(section["stage"].is_string() && section["title"].is_string(), "{section}");
    }
    let strategy_id = strategy["id"].as_str().expect("strategy id");
    let again = api.get(&format!("/api/strategies/{strategy_id}")).await.expect(200);
    assert_eq!(again["sections"], strategy["sections"]);

    // The editor (invited, no password) gets a token from the CLI: sees the city, may not
    // manage it.
    let editor_api = Api::bearer(&server, &store.token("economia@example.org").await);
    assert_eq!(editor_api.get(&format!("/api/cities/{city_id}")).await.expect(200)["id"], city_id.as_str());
    editor_api
        .post(&format!("/api/cities/{city_id}/areas"), json!({"name": "Cultura"}))
        .await
        .expect_error(403, "forbidden");
    editor_api.post("/api/cities", json!({"name": "Bogotá", "slug": "bogota"})).await.expect_error(403, "forbidden");

    // Logout ends the cookie session.
    assert_eq!(browser.call("POST", "/api/auth/logout", None).await.status, 204);
    browser.get("/api/me").await.expect_error(401, "unauthorized");

    // Health and metrics.
    assert_eq!(api.get("/healthz").await.status, 200);
    assert_eq!(api.get("/readyz").await.status, 200);
    let metrics = api.get("/metrics").await;
    assert_eq!(metrics.status, 200);
    assert!(metrics.text.contains("http_requests_total"), "{}", metrics.text);
}

async fn bad_input(store: Store) {
    let server = Server::start(&store).await;
    store.create_user("admin@e2e.test", "Ada Admin", true).await;
    let token = store.token("admin@e2e.test").await;
    let api = Api::bearer(&server, &token);
    let city = api.post("/api/cities", json!({"name": "Quito", "slug": "quito", "locale": "es"})).await.expect(201);
    let areas = format!("/api/cities/{}/areas", city["id"].as_str().expect("city id"));
    let members = format!("/api/cities/{}/members", city["id"].as_str().expect("city id"));
    let mut created = 0;
    // After each bad request, a good one (a write) still goes through.
    let mut still_serving = async |api: &Api| {
        created += 1;
        let area = api.post(&areas, json!({"name": format!("Área {created}")})).await.expect(201);
        assert_eq!(area["name"], format!("Área {created}"));
    };

    let json_ct = Some("application/json");
    for bad in [&b"{\"name\": "[..], b"not json", b"", b"{\"name\":\"a\"} trailing"] {
        let answer = api.raw("POST", &areas, json_ct, Some(bad.to_vec())).await;
        answer.expect_error(400, "bad_json");
        assert_no_internals(&answer);
        still_serving(&api).await;
    }

    let missing = api.post("/api/cities", json!({"name": "Lima"})).await;
    missing.expect_error(422, "invalid_field");
    assert_eq!(missing.body["error"]["field"], "slug", "{}", missing.text);
    still_serving(&api).await;
    let missing = api.post(&members, json!({"email": "x@e2e.test", "name": "X"})).await;
    missing.expect_error(422, "invalid_field");
    assert_eq!(missing.body["error"]["field"], "role", "{}", missing.text);
    let mistyped = api.post(&areas, json!({"name": 5})).await;
    mistyped.expect_error(422, "invalid_field");
    assert_eq!(mistyped.body["error"]["field"], "name", "{}", mistyped.text);
    let not_object = api.call("POST", &areas, Some(json!(["name"]))).await;
    not_object.expect_error(422, "invalid_field");
    let bad_role = api.post(&members, json!({"email": "x@e2e.test", "name": "X", "role": "mayor"})).await;
    bad_role.expect_error(422, "invalid_field");
    assert_eq!(bad_role.body["error"]["field"], "role", "{}", bad_role.text);
    still_serving(&api).await;

    api.raw("POST", &areas, Some("text/plain"), Some(b"{\"name\":\"a\"}".to_vec()))
        .await
        .expect_error(415, "unsupported_media_type");
    still_serving(&api).await;

    // Just over the 1 MiB limit, and well over it. The answer comes before the body is read
    // to its end, so it is read while sending (see `early_answer`).
    let bearer = format!("Bearer {token}");
    for size in [1024 * 1024 + 64, 4 * 1024 * 1024, 32 * 1024 * 1024] {
        let body = format!("{{\"name\":\"{}\"}}", "x".repeat(size)).into_bytes();
        let headers = [("authorization", bearer.as_str()), ("content-type", "application/json")];
        let (status, answer) = early_answer(&server, "POST", &areas, &headers, body).await;
        assert_eq!((status, &answer["error"]["code"]), (413, &json!("payload_too_large")), "{size} bytes: {answer}");
        still_serving(&api).await;
    }

    // Wrong credentials.
    let wrong = Api::bearer(&server, "not-a-token");
    let answer = wrong.get("/api/me").await;
    answer.expect_error(401, "unauthorized");
    assert_eq!(answer.headers.get("www-authenticate").and_then(|v| v.to_str().ok()), Some("Bearer"));
    wrong.post(&areas, json!({"name": "Intrusa"})).await.expect_error(401, "unauthorized");
    let revoked_looking = Api::bearer(&server, &format!("{}x", store.token("admin@e2e.test").await));
    revoked_looking.get("/api/me").await.expect_error(401, "unauthorized");
    Api::browser(&server).get("/api/me").await.expect_error(401, "unauthorized");
    still_serving(&api).await;

    // Unknown things.
    api.get("/api/nothing-here").await.expect_error(404, "not_found");
    api.get("/api/cities/not-an-id").await.expect_error(404, "not_found");
    api.get(&format!("/api/cities/{}", uuid::Uuid::new_v4())).await.expect_error(404, "not_found");
    api.call("DELETE", "/api/cities", None).await.expect_error(405, "method_not_allowed");
    still_serving(&api).await;

    // The failed writes left nothing behind.
    let listed = api.get(&areas).await.expect(200);
    assert_eq!(listed.as_array().expect("a list").len(), created, "{listed}");
    assert_eq!(api.get("/healthz").await.status, 200);
}

async fn tenancy(store: Store) {
    let server = Server::start(&store).await;
    // City A: the fixture (every role). City B: another city with its own strategy.
    let a = setup_city(&store, &server).await;
    let admin = a.admin_api(&server);
    let b = admin.post("/api/cities", json!({"name": "Bogotá", "slug": "bogota", "locale": "es"})).await.expect(201);
    let b_id = b["id"].as_str().expect("city id").to_owned();
    let b_area = admin.post(&format!("/api/cities/{b_id}/areas"), json!({"name": "Cultura B"})).await.id();
    let b_member = admin
        .post(
            &format!("/api/cities/{b_id}/members"),
            json!({"email": "observer-b@e2e.test", "name": "Obs B", "role": "observer"}),
        )
        .await
        .id();
    let b_strategy = admin
        .post(&format!("/api/cities/{b_id}/strategies"), json!({"title": "Estrategia B", "template": "seed"}))
        .await
        .expect(201);
    let b_strategy_id = b_strategy["id"].as_str().expect("strategy id").to_owned();
    let b_section = b_strategy["sections"][0]["id"].as_str().expect("section id").to_owned();
    let b_doc = b_strategy["sections"][0]["doc_url"].as_str().expect("doc_url").to_owned();

    // Every role of city A, the coordinator included, gets 404 for everything of city B.
    for person in [&a.coordinator, &a.editor_a, &a.observer, &a.stakeholder] {
        let api = Api::bearer(&server, &person.token);
        let who = &person.email;
        let requests = [
            ("GET", format!("/api/cities/{b_id}"), None),
            ("GET", format!("/api/cities/{b_id}/areas"), None),
            ("POST", format!("/api/cities/{b_id}/areas"), Some(json!({"name": "Intrusa"}))),
            ("GET", format!("/api/cities/{b_id}/members"), None),
            (
                "POST",
                format!("/api/cities/{b_id}/members"),
                Some(json!({"email": "i@e2e.test", "name": "I", "role": "coordinator"})),
            ),
            ("PATCH", format!("/api/cities/{b_id}/members/{b_member}"), Some(json!({"role": "coordinator"}))),
            ("DELETE", format!("/api/cities/{b_id}/members/{b_member}"), None),
            ("GET", format!("/api/cities/{b_id}/actors"), None),
            ("POST", format!("/api/cities/{b_id}/actors"), Some(json!({"name": "I", "sector": "other"}))),
            ("GET", format!("/api/cities/{b_id}/strategies"), None),
            ("POST", format!("/api/cities/{b_id}/strategies"), Some(json!({"title": "I", "template": "blank"}))),
            ("GET", format!("/api/strategies/{b_strategy_id}"), None),
            ("PUT", format!("/api/sections/{b_section}/area"), Some(json!({"area_id": a.area_a}))),
            ("PUT", format!("/api/sections/{b_section}/area"), Some(json!({"area_id": null}))),
        ];
        for (method, path, body) in requests {
            let answer = api.call(method, &path, body).await;
            assert!(
                answer.status == 404 && answer.body["error"]["code"] == "not_found",
                "{who}: {method} {path} must be 404 not_found, got {} {}",
                answer.status,
                answer.text
            );
        }
        let cities = api.get("/api/cities").await.expect(200);
        let ids: Vec<_> = cities.as_array().expect("a list").iter().map(|c| c["id"].clone()).collect();
        assert_eq!(ids, vec![json!(a.id)], "{who} lists only city A");
    }

    // Mixing the cities through A's own resources does not work either.
    let coord = Api::bearer(&server, &a.coordinator.token);
    let cross_area = coord.put(&format!("/api/sections/{}/area", a.section_a.id), json!({"area_id": b_area})).await;
    assert!((400..500).contains(&cross_area.status), "A's section may not take B's area: {}", cross_area.text);
    let cross_member = coord
        .post(
            &format!("/api/cities/{}/members", a.id),
            json!({"email": "x@e2e.test", "name": "X", "role": "editor", "area_id": b_area}),
        )
        .await;
    assert!((400..500).contains(&cross_member.status), "an editor of A may not get B's area: {}", cross_member.text);
    let a_strategy = coord.get(&format!("/api/strategies/{}", a.strategy_id)).await.expect(200);
    assert_eq!(a_strategy["sections"][0]["area_id"], a.area_a.as_str(), "A's section kept its area");

    // City B's data is intact.
    let b_members = admin.get(&format!("/api/cities/{b_id}/members")).await.expect(200);
    assert_eq!(b_members.as_array().expect("a list").len(), 1, "{b_members}");
    assert_eq!(b_members[0]["role"], "observer");
    assert_eq!(admin.get(&format!("/api/cities/{b_id}/areas")).await.expect(200).as_array().map(Vec::len), Some(1));
    let b_again = admin.get(&format!("/api/strategies/{b_strategy_id}")).await.expect(200);
    assert_eq!(b_again["sections"][0]["area_id"], serde_json::Value::Null);

    // B's observer sees B (and may not change it: 403), and nothing of A (404).
    let b_obs = Api::bearer(&server, &store.token("observer-b@e2e.test").await);
    assert_eq!(b_obs.get(&format!("/api/cities/{b_id}")).await.status, 200);
    b_obs.post(&format!("/api/cities/{b_id}/areas"), json!({"name": "No"})).await.expect_error(403, "forbidden");
    b_obs.get(&format!("/api/cities/{}", a.id)).await.expect_error(404, "not_found");
    b_obs.get(&format!("/api/strategies/{}", a.strategy_id)).await.expect_error(404, "not_found");

    // And over /sync: A's coordinator asking for B's section gets doc-unavailable at once.
    let mut peer = Peer::connect(&server.sync_url(&a.coordinator.token)).await.expect("connect to /sync");
    let doc = concerta_e2e::concerta_sync::DocumentId::parse_url(&b_doc).expect("a document URL");
    peer.send_sync(doc, &concerta_e2e::empty_request(), true).await.expect("send the request");
    match peer.recv(Duration::from_secs(5)).await {
        Recv::Msg(WireMessage::DocUnavailable { document_id, .. }) => assert_eq!(document_id, doc),
        other => panic!("A's coordinator must get doc-unavailable for B's section, got {other:?}"),
    }
}
