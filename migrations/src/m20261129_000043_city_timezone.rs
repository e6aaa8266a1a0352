//! Cities get a time zone (an IANA name such as `America/Bogota`), so consultation times in
//! emails and in the app read in the city's own time (issue 17). Existing cities get `UTC`.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden, Clone, Copy)]
enum Cities {
    Table,
    Timezone,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Cities::Table)
                    .add_column(ColumnDef::new(Cities::Timezone).string().not_null().default("UTC"))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.alter_table(Table::alter().table(Cities::Table).drop_column(Cities::Timezone).to_owned()).await
    }
}
