//! Multi-actor roundtables through the router: convening with validation that names the
//! field, permissions, invitations from the registry and by address, the sector balance, the
//! RSVP page (answers recorded, changeable; expired, forged and other roundtables' tokens
//! refused with nothing changed), updates and cancellation, reminders once per start time,
//! closing with the minutes' agreements beside their sections and on the public page.

use automerge::transaction::Transactable;
use automerge::{ActorId, AutoCommit, ObjType, ROOT, ReadDoc};
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use concerta_content::stored::load_document;
use concerta_core::{InvitationId, RoundtableId};
use concerta_roundtable::token::{Claim, sign};
use concerta_server::roundtables::RoundtableMailer;
use concerta_store::{Database, test_both_dbs};
use serde_json::{Value, json};
use tower::ServiceExt;

use crate::{App, Auth, CityFixture};

fn body() -> Value {
    json!({
        "title": "Mesa de cooperación internacional",
        "purpose": "Acordar prioridades <b>2027</b>",
        "agenda": "1. Apertura\n2. Acuerdos",
        "starts_at": "2030-03-10T10:00",
        "ends_at": "2030-03-10T12:00",
        "timezone": "America/Bogota",
        "location": "Alcaldía, Salón 3",
        "capacity": 30
    })
}

pub(crate) async fn convene(app: &App, city: &CityFixture) -> Value {
    let created = app.post(&city.url("/roundtables"), &city.coordinator.auth, body()).await;
    assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
    created.body
}

/// A page that is not JSON: status, headers, body text.
pub(crate) async fn page(app: &App, method: Method, uri: &str, form: Option<&str>) -> (StatusCode, axum::http::HeaderMap, String) {
    let req = Request::builder().method(method).uri(uri);
    let req = match form {
        Some(f) => req.header(header::CONTENT_TYPE, "application/x-www-form-urlencoded").body(Body::from(f.to_owned())),
        None => req.body(Body::empty()),
    }
    .unwrap();
    let response = concerta_server::router(app.state.clone()).oneshot(req).await.unwrap();
    let (status, headers) = (response.status(), response.headers().clone());
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
    (status, headers, String::from_utf8(bytes.to_vec()).unwrap())
}

fn path_of(url: &str) -> String {
    let at = url.find("/rsvp/").expect("an RSVP link");
    url[at..].to_owned()
}

pub(crate) async fn rsvp_path(app: &App, rt: &Value, invitation: &Value) -> String {
    let mailer = RoundtableMailer::new(&app.state).await.unwrap();
    let rt = app.db().get_roundtable(rt["id"].as_str().unwrap().parse().unwrap()).await.unwrap();
    let inv = app.db().get_invitation(invitation["id"].as_str().unwrap().parse().unwrap()).await.unwrap();
    path_of(&mailer.rsvp_url(&rt, &inv))
}

async fn answers(app: &App, city: &CityFixture, rt: &Value) -> Vec<(String, String)> {
    let list = app.get(&format!("/api/roundtables/{}/invitations", rt["id"].as_str().unwrap()), &city.coordinator.auth).await;
    assert_eq!(list.status, StatusCode::OK);
    list.body.as_array().unwrap().iter().map(|i| (i["email"].as_str().unwrap().to_owned(), i["rsvp"].as_str().unwrap().to_owned())).collect()
}

