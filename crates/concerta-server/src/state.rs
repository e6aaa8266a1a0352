//! The state every handler shares.

use std::sync::Arc;

use concerta_core::{CityId, UserId};
use concerta_store::Database;
use metrics_exporter_prometheus::PrometheusHandle;
use tokio::sync::broadcast;

use crate::config::Config;
use crate::content::Content;
use crate::instance::Instance;
use crate::live::CommentEvent;
use crate::sync::SyncHandle;
use crate::telemetry;
use crate::throttle::LoginThrottle;

/// A change of who may see or edit what, published after the change is committed
/// ([`AppState::publish_access`]). The sync runtime of every node acts on it within a second:
/// a removed member loses their documents, a revoked credential its live connections.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AccessEvent {
    /// Memberships or section areas of this city changed: re-decide the access of every live
    /// connection to the city's documents.
    City(CityId),
    /// Something about this user changed (roles, sessions ended, tokens revoked): re-check
    /// every live connection of theirs, its credential first (one that no longer
    /// authenticates is cut), then its access to each document.
    User(UserId),
    /// This credential ended (a token revoked, a session logged out): cut its live
    /// connections at once.
    Credential(Credential),
}

impl AccessEvent {
    /// The event as the text other nodes receive (`city:<id>`, `user:<id>`,
    /// `token:<sha256>`, `session:<sha256>`).
    pub fn to_notice(&self) -> String {
        match self {
            AccessEvent::City(city) => format!("city:{city}"),
            AccessEvent::User(user) => format!("user:{user}"),
            AccessEvent::Credential(Credential::ApiToken(hash)) => format!("token:{hash}"),
            AccessEvent::Credential(Credential::Session(hash)) => format!("session:{hash}"),
        }
    }

    /// Reads what [`AccessEvent::to_notice`] wrote.
    pub fn from_notice(text: &str) -> Option<Self> {
        let (kind, value) = text.split_once(':')?;
        Some(match kind {
            "city" => AccessEvent::City(value.parse().ok()?),
            "user" => AccessEvent::User(value.parse().ok()?),
            "token" => AccessEvent::Credential(Credential::ApiToken(value.to_owned())),
            "session" => AccessEvent::Credential(Credential::Session(value.to_owned())),
            _ => return None,
        })
    }
}

/// The secret a connection authenticated with, as the database keys it: the SHA-256 (hex)
/// of an API token or of a session cookie ([`crate::auth::hash_secret`]).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Credential {
    /// An API token (`Authorization: Bearer` or `?token=`).
    ApiToken(String),
    /// A browser session cookie.
    Session(String),
}

/// Built once by [`AppState::new`]; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    /// The configuration the server started with.
    pub config: Arc<Config>,
    /// The database.
    pub db: Database,
    /// Access changes, for live sessions to re-check (see [`AccessEvent`]).
    pub access_events: broadcast::Sender<AccessEvent>,
    /// Consultation comments changed, on this node or another ([`crate::live`]).
    pub comment_events: broadcast::Sender<CommentEvent>,
    /// Renders `/metrics`.
    pub metrics: PrometheusHandle,
    /// The sync engine behind `/sync`.
    pub sync: SyncHandle,
    /// Sections' content for the API (heads, documents, diffs), off the sync engine's task.
    pub content: Content,
    /// First-run setup and demo facts for the login page.
    pub instance: Arc<Instance>,
    /// The key that signs invitation links, read from the database on first use
    /// ([`crate::invites::signer`]).
    pub invite_key: Arc<tokio::sync::OnceCell<Vec<u8>>>,
    /// What is left of each account's and client address's login attempts.
    pub login_throttle: Arc<LoginThrottle>,
}

impl AppState {
    /// Connects to the configured database and applies pending migrations.
    pub async fn new(config: Config) -> anyhow::Result<Self> {
        let url = config.database_url();
        let db = Database::connect(&url).await?;
        db.migrate().await?;
        Ok(Self::with_database(config, db))
    }

    /// A state over an already migrated database (tests, CLI commands). Starts the sync
    /// engine's tasks, so it must run inside a tokio runtime.
    pub fn with_database(config: Config, db: Database) -> Self {
        let (access_events, access_rx) = broadcast::channel(1024);
        let (comment_events, _) = broadcast::channel(1024);
        let sync = SyncHandle::start(db.clone(), access_rx, comment_events.clone(), config.sync_coalesce_ms);
        let login_throttle = Arc::new(LoginThrottle::new(config.login_limit_account, config.login_limit_address));
        Self {
            login_throttle,
            config: Arc::new(config),
            db,
            access_events,
            comment_events,
            metrics: telemetry::metrics_handle(),
            sync,
            content: Content::new(),
            instance: Arc::new(Instance::default()),
            invite_key: Arc::new(tokio::sync::OnceCell::new()),
        }
    }

    /// Publishes an access change to this node's live connections at once, and to the other
    /// nodes on the same Postgres (`NOTIFY`, in the background; nothing to do on SQLite).
    /// Call it after the change is committed. Nobody listening is fine.
    pub fn publish_access(&self, event: AccessEvent) {
        let notice = event.to_notice();
        let _ = self.access_events.send(event);
        let (db, node) = (self.db.clone(), self.sync.node().to_owned());
        tokio::spawn(async move {
            if let Err(e) = db.notify_access(&node, &notice).await {
                tracing::error!(error = %e, %notice, "could not announce an access change to the other nodes");
            }
        });
    }

    /// Publishes a change to a consultation comment to this node's comment streams at once,
    /// and to the other nodes on the same Postgres (`NOTIFY`, in the background; nothing to
    /// do on SQLite). Call it after the change is committed. Nobody listening is fine.
    pub fn publish_comment(&self, event: CommentEvent) {
        let notice = event.to_notice();
        let _ = self.comment_events.send(event);
        let (db, node) = (self.db.clone(), self.sync.node().to_owned());
        tokio::spawn(async move {
            if let Err(e) = db.notify_consultation(&node, &notice).await {
                tracing::error!(error = %e, %notice, "could not announce a comment change to the other nodes");
            }
        });
    }
}
