//! A withdrawn consultation invitation is kept, marked with when it was withdrawn, instead of
//! deleted (issue 17): the invitees list shows it as withdrawn, and inviting the same address
//! again makes it active. Null: active.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden, Clone, Copy)]
enum ConsultationInvitees {
    Table,
    WithdrawnAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(ConsultationInvitees::Table)
                    .add_column(ColumnDef::new(ConsultationInvitees::WithdrawnAt).timestamp_with_time_zone().null())
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(Table::alter().table(ConsultationInvitees::Table).drop_column(ConsultationInvitees::WithdrawnAt).to_owned())
            .await
    }
}
