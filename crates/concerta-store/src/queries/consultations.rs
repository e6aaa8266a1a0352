//! Consultations: a coordinator opens one on a strategy (a named version or the live draft,
//! all sections or a chosen few) between two dates; invited stakeholders (members of the
//! city with the stakeholder role, each with an organisation and a sector) comment on
//! sections or anchored passages and reply in threads; the city responds to every comment
//! (accepted, partly, rejected, noted, with a reason and the version of the change) and may
//! hide an abusive one with a reason (kept, shown as hidden).
//!
//! Rules decided here, in the transaction of the write: the consultation's strategy, version
//! and sections belong to its city; an invitee becomes a stakeholder member of the city when
//! they were not a member; a reply sits in its parent's thread (same consultation and
//! section); responses and hides are audited with the write.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use concerta_core::{
    ActorId, AuditAction, CityId, CommentId, ConsultationId, ConsultationInviteeId, Decision, Locale, MemberId, Role,
    SectionId, Sector, StrategyId, UserId, VersionId,
};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};
use serde::Serialize;
use serde_json::json;

use crate::error::{conflict_on, parse_stored};
use crate::queries::audit::{self, AuditActor, NewAuditEntry};
use crate::queries::invitations::{self, InvitationMail, InviteLinks, NewAccountInvitation};
use crate::queries::outbox::{self, Delivery, NewMessage, Recipient, Subject};
use crate::queries::users::get_or_create_by_email;
use crate::tables::{
    account_invitation, actor, city, consultation, consultation_comment, consultation_invitee, consultation_section, member,
    outbox_message, section, strategy, user, version,
};
use crate::{Database, Error, Result, TransactionHandle};

/// The message kind inviting a stakeholder who has no password yet: the account invitation
/// (a signed single-use link to set one) that names the consultation.
pub const CONSULTATION_ACCOUNT_INVITATION_KIND: &str = "consultation_account_invitation";
/// The message kind inviting a stakeholder who has an account to comment.
pub const CONSULTATION_INVITATION_KIND: &str = "consultation_invitation";
/// The message kind telling a commenter the city's answer.
pub const CONSULTATION_RESPONSE_KIND: &str = "consultation_response";
/// The subject kind of an invitee's emails (delivery status on the consultation's screen).
pub const CONSULTATION_INVITEE_SUBJECT: &str = "consultation_invitee";
/// The subject kind of a comment's answer email.
pub const CONSULTATION_COMMENT_SUBJECT: &str = "consultation_comment";

/// How invitees are told by email (see [`Database::invite_to_consultation`]).
pub struct InviteMail<'a> {
    /// Who invites (named in the email).
    pub inviter: String,
    /// How long an account invitation's link works.
    pub valid_for: chrono::Duration,
    /// Makes the account invitation's link (which should lead to the consultation once the
    /// password is set).
    pub links: InviteLinks<'a>,
}

/// A consultation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Consultation {
    /// Its id.
    pub id: ConsultationId,
    /// The city.
    pub city_id: CityId,
    /// The strategy consulted.
    pub strategy_id: StrategyId,
    /// The named version consulted (its sections read at its heads); `None`: the live draft.
    pub version_id: Option<VersionId>,
    /// Title.
    pub title: String,
    /// What the city asks and why.
    pub explanation: String,
    /// From when comments are taken.
    pub opens_at: DateTime<Utc>,
    /// Until when (exclusive).
    pub closes_at: DateTime<Utc>,
    /// Whether every section of the strategy is consulted (else only `section_ids`).
    pub all_sections: bool,
    /// The chosen sections (empty when `all_sections`).
    pub section_ids: Vec<SectionId>,
    /// Who opened it.
    pub created_by: Option<UserId>,
    /// When.
    pub created_at: DateTime<Utc>,
}

impl Consultation {
    /// Whether `section` is consulted.
    pub fn covers(&self, section: SectionId) -> bool {
        self.all_sections || self.section_ids.contains(&section)
    }
}

/// Input for [`Database::create_consultation`] (already validated: non-empty title,
/// `opens_at < closes_at`).
#[derive(Clone, Debug)]
pub struct NewConsultation {
    /// The city.
    pub city: CityId,
    /// The strategy (must be the city's).
    pub strategy: StrategyId,
    /// A named version of that strategy, or the live draft.
    pub version: Option<VersionId>,
    /// Title.
    pub title: String,
    /// Explanation.
    pub explanation: String,
    /// Opening.
    pub opens_at: DateTime<Utc>,
    /// Closing.
    pub closes_at: DateTime<Utc>,
    /// The chosen sections (of that strategy); `None`: all.
    pub sections: Option<Vec<SectionId>>,
}

/// A stakeholder invited to a consultation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Invitee {
    /// The invitation's id.
    pub id: ConsultationInviteeId,
    /// The consultation.
    pub consultation_id: ConsultationId,
    /// The user (a stakeholder member of the city, unless they already had another role).
    pub user_id: UserId,
    /// The registry's actor they speak for, if chosen from it.
    pub actor_id: Option<ActorId>,
    /// Email.
    pub email: String,
    /// Name.
    pub name: String,
    /// The organisation they speak for.
    pub organization: String,
    /// Its sector.
    pub sector: Sector,
    /// When they were invited.
    pub created_at: DateTime<Utc>,
    /// Whether the account has no password yet (they must set one to log in).
    pub needs_password: bool,
    /// The latest invitation email's status: `queued`, `sent`, `deferred` or `failed`
    /// (`None`: no email, e.g. the demo's invitees).
    pub delivery: Option<Delivery>,
    /// Why the latest email failed, if it did.
    pub delivery_error: Option<String>,
    /// `active`, or `withdrawn` by a coordinator (kept, with when).
    pub state: InviteeState,
    /// When it was withdrawn (`None` while active).
    pub withdrawn_at: Option<DateTime<Utc>>,
}

