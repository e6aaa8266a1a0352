//! The `consultations` table.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "consultations")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub city_id: Uuid,
    pub strategy_id: Uuid,
    pub version_id: Option<Uuid>,
    pub title: String,
    #[sea_orm(column_type = "Text")]
    pub explanation: String,
    pub opens_at: DateTimeUtc,
    pub closes_at: DateTimeUtc,
    pub all_sections: bool,
    pub created_by: Option<Uuid>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
