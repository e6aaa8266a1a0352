//! The subcommands of `concerta` (see `CONTRACT.md`).

use std::io::BufRead;

use anyhow::{Context, bail};
use concerta_core::{validate_email, validate_name};
use concerta_store::{AuditActor, Database, NewApiToken, NewUser, User};
use tokio::net::TcpListener;

use crate::auth::{hash_password, hash_secret, new_secret, validate_password};
use crate::config::{AdminCommand, AuditCommand, Cli, Command, Config, CreateUser, Serve};
use crate::state::AppState;

/// Runs a parsed command line.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let Cli { config, command } = cli;
    match command {
        Command::Serve(args) => serve(config, args).await,
        Command::Migrate => {
            open(&config).await?;
            eprintln!("migrations applied");
            Ok(())
        }
        Command::Demo => demo(&config).await,
        Command::Admin(AdminCommand::CreateUser(args)) => create_user(&config, args).await,
        Command::Admin(AdminCommand::Token { email, name, expires_in_days }) => {
            let db = open(&config).await?;
            let user = user_by_email(&db, &email).await?;
            let secret = new_secret();
            let expires_at = expires_in_days.map(|days| chrono::Utc::now() + chrono::Duration::days(days.into()));
            let new = NewApiToken { user: user.id, name: name.trim().to_owned(), token_hash: hash_secret(&secret), expires_at };
            db.issue_api_token(new, AuditActor::System).await?;
            println!("{secret}");
            Ok(())
        }
        Command::Admin(AdminCommand::Tokens { email }) => {
            let db = open(&config).await?;
            let user = user_by_email(&db, &email).await?;
            let at = |t: Option<chrono::DateTime<chrono::Utc>>| t.map_or("-".to_owned(), |t| t.format("%Y-%m-%dT%H:%MZ").to_string());
            println!("id\tname\tcreated\tlast_used\texpires");
            for token in db.list_api_tokens(user.id).await? {
                let name = if token.name.is_empty() { "-" } else { &token.name };
                println!("{}\t{name}\t{}\t{}\t{}", token.id, at(Some(token.created_at)), at(token.last_used_at), at(token.expires_at));
            }
            Ok(())
        }
        Command::Admin(AdminCommand::RevokeToken { email, id }) => {
            let db = open(&config).await?;
            let user = user_by_email(&db, &email).await?;
            let id = id.parse().map_err(|_| anyhow::anyhow!("{id} is not a token id (see `concerta admin tokens`)"))?;
            match db.revoke_api_token(user.id, id, AuditActor::System).await {
                Ok(token) => {
                    eprintln!("revoked token {} ({})", token.id, if token.name.is_empty() { "no name" } else { &token.name });
                    // The running servers hear it (Postgres `NOTIFY`; on SQLite a notice row
                    // they poll twice a second) and cut the token's live sync connections.
                    let notice = crate::state::AccessEvent::User(user.id).to_notice();
                    if let Err(e) = db.announce_access_from_outside(&notice).await {
                        eprintln!("warning: the running servers were not told ({e}); live connections on the token end when they reconnect");
                    }
                    Ok(())
                }
                Err(concerta_store::Error::NotFound) => bail!("{email} has no token {id}"),
                Err(e) => Err(e.into()),
            }
        }
        Command::Audit(AuditCommand::Verify) => audit_verify(&config).await,
    }
}

/// `concerta audit verify`: one line per whole chain on stdout; the first broken entry as
/// the error (so the exit status is non-zero).
async fn audit_verify(config: &Config) -> anyhow::Result<()> {
    let db = open(config).await?;
    let report = db.verify_audit().await?;
    for chain in &report.chains {
        println!("ok {} entries={} head={}", chain.chain, chain.entries, chain.head_hash);
    }
    match report.broken {
        None => {
            println!("audit log verified: {} chain(s)", report.chains.len());
            Ok(())
        }
        Some(broken) => {
            let id = broken.id.map(|id| format!(" (id {id})")).unwrap_or_default();
            bail!("audit log broken: chain {} entry {}{id}: {}", broken.chain, broken.seq, broken.reason)
        }
    }
}

