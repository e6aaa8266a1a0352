//! Multi-actor roundtables: the meeting, its invitations and answers, reminders once per
//! start time, the minutes document and the agreements recorded in it.
//!
//! Every write that must send email (invitations, updates, cancellations, reminders, the
//! minutes) queues its messages in the outbox inside the same transaction.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use concerta_core::{ActorId, AuditAction, CityId, InvitationId, Locale, Rsvp, RoundtableId, Sector, SectionId};
use concerta_roundtable::{Details, Schedule, Status};
use concerta_sync::DocumentId;
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};
use serde::Serialize;
use serde_json::json;

use crate::error::{conflict_on, parse_stored};
use crate::queries::audit::{self, AuditActor, NewAuditEntry};
use crate::queries::outbox::{self, MailPart, NewMessage, Recipient, Subject};
use crate::queries::strategies::CHUNK_KIND_CHANGES;
use crate::tables::{
    actor, city, doc_chunk, document, roundtable, roundtable_agreement, roundtable_invitation, roundtable_reminder, section,
    server_meta,
};
use crate::{Database, Error, Result, TransactionHandle};

/// A roundtable as the API shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Roundtable {
    /// Its id.
    pub id: RoundtableId,
    /// The convening city.
    pub city_id: CityId,
    /// Title, purpose, agenda, time, place, capacity, reminder lead.
    #[serde(flatten)]
    pub details: Details,
    /// The iCalendar `SEQUENCE` of the latest version sent (0 at first, + 1 per change of
    /// time or place and at cancellation).
    pub sequence: i32,
    /// Scheduled, cancelled or closed.
    pub status: Status,
    /// The `automerge:` document of its live minutes.
    pub minutes_doc_id: Option<String>,
    /// When it was convened.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

impl TryFrom<roundtable::Model> for Roundtable {
    type Error = Error;

    fn try_from(m: roundtable::Model) -> Result<Self> {
        Ok(Self {
            id: m.id.into(),
            city_id: m.city_id.into(),
            details: Details {
                title: m.title,
                purpose: m.purpose,
                agenda: m.agenda,
                schedule: Schedule { starts_at: m.starts_at, ends_at: m.ends_at, timezone: m.timezone },
                location: m.location,
                online_url: m.online_url,
                capacity: m.capacity.map(|c| c.max(1) as u32),
                remind_before_minutes: m.remind_before_minutes.max(0) as u32,
            },
            sequence: m.sequence,
            status: m.status.parse().map_err(Error::Internal)?,
            minutes_doc_id: m.minutes_doc_id,
            created_at: m.created_at,
            updated_at: m.updated_at,
        })
    }
}

/// One invitation of a roundtable.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Invitation {
    /// Its id.
    pub id: InvitationId,
    /// The roundtable.
    pub roundtable_id: RoundtableId,
    /// The registry's actor it was made from, if any.
    pub actor_id: Option<ActorId>,
    /// The invitee's address (lowercase).
    pub email: String,
    /// The invitee's name.
    pub name: String,
    /// Their organisation.
    pub organization: String,
    /// Their sector, when known.
    pub sector: Option<Sector>,
    /// The language of their email, when known (else their account's, the registry's, or
    /// the city's: `outbox::recipient_locale`).
    pub locale: Option<Locale>,
    /// Their answer.
    pub rsvp: Rsvp,
    /// When they last answered.
    pub rsvp_at: Option<DateTime<Utc>>,
    /// The outbox message of the latest email sent to them about this roundtable.
    pub message_id: Option<uuid::Uuid>,
    /// The `SEQUENCE` of the latest calendar object sent to them.
    pub sent_sequence: i32,
    /// When they were invited.
    pub created_at: DateTime<Utc>,
}

impl TryFrom<roundtable_invitation::Model> for Invitation {
    type Error = Error;

    fn try_from(m: roundtable_invitation::Model) -> Result<Self> {
        Ok(Self {
            id: m.id.into(),
            roundtable_id: m.roundtable_id.into(),
            actor_id: m.actor_id.map(ActorId::from),
            email: m.email,
            name: m.name,
            organization: m.organization,
            sector: m.sector.as_deref().map(|s| parse_stored("sector", s)).transpose()?,
            locale: m.locale.as_deref().map(|l| parse_stored("locale", l)).transpose()?,
            rsvp: parse_stored("rsvp", &m.rsvp)?,
            rsvp_at: m.rsvp_at,
            message_id: m.message_id,
            sent_sequence: m.sent_sequence,
            created_at: m.created_at,
        })
    }
}

