//! Consultations: the language a comment was written in, so the city's answer reaches its
//! author by email in that language (issue 17). Null for comments written before: the
//! city's language is used.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden, Clone, Copy)]
enum ConsultationComments {
    Table,
    Locale,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(ConsultationComments::Table)
                    .add_column(ColumnDef::new(ConsultationComments::Locale).string().null())
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(Table::alter().table(ConsultationComments::Table).drop_column(ConsultationComments::Locale).to_owned())
            .await
    }
}
