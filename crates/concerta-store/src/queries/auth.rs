//! Sessions, API tokens and passwords. The store only ever sees the SHA-256 hashes of
//! secrets; making and hashing them is the server's job.
//!
//! A session or token is valid while its row exists and has not expired: ending a session
//! or revoking a token deletes the row, so the next request with it is refused at once.
//! When each was last used is recorded to the minute (a write per request would serialize
//! all traffic on SQLite for no benefit).

use chrono::{DateTime, Duration, Utc};
use concerta_core::{AuditAction, UserId};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};
use serde::Serialize;
use serde_json::json;

pub use concerta_core::{ApiTokenId, SessionId};

use crate::error::conflict_on;
use crate::queries::audit::{self, AuditActor, NewAuditEntry};
use crate::queries::users::User;
use crate::tables::{api_token, session, user};
use crate::{Database, Error, Result};

/// How stale a recorded "last used" time may get before a request writes a new one.
const TOUCH_EVERY: Duration = Duration::minutes(1);

/// The longest user agent kept with a session.
const MAX_USER_AGENT: usize = 256;

/// A browser session as its user sees it (never its secret).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Session {
    /// The session's id.
    pub id: SessionId,
    /// Its user.
    pub user_id: UserId,
    /// When it started (the login).
    pub created_at: DateTime<Utc>,
    /// When it ends unless ended before.
    pub expires_at: DateTime<Utc>,
    /// When it was last used, to the minute.
    pub last_seen_at: DateTime<Utc>,
    /// The browser's `User-Agent` at login.
    pub user_agent: Option<String>,
    /// The client address at login.
    pub client_address: Option<String>,
}

impl From<session::Model> for Session {
    fn from(m: session::Model) -> Self {
        Self {
            id: m.id.into(),
            user_id: m.user_id.into(),
            created_at: m.created_at,
            expires_at: m.expires_at,
            last_seen_at: m.last_seen_at,
            user_agent: m.user_agent,
            client_address: m.client_address,
        }
    }
}

/// Input for [`Database::start_session`].
#[derive(Clone, Debug)]
pub struct NewSession {
    /// Whose session it is.
    pub user: UserId,
    /// The SHA-256 of the session secret (the cookie).
    pub token_hash: String,
    /// When it ends.
    pub expires_at: DateTime<Utc>,
    /// The browser's `User-Agent` (cut to 256 characters).
    pub user_agent: Option<String>,
    /// The client address.
    pub client_address: Option<String>,
}

/// An API token as its user sees it (never the secret).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ApiToken {
    /// The token's id.
    pub id: ApiTokenId,
    /// Its user.
    pub user_id: UserId,
    /// The name its user gave it (may be empty).
    pub name: String,
    /// When it was issued.
    pub created_at: DateTime<Utc>,
    /// When it was last used, to the minute.
    pub last_used_at: Option<DateTime<Utc>>,
    /// When it stops working, if ever.
    pub expires_at: Option<DateTime<Utc>>,
}

impl From<api_token::Model> for ApiToken {
    fn from(m: api_token::Model) -> Self {
        Self {
            id: m.id.into(),
            user_id: m.user_id.into(),
            name: m.name,
            created_at: m.created_at,
            last_used_at: m.last_used_at,
            expires_at: m.expires_at,
        }
    }
}

/// Input for [`Database::issue_api_token`].
#[derive(Clone, Debug)]
pub struct NewApiToken {
    /// Whose token it is.
    pub user: UserId,
    /// A name to recognise it by.
    pub name: String,
    /// The SHA-256 of the token.
    pub token_hash: String,
    /// When it stops working, if ever.
    pub expires_at: Option<DateTime<Utc>>,
}

fn ended_sessions(user: UserId, actor: AuditActor, ended: u64, why: &str) -> NewAuditEntry {
    NewAuditEntry::new(AuditAction::SessionsEnded, actor)
        .target("user", user)
        .details(json!({ "sessions": ended, "why": why }))
}

impl Database {
    /// Records a session (compatibility shorthand for [`Database::start_session`] without
    /// browser or address).
    #[tracing::instrument(skip_all)]
    pub async fn create_session(&self, user: UserId, token_hash: String, expires_at: DateTime<Utc>) -> Result<SessionId> {
        let new = NewSession { user, token_hash, expires_at, user_agent: None, client_address: None };
        Ok(self.start_session(new).await?.id)
    }

    /// Records a login session.
    #[tracing::instrument(skip_all)]
    pub async fn start_session(&self, new: NewSession) -> Result<Session> {
        let new = &new;
        self.transaction(|tx| async move {
            let now = crate::now();
            let model = session::ActiveModel {
                id: Set(SessionId::new().uuid()),
                token_hash: Set(new.token_hash.clone()),
                user_id: Set(new.user.uuid()),
                created_at: Set(now),
                expires_at: Set(new.expires_at),
                last_seen_at: Set(now),
                user_agent: Set(new.user_agent.as_deref().map(|ua| ua.chars().take(MAX_USER_AGENT).collect())),
                client_address: Set(new.client_address.clone()),
            }
            .insert(&*tx)
            .await
            .map_err(conflict_on("session"))?;
            Ok(model.into())
        })
        .await
    }

