//! The evaluation stage through the real router: the framework from the template, reports,
//! reviews, statuses, bad input, CSV, evidence files, capacities, the baseline
//! questionnaire and the public page.

use axum::http::{Method, StatusCode};
use concerta_core::{Locale, StrategyTemplate};
use concerta_store::{NewCity, NewStrategy, test_both_dbs};
use serde_json::{Value, json};

use crate::{App, Auth, CityFixture, person};

/// A city with a strategy and the seed's framework; returns (fixture, strategy id, indicators).
async fn framework(app: &App, slug: &str) -> (CityFixture, String, Vec<Value>) {
    let city = CityFixture::new(app.db(), slug).await;
    let strategy = app
        .db()
        .create_strategy(NewStrategy {
            city: city.city.id,
            title: "Strategy".to_owned(),
            template: StrategyTemplate::Seed,
            sections: concerta_server::content::template_sections(StrategyTemplate::Seed, Locale::En),
        })
        .await
        .unwrap();
    let made = app.post(&format!("/api/strategies/{}/indicators/template", strategy.id), &city.coordinator.auth, json!({})).await;
    assert_eq!(made.status, StatusCode::CREATED, "{:?}", made.body);
    let indicators = made.body["indicators"].as_array().unwrap().clone();
    (city, strategy.id.to_string(), indicators)
}

/// The editable body of an indicator, from its JSON.
fn body_of(indicator: &Value) -> Value {
    let mut body = json!({});
    for key in ["code", "name", "level", "definition", "method", "unit", "unit_label", "direction", "data_source", "frequency", "area_id", "public", "section_ids", "sdg"] {
        body[key] = indicator[key].clone();
    }
    body["baseline_value"] = indicator["baseline"]["value"].clone();
    body["baseline_date"] = indicator["baseline"]["date"].clone();
    body["target_value"] = indicator["target"]["value"].clone();
    body["target_date"] = indicator["target"]["date"].clone();
    body
}

async fn put(app: &App, uri: &str, auth: &Auth, body: Value) -> crate::Answer {
    app.call(Method::PUT, uri, auth, Some(body)).await
}

