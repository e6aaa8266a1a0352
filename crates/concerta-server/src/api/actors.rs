//! `/api/cities/{city}/actors`: the external actors registry, and [`resolve_invitees`], the
//! one reading of invitees (registry actors or addresses) that roundtables and consultations
//! share.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use concerta_core::{Action, ActorId, CityId, Locale, Sector, validate_email, validate_name};
use concerta_store::{Actor, ActorUpdate, NewActor};
use serde::Deserialize;

use super::{authorize, double_option, field_enum, field_id, path_id};
use crate::auth::CurrentUser;
use crate::error::{Error, JsonBody, Result};
use crate::state::AppState;

#[derive(Deserialize)]
pub(super) struct CreateActor {
    name: String,
    sector: String,
    country: Option<String>,
    email: Option<String>,
    website: Option<String>,
    locale: Option<String>,
}

/// Blank optional text is no text.
fn optional(text: Option<String>) -> Option<String> {
    text.map(|t| t.trim().to_owned()).filter(|t| !t.is_empty())
}

fn country(text: Option<String>) -> Result<Option<String>> {
    Ok(optional(text).map(|c| validate_name("country", &c)).transpose()?)
}

fn email(text: Option<String>) -> Result<Option<String>> {
    Ok(optional(text).map(|e| validate_email("email", &e)).transpose()?)
}

/// The language of an actor's or invitee's email: `es`, `en` or `pt`; blank or absent is
/// none (the city's).
pub(crate) fn locale(field: &str, text: Option<String>) -> Result<Option<Locale>> {
    optional(text).map(|l| field_enum::<Locale>(field, &l)).transpose()
}

fn website(text: Option<String>) -> Result<Option<String>> {
    let website = optional(text);
    if let Some(website) = &website
        && (!(website.starts_with("https://") || website.starts_with("http://")) || website.len() > 2000)
    {
        return Err(Error::invalid("website", "must be an http:// or https:// URL"));
    }
    Ok(website)
}

#[derive(Deserialize)]
pub(super) struct UpdateActor {
    name: Option<String>,
    sector: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    country: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    email: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    website: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    locale: Option<Option<String>>,
}

/// `POST /api/cities/{city}/actors` → 201 actor.
#[tracing::instrument(skip_all)]
pub(super) async fn create(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(city): Path<String>,
    JsonBody(body): JsonBody<CreateActor>,
) -> Result<(StatusCode, Json<Actor>)> {
    let city: CityId = path_id(&city)?;
    authorize(&state, &user, city, Action::ManageActors, None).await?;
    let new = NewActor {
        city,
        name: validate_name("name", &body.name)?,
        sector: field_enum::<Sector>("sector", &body.sector)?,
        country: country(body.country)?,
        email: email(body.email)?,
        website: website(body.website)?,
        locale: locale("locale", body.locale)?,
    };
    Ok((StatusCode::CREATED, Json(state.db.create_actor(new).await?)))
}

/// `GET /api/cities/{city}/actors` → the city's registry.
#[tracing::instrument(skip_all)]
pub(super) async fn list(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(city): Path<String>,
) -> Result<Json<Vec<Actor>>> {
    let city: CityId = path_id(&city)?;
    authorize(&state, &user, city, Action::ViewActors, None).await?;
    Ok(Json(state.db.list_actors(city).await?))
}

/// `PATCH /api/cities/{city}/actors/{actor}` `{"name"?, "sector"?, "country"?, "email"?,
/// "website"?, "locale"?}` → actor (coordinators; `null` or blank clears an optional field).
#[tracing::instrument(skip_all)]
pub(super) async fn update(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path((city, actor)): Path<(String, String)>,
    JsonBody(body): JsonBody<UpdateActor>,
) -> Result<Json<Actor>> {
    let city: CityId = path_id(&city)?;
    let actor: ActorId = path_id(&actor)?;
    authorize(&state, &user, city, Action::ManageActors, None).await?;
    let update = ActorUpdate {
        name: body.name.map(|n| validate_name("name", &n)).transpose()?,
        sector: body.sector.map(|s| field_enum::<Sector>("sector", &s)).transpose()?,
        country: body.country.map(country).transpose()?,
        email: body.email.map(email).transpose()?,
        website: body.website.map(website).transpose()?,
        locale: body.locale.map(|l| locale("locale", l)).transpose()?,
    };
    Ok(Json(state.db.update_actor(city, actor, update).await?))
}

