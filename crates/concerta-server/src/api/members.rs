//! `/api/cities/{city}/members`

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use concerta_core::{AccountInvitationId, Action, AreaId, CityId, MemberId, Role, validate_email, validate_name};
use concerta_store::{AccountInvitation, AuditActor, Member, MemberUpdate, NewMember};
use serde::{Deserialize, Serialize};

use super::{authorize, double_option, field_enum, field_id, path_id};
use crate::auth::CurrentUser;
use crate::error::{JsonBody, Result};
use crate::state::{AccessEvent, AppState};

#[derive(Deserialize)]
pub(super) struct CreateMember {
    email: String,
    name: String,
    role: String,
    area_id: Option<String>,
}

#[derive(Deserialize)]
pub(super) struct UpdateMember {
    role: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    area_id: Option<Option<String>>,
}

/// `POST /api/cities/{city}/members` → 201 member (with `invitation`). A new email becomes a
/// user without a password, who is sent an account invitation in the same transaction;
/// editors need an `area_id` of this city.
#[tracing::instrument(skip_all)]
pub(super) async fn create(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(city): Path<String>,
    JsonBody(body): JsonBody<CreateMember>,
) -> Result<(StatusCode, Json<MemberCreated>)> {
    let city: CityId = path_id(&city)?;
    authorize(&state, &user, city, Action::ManageMembers, None).await?;
    let new = NewMember {
        city,
        email: validate_email("email", &body.email)?,
        name: validate_name("name", &body.name)?,
        role: field_enum::<Role>("role", &body.role)?,
        area: body.area_id.as_deref().map(|a| field_id::<AreaId>("area_id", a)).transpose()?,
    };
    let signer = crate::invites::signer(&state).await?;
    let links = move |id: AccountInvitationId, generation: u32| signer.link(id, generation);
    let (member, invitation) = state
        .db
        .create_member_invited(new, AuditActor::User(user.id), user.name.clone(), crate::invites::valid_for(), &links)
        .await?;
    // A user who already had a live connection to the city's documents gains access now.
    state.publish_access(AccessEvent::City(city));
    tracing::info!(city = %city, member = %member.id, role = %member.role, invited = invitation.is_some(), "member added");
    Ok((StatusCode::CREATED, Json(MemberCreated { member, invitation })))
}

/// A new member, with the account invitation sent when their email had no account.
#[derive(Serialize)]
pub(super) struct MemberCreated {
    #[serde(flatten)]
    member: Member,
    invitation: Option<AccountInvitation>,
}

/// `GET /api/cities/{city}/members` → the city's members.
#[tracing::instrument(skip_all)]
pub(super) async fn list(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(city): Path<String>,
) -> Result<Json<Vec<Member>>> {
    let city: CityId = path_id(&city)?;
    authorize(&state, &user, city, Action::ViewMembers, None).await?;
    Ok(Json(state.db.list_members(city).await?))
}

/// `PATCH /api/cities/{city}/members/{member}` `{"role"?, "area_id"?}` → member. Live
/// sessions of the city re-check their access. 409 `last_coordinator` for demoting the city's
/// only coordinator.
#[tracing::instrument(skip_all)]
pub(super) async fn update(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path((city, member)): Path<(String, String)>,
    JsonBody(body): JsonBody<UpdateMember>,
) -> Result<Json<Member>> {
    let city: CityId = path_id(&city)?;
    let member: MemberId = path_id(&member)?;
    authorize(&state, &user, city, Action::ManageMembers, None).await?;
    let update = MemberUpdate {
        role: body.role.as_deref().map(|r| field_enum::<Role>("role", r)).transpose()?,
        area: body
            .area_id
            .map(|area| area.as_deref().map(|a| field_id::<AreaId>("area_id", a)).transpose())
            .transpose()?,
    };
    let member = state.db.update_member(city, member, update, AuditActor::User(user.id)).await?;
    state.publish_access(AccessEvent::City(city));
    Ok(Json(member))
}

/// `DELETE /api/cities/{city}/members/{member}` → 204. Live sessions of the city re-check
/// their access. 409 `last_coordinator` for the city's only coordinator.
#[tracing::instrument(skip_all)]
pub(super) async fn delete(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path((city, member)): Path<(String, String)>,
) -> Result<StatusCode> {
    let city: CityId = path_id(&city)?;
    let member: MemberId = path_id(&member)?;
    authorize(&state, &user, city, Action::ManageMembers, None).await?;
    state.db.delete_member(city, member, AuditActor::User(user.id)).await?;
    state.publish_access(AccessEvent::City(city));
    tracing::info!(city = %city, member = %member, "member removed");
    Ok(StatusCode::NO_CONTENT)
}