/// Whether a consultation invitation stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum InviteeState {
    /// The invitee may read and comment.
    Active,
    /// Withdrawn: they no longer see or comment (what they wrote stays); inviting the same
    /// address again makes it active with a fresh email.
    Withdrawn,
}

/// `at` as wall-clock time in the IANA zone `timezone`, the zone named:
/// `2026-12-27 18:00 (America/Bogota)`. A zone the database no longer knows reads as UTC.
pub fn zoned_time(at: DateTime<Utc>, timezone: &str) -> String {
    let zone = if concerta_roundtable::validate_timezone("timezone", timezone).is_ok() { timezone } else { "UTC" };
    format!("{} ({zone})", concerta_roundtable::validate::local_time(at, zone).strftime("%Y-%m-%d %H:%M"))
}

/// One invitee of [`Database::invite_to_consultation`] (already validated).
#[derive(Clone, Debug)]
pub struct NewInvitee {
    /// Email (lowercased).
    pub email: String,
    /// Name.
    pub name: String,
    /// Organisation.
    pub organization: String,
    /// Sector.
    pub sector: Sector,
    /// The registry's actor, when chosen from it (must be the city's).
    pub actor: Option<ActorId>,
    /// The invitee's language: becomes their account's when it has none yet (an account
    /// holder's own choice is kept), so their email is in it.
    pub locale: Option<Locale>,
}

/// A hidden comment's record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Hidden {
    /// Why.
    pub reason: String,
    /// By whom.
    pub by: Option<UserId>,
    /// When.
    pub at: DateTime<Utc>,
}

/// The city's response to a comment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Response {
    /// The decision.
    pub decision: Decision,
    /// Why.
    pub reason: String,
    /// The version in which the change was made, if named.
    pub version_id: Option<VersionId>,
    /// Whether the comment's suggested rewrite was applied to the draft.
    pub applied: bool,
    /// The section document's heads right after the rewrite was applied (hex).
    pub applied_heads: Vec<String>,
    /// Who answered.
    pub by: Option<UserId>,
    /// When.
    pub at: DateTime<Utc>,
}

/// A comment (or a reply: `parent_id` set).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Comment {
    /// Its id.
    pub id: CommentId,
    /// The consultation.
    pub consultation_id: ConsultationId,
    /// The city.
    pub city_id: CityId,
    /// The section commented on.
    pub section_id: SectionId,
    /// The comment this one replies to.
    pub parent_id: Option<CommentId>,
    /// The author (`None` once that account is gone).
    pub author_id: Option<UserId>,
    /// The author's name when they wrote it.
    pub author_name: String,
    /// The organisation they spoke for (stakeholders; `None` for the city's staff).
    pub organization: Option<String>,
    /// Its sector.
    pub sector: Option<Sector>,
    /// The text.
    pub body: String,
    /// The quoted passage, for a passage comment.
    pub quote: Option<String>,
    /// The passage's start cursor (automerge text form).
    pub anchor_start: Option<String>,
    /// The passage's end cursor.
    pub anchor_end: Option<String>,
    /// A suggested rewrite of the passage.
    pub suggestion: Option<String>,
    /// When it was written.
    pub created_at: DateTime<Utc>,
    /// Set when a coordinator hid it.
    pub hidden: Option<Hidden>,
    /// The city's response (top-level comments only).
    pub response: Option<Response>,
}

/// Input for [`Database::create_comment`] (already validated and authorized).
#[derive(Clone, Debug)]
pub struct NewComment {
    /// The consultation.
    pub consultation: ConsultationId,
    /// The section (a reply's is its parent's: this must match).
    pub section: SectionId,
    /// The comment replied to.
    pub parent: Option<CommentId>,
    /// The author.
    pub author: UserId,
    /// Their name.
    pub author_name: String,
    /// Their organisation (stakeholders).
    pub organization: Option<String>,
    /// Its sector.
    pub sector: Option<Sector>,
    /// The text.
    pub body: String,
    /// The quoted passage.
    pub quote: Option<String>,
    /// Its cursors `(start, end)`.
    pub anchor: Option<(String, String)>,
    /// A suggested rewrite.
    pub suggestion: Option<String>,
    /// The language it was written in (the answer's email goes out in it); `None`: the city's.
    pub locale: Option<Locale>,
}

/// Input for [`Database::respond_to_comment`] (already validated).
#[derive(Clone, Debug)]
pub struct NewResponse {
    /// The decision.
    pub decision: Decision,
    /// The reason.
    pub reason: String,
    /// The version of the change (of the consultation's strategy).
    pub version: Option<VersionId>,
}

fn consultation_from(m: consultation::Model, sections: Vec<SectionId>) -> Consultation {
    Consultation {
        id: m.id.into(),
        city_id: m.city_id.into(),
        strategy_id: m.strategy_id.into(),
        version_id: m.version_id.map(VersionId::from),
        title: m.title,
        explanation: m.explanation,
        opens_at: m.opens_at,
        closes_at: m.closes_at,
        all_sections: m.all_sections,
        section_ids: sections,
        created_by: m.created_by.map(UserId::from),
        created_at: m.created_at,
    }
}

fn invitee_from(m: consultation_invitee::Model, needs_password: bool) -> Result<Invitee> {
    invitee_with(m, needs_password, None)
}

