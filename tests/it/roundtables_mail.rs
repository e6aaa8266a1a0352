//! Roundtable email through a real SMTP server (aiosmtpd, `tests/smtp/sink.py`), each message
//! parsed by Python's `email` package and each calendar part by Python's `icalendar`
//! (`tests/smtp/ical.py`), two parsers that are not ours:
//!
//! - an invitation is valid MIME (text, HTML and `text/calendar; method=REQUEST` alternatives,
//!   an `invite.ics` attachment) whose calendar carries METHOD, UID, SEQUENCE, DTSTART with
//!   TZID and its VTIMEZONE, ORGANIZER, ATTENDEE (PARTSTAT=NEEDS-ACTION, RSVP=TRUE) and the
//!   RSVP link; the link records the answer, seen by the coordinator;
//! - a change of time sends an update (same UID, SEQUENCE + 1) to those who have not
//!   declined; cancelling sends METHOD:CANCEL with STATUS:CANCELLED to everyone;
//! - each invitation's delivery follows its email: `sent`, or `failed` with the reason of a 550;
//! - a reminder (a meeting in UTC: DTSTART with `Z`) goes out once, to those who have not
//!   declined; closing the meeting sends the minutes to those who accepted;
//! - an invitee whose language is English (chosen, or the registry's) gets the invitation of a
//!   Spanish-speaking city in English, with the same valid calendar part.

use std::time::{Duration, Instant};

use concerta_e2e::mail_sink::{Sink, free_port, parse_ical, smtp_python};
use concerta_e2e::{Api, Server, Store, setup_city};
use serde_json::{Value, json};

const FROM: &str = "ori@medellin.example";

fn part<'a>(message: &'a Value, content_type: &str) -> &'a Value {
    message["parts"]
        .as_array()
        .expect("parts")
        .iter()
        .find(|p| p["content_type"] == content_type)
        .unwrap_or_else(|| panic!("no {content_type} part in {message}"))
}

fn content(message: &Value, content_type: &str) -> String {
    part(message, content_type)["content"].as_str().unwrap_or_else(|| panic!("no content in {message}")).to_owned()
}

/// The RSVP link in a message's plain-text part.
fn rsvp_link(message: &Value) -> String {
    let text = content(message, "text/plain");
    text.split_whitespace().find(|w| w.contains("/rsvp/")).unwrap_or_else(|| panic!("no RSVP link in {text}")).to_owned()
}

/// The messages to `to` whose subject starts with `prefix`, waiting until there are `n`.
async fn wait_for(sink: &Sink, server: &Server, to: &str, prefix: &str, n: usize) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let got: Vec<Value> = sink
            .received()
            .into_iter()
            .filter(|m| m["to_addr"] == to && m["subject"].as_str().is_some_and(|s| s.starts_with(prefix)))
            .collect();
        if got.len() >= n {
            return got;
        }
        assert!(Instant::now() < deadline, "{} of {n} «{prefix}» messages to {to} arrived:\n{}", got.len(), server.log_tail(40));
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Checks the MIME shape of a roundtable email with a calendar of `method`, and that the
/// alternative and the attachment carry the same object; answers what icalendar read in it.
fn calendar_of(python: &str, m: &Value, method: &str) -> Value {
    assert_eq!(m["defects"], json!([]), "MIME defects: {m}");
    assert_eq!(m["mime_version"], "1.0");
    assert_eq!(m["from_name"], "Medellín", "the city's name is the sender name");
    assert_eq!(m["from_addr"], FROM);
    assert_eq!(m["content_type"], "multipart/mixed", "alternatives plus the attachment: {m}");
    let types: Vec<&str> = m["parts"].as_array().unwrap().iter().map(|p| p["content_type"].as_str().unwrap()).collect();
    assert_eq!(types, ["multipart/mixed", "multipart/alternative", "text/plain", "text/html", "text/calendar", "application/ics"], "{m}");
    let alternative = part(m, "text/calendar");
    assert_eq!(alternative["params"]["method"], method, "the MIME method parameter: {alternative}");
    assert!(alternative["disposition"].is_null(), "the calendar alternative is inline: {alternative}");
    let attachment = part(m, "application/ics");
    assert_eq!(attachment["disposition"], "attachment");
    assert_eq!(attachment["filename"], "invite.ics");
    let ics = content(m, "text/calendar");
    assert_eq!(content(m, "application/ics"), ics, "the attachment is the same object");
    assert!(ics.contains("\r\n"), "iCalendar lines end in CRLF");
    let cal = parse_ical(python, &ics);
    assert_eq!(cal["errors"], json!([]), "{cal}");
    assert_eq!(cal["method"], method, "{cal}");
    assert_eq!(cal["version"], "2.0");
    assert_eq!(cal["events"].as_array().map(Vec::len), Some(1), "{cal}");
    cal
}

