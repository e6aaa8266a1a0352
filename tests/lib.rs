//! `concerta-e2e`: end-to-end tests of the real `concerta` binary over real sockets, with the
//! real clients: the official JS automerge-repo client (`tests/js/client.mjs`), the Rust
//! `samod` client (`bench/samod`), and a bare protocol client written here on
//! `concerta_sync::wire` and automerge's own sync implementation.
//!
//! Workflow of a test: make a [`Store`] (a throw-away SQLite data directory, or a fresh
//! Postgres database when `DATABASE_URL_TEST` is set), start a [`Server`] on it (`concerta
//! serve --addr 127.0.0.1:0`, which logs the port it bound), set up a city through the CLI and
//! REST ([`setup_city`]), then drive [`Client`] processes or [`Peer`]s against `/sync`.
//! [`both_backends!`] runs one test body on SQLite and on Postgres.
//!
//! Where the programs come from:
//! - `concerta`: `CONCERTA_BIN` (set by `cargo xtask ci`), else `<target>/<profile>/concerta`
//!   next to this test binary. `cargo test` does not build it: run `cargo build -p
//!   concerta-server` first (`cargo xtask ci` does).
//! - `samod-client`: `SAMOD_CLIENT` (set by `cargo xtask ci`), else
//!   `<target>/samod/debug/samod-client`.
//! - the JS client: `tests/js/client.mjs` after `npm ci` in `tests/js`.
//!
//! `E2E_SERVER_LOG=1` prints every server's whole log when it stops (a failing test prints
//! the last lines anyway).
//!
//! Invariants: every wait has a deadline (nothing sleeps to wait for a condition); every
//! process a test starts dies with it (`kill_on_drop`); a failing test prints the server's
//! log and the clients' output.

use std::env;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use automerge::sync::{Message as SyncMessage, State as SyncState, SyncDoc};
use automerge::{AutoCommit, ChangeHash};
use concerta_sync::DocumentId;
use concerta_sync::wire::{PeerMetadata, WireMessage};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tempfile::TempDir;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, Command};
use tokio::sync::{mpsc, oneshot};
use tokio_tungstenite::tungstenite::Message as WsMessage;

pub use concerta_sync;

pub mod mail_sink;

/// The password of every account the tests create.
pub const PASSWORD: &str = "correct horse battery staple";

// ---------------------------------------------------------------------------------------------
// Programs

/// The folder this test binary's profile builds into (`<target>/debug`): the test binary is
/// `<target>/debug/deps/e2e-<hash>`. Follows `CARGO_TARGET_DIR` by construction.
fn profile_dir() -> PathBuf {
    let exe = env::current_exe().expect("the test binary knows its path");
    exe.parent().and_then(Path::parent).map(Path::to_path_buf).expect("the test binary sits in <target>/<profile>/deps")
}

/// The `concerta` binary under test.
pub fn concerta_bin() -> PathBuf {
    if let Some(bin) = env::var_os("CONCERTA_BIN").filter(|b| !b.is_empty()) {
        let bin = PathBuf::from(bin);
        assert!(bin.is_file(), "CONCERTA_BIN={} is not a file", bin.display());
        return bin;
    }
    let bin = profile_dir().join(format!("concerta{}", env::consts::EXE_SUFFIX));
    assert!(
        bin.is_file(),
        "the concerta binary is missing at {}: build it with cargo build -p concerta-server \
         (cargo xtask ci builds it and sets CONCERTA_BIN)",
        bin.display()
    );
    bin
}

/// The `samod-client` binary of `bench/samod`.
pub fn samod_client_bin() -> PathBuf {
    if let Some(bin) = env::var_os("SAMOD_CLIENT").filter(|b| !b.is_empty()) {
        let bin = PathBuf::from(bin);
        assert!(bin.is_file(), "SAMOD_CLIENT={} is not a file", bin.display());
        return bin;
    }
    let target = profile_dir().parent().map(Path::to_path_buf).unwrap_or_default();
    let bin = target.join("samod").join("debug").join(format!("samod-client{}", env::consts::EXE_SUFFIX));
    assert!(
        bin.is_file(),
        "samod-client is missing at {}: build it with cargo build --manifest-path \
         bench/samod/Cargo.toml --bin samod-client --target-dir {} (cargo xtask ci builds it \
         and sets SAMOD_CLIENT)",
        bin.display(),
        target.join("samod").display()
    );
    bin
}

/// `tests/js/client.mjs`, checked to have its packages installed.
pub fn js_client_script() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("js");
    assert!(
        dir.join("node_modules").join("@automerge").join("automerge-repo").is_dir(),
        "the JS test client's packages are missing: run `npm ci` in {} (cargo xtask ci does)",
        dir.display()
    );
    dir.join("client.mjs")
}

// ---------------------------------------------------------------------------------------------
// Databases

/// Which database a [`Store`] uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// SQLite in the data directory (the default).
    Sqlite,
    /// A throw-away Postgres database.
    Postgres,
}

/// A data directory and a database for one server, removed when dropped.
pub struct Store {
    pub backend: Backend,
    data: TempDir,
    database_url: String,
    _postgres: Option<PgDatabase>,
}

/// A throw-away Postgres database, dropped with `psql` when this is.
struct PgDatabase {
    admin_url: String,
    name: String,
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        let sql = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
        if let Err(e) = psql(&self.admin_url, &sql) {
            eprintln!("could not drop the test database {}: {e:#}", self.name);
        }
    }
}

