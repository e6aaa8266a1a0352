//! `concerta-server`: the `concerta` binary's library: configuration, [`AppState`], the axum
//! [`router`] (REST API, health, metrics, the web app; the `/sync` WebSocket is merged in by
//! the sync module), and the CLI subcommands.
//!
//! Workflow: `main` parses [`Cli`] and calls [`cli::run`]. `serve` builds an [`AppState`]
//! (connect, migrate), binds, and runs [`serve_state`] until SIGTERM/Ctrl-C. Tests build the
//! state over a test database ([`AppState::with_database`]) and drive [`router`] with
//! `tower::ServiceExt::oneshot`, or call [`serve`] on a port-0 listener.
//!
//! Invariants:
//! - Every response carries the security headers, and a cookie-authenticated write from
//!   another site is refused before any handler runs ([`security`]).
//! - Only this crate knows HTTP. Handlers parse, authorize with `concerta_core::permit`,
//!   call one store method and map the result; all errors go through [`Error`], whose 5xx
//!   bodies are generic (the detail is logged).
//! - A member of one city gets 404 (cannot see) or 403 (can see, may not act) for anything
//!   of another city: access is checked against the resource's own city, never the path's
//!   alone.
//! - Access changes (member changed or removed, section area changed) are published on
//!   [`AppState::access_events`] after the write commits.

#![warn(missing_docs)]

pub mod api;
pub mod auth;
pub mod cli;
pub mod config;
pub mod content;
pub mod demo;
pub mod error;
pub mod evaluation;
pub mod instance;
pub mod invites;
pub mod live;
pub mod public;
pub mod mail;
pub mod memory;
pub mod reminders;
pub mod roundtables;
pub mod rsvp;
pub mod report;
pub mod security;
pub mod state;
pub mod sync;
pub mod telemetry;
pub mod throttle;
pub mod web;

use std::future::Future;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::middleware;
use axum::routing::get;
use tokio::net::TcpListener;

pub use auth::{CurrentUser, authenticate};
pub use cli::shutdown_signal;
pub use config::{Cli, Command, Config};
pub use error::{Error, JsonBody, Result};
pub use state::{AccessEvent, AppState};

/// The largest request body accepted (413 beyond).
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// The whole HTTP surface.
pub fn router(state: AppState) -> Router {
    Router::new()
        .merge(api::api_routes())
        .merge(sync::routes())
        .route("/healthz", get(telemetry::healthz))
        .route("/readyz", get(telemetry::readyz))
        .route("/metrics", get(telemetry::metrics))
        .route("/public/_/style.css", get(public::style))
        .route("/public/{slug}", get(public::page))
        .route("/rsvp/{token}", get(rsvp::page).post(rsvp::answer))
        .route("/public/{slug}/strategies/{id}", get(public::approved_version))
        .route("/public/{slug}/consultations/{id}", get(public::consultation_report))
        .fallback(web::fallback)
        .method_not_allowed_fallback(|| async { Error::MethodNotAllowed })
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(middleware::from_fn_with_state(state.clone(), security::csrf_guard))
        .layer(middleware::from_fn_with_state(state.clone(), security::headers))
        .layer(middleware::from_fn(telemetry::track_metrics))
        .layer(telemetry::trace_layer())
        .with_state(state)
}

/// Connects and migrates ([`AppState::new`]), then serves on `listener` until `shutdown`
/// completes; in-flight requests finish first.
pub async fn serve(
    config: Config,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let state = AppState::new(config.with_bound_addr(listener.local_addr()?)).await?;
    serve_state(state, listener, shutdown).await
}

/// Serves `state` on `listener` until `shutdown` completes, with background housekeeping
/// (expired sessions are swept hourly).
pub async fn serve_state(
    state: AppState,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let mailer = tokio::spawn(mail::worker(&state)?.run());
    let sweeper = tokio::spawn(sweep_sessions(state.clone()));
    let forgetter = tokio::spawn(forget_idle_login_allowances(state.clone()));
    let reminders = tokio::spawn(reminders::run(state.clone(), state.config.reminder_interval()));
    let roundtable_reminders = tokio::spawn(roundtables::run_reminders(state.clone(), state.config.reminder_interval()));
    tracing::info!(addr = %listener.local_addr()?, "listening");
    // The peer address feeds login throttling and the audit log (`auth::ClientAddress`).
    let app = router(state).into_make_service_with_connect_info::<std::net::SocketAddr>();
    let result = axum::serve(listener, app).with_graceful_shutdown(shutdown).await;
    sweeper.abort();
    forgetter.abort();
    reminders.abort();
    mailer.abort();
    roundtable_reminders.abort();
    tracing::info!("server stopped");
    Ok(result?)
}

/// Deletes expired sessions every hour. Never exits on an error: it logs and goes on.
async fn sweep_sessions(state: AppState) {
    let mut interval = tokio::time::interval(Duration::from_secs(3600));
    loop {
        interval.tick().await;
        match state.db.delete_expired_sessions(chrono::Utc::now()).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(sessions = n, "expired sessions removed"),
            Err(e) => tracing::warn!(error = %e, "could not remove expired sessions"),
        }
    }
}

/// Drops the login allowances that have refilled, every minute, so a flood of distinct
/// emails or addresses leaves no lasting state ([`throttle::LoginThrottle::forget_idle`]).
async fn forget_idle_login_allowances(state: AppState) {
    let mut interval = tokio::time::interval(Duration::from_secs(60));
    loop {
        interval.tick().await;
        state.login_throttle.forget_idle();
    }
}
