//! Multi-actor roundtables: convene, change, cancel and close them, invite people (from the
//! actors registry or by address), follow delivery and answers, and see the sector balance.
//!
//! Coordinators convene (`Action::ConveneRoundtable`); members who may view the city's work
//! see them (`Action::ViewRoundtables`). Every write that emails invitees queues the messages
//! in the outbox in its own transaction, through [`crate::roundtables::RoundtableMailer`].

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use concerta_core::{Action, CityId, InvitationId, RoundtableId, Rsvp, Sector, SectionId};
use concerta_roundtable::balance::{Balance, balance};
use concerta_roundtable::validate::local_time;
use concerta_roundtable::{DetailsPatch, validate_details, validate_patch};
use concerta_store::{Invitation, NewAgreement, NewInvitation, NewRoundtable, Roundtable, AuditActor};
use concerta_sync::DocumentId;
use serde::{Deserialize, Serialize};

use super::actors::{InviteeBody, resolve_invitees};
use super::{authorize, path_id};
use crate::auth::CurrentUser;
use crate::error::{Error, JsonBody, Result};
use crate::roundtables::{RoundtableMailer, delivery_of};
use crate::state::{AccessEvent, AppState};

/// A roundtable as the API shows it: its fields, the wall-clock times in its zone, and the
/// minutes document's URL for `repo.find()`.
#[derive(Serialize)]
pub(crate) struct RoundtableView {
    #[serde(flatten)]
    roundtable: Roundtable,
    starts_local: String,
    ends_local: String,
    minutes_url: Option<String>,
    invited: usize,
    accepted: usize,
}

pub(crate) async fn view(state: &AppState, rt: Roundtable) -> Result<RoundtableView> {
    let invitations = state.db.list_invitations(rt.id).await?;
    Ok(RoundtableView {
        starts_local: local_time(rt.details.schedule.starts_at, &rt.details.schedule.timezone).to_string(),
        ends_local: local_time(rt.details.schedule.ends_at, &rt.details.schedule.timezone).to_string(),
        minutes_url: rt.minutes_doc_id.as_deref().and_then(|d| d.parse::<DocumentId>().ok()).map(|d| d.url()),
        invited: invitations.len(),
        accepted: invitations.iter().filter(|i| i.rsvp == Rsvp::Accepted).count(),
        roundtable: rt,
    })
}

/// Loads a roundtable and checks `action` on its city.
async fn load(state: &AppState, user: &concerta_store::User, id: &str, action: Action) -> Result<Roundtable> {
    let id: RoundtableId = path_id(id)?;
    let rt = state.db.get_roundtable(id).await?;
    authorize(state, user, rt.city_id, action, None).await?;
    Ok(rt)
}

/// `POST /api/cities/{city}/roundtables` `{"title","purpose"?,"agenda"?,"starts_at","ends_at",
/// "timezone","location"?,"online_url"?,"capacity"?,"remind_before_minutes"?}` → 201 roundtable.
#[tracing::instrument(skip_all)]
pub(super) async fn create(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(city): Path<String>,
    JsonBody(body): JsonBody<DetailsPatch>,
) -> Result<(StatusCode, Json<RoundtableView>)> {
    let city: CityId = path_id(&city)?;
    authorize(&state, &user, city, Action::ConveneRoundtable, None).await?;
    let details = validate_details(&body)?;
    let new = NewRoundtable {
        city,
        details,
        minutes_doc: DocumentId::random(),
        minutes_first_change: concerta_content::minutes::new_minutes_change(),
    };
    let rt = state.db.create_roundtable(new, AuditActor::User(user.id)).await?;
    tracing::info!(roundtable = %rt.id, %city, "roundtable convened");
    Ok((StatusCode::CREATED, Json(view(&state, rt).await?)))
}

/// `GET /api/cities/{city}/roundtables` → the city's roundtables, soonest first.
#[tracing::instrument(skip_all)]
pub(super) async fn list(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(city): Path<String>,
) -> Result<Json<Vec<RoundtableView>>> {
    let city: CityId = path_id(&city)?;
    authorize(&state, &user, city, Action::ViewRoundtables, None).await?;
    let mut out = Vec::new();
    for rt in state.db.list_roundtables(city).await? {
        out.push(view(&state, rt).await?);
    }
    Ok(Json(out))
}