/// Runs one SQL statement with `psql` against `url`.
fn psql(url: &str, sql: &str) -> anyhow::Result<()> {
    let out = std::process::Command::new("psql")
        .arg(url)
        .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-c", sql])
        .env("PGCONNECT_TIMEOUT", "10")
        .stdin(Stdio::null())
        .output()
        .context("running psql (install the PostgreSQL client to run the Postgres half)")?;
    if !out.status.success() {
        bail!("psql `{sql}` failed: {}", String::from_utf8_lossy(&out.stderr).trim());
    }
    Ok(())
}

/// `url` with its database name replaced by `name`.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let (scheme, rest) = base.split_once("://").unwrap_or(("postgres", base));
    let authority = rest.split('/').next().unwrap_or(rest);
    match query {
        Some(query) => format!("{scheme}://{authority}/{name}?{query}"),
        None => format!("{scheme}://{authority}/{name}"),
    }
}

impl Store {
    /// A fresh data directory with the default SQLite database in it.
    pub fn sqlite() -> Self {
        let data = tempfile::Builder::new().prefix("concerta-e2e-").tempdir().expect("a temporary directory");
        let database_url = format!("sqlite://{}/concerta.db", data.path().display());
        Store { backend: Backend::Sqlite, data, database_url, _postgres: None }
    }

    /// A fresh Postgres database `concerta_e2e_<random>` next to the one `DATABASE_URL_TEST`
    /// names, or `None` (with a line saying so) when it is unset.
    pub fn postgres() -> Option<Self> {
        let Some(admin_url) = env::var("DATABASE_URL_TEST").ok().filter(|u| !u.is_empty()) else {
            eprintln!("skipping Postgres: DATABASE_URL_TEST unset");
            return None;
        };
        let name = format!("concerta_e2e_{}", uuid::Uuid::new_v4().simple());
        psql(&admin_url, &format!("CREATE DATABASE {name}"))
            .unwrap_or_else(|e| panic!("cannot create a Postgres test database via DATABASE_URL_TEST: {e:#}"));
        let database_url = with_database(&admin_url, &name);
        let data = tempfile::Builder::new().prefix("concerta-e2e-").tempdir().expect("a temporary directory");
        Some(Store { backend: Backend::Postgres, data, database_url, _postgres: Some(PgDatabase { admin_url, name }) })
    }

    /// The data directory (`--data`).
    pub fn data_dir(&self) -> &Path {
        self.data.path()
    }

    /// The `DATABASE_URL` the server and the CLI get.
    pub fn database_url(&self) -> &str {
        &self.database_url
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(concerta_bin());
        cmd.args(args)
            .arg("--data")
            .arg(self.data_dir())
            .env("DATABASE_URL", &self.database_url)
            .env_remove("CONCERTA_ADDR")
            .env_remove("CONCERTA_DATA")
            .env_remove("CONCERTA_PUBLIC_URL")
            .env_remove("CONCERTA_SMTP_URL")
            .kill_on_drop(true);
        cmd
    }

    /// Runs `concerta <args> --data <dir>` on this store; its stdout. Panics if it fails.
    pub async fn cli(&self, args: &[&str]) -> String {
        let mut cmd = self.command(args);
        cmd.env("RUST_LOG", "warn").stdin(Stdio::null());
        let out = tokio::time::timeout(Duration::from_secs(60), cmd.output())
            .await
            .unwrap_or_else(|_| panic!("concerta {args:?} did not finish within 60 s"))
            .unwrap_or_else(|e| panic!("cannot run concerta {args:?}: {e}"));
        assert!(
            out.status.success(),
            "concerta {args:?} failed ({}):\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("the CLI prints UTF-8")
    }

    /// Runs `concerta <args> --data <dir>` on this store, whatever its exit status: the
    /// status, stdout and stderr.
    pub async fn cli_output(&self, args: &[&str]) -> std::process::Output {
        let mut cmd = self.command(args);
        cmd.env("RUST_LOG", "warn").stdin(Stdio::null());
        tokio::time::timeout(Duration::from_secs(60), cmd.output())
            .await
            .unwrap_or_else(|_| panic!("concerta {args:?} did not finish within 60 s"))
            .unwrap_or_else(|e| panic!("cannot run concerta {args:?}: {e}"))
    }

    /// Runs one SQL statement on this store's database by hand, as an operator (or an
    /// intruder) would: `sqlite3` on the SQLite file, `psql` on Postgres.
    pub fn sql(&self, sql: &str) {
        match self.backend {
            Backend::Postgres => psql(&self.database_url, sql).expect("psql runs the statement"),
            Backend::Sqlite => {
                let file = self.data_dir().join("concerta.db");
                let out = std::process::Command::new("sqlite3")
                    .arg(&file)
                    .arg(sql)
                    .stdin(Stdio::null())
                    .output()
                    .expect("running sqlite3 (install it to run this test on SQLite)");
                assert!(out.status.success(), "sqlite3 `{sql}` failed: {}", String::from_utf8_lossy(&out.stderr));
            }
        }
    }

    /// `concerta admin create-user` with [`PASSWORD`].
    pub async fn create_user(&self, email: &str, name: &str, network_admin: bool) {
        let mut args = vec!["admin", "create-user", "--email", email, "--name", name, "--password", PASSWORD];
        if network_admin {
            args.push("--network-admin");
        }
        let out = self.cli(&args).await;
        assert!(out.contains(email), "create-user printed {out:?}");
    }

    /// `concerta admin token --email`: a new API token.
    pub async fn token(&self, email: &str) -> String {
        let out = self.cli(&["admin", "token", "--email", email]).await;
        let token = out.trim().to_owned();
        assert!(!token.is_empty() && !token.contains(char::is_whitespace), "admin token printed {out:?}");
        token
    }
}

/// Defines a module `$name` with two tests running `$body` (an `async fn(Store)`): `sqlite`,
/// and `postgres`, which prints "skipping Postgres: DATABASE_URL_TEST unset" and passes when
/// there is no Postgres to use.
#[macro_export]
macro_rules! both_backends {
    ($name:ident, $body:ident) => {
        mod $name {
            #[::tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$body($crate::Store::sqlite()).await;
            }

            #[::tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if let Some(store) = $crate::Store::postgres() {
                    super::$body(store).await;
                }
            }
        }
    };
}

