//! Test helpers (feature `testing`): fresh databases for each test, on SQLite always and on
//! Postgres when `DATABASE_URL_TEST` is set.
//!
//! ```text
//! concerta_store::test_both_dbs!(creates_a_city, |db| async move {
//!     let city = db.create_city(new_city()).await.unwrap();
//!     assert_eq!(db.get_city(city.id).await.unwrap(), city);
//! });
//! ```
//! expands to a module `creates_a_city` with two tests, `sqlite` and `postgres`. The Postgres
//! one makes a throw-away database `concerta_test_<random>` next to the one
//! `DATABASE_URL_TEST` names (e.g. `postgres://postgres@127.0.0.1:5432/postgres`) and drops it
//! afterwards, even when the body panics; without `DATABASE_URL_TEST` it prints
//! "skipping Postgres: DATABASE_URL_TEST unset" and passes.

use std::future::Future;

use sea_orm::{ConnectionTrait, Statement};

use crate::Database;

/// A migrated, empty database that lives as long as this value (and is removed by
/// [`TestDb::cleanup`]).
pub struct TestDb {
    /// The database, migrated.
    pub db: Database,
    /// Its connection URL (to build servers on it).
    pub url: String,
    kind: Kind,
}

enum Kind {
    Sqlite(#[allow(dead_code)] tempfile::TempDir),
    Postgres { admin_url: String, name: String },
}

impl TestDb {
    /// A fresh SQLite database in a temporary directory.
    pub async fn sqlite() -> Self {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let url = format!("sqlite://{}/concerta.db", dir.path().display());
        let db = Database::connect(&url).await.expect("SQLite opens");
        db.migrate().await.expect("migrations apply on SQLite");
        Self { db, url, kind: Kind::Sqlite(dir) }
    }

    /// A fresh Postgres database, or `None` when `DATABASE_URL_TEST` is unset.
    pub async fn postgres() -> Option<Self> {
        let admin_url = std::env::var("DATABASE_URL_TEST").ok().filter(|u| !u.is_empty())?;
        let name = format!("concerta_test_{}", uuid::Uuid::new_v4().simple());
        let admin = sea_orm::Database::connect(&admin_url)
            .await
            .unwrap_or_else(|e| panic!("cannot connect to DATABASE_URL_TEST: {e}"));
        admin
            .execute_unprepared(&format!("CREATE DATABASE {name}"))
            .await
            .expect("CREATE DATABASE");
        admin.close().await.ok();
        let url = with_database(&admin_url, &name);
        let db = Database::connect(&url).await.expect("the new Postgres database opens");
        db.migrate().await.expect("migrations apply on Postgres");
        Some(Self { db, url, kind: Kind::Postgres { admin_url, name } })
    }

    /// Closes the database and removes it.
    pub async fn cleanup(self) {
        let Self { db, kind, .. } = self;
        db.close().await.ok();
        match kind {
            Kind::Sqlite(dir) => drop(dir),
            Kind::Postgres { admin_url, name } => drop_postgres(&admin_url, &name).await,
        }
    }
}

async fn drop_postgres(admin_url: &str, name: &str) {
    match sea_orm::Database::connect(admin_url).await {
        Ok(admin) => {
            let sql = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
            if let Err(e) = admin.execute_raw(Statement::from_string(admin.get_database_backend(), sql)).await {
                eprintln!("could not drop test database {name}: {e}");
            }
            admin.close().await.ok();
        }
        Err(e) => eprintln!("could not drop test database {name}: {e}"),
    }
}

/// `url` with its database name replaced by `name`.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let (scheme, rest) = base.split_once("://").unwrap_or(("postgres", base));
    let authority = rest.split('/').next().unwrap_or(rest);
    let mut out = format!("{scheme}://{authority}/{name}");
    if let Some(query) = query {
        out.push('?');
        out.push_str(query);
    }
    out
}

/// Runs `body` on `test_db` in its own task, then removes the database; a panic in the body
/// is re-raised after the cleanup.
pub async fn run<F, Fut>(test_db: TestDb, body: F)
where
    F: FnOnce(Database) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let outcome = tokio::spawn(body(test_db.db.clone())).await;
    test_db.cleanup().await;
    if let Err(e) = outcome {
        match e.try_into_panic() {
            Ok(panic) => std::panic::resume_unwind(panic),
            Err(e) => panic!("test task failed: {e}"),
        }
    }
}

/// Like [`run`], also handing `body` the database URL (to start a server on it).
pub async fn run_with_url<F, Fut>(test_db: TestDb, body: F)
where
    F: FnOnce(Database, String) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let url = test_db.url.clone();
    run(test_db, move |db| body(db, url)).await
}

/// Like [`run_postgres`], also handing `body` the database URL.
pub async fn run_postgres_with_url<F, Fut>(body: F)
where
    F: FnOnce(Database, String) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    match TestDb::postgres().await {
        Some(test_db) => run_with_url(test_db, body).await,
        None => eprintln!("skipping Postgres: DATABASE_URL_TEST unset"),
    }
}

/// Runs `body` on a fresh Postgres database, or prints why not.
pub async fn run_postgres<F, Fut>(body: F)
where
    F: FnOnce(Database) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    match TestDb::postgres().await {
        Some(test_db) => run(test_db, body).await,
        None => eprintln!("skipping Postgres: DATABASE_URL_TEST unset"),
    }
}

/// Defines a module `$name` with two tests running `$body` (a closure `|db: Database| async
/// move { … }`) on a fresh SQLite and on a fresh Postgres database. See the module docs.
/// The calling crate needs `tokio` (with `macros` and `rt`) among its dev-dependencies.
///
/// `test_both_dbs!(name, with_url, |db, url| async move { … })` also passes the database's
/// connection URL, for tests that start a server on it.
#[macro_export]
macro_rules! test_both_dbs {
    ($name:ident, with_url, $body:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[::tokio::test]
            async fn sqlite() {
                let test_db = $crate::testing::TestDb::sqlite().await;
                $crate::testing::run_with_url(test_db, $body).await;
            }

            #[::tokio::test]
            async fn postgres() {
                $crate::testing::run_postgres_with_url($body).await;
            }
        }
    };
    ($name:ident, $body:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[::tokio::test]
            async fn sqlite() {
                let test_db = $crate::testing::TestDb::sqlite().await;
                $crate::testing::run(test_db, $body).await;
            }

            #[::tokio::test]
            async fn postgres() {
                $crate::testing::run_postgres($body).await;
            }
        }
    };
}

#[cfg(test)]
mod tests {
    #[test]
    fn replaces_the_database_name() {
        use super::with_database;
        assert_eq!(
            with_database("postgres://postgres@127.0.0.1:5432/postgres", "t1"),
            "postgres://postgres@127.0.0.1:5432/t1"
        );
        assert_eq!(with_database("postgres://u:p@h/db?sslmode=disable", "t2"), "postgres://u:p@h/t2?sslmode=disable");
        assert_eq!(with_database("postgres://h:5432", "t3"), "postgres://h:5432/t3");
    }
}