    /// The user and session of the unexpired session whose secret hashes to `token_hash`;
    /// records when it was last seen.
    #[tracing::instrument(skip_all)]
    pub async fn get_session(&self, token_hash: &str, now: DateTime<Utc>) -> Result<Option<(User, Session)>> {
        let Some(found) = session::Entity::find()
            .filter(session::Column::TokenHash.eq(token_hash))
            .one(&self.conn)
            .await?
        else {
            return Ok(None);
        };
        if found.expires_at <= now {
            return Ok(None);
        }
        let Some(user) = user::Entity::find_by_id(found.user_id).one(&self.conn).await? else {
            return Ok(None);
        };
        let mut found = found;
        if now - found.last_seen_at > TOUCH_EVERY {
            // Filtered on the id: a session ended meanwhile stays ended.
            session::Entity::update_many()
                .col_expr(session::Column::LastSeenAt, sea_orm::sea_query::Expr::value(crate::now()))
                .filter(session::Column::Id.eq(found.id))
                .exec(&self.conn)
                .await?;
            found.last_seen_at = crate::now();
        }
        Ok(Some((User::from(user), found.into())))
    }

    /// The user of the unexpired session whose secret hashes to `token_hash`.
    #[tracing::instrument(skip_all)]
    pub async fn get_session_user(&self, token_hash: &str, now: DateTime<Utc>) -> Result<Option<User>> {
        Ok(self.get_session(token_hash, now).await?.map(|(user, _)| user))
    }

