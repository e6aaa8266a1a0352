//! A samod sync server, the Rust counterpart of the official JS sync server.
//!
//!   PORT=3040 [DATA_DIR=dir | STORAGE=fs] [ANNOUNCE=1] [READ_ONLY=1] samod-server
//!
//! Listens on 127.0.0.1:$PORT (PORT=0 picks a free port) and accepts automerge-repo WebSocket
//! connections at `/` or `/sync` (any query string, e.g. `?token=…`, is accepted and ignored).
//! Storage: in memory by default; `DATA_DIR` for the filesystem there; `STORAGE=fs` for a fresh
//! temp dir removed on exit. Like the JS server it serves every document to any peer that asks
//! for it by id and, by default, does not announce documents to peers (ANNOUNCE=1 to announce).
//! Prints one line `listening 127.0.0.1:<port> data=<dir|memory>` when ready. Stops on
//! SIGTERM/SIGINT. RUST_LOG=samod=debug (etc.) logs to stderr.

use std::path::PathBuf;

use concerta_bench_samod::ws_transport;
use samod::{PeerId, Repo, ShareConfig, Url, storage::TokioFilesystemStorage};
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::{
    handshake::server::{ErrorResponse, Request, Response},
    http::StatusCode,
};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();

    let port: u16 = std::env::var("PORT")
        .ok()
        .map(|p| p.parse())
        .transpose()?
        .unwrap_or(3040);
    let flag = |name: &str| std::env::var(name).is_ok_and(|v| v == "1" || v == "true");
    let announce = flag("ANNOUNCE");
    // READ_ONLY=1: every peer may read but its changes are ignored (samod tells it so with
    // automerge's READ_ONLY sync flag). Useful to exercise clients against a read-only server.
    let access = if flag("READ_ONLY") {
        ShareConfig::read_only()
    } else {
        ShareConfig::read_write()
    };
    let (data_dir, own_dir) = match (std::env::var_os("DATA_DIR"), std::env::var("STORAGE")) {
        (Some(dir), _) => (Some(PathBuf::from(dir)), false),
        (None, Ok(s)) if s == "fs" => {
            let dir = std::env::temp_dir().join(format!("samod-server-{}", std::process::id()));
            (Some(dir), true)
        }
        _ => (None, false),
    };

    let builder = Repo::build_tokio()
        .with_peer_id(PeerId::from("samod-server"))
        .with_share_policy(access.with_announce(announce));
    let repo = match &data_dir {
        Some(dir) => {
            std::fs::create_dir_all(dir)?;
            builder
                .with_storage(TokioFilesystemStorage::new(dir))
                .load()
                .await
        }
        None => builder.load().await,
    };

    let listener = TcpListener::bind(("127.0.0.1", port)).await?;
    let addr = listener.local_addr()?;
    let acceptor = repo.make_acceptor(Url::parse(&format!("ws://{addr}/sync"))?)?;
    println!(
        "listening {addr} data={}",
        data_dir
            .as_ref()
            .map_or("memory".to_string(), |d| d.display().to_string())
    );

    let serve = async {
        loop {
            let (tcp, _) = match listener.accept().await {
                Ok(conn) => conn,
                Err(e) => {
                    eprintln!("accept failed: {e}");
                    continue;
                }
            };
            let _ = tcp.set_nodelay(true);
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                // The Err type is tungstenite's handshake callback contract.
                #[allow(clippy::result_large_err)]
                let only_sync_paths = |req: &Request, resp: Response| match req.uri().path() {
                    "/" | "/sync" => Ok(resp),
                    _ => {
                        let mut err = ErrorResponse::new(Some("not found".into()));
                        *err.status_mut() = StatusCode::NOT_FOUND;
                        Err(err)
                    }
                };
                match tokio_tungstenite::accept_hdr_async(tcp, only_sync_paths).await {
                    Ok(ws) => {
                        if let Err(e) = acceptor.accept(ws_transport(ws)) {
                            eprintln!("repo stopped: {e:?}");
                        }
                    }
                    Err(e) => eprintln!("websocket handshake failed: {e}"),
                }
            });
        }
    };

    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        _ = serve => {}
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
    let _ = tokio::time::timeout(std::time::Duration::from_secs(2), repo.stop()).await;
    if own_dir && let Some(dir) = data_dir {
        let _ = std::fs::remove_dir_all(dir);
    }
    Ok(())
}
