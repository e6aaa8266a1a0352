//! Access changes announced by another process on SQLite (issue 16): `concerta admin
//! revoke-token` run beside a SQLite server has no `NOTIFY` to reach it, so it leaves a row
//! here and the server, which polls this table twice a second, cuts the live connections the
//! change ends. Rows are pruned after an hour; Postgres uses `NOTIFY` and never writes here.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden, Clone, Copy)]
enum AccessNotices {
    Table,
    Id,
    Event,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(AccessNotices::Table)
                    .col(ColumnDef::new(AccessNotices::Id).big_integer().not_null().auto_increment().primary_key())
                    .col(ColumnDef::new(AccessNotices::Event).string().not_null())
                    .col(ColumnDef::new(AccessNotices::CreatedAt).timestamp_with_time_zone().not_null())
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(AccessNotices::Table).to_owned()).await
    }
}
