//! The `consultation_comments` table: comments, replies, and the city's response on each.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "consultation_comments")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub consultation_id: Uuid,
    pub city_id: Uuid,
    pub section_id: Uuid,
    pub parent_id: Option<Uuid>,
    pub author_id: Option<Uuid>,
    pub author_name: String,
    pub organization: Option<String>,
    pub sector: Option<String>,
    #[sea_orm(column_type = "Text")]
    pub body: String,
    #[sea_orm(column_type = "Text", nullable)]
    pub quote: Option<String>,
    pub anchor_start: Option<String>,
    pub anchor_end: Option<String>,
    #[sea_orm(column_type = "Text", nullable)]
    pub suggestion: Option<String>,
    pub created_at: DateTimeUtc,
    #[sea_orm(column_type = "Text", nullable)]
    pub hidden_reason: Option<String>,
    pub hidden_by: Option<Uuid>,
    pub hidden_at: Option<DateTimeUtc>,
    pub decision: Option<String>,
    #[sea_orm(column_type = "Text", nullable)]
    pub response_reason: Option<String>,
    pub response_version_id: Option<Uuid>,
    pub applied: bool,
    #[sea_orm(column_type = "Text", nullable)]
    pub applied_heads: Option<String>,
    pub responded_by: Option<Uuid>,
    pub responded_at: Option<DateTimeUtc>,
    /// The language the comment was written in (`es`, `en`, `pt`), for the answer's email.
    pub locale: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
