//! Sessions and API tokens. The store only ever sees their SHA-256 hashes; making and hashing
//! the secrets is the server's job.

use chrono::{DateTime, Utc};
use concerta_core::UserId;
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter};
use uuid::Uuid;

use crate::error::conflict_on;
use crate::queries::users::User;
use crate::tables::{api_token, session, user};
use crate::{Database, Error, Result};

/// The id of an API token (not the token itself).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ApiTokenId(pub Uuid);

impl Database {
    /// Records a login session whose secret hashes to `token_hash`, valid until `expires_at`.
    #[tracing::instrument(skip_all)]
    pub async fn create_session(&self, user: UserId, token_hash: String, expires_at: DateTime<Utc>) -> Result<()> {
        let token_hash = &token_hash;
        self.transaction(|tx| async move {
            session::ActiveModel {
                token_hash: Set(token_hash.clone()),
                user_id: Set(user.uuid()),
                created_at: Set(crate::now()),
                expires_at: Set(expires_at),
            }
            .insert(&*tx)
            .await
            .map_err(conflict_on("session"))?;
            Ok(())
        })
        .await
    }

    /// The user of the unexpired session whose secret hashes to `token_hash`.
    #[tracing::instrument(skip_all)]
    pub async fn get_session_user(&self, token_hash: &str, now: DateTime<Utc>) -> Result<Option<User>> {
        let Some(found) = session::Entity::find_by_id(token_hash.to_owned()).one(&self.conn).await? else {
            return Ok(None);
        };
        if found.expires_at <= now {
            return Ok(None);
        }
        Ok(user::Entity::find_by_id(found.user_id).one(&self.conn).await?.map(User::from))
    }

    /// Ends the session whose secret hashes to `token_hash` (nothing if there is none).
    #[tracing::instrument(skip_all)]
    pub async fn delete_session(&self, token_hash: &str) -> Result<()> {
        session::Entity::delete_by_id(token_hash.to_owned()).exec(&self.conn).await?;
        Ok(())
    }

    /// Removes sessions that expired before `now`; returns how many.
    #[tracing::instrument(skip_all)]
    pub async fn delete_expired_sessions(&self, now: DateTime<Utc>) -> Result<u64> {
        let result = session::Entity::delete_many()
            .filter(session::Column::ExpiresAt.lte(now))
            .exec(&self.conn)
            .await?;
        Ok(result.rows_affected)
    }

    /// Records an API token of `user` whose secret hashes to `token_hash`.
    #[tracing::instrument(skip_all)]
    pub async fn create_api_token(&self, user: UserId, token_hash: String) -> Result<ApiTokenId> {
        let token_hash = &token_hash;
        self.transaction(|tx| async move {
            user::Entity::find_by_id(user.uuid()).one(&*tx).await?.ok_or(Error::NotFound)?;
            let id = Uuid::now_v7();
            api_token::ActiveModel {
                id: Set(id),
                user_id: Set(user.uuid()),
                token_hash: Set(token_hash.clone()),
                created_at: Set(crate::now()),
                last_used_at: Set(None),
            }
            .insert(&*tx)
            .await
            .map_err(conflict_on("token"))?;
            Ok(ApiTokenId(id))
        })
        .await
    }

    /// The user of the API token whose secret hashes to `token_hash`; records when it was last
    /// used (to the minute).
    #[tracing::instrument(skip_all)]
    pub async fn get_api_token_user(&self, token_hash: &str) -> Result<Option<User>> {
        let Some(found) = api_token::Entity::find()
            .filter(api_token::Column::TokenHash.eq(token_hash))
            .one(&self.conn)
            .await?
        else {
            return Ok(None);
        };
        let user_id = found.user_id;
        // Recorded at minute precision: a write on every request would serialize all API
        // traffic on SQLite for no benefit.
        let now = crate::now();
        if found.last_used_at.is_none_or(|at| now - at > chrono::Duration::minutes(1)) {
            let mut model: api_token::ActiveModel = found.into();
            model.last_used_at = Set(Some(now));
            model.update(&self.conn).await?;
        }
        Ok(user::Entity::find_by_id(user_id).one(&self.conn).await?.map(User::from))
    }
}