test_both_dbs!(coordinator_frames_area_reports_coordinator_reviews, |db| async move {
    let app = App::new(db);
    let (city, strategy, indicators) = framework(&app, "quito").await;
    assert_eq!(indicators.len(), 16);
    let ind = &indicators[0];
    assert_eq!(ind["code"], "ORI-1");
    assert_eq!(ind["status"], "no_data");
    let id = ind["id"].as_str().unwrap().to_owned();
    // The coordinator gives it a baseline, a target, the editor's area, and makes it public.
    let mut body = body_of(ind);
    body["area_id"] = json!(city.areas[0].id.to_string());
    body["baseline_value"] = json!(10);
    body["baseline_date"] = json!("2024-01-01");
    body["target_value"] = json!(30);
    body["target_date"] = json!("2028-01-01");
    body["public"] = json!(true);
    let updated = put(&app, &format!("/api/indicators/{id}"), &city.coordinator.auth, body.clone()).await;
    assert_eq!(updated.status, StatusCode::OK, "{:?}", updated.body);
    assert_eq!(updated.body["target"]["value"], 30.0);
    // Observers read, but neither report nor edit; stakeholders see nothing.
    assert_eq!(app.get(&format!("/api/indicators/{id}"), &city.observer.auth).await.status, StatusCode::OK);
    let report = json!({"measured_on": "2025-01-01", "value": 15, "note": "annual report"});
    let uri = format!("/api/indicators/{id}/measurements");
    assert_eq!(app.post(&uri, &city.observer.auth, report.clone()).await.status, StatusCode::FORBIDDEN);
    assert_eq!(put(&app, &format!("/api/indicators/{id}"), &city.editor.auth, body).await.status, StatusCode::FORBIDDEN);
    assert_eq!(app.get(&format!("/api/strategies/{strategy}/indicators"), &city.stakeholder.auth).await.status, StatusCode::FORBIDDEN);
    // The area's editor reports; the status follows at once (provisional until reviewed).
    let m = app.post(&uri, &city.editor.auth, report).await;
    assert_eq!(m.status, StatusCode::CREATED, "{:?}", m.body);
    assert_eq!(m.body["review"], "pending");
    let read = app.get(&format!("/api/indicators/{id}"), &city.coordinator.auth).await;
    // 10 → 15 in one year (+50%) against 10 → 30 in four (+31.6% a year): on track.
    assert_eq!(read.body["status"], "on_track", "{:?}", read.body);
    assert_eq!(read.body["provisional"], true);
    assert_eq!(read.body["measurements"].as_array().unwrap().len(), 1);
    let svg = app.raw(Method::GET, &format!("/api/indicators/{id}/chart.svg"), &city.observer.auth, None).await;
    assert_eq!((svg.status, svg.headers["content-type"].to_str().unwrap()), (StatusCode::OK, "image/svg+xml; charset=utf-8"));
    let stranger = CityFixture::new(app.db(), "quito-stranger").await;
    let svg = app.raw(Method::GET, &format!("/api/indicators/{id}/chart.svg"), &stranger.coordinator.auth, None).await;
    assert_eq!(svg.status, StatusCode::NOT_FOUND);
    // An editor of another area may not report on it.
    let other_editor = person(app.db(), "eco@quito.example.org", false).await;
    app.db()
        .create_member(concerta_store::NewMember {
            city: city.city.id,
            email: "eco@quito.example.org".to_owned(),
            name: "Eco".to_owned(),
            role: concerta_core::Role::Editor,
            area: Some(city.areas[1].id),
        }, concerta_store::AuditActor::System)
        .await
        .unwrap();
    let other = app.post(&uri, &other_editor.auth, json!({"measured_on": "2025-02-01", "value": 16})).await;
    assert_eq!(other.status, StatusCode::FORBIDDEN);
    // The coordinator reviews: returning needs a reason; the editor may not review.
    let mid = m.body["id"].as_str().unwrap();
    let review_uri = format!("/api/measurements/{mid}/review");
    assert_eq!(app.post(&review_uri, &city.editor.auth, json!({"review": "accepted"})).await.status, StatusCode::FORBIDDEN);
    let no_reason = app.post(&review_uri, &city.coordinator.auth, json!({"review": "returned"})).await;
    assert_eq!((no_reason.status, no_reason.body["error"]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("reason")));
    let returned = app.post(&review_uri, &city.coordinator.auth, json!({"review": "returned", "reason": "use the audited figure"})).await;
    assert_eq!(returned.body["review"], "returned");
    let read = app.get(&format!("/api/indicators/{id}"), &city.coordinator.auth).await;
    assert_eq!(read.body["status"], "no_data", "a returned measurement does not count");
    let accepted = app.post(&review_uri, &city.coordinator.auth, json!({"review": "accepted"})).await;
    assert_eq!(accepted.body["review"], "accepted");
    let framework = app.get(&format!("/api/strategies/{strategy}/indicators"), &city.observer.auth).await;
    assert_eq!(framework.body["summary"]["overall"]["on_track"], 1);
    assert_eq!(framework.body["summary"]["overall"]["no_data"], 15);
    let office = framework.body["summary"]["by_level"].as_array().unwrap().iter().find(|l| l["level"] == "office").unwrap().clone();
    assert_eq!(office["counts"]["total"], 4);
    let by_area = framework.body["summary"]["by_area"].as_array().unwrap();
    assert!(by_area.iter().any(|a| a["area_name"] == "Culture" && a["counts"]["on_track"] == 1), "{by_area:?}");
    // A manual override needs a reason and shows instead of the computed status.
    let over_uri = format!("/api/indicators/{id}/status-override");
    let no_reason = put(&app, &over_uri, &city.coordinator.auth, json!({"status": "limited_progress", "reason": " "})).await;
    assert_eq!(no_reason.body["error"]["field"], "reason");
    let over = put(&app, &over_uri, &city.coordinator.auth, json!({"status": "limited_progress", "reason": "the 2025 figure counts a one-off event"})).await;
    assert_eq!((over.body["status"].as_str(), over.body["status_overridden"].as_bool()), (Some("limited_progress"), Some(true)));
    assert_eq!(over.body["assessment"]["status"], "on_track", "the computed status stays visible");
    let cleared = app.call(Method::DELETE, &over_uri, &city.coordinator.auth, None).await;
    assert_eq!(cleared.body["status"], "on_track");
    // Reviews and overrides are in the city's audit log.
    let log = app.get(&city.url("/audit"), &city.coordinator.auth).await;
    let actions: Vec<&str> = log.body["entries"].as_array().or(log.body.as_array()).unwrap().iter().filter_map(|e| e["action"].as_str()).collect();
    assert_eq!(actions.iter().filter(|a| **a == "measurement_reviewed").count(), 2, "{actions:?}");
    assert_eq!(actions.iter().filter(|a| **a == "indicator_status_set").count(), 2, "{actions:?}");
});

