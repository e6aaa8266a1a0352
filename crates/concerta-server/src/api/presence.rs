//! `GET /api/strategies/{id}/presence`: who is in each section of a strategy now, for the
//! outline (polled). Built on [`SyncHandle::presence`](crate::sync::SyncHandle::presence):
//! the people connected to each section's document on this node, named by the server.

use axum::Json;
use axum::extract::{Path, State};
use concerta_core::{Action, SectionId, StrategyId};
use concerta_sync::Access;
use serde::Serialize;

use super::{authorize, path_id};
use crate::auth::CurrentUser;
use crate::error::Result;
use crate::state::AppState;

/// One person in a section.
#[derive(Serialize)]
pub struct PresentPerson {
    user_id: String,
    name: String,
    /// `write` or `read`.
    access: &'static str,
}

/// The people in one section (sections nobody is in are left out).
#[derive(Serialize)]
pub struct SectionPresence {
    section_id: SectionId,
    people: Vec<PresentPerson>,
}

/// The answer.
#[derive(Serialize)]
pub struct StrategyPresence {
    sections: Vec<SectionPresence>,
}

/// `GET /api/strategies/{id}/presence` → `{"sections":[{"section_id","people":[{"user_id",
/// "name","access"}]}]}`, for anyone who may see the strategy.
#[tracing::instrument(skip_all)]
pub(super) async fn get(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
) -> Result<Json<StrategyPresence>> {
    let id: StrategyId = path_id(&id)?;
    let strategy = state.db.get_strategy(id).await?;
    authorize(&state, &user, strategy.city_id, Action::ViewStrategy, None).await?;
    let docs = strategy.sections.iter().map(|s| s.doc_id).collect();
    let mut present = state.sync.presence(docs).await;
    let sections = strategy
        .sections
        .iter()
        .filter_map(|section| {
            let peers = present.remove(&section.doc_id)?;
            let people: Vec<PresentPerson> = peers
                .into_iter()
                .map(|p| PresentPerson {
                    user_id: p.user_id.to_string(),
                    name: p.name,
                    access: if p.access == Access::Write { "write" } else { "read" },
                })
                .collect();
            (!people.is_empty()).then_some(SectionPresence { section_id: section.id, people })
        })
        .collect();
    Ok(Json(StrategyPresence { sections }))
}