test_both_dbs!(coordinators_convene_and_bad_input_names_the_field, |db| async move {
    let app = App::new(db.clone());
    let a = CityFixture::new(&db, "medellin").await;
    let b = CityFixture::new(&db, "quito").await;
    let rt = convene(&app, &a).await;
    assert_eq!(rt["status"], "scheduled");
    assert_eq!(rt["sequence"], 0);
    assert_eq!(rt["timezone"], "America/Bogota");
    assert_eq!(rt["starts_at"], "2030-03-10T15:00:00Z");
    assert_eq!(rt["starts_local"], "2030-03-10T10:00:00");
    assert_eq!(rt["capacity"], 30);
    assert_eq!(rt["remind_before_minutes"], 1440);
    assert!(rt["minutes_url"].as_str().unwrap().starts_with("automerge:"));

    let cases = [
        ("timezone", json!({"timezone": "Mars/Olympus_Mons"})),
        ("ends_at", json!({"ends_at": "2030-03-10T09:00"})),
        ("starts_at", json!({"starts_at": "next tuesday"})),
        ("capacity", json!({"capacity": 0})),
        ("title", json!({"title": ""})),
        ("location", json!({"location": ""})),
        ("online_url", json!({"online_url": "javascript:alert(1)"})),
    ];
    for (field, change) in cases {
        let mut b = body();
        for (k, v) in change.as_object().unwrap() {
            b[k] = v.clone();
        }
        let answer = app.post(&a.url("/roundtables"), &a.coordinator.auth, b).await;
        assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY, "{field}: {:?}", answer.body);
        assert_eq!(answer.body["error"]["field"], field, "{:?}", answer.body);
    }
    let mut missing = body();
    missing.as_object_mut().unwrap().remove("timezone");
    let answer = app.post(&a.url("/roundtables"), &a.coordinator.auth, missing).await;
    assert_eq!((answer.status, answer.body["error"]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("timezone")));

    // Only coordinators convene; members see; another city sees nothing.
    for who in [&a.editor.auth, &a.observer.auth] {
        assert_eq!(app.post(&a.url("/roundtables"), who, body()).await.status, StatusCode::FORBIDDEN);
        assert_eq!(app.get(&a.url("/roundtables"), who).await.body.as_array().unwrap().len(), 1);
    }
    assert_eq!(app.post(&a.url("/roundtables"), &a.stakeholder.auth, body()).await.status, StatusCode::FORBIDDEN);
    assert_eq!(app.get(&a.url("/roundtables"), &a.stakeholder.auth).await.status, StatusCode::FORBIDDEN);
    let id = rt["id"].as_str().unwrap();
    assert_eq!(app.get(&format!("/api/roundtables/{id}"), &b.coordinator.auth).await.status, StatusCode::NOT_FOUND);
    let cross = app.call(Method::PATCH, &format!("/api/roundtables/{id}"), &b.coordinator.auth, Some(json!({"title": "x"}))).await;
    assert_eq!(cross.status, StatusCode::NOT_FOUND);
    assert_eq!(app.post(&format!("/api/roundtables/{id}/cancel"), &a.editor.auth, json!({})).await.status, StatusCode::FORBIDDEN);

    // The security log has the convening.
    let audit = app.get(&a.url("/audit"), &a.coordinator.auth).await;
    let actions: Vec<&str> = audit.body.as_array().unwrap().iter().filter_map(|e| e["action"].as_str()).collect();
    assert!(actions.contains(&"roundtable_created"), "{actions:?}");
});

