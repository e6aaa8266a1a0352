//! The outbox worker: claims due messages through the store, renders and sends them, and
//! records the outcome. One per `concerta serve` process; any number of processes may share
//! one database.
//!
//! Loop: claim up to `batch` due messages under a fresh claim (a lease of `lease`), send them
//! (`concurrency` at a time), mark each `sent`, `deferred` (transient failure: retry after
//! [`RetryPolicy::delay`]) or `failed` (permanent failure, or too many attempts). When nothing
//! is due it sleeps until the next due time, at most `poll`, or until the store says this
//! process committed a new message ([`concerta_store::Database::outbox_wakeups`]).
//!
//! Crash safety: a process killed between the claim and the mark leaves the row claimed; once
//! the lease ends, any worker claims it again. The only window for a second delivery is a
//! message the SMTP server accepted and the process died before the mark (one short UPDATE);
//! both deliveries carry the same `Message-ID`.
//!
//! Invariant: the loop never exits on an error; it logs and goes on.

use std::sync::Arc;
use std::time::Duration;

use concerta_store::{Database, OutboxMessage};
use futures_util::StreamExt;

use crate::mime;
use crate::render::{Context, RecipientContext, Renderer};
use crate::retry::RetryPolicy;
use crate::transport::{SendError, Transport};

/// How the worker runs.
#[derive(Clone, Debug)]
pub struct WorkerConfig {
    /// The sender address (`CONCERTA_MAIL_FROM`).
    pub from: lettre::Address,
    /// The public URL templates build links with (no trailing slash).
    pub base_url: String,
    /// How long a claim lasts; must exceed the time to send one batch.
    pub lease: Duration,
    /// Messages claimed at once.
    pub batch: u64,
    /// Messages sent at once.
    pub concurrency: usize,
    /// The longest sleep when nothing is due (other nodes' new messages are found by then).
    pub poll: Duration,
    /// Retries.
    pub retry: RetryPolicy,
}

impl WorkerConfig {
    /// Defaults: 5-minute lease, batches of 16, 4 at once, poll every 5 s.
    pub fn new(from: lettre::Address, base_url: String) -> Self {
        Self {
            from,
            base_url,
            lease: Duration::from_secs(300),
            batch: 16,
            concurrency: 4,
            poll: Duration::from_secs(5),
            retry: RetryPolicy::default(),
        }
    }
}

/// What happened to one claimed message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Handed to the SMTP server (or written).
    Sent,
    /// Will be tried again.
    Deferred(String),
    /// Given up.
    Failed(String),
}

/// The worker. Cheap to clone.
#[derive(Clone)]
pub struct Worker {
    db: Database,
    renderer: Arc<Renderer>,
    transport: Transport,
    config: Arc<WorkerConfig>,
    node: Arc<str>,
}

impl Worker {
    /// A worker over `db` sending through `transport`.
    pub fn new(db: Database, transport: Transport, config: WorkerConfig) -> Self {
        Self {
            db,
            renderer: Arc::new(Renderer::new()),
            transport,
            config: Arc::new(config),
            node: uuid::Uuid::new_v4().simple().to_string().into(),
        }
    }

    /// Runs until the task is dropped.
    pub async fn run(self) {
        tracing::info!(transport = %self.transport.describe(), "mail worker started");
        let wake = self.db.outbox_wakeups();
        loop {
            let handled = match self.run_once().await {
                Ok(n) => n,
                Err(e) => {
                    tracing::warn!(error = %e, "mail worker: could not claim messages");
                    0
                }
            };
            if handled > 0 {
                continue;
            }
            let wait = match self.db.next_outbox_due().await {
                Ok(Some(at)) => (at - chrono::Utc::now()).to_std().unwrap_or(Duration::ZERO).min(self.config.poll),
                Ok(None) => self.config.poll,
                Err(e) => {
                    tracing::warn!(error = %e, "mail worker: could not read the next due time");
                    self.config.poll
                }
            };
            if wait.is_zero() {
                // Due but claimed by someone else (or the clock moved): do not spin.
                tokio::time::sleep(Duration::from_millis(200)).await;
                continue;
            }
            tokio::select! {
                () = wake.notified() => {}
                () = tokio::time::sleep(wait) => {}
            }
        }
    }

    /// Claims one batch and handles it; returns how many messages it handled.
    pub async fn run_once(&self) -> concerta_store::Result<usize> {
        let claim = format!("{}:{}", self.node, uuid::Uuid::now_v7().simple());
        let batch = self.db.claim_outbox(&claim, self.config.lease, self.config.batch).await?;
        let n = batch.len();
        let claim = &claim;
        futures_util::stream::iter(batch)
            .for_each_concurrent(self.config.concurrency.max(1), |row| async move {
                let outcome = self.deliver(&row).await;
                self.record(&row, claim, outcome).await;
            })
            .await;
        Ok(n)
    }

    /// Renders, builds and sends one claimed message.
    pub async fn deliver(&self, row: &OutboxMessage) -> Outcome {
        let context = Context {
            city_name: &row.sender_name,
            recipient: RecipientContext { name: &row.recipient_name, email: &row.recipient_email },
            base_url: &self.config.base_url,
            locale: row.locale.as_str(),
            data: &row.payload,
        };
        let rendered = match self.renderer.render(&row.kind, row.locale, &context) {
            Ok(r) => r,
            Err(e) => return Outcome::Failed(format!("cannot render: {e}")),
        };
        let message = match mime::build(row, &rendered, &self.config.from) {
            Ok(m) => m,
            Err(e) => return Outcome::Failed(e.to_string()),
        };
        match self.transport.send(&message, &row.id.to_string()).await {
            Ok(()) => Outcome::Sent,
            Err(SendError::Permanent(e)) => Outcome::Failed(e),
            Err(SendError::Transient(e)) if self.config.retry.exhausted(row.attempts) => {
                Outcome::Failed(format!("gave up after {} attempts: {e}", row.attempts))
            }
            Err(SendError::Transient(e)) => Outcome::Deferred(e),
        }
    }

    async fn record(&self, row: &OutboxMessage, claim: &str, outcome: Outcome) {
        let result = match &outcome {
            Outcome::Sent => {
                metrics::counter!("concerta_mail_sent_total").increment(1);
                tracing::info!(id = %row.id, kind = %row.kind, attempts = row.attempts, "mail sent");
                self.db.mark_outbox_sent(row.id, claim).await
            }
            Outcome::Deferred(error) => {
                metrics::counter!("concerta_mail_deferred_total").increment(1);
                let delay = self.config.retry.delay(row.attempts, &mut rand::rng());
                let at = chrono::Utc::now() + chrono::Duration::from_std(delay).unwrap_or(chrono::Duration::hours(1));
                tracing::warn!(id = %row.id, kind = %row.kind, attempts = row.attempts, retry_in = ?delay, %error, "mail deferred");
                self.db.mark_outbox_retry(row.id, claim, at, error).await
            }
            Outcome::Failed(error) => {
                metrics::counter!("concerta_mail_failed_total").increment(1);
                tracing::warn!(id = %row.id, kind = %row.kind, attempts = row.attempts, %error, "mail failed");
                self.db.mark_outbox_failed(row.id, claim, error).await
            }
        };
        match result {
            Ok(true) => {}
            Ok(false) => tracing::warn!(id = %row.id, "mail worker: the claim had expired; another worker owns the message now"),
            Err(e) => tracing::error!(id = %row.id, error = %e, "mail worker: could not record the outcome; the message will be tried again after its lease"),
        }
    }
}
