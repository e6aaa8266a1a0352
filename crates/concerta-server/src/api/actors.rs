//! `/api/cities/{city}/actors`: the external actors registry.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use concerta_core::{Action, CityId, Sector, validate_email, validate_name};
use concerta_store::{Actor, NewActor};
use serde::Deserialize;

use super::{authorize, field_enum, path_id};
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
    let website = optional(body.website);
    if let Some(website) = &website
        && (!(website.starts_with("https://") || website.starts_with("http://")) || website.len() > 2000)
    {
        return Err(Error::invalid("website", "must be an http:// or https:// URL"));
    }
    let new = NewActor {
        city,
        name: validate_name("name", &body.name)?,
        sector: field_enum::<Sector>("sector", &body.sector)?,
        country: optional(body.country).map(|c| validate_name("country", &c)).transpose()?,
        email: optional(body.email).map(|e| validate_email("email", &e)).transpose()?,
        website,
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
