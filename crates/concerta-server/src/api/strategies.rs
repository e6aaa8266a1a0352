//! `/api/cities/{city}/strategies`, `/api/strategies/{id}`, `/api/sections/{id}/area`,
//! `/api/sections/{id}/state`.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use chrono::{DateTime, Utc};
use concerta_core::{Action, AreaId, CityId, SectionId, SectionState, Stage, StrategyId, StrategyTemplate, validate_name};
use concerta_store::{NewStrategy, Section, Strategy};

use super::versions::VersionView;
use serde::{Deserialize, Serialize};

use super::{authorize, double_option, field_enum, field_id, path_id};
use crate::auth::CurrentUser;
use crate::error::{Error, JsonBody, Result};
use crate::state::{AccessEvent, AppState};

/// A section as the API shows it; `doc_url` is what `repo.find()` takes.
/// `changed_since_approved` is `null` while the strategy has no approved version.
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
    state: SectionState,
    changed_since_approved: Option<bool>,
}

impl SectionView {
    fn new(s: Section, changed_since_approved: Option<bool>) -> Self {
        Self {
            id: s.id,
            strategy_id: s.strategy_id,
            key: s.key,
            title: s.title,
            stage: s.stage,
            position: s.position,
            area_id: s.area_id,
            doc_url: s.doc_id.url(),
            state: s.state,
            changed_since_approved,
        }
    }
}

/// A strategy as the API shows it, with its approved version (the one approved last) or
/// `null`.
#[derive(Serialize)]
pub struct StrategyView {
    id: StrategyId,
    city_id: CityId,
    title: String,
    template: StrategyTemplate,
    created_at: DateTime<Utc>,
    approved_version: Option<VersionView>,
    sections: Vec<SectionView>,
}

/// The view of `strategy`: its approved version and, per section, whether it changed since.
pub(super) async fn strategy_view(state: &AppState, s: Strategy) -> Result<StrategyView> {
    let approved = state.db.get_approved_version(s.id).await?;
    let mut changed = state.content.changed_since(&state.db, &s.sections, approved.as_ref()).await?;
    Ok(StrategyView {
        id: s.id,
        city_id: s.city_id,
        title: s.title,
        template: s.template,
        created_at: s.created_at,
        approved_version: approved.map(VersionView::from),
        sections: s
            .sections
            .into_iter()
            .map(|section| {
                let c = changed.remove(&section.id).flatten();
                SectionView::new(section, c)
            })
            .collect(),
    })
}

/// The view of one section.
pub(super) async fn section_view(state: &AppState, section: Section) -> Result<SectionView> {
    let approved = state.db.get_approved_version(section.strategy_id).await?;
    let changed = state
        .content
        .changed_since(&state.db, std::slice::from_ref(&section), approved.as_ref())
        .await?
        .remove(&section.id)
        .flatten();
    Ok(SectionView::new(section, changed))
}

#[derive(Deserialize)]
pub(super) struct CreateStrategy {
    title: String,
    template: Option<String>,
}

#[derive(Deserialize)]
pub(super) struct SetState {
    state: String,
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
    let locale = state.db.get_city(city).await?.locale;
    // The sections' first changes are made here, above the store.
    let sections = crate::content::template_sections(template, locale);
    let strategy = state.db.create_strategy(NewStrategy { city, title, template, sections }).await?;
    tracing::info!(city = %city, strategy = %strategy.id, sections = strategy.sections.len(), "strategy created");
    Ok((StatusCode::CREATED, Json(strategy_view(&state, strategy).await?)))
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
    let mut views = Vec::new();
    for strategy in state.db.list_strategies(city).await? {
        views.push(strategy_view(&state, strategy).await?);
    }
    Ok(Json(views))
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
    Ok(Json(strategy_view(&state, strategy).await?))
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
    Ok(Json(section_view(&state, section).await?))
}

/// `PUT /api/sections/{id}/state` `{"state": "not_started"|"drafting"|"in_review"|"ready"}`
/// → section. Editors of the section's area and coordinators.
#[tracing::instrument(skip_all)]
pub(super) async fn set_state(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<SetState>,
) -> Result<Json<SectionView>> {
    let id: SectionId = path_id(&id)?;
    let section = state.db.get_section(id).await?;
    authorize(&state, &user, section.city_id, Action::SetSectionState, section.area_id).await?;
    let new_state = field_enum::<SectionState>("state", &body.state)?;
    let section = state.db.set_section_state(id, new_state).await?;
    tracing::info!(section = %id, state = %new_state, "section state set");
    Ok(Json(section_view(&state, section).await?))
}
