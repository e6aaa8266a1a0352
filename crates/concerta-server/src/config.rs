//! Configuration: one clap struct, every flag also read from the environment.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::throttle::LoginLimit;

/// The `concerta` command line.
#[derive(Debug, Parser)]
#[command(name = "concerta", version, about = "Concerta: a city's international strategy, built together")]
pub struct Cli {
    /// Settings shared by every command.
    #[command(flatten)]
    pub config: Config,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands of `concerta` (see `CONTRACT.md`).
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server (applies pending migrations first; stops cleanly on SIGTERM/Ctrl-C).
    Serve(Serve),
    /// Apply pending migrations and exit.
    Migrate,
    /// Load a demo city (areas, members, a strategy from the seed template) and print how to
    /// log in.
    Demo,
    /// Administration of accounts.
    #[command(subcommand)]
    Admin(AdminCommand),
    /// The audit log.
    #[command(subcommand)]
    Audit(AuditCommand),
}

/// `concerta audit …`
#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Check every chain of the audit log: exit 0 when whole (printing each chain's head, to
    /// keep elsewhere), else non-zero naming the first broken entry.
    Verify,
}

/// `concerta serve`
#[derive(Debug, Default, Args)]
pub struct Serve {
    /// Load the demo city into an empty database and show its accounts on the login page.
    /// Without it nothing creates demo accounts.
    #[arg(long, env = "CONCERTA_DEMO")]
    pub demo: bool,
}

/// `concerta admin …`
#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Create a user account that can log in.
    CreateUser(CreateUser),
    /// Print a new API token of an existing user on stdout (nothing else).
    Token {
        /// The user's email.
        #[arg(long)]
        email: String,
        /// A name to recognise the token by in `admin tokens` and the app.
        #[arg(long, default_value = "")]
        name: String,
        /// Days until the token stops working (default: never).
        #[arg(long, value_parser = clap::value_parser!(u32).range(1..=3650))]
        expires_in_days: Option<u32>,
    },
    /// List a user's API tokens (never their secrets): id, name, created, last used, expires.
    Tokens {
        /// The user's email.
        #[arg(long)]
        email: String,
    },
    /// Revoke one of a user's API tokens by its id (see `admin tokens`).
    RevokeToken {
        /// The user's email.
        #[arg(long)]
        email: String,
        /// The token's id.
        #[arg(long)]
        id: String,
    },
}

/// `concerta admin create-user`
#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("pw").required(true).args(["password", "password_stdin"]))]
pub struct CreateUser {
    /// Email address (the login).
    #[arg(long)]
    pub email: String,
    /// Display name.
    #[arg(long)]
    pub name: String,
    /// The password (prefer --password-stdin: arguments show up in `ps`).
    #[arg(long)]
    pub password: Option<String>,
    /// Read the password from the first line of stdin.
    #[arg(long)]
    pub password_stdin: bool,
    /// Make the user a network admin (may create cities and administer all of them).
    #[arg(long)]
    pub network_admin: bool,
}

/// Server settings. Each is a flag (`--addr`) and an environment variable (`CONCERTA_ADDR`).
#[derive(Clone, Args)]
pub struct Config {
    /// Listen address.
    #[arg(long, env = "CONCERTA_ADDR", default_value = "127.0.0.1:8080", global = true)]
    pub addr: SocketAddr,
    /// Data directory (the SQLite database, outgoing mail when no SMTP server is set).
    #[arg(long, env = "CONCERTA_DATA", default_value = "./data", global = true)]
    pub data: PathBuf,
    /// `sqlite://…` or `postgres://…`; default `sqlite://<data>/concerta.db`.
    #[arg(long, env = "DATABASE_URL", global = true)]
    pub database_url: Option<String>,
    /// Base URL used in emails and links; default `http://<addr>`. An `https` URL makes the
    /// session cookie `Secure`.
    #[arg(long, env = "CONCERTA_PUBLIC_URL", global = true)]
    pub public_url: Option<String>,
    /// `smtp://[user:pass@]host:port` or `smtps://…`; unset: `.eml` files in `<data>/outbox/`.
    #[arg(long, env = "CONCERTA_SMTP_URL", global = true)]
    pub smtp_url: Option<String>,
    /// Sender address of outgoing mail.
    #[arg(long, env = "CONCERTA_MAIL_FROM", default_value = "concerta@localhost", global = true)]
    pub mail_from: String,
    /// Take the client's address from the last entry of `X-Forwarded-For` (the one a proxy in
    /// front adds) for login throttling and the audit log. Set it only when clients can reach
    /// the server through that proxy alone.
    #[arg(long, env = "CONCERTA_TRUST_PROXY", global = true)]
    pub trust_proxy: bool,
    /// Login attempts per account: `N/SECONDS`, N at once, then one more every SECONDS
    /// (429 with `Retry-After` beyond; unknown emails count alike).
    #[arg(long, env = "CONCERTA_LOGIN_LIMIT_ACCOUNT", default_value_t = LoginLimit::ACCOUNT, global = true)]
    pub login_limit_account: LoginLimit,
    /// Login attempts per client address (IPv6 per /64), across accounts: `N/SECONDS`.
    #[arg(long, env = "CONCERTA_LOGIN_LIMIT_ADDRESS", default_value_t = LoginLimit::ADDRESS, global = true)]
    pub login_limit_address: LoginLimit,
    /// A bearer token that `/metrics` requires (`Authorization: Bearer …`), for scraping
    /// from another host. Unset: `/metrics` answers only clients on a loopback address
    /// (404 to anyone else).
    #[arg(long, env = "CONCERTA_METRICS_TOKEN", global = true, hide_env_values = true)]
    pub metrics_token: Option<String>,
    /// Seconds between two looks for measurements that are due and missing (reminders).
    #[arg(long, env = "CONCERTA_REMINDER_INTERVAL", default_value_t = 60, global = true)]
    pub reminder_interval: u64,
    /// Seconds a mail worker holds a message it is sending; a worker killed mid-send leaves
    /// it to be sent by another (or the restarted one) after this.
    #[arg(long, env = "CONCERTA_MAIL_LEASE", default_value_t = 300, global = true)]
    pub mail_lease: u64,
    /// Milliseconds before the first retry of a message that failed for a passing reason
    /// (doubling with each attempt, with jitter, up to an hour).
    #[arg(long, env = "CONCERTA_MAIL_RETRY_MS", default_value_t = 30_000, global = true)]
    pub mail_retry_ms: u64,
    /// Coalescing window of sync relays, in milliseconds: a peer gets at most about one sync
    /// message per window while changes keep coming; 0 sends every relay at once. A peer
    /// that had no message for 3/4 of a window gets an edit at once.
    #[arg(long, env = "CONCERTA_SYNC_COALESCE_MS", default_value_t = 50, global = true)]
    pub sync_coalesce_ms: u64,
}