// ---------------------------------------------------------------------------------------------
// The server

/// A running `concerta serve`, killed when dropped.
pub struct Server {
    child: Child,
    pub addr: SocketAddr,
    log: Arc<Mutex<Vec<String>>>,
}

impl Server {
    /// Starts `concerta serve --addr 127.0.0.1:0` on `store` and waits until it logged its
    /// address and `/healthz` answers 200.
    pub async fn start(store: &Store) -> Server {
        Self::start_with_env(store, &[]).await
    }

    /// [`Server::start`] with extra environment variables (`CONCERTA_REMINDER_INTERVAL`…;
    /// `RUST_LOG` replaces the default `info`).
    pub async fn start_with_env(store: &Store, env: &[(&str, &str)]) -> Server {
        Self::start_on(store, "127.0.0.1:0", env).await
    }

    /// [`Server::start_with_env`] listening on `addr` (`0.0.0.0:0` for a public bind).
    pub async fn start_on(store: &Store, addr: &str, env: &[(&str, &str)]) -> Server {
        let started = Instant::now();
        let mut cmd = store.command(&["serve", "--addr", addr]);
        cmd.env("RUST_LOG", "info");
        for (key, value) in env {
            cmd.env(key, value);
        }
        cmd.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::piped());
        let mut child = cmd.spawn().unwrap_or_else(|e| panic!("cannot start {}: {e}", concerta_bin().display()));
        let log = Arc::new(Mutex::new(Vec::new()));
        let (addr_tx, addr_rx) = oneshot::channel();
        let stderr = child.stderr.take().expect("stderr is piped");
        tokio::spawn(drain_server_log(stderr, log.clone(), addr_tx));
        let addr = match tokio::time::timeout(Duration::from_secs(60), addr_rx).await {
            Ok(Ok(addr)) => addr,
            Ok(Err(_)) => panic!("the server exited before listening:\n{}", tail(&log, 80)),
            Err(_) => panic!("the server did not log `listening` within 60 s:\n{}", tail(&log, 80)),
        };
        let server = Server { child, addr, log };
        let http = reqwest::Client::new();
        let healthz = server.url("/healthz");
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(resp) = http.get(&healthz).timeout(Duration::from_secs(2)).send().await
                && resp.status() == 200
            {
                break;
            }
            assert!(Instant::now() < deadline, "/healthz did not answer 200 within 20 s:\n{}", server.log_tail(80));
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        eprintln!("server {} ({:?}) up in {:?}", server.addr, store.backend, started.elapsed());
        server
    }

    /// `http://<addr><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// The `/sync` URL authenticated with `?token=`.
    pub fn sync_url(&self, token: &str) -> String {
        format!("ws://{}/sync?token={token}", self.addr)
    }

    /// The last `n` lines of the server's log.
    pub fn log_tail(&self, n: usize) -> String {
        tail(&self.log, n)
    }

    /// The whole log so far.
    pub fn log(&self) -> Vec<String> {
        self.log.lock().expect("log lock").clone()
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id().expect("the server is running")
    }

    /// `kill -9`: SIGKILL, then reap the process.
    pub async fn kill9(&mut self) {
        self.child.start_kill().expect("SIGKILL the server");
        let status = tokio::time::timeout(Duration::from_secs(10), self.child.wait())
            .await
            .expect("a SIGKILLed server is reaped within 10 s")
            .expect("wait for the server");
        assert!(!status.success(), "the server was killed, yet exited with {status}");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if env::var_os("E2E_SERVER_LOG").is_some() {
            eprintln!("---- server {} log ----\n{}", self.addr, self.log().join("\n"));
        } else if std::thread::panicking() {
            eprintln!("---- server {} log (last 60 lines) ----\n{}", self.addr, self.log_tail(60));
        }
        let _ = self.child.start_kill();
    }
}

fn tail(log: &Mutex<Vec<String>>, n: usize) -> String {
    let log = log.lock().expect("log lock");
    log[log.len().saturating_sub(n)..].join("\n")
}

/// Keeps the server's stderr drained (so it never blocks on logging) and reports the address
/// of its `listening addr=…` line.
async fn drain_server_log(
    stderr: tokio::process::ChildStderr,
    log: Arc<Mutex<Vec<String>>>,
    addr_tx: oneshot::Sender<SocketAddr>,
) {
    let mut addr_tx = Some(addr_tx);
    let mut lines = BufReader::new(stderr).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        if addr_tx.is_some()
            && line.contains("listening")
            && let Some(addr) = line.split("addr=").nth(1).and_then(|rest| rest.split_whitespace().next())
            && let Ok(addr) = addr.parse::<SocketAddr>()
            && let Some(tx) = addr_tx.take()
        {
            let _ = tx.send(addr);
        }
        log.lock().expect("log lock").push(line);
    }
}

// ---------------------------------------------------------------------------------------------
// REST

