//! The recipient's language for email (issue 14): a user's preferred language (`users`), an
//! actor's in the registry (`actors`) and a roundtable invitee's (`roundtable_invitations`).
//! Null where unknown: the outbox then falls back to the account's, the registry's, else the
//! city's language (`concerta_store::outbox::recipient_locale`).

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden, Clone, Copy)]
enum Users {
    Table,
    Locale,
}

#[derive(DeriveIden, Clone, Copy)]
enum Actors {
    Table,
    Locale,
}

#[derive(DeriveIden, Clone, Copy)]
enum RoundtableInvitations {
    Table,
    Locale,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite alters one thing at a time.
        manager
            .alter_table(Table::alter().table(Users::Table).add_column(ColumnDef::new(Users::Locale).string().null()).to_owned())
            .await?;
        manager
            .alter_table(Table::alter().table(Actors::Table).add_column(ColumnDef::new(Actors::Locale).string().null()).to_owned())
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(RoundtableInvitations::Table)
                    .add_column(ColumnDef::new(RoundtableInvitations::Locale).string().null())
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(Table::alter().table(RoundtableInvitations::Table).drop_column(RoundtableInvitations::Locale).to_owned())
            .await?;
        manager.alter_table(Table::alter().table(Actors::Table).drop_column(Actors::Locale).to_owned()).await?;
        manager.alter_table(Table::alter().table(Users::Table).drop_column(Users::Locale).to_owned()).await
    }
}