test_both_dbs!(bad_input_names_the_field, |db| async move {
    let app = App::new(db);
    let (city, strategy, _) = framework(&app, "lima").await;
    let coord = &city.coordinator.auth;
    let base = json!({
        "code": "T-1", "name": "Trained staff", "level": "office", "unit": "percent", "direction": "higher_is_better",
        "frequency": "annual", "baseline_value": 20, "baseline_date": "2024-01-01", "target_value": 60, "target_date": "2027-01-01"
    });
    let uri = format!("/api/strategies/{strategy}/indicators");
    let with = |key: &str, value: Value| {
        let mut b = base.clone();
        b[key] = value;
        b
    };
    for (body, field) in [
        (with("target_value", json!(10)), "target_value"),      // the wrong direction
        (with("target_value", json!(160)), "target_value"),     // a percentage over 100
        (with("target_date", json!("2023-01-01")), "target_date"),
        (with("baseline_value", json!("20%")), "baseline_value"), // a string where a number goes
        (with("level", json!("city")), "level"),
        (with("sdg", json!(["18.2"])), "sdg"),
        (with("code", json!("not a code")), "code"),
    ] {
        let answer = app.post(&uri, coord, body).await;
        assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY, "{field}: {:?}", answer.body);
        assert_eq!(answer.body["error"]["field"], field, "{:?}", answer.body);
    }
    let made = app.post(&uri, coord, base.clone()).await;
    assert_eq!(made.status, StatusCode::CREATED, "{:?}", made.body);
    assert_eq!(app.post(&uri, coord, base).await.status, StatusCode::CONFLICT);
    let id = made.body["id"].as_str().unwrap();
    let m_uri = format!("/api/indicators/{id}/measurements");
    for (body, field) in [
        (json!({"measured_on": "2023-06-01", "value": 30}), "measured_on"), // before the baseline
        (json!({"measured_on": "2099-01-01", "value": 30}), "measured_on"), // in the future
        (json!({"measured_on": "2025-01-01", "value": 130}), "value"),      // not a percentage
        (json!({"measured_on": "2025-01-01", "value": "30"}), "value"),     // the wrong type
        (json!({"measured_on": "01/01/2025", "value": 30}), "measured_on"),
        (json!({"measured_on": "2025-01-01", "value": 30, "link": "javascript:alert(1)"}), "link"),
    ] {
        let answer = app.post(&m_uri, coord, body).await;
        assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY, "{field}: {:?}", answer.body);
        assert_eq!(answer.body["error"]["field"], field, "{:?}", answer.body);
    }
    assert_eq!(app.get(&m_uri, coord).await.body.as_array().unwrap().len(), 0, "nothing was written");
});

