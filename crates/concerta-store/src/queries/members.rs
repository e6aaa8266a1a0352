//! Members: a user's role in a city.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use concerta_core::{AreaId, AuditAction, CityId, MemberId, Membership, Role, UserId};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect,
};
use serde::Serialize;
use serde_json::json;

use crate::error::{conflict_on, parse_stored};
use crate::queries::areas::check_area;
use crate::queries::audit::{self, AuditActor, NewAuditEntry};
use crate::queries::users::get_or_create_by_email;
use crate::tables::{city, member, user};
use crate::{Database, Error, Result, TransactionHandle};

/// A member of a city, with the user's email and name.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Member {
    /// The membership's id.
    pub id: MemberId,
    /// The city.
    pub city_id: CityId,
    /// The user.
    pub user_id: UserId,
    /// The user's email.
    pub email: String,
    /// The user's name.
    pub name: String,
    /// The role in this city.
    pub role: Role,
    /// For editors: their government area.
    pub area_id: Option<AreaId>,
    /// When the membership was made.
    pub created_at: DateTime<Utc>,
}

impl Member {
    /// The membership as the permission function takes it.
    pub fn membership(&self) -> Membership {
        Membership { city: self.city_id, role: self.role, area: self.area_id }
    }

    fn from_models(m: member::Model, u: &user::Model) -> Result<Self> {
        Ok(Self {
            id: m.id.into(),
            city_id: m.city_id.into(),
            user_id: m.user_id.into(),
            email: u.email.clone(),
            name: u.name.clone(),
            role: parse_stored("role", &m.role)?,
            area_id: m.area_id.map(AreaId::from),
            created_at: m.created_at,
        })
    }
}

/// Input for [`Database::create_member`] (already validated).
#[derive(Clone, Debug)]
pub struct NewMember {
    /// The city.
    pub city: CityId,
    /// The user's email; a user without password is created when it is new.
    pub email: String,
    /// The user's name, used only when the user is created.
    pub name: String,
    /// The role.
    pub role: Role,
    /// The government area; required for editors, must belong to `city`.
    pub area: Option<AreaId>,
}

/// Changes for [`Database::update_member`]; `None` leaves a field as it is.
#[derive(Clone, Debug, Default)]
pub struct MemberUpdate {
    /// A new role.
    pub role: Option<Role>,
    /// A new area (`Some(None)` clears it).
    pub area: Option<Option<AreaId>>,
}

/// Editors draft for an area, so they must have one.
fn check_role_area(role: Role, area: Option<AreaId>) -> Result<()> {
    if role == Role::Editor && area.is_none() {
        return Err(Error::invalid("area_id", "an editor needs the area they draft for"));
    }
    Ok(())
}

impl Database {
    /// Adds a member to a city, creating the user (without a password) when the email is new.
    /// [`Error::NotFound`] for an unknown city; [`Error::Invalid`] on `area_id` for an area of
    /// another city or an editor without area; [`Error::Conflict`] on `email` when the user
    /// is already a member. Audited as done by `actor`.
    #[tracing::instrument(skip_all)]
    pub async fn create_member(&self, new: NewMember, actor: AuditActor) -> Result<Member> {
        let new = &new;
        self.transaction(|tx| async move { create_member_tx(&tx, new, actor).await }).await
    }

    /// The member `id` of `city`; [`Error::NotFound`] if it belongs to another city.
    #[tracing::instrument(skip_all)]
    pub async fn get_member(&self, city: CityId, id: MemberId) -> Result<Member> {
        let found = member_of_city(&self.conn, city, id).await?;
        let user = user::Entity::find_by_id(found.user_id).one(&self.conn).await?.ok_or(Error::NotFound)?;
        Member::from_models(found, &user)
    }

    /// `user`'s membership in `city`, if any.
    #[tracing::instrument(skip_all)]
    pub async fn get_membership(&self, city: CityId, user: UserId) -> Result<Option<Member>> {
        let Some(found) = member::Entity::find()
            .filter(member::Column::CityId.eq(city.uuid()))
            .filter(member::Column::UserId.eq(user.uuid()))
            .one(&self.conn)
            .await?
        else {
            return Ok(None);
        };
        let user = user::Entity::find_by_id(found.user_id).one(&self.conn).await?.ok_or(Error::NotFound)?;
        Member::from_models(found, &user).map(Some)
    }

    /// Every membership of `user`, in any city.
    #[tracing::instrument(skip_all)]
    pub async fn list_memberships(&self, user: UserId) -> Result<Vec<Member>> {
        let found = user::Entity::find_by_id(user.uuid()).one(&self.conn).await?.ok_or(Error::NotFound)?;
        member::Entity::find()
            .filter(member::Column::UserId.eq(user.uuid()))
            .order_by_asc(member::Column::CreatedAt)
            .all(&self.conn)
            .await?
            .into_iter()
            .map(|m| Member::from_models(m, &found))
            .collect()
    }

    /// The members of `city`, oldest first.
    #[tracing::instrument(skip_all)]
    pub async fn list_members(&self, city: CityId) -> Result<Vec<Member>> {
        let members = member::Entity::find()
            .filter(member::Column::CityId.eq(city.uuid()))
            .order_by_asc(member::Column::CreatedAt)
            .order_by_asc(member::Column::Id)
            .all(&self.conn)
            .await?;
        let user_ids: Vec<_> = members.iter().map(|m| m.user_id).collect();
        let users: HashMap<_, _> = user::Entity::find()
            .filter(user::Column::Id.is_in(user_ids))
            .all(&self.conn)
            .await?
            .into_iter()
            .map(|u| (u.id, u))
            .collect();
        members
            .into_iter()
            .map(|m| {
                let user = users.get(&m.user_id).ok_or(Error::NotFound)?;
                Member::from_models(m, user)
            })
            .collect()
    }

