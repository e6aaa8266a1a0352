//! User accounts.

use chrono::{DateTime, Utc};
use concerta_core::{Locale, UserId};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use serde::Serialize;

use crate::error::conflict_on;
use crate::tables::user;
use crate::{Database, Error, Result};

/// A user account as the rest of the product sees it (no password hash).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct User {
    /// The user's id.
    pub id: UserId,
    /// Lowercase email address; unique.
    pub email: String,
    /// Display name.
    pub name: String,
    /// Whether the user administers the whole network.
    pub network_admin: bool,
    /// Whether the user has a password (users invited as members may not, yet).
    pub has_password: bool,
    /// The language the user chose for the app and their email; `None`: not chosen (their
    /// email is in the city's language).
    pub locale: Option<Locale>,
    /// When the account was made.
    pub created_at: DateTime<Utc>,
}

impl From<user::Model> for User {
    fn from(m: user::Model) -> Self {
        Self {
            id: m.id.into(),
            email: m.email,
            name: m.name,
            network_admin: m.network_admin,
            has_password: m.password_hash.is_some(),
            // An unreadable stored value is no choice (the city's language), never an error.
            locale: m.locale.as_deref().and_then(|l| l.parse::<Locale>().ok()),
            created_at: m.created_at,
        }
    }
}

/// Input for [`Database::create_user`].
#[derive(Clone, Debug)]
pub struct NewUser {
    /// Email address; stored lowercased and trimmed.
    pub email: String,
    /// Display name.
    pub name: String,
    /// An argon2 PHC string, or `None` for an account that cannot log in yet.
    pub password_hash: Option<String>,
    /// Whether the user administers the whole network.
    pub network_admin: bool,
}

impl Database {
    /// Creates a user. [`Error::Conflict`] on `email` when the address is taken.
    #[tracing::instrument(skip_all)]
    pub async fn create_user(&self, new: NewUser) -> Result<User> {
        let new = &new;
        self.transaction(|tx| async move {
            let model = user::ActiveModel {
                id: Set(UserId::new().uuid()),
                email: Set(new.email.trim().to_lowercase()),
                name: Set(new.name.clone()),
                password_hash: Set(new.password_hash.clone()),
                network_admin: Set(new.network_admin),
                locale: Set(None),
                created_at: Set(crate::now()),
            }
            .insert(&*tx)
            .await
            .map_err(conflict_on("email"))?;
            Ok(model.into())
        })
        .await
    }

    /// The user with this id.
    #[tracing::instrument(skip_all)]
    pub async fn get_user(&self, id: UserId) -> Result<User> {
        user::Entity::find_by_id(id.uuid())
            .one(&self.conn)
            .await?
            .map(User::from)
            .ok_or(Error::NotFound)
    }

    /// The user with this email address (compared lowercased), if any.
    #[tracing::instrument(skip_all)]
    pub async fn get_user_by_email(&self, email: &str) -> Result<Option<User>> {
        Ok(find_by_email(&self.conn, email).await?.map(User::from))
    }

    /// The user with this email and their password hash, for logging in.
    #[tracing::instrument(skip_all)]
    pub async fn get_user_credentials(&self, email: &str) -> Result<Option<(User, Option<String>)>> {
        Ok(find_by_email(&self.conn, email).await?.map(|m| {
            let hash = m.password_hash.clone();
            (User::from(m), hash)
        }))
    }

    /// Whether any account can log in (has a password). An instance where none can needs
    /// first-run setup.
    #[tracing::instrument(skip_all)]
    pub async fn any_user_can_log_in(&self) -> Result<bool> {
        use sea_orm::{PaginatorTrait, QuerySelect};
        let count = user::Entity::find()
            .filter(user::Column::PasswordHash.is_not_null())
            .limit(1)
            .count(&self.conn)
            .await?;
        Ok(count > 0)
    }

    /// Sets (or replaces) a user's password hash.
    #[tracing::instrument(skip_all)]
    pub async fn set_password_hash(&self, id: UserId, password_hash: String) -> Result<()> {
        let password_hash = &password_hash;
        self.transaction(|tx| async move {
            let found = user::Entity::find_by_id(id.uuid()).one(&*tx).await?.ok_or(Error::NotFound)?;
            let mut model: user::ActiveModel = found.into();
            model.password_hash = Set(Some(password_hash.clone()));
            model.update(&*tx).await?;
            Ok(())
        })
        .await
    }

    /// Sets (or with `None` clears) the language a user chose: the app's and their email's.
    #[tracing::instrument(skip_all)]
    pub async fn set_user_locale(&self, id: UserId, locale: Option<Locale>) -> Result<User> {
        self.transaction(|tx| async move {
            let found = user::Entity::find_by_id(id.uuid()).one(&*tx).await?.ok_or(Error::NotFound)?;
            let mut model: user::ActiveModel = found.into();
            model.locale = Set(locale.map(|l| l.as_str().to_owned()));
            Ok(model.update(&*tx).await?.into())
        })
        .await
    }
}

pub(crate) async fn find_by_email(conn: &impl ConnectionTrait, email: &str) -> Result<Option<user::Model>> {
    Ok(user::Entity::find()
        .filter(user::Column::Email.eq(email.trim().to_lowercase()))
        .one(conn)
        .await?)
}

/// The user with `email`, created without a password (named `name`) if there is none. A
/// `locale` becomes the account's language when it has none yet (a new account, or one whose
/// holder never chose); a language the holder chose is kept.
pub(crate) async fn get_or_create_by_email(
    conn: &impl ConnectionTrait,
    email: &str,
    name: &str,
    locale: Option<Locale>,
) -> Result<user::Model> {
    let email = email.trim().to_lowercase();
    let model = user::ActiveModel {
        id: Set(UserId::new().uuid()),
        email: Set(email.clone()),
        name: Set(name.to_owned()),
        password_hash: Set(None),
        network_admin: Set(false),
        locale: Set(locale.map(|l| l.as_str().to_owned())),
        created_at: Set(crate::now()),
    };
    user::Entity::insert(model)
        .on_conflict_do_nothing_on([user::Column::Email])
        .exec_without_returning(conn)
        .await?;
    let found = find_by_email(conn, &email)
        .await?
        .ok_or_else(|| Error::Internal("a user vanished right after being created".to_owned()))?;
    match locale {
        Some(locale) if found.locale.is_none() => {
            let mut model: user::ActiveModel = found.into();
            model.locale = Set(Some(locale.as_str().to_owned()));
            Ok(model.update(conn).await?)
        }
        _ => Ok(found),
    }
}
