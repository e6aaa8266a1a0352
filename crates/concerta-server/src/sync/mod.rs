//! `GET /sync`: the automerge-repo WebSocket endpoint.
//!
//! The upgrade authenticates (session cookie, `Authorization: Bearer`, or `?token=` since the
//! JS client cannot set headers) and checks `Origin`; then each connection is two loops: one
//! feeds incoming binary frames to the engine task ([`runtime`]), one writes what the engine
//! sends. Both are generic over `Sink`/`Stream`, so they can be driven with channels.
//!
//! Files: `runtime.rs` the engine task (commands, effects performed, presence, access
//! re-checks); `writer.rs` the storage writer (group commit); `cluster.rs` what links nodes
//! on one Postgres (chunk notices); `access.rs` the access policy (who may read or write which
//! document, and the schema each kind of document keeps).

pub mod access;
mod cluster;
pub mod runtime;
mod writer;

use axum::Router;
use axum::extract::ws::{Message as WsMessage, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, header};
use axum::response::Response;
use axum::routing::get;
use concerta_sync::wire::WireMessage;
use concerta_sync::{ConnId, Event, storage};
use futures_util::{Sink, SinkExt, Stream, StreamExt};
use serde::Deserialize;
use tokio::sync::mpsc;

use crate::error::{Error, Result};
use crate::state::{AppState, Credential};
pub use runtime::{Command, ConnIdentity, Outgoing, PeerPresence, SyncHandle};

/// The largest frame accepted from a peer (a whole-document upload fits).
pub const MAX_FRAME_BYTES: usize = 16 * 1024 * 1024;
/// The socket read buffer per connection (it grows for larger frames).
pub const READ_BUFFER_BYTES: usize = 8 * 1024;
/// Frames queued for one peer before it counts as too slow and is cut.
pub const OUTGOING_QUEUE: usize = 1024;

/// The `/sync` route.
pub fn routes() -> Router<AppState> {
    Router::new().route("/sync", get(upgrade))
}

#[derive(Deserialize)]
struct SyncQuery {
    token: Option<String>,
}

/// Browsers send `Origin`; it must be this server's public origin or the host the request
/// was addressed to. Non-browser clients send none.
fn origin_allowed(state: &AppState, headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return true;
    };
    let public = state.config.public_url();
    if origin.trim_end_matches('/') == public.trim_end_matches('/') {
        return true;
    }
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or("");
    let origin_host = origin.split("://").nth(1).unwrap_or("");
    !host.is_empty() && origin_host == host
}

async fn upgrade(
    State(state): State<AppState>,
    Query(query): Query<SyncQuery>,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Result<Response> {
    if !origin_allowed(&state, &headers) {
        return Err(Error::Forbidden);
    }
    let auth = crate::auth::authenticate_credential(&state, &headers, query.token.as_deref())
        .await?
        .ok_or(Error::Unauthorized)?;
    let user = auth.user;
    let identity = ConnIdentity {
        user: user.id,
        name: user.name,
        network_admin: user.network_admin,
        credential: credential(&headers, query.token.as_deref()),
        expires_at: auth.expires_at,
    };
    let sync = state.sync.clone();
    Ok(ws
        .max_message_size(MAX_FRAME_BYTES)
        .max_frame_size(MAX_FRAME_BYTES)
        // Small buffers: most connections sit idle, and tungstenite's 128 KiB defaults per
        // connection would put 10,000 connections over a gigabyte. Frames are sent at once.
        .read_buffer_size(READ_BUFFER_BYTES)
        .write_buffer_size(0)
        .on_upgrade(move |socket: WebSocket| async move {
            let (sink, stream) = socket.split();
            run_connection(sync, identity, sink, stream).await;
        }))
}

/// The credential [`crate::auth::authenticate`] took, in its order: `Authorization: Bearer`,
/// then `?token=`, then the session cookie. Carried with the connection so that revoking it
/// cuts the connection.
fn credential(headers: &HeaderMap, query_token: Option<&str>) -> Option<Credential> {
    use crate::auth::{SESSION_COOKIE, hash_secret};
    if let Some(value) = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) {
        let token = value.trim().split_once(' ')?.1.trim();
        return Some(Credential::ApiToken(hash_secret(token)));
    }
    if let Some(token) = query_token {
        return Some(Credential::ApiToken(hash_secret(token)));
    }
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| Credential::Session(hash_secret(value.trim_matches('"'))))
}

