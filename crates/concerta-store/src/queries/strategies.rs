//! Strategies and their sections. Each section is backed by one automerge document, stored
//! here with its first change (kind 0, made above the store) so the sync engine can serve it
//! at once.

use chrono::{DateTime, Utc};
use concerta_core::{AreaId, AuditAction, CityId, SectionId, SectionState, Stage, StrategyId, StrategyTemplate};
use concerta_sync::DocumentId;
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder};

use crate::error::parse_stored;
use crate::queries::areas::check_area;
use crate::queries::audit::{self, AuditActor, NewAuditEntry};
use crate::tables::{doc_chunk, document, section, strategy};
use crate::{Database, Error, Result};

/// `doc_chunks.kind` of a snapshot ([`concerta_core::chunk_kind`]).
pub const CHUNK_KIND_SNAPSHOT: i16 = concerta_core::chunk_kind::SNAPSHOT;
/// `doc_chunks.kind` of a chunk holding incremental changes ([`concerta_core::chunk_kind`]).
pub const CHUNK_KIND_CHANGES: i16 = concerta_core::chunk_kind::CHANGES;

/// A strategy with its sections in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Strategy {
    /// The strategy's id.
    pub id: StrategyId,
    /// The city it belongs to.
    pub city_id: CityId,
    /// Title.
    pub title: String,
    /// The template it was made from.
    pub template: StrategyTemplate,
    /// When it was made.
    pub created_at: DateTime<Utc>,
    /// Its sections, by position.
    pub sections: Vec<Section>,
}

/// One section of a strategy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Section {
    /// The section's id.
    pub id: SectionId,
    /// The strategy it belongs to.
    pub strategy_id: StrategyId,
    /// The strategy's city.
    pub city_id: CityId,
    /// The template key (`political_will`…), or empty for sections made by hand.
    pub key: String,
    /// The title it was created with (the live title is in its document).
    pub title: String,
    /// The stage.
    pub stage: Stage,
    /// Its place in the strategy.
    pub position: i32,
    /// The responsible government area, if assigned.
    pub area_id: Option<AreaId>,
    /// The automerge document holding its content.
    pub doc_id: DocumentId,
    /// When it was made.
    pub created_at: DateTime<Utc>,
    /// Where its drafting stands.
    pub state: SectionState,
}

impl TryFrom<section::Model> for Section {
    type Error = Error;

    fn try_from(m: section::Model) -> Result<Self> {
        Ok(Self {
            id: m.id.into(),
            strategy_id: m.strategy_id.into(),
            city_id: m.city_id.into(),
            stage: parse_stored("stage", &m.stage)?,
            doc_id: parse_stored("document id", &m.doc_id)?,
            state: parse_stored("section state", &m.state)?,
            key: m.key,
            title: m.title,
            position: m.position,
            area_id: m.area_id.map(AreaId::from),
            created_at: m.created_at,
        })
    }
}

fn strategy_from(m: strategy::Model, sections: Vec<Section>) -> Result<Strategy> {
    Ok(Strategy {
        id: m.id.into(),
        city_id: m.city_id.into(),
        template: parse_stored("template", &m.template)?,
        title: m.title,
        created_at: m.created_at,
        sections,
    })
}

/// Input for [`Database::create_strategy`] (already validated).
#[derive(Clone, Debug)]
pub struct NewStrategy {
    /// The city.
    pub city: CityId,
    /// Title.
    pub title: String,
    /// What it starts from.
    pub template: StrategyTemplate,
    /// Its sections, in order, each with its document's first change already made (the
    /// store builds no automerge changes; the server makes them with `concerta-content`).
    pub sections: Vec<NewSection>,
}

/// A section of a new strategy, prepared above the store.
#[derive(Clone, Debug)]
pub struct NewSection {
    /// The template key (`political_will`…), or empty.
    pub key: String,
    /// The title it is created with.
    pub title: String,
    /// Its stage.
    pub stage: Stage,
    /// Its place in the strategy.
    pub position: i32,
    /// The id of its new document.
    pub doc_id: DocumentId,
    /// The document's first change chunk (kind 0 row), as the sync engine reads it.
    pub first_change: Vec<u8>,
}

