//! The external actors registry of a city.

use chrono::{DateTime, Utc};
use concerta_core::{ActorId, CityId, Sector};
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
}
