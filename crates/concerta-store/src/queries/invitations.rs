//! Account invitations: a member added by email who has no account gets an email with a
//! signed, single-use, expiring link to set a password.
//!
//! The link is made above the store (the server signs `(invitation id, generation)` with the
//! deployment's key, [`Database::invitation_key`]) and handed in as an [`InviteLinks`]
//! function, so the invitation row and its email commit in one transaction ([`invite`]).
//! Resending bumps the generation: only the newest link works. Accepting sets the password
//! and records `accepted_at`: the link never works again.
//!
//! Consultations invite stakeholders the same way: add the member, then call [`invite`]
//! inside the same transaction (or [`Database::create_member_invited`]).

use chrono::{DateTime, Utc};
use concerta_core::{AccountInvitationId, AuditAction, CityId, MemberId, Role, UserId};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde::Serialize;
use serde_json::json;

use crate::error::parse_stored;
use crate::queries::audit::{self, AuditActor, NewAuditEntry};
use crate::queries::members::{Member, NewMember};
use crate::queries::outbox::{self, Delivery, NewMessage, Recipient, Subject};
use crate::tables::{account_invitation, city, member, outbox_message, server_meta, user};
use crate::{Database, Error, Result, TransactionHandle, User};

/// The message kind of an account invitation (templates in `concerta-notify`).
pub const ACCOUNT_INVITATION_KIND: &str = "account_invitation";

/// Makes the link of an invitation's given generation (`<public URL>/invite/<signed token>`).
pub type InviteLinks<'a> = &'a (dyn Fn(AccountInvitationId, u32) -> String + Send + Sync);

/// Where an invitation stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum InvitationState {
    /// Sent, not used yet, not expired.
    Pending,
    /// The password was set.
    Accepted,
    /// Withdrawn by a coordinator.
    Revoked,
    /// Not used in time.
    Expired,
}

/// An account invitation, with the delivery status of its latest email.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AccountInvitation {
    /// Its id.
    pub id: AccountInvitationId,
    /// The city.
    pub city_id: CityId,
    /// The membership it completes.
    pub member_id: MemberId,
    /// The invited user.
    pub user_id: UserId,
    /// Their email.
    pub email: String,
    /// Their name.
    pub name: String,
    /// Which link works (bumped by every resend).
    pub generation: u32,
    /// Until when the newest link works.
    pub expires_at: DateTime<Utc>,
    /// When the password was set.
    pub accepted_at: Option<DateTime<Utc>>,
    /// When a coordinator withdrew it.
    pub revoked_at: Option<DateTime<Utc>>,
    /// Pending, accepted, revoked or expired (at the time of reading).
    pub state: InvitationState,
    /// The latest email's status: `queued`, `sent`, `deferred` or `failed`.
    pub delivery: Option<Delivery>,
    /// Why the latest email failed, if it did.
    pub delivery_error: Option<String>,
    /// When it was (last) sent out.
    pub updated_at: DateTime<Utc>,
}

/// What [`invite`] needs.
pub struct NewAccountInvitation<'a> {
    /// The city.
    pub city: CityId,
    /// The membership (already written).
    pub member: MemberId,
    /// The user (a user with a password needs no invitation: [`invite`] returns `None`).
    pub user: UserId,
    /// The role, named in the email.
    pub role: Role,
    /// Who invites (named in the email).
    pub inviter: String,
    /// How long the link works.
    pub valid_for: chrono::Duration,
    /// Makes the link.
    pub links: InviteLinks<'a>,
    /// The email to send instead of the plain account invitation (a consultation's); `None`:
    /// the plain one.
    pub mail: Option<InvitationMail>,
}

/// An account invitation's email of another kind than [`ACCOUNT_INVITATION_KIND`], e.g. a
/// consultation's: its templates read the plain payload (`link`, `inviter`, `role`,
/// `expires_on`) plus `extra`'s fields.
#[derive(Clone, Debug)]
pub struct InvitationMail {
    /// The message kind (templates in `concerta-notify`).
    pub kind: String,
    /// More payload fields (a JSON object).
    pub extra: serde_json::Value,
    /// What the message is about, for delivery status (default: the account invitation).
    pub subject: Option<Subject>,
}

