//! What each role may do in its own city, through the router.

use axum::http::{Method, StatusCode};
use concerta_server::AccessEvent;
use concerta_store::test_both_dbs;
use serde_json::json;

use crate::{App, Auth, CityFixture, person};

test_both_dbs!(network_admin_creates_a_city_and_its_first_coordinator, |db| async move {
    let app = App::new(db);
    let admin = person(app.db(), "admin@network.org", true).await;
    let someone = person(app.db(), "someone@example.org", false).await;

    let refused = app.post("/api/cities", &someone.auth, json!({"name": "Lima", "slug": "lima", "locale": "es"})).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(refused.code(), "forbidden");

    let city = app.post("/api/cities", &admin.auth, json!({"name": "Lima", "slug": "lima", "locale": "es"})).await;
    assert_eq!(city.status, StatusCode::CREATED, "{:?}", city.body);
    assert_eq!(city.body["slug"], "lima");
    let city_id: String = city.body["id"].as_str().unwrap().to_owned();
    let base = format!("/api/cities/{city_id}");

    let coordinator = app
        .post(&format!("{base}/members"), &admin.auth, json!({"email": "ori@lima.gob.pe", "name": "ORI", "role": "coordinator"}))
        .await;
    assert_eq!(coordinator.status, StatusCode::CREATED, "{:?}", coordinator.body);
    assert_eq!(coordinator.body["role"], "coordinator");

    // The new coordinator (an account without password yet) runs the city from there.
    let ori = app.db().get_user_by_email("ori@lima.gob.pe").await.unwrap().unwrap();
    assert!(!ori.has_password);
    let token = concerta_server::auth::issue_api_token(app.db(), &ori).await.unwrap();
    let ori_auth = Auth::Bearer(token);
    let area = app.post(&format!("{base}/areas"), &ori_auth, json!({"name": "Cultura"})).await;
    assert_eq!(area.status, StatusCode::CREATED);
    let editor = app
        .post(
            &format!("{base}/members"),
            &ori_auth,
            json!({"email": "cultura@lima.gob.pe", "name": "Cultura", "role": "editor", "area_id": area.body["id"]}),
        )
        .await;
    assert_eq!(editor.status, StatusCode::CREATED, "{:?}", editor.body);
    assert_eq!(editor.body["area_id"], area.body["id"]);
    let actor = app
        .post(&format!("{base}/actors"), &ori_auth, json!({"name": "PUCP", "sector": "academia", "country": "Perú", "website": "https://pucp.edu.pe"}))
        .await;
    assert_eq!(actor.status, StatusCode::CREATED, "{:?}", actor.body);
    assert_eq!(app.get(&format!("{base}/actors"), &ori_auth).await.body.as_array().unwrap().len(), 1);

    let me = app.get("/api/me", &ori_auth).await;
    assert_eq!(me.body["memberships"][0]["city_id"], city_id);
    assert_eq!(me.body["memberships"][0]["role"], "coordinator");
    assert_eq!(app.get("/api/cities", &admin.auth).await.body.as_array().unwrap().len(), 1);
    assert_eq!(app.get(&base, &someone.auth).await.status, StatusCode::NOT_FOUND);

    // A network admin administers but does not read content: the strategy metadata is fine.
    let strategy = app.post(&format!("{base}/strategies"), &admin.auth, json!({"title": "E", "template": "blank"})).await;
    assert_eq!(strategy.status, StatusCode::CREATED);
    assert_eq!(strategy.body["sections"], json!([]));
});

test_both_dbs!(stakeholders_and_editors_stay_in_their_lane, |db| async move {
    let app = App::new(db);
    let a = CityFixture::new(app.db(), "alpha").await;
    let strategy = app.post(&a.url("/strategies"), &a.coordinator.auth, json!({"title": "E2030", "template": "seed"})).await;
    assert_eq!(strategy.status, StatusCode::CREATED);
    let sections = strategy.body["sections"].as_array().unwrap();
    assert_eq!(sections.len(), concerta_core::seed_template().len());
    for section in sections {
        assert!(section["doc_url"].as_str().unwrap().starts_with("automerge:"));
        assert_eq!(section["area_id"], json!(null));
        assert!(section["stage"].is_string() && section["title"].is_string() && section["id"].is_string());
    }
    let strategy_url = format!("/api/strategies/{}", strategy.body["id"].as_str().unwrap());
    let section_url = format!("/api/sections/{}/area", sections[0]["id"].as_str().unwrap());
    let member_url = |id: &str| a.url(&format!("/members/{id}"));
    let observer_member = a.observer_member_id_pub(app.db()).await;

    // Stakeholder: sees the city, nothing of the strategy.
    let s = &a.stakeholder.auth;
    assert_eq!(app.get(&a.url(""), s).await.status, StatusCode::OK);
    for (method, uri, body) in [
        (Method::GET, a.url("/strategies"), None),
        (Method::POST, a.url("/strategies"), Some(json!({"title": "X"}))),
        (Method::GET, strategy_url.clone(), None),
        (Method::PUT, section_url.clone(), Some(json!({"area_id": null}))),
        (Method::GET, a.url("/members"), None),
        (Method::GET, a.url("/actors"), None),
    ] {
        let answer = app.call(method.clone(), &uri, s, body).await;
        assert_eq!(answer.status, StatusCode::FORBIDDEN, "stakeholder {method} {uri}");
        assert_eq!(answer.code(), "forbidden");
    }

    // Editor and observer: read everything, manage nothing.
    for (who, auth) in [("editor", &a.editor.auth), ("observer", &a.observer.auth)] {
        for uri in [a.url(""), a.url("/areas"), a.url("/members"), a.url("/actors"), a.url("/strategies"), strategy_url.clone()] {
            assert_eq!(app.get(&uri, auth).await.status, StatusCode::OK, "{who} GET {uri}");
        }
        for (method, uri, body) in [
            (Method::POST, a.url("/members"), Some(json!({"email": "n@example.org", "name": "N", "role": "observer"}))),
            (Method::PATCH, member_url(&observer_member), Some(json!({"role": "coordinator"}))),
            (Method::DELETE, member_url(&observer_member), None),
            (Method::POST, a.url("/areas"), Some(json!({"name": "New"}))),
            (Method::POST, a.url("/actors"), Some(json!({"name": "A", "sector": "other"}))),
            (Method::POST, a.url("/strategies"), Some(json!({"title": "X"}))),
            (Method::PUT, section_url.clone(), Some(json!({"area_id": a.areas[0].id}))),
        ] {
            let answer = app.call(method.clone(), &uri, auth, body).await;
            assert_eq!(answer.status, StatusCode::FORBIDDEN, "{who} {method} {uri}: {:?}", answer.body);
        }
    }
    assert_eq!(app.get(&a.url("/members"), &a.coordinator.auth).await.body.as_array().unwrap().len(), 4);
});

