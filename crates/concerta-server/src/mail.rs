//! The email worker of `concerta serve`: builds the [`concerta_notify::Worker`] from the
//! configuration (SMTP or `.eml` files under `<data>/outbox/`) and runs it as a task.
//!
//! Requests never wait on SMTP: handlers only write outbox rows through the store, whose
//! commit wakes this worker (`Database::outbox_wakeups`).

use std::time::Duration;

use anyhow::Context as _;
use concerta_notify::mime::Address;
use concerta_notify::{RetryPolicy, Transport, Worker, WorkerConfig};

use crate::state::AppState;

/// The worker for `state`'s configuration; an error names the bad setting.
pub fn worker(state: &AppState) -> anyhow::Result<Worker> {
    let config = &state.config;
    let from: Address = config
        .mail_from
        .trim()
        .parse()
        .with_context(|| format!("CONCERTA_MAIL_FROM: {:?} is not an email address", config.mail_from))?;
    let lease = config.mail_lease();
    // One SMTP command may take this long; a claim must outlast a few of them.
    let timeout = (lease / 4).clamp(Duration::from_secs(1), Duration::from_secs(30));
    let transport = Transport::new(config.smtp_url.as_deref(), config.data.join("outbox"), timeout)?;
    let mut worker_config = WorkerConfig::new(from, config.public_url());
    worker_config.lease = lease;
    worker_config.retry = RetryPolicy { base: config.mail_retry_base(), ..RetryPolicy::default() };
    Ok(Worker::new(state.db.clone(), transport, worker_config))
}