/// `DELETE /api/cities/{city}/actors/{actor}` → 204 (coordinators).
#[tracing::instrument(skip_all)]
pub(super) async fn delete(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path((city, actor)): Path<(String, String)>,
) -> Result<StatusCode> {
    let city: CityId = path_id(&city)?;
    let actor: ActorId = path_id(&actor)?;
    authorize(&state, &user, city, Action::ManageActors, None).await?;
    state.db.delete_actor(city, actor).await?;
    tracing::info!(city = %city, actor = %actor, "actor removed from the registry");
    Ok(StatusCode::NO_CONTENT)
}

/// The most invitees one request may add (to a roundtable or a consultation).
pub const MAX_INVITEES: usize = 500;

/// One invitee as a request names them: an actor of the registry (`actor_id`), an address,
/// or both (given fields override the registry's).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct InviteeBody {
    actor_id: Option<String>,
    email: Option<String>,
    name: Option<String>,
    organization: Option<String>,
    sector: Option<String>,
    /// `es`, `en` or `pt`: the language of their email.
    locale: Option<String>,
}

/// An invitee read by [`resolve_invitees`].
#[derive(Clone, Debug)]
pub(crate) struct ResolvedInvitee {
    /// The registry's actor, when invited from it.
    pub actor: Option<ActorId>,
    /// The address (lowercase): given, else the actor's.
    pub email: String,
    /// Given, else the actor's name, else the organisation.
    pub name: String,
    /// Given (blank: none), else the actor's name, else empty.
    pub organization: String,
    /// Given (blank: none), else the actor's.
    pub sector: Option<Sector>,
    /// Given, else the actor's; `None`: their account's language, else the city's, decided
    /// when each email is queued (`concerta_store::outbox::recipient_locale`).
    pub locale: Option<Locale>,
}

/// Reads the invitees of a roundtable or consultation invitation request of `city`: at
/// least one and at most [`MAX_INVITEES`]; each an actor of the city's registry, an address,
/// or both, with the registry's address, name, organisation, sector and language where the
/// request gives none. Errors are 422 naming the field (`invitees`, `invitees[i].email`…):
/// an actor of another city, a malformed address, a bad sector or language, and no address
/// at all ("is required (the actor has no address)") or no name at all. What else an
/// endpoint requires (a consultation's organisation and sector) it checks itself.
pub(crate) async fn resolve_invitees(state: &AppState, city: CityId, bodies: Vec<InviteeBody>) -> Result<Vec<ResolvedInvitee>> {
    if bodies.is_empty() {
        return Err(Error::invalid("invitees", "must name at least one invitee"));
    }
    if bodies.len() > MAX_INVITEES {
        return Err(Error::invalid("invitees", format!("at most {MAX_INVITEES} at once")));
    }
    let actors = state.db.list_actors(city).await?;
    let mut out = Vec::with_capacity(bodies.len());
    for (i, raw) in bodies.into_iter().enumerate() {
        let field = |name: &str| format!("invitees[{i}].{name}");
        let actor = match &raw.actor_id {
            Some(a) => {
                let a: ActorId = field_id(&field("actor_id"), a)?;
                Some(actors.iter().find(|x| x.id == a).ok_or_else(|| Error::invalid(field("actor_id"), "is not an actor of this city"))?)
            }
            None => None,
        };
        let email = match (optional(raw.email), actor.and_then(|a| a.email.as_ref())) {
            (Some(e), _) => validate_email(&field("email"), &e)?,
            (None, Some(e)) => e.clone(),
            (None, None) => return Err(Error::invalid(field("email"), "is required (the actor has no address)")),
        };
        let organization = match (&raw.organization, actor) {
            (Some(o), _) if o.trim().is_empty() => String::new(),
            (Some(o), _) => validate_name(&field("organization"), o)?,
            (None, Some(a)) => a.name.clone(),
            (None, None) => String::new(),
        };
        let name = match (optional(raw.name), actor) {
            (Some(n), _) => validate_name(&field("name"), &n)?,
            (None, Some(a)) => a.name.clone(),
            (None, None) if !organization.is_empty() => organization.clone(),
            (None, None) => return Err(Error::invalid(field("name"), "is required")),
        };
        let sector = match (raw.sector.as_deref().map(str::trim), actor) {
            (Some(""), _) => None,
            (Some(s), _) => Some(field_enum::<Sector>(&field("sector"), s)?),
            (None, Some(a)) => Some(a.sector),
            (None, None) => None,
        };
        let locale = match locale(&field("locale"), raw.locale)? {
            Some(l) => Some(l),
            None => actor.and_then(|a| a.locale),
        };
        out.push(ResolvedInvitee { actor: actor.map(|a| a.id), email, name, organization, sector, locale });
    }
    Ok(out)
}