/// Input for [`Database::create_roundtable`] (validated above the store).
#[derive(Clone, Debug)]
pub struct NewRoundtable {
    /// The convening city.
    pub city: CityId,
    /// The details.
    pub details: Details,
    /// The minutes document's id.
    pub minutes_doc: DocumentId,
    /// The minutes document's first change (made above the store, with `concerta-content`).
    pub minutes_first_change: Vec<u8>,
}

/// An invitee to add (validated above the store).
#[derive(Clone, Debug)]
pub struct NewInvitation {
    /// The registry's actor, if invited from the registry.
    pub actor_id: Option<ActorId>,
    /// Address (lowercase).
    pub email: String,
    /// Name.
    pub name: String,
    /// Organisation.
    pub organization: String,
    /// Sector.
    pub sector: Option<Sector>,
    /// Language of their email, when known.
    pub locale: Option<Locale>,
}

/// An agreement recorded in a roundtable's minutes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Agreement {
    /// The roundtable it was reached at.
    pub roundtable_id: RoundtableId,
    /// The roundtable's title.
    pub roundtable_title: String,
    /// When the roundtable met.
    pub held_at: DateTime<Utc>,
    /// The strategy section it concerns, if any.
    pub section_id: Option<SectionId>,
    /// What was agreed.
    pub text: String,
}

/// An agreement to record at closing, read from the minutes above the store.
#[derive(Clone, Debug)]
pub struct NewAgreement {
    /// The section it links to (checked to be of the same city; dropped otherwise).
    pub section_id: Option<SectionId>,
    /// Its text.
    pub text: String,
}

/// What a write asks the caller to email, computed inside the write's transaction and queued
/// in the outbox by the caller's [`Mailer`] there too.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MailKind {
    /// The first invitation (`METHOD:REQUEST`).
    Invitation,
    /// The invitation sent again as it stands now (same `SEQUENCE`).
    Resend,
    /// A change of time or place (`METHOD:REQUEST`, `SEQUENCE + 1`).
    Update,
    /// A cancellation (`METHOD:CANCEL`).
    Cancel,
    /// The reminder before the start.
    Reminder,
    /// The minutes, after closing.
    Minutes,
}

/// A reminder written by [`Database::queue_roundtable_reminders`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueuedRoundtableReminder {
    /// The roundtable.
    pub roundtable_id: RoundtableId,
    /// The start time it was computed for.
    pub starts_at: DateTime<Utc>,
    /// How many invitees it went to.
    pub recipients: usize,
}

/// The kind of the outbox subject that roundtable emails carry (`Subject { kind, id }` with
/// the invitation's id), so the delivery status of an invitation is that of its latest email.
pub const ROUNDTABLE_INVITATION_SUBJECT: &str = "roundtable_invitation";

impl MailKind {
    /// The message kind (the templates of `concerta-notify`) of this email.
    pub fn template(self) -> &'static str {
        match self {
            Self::Invitation | Self::Resend => "roundtable_invitation",
            Self::Update => "roundtable_update",
            Self::Cancel => "roundtable_cancel",
            Self::Reminder => "roundtable_reminder",
            Self::Minutes => "roundtable_minutes",
        }
    }
}

/// The message a roundtable write queues in the outbox for one invitee, as the caller's
/// [`Mailer`] composed it: what the templates read and the fixed MIME parts (the calendar
/// object), both stored with the row so every attempt sends the same bytes. Rendering is the
/// worker's (`concerta-notify`), in `locale`, else the city's language.
#[derive(Clone, Debug, PartialEq)]
pub struct Mail {
    /// The recipient's language, when known.
    pub locale: Option<concerta_core::Locale>,
    /// What the templates of the kind read (a JSON object).
    pub payload: serde_json::Value,
    /// Extra parts: the `text/calendar` alternative and the `.ics` attachment.
    pub parts: Vec<MailPart>,
}

/// Composes the emails of roundtable writes. The store calls it once per recipient inside
/// the write's transaction and queues what it returns in the outbox there too, so the email
/// commits with the write or not at all (`None`: nothing for this recipient). Pure: no IO.
pub trait Mailer: Sync {
    /// The message of `kind` for `invitation` of `roundtable` as it stands in the write.
    fn compose(&self, roundtable: &Roundtable, invitation: &Invitation, kind: MailKind) -> Option<Mail>;
}

