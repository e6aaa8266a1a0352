//! The `indicators` table.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "indicators")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub city_id: Uuid,
    pub strategy_id: Uuid,
    pub key: String,
    pub code: String,
    pub name: String,
    pub level: String,
    #[sea_orm(column_type = "Text")]
    pub definition: String,
    #[sea_orm(column_type = "Text")]
    pub method: String,
    pub unit: String,
    pub unit_label: String,
    pub direction: String,
    #[sea_orm(column_type = "Text")]
    pub data_source: String,
    pub frequency: String,
    pub area_id: Option<Uuid>,
    #[sea_orm(column_type = "Double", nullable)]
    pub baseline_value: Option<f64>,
    pub baseline_date: Option<Date>,
    #[sea_orm(column_type = "Double", nullable)]
    pub target_value: Option<f64>,
    pub target_date: Option<Date>,
    pub public: bool,
    pub position: i32,
    pub status_override: Option<String>,
    #[sea_orm(column_type = "Text", nullable)]
    pub override_reason: Option<String>,
    pub override_by: Option<Uuid>,
    pub override_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
