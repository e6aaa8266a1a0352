//! Government areas of a city.

use chrono::{DateTime, Utc};
use concerta_core::{AreaId, CityId};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};
use serde::Serialize;

use crate::error::conflict_on;
use crate::tables::{area, city};
use crate::{Database, Error, Result};

/// A government area (economy, culture, environment…).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Area {
    /// The area's id.
    pub id: AreaId,
    /// The city it belongs to.
    pub city_id: CityId,
    /// Display name; unique within the city.
    pub name: String,
    /// When the area was made.
    pub created_at: DateTime<Utc>,
}

impl From<area::Model> for Area {
    fn from(m: area::Model) -> Self {
        Self { id: m.id.into(), city_id: m.city_id.into(), name: m.name, created_at: m.created_at }
    }
}

/// Input for [`Database::create_area`] (already validated).
#[derive(Clone, Debug)]
pub struct NewArea {
    /// The city.
    pub city: CityId,
    /// Display name.
    pub name: String,
}

impl Database {
    /// Creates an area. [`Error::NotFound`] for an unknown city; [`Error::Conflict`] on
    /// `name` when the city already has an area of that name.
    #[tracing::instrument(skip_all)]
    pub async fn create_area(&self, new: NewArea) -> Result<Area> {
        let new = &new;
        self.transaction(|tx| async move {
            city::Entity::find_by_id(new.city.uuid()).one(&*tx).await?.ok_or(Error::NotFound)?;
            let model = area::ActiveModel {
                id: Set(AreaId::new().uuid()),
                city_id: Set(new.city.uuid()),
                name: Set(new.name.clone()),
                created_at: Set(crate::now()),
            }
            .insert(&*tx)
            .await
            .map_err(conflict_on("name"))?;
            Ok(model.into())
        })
        .await
    }

    /// The area `id` of `city`; [`Error::NotFound`] if it belongs to another city.
    #[tracing::instrument(skip_all)]
    pub async fn get_area(&self, city: CityId, id: AreaId) -> Result<Area> {
        Ok(area_of_city(&self.conn, city, id).await?.ok_or(Error::NotFound)?.into())
    }

    /// The areas of `city`, by name.
    #[tracing::instrument(skip_all)]
    pub async fn list_areas(&self, city: CityId) -> Result<Vec<Area>> {
        Ok(area::Entity::find()
            .filter(area::Column::CityId.eq(city.uuid()))
            .order_by_asc(area::Column::Name)
            .all(&self.conn)
            .await?
            .into_iter()
            .map(Area::from)
            .collect())
    }
}

/// The area `id` if it belongs to `city`.
pub(crate) async fn area_of_city(conn: &impl ConnectionTrait, city: CityId, id: AreaId) -> Result<Option<area::Model>> {
    Ok(area::Entity::find_by_id(id.uuid())
        .one(conn)
        .await?
        .filter(|a| a.city_id == city.uuid()))
}

/// Checks that `area` (if any) belongs to `city`, else [`Error::Invalid`] on `area_id`.
pub(crate) async fn check_area(conn: &impl ConnectionTrait, city: CityId, area: Option<AreaId>) -> Result<()> {
    if let Some(area) = area
        && area_of_city(conn, city, area).await?.is_none()
    {
        return Err(Error::invalid("area_id", "is not an area of this city"));
    }
    Ok(())
}