async fn load(conn: &impl ConnectionTrait, id: RoundtableId) -> Result<roundtable::Model> {
    roundtable::Entity::find_by_id(id.uuid()).one(conn).await?.ok_or(Error::NotFound)
}

async fn invitations_of(conn: &impl ConnectionTrait, id: RoundtableId) -> Result<Vec<Invitation>> {
    roundtable_invitation::Entity::find()
        .filter(roundtable_invitation::Column::RoundtableId.eq(id.uuid()))
        .order_by_asc(roundtable_invitation::Column::CreatedAt)
        .order_by_asc(roundtable_invitation::Column::Id)
        .all(conn)
        .await?
        .into_iter()
        .map(Invitation::try_from)
        .collect()
}

/// Queues `kind` for each of `invitations` in `tx` (one outbox message per invitee the
/// mailer composes one for) and records on each invitation the message and the `SEQUENCE`
/// sent. Answers how many were queued.
async fn mail_all(
    tx: &TransactionHandle,
    mailer: &dyn Mailer,
    rt: &Roundtable,
    invitations: &[Invitation],
    kind: MailKind,
) -> Result<usize> {
    let mut sent = 0;
    for inv in invitations {
        let Some(mail) = mailer.compose(rt, inv, kind) else { continue };
        let message = NewMessage {
            kind: kind.template().to_owned(),
            city: Some(rt.city_id),
            recipient: Recipient { email: inv.email.clone(), name: inv.name.clone(), locale: mail.locale },
            payload: mail.payload,
            parts: mail.parts,
            subject: Some(Subject { kind: ROUNDTABLE_INVITATION_SUBJECT.to_owned(), id: inv.id.uuid() }),
        };
        let queued = outbox::enqueue(tx, &message).await?;
        roundtable_invitation::Entity::update_many()
            .col_expr(roundtable_invitation::Column::MessageId, Expr::value(Some(queued.id.uuid())))
            .col_expr(roundtable_invitation::Column::SentSequence, Expr::value(rt.sequence))
            .filter(roundtable_invitation::Column::Id.eq(inv.id.uuid()))
            .exec(&**tx)
            .await?;
        sent += 1;
    }
    Ok(sent)
}

fn scheduled(m: &roundtable::Model) -> Result<()> {
    match m.status.as_str() {
        "scheduled" => Ok(()),
        _ => Err(Error::invalid("status", format!("the roundtable is {}", m.status))),
    }
}

impl Database {
    /// Convenes a roundtable with its minutes document (row and first change), audited.
    /// [`Error::NotFound`] for an unknown city.
    #[tracing::instrument(skip_all)]
    pub async fn create_roundtable(&self, new: NewRoundtable, actor: AuditActor) -> Result<Roundtable> {
        let new = &new;
        self.transaction(|tx| async move {
            city::Entity::find_by_id(new.city.uuid()).one(&*tx).await?.ok_or(Error::NotFound)?;
            let now = crate::now();
            let doc = new.minutes_doc.to_string();
            document::ActiveModel { id: Set(doc.clone()), city_id: Set(new.city.uuid()), created_at: Set(now) }
                .insert(&*tx)
                .await?;
            doc_chunk::ActiveModel {
                doc_id: Set(doc.clone()),
                kind: Set(CHUNK_KIND_CHANGES),
                data: Set(new.minutes_first_change.clone()),
                created_at: Set(now),
                ..Default::default()
            }
            .insert(&*tx)
            .await?;
            let d = &new.details;
            let model = roundtable::ActiveModel {
                id: Set(RoundtableId::new().uuid()),
                city_id: Set(new.city.uuid()),
                title: Set(d.title.clone()),
                purpose: Set(d.purpose.clone()),
                agenda: Set(d.agenda.clone()),
                starts_at: Set(d.schedule.starts_at),
                ends_at: Set(d.schedule.ends_at),
                timezone: Set(d.schedule.timezone.clone()),
                location: Set(d.location.clone()),
                online_url: Set(d.online_url.clone()),
                capacity: Set(d.capacity.map(|c| c as i32)),
                remind_before_minutes: Set(d.remind_before_minutes as i32),
                sequence: Set(0),
                status: Set(Status::Scheduled.as_str().to_owned()),
                minutes_doc_id: Set(Some(doc)),
                created_by: Set(match actor {
                    AuditActor::User(u) => Some(u.uuid()),
                    _ => None,
                }),
                created_at: Set(now),
                updated_at: Set(now),
                cancelled_at: Set(None),
                closed_at: Set(None),
            }
            .insert(&*tx)
            .await?;
            let rt = Roundtable::try_from(model)?;
            let entry = NewAuditEntry::new(AuditAction::RoundtableCreated, actor)
                .city(new.city)
                .target("roundtable", rt.id)
                .details(json!({ "title": rt.details.title, "starts_at": rt.details.schedule.starts_at }));
            audit::append(&*tx, &entry).await?;
            Ok(rt)
        })
        .await
    }

