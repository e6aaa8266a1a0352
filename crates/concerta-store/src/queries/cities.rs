//! Cities: the tenants.

use chrono::{DateTime, Utc};
use concerta_core::{AuditAction, CityId, Locale, UserId};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde::Serialize;
use serde_json::json;

use crate::error::{conflict_on, parse_stored};
use crate::queries::audit::{self, AuditActor, NewAuditEntry};
use crate::tables::{city, member};
use crate::{Database, Error, Result};

/// A city (tenant).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct City {
    /// The city's id.
    pub id: CityId,
    /// Display name.
    pub name: String,
    /// URL slug; unique across the deployment.
    pub slug: String,
    /// Default language.
    pub locale: Locale,
    /// Its IANA time zone (`America/Bogota`; `UTC` until set), in which consultation times
    /// are shown and emailed.
    pub timezone: String,
    /// When the city was made.
    pub created_at: DateTime<Utc>,
}

impl TryFrom<city::Model> for City {
    type Error = Error;

    fn try_from(m: city::Model) -> Result<Self> {
        Ok(Self {
            id: m.id.into(),
            locale: parse_stored("locale", &m.locale)?,
            name: m.name,
            slug: m.slug,
            timezone: m.timezone,
            created_at: m.created_at,
        })
    }
}

/// Input for [`Database::create_city`] (already validated).
#[derive(Clone, Debug)]
pub struct NewCity {
    /// Display name.
    pub name: String,
    /// URL slug.
    pub slug: String,
    /// Default language.
    pub locale: Locale,
}

impl Database {
    /// Creates a city. [`Error::Conflict`] on `slug` when the slug is taken.
    #[tracing::instrument(skip_all)]
    pub async fn create_city(&self, new: NewCity) -> Result<City> {
        let new = &new;
        self.transaction(|tx| async move {
            city::ActiveModel {
                id: Set(CityId::new().uuid()),
                name: Set(new.name.clone()),
                slug: Set(new.slug.clone()),
                locale: Set(new.locale.as_str().to_owned()),
                timezone: Set("UTC".to_owned()),
                created_at: Set(crate::now()),
            }
            .insert(&*tx)
            .await
            .map_err(conflict_on("slug"))?
            .try_into()
        })
        .await
    }

    /// Sets the city's time zone (an IANA name, already checked). Audited.
    #[tracing::instrument(skip_all)]
    pub async fn set_city_timezone(&self, id: CityId, timezone: &str, actor: AuditActor) -> Result<City> {
        self.transaction(|tx| async move {
            let found = city::Entity::find_by_id(id.uuid()).one(&*tx).await?.ok_or(Error::NotFound)?;
            let before = found.timezone.clone();
            let mut model: city::ActiveModel = found.into();
            model.timezone = Set(timezone.to_owned());
            let updated = model.update(&*tx).await?;
            if before != timezone {
                let entry = NewAuditEntry::new(AuditAction::CityChanged, actor)
                    .city(id)
                    .target("city", id)
                    .details(json!({ "timezone": { "from": before, "to": timezone } }));
                audit::append(&*tx, &entry).await?;
            }
            updated.try_into()
        })
        .await
    }

    /// The city with this id.
    #[tracing::instrument(skip_all)]
    pub async fn get_city(&self, id: CityId) -> Result<City> {
        city::Entity::find_by_id(id.uuid()).one(&self.conn).await?.ok_or(Error::NotFound)?.try_into()
    }

    /// The city with this slug (the public page's address).
    #[tracing::instrument(skip_all)]
    pub async fn get_city_by_slug(&self, slug: &str) -> Result<City> {
        city::Entity::find().filter(city::Column::Slug.eq(slug)).one(&self.conn).await?.ok_or(Error::NotFound)?.try_into()
    }

    /// Every city, by name.
    #[tracing::instrument(skip_all)]
    pub async fn list_cities(&self) -> Result<Vec<City>> {
        city::Entity::find()
            .order_by_asc(city::Column::Name)
            .all(&self.conn)
            .await?
            .into_iter()
            .map(City::try_from)
            .collect()
    }

    /// The cities `user` is a member of, by name.
    #[tracing::instrument(skip_all)]
    pub async fn list_cities_of_user(&self, user: UserId) -> Result<Vec<City>> {
        let city_ids: Vec<_> = member::Entity::find()
            .filter(member::Column::UserId.eq(user.uuid()))
            .all(&self.conn)
            .await?
            .into_iter()
            .map(|m| m.city_id)
            .collect();
        if city_ids.is_empty() {
            return Ok(Vec::new());
        }
        city::Entity::find()
            .filter(city::Column::Id.is_in(city_ids))
            .order_by_asc(city::Column::Name)
            .all(&self.conn)
            .await?
            .into_iter()
            .map(City::try_from)
            .collect()
    }
}
