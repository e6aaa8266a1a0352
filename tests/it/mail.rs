//! Email through a real SMTP server (`tests/smtp/sink.py`, Python's aiosmtpd, started by the
//! tests), with the messages parsed by Python's `email` package, an independent MIME parser.
//!
//! - valid MIME (alternatives, sender name, Message-ID, escaped HTML), delivery status via API;
//! - a permanent rejection (550) → `failed` with the reason, via the API;
//! - SMTP down while sending → retried, all arrive once it is back, none twice;
//! - two nodes on one Postgres → none twice;
//! - `kill -9` mid-send → none lost;
//! - no SMTP configured → `.eml` files and status `sent`;
//! - account invitations: the link sets a password once, then fails;
//! - measurement reminders arrive by email.
//!
//! Python with aiosmtpd: `CONCERTA_SMTP_PYTHON` (set by `cargo xtask ci`, which installs it),
//! else the venv `cargo xtask ci` makes, else `python3` if it has aiosmtpd. Without any, outside
//! CI, each test prints why and passes; under CI (`CI` set) it fails.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use concerta_e2e::mail_sink::{Sink, free_port, sink_script, smtp_python};
use concerta_e2e::{Api, Server, Store, counter, setup_city};
use serde_json::{Value, json};

/// The city's messages, via the API.
async fn messages(api: &Api, city: &str) -> Vec<Value> {
    api.get(&format!("/api/cities/{city}/messages")).await.expect(200).as_array().expect("a list").clone()
}