    /// The roundtable `id` (any city: the caller checks the city with `permit`).
    #[tracing::instrument(skip_all)]
    pub async fn get_roundtable(&self, id: RoundtableId) -> Result<Roundtable> {
        load(&self.conn, id).await?.try_into()
    }

    /// The roundtable whose minutes are `doc`, if any.
    #[tracing::instrument(skip_all)]
    pub async fn get_roundtable_by_minutes(&self, doc: &str) -> Result<Option<Roundtable>> {
        roundtable::Entity::find()
            .filter(roundtable::Column::MinutesDocId.eq(doc))
            .one(&self.conn)
            .await?
            .map(Roundtable::try_from)
            .transpose()
    }

    /// The roundtables of `city`, soonest first.
    #[tracing::instrument(skip_all)]
    pub async fn list_roundtables(&self, city: CityId) -> Result<Vec<Roundtable>> {
        roundtable::Entity::find()
            .filter(roundtable::Column::CityId.eq(city.uuid()))
            .order_by_asc(roundtable::Column::StartsAt)
            .all(&self.conn)
            .await?
            .into_iter()
            .map(Roundtable::try_from)
            .collect()
    }

    /// Changes a scheduled roundtable to `details` (the whole checked result of the patch).
    /// A change of time or place bumps `SEQUENCE` and queues an update to every invitee who
    /// has not declined, in the same transaction. [`Error::Invalid`] on `status` for a
    /// cancelled or closed roundtable.
    #[tracing::instrument(skip_all)]
    pub async fn update_roundtable(
        &self,
        id: RoundtableId,
        details: Details,
        actor: AuditActor,
        mailer: &dyn Mailer,
    ) -> Result<Roundtable> {
        let details = &details;
        self.transaction(|tx| async move {
            let found = load(&*tx, id).await?;
            scheduled(&found)?;
            let significant = found.starts_at != details.schedule.starts_at
                || found.ends_at != details.schedule.ends_at
                || found.timezone != details.schedule.timezone
                || found.location != details.location
                || found.online_url != details.online_url;
            let mut model: roundtable::ActiveModel = found.clone().into();
            model.title = Set(details.title.clone());
            model.purpose = Set(details.purpose.clone());
            model.agenda = Set(details.agenda.clone());
            model.starts_at = Set(details.schedule.starts_at);
            model.ends_at = Set(details.schedule.ends_at);
            model.timezone = Set(details.schedule.timezone.clone());
            model.location = Set(details.location.clone());
            model.online_url = Set(details.online_url.clone());
            model.capacity = Set(details.capacity.map(|c| c as i32));
            model.remind_before_minutes = Set(details.remind_before_minutes as i32);
            if significant {
                model.sequence = Set(found.sequence + 1);
            }
            model.updated_at = Set(crate::now());
            let rt = Roundtable::try_from(model.update(&*tx).await?)?;
            let mut updated = 0;
            if significant {
                let invitations: Vec<Invitation> =
                    invitations_of(&*tx, id).await?.into_iter().filter(|i| i.rsvp != Rsvp::Declined).collect();
                updated = mail_all(&tx, mailer, &rt, &invitations, MailKind::Update).await?;
            }
            let entry = NewAuditEntry::new(AuditAction::RoundtableChanged, actor)
                .city(rt.city_id)
                .target("roundtable", rt.id)
                .details(json!({
                    "sequence": rt.sequence,
                    "from": { "starts_at": found.starts_at, "ends_at": found.ends_at, "timezone": found.timezone, "location": found.location },
                    "to": { "starts_at": rt.details.schedule.starts_at, "ends_at": rt.details.schedule.ends_at, "timezone": rt.details.schedule.timezone, "location": rt.details.location },
                    "updates_queued": updated,
                }));
            audit::append(&*tx, &entry).await?;
            Ok(rt)
        })
        .await
    }

