//! Named versions: `/api/strategies/{id}/versions`, `/api/versions/{id}`,
//! `/api/versions/{id}/approve`, and the diff of a section since one,
//! `/api/sections/{id}/diff?since={version}`.
//!
//! A version records each section's heads as the server has stored them (durable), read
//! from the stored rows, not from what a client says.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use concerta_content::diff::{DiffOp, section_diff};
use concerta_core::{Action, CityId, SectionId, StrategyId, UserId, VersionId, validate_name};
use concerta_store::{NewVersion, UserRef, Version, VersionSection};
use serde::{Deserialize, Serialize};

use super::{authorize, path_id};
use crate::auth::CurrentUser;
use crate::content::{hex_heads, parse_heads};
use crate::error::{Error, JsonBody, Result};
use crate::state::AppState;

/// A user named by a version.
#[derive(Serialize)]
pub struct UserRefView {
    id: UserId,
    name: String,
}

impl From<UserRef> for UserRefView {
    fn from(u: UserRef) -> Self {
        Self { id: u.id, name: u.name }
    }
}

/// One section's heads in a version.
#[derive(Serialize)]
pub struct VersionSectionView {
    section_id: SectionId,
    doc_url: String,
    heads: Vec<String>,
}

/// A version as the API shows it.
#[derive(Serialize)]
pub struct VersionView {
    id: VersionId,
    strategy_id: StrategyId,
    city_id: CityId,
    name: String,
    created_at: DateTime<Utc>,
    created_by: Option<UserRefView>,
    approved_at: Option<DateTime<Utc>>,
    approved_by: Option<UserRefView>,
    sections: Vec<VersionSectionView>,
}

impl From<Version> for VersionView {
    fn from(v: Version) -> Self {
        Self {
            id: v.id,
            strategy_id: v.strategy_id,
            city_id: v.city_id,
            name: v.name,
            created_at: v.created_at,
            created_by: v.created_by.map(UserRefView::from),
            approved_at: v.approved_at,
            approved_by: v.approved_by.map(UserRefView::from),
            sections: v
                .sections
                .into_iter()
                .map(|s| VersionSectionView { section_id: s.section_id, doc_url: s.doc_id.url(), heads: s.heads })
                .collect(),
        }
    }
}

#[derive(Deserialize)]
pub(super) struct CreateVersion {
    name: String,
}

/// `POST /api/strategies/{id}/versions` `{"name"}` → 201 version (coordinators). Records
/// every section's stored heads.
#[tracing::instrument(skip_all)]
pub(super) async fn create(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<CreateVersion>,
) -> Result<(StatusCode, Json<VersionView>)> {
    let id: StrategyId = path_id(&id)?;
    let strategy = state.db.get_strategy(id).await?;
    authorize(&state, &user, strategy.city_id, Action::CreateVersion, None).await?;
    let name = validate_name("name", &body.name)?;
    let docs: Vec<_> = strategy.sections.iter().map(|s| s.doc_id).collect();
    let mut heads = state.content.heads_of(&state.db, &docs).await?;
    let sections = strategy
        .sections
        .iter()
        .map(|s| VersionSection {
            section_id: s.id,
            doc_id: s.doc_id,
            heads: hex_heads(&heads.remove(&s.doc_id).unwrap_or_default()),
        })
        .collect();
    let version = state.db.create_version(NewVersion { strategy: id, name, created_by: user.id, sections }).await?;
    tracing::info!(strategy = %id, version = %version.id, "version named");
    Ok((StatusCode::CREATED, Json(version.into())))
}

/// `GET /api/strategies/{id}/versions` → the strategy's versions, newest first.
#[tracing::instrument(skip_all)]
pub(super) async fn list(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
) -> Result<Json<Vec<VersionView>>> {
    let id: StrategyId = path_id(&id)?;
    let strategy = state.db.get_strategy(id).await?;
    authorize(&state, &user, strategy.city_id, Action::ViewStrategy, None).await?;
    let versions = state.db.list_versions(id).await?;
    Ok(Json(versions.into_iter().map(VersionView::from).collect()))
}

/// `GET /api/versions/{id}` → version.
#[tracing::instrument(skip_all)]
pub(super) async fn get(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
) -> Result<Json<VersionView>> {
    let id: VersionId = path_id(&id)?;
    let version = state.db.get_version(id).await?;
    authorize(&state, &user, version.city_id, Action::ViewStrategy, None).await?;
    Ok(Json(version.into()))
}

/// `POST /api/versions/{id}/approve` → the version, approved (coordinators). Approving an
/// approved version returns it unchanged.
#[tracing::instrument(skip_all)]
pub(super) async fn approve(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
) -> Result<Json<VersionView>> {
    let id: VersionId = path_id(&id)?;
    let version = state.db.get_version(id).await?;
    authorize(&state, &user, version.city_id, Action::ApproveVersion, None).await?;
    let (version, approved_now) = state.db.approve_version(id, user.id).await?;
    if approved_now {
        tracing::info!(version = %id, strategy = %version.strategy_id, user = %user.id, "version approved");
    }
    Ok(Json(version.into()))
}

#[derive(Deserialize)]
pub(super) struct DiffQuery {
    since: Option<String>,
}

/// The diff of a section since a version.
#[derive(Serialize)]
pub struct DiffView {
    changed: bool,
    ops: Vec<DiffOp>,
}

/// `GET /api/sections/{id}/diff?since={version}` → `{"changed", "ops"}`: the word-level
/// diff of the section's text from that version to what is stored now. `since` must be a
/// version of the section's strategy (422 otherwise).
#[tracing::instrument(skip_all)]
pub(super) async fn diff(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
    Query(query): Query<DiffQuery>,
) -> Result<Json<DiffView>> {
    let id: SectionId = path_id(&id)?;
    let section = state.db.get_section(id).await?;
    authorize(&state, &user, section.city_id, Action::ReadSection, section.area_id).await?;
    let since = query.since.as_deref().filter(|s| !s.is_empty()).ok_or_else(|| Error::invalid("since", "is required"))?;
    let version_id: VersionId = since.parse().map_err(|_| Error::invalid("since", "is not a valid id"))?;
    let version = match state.db.get_version(version_id).await {
        Ok(v) if v.strategy_id == section.strategy_id => v,
        Ok(_) | Err(concerta_store::Error::NotFound) => {
            return Err(Error::invalid("since", "is not a version of this section's strategy"));
        }
        Err(e) => return Err(e.into()),
    };
    let loaded = state.content.load(&state.db, section.doc_id).await?;
    let then = version.sections.iter().find(|s| s.section_id == id).map(|s| parse_heads(&s.heads));
    let old = match &then {
        Some(heads) => Some(loaded.read(Some(heads))?),
        None => None,
    };
    let new = loaded.read(None)?;
    let diff = section_diff(old.as_ref(), &new);
    Ok(Json(DiffView { changed: diff.changed, ops: diff.ops }))
}
