//! A samod client driven by the same JSON scenarios as tests/js/client.mjs (a subset):
//!
//!   samod-client '{"url":"ws://127.0.0.1:PORT/sync?token=T","doc":"automerge:…",
//!                  "actions":[{"splice":{"path":["body"],"index":0,"text":"hola "}},
//!                             {"waitFor":{"path":["body"],"contains":"mundo"}}],
//!                  "timeoutMs":15000}'
//!
//! Top level: url, doc | create {title, body}, actions, timeoutMs (30000), syncBeforeExit (true).
//! Actions: splice {path, index (number | "end"), del, text}, updateText {path, text},
//! set {path, value, immutable}, waitFor {path, equals | contains | notContains, timeoutMs},
//! waitSynced, waitLine "<line on stdin>", sleep <ms>, print.
//! Text indexes count Unicode code points (JS counts UTF-16 units: the same for BMP text).
//! stdout: JSON lines; the last has "ok". Exit codes as client.mjs: 0 ok, 1 error, 2 timeout,
//! 3 doc unavailable, 4 no connection (refused or HTTP status).

use std::{
    collections::VecDeque,
    str::FromStr,
    sync::{Arc, Mutex},
    time::Duration,
};

use automerge::{
    Automerge, ObjId, ObjType, ROOT, ReadDoc, ScalarValue, Value, transaction::Transactable,
};
use concerta_bench_samod::WsDialer;
use futures::StreamExt;
use samod::{AutomergeUrl, BackoffConfig, DialerEvent, DialerFailed, DocHandle, Repo, Url};
use serde_json::{Value as Json, json};
use tokio::{io::AsyncBufReadExt, time::Instant};

struct Failure {
    code: i32,
    error: String,
    extra: Json,
}

fn fail<T>(code: i32, error: impl Into<String>) -> Result<T, Failure> {
    Err(Failure {
        code,
        error: error.into(),
        extra: json!({}),
    })
}

impl From<automerge::AutomergeError> for Failure {
    fn from(e: automerge::AutomergeError) -> Self {
        Failure {
            code: 1,
            error: e.to_string(),
            extra: json!({}),
        }
    }
}

#[derive(Default)]
struct Observed {
    disconnects: Vec<String>,
    stdin: VecDeque<String>,
    stdin_started: bool,
}

struct Client {
    repo: Repo,
    server_peer: Json,
    handle: Option<DocHandle>,
    observed: Arc<Mutex<Observed>>,
    deadline: Instant,
}

fn path_of(spec: &Json) -> Result<Vec<String>, Failure> {
    let Some(items) = spec.get("path").and_then(Json::as_array) else {
        return fail(1, "missing path");
    };
    items
        .iter()
        .map(|p| p.as_str().map(str::to_string).ok_or(()))
        .collect::<Result<_, _>>()
        .or_else(|_| fail(1, "path items must be map keys (strings)"))
}

/// The object at `path`, walking map keys from the root.
fn obj_at(doc: &impl ReadDoc, path: &[String]) -> Option<ObjId> {
    let mut obj = ROOT;
    for key in path {
        match doc.get(&obj, key.as_str()).ok()?? {
            (Value::Object(_), id) => obj = id,
            _ => return None,
        }
    }
    Some(obj)
}

/// The value at `path` as text: automerge text as its string, a scalar string as itself.
fn text_at(doc: &Automerge, path: &[String]) -> Option<String> {
    let (last, parent) = path.split_last()?;
    let parent = obj_at(doc, parent)?;
    match doc.get(&parent, last.as_str()).ok()?? {
        (Value::Object(ObjType::Text), id) => doc.text(&id).ok(),
        (Value::Scalar(s), _) => match s.as_ref() {
            ScalarValue::Str(s) => Some(s.to_string()),
            other => Some(other.to_string()),
        },
        (Value::Object(t), _) => Some(format!("<{t:?}>")),
    }
}

fn sorted_heads(doc: &Automerge) -> Vec<String> {
    let mut heads: Vec<String> = doc.get_heads().iter().map(|h| h.to_string()).collect();
    heads.sort();
    heads
}

