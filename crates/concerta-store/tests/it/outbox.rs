//! The email outbox: enqueued with the caller's write, claimed once, leases, marks.

use std::collections::HashSet;
use std::time::Duration;

use concerta_core::Locale;
use concerta_store::{Database, Delivery, Error, MailPart, NewMessage, PartDisposition, Recipient, Subject, outbox};

use crate::city;

fn message(city: Option<concerta_core::CityId>, email: &str, locale: Option<Locale>) -> NewMessage {
    NewMessage {
        kind: "test_message".to_owned(),
        city,
        recipient: Recipient { email: email.to_owned(), name: "Pérez, Ana".to_owned(), locale },
        payload: serde_json::json!({ "title": "Hola", "body": "<b>x</b>" }),
        parts: vec![MailPart {
            disposition: PartDisposition::Attachment,
            content_type: "text/calendar; method=REQUEST; charset=UTF-8".to_owned(),
            filename: Some("invite.ics".to_owned()),
            content: "BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n".to_owned(),
        }],
        subject: Some(Subject { kind: "thing".to_owned(), id: uuid::Uuid::nil() }),
    }
}

async fn enqueue_many(db: &Database, n: usize) {
    for i in 0..n {
        db.enqueue_message(message(None, &format!("p{i}@example.org"), None)).await.expect("enqueued");
    }
}

concerta_store::test_both_dbs!(enqueue_commits_and_rolls_back_with_the_callers_write, |db| async move {
    let city = city(&db, "quito").await;
    // A body that enqueues and then fails: nothing stays.
    let failed = db
        .transaction(|tx| async move {
            outbox::enqueue(&tx, &message(Some(city.id), "a@example.org", None)).await?;
            Err::<(), _>(Error::invalid("title", "the domain write failed"))
        })
        .await;
    assert!(failed.is_err());
    assert!(db.list_city_outbox(city.id, 10).await.unwrap().is_empty(), "a rolled-back write leaves no message");
    // A body that succeeds: the message is there, with the city's name and locale.
    let wake = db.outbox_wakeups();
    let row = db
        .transaction(|tx| async move { outbox::enqueue(&tx, &message(Some(city.id), "b@example.org", None)).await })
        .await
        .unwrap();
    tokio::time::timeout(Duration::from_secs(10), wake.notified()).await.expect("the commit wakes the worker");
    let listed = db.list_city_outbox(city.id, 10).await.unwrap();
    assert_eq!(listed.len(), 1);
    let got = &listed[0];
    assert_eq!(got.id, row.id);
    assert_eq!(got.sender_name, "City quito");
    assert_eq!(got.locale, Locale::Es, "no recipient locale: the city's");
    assert_eq!(got.status, Delivery::Queued);
    assert_eq!(got.attempts, 0);
    assert_eq!(got.parts.len(), 1);
    assert_eq!(got.payload["body"], "<b>x</b>");
    assert!(got.message_id.contains('@') && !got.message_id.contains('<'), "{}", got.message_id);
    // The recipient's own locale wins.
    let pt = db.enqueue_message(message(Some(city.id), "c@example.org", Some(Locale::Pt))).await.unwrap();
    assert_eq!(pt.locale, Locale::Pt);
    // An unknown city is refused.
    let missing = db.enqueue_message(message(Some(concerta_core::CityId::new()), "d@example.org", None)).await;
    assert!(matches!(missing, Err(Error::NotFound)), "{missing:?}");
});

concerta_store::test_both_dbs!(concurrent_claimers_never_share_a_message, |db| async move {
    enqueue_many(&db, 40).await;
    let mut tasks = Vec::new();
    for worker in 0..4 {
        let db = db.clone();
        tasks.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            loop {
                let claim = format!("w{worker}-{}", mine.len());
                let batch = db.claim_outbox(&claim, Duration::from_secs(300), 3).await.expect("claims");
                if batch.is_empty() {
                    break;
                }
                for m in batch {
                    assert_eq!(m.attempts, 1);
                    assert!(db.mark_outbox_sent(m.id, &claim).await.unwrap());
                    mine.push(m.id);
                }
            }
            mine
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    let unique: HashSet<_> = all.iter().collect();
    assert_eq!(all.len(), 40, "every message claimed");
    assert_eq!(unique.len(), 40, "no message claimed twice");
    assert_eq!(db.count_outbox().await.unwrap().get("sent"), Some(&40));
});

concerta_store::test_both_dbs!(an_expired_lease_is_claimed_again_and_the_old_claim_loses, |db| async move {
    enqueue_many(&db, 1).await;
    let first = db.claim_outbox("old", Duration::from_millis(200), 10).await.unwrap();
    assert_eq!(first.len(), 1);
    assert!(db.claim_outbox("other", Duration::from_secs(300), 10).await.unwrap().is_empty(), "claimed rows are skipped");
    // Poll until the lease has passed and another claimer takes it (the process that held it
    // was killed, say).
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let second = loop {
        let got = db.claim_outbox("new", Duration::from_secs(300), 10).await.unwrap();
        if !got.is_empty() {
            break got;
        }
        assert!(tokio::time::Instant::now() < deadline, "the expired claim was never taken again");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(second[0].id, first[0].id);
    assert_eq!(second[0].attempts, 2);
    assert!(!db.mark_outbox_sent(first[0].id, "old").await.unwrap(), "the old claim cannot mark it");
    assert!(db.mark_outbox_sent(first[0].id, "new").await.unwrap());
    let row = db.get_outbox_message(first[0].id).await.unwrap();
    assert_eq!(row.status, Delivery::Sent);
    assert!(row.sent_at.is_some());
});

concerta_store::test_both_dbs!(retries_wait_and_failures_keep_their_reason, |db| async move {
    enqueue_many(&db, 2).await;
    let batch = db.claim_outbox("c1", Duration::from_secs(300), 10).await.unwrap();
    assert_eq!(batch.len(), 2);
    let later = chrono::Utc::now() + chrono::Duration::hours(1);
    assert!(db.mark_outbox_retry(batch[0].id, "c1", later, "451 try again later").await.unwrap());
    assert!(db.mark_outbox_failed(batch[1].id, "c1", "550 no such user here").await.unwrap());
    assert!(db.claim_outbox("c2", Duration::from_secs(300), 10).await.unwrap().is_empty(), "a deferred message waits");
    let deferred = db.get_outbox_message(batch[0].id).await.unwrap();
    assert_eq!(deferred.status, Delivery::Deferred);
    assert_eq!(deferred.last_error.as_deref(), Some("451 try again later"));
    let due = db.next_outbox_due().await.unwrap().expect("something waits");
    assert!((due - later).num_seconds().abs() <= 1, "{due} vs {later}");
    let failed = db.get_outbox_message(batch[1].id).await.unwrap();
    assert_eq!(failed.status, Delivery::Failed);
    assert_eq!(failed.last_error.as_deref(), Some("550 no such user here"));
    let by_subject = db.list_outbox_by_subject("thing", &[uuid::Uuid::nil()]).await.unwrap();
    assert_eq!(by_subject.len(), 2);
    assert!(db.list_outbox_by_subject("other", &[uuid::Uuid::nil()]).await.unwrap().is_empty());
});
