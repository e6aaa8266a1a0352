//! The `versions` table: named versions of a strategy.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "versions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub strategy_id: Uuid,
    pub city_id: Uuid,
    pub name: String,
    pub created_at: DateTimeUtc,
    pub created_by: Option<Uuid>,
    pub approved_at: Option<DateTimeUtc>,
    pub approved_by: Option<Uuid>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
