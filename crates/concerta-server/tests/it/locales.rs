//! The language of each email (issue 14): the recipient's when known, else the city's. The
//! recipient's language comes from the invitee (roundtables), the account's holder (`PATCH
//! /api/me`, or a consultation invitation for a new account) or the actors registry; the
//! outbox decides it in one place for every kind of message.

use std::collections::BTreeMap;

use axum::http::{Method, StatusCode};
use concerta_core::{CityId, Locale};
use concerta_server::roundtables::RoundtableMailer;
use concerta_store::{Database, NewUser, test_both_dbs};
use serde_json::{Value, json};

use crate::roundtables::{convene, page, rsvp_path};
use crate::{App, CityFixture};

/// The language of each message of `kind` queued for `city`, by recipient.
async fn languages(db: &Database, city: CityId, kind: &str) -> BTreeMap<String, Locale> {
    let messages = db.list_city_outbox(city, 1000).await.unwrap();
    let mut out = BTreeMap::new();
    for m in messages.into_iter().filter(|m| m.kind == kind) {
        let before = out.insert(m.recipient_email.clone(), m.locale);
        assert!(before.is_none_or(|b| b == m.locale), "{kind} to {} in two languages", m.recipient_email);
    }
    out
}

fn expect(pairs: &[(&str, Locale)]) -> BTreeMap<String, Locale> {
    pairs.iter().map(|(e, l)| ((*e).to_owned(), *l)).collect()
}