/// `GET /api/roundtables/{id}` → roundtable.
#[tracing::instrument(skip_all)]
pub(super) async fn get(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
) -> Result<Json<RoundtableView>> {
    let rt = load(&state, &user, &id, Action::ViewRoundtables).await?;
    Ok(Json(view(&state, rt).await?))
}

/// `PATCH /api/roundtables/{id}` (any field of the create body) → roundtable. A new time or
/// place sends every invitee who has not declined an update (`SEQUENCE + 1`).
#[tracing::instrument(skip_all)]
pub(super) async fn update(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<DetailsPatch>,
) -> Result<Json<RoundtableView>> {
    let rt = load(&state, &user, &id, Action::ConveneRoundtable).await?;
    let details = validate_patch(Some(&rt.details), &body)?;
    let mailer = RoundtableMailer::new(&state).await?;
    let rt = state.db.update_roundtable(rt.id, details, AuditActor::User(user.id), &mailer).await?;
    Ok(Json(view(&state, rt).await?))
}

/// `POST /api/roundtables/{id}/cancel` → roundtable, cancelled; invitees get `METHOD:CANCEL`.
#[tracing::instrument(skip_all)]
pub(super) async fn cancel(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
) -> Result<Json<RoundtableView>> {
    let rt = load(&state, &user, &id, Action::ConveneRoundtable).await?;
    let mailer = RoundtableMailer::new(&state).await?;
    let rt = state.db.cancel_roundtable(rt.id, AuditActor::User(user.id), &mailer).await?;
    // Live minutes sessions become read-only.
    state.publish_access(AccessEvent::City(rt.city_id));
    tracing::info!(roundtable = %rt.id, "roundtable cancelled");
    Ok(Json(view(&state, rt).await?))
}

