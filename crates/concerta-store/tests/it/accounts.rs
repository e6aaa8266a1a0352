use chrono::{Duration, Utc};
use concerta_store::{Error, NewUser, test_both_dbs};

use crate::user;

test_both_dbs!(users_have_unique_lowercase_emails, |db| async move {
    let ana = user(&db, "  Ana@Quito.GOB.EC ").await;
    assert_eq!(ana.email, "ana@quito.gob.ec");
    assert!(ana.has_password);
    assert_eq!(db.get_user(ana.id).await.unwrap(), ana);
    assert_eq!(db.get_user_by_email("ANA@quito.gob.ec").await.unwrap(), Some(ana.clone()));

    let again = db
        .create_user(NewUser {
            email: "ana@quito.gob.ec".to_owned(),
            name: "Other".to_owned(),
            password_hash: None,
            network_admin: true,
        })
        .await;
    assert!(matches!(again, Err(Error::Conflict { ref field }) if field == "email"), "{again:?}");

    let (found, hash) = db.get_user_credentials("ana@quito.gob.ec").await.unwrap().unwrap();
    assert_eq!(found.id, ana.id);
    assert_eq!(hash.as_deref(), Some("$argon2id$fake"));
    db.set_password_hash(ana.id, "$argon2id$new".to_owned()).await.unwrap();
    let (_, hash) = db.get_user_credentials("ana@quito.gob.ec").await.unwrap().unwrap();
    assert_eq!(hash.as_deref(), Some("$argon2id$new"));
    assert!(db.get_user_credentials("nobody@x.org").await.unwrap().is_none());
});

test_both_dbs!(sessions_expire_and_end, |db| async move {
    let ana = user(&db, "ana@example.org").await;
    let now = Utc::now();
    db.create_session(ana.id, "live".to_owned(), now + Duration::days(30)).await.unwrap();
    db.create_session(ana.id, "stale".to_owned(), now - Duration::seconds(1)).await.unwrap();

    assert_eq!(db.get_session_user("live", now).await.unwrap().map(|u| u.id), Some(ana.id));
    assert_eq!(db.get_session_user("stale", now).await.unwrap(), None);
    assert_eq!(db.get_session_user("unknown", now).await.unwrap(), None);

    assert_eq!(db.delete_expired_sessions(now).await.unwrap(), 1);
    db.delete_session("live").await.unwrap();
    assert_eq!(db.get_session_user("live", now).await.unwrap(), None);
});

test_both_dbs!(api_tokens_find_their_user, |db| async move {
    let ana = user(&db, "ana@example.org").await;
    db.create_api_token(ana.id, "hash-1".to_owned()).await.unwrap();
    assert_eq!(db.get_api_token_user("hash-1").await.unwrap().map(|u| u.id), Some(ana.id));
    assert_eq!(db.get_api_token_user("hash-2").await.unwrap(), None);
    let dup = db.create_api_token(ana.id, "hash-1".to_owned()).await;
    assert!(matches!(dup, Err(Error::Conflict { .. })), "{dup:?}");
    let unknown = db.create_api_token(concerta_core::UserId::new(), "hash-3".to_owned()).await;
    assert!(matches!(unknown, Err(Error::NotFound)), "{unknown:?}");
});

test_both_dbs!(transactions_roll_back_on_error, |db| async move {
    let result: Result<(), Error> = db
        .transaction(|tx| async move {
            use sea_orm::ConnectionTrait;
            tx.execute_unprepared(
                "INSERT INTO cities (id, name, slug, locale, created_at) \
                 VALUES ('00000000-0000-0000-0000-000000000001', 'X', 'x-city', 'es', '2025-01-01T00:00:00Z')",
            )
            .await?;
            Err(Error::NotFound)
        })
        .await;
    assert!(matches!(result, Err(Error::NotFound)));
    assert!(db.list_cities().await.unwrap().is_empty(), "the insert was rolled back");
});

