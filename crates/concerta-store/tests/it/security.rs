//! Sessions, API tokens, passwords and the hash-chained audit log.

use chrono::{Duration, Utc};
use concerta_core::{AuditAction, Role, SessionId};
use concerta_store::{
    AuditActor, Database, Error, INSTANCE_CHAIN, MemberUpdate, NewApiToken, NewAuditEntry, NewSession, city_chain,
    test_both_dbs,
};
use sea_orm::{ConnectionTrait, Statement};
use serde_json::json;

use crate::{city, member, user};

fn session(user: concerta_core::UserId, hash: &str, days: i64) -> NewSession {
    NewSession {
        user,
        token_hash: hash.to_owned(),
        expires_at: Utc::now() + Duration::days(days),
        user_agent: Some(format!("Browser {hash} {}", "x".repeat(400))),
        client_address: Some("192.0.2.7".to_owned()),
    }
}

test_both_dbs!(sessions_are_listed_and_ended_one_by_one_or_all_but_one, |db| async move {
    let ana = user(&db, "ana@example.org").await;
    let bob = user(&db, "bob@example.org").await;
    let first = db.start_session(session(ana.id, "s1", 30)).await.unwrap();
    let second = db.start_session(session(ana.id, "s2", 30)).await.unwrap();
    let third = db.start_session(session(ana.id, "s3", 30)).await.unwrap();
    db.start_session(session(ana.id, "old", -1)).await.unwrap();
    let bobs = db.start_session(session(bob.id, "b1", 30)).await.unwrap();
    assert_eq!(first.user_agent.as_ref().map(|ua| ua.chars().count()), Some(256), "user agents are cut");
    assert_eq!(first.client_address.as_deref(), Some("192.0.2.7"));

    let now = Utc::now();
    let listed: Vec<SessionId> = db.list_sessions(ana.id, now).await.unwrap().iter().map(|s| s.id).collect();
    assert_eq!(listed.len(), 3, "expired sessions are not listed");
    for s in [first.id, second.id, third.id] {
        assert!(listed.contains(&s));
    }
    let (found, found_session) = db.get_session("s2", now).await.unwrap().unwrap();
    assert_eq!((found.id, found_session.id), (ana.id, second.id));

    // Nobody ends another user's session.
    let foreign = db.end_session(bob.id, first.id, AuditActor::User(bob.id)).await;
    assert!(matches!(foreign, Err(Error::NotFound)), "{foreign:?}");
    db.end_session(ana.id, first.id, AuditActor::User(ana.id)).await.unwrap();
    assert!(db.get_session("s1", now).await.unwrap().is_none());

    let ended = db.end_other_sessions(ana.id, Some(third.id), AuditActor::User(ana.id)).await.unwrap();
    assert_eq!(ended, 2, "the second and the expired one");
    assert!(db.get_session("s2", now).await.unwrap().is_none());
    assert!(db.get_session("s3", now).await.unwrap().is_some());
    assert!(db.get_session("b1", now).await.unwrap().is_some(), "other users keep theirs");
    assert_eq!(db.list_sessions(bob.id, now).await.unwrap()[0].id, bobs.id);

    let log = db.list_audit(None, None, 10).await.unwrap();
    let actions: Vec<&str> = log.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, ["sessions_ended", "sessions_ended"], "{log:#?}");
    assert_eq!(log[0].details["sessions"], 2);
    assert_eq!(log[1].target_id.as_deref(), Some(first.id.to_string().as_str()));
    assert_eq!(log[0].actor, "ana@example.org");
});

