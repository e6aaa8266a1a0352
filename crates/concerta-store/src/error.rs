//! The store's error type.

use sea_orm::{DbErr, RuntimeErr};

/// What can go wrong in the store.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The row does not exist (or belongs to another city than the one asked about).
    #[error("not found")]
    NotFound,
    /// A unique constraint refused the write; `field` is the API field concerned.
    #[error("{field} is already taken")]
    Conflict {
        /// The API field (`slug`, `email`, `name`…).
        field: String,
    },
    /// The input refers to something that does not fit (an area of another city, an editor
    /// without an area).
    #[error("{field}: {message}")]
    Invalid {
        /// The API field concerned.
        field: String,
        /// What is wrong.
        message: String,
    },
    /// The change would leave a city without a coordinator (nobody could administer it).
    #[error("a city needs at least one coordinator: make another member coordinator first")]
    LastCoordinator,
    /// A row of an imported file is wrong; nothing of the file was written.
    #[error("row {row}, column {field}: {message}")]
    Row {
        /// The row, as a spreadsheet numbers it (the header is row 1).
        row: usize,
        /// The column.
        field: String,
        /// What is wrong.
        message: String,
    },
    /// The database could not be opened.
    #[error("cannot connect to the database: {0}")]
    Connect(String),
    /// The database failed.
    #[error("database error: {0}")]
    Database(#[from] DbErr),
    /// Stored data the code cannot read back, or a broken internal assumption.
    #[error("internal error: {0}")]
    Internal(String),
}

/// The store's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// An [`Error::Invalid`] for `field`.
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        Self::Invalid { field: field.to_owned(), message: message.into() }
    }

    /// Whether running the transaction again may succeed: Postgres serialization failure
    /// (40001) or deadlock (40P01), SQLite busy/locked.
    pub fn is_retryable(&self) -> bool {
        matches!(sql_state(self).as_deref(), Some("40001" | "40P01" | "5" | "6" | "517"))
    }
}

/// The SQLSTATE (Postgres) or extended result code (SQLite) of a database error.
fn sql_state(error: &Error) -> Option<String> {
    let Error::Database(DbErr::Exec(RuntimeErr::SqlxError(e)) | DbErr::Query(RuntimeErr::SqlxError(e)) | DbErr::Conn(RuntimeErr::SqlxError(e))) = error else {
        return None;
    };
    match &**e {
        sea_orm::sqlx::Error::Database(db) => db.code().map(|c| c.into_owned()),
        _ => None,
    }
}

/// Maps a unique-constraint violation to [`Error::Conflict`] on `field`; any other error
/// passes through.
pub(crate) fn conflict_on(field: &'static str) -> impl FnOnce(DbErr) -> Error {
    move |e| match e.sql_err() {
        Some(sea_orm::SqlErr::UniqueConstraintViolation(_)) => Error::Conflict { field: field.to_owned() },
        _ => Error::Database(e),
    }
}

/// Reads a stored enum spelling back, or reports corrupt data.
pub(crate) fn parse_stored<T: std::str::FromStr>(what: &str, text: &str) -> Result<T> {
    text.parse().map_err(|_| Error::Internal(format!("stored {what} `{text}` is not valid")))
}