test_both_dbs!(invitations_from_the_registry_and_the_sector_balance, |db| async move {
    let app = App::new(db.clone());
    let a = CityFixture::new(&db, "lima").await;
    let b = CityFixture::new(&db, "asuncion").await;
    let actor = |name: &str, sector: &str, email: Option<&str>| json!({"name": name, "sector": sector, "email": email});
    let pucp = app.post(&a.url("/actors"), &a.coordinator.auth, actor("PUCP", "academia", Some("ri@pucp.example.org"))).await.body;
    app.post(&a.url("/actors"), &a.coordinator.auth, actor("Cámara de Comercio", "business", None)).await;
    app.post(&a.url("/actors"), &a.coordinator.auth, actor("Fundación Ciudad", "civil_society", None)).await;
    let other_city_actor = app.post(&b.url("/actors"), &b.coordinator.auth, actor("UNA", "academia", Some("x@una.example.org"))).await.body;
    let rt = convene(&app, &a).await;
    let url = format!("/api/roundtables/{}/invitations", rt["id"].as_str().unwrap());

    let invited = app
        .post(
            &url,
            &a.coordinator.auth,
            json!({"invitees": [
                {"actor_id": pucp["id"]},
                {"email": " Ana.Perez@Example.org ", "name": "Pérez, Ana", "organization": "Red de Ciudades", "sector": "city_network"},
            ]}),
        )
        .await;
    assert_eq!(invited.status, StatusCode::CREATED, "{:?}", invited.body);
    let list = invited.body.as_array().unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(list[0]["email"], "ri@pucp.example.org");
    assert_eq!(list[0]["sector"], "academia");
    assert_eq!(list[0]["organization"], "PUCP");
    assert_eq!(list[1]["email"], "ana.perez@example.org");
    assert_eq!(list[1]["name"], "Pérez, Ana");
    for i in list {
        assert_eq!(i["rsvp"], "pending");
        assert!(["queued", "sent", "deferred", "failed"].contains(&i["delivery"].as_str().unwrap()), "{i:?}");
    }
    // The same address again is not a second invitation.
    let again = app.post(&url, &a.coordinator.auth, json!({"invitees": [{"email": "ana.perez@example.org", "name": "Ana"}]})).await;
    assert_eq!(again.status, StatusCode::CREATED);
    assert_eq!(app.get(&url, &a.coordinator.auth).await.body.as_array().unwrap().len(), 2);

    // Bad invitees name the field; nothing is written.
    let bad = [
        (json!({"invitees": [{"email": "not-an-address", "name": "X"}]}), "invitees[0].email"),
        (json!({"invitees": [{"email": "a@b.example", "name": "X"}, {"email": "c@d.example", "name": "Y", "sector": "press"}]}), "invitees[1].sector"),
        (json!({"invitees": [{"actor_id": other_city_actor["id"]}]}), "invitees[0].actor_id"),
        (json!({"invitees": []}), "invitees"),
    ];
    for (b, field) in bad {
        let answer = app.post(&url, &a.coordinator.auth, b).await;
        assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY, "{field}");
        assert_eq!(answer.body["error"]["field"], field);
    }
    assert_eq!(app.get(&url, &a.coordinator.auth).await.body.as_array().unwrap().len(), 2);
    assert_eq!(app.post(&url, &a.editor.auth, json!({"invitees": [{"email": "e@x.example", "name": "E"}]})).await.status, StatusCode::FORBIDDEN);

    // The balance: academia invited, business and civil society in the registry but absent.
    let balance = app.get(&format!("/api/roundtables/{}/balance", rt["id"].as_str().unwrap()), &a.observer.auth).await;
    assert_eq!(balance.status, StatusCode::OK);
    assert_eq!(balance.body["unrepresented"], json!(["business", "civil_society"]));
    let rows = balance.body["sectors"].as_array().unwrap();
    let academia = rows.iter().find(|r| r["sector"] == "academia").unwrap();
    assert_eq!((academia["in_registry"].as_u64(), academia["invited"].as_u64(), academia["accepted"].as_u64()), (Some(1), Some(1), Some(0)));
    let network = rows.iter().find(|r| r["sector"] == "city_network").unwrap();
    assert_eq!((network["in_registry"].as_u64(), network["invited"].as_u64()), (Some(0), Some(1)));
});