/// A REST client for one server and one identity.
#[derive(Clone)]
pub struct Api {
    http: reqwest::Client,
    base: String,
    token: Option<String>,
}

/// An HTTP answer: status and body (JSON when it parses, else `Value::Null`; `text` always).
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
    pub text: String,
}

impl Answer {
    /// Asserts the status; returns the JSON body.
    #[track_caller]
    pub fn expect(self, status: u16) -> Value {
        assert_eq!(self.status, status, "unexpected status; body: {}", self.text);
        self.body
    }

    /// Asserts a documented error: this status, `{"error":{"code": code, "message": …}}`.
    #[track_caller]
    pub fn expect_error(&self, status: u16, code: &str) {
        assert_eq!(self.status, status, "unexpected status; body: {}", self.text);
        assert_eq!(self.body["error"]["code"], code, "unexpected error code; body: {}", self.text);
        assert!(
            self.body["error"]["message"].as_str().is_some_and(|m| !m.is_empty()),
            "an error needs a message; body: {}",
            self.text
        );
    }

    /// The `id` field.
    #[track_caller]
    pub fn id(&self) -> String {
        self.body["id"].as_str().unwrap_or_else(|| panic!("no id in {}", self.text)).to_owned()
    }
}

impl Api {
    fn client(cookies: bool) -> reqwest::Client {
        reqwest::Client::builder()
            .cookie_store(cookies)
            .timeout(Duration::from_secs(30))
            .build()
            .expect("an HTTP client")
    }

    /// Requests with `Authorization: Bearer <token>`.
    pub fn bearer(server: &Server, token: &str) -> Self {
        Api { http: Self::client(false), base: server.url(""), token: Some(token.to_owned()) }
    }

    /// Requests with no credentials but a cookie jar (log in with `POST /api/auth/login`).
    pub fn browser(server: &Server) -> Self {
        Api { http: Self::client(true), base: server.url(""), token: None }
    }

    /// Sends `method path` with a raw body and content type.
    pub async fn raw(&self, method: &str, path: &str, content_type: Option<&str>, body: Option<Vec<u8>>) -> Answer {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("an HTTP method");
        let mut req = self.http.request(method.clone(), format!("{}{path}", self.base));
        if let Some(token) = &self.token {
            req = req.bearer_auth(token);
        }
        if let Some(ct) = content_type {
            req = req.header("content-type", ct);
        }
        if let Some(body) = body {
            req = req.body(body);
        }
        let resp = req.send().await.unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let text = resp.text().await.unwrap_or_else(|e| panic!("{method} {path}: reading the body: {e}"));
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Answer { status, headers, body, text }
    }

    /// Sends `method path` with a JSON body (or none).
    pub async fn call(&self, method: &str, path: &str, body: Option<Value>) -> Answer {
        match body {
            Some(body) => self.raw(method, path, Some("application/json"), Some(body.to_string().into_bytes())).await,
            None => self.raw(method, path, None, None).await,
        }
    }

    /// `GET path`.
    pub async fn get(&self, path: &str) -> Answer {
        self.call("GET", path, None).await
    }

    /// `POST path` with a JSON body.
    pub async fn post(&self, path: &str, body: Value) -> Answer {
        self.call("POST", path, Some(body)).await
    }

    /// `PUT path` with a JSON body.
    pub async fn put(&self, path: &str, body: Value) -> Answer {
        self.call("PUT", path, Some(body)).await
    }

    /// `PATCH path` with a JSON body.
    pub async fn patch(&self, path: &str, body: Value) -> Answer {
        self.call("PATCH", path, Some(body)).await
    }

    /// `DELETE path`.
    pub async fn delete(&self, path: &str) -> Answer {
        self.call("DELETE", path, None).await
    }
}

/// Sends one HTTP/1.1 request over a plain socket while reading the answer at the same time,
/// as browsers and curl do: a server may answer before it has read a large body (413) and
/// then reset the connection, which makes clients that only read after writing (reqwest)
/// fail on the write instead of seeing the answer. Returns the status and the body.
pub async fn early_answer(
    server: &Server,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Vec<u8>,
) -> (u16, Value) {
    use tokio::io::AsyncReadExt;
    let stream = tokio::net::TcpStream::connect(server.addr).await.expect("connect to the server");
    let (mut read, mut write) = stream.into_split();
    let mut head = format!("{method} {path} HTTP/1.1\r\nhost: {}\r\ncontent-length: {}\r\n", server.addr, body.len());
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    let writing = tokio::spawn(async move {
        // The server may stop reading and reset: a failed write is expected then.
        let _ = write.write_all(head.as_bytes()).await;
        let _ = write.write_all(&body).await;
        write
    });
    let mut answer = Vec::new();
    let mut buf = [0u8; 8192];
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        match tokio::time::timeout_at(deadline, read.read(&mut buf)).await {
            Err(_) => panic!("no complete answer within 20 s: {}", String::from_utf8_lossy(&answer)),
            Ok(Ok(0)) | Ok(Err(_)) => break,
            Ok(Ok(n)) => answer.extend_from_slice(&buf[..n]),
        }
        if let Some(split) = answer.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&answer[..split]).to_ascii_lowercase();
            let length = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse::<usize>().ok());
            if length.is_some_and(|len| answer.len() >= split + 4 + len) {
                break;
            }
        }
    }
    writing.abort();
    let text = String::from_utf8_lossy(&answer).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or_else(|| panic!("no HTTP answer: {text:?}"));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line: {head:?}"));
    (status, serde_json::from_str(body).unwrap_or(Value::Null))
}

