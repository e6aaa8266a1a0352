//! Security (issue 16): sessions a user can list and end, named and expiring API tokens, and
//! the hash-chained audit log.
//!
//! - `sessions` is made anew with an `id` (so a session can be named in the API without its
//!   secret's hash), when it was last seen, and the browser and address it started from.
//!   Sessions of the previous shape are dropped: everyone logs in again once.
//! - `api_tokens` gains `name` and `expires_at`. A revoked token is deleted.
//! - `audit_chains` holds one head row per chain (the last `seq` and its `hash`); appending an
//!   entry locks that row (`FOR UPDATE` on Postgres; on SQLite the write lock), so concurrent
//!   writers, on one node or several, keep one order. `audit_entries` is the log itself:
//!   entry `seq` of a chain carries the hash of entry `seq - 1` (`prev_hash`) and its own
//!   (`hash`, over every other column). No foreign keys: the log outlives what it names.

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
enum Sessions {
    Table,
    Id,
    TokenHash,
    UserId,
    CreatedAt,
    ExpiresAt,
    LastSeenAt,
    UserAgent,
    ClientAddress,
}

#[derive(DeriveIden, Clone, Copy)]
enum ApiTokens {
    Table,
    Name,
    ExpiresAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum AuditChains {
    Table,
    Chain,
    Seq,
    HeadHash,
}

#[derive(DeriveIden, Clone, Copy)]
enum AuditEntries {
    Table,
    Id,
    Chain,
    Seq,
    At,
    CityId,
    ActorId,
    Actor,
    Action,
    TargetKind,
    TargetId,
    Details,
    PrevHash,
    Hash,
}

fn timestamp<T: IntoIden>(col: T) -> ColumnDef {
    ColumnDef::new(col).timestamp_with_time_zone().not_null().to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    /// In one transaction on SQLite too: without it the statements may run on different
    /// pooled connections, and one may not yet see the table another dropped.
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(Sessions::Table).to_owned()).await?;
        manager
            .create_table(
                Table::create()
                    .table(Sessions::Table)
                    .col(ColumnDef::new(Sessions::Id).uuid().not_null().primary_key())
                    .col(ColumnDef::new(Sessions::TokenHash).string().not_null())
                    .col(ColumnDef::new(Sessions::UserId).uuid().not_null())
                    .col(timestamp(Sessions::CreatedAt))
                    .col(timestamp(Sessions::ExpiresAt))
                    .col(timestamp(Sessions::LastSeenAt))
                    .col(ColumnDef::new(Sessions::UserAgent).string().null())
                    .col(ColumnDef::new(Sessions::ClientAddress).string().null())
                    .foreign_key(
                        ForeignKey::create()
                            .from(Sessions::Table, Sessions::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name(unique_name("sessions", "token_hash"))
                    .table(Sessions::Table)
                    .col(Sessions::TokenHash)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix__sessions__user_id")
                    .table(Sessions::Table)
                    .col(Sessions::UserId)
                    .to_owned(),
            )
            .await?;

        // SQLite adds one column per statement.
        manager
            .alter_table(
                Table::alter()
                    .table(ApiTokens::Table)
                    .add_column(ColumnDef::new(ApiTokens::Name).string().not_null().default(""))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(ApiTokens::Table)
                    .add_column(ColumnDef::new(ApiTokens::ExpiresAt).timestamp_with_time_zone().null())
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(AuditChains::Table)
                    .col(ColumnDef::new(AuditChains::Chain).string().not_null().primary_key())
                    .col(ColumnDef::new(AuditChains::Seq).big_integer().not_null())
                    .col(ColumnDef::new(AuditChains::HeadHash).string().not_null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(AuditEntries::Table)
                    .col(ColumnDef::new(AuditEntries::Id).uuid().not_null().primary_key())
                    .col(ColumnDef::new(AuditEntries::Chain).string().not_null())
                    .col(ColumnDef::new(AuditEntries::Seq).big_integer().not_null())
                    .col(timestamp(AuditEntries::At))
                    .col(ColumnDef::new(AuditEntries::CityId).uuid().null())
                    .col(ColumnDef::new(AuditEntries::ActorId).uuid().null())
                    .col(ColumnDef::new(AuditEntries::Actor).string().not_null())
                    .col(ColumnDef::new(AuditEntries::Action).string().not_null())
                    .col(ColumnDef::new(AuditEntries::TargetKind).string().null())
                    .col(ColumnDef::new(AuditEntries::TargetId).string().null())
                    .col(ColumnDef::new(AuditEntries::Details).text().not_null())
                    .col(ColumnDef::new(AuditEntries::PrevHash).string().not_null())
                    .col(ColumnDef::new(AuditEntries::Hash).string().not_null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name(unique_name("audit_entries", "seq"))
                    .table(AuditEntries::Table)
                    .col(AuditEntries::Chain)
                    .col(AuditEntries::Seq)
                    .unique()
                    .to_owned(),
            )
            .await?;
        Ok(())
    }
}