/// Runs one peer connection until either side closes.
pub async fn run_connection<Si, St, E>(sync: SyncHandle, identity: ConnIdentity, sink: Si, stream: St)
where
    Si: Sink<WsMessage> + Unpin + Send + 'static,
    St: Stream<Item = Result<WsMessage, E>> + Unpin + Send + 'static,
    E: std::fmt::Display,
{
    let conn: ConnId = sync.next_conn();
    let expires_at = identity.expires_at;
    let (tx, rx) = mpsc::channel(OUTGOING_QUEUE);
    if !sync.send(Command::Connect { conn, identity, tx }).await {
        return;
    }
    // Whichever ends first ends the connection: the peer hanging up, or the engine closing
    // it (protocol error, slow reader).
    tokio::select! {
        _ = read_loop(&sync, conn, stream) => {}
        _ = write_loop(sink, rx) => {}
        // The engine cuts it (an error message, then close), and the loops above end.
        _ = cut_at_expiry(&sync, conn, expires_at) => {}
    }
    sync.send(Command::Event(Event::Disconnected { conn })).await;
}

/// At `expires_at` (at once if it has passed), asks the engine to cut `conn`; then waits
/// for ever (the connection's loops end the connection). Never completes without an expiry.
async fn cut_at_expiry(sync: &SyncHandle, conn: ConnId, expires_at: Option<chrono::DateTime<chrono::Utc>>) {
    if let Some(at) = expires_at {
        let wait = (at - chrono::Utc::now()).to_std().unwrap_or_default();
        tokio::time::sleep(wait).await;
        tracing::info!(conn, "credential expired; closing its sync connection");
        sync.send(Command::Event(Event::Cut { conn, reason: "your credential expired".into() })).await;
    }
    std::future::pending::<()>().await
}

async fn read_loop<St, E>(sync: &SyncHandle, conn: ConnId, mut stream: St)
where
    St: Stream<Item = Result<WsMessage, E>> + Unpin,
    E: std::fmt::Display,
{
    while let Some(msg) = stream.next().await {
        match msg {
            Ok(WsMessage::Binary(data)) => {
                let mut data = data.to_vec();
                // A whole document is loaded here, on this connection's task: on the engine's
                // one large upload would hold up every other document.
                if storage::may_hold_document(&data) {
                    match tokio::task::spawn_blocking(move || unpack_frame(&data).ok_or(data)).await {
                        Ok(Ok(unpacked)) => {
                            metrics::counter!("concerta_sync_documents_unpacked_total").increment(1);
                            data = unpacked;
                        }
                        Ok(Err(as_sent)) => data = as_sent,
                        Err(_) => return,
                    }
                }
                if !sync.send(Command::Event(Event::Frame { conn, data })).await {
                    return;
                }
            }
            Ok(WsMessage::Close(_)) => return,
            // The protocol is binary; pings are answered by the library.
            Ok(WsMessage::Text(_)) | Ok(WsMessage::Ping(_)) | Ok(WsMessage::Pong(_)) => {}
            Err(e) => {
                tracing::debug!(conn, error = %e, "sync connection ended");
                return;
            }
        }
    }
}

/// `frame` with the whole documents of its sync message unpacked into their changes
/// ([`storage::unpack_documents`]); `None` when it holds none or is not valid.
fn unpack_frame(frame: &[u8]) -> Option<Vec<u8>> {
    let mut message = WireMessage::decode(frame).ok()?;
    let (WireMessage::Sync { data, .. } | WireMessage::Request { data, .. }) = &mut message else { return None };
    *data = storage::unpack_documents(data)?;
    Some(message.encode())
}

async fn write_loop<Si>(mut sink: Si, mut rx: mpsc::Receiver<Outgoing>)
where
    Si: Sink<WsMessage> + Unpin,
{
    while let Some(out) = rx.recv().await {
        match out {
            Outgoing::Frame(frame) => {
                if sink.send(WsMessage::Binary(frame.into())).await.is_err() {
                    return;
                }
            }
            Outgoing::Close => {
                let _ = sink.send(WsMessage::Close(None)).await;
                let _ = sink.close().await;
                return;
            }
        }
    }
}
