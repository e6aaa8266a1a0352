//! Nothing of one city is readable or writable through another city's membership.

use axum::http::{Method, StatusCode};
use concerta_core::StrategyTemplate;
use concerta_store::{NewStrategy, test_both_dbs};
use serde_json::{Value, json};

use crate::{App, Auth, CityFixture};

/// Every city-scoped endpoint, aimed at city `b`, with a valid body.
fn endpoints(b: &CityFixture, b_member: &str, b_strategy: &str, b_section: &str, b_version: &str) -> Vec<(Method, String, Option<Value>)> {
    let area = b.areas[1].id.to_string();
    vec![
        (Method::GET, b.url(""), None),
        (Method::GET, b.url("/areas"), None),
        (Method::POST, b.url("/areas"), Some(json!({"name": "Intruders"}))),
        (Method::GET, b.url("/members"), None),
        (Method::POST, b.url("/members"), Some(json!({"email": "spy@example.org", "name": "Spy", "role": "coordinator"}))),
        (Method::PATCH, b.url(&format!("/members/{b_member}")), Some(json!({"role": "observer"}))),
        (Method::DELETE, b.url(&format!("/members/{b_member}")), None),
        (Method::GET, b.url("/actors"), None),
        (Method::POST, b.url("/actors"), Some(json!({"name": "Spy Inc", "sector": "business"}))),
        (Method::GET, b.url("/strategies"), None),
        (Method::POST, b.url("/strategies"), Some(json!({"title": "Hostile", "template": "blank"}))),
        (Method::GET, format!("/api/strategies/{b_strategy}"), None),
        (Method::PUT, format!("/api/sections/{b_section}/area"), Some(json!({"area_id": area}))),
        (Method::PUT, format!("/api/sections/{b_section}/state"), Some(json!({"state": "ready"}))),
        (Method::GET, format!("/api/sections/{b_section}/diff?since={b_version}"), None),
        (Method::POST, format!("/api/strategies/{b_strategy}/versions"), Some(json!({"name": "Hostile"}))),
        (Method::GET, format!("/api/strategies/{b_strategy}/versions"), None),
        (Method::GET, format!("/api/strategies/{b_strategy}/export?format=md"), None),
        (Method::GET, format!("/api/strategies/{b_strategy}/export?format=html&version={b_version}"), None),
        (Method::GET, format!("/api/versions/{b_version}"), None),
        (Method::POST, format!("/api/versions/{b_version}/approve"), Some(json!({}))),
    ]
}

test_both_dbs!(members_of_city_a_get_404_for_every_city_b_endpoint, |db| async move {
    let app = App::new(db);
    let a = CityFixture::new(app.db(), "alpha").await;
    let b = CityFixture::new(app.db(), "beta").await;
    let strategy = app
        .db()
        .create_strategy(NewStrategy {
            city: b.city.id,
            title: "B".to_owned(),
            template: StrategyTemplate::Seed,
            sections: concerta_server::content::template_sections(StrategyTemplate::Seed, concerta_core::Locale::Es),
        })
        .await
        .unwrap();
    let b_member = b.observer_member_id(app.db()).await;
    let b_section = strategy.sections[0].id.to_string();
    let b_version = app
        .post(&format!("/api/strategies/{}/versions", strategy.id), &b.coordinator.auth, json!({"name": "B1"}))
        .await;
    assert_eq!(b_version.status, StatusCode::CREATED, "{:?}", b_version.body);
    let b_version = b_version.body["id"].as_str().unwrap().to_owned();
    let before = snapshot(&app, &b).await;

    for (who, person) in [("coordinator", &a.coordinator), ("editor", &a.editor), ("observer", &a.observer), ("stakeholder", &a.stakeholder)] {
        for (method, uri, body) in endpoints(&b, &b_member, &strategy.id.to_string(), &b_section, &b_version) {
            let answer = app.call(method.clone(), &uri, &person.auth, body).await;
            assert_eq!(answer.status, StatusCode::NOT_FOUND, "{who} of A: {method} {uri}: {:?}", answer.body);
            assert_eq!(answer.code(), "not_found");
        }
    }
    // B's coordinator cannot reach A either, and A's own coordinator cannot pull B's areas
    // into A.
    let into_a = app
        .post(&a.url("/members"), &a.coordinator.auth, json!({"email": "z@example.org", "name": "Z", "role": "editor", "area_id": b.areas[0].id}))
        .await;
    assert_eq!(into_a.status, StatusCode::UNPROCESSABLE_ENTITY);
    let a_strategy = app
        .post(&a.url("/strategies"), &a.coordinator.auth, json!({"title": "A", "template": "seed"}))
        .await;
    let a_section = a_strategy.body["sections"][0]["id"].as_str().unwrap().to_owned();
    let foreign_area = app
        .call(Method::PUT, &format!("/api/sections/{a_section}/area"), &a.coordinator.auth, Some(json!({"area_id": b.areas[0].id})))
        .await;
    assert_eq!(foreign_area.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(app.get(&a.url(""), &b.coordinator.auth).await.status, StatusCode::NOT_FOUND);

    // City lists only show one's own cities.
    let cities = app.get("/api/cities", &a.coordinator.auth).await;
    let slugs: Vec<_> = cities.body.as_array().unwrap().iter().map(|c| c["slug"].clone()).collect();
    assert_eq!(slugs, [json!("alpha")]);

    assert_eq!(snapshot(&app, &b).await, before, "nothing of B changed");
    app.assert_serving().await;
});

test_both_dbs!(anonymous_requests_get_401_for_every_city_endpoint, |db| async move {
    let app = App::new(db);
    let b = CityFixture::new(app.db(), "beta").await;
    let b_member = b.observer_member_id(app.db()).await;
    let id = uuid::Uuid::new_v4().to_string();
    for (method, uri, body) in endpoints(&b, &b_member, &id, &id, &id) {
        let answer = app.call(method.clone(), &uri, &Auth::None, body).await;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{method} {uri}");
    }
});

impl CityFixture {
    async fn observer_member_id(&self, db: &concerta_store::Database) -> String {
        db.get_membership(self.city.id, self.observer.user.id).await.unwrap().unwrap().id.to_string()
    }
}

/// Everything of city `b` as its coordinator sees it.
async fn snapshot(app: &App, b: &CityFixture) -> Vec<Value> {
    let mut out = Vec::new();
    for part in ["", "/areas", "/members", "/actors", "/strategies"] {
        let answer = app.get(&b.url(part), &b.coordinator.auth).await;
        assert_eq!(answer.status, StatusCode::OK);
        out.push(answer.body.clone());
        if part == "/strategies" {
            for strategy in answer.body.as_array().unwrap() {
                let versions = app.get(&format!("/api/strategies/{}/versions", strategy["id"].as_str().unwrap()), &b.coordinator.auth).await;
                assert_eq!(versions.status, StatusCode::OK);
                out.push(versions.body);
            }
        }
    }
    out
}
