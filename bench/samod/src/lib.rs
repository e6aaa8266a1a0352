//! WebSocket glue between `tokio-tungstenite` (plain ws://, no TLS) and samod's `Transport`:
//! one binary WebSocket frame carries one automerge-repo protocol message.

use std::{fmt, sync::Arc};

use futures::{SinkExt, StreamExt, TryStreamExt, future, future::BoxFuture};
use samod::{DialError, Dialer, Transport, Url};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_tungstenite::{
    WebSocketStream,
    tungstenite::{self, Message},
};

/// Wrap an open WebSocket as a samod transport. Text, ping and pong frames are ignored; the
/// stream ends when the socket closes.
pub fn ws_transport<S>(ws: WebSocketStream<S>) -> Transport
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (sink, stream) = ws.split();
    let stream = stream
        .try_filter_map(|msg| {
            future::ready(Ok(match msg {
                Message::Binary(bytes) => Some(bytes.to_vec()),
                _ => None,
            }))
        })
        .boxed();
    let sink = sink.with(|bytes: Vec<u8>| {
        future::ready(Ok::<_, tungstenite::Error>(Message::Binary(bytes.into())))
    });
    Transport::new(stream, sink)
}

/// The server refused the WebSocket upgrade with this HTTP status (e.g. 401): not worth retrying.
#[derive(Debug)]
pub struct UpgradeRejected(pub u16);

impl fmt::Display for UpgradeRejected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Unexpected server response: {}", self.0)
    }
}

impl std::error::Error for UpgradeRejected {}

/// Dials a ws:// URL (path and query kept, e.g. `/sync?token=…`). Connection errors are
/// transient (samod retries with backoff); an HTTP rejection of the upgrade is permanent.
pub struct WsDialer {
    pub url: Url,
}

impl WsDialer {
    pub fn new(url: Url) -> Arc<Self> {
        Arc::new(Self { url })
    }
}

impl Dialer for WsDialer {
    type Error = UpgradeRejected;

    fn url(&self) -> Url {
        self.url.clone()
    }

    fn connect(&self) -> BoxFuture<'static, Result<Transport, DialError<UpgradeRejected>>> {
        let url = self.url.to_string();
        Box::pin(async move {
            match tokio_tungstenite::connect_async(url).await {
                Ok((ws, _response)) => Ok(ws_transport(ws)),
                Err(tungstenite::Error::Http(resp)) => Err(DialError::PermanentFailure(
                    UpgradeRejected(resp.status().as_u16()),
                )),
                Err(e) => Err(DialError::transient(e)),
            }
        })
    }
}
