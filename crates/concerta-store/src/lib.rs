//! `concerta-store`: everything Concerta keeps in its database, behind one [`Database`] facade.
//!
//! Workflow: [`Database::connect`] opens SQLite (the default, a file in the data directory, WAL)
//! or Postgres (when the URL says `postgres://`), [`Database::migrate`] applies
//! `concerta-migrations`, and the `impl Database` blocks in `queries/` (one file per area:
//! users, auth, audit, cities, areas, members, actors, strategies, versions, sync, indicators,
//! capacities, baseline, consultations, outbox, invitations, roundtables) read and write. Entities live in
//! `tables/` and stay private; the public API speaks `concerta-core` ids and the plain structs
//! re-exported here.
//!
//! Invariants:
//! - Every public method runs in its own transaction ([`Database::transaction`]), retried on
//!   Postgres serialization failures and deadlocks (on SQLite begun `IMMEDIATE`, one at a time
//!   per process); helpers that compose take a transaction.
//! - Unique-constraint violations surface as [`Error::Conflict`] naming the API field.
//! - Only this crate and `concerta-migrations` know SQL.
//! - Rows that belong to a city are only returned for that city: lookups by id that take a
//!   `CityId` return [`Error::NotFound`] for another city's row.

#![warn(missing_docs)]

mod error;
mod queries;
mod tables;
#[cfg(feature = "testing")]
pub mod testing;

use std::future::Future;
use std::ops::Deref;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use concerta_migrations::{Migrator, MigratorTrait};
use rand::Rng;
use sea_orm::{ConnectOptions, DatabaseConnection, DatabaseTransaction, SqliteTransactionMode, TransactionOptions, TransactionTrait};

pub use error::{Error, Result};
pub use queries::actors::{Actor, ActorUpdate, NewActor};
pub use queries::areas::{Area, NewArea};
pub use queries::audit::{
    AuditActor, AuditEntry, AuditReport, BrokenEntry, ChainHead, INSTANCE_CHAIN, NewAuditEntry, city_chain,
};
pub use queries::auth::{ApiToken, ApiTokenId, NewApiToken, NewSession, Session, SessionId};
pub use queries::baseline::{
    BaselineResponse, Comparison, Network, NewQuestion, Question, QuestionComparison, Questionnaire, SharedAnswer, Viewer,
};
pub use queries::capacities::{Capacity, CapacityUpdate};
pub use queries::indicators::{
    EvidenceFile, EvidenceInfo, ImportSummary, Indicator, IndicatorFields, Measurement, NewEvidence, NewMeasurement,
    MEASUREMENT_REMINDER_KIND, QueuedReminder, StatusOverride,
};
pub use queries::cities::{City, NewCity};
pub use queries::consultations::{
    CONSULTATION_ACCOUNT_INVITATION_KIND, CONSULTATION_COMMENT_SUBJECT, CONSULTATION_INVITATION_KIND,
    CONSULTATION_INVITEE_SUBJECT, CONSULTATION_RESPONSE_KIND, Comment, Consultation, Hidden, InviteMail, Invitee, InviteeState,
    NewComment, NewConsultation, NewInvitee, NewResponse, Response, zoned_time,
};
pub use queries::invitations::{
    self as invitations, ACCOUNT_INVITATION_KIND, AccountInvitation, InvitationClaim, InvitationMail, InvitationPreview, InvitationState, InviteLinks,
    LinkProblem, NewAccountInvitation,
};
pub use queries::members::{Member, MemberUpdate, NewMember};
pub use queries::outbox::{self as outbox, Delivery, MailPart, NewMessage, OutboxMessage, PartDisposition, Recipient, Subject};
pub use queries::roundtables::{
    Agreement, Invitation, Mail, MailKind, Mailer, NewAgreement, NewInvitation, NewRoundtable, QueuedRoundtableReminder, ROUNDTABLE_INVITATION_SUBJECT,
    Roundtable,
};
pub use queries::strategies::{CHUNK_KIND_CHANGES, CHUNK_KIND_SNAPSHOT, NewSection, NewStrategy, Section, Strategy};
pub use queries::sync::{
    ACCESS_CHANNEL, CHUNK_KIND_LOG, CONSULTATION_CHANNEL, ChunkNotice, DOC_CHANNEL, DocContext, DocListener, DocRow, MAX_NOTIFY_PAYLOAD,
    NewDocChunk, Notice, PRESENCE_CHANNEL,
};
pub use queries::users::{NewUser, User};
pub use queries::versions::{DocRevision, NewVersion, UserRef, Version, VersionSection};