// ---------------------------------------------------------------------------------------------
// A city with every role

/// An account: its email, its membership id in the fixture's city (if any) and an API token.
#[derive(Debug, Clone)]
pub struct Person {
    pub email: String,
    pub member_id: Option<String>,
    pub token: String,
}

/// A strategy section: its id, `automerge:` URL, document id and responsible area.
#[derive(Debug, Clone)]
pub struct Section {
    pub id: String,
    pub doc_url: String,
    pub doc_id: DocumentId,
    pub area_id: String,
}

/// A city with two areas, one member of each role, a stranger, and a seed strategy whose
/// first two sections belong to area A and area B.
#[derive(Debug, Clone)]
pub struct City {
    pub id: String,
    pub admin: Person,
    pub area_a: String,
    pub area_b: String,
    pub coordinator: Person,
    /// Editor of area A.
    pub editor_a: Person,
    /// Editor of area B.
    pub editor_b: Person,
    pub observer: Person,
    pub stakeholder: Person,
    /// An account with no membership anywhere.
    pub outsider: Person,
    pub strategy_id: String,
    /// A section of area A.
    pub section_a: Section,
    /// A section of area B.
    pub section_b: Section,
}

impl City {
    /// The network admin's REST client.
    pub fn admin_api(&self, server: &Server) -> Api {
        Api::bearer(server, &self.admin.token)
    }

    /// Adds a member to the city (REST) and gives them an API token (CLI).
    pub async fn add_member(
        &self,
        store: &Store,
        server: &Server,
        email: &str,
        role: &str,
        area: Option<&str>,
    ) -> Person {
        let body = json!({"email": email, "name": role, "role": role, "area_id": area});
        let member = self.admin_api(server).post(&format!("/api/cities/{}/members", self.id), body).await.expect(201);
        Person {
            email: email.to_owned(),
            member_id: Some(member["id"].as_str().expect("member id").to_owned()),
            token: store.token(email).await,
        }
    }
}

/// Sets up a [`City`] through the CLI (accounts, tokens) and REST (everything else).
pub async fn setup_city(store: &Store, server: &Server) -> City {
    let admin_email = "admin@e2e.test";
    store.create_user(admin_email, "Ada Admin", true).await;
    store.create_user("outsider@e2e.test", "Otto Outsider", false).await;
    let admin_token = store.token(admin_email).await;
    let api = Api::bearer(server, &admin_token);
    let city =
        api.post("/api/cities", json!({"name": "Medellín", "slug": "medellin", "locale": "es"})).await.expect(201);
    let city_id = city["id"].as_str().expect("city id").to_owned();
    let area = |name: &'static str| {
        let api = api.clone();
        let path = format!("/api/cities/{city_id}/areas");
        async move { api.post(&path, json!({"name": name})).await.expect(201)["id"].as_str().expect("area id").to_owned() }
    };
    let area_a = area("Desarrollo económico").await;
    let area_b = area("Cultura").await;
    let mut members = Vec::new();
    for (email, role, area) in [
        ("coordinator@e2e.test", "coordinator", None),
        ("editor-a@e2e.test", "editor", Some(&area_a)),
        ("editor-b@e2e.test", "editor", Some(&area_b)),
        ("observer@e2e.test", "observer", None),
        ("stakeholder@e2e.test", "stakeholder", None),
    ] {
        let mut body = json!({"email": email, "name": role, "role": role});
        if let Some(area) = area {
            body["area_id"] = json!(area);
        }
        let member = api.post(&format!("/api/cities/{city_id}/members"), body).await.expect(201);
        members.push((email, member["id"].as_str().expect("member id").to_owned()));
    }
    let tokens = futures_util::future::join_all(
        members.iter().map(|(email, _)| *email).chain(["outsider@e2e.test"]).map(|email| store.token(email)),
    )
    .await;
    let person = |i: usize| Person {
        email: members.get(i).map_or("outsider@e2e.test", |m| m.0).to_owned(),
        member_id: members.get(i).map(|m| m.1.clone()),
        token: tokens[i].clone(),
    };
    let strategy = api
        .post(&format!("/api/cities/{city_id}/strategies"), json!({"title": "Estrategia e2e", "template": "seed"}))
        .await
        .expect(201);
    let sections = strategy["sections"].as_array().expect("sections");
    assert!(sections.len() >= 2, "the seed template has sections: {strategy}");
    let mut assign = Vec::new();
    for (section, area) in sections.iter().zip([&area_a, &area_b]) {
        let id = section["id"].as_str().expect("section id").to_owned();
        let answer = api.put(&format!("/api/sections/{id}/area"), json!({"area_id": area})).await.expect(200);
        assert_eq!(answer["area_id"], json!(area));
        let doc_url = section["doc_url"].as_str().expect("doc_url").to_owned();
        let doc_id = DocumentId::parse_url(&doc_url).expect("doc_url is an automerge URL");
        assign.push(Section { id, doc_url, doc_id, area_id: area.clone() });
    }
    City {
        id: city_id,
        admin: Person { email: admin_email.to_owned(), member_id: None, token: admin_token },
        area_a,
        area_b,
        coordinator: person(0),
        editor_a: person(1),
        editor_b: person(2),
        observer: person(3),
        stakeholder: person(4),
        outsider: person(5),
        strategy_id: strategy["id"].as_str().expect("strategy id").to_owned(),
        section_b: assign.pop().expect("two sections"),
        section_a: assign.pop().expect("two sections"),
    }
}