test_both_dbs!(csv_with_a_broken_row_imports_nothing, |db| async move {
    let app = App::new(db);
    let (city, strategy, _) = framework(&app, "rio").await;
    let coord = &city.coordinator.auth;
    let uri = format!("/api/strategies/{strategy}/indicators.csv");
    let good = "code,name,level,unit,direction,frequency,area,baseline_value,baseline_date,target_value,target_date,public\n\
        NEW-1,Cooperation agreements,office,count,higher_is_better,annual,Culture,2,2024-01-01,8,2028-01-01,true\n\
        NEW-2,Response days,local_government,number,lower_is_better,quarterly,,30,2024-01-01,10,2026-01-01,false\n";
    let broken = good.replace("30,2024-01-01,10,2026-01-01", "30,2024-01-01,40,2026-01-01");
    let answer = app.raw(Method::POST, &uri, coord, Some(("text/csv", broken.into_bytes()))).await;
    assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!((answer.body["error"]["row"].as_u64(), answer.body["error"]["field"].as_str()), (Some(3), Some("target_value")), "{:?}", answer.body);
    let unknown_area = good.replace("Culture", "Tourism");
    let answer = app.raw(Method::POST, &uri, coord, Some(("text/csv", unknown_area.into_bytes()))).await;
    assert_eq!((answer.body["error"]["row"].as_u64(), answer.body["error"]["field"].as_str()), (Some(2), Some("area")), "{:?}", answer.body);
    let listed = app.get(&format!("/api/strategies/{strategy}/indicators"), coord).await;
    assert_eq!(listed.body["indicators"].as_array().unwrap().len(), 16, "nothing was imported");
    let answer = app.raw(Method::POST, &uri, coord, Some(("text/csv", good.as_bytes().to_vec()))).await;
    assert_eq!((answer.status, answer.body["created"].as_u64()), (StatusCode::OK, Some(2)), "{:?}", answer.body);
    // Measurements: a broken row names itself; a good file lands pending review.
    let m_uri = format!("/api/strategies/{strategy}/measurements.csv");
    let bad = "indicator_code,measured_on,value\nNEW-1,2025-01-01,3\nNEW-1,2025-06-01,3.5\n";
    let answer = app.raw(Method::POST, &m_uri, coord, Some(("text/csv", bad.as_bytes().to_vec()))).await;
    assert_eq!((answer.body["error"]["row"].as_u64(), answer.body["error"]["field"].as_str()), (Some(3), Some("value")));
    let ok = "indicator_code,measured_on,value,note\nNEW-1,2025-01-01,3,signed in March\nNEW-2,2025-01-01,25,\n";
    let answer = app.raw(Method::POST, &m_uri, coord, Some(("text/csv", ok.as_bytes().to_vec()))).await;
    assert_eq!(answer.body["created"], 2, "{:?}", answer.body);
    // Exports carry the same columns back.
    let exported = app.raw(Method::GET, &uri, coord, None).await;
    assert_eq!(exported.status, StatusCode::OK);
    assert_eq!(exported.headers["content-type"], "text/csv; charset=utf-8");
    let exported = app.raw(Method::GET, &m_uri, coord, None).await;
    assert_eq!(exported.status, StatusCode::OK);
    // Observers may export, not import.
    let answer = app.raw(Method::POST, &uri, &city.observer.auth, Some(("text/csv", good.as_bytes().to_vec()))).await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
});