test_both_dbs!(transactions_retry_serialization_failures_only, |db| async move {
    use sea_orm::ConnectionTrait;
    use std::sync::atomic::{AtomicU32, Ordering};

    // A non-retryable error runs the body once.
    let attempts = AtomicU32::new(0);
    let attempts_ref = &attempts;
    let result: Result<(), Error> = db
        .transaction(|_tx| async move {
            attempts_ref.fetch_add(1, Ordering::SeqCst);
            Err(Error::NotFound)
        })
        .await;
    assert!(matches!(result, Err(Error::NotFound)));
    assert_eq!(attempts.load(Ordering::SeqCst), 1);

    if db.backend() != sea_orm::DbBackend::Postgres {
        return;
    }
    // A serialization failure (SQLSTATE 40001) on the first attempt is retried.
    let attempts = AtomicU32::new(0);
    let attempts_ref = &attempts;
    let value = db
        .transaction(|tx| async move {
            if attempts_ref.fetch_add(1, Ordering::SeqCst) == 0 {
                tx.execute_unprepared("DO $$ BEGIN RAISE EXCEPTION 'conflict' USING ERRCODE = '40001'; END $$")
                    .await?;
            }
            Ok(42)
        })
        .await
        .unwrap();
    assert_eq!((value, attempts.load(Ordering::SeqCst)), (42, 2));

    // One that keeps failing gives up after a few attempts and reports the error.
    let attempts = AtomicU32::new(0);
    let attempts_ref = &attempts;
    let result: Result<(), Error> = db
        .transaction(|tx| async move {
            attempts_ref.fetch_add(1, Ordering::SeqCst);
            tx.execute_unprepared("DO $$ BEGIN RAISE EXCEPTION 'deadlock' USING ERRCODE = '40P01'; END $$")
                .await?;
            Ok(())
        })
        .await;
    assert!(result.as_ref().is_err_and(Error::is_retryable), "{result:?}");
    assert_eq!(attempts.load(Ordering::SeqCst), 4);
});

test_both_dbs!(setup_is_needed_until_an_account_can_log_in, |db| async move {
    assert!(!db.any_user_can_log_in().await.unwrap(), "an empty database has no login");
    db.create_user(NewUser {
        email: "invited@example.org".to_owned(),
        name: "Invited".to_owned(),
        password_hash: None,
        network_admin: false,
    })
    .await
    .unwrap();
    assert!(!db.any_user_can_log_in().await.unwrap(), "an invited account without password cannot log in");
    user(&db, "ana@example.org").await;
    assert!(db.any_user_can_log_in().await.unwrap());
});

/// Two processes on one SQLite file (a server and `concerta admin …` beside it), each with its
/// own pool: a transaction that starts while the other holds the write lock waits for it at
/// `BEGIN` (IMMEDIATE) and then runs once. A deferred one read first, was refused at its
/// write ("database is locked", busy snapshot) and had to start again.
#[tokio::test]
async fn a_second_process_waits_for_the_writer_instead_of_failing() {
    use sea_orm::ConnectionTrait;
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::time::Duration;

    let test_db = concerta_store::testing::TestDb::sqlite().await;
    let server = test_db.db.clone();
    let cli = concerta_store::Database::connect(&test_db.url).await.expect("a second connection to the file");
    let (held_tx, held_rx) = tokio::sync::oneshot::channel::<()>();
    let held_tx = std::sync::Mutex::new(Some(held_tx));
    let writer = tokio::spawn(async move {
        server
            .transaction(|tx| {
                let held = held_tx.lock().unwrap().take();
                async move {
                    tx.execute_unprepared(
                        "INSERT INTO cities (id, name, slug, locale, created_at) \
                         VALUES ('00000000-0000-0000-0000-0000000000a1', 'A', 'a-city', 'es', '2025-01-01T00:00:00Z')",
                    )
                    .await?;
                    if let Some(held) = held {
                        let _ = held.send(());
                    }
                    tokio::time::sleep(Duration::from_millis(300)).await;
                    Ok(())
                }
            })
            .await
    });
    held_rx.await.expect("the first process holds the write lock");
    let attempts = AtomicU32::new(0);
    let attempts_ref = &attempts;
    cli.transaction(|tx| async move {
        attempts_ref.fetch_add(1, Ordering::SeqCst);
        // Read, then write: what `concerta admin token` does.
        tx.execute_unprepared("SELECT count(*) FROM cities").await?;
        tx.execute_unprepared(
            "INSERT INTO cities (id, name, slug, locale, created_at) \
             VALUES ('00000000-0000-0000-0000-0000000000b2', 'B', 'b-city', 'es', '2025-01-01T00:00:00Z')",
        )
        .await?;
        Ok(())
    })
    .await
    .expect("the second process writes after the first");
    writer.await.expect("writer task").expect("the first process commits");
    assert_eq!(attempts.load(Ordering::SeqCst), 1, "it waited at BEGIN instead of failing and starting again");
    let rows = cli
        .transaction(|tx| async move {
            let row = tx.query_one_raw(sea_orm::Statement::from_string(sea_orm::DbBackend::Sqlite, "SELECT count(*) AS n FROM cities")).await?;
            Ok(row.map(|r| r.try_get::<i64>("", "n").unwrap_or(-1)))
        })
        .await
        .unwrap();
    assert_eq!(rows, Some(2), "both rows are there");
    cli.close().await.ok();
    test_db.cleanup().await;
}
