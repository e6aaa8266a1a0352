//! The foundation: accounts, cities and their members, areas, actors, strategies and
//! sections, and the sync engine's document storage.

use sea_orm_migration::prelude::*;

use crate::unique_name;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden, Clone, Copy)]
enum Users {
    Table,
    Id,
    Email,
    Name,
    PasswordHash,
    NetworkAdmin,
    CreatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum Sessions {
    Table,
    TokenHash,
    UserId,
    CreatedAt,
    ExpiresAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum ApiTokens {
    Table,
    Id,
    UserId,
    TokenHash,
    CreatedAt,
    LastUsedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum Cities {
    Table,
    Id,
    Name,
    Slug,
    Locale,
    CreatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum Areas {
    Table,
    Id,
    CityId,
    Name,
    CreatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum Members {
    Table,
    Id,
    CityId,
    UserId,
    Role,
    AreaId,
    CreatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum Actors {
    Table,
    Id,
    CityId,
    Name,
    Sector,
    Country,
    Email,
    Website,
    CreatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum Strategies {
    Table,
    Id,
    CityId,
    Title,
    Template,
    CreatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum Sections {
    Table,
    Id,
    StrategyId,
    CityId,
    Key,
    Title,
    Stage,
    Position,
    AreaId,
    DocId,
    CreatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum Documents {
    Table,
    Id,
    CityId,
    CreatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum DocChunks {
    Table,
    Id,
    DocId,
    Kind,
    Data,
    CreatedAt,
}

fn uuid_pk<T: IntoIden>(col: T) -> ColumnDef {
    ColumnDef::new(col).uuid().not_null().primary_key().to_owned()
}

fn created_at<T: IntoIden>(col: T) -> ColumnDef {
    ColumnDef::new(col).timestamp_with_time_zone().not_null().to_owned()
}

fn fk(
    from_table: impl IntoIden,
    from_col: impl IntoIden,
    to_table: impl IntoIden,
    to_col: impl IntoIden,
    on_delete: ForeignKeyAction,
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .from(from_table, from_col)
        .to(to_table, to_col)
        .on_delete(on_delete)
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use ForeignKeyAction::{Cascade, SetNull};

        manager
            .create_table(
                Table::create()
                    .table(Users::Table)
                    .col(uuid_pk(Users::Id))
                    .col(ColumnDef::new(Users::Email).string().not_null())
                    .col(ColumnDef::new(Users::Name).string().not_null())
                    .col(ColumnDef::new(Users::PasswordHash).string().null())
                    .col(ColumnDef::new(Users::NetworkAdmin).boolean().not_null().default(false))
                    .col(created_at(Users::CreatedAt))
                    .to_owned(),
            )
            .await?;
        unique(manager, Users::Table, "users", &[Users::Email], "email").await?;

        manager
            .create_table(
                Table::create()
                    .table(Sessions::Table)
                    .col(ColumnDef::new(Sessions::TokenHash).string().not_null().primary_key())
                    .col(ColumnDef::new(Sessions::UserId).uuid().not_null())
                    .col(created_at(Sessions::CreatedAt))
                    .col(ColumnDef::new(Sessions::ExpiresAt).timestamp_with_time_zone().not_null())
                    .foreign_key(&mut fk(Sessions::Table, Sessions::UserId, Users::Table, Users::Id, Cascade))
                    .to_owned(),
            )
            .await?;
        index(manager, Sessions::Table, "ix__sessions__user_id", &[Sessions::UserId]).await?;

        manager
            .create_table(
                Table::create()
                    .table(ApiTokens::Table)
                    .col(uuid_pk(ApiTokens::Id))
                    .col(ColumnDef::new(ApiTokens::UserId).uuid().not_null())
                    .col(ColumnDef::new(ApiTokens::TokenHash).string().not_null())
                    .col(created_at(ApiTokens::CreatedAt))
                    .col(ColumnDef::new(ApiTokens::LastUsedAt).timestamp_with_time_zone().null())
                    .foreign_key(&mut fk(ApiTokens::Table, ApiTokens::UserId, Users::Table, Users::Id, Cascade))
                    .to_owned(),
            )
            .await?;
        unique(manager, ApiTokens::Table, "api_tokens", &[ApiTokens::TokenHash], "token_hash").await?;
        index(manager, ApiTokens::Table, "ix__api_tokens__user_id", &[ApiTokens::UserId]).await?;

        manager
            .create_table(
                Table::create()
                    .table(Cities::Table)
                    .col(uuid_pk(Cities::Id))
                    .col(ColumnDef::new(Cities::Name).string().not_null())
                    .col(ColumnDef::new(Cities::Slug).string().not_null())
                    .col(ColumnDef::new(Cities::Locale).string().not_null())
                    .col(created_at(Cities::CreatedAt))
                    .to_owned(),
            )
            .await?;
        unique(manager, Cities::Table, "cities", &[Cities::Slug], "slug").await?;

        manager
            .create_table(
                Table::create()
                    .table(Areas::Table)
                    .col(uuid_pk(Areas::Id))
                    .col(ColumnDef::new(Areas::CityId).uuid().not_null())
                    .col(ColumnDef::new(Areas::Name).string().not_null())
                    .col(created_at(Areas::CreatedAt))
                    .foreign_key(&mut fk(Areas::Table, Areas::CityId, Cities::Table, Cities::Id, Cascade))
                    .to_owned(),
            )
            .await?;
        unique(manager, Areas::Table, "areas", &[Areas::CityId, Areas::Name], "name").await?;

        manager
            .create_table(
                Table::create()
                    .table(Members::Table)
                    .col(uuid_pk(Members::Id))
                    .col(ColumnDef::new(Members::CityId).uuid().not_null())
                    .col(ColumnDef::new(Members::UserId).uuid().not_null())
                    .col(ColumnDef::new(Members::Role).string().not_null())
                    .col(ColumnDef::new(Members::AreaId).uuid().null())
                    .col(created_at(Members::CreatedAt))
                    .foreign_key(&mut fk(Members::Table, Members::CityId, Cities::Table, Cities::Id, Cascade))
                    .foreign_key(&mut fk(Members::Table, Members::UserId, Users::Table, Users::Id, Cascade))
                    .foreign_key(&mut fk(Members::Table, Members::AreaId, Areas::Table, Areas::Id, SetNull))
                    .to_owned(),
            )
            .await?;
        unique(manager, Members::Table, "members", &[Members::CityId, Members::UserId], "email").await?;
        index(manager, Members::Table, "ix__members__user_id", &[Members::UserId]).await?;

        manager
            .create_table(
                Table::create()
                    .table(Actors::Table)
                    .col(uuid_pk(Actors::Id))
                    .col(ColumnDef::new(Actors::CityId).uuid().not_null())
                    .col(ColumnDef::new(Actors::Name).string().not_null())
                    .col(ColumnDef::new(Actors::Sector).string().not_null())
                    .col(ColumnDef::new(Actors::Country).string().null())
                    .col(ColumnDef::new(Actors::Email).string().null())
                    .col(ColumnDef::new(Actors::Website).string().null())
                    .col(created_at(Actors::CreatedAt))
                    .foreign_key(&mut fk(Actors::Table, Actors::CityId, Cities::Table, Cities::Id, Cascade))
                    .to_owned(),
            )
            .await?;
        unique(manager, Actors::Table, "actors", &[Actors::CityId, Actors::Name], "name").await?;

        manager
            .create_table(
                Table::create()
                    .table(Strategies::Table)
                    .col(uuid_pk(Strategies::Id))
                    .col(ColumnDef::new(Strategies::CityId).uuid().not_null())
                    .col(ColumnDef::new(Strategies::Title).string().not_null())
                    .col(ColumnDef::new(Strategies::Template).string().not_null())
                    .col(created_at(Strategies::CreatedAt))
                    .foreign_key(&mut fk(Strategies::Table, Strategies::CityId, Cities::Table, Cities::Id, Cascade))
                    .to_owned(),
            )
            .await?;
        index(manager, Strategies::Table, "ix__strategies__city_id", &[Strategies::CityId]).await?;

        manager
            .create_table(
                Table::create()
                    .table(Documents::Table)
                    .col(ColumnDef::new(Documents::Id).string().not_null().primary_key())
                    .col(ColumnDef::new(Documents::CityId).uuid().not_null())
                    .col(created_at(Documents::CreatedAt))
                    .foreign_key(&mut fk(Documents::Table, Documents::CityId, Cities::Table, Cities::Id, Cascade))
                    .to_owned(),
            )
            .await?;
        index(manager, Documents::Table, "ix__documents__city_id", &[Documents::CityId]).await?;

        manager
            .create_table(
                Table::create()
                    .table(Sections::Table)
                    .col(uuid_pk(Sections::Id))
                    .col(ColumnDef::new(Sections::StrategyId).uuid().not_null())
                    .col(ColumnDef::new(Sections::CityId).uuid().not_null())
                    .col(ColumnDef::new(Sections::Key).string().not_null())
                    .col(ColumnDef::new(Sections::Title).string().not_null())
                    .col(ColumnDef::new(Sections::Stage).string().not_null())
                    .col(ColumnDef::new(Sections::Position).integer().not_null())
                    .col(ColumnDef::new(Sections::AreaId).uuid().null())
                    .col(ColumnDef::new(Sections::DocId).string().not_null())
                    .col(created_at(Sections::CreatedAt))
                    .foreign_key(&mut fk(Sections::Table, Sections::StrategyId, Strategies::Table, Strategies::Id, Cascade))
                    .foreign_key(&mut fk(Sections::Table, Sections::CityId, Cities::Table, Cities::Id, Cascade))
                    .foreign_key(&mut fk(Sections::Table, Sections::AreaId, Areas::Table, Areas::Id, SetNull))
                    .foreign_key(&mut fk(Sections::Table, Sections::DocId, Documents::Table, Documents::Id, Cascade))
                    .to_owned(),
            )
            .await?;
        unique(manager, Sections::Table, "sections", &[Sections::DocId], "doc_id").await?;
        index(manager, Sections::Table, "ix__sections__strategy_id", &[Sections::StrategyId, Sections::Position]).await?;

        manager
            .create_table(
                Table::create()
                    .table(DocChunks::Table)
                    .col(
                        ColumnDef::new(DocChunks::Id)
                            .big_integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(DocChunks::DocId).string().not_null())
                    .col(ColumnDef::new(DocChunks::Kind).small_integer().not_null())
                    .col(ColumnDef::new(DocChunks::Data).blob().not_null())
                    .col(created_at(DocChunks::CreatedAt))
                    .foreign_key(&mut fk(DocChunks::Table, DocChunks::DocId, Documents::Table, Documents::Id, Cascade))
                    .to_owned(),
            )
            .await?;
        index(manager, DocChunks::Table, "ix__doc_chunks__doc_id_id", &[DocChunks::DocId, DocChunks::Id]).await?;

        Ok(())
    }
}

async fn unique<T, C>(
    manager: &SchemaManager<'_>,
    table: T,
    table_name: &str,
    cols: &[C],
    field: &str,
) -> Result<(), DbErr>
where
    T: IntoIden,
    C: IntoIden + Clone,
{
    let mut stmt = Index::create();
    stmt.name(unique_name(table_name, field)).table(table).unique();
    for col in cols {
        stmt.col(col.clone());
    }
    manager.create_index(stmt.to_owned()).await
}

async fn index<T, C>(manager: &SchemaManager<'_>, table: T, name: &str, cols: &[C]) -> Result<(), DbErr>
where
    T: IntoIden,
    C: IntoIden + Clone,
{
    let mut stmt = Index::create();
    stmt.name(name).table(table);
    for col in cols {
        stmt.col(col.clone());
    }
    manager.create_index(stmt.to_owned()).await
}
