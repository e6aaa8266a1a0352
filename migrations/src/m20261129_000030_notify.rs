//! Email: the transactional outbox (`outbox_messages`: one row per message, written in the
//! transaction of the write that causes it, claimed and sent by the worker of
//! `concerta-notify`) and account invitations (`account_invitations`: one per member added
//! without an account, with its expiry, acceptance and revocation).

use sea_orm_migration::prelude::*;

use crate::unique_name;

#[derive(DeriveMigrationName)]
pub struct Migration;

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

#[derive(DeriveIden, Clone, Copy)]
enum Members {
    Table,
    Id,
}

#[derive(DeriveIden, Clone, Copy)]
enum OutboxMessages {
    Table,
    Id,
    MessageId,
    Kind,
    CityId,
    SenderName,
    RecipientEmail,
    RecipientName,
    Locale,
    Payload,
    Attachments,
    SubjectKind,
    SubjectId,
    Status,
    Attempts,
    NextAttemptAt,
    ClaimedBy,
    ClaimedUntil,
    LastError,
    CreatedAt,
    UpdatedAt,
    SentAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum AccountInvitations {
    Table,
    Id,
    CityId,
    MemberId,
    UserId,
    Generation,
    ExpiresAt,
    AcceptedAt,
    RevokedAt,
    CreatedBy,
    CreatedAt,
    UpdatedAt,
}

fn ts<T: IntoIden>(col: T) -> ColumnDef {
    ColumnDef::new(col).timestamp_with_time_zone().not_null().to_owned()
}

fn ts_null<T: IntoIden>(col: T) -> ColumnDef {
    ColumnDef::new(col).timestamp_with_time_zone().null().to_owned()
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

async fn index<T: IntoIden, C: IntoIden + Clone>(
    manager: &SchemaManager<'_>,
    table: T,
    name: &str,
    cols: &[C],
    unique: bool,
) -> Result<(), DbErr> {
    let mut stmt = Index::create();
    stmt.name(name).table(table);
    if unique {
        stmt.unique();
    }
    for col in cols {
        stmt.col(col.clone());
    }
    manager.create_index(stmt.to_owned()).await
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use ForeignKeyAction::{Cascade, SetNull};
        use OutboxMessages as O;

        manager
            .create_table(
                Table::create()
                    .table(O::Table)
                    .col(ColumnDef::new(O::Id).uuid().not_null().primary_key())
                    .col(ColumnDef::new(O::MessageId).string().not_null())
                    .col(ColumnDef::new(O::Kind).string().not_null())
                    .col(ColumnDef::new(O::CityId).uuid().null())
                    .col(ColumnDef::new(O::SenderName).string().not_null())
                    .col(ColumnDef::new(O::RecipientEmail).string().not_null())
                    .col(ColumnDef::new(O::RecipientName).string().not_null())
                    .col(ColumnDef::new(O::Locale).string().not_null())
                    .col(ColumnDef::new(O::Payload).text().not_null())
                    .col(ColumnDef::new(O::Attachments).text().not_null())
                    .col(ColumnDef::new(O::SubjectKind).string().null())
                    .col(ColumnDef::new(O::SubjectId).uuid().null())
                    .col(ColumnDef::new(O::Status).string().not_null())
                    .col(ColumnDef::new(O::Attempts).integer().not_null())
                    .col(ts(O::NextAttemptAt))
                    .col(ColumnDef::new(O::ClaimedBy).string().null())
                    .col(ts_null(O::ClaimedUntil))
                    .col(ColumnDef::new(O::LastError).text().null())
                    .col(ts(O::CreatedAt))
                    .col(ts(O::UpdatedAt))
                    .col(ts_null(O::SentAt))
                    .foreign_key(&mut fk(O::Table, O::CityId, Cities::Table, Cities::Id, Cascade))
                    .to_owned(),
            )
            .await?;
        index(manager, O::Table, &unique_name("outbox_messages", "message_id"), &[O::MessageId], true).await?;
        index(manager, O::Table, "ix__outbox_messages__due", &[O::Status, O::NextAttemptAt], false).await?;
        index(manager, O::Table, "ix__outbox_messages__subject", &[O::SubjectKind, O::SubjectId], false).await?;
        index(manager, O::Table, "ix__outbox_messages__city", &[O::CityId, O::CreatedAt], false).await?;

        use AccountInvitations as I;
        manager
            .create_table(
                Table::create()
                    .table(I::Table)
                    .col(ColumnDef::new(I::Id).uuid().not_null().primary_key())
                    .col(ColumnDef::new(I::CityId).uuid().not_null())
                    .col(ColumnDef::new(I::MemberId).uuid().not_null())
                    .col(ColumnDef::new(I::UserId).uuid().not_null())
                    .col(ColumnDef::new(I::Generation).integer().not_null())
                    .col(ts(I::ExpiresAt))
                    .col(ts_null(I::AcceptedAt))
                    .col(ts_null(I::RevokedAt))
                    .col(ColumnDef::new(I::CreatedBy).uuid().null())
                    .col(ts(I::CreatedAt))
                    .col(ts(I::UpdatedAt))
                    .foreign_key(&mut fk(I::Table, I::CityId, Cities::Table, Cities::Id, Cascade))
                    .foreign_key(&mut fk(I::Table, I::MemberId, Members::Table, Members::Id, Cascade))
                    .foreign_key(&mut fk(I::Table, I::UserId, Users::Table, Users::Id, Cascade))
                    .foreign_key(&mut fk(I::Table, I::CreatedBy, Users::Table, Users::Id, SetNull))
                    .to_owned(),
            )
            .await?;
        index(manager, I::Table, &unique_name("account_invitations", "member_id"), &[I::MemberId], true).await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(AccountInvitations::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(OutboxMessages::Table).to_owned()).await
    }
}