fn invitee_with(m: consultation_invitee::Model, needs_password: bool, latest: Option<&outbox_message::Model>) -> Result<Invitee> {
    let delivery = latest.map(|o| parse_stored::<Delivery>("status", &o.status)).transpose()?;
    Ok(Invitee {
        delivery,
        delivery_error: latest.filter(|o| o.status != Delivery::Sent.as_str()).and_then(|o| o.last_error.clone()),
        id: m.id.into(),
        consultation_id: m.consultation_id.into(),
        user_id: m.user_id.into(),
        actor_id: m.actor_id.map(ActorId::from),
        sector: parse_stored("sector", &m.sector)?,
        email: m.email,
        name: m.name,
        organization: m.organization,
        created_at: m.created_at,
        needs_password,
        state: if m.withdrawn_at.is_some() { InviteeState::Withdrawn } else { InviteeState::Active },
        withdrawn_at: m.withdrawn_at,
    })
}

fn comment_from(m: consultation_comment::Model) -> Result<Comment> {
    let hidden = match (m.hidden_reason, m.hidden_at) {
        (Some(reason), Some(at)) => Some(Hidden { reason, by: m.hidden_by.map(UserId::from), at }),
        _ => None,
    };
    let response = match (m.decision, m.responded_at) {
        (Some(decision), Some(at)) => Some(Response {
            decision: parse_stored("decision", &decision)?,
            reason: m.response_reason.unwrap_or_default(),
            version_id: m.response_version_id.map(VersionId::from),
            applied: m.applied,
            applied_heads: m
                .applied_heads
                .map(|h| h.split(',').filter(|s| !s.is_empty()).map(str::to_owned).collect())
                .unwrap_or_default(),
            by: m.responded_by.map(UserId::from),
            at,
        }),
        _ => None,
    };
    Ok(Comment {
        id: m.id.into(),
        consultation_id: m.consultation_id.into(),
        city_id: m.city_id.into(),
        section_id: m.section_id.into(),
        parent_id: m.parent_id.map(CommentId::from),
        author_id: m.author_id.map(UserId::from),
        author_name: m.author_name,
        organization: m.organization,
        sector: m.sector.as_deref().map(|s| parse_stored("sector", s)).transpose()?,
        body: m.body,
        quote: m.quote,
        anchor_start: m.anchor_start,
        anchor_end: m.anchor_end,
        suggestion: m.suggestion,
        created_at: m.created_at,
        hidden,
        response,
    })
}

async fn sections_of(conn: &impl ConnectionTrait, ids: &[uuid::Uuid]) -> Result<HashMap<uuid::Uuid, Vec<SectionId>>> {
    let mut out: HashMap<uuid::Uuid, Vec<SectionId>> = HashMap::new();
    if ids.is_empty() {
        return Ok(out);
    }
    let rows = consultation_section::Entity::find()
        .filter(consultation_section::Column::ConsultationId.is_in(ids.to_vec()))
        .all(conn)
        .await?;
    let section_ids: Vec<_> = rows.iter().map(|r| r.section_id).collect();
    let positions: HashMap<uuid::Uuid, i32> = section::Entity::find()
        .filter(section::Column::Id.is_in(section_ids))
        .all(conn)
        .await?
        .into_iter()
        .map(|s| (s.id, s.position))
        .collect();
    for row in rows {
        out.entry(row.consultation_id).or_default().push(row.section_id.into());
    }
    for list in out.values_mut() {
        list.sort_by_key(|s| positions.get(&s.uuid()).copied().unwrap_or_default());
    }
    Ok(out)
}

async fn find_consultation(conn: &impl ConnectionTrait, id: ConsultationId) -> Result<Consultation> {
    let model = consultation::Entity::find_by_id(id.uuid()).one(conn).await?.ok_or(Error::NotFound)?;
    let mut sections = sections_of(conn, &[model.id]).await?;
    Ok(consultation_from(model, sections.remove(&id.uuid()).unwrap_or_default()))
}

async fn find_comment(conn: &impl ConnectionTrait, id: CommentId) -> Result<consultation_comment::Model> {
    consultation_comment::Entity::find_by_id(id.uuid()).one(conn).await?.ok_or(Error::NotFound)
}

/// The email of a new (or re-sent) invitation to consultation `c`, queued in `tx`: the
/// account invitation naming the consultation when the invitee has no password yet, else the
/// invitation to comment. Its subject is the invitee, for the delivery status.
async fn mail_invitee(
    tx: &TransactionHandle,
    c: &consultation::Model,
    invitee: &consultation_invitee::Model,
    mail: &InviteMail<'_>,
) -> Result<()> {
    let person = user::Entity::find_by_id(invitee.user_id).one(&**tx).await?.ok_or(Error::NotFound)?;
    let subject = Subject { kind: CONSULTATION_INVITEE_SUBJECT.to_owned(), id: invitee.id };
    let city = city::Entity::find_by_id(c.city_id).one(&**tx).await?.ok_or(Error::NotFound)?;
    let about = json!({
        "consultation_id": c.id,
        "title": c.title,
        "explanation": c.explanation,
        "closes_at": zoned_time(c.closes_at, &city.timezone),
        "organization": invitee.organization,
    });
    if person.password_hash.is_none() {
        let membership = member::Entity::find()
            .filter(member::Column::CityId.eq(c.city_id))
            .filter(member::Column::UserId.eq(person.id))
            .one(&**tx)
            .await?
            .ok_or(Error::NotFound)?;
        invitations::invite(
            tx,
            &NewAccountInvitation {
                city: c.city_id.into(),
                member: membership.id.into(),
                user: person.id.into(),
                role: parse_stored("role", &membership.role)?,
                inviter: mail.inviter.clone(),
                valid_for: mail.valid_for,
                links: mail.links,
                mail: Some(InvitationMail {
                    kind: CONSULTATION_ACCOUNT_INVITATION_KIND.to_owned(),
                    extra: about,
                    subject: Some(subject),
                }),
            },
        )
        .await?;
    } else {
        let mut payload = about;
        payload["inviter"] = json!(mail.inviter);
        outbox::enqueue(
            tx,
            &NewMessage {
                kind: CONSULTATION_INVITATION_KIND.to_owned(),
                city: Some(c.city_id.into()),
                recipient: Recipient { email: person.email.clone(), name: person.name.clone(), locale: None },
                payload,
                parts: Vec::new(),
                subject: Some(subject),
            },
        )
        .await?;
    }
    Ok(())
}