/// How many times a transaction is attempted when Postgres reports a serialization failure
/// or a deadlock (or SQLite reports it is busy).
const TRANSACTION_ATTEMPTS: u32 = 4;

/// The database: a connection pool to SQLite or Postgres. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Database {
    conn: DatabaseConnection,
    /// Woken after the commit of every transaction that enqueued an email, so this process's
    /// outbox worker sends it at once ([`Database::outbox_wakeups`]).
    outbox_wake: Arc<tokio::sync::Notify>,
    /// On SQLite, taken by [`Database::transaction`] for its whole run: SQLite has one writer
    /// at a time, and this process's transactions queue here instead of failing with "database
    /// is locked" when many write at once (sixteen concurrent member additions did).
    sqlite_writer: Option<Arc<tokio::sync::Mutex<()>>>,
}

tokio::task_local! {
    /// Set while a [`Database::transaction`] body runs in this task: a nested transaction
    /// does not wait for the writer lock its caller holds.
    static IN_TRANSACTION: ();
}

/// A transaction handed to the body of [`Database::transaction`].
///
/// It is an owned handle (not a borrow) so that the body's future needs no higher-ranked
/// lifetime; the body must not keep a clone of it past its end.
#[derive(Clone)]
pub struct TransactionHandle {
    tx: Arc<DatabaseTransaction>,
    /// Set by [`outbox::enqueue`]: the commit wakes the outbox worker.
    enqueued: Arc<AtomicBool>,
}

impl TransactionHandle {
    /// Marks this transaction as one that queued email (the worker is woken after commit).
    pub(crate) fn mark_enqueued(&self) {
        self.enqueued.store(true, Ordering::Relaxed);
    }
}

impl Deref for TransactionHandle {
    type Target = DatabaseTransaction;

    fn deref(&self) -> &DatabaseTransaction {
        &self.tx
    }
}