    /// Cancels a scheduled roundtable: `SEQUENCE + 1`, and `METHOD:CANCEL` queued to every
    /// invitee, in one transaction. [`Error::Invalid`] on `status` if it is not scheduled.
    #[tracing::instrument(skip_all)]
    pub async fn cancel_roundtable(&self, id: RoundtableId, actor: AuditActor, mailer: &dyn Mailer) -> Result<Roundtable> {
        self.transaction(|tx| async move {
            let found = load(&*tx, id).await?;
            scheduled(&found)?;
            let now = crate::now();
            let mut model: roundtable::ActiveModel = found.clone().into();
            model.status = Set(Status::Cancelled.as_str().to_owned());
            model.sequence = Set(found.sequence + 1);
            model.cancelled_at = Set(Some(now));
            model.updated_at = Set(now);
            let rt = Roundtable::try_from(model.update(&*tx).await?)?;
            let invitations = invitations_of(&*tx, id).await?;
            let sent = mail_all(&tx, mailer, &rt, &invitations, MailKind::Cancel).await?;
            let entry = NewAuditEntry::new(AuditAction::RoundtableCancelled, actor)
                .city(rt.city_id)
                .target("roundtable", rt.id)
                .details(json!({ "title": rt.details.title, "cancellations_queued": sent }));
            audit::append(&*tx, &entry).await?;
            Ok(rt)
        })
        .await
    }

    /// Invites people to a scheduled roundtable and queues their invitations, in one
    /// transaction. An address already invited is left as it is (not invited twice); the
    /// answer lists the invitations of every address given. [`Error::Invalid`] on
    /// `invitees` when an actor belongs to another city.
    #[tracing::instrument(skip_all)]
    pub async fn create_invitations(
        &self,
        id: RoundtableId,
        invitees: Vec<NewInvitation>,
        actor: AuditActor,
        mailer: &dyn Mailer,
    ) -> Result<Vec<Invitation>> {
        let invitees = &invitees;
        self.transaction(|tx| async move {
            let found = load(&*tx, id).await?;
            scheduled(&found)?;
            let rt = Roundtable::try_from(found)?;
            let existing: HashMap<String, Invitation> =
                invitations_of(&*tx, id).await?.into_iter().map(|i| (i.email.clone(), i)).collect();
            let now = crate::now();
            let mut fresh = Vec::new();
            let mut answer = Vec::new();
            // The answer lists the invitations in the order the invitees were given.
            let mut order: Vec<uuid::Uuid> = Vec::new();
            for new in invitees {
                if let Some(inv) = existing.get(&new.email) {
                    if !order.contains(&inv.id.uuid()) {
                        order.push(inv.id.uuid());
                        answer.push(inv.clone());
                    }
                    continue;
                }
                if answer.iter().chain(fresh.iter()).any(|i: &Invitation| i.email == new.email) {
                    continue;
                }
                if let Some(actor_id) = new.actor_id {
                    let a = actor::Entity::find_by_id(actor_id.uuid()).one(&*tx).await?;
                    if a.is_none_or(|a| a.city_id != rt.city_id.uuid()) {
                        return Err(Error::invalid("invitees", "an actor of another city"));
                    }
                }
                let model = roundtable_invitation::ActiveModel {
                    id: Set(InvitationId::new().uuid()),
                    roundtable_id: Set(id.uuid()),
                    city_id: Set(rt.city_id.uuid()),
                    actor_id: Set(new.actor_id.map(ActorId::uuid)),
                    email: Set(new.email.clone()),
                    name: Set(new.name.clone()),
                    organization: Set(new.organization.clone()),
                    sector: Set(new.sector.map(|s| s.as_str().to_owned())),
                    rsvp: Set(Rsvp::Pending.as_str().to_owned()),
                    rsvp_at: Set(None),
                    message_id: Set(None),
                    sent_sequence: Set(rt.sequence),
                    locale: Set(new.locale.map(|l| l.as_str().to_owned())),
                    created_at: Set(now),
                }
                .insert(&*tx)
                .await
                .map_err(conflict_on("email"))?;
                order.push(model.id);
                fresh.push(Invitation::try_from(model)?);
            }
            mail_all(&tx, mailer, &rt, &fresh, MailKind::Invitation).await?;
            if !fresh.is_empty() {
                let entry = NewAuditEntry::new(AuditAction::RoundtableInvited, actor)
                    .city(rt.city_id)
                    .target("roundtable", rt.id)
                    .details(json!({ "invited": fresh.iter().map(|i| &i.email).collect::<Vec<_>>() }));
                audit::append(&*tx, &entry).await?;
            }
            // Read back: the message ids were set by the mailing.
            let mut all: Vec<Invitation> = roundtable_invitation::Entity::find()
                .filter(roundtable_invitation::Column::Id.is_in(order.clone()))
                .all(&*tx)
                .await?
                .into_iter()
                .map(Invitation::try_from)
                .collect::<Result<_>>()?;
            all.sort_by_key(|i| order.iter().position(|o| *o == i.id.uuid()));
            Ok(all)
        })
        .await
    }