/// Tells the author of comment `comment` the city's answer, in the language they wrote in,
/// inside `tx`. Nothing for a reply, a comment whose author is gone, or one answered by its
/// own author.
async fn mail_response(tx: &TransactionHandle, comment: &consultation_comment::Model, by: UserId) -> Result<()> {
    let (Some(author), Some(decision)) = (comment.author_id, comment.decision.as_deref()) else { return Ok(()) };
    if comment.parent_id.is_some() || author == by.uuid() {
        return Ok(());
    }
    let Some(person) = user::Entity::find_by_id(author).one(&**tx).await? else { return Ok(()) };
    let c = consultation::Entity::find_by_id(comment.consultation_id).one(&**tx).await?.ok_or(Error::NotFound)?;
    let section_title = section::Entity::find_by_id(comment.section_id).one(&**tx).await?.map(|s| s.title).unwrap_or_default();
    let version_name = match comment.response_version_id {
        Some(v) => version::Entity::find_by_id(v).one(&**tx).await?.map(|v| v.name),
        None => None,
    };
    const EXCERPT: usize = 300;
    let excerpt = if comment.body.chars().count() > EXCERPT {
        format!("{}…", comment.body.chars().take(EXCERPT).collect::<String>().trim_end())
    } else {
        comment.body.clone()
    };
    let locale = comment.locale.as_deref().and_then(|l| l.parse::<Locale>().ok());
    outbox::enqueue(
        tx,
        &NewMessage {
            kind: CONSULTATION_RESPONSE_KIND.to_owned(),
            city: Some(comment.city_id.into()),
            recipient: Recipient { email: person.email.clone(), name: person.name.clone(), locale },
            payload: json!({
                "consultation_id": c.id,
                "title": c.title,
                "section_title": section_title,
                "comment": excerpt,
                "quote": comment.quote,
                "decision": decision,
                "reason": comment.response_reason.clone().unwrap_or_default(),
                "applied": comment.applied,
                "version_name": version_name,
            }),
            parts: Vec::new(),
            subject: Some(Subject { kind: CONSULTATION_COMMENT_SUBJECT.to_owned(), id: comment.id }),
        },
    )
    .await?;
    Ok(())
}

/// The latest message of each subject of `kind` among `ids`.
async fn latest_messages(
    conn: &impl ConnectionTrait,
    kind: &str,
    ids: &[uuid::Uuid],
) -> Result<HashMap<uuid::Uuid, outbox_message::Model>> {
    let mut latest = HashMap::new();
    for chunk in ids.chunks(500) {
        for m in outbox_message::Entity::find()
            .filter(outbox_message::Column::SubjectKind.eq(kind))
            .filter(outbox_message::Column::SubjectId.is_in(chunk.to_vec()))
            .order_by_asc(outbox_message::Column::CreatedAt)
            .order_by_asc(outbox_message::Column::Id)
            .all(conn)
            .await?
        {
            if let Some(subject) = m.subject_id {
                latest.insert(subject, m);
            }
        }
    }
    Ok(latest)
}

impl Database {
    /// Opens a consultation. [`Error::Invalid`] on `strategy_id`, `version_id` or
    /// `section_ids` for something of another city or strategy. Audited.
    #[tracing::instrument(skip_all)]
    pub async fn create_consultation(&self, new: NewConsultation, actor: AuditActor) -> Result<Consultation> {
        let new = &new;
        self.transaction(|tx| async move {
            let strategy = strategy::Entity::find_by_id(new.strategy.uuid()).one(&*tx).await?;
            if strategy.as_ref().map(|s| s.city_id) != Some(new.city.uuid()) {
                return Err(Error::invalid("strategy_id", "is not a strategy of this city"));
            }
            if let Some(v) = new.version {
                let found = version::Entity::find_by_id(v.uuid()).one(&*tx).await?;
                if found.map(|v| v.strategy_id) != Some(new.strategy.uuid()) {
                    return Err(Error::invalid("version_id", "is not a version of this strategy"));
                }
            }
            let mut chosen: Vec<SectionId> = Vec::new();
            if let Some(sections) = &new.sections {
                if sections.is_empty() {
                    return Err(Error::invalid("section_ids", "must name at least one section (or be left out for all)"));
                }
                let ids: Vec<uuid::Uuid> = sections.iter().map(|s| s.uuid()).collect();
                let found = section::Entity::find()
                    .filter(section::Column::Id.is_in(ids.clone()))
                    .filter(section::Column::StrategyId.eq(new.strategy.uuid()))
                    .all(&*tx)
                    .await?;
                for id in sections {
                    if !found.iter().any(|s| s.id == id.uuid()) {
                        return Err(Error::invalid("section_ids", format!("{id} is not a section of this strategy")));
                    }
                    if !chosen.contains(id) {
                        chosen.push(*id);
                    }
                }
            }
            let id = ConsultationId::new();
            let model = consultation::ActiveModel {
                id: Set(id.uuid()),
                city_id: Set(new.city.uuid()),
                strategy_id: Set(new.strategy.uuid()),
                version_id: Set(new.version.map(VersionId::uuid)),
                title: Set(new.title.clone()),
                explanation: Set(new.explanation.clone()),
                opens_at: Set(new.opens_at),
                closes_at: Set(new.closes_at),
                all_sections: Set(new.sections.is_none()),
                created_by: Set(match actor {
                    AuditActor::User(u) => Some(u.uuid()),
                    _ => None,
                }),
                created_at: Set(crate::now()),
            }
            .insert(&*tx)
            .await?;
            if !chosen.is_empty() {
                consultation_section::Entity::insert_many(chosen.iter().map(|s| consultation_section::ActiveModel {
                    consultation_id: Set(id.uuid()),
                    section_id: Set(s.uuid()),
                }))
                .exec_without_returning(&*tx)
                .await?;
            }
            let entry = NewAuditEntry::new(AuditAction::ConsultationOpened, actor)
                .city(new.city)
                .target("consultation", id)
                .details(json!({ "title": new.title, "closes_at": new.closes_at }));
            audit::append(&*tx, &entry).await?;
            drop(model);
            find_consultation(&*tx, id).await
        })
        .await
    }