test_both_dbs!(removing_or_changing_members_takes_access_away, |db| async move {
    let app = App::new(db);
    let a = CityFixture::new(app.db(), "alpha").await;
    let mut events = app.state.access_events.subscribe();
    let editor_member = app.db().get_membership(a.city.id, a.editor.user.id).await.unwrap().unwrap();
    let member_url = a.url(&format!("/members/{}", editor_member.id));

    // Assigning a section's area is an access change.
    let strategy = app.post(&a.url("/strategies"), &a.coordinator.auth, json!({"title": "E", "template": "seed"})).await;
    let section_id = strategy.body["sections"][2]["id"].as_str().unwrap().to_owned();
    let assigned = app
        .call(Method::PUT, &format!("/api/sections/{section_id}/area"), &a.coordinator.auth, Some(json!({"area_id": a.areas[0].id})))
        .await;
    assert_eq!(assigned.status, StatusCode::OK, "{:?}", assigned.body);
    assert_eq!(assigned.body["area_id"], json!(a.areas[0].id));
    assert_eq!(events.try_recv().unwrap(), AccessEvent::City(a.city.id));
    let missing = app.call(Method::PUT, &format!("/api/sections/{section_id}/area"), &a.coordinator.auth, Some(json!({}))).await;
    assert_eq!(missing.body["error"]["field"], "area_id");

    // Changing the editor's area: 200, event; an editor cannot lose their area.
    let moved = app.call(Method::PATCH, &member_url, &a.coordinator.auth, Some(json!({"area_id": a.areas[1].id}))).await;
    assert_eq!(moved.status, StatusCode::OK, "{:?}", moved.body);
    assert_eq!(moved.body["area_id"], json!(a.areas[1].id));
    assert_eq!(events.try_recv().unwrap(), AccessEvent::City(a.city.id));
    let no_area = app.call(Method::PATCH, &member_url, &a.coordinator.auth, Some(json!({"area_id": null}))).await;
    assert_eq!((no_area.status, no_area.body["error"]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("area_id")));
    assert!(events.try_recv().is_err(), "a refused change publishes nothing");

    // Deleting: 204, event, and the user's access to the city is gone.
    assert_eq!(app.get(&a.url("/strategies"), &a.editor.auth).await.status, StatusCode::OK);
    let deleted = app.call(Method::DELETE, &member_url, &a.coordinator.auth, None).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    assert_eq!(events.try_recv().unwrap(), AccessEvent::City(a.city.id));
    for uri in [a.url(""), a.url("/strategies"), a.url("/members"), strategy_url(&strategy.body)] {
        let answer = app.get(&uri, &a.editor.auth).await;
        assert_eq!(answer.status, StatusCode::NOT_FOUND, "{uri}");
    }
    assert_eq!(app.get("/api/cities", &a.editor.auth).await.body, json!([]));
    assert_eq!(app.get("/api/me", &a.editor.auth).await.body["memberships"], json!([]));
    let again = app.call(Method::DELETE, &member_url, &a.coordinator.auth, None).await;
    assert_eq!(again.status, StatusCode::NOT_FOUND);
    app.assert_serving().await;
});

fn strategy_url(body: &serde_json::Value) -> String {
    format!("/api/strategies/{}", body["id"].as_str().unwrap())
}

impl CityFixture {
    async fn observer_member_id_pub(&self, db: &concerta_store::Database) -> String {
        db.get_membership(self.city.id, self.observer.user.id).await.unwrap().unwrap().id.to_string()
    }
}
