//! `/api/cities/{city}/actors`: the external actors registry.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use concerta_core::{Action, ActorId, CityId, Sector, validate_email, validate_name};
use concerta_store::{Actor, ActorUpdate, NewActor};
use serde::Deserialize;

use super::{authorize, double_option, field_enum, path_id};
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
/// "website"?}` → actor (coordinators; `null` or blank clears an optional field).
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