    /// The consultation `id`.
    #[tracing::instrument(skip_all)]
    pub async fn get_consultation(&self, id: ConsultationId) -> Result<Consultation> {
        find_consultation(&self.conn, id).await
    }

    /// The consultations of `city`, newest first.
    #[tracing::instrument(skip_all)]
    pub async fn list_consultations(&self, city: CityId) -> Result<Vec<Consultation>> {
        let models = consultation::Entity::find()
            .filter(consultation::Column::CityId.eq(city.uuid()))
            .order_by_desc(consultation::Column::CreatedAt)
            .order_by_desc(consultation::Column::Id)
            .all(&self.conn)
            .await?;
        let ids: Vec<_> = models.iter().map(|m| m.id).collect();
        let mut sections = sections_of(&self.conn, &ids).await?;
        Ok(models
            .into_iter()
            .map(|m| {
                let s = sections.remove(&m.id).unwrap_or_default();
                consultation_from(m, s)
            })
            .collect())
    }

    /// Invites stakeholders to a consultation. Each becomes a stakeholder member of the city
    /// when they were not a member (a user without password is created for a new address);
    /// one already invited keeps their invitation (returned as it is, no new email).
    /// [`Error::Invalid`] on `invitees[i].actor_id` for an actor of another city. Audited,
    /// with the members added.
    ///
    /// With `mail`, each new invitee's email is queued in the same transaction: the account
    /// invitation naming the consultation (signed single-use link) for one without a
    /// password, else the invitation to comment. `None` sends nothing (the demo).
    #[tracing::instrument(skip_all)]
    pub async fn invite_to_consultation(
        &self,
        id: ConsultationId,
        invitees: Vec<NewInvitee>,
        actor: AuditActor,
        mail: Option<&InviteMail<'_>>,
    ) -> Result<Vec<Invitee>> {
        let invitees = &invitees;
        self.transaction(|tx| async move {
            let consultation = consultation::Entity::find_by_id(id.uuid()).one(&*tx).await?.ok_or(Error::NotFound)?;
            let city: CityId = consultation.city_id.into();
            let mut out = Vec::new();
            for (i, new) in invitees.iter().enumerate() {
                if let Some(a) = new.actor {
                    let found = actor::Entity::find_by_id(a.uuid()).one(&*tx).await?;
                    if found.map(|a| a.city_id) != Some(city.uuid()) {
                        return Err(Error::invalid(&format!("invitees[{i}].actor_id"), "is not an actor of this city"));
                    }
                }
                let user = get_or_create_by_email(&*tx, &new.email, &new.name, new.locale).await?;
                let membership = member::Entity::find()
                    .filter(member::Column::CityId.eq(city.uuid()))
                    .filter(member::Column::UserId.eq(user.id))
                    .one(&*tx)
                    .await?;
                if membership.is_none() {
                    let member_id = MemberId::new();
                    member::ActiveModel {
                        id: Set(member_id.uuid()),
                        city_id: Set(city.uuid()),
                        user_id: Set(user.id),
                        role: Set(Role::Stakeholder.as_str().to_owned()),
                        area_id: Set(None),
                        created_at: Set(crate::now()),
                    }
                    .insert(&*tx)
                    .await
                    .map_err(conflict_on("email"))?;
                    let entry = NewAuditEntry::new(AuditAction::MemberAdded, actor)
                        .city(city)
                        .target("member", member_id)
                        .details(json!({ "email": user.email, "role": Role::Stakeholder, "consultation_id": id }));
                    audit::append(&*tx, &entry).await?;
                }
                let existing = consultation_invitee::Entity::find()
                    .filter(consultation_invitee::Column::ConsultationId.eq(id.uuid()))
                    .filter(consultation_invitee::Column::UserId.eq(user.id))
                    .one(&*tx)
                    .await?;
                let model = match existing {
                    Some(found) if found.withdrawn_at.is_some() => {
                        // Withdrawn before: active again, as now described, with a fresh email.
                        let mut active: consultation_invitee::ActiveModel = found.into();
                        active.withdrawn_at = Set(None);
                        if let Some(a) = new.actor {
                            active.actor_id = Set(Some(a.uuid()));
                        }
                        active.name = Set(new.name.clone());
                        active.organization = Set(new.organization.clone());
                        active.sector = Set(new.sector.as_str().to_owned());
                        let again = active.update(&*tx).await?;
                        if let Some(mail) = mail {
                            mail_invitee(&tx, &consultation, &again, mail).await?;
                        }
                        again
                    }
                    Some(found) => found,
                    None => {
                        let made = consultation_invitee::ActiveModel {
                        id: Set(ConsultationInviteeId::new().uuid()),
                        consultation_id: Set(id.uuid()),
                        city_id: Set(city.uuid()),
                        user_id: Set(user.id),
                        actor_id: Set(new.actor.map(ActorId::uuid)),
                        email: Set(user.email.clone()),
                        name: Set(new.name.clone()),
                        organization: Set(new.organization.clone()),
                        sector: Set(new.sector.as_str().to_owned()),
                        invited_by: Set(match actor {
                            AuditActor::User(u) => Some(u.uuid()),
                            _ => None,
                        }),
                        created_at: Set(crate::now()),
                        withdrawn_at: Set(None),
                        }
                        .insert(&*tx)
                        .await
                        .map_err(conflict_on("email"))?;
                        if let Some(mail) = mail {
                            mail_invitee(&tx, &consultation, &made, mail).await?;
                        }
                        made
                    }
                };
                let ids = [model.id];
                let latest = latest_messages(&*tx, CONSULTATION_INVITEE_SUBJECT, &ids).await?;
                out.push(invitee_with(model, user.password_hash.is_none(), latest.get(&ids[0]))?);
            }
            let emails: Vec<&str> = out.iter().map(|i| i.email.as_str()).collect();
            let entry = NewAuditEntry::new(AuditAction::StakeholdersInvited, actor)
                .city(city)
                .target("consultation", id)
                .details(json!({ "emails": emails }));
            audit::append(&*tx, &entry).await?;
            Ok(out)
        })
        .await
    }

