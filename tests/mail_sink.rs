//! The SMTP server of the mail tests and of `cargo xtask bench-mail`: `tests/smtp/sink.py`
//! (Python's aiosmtpd) as a child process, reporting each accepted message as parsed by
//! Python's `email` package.
//!
//! Python with aiosmtpd and icalendar: `CONCERTA_SMTP_PYTHON` (set by `cargo xtask ci`, which
//! installs them), else the venv `cargo xtask ci` makes (`~/.cache/concerta-smtp-venv`), else
//! `python3` if it has both. `tests/smtp/ical.py` parses calendar parts with `icalendar`.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use crate::Server;

/// The sink's script.
pub fn sink_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("smtp/sink.py")
}

/// The calendar parser's script (Python's `icalendar`).
pub fn ical_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("smtp/ical.py")
}

/// What Python's `icalendar` reads in the iCalendar object `text` (see `tests/smtp/ical.py`).
pub fn parse_ical(python: &str, text: &str) -> Value {
    use std::io::Write as _;
    let mut child = std::process::Command::new(python)
        .arg(ical_script())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the iCalendar parser");
    child.stdin.take().expect("stdin").write_all(text.as_bytes()).expect("write the calendar");
    let out = child.wait_with_output().expect("the iCalendar parser");
    assert!(out.status.success(), "icalendar refused the object: {}\n{text}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("JSON from the iCalendar parser")
}

/// A Python that has aiosmtpd and icalendar, or `None` (the test then says why and passes,
/// outside CI).
pub fn smtp_python() -> Option<String> {
    let has = |python: &str| {
        std::process::Command::new(python)
            .args(["-c", "import aiosmtpd, icalendar"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    let mut candidates = Vec::new();
    if let Ok(p) = std::env::var("CONCERTA_SMTP_PYTHON") {
        candidates.push(p);
    }
    if let Some(home) = std::env::var_os("HOME") {
        candidates.push(Path::new(&home).join(".cache/concerta-smtp-venv/bin/python").display().to_string());
    }
    candidates.push("python3".to_owned());
    let found = candidates.into_iter().find(|p| has(p));
    if found.is_none() {
        assert!(
            std::env::var_os("CI").is_none(),
            "no Python with aiosmtpd and icalendar under CI: `cargo xtask ci` installs them (set CONCERTA_SMTP_PYTHON)"
        );
        eprintln!("skipping: no Python with aiosmtpd and icalendar (run `cargo xtask ci`, or `python3 -m pip install aiosmtpd icalendar`)");
    }
    found
}

/// A port nothing listens on (yet).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").expect("bind port 0").local_addr().expect("address").port()
}

/// The SMTP sink: a child process, its reports (one JSON object per accepted message).
pub struct Sink {
    child: Child,
    pub port: u16,
    _dir: tempfile::TempDir,
    received: Arc<Mutex<Vec<Value>>>,
}

impl Sink {
    /// Starts the sink on `port` with `extra` arguments (`--reject bounce`, `--delay-ms 20`)
    /// and waits until it listens.
    pub async fn start(python: &str, port: u16, extra: &[&str]) -> Sink {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let mut child = Command::new(python)
            .arg(sink_script())
            .args(["--port", &port.to_string(), "--dir"])
            .arg(dir.path())
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("start the SMTP sink");
        let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
        let first = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
            .await
            .expect("the SMTP sink starts within 30 s")
            .expect("read the sink")
            .expect("the sink printed a line");
        assert_eq!(serde_json::from_str::<Value>(&first).expect("JSON")["listening"], json!(port));
        let received = Arc::new(Mutex::new(Vec::new()));
        let sink = received.clone();
        tokio::spawn(async move {
            while let Ok(Some(line)) = lines.next_line().await {
                if let Ok(v) = serde_json::from_str::<Value>(&line) {
                    sink.lock().expect("lock").push(v);
                }
            }
        });
        Sink { child, port, _dir: dir, received }
    }

    /// `smtp://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// Every message accepted so far.
    pub fn received(&self) -> Vec<Value> {
        self.received.lock().expect("lock").clone()
    }

    /// Polls until at least `n` messages arrived.
    pub async fn wait_for(&self, n: usize, within: Duration, server: &Server) -> Vec<Value> {
        let deadline = Instant::now() + within;
        loop {
            let got = self.received();
            if got.len() >= n {
                return got;
            }
            assert!(Instant::now() < deadline, "{} of {n} messages arrived within {within:?}:\n{}", got.len(), server.log_tail(40));
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Stops the sink.
    pub async fn stop(mut self) {
        let _ = self.child.start_kill();
        let _ = self.child.wait().await;
    }
}

