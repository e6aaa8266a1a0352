//! The capacities checklist over HTTP.
//!
//! - `GET /api/strategies/{id}/capacities` → the checklist with counts per group and state
//! - `POST /api/strategies/{id}/capacities/template` → 201, the seed's capacities
//! - `PATCH /api/capacities/{id}` `{"state"?,"evidence"?,"area_id"?}` (coordinators; editors
//!   of the capacity's area for state and evidence)

use std::collections::BTreeMap;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use concerta_core::{Action, AreaId, CapacityId, StrategyId};
use concerta_evaluation::validate::check_text;
use concerta_evaluation::{CapacityGroup, CapacityState};
use concerta_store::{Capacity, CapacityUpdate};
use serde::{Deserialize, Serialize};

use super::{authorize, double_option, field_enum, field_id, path_id};
use crate::auth::CurrentUser;
use crate::error::{Error, JsonBody, Result};
use crate::state::AppState;

/// One group's counts.
#[derive(Serialize)]
pub(super) struct GroupSummary {
    group: CapacityGroup,
    /// The implementation-stage section the group feeds (template key).
    section_key: &'static str,
    total: usize,
    not_started: usize,
    in_progress: usize,
    in_place: usize,
}

/// The checklist.
#[derive(Serialize)]
pub(super) struct Checklist {
    capacities: Vec<Capacity>,
    groups: Vec<GroupSummary>,
}

fn checklist(capacities: Vec<Capacity>) -> Checklist {
    let mut groups: BTreeMap<CapacityGroup, GroupSummary> = BTreeMap::new();
    for c in &capacities {
        let g = groups.entry(c.group).or_insert_with(|| GroupSummary {
            group: c.group,
            section_key: concerta_evaluation::template::capacity_section(c.group),
            total: 0,
            not_started: 0,
            in_progress: 0,
            in_place: 0,
        });
        g.total += 1;
        match c.state {
            CapacityState::NotStarted => g.not_started += 1,
            CapacityState::InProgress => g.in_progress += 1,
            CapacityState::InPlace => g.in_place += 1,
        }
    }
    Checklist { capacities, groups: groups.into_values().collect() }
}

/// `GET /api/strategies/{id}/capacities`.
#[tracing::instrument(skip_all)]
pub(super) async fn list(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
) -> Result<Json<Checklist>> {
    let id: StrategyId = path_id(&id)?;
    let strategy = state.db.get_strategy(id).await?;
    authorize(&state, &user, strategy.city_id, Action::ViewEvaluation, None).await?;
    Ok(Json(checklist(state.db.list_capacities(id).await?)))
}

/// `POST /api/strategies/{id}/capacities/template` → 201 the checklist; 409 when it exists.
#[tracing::instrument(skip_all)]
pub(super) async fn create_from_template(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<Checklist>)> {
    let id: StrategyId = path_id(&id)?;
    let strategy = state.db.get_strategy(id).await?;
    authorize(&state, &user, strategy.city_id, Action::ManageIndicators, None).await?;
    let city = state.db.get_city(strategy.city_id).await?;
    let made = state.db.create_capacities_from_template(id, city.locale).await?;
    Ok((StatusCode::CREATED, Json(checklist(made))))
}

#[derive(Deserialize)]
pub(super) struct CapacityBody {
    state: Option<String>,
    evidence: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    area_id: Option<Option<String>>,
}

/// `PATCH /api/capacities/{id}` → the capacity. Changing the responsible area is the
/// coordinator's; the area's editors update state and evidence.
#[tracing::instrument(skip_all)]
pub(super) async fn update(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<CapacityBody>,
) -> Result<Json<Capacity>> {
    let id: CapacityId = path_id(&id)?;
    let capacity = state.db.get_capacity(id).await?;
    let action = if body.area_id.is_some() { Action::ManageIndicators } else { Action::UpdateCapacity };
    authorize(&state, &user, capacity.city_id, action, capacity.area_id).await?;
    let update = CapacityUpdate {
        state: body.state.as_deref().map(|s| field_enum::<CapacityState>("state", s)).transpose()?,
        evidence: body.evidence.as_deref().map(|e| check_text("evidence", e, 4000)).transpose()?,
        area: body.area_id.map(|a| a.as_deref().map(|a| field_id::<AreaId>("area_id", a)).transpose()).transpose()?,
    };
    if update.state.is_none() && update.evidence.is_none() && update.area.is_none() {
        return Err(Error::invalid("body", "must change state, evidence or area_id"));
    }
    Ok(Json(state.db.update_capacity(id, update, user.id).await?))
}
