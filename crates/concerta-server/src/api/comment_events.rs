//! Live comment streams (Server-Sent Events, issue 17); see [`crate::live`].
//!
//! - `GET /api/consultations/{id}/events`: the changes to a consultation's comments, for
//!   whoever may read them (`GET /api/consultations/{id}/comments`: the city's staff and the
//!   invited stakeholders)
//! - `GET /api/sections/{id}/comments/events`: the changes to the comments on a section, of
//!   every consultation, for whoever may read the section (`GET /api/sections/{id}/comments`)
//!
//! Both authenticate like every request (the session cookie, or a bearer token) and answer
//! 401/403/404 as the matching REST reading does before any event.

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::IntoResponse;
use concerta_core::{Action, CityId, ConsultationId, SectionId};
use concerta_store::User;

use super::{authorize, path_id};
use crate::auth::Authenticated;
use crate::error::Result;
use crate::live::{self, Listener, Scope};
use crate::state::AppState;

/// Whether `user` may follow `scope`, with the rule of its REST reading; the scope's city.
pub(crate) async fn may_follow(state: &AppState, user: User, scope: Scope) -> Result<CityId> {
    match scope {
        Scope::Consultation(id) => {
            let c = state.db.get_consultation(id).await?;
            super::consultations::viewer(state, user, &c).await?;
            Ok(c.city_id)
        }
        Scope::Section(id) => {
            let section = state.db.get_section(id).await?;
            authorize(state, &user, section.city_id, Action::ReadSection, section.area_id).await?;
            Ok(section.city_id)
        }
    }
}

async fn follow(state: AppState, auth: Authenticated, headers: HeaderMap, scope: Scope) -> Result<impl IntoResponse> {
    let city = may_follow(&state, auth.user.clone(), scope).await?;
    let listener = Listener::new(&headers, &auth);
    Ok(live::stream(state, listener, city, scope))
}

/// `GET /api/consultations/{id}/events` → `text/event-stream`.
#[tracing::instrument(skip_all)]
pub(super) async fn consultation(
    State(state): State<AppState>,
    auth: Authenticated,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<impl IntoResponse> {
    let id: ConsultationId = path_id(&id)?;
    follow(state, auth, headers, Scope::Consultation(id)).await
}

/// `GET /api/sections/{id}/comments/events` → `text/event-stream`.
#[tracing::instrument(skip_all)]
pub(super) async fn section(
    State(state): State<AppState>,
    auth: Authenticated,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<impl IntoResponse> {
    let id: SectionId = path_id(&id)?;
    follow(state, auth, headers, Scope::Section(id)).await
}
