//! The subcommands of `concerta` (see `CONTRACT.md`).

use std::io::BufRead;

use anyhow::{Context, bail};
use concerta_core::{Locale, Role, StrategyTemplate, validate_email, validate_name};
use concerta_store::{AuditActor, Database, NewArea, NewCity, NewMember, NewStrategy, NewUser};
use tokio::net::TcpListener;

use crate::auth::{hash_password, issue_api_token, validate_password};
use crate::config::{AdminCommand, AuditCommand, Cli, Command, Config, CreateUser};
use crate::state::AppState;

/// Runs a parsed command line.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let Cli { config, command } = cli;
    match command {
        Command::Serve => {
            let listener = TcpListener::bind(config.addr)
                .await
                .with_context(|| format!("binding {}", config.addr))?;
            let config = config.with_bound_addr(listener.local_addr()?);
            let state = AppState::new(config).await.context("opening the database")?;
            crate::serve_state(state, listener, shutdown_signal()).await
        }
        Command::Migrate => {
            open(&config).await?;
            eprintln!("migrations applied");
            Ok(())
        }
        Command::Demo => demo(&config).await,
        Command::Admin(AdminCommand::CreateUser(args)) => create_user(&config, args).await,
        Command::Admin(AdminCommand::Token { email }) => {
            let db = open(&config).await?;
            let user = db
                .get_user_by_email(&email)
                .await?
                .with_context(|| format!("no user with email {email}"))?;
            let token = issue_api_token(&db, &user).await.map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("{token}");
            Ok(())
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

/// Loads a demo city with areas, members (with passwords) and a strategy from the seed
/// template, and prints how to log in. Running it twice reuses what is there.
async fn demo(config: &Config) -> anyhow::Result<()> {
    const PASSWORD: &str = "concerta-demo";
    let db = open(config).await?;
    if db.list_cities().await?.iter().any(|c| c.slug == "demo") {
        println!("The demo city is already loaded.");
        print_demo_logins(config, PASSWORD);
        return Ok(());
    }
    let hash = hash_password(PASSWORD.to_owned()).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    let city = db
        .create_city(NewCity { name: "Ciudad Demo".to_owned(), slug: "demo".to_owned(), locale: Locale::Es })
        .await?;
    let mut areas = Vec::new();
    for name in ["Relaciones Internacionales", "Desarrollo Económico", "Cultura", "Ambiente"] {
        areas.push(db.create_area(NewArea { city: city.id, name: name.to_owned() }).await?);
    }
    let people = [
        ("admin@demo.concerta", "Network Admin", None, true),
        ("ori@demo.concerta", "Oficina de Relaciones Internacionales", Some((Role::Coordinator, None)), false),
        ("economia@demo.concerta", "Área de Economía", Some((Role::Editor, Some(areas[1].id))), false),
        ("cultura@demo.concerta", "Área de Cultura", Some((Role::Editor, Some(areas[2].id))), false),
        ("concejo@demo.concerta", "Concejo Municipal", Some((Role::Observer, None)), false),
        ("universidad@demo.concerta", "Universidad", Some((Role::Stakeholder, None)), false),
    ];
    for (email, name, role, network_admin) in people {
        let user = match db.get_user_by_email(email).await? {
            Some(user) => user,
            None => {
                db.create_user(NewUser {
                    email: email.to_owned(),
                    name: name.to_owned(),
                    password_hash: Some(hash.clone()),
                    network_admin,
                })
                .await?
            }
        };
        if let Some((role, area)) = role {
            db.create_member(NewMember { city: city.id, email: user.email, name: name.to_owned(), role, area }, AuditActor::System)
                .await?;
        }
    }
    let strategy = db
        .create_strategy(NewStrategy {
            city: city.id,
            title: "Estrategia de Acción Internacional 2030".to_owned(),
            template: StrategyTemplate::Seed,
        })
        .await?;
    for section in &strategy.sections {
        let area = match section.key.as_str() {
            "budget_share" | "operational_capacities" => Some(areas[1].id),
            "thematic_areas" | "consultation_communication" => Some(areas[2].id),
            _ => Some(areas[0].id),
        };
        db.set_section_area(section.id, area, AuditActor::System).await?;
    }
    println!("Loaded the demo city \"{}\" with a strategy of {} sections.", city.name, strategy.sections.len());
    print_demo_logins(config, PASSWORD);
    Ok(())
}

fn print_demo_logins(config: &Config, password: &str) {
    println!("Start the server with `concerta serve` and log in at {} as any of:", config.public_url());
    for email in [
        "ori@demo.concerta (coordinator)",
        "economia@demo.concerta (editor, Desarrollo Económico)",
        "cultura@demo.concerta (editor, Cultura)",
        "concejo@demo.concerta (observer)",
        "universidad@demo.concerta (stakeholder)",
        "admin@demo.concerta (network admin)",
    ] {
        println!("  {email}");
    }
    println!("Password for all of them: {password}");
    println!(
        "For example: curl -c cookies -H 'content-type: application/json' -d '{{\"email\":\"ori@demo.concerta\",\"password\":\"{password}\"}}' {}/api/auth/login",
        config.public_url()
    );
}
