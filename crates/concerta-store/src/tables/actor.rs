//! The `actors` table.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "actors")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub city_id: Uuid,
    pub name: String,
    pub sector: String,
    pub country: Option<String>,
    pub email: Option<String>,
    pub website: Option<String>,
    /// The preferred language of email (`es`, `en`, `pt`); null: not known.
    pub locale: Option<String>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