// ---------------------------------------------------------------------------------------------
// Client processes: tests/js/client.mjs and samod-client

/// A running scenario client (`client.mjs` or `samod-client`): JSON lines on stdout, the last
/// one carrying `ok`; stdin for `waitLine` barriers. Killed when dropped.
pub struct Client {
    pub name: String,
    child: Child,
    stdin: Option<ChildStdin>,
    lines: mpsc::UnboundedReceiver<String>,
    seen: Vec<Value>,
    stderr: Arc<Mutex<Vec<String>>>,
    started: Instant,
}

/// How a client ended.
#[derive(Debug)]
pub struct Outcome {
    pub name: String,
    /// The exit code (0 ok, 1 error, 2 timeout, 3 unavailable, 4 no connection).
    pub code: Option<i32>,
    /// The last JSON line (the one with `ok`).
    pub last: Value,
    /// From spawn to exit.
    pub elapsed: Duration,
    stderr: String,
}

impl Outcome {
    /// Asserts exit code 0 and `ok: true`; returns the last line.
    #[track_caller]
    pub fn ok(&self) -> &Value {
        assert!(self.code == Some(0) && self.last["ok"] == true, "{} failed: {self}", self.name);
        &self.last
    }

    /// Asserts this exit code.
    #[track_caller]
    pub fn expect_code(&self, code: i32) -> &Value {
        assert_eq!(self.code, Some(code), "{} exited unexpectedly: {self}", self.name);
        &self.last
    }
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "exit {:?} after {:?}; last line {}; stderr:\n{}", self.code, self.elapsed, self.last, self.stderr)
    }
}

impl Client {
    /// Starts `node tests/js/client.mjs <scenario>`.
    pub fn js(name: &str, scenario: &Value) -> Client {
        let mut cmd = Command::new("node");
        cmd.arg(js_client_script()).arg(scenario.to_string());
        Self::spawn(name, cmd)
    }

    /// Starts `samod-client <scenario>`.
    pub fn samod(name: &str, scenario: &Value) -> Client {
        let mut cmd = Command::new(samod_client_bin());
        cmd.arg(scenario.to_string());
        Self::spawn(name, cmd)
    }

    fn spawn(name: &str, mut cmd: Command) -> Client {
        cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).kill_on_drop(true);
        let mut child = cmd.spawn().unwrap_or_else(|e| panic!("cannot start client {name}: {e}"));
        let (tx, rx) = mpsc::unbounded_channel();
        let stdout = child.stdout.take().expect("stdout is piped");
        tokio::spawn(async move {
            let mut lines = BufReader::new(stdout).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let err_lines = stderr.clone();
        let err = child.stderr.take().expect("stderr is piped");
        tokio::spawn(async move {
            let mut lines = BufReader::new(err).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                err_lines.lock().expect("stderr lock").push(line);
            }
        });
        Client {
            name: name.to_owned(),
            stdin: child.stdin.take(),
            child,
            lines: rx,
            seen: Vec::new(),
            stderr,
            started: Instant::now(),
        }
    }

    fn stderr_tail(&self) -> String {
        let lines = self.stderr.lock().expect("stderr lock");
        lines[lines.len().saturating_sub(40)..].join("\n")
    }

    /// The next JSON line, or `None` at end of output or when `deadline` passes.
    pub async fn next_line(&mut self, deadline: Instant) -> Option<Value> {
        let line = tokio::time::timeout_at(deadline.into(), self.lines.recv()).await.ok()??;
        let value: Value = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("{}: stdout line is not JSON ({e}): {line}", self.name));
        self.seen.push(value.clone());
        Some(value)
    }

    /// Reads lines until one satisfies `pred`; panics (with the output so far) at the end of
    /// output or after `within`.
    pub async fn wait_for(&mut self, what: &str, within: Duration, pred: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + within;
        loop {
            match self.next_line(deadline).await {
                Some(line) if pred(&line) => return line,
                Some(_) => {}
                None => panic!(
                    "{}: no line with {what} within {within:?} (or the client ended); lines: {:#?}\nstderr:\n{}",
                    self.name,
                    self.seen,
                    self.stderr_tail()
                ),
            }
        }
    }

    /// Writes one line to the client's stdin (for `waitLine`).
    pub async fn send_line(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().expect("stdin is open");
        stdin.write_all(format!("{line}\n").as_bytes()).await.expect("write to the client's stdin");
        stdin.flush().await.expect("flush the client's stdin");
    }

    /// Reads the rest of the output and waits for the exit, within `within`; kills the client
    /// and panics past it.
    pub async fn finish(mut self, within: Duration) -> Outcome {
        let deadline = Instant::now() + within;
        while self.next_line(deadline).await.is_some() {}
        let status = match tokio::time::timeout_at(deadline.into(), self.child.wait()).await {
            Ok(status) => status.expect("wait for the client"),
            Err(_) => {
                let _ = self.child.start_kill();
                panic!(
                    "{} did not exit within {within:?}; lines: {:#?}\nstderr:\n{}",
                    self.name,
                    self.seen,
                    self.stderr_tail()
                );
            }
        };
        let last = self.seen.iter().rev().find(|l| l.get("ok").is_some()).cloned().unwrap_or(Value::Null);
        Outcome {
            name: self.name.clone(),
            code: status.code(),
            last,
            elapsed: self.started.elapsed(),
            stderr: self.stderr_tail(),
        }
    }
}