fn matches(value: Option<&str>, spec: &Json) -> bool {
    let want = |k: &str| spec.get(k).and_then(Json::as_str);
    want("equals").is_none_or(|w| value == Some(w))
        && want("contains").is_none_or(|w| value.is_some_and(|v| v.contains(w)))
        && want("notContains").is_none_or(|w| value.is_some_and(|v| !v.contains(w)))
}

impl Client {
    fn handle(&self) -> &DocHandle {
        self.handle.as_ref().expect("document opened")
    }

    fn state(&self) -> Json {
        let observed = self.observed.lock().unwrap();
        let server_errors: Vec<&str> = observed
            .disconnects
            .iter()
            .filter_map(|r| r.split_once("peer reported an error: ").map(|(_, m)| m))
            .collect();
        let mut out = json!({
            "disconnects": observed.disconnects,
            "serverErrors": server_errors,
            "serverPeer": self.server_peer,
        });
        if let Some(handle) = &self.handle {
            let (peers, _) = handle.peers();
            let peer_read_only = peers.values().any(|p| p.peer_read_only);
            handle.with_document(|doc| {
                let mut keys: Vec<String> = doc.keys(ROOT).collect();
                keys.sort();
                out["url"] = json!(handle.url().to_string());
                out["documentId"] = json!(handle.document_id().to_string());
                out["heads"] = json!(sorted_heads(doc));
                out["title"] = json!(text_at(doc, &["title".into()]));
                out["body"] = json!(text_at(doc, &["body".into()]));
                out["keys"] = json!(keys);
                out["peerReadOnly"] = json!(peer_read_only);
            });
        }
        out
    }

