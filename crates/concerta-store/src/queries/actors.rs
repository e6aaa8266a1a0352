//! The external actors registry of a city.

use chrono::{DateTime, Utc};
use concerta_core::{ActorId, CityId, Locale, Sector};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde::Serialize;

use crate::error::{conflict_on, parse_stored};
use crate::tables::{actor, city};
use crate::{Database, Error, Result};

/// An external actor (an organisation of the territory's "fuerzas vivas").
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Actor {
    /// The actor's id.
    pub id: ActorId,
    /// The city whose registry holds it.
    pub city_id: CityId,
    /// Name; unique within the city.
    pub name: String,
    /// Its sector.
    pub sector: Sector,
    /// Country, free text.
    pub country: Option<String>,
    /// Contact email.
    pub email: Option<String>,
    /// Website.
    pub website: Option<String>,
    /// The language its emails are written in, when known (else the city's).
    pub locale: Option<Locale>,
    /// When it was registered.
    pub created_at: DateTime<Utc>,
}

impl TryFrom<actor::Model> for Actor {
    type Error = Error;

    fn try_from(m: actor::Model) -> Result<Self> {
        Ok(Self {
            id: m.id.into(),
            city_id: m.city_id.into(),
            sector: parse_stored("sector", &m.sector)?,
            name: m.name,
            country: m.country,
            email: m.email,
            website: m.website,
            locale: m.locale.as_deref().map(|l| parse_stored("locale", l)).transpose()?,
            created_at: m.created_at,
        })
    }
}

/// Input for [`Database::create_actor`] (already validated).
#[derive(Clone, Debug)]
pub struct NewActor {
    /// The city.
    pub city: CityId,
    /// Name.
    pub name: String,
    /// Sector.
    pub sector: Sector,
    /// Country.
    pub country: Option<String>,
    /// Contact email.
    pub email: Option<String>,
    /// Website.
    pub website: Option<String>,
    /// The language of its emails.
    pub locale: Option<Locale>,
}

/// Input for [`Database::update_actor`]: each `Some` field replaces the stored one (for the
/// optional ones, `Some(None)` clears it).
#[derive(Clone, Debug, Default)]
pub struct ActorUpdate {
    /// New name.
    pub name: Option<String>,
    /// New sector.
    pub sector: Option<Sector>,
    /// New country, or none.
    pub country: Option<Option<String>>,
    /// New contact email, or none.
    pub email: Option<Option<String>>,
    /// New website, or none.
    pub website: Option<Option<String>>,
    /// New language, or none (the city's).
    pub locale: Option<Option<Locale>>,
}

impl Database {
    /// Registers an actor. [`Error::NotFound`] for an unknown city; [`Error::Conflict`] on
    /// `name` when the city already has an actor of that name.
    #[tracing::instrument(skip_all)]
    pub async fn create_actor(&self, new: NewActor) -> Result<Actor> {
        let new = &new;
        self.transaction(|tx| async move {
            city::Entity::find_by_id(new.city.uuid()).one(&*tx).await?.ok_or(Error::NotFound)?;
            actor::ActiveModel {
                id: Set(ActorId::new().uuid()),
                city_id: Set(new.city.uuid()),
                name: Set(new.name.clone()),
                sector: Set(new.sector.as_str().to_owned()),
                country: Set(new.country.clone()),
                email: Set(new.email.clone()),
                website: Set(new.website.clone()),
                locale: Set(new.locale.map(|l| l.as_str().to_owned())),
                created_at: Set(crate::now()),
            }
            .insert(&*tx)
            .await
            .map_err(conflict_on("name"))?
            .try_into()
        })
        .await
    }

    /// The actors of `city`, by name.
    #[tracing::instrument(skip_all)]
    pub async fn list_actors(&self, city: CityId) -> Result<Vec<Actor>> {
        actor::Entity::find()
            .filter(actor::Column::CityId.eq(city.uuid()))
            .order_by_asc(actor::Column::Name)
            .all(&self.conn)
            .await?
            .into_iter()
            .map(Actor::try_from)
            .collect()
    }

    /// Changes an actor of `city`. [`Error::NotFound`] when `city` has no such actor;
    /// [`Error::Conflict`] on `name` when another actor of the city has that name.
    #[tracing::instrument(skip_all)]
    pub async fn update_actor(&self, city: CityId, id: ActorId, update: ActorUpdate) -> Result<Actor> {
        let update = &update;
        self.transaction(|tx| async move {
            let found = actor::Entity::find_by_id(id.uuid())
                .one(&*tx)
                .await?
                .filter(|a| a.city_id == city.uuid())
                .ok_or(Error::NotFound)?;
            let mut model: actor::ActiveModel = found.into();
            if let Some(name) = &update.name {
                model.name = Set(name.clone());
            }
            if let Some(sector) = update.sector {
                model.sector = Set(sector.as_str().to_owned());
            }
            if let Some(country) = &update.country {
                model.country = Set(country.clone());
            }
            if let Some(email) = &update.email {
                model.email = Set(email.clone());
            }
            if let Some(website) = &update.website {
                model.website = Set(website.clone());
            }
            if let Some(locale) = update.locale {
                model.locale = Set(locale.map(|l| l.as_str().to_owned()));
            }
            model.update(&*tx).await.map_err(conflict_on("name"))?.try_into()
        })
        .await
    }

    /// Removes an actor from `city`'s registry; [`Error::NotFound`] if there is no such actor
    /// there.
    #[tracing::instrument(skip_all)]
    pub async fn delete_actor(&self, city: CityId, id: ActorId) -> Result<()> {
        let result = actor::Entity::delete_many()
            .filter(actor::Column::Id.eq(id.uuid()))
            .filter(actor::Column::CityId.eq(city.uuid()))
            .exec(&self.conn)
            .await?;
        if result.rows_affected == 0 {
            return Err(Error::NotFound);
        }
        Ok(())
    }
}