    /// The invitations of a roundtable, oldest first.
    #[tracing::instrument(skip_all)]
    pub async fn list_invitations(&self, id: RoundtableId) -> Result<Vec<Invitation>> {
        invitations_of(&self.conn, id).await
    }

    /// One invitation.
    #[tracing::instrument(skip_all)]
    pub async fn get_invitation(&self, id: InvitationId) -> Result<Invitation> {
        roundtable_invitation::Entity::find_by_id(id.uuid()).one(&self.conn).await?.ok_or(Error::NotFound)?.try_into()
    }

    /// Sends invitation `invitation` of roundtable `id` again, as the roundtable stands now.
    /// [`Error::NotFound`] when it is not an invitation of that roundtable.
    #[tracing::instrument(skip_all)]
    pub async fn resend_invitation(
        &self,
        id: RoundtableId,
        invitation: InvitationId,
        actor: AuditActor,
        mailer: &dyn Mailer,
    ) -> Result<Invitation> {
        self.transaction(|tx| async move {
            let found = load(&*tx, id).await?;
            scheduled(&found)?;
            let rt = Roundtable::try_from(found)?;
            let inv: Invitation = roundtable_invitation::Entity::find_by_id(invitation.uuid())
                .one(&*tx)
                .await?
                .filter(|i| i.roundtable_id == id.uuid())
                .ok_or(Error::NotFound)?
                .try_into()?;
            mail_all(&tx, mailer, &rt, std::slice::from_ref(&inv), MailKind::Resend).await?;
            let entry = NewAuditEntry::new(AuditAction::RoundtableInvited, actor)
                .city(rt.city_id)
                .target("roundtable", rt.id)
                .details(json!({ "resent": inv.email }));
            audit::append(&*tx, &entry).await?;
            roundtable_invitation::Entity::find_by_id(invitation.uuid()).one(&*tx).await?.ok_or(Error::NotFound)?.try_into()
        })
        .await
    }

    /// Records `rsvp` as the answer of invitation `invitation`, which must belong to
    /// roundtable `id` and the roundtable must be scheduled ([`Error::NotFound`] and
    /// [`Error::Invalid`] on `status` otherwise). Nothing is written on error.
    #[tracing::instrument(skip_all)]
    pub async fn set_rsvp(&self, id: RoundtableId, invitation: InvitationId, rsvp: Rsvp) -> Result<Invitation> {
        self.transaction(|tx| async move {
            let inv = roundtable_invitation::Entity::find_by_id(invitation.uuid())
                .one(&*tx)
                .await?
                .filter(|i| i.roundtable_id == id.uuid())
                .ok_or(Error::NotFound)?;
            scheduled(&load(&*tx, id).await?)?;
            let mut model: roundtable_invitation::ActiveModel = inv.into();
            model.rsvp = Set(rsvp.as_str().to_owned());
            model.rsvp_at = Set(Some(crate::now()));
            model.update(&*tx).await?.try_into()
        })
        .await
    }

    /// The sectors of `city`'s actors registry, one entry per actor.
    #[tracing::instrument(skip_all)]
    pub async fn list_registry_sectors(&self, city: CityId) -> Result<Vec<Sector>> {
        actor::Entity::find()
            .filter(actor::Column::CityId.eq(city.uuid()))
            .all(&self.conn)
            .await?
            .iter()
            .map(|a| parse_stored("sector", &a.sector))
            .collect()
    }

