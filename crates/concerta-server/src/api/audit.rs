//! The audit log over HTTP: a city's chain for its coordinators, the instance chain for
//! network admins. Newest first, in pages: `?limit=` (default 50, at most 200) and
//! `?before=<seq>` (the smallest `seq` of the page before) for the next page.

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use concerta_core::{Action, CityId};
use concerta_store::AuditEntry;
use serde::Deserialize;

use super::{authorize, path_id};
use crate::auth::CurrentUser;
use crate::error::{Error, Result};
use crate::state::AppState;

/// The default page size.
const DEFAULT_LIMIT: u64 = 50;
/// The largest page size.
const MAX_LIMIT: u64 = 200;

#[derive(Deserialize)]
pub(super) struct Page {
    before: Option<String>,
    limit: Option<String>,
}

impl Page {
    /// The `before` and `limit` of a query string (422 naming the field when wrong).
    fn parse(query: Result<Query<Page>, QueryRejection>) -> Result<(Option<i64>, u64)> {
        let Query(page) = query.map_err(|_| Error::invalid("query", "is not a valid query string"))?;
        page.values()
    }

    fn values(&self) -> Result<(Option<i64>, u64)> {
        let before = self
            .before
            .as_deref()
            .map(|b| b.parse::<i64>().ok().filter(|b| *b > 0).ok_or_else(|| Error::invalid("before", "must be a positive entry number")))
            .transpose()?;
        let limit = self
            .limit
            .as_deref()
            .map(|l| {
                l.parse::<u64>()
                    .ok()
                    .filter(|l| (1..=MAX_LIMIT).contains(l))
                    .ok_or_else(|| Error::invalid("limit", format!("must be between 1 and {MAX_LIMIT}")))
            })
            .transpose()?
            .unwrap_or(DEFAULT_LIMIT);
        Ok((before, limit))
    }
}

/// `GET /api/cities/{city}/audit[?before=&limit=]` (coordinators, network admins) → the
/// city's audit entries, newest first.
#[tracing::instrument(skip_all)]
pub(super) async fn city(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(city): Path<String>,
    page: Result<Query<Page>, QueryRejection>,
) -> Result<Json<Vec<AuditEntry>>> {
    let city: CityId = path_id(&city)?;
    authorize(&state, &user, city, Action::ViewAudit, None).await?;
    let (before, limit) = Page::parse(page)?;
    Ok(Json(state.db.list_audit(Some(city), before, limit).await?))
}

/// `GET /api/audit[?before=&limit=]` (network admins) → the instance's audit entries (logins,
/// tokens, sessions, passwords), newest first.
#[tracing::instrument(skip_all)]
pub(super) async fn instance(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    page: Result<Query<Page>, QueryRejection>,
) -> Result<Json<Vec<AuditEntry>>> {
    if !user.network_admin {
        return Err(Error::Forbidden);
    }
    let (before, limit) = Page::parse(page)?;
    Ok(Json(state.db.list_audit(None, before, limit).await?))
}