fn state_of(m: &account_invitation::Model, now: DateTime<Utc>) -> InvitationState {
    if m.accepted_at.is_some() {
        InvitationState::Accepted
    } else if m.revoked_at.is_some() {
        InvitationState::Revoked
    } else if m.expires_at <= now {
        InvitationState::Expired
    } else {
        InvitationState::Pending
    }
}

fn view(m: account_invitation::Model, u: &user::Model, latest: Option<&outbox_message::Model>) -> Result<AccountInvitation> {
    let delivery = latest.map(|o| parse_stored::<Delivery>("status", &o.status)).transpose()?;
    Ok(AccountInvitation {
        state: state_of(&m, Utc::now()),
        id: m.id.into(),
        city_id: m.city_id.into(),
        member_id: m.member_id.into(),
        user_id: m.user_id.into(),
        email: u.email.clone(),
        name: u.name.clone(),
        generation: u32::try_from(m.generation).unwrap_or(0),
        expires_at: m.expires_at,
        accepted_at: m.accepted_at,
        revoked_at: m.revoked_at,
        delivery,
        delivery_error: latest.filter(|o| o.status != Delivery::Sent.as_str()).and_then(|o| o.last_error.clone()),
        updated_at: m.updated_at,
    })
}

/// Invites `new.user` to set a password, inside the caller's transaction: writes (or, for a
/// member invited before, renews with the next generation) the invitation and enqueues its
/// email. `None` when the user already has a password (nothing to do).
pub async fn invite(tx: &TransactionHandle, new: &NewAccountInvitation<'_>) -> Result<Option<AccountInvitation>> {
    let person = user::Entity::find_by_id(new.user.uuid()).one(&**tx).await?.ok_or(Error::NotFound)?;
    if person.password_hash.is_some() {
        return Ok(None);
    }
    let now = crate::now();
    let existing = account_invitation::Entity::find()
        .filter(account_invitation::Column::MemberId.eq(new.member.uuid()))
        .lock_exclusive()
        .one(&**tx)
        .await?;
    let model = match existing {
        Some(found) => {
            let mut active: account_invitation::ActiveModel = found.clone().into();
            active.generation = Set(found.generation + 1);
            active.expires_at = Set(now + new.valid_for);
            active.revoked_at = Set(None);
            active.updated_at = Set(now);
            active.update(&**tx).await?
        }
        None => {
            account_invitation::ActiveModel {
                id: Set(AccountInvitationId::new().uuid()),
                city_id: Set(new.city.uuid()),
                member_id: Set(new.member.uuid()),
                user_id: Set(new.user.uuid()),
                generation: Set(1),
                expires_at: Set(now + new.valid_for),
                accepted_at: Set(None),
                revoked_at: Set(None),
                created_by: Set(None),
                created_at: Set(now),
                updated_at: Set(now),
            }
            .insert(&**tx)
            .await?
        }
    };
    let id = AccountInvitationId::from(model.id);
    let link = (new.links)(id, u32::try_from(model.generation).unwrap_or(0));
    let mut payload = json!({
        "link": link,
        "inviter": new.inviter,
        "role": new.role.as_str(),
        "expires_on": model.expires_at.date_naive().to_string(),
    });
    let mut kind = ACCOUNT_INVITATION_KIND.to_owned();
    let mut subject = Subject { kind: ACCOUNT_INVITATION_KIND.to_owned(), id: model.id };
    if let Some(mail) = &new.mail {
        kind = mail.kind.clone();
        if let (Some(base), Some(extra)) = (payload.as_object_mut(), mail.extra.as_object()) {
            base.extend(extra.iter().map(|(k, v)| (k.clone(), v.clone())));
        }
        if let Some(s) = &mail.subject {
            subject = s.clone();
        }
    }
    let message = NewMessage {
        kind,
        city: Some(new.city),
        recipient: Recipient { email: person.email.clone(), name: person.name.clone(), locale: None },
        payload,
        parts: Vec::new(),
        subject: Some(subject),
    };
    let queued = outbox::enqueue(tx, &message).await?;
    let latest = outbox_message::Entity::find_by_id(queued.id.uuid()).one(&**tx).await?;
    view(model, &person, latest.as_ref()).map(Some)
}

