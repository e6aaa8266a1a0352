//! `concerta-migrations`: the database schema of Concerta, one migration set for SQLite and
//! Postgres.
//!
//! `concerta-store` runs [`Migrator`] on start (`concerta serve`) and on `concerta migrate`.
//! Migrations are append-only: never edit one that has shipped; add a new one.
//!
//! Conventions every migration follows, because the store relies on them:
//! - ids are UUIDs (`uuid` on Postgres, stored as 16-byte blobs on SQLite by sea-orm);
//!   timestamps are `timestamp with time zone`, written by the application in UTC;
//! - enums are stored as their `concerta-core` text spelling;
//! - unique constraints are named `uq__<table>__<field>`, so a violation can be mapped back
//!   to the API field it concerns (`concerta_store::Error::Conflict { field }`);
//! - SQLite foreign keys are declared in `CREATE TABLE` (SQLite cannot add them later).

#![warn(missing_docs)]

pub use sea_orm_migration::prelude::*;

mod m20250101_000001_foundation;
mod m20251125_000002_server_meta;
mod m20251201_000003_versions;
mod m20261129_000003_security;
mod m20261129_000020_evaluation;
mod m20261129_000030_notify;
mod m20261129_000035_roundtables;
mod m20261129_000040_consultations;
mod m20261129_000041_comment_locale;
mod m20261129_000043_city_timezone;
mod m20261129_000044_invitee_withdrawn;
mod m20261129_000050_access_notices;
mod m20261129_000051_recipient_locale;

/// Every migration of the schema, in order.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20250101_000001_foundation::Migration),
            Box::new(m20251125_000002_server_meta::Migration),
            Box::new(m20251201_000003_versions::Migration),
            Box::new(m20261129_000003_security::Migration),
            Box::new(m20261129_000020_evaluation::Migration),
            Box::new(m20261129_000030_notify::Migration),
            Box::new(m20261129_000035_roundtables::Migration),
            Box::new(m20261129_000040_consultations::Migration),
            Box::new(m20261129_000041_comment_locale::Migration),
            Box::new(m20261129_000043_city_timezone::Migration),
            Box::new(m20261129_000044_invitee_withdrawn::Migration),
            Box::new(m20261129_000050_access_notices::Migration),
            Box::new(m20261129_000051_recipient_locale::Migration),
        ]
    }
}

/// The name of a unique index on `table(field…)`, following the `uq__<table>__<field>`
/// convention (`field` is the API field a violation is reported against).
pub fn unique_name(table: &str, field: &str) -> String {
    format!("uq__{table}__{field}")
}