test_both_dbs!(a_password_change_ends_the_other_sessions_in_the_same_transaction, |db| async move {
    let ana = user(&db, "ana@example.org").await;
    let keep = db.start_session(session(ana.id, "keep", 30)).await.unwrap();
    db.start_session(session(ana.id, "other", 30)).await.unwrap();
    let token = db
        .issue_api_token(
            NewApiToken { user: ana.id, name: "ci".into(), token_hash: "t".into(), expires_at: None },
            AuditActor::User(ana.id),
        )
        .await
        .unwrap();
    let ended = db.change_password(ana.id, "$argon2id$new".into(), Some(keep.id), AuditActor::User(ana.id)).await.unwrap();
    assert_eq!(ended, 1);
    let now = Utc::now();
    assert!(db.get_session("keep", now).await.unwrap().is_some());
    assert!(db.get_session("other", now).await.unwrap().is_none());
    assert_eq!(db.get_api_token("t", now).await.unwrap().map(|(_, t)| t.id), Some(token.id), "tokens stay");
    let (_, hash) = db.get_user_credentials("ana@example.org").await.unwrap().unwrap();
    assert_eq!(hash.as_deref(), Some("$argon2id$new"));
    let actions: Vec<String> = db.list_audit(None, None, 10).await.unwrap().into_iter().map(|e| e.action).collect();
    assert_eq!(actions, ["sessions_ended", "password_changed", "token_issued"]);

    // With no session to keep (an API token asked), every session ends.
    assert_eq!(db.change_password(ana.id, "$argon2id$3".into(), None, AuditActor::User(ana.id)).await.unwrap(), 1);
    assert!(db.get_session("keep", now).await.unwrap().is_none());
});

test_both_dbs!(api_tokens_are_named_listed_revoked_and_expire, |db| async move {
    let ana = user(&db, "ana@example.org").await;
    let bob = user(&db, "bob@example.org").await;
    let new = |name: &str, hash: &str, expires_at| NewApiToken {
        user: ana.id,
        name: name.to_owned(),
        token_hash: hash.to_owned(),
        expires_at,
    };
    let now = Utc::now();
    let ci = db.issue_api_token(new("ci", "h-ci", None), AuditActor::User(ana.id)).await.unwrap();
    let soon = db.issue_api_token(new("soon", "h-soon", Some(now + Duration::days(1))), AuditActor::System).await.unwrap();
    let gone = db.issue_api_token(new("gone", "h-gone", Some(now - Duration::seconds(1))), AuditActor::System).await.unwrap();

    let listed = db.list_api_tokens(ana.id).await.unwrap();
    assert_eq!(listed.iter().map(|t| t.name.as_str()).collect::<Vec<_>>(), ["gone", "soon", "ci"]);
    assert!(db.list_api_tokens(bob.id).await.unwrap().is_empty());

    // Using a token records when, at once the first time.
    assert_eq!(listed[2].last_used_at, None);
    let (who, used) = db.get_api_token("h-ci", now).await.unwrap().unwrap();
    assert_eq!((who.id, used.id), (ana.id, ci.id));
    assert!(used.last_used_at.is_some());
    assert!(db.list_api_tokens(ana.id).await.unwrap()[2].last_used_at.is_some());
    assert!(db.get_api_token("h-soon", now).await.unwrap().is_some());
    assert!(db.get_api_token("h-gone", now).await.unwrap().is_none(), "an expired token is refused");
    assert!(db.get_api_token("h-soon", now + Duration::days(2)).await.unwrap().is_none());
    assert_eq!(db.get_api_token_user("h-gone").await.unwrap(), None);

    let foreign = db.revoke_api_token(bob.id, ci.id, AuditActor::User(bob.id)).await;
    assert!(matches!(foreign, Err(Error::NotFound)), "{foreign:?}");
    let revoked = db.revoke_api_token(ana.id, ci.id, AuditActor::User(ana.id)).await.unwrap();
    assert_eq!(revoked.name, "ci");
    assert!(db.get_api_token("h-ci", now).await.unwrap().is_none(), "a revoked token is refused");
    assert!(matches!(db.revoke_api_token(ana.id, ci.id, AuditActor::User(ana.id)).await, Err(Error::NotFound)));
    assert_eq!(db.list_api_tokens(ana.id).await.unwrap().len(), 2);

    let log = db.list_audit(None, None, 10).await.unwrap();
    let summary: Vec<(String, String)> = log.iter().map(|e| (e.action.clone(), e.actor.clone())).collect();
    assert_eq!(
        summary,
        [
            ("token_revoked".into(), "ana@example.org".into()),
            ("token_issued".into(), "system".into()),
            ("token_issued".into(), "system".into()),
            ("token_issued".into(), "ana@example.org".into()),
        ]
    );
    assert_eq!(log[0].target_id, Some(ci.id.to_string()));
    assert_eq!(log[1].target_id, Some(gone.id.to_string()));
    assert_eq!(log[2].details["name"], "soon");
    assert_eq!(log[2].target_id, Some(soon.id.to_string()));
});

