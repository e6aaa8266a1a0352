//! Named versions of a strategy: each section's heads at one moment (computed above the
//! store from the stored document), who named it, and whether and by whom it was approved.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use concerta_core::{AuditAction, CityId, SectionId, StrategyId, UserId, VersionId};
use concerta_sync::DocumentId;
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use crate::error::{conflict_on, parse_stored};
use crate::queries::audit::{self, AuditActor, NewAuditEntry};
use crate::tables::{doc_chunk, strategy, user, version, version_section};
use crate::{Database, Error, Result};

/// A user as a version names them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserRef {
    /// The user's id.
    pub id: UserId,
    /// Their display name.
    pub name: String,
}

/// One section's heads in a version.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VersionSection {
    /// The section.
    pub section_id: SectionId,
    /// Its document.
    pub doc_id: DocumentId,
    /// The document's heads when the version was named: hex change hashes, sorted.
    pub heads: Vec<String>,
}

/// A named version of a strategy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Version {
    /// Its id.
    pub id: VersionId,
    /// The strategy.
    pub strategy_id: StrategyId,
    /// The strategy's city.
    pub city_id: CityId,
    /// Its name ("Borrador para la mesa").
    pub name: String,
    /// When it was named.
    pub created_at: DateTime<Utc>,
    /// Who named it (`None` once that account is gone).
    pub created_by: Option<UserRef>,
    /// When it was approved, if it was.
    pub approved_at: Option<DateTime<Utc>>,
    /// Who approved it.
    pub approved_by: Option<UserRef>,
    /// Every section's heads, in the strategy's order.
    pub sections: Vec<VersionSection>,
}

/// Which rows a stored document has: its last row id and its row count. Any write to the
/// document (an append, a compaction) changes it, so what was computed from the rows can be
/// cached under it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct DocRevision {
    /// The largest row id.
    pub last_row: i64,
    /// How many rows.
    pub rows: i64,
}

/// Input for [`Database::create_version`] (already validated; heads computed from the
/// stored documents).
#[derive(Clone, Debug)]
pub struct NewVersion {
    /// The strategy.
    pub strategy: StrategyId,
    /// The name.
    pub name: String,
    /// Who names it.
    pub created_by: UserId,
    /// Every section's heads.
    pub sections: Vec<VersionSection>,
}

fn heads_column(heads: &[String]) -> String {
    heads.join(",")
}

fn heads_from(column: &str) -> Vec<String> {
    column.split(',').filter(|h| !h.is_empty()).map(str::to_owned).collect()
}

async fn user_refs<C: ConnectionTrait>(conn: &C, ids: impl Iterator<Item = uuid::Uuid>) -> Result<HashMap<uuid::Uuid, UserRef>> {
    let ids: Vec<uuid::Uuid> = ids.collect();
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    Ok(user::Entity::find()
        .filter(user::Column::Id.is_in(ids))
        .all(conn)
        .await?
        .into_iter()
        .map(|u| (u.id, UserRef { id: u.id.into(), name: u.name }))
        .collect())
}

/// Reads versions with their sections (in the strategy's section order) and users.
async fn assemble<C: ConnectionTrait>(conn: &C, models: Vec<version::Model>) -> Result<Vec<Version>> {
    if models.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<uuid::Uuid> = models.iter().map(|m| m.id).collect();
    let rows = version_section::Entity::find()
        .filter(version_section::Column::VersionId.is_in(ids))
        .all(conn)
        .await?;
    let positions: HashMap<uuid::Uuid, i32> = crate::tables::section::Entity::find()
        .filter(crate::tables::section::Column::StrategyId.is_in(models.iter().map(|m| m.strategy_id)))
        .all(conn)
        .await?
        .into_iter()
        .map(|s| (s.id, s.position))
        .collect();
    let mut by_version: HashMap<uuid::Uuid, Vec<version_section::Model>> = HashMap::new();
    for row in rows {
        by_version.entry(row.version_id).or_default().push(row);
    }
    let users = user_refs(conn, models.iter().flat_map(|m| m.created_by.into_iter().chain(m.approved_by))).await?;
    models
        .into_iter()
        .map(|m| {
            let mut rows = by_version.remove(&m.id).unwrap_or_default();
            rows.sort_by_key(|r| (positions.get(&r.section_id).copied().unwrap_or(i32::MAX), r.section_id));
            let sections = rows
                .into_iter()
                .map(|r| {
                    Ok(VersionSection {
                        section_id: r.section_id.into(),
                        doc_id: parse_stored("document id", &r.doc_id)?,
                        heads: heads_from(&r.heads),
                    })
                })
                .collect::<Result<_>>()?;
            Ok(Version {
                id: m.id.into(),
                strategy_id: m.strategy_id.into(),
                city_id: m.city_id.into(),
                name: m.name,
                created_at: m.created_at,
                created_by: m.created_by.and_then(|id| users.get(&id).cloned()),
                approved_at: m.approved_at,
                approved_by: m.approved_by.and_then(|id| users.get(&id).cloned()),
                sections,
            })
        })
        .collect()
}

