//! The `roundtable_invitations` table.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "roundtable_invitations")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub roundtable_id: Uuid,
    pub city_id: Uuid,
    pub actor_id: Option<Uuid>,
    pub email: String,
    pub name: String,
    pub organization: String,
    pub sector: Option<String>,
    pub rsvp: String,
    pub rsvp_at: Option<DateTimeUtc>,
    pub message_id: Option<Uuid>,
    pub sent_sequence: i32,
    /// The preferred language of email (`es`, `en`, `pt`); null: not known.
    pub locale: Option<String>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