impl Database {
    /// Creates a strategy with its sections, each with its `documents` row and its first
    /// change chunk, all in one transaction. [`Error::NotFound`] for an unknown city.
    #[tracing::instrument(skip_all)]
    pub async fn create_strategy(&self, new: NewStrategy) -> Result<Strategy> {
        self.get_city(new.city).await?;
        let prepared: Vec<(SectionId, &NewSection)> = new.sections.iter().map(|s| (SectionId::new(), s)).collect();
        let strategy_id = StrategyId::new();
        let (new, prepared) = (&new, &prepared);
        self.transaction(|tx| async move {
            let now = crate::now();
            let model = strategy::ActiveModel {
                id: Set(strategy_id.uuid()),
                city_id: Set(new.city.uuid()),
                title: Set(new.title.clone()),
                template: Set(new.template.as_str().to_owned()),
                created_at: Set(now),
            }
            .insert(&*tx)
            .await?;
            if !prepared.is_empty() {
                document::Entity::insert_many(prepared.iter().map(|(_, p)| document::ActiveModel {
                    id: Set(p.doc_id.to_string()),
                    city_id: Set(new.city.uuid()),
                    created_at: Set(now),
                }))
                .exec_without_returning(&*tx)
                .await?;
                doc_chunk::Entity::insert_many(prepared.iter().map(|(_, p)| doc_chunk::ActiveModel {
                    doc_id: Set(p.doc_id.to_string()),
                    kind: Set(CHUNK_KIND_CHANGES),
                    data: Set(p.first_change.clone()),
                    created_at: Set(now),
                    ..Default::default()
                }))
                .exec_without_returning(&*tx)
                .await?;
                section::Entity::insert_many(prepared.iter().map(|(id, p)| section::ActiveModel {
                    id: Set(id.uuid()),
                    strategy_id: Set(strategy_id.uuid()),
                    city_id: Set(new.city.uuid()),
                    key: Set(p.key.clone()),
                    title: Set(p.title.clone()),
                    stage: Set(p.stage.as_str().to_owned()),
                    position: Set(p.position),
                    area_id: Set(None),
                    doc_id: Set(p.doc_id.to_string()),
                    created_at: Set(now),
                    state: Set(SectionState::NotStarted.as_str().to_owned()),
                }))
                .exec_without_returning(&*tx)
                .await?;
            }
            let sections = prepared
                .iter()
                .map(|(id, p)| Section {
                    id: *id,
                    strategy_id,
                    city_id: new.city,
                    key: p.key.clone(),
                    title: p.title.clone(),
                    stage: p.stage,
                    position: p.position,
                    area_id: None,
                    doc_id: p.doc_id,
                    created_at: now,
                    state: SectionState::NotStarted,
                })
                .collect();
            strategy_from(model, sections)
        })
        .await
    }

    /// The strategy `id` with its sections.
    #[tracing::instrument(skip_all)]
    pub async fn get_strategy(&self, id: StrategyId) -> Result<Strategy> {
        let found = strategy::Entity::find_by_id(id.uuid()).one(&self.conn).await?.ok_or(Error::NotFound)?;
        let sections = section::Entity::find()
            .filter(section::Column::StrategyId.eq(id.uuid()))
            .order_by_asc(section::Column::Position)
            .all(&self.conn)
            .await?
            .into_iter()
            .map(Section::try_from)
            .collect::<Result<_>>()?;
        strategy_from(found, sections)
    }

    /// The strategies of `city`, oldest first, each with its sections.
    #[tracing::instrument(skip_all)]
    pub async fn list_strategies(&self, city: CityId) -> Result<Vec<Strategy>> {
        let strategies = strategy::Entity::find()
            .filter(strategy::Column::CityId.eq(city.uuid()))
            .order_by_asc(strategy::Column::CreatedAt)
            .order_by_asc(strategy::Column::Id)
            .all(&self.conn)
            .await?;
        let mut sections: Vec<Section> = section::Entity::find()
            .filter(section::Column::CityId.eq(city.uuid()))
            .order_by_asc(section::Column::Position)
            .all(&self.conn)
            .await?
            .into_iter()
            .map(Section::try_from)
            .collect::<Result<_>>()?;
        strategies
            .into_iter()
            .map(|s| {
                let id = StrategyId::from(s.id);
                let (mine, rest) = sections.drain(..).partition(|sec| sec.strategy_id == id);
                sections = rest;
                strategy_from(s, mine)
            })
            .collect()
    }

    /// The section `id`.
    #[tracing::instrument(skip_all)]
    pub async fn get_section(&self, id: SectionId) -> Result<Section> {
        section::Entity::find_by_id(id.uuid()).one(&self.conn).await?.ok_or(Error::NotFound)?.try_into()
    }

    /// The section backed by document `doc`, if any (for the sync engine's access decisions).
    #[tracing::instrument(skip_all)]
    pub async fn get_section_by_document(&self, doc: DocumentId) -> Result<Option<Section>> {
        section::Entity::find()
            .filter(section::Column::DocId.eq(doc.to_string()))
            .one(&self.conn)
            .await?
            .map(Section::try_from)
            .transpose()
    }

    /// Makes `area` (or nobody) responsible for section `id`. [`Error::Invalid`] on `area_id`
    /// for an area of another city. Audited (when the area changes) as done by `actor`.
    #[tracing::instrument(skip_all)]
    pub async fn set_section_area(&self, id: SectionId, area: Option<AreaId>, actor: AuditActor) -> Result<Section> {
        self.transaction(|tx| async move {
            let found = section::Entity::find_by_id(id.uuid()).one(&*tx).await?.ok_or(Error::NotFound)?;
            let city: CityId = found.city_id.into();
            check_area(&*tx, city, area).await?;
            let old_area = found.area_id.map(AreaId::from);
            let mut model: section::ActiveModel = found.into();
            model.area_id = Set(area.map(AreaId::uuid));
            let section: Section = model.update(&*tx).await?.try_into()?;
            if old_area != area {
                let entry = NewAuditEntry::new(AuditAction::SectionAreaChanged, actor)
                    .city(city)
                    .target("section", id)
                    .details(serde_json::json!({
                        "title": section.title,
                        "strategy_id": section.strategy_id,
                        "area_id": { "from": old_area, "to": area },
                    }));
                audit::append(&*tx, &entry).await?;
            }
            Ok(section)
        })
        .await
    }

    /// Sets the drafting state of section `id`.
    #[tracing::instrument(skip_all)]
    pub async fn set_section_state(&self, id: SectionId, state: SectionState) -> Result<Section> {
        self.transaction(|tx| async move {
            let found = section::Entity::find_by_id(id.uuid()).one(&*tx).await?.ok_or(Error::NotFound)?;
            let mut model: section::ActiveModel = found.into();
            model.state = Set(state.as_str().to_owned());
            model.update(&*tx).await?.try_into()
        })
        .await
    }
}