    /// Changes a member's role and/or area. Same checks as [`Database::create_member`] on the
    /// resulting role and area; [`Error::LastCoordinator`] when it would leave the city
    /// without a coordinator. Audited (when something changed) as done by `actor`.
    #[tracing::instrument(skip_all)]
    pub async fn update_member(
        &self,
        city: CityId,
        id: MemberId,
        update: MemberUpdate,
        actor: AuditActor,
    ) -> Result<Member> {
        let update = &update;
        self.transaction(|tx| async move {
            lock_city(&*tx, city).await?;
            let found = member_of_city(&*tx, city, id).await?;
            let old_role: Role = parse_stored("role", &found.role)?;
            let old_area = found.area_id.map(AreaId::from);
            let role = update.role.unwrap_or(old_role);
            let area = update.area.unwrap_or(old_area);
            check_role_area(role, area)?;
            check_area(&*tx, city, area).await?;
            if old_role == Role::Coordinator && role != Role::Coordinator {
                check_not_last_coordinator(&*tx, city).await?;
            }
            let user = user::Entity::find_by_id(found.user_id).one(&*tx).await?.ok_or(Error::NotFound)?;
            let mut model: member::ActiveModel = found.into();
            model.role = Set(role.as_str().to_owned());
            model.area_id = Set(area.map(AreaId::uuid));
            let model = model.update(&*tx).await?;
            let member = Member::from_models(model, &user)?;
            if role != old_role || area != old_area {
                let entry = NewAuditEntry::new(AuditAction::MemberChanged, actor)
                    .city(city)
                    .target("member", id)
                    .details(json!({
                        "email": member.email,
                        "role": { "from": old_role, "to": role },
                        "area_id": { "from": old_area, "to": area },
                    }));
                audit::append(&*tx, &entry).await?;
            }
            Ok(member)
        })
        .await
    }

    /// Removes a member from `city`; [`Error::NotFound`] if there is no such member there,
    /// [`Error::LastCoordinator`] for the city's only coordinator. Audited as done by `actor`.
    #[tracing::instrument(skip_all)]
    pub async fn delete_member(&self, city: CityId, id: MemberId, actor: AuditActor) -> Result<()> {
        self.transaction(|tx| async move {
            lock_city(&*tx, city).await?;
            let found = member_of_city(&*tx, city, id).await?;
            let role: Role = parse_stored("role", &found.role)?;
            if role == Role::Coordinator {
                check_not_last_coordinator(&*tx, city).await?;
            }
            let email = user::Entity::find_by_id(found.user_id).one(&*tx).await?.map(|u| u.email);
            member::Entity::delete_by_id(found.id).exec(&*tx).await?;
            let entry = NewAuditEntry::new(AuditAction::MemberRemoved, actor)
                .city(city)
                .target("member", id)
                .details(json!({ "email": email, "role": role, "area_id": found.area_id }));
            audit::append(&*tx, &entry).await?;
            Ok(())
        })
        .await
    }
}

/// Locks `city`'s row for the rest of the transaction (`FOR UPDATE` on Postgres; SQLite
/// serializes writers anyway), so two concurrent demotions cannot both see another
/// coordinator left. [`Error::NotFound`] for an unknown city.
async fn lock_city(conn: &impl ConnectionTrait, city: CityId) -> Result<()> {
    city::Entity::find_by_id(city.uuid()).lock_exclusive().one(conn).await?.ok_or(Error::NotFound)?;
    Ok(())
}

/// [`Error::LastCoordinator`] unless `city` has at least two coordinators (the caller is
/// about to remove or demote one).
async fn check_not_last_coordinator(conn: &impl ConnectionTrait, city: CityId) -> Result<()> {
    let coordinators = member::Entity::find()
        .filter(member::Column::CityId.eq(city.uuid()))
        .filter(member::Column::Role.eq(Role::Coordinator.as_str()))
        .count(conn)
        .await?;
    if coordinators < 2 {
        return Err(Error::LastCoordinator);
    }
    Ok(())
}

async fn member_of_city(conn: &impl ConnectionTrait, city: CityId, id: MemberId) -> Result<member::Model> {
    member::Entity::find_by_id(id.uuid())
        .one(conn)
        .await?
        .filter(|m| m.city_id == city.uuid())
        .ok_or(Error::NotFound)
}

/// [`Database::create_member`] inside the caller's transaction (for writes that add a member
/// and do more in the same transaction, such as inviting them).
pub(crate) async fn create_member_tx(tx: &TransactionHandle, new: &NewMember, actor: AuditActor) -> Result<Member> {
    city::Entity::find_by_id(new.city.uuid()).one(&**tx).await?.ok_or(Error::NotFound)?;
    check_role_area(new.role, new.area)?;
    check_area(&**tx, new.city, new.area).await?;
    let user = get_or_create_by_email(&**tx, &new.email, &new.name, None).await?;
    let model = member::ActiveModel {
        id: Set(MemberId::new().uuid()),
        city_id: Set(new.city.uuid()),
        user_id: Set(user.id),
        role: Set(new.role.as_str().to_owned()),
        area_id: Set(new.area.map(AreaId::uuid)),
        created_at: Set(crate::now()),
    }
    .insert(&**tx)
    .await
    .map_err(conflict_on("email"))?;
    let member = Member::from_models(model, &user)?;
    let entry = NewAuditEntry::new(AuditAction::MemberAdded, actor)
        .city(new.city)
        .target("member", member.id)
        .details(json!({ "email": member.email, "role": member.role, "area_id": member.area_id }));
    audit::append(&**tx, &entry).await?;
    Ok(member)
}
