//! One automerge-repo WebSocket connection: connect, `join` → `peer`, frames in and out.

use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use concerta_sync::DocumentId;
use concerta_sync::wire::{PeerMetadata, WireMessage};
use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

/// A joined connection.
pub struct Conn {
    ws: WebSocketStream<TcpStream>,
    pub peer_id: String,
    pub server_id: String,
}

static NEXT_PEER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

/// A fresh peer id, unique within the process.
pub fn new_peer_id(prefix: &str) -> String {
    let n = NEXT_PEER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("{prefix}-{}-{n}", std::process::id())
}

fn ws_config() -> WebSocketConfig {
    // Small buffers: ten thousand of these live in one process.
    WebSocketConfig::default()
        .read_buffer_size(8 * 1024)
        .write_buffer_size(0)
        .max_message_size(Some(256 << 20))
        .max_frame_size(Some(256 << 20))
}

impl Conn {
    /// TCP connect, WebSocket upgrade, `join`, and wait for the server's `peer`.
    pub async fn open(url: &str, peer_id: String, timeout: Duration) -> Result<Conn> {
        tokio::time::timeout(timeout, Self::open_inner(url, peer_id))
            .await
            .map_err(|_| anyhow!("connect timed out after {timeout:?}"))?
    }

    async fn open_inner(url: &str, peer_id: String) -> Result<Conn> {
        let rest = url.strip_prefix("ws://").context("ws:// url")?;
        let hostport = rest.split('/').next().unwrap_or(rest);
        let tcp = TcpStream::connect(hostport).await.with_context(|| format!("connect {hostport}"))?;
        tcp.set_nodelay(true)?;
        let (ws, _resp) = tokio_tungstenite::client_async_with_config(url, tcp, Some(ws_config()))
            .await
            .context("websocket upgrade")?;
        let mut conn = Conn { ws, peer_id: peer_id.clone(), server_id: String::new() };
        conn.send(&WireMessage::Join {
            sender_id: peer_id,
            metadata: Some(PeerMetadata { storage_id: None, is_ephemeral: true }),
            supported_protocol_versions: vec!["1".into()],
        })
        .await?;
        loop {
            match conn.recv().await? {
                Some(WireMessage::Peer { sender_id, .. }) => {
                    conn.server_id = sender_id;
                    return Ok(conn);
                }
                Some(WireMessage::Error { message }) => bail!("server error on join: {message}"),
                Some(_) => continue,
                None => bail!("closed before peer"),
            }
        }
    }

    pub async fn send(&mut self, m: &WireMessage) -> Result<()> {
        self.ws.send(WsMessage::Binary(m.encode().into())).await.context("send")
    }

    /// The next protocol message; `None` when the connection closed.
    pub async fn recv(&mut self) -> Result<Option<WireMessage>> {
        loop {
            match self.ws.next().await {
                None => return Ok(None),
                Some(Err(e)) => return Err(e).context("recv"),
                Some(Ok(WsMessage::Binary(b))) => {
                    return WireMessage::decode(&b).map(Some).map_err(|e| anyhow!("bad frame: {e}"));
                }
                Some(Ok(WsMessage::Close(_))) => return Ok(None),
                Some(Ok(_)) => continue,
            }
        }
    }

    pub async fn send_sync(&mut self, doc: DocumentId, data: Vec<u8>, request: bool) -> Result<()> {
        let (sender_id, target_id) = (self.peer_id.clone(), self.server_id.clone());
        let m = if request {
            WireMessage::Request { sender_id, target_id, document_id: doc, data }
        } else {
            WireMessage::Sync { sender_id, target_id, document_id: doc, data }
        };
        self.send(&m).await
    }

    pub async fn close(mut self) {
        let _ = tokio::time::timeout(Duration::from_secs(2), self.ws.close(None)).await;
    }
}