    /// Writes the reminders that are due at `now`: for every scheduled roundtable starting
    /// within its reminder lead (and not yet started), one reminder per start time, queued to
    /// the invitees who accepted or have not answered, in the transaction that writes the
    /// reminder row. The unique index on `(roundtable, start time)` makes it once whatever
    /// the number of nodes and restarts; a reschedule makes a new start time, and the old
    /// time's reminder can no longer be written.
    #[tracing::instrument(skip_all)]
    pub async fn queue_roundtable_reminders(&self, now: DateTime<Utc>, mailer: &dyn Mailer) -> Result<Vec<QueuedRoundtableReminder>> {
        let horizon = now + chrono::Duration::days(31);
        let candidates = roundtable::Entity::find()
            .filter(roundtable::Column::Status.eq(Status::Scheduled.as_str()))
            .filter(roundtable::Column::StartsAt.gt(now))
            .filter(roundtable::Column::StartsAt.lte(horizon))
            .all(&self.conn)
            .await?;
        let mut queued = Vec::new();
        for m in candidates {
            let due = m.starts_at - chrono::Duration::minutes(m.remind_before_minutes.into());
            if now < due {
                continue;
            }
            let (id, starts_at) = (RoundtableId::from(m.id), m.starts_at);
            let written = self
                .transaction(|tx| async move {
                    // Read again inside the transaction: a reschedule or a cancellation since
                    // the scan wins.
                    let current = load(&*tx, id).await?;
                    if current.starts_at != starts_at || current.status != Status::Scheduled.as_str() {
                        return Ok(None);
                    }
                    let rt = Roundtable::try_from(current)?;
                    let recipients: Vec<Invitation> = invitations_of(&*tx, id)
                        .await?
                        .into_iter()
                        .filter(|i| matches!(i.rsvp, Rsvp::Accepted | Rsvp::Pending | Rsvp::Tentative))
                        .collect();
                    let inserted = roundtable_reminder::Entity::insert(roundtable_reminder::ActiveModel {
                        id: Set(uuid::Uuid::now_v7()),
                        roundtable_id: Set(id.uuid()),
                        starts_at: Set(starts_at),
                        recipients: Set(recipients.len() as i32),
                        created_at: Set(crate::now()),
                    })
                    .on_conflict(
                        OnConflict::columns([roundtable_reminder::Column::RoundtableId, roundtable_reminder::Column::StartsAt])
                            .do_nothing()
                            .to_owned(),
                    )
                    .exec_without_returning(&*tx)
                    .await?;
                    if inserted != 1 {
                        return Ok(None);
                    }
                    let sent = mail_all(&tx, mailer, &rt, &recipients, MailKind::Reminder).await?;
                    Ok(Some(sent))
                })
                .await?;
            if let Some(recipients) = written {
                queued.push(QueuedRoundtableReminder { roundtable_id: id, starts_at, recipients });
            }
        }
        Ok(queued)
    }

    /// Closes a scheduled roundtable that has started: records `agreements` (links to
    /// sections of other cities are dropped) and queues the minutes to the invitees who
    /// accepted, in one transaction. [`Error::Invalid`] on `status` otherwise.
    #[tracing::instrument(skip_all)]
    pub async fn close_roundtable(
        &self,
        id: RoundtableId,
        agreements: Vec<NewAgreement>,
        actor: AuditActor,
        mailer: &dyn Mailer,
    ) -> Result<Roundtable> {
        let agreements = &agreements;
        self.transaction(|tx| async move {
            let found = load(&*tx, id).await?;
            scheduled(&found)?;
            let now = crate::now();
            let mut model: roundtable::ActiveModel = found.clone().into();
            model.status = Set(Status::Closed.as_str().to_owned());
            model.closed_at = Set(Some(now));
            model.updated_at = Set(now);
            let rt = Roundtable::try_from(model.update(&*tx).await?)?;
            for (position, a) in agreements.iter().enumerate() {
                let section = match a.section_id {
                    Some(s) => section::Entity::find_by_id(s.uuid())
                        .one(&*tx)
                        .await?
                        .filter(|s| s.city_id == rt.city_id.uuid())
                        .map(|s| s.id),
                    None => None,
                };
                roundtable_agreement::ActiveModel {
                    id: Set(uuid::Uuid::now_v7()),
                    roundtable_id: Set(id.uuid()),
                    city_id: Set(rt.city_id.uuid()),
                    section_id: Set(section),
                    text: Set(a.text.clone()),
                    position: Set(position as i32),
                    created_at: Set(now),
                }
                .insert(&*tx)
                .await?;
            }
            let attendees: Vec<Invitation> =
                invitations_of(&*tx, id).await?.into_iter().filter(|i| i.rsvp == Rsvp::Accepted).collect();
            let sent = mail_all(&tx, mailer, &rt, &attendees, MailKind::Minutes).await?;
            let entry = NewAuditEntry::new(AuditAction::RoundtableClosed, actor)
                .city(rt.city_id)
                .target("roundtable", rt.id)
                .details(json!({ "agreements": agreements.len(), "minutes_queued": sent }));
            audit::append(&*tx, &entry).await?;
            Ok(rt)
        })
        .await
    }

