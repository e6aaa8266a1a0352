//! The `consultation_invitees` table.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "consultation_invitees")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub consultation_id: Uuid,
    pub city_id: Uuid,
    pub user_id: Uuid,
    pub actor_id: Option<Uuid>,
    pub email: String,
    pub name: String,
    pub organization: String,
    pub sector: String,
    pub invited_by: Option<Uuid>,
    pub created_at: DateTimeUtc,
    pub withdrawn_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
