//! Consultations (issue 17): a coordinator opens a consultation on a strategy (a named version
//! or the live draft, all sections or a chosen few), invites stakeholders, who comment on
//! sections or anchored passages; every comment gets the city's response, and abusive ones
//! can be hidden (kept, shown as hidden).

use sea_orm_migration::prelude::*;

use crate::unique_name;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden, Clone, Copy)]
enum Users {
    Table,
    Id,
}

#[derive(DeriveIden, Clone, Copy)]
enum Cities {
    Table,
    Id,
}

#[derive(DeriveIden, Clone, Copy)]
enum Strategies {
    Table,
    Id,
}

#[derive(DeriveIden, Clone, Copy)]
enum Sections {
    Table,
    Id,
}

#[derive(DeriveIden, Clone, Copy)]
enum Versions {
    Table,
    Id,
}

#[derive(DeriveIden, Clone, Copy)]
enum Actors {
    Table,
    Id,
}

#[derive(DeriveIden, Clone, Copy)]
enum Consultations {
    Table,
    Id,
    CityId,
    StrategyId,
    VersionId,
    Title,
    Explanation,
    OpensAt,
    ClosesAt,
    AllSections,
    CreatedBy,
    CreatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum ConsultationSections {
    Table,
    ConsultationId,
    SectionId,
}

#[derive(DeriveIden, Clone, Copy)]
enum ConsultationInvitees {
    Table,
    Id,
    ConsultationId,
    CityId,
    UserId,
    ActorId,
    Email,
    Name,
    Organization,
    Sector,
    InvitedBy,
    CreatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum ConsultationComments {
    Table,
    Id,
    ConsultationId,
    CityId,
    SectionId,
    ParentId,
    AuthorId,
    AuthorName,
    Organization,
    Sector,
    Body,
    Quote,
    AnchorStart,
    AnchorEnd,
    Suggestion,
    CreatedAt,
    HiddenReason,
    HiddenBy,
    HiddenAt,
    Decision,
    ResponseReason,
    ResponseVersionId,
    Applied,
    AppliedHeads,
    RespondedBy,
    RespondedAt,
}

fn uuid_pk<T: IntoIden>(col: T) -> ColumnDef {
    ColumnDef::new(col).uuid().not_null().primary_key().to_owned()
}

fn ts<T: IntoIden>(col: T) -> ColumnDef {
    ColumnDef::new(col).timestamp_with_time_zone().not_null().to_owned()
}

fn fk(
    from_table: impl IntoIden,
    from_col: impl IntoIden,
    to_table: impl IntoIden,
    to_col: impl IntoIden,
    on_delete: ForeignKeyAction,
) -> ForeignKeyCreateStatement {
    ForeignKey::create().from(from_table, from_col).to(to_table, to_col).on_delete(on_delete).to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use ForeignKeyAction::{Cascade, SetNull};
        use ConsultationComments as C;

        manager
            .create_table(
                Table::create()
                    .table(Consultations::Table)
                    .col(uuid_pk(Consultations::Id))
                    .col(ColumnDef::new(Consultations::CityId).uuid().not_null())
                    .col(ColumnDef::new(Consultations::StrategyId).uuid().not_null())
                    .col(ColumnDef::new(Consultations::VersionId).uuid().null())
                    .col(ColumnDef::new(Consultations::Title).string().not_null())
                    .col(ColumnDef::new(Consultations::Explanation).text().not_null())
                    .col(ts(Consultations::OpensAt))
                    .col(ts(Consultations::ClosesAt))
                    .col(ColumnDef::new(Consultations::AllSections).boolean().not_null())
                    .col(ColumnDef::new(Consultations::CreatedBy).uuid().null())
                    .col(ts(Consultations::CreatedAt))
                    .foreign_key(&mut fk(Consultations::Table, Consultations::CityId, Cities::Table, Cities::Id, Cascade))
                    .foreign_key(&mut fk(Consultations::Table, Consultations::StrategyId, Strategies::Table, Strategies::Id, Cascade))
                    .foreign_key(&mut fk(Consultations::Table, Consultations::VersionId, Versions::Table, Versions::Id, Cascade))
                    .foreign_key(&mut fk(Consultations::Table, Consultations::CreatedBy, Users::Table, Users::Id, SetNull))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix__consultations__city_id")
                    .table(Consultations::Table)
                    .col(Consultations::CityId)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(ConsultationSections::Table)
                    .col(ColumnDef::new(ConsultationSections::ConsultationId).uuid().not_null())
                    .col(ColumnDef::new(ConsultationSections::SectionId).uuid().not_null())
                    .primary_key(Index::create().col(ConsultationSections::ConsultationId).col(ConsultationSections::SectionId))
                    .foreign_key(&mut fk(ConsultationSections::Table, ConsultationSections::ConsultationId, Consultations::Table, Consultations::Id, Cascade))
                    .foreign_key(&mut fk(ConsultationSections::Table, ConsultationSections::SectionId, Sections::Table, Sections::Id, Cascade))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(ConsultationInvitees::Table)
                    .col(uuid_pk(ConsultationInvitees::Id))
                    .col(ColumnDef::new(ConsultationInvitees::ConsultationId).uuid().not_null())
                    .col(ColumnDef::new(ConsultationInvitees::CityId).uuid().not_null())
                    .col(ColumnDef::new(ConsultationInvitees::UserId).uuid().not_null())
                    .col(ColumnDef::new(ConsultationInvitees::ActorId).uuid().null())
                    .col(ColumnDef::new(ConsultationInvitees::Email).string().not_null())
                    .col(ColumnDef::new(ConsultationInvitees::Name).string().not_null())
                    .col(ColumnDef::new(ConsultationInvitees::Organization).string().not_null())
                    .col(ColumnDef::new(ConsultationInvitees::Sector).string().not_null())
                    .col(ColumnDef::new(ConsultationInvitees::InvitedBy).uuid().null())
                    .col(ts(ConsultationInvitees::CreatedAt))
                    .foreign_key(&mut fk(ConsultationInvitees::Table, ConsultationInvitees::ConsultationId, Consultations::Table, Consultations::Id, Cascade))
                    .foreign_key(&mut fk(ConsultationInvitees::Table, ConsultationInvitees::CityId, Cities::Table, Cities::Id, Cascade))
                    .foreign_key(&mut fk(ConsultationInvitees::Table, ConsultationInvitees::UserId, Users::Table, Users::Id, Cascade))
                    .foreign_key(&mut fk(ConsultationInvitees::Table, ConsultationInvitees::ActorId, Actors::Table, Actors::Id, SetNull))
                    .foreign_key(&mut fk(ConsultationInvitees::Table, ConsultationInvitees::InvitedBy, Users::Table, Users::Id, SetNull))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name(unique_name("consultation_invitees", "email"))
                    .table(ConsultationInvitees::Table)
                    .col(ConsultationInvitees::ConsultationId)
                    .col(ConsultationInvitees::UserId)
                    .unique()
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(C::Table)
                    .col(uuid_pk(C::Id))
                    .col(ColumnDef::new(C::ConsultationId).uuid().not_null())
                    .col(ColumnDef::new(C::CityId).uuid().not_null())
                    .col(ColumnDef::new(C::SectionId).uuid().not_null())
                    .col(ColumnDef::new(C::ParentId).uuid().null())
                    .col(ColumnDef::new(C::AuthorId).uuid().null())
                    .col(ColumnDef::new(C::AuthorName).string().not_null())
                    .col(ColumnDef::new(C::Organization).string().null())
                    .col(ColumnDef::new(C::Sector).string().null())
                    .col(ColumnDef::new(C::Body).text().not_null())
                    .col(ColumnDef::new(C::Quote).text().null())
                    .col(ColumnDef::new(C::AnchorStart).string().null())
                    .col(ColumnDef::new(C::AnchorEnd).string().null())
                    .col(ColumnDef::new(C::Suggestion).text().null())
                    .col(ts(C::CreatedAt))
                    .col(ColumnDef::new(C::HiddenReason).text().null())
                    .col(ColumnDef::new(C::HiddenBy).uuid().null())
                    .col(ColumnDef::new(C::HiddenAt).timestamp_with_time_zone().null())
                    .col(ColumnDef::new(C::Decision).string().null())
                    .col(ColumnDef::new(C::ResponseReason).text().null())
                    .col(ColumnDef::new(C::ResponseVersionId).uuid().null())
                    .col(ColumnDef::new(C::Applied).boolean().not_null().default(false))
                    .col(ColumnDef::new(C::AppliedHeads).text().null())
                    .col(ColumnDef::new(C::RespondedBy).uuid().null())
                    .col(ColumnDef::new(C::RespondedAt).timestamp_with_time_zone().null())
                    .foreign_key(&mut fk(C::Table, C::ConsultationId, Consultations::Table, Consultations::Id, Cascade))
                    .foreign_key(&mut fk(C::Table, C::CityId, Cities::Table, Cities::Id, Cascade))
                    .foreign_key(&mut fk(C::Table, C::SectionId, Sections::Table, Sections::Id, Cascade))
                    .foreign_key(&mut fk(C::Table, C::ParentId, C::Table, C::Id, Cascade))
                    .foreign_key(&mut fk(C::Table, C::AuthorId, Users::Table, Users::Id, SetNull))
                    .foreign_key(&mut fk(C::Table, C::HiddenBy, Users::Table, Users::Id, SetNull))
                    .foreign_key(&mut fk(C::Table, C::ResponseVersionId, Versions::Table, Versions::Id, SetNull))
                    .foreign_key(&mut fk(C::Table, C::RespondedBy, Users::Table, Users::Id, SetNull))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix__consultation_comments__consultation_id")
                    .table(C::Table)
                    .col(C::ConsultationId)
                    .col(C::CreatedAt)
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            ConsultationComments::Table.into_iden(),
            ConsultationInvitees::Table.into_iden(),
            ConsultationSections::Table.into_iden(),
            Consultations::Table.into_iden(),
        ] {
            manager.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}