impl Database {
    /// Names a version of a strategy with every section's heads, in one transaction.
    /// [`Error::NotFound`] for an unknown strategy, [`Error::Conflict`] on `name` when the
    /// strategy already has a version of that name.
    #[tracing::instrument(skip_all)]
    pub async fn create_version(&self, new: NewVersion) -> Result<Version> {
        let id = VersionId::new();
        let new = &new;
        self.transaction(|tx| async move {
            let strategy = strategy::Entity::find_by_id(new.strategy.uuid()).one(&*tx).await?.ok_or(Error::NotFound)?;
            let model = version::ActiveModel {
                id: Set(id.uuid()),
                strategy_id: Set(strategy.id),
                city_id: Set(strategy.city_id),
                name: Set(new.name.clone()),
                created_at: Set(crate::now()),
                created_by: Set(Some(new.created_by.uuid())),
                approved_at: Set(None),
                approved_by: Set(None),
            }
            .insert(&*tx)
            .await
            .map_err(conflict_on("name"))?;
            if !new.sections.is_empty() {
                version_section::Entity::insert_many(new.sections.iter().map(|s| version_section::ActiveModel {
                    version_id: Set(id.uuid()),
                    section_id: Set(s.section_id.uuid()),
                    doc_id: Set(s.doc_id.to_string()),
                    heads: Set(heads_column(&s.heads)),
                }))
                .exec_without_returning(&*tx)
                .await?;
            }
            let mut versions = assemble(&*tx, vec![model]).await?;
            versions.pop().ok_or_else(|| Error::Internal("a version just inserted is missing".to_owned()))
        })
        .await
    }

    /// The versions of a strategy, newest first.
    #[tracing::instrument(skip_all)]
    pub async fn list_versions(&self, strategy: StrategyId) -> Result<Vec<Version>> {
        let models = version::Entity::find()
            .filter(version::Column::StrategyId.eq(strategy.uuid()))
            .order_by_desc(version::Column::CreatedAt)
            .order_by_desc(version::Column::Id)
            .all(&self.conn)
            .await?;
        assemble(&self.conn, models).await
    }

    /// The version `id`.
    #[tracing::instrument(skip_all)]
    pub async fn get_version(&self, id: VersionId) -> Result<Version> {
        let model = version::Entity::find_by_id(id.uuid()).one(&self.conn).await?.ok_or(Error::NotFound)?;
        assemble(&self.conn, vec![model]).await?.pop().ok_or(Error::NotFound)
    }

    /// The strategy's approved version: the one approved last, if any.
    #[tracing::instrument(skip_all)]
    pub async fn get_approved_version(&self, strategy: StrategyId) -> Result<Option<Version>> {
        let model = version::Entity::find()
            .filter(version::Column::StrategyId.eq(strategy.uuid()))
            .filter(version::Column::ApprovedAt.is_not_null())
            .order_by_desc(version::Column::ApprovedAt)
            .order_by_desc(version::Column::Id)
            .one(&self.conn)
            .await?;
        match model {
            Some(model) => Ok(assemble(&self.conn, vec![model]).await?.pop()),
            None => Ok(None),
        }
    }

    /// Marks version `id` approved by `by`, now, and audits it on the city's chain.
    /// Approving an approved version changes nothing (the first approval stands). Returns the
    /// version and whether this call approved it.
    #[tracing::instrument(skip_all)]
    pub async fn approve_version(&self, id: VersionId, by: UserId) -> Result<(Version, bool)> {
        self.transaction(|tx| async move {
            let found = version::Entity::find_by_id(id.uuid()).one(&*tx).await?.ok_or(Error::NotFound)?;
            let (model, approved_now) = if found.approved_at.is_some() {
                (found, false)
            } else {
                let mut model: version::ActiveModel = found.into();
                model.approved_at = Set(Some(crate::now()));
                model.approved_by = Set(Some(by.uuid()));
                let model = model.update(&*tx).await?;
                let entry = NewAuditEntry::new(AuditAction::VersionApproved, AuditActor::User(by))
                    .city(model.city_id.into())
                    .target("version", id)
                    .details(serde_json::json!({ "name": model.name, "strategy_id": model.strategy_id }));
                audit::append(&*tx, &entry).await?;
                (model, true)
            };
            let version = assemble(&*tx, vec![model]).await?.pop().ok_or(Error::NotFound)?;
            Ok((version, approved_now))
        })
        .await
    }

    /// The current [`DocRevision`] of each of `docs` (documents without rows are absent).
    #[tracing::instrument(skip_all)]
    pub async fn doc_revisions(&self, docs: &[DocumentId]) -> Result<HashMap<DocumentId, DocRevision>> {
        if docs.is_empty() {
            return Ok(HashMap::new());
        }
        let rows: Vec<(String, i64, i64)> = doc_chunk::Entity::find()
            .select_only()
            .column(doc_chunk::Column::DocId)
            .column_as(doc_chunk::Column::Id.max(), "last_row")
            .column_as(doc_chunk::Column::Id.count(), "rows")
            .filter(doc_chunk::Column::DocId.is_in(docs.iter().map(|d| d.to_string())))
            .group_by(doc_chunk::Column::DocId)
            .into_tuple()
            .all(&self.conn)
            .await?;
        rows.into_iter()
            .map(|(doc, last_row, rows)| Ok((parse_stored("document id", &doc)?, DocRevision { last_row, rows })))
            .collect()
    }
}