test_both_dbs!(each_email_is_in_the_recipients_language_else_the_citys, |db| async move {
    let app = App::new(db.clone());
    // The fixture's city speaks English: the fallback.
    let a = CityFixture::new(&db, "lisboa").await;
    assert_eq!(a.city.locale, Locale::En);

    // An account holder chooses their language; a bad one is refused, naming the field.
    let me = app.call(Method::PATCH, "/api/me", &a.stakeholder.auth, Some(json!({"locale": "pt"}))).await;
    assert_eq!((me.status, me.body["locale"].as_str()), (StatusCode::OK, Some("pt")), "{:?}", me.body);
    assert_eq!(me.body["memberships"].as_array().map(Vec::len), Some(1), "the same shape as GET /api/me");
    assert_eq!(app.get("/api/me", &a.stakeholder.auth).await.body["locale"], "pt");
    let bad = app.call(Method::PATCH, "/api/me", &a.stakeholder.auth, Some(json!({"locale": "fr"}))).await;
    assert_eq!((bad.status, bad.body["error"]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("locale")));
    let cleared = app.call(Method::PATCH, "/api/me", &a.observer.auth, Some(json!({"locale": null}))).await;
    assert_eq!((cleared.status, &cleared.body["locale"]), (StatusCode::OK, &Value::Null));
    let stakeholder = a.stakeholder.user.email.clone();

    // The registry holds an actor's language.
    let uni = app
        .post(&a.url("/actors"), &a.coordinator.auth, json!({"name": "Universidade", "sector": "academia", "email": "ri@uni.example", "locale": "pt"}))
        .await;
    assert_eq!((uni.status, uni.body["locale"].as_str()), (StatusCode::CREATED, Some("pt")), "{:?}", uni.body);
    let bad = app.post(&a.url("/actors"), &a.coordinator.auth, json!({"name": "X", "sector": "academia", "locale": "klingon"})).await;
    assert_eq!((bad.status, bad.body["error"]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("locale")));
    let camara = app
        .post(&a.url("/actors"), &a.coordinator.auth, json!({"name": "Câmara", "sector": "business", "email": "info@camara.example"}))
        .await
        .body;
    let patched = app
        .call(Method::PATCH, &a.url(&format!("/actors/{}", camara["id"].as_str().unwrap())), &a.coordinator.auth, Some(json!({"locale": "es"})))
        .await;
    assert_eq!((patched.status, patched.body["locale"].as_str()), (StatusCode::OK, Some("es")));

    // Account invitations: the account's language, else the city's.
    let made = db
        .create_user(NewUser { email: "fala@example.org".to_owned(), name: "Fala".to_owned(), password_hash: None, network_admin: false })
        .await
        .unwrap();
    db.set_user_locale(made.id, Some(Locale::Pt)).await.unwrap();
    for email in ["fala@example.org", "nuevo@example.org"] {
        let added = app.post(&a.url("/members"), &a.coordinator.auth, json!({"email": email, "name": "N", "role": "observer"})).await;
        assert_eq!(added.status, StatusCode::CREATED, "{:?}", added.body);
    }
    assert_eq!(
        languages(&db, a.city.id, "account_invitation").await,
        expect(&[("fala@example.org", Locale::Pt), ("nuevo@example.org", Locale::En)])
    );

    // Roundtables: the invitee's language as given, else the registry actor's, else the
    // account's, else the city's; for every email of the roundtable.
    let invitees = json!({"invitees": [
        {"actor_id": uni.body["id"]},
        {"actor_id": camara["id"], "locale": "pt"},
        {"email": stakeholder, "name": "Stakeholder"},
        {"email": "english@example.org", "name": "E", "locale": "es"},
        {"email": "nadie@example.org", "name": "Nadie"},
    ]});
    let wanted = expect(&[
        ("ri@uni.example", Locale::Pt),
        ("info@camara.example", Locale::Pt),
        (&stakeholder, Locale::Pt),
        ("english@example.org", Locale::Es),
        ("nadie@example.org", Locale::En),
    ]);
    let rt = convene(&app, &a).await;
    let id = rt["id"].as_str().unwrap().to_owned();
    let invited = app.post(&format!("/api/roundtables/{id}/invitations"), &a.coordinator.auth, invitees.clone()).await;
    assert_eq!(invited.status, StatusCode::CREATED, "{:?}", invited.body);
    let stored: Vec<&Value> = invited.body.as_array().unwrap().iter().map(|i| &i["locale"]).collect();
    assert_eq!(stored, [&json!("pt"), &json!("pt"), &Value::Null, &json!("es"), &Value::Null], "what the invitation keeps");
    assert_eq!(languages(&db, a.city.id, "roundtable_invitation").await, wanted);
    for invitation in invited.body.as_array().unwrap() {
        let path = rsvp_path(&app, &rt, invitation).await;
        assert_eq!(page(&app, Method::POST, &path, Some("answer=accepted")).await.0, StatusCode::SEE_OTHER);
    }
    let moved = app
        .call(Method::PATCH, &format!("/api/roundtables/{id}"), &a.coordinator.auth, Some(json!({"starts_at": "2030-03-11T09:00", "ends_at": "2030-03-11T11:00"})))
        .await;
    assert_eq!(moved.status, StatusCode::OK, "{:?}", moved.body);
    assert_eq!(languages(&db, a.city.id, "roundtable_update").await, wanted);
    let mailer = RoundtableMailer::new(&app.state).await.unwrap();
    let starts: chrono::DateTime<chrono::Utc> = "2030-03-11T14:00:00Z".parse().unwrap();
    assert_eq!(db.queue_roundtable_reminders(starts - chrono::Duration::hours(2), &mailer).await.unwrap().len(), 1);
    assert_eq!(languages(&db, a.city.id, "roundtable_reminder").await, wanted);
    let closed = app.post(&format!("/api/roundtables/{id}/close"), &a.coordinator.auth, json!({})).await;
    assert_eq!(closed.status, StatusCode::OK, "{:?}", closed.body);
    assert_eq!(languages(&db, a.city.id, "roundtable_minutes").await, wanted);
    let other = convene(&app, &a).await;
    let other_id = other["id"].as_str().unwrap();
    app.post(&format!("/api/roundtables/{other_id}/invitations"), &a.coordinator.auth, invitees).await;
    let cancelled = app.post(&format!("/api/roundtables/{other_id}/cancel"), &a.coordinator.auth, json!({})).await;
    assert_eq!(cancelled.status, StatusCode::OK);
    assert_eq!(languages(&db, a.city.id, "roundtable_cancel").await, wanted);

    // Consultations: a new invitee's language becomes their account's; an account holder's
    // own choice is kept; else the city's.
    let s = app.post(&a.url("/strategies"), &a.coordinator.auth, json!({"title": "Estratégia", "template": "seed"})).await.body;
    let closes = (chrono::Utc::now() + chrono::Duration::days(7)).to_rfc3339();
    let c = app.post(&a.url("/consultations"), &a.coordinator.auth, json!({"strategy_id": s["id"], "title": "Consulta", "closes_at": closes})).await;
    assert_eq!(c.status, StatusCode::CREATED, "{:?}", c.body);
    let has = db
        .create_user(NewUser { email: "has@example.org".to_owned(), name: "Has".to_owned(), password_hash: Some("a hash".to_owned()), network_admin: false })
        .await
        .unwrap();
    db.set_user_locale(has.id, Some(Locale::Es)).await.unwrap();
    let body = json!({"invitees": [
        {"email": "conv@example.org", "name": "Conv", "organization": "Org", "sector": "academia", "locale": "pt"},
        {"email": stakeholder, "organization": "Org", "sector": "academia", "locale": "es"},
        {"email": "has@example.org", "organization": "Org", "sector": "business"},
        {"actor_id": uni.body["id"]},
        {"email": "otro@example.org", "organization": "Otra", "sector": "business"},
    ]});
    let consultation = c.body["id"].as_str().unwrap();
    let invited = app.post(&format!("/api/consultations/{consultation}/invitations"), &a.coordinator.auth, body).await;
    assert_eq!(invited.status, StatusCode::CREATED, "{:?}", invited.body);
    assert_eq!(db.get_user_by_email("conv@example.org").await.unwrap().unwrap().locale, Some(Locale::Pt));
    assert_eq!(db.get_user_by_email(&stakeholder).await.unwrap().unwrap().locale, Some(Locale::Pt), "their own choice stays");
    assert_eq!(
        languages(&db, a.city.id, "consultation_account_invitation").await,
        expect(&[
            ("conv@example.org", Locale::Pt),
            (&stakeholder, Locale::Pt),
            ("ri@uni.example", Locale::Pt),
            ("otro@example.org", Locale::En),
        ])
    );
    assert_eq!(languages(&db, a.city.id, "consultation_invitation").await, expect(&[("has@example.org", Locale::Es)]));
});