/// Runs a JS scenario to its end (its own `timeoutMs` plus a margin bounds the wait).
pub async fn run_js(name: &str, scenario: &Value) -> Outcome {
    let timeout = scenario["timeoutMs"].as_u64().unwrap_or(30_000);
    Client::js(name, scenario).finish(Duration::from_millis(timeout + 10_000)).await
}

// ---------------------------------------------------------------------------------------------
// A bare protocol peer: automerge-repo WebSocket protocol v1 over tokio-tungstenite

type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// What [`Peer::recv`] got.
#[derive(Debug)]
pub enum Recv {
    /// A decoded protocol message.
    Msg(WireMessage),
    /// The socket closed or failed.
    Closed(String),
    /// Nothing within the time given.
    Timeout,
}

/// A protocol-level client: joins, then sends and receives [`WireMessage`]s.
pub struct Peer {
    ws: Ws,
    pub peer_id: String,
    pub server_id: String,
}

impl Peer {
    /// Connects to `url`, sends `join`, and waits (10 s) for the server's `peer`.
    pub async fn connect(url: &str) -> anyhow::Result<Peer> {
        Self::connect_with(url, &[]).await
    }

    /// [`Peer::connect`] with extra upgrade request headers (`authorization`, `cookie`, `origin`).
    pub async fn connect_with(url: &str, headers: &[(&str, &str)]) -> anyhow::Result<Peer> {
        let (ws, _) = tokio::time::timeout(
            Duration::from_secs(10),
            tokio_tungstenite::connect_async(upgrade_request(url, headers)),
        )
        .await
        .context("connecting timed out")??;
        let peer_id = format!("e2e-{}", uuid::Uuid::new_v4().simple());
        let mut peer = Peer { ws, peer_id: peer_id.clone(), server_id: String::new() };
        peer.send(&WireMessage::Join {
            sender_id: peer_id,
            metadata: Some(PeerMetadata { storage_id: None, is_ephemeral: true }),
            supported_protocol_versions: vec!["1".into()],
        })
        .await?;
        match peer.recv(Duration::from_secs(10)).await {
            Recv::Msg(WireMessage::Peer { sender_id, .. }) => peer.server_id = sender_id,
            other => bail!("expected a peer message, got {other:?}"),
        }
        Ok(peer)
    }

    /// Sends one message as a binary frame.
    pub async fn send(&mut self, msg: &WireMessage) -> anyhow::Result<()> {
        self.ws.send(WsMessage::Binary(msg.encode().into())).await.context("sending a frame")
    }

    /// Sends a `sync` (or, with `request`, a `request`) carrying `msg` for `doc`.
    pub async fn send_sync(&mut self, doc: DocumentId, msg: &SyncMessage, request: bool) -> anyhow::Result<()> {
        let (sender_id, target_id, document_id, data) =
            (self.peer_id.clone(), self.server_id.clone(), doc, msg.clone().encode());
        let wire = if request {
            WireMessage::Request { sender_id, target_id, document_id, data }
        } else {
            WireMessage::Sync { sender_id, target_id, document_id, data }
        };
        self.send(&wire).await
    }

    /// The next protocol message within `within`.
    pub async fn recv(&mut self, within: Duration) -> Recv {
        recv_from(&mut self.ws, within).await
    }

    /// Splits into a sender half and a receiver half (for writing and reading at once).
    pub fn split(self) -> (PeerTx, PeerRx) {
        let (sink, stream) = self.ws.split();
        (PeerTx { sink, peer_id: self.peer_id.clone(), server_id: self.server_id.clone() }, PeerRx { stream })
    }
}

fn upgrade_request(url: &str, headers: &[(&str, &str)]) -> tokio_tungstenite::tungstenite::handshake::client::Request {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    use tokio_tungstenite::tungstenite::http::{HeaderName, HeaderValue};
    let mut request = url.into_client_request().expect("a valid WebSocket URL");
    for (name, value) in headers {
        request.headers_mut().insert(
            HeaderName::from_bytes(name.as_bytes()).expect("a header name"),
            HeaderValue::from_str(value).expect("a header value"),
        );
    }
    request
}

/// The HTTP status the WebSocket upgrade of `url` gets with these headers (101 when it
/// succeeds).
pub async fn upgrade_status(url: &str, headers: &[(&str, &str)]) -> u16 {
    use tokio_tungstenite::tungstenite::Error;
    match tokio::time::timeout(Duration::from_secs(10), tokio_tungstenite::connect_async(upgrade_request(url, headers)))
        .await
    {
        Ok(Ok((_, response))) => response.status().as_u16(),
        Ok(Err(Error::Http(response))) => response.status().as_u16(),
        Ok(Err(e)) => panic!("upgrading {url}: {e}"),
        Err(_) => panic!("upgrading {url} timed out"),
    }
}

/// The sending half of a [`Peer`].
pub struct PeerTx {
    sink: futures_util::stream::SplitSink<Ws, WsMessage>,
    pub peer_id: String,
    pub server_id: String,
}

impl PeerTx {
    /// Sends a `sync` carrying `msg` for `doc`.
    pub async fn send_sync(&mut self, doc: DocumentId, msg: &SyncMessage) -> anyhow::Result<()> {
        let wire = WireMessage::Sync {
            sender_id: self.peer_id.clone(),
            target_id: self.server_id.clone(),
            document_id: doc,
            data: msg.clone().encode(),
        };
        self.sink.send(WsMessage::Binary(wire.encode().into())).await.context("sending a frame")
    }
}

/// The receiving half of a [`Peer`].
pub struct PeerRx {
    stream: futures_util::stream::SplitStream<Ws>,
}