/// A token checked by the server: the invitation and the generation it was signed for.
#[derive(Clone, Copy, Debug)]
pub struct InvitationClaim {
    /// The invitation.
    pub id: AccountInvitationId,
    /// The generation of the link.
    pub generation: u32,
}

/// Why a link does not work (each gets its own page).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LinkProblem {
    /// No such invitation, or a link replaced by a newer one.
    Invalid,
    /// Used already.
    Used,
    /// Withdrawn.
    Revoked,
    /// Too late.
    Expired,
    /// The account has a password already (log in instead).
    HasPassword,
}

/// What a working link shows before the password is set.
#[derive(Clone, Debug, Serialize)]
pub struct InvitationPreview {
    /// The city's id (where the person lands).
    pub city_id: CityId,
    /// The city's name.
    pub city_name: String,
    /// The invited email.
    pub email: String,
    /// The invited person's name.
    pub name: String,
    /// Until when the link works.
    pub expires_at: DateTime<Utc>,
}

async fn check_link(
    conn: &impl sea_orm::ConnectionTrait,
    claim: InvitationClaim,
    lock: bool,
) -> Result<std::result::Result<(account_invitation::Model, user::Model, city::Model), LinkProblem>> {
    let mut query = account_invitation::Entity::find_by_id(claim.id.uuid());
    if lock {
        query = query.lock_exclusive();
    }
    let Some(found) = query.one(conn).await? else { return Ok(Err(LinkProblem::Invalid)) };
    if u32::try_from(found.generation).ok() != Some(claim.generation) {
        return Ok(Err(LinkProblem::Invalid));
    }
    let person = user::Entity::find_by_id(found.user_id).one(conn).await?.ok_or(Error::NotFound)?;
    let place = city::Entity::find_by_id(found.city_id).one(conn).await?.ok_or(Error::NotFound)?;
    let problem = match state_of(&found, Utc::now()) {
        InvitationState::Accepted => Some(LinkProblem::Used),
        InvitationState::Revoked => Some(LinkProblem::Revoked),
        InvitationState::Expired => Some(LinkProblem::Expired),
        InvitationState::Pending if person.password_hash.is_some() => Some(LinkProblem::HasPassword),
        InvitationState::Pending => None,
    };
    Ok(match problem {
        Some(p) => Err(p),
        None => Ok((found, person, place)),
    })
}

impl Database {
    /// Adds a member like [`Database::create_member`] and, in the same transaction, invites
    /// them when their user has no password yet. `links` makes the invitation link.
    #[tracing::instrument(skip_all)]
    pub async fn create_member_invited(
        &self,
        new: NewMember,
        actor: AuditActor,
        inviter: String,
        valid_for: chrono::Duration,
        links: InviteLinks<'_>,
    ) -> Result<(Member, Option<AccountInvitation>)> {
        let (new, inviter) = (&new, &inviter);
        self.transaction(|tx| async move {
            let member = crate::queries::members::create_member_tx(&tx, new, actor).await?;
            let invitation = invite(
                &tx,
                &NewAccountInvitation {
                    city: member.city_id,
                    member: member.id,
                    user: member.user_id,
                    role: member.role,
                    inviter: inviter.clone(),
                    valid_for,
                    links,
                    mail: None,
                },
            )
            .await?;
            Ok((member, invitation))
        })
        .await
    }

