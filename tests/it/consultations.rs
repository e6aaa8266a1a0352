//! Consultations' email through the real binary and a real SMTP server (aiosmtpd, as in
//! `mail.rs`): a stakeholder invited from the actors registry with no account gets the
//! account invitation naming the consultation and its closing time in the city's time zone; its link (resent once: the old one dies) sets
//! the password once and leads to the consultation; the stakeholder comments; the city's
//! answer reaches them once, in the language they wrote in, with the decision, the reason and
//! a link, everything they and the city wrote escaped in HTML. A stakeholder who has an
//! account gets the invitation to comment, and their answer comes in the city's language.

use std::time::{Duration, Instant};

use concerta_e2e::mail_sink::{Sink, free_port, smtp_python};
use concerta_e2e::{Api, Server, Store, setup_city};
use serde_json::{Value, json};

fn part(message: &Value, content_type: &str) -> String {
    message["parts"]
        .as_array()
        .expect("parts")
        .iter()
        .find(|p| p["content_type"] == content_type)
        .and_then(|p| p["content"].as_str())
        .unwrap_or_else(|| panic!("no {content_type} part in {message}"))
        .to_owned()
}

/// The first word of the text part that contains `needle`.
fn link_with(message: &Value, needle: &str) -> String {
    let text = part(message, "text/plain");
    text.split_whitespace().find(|w| w.contains(needle)).unwrap_or_else(|| panic!("no {needle} link in {text}")).to_owned()
}

/// The messages to `to` so far whose subject contains `subject`.
fn mails(sink: &Sink, to: &str, subject: &str) -> Vec<Value> {
    sink.received()
        .into_iter()
        .filter(|m| m["to_addr"] == to && m["subject"].as_str().is_some_and(|s| s.contains(subject)))
        .collect()
}