fn multipart(fields: &[(&str, &str)], file: Option<(&str, &[u8])>) -> (String, Vec<u8>) {
    let boundary = "concerta-test-boundary";
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n").as_bytes());
    }
    if let Some((filename, bytes)) = file {
        body.extend(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"evidence\"; filename=\"{filename}\"\r\nContent-Type: application/octet-stream\r\n\r\n")
                .as_bytes(),
        );
        body.extend(bytes);
        body.extend(b"\r\n");
    }
    body.extend(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

test_both_dbs!(evidence_files_are_checked_and_served_safely, |db| async move {
    let app = App::new(db);
    let (city, _, indicators) = framework(&app, "asuncion").await;
    let coord = &city.coordinator.auth;
    let id = indicators[0]["id"].as_str().unwrap();
    let uri = format!("/api/indicators/{id}/measurements");
    let fields = [("measured_on", "2025-03-01"), ("value", "4"), ("note", "signed")];
    // A "PDF" that is an executable is refused, and nothing is written.
    let (ct, body) = multipart(&fields, Some(("report.pdf", b"MZ\x90\0\x03\0\0\0\x04\0\0\0\xff\xffrest")));
    let answer = app.raw(Method::POST, &uri, coord, Some((&ct, body))).await;
    assert_eq!((answer.status, answer.body["error"]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("evidence")));
    // Too big: refused before it is read whole.
    let (ct, body) = multipart(&fields, Some(("big.pdf", &vec![b'%'; 6 * 1024 * 1024])));
    let answer = app.raw(Method::POST, &uri, coord, Some((&ct, body))).await;
    assert!(matches!(answer.status, StatusCode::PAYLOAD_TOO_LARGE | StatusCode::UNPROCESSABLE_ENTITY), "{:?}", answer.status);
    assert_eq!(app.get(&uri, coord).await.body.as_array().unwrap().len(), 0);
    // A real PDF is kept, and served as an attachment that cannot run in our origin.
    let (ct, body) = multipart(&fields, Some(("../../informe final.pdf", b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\n%%EOF\n")));
    let answer = app.raw(Method::POST, &uri, coord, Some((&ct, body))).await;
    assert_eq!(answer.status, StatusCode::CREATED, "{:?}", answer.body);
    let evidence = &answer.body["evidence"];
    assert_eq!((evidence["filename"].as_str(), evidence["content_type"].as_str()), (Some("informe final.pdf"), Some("application/pdf")));
    let file = app.raw(Method::GET, &format!("/api/evidence/{}", evidence["id"].as_str().unwrap()), coord, None).await;
    assert_eq!(file.status, StatusCode::OK);
    assert_eq!(file.headers["content-type"], "application/pdf");
    assert!(file.headers["content-disposition"].to_str().unwrap().starts_with("attachment"));
    assert_eq!(file.headers["x-content-type-options"], "nosniff");
    // Another city's member gets 404 for it.
    let other = CityFixture::new(app.db(), "other").await;
    let file = app.raw(Method::GET, &format!("/api/evidence/{}", evidence["id"].as_str().unwrap()), &other.coordinator.auth, None).await;
    assert_eq!(file.status, StatusCode::NOT_FOUND);
});

test_both_dbs!(capacities_feed_the_implementation_stage, |db| async move {
    let app = App::new(db);
    let (city, strategy, _) = framework(&app, "havana").await;
    let list = app.get(&format!("/api/strategies/{strategy}/capacities"), &city.editor.auth).await;
    let capacities = list.body["capacities"].as_array().unwrap().clone();
    assert_eq!(capacities.len(), 13, "the template made the checklist too");
    let groups = list.body["groups"].as_array().unwrap();
    assert!(groups.iter().any(|g| g["group"] == "human" && g["section_key"] == "human_capacities" && g["total"] == 4));
    let id = capacities[0]["id"].as_str().unwrap();
    let uri = format!("/api/capacities/{id}");
    // Only the coordinator assigns the area; then that area's editor updates state and evidence.
    let area = json!({"area_id": city.areas[0].id.to_string()});
    assert_eq!(app.call(Method::PATCH, &uri, &city.editor.auth, Some(area.clone())).await.status, StatusCode::FORBIDDEN);
    assert_eq!(app.call(Method::PATCH, &uri, &city.coordinator.auth, Some(area)).await.status, StatusCode::OK);
    let done = app.call(Method::PATCH, &uri, &city.editor.auth, Some(json!({"state": "in_place", "evidence": "Ordinance 3/2025"}))).await;
    assert_eq!((done.status, done.body["state"].as_str()), (StatusCode::OK, Some("in_place")), "{:?}", done.body);
    let bad = app.call(Method::PATCH, &uri, &city.editor.auth, Some(json!({"state": "finished"}))).await;
    assert_eq!(bad.body["error"]["field"], "state");
    assert_eq!(app.call(Method::PATCH, &uri, &city.observer.auth, Some(json!({"state": "in_progress"}))).await.status, StatusCode::FORBIDDEN);
});

test_both_dbs!(three_cities_compare_their_baseline, |db| async move {
    let app = App::new(db);
    let admin = person(app.db(), "admin@network.example.org", true).await;
    let cities = [CityFixture::new(app.db(), "quito").await, CityFixture::new(app.db(), "lima").await, CityFixture::new(app.db(), "madrid").await];
    let net = app.post("/api/networks", &admin.auth, json!({"name": "AL-LAs", "slug": "al-las"})).await;
    assert_eq!(net.status, StatusCode::CREATED);
    let net_id = net.body["id"].as_str().unwrap().to_owned();
    assert_eq!(app.post("/api/networks", &cities[0].coordinator.auth, json!({"name": "X", "slug": "x"})).await.status, StatusCode::FORBIDDEN);
    for c in &cities {
        let added = app.post(&format!("/api/networks/{net_id}/cities"), &admin.auth, json!({"city_id": c.city.id.to_string()})).await;
        assert_eq!(added.status, StatusCode::OK);
    }
    let q = app.post(&format!("/api/networks/{net_id}/questionnaires"), &admin.auth, json!({"title": "Pre-diagnóstico", "period": "2026"})).await;
    assert_eq!(q.status, StatusCode::CREATED, "{:?}", q.body);
    let qid = q.body["id"].as_str().unwrap().to_owned();
    let questions = q.body["questions"].as_array().unwrap().clone();
    assert_eq!(questions.len(), 19);
    let answers = |level: u32| -> Value {
        let mut map = serde_json::Map::new();
        for x in &questions {
            let v = if x["kind"] == "percent" { f64::from(level) * 0.5 } else { f64::from(level) };
            map.insert(x["key"].as_str().unwrap().to_owned(), json!(v));
        }
        Value::Object(map)
    };
    for (c, level) in cities.iter().zip([1, 2, 4]) {
        let uri = format!("/api/questionnaires/{qid}/responses/{}", c.city.id);
        // Only the city's coordinator answers for it.
        assert_eq!(put(&app, &uri, &c.observer.auth, json!({"answers": answers(level)})).await.status, StatusCode::FORBIDDEN);
        let answered = put(&app, &uri, &c.coordinator.auth, json!({"answers": answers(level), "shared": false})).await;
        assert_eq!(answered.status, StatusCode::OK, "{:?}", answered.body);
    }
    let cmp = |c: &CityFixture| {
        let uri = format!("/api/questionnaires/{qid}/comparison?city={}", c.city.id);
        let auth = c.observer.auth.clone();
        let app = &app;
        async move { app.get(&uri, &auth).await }
    };
    for (c, own) in cities.iter().zip([1.0, 2.0, 4.0]) {
        let seen = cmp(c).await;
        assert_eq!(seen.status, StatusCode::OK, "{:?}", seen.body);
        let first = &seen.body["questions"][0];
        assert_eq!((first["spread"]["median"].as_f64(), first["own"].as_f64()), (Some(2.0), Some(own)));
        assert_eq!(first["others"].as_array().unwrap().len(), 0, "nothing shared yet");
    }
    // Lima shares; Quito then sees Lima's raw answers, and only Lima's.
    let uri = format!("/api/questionnaires/{qid}/responses/{}", cities[1].city.id);
    put(&app, &uri, &cities[1].coordinator.auth, json!({"answers": answers(2), "shared": true})).await;
    let seen = cmp(&cities[0]).await;
    let others: Vec<_> = seen.body["questions"][0]["others"].as_array().unwrap().iter().map(|o| o["city_name"].as_str().unwrap().to_owned()).collect();
    assert_eq!(others, ["City lima"]);
    // A member of Quito cannot look through Lima's eyes.
    let spy = app.get(&format!("/api/questionnaires/{qid}/comparison?city={}", cities[1].city.id), &cities[0].coordinator.auth).await;
    assert_eq!(spy.status, StatusCode::NOT_FOUND);
    // A city outside the network sees neither the questionnaire nor the comparison.
    let outsider = CityFixture::new(app.db(), "paris").await;
    assert_eq!(app.get(&format!("/api/questionnaires/{qid}"), &outsider.coordinator.auth).await.status, StatusCode::NOT_FOUND);
    let admin_view = app.get(&format!("/api/questionnaires/{qid}/comparison"), &admin.auth).await;
    assert_eq!(admin_view.body["questions"][0]["others"].as_array().unwrap().len(), 3);
});

test_both_dbs!(public_page_shows_public_indicators_and_nothing_else, |db| async move {
    let app = App::new(db);
    let (city, _, indicators) = framework(&app, "medellin").await;
    let coord = &city.coordinator.auth;
    // ORI-1 public with an accepted and a pending measurement; ORI-2 private with a measurement.
    let public = &indicators[0];
    let private = &indicators[1];
    for (ind, is_public, name) in [(public, true, "Public commitments"), (private, false, "Secret staff count")] {
        let mut body = body_of(ind);
        body["name"] = json!(name);
        body["public"] = json!(is_public);
        body["baseline_value"] = json!(10);
        body["baseline_date"] = json!("2024-01-01");
        body["target_value"] = json!(if ind["unit"] == "percent" { 50 } else { 30 });
        body["target_date"] = json!("2028-01-01");
        let id = ind["id"].as_str().unwrap();
        assert_eq!(put(&app, &format!("/api/indicators/{id}"), coord, body).await.status, StatusCode::OK);
        let m = app.post(&format!("/api/indicators/{id}/measurements"), coord, json!({"measured_on": "2025-01-01", "value": 15, "note": "ok"})).await;
        app.post(&format!("/api/measurements/{}/review", m.body["id"].as_str().unwrap()), coord, json!({"review": "accepted"})).await;
    }
    let id = public["id"].as_str().unwrap();
    app.post(&format!("/api/indicators/{id}/measurements"), coord, json!({"measured_on": "2025-06-01", "value": 99, "note": "figure awaiting review"})).await;
    // Another city with a public indicator of its own.
    let (other, _, other_indicators) = framework(&app, "bogota").await;
    let mut body = body_of(&other_indicators[0]);
    body["name"] = json!("Bogota only");
    body["public"] = json!(true);
    let oid = other_indicators[0]["id"].as_str().unwrap();
    assert_eq!(put(&app, &format!("/api/indicators/{oid}"), &other.coordinator.auth, body).await.status, StatusCode::OK);

    // The approved version is published; a strategy without one is not.
    let strategies = app.db().list_strategies(city.city.id).await.unwrap();
    let version = app
        .db()
        .create_version(concerta_store::NewVersion { strategy: strategies[0].id, name: "Aprobada por el Concejo".to_owned(), created_by: city.coordinator.user.id, sections: vec![] })
        .await
        .unwrap();
    app.db().approve_version(version.id, city.coordinator.user.id).await.unwrap();
    let approved = app.text(Method::GET, &format!("/public/medellin/strategies/{}", strategies[0].id)).await;
    assert!(approved.contains("Aprobada por el Concejo"), "{approved}");
    let other_strategies = app.db().list_strategies(other.city.id).await.unwrap();
    let cross = app.get(&format!("/public/medellin/strategies/{}", other_strategies[0].id), &Auth::None).await;
    assert_eq!(cross.status, StatusCode::NOT_FOUND, "another city's strategy is not reachable through this city");
    let unapproved = app.get(&format!("/public/bogota/strategies/{}", other_strategies[0].id), &Auth::None).await;
    assert_eq!(unapproved.status, StatusCode::NOT_FOUND, "no approved version, nothing published");

    let page = app.raw(Method::GET, "/public/medellin?lang=en", &Auth::None, None).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.headers["content-type"].to_str().unwrap().starts_with("text/html"));
    // (The template escapes `/` in attributes as `&#x2f;`, which browsers read back as `/`.)
    let html = app.text(Method::GET, "/public/medellin?lang=en").await.replace("&#x2f;", "/");
    assert!(html.contains("Public commitments"), "the public indicator is shown");
    assert!(html.contains("<svg") && html.contains("role=\"img\""), "with its chart");
    assert!(html.contains("On track"), "and its status");
    assert!(html.contains("How the status is worked out") && html.contains("R ≥ 95%"), "the rule is on the page");
    assert!(html.contains("Aprobada por el Concejo") && html.contains(&format!("/public/medellin/strategies/{}", strategies[0].id)));
    assert!(!html.contains("Secret staff count"), "no private indicator");
    assert!(!html.contains("figure awaiting review"), "no measurement pending review");
    assert!(!html.contains("@medellin.example.org") && !html.contains('@'), "no member's email");
    assert!(!html.contains("Bogota only"), "nothing of another city");
    assert!(!html.contains("<script"), "no JavaScript needed");
    let es = app.text(Method::GET, "/public/medellin").await;
    assert!(es.contains("<html lang=\"en\">"), "the city's language by default (the fixture's cities speak English)");
    let pt = app.text(Method::GET, "/public/medellin?lang=pt").await;
    assert!(pt.contains("<html lang=\"pt\">") && pt.contains("Prestação de contas"));

    let data = app.get("/public/medellin?format=json", &Auth::None).await;
    assert_eq!(data.status, StatusCode::OK);
    let names: Vec<_> = data.body["indicators"].as_array().unwrap().iter().map(|i| i["name"].as_str().unwrap().to_owned()).collect();
    assert_eq!(names, ["Public commitments"]);
    assert_eq!(data.body["indicators"][0]["measurements"].as_array().unwrap().len(), 1);
    let json_text = data.body.to_string();
    assert!(!json_text.contains('@') && !json_text.contains("Secret") && !json_text.contains("Bogota"));
    let csv = app.text(Method::GET, "/public/medellin?format=csv").await;
    assert!(csv.starts_with("indicator_code,indicator_name"));
    assert_eq!(csv.lines().count(), 2, "{csv}");
    assert!(!csv.contains("Secret") && !csv.contains('@'));
    assert_eq!(app.get("/public/nowhere", &Auth::None).await.status, StatusCode::NOT_FOUND);
    assert_eq!(app.get("/public/medellin?format=xml", &Auth::None).await.status, StatusCode::UNPROCESSABLE_ENTITY);
    let css = app.raw(Method::GET, "/public/_/style.css", &Auth::None, None).await;
    assert_eq!(css.headers["content-type"], "text/css; charset=utf-8");
    // The demo's city name shows once; cities not named in the page stay unnamed.
    let _ = app.db().create_city(NewCity { name: "Hidden".to_owned(), slug: "hidden".to_owned(), locale: Locale::Es }).await.unwrap();
    assert!(!app.text(Method::GET, "/public/medellin").await.contains("Hidden"));
});
