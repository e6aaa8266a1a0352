//! `/api/cities/{city}/areas`

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use concerta_core::{Action, CityId, validate_name};
use concerta_store::{Area, NewArea};
use serde::Deserialize;

use super::{authorize, path_id};
use crate::auth::CurrentUser;
use crate::error::{JsonBody, Result};
use crate::state::AppState;

#[derive(Deserialize)]
pub(super) struct CreateArea {
    name: String,
}

/// `POST /api/cities/{city}/areas` → 201 area.
#[tracing::instrument(skip_all)]
pub(super) async fn create(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(city): Path<String>,
    JsonBody(body): JsonBody<CreateArea>,
) -> Result<(StatusCode, Json<Area>)> {
    let city: CityId = path_id(&city)?;
    authorize(&state, &user, city, Action::ManageAreas, None).await?;
    let name = validate_name("name", &body.name)?;
    Ok((StatusCode::CREATED, Json(state.db.create_area(NewArea { city, name }).await?)))
}

/// `GET /api/cities/{city}/areas` → the city's areas.
#[tracing::instrument(skip_all)]
pub(super) async fn list(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(city): Path<String>,
) -> Result<Json<Vec<Area>>> {
    let city: CityId = path_id(&city)?;
    authorize(&state, &user, city, Action::ViewCity, None).await?;
    Ok(Json(state.db.list_areas(city).await?))
}