test_both_dbs!(member_changes_are_audited_in_their_city_and_the_last_coordinator_stays, |db| async move {
    let quito = city(&db, "quito").await;
    let lima = city(&db, "lima").await;
    let admin = user(&db, "admin@example.org").await;
    let by = AuditActor::User(admin.id);
    let ana = db.create_member(member(&quito, "ana@quito.ec", Role::Coordinator), by).await.unwrap();
    let bob = db.create_member(member(&quito, "bob@quito.ec", Role::Observer), by).await.unwrap();
    db.create_member(member(&lima, "eva@lima.pe", Role::Coordinator), by).await.unwrap();

    // The only coordinator can be neither demoted nor removed.
    let demote = MemberUpdate { role: Some(Role::Observer), area: None };
    let refused = db.update_member(quito.id, ana.id, demote.clone(), by).await;
    assert!(matches!(refused, Err(Error::LastCoordinator)), "{refused:?}");
    assert!(matches!(db.delete_member(quito.id, ana.id, by).await, Err(Error::LastCoordinator)));
    // Once there is another one, both work.
    let promote = MemberUpdate { role: Some(Role::Coordinator), area: None };
    db.update_member(quito.id, bob.id, promote, by).await.unwrap();
    db.update_member(quito.id, ana.id, demote, by).await.unwrap();
    assert!(matches!(db.delete_member(quito.id, bob.id, by).await, Err(Error::LastCoordinator)));
    db.delete_member(quito.id, ana.id, by).await.unwrap();
    // A change that changes nothing records nothing.
    db.update_member(quito.id, bob.id, MemberUpdate::default(), by).await.unwrap();

    let log = db.list_audit(Some(quito.id), None, 50).await.unwrap();
    let actions: Vec<&str> = log.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, ["member_removed", "member_changed", "member_changed", "member_added", "member_added"]);
    assert!(log.iter().all(|e| e.chain == city_chain(quito.id) && e.city_id == Some(quito.id)));
    assert!(log.iter().all(|e| e.actor == "admin@example.org" && e.actor_id == Some(admin.id)));
    assert_eq!(log[1].details["role"], json!({"from": "coordinator", "to": "observer"}));
    assert_eq!(log[1].details["email"], "ana@quito.ec");
    assert_eq!(log[0].details["email"], "ana@quito.ec");
    assert_eq!(log.iter().map(|e| e.seq).collect::<Vec<_>>(), [5, 4, 3, 2, 1], "newest first");
    // Pages go back from a sequence number.
    let page = db.list_audit(Some(quito.id), Some(3), 1).await.unwrap();
    assert_eq!((page.len(), page[0].seq), (1, 2));
    assert_eq!(db.list_audit(Some(lima.id), None, 50).await.unwrap().len(), 1, "each city its own chain");
    assert!(db.verify_audit().await.unwrap().broken.is_none());
});