    /// `user`'s standing invitation to consultation `id`, if any (a withdrawn one is none).
    #[tracing::instrument(skip_all)]
    pub async fn get_invitee(&self, id: ConsultationId, user: UserId) -> Result<Option<Invitee>> {
        let Some(model) = consultation_invitee::Entity::find()
            .filter(consultation_invitee::Column::ConsultationId.eq(id.uuid()))
            .filter(consultation_invitee::Column::UserId.eq(user.uuid()))
            .filter(consultation_invitee::Column::WithdrawnAt.is_null())
            .one(&self.conn)
            .await?
        else {
            return Ok(None);
        };
        invitee_from(model, false).map(Some)
    }

    /// The consultations of `city` that `user` is invited to (withdrawn invitations left out).
    #[tracing::instrument(skip_all)]
    pub async fn list_invited_consultations(&self, city: CityId, user: UserId) -> Result<Vec<ConsultationId>> {
        Ok(consultation_invitee::Entity::find()
            .filter(consultation_invitee::Column::CityId.eq(city.uuid()))
            .filter(consultation_invitee::Column::UserId.eq(user.uuid()))
            .filter(consultation_invitee::Column::WithdrawnAt.is_null())
            .all(&self.conn)
            .await?
            .into_iter()
            .map(|m| m.consultation_id.into())
            .collect())
    }

    /// The invitees of consultation `id`, in invitation order, withdrawn ones included (see
    /// [`Invitee::state`]).
    #[tracing::instrument(skip_all)]
    pub async fn list_invitees(&self, id: ConsultationId) -> Result<Vec<Invitee>> {
        let rows = consultation_invitee::Entity::find()
            .filter(consultation_invitee::Column::ConsultationId.eq(id.uuid()))
            .order_by_asc(consultation_invitee::Column::CreatedAt)
            .order_by_asc(consultation_invitee::Column::Id)
            .all(&self.conn)
            .await?;
        let user_ids: Vec<_> = rows.iter().map(|r| r.user_id).collect();
        let mut without_password = std::collections::HashSet::new();
        for chunk in user_ids.chunks(500) {
            for u in user::Entity::find().filter(user::Column::Id.is_in(chunk.to_vec())).all(&self.conn).await? {
                if u.password_hash.is_none() {
                    without_password.insert(u.id);
                }
            }
        }
        let ids: Vec<_> = rows.iter().map(|r| r.id).collect();
        let latest = latest_messages(&self.conn, CONSULTATION_INVITEE_SUBJECT, &ids).await?;
        rows.into_iter()
            .map(|m| {
                let needs = without_password.contains(&m.user_id);
                let last = latest.get(&m.id);
                invitee_with(m, needs, last)
            })
            .collect()
    }

    /// Sends invitee `invitee`'s invitation to consultation `id` again: a new account
    /// invitation link (the old one stops working) while they have no password, else the
    /// invitation to comment. Audited.
    #[tracing::instrument(skip_all)]
    pub async fn resend_consultation_invitation(
        &self,
        id: ConsultationId,
        invitee: ConsultationInviteeId,
        actor: AuditActor,
        mail: &InviteMail<'_>,
    ) -> Result<Invitee> {
        self.transaction(|tx| async move {
            let c = consultation::Entity::find_by_id(id.uuid()).one(&*tx).await?.ok_or(Error::NotFound)?;
            let found = consultation_invitee::Entity::find_by_id(invitee.uuid())
                .one(&*tx)
                .await?
                .filter(|i| i.consultation_id == c.id)
                .ok_or(Error::NotFound)?;
            mail_invitee(&tx, &c, &found, mail).await?;
            let entry = NewAuditEntry::new(AuditAction::StakeholdersInvited, actor)
                .city(c.city_id.into())
                .target("consultation", id)
                .details(json!({ "emails": [found.email], "invitation": "resent" }));
            audit::append(&*tx, &entry).await?;
            let person = user::Entity::find_by_id(found.user_id).one(&*tx).await?.ok_or(Error::NotFound)?;
            let ids = [found.id];
            let latest = latest_messages(&*tx, CONSULTATION_INVITEE_SUBJECT, &ids).await?;
            invitee_with(found, person.password_hash.is_none(), latest.get(&ids[0]))
        })
        .await
    }