impl Database {
    /// Connects to `url`: `sqlite://path` (the file and its directory are created; WAL
    /// journal, foreign keys on, 5 s busy timeout) or `postgres://…`.
    #[tracing::instrument(skip_all)]
    pub async fn connect(url: &str) -> Result<Self> {
        let mut options = ConnectOptions::new(url.to_owned());
        options.sqlx_logging(false);
        if url.starts_with("sqlite:") {
            let path = url
                .trim_start_matches("sqlite:")
                .trim_start_matches("//")
                .split('?')
                .next()
                .unwrap_or_default();
            if let Some(dir) = Path::new(path).parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir).map_err(|e| {
                    Error::Connect(format!("cannot create the data directory {}: {e}", dir.display()))
                })?;
            }
            let url = if url.contains('?') { url.to_owned() } else { format!("{url}?mode=rwc") };
            options = ConnectOptions::new(url);
            options
                .sqlx_logging(false)
                .max_connections(8)
                .map_sqlx_sqlite_opts(|opts| {
                    opts.create_if_missing(true)
                        .journal_mode(sea_orm::sqlx::sqlite::SqliteJournalMode::Wal)
                        .synchronous(sea_orm::sqlx::sqlite::SqliteSynchronous::Normal)
                        .foreign_keys(true)
                        .busy_timeout(Duration::from_secs(5))
                });
        } else if !url.starts_with("postgres:") && !url.starts_with("postgresql:") {
            return Err(Error::Connect(
                "the database URL must start with sqlite:// or postgres://".to_owned(),
            ));
        } else {
            options.max_connections(16).acquire_timeout(Duration::from_secs(10));
        }
        let conn = sea_orm::Database::connect(options)
            .await
            .map_err(|e| Error::Connect(e.to_string()))?;
        let sqlite_writer = (conn.get_database_backend() == sea_orm::DbBackend::Sqlite).then(|| Arc::new(tokio::sync::Mutex::new(())));
        Ok(Self { conn, outbox_wake: Arc::new(tokio::sync::Notify::new()), sqlite_writer })
    }

    /// What the outbox worker waits on: notified after the commit of every transaction of
    /// this process that enqueued an email. (Other nodes' messages are found by polling.)
    pub fn outbox_wakeups(&self) -> Arc<tokio::sync::Notify> {
        self.outbox_wake.clone()
    }

    /// Applies every pending migration.
    #[tracing::instrument(skip_all)]
    pub async fn migrate(&self) -> Result<()> {
        Migrator::up(&self.conn, None).await?;
        Ok(())
    }

    /// Whether the database answers (for `/readyz`).
    #[tracing::instrument(skip_all)]
    pub async fn ping(&self) -> Result<()> {
        self.conn.ping().await?;
        Ok(())
    }

    /// Whether this is Postgres, where several nodes may share the database.
    pub fn is_postgres(&self) -> bool {
        self.conn.get_database_backend() == sea_orm::DbBackend::Postgres
    }

    /// Which database this is (tests only: nothing above the store sees sea-orm types).
    #[cfg(feature = "testing")]
    pub fn backend(&self) -> sea_orm::DbBackend {
        self.conn.get_database_backend()
    }

    /// The underlying sea-orm connection (tests only: queries belong in `queries/`, and
    /// nothing above the store sees sea-orm types).
    #[cfg(feature = "testing")]
    pub fn connection(&self) -> &DatabaseConnection {
        &self.conn
    }

    /// Closes the pool.
    pub async fn close(self) -> Result<()> {
        self.conn.close().await?;
        Ok(())
    }

    /// Runs `body` in a transaction and commits it. When the body or the commit fails with a
    /// retryable error (Postgres 40001 serialization failure or 40P01 deadlock, SQLite busy),
    /// the transaction is rolled back and `body` runs again after a jittered backoff, up to a
    /// few attempts. Any other error rolls back and is returned. On SQLite the transactions
    /// of this process run one at a time (see `sqlite_writer`).
    ///
    /// Meant for the store's own query modules (and its tests); code above the store calls
    /// the named methods instead.
    pub async fn transaction<T, F, Fut>(&self, body: F) -> Result<T>
    where
        F: Fn(TransactionHandle) -> Fut + Send,
        Fut: Future<Output = Result<T>> + Send,
        T: Send,
    {
        let outermost = IN_TRANSACTION.try_with(|_| ()).is_err();
        let _writer = match &self.sqlite_writer {
            Some(lock) if outermost => Some(lock.clone().lock_owned().await),
            _ => None,
        };
        // SQLite: the outermost transaction takes the write lock when it begins (`BEGIN
        // IMMEDIATE`), waiting for another process's writer within the busy timeout. A
        // deferred one that reads first and writes later can instead fail at once with "database
        // is locked" when another process (the CLI beside a server) writes meanwhile: SQLite
        // does not wait there, and the retries could all collide with a busy server. Nested
        // transactions stay deferred (their caller holds the lock).
        let immediate = outermost && self.sqlite_writer.is_some();
        IN_TRANSACTION.scope((), self.attempt_transaction(body, immediate)).await
    }

    async fn attempt_transaction<T, F, Fut>(&self, body: F, immediate: bool) -> Result<T>
    where
        F: Fn(TransactionHandle) -> Fut + Send,
        Fut: Future<Output = Result<T>> + Send,
        T: Send,
    {
        let mut attempt = 1;
        loop {
            let tx = if immediate {
                let options = TransactionOptions { sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate), ..Default::default() };
                self.conn.begin_with_options(options).await?
            } else {
                self.conn.begin().await?
            };
            let handle = TransactionHandle {
                tx: Arc::new(tx),
                enqueued: Arc::new(AtomicBool::new(false)),
            };
            let result = body(handle.clone()).await;
            let enqueued = handle.enqueued.load(Ordering::Relaxed);
            let tx = Arc::try_unwrap(handle.tx).map_err(|_| {
                Error::Internal("a transaction handle outlived its transaction body".to_owned())
            })?;
            let error = match result {
                Ok(value) => match tx.commit().await {
                    Ok(()) => {
                        if enqueued {
                            self.outbox_wake.notify_one();
                        }
                        return Ok(value);
                    }
                    Err(e) => Error::from(e),
                },
                Err(e) => {
                    if let Err(rollback) = tx.rollback().await {
                        tracing::warn!(error = %rollback, "rollback failed");
                    }
                    e
                }
            };
            if !error.is_retryable() || attempt >= TRANSACTION_ATTEMPTS {
                return Err(error);
            }
            let base = 10u64 << attempt;
            let delay = rand::rng().random_range(base / 2..=base * 2);
            tracing::debug!(attempt, delay_ms = delay, error = %error, "retrying transaction");
            tokio::time::sleep(Duration::from_millis(delay)).await;
            attempt += 1;
        }
    }
}

/// The current time at the precision both databases keep (microseconds), so values written
/// and values read back compare equal.
pub(crate) fn now() -> chrono::DateTime<chrono::Utc> {
    use chrono::SubsecRound;
    chrono::Utc::now().trunc_subsecs(6)
}