/// Appends `n` entries from `db`, each in its own transaction, all at once.
async fn append_many(db: &Database, city: concerta_core::CityId, n: usize, tag: &str) {
    let tasks: Vec<_> = (0..n)
        .map(|i| {
            let db = db.clone();
            let tag = tag.to_owned();
            tokio::spawn(async move {
                let on_city = NewAuditEntry::new(AuditAction::Exported, AuditActor::System)
                    .city(city)
                    .details(json!({ "n": i, "by": tag }));
                db.record_audit(on_city).await.unwrap();
                let on_instance = NewAuditEntry::new(AuditAction::LoginFailed, AuditActor::Anonymous)
                    .details(json!({ "n": i, "by": tag }));
                db.record_audit(on_instance).await.unwrap();
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
}

test_both_dbs!(concurrent_writers_on_two_pools_keep_one_valid_chain, with_url, |db, url| async move {
    let quito = city(&db, "quito").await;
    // A second pool on the same database stands for a second node.
    let node2 = Database::connect(&url).await.unwrap();
    tokio::join!(append_many(&db, quito.id, 25, "node1"), append_many(&node2, quito.id, 25, "node2"));
    let report = db.verify_audit().await.unwrap();
    assert_eq!(report.broken, None);
    let mut chains: Vec<(String, i64)> = report.chains.iter().map(|c| (c.chain.clone(), c.entries)).collect();
    chains.sort();
    let mut want = vec![(city_chain(quito.id), 50), (INSTANCE_CHAIN.to_owned(), 50)];
    want.sort();
    assert_eq!(chains, want);
    let log = db.list_audit(Some(quito.id), None, 100).await.unwrap();
    assert_eq!(log.iter().map(|e| e.seq).collect::<Vec<_>>(), (1..=50).rev().collect::<Vec<_>>());
    for pair in log.windows(2) {
        assert_eq!(pair[1].hash, pair[0].prev_hash, "each entry carries the hash of the one before");
    }
    node2.close().await.unwrap();
});

async fn exec(db: &Database, sql: &str) {
    let conn = db.connection();
    conn.execute_raw(Statement::from_string(conn.get_database_backend(), sql.to_owned())).await.unwrap();
}

test_both_dbs!(verify_names_the_first_tampered_entry, |db| async move {
    let quito = city(&db, "quito").await;
    for i in 0..5 {
        let entry = NewAuditEntry::new(AuditAction::VersionApproved, AuditActor::System)
            .city(quito.id)
            .target("version", i)
            .details(json!({ "name": format!("v{i}") }));
        db.record_audit(entry).await.unwrap();
    }
    let chain = city_chain(quito.id);
    assert_eq!(db.verify_audit().await.unwrap().broken, None);

    // Someone rewrites what entry 3 says.
    exec(&db, &format!("UPDATE audit_entries SET details = '{{\"name\":\"v9\"}}' WHERE chain = '{chain}' AND seq = 3")).await;
    let broken = db.verify_audit().await.unwrap().broken.expect("the change is seen");
    assert_eq!((broken.chain.as_str(), broken.seq), (chain.as_str(), 3));
    assert!(broken.id.is_some());
    assert!(broken.reason.contains("hash"), "{}", broken.reason);
    exec(&db, &format!("UPDATE audit_entries SET details = '{{\"name\":\"v2\"}}' WHERE chain = '{chain}' AND seq = 3")).await;
    assert_eq!(db.verify_audit().await.unwrap().broken, None, "put back, it verifies again");

    // Someone changes who did it on entry 2, recomputing nothing.
    exec(&db, &format!("UPDATE audit_entries SET actor = 'someone' WHERE chain = '{chain}' AND seq = 2")).await;
    assert_eq!(db.verify_audit().await.unwrap().broken.map(|b| b.seq), Some(2));
    exec(&db, &format!("UPDATE audit_entries SET actor = 'system' WHERE chain = '{chain}' AND seq = 2")).await;

    // Someone deletes entry 4.
    exec(&db, &format!("DELETE FROM audit_entries WHERE chain = '{chain}' AND seq = 4")).await;
    let broken = db.verify_audit().await.unwrap().broken.expect("the gap is seen");
    assert_eq!(broken.seq, 4);
    assert!(broken.reason.contains("missing"), "{}", broken.reason);

    // Someone deletes the last entries: the head no longer matches.
    exec(&db, &format!("DELETE FROM audit_entries WHERE chain = '{chain}' AND seq >= 4")).await;
    let broken = db.verify_audit().await.unwrap().broken.expect("the truncation is seen");
    assert_eq!(broken.seq, 4);
    assert!(broken.reason.contains("head"), "{}", broken.reason);
});
