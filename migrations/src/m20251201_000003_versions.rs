//! Named versions of a strategy (each section's heads at one moment, and who approved it),
//! and each section's drafting state.

use sea_orm_migration::prelude::*;

use crate::unique_name;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden, Clone, Copy)]
enum Versions {
    Table,
    Id,
    StrategyId,
    CityId,
    Name,
    CreatedAt,
    CreatedBy,
    ApprovedAt,
    ApprovedBy,
}

#[derive(DeriveIden, Clone, Copy)]
enum VersionSections {
    Table,
    VersionId,
    SectionId,
    DocId,
    Heads,
}

#[derive(DeriveIden, Clone, Copy)]
enum Sections {
    Table,
    Id,
    State,
}

#[derive(DeriveIden, Clone, Copy)]
enum Strategies {
    Table,
    Id,
}

#[derive(DeriveIden, Clone, Copy)]
enum Cities {
    Table,
    Id,
}

#[derive(DeriveIden, Clone, Copy)]
enum Users {
    Table,
    Id,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use ForeignKeyAction::{Cascade, SetNull};

        manager
            .alter_table(
                Table::alter()
                    .table(Sections::Table)
                    .add_column(ColumnDef::new(Sections::State).string().not_null().default("not_started"))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Versions::Table)
                    .col(ColumnDef::new(Versions::Id).uuid().not_null().primary_key())
                    .col(ColumnDef::new(Versions::StrategyId).uuid().not_null())
                    .col(ColumnDef::new(Versions::CityId).uuid().not_null())
                    .col(ColumnDef::new(Versions::Name).string().not_null())
                    .col(ColumnDef::new(Versions::CreatedAt).timestamp_with_time_zone().not_null())
                    .col(ColumnDef::new(Versions::CreatedBy).uuid().null())
                    .col(ColumnDef::new(Versions::ApprovedAt).timestamp_with_time_zone().null())
                    .col(ColumnDef::new(Versions::ApprovedBy).uuid().null())
                    .foreign_key(
                        ForeignKey::create()
                            .from(Versions::Table, Versions::StrategyId)
                            .to(Strategies::Table, Strategies::Id)
                            .on_delete(Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create().from(Versions::Table, Versions::CityId).to(Cities::Table, Cities::Id).on_delete(Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create().from(Versions::Table, Versions::CreatedBy).to(Users::Table, Users::Id).on_delete(SetNull),
                    )
                    .foreign_key(
                        ForeignKey::create().from(Versions::Table, Versions::ApprovedBy).to(Users::Table, Users::Id).on_delete(SetNull),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name(unique_name("versions", "name"))
                    .table(Versions::Table)
                    .col(Versions::StrategyId)
                    .col(Versions::Name)
                    .unique()
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(VersionSections::Table)
                    .col(ColumnDef::new(VersionSections::VersionId).uuid().not_null())
                    .col(ColumnDef::new(VersionSections::SectionId).uuid().not_null())
                    .col(ColumnDef::new(VersionSections::DocId).string().not_null())
                    // The section's heads: hex change hashes, sorted, comma-separated.
                    .col(ColumnDef::new(VersionSections::Heads).text().not_null())
                    .primary_key(Index::create().col(VersionSections::VersionId).col(VersionSections::SectionId))
                    .foreign_key(
                        ForeignKey::create()
                            .from(VersionSections::Table, VersionSections::VersionId)
                            .to(Versions::Table, Versions::Id)
                            .on_delete(Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(VersionSections::Table, VersionSections::SectionId)
                            .to(Sections::Table, Sections::Id)
                            .on_delete(Cascade),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(VersionSections::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(Versions::Table).to_owned()).await?;
        manager.alter_table(Table::alter().table(Sections::Table).drop_column(Sections::State).to_owned()).await
    }
}