test_both_dbs!(the_rsvp_page_records_answers_and_refuses_bad_tokens, |db| async move {
    let app = App::new(db.clone());
    let a = CityFixture::new(&db, "montevideo").await;
    let rt = convene(&app, &a).await;
    let other = convene(&app, &a).await;
    let url = format!("/api/roundtables/{}/invitations", rt["id"].as_str().unwrap());
    let invited = app
        .post(&url, &a.coordinator.auth, json!({"invitees": [
            {"email": "ana@example.org", "name": "Pérez, Ana", "organization": "UdelaR", "sector": "academia"},
            {"email": "luis@example.org", "name": "Luis", "organization": "<script>x</script>", "sector": "business"},
        ]}))
        .await
        .body;
    let ana = &invited[0];
    let path = rsvp_path(&app, &rt, ana).await;

    // The page, in the language asked for, escaped.
    let (status, headers, html) = page(&app, Method::GET, &format!("{path}?lang=es"), None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap().contains("default-src 'none'"));
    assert!(html.contains("Mesa de cooperación internacional"));
    assert!(html.contains("¿Asistirá?"));
    assert!(html.contains("Acordar prioridades &lt;b&gt;2027&lt;&#x2f;b&gt;") || html.contains("Acordar prioridades &lt;b&gt;2027&lt;/b&gt;"), "{html}");
    assert!(html.contains("2030-03-10 10:00"));
    assert!(html.contains(r#"name="answer" value="accepted""#));
    let (_, _, english) = page(&app, Method::GET, &format!("{path}?lang=en"), None).await;
    assert!(english.contains("Will you attend?"));
    let (_, _, portuguese) = page(&app, Method::GET, &format!("{path}?lang=pt"), None).await;
    assert!(portuguese.contains("Você vai participar?"));

    // Answering: recorded at once for the coordinator, and changeable.
    let (status, headers, _) = page(&app, Method::POST, &path, Some("answer=accepted")).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(headers[header::LOCATION].to_str().unwrap().ends_with("saved=1"));
    assert_eq!(answers(&app, &a, &rt).await, [("ana@example.org".into(), "accepted".into()), ("luis@example.org".into(), "pending".into())]);
    let (status, _, _) = page(&app, Method::POST, &path, Some("answer=tentative")).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(answers(&app, &a, &rt).await[0].1, "tentative");
    let (_, _, saved) = page(&app, Method::GET, &format!("{path}?lang=en&saved=1"), None).await;
    assert!(saved.contains("Answer saved:"));

    // A bad answer, a forged token, an expired one and one naming another roundtable change
    // nothing and say why.
    let (status, _, html) = page(&app, Method::POST, &path, Some("answer=maybe-later")).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("role=\"alert\""));
    let mut forged = path.clone();
    let last = forged.pop().unwrap();
    forged.push(if last == 'A' { 'B' } else { 'A' });
    let (status, _, html) = page(&app, Method::POST, &format!("{forged}?lang=en"), Some("answer=declined")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(html.contains("This answer link is not valid"), "{html}");
    let key = db.rsvp_key().await.unwrap();
    let ana_id: InvitationId = ana["id"].as_str().unwrap().parse().unwrap();
    let rt_id: RoundtableId = rt["id"].as_str().unwrap().parse().unwrap();
    let expired = sign(&key, &Claim { invitation: ana_id, roundtable: rt_id, expires_at: "2020-01-01T00:00:00Z".parse().unwrap() });
    let (status, _, html) = page(&app, Method::POST, &format!("/rsvp/{expired}?lang=en"), Some("answer=declined")).await;
    assert_eq!(status, StatusCode::GONE);
    assert!(html.contains("This answer link has expired"));
    let other_id: RoundtableId = other["id"].as_str().unwrap().parse().unwrap();
    let crossed = sign(&key, &Claim { invitation: ana_id, roundtable: other_id, expires_at: "2031-01-01T00:00:00Z".parse().unwrap() });
    let (status, _, _) = page(&app, Method::POST, &format!("/rsvp/{crossed}"), Some("answer=declined")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _, _) = page(&app, Method::GET, "/rsvp/not-a-token", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(answers(&app, &a, &rt).await[0].1, "tentative");

    // Once cancelled, the page says so and answers are refused.
    assert_eq!(app.post(&format!("/api/roundtables/{rt_id}/cancel"), &a.coordinator.auth, json!({})).await.status, StatusCode::OK);
    let (status, _, html) = page(&app, Method::GET, &format!("{path}?lang=en"), None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("This roundtable was cancelled."));
    assert!(!html.contains(r#"name="answer""#));
    let (status, _, _) = page(&app, Method::POST, &path, Some("answer=accepted")).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(answers(&app, &a, &rt).await[0].1, "tentative");
});

test_both_dbs!(changes_of_time_bump_the_sequence_and_cancelling_ends_it, |db| async move {
    let app = App::new(db.clone());
    let a = CityFixture::new(&db, "cdmx").await;
    let rt = convene(&app, &a).await;
    let url = format!("/api/roundtables/{}", rt["id"].as_str().unwrap());
    let patch = |b: Value| app.call(Method::PATCH, &url, &a.coordinator.auth, Some(b));

    let renamed = patch(json!({"title": "Mesa de cultura"})).await;
    assert_eq!(renamed.status, StatusCode::OK);
    assert_eq!((renamed.body["title"].as_str(), renamed.body["sequence"].as_i64()), (Some("Mesa de cultura"), Some(0)));
    let moved = patch(json!({"starts_at": "2030-03-11T09:00", "ends_at": "2030-03-11T11:00"})).await;
    assert_eq!(moved.status, StatusCode::OK, "{:?}", moved.body);
    assert_eq!(moved.body["sequence"], 1);
    assert_eq!(moved.body["starts_at"], "2030-03-11T14:00:00Z");
    let bad = patch(json!({"ends_at": "2030-03-11T08:00"})).await;
    assert_eq!((bad.status, bad.body["error"]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("ends_at")));
    let bad = patch(json!({"capacity": 0})).await;
    assert_eq!((bad.status, bad.body["error"]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("capacity")));
    let unlimited = patch(json!({"capacity": null})).await;
    assert_eq!(unlimited.body["capacity"], Value::Null);

    let cancelled = app.post(&format!("{url}/cancel"), &a.coordinator.auth, json!({})).await;
    assert_eq!(cancelled.status, StatusCode::OK);
    assert_eq!((cancelled.body["status"].as_str(), cancelled.body["sequence"].as_i64()), (Some("cancelled"), Some(2)));
    let after = patch(json!({"title": "again"})).await;
    assert_eq!((after.status, after.body["error"]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("status")));
    let audit = app.get(&a.url("/audit"), &a.coordinator.auth).await;
    let actions: Vec<&str> = audit.body.as_array().unwrap().iter().filter_map(|e| e["action"].as_str()).collect();
    for wanted in ["roundtable_created", "roundtable_changed", "roundtable_cancelled"] {
        assert!(actions.contains(&wanted), "{wanted} in {actions:?}");
    }
});

test_both_dbs!(reminders_are_written_once_per_start_time, |db| async move {
    let app = App::new(db.clone());
    let a = CityFixture::new(&db, "brasilia").await;
    let rt = convene(&app, &a).await;
    let id: RoundtableId = rt["id"].as_str().unwrap().parse().unwrap();
    let mailer = RoundtableMailer::new(&app.state).await.unwrap();
    let starts: chrono::DateTime<chrono::Utc> = "2030-03-10T15:00:00Z".parse().unwrap();
    // Two days before: not due. 23 hours before: due, once, however often asked.
    assert!(db.queue_roundtable_reminders(starts - chrono::Duration::hours(48), &mailer).await.unwrap().is_empty());
    let due = starts - chrono::Duration::hours(23);
    let first = db.queue_roundtable_reminders(due, &mailer).await.unwrap();
    assert_eq!(first.iter().map(|r| r.roundtable_id).collect::<Vec<_>>(), [id]);
    assert!(db.queue_roundtable_reminders(due, &mailer).await.unwrap().is_empty());
    let (again_a, again_b) = tokio::join!(db.queue_roundtable_reminders(due, &mailer), db.queue_roundtable_reminders(due, &mailer));
    assert!(again_a.unwrap().is_empty() && again_b.unwrap().is_empty());
    // After the start, never.
    assert!(db.queue_roundtable_reminders(starts + chrono::Duration::minutes(1), &mailer).await.unwrap().is_empty());
    // Rescheduled: the new time gets its own reminder when it is due, not before.
    let url = format!("/api/roundtables/{id}");
    let moved = app.call(Method::PATCH, &url, &a.coordinator.auth, Some(json!({"starts_at": "2030-03-17T10:00", "ends_at": "2030-03-17T12:00"}))).await;
    assert_eq!(moved.status, StatusCode::OK);
    assert!(db.queue_roundtable_reminders(due, &mailer).await.unwrap().is_empty());
    let new_start: chrono::DateTime<chrono::Utc> = "2030-03-17T15:00:00Z".parse().unwrap();
    assert_eq!(db.queue_roundtable_reminders(new_start - chrono::Duration::hours(2), &mailer).await.unwrap().len(), 1);
    // A cancelled roundtable gets none.
    let other = convene(&app, &a).await;
    app.post(&format!("/api/roundtables/{}/cancel", other["id"].as_str().unwrap()), &a.coordinator.auth, json!({})).await;
    assert!(db.queue_roundtable_reminders(due, &mailer).await.unwrap().is_empty());
});

/// Writes an agreement into a roundtable's minutes the way a client's edit arrives.
async fn record_agreement(db: &Database, minutes_url: &str, text: &str, section_id: Option<&str>) {
    let doc = minutes_url.trim_start_matches("automerge:").to_owned();
    let rows = db.load_doc_rows(&doc).await.unwrap().unwrap();
    let (current, _) = load_document(rows).unwrap();
    let mut edit = AutoCommit::load(&current.save()).unwrap().with_actor(ActorId::random());
    let (_, notes) = edit.get(ROOT, "notes").unwrap().unwrap();
    edit.splice_text(&notes, 0, 0, "Notas. ").unwrap();
    let (_, list) = edit.get(ROOT, "agreements").unwrap().unwrap();
    let at = edit.length(&list);
    let item = edit.insert_object(&list, at, ObjType::Map).unwrap();
    edit.put(&item, "id", format!("a{at}")).unwrap();
    edit.put(&item, "text", text).unwrap();
    if let Some(s) = section_id {
        edit.put(&item, "section_id", s).unwrap();
    }
    edit.commit();
    let change = edit.get_last_local_change().unwrap().raw_bytes().to_vec();
    db.append_doc_chunks("test", &[(doc, 0, change)]).await.unwrap();
}

test_both_dbs!(closing_records_the_agreements_beside_their_sections_and_publicly, |db| async move {
    let app = App::new(db.clone());
    let a = CityFixture::new(&db, "madrid").await;
    let strategy = app.post(&a.url("/strategies"), &a.coordinator.auth, json!({"title": "Estrategia", "template": "seed"})).await.body;
    let section = strategy["sections"][0]["id"].as_str().unwrap().to_owned();
    let rt = convene(&app, &a).await;
    let minutes = rt["minutes_url"].as_str().unwrap();
    record_agreement(&db, minutes, "Crear un fondo de cooperación", Some(&section)).await;
    record_agreement(&db, minutes, "Reunirse de nuevo en junio", None).await;
    let id = rt["id"].as_str().unwrap();
    assert_eq!(app.post(&format!("/api/roundtables/{id}/close"), &a.editor.auth, json!({})).await.status, StatusCode::FORBIDDEN);
    let closed = app.post(&format!("/api/roundtables/{id}/close"), &a.coordinator.auth, json!({})).await;
    assert_eq!(closed.status, StatusCode::OK, "{:?}", closed.body);
    assert_eq!(closed.body["status"], "closed");

    let beside = app.get(&format!("/api/sections/{section}/agreements"), &a.editor.auth).await;
    assert_eq!(beside.status, StatusCode::OK);
    let texts: Vec<&str> = beside.body.as_array().unwrap().iter().map(|a| a["text"].as_str().unwrap()).collect();
    assert_eq!(texts, ["Crear un fondo de cooperación"]);
    assert_eq!(beside.body[0]["roundtable_title"], "Mesa de cooperación internacional");
    assert_eq!(app.get(&format!("/api/sections/{section}/agreements"), &a.stakeholder.auth).await.status, StatusCode::FORBIDDEN);

    let public = app.get(&format!("/public/{}?format=json", a.city.slug), &Auth::None).await;
    assert_eq!(public.status, StatusCode::OK);
    let held = public.body["roundtables"].as_array().unwrap();
    assert_eq!(held.len(), 1);
    assert_eq!(held[0]["title"], "Mesa de cooperación internacional");
    assert_eq!(held[0]["agreements"], json!(["Crear un fondo de cooperación", "Reunirse de nuevo en junio"]));
    assert!(!public.body.to_string().contains("@"), "no addresses on the public page");
    // A scheduled roundtable is not on the public page.
    convene(&app, &a).await;
    let public = app.get(&format!("/public/{}?format=json", a.city.slug), &Auth::None).await;
    assert_eq!(public.body["roundtables"].as_array().unwrap().len(), 1);
    // Closing twice is refused.
    let twice = app.post(&format!("/api/roundtables/{id}/close"), &a.coordinator.auth, json!({})).await;
    assert_eq!(twice.status, StatusCode::UNPROCESSABLE_ENTITY);
});

test_both_dbs!(roundtable_writes_queue_one_message_per_invitee_in_their_transaction, |db| async move {
    use concerta_store::{Delivery, PartDisposition, ROUNDTABLE_INVITATION_SUBJECT};
    let app = App::new(db.clone());
    let a = CityFixture::new(&db, "bogota").await;
    let b = CityFixture::new(&db, "caracas").await;
    let foreign = app.post(&b.url("/actors"), &b.coordinator.auth, json!({"name": "UCV", "sector": "academia", "email": "x@ucv.example"})).await.body;
    let rt = convene(&app, &a).await;
    let id = rt["id"].as_str().unwrap();
    let url = format!("/api/roundtables/{id}/invitations");
    let ids = |list: &Value| -> Vec<uuid::Uuid> { list.as_array().unwrap().iter().map(|i| i["id"].as_str().unwrap().parse().unwrap()).collect() };
    let messages = |ids: Vec<uuid::Uuid>| {
        let db = db.clone();
        async move { db.list_outbox_by_subject(ROUNDTABLE_INVITATION_SUBJECT, &ids).await.unwrap() }
    };

    // A write that fails half-way queues nothing: the outbox row commits with the write.
    let refused = app
        .post(&url, &a.coordinator.auth, json!({"invitees": [{"email": "ana@example.org", "name": "Ana"}, {"actor_id": foreign["id"]}]}))
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(db.list_city_outbox(a.city.id, 100).await.unwrap().is_empty());

    let invited = app
        .post(&url, &a.coordinator.auth, json!({"invitees": [
            {"email": "ana@example.org", "name": "Pérez, Ana", "sector": "academia"},
            {"email": "luis@example.org", "name": "Luis", "sector": "business"},
        ]}))
        .await;
    assert_eq!(invited.status, StatusCode::CREATED);
    let all = ids(&invited.body);
    let queued = messages(all.clone()).await;
    assert_eq!(queued.len(), 2, "one message per invitee");
    for (inv, m) in invited.body.as_array().unwrap().iter().zip(&queued) {
        assert_eq!(m.kind, "roundtable_invitation");
        assert_eq!(m.status, Delivery::Queued);
        assert_eq!(inv["message_id"], json!(m.id), "the invitation records its latest email");
        assert_eq!(inv["delivery"], "queued");
        assert_eq!(m.recipient_email, inv["email"].as_str().unwrap());
        let dispositions: Vec<_> = m.parts.iter().map(|p| (p.disposition, p.content_type.as_str())).collect();
        assert_eq!(
            dispositions,
            [
                (PartDisposition::Alternative, "text/calendar; method=REQUEST; charset=UTF-8"),
                (PartDisposition::Attachment, "application/ics; name=\"invite.ics\""),
            ]
        );
        assert!(m.parts[0].content.contains("METHOD:REQUEST\r\n"));
        let rsvp = m.payload["rsvp_path"].as_str().unwrap();
        assert!(rsvp.starts_with("/rsvp/") && m.parts[0].content.replace("\r\n ", "").contains(rsvp), "the calendar carries the RSVP link");
        assert_eq!(m.payload["when"], "2030-03-10 10:00–12:00 (America/Bogota)");
    }
    // The same address again: no second invitation, no second email.
    app.post(&url, &a.coordinator.auth, json!({"invitees": [{"email": "ana@example.org", "name": "Ana"}]})).await;
    assert_eq!(messages(all.clone()).await.len(), 2);

    // A title change sends nothing; a new time sends updates to those who have not declined.
    let luis = invited.body[1].clone();
    let path = rsvp_path(&app, &rt, &luis).await;
    assert_eq!(page(&app, Method::POST, &path, Some("answer=declined")).await.0, StatusCode::SEE_OTHER);
    let rt_url = format!("/api/roundtables/{id}");
    let patch = |b: Value| app.call(Method::PATCH, &rt_url, &a.coordinator.auth, Some(b));
    patch(json!({"title": "Mesa de cultura"})).await;
    assert_eq!(messages(all.clone()).await.len(), 2);
    patch(json!({"starts_at": "2030-03-11T09:00", "ends_at": "2030-03-11T11:00"})).await;
    let after = messages(all.clone()).await;
    assert_eq!(after.len(), 3);
    assert_eq!((after[2].kind.as_str(), after[2].recipient_email.as_str()), ("roundtable_update", "ana@example.org"));
    assert!(after[2].parts[0].content.contains("SEQUENCE:1\r\n"));
    // Resend: the invitation again, as it stands.
    let ana_id = all[0];
    let resent = app.post(&format!("{url}/{ana_id}/resend"), &a.coordinator.auth, json!({})).await;
    assert_eq!(resent.status, StatusCode::OK);
    let after = messages(all.clone()).await;
    assert_eq!((after.len(), after[3].kind.as_str()), (4, "roundtable_invitation"));
    assert_eq!(resent.body["message_id"], json!(after[3].id));
    // Cancelled: everyone, declined included, gets METHOD:CANCEL.
    app.post(&format!("/api/roundtables/{id}/cancel"), &a.coordinator.auth, json!({})).await;
    let cancels: Vec<_> = messages(all.clone()).await.into_iter().filter(|m| m.kind == "roundtable_cancel").collect();
    assert_eq!(cancels.len(), 2);
    for m in &cancels {
        assert_eq!(m.parts[0].content_type, "text/calendar; method=CANCEL; charset=UTF-8");
        assert!(m.parts[0].content.contains("METHOD:CANCEL\r\n") && m.parts[0].content.contains("STATUS:CANCELLED\r\n"));
    }
});