    /// The agreements of a roundtable, in the order of its minutes.
    #[tracing::instrument(skip_all)]
    pub async fn list_roundtable_agreements(&self, id: RoundtableId) -> Result<Vec<Agreement>> {
        let rt = load(&self.conn, id).await?;
        Ok(roundtable_agreement::Entity::find()
            .filter(roundtable_agreement::Column::RoundtableId.eq(id.uuid()))
            .order_by_asc(roundtable_agreement::Column::Position)
            .all(&self.conn)
            .await?
            .into_iter()
            .map(|a| Agreement {
                roundtable_id: id,
                roundtable_title: rt.title.clone(),
                held_at: rt.starts_at,
                section_id: a.section_id.map(SectionId::from),
                text: a.text,
            })
            .collect())
    }

    /// The agreements that link to `section`, newest roundtable first.
    #[tracing::instrument(skip_all)]
    pub async fn list_section_agreements(&self, section: SectionId) -> Result<Vec<Agreement>> {
        let rows = roundtable_agreement::Entity::find()
            .filter(roundtable_agreement::Column::SectionId.eq(section.uuid()))
            .order_by_asc(roundtable_agreement::Column::Position)
            .all(&self.conn)
            .await?;
        let mut titles: HashMap<uuid::Uuid, roundtable::Model> = HashMap::new();
        let mut out = Vec::new();
        for a in rows {
            if !titles.contains_key(&a.roundtable_id) {
                let rt = roundtable::Entity::find_by_id(a.roundtable_id).one(&self.conn).await?.ok_or(Error::NotFound)?;
                titles.insert(a.roundtable_id, rt);
            }
            let rt = &titles[&a.roundtable_id];
            out.push(Agreement {
                roundtable_id: rt.id.into(),
                roundtable_title: rt.title.clone(),
                held_at: rt.starts_at,
                section_id: Some(section),
                text: a.text,
            });
        }
        out.sort_by(|a, b| b.held_at.cmp(&a.held_at));
        Ok(out)
    }

    /// The deployment's RSVP signing key (32 random bytes, hex), made once and shared by
    /// every node on the database.
    #[tracing::instrument(skip_all)]
    pub async fn rsvp_key(&self) -> Result<Vec<u8>> {
        const KEY: &str = "rsvp_key";
        let decode = |hex: &str| -> Result<Vec<u8>> {
            (0..hex.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(hex.get(i..i + 2).unwrap_or("zz"), 16))
                .collect::<std::result::Result<Vec<u8>, _>>()
                .map_err(|_| Error::Internal("stored rsvp key is not hex".to_owned()))
        };
        if let Some(row) = server_meta::Entity::find_by_id(KEY.to_owned()).one(&self.conn).await? {
            return decode(&row.value);
        }
        let bytes: [u8; 32] = rand::random();
        let fresh: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        let _ = server_meta::Entity::insert(server_meta::ActiveModel { key: Set(KEY.to_owned()), value: Set(fresh) })
            .on_conflict(OnConflict::column(server_meta::Column::Key).do_nothing().to_owned())
            .exec_without_returning(&self.conn)
            .await?;
        // Whoever won the race, everyone reads the same key.
        let row = server_meta::Entity::find_by_id(KEY.to_owned()).one(&self.conn).await?.ok_or(Error::NotFound)?;
        decode(&row.value)
    }
}