    /// Ends the session whose secret hashes to `token_hash` (logging out; nothing if there is
    /// none).
    #[tracing::instrument(skip_all)]
    pub async fn delete_session(&self, token_hash: &str) -> Result<()> {
        session::Entity::delete_many()
            .filter(session::Column::TokenHash.eq(token_hash))
            .exec(&self.conn)
            .await?;
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

    /// `user`'s unexpired sessions, most recently seen first.
    #[tracing::instrument(skip_all)]
    pub async fn list_sessions(&self, user: UserId, now: DateTime<Utc>) -> Result<Vec<Session>> {
        Ok(session::Entity::find()
            .filter(session::Column::UserId.eq(user.uuid()))
            .filter(session::Column::ExpiresAt.gt(now))
            .order_by_desc(session::Column::LastSeenAt)
            .order_by_desc(session::Column::Id)
            .all(&self.conn)
            .await?
            .into_iter()
            .map(Session::from)
            .collect())
    }

    /// Ends `user`'s session `id` and audits it. [`Error::NotFound`] when `user` has no such
    /// session.
    #[tracing::instrument(skip_all)]
    pub async fn end_session(&self, user: UserId, id: SessionId, actor: AuditActor) -> Result<()> {
        self.transaction(|tx| async move {
            let result = session::Entity::delete_many()
                .filter(session::Column::Id.eq(id.uuid()))
                .filter(session::Column::UserId.eq(user.uuid()))
                .exec(&*tx)
                .await?;
            if result.rows_affected == 0 {
                return Err(Error::NotFound);
            }
            audit::append(&*tx, &ended_sessions(user, actor, 1, "ended").target("session", id)).await?;
            Ok(())
        })
        .await
    }

    /// Ends every session of `user` except `keep`, and audits it; returns how many ended.
    #[tracing::instrument(skip_all)]
    pub async fn end_other_sessions(&self, user: UserId, keep: Option<SessionId>, actor: AuditActor) -> Result<u64> {
        self.transaction(|tx| async move {
            let ended = delete_sessions_except(&*tx, user, keep).await?;
            if ended > 0 {
                audit::append(&*tx, &ended_sessions(user, actor, ended, "ended")).await?;
            }
            Ok(ended)
        })
        .await
    }

    /// Replaces `user`'s password hash and ends their sessions except `keep`, in one
    /// transaction, auditing both. API tokens stay valid. Returns how many sessions ended.
    #[tracing::instrument(skip_all)]
    pub async fn change_password(
        &self,
        user: UserId,
        password_hash: String,
        keep: Option<SessionId>,
        actor: AuditActor,
    ) -> Result<u64> {
        let password_hash = &password_hash;
        self.transaction(|tx| async move {
            let found = user::Entity::find_by_id(user.uuid()).one(&*tx).await?.ok_or(Error::NotFound)?;
            let mut model: user::ActiveModel = found.into();
            model.password_hash = Set(Some(password_hash.clone()));
            model.update(&*tx).await?;
            let ended = delete_sessions_except(&*tx, user, keep).await?;
            let entry = NewAuditEntry::new(AuditAction::PasswordChanged, actor).target("user", user);
            audit::append(&*tx, &entry).await?;
            if ended > 0 {
                audit::append(&*tx, &ended_sessions(user, actor, ended, "password changed")).await?;
            }
            Ok(ended)
        })
        .await
    }

    /// Records an API token of `user` whose secret hashes to `token_hash`, with no name and
    /// no expiry (compatibility shorthand for [`Database::issue_api_token`], audited as done
    /// by the user).
    #[tracing::instrument(skip_all)]
    pub async fn create_api_token(&self, user: UserId, token_hash: String) -> Result<ApiTokenId> {
        let new = NewApiToken { user, name: String::new(), token_hash, expires_at: None };
        Ok(self.issue_api_token(new, AuditActor::User(user)).await?.id)
    }

    /// Records a new API token and audits it. [`Error::NotFound`] for an unknown user.
    #[tracing::instrument(skip_all)]
    pub async fn issue_api_token(&self, new: NewApiToken, actor: AuditActor) -> Result<ApiToken> {
        let new = &new;
        self.transaction(|tx| async move {
            user::Entity::find_by_id(new.user.uuid()).one(&*tx).await?.ok_or(Error::NotFound)?;
            let model = api_token::ActiveModel {
                id: Set(ApiTokenId::new().uuid()),
                user_id: Set(new.user.uuid()),
                token_hash: Set(new.token_hash.clone()),
                created_at: Set(crate::now()),
                last_used_at: Set(None),
                name: Set(new.name.clone()),
                expires_at: Set(new.expires_at),
            }
            .insert(&*tx)
            .await
            .map_err(conflict_on("token"))?;
            let entry = NewAuditEntry::new(AuditAction::TokenIssued, actor)
                .target("token", model.id)
                .details(json!({ "user": new.user, "name": new.name, "expires_at": new.expires_at }));
            audit::append(&*tx, &entry).await?;
            Ok(model.into())
        })
        .await
    }

    /// `user`'s API tokens (expired ones included, so they can be seen and removed), newest
    /// first.
    #[tracing::instrument(skip_all)]
    pub async fn list_api_tokens(&self, user: UserId) -> Result<Vec<ApiToken>> {
        Ok(api_token::Entity::find()
            .filter(api_token::Column::UserId.eq(user.uuid()))
            .order_by_desc(api_token::Column::CreatedAt)
            .order_by_desc(api_token::Column::Id)
            .all(&self.conn)
            .await?
            .into_iter()
            .map(ApiToken::from)
            .collect())
    }

    /// Revokes `user`'s token `id` (deletes it) and audits it. [`Error::NotFound`] when
    /// `user` has no such token.
    #[tracing::instrument(skip_all)]
    pub async fn revoke_api_token(&self, user: UserId, id: ApiTokenId, actor: AuditActor) -> Result<ApiToken> {
        self.transaction(|tx| async move {
            let found = api_token::Entity::find_by_id(id.uuid())
                .one(&*tx)
                .await?
                .filter(|t| t.user_id == user.uuid())
                .ok_or(Error::NotFound)?;
            api_token::Entity::delete_by_id(found.id).exec(&*tx).await?;
            let entry = NewAuditEntry::new(AuditAction::TokenRevoked, actor)
                .target("token", id)
                .details(json!({ "user": user, "name": found.name }));
            audit::append(&*tx, &entry).await?;
            Ok(found.into())
        })
        .await
    }

    /// The user and token of the unexpired API token whose secret hashes to `token_hash`;
    /// records when it was last used.
    #[tracing::instrument(skip_all)]
    pub async fn get_api_token(&self, token_hash: &str, now: DateTime<Utc>) -> Result<Option<(User, ApiToken)>> {
        let Some(mut found) = api_token::Entity::find()
            .filter(api_token::Column::TokenHash.eq(token_hash))
            .one(&self.conn)
            .await?
        else {
            return Ok(None);
        };
        if found.expires_at.is_some_and(|at| at <= now) {
            return Ok(None);
        }
        let Some(user) = user::Entity::find_by_id(found.user_id).one(&self.conn).await? else {
            return Ok(None);
        };
        if found.last_used_at.is_none_or(|at| now - at > TOUCH_EVERY) {
            let at = crate::now();
            // Filtered on the id: a token revoked meanwhile stays revoked.
            api_token::Entity::update_many()
                .col_expr(api_token::Column::LastUsedAt, sea_orm::sea_query::Expr::value(Some(at)))
                .filter(api_token::Column::Id.eq(found.id))
                .exec(&self.conn)
                .await?;
            found.last_used_at = Some(at);
        }
        Ok(Some((User::from(user), found.into())))
    }

    /// The user of the unexpired API token whose secret hashes to `token_hash`.
    #[tracing::instrument(skip_all)]
    pub async fn get_api_token_user(&self, token_hash: &str) -> Result<Option<User>> {
        Ok(self.get_api_token(token_hash, Utc::now()).await?.map(|(user, _)| user))
    }
}

async fn delete_sessions_except(conn: &impl ConnectionTrait, user: UserId, keep: Option<SessionId>) -> Result<u64> {
    let mut query = session::Entity::delete_many().filter(session::Column::UserId.eq(user.uuid()));
    if let Some(keep) = keep {
        query = query.filter(session::Column::Id.ne(keep.uuid()));
    }
    Ok(query.exec(conn).await?.rows_affected)
}