/// Polls until every message of the city is `sent` or `failed` and there are `n` of them.
async fn until_settled(api: &Api, city: &str, n: usize, within: Duration, server: &Server) -> Vec<Value> {
    let deadline = Instant::now() + within;
    loop {
        let all = messages(api, city).await;
        if all.len() >= n && all.iter().all(|m| m["status"] == "sent" || m["status"] == "failed") {
            return all;
        }
        let states: Vec<_> = all.iter().map(|m| m["status"].as_str().unwrap_or("?").to_owned()).collect();
        assert!(Instant::now() < deadline, "messages not settled within {within:?}: {states:?}\n{}", server.log_tail(40));
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn text_part(message: &Value, content_type: &str) -> String {
    message["parts"]
        .as_array()
        .expect("parts")
        .iter()
        .find(|p| p["content_type"] == content_type)
        .and_then(|p| p["content"].as_str())
        .unwrap_or_else(|| panic!("no {content_type} part in {message}"))
        .to_owned()
}

/// The invitation link in a message's text part.
fn invite_link(message: &Value) -> String {
    let text = text_part(message, "text/plain");
    text.split_whitespace()
        .find(|w| w.contains("/invite/"))
        .unwrap_or_else(|| panic!("no invitation link in {text}"))
        .to_owned()
}

async fn add_members(api: &Api, city: &str, prefix: &str, n: usize) {
    for i in 0..n {
        api.post(
            &format!("/api/cities/{city}/members"),
            json!({"email": format!("{prefix}{i}@e2e.test"), "name": format!("Pérez, Ana <{i}>"), "role": "observer"}),
        )
        .await
        .expect(201);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invitations_arrive_as_valid_mime_and_rejections_fail_with_the_reason() {
    let Some(python) = smtp_python() else { return };
    let sink = Sink::start(&python, free_port(), &["--reject", "bounce"]).await;
    let store = Store::sqlite();
    let server = Server::start_with_env(&store, &[("CONCERTA_SMTP_URL", &sink.url()), ("CONCERTA_MAIL_FROM", "ori@medellin.example")]).await;
    let city = setup_city(&store, &server).await;
    let api = Api::bearer(&server, &city.coordinator.token);
    // setup_city added five members without accounts: five invitations. One more with a name
    // to escape, and one the server refuses for good.
    let created = api
        .post(&format!("/api/cities/{}/members", city.id), json!({"email": "ana@e2e.test", "name": "Pérez, Ana <script>", "role": "observer"}))
        .await
        .expect(201);
    assert_eq!(created["invitation"]["state"], "pending", "{created}");
    assert_eq!(created["invitation"]["delivery"], "queued", "the request did not wait for SMTP: {created}");
    api.post(&format!("/api/cities/{}/members", city.id), json!({"email": "bounce@e2e.test", "name": "Bounce", "role": "observer"}))
        .await
        .expect(201);

    let got = sink.wait_for(6, Duration::from_secs(60), &server).await;
    let all = until_settled(&api, &city.id, 7, Duration::from_secs(60), &server).await;
    assert_eq!(got.len(), 6, "six accepted, the rejected one never arrives");
    for m in &got {
        assert_eq!(m["defects"], json!([]), "MIME defects: {m}");
        assert_eq!(m["mime_version"], "1.0");
        assert_eq!(m["from_name"], "Medellín", "the city's name is the sender name");
        assert_eq!(m["from_addr"], "ori@medellin.example");
        assert_eq!(m["content_type"], "multipart/alternative");
        assert_eq!(m["subject"], "Medellín te invita a Concerta", "Spanish, the city's locale: {m}");
        assert!(m["date"] != "None", "a Date header");
        let html = text_part(m, "text/html");
        let text = text_part(m, "text/plain");
        // minijinja's HTML escaping writes `/` as `&#x2f;`, which mail clients decode in `href`.
        let html_decoded = html.replace("&#x2f;", "/");
        assert!(text.contains("/invite/"), "{text}");
        assert!(html_decoded.contains(&invite_link(m)), "the HTML part links the same invitation: {html}");
        assert!(invite_link(m).starts_with(&server.url("/invite/")), "{}", invite_link(m));
    }
    let ana = got.iter().find(|m| m["to_addr"] == "ana@e2e.test").expect("Ana's invitation");
    assert_eq!(ana["to_name"], "Pérez, Ana <script>", "the display name survives quoting");
    let html = text_part(ana, "text/html");
    assert!(html.contains("Pérez, Ana &lt;script&gt;") && !html.contains("<script>"), "escaped in HTML: {html}");
    // Message-IDs: the API's, unique.
    let ids: HashSet<_> = got.iter().map(|m| m["message_id"].as_str().unwrap().to_owned()).collect();
    assert_eq!(ids.len(), 6);

    // The rejection: failed, with the server's reason, in the outbox and on the invitation.
    let bounce = all.iter().find(|m| m["recipient_email"] == "bounce@e2e.test").expect("the bounce");
    assert_eq!(bounce["status"], "failed", "{bounce}");
    assert!(bounce["last_error"].as_str().unwrap_or_default().contains("550"), "{bounce}");
    assert!(bounce["last_error"].as_str().unwrap_or_default().contains("no such user"), "{bounce}");
    assert_eq!(bounce["attempts"], 1, "a permanent failure is not retried");
    let invitations = api.get(&format!("/api/cities/{}/invitations", city.id)).await.expect(200);
    let inv = invitations.as_array().unwrap().iter().find(|i| i["email"] == "bounce@e2e.test").expect("listed");
    assert_eq!(inv["delivery"], "failed");
    assert!(inv["delivery_error"].as_str().unwrap_or_default().contains("550"), "{inv}");
    for m in all.iter().filter(|m| m["recipient_email"] != "bounce@e2e.test") {
        assert_eq!(m["status"], "sent", "{m}");
        assert!(m.get("payload").is_none(), "the API never shows payloads (links with secrets)");
    }
    // Only coordinators see the outbox.
    Api::bearer(&server, &city.editor_a.token).get(&format!("/api/cities/{}/messages", city.id)).await.expect_error(403, "forbidden");
    sink.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smtp_down_while_sending_then_all_arrive_once() {
    let Some(python) = smtp_python() else { return };
    let port = free_port();
    let store = Store::sqlite();
    let url = format!("smtp://127.0.0.1:{port}");
    let server = Server::start_with_env(&store, &[("CONCERTA_SMTP_URL", &url), ("CONCERTA_MAIL_RETRY_MS", "300")]).await;
    let city = setup_city(&store, &server).await;
    let api = Api::bearer(&server, &city.coordinator.token);
    add_members(&api, &city.id, "down", 15).await;
    // Nothing listens: every message is deferred with the connection error, and retried.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let all = messages(&api, &city.id).await;
        if all.len() == 20 && all.iter().all(|m| m["status"] == "deferred" && m["attempts"].as_u64() >= Some(2)) {
            assert!(all.iter().all(|m| m["last_error"].as_str().is_some_and(|e| !e.is_empty())), "{all:?}");
            break;
        }
        assert!(Instant::now() < deadline, "not all deferred and retried: {all:?}\n{}", server.log_tail(30));
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The SMTP server comes up: everything arrives, once.
    let sink = Sink::start(&python, port, &[]).await;
    let all = until_settled(&api, &city.id, 20, Duration::from_secs(120), &server).await;
    assert!(all.iter().all(|m| m["status"] == "sent"), "{all:?}");
    let got = sink.received();
    let mut per_id: HashMap<String, usize> = HashMap::new();
    for m in &got {
        *per_id.entry(m["message_id"].as_str().unwrap().to_owned()).or_default() += 1;
    }
    assert_eq!(per_id.len(), 20, "all twenty arrived");
    assert!(per_id.values().all(|n| *n == 1), "none twice: {per_id:?}");
    sink.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_on_postgres_send_each_message_once() {
    let Some(python) = smtp_python() else { return };
    let Some(store) = Store::postgres() else {
        eprintln!("skipping Postgres: DATABASE_URL_TEST unset");
        return;
    };
    let sink = Sink::start(&python, free_port(), &["--delay-ms", "20"]).await;
    let env = [("CONCERTA_SMTP_URL", sink.url())];
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let node1 = Server::start_with_env(&store, &env).await;
    let node2 = Server::start_with_env(&store, &env).await;
    let city = setup_city(&store, &node1).await;
    // Members added through both nodes: both workers see all the messages.
    let (api1, api2) = (Api::bearer(&node1, &city.coordinator.token), Api::bearer(&node2, &city.coordinator.token));
    let (a, b) = tokio::join!(add_members(&api1, &city.id, "one", 30), add_members(&api2, &city.id, "two", 30));
    let ((), ()) = (a, b);
    let total = 65;
    let all = until_settled(&api2, &city.id, total, Duration::from_secs(120), &node2).await;
    assert!(all.iter().all(|m| m["status"] == "sent"), "{all:?}");
    let got = sink.received();
    let ids: Vec<_> = got.iter().map(|m| m["message_id"].as_str().unwrap().to_owned()).collect();
    let unique: HashSet<_> = ids.iter().collect();
    assert_eq!(unique.len(), total, "all arrived");
    assert_eq!(ids.len(), total, "none twice");
    let sent_by = |node: &Server| node.log().iter().filter(|l| l.contains("mail sent")).count();
    eprintln!("node 1 sent {}, node 2 sent {}", sent_by(&node1), sent_by(&node2));
    sink.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_killed_mid_send_loses_no_message() {
    let Some(python) = smtp_python() else { return };
    // A slow SMTP server, so the kill lands while messages are being sent.
    let sink = Sink::start(&python, free_port(), &["--delay-ms", "400"]).await;
    let store = Store::sqlite();
    let env = [("CONCERTA_SMTP_URL", sink.url()), ("CONCERTA_MAIL_LEASE", "3".to_owned())];
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let mut server = Server::start_with_env(&store, &env).await;
    let city = setup_city(&store, &server).await;
    let api = Api::bearer(&server, &city.coordinator.token);
    add_members(&api, &city.id, "kill", 25).await;
    server.kill9().await;
    let before = sink.received().len();
    assert!(before < 30, "the kill came before the end ({before} of 30 arrived)");
    let server = Server::start_with_env(&store, &env).await;
    let api = Api::bearer(&server, &city.coordinator.token);
    let all = until_settled(&api, &city.id, 30, Duration::from_secs(120), &server).await;
    assert!(all.iter().all(|m| m["status"] == "sent"), "{all:?}");
    let got = sink.received();
    let mut per_recipient: HashMap<String, HashSet<String>> = HashMap::new();
    for m in &got {
        per_recipient
            .entry(m["to_addr"].as_str().unwrap().to_owned())
            .or_default()
            .insert(m["message_id"].as_str().unwrap().to_owned());
    }
    assert_eq!(per_recipient.len(), 30, "every recipient got their message: {:?}", per_recipient.keys());
    assert!(per_recipient.values().all(|ids| ids.len() == 1), "a repeat keeps its Message-ID");
    let repeats = got.len() - 30;
    eprintln!("{} messages before the kill, {repeats} sent again after it", before);
    assert!(repeats <= 4, "only messages in flight at the kill may repeat (at most the 4 sent at once), got {repeats}");
    sink.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_smtp_messages_become_eml_files_marked_sent() {
    let store = Store::sqlite();
    let server = Server::start(&store).await;
    let city = setup_city(&store, &server).await;
    let api = Api::bearer(&server, &city.coordinator.token);
    let all = until_settled(&api, &city.id, 5, Duration::from_secs(60), &server).await;
    assert!(all.iter().all(|m| m["status"] == "sent"), "{all:?}");
    let outbox = store.data_dir().join("outbox");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&outbox)
        .unwrap_or_else(|e| panic!("{}: {e}", outbox.display()))
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "eml"))
        .collect();
    files.sort();
    assert_eq!(files.len(), 5, "{files:?}");
    for m in &all {
        assert!(files.iter().any(|f| f.file_stem().unwrap().to_str() == m["id"].as_str()), "a file per message, named by its id");
    }
    // Parsing needs only Python's standard library.
    let out = std::process::Command::new("python3").arg(sink_script()).arg("--parse").args(&files).output().expect("parse");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    for line in String::from_utf8(out.stdout).unwrap().lines() {
        let m: Value = serde_json::from_str(line).unwrap();
        assert_eq!(m["defects"], json!([]), "{m}");
        assert_eq!(m["from_name"], "Medellín");
        assert!(text_part(&m, "text/plain").contains("/invite/"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invitation_link_sets_the_password_once() {
    let Some(python) = smtp_python() else { return };
    let sink = Sink::start(&python, free_port(), &[]).await;
    let store = Store::sqlite();
    let server = Server::start_with_env(&store, &[("CONCERTA_SMTP_URL", &sink.url())]).await;
    let city = setup_city(&store, &server).await;
    let api = Api::bearer(&server, &city.coordinator.token);
    let member = api
        .post(&format!("/api/cities/{}/members", city.id), json!({"email": "new@e2e.test", "name": "Nueva", "role": "editor", "area_id": city.area_a}))
        .await
        .expect(201);
    let invitation_id = member["invitation"]["id"].as_str().expect("an invitation").to_owned();
    let find = |got: &[Value], n: usize| got.iter().filter(|m| m["to_addr"] == "new@e2e.test").nth(n).cloned();
    let deadline = Instant::now() + Duration::from_secs(60);
    let first = loop {
        if let Some(m) = find(&sink.received(), 0) {
            break m;
        }
        assert!(Instant::now() < deadline, "no invitation arrived:\n{}", server.log_tail(30));
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let old_token = invite_link(&first).rsplit('/').next().unwrap().to_owned();
    // Resend: a new link; the old one stops working.
    api.post(&format!("/api/cities/{}/invitations/{invitation_id}/resend", city.id), json!({})).await.expect(200);
    let deadline = Instant::now() + Duration::from_secs(60);
    let second = loop {
        if let Some(m) = find(&sink.received(), 1) {
            break m;
        }
        assert!(Instant::now() < deadline, "no second invitation arrived");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let token = invite_link(&second).rsplit('/').next().unwrap().to_owned();
    assert_ne!(token, old_token);
    let public = Api::browser(&server);
    public.get(&format!("/api/invitations/{old_token}")).await.expect_error(404, "invitation_invalid");
    let preview = public.get(&format!("/api/invitations/{token}")).await.expect(200);
    assert_eq!(preview["email"], "new@e2e.test");
    assert_eq!(preview["city_name"], "Medellín");
    // A forged token: refused, nothing changes.
    let mut forged = token.clone();
    forged.replace_range(forged.len() - 2.., if forged.ends_with("AA") { "BB" } else { "AA" });
    public.post(&format!("/api/invitations/{forged}/accept"), json!({"password": "a good password"})).await.expect_error(404, "invitation_invalid");
    // Too short a password: 422 naming it.
    public.post(&format!("/api/invitations/{token}/accept"), json!({"password": "short"})).await.expect_error(422, "invalid_field");
    let accepted = public.post(&format!("/api/invitations/{token}/accept"), json!({"password": "a good password"})).await.expect(200);
    assert_eq!(accepted["city_id"], json!(city.id));
    // The browser client now has a session.
    assert_eq!(public.get("/api/me").await.expect(200)["email"], "new@e2e.test");
    // A second use fails, and the password works for logging in.
    Api::browser(&server)
        .post(&format!("/api/invitations/{token}/accept"), json!({"password": "another password"}))
        .await
        .expect_error(410, "invitation_used");
    Api::browser(&server).post("/api/auth/login", json!({"email": "new@e2e.test", "password": "a good password"})).await.expect(200);
    let listed = api.get(&format!("/api/cities/{}/invitations", city.id)).await.expect(200);
    let inv = listed.as_array().unwrap().iter().find(|i| i["id"] == json!(invitation_id)).expect("listed");
    assert_eq!(inv["state"], "accepted");
    // Revoking another pending invitation kills its link.
    let other = listed.as_array().unwrap().iter().find(|i| i["state"] == "pending").expect("a pending one").clone();
    let other_mail = sink.received().into_iter().find(|m| m["to_addr"] == other["email"]).expect("its email");
    let other_token = invite_link(&other_mail).rsplit('/').next().unwrap().to_owned();
    api.post(&format!("/api/cities/{}/invitations/{}/revoke", city.id, other["id"].as_str().unwrap()), json!({})).await.expect(200);
    Api::browser(&server).get(&format!("/api/invitations/{other_token}")).await.expect_error(410, "invitation_revoked");
    sink.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_due_measurement_reminder_arrives_by_email_once() {
    let Some(python) = smtp_python() else { return };
    let sink = Sink::start(&python, free_port(), &[]).await;
    let store = Store::sqlite();
    let server = Server::start_with_env(&store, &[("CONCERTA_SMTP_URL", &sink.url()), ("CONCERTA_REMINDER_INTERVAL", "1")]).await;
    let city = setup_city(&store, &server).await;
    let api = Api::bearer(&server, &city.coordinator.token);
    sink.wait_for(5, Duration::from_secs(60), &server).await; // the invitations
    api.post(
        &format!("/api/strategies/{}/indicators", city.strategy_id),
        json!({
            "code": "R-1", "name": "Acuerdos <de> cooperación", "level": "office", "unit": "count",
            "direction": "higher_is_better", "frequency": "annual", "area_id": city.area_a,
            "baseline_value": 2, "baseline_date": "2020-01-01", "target_value": 10, "target_date": "2040-01-01"
        }),
    )
    .await
    .expect(201);
    let got = sink.wait_for(6, Duration::from_secs(60), &server).await;
    let reminder = got.iter().find(|m| m["subject"].as_str().unwrap_or_default().starts_with("Medición pendiente")).expect("a reminder");
    assert_eq!(reminder["to_addr"], "editor-a@e2e.test", "the responsible area's editor");
    assert!(text_part(reminder, "text/html").contains("Acuerdos &lt;de&gt; cooperación"));
    assert!(text_part(reminder, "text/plain").contains(&server.url("/indicators/")));
    // The loop runs every second; three more runs send nothing more.
    let settled = until_settled(&api, &city.id, 6, Duration::from_secs(60), &server).await;
    let runs = counter(&server, "concerta_reminder_runs_total").await;
    let deadline = Instant::now() + Duration::from_secs(60);
    while counter(&server, "concerta_reminder_runs_total").await < runs + 3 {
        assert!(Instant::now() < deadline, "the reminder loop stopped running");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let settled_again = until_settled(&api, &city.id, 6, Duration::from_secs(60), &server).await;
    assert_eq!(settled_again.len(), settled.len(), "one reminder per due date");
    assert_eq!(sink.received().len(), 6);
    sink.stop().await;
}