    /// Withdraws invitee `invitee`'s invitation to consultation `id`: they no longer see or
    /// comment on it (what they wrote stays), and the invitation is kept as withdrawn, with
    /// when. While they have no password and no other standing invitation to a consultation
    /// of the city, their pending account invitation is revoked too, so the emailed link
    /// stops working. Audited; withdrawing a withdrawn invitation changes nothing.
    #[tracing::instrument(skip_all)]
    pub async fn revoke_consultation_invitation(
        &self,
        id: ConsultationId,
        invitee: ConsultationInviteeId,
        actor: AuditActor,
    ) -> Result<Invitee> {
        self.transaction(|tx| async move {
            let c = consultation::Entity::find_by_id(id.uuid()).one(&*tx).await?.ok_or(Error::NotFound)?;
            let found = consultation_invitee::Entity::find_by_id(invitee.uuid())
                .one(&*tx)
                .await?
                .filter(|i| i.consultation_id == c.id)
                .ok_or(Error::NotFound)?;
            let person = user::Entity::find_by_id(found.user_id).one(&*tx).await?.ok_or(Error::NotFound)?;
            if found.withdrawn_at.is_some() {
                return invitee_from(found, person.password_hash.is_none());
            }
            let mut withdrawn: consultation_invitee::ActiveModel = found.into();
            withdrawn.withdrawn_at = Set(Some(crate::now()));
            let found = withdrawn.update(&*tx).await?;
            let elsewhere = consultation_invitee::Entity::find()
                .filter(consultation_invitee::Column::CityId.eq(c.city_id))
                .filter(consultation_invitee::Column::UserId.eq(person.id))
                .filter(consultation_invitee::Column::WithdrawnAt.is_null())
                .one(&*tx)
                .await?
                .is_some();
            let mut link_revoked = false;
            if person.password_hash.is_none() && !elsewhere {
                let now = crate::now();
                let revoked = account_invitation::Entity::update_many()
                    .col_expr(account_invitation::Column::RevokedAt, sea_orm::sea_query::Expr::value(now))
                    .col_expr(account_invitation::Column::UpdatedAt, sea_orm::sea_query::Expr::value(now))
                    .filter(account_invitation::Column::CityId.eq(c.city_id))
                    .filter(account_invitation::Column::UserId.eq(person.id))
                    .filter(account_invitation::Column::AcceptedAt.is_null())
                    .filter(account_invitation::Column::RevokedAt.is_null())
                    .exec(&*tx)
                    .await?;
                link_revoked = revoked.rows_affected > 0;
            }
            let entry = NewAuditEntry::new(AuditAction::StakeholdersInvited, actor)
                .city(c.city_id.into())
                .target("consultation", id)
                .details(json!({ "emails": [found.email], "invitation": "revoked", "account_link_revoked": link_revoked }));
            audit::append(&*tx, &entry).await?;
            invitee_from(found, person.password_hash.is_none())
        })
        .await
    }

    /// Writes a comment or a reply. [`Error::Invalid`] on `parent_id` for a comment of another
    /// consultation or section, or a reply to a reply (threads are one level deep).
    #[tracing::instrument(skip_all)]
    pub async fn create_comment(&self, new: NewComment) -> Result<Comment> {
        let new = &new;
        self.transaction(|tx| async move {
            let consultation =
                consultation::Entity::find_by_id(new.consultation.uuid()).one(&*tx).await?.ok_or(Error::NotFound)?;
            if let Some(parent) = new.parent {
                let found = consultation_comment::Entity::find_by_id(parent.uuid()).one(&*tx).await?;
                let Some(found) = found.filter(|p| p.consultation_id == consultation.id) else {
                    return Err(Error::invalid("parent_id", "is not a comment of this consultation"));
                };
                if found.section_id != new.section.uuid() {
                    return Err(Error::invalid("parent_id", "is a comment on another section"));
                }
                if found.parent_id.is_some() {
                    return Err(Error::invalid("parent_id", "reply to the thread's first comment"));
                }
            }
            let model = consultation_comment::ActiveModel {
                id: Set(CommentId::new().uuid()),
                consultation_id: Set(consultation.id),
                city_id: Set(consultation.city_id),
                section_id: Set(new.section.uuid()),
                parent_id: Set(new.parent.map(CommentId::uuid)),
                author_id: Set(Some(new.author.uuid())),
                author_name: Set(new.author_name.clone()),
                organization: Set(new.organization.clone()),
                sector: Set(new.sector.map(|s| s.as_str().to_owned())),
                body: Set(new.body.clone()),
                quote: Set(new.quote.clone()),
                anchor_start: Set(new.anchor.as_ref().map(|a| a.0.clone())),
                anchor_end: Set(new.anchor.as_ref().map(|a| a.1.clone())),
                suggestion: Set(new.suggestion.clone()),
                created_at: Set(crate::now()),
                hidden_reason: Set(None),
                hidden_by: Set(None),
                hidden_at: Set(None),
                decision: Set(None),
                response_reason: Set(None),
                response_version_id: Set(None),
                applied: Set(false),
                applied_heads: Set(None),
                responded_by: Set(None),
                responded_at: Set(None),
                locale: Set(new.locale.map(|l| l.as_str().to_owned())),
            }
            .insert(&*tx)
            .await?;
            comment_from(model)
        })
        .await
    }

    /// The comment `id`.
    #[tracing::instrument(skip_all)]
    pub async fn get_comment(&self, id: CommentId) -> Result<Comment> {
        comment_from(find_comment(&self.conn, id).await?)
    }

