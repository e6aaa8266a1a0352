//! `/api/cities/{city}/strategies`, `/api/strategies/{id}`, `/api/sections/{id}/area`.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use chrono::{DateTime, Utc};
use concerta_core::{Action, AreaId, CityId, SectionId, Stage, StrategyId, StrategyTemplate, validate_name};
use concerta_store::{NewStrategy, Section, Strategy};
use serde::{Deserialize, Serialize};

use super::{authorize, double_option, field_enum, field_id, path_id};
use crate::auth::CurrentUser;
use crate::error::{Error, JsonBody, Result};
use crate::state::{AccessEvent, AppState};

/// A section as the API shows it; `doc_url` is what `repo.find()` takes.
#[derive(Serialize)]
pub struct SectionView {
    id: SectionId,
    strategy_id: StrategyId,
    key: String,
    title: String,
    stage: Stage,
    position: i32,
    area_id: Option<AreaId>,
    doc_url: String,
}

impl From<Section> for SectionView {
    fn from(s: Section) -> Self {
        Self {
            id: s.id,
            strategy_id: s.strategy_id,
            key: s.key,
            title: s.title,
            stage: s.stage,
            position: s.position,
            area_id: s.area_id,
            doc_url: s.doc_id.url(),
        }
    }
}

/// A strategy as the API shows it.
#[derive(Serialize)]
pub struct StrategyView {
    id: StrategyId,
    city_id: CityId,
    title: String,
    template: StrategyTemplate,
    created_at: DateTime<Utc>,
    sections: Vec<SectionView>,
}

impl From<Strategy> for StrategyView {
    fn from(s: Strategy) -> Self {
        Self {
            id: s.id,
            city_id: s.city_id,
            title: s.title,
            template: s.template,
            created_at: s.created_at,
            sections: s.sections.into_iter().map(SectionView::from).collect(),
        }
    }
}

#[derive(Deserialize)]
pub(super) struct CreateStrategy {
    title: String,
    template: Option<String>,
}

#[derive(Deserialize)]
pub(super) struct SetArea {
    #[serde(default, deserialize_with = "double_option")]
    area_id: Option<Option<String>>,
}

/// `POST /api/cities/{city}/strategies` `{"title","template":"seed"|"blank"}` → 201 strategy.
#[tracing::instrument(skip_all)]
pub(super) async fn create(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(city): Path<String>,
    JsonBody(body): JsonBody<CreateStrategy>,
) -> Result<(StatusCode, Json<StrategyView>)> {
    let city: CityId = path_id(&city)?;
    authorize(&state, &user, city, Action::CreateStrategy, None).await?;
    let title = validate_name("title", &body.title)?;
    let template = match body.template.as_deref() {
        Some(t) => field_enum::<StrategyTemplate>("template", t)?,
        None => StrategyTemplate::Seed,
    };
    let strategy = state.db.create_strategy(NewStrategy { city, title, template }).await?;
    tracing::info!(city = %city, strategy = %strategy.id, sections = strategy.sections.len(), "strategy created");
    Ok((StatusCode::CREATED, Json(strategy.into())))
}

/// `GET /api/cities/{city}/strategies` → the city's strategies.
#[tracing::instrument(skip_all)]
pub(super) async fn list(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(city): Path<String>,
) -> Result<Json<Vec<StrategyView>>> {
    let city: CityId = path_id(&city)?;
    authorize(&state, &user, city, Action::ViewStrategy, None).await?;
    let strategies = state.db.list_strategies(city).await?;
    Ok(Json(strategies.into_iter().map(StrategyView::from).collect()))
}

/// `GET /api/strategies/{id}` → strategy.
#[tracing::instrument(skip_all)]
pub(super) async fn get(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
) -> Result<Json<StrategyView>> {
    let id: StrategyId = path_id(&id)?;
    let strategy = state.db.get_strategy(id).await?;
    authorize(&state, &user, strategy.city_id, Action::ViewStrategy, None).await?;
    Ok(Json(strategy.into()))
}

/// `PUT /api/sections/{id}/area` `{"area_id": id | null}` → section. Live sessions of the
/// city re-check their access (the area decides who may write).
#[tracing::instrument(skip_all)]
pub(super) async fn set_area(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<SetArea>,
) -> Result<Json<SectionView>> {
    let id: SectionId = path_id(&id)?;
    let section = state.db.get_section(id).await?;
    authorize(&state, &user, section.city_id, Action::ManageStrategy, section.area_id).await?;
    let area = match body.area_id {
        None => return Err(Error::invalid("area_id", "missing field `area_id` (use null to unassign)")),
        Some(area) => area.as_deref().map(|a| field_id::<AreaId>("area_id", a)).transpose()?,
    };
    let section = state.db.set_section_area(id, area, concerta_store::AuditActor::User(user.id)).await?;
    state.publish_access(AccessEvent::City(section.city_id));
    Ok(Json(section.into()))
}