    /// The city's account invitations, newest first, each with its latest email's status.
    #[tracing::instrument(skip_all)]
    pub async fn list_account_invitations(&self, city: CityId) -> Result<Vec<AccountInvitation>> {
        let rows = account_invitation::Entity::find()
            .filter(account_invitation::Column::CityId.eq(city.uuid()))
            .order_by_desc(account_invitation::Column::CreatedAt)
            .all(&self.conn)
            .await?;
        let user_ids: Vec<_> = rows.iter().map(|r| r.user_id).collect();
        let ids: Vec<_> = rows.iter().map(|r| r.id).collect();
        let users: std::collections::HashMap<_, _> =
            user::Entity::find().filter(user::Column::Id.is_in(user_ids)).all(&self.conn).await?.into_iter().map(|u| (u.id, u)).collect();
        let mut latest: std::collections::HashMap<uuid::Uuid, outbox_message::Model> = std::collections::HashMap::new();
        for chunk in ids.chunks(500) {
            for m in outbox_message::Entity::find()
                .filter(outbox_message::Column::SubjectKind.eq(ACCOUNT_INVITATION_KIND))
                .filter(outbox_message::Column::SubjectId.is_in(chunk.to_vec()))
                .order_by_asc(outbox_message::Column::CreatedAt)
                .order_by_asc(outbox_message::Column::Id)
                .all(&self.conn)
                .await?
            {
                if let Some(subject) = m.subject_id {
                    latest.insert(subject, m);
                }
            }
        }
        rows.into_iter()
            .map(|r| {
                let person = users.get(&r.user_id).ok_or(Error::NotFound)?;
                let last = latest.get(&r.id);
                view(r, person, last)
            })
            .collect()
    }

    /// One invitation of `city`; [`Error::NotFound`] for another city's.
    #[tracing::instrument(skip_all)]
    pub async fn get_account_invitation(&self, city: CityId, id: AccountInvitationId) -> Result<AccountInvitation> {
        self.list_account_invitations(city).await?.into_iter().find(|i| i.id == id).ok_or(Error::NotFound)
    }

    /// Sends invitation `id` of `city` again with a new link (the old one stops working) and
    /// a new expiry. [`Error::Invalid`] on `invitation` once it was accepted.
    #[tracing::instrument(skip_all)]
    pub async fn resend_account_invitation(
        &self,
        city: CityId,
        id: AccountInvitationId,
        actor: AuditActor,
        inviter: String,
        valid_for: chrono::Duration,
        links: InviteLinks<'_>,
    ) -> Result<AccountInvitation> {
        let inviter = &inviter;
        self.transaction(|tx| async move {
            let found = account_invitation::Entity::find_by_id(id.uuid())
                .one(&*tx)
                .await?
                .filter(|i| i.city_id == city.uuid())
                .ok_or(Error::NotFound)?;
            if found.accepted_at.is_some() {
                return Err(Error::invalid("invitation", "was accepted already"));
            }
            let m = member::Entity::find_by_id(found.member_id).one(&*tx).await?.ok_or(Error::NotFound)?;
            let invitation = invite(
                &tx,
                &NewAccountInvitation {
                    city,
                    member: found.member_id.into(),
                    user: found.user_id.into(),
                    role: parse_stored("role", &m.role)?,
                    inviter: inviter.clone(),
                    valid_for,
                    links,
                    mail: None,
                },
            )
            .await?
            .ok_or_else(|| Error::invalid("invitation", "the person has set a password already"))?;
            let entry = NewAuditEntry::new(AuditAction::MemberChanged, actor)
                .city(city)
                .target("account_invitation", id)
                .details(json!({ "email": invitation.email, "invitation": "resent" }));
            audit::append(&*tx, &entry).await?;
            Ok(invitation)
        })
        .await
    }