fn event(cal: &Value) -> &Value {
    &cal["events"][0]
}

async fn invitations(api: &Api, rt: &str) -> Vec<Value> {
    api.get(&format!("/api/roundtables/{rt}/invitations")).await.expect(200).as_array().expect("a list").clone()
}

fn by_email<'a>(list: &'a [Value], email: &str) -> &'a Value {
    list.iter().find(|i| i["email"] == email).unwrap_or_else(|| panic!("{email} not in {list:?}"))
}

/// Polls the coordinator's status table until `email`'s delivery is `delivery`.
async fn until_delivery(api: &Api, server: &Server, rt: &str, email: &str, delivery: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let list = invitations(api, rt).await;
        let inv = by_email(&list, email).clone();
        if inv["delivery"] == delivery {
            return inv;
        }
        assert!(Instant::now() < deadline, "{email} is {} not {delivery}:\n{}", inv["delivery"], server.log_tail(30));
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Answers on the RSVP page as a browser without an account would (a form post).
async fn answer(link: &str, answer: &str) {
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let page = http.get(format!("{link}?lang=es")).send().await.expect("the RSVP page");
    assert_eq!(page.status().as_u16(), 200);
    assert!(page.text().await.unwrap().contains("¿Asistirá?"));
    let posted = http
        .post(link)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("answer={answer}"))
        .send()
        .await
        .expect("the RSVP form");
    assert_eq!(posted.status().as_u16(), 303, "the answer is saved and the page shown again");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invitations_updates_and_cancellations_arrive_as_calendar_invitations() {
    let Some(python) = smtp_python() else { return };
    let sink = Sink::start(&python, free_port(), &["--reject", "bounce"]).await;
    let store = Store::sqlite();
    let server = Server::start_with_env(&store, &[("CONCERTA_SMTP_URL", &sink.url()), ("CONCERTA_MAIL_FROM", FROM)]).await;
    let city = setup_city(&store, &server).await;
    let api = Api::bearer(&server, &city.coordinator.token);
    let rt = api
        .post(
            &format!("/api/cities/{}/roundtables", city.id),
            json!({
                "title": "Mesa de cooperación <internacional>",
                "purpose": "Acordar prioridades",
                "agenda": "1. Apertura\n2. Acuerdos",
                "starts_at": "2030-03-10T10:00",
                "ends_at": "2030-03-10T12:00",
                "timezone": "America/Bogota",
                "location": "Alcaldía, Salón 3",
            }),
        )
        .await
        .expect(201);
    let rt_id = rt["id"].as_str().unwrap().to_owned();
    let invited = api
        .post(
            &format!("/api/roundtables/{rt_id}/invitations"),
            json!({"invitees": [
                {"email": "ana@e2e.test", "name": "Pérez, Ana", "organization": "Universidad", "sector": "academia"},
                {"email": "luis@e2e.test", "name": "Luis", "organization": "Cámara", "sector": "business"},
                {"email": "bounce@e2e.test", "name": "Bounce", "organization": "Nadie", "sector": "other"},
            ]}),
        )
        .await
        .expect(201);
    for inv in invited.as_array().unwrap() {
        assert!(inv["message_id"].is_string(), "each invitation has its email in the outbox: {inv}");
        assert!(["queued", "sent"].contains(&inv["delivery"].as_str().unwrap()), "{inv}");
    }

    // The invitation: valid MIME, a calendar invitation icalendar reads as RFC 5546 asks.
    let ana_mail = wait_for(&sink, &server, "ana@e2e.test", "Invitación: Mesa de cooperación", 1).await.remove(0);
    assert_eq!(ana_mail["to_name"], "Pérez, Ana");
    assert_eq!(ana_mail["subject"], "Invitación: Mesa de cooperación <internacional> (2030-03-10 10:00–12:00 (America/Bogota))");
    let html = content(&ana_mail, "text/html");
    assert!(html.contains("Mesa de cooperación &lt;internacional&gt;"), "escaped in HTML: {html}");
    let link = rsvp_link(&ana_mail);
    assert!(link.starts_with(&server.url("/rsvp/")), "{link}");
    assert!(html.replace("&#x2f;", "/").contains(&link), "the HTML part links the same page");
    let cal = calendar_of(&python, &ana_mail, "REQUEST");
    let ev = event(&cal);
    let uid = ev["uid"].as_str().unwrap().to_owned();
    assert!(uid.starts_with(&rt_id), "a UID made of the roundtable's id: {uid}");
    assert_eq!(ev["sequence"], 0);
    assert_eq!(ev["status"], "CONFIRMED");
    assert_eq!(ev["summary"], "Mesa de cooperación <internacional>");
    assert_eq!(ev["location"], "Alcaldía, Salón 3");
    assert_eq!(ev["dtstart"]["value"], "2030-03-10T10:00:00");
    assert_eq!(ev["dtstart"]["tzid"], "America/Bogota");
    assert_eq!(ev["dtend"]["value"], "2030-03-10T12:00:00");
    assert!(cal["timezones"].as_array().unwrap().contains(&json!("America/Bogota")), "the VTIMEZONE of the TZID: {cal}");
    assert_eq!(ev["dtstamp"]["utc"], true);
    assert_eq!(ev["organizer"]["value"], format!("mailto:{FROM}"));
    assert_eq!(ev["organizer"]["params"]["CN"], "Medellín");
    let attendees = ev["attendees"].as_array().unwrap();
    assert_eq!(attendees.len(), 1, "each invitee sees only themself: {attendees:?}");
    assert_eq!(attendees[0]["value"], "mailto:ana@e2e.test");
    assert_eq!(attendees[0]["params"]["CN"], "Pérez, Ana", "a comma inside a quoted parameter stays one value");
    assert_eq!(attendees[0]["params"]["PARTSTAT"], "NEEDS-ACTION");
    assert_eq!(attendees[0]["params"]["RSVP"], "TRUE");
    assert!(ev["description"].as_str().unwrap().contains(&link), "the calendar carries the RSVP link: {ev}");

    // Delivery follows the email: sent, and failed with the reason of the 550.
    until_delivery(&api, &server, &rt_id, "ana@e2e.test", "sent").await;
    let bounced = until_delivery(&api, &server, &rt_id, "bounce@e2e.test", "failed").await;
    let reason = bounced["delivery_error"].as_str().unwrap_or_default();
    assert!(reason.contains("550") && reason.contains("no such user"), "the SMTP server's answer: {bounced}");

    // The RSVP link works without an account; the coordinator sees the answer at once.
    answer(&link, "accepted").await;
    let list = invitations(&api, &rt_id).await;
    assert_eq!(by_email(&list, "ana@e2e.test")["rsvp"], "accepted");
    assert_eq!(api.get(&format!("/api/roundtables/{rt_id}")).await.expect(200)["accepted"], 1);
    let luis_mail = wait_for(&sink, &server, "luis@e2e.test", "Invitación:", 1).await.remove(0);
    let luis_cal = calendar_of(&python, &luis_mail, "REQUEST");
    assert_eq!(event(&luis_cal)["uid"], json!(uid), "one UID per roundtable, whoever receives it");
    answer(&rsvp_link(&luis_mail), "declined").await;
    assert_eq!(by_email(&invitations(&api, &rt_id).await, "luis@e2e.test")["rsvp"], "declined");

    // A new time: an update, same UID, SEQUENCE + 1, to those who have not declined.
    let moved = api
        .patch(&format!("/api/roundtables/{rt_id}"), json!({"starts_at": "2030-03-11T09:00", "ends_at": "2030-03-11T11:30"}))
        .await
        .expect(200);
    assert_eq!(moved["sequence"], 1);
    let update = wait_for(&sink, &server, "ana@e2e.test", "Cambio:", 1).await.remove(0);
    let cal = calendar_of(&python, &update, "REQUEST");
    let ev = event(&cal);
    assert_eq!(ev["uid"], json!(uid));
    assert_eq!(ev["sequence"], 1);
    assert_eq!(ev["dtstart"]["value"], "2030-03-11T09:00:00");
    assert_eq!(ev["dtstart"]["tzid"], "America/Bogota");
    assert_eq!(ev["dtend"]["value"], "2030-03-11T11:30:00");
    assert_eq!(ev["attendees"][0]["params"]["PARTSTAT"], "ACCEPTED", "her answer so far");
    // The update's link (its expiry follows the new end) answers, and the old one still does.
    answer(&rsvp_link(&update), "accepted").await;
    answer(&link, "accepted").await;
    let inv = until_delivery(&api, &server, &rt_id, "ana@e2e.test", "sent").await;
    assert_eq!(inv["sent_sequence"], 1);

    // Cancelled: METHOD:CANCEL, STATUS:CANCELLED, same UID, to every invitee.
    let cancelled = api.post(&format!("/api/roundtables/{rt_id}/cancel"), json!({})).await.expect(200);
    assert_eq!(cancelled["sequence"], 2);
    for to in ["ana@e2e.test", "luis@e2e.test"] {
        let m = wait_for(&sink, &server, to, "Cancelada:", 1).await.remove(0);
        let cal = calendar_of(&python, &m, "CANCEL");
        let ev = event(&cal);
        assert_eq!(ev["uid"], json!(uid));
        assert_eq!(ev["sequence"], 2);
        assert_eq!(ev["status"], "CANCELLED");
        assert_eq!(ev["attendees"][0]["value"], format!("mailto:{to}"));
    }
    // Luis (declined) got no update; nobody got anything twice.
    let all = sink.received();
    let about = |to: &str, prefix: &str| {
        all.iter().filter(|m| m["to_addr"] == to && m["subject"].as_str().unwrap_or_default().starts_with(prefix)).count()
    };
    assert_eq!(about("luis@e2e.test", "Cambio:"), 0, "no update to whoever declined");
    assert_eq!((about("ana@e2e.test", "Invitación:"), about("ana@e2e.test", "Cambio:"), about("ana@e2e.test", "Cancelada:")), (1, 1, 1));
    assert!(all.iter().all(|m| m["to_addr"] != "bounce@e2e.test"), "the rejected address never receives");
    // After cancelling, the link shows the cancellation and takes no answer.
    let http = reqwest::Client::new();
    let page = http.get(format!("{link}?lang=en")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("This roundtable was cancelled."), "{page}");
    sink.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_roundtable_reminder_arrives_once_and_the_minutes_go_to_those_who_accepted() {
    let Some(python) = smtp_python() else { return };
    let sink = Sink::start(&python, free_port(), &[]).await;
    let store = Store::sqlite();
    let server = Server::start_with_env(
        &store,
        &[("CONCERTA_SMTP_URL", &sink.url()), ("CONCERTA_MAIL_FROM", FROM), ("CONCERTA_REMINDER_INTERVAL", "1")],
    )
    .await;
    let city = setup_city(&store, &server).await;
    let api = Api::bearer(&server, &city.coordinator.token);
    // In three hours, in UTC, reminded two hours before: due in an hour, so not yet.
    let starts = chrono::Utc::now() + chrono::Duration::hours(3);
    let local = |t: chrono::DateTime<chrono::Utc>| t.format("%Y-%m-%dT%H:%M").to_string();
    let rt = api
        .post(
            &format!("/api/cities/{}/roundtables", city.id),
            json!({
                "title": "Mesa de seguimiento",
                "starts_at": local(starts),
                "ends_at": local(starts + chrono::Duration::hours(1)),
                "timezone": "UTC",
                "online_url": "https://meet.example.org/mesa",
                "remind_before_minutes": 120,
            }),
        )
        .await
        .expect(201);
    let rt_id = rt["id"].as_str().unwrap().to_owned();
    api.post(
        &format!("/api/roundtables/{rt_id}/invitations"),
        json!({"invitees": [
            {"email": "ana@e2e.test", "name": "Ana", "organization": "Universidad", "sector": "academia"},
            {"email": "luis@e2e.test", "name": "Luis", "organization": "Cámara", "sector": "business"},
        ]}),
    )
    .await
    .expect(201);
    let ana_mail = wait_for(&sink, &server, "ana@e2e.test", "Invitación:", 1).await.remove(0);
    // A meeting in UTC is written in UTC (`Z`), no VTIMEZONE needed.
    let cal = calendar_of(&python, &ana_mail, "REQUEST");
    let ev = event(&cal);
    assert_eq!(ev["dtstart"]["utc"], true, "{ev}");
    assert!(ev["dtstart"]["tzid"].is_null());
    assert_eq!(ev["dtstart"]["value"], starts.format("%Y-%m-%dT%H:%M:00").to_string());
    let luis_mail = wait_for(&sink, &server, "luis@e2e.test", "Invitación:", 1).await.remove(0);
    answer(&rsvp_link(&luis_mail), "declined").await;
    // Now due: the lead grows to four hours.
    api.patch(&format!("/api/roundtables/{rt_id}"), json!({"remind_before_minutes": 240})).await.expect(200);
    let reminder = wait_for(&sink, &server, "ana@e2e.test", "Recordatorio: Mesa de seguimiento", 1).await.remove(0);
    let cal = calendar_of(&python, &reminder, "REQUEST");
    assert_eq!(event(&cal)["sequence"], 0, "a reminder changes nothing of the meeting");
    assert!(content(&reminder, "text/plain").contains("https://meet.example.org/mesa"));
    // The loop runs every second: three more runs send nothing more.
    let runs = |text: String| {
        text.lines()
            .filter(|l| l.starts_with("concerta_roundtable_reminder_runs_total"))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum::<f64>() as u64
    };
    let metrics = || async { reqwest::get(server.url("/metrics")).await.unwrap().text().await.unwrap() };
    let before = runs(metrics().await);
    let deadline = Instant::now() + Duration::from_secs(60);
    while runs(metrics().await) < before + 3 {
        assert!(Instant::now() < deadline, "the roundtable reminder loop stopped running");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let reminders: Vec<Value> =
        sink.received().into_iter().filter(|m| m["subject"].as_str().unwrap_or_default().starts_with("Recordatorio:")).collect();
    assert_eq!(reminders.len(), 1, "once, and not to whoever declined: {reminders:?}");
    until_delivery(&api, &server, &rt_id, "ana@e2e.test", "sent").await;

    // Closing the meeting sends the minutes to those who accepted, without a calendar.
    answer(&rsvp_link(&ana_mail), "accepted").await;
    api.post(&format!("/api/roundtables/{rt_id}/close"), json!({})).await.expect(200);
    let minutes = wait_for(&sink, &server, "ana@e2e.test", "Acta: Mesa de seguimiento", 1).await.remove(0);
    assert_eq!(minutes["defects"], json!([]), "{minutes}");
    assert_eq!(minutes["content_type"], "multipart/alternative", "text and HTML only: {minutes}");
    assert!(minutes["parts"].as_array().unwrap().iter().all(|p| p["content_type"] != "text/calendar"));
    until_delivery(&api, &server, &rt_id, "ana@e2e.test", "sent").await;
    let minutes_to = |to: &str| {
        sink.received().iter().filter(|m| m["to_addr"] == to && m["subject"].as_str().unwrap_or_default().starts_with("Acta:")).count()
    };
    assert_eq!((minutes_to("ana@e2e.test"), minutes_to("luis@e2e.test")), (1, 0), "the minutes go to those who accepted");
    sink.stop().await;
}

/// An English-speaking invitee of a Spanish-speaking city gets the invitation in English,
/// whether the coordinator chose the language or the actors registry holds it; the others
/// keep the city's Spanish. The calendar part is the same valid invitation either way.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_english_speaking_invitee_of_a_spanish_city_gets_an_english_invitation() {
    let Some(python) = smtp_python() else { return };
    let sink = Sink::start(&python, free_port(), &[]).await;
    let store = Store::sqlite();
    let server = Server::start_with_env(&store, &[("CONCERTA_SMTP_URL", &sink.url()), ("CONCERTA_MAIL_FROM", FROM)]).await;
    let city = setup_city(&store, &server).await;
    let api = Api::bearer(&server, &city.coordinator.token);
    let actor = api
        .post(
            &format!("/api/cities/{}/actors", city.id),
            json!({"name": "British Council", "sector": "international_organization", "email": "office@council.e2e.test", "locale": "en"}),
        )
        .await
        .expect(201);
    assert_eq!(actor["locale"], "en");
    let rt = api
        .post(
            &format!("/api/cities/{}/roundtables", city.id),
            json!({
                "title": "Mesa de cooperación",
                "agenda": "1. Apertura",
                "starts_at": "2030-03-10T10:00",
                "ends_at": "2030-03-10T12:00",
                "timezone": "America/Bogota",
                "location": "Alcaldía",
            }),
        )
        .await
        .expect(201);
    let rt_id = rt["id"].as_str().unwrap().to_owned();
    let invited = api
        .post(
            &format!("/api/roundtables/{rt_id}/invitations"),
            json!({"invitees": [
                {"email": "jane@e2e.test", "name": "Jane Smith", "organization": "Sister City", "sector": "city_network", "locale": "en"},
                {"actor_id": actor["id"]},
                {"email": "ana@e2e.test", "name": "Pérez, Ana", "organization": "Universidad", "sector": "academia"},
            ]}),
        )
        .await
        .expect(201);
    let kept: Vec<&Value> = invited.as_array().unwrap().iter().map(|i| &i["locale"]).collect();
    assert_eq!(kept, [&json!("en"), &json!("en"), &Value::Null]);

    for (to, name) in [("jane@e2e.test", "Jane Smith"), ("office@council.e2e.test", "British Council")] {
        let m = wait_for(&sink, &server, to, "Invitation: ", 1).await.remove(0);
        assert_eq!(m["subject"], "Invitation: Mesa de cooperación (2030-03-10 10:00–12:00 (America/Bogota))");
        assert_eq!(m["from_name"], "Medellín", "still the city's name as sender");
        let text = content(&m, "text/plain");
        assert!(text.starts_with(&format!("Hello {name},")), "{text}");
        assert!(text.contains("Medellín invites you to the multi-actor roundtable"), "{text}");
        assert!(!text.contains("Hola"), "no Spanish in the English email: {text}");
        let html = content(&m, "text/html");
        assert!(html.contains("invites you to the multi-actor roundtable"), "{html}");
        assert!(html.contains("<html lang=\"en\">"), "the HTML part says its language: {html}");
        let cal = calendar_of(&python, &m, "REQUEST");
        let ev = event(&cal);
        assert_eq!(ev["dtstart"]["tzid"], "America/Bogota");
        assert_eq!(ev["attendees"][0]["value"], format!("mailto:{to}"));
        assert_eq!(ev["attendees"][0]["params"]["PARTSTAT"], "NEEDS-ACTION");
        assert!(ev["description"].as_str().unwrap().contains(&rsvp_link(&m)), "the RSVP link in the calendar: {ev}");
    }
    let ana = wait_for(&sink, &server, "ana@e2e.test", "Invitación: ", 1).await.remove(0);
    assert!(content(&ana, "text/plain").starts_with("Hola Pérez, Ana:"), "the city's language for who chose none");
    calendar_of(&python, &ana, "REQUEST");
    sink.stop().await;
}