impl Config {
    /// Defaults for tests: data in `data`, database at `database_url`.
    pub fn for_tests(data: PathBuf, database_url: String) -> Self {
        Self {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            data,
            database_url: Some(database_url),
            public_url: None,
            smtp_url: None,
            mail_from: "concerta@localhost".to_owned(),
            trust_proxy: false,
            login_limit_account: LoginLimit::ACCOUNT,
            login_limit_address: LoginLimit::ADDRESS,
            metrics_token: None,
            reminder_interval: 60,
            mail_lease: 300,
            mail_retry_ms: 30_000,
            sync_coalesce_ms: 50,
        }
    }

    /// How long a mail worker's claim lasts (at least two seconds).
    pub fn mail_lease(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.mail_lease.max(2))
    }

    /// The delay before the first retry of a deferred message (at least 100 ms).
    pub fn mail_retry_base(&self) -> std::time::Duration {
        std::time::Duration::from_millis(self.mail_retry_ms.max(100))
    }

    /// How often the reminder loop runs (at least once a second).
    pub fn reminder_interval(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.reminder_interval.max(1))
    }

    /// The database URL, defaulting to SQLite in the data directory.
    pub fn database_url(&self) -> String {
        match &self.database_url {
            Some(url) if !url.is_empty() => url.clone(),
            _ => format!("sqlite://{}/concerta.db", self.data.display()),
        }
    }

    /// The same configuration with the address actually bound (port 0 resolved), so the
    /// default public URL names a reachable port.
    pub fn with_bound_addr(mut self, addr: SocketAddr) -> Self {
        self.addr = addr;
        self
    }

    /// The public base URL, without a trailing slash.
    pub fn public_url(&self) -> String {
        match &self.public_url {
            Some(url) if !url.is_empty() => url.trim_end_matches('/').to_owned(),
            _ => format!("http://{}", self.addr),
        }
    }

    /// Whether cookies must be `Secure` (the public URL is https).
    pub fn secure_cookies(&self) -> bool {
        self.public_url().starts_with("https://")
    }
}

/// Hides secrets (the SMTP URL may hold a password; so may a database URL).
impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("addr", &self.addr)
            .field("data", &self.data)
            .field("database_url", &self.database_url.as_deref().map(redact_url))
            .field("public_url", &self.public_url)
            .field("smtp_url", &self.smtp_url.as_ref().map(|_| "<redacted>"))
            .field("mail_from", &self.mail_from)
            .field("trust_proxy", &self.trust_proxy)
            .field("mail_lease", &self.mail_lease)
            .field("mail_retry_ms", &self.mail_retry_ms)
            .field("login_limit_account", &self.login_limit_account)
            .field("login_limit_address", &self.login_limit_address)
            .field("metrics_token", &self.metrics_token.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

/// `scheme://user:password@host/…` → `scheme://user:***@host/…`.
fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_owned() };
    let (authority, path) = rest.split_once('/').map_or((rest, ""), |(a, p)| (a, p));
    match authority.rsplit_once('@') {
        Some((userinfo, host)) if userinfo.contains(':') => {
            let user = userinfo.split(':').next().unwrap_or_default();
            format!("{scheme}://{user}:***@{host}/{path}")
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_secrets() {
        let mut config = Config::for_tests("/tmp/x".into(), "postgres://u:hunter2@db/concerta".into());
        config.smtp_url = Some("smtp://mail:s3cret@smtp.example.org:587".into());
        config.metrics_token = Some("scrape-me-0xdeadbeef".into());
        let text = format!("{config:?}");
        assert!(!text.contains("hunter2") && !text.contains("s3cret") && !text.contains("0xdeadbeef"), "{text}");
        assert!(text.contains("postgres://u:***@db/concerta"), "{text}");
    }

    #[test]
    fn defaults_follow_the_contract() {
        let cli = Cli::try_parse_from(["concerta", "serve", "--data", "/srv/c"]).unwrap();
        assert_eq!(cli.config.addr.to_string(), "127.0.0.1:8080");
        assert_eq!(cli.config.database_url(), "sqlite:///srv/c/concerta.db");
        assert_eq!(cli.config.public_url(), "http://127.0.0.1:8080");
        assert!(!cli.config.secure_cookies());
        assert!(Cli::try_parse_from(["concerta", "admin", "create-user", "--email", "a@b.c", "--name", "A"]).is_err());
        assert!(matches!(cli.command, Command::Serve(Serve { demo: false })));
        let cli = Cli::try_parse_from(["concerta", "serve", "--demo"]).unwrap();
        assert!(matches!(cli.command, Command::Serve(Serve { demo: true })));
    }
}