    /// Withdraws invitation `id` of `city`: its link stops working. Accepted ones stay.
    #[tracing::instrument(skip_all)]
    pub async fn revoke_invitation(&self, city: CityId, id: AccountInvitationId, actor: AuditActor) -> Result<AccountInvitation> {
        self.transaction(|tx| async move {
            let found = account_invitation::Entity::find_by_id(id.uuid())
                .one(&*tx)
                .await?
                .filter(|i| i.city_id == city.uuid())
                .ok_or(Error::NotFound)?;
            if found.accepted_at.is_some() {
                return Err(Error::invalid("invitation", "was accepted already"));
            }
            let mut active: account_invitation::ActiveModel = found.into();
            active.revoked_at = Set(Some(crate::now()));
            active.updated_at = Set(crate::now());
            let model = active.update(&*tx).await?;
            let person = user::Entity::find_by_id(model.user_id).one(&*tx).await?.ok_or(Error::NotFound)?;
            let entry = NewAuditEntry::new(AuditAction::MemberChanged, actor)
                .city(city)
                .target("account_invitation", id)
                .details(json!({ "email": person.email, "invitation": "revoked" }));
            audit::append(&*tx, &entry).await?;
            view(model, &person, None)
        })
        .await
    }

    /// What the link of `claim` shows, or why it does not work.
    #[tracing::instrument(skip_all)]
    pub async fn preview_invitation(&self, claim: InvitationClaim) -> Result<std::result::Result<InvitationPreview, LinkProblem>> {
        Ok(check_link(&self.conn, claim, false).await?.map(|(inv, person, place)| InvitationPreview {
            city_id: place.id.into(),
            city_name: place.name,
            email: person.email,
            name: person.name,
            expires_at: inv.expires_at,
        }))
    }

    /// Uses the link of `claim`: sets the user's password (`password_hash`) and marks the
    /// invitation accepted, once: a second use gets [`LinkProblem::Used`].
    #[tracing::instrument(skip_all)]
    pub async fn accept_invitation(
        &self,
        claim: InvitationClaim,
        password_hash: String,
    ) -> Result<std::result::Result<(User, CityId), LinkProblem>> {
        let password_hash = &password_hash;
        self.transaction(|tx| async move {
            let (inv, person, place) = match check_link(&*tx, claim, true).await? {
                Ok(found) => found,
                Err(problem) => return Ok(Err(problem)),
            };
            // Conditional on the password still being unset: two uses at once, one wins.
            let updated = user::Entity::update_many()
                .col_expr(user::Column::PasswordHash, sea_orm::sea_query::Expr::value(password_hash.clone()))
                .filter(user::Column::Id.eq(person.id))
                .filter(user::Column::PasswordHash.is_null())
                .exec(&*tx)
                .await?;
            if updated.rows_affected != 1 {
                return Ok(Err(LinkProblem::Used));
            }
            let mut active: account_invitation::ActiveModel = inv.into();
            active.accepted_at = Set(Some(crate::now()));
            active.updated_at = Set(crate::now());
            active.update(&*tx).await?;
            let entry = NewAuditEntry::new(AuditAction::MemberChanged, AuditActor::User(person.id.into()))
                .city(place.id.into())
                .target("account_invitation", claim.id)
                .details(json!({ "email": person.email, "invitation": "accepted" }));
            audit::append(&*tx, &entry).await?;
            let user = user::Entity::find_by_id(person.id).one(&*tx).await?.ok_or(Error::NotFound)?;
            Ok(Ok((User::from(user), CityId::from(place.id))))
        })
        .await
    }

    /// The deployment's key for signing invitation links (hex, 32 bytes), made once and
    /// shared by every node on the database.
    #[tracing::instrument(skip_all)]
    pub async fn invitation_key(&self) -> Result<String> {
        const KEY: &str = "invitation_key";
        if let Some(row) = server_meta::Entity::find_by_id(KEY.to_owned()).one(&self.conn).await? {
            return Ok(row.value);
        }
        let bytes: [u8; 32] = rand::Rng::random(&mut rand::rng());
        let fresh: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        let inserted = server_meta::ActiveModel { key: Set(KEY.to_owned()), value: Set(fresh) }.insert(&self.conn).await;
        match inserted {
            Ok(row) => Ok(row.value),
            Err(_) => server_meta::Entity::find_by_id(KEY.to_owned())
                .one(&self.conn)
                .await?
                .map(|r| r.value)
                .ok_or(Error::NotFound),
        }
    }
}
