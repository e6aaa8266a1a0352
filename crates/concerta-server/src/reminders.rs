//! The reminder loop: once a minute (and at start), every node asks the store to write the
//! reminders of measurements that are due and missing. The store's unique index on
//! `(indicator, due date)` makes the reminder once per due date however many nodes run
//! this loop and however often they restart; the email itself goes through the outbox.
//!
//! Metrics: `concerta_reminder_runs_total` (looks taken) and
//! `concerta_measurement_reminders_total` (reminders this node wrote).
//!
//! Invariant: the loop never exits on an error; it logs and tries again next time.

use std::time::Duration;

use crate::state::AppState;

/// How often the loop looks for due measurements.
pub const INTERVAL: Duration = Duration::from_secs(60);

/// Runs the loop until the task is dropped.
pub async fn run(state: AppState, interval: Duration) {
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        metrics::counter!("concerta_reminder_runs_total").increment(1);
        match state.db.queue_measurement_reminders(crate::evaluation::today()).await {
            Ok(queued) if queued.is_empty() => {}
            Ok(queued) => {
                for r in &queued {
                    tracing::info!(indicator = %r.indicator_id, due_on = %r.due_on, recipients = r.recipients.len(), "measurement reminder queued");
                }
                metrics::counter!("concerta_measurement_reminders_total").increment(queued.len() as u64);
            }
            Err(e) => tracing::warn!(error = %e, "could not queue measurement reminders"),
        }
    }
}
