//! Multi-actor roundtables (*mesas multi-actor*): the meeting, its invitations (with the
//! invitee's organisation, sector, answer and the last email sent), the reminders written
//! once per roundtable and start time, and the agreements recorded in its minutes.

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
enum Actors {
    Table,
    Id,
}

#[derive(DeriveIden, Clone, Copy)]
enum Sections {
    Table,
    Id,
}

#[derive(DeriveIden, Clone, Copy)]
enum Documents {
    Table,
    Id,
}

#[derive(DeriveIden, Clone, Copy)]
enum Roundtables {
    Table,
    Id,
    CityId,
    Title,
    Purpose,
    Agenda,
    StartsAt,
    EndsAt,
    Timezone,
    Location,
    OnlineUrl,
    Capacity,
    RemindBeforeMinutes,
    Sequence,
    Status,
    MinutesDocId,
    CreatedBy,
    CreatedAt,
    UpdatedAt,
    CancelledAt,
    ClosedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum RoundtableInvitations {
    Table,
    Id,
    RoundtableId,
    CityId,
    ActorId,
    Email,
    Name,
    Organization,
    Sector,
    Rsvp,
    RsvpAt,
    MessageId,
    SentSequence,
    CreatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum RoundtableReminders {
    Table,
    Id,
    RoundtableId,
    StartsAt,
    Recipients,
    CreatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum RoundtableAgreements {
    Table,
    Id,
    RoundtableId,
    CityId,
    SectionId,
    Text,
    Position,
    CreatedAt,
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

async fn unique<T: IntoIden, C: IntoIden + Clone>(
    manager: &SchemaManager<'_>,
    table: T,
    table_name: &str,
    cols: &[C],
    field: &str,
) -> Result<(), DbErr> {
    let mut stmt = Index::create();
    stmt.name(unique_name(table_name, field)).table(table).unique();
    for col in cols {
        stmt.col(col.clone());
    }
    manager.create_index(stmt.to_owned()).await
}

async fn index<T: IntoIden, C: IntoIden + Clone>(manager: &SchemaManager<'_>, table: T, name: &str, cols: &[C]) -> Result<(), DbErr> {
    let mut stmt = Index::create();
    stmt.name(name).table(table);
    for col in cols {
        stmt.col(col.clone());
    }
    manager.create_index(stmt.to_owned()).await
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use ForeignKeyAction::{Cascade, SetNull};
        manager
            .create_table(
                Table::create()
                    .table(Roundtables::Table)
                    .col(uuid_pk(Roundtables::Id))
                    .col(ColumnDef::new(Roundtables::CityId).uuid().not_null())
                    .col(ColumnDef::new(Roundtables::Title).string().not_null())
                    .col(ColumnDef::new(Roundtables::Purpose).text().not_null())
                    .col(ColumnDef::new(Roundtables::Agenda).text().not_null())
                    .col(ts(Roundtables::StartsAt))
                    .col(ts(Roundtables::EndsAt))
                    .col(ColumnDef::new(Roundtables::Timezone).string().not_null())
                    .col(ColumnDef::new(Roundtables::Location).text().not_null())
                    .col(ColumnDef::new(Roundtables::OnlineUrl).text().null())
                    .col(ColumnDef::new(Roundtables::Capacity).integer().null())
                    .col(ColumnDef::new(Roundtables::RemindBeforeMinutes).integer().not_null())
                    .col(ColumnDef::new(Roundtables::Sequence).integer().not_null())
                    .col(ColumnDef::new(Roundtables::Status).string().not_null())
                    .col(ColumnDef::new(Roundtables::MinutesDocId).string().null())
                    .col(ColumnDef::new(Roundtables::CreatedBy).uuid().null())
                    .col(ts(Roundtables::CreatedAt))
                    .col(ts(Roundtables::UpdatedAt))
                    .col(ColumnDef::new(Roundtables::CancelledAt).timestamp_with_time_zone().null())
                    .col(ColumnDef::new(Roundtables::ClosedAt).timestamp_with_time_zone().null())
                    .foreign_key(&mut fk(Roundtables::Table, Roundtables::CityId, Cities::Table, Cities::Id, Cascade))
                    .foreign_key(&mut fk(Roundtables::Table, Roundtables::MinutesDocId, Documents::Table, Documents::Id, SetNull))
                    .foreign_key(&mut fk(Roundtables::Table, Roundtables::CreatedBy, Users::Table, Users::Id, SetNull))
                    .to_owned(),
            )
            .await?;
        index(manager, Roundtables::Table, "ix__roundtables__city_id", &[Roundtables::CityId, Roundtables::StartsAt]).await?;
        index(manager, Roundtables::Table, "ix__roundtables__starts_at", &[Roundtables::StartsAt]).await?;

        manager
            .create_table(
                Table::create()
                    .table(RoundtableInvitations::Table)
                    .col(uuid_pk(RoundtableInvitations::Id))
                    .col(ColumnDef::new(RoundtableInvitations::RoundtableId).uuid().not_null())
                    .col(ColumnDef::new(RoundtableInvitations::CityId).uuid().not_null())
                    .col(ColumnDef::new(RoundtableInvitations::ActorId).uuid().null())
                    .col(ColumnDef::new(RoundtableInvitations::Email).string().not_null())
                    .col(ColumnDef::new(RoundtableInvitations::Name).string().not_null())
                    .col(ColumnDef::new(RoundtableInvitations::Organization).string().not_null())
                    .col(ColumnDef::new(RoundtableInvitations::Sector).string().null())
                    .col(ColumnDef::new(RoundtableInvitations::Rsvp).string().not_null())
                    .col(ColumnDef::new(RoundtableInvitations::RsvpAt).timestamp_with_time_zone().null())
                    .col(ColumnDef::new(RoundtableInvitations::MessageId).uuid().null())
                    .col(ColumnDef::new(RoundtableInvitations::SentSequence).integer().not_null())
                    .col(ts(RoundtableInvitations::CreatedAt))
                    .foreign_key(&mut fk(
                        RoundtableInvitations::Table,
                        RoundtableInvitations::RoundtableId,
                        Roundtables::Table,
                        Roundtables::Id,
                        Cascade,
                    ))
                    .foreign_key(&mut fk(RoundtableInvitations::Table, RoundtableInvitations::CityId, Cities::Table, Cities::Id, Cascade))
                    .foreign_key(&mut fk(RoundtableInvitations::Table, RoundtableInvitations::ActorId, Actors::Table, Actors::Id, SetNull))
                    .to_owned(),
            )
            .await?;
        unique(
            manager,
            RoundtableInvitations::Table,
            "roundtable_invitations",
            &[RoundtableInvitations::RoundtableId, RoundtableInvitations::Email],
            "email",
        )
        .await?;

        manager
            .create_table(
                Table::create()
                    .table(RoundtableReminders::Table)
                    .col(uuid_pk(RoundtableReminders::Id))
                    .col(ColumnDef::new(RoundtableReminders::RoundtableId).uuid().not_null())
                    .col(ts(RoundtableReminders::StartsAt))
                    .col(ColumnDef::new(RoundtableReminders::Recipients).integer().not_null())
                    .col(ts(RoundtableReminders::CreatedAt))
                    .foreign_key(&mut fk(
                        RoundtableReminders::Table,
                        RoundtableReminders::RoundtableId,
                        Roundtables::Table,
                        Roundtables::Id,
                        Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        unique(
            manager,
            RoundtableReminders::Table,
            "roundtable_reminders",
            &[RoundtableReminders::RoundtableId, RoundtableReminders::StartsAt],
            "starts_at",
        )
        .await?;

        manager
            .create_table(
                Table::create()
                    .table(RoundtableAgreements::Table)
                    .col(uuid_pk(RoundtableAgreements::Id))
                    .col(ColumnDef::new(RoundtableAgreements::RoundtableId).uuid().not_null())
                    .col(ColumnDef::new(RoundtableAgreements::CityId).uuid().not_null())
                    .col(ColumnDef::new(RoundtableAgreements::SectionId).uuid().null())
                    .col(ColumnDef::new(RoundtableAgreements::Text).text().not_null())
                    .col(ColumnDef::new(RoundtableAgreements::Position).integer().not_null())
                    .col(ts(RoundtableAgreements::CreatedAt))
                    .foreign_key(&mut fk(
                        RoundtableAgreements::Table,
                        RoundtableAgreements::RoundtableId,
                        Roundtables::Table,
                        Roundtables::Id,
                        Cascade,
                    ))
                    .foreign_key(&mut fk(RoundtableAgreements::Table, RoundtableAgreements::CityId, Cities::Table, Cities::Id, Cascade))
                    .foreign_key(&mut fk(RoundtableAgreements::Table, RoundtableAgreements::SectionId, Sections::Table, Sections::Id, SetNull))
                    .to_owned(),
            )
            .await?;
        index(manager, RoundtableAgreements::Table, "ix__roundtable_agreements__section_id", &[RoundtableAgreements::SectionId])
            .await?;
        index(
            manager,
            RoundtableAgreements::Table,
            "ix__roundtable_agreements__roundtable_id",
            &[RoundtableAgreements::RoundtableId],
        )
        .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            RoundtableAgreements::Table.into_iden(),
            RoundtableReminders::Table.into_iden(),
            RoundtableInvitations::Table.into_iden(),
            Roundtables::Table.into_iden(),
        ] {
            manager.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}