/// `POST /api/roundtables/{id}/close` → roundtable, closed: the agreements of its minutes
/// are recorded (shown beside their sections and on the public page) and the minutes go to
/// those who accepted.
#[tracing::instrument(skip_all)]
pub(super) async fn close(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
) -> Result<Json<RoundtableView>> {
    let rt = load(&state, &user, &id, Action::ConveneRoundtable).await?;
    let minutes = match rt.minutes_doc_id.as_deref().and_then(|d| d.parse::<DocumentId>().ok()) {
        Some(doc) => {
            let loaded = state.content.load(&state.db, doc).await?;
            concerta_content::minutes::read_minutes(&loaded.doc)
        }
        None => Default::default(),
    };
    let texts = minutes.agreements.iter().map(|a| a.text.clone()).collect();
    let agreements = minutes
        .agreements
        .into_iter()
        .map(|a| NewAgreement { section_id: a.section_id.and_then(|s| s.parse::<SectionId>().ok()), text: a.text })
        .collect();
    let mailer = RoundtableMailer::new(&state).await?.with_minutes(minutes.notes, texts);
    let rt = state.db.close_roundtable(rt.id, agreements, AuditActor::User(user.id), &mailer).await?;
    state.publish_access(AccessEvent::City(rt.city_id));
    tracing::info!(roundtable = %rt.id, "roundtable closed");
    Ok(Json(view(&state, rt).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct InviteBody {
    invitees: Vec<InviteeBody>,
}

/// An invitation as the coordinator's status table shows it.
#[derive(Serialize)]
pub(crate) struct InvitationView {
    #[serde(flatten)]
    invitation: Invitation,
    /// `queued`, `sent`, `deferred` or `failed`: the status of the latest email to the
    /// invitee; `null` when none was ever queued (the demo's invitees are not emailed).
    delivery: Option<String>,
    /// Why it failed or is being retried.
    delivery_error: Option<String>,
}

async fn invitation_views(state: &AppState, invitations: Vec<Invitation>) -> Result<Vec<InvitationView>> {
    let deliveries = delivery_of(state, &invitations).await?;
    Ok(invitations
        .into_iter()
        .map(|invitation| {
            let (delivery, delivery_error) = match deliveries.get(&invitation.id) {
                Some((status, error)) => (Some(status.clone()), error.clone()),
                None => (None, None),
            };
            InvitationView { invitation, delivery, delivery_error }
        })
        .collect())
}

/// `POST /api/roundtables/{id}/invitations` `{"invitees":[{"email","name","organization",
/// "sector","locale"?} | {"actor_id"}]}` → 201 invitations. An invitee from the registry takes the
/// actor's address, name, sector and language (any given field overrides them); see
/// [`resolve_invitees`].
#[tracing::instrument(skip_all)]
pub(super) async fn invite(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<InviteBody>,
) -> Result<(StatusCode, Json<Vec<InvitationView>>)> {
    let rt = load(&state, &user, &id, Action::ConveneRoundtable).await?;
    let invitees = resolve_invitees(&state, rt.city_id, body.invitees)
        .await?
        .into_iter()
        .map(|i| NewInvitation {
            actor_id: i.actor,
            email: i.email,
            name: i.name,
            organization: i.organization,
            sector: i.sector,
            locale: i.locale,
        })
        .collect();
    let mailer = RoundtableMailer::new(&state).await?;
    let invitations = state.db.create_invitations(rt.id, invitees, AuditActor::User(user.id), &mailer).await?;
    Ok((StatusCode::CREATED, Json(invitation_views(&state, invitations).await?)))
}

/// `GET /api/roundtables/{id}/invitations` → `[{"id","email","delivery","rsvp",…}]`.
#[tracing::instrument(skip_all)]
pub(super) async fn invitations(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
) -> Result<Json<Vec<InvitationView>>> {
    let rt = load(&state, &user, &id, Action::ViewRoundtables).await?;
    let invitations = state.db.list_invitations(rt.id).await?;
    Ok(Json(invitation_views(&state, invitations).await?))
}

/// `POST /api/roundtables/{id}/invitations/{invitation}/resend` → the invitation, sent again
/// as the roundtable stands now.
#[tracing::instrument(skip_all)]
pub(super) async fn resend(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path((id, invitation)): Path<(String, String)>,
) -> Result<Json<InvitationView>> {
    let rt = load(&state, &user, &id, Action::ConveneRoundtable).await?;
    let invitation: InvitationId = path_id(&invitation)?;
    let mailer = RoundtableMailer::new(&state).await?;
    let inv = state.db.resend_invitation(rt.id, invitation, AuditActor::User(user.id), &mailer).await?;
    let mut views = invitation_views(&state, vec![inv]).await?;
    views.pop().map(Json).ok_or(Error::NotFound)
}

/// `GET /api/roundtables/{id}/balance` → invitees and acceptances per sector, and the
/// sectors of the registry nobody at the table represents.
#[tracing::instrument(skip_all)]
pub(super) async fn sector_balance(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
) -> Result<Json<Balance>> {
    let rt = load(&state, &user, &id, Action::ViewRoundtables).await?;
    let registry = state.db.list_registry_sectors(rt.city_id).await?;
    let invitees: Vec<(Option<Sector>, Rsvp)> =
        state.db.list_invitations(rt.id).await?.into_iter().map(|i| (i.sector, i.rsvp)).collect();
    Ok(Json(balance(&registry, &invitees)))
}

/// `GET /api/sections/{id}/agreements` → the roundtable agreements that link to a section
/// (whoever may read the section).
#[tracing::instrument(skip_all)]
pub(super) async fn section_agreements(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
) -> Result<Json<Vec<concerta_store::Agreement>>> {
    let id: SectionId = path_id(&id)?;
    let section = state.db.get_section(id).await?;
    authorize(&state, &user, section.city_id, Action::ReadSection, section.area_id).await?;
    Ok(Json(state.db.list_section_agreements(id).await?))
}

/// `GET /api/roundtables/{id}/agreements` → the agreements recorded when it closed.
#[tracing::instrument(skip_all)]
pub(super) async fn agreements(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
) -> Result<Json<Vec<concerta_store::Agreement>>> {
    let rt = load(&state, &user, &id, Action::ViewRoundtables).await?;
    Ok(Json(state.db.list_roundtable_agreements(rt.id).await?))
}