test_both_dbs!(invitees_are_read_alike_for_roundtables_and_consultations, |db| async move {
    let app = App::new(db.clone());
    let a = CityFixture::new(&db, "porto").await;
    let silent = app.post(&a.url("/actors"), &a.coordinator.auth, json!({"name": "Sem correio", "sector": "business"})).await.body;
    let rt = convene(&app, &a).await;
    let s = app.post(&a.url("/strategies"), &a.coordinator.auth, json!({"title": "Estratégia", "template": "seed"})).await.body;
    let closes = (chrono::Utc::now() + chrono::Duration::days(7)).to_rfc3339();
    let c = app.post(&a.url("/consultations"), &a.coordinator.auth, json!({"strategy_id": s["id"], "title": "Consulta", "closes_at": closes})).await;
    let urls = [
        format!("/api/roundtables/{}/invitations", rt["id"].as_str().unwrap()),
        format!("/api/consultations/{}/invitations", c.body["id"].as_str().unwrap()),
    ];
    // The same refusal, with the same words, from both.
    for url in &urls {
        for (body, field, message) in [
            (json!({"invitees": [{"actor_id": silent["id"]}]}), "invitees[0].email", "is required (the actor has no address)"),
            (json!({"invitees": [{"email": "a@b.example", "name": "A", "organization": "O", "sector": "academia", "locale": "fr"}]}), "invitees[0].locale", ""),
            (json!({"invitees": []}), "invitees", "must name at least one invitee"),
        ] {
            let answer = app.post(url, &a.coordinator.auth, body).await;
            assert_eq!((answer.status, answer.body["error"]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some(field)), "{url}");
            assert!(answer.body["error"]["message"].as_str().unwrap().contains(message), "{url}: {:?}", answer.body);
        }
        let too_many: Vec<Value> = (0..501).map(|i| json!({"email": format!("p{i}@example.org"), "name": "P"})).collect();
        let answer = app.post(url, &a.coordinator.auth, json!({"invitees": too_many})).await;
        assert_eq!((answer.status, answer.body["error"]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("invitees")), "{url}");
    }
    assert!(db.list_city_outbox(a.city.id, 10).await.unwrap().iter().all(|m| !m.kind.starts_with("roundtable") && !m.kind.starts_with("consultation")));
});