/// Polls until `n` messages to `to` with `subject` arrived; returns the last.
async fn wait_mail(sink: &Sink, to: &str, subject: &str, n: usize, server: &Server) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let got = mails(sink, to, subject);
        if got.len() >= n {
            return got[n - 1].clone();
        }
        let all: Vec<_> = sink.received().iter().map(|m| format!("{} {}", m["to_addr"], m["subject"])).collect();
        assert!(Instant::now() < deadline, "no message {n} to {to} about {subject:?}; got {all:#?}\n{}", server.log_tail(30));
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Polls until every message of the city is `sent` or `failed` and there are `n` of them.
async fn settled(api: &Api, city: &str, n: usize, server: &Server) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let all = api.get(&format!("/api/cities/{city}/messages")).await.expect(200).as_array().expect("a list").clone();
        if all.len() >= n && all.iter().all(|m| m["status"] == "sent" || m["status"] == "failed") {
            return all;
        }
        assert!(Instant::now() < deadline, "messages not settled: {all:?}\n{}", server.log_tail(30));
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stakeholder_invited_by_email_sets_a_password_comments_and_gets_the_answer_once() {
    let Some(python) = smtp_python() else { return };
    let sink = Sink::start(&python, free_port(), &[]).await;
    let store = Store::sqlite();
    let server = Server::start_with_env(&store, &[("CONCERTA_SMTP_URL", &sink.url())]).await;
    let city = setup_city(&store, &server).await;
    let ori = Api::bearer(&server, &city.coordinator.token);
    sink.wait_for(5, Duration::from_secs(60), &server).await; // setup_city's member invitations

    // The city keeps Medellín's clock: the email names the closing time in it.
    let zone = ori.patch(&format!("/api/cities/{}", city.id), json!({"timezone": "America/Bogota"})).await.expect(200);
    assert_eq!(zone["timezone"], "America/Bogota");
    let closes_at = "2099-12-31T18:00:00Z";
    let consultation = ori
        .post(
            &format!("/api/cities/{}/consultations", city.id),
            json!({"strategy_id": city.strategy_id, "title": "Borrador <2030> & \"más\"", "explanation": "Comente <todo>.", "closes_at": closes_at}),
        )
        .await
        .expect(201);
    let cid = consultation["id"].as_str().expect("consultation id").to_owned();
    let closes_on = "2099-12-31 13:00 (America/Bogota)";
    // One invitee from the actors registry (no account yet), one who has an account.
    let actor = ori
        .post(
            &format!("/api/cities/{}/actors", city.id),
            json!({"name": "Universidad <Nacional>", "sector": "academia", "email": "uni@e2e.test"}),
        )
        .await
        .expect(201);
    let invited = ori
        .post(
            &format!("/api/consultations/{cid}/invitations"),
            json!({"invitees": [
                {"actor_id": actor["id"], "name": "Rectoría"},
                {"email": "outsider@e2e.test", "name": "Otto Outsider", "organization": "Cámara de Comercio", "sector": "business"},
            ]}),
        )
        .await
        .expect(201);
    let invitations = invited["invitations"].as_array().expect("invitations");
    let uni = invitations.iter().find(|i| i["email"] == "uni@e2e.test").expect("the university's invitation").clone();
    assert_eq!(uni["needs_password"], true, "{uni}");
    assert_eq!(uni["delivery"], "queued", "queued with the invitation, sent later: {uni}");
    assert_eq!(invitations.iter().find(|i| i["email"] == "outsider@e2e.test").expect("Otto")["needs_password"], false);

    // The account invitation, naming the consultation, in the city's language.
    let first = wait_mail(&sink, "uni@e2e.test", "te invita a comentar", 1, &server).await;
    assert_eq!(first["defects"], json!([]), "{first}");
    assert_eq!(first["subject"], "Medellín te invita a comentar «Borrador <2030> & \"más\"»");
    let text = part(&first, "text/plain");
    assert!(text.contains("Universidad <Nacional>") && text.contains(closes_on) && text.contains("Comente <todo>."), "{text}");
    let html = part(&first, "text/html");
    assert!(html.contains("Borrador &lt;2030&gt; &amp; &quot;más&quot;") && !html.contains("<2030>"), "escaped: {html}");
    assert!(html.contains("Universidad &lt;Nacional&gt;"), "{html}");
    let old_link = link_with(&first, "/invite/");
    assert!(old_link.starts_with(&server.url("/invite/")), "{old_link}");
    assert!(old_link.ends_with(&format!("?next=/consultations/{cid}")), "the link leads on to the consultation: {old_link}");
    let token_of = |link: &str| link.split('?').next().and_then(|path| path.rsplit('/').next()).expect("a token").to_owned();
    // The one with an account: the invitation to comment, with the consultation's link.
    let otto = wait_mail(&sink, "outsider@e2e.test", "te invita a comentar", 1, &server).await;
    assert!(!part(&otto, "text/plain").contains("/invite/"), "no password link for an account that has one");
    assert_eq!(link_with(&otto, "/consultations/"), server.url(&format!("/consultations/{cid}")));

    // Resent: a new link; the old one dies.
    let resent = ori.post(&format!("/api/consultations/{cid}/invitations/{}/resend", uni["id"].as_str().unwrap()), json!({})).await.expect(200);
    assert_eq!(resent["email"], "uni@e2e.test");
    let second = wait_mail(&sink, "uni@e2e.test", "te invita a comentar", 2, &server).await;
    let link = link_with(&second, "/invite/");
    assert_ne!(token_of(&link), token_of(&old_link));
    let public = Api::browser(&server);
    public.get(&format!("/api/invitations/{}", token_of(&old_link))).await.expect_error(404, "invitation_invalid");
    // The link sets the password once; the session it starts may comment.
    let accepted = public.post(&format!("/api/invitations/{}/accept", token_of(&link)), json!({"password": "una clave segura"})).await.expect(200);
    assert_eq!(accepted["city_id"], json!(city.id));
    Api::browser(&server)
        .post(&format!("/api/invitations/{}/accept", token_of(&link)), json!({"password": "otra clave"}))
        .await
        .expect_error(410, "invitation_used");
    let seen = public.get(&format!("/api/consultations/{cid}")).await.expect(200);
    assert_eq!(seen["may_comment"], true, "{seen}");
    assert_eq!(seen["invitation"]["organization"], "Universidad <Nacional>");
    let comment = public
        .post(
            &format!("/api/consultations/{cid}/comments"),
            json!({"section_id": city.section_a.id, "body": "Incluir <b>universidades</b> & centros.", "locale": "en"}),
        )
        .await
        .expect(201);
    let otto_api = Api::bearer(&server, &city.outsider.token);
    let otto_comment = otto_api
        .post(&format!("/api/consultations/{cid}/comments"), json!({"section_id": city.section_a.id, "body": "Más comercio."}))
        .await
        .expect(201);

    // The city answers; the same answer clicked twice is one answer and one email.
    let editor = Api::bearer(&server, &city.editor_a.token);
    for _ in 0..2 {
        let answered = editor
            .post(
                &format!("/api/comments/{}/response", comment["id"].as_str().unwrap()),
                json!({"decision": "partly", "reason": "Sumamos <universidades> & no centros."}),
            )
            .await
            .expect(200);
        assert_eq!(answered["response"]["decision"], "partly");
    }
    ori.post(&format!("/api/comments/{}/response", otto_comment["id"].as_str().unwrap()), json!({"decision": "rejected", "reason": "Fuera de alcance."}))
        .await
        .expect(200);

    // In English, the language the comment was written in.
    let answer = wait_mail(&sink, "uni@e2e.test", "answered your comment", 1, &server).await;
    assert_eq!(answer["defects"], json!([]), "{answer}");
    assert_eq!(answer["subject"], "Medellín answered your comment: partly accepted");
    let text = part(&answer, "text/plain");
    assert!(text.contains("Decision: Partly accepted"), "{text}");
    assert!(text.contains("Reason: Sumamos <universidades> & no centros."), "{text}");
    assert!(text.contains("Incluir <b>universidades</b> & centros."), "{text}");
    assert_eq!(link_with(&answer, "/consultations/"), server.url(&format!("/consultations/{cid}")));
    let html = part(&answer, "text/html");
    assert!(html.contains("Sumamos &lt;universidades&gt; &amp; no centros.") && !html.contains("<universidades>"), "{html}");
    assert!(html.contains("Incluir &lt;b&gt;universidades&lt;&#x2f;b&gt;") && !html.contains("<b>universidades"), "{html}");
    // Otto wrote without saying his language: the city's.
    let otto_answer = wait_mail(&sink, "outsider@e2e.test", "respondió tu comentario", 1, &server).await;
    assert!(part(&otto_answer, "text/plain").contains("Decisión: No aceptado"), "{otto_answer}");

    // Everything settled: 5 member invitations, 2 consultation invitations, 1 resend, 2 answers.
    let all = settled(&ori, &city.id, 10, &server).await;
    assert_eq!(all.len(), 10, "{all:#?}");
    assert_eq!(mails(&sink, "uni@e2e.test", "answered your comment").len(), 1, "the answer arrived once");
    assert_eq!(sink.received().len(), 10);
    let listed = ori.get(&format!("/api/consultations/{cid}/invitations")).await.expect(200);
    let uni = listed["invitations"].as_array().unwrap().iter().find(|i| i["email"] == "uni@e2e.test").expect("listed").clone();
    assert_eq!(uni["delivery"], "sent", "{uni}");
    assert_eq!(uni["needs_password"], false, "the password is set: {uni}");
    sink.stop().await;
}
