//! Logs, request spans and Prometheus metrics.

use std::sync::OnceLock;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tower_http::trace::{DefaultOnFailure, DefaultOnResponse, MakeSpan, TraceLayer};
use tracing::{Level, Span};

use crate::auth::{ClientAddress, hash_secret};
use crate::error::Error;
use crate::state::AppState;

/// Requests served, by method, matched path and status.
pub const REQUESTS_TOTAL: &str = "http_requests_total";
/// Request latency in seconds, by method, matched path and status.
pub const REQUEST_DURATION: &str = "http_request_duration_seconds";

/// The process's Prometheus recorder handle, installing the recorder on first use (a
/// process has one global recorder; tests build many `AppState`s).
pub fn metrics_handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets_for_metric(
                    Matcher::Full(REQUEST_DURATION.to_owned()),
                    &[0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0],
                )
                .expect("the bucket list is not empty")
                // Sync latencies (relay, commit, frame handling) are much shorter.
                .set_buckets_for_metric(
                    Matcher::Prefix("concerta_sync_".to_owned()),
                    &[0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0],
                )
                .expect("the bucket list is not empty")
                .build_recorder();
            let handle = recorder.handle();
            if metrics::set_global_recorder(recorder).is_err() {
                tracing::warn!("a metrics recorder was already installed; /metrics may be empty");
            }
            handle
        })
        .clone()
}

/// Initialises `tracing` for the binary: `RUST_LOG` (default `info`), to stderr (stdout is
/// for command output such as `admin token`).
pub fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(ansi)
        .try_init();
}

/// Counts and times each request by its matched path (`/api/cities/{city}`), never the raw
/// path, so ids do not explode the label space.
pub async fn track_metrics(req: Request, next: Next) -> Response {
    let started = Instant::now();
    let path = matched_path(&req);
    let method = req.method().as_str().to_owned();
    let response = next.run(req).await;
    let labels = [("method", method), ("path", path), ("status", response.status().as_u16().to_string())];
    metrics::counter!(REQUESTS_TOTAL, &labels).increment(1);
    metrics::histogram!(REQUEST_DURATION, &labels).record(started.elapsed().as_secs_f64());
    response
}

fn matched_path(req: &Request) -> String {
    req.extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned())
}

/// Makes one `request` span per request, with the method and matched path.
#[derive(Clone, Copy)]
pub struct RequestSpan;

impl<B> MakeSpan<B> for RequestSpan {
    fn make_span(&mut self, req: &axum::http::Request<B>) -> Span {
        let path = req.extensions().get::<MatchedPath>().map(|p| p.as_str()).unwrap_or("unmatched");
        tracing::info_span!("request", method = %req.method(), path = %path, uri = %req.uri().path())
    }
}

/// The tracing layer: a span per request, a log line per response at `info`.
pub fn trace_layer() -> TraceLayer<
    tower_http::classify::SharedClassifier<tower_http::classify::ServerErrorsAsFailures>,
    RequestSpan,
    tower_http::trace::DefaultOnRequest,
    DefaultOnResponse,
    tower_http::trace::DefaultOnBodyChunk,
    tower_http::trace::DefaultOnEos,
    DefaultOnFailure,
> {
    TraceLayer::new_for_http()
        .make_span_with(RequestSpan)
        .on_response(DefaultOnResponse::new().level(Level::INFO))
        .on_failure(DefaultOnFailure::new().level(Level::ERROR))
}

/// `GET /healthz`: the process is up.
pub async fn healthz() -> impl IntoResponse {
    axum::Json(serde_json::json!({ "status": "ok" }))
}

/// `GET /readyz`: 200 when the database answers, 503 otherwise.
pub async fn readyz(State(state): State<AppState>) -> Response {
    match state.db.ping().await {
        Ok(()) => axum::Json(serde_json::json!({ "status": "ok" })).into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "database not ready");
            Error::Unavailable.into_response()
        }
    }
}

/// `GET /metrics`: Prometheus text format, to whom the configuration allows: with
/// `CONCERTA_METRICS_TOKEN`, requests bearing that token (401 otherwise); without it, clients
/// on a loopback address only (404 to others, as if there were nothing here). The client's
/// address is [`ClientAddress`]'s: the socket's peer, or the proxy's `X-Forwarded-For` when
/// the proxy is trusted.
pub async fn metrics(State(state): State<AppState>, ClientAddress(address): ClientAddress, headers: HeaderMap) -> Response {
    match &state.config.metrics_token {
        Some(expected) => {
            if !bearer_matches(&headers, expected) {
                return Error::Unauthorized.into_response();
            }
        }
        None => {
            if !address.is_some_and(|a| a.is_loopback() || a.to_canonical().is_loopback()) {
                tracing::info!(client = ?address, "/metrics refused: not a loopback client and no metrics token configured");
                return Error::NotFound.into_response();
            }
        }
    }
    state.metrics.run_upkeep();
    (
        StatusCode::OK,
        [(axum::http::header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        state.metrics.render(),
    )
        .into_response()
}

/// Whether the request's `Authorization: Bearer` is `expected`, compared through their
/// SHA-256 so the time taken says nothing about how much of it matched.
fn bearer_matches(headers: &HeaderMap, expected: &str) -> bool {
    let Some(given) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim())
    else {
        return false;
    };
    !expected.is_empty() && hash_secret(given) == hash_secret(expected)
}