    /// Every comment and reply of consultation `id`, oldest first.
    #[tracing::instrument(skip_all)]
    pub async fn list_comments(&self, id: ConsultationId) -> Result<Vec<Comment>> {
        consultation_comment::Entity::find()
            .filter(consultation_comment::Column::ConsultationId.eq(id.uuid()))
            .order_by_asc(consultation_comment::Column::CreatedAt)
            .order_by_asc(consultation_comment::Column::Id)
            .all(&self.conn)
            .await?
            .into_iter()
            .map(comment_from)
            .collect()
    }

    /// Records (or changes) the city's response to comment `id`. [`Error::Invalid`] on
    /// `comment` for a reply (the thread's first comment gets the response) and on
    /// `version_id` for a version of another strategy. Audited.
    ///
    /// With `notify`, the commenter's email (decision, reason, link) is queued in the same
    /// transaction, unless the response says what it said already (a repeated click).
    #[tracing::instrument(skip_all)]
    pub async fn respond_to_comment(&self, id: CommentId, response: NewResponse, by: UserId, notify: bool) -> Result<Comment> {
        let response = &response;
        self.transaction(|tx| async move {
            let found = find_comment(&*tx, id).await?;
            if found.parent_id.is_some() {
                return Err(Error::invalid("comment", "is a reply: respond to the thread's first comment"));
            }
            let consultation =
                consultation::Entity::find_by_id(found.consultation_id).one(&*tx).await?.ok_or(Error::NotFound)?;
            if let Some(v) = response.version {
                let version = version::Entity::find_by_id(v.uuid()).one(&*tx).await?;
                if version.map(|v| v.strategy_id) != Some(consultation.strategy_id) {
                    return Err(Error::invalid("version_id", "is not a version of the consulted strategy"));
                }
            }
            let previous = found.decision.clone();
            let unchanged = previous.as_deref() == Some(response.decision.as_str())
                && found.response_reason.as_deref() == Some(response.reason.as_str())
                && (response.version.is_none() || found.response_version_id == response.version.map(VersionId::uuid));
            let city: CityId = found.city_id.into();
            let mut model: consultation_comment::ActiveModel = found.into();
            model.decision = Set(Some(response.decision.as_str().to_owned()));
            model.response_reason = Set(Some(response.reason.clone()));
            if response.version.is_some() {
                model.response_version_id = Set(response.version.map(VersionId::uuid));
            }
            model.responded_by = Set(Some(by.uuid()));
            model.responded_at = Set(Some(crate::now()));
            let updated = model.update(&*tx).await?;
            let entry = NewAuditEntry::new(AuditAction::CommentAnswered, AuditActor::User(by))
                .city(city)
                .target("comment", id)
                .details(json!({
                    "decision": response.decision,
                    "previous": previous,
                    "version_id": response.version,
                }));
            audit::append(&*tx, &entry).await?;
            if notify && !unchanged {
                mail_response(&tx, &updated, by).await?;
            }
            comment_from(updated)
        })
        .await
    }

    /// Hides comment `id` with `reason` (kept; shown as hidden). Audited.
    #[tracing::instrument(skip_all)]
    pub async fn hide_comment(&self, id: CommentId, reason: String, by: UserId) -> Result<Comment> {
        let reason = &reason;
        self.transaction(|tx| async move {
            let found = find_comment(&*tx, id).await?;
            let city: CityId = found.city_id.into();
            let mut model: consultation_comment::ActiveModel = found.into();
            model.hidden_reason = Set(Some(reason.clone()));
            model.hidden_by = Set(Some(by.uuid()));
            model.hidden_at = Set(Some(crate::now()));
            let updated = model.update(&*tx).await?;
            let entry = NewAuditEntry::new(AuditAction::CommentHidden, AuditActor::User(by))
                .city(city)
                .target("comment", id)
                .details(json!({ "reason": reason }));
            audit::append(&*tx, &entry).await?;
            comment_from(updated)
        })
        .await
    }

    /// Records that comment `id`'s suggested rewrite was applied to the draft: the section
    /// document's heads right after (hex), and, when answered in the same step, the response.
    /// Audited as a response; the commenter's email is queued in the same transaction.
    #[tracing::instrument(skip_all)]
    pub async fn mark_suggestion_applied(
        &self,
        id: CommentId,
        heads: Vec<String>,
        response: NewResponse,
        by: UserId,
    ) -> Result<Comment> {
        let heads = &heads;
        let response = &response;
        self.transaction(|tx| async move {
            let found = find_comment(&*tx, id).await?;
            if found.suggestion.is_none() {
                return Err(Error::invalid("comment", "has no suggested rewrite"));
            }
            let city: CityId = found.city_id.into();
            let mut model: consultation_comment::ActiveModel = found.into();
            model.applied = Set(true);
            model.applied_heads = Set(Some(heads.join(",")));
            model.decision = Set(Some(response.decision.as_str().to_owned()));
            model.response_reason = Set(Some(response.reason.clone()));
            model.response_version_id = Set(response.version.map(VersionId::uuid));
            model.responded_by = Set(Some(by.uuid()));
            model.responded_at = Set(Some(crate::now()));
            let updated = model.update(&*tx).await?;
            let entry = NewAuditEntry::new(AuditAction::CommentAnswered, AuditActor::User(by))
                .city(city)
                .target("comment", id)
                .details(json!({ "decision": response.decision, "applied": true, "heads": heads }));
            audit::append(&*tx, &entry).await?;
            mail_response(&tx, &updated, by).await?;
            comment_from(updated)
        })
        .await
    }
}
