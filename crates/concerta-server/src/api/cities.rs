//! `/api/cities`

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use concerta_core::{Action, CityId, Locale, Principal, may_create_city, validate_name, validate_slug};
use concerta_store::{AuditActor, City, NewCity};
use serde::Deserialize;

use super::{authorize, field_enum, path_id};
use crate::auth::CurrentUser;
use crate::error::{Error, JsonBody, Result};
use crate::state::AppState;

#[derive(Deserialize)]
pub(super) struct CreateCity {
    name: String,
    slug: String,
    locale: Option<String>,
}

/// `POST /api/cities` (network admins) → 201 city.
#[tracing::instrument(skip_all)]
pub(super) async fn create(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    JsonBody(body): JsonBody<CreateCity>,
) -> Result<(StatusCode, Json<City>)> {
    if !may_create_city(&Principal { network_admin: user.network_admin, membership: None }) {
        return Err(Error::Forbidden);
    }
    let name = validate_name("name", &body.name)?;
    let slug = validate_slug("slug", &body.slug)?.to_owned();
    let locale: Locale = match body.locale.as_deref() {
        Some(locale) => field_enum("locale", locale)?,
        None => Locale::Es,
    };
    let city = state.db.create_city(NewCity { name, slug, locale }).await?;
    tracing::info!(city = %city.id, slug = %city.slug, "city created");
    Ok((StatusCode::CREATED, Json(city)))
}

/// `GET /api/cities` → the cities the user belongs to (all of them for network admins).
#[tracing::instrument(skip_all)]
pub(super) async fn list(State(state): State<AppState>, CurrentUser(user): CurrentUser) -> Result<Json<Vec<City>>> {
    let cities = if user.network_admin {
        state.db.list_cities().await?
    } else {
        state.db.list_cities_of_user(user.id).await?
    };
    Ok(Json(cities))
}

#[derive(Deserialize)]
pub(super) struct UpdateCity {
    timezone: Option<String>,
}

/// `PATCH /api/cities/{city}` `{"timezone"}` → city (coordinators, network admins): the IANA
/// time zone in which the city's consultation times are shown and emailed.
#[tracing::instrument(skip_all)]
pub(super) async fn update(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(city): Path<String>,
    JsonBody(body): JsonBody<UpdateCity>,
) -> Result<Json<City>> {
    let city: CityId = path_id(&city)?;
    authorize(&state, &user, city, Action::ManageCity, None).await?;
    let mut updated = state.db.get_city(city).await?;
    if let Some(timezone) = body.timezone.as_deref() {
        let timezone = concerta_roundtable::validate_timezone("timezone", timezone)?;
        updated = state.db.set_city_timezone(city, &timezone, AuditActor::User(user.id)).await?;
        tracing::info!(city = %city, %timezone, "city time zone set");
    }
    Ok(Json(updated))
}

/// `GET /api/cities/{city}` → city.
#[tracing::instrument(skip_all)]
pub(super) async fn get(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(city): Path<String>,
) -> Result<Json<City>> {
    let city: CityId = path_id(&city)?;
    authorize(&state, &user, city, Action::ViewCity, None).await?;
    Ok(Json(state.db.get_city(city).await?))
}
