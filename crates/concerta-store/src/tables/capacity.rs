//! The `capacities` table.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "capacities")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub city_id: Uuid,
    pub strategy_id: Uuid,
    pub key: String,
    pub capacity_group: String,
    pub name: String,
    pub state: String,
    #[sea_orm(column_type = "Text")]
    pub evidence: String,
    pub area_id: Option<Uuid>,
    pub position: i32,
    pub updated_by: Option<Uuid>,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