/// Completes on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::warn!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
    tracing::info!("shutting down");
}

async fn user_by_email(db: &Database, email: &str) -> anyhow::Result<User> {
    db.get_user_by_email(email).await?.with_context(|| format!("no user with email {email}"))
}

async fn open(config: &Config) -> anyhow::Result<Database> {
    let db = Database::connect(&config.database_url()).await.context("opening the database")?;
    db.migrate().await.context("applying migrations")?;
    Ok(db)
}

async fn create_user(config: &Config, args: CreateUser) -> anyhow::Result<()> {
    let password = match (args.password, args.password_stdin) {
        (Some(password), false) => password,
        (None, true) => {
            let mut line = String::new();
            std::io::stdin().lock().read_line(&mut line).context("reading the password from stdin")?;
            line.trim_end_matches(['\r', '\n']).to_owned()
        }
        _ => bail!("give exactly one of --password and --password-stdin"),
    };
    let email = validate_email("email", &args.email)?;
    let name = validate_name("name", &args.name)?;
    validate_password(&password).map_err(|e| anyhow::anyhow!("{e}"))?;
    let db = open(config).await?;
    let password_hash = hash_password(password).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    let user = match db.get_user_by_email(&email).await? {
        // An account invited as a member has no password yet: this sets it.
        Some(existing) if !existing.has_password => {
            db.set_password_hash(existing.id, password_hash).await?;
            existing
        }
        Some(_) => bail!("a user with email {email} already exists"),
        None => {
            db.create_user(NewUser { email, name, password_hash: Some(password_hash), network_admin: args.network_admin })
                .await?
        }
    };
    println!("created user {} ({}){}", user.email, user.id, if args.network_admin { ", network admin" } else { "" });
    Ok(())
}

/// `concerta demo`: loads the demo city and prints how to log in.
async fn demo(config: &Config) -> anyhow::Result<()> {
    let db = open(config).await?;
    match crate::demo::load(&db).await? {
        crate::demo::Loaded::Created { sections } => {
            println!("Loaded the demo city with a strategy of {sections} sections.");
        }
        crate::demo::Loaded::AlreadyThere => println!("The demo city is already loaded."),
    }
    print_demo_logins(config);
    Ok(())
}

fn print_demo_logins(config: &Config) {
    println!("Start the server with `concerta serve` and log in at {} as any of:", config.public_url());
    for account in crate::demo::DEMO_ACCOUNTS {
        match account.area {
            Some(area) => println!("  {} ({}, {area})", account.email, account.role),
            None => println!("  {} ({})", account.email, account.role),
        }
    }
    println!("Password for all of them: {}", crate::demo::DEMO_PASSWORD);
}

/// `concerta serve`: with `--demo`, loads the demo city into a database that has no city yet;
/// on a database where nobody can log in, arms first-run setup and prints its token.
async fn serve(config: Config, args: Serve) -> anyhow::Result<()> {
    let listener = TcpListener::bind(config.addr).await.with_context(|| format!("binding {}", config.addr))?;
    let config = config.with_bound_addr(listener.local_addr()?);
    let public_url = config.public_url();
    let state = AppState::new(config).await.context("opening the database")?;
    crate::web::log_bundle_status();
    if args.demo {
        if crate::demo::is_loaded(&state.db).await? {
            state.instance.show_demo_accounts();
            tracing::info!("demo: the demo city is loaded; the login page lists its accounts");
        } else if state.db.list_cities().await?.is_empty() {
            let loaded = crate::demo::load(&state.db).await.context("loading the demo city")?;
            state.instance.show_demo_accounts();
            tracing::info!(?loaded, "demo: loaded the demo city; the login page lists its accounts");
        } else {
            tracing::warn!("demo: this database already holds cities; --demo loads the demo only into an empty one");
        }
    }
    if !state.db.any_user_can_log_in().await? {
        let token = state.instance.arm_setup();
        tracing::warn!(
            setup_token = %token,
            "first run: no account can log in yet. Open {public_url}/setup and enter this setup token \
             to create the first administrator (or run `concerta admin create-user ... --network-admin`)"
        );
    }
    crate::serve_state(state, listener, shutdown_signal()).await
}