    /// Poll `pred` every 10 ms until it holds, the step's own timeout, or the overall deadline.
    async fn wait_until(
        &self,
        what: &str,
        timeout_ms: Option<u64>,
        mut pred: impl FnMut(&Self) -> bool,
    ) -> Result<(), Failure> {
        let until = timeout_ms
            .map(|ms| (Instant::now() + Duration::from_millis(ms)).min(self.deadline))
            .unwrap_or(self.deadline);
        loop {
            if pred(self) {
                return Ok(());
            }
            if Instant::now() >= until {
                return fail(2, format!("timeout waiting for {what}"));
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    fn synced(&self) -> bool {
        let handle = self.handle();
        let ours = handle.with_document(|doc| doc.get_heads());
        let (peers, _) = handle.peers();
        peers.values().any(|p| {
            p.shared_heads.as_ref().is_some_and(|h| {
                let mut h = h.clone();
                let mut o = ours.clone();
                h.sort();
                o.sort();
                h == o
            })
        })
    }

    fn take_line(&self, want: &Json) -> bool {
        let mut observed = self.observed.lock().unwrap();
        if !observed.stdin_started {
            observed.stdin_started = true;
            let observed = self.observed.clone();
            tokio::spawn(async move {
                let mut lines = tokio::io::BufReader::new(tokio::io::stdin()).lines();
                while let Ok(Some(line)) = lines.next_line().await {
                    observed
                        .lock()
                        .unwrap()
                        .stdin
                        .push_back(line.trim().to_string());
                }
            });
        }
        let pos = observed
            .stdin
            .iter()
            .position(|l| want == &Json::Bool(true) || want.as_str() == Some(l));
        pos.map(|i| observed.stdin.remove(i)).is_some()
    }

    async fn run_action(&self, action: &Json) -> Result<(), Failure> {
        let Some((kind, spec)) = action.as_object().and_then(|o| o.iter().next()) else {
            return fail(1, format!("bad action {action}"));
        };
        let timeout_ms = spec.get("timeoutMs").and_then(Json::as_u64);
        match kind.as_str() {
            "splice" | "updateText" | "set" => {
                let path = path_of(spec)?;
                let Some((key, parent)) = path.split_last() else {
                    return fail(1, "empty path");
                };
                self.handle().with_document(|doc| {
                    let parent = obj_at(doc, parent)
                        .ok_or(())
                        .or_else(|_| fail(1, "no such path"))?;
                    let mut tx = doc.transaction();
                    let target = || match tx_get_text(&tx, &parent, key) {
                        Some(id) => Ok(id),
                        None => fail(1, format!("{} is not text", path.join("."))),
                    };
                    match kind.as_str() {
                        "splice" => {
                            let obj = target()?;
                            let index = match spec.get("index") {
                                Some(Json::String(s)) if s == "end" => tx.length(&obj),
                                Some(i) => i.as_u64().unwrap_or(0) as usize,
                                None => 0,
                            };
                            let del = spec.get("del").and_then(Json::as_i64).unwrap_or(0) as isize;
                            let text = spec.get("text").and_then(Json::as_str).unwrap_or("");
                            tx.splice_text(&obj, index, del, text)?;
                        }
                        "updateText" => {
                            let obj = target()?;
                            tx.update_text(
                                &obj,
                                spec.get("text").and_then(Json::as_str).unwrap_or(""),
                            )?;
                        }
                        _ => match spec.get("value") {
                            // A string becomes automerge text, as `d.title = "…"` does in JS.
                            Some(Json::String(s))
                                if !spec
                                    .get("immutable")
                                    .and_then(Json::as_bool)
                                    .unwrap_or(false) =>
                            {
                                let obj = tx.put_object(&parent, key.as_str(), ObjType::Text)?;
                                tx.splice_text(&obj, 0, 0, s)?;
                            }
                            Some(Json::String(s)) => tx.put(&parent, key.as_str(), s.as_str())?,
                            Some(Json::Bool(b)) => tx.put(&parent, key.as_str(), *b)?,
                            Some(Json::Number(n)) if n.is_i64() => {
                                tx.put(&parent, key.as_str(), n.as_i64().unwrap())?
                            }
                            Some(Json::Number(n)) => {
                                tx.put(&parent, key.as_str(), n.as_f64().unwrap_or(0.0))?
                            }
                            Some(Json::Null) => tx.put(&parent, key.as_str(), ScalarValue::Null)?,
                            _ => {
                                return fail(1, "set: value must be a string, number, bool or null");
                            }
                        },
                    }
                    tx.commit();
                    Ok(())
                })?;
            }
            "waitFor" => {
                let path = path_of(spec)?;
                self.wait_until(&format!("{} {spec}", path.join(".")), timeout_ms, |c| {
                    c.handle()
                        .with_document(|doc| matches(text_at(doc, &path).as_deref(), spec))
                })
                .await?;
            }
            "waitSynced" => {
                self.wait_until("the server to have our heads", timeout_ms, Client::synced)
                    .await?
            }
            "waitLine" => {
                self.wait_until(&format!("stdin line {spec}"), None, |c| c.take_line(spec))
                    .await?
            }
            "sleep" => tokio::time::sleep(Duration::from_millis(spec.as_u64().unwrap_or(0))).await,
            "print" => {
                let mut st = self.state();
                st["event"] = json!("state");
                println!("{st}");
            }
            other => return fail(1, format!("unknown action {other}")),
        }
        Ok(())
    }
}

fn tx_get_text(tx: &impl ReadDoc, parent: &ObjId, key: &str) -> Option<ObjId> {
    match tx.get(parent, key).ok()?? {
        (Value::Object(ObjType::Text), id) => Some(id),
        _ => None,
    }
}

async fn run(
    client: &mut Client,
    args: &Json,
    dialer: &samod::DialerHandle<concerta_bench_samod::UpgradeRejected>,
) -> Result<(), Failure> {
    // Wait for the connection (or its permanent failure) before looking anything up.
    match tokio::time::timeout_at(client.deadline, dialer.established()).await {
        Ok(Ok(peer)) => {
            // Only the peer id: samod 0.16 fills PeerInfo::storage_id with OUR storage id
            // (samod-core builds the handshake's PeerInfo from the local metadata).
            client.server_peer = json!({ "senderId": peer.peer_id.to_string() });
        }
        Ok(Err(DialerFailed::PermanentFailure(e))) => {
            return Err(Failure {
                code: 4,
                error: e.to_string(),
                extra: json!({"httpStatus": e.0}),
            });
        }
        Ok(Err(e)) => return fail(4, format!("could not connect: {e:?}")),
        Err(_) => {
            return fail(
                4,
                format!("could not connect to {} before the deadline", args["url"]),
            );
        }
    }

    if let Some(create) = args.get("create") {
        let mut doc = Automerge::new();
        let mut tx = doc.transaction();
        for key in ["title", "body"] {
            let obj = tx.put_object(ROOT, key, ObjType::Text)?;
            tx.splice_text(
                &obj,
                0,
                0,
                create.get(key).and_then(Json::as_str).unwrap_or(""),
            )?;
        }
        tx.commit();
        let handle = client
            .repo
            .create(doc)
            .await
            .or_else(|_| fail(1, "repo stopped"))?;
        println!(
            "{}",
            json!({"event": "created", "url": handle.url().to_string(), "documentId": handle.document_id().to_string()})
        );
        client.handle = Some(handle);
    } else {
        let Some(url) = args.get("doc").and_then(Json::as_str) else {
            return fail(1, "need doc (automerge URL) or create ({title, body})");
        };
        let url =
            AutomergeUrl::from_str(url).or_else(|e| fail(1, format!("bad doc url: {e:?}")))?;
        match tokio::time::timeout_at(client.deadline, client.repo.find(url.document_id().clone()))
            .await
        {
            Ok(Ok(Some(handle))) => client.handle = Some(handle),
            Ok(Ok(None)) => {
                return Err(Failure {
                    code: 3,
                    error: format!("Document {url} is unavailable"),
                    extra: json!({"unavailable": true}),
                });
            }
            Ok(Err(_)) => return fail(1, "repo stopped"),
            Err(_) => return fail(2, "timeout finding the document"),
        }
    }

    for action in args
        .get("actions")
        .and_then(Json::as_array)
        .into_iter()
        .flatten()
    {
        client.run_action(action).await?;
    }
    if args
        .get("syncBeforeExit")
        .and_then(Json::as_bool)
        .unwrap_or(true)
    {
        client.run_action(&json!({"waitSynced": {}})).await?;
    }
    Ok(())
}

#[tokio::main]
async fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();

    let args: Json = match std::env::args().nth(1).map(|a| serde_json::from_str(&a)) {
        Some(Ok(v)) => v,
        other => {
            println!(
                "{}",
                json!({"ok": false, "error": format!("usage: samod-client '<json>' ({other:?})")})
            );
            std::process::exit(1);
        }
    };
    let timeout_ms = args
        .get("timeoutMs")
        .and_then(Json::as_u64)
        .unwrap_or(30_000);
    let Some(url) = args
        .get("url")
        .and_then(Json::as_str)
        .and_then(|u| Url::parse(u).ok())
    else {
        println!("{}", json!({"ok": false, "error": "missing or bad url"}));
        std::process::exit(1);
    };

    let repo = Repo::build_tokio().load().await;
    let backoff = BackoffConfig {
        initial_delay: Duration::from_millis(100),
        max_delay: Duration::from_secs(1),
        max_retries: None,
    };
    // Leaked: lives as long as this process, and `events()` borrows it for the spawned task.
    let dialer: &'static _ = Box::leak(Box::new(
        repo.dial(backoff, WsDialer::new(url))
            .expect("repo running"),
    ));
    let observed = Arc::new(Mutex::new(Observed::default()));
    {
        let observed = observed.clone();
        let mut events = dialer.events();
        tokio::spawn(async move {
            while let Some(event) = events.next().await {
                if let DialerEvent::Disconnected { reason } = event {
                    eprintln!("[samod-client] disconnected: {reason}");
                    observed.lock().unwrap().disconnects.push(reason);
                }
            }
        });
    }

    let mut client = Client {
        repo: repo.clone(),
        server_peer: Json::Null,
        handle: None,
        observed,
        deadline: Instant::now() + Duration::from_millis(timeout_ms),
    };
    let result = run(&mut client, &args, dialer).await;
    let (code, mut out) = match result {
        Ok(()) => (0, json!({"ok": true})),
        Err(Failure { code, error, extra }) => {
            let mut out = json!({"ok": false, "error": error});
            for (k, v) in extra.as_object().into_iter().flatten() {
                out[k] = v.clone();
            }
            (code, out)
        }
    };
    for (k, v) in client.state().as_object().into_iter().flatten() {
        if out.get(k).is_none() {
            out[k] = v.clone();
        }
    }
    println!("{out}");
    let _ = tokio::time::timeout(Duration::from_secs(1), repo.stop()).await;
    std::process::exit(code);
}
