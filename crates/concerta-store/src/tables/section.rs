//! The `sections` table.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "sections")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub strategy_id: Uuid,
    pub city_id: Uuid,
    pub key: String,
    pub title: String,
    pub stage: String,
    pub position: i32,
    pub area_id: Option<Uuid>,
    pub doc_id: String,
    pub created_at: DateTimeUtc,
    /// The drafting state (`concerta_core::SectionState` spelling).
    pub state: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