impl PeerRx {
    /// The next protocol message within `within`.
    pub async fn recv(&mut self, within: Duration) -> Recv {
        recv_from(&mut self.stream, within).await
    }
}

/// The next protocol message on `stream` within `within` (other WebSocket frames skipped).
async fn recv_from<S>(stream: &mut S, within: Duration) -> Recv
where
    S: futures_util::Stream<Item = Result<WsMessage, tokio_tungstenite::tungstenite::Error>> + Unpin,
{
    let deadline = tokio::time::Instant::now() + within;
    loop {
        match tokio::time::timeout_at(deadline, stream.next()).await {
            Err(_) => return Recv::Timeout,
            Ok(None) => return Recv::Closed("end of stream".into()),
            Ok(Some(Err(e))) => return Recv::Closed(e.to_string()),
            Ok(Some(Ok(WsMessage::Binary(data)))) => {
                return match WireMessage::decode(&data) {
                    Ok(msg) => Recv::Msg(msg),
                    Err(e) => Recv::Closed(format!("undecodable frame from the server: {e}")),
                };
            }
            Ok(Some(Ok(WsMessage::Close(frame)))) => return Recv::Closed(format!("close frame {frame:?}")),
            Ok(Some(Ok(_))) => {}
        }
    }
}

/// Whether `doc` holds every change in `heads`.
pub fn has_all(doc: &mut AutoCommit, heads: &[ChangeHash]) -> bool {
    heads.iter().all(|h| doc.get_change_by_hash(h).is_some())
}

/// A document synced to the server's state through `peer`: sends a `request` from an empty
/// document and answers until the server's advertised heads are all here (within `within`).
/// Fails on `doc-unavailable`, `error` or a closed socket.
pub async fn load_doc(peer: &mut Peer, doc_id: DocumentId, within: Duration) -> anyhow::Result<AutoCommit> {
    Ok(load_doc_state(peer, doc_id, within).await?.0)
}

/// [`load_doc`], also returning the sync state to go on syncing with.
pub async fn load_doc_state(
    peer: &mut Peer,
    doc_id: DocumentId,
    within: Duration,
) -> anyhow::Result<(AutoCommit, SyncState)> {
    let deadline = Instant::now() + within;
    let mut doc = AutoCommit::new();
    let mut state = SyncState::new();
    let first = doc.sync().generate_sync_message(&mut state).context("an empty document has a first message")?;
    peer.send_sync(doc_id, &first, true).await?;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match peer.recv(left).await {
            Recv::Msg(WireMessage::Sync { document_id, data, .. }) if document_id == doc_id => {
                let msg = SyncMessage::decode(&data).context("a sync message from the server")?;
                let heads = msg.heads.clone();
                doc.sync().receive_sync_message(&mut state, msg).context("applying the server's sync message")?;
                if let Some(reply) = doc.sync().generate_sync_message(&mut state) {
                    peer.send_sync(doc_id, &reply, false).await?;
                }
                if !heads.is_empty() && has_all(&mut doc, &heads) && doc.get_heads() == sorted(heads) {
                    return Ok((doc, state));
                }
            }
            Recv::Msg(WireMessage::DocUnavailable { .. }) => bail!("doc-unavailable for {doc_id}"),
            Recv::Msg(WireMessage::Error { message }) => bail!("error from the server: {message}"),
            Recv::Msg(_) => {}
            Recv::Closed(why) => bail!("the connection closed while loading: {why}"),
            Recv::Timeout => bail!("the document did not load within {within:?}"),
        }
    }
}

/// The value of a counter on `server`'s `/metrics` (0 before it first counts; the sum of its
/// labelled series).
pub async fn counter(server: &Server, name: &str) -> u64 {
    let text = reqwest::get(server.url("/metrics")).await.expect("/metrics").text().await.expect("metrics text");
    text.lines()
        .filter(|l| l.starts_with(name) && !l.starts_with('#'))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .map(|v| v as u64)
        .sum()
}

/// What a client with nothing sends first (in a `request`).
pub fn empty_request() -> SyncMessage {
    AutoCommit::new()
        .sync()
        .generate_sync_message(&mut SyncState::new())
        .expect("an empty document has a first message")
}

fn sorted(mut heads: Vec<ChangeHash>) -> Vec<ChangeHash> {
    heads.sort();
    heads
}

/// The text at `key` of the document root (`""` when absent or not text).
pub fn root_text(doc: &AutoCommit, key: &str) -> String {
    use automerge::ReadDoc;
    match doc.get(automerge::ROOT, key) {
        Ok(Some((_, obj))) => doc.text(&obj).unwrap_or_default(),
        _ => String::new(),
    }
}

// ---------------------------------------------------------------------------------------------
// Benchmark results

/// Replaces (or appends) the block `<!-- bench:{name}:start -->` … `end -->` of the results
/// file with `body`; the other blocks stay as they are.
pub fn write_results_block(file: &str, name: &str, body: &str) {
    let start = format!("<!-- bench:{name}:start -->");
    let end = format!("<!-- bench:{name}:end -->");
    let text = format!("{start}\n{body}{end}");
    let current = std::fs::read_to_string(file).unwrap_or_default();
    let updated = match (current.find(&start), current.find(&end)) {
        (Some(a), Some(b)) if b > a => format!("{}{}{}", &current[..a], text, &current[b + end.len()..]),
        _ => format!("{}\n\n{}\n", current.trim_end(), text),
    };
    std::fs::write(file, updated).unwrap_or_else(|e| panic!("cannot write {file}: {e}"));
    eprintln!("wrote {file}");
}
