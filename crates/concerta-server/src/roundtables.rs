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
use concerta_roundtable::validate::local_time;
use concerta_store::{Delivery, Invitation, Mail, MailKind, MailPart, Mailer, PartDisposition, ROUNDTABLE_INVITATION_SUBJECT, Roundtable};
use serde_json::json;

use crate::error::Result;
use crate::state::AppState;

/// Composes roundtable emails: what every write of the store hands each recipient.
pub struct RoundtableMailer {
    key: Vec<u8>,
    base_url: String,
    host: String,
    from: String,
    cities: HashMap<CityId, String>,
    notes: String,
    agreements: Vec<String>,
}

impl RoundtableMailer {
    /// A mailer with this deployment's RSVP key, public URL, sender and city names.
    pub async fn new(state: &AppState) -> Result<Self> {
        let base_url = state.config.public_url();
        let host = base_url.split("://").nth(1).unwrap_or("concerta").split(['/', ':']).next().unwrap_or("concerta").to_owned();
        let cities = state.db.list_cities().await?.into_iter().map(|c| (c.id, c.name)).collect();
        Ok(Self { key: state.db.rsvp_key().await?, base_url, host, from: state.config.mail_from.clone(), cities, notes: String::new(), agreements: Vec::new() })
    }

    /// The same, carrying the minutes (notes and agreements) for the closing email.
    pub fn with_minutes(mut self, notes: String, agreements: Vec<String>) -> Self {
        self.notes = notes;
        self.agreements = agreements;
        self
    }

    /// The path of the RSVP page of `invitation` (the templates put the public URL before it).
    fn rsvp_path(&self, rt: &Roundtable, invitation: &Invitation) -> String {
        let claim = Claim {
            invitation: invitation.id,
            roundtable: rt.id,
            expires_at: token::expiry_for(rt.details.schedule.ends_at),
        };
        format!("/rsvp/{}", token::sign(&self.key, &claim))
    }

    /// The RSVP page of `invitation` (signed, expiring with the meeting).
    pub fn rsvp_url(&self, rt: &Roundtable, invitation: &Invitation) -> String {
        format!("{}{}", self.base_url, self.rsvp_path(rt, invitation))
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

/// When a roundtable meets, in its own zone: `2030-03-10 10:00–12:00 (America/Bogota)`, or
/// with both dates when it ends on another day.
pub fn when(rt: &Roundtable) -> String {
    let schedule = &rt.details.schedule;
    let (start, end) = (local_time(schedule.starts_at, &schedule.timezone), local_time(schedule.ends_at, &schedule.timezone));
    let end_text = if start.date() == end.date() { end.strftime("%H:%M").to_string() } else { end.strftime("%Y-%m-%d %H:%M").to_string() };
    format!("{}–{} ({})", start.strftime("%Y-%m-%d %H:%M"), end_text, schedule.timezone)
}

impl Mailer for RoundtableMailer {
    /// The payload every roundtable template reads (`templates/roundtable_*/sample.json`) and,
    /// except for the minutes, the calendar object as a `text/calendar` alternative (so mail
    /// clients show an invitation) and as `invite.ics`, both with the RSVP link.
    fn compose(&self, rt: &Roundtable, invitation: &Invitation, kind: MailKind) -> Option<Mail> {
        let d = &rt.details;
        let payload = json!({
            "title": d.title,
            "when": when(rt),
            "location": d.location,
            "online_url": d.online_url,
            "purpose": d.purpose,
            "agenda": d.agenda,
            "rsvp_path": self.rsvp_path(rt, invitation),
            "notes": self.notes,
            "agreements": self.agreements,
        });
        let method = match kind {
            MailKind::Invitation | MailKind::Resend | MailKind::Update | MailKind::Reminder => Some(Method::Request),
            MailKind::Cancel => Some(Method::Cancel),
            MailKind::Minutes => None,
        };
        let parts = match method {
            Some(method) => {
                let ics = self.calendar(rt, invitation, method);
                vec![
                    MailPart {
                        disposition: PartDisposition::Alternative,
                        content_type: format!("text/calendar; method={}; charset=UTF-8", method.as_str()),
                        filename: None,
                        content: ics.clone(),
                    },
                    MailPart {
                        disposition: PartDisposition::Attachment,
                        content_type: "application/ics; name=\"invite.ics\"".to_owned(),
                        filename: Some("invite.ics".to_owned()),
                        content: ics,
                    },
                ]
            }
            None => Vec::new(),
        };
        // The invitee's language when known; else the outbox decides (their account's, the
        // registry's, the city's).
        Some(Mail { locale: invitation.locale, payload, parts })
    }
}

/// The delivery status of each invitation's latest email: `(status, why it failed or is
/// retried)`. An invitation with no email yet (demo data) has none.
pub async fn delivery_of(state: &AppState, invitations: &[Invitation]) -> Result<HashMap<InvitationId, (String, Option<String>)>> {
    let ids: Vec<uuid::Uuid> = invitations.iter().map(|i| i.id.uuid()).collect();
    let messages = state.db.list_outbox_by_subject(ROUNDTABLE_INVITATION_SUBJECT, &ids).await?;
    // Oldest first: the last per invitation wins.
    let mut out = HashMap::new();
    for m in messages {
        let Some(subject) = m.subject else { continue };
        let error = m.last_error.filter(|_| m.status != Delivery::Sent);
        out.insert(InvitationId::from(subject.id), (m.status.as_str().to_owned(), error));
    }
    Ok(out)
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
