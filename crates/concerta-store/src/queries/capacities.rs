//! The capacities checklist of a strategy: the seed's institutional, operational and human
//! capacities, each with a state, evidence and a responsible area. It feeds the
//! implementation stage (each group belongs to one of its sections).

use chrono::{DateTime, Utc};
use concerta_core::{AreaId, CapacityId, CityId, Locale, StrategyId, UserId};
use concerta_evaluation::{CapacityGroup, CapacityState};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde::Serialize;

use crate::error::{conflict_on, parse_stored};
use crate::queries::areas::check_area;
use crate::tables::{capacity, strategy};
use crate::{Database, Error, Result};

/// One capacity of a strategy's checklist.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Capacity {
    /// Its id.
    pub id: CapacityId,
    /// The city.
    pub city_id: CityId,
    /// The strategy.
    pub strategy_id: StrategyId,
    /// The template key (`legal_framework`…).
    pub key: String,
    /// Its group.
    pub group: CapacityGroup,
    /// Its name (in the city's language when made).
    pub name: String,
    /// Where the city stands.
    pub state: CapacityState,
    /// What shows it (a text, links).
    pub evidence: String,
    /// The responsible government area.
    pub area_id: Option<AreaId>,
    /// Its place in the checklist.
    pub position: i32,
    /// Who changed it last.
    pub updated_by: Option<UserId>,
    /// When.
    pub updated_at: DateTime<Utc>,
}

/// Changes for [`Database::update_capacity`]; `None` leaves a field as it is.
#[derive(Clone, Debug, Default)]
pub struct CapacityUpdate {
    /// A new state.
    pub state: Option<CapacityState>,
    /// New evidence.
    pub evidence: Option<String>,
    /// A new responsible area (`Some(None)` clears it).
    pub area: Option<Option<AreaId>>,
}

fn capacity_from(m: capacity::Model) -> Result<Capacity> {
    Ok(Capacity {
        id: m.id.into(),
        city_id: m.city_id.into(),
        strategy_id: m.strategy_id.into(),
        key: m.key,
        group: parse_stored("capacity group", &m.capacity_group)?,
        name: m.name,
        state: parse_stored("capacity state", &m.state)?,
        evidence: m.evidence,
        area_id: m.area_id.map(AreaId::from),
        position: m.position,
        updated_by: m.updated_by.map(UserId::from),
        updated_at: m.updated_at,
    })
}

impl Database {
    /// Makes the seed's capacities the checklist of `strategy` (names in `locale`), all
    /// `not_started`. [`Error::Conflict`] on `key` when the strategy already has them.
    #[tracing::instrument(skip_all)]
    pub async fn create_capacities_from_template(&self, strategy: StrategyId, locale: Locale) -> Result<Vec<Capacity>> {
        self.transaction(|tx| async move {
            let found = strategy::Entity::find_by_id(strategy.uuid()).one(&*tx).await?.ok_or(Error::NotFound)?;
            let now = crate::now();
            let mut out = Vec::new();
            for (position, t) in concerta_evaluation::template::capacities().into_iter().enumerate() {
                let model = capacity::ActiveModel {
                    id: Set(CapacityId::new().uuid()),
                    city_id: Set(found.city_id),
                    strategy_id: Set(strategy.uuid()),
                    key: Set(t.key.to_owned()),
                    capacity_group: Set(t.group.as_str().to_owned()),
                    name: Set(t.name.get(locale).to_owned()),
                    state: Set(CapacityState::NotStarted.as_str().to_owned()),
                    evidence: Set(String::new()),
                    area_id: Set(None),
                    position: Set(position as i32),
                    updated_by: Set(None),
                    updated_at: Set(now),
                }
                .insert(&*tx)
                .await
                .map_err(conflict_on("key"))?;
                out.push(capacity_from(model)?);
            }
            Ok(out)
        })
        .await
    }

    /// The capacities of `strategy`, in checklist order.
    #[tracing::instrument(skip_all)]
    pub async fn list_capacities(&self, strategy: StrategyId) -> Result<Vec<Capacity>> {
        capacity::Entity::find()
            .filter(capacity::Column::StrategyId.eq(strategy.uuid()))
            .order_by_asc(capacity::Column::Position)
            .all(&self.conn)
            .await?
            .into_iter()
            .map(capacity_from)
            .collect()
    }

    /// The capacity `id`.
    #[tracing::instrument(skip_all)]
    pub async fn get_capacity(&self, id: CapacityId) -> Result<Capacity> {
        capacity_from(capacity::Entity::find_by_id(id.uuid()).one(&self.conn).await?.ok_or(Error::NotFound)?)
    }

    /// Changes a capacity's state, evidence or area. [`Error::Invalid`] on `area_id` for an
    /// area of another city.
    #[tracing::instrument(skip_all)]
    pub async fn update_capacity(&self, id: CapacityId, update: CapacityUpdate, by: UserId) -> Result<Capacity> {
        let update = &update;
        self.transaction(|tx| async move {
            let found = capacity::Entity::find_by_id(id.uuid()).one(&*tx).await?.ok_or(Error::NotFound)?;
            if let Some(area) = update.area {
                check_area(&*tx, found.city_id.into(), area).await?;
            }
            let mut model: capacity::ActiveModel = found.into();
            if let Some(state) = update.state {
                model.state = Set(state.as_str().to_owned());
            }
            if let Some(evidence) = &update.evidence {
                model.evidence = Set(evidence.clone());
            }
            if let Some(area) = update.area {
                model.area_id = Set(area.map(AreaId::uuid));
            }
            model.updated_by = Set(Some(by.uuid()));
            model.updated_at = Set(crate::now());
            capacity_from(model.update(&*tx).await?)
        })
        .await
    }
}
