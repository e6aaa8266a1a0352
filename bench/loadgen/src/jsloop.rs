//! `loadgen jsloop`: the official JavaScript client (`@automerge/automerge-repo` 2.5.x, all
//! clients in one Node process: `bench/js/closed-loop.mjs`) in closed loops against every
//! server, side by side in one run: 1 section × 10 clients × 100 edits and 20 sections × 3
//! clients × 50 edits. Each client waits until its edit reached every other client of its
//! section before its next one. Concerta runs twice: with relay coalescing off
//! (`CONCERTA_SYNC_COALESCE_MS=0`: every relay at once, every message answered, as before
//! issue 15) and on (`CONCERTA_SYNC_COALESCE_MS=100`), whatever its default.
//!
//! Measured per run: edits delivered, edits/s, client CPU per edit (the Node process),
//! server CPU per edit (`/proc/<pid>/stat`), frames per edit in each direction counted at
//! the clients' sockets (and, for Concerta, from its `/metrics`), the server's peak RSS.
//! Writes its own block of `bench/RESULTS.md` and leaves every other block as it is.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};

use crate::servers::{Kind, Programs, Server};
use crate::{blocks, http, log, loadavg};

/// One closed-loop load.
#[derive(Clone, Copy)]
pub struct Load {
    pub sections: usize,
    pub clients: usize,
    pub edits: usize,
}

impl Load {
    fn label(&self) -> String {
        format!("{} × {} × {}", self.sections, self.clients, self.edits)
    }
}

/// A server as run here: which program, and for Concerta its relay coalescing.
#[derive(Clone, Copy)]
pub struct Variant {
    pub kind: Kind,
    pub coalesce_ms: Option<u64>,
}

impl Variant {
    fn label(&self) -> String {
        match (self.kind, self.coalesce_ms) {
            (Kind::Concerta, Some(0)) => "Concerta, coalescing off".into(),
            (Kind::Concerta, Some(ms)) => format!("Concerta, coalescing {ms} ms"),
            (Kind::Concerta, None) => "Concerta (its default)".into(),
            (Kind::Npm, _) => "JS sync-server (npm)".into(),
            (Kind::Repo2, _) => "JS repo 2.x".into(),
            (Kind::Samod, _) => "samod".into(),
        }
    }
}

pub struct Args {
    pub variants: Vec<Variant>,
    pub loads: Vec<Load>,
    pub programs: Programs,
    pub out: PathBuf,
    pub command: String,
    pub timeout: Duration,
    pub node_cpu: Option<usize>,
}

/// Runs every load against every variant and writes the block.
pub async fn run(args: Args) -> Result<()> {
    let started = Instant::now();
    let root = std::env::temp_dir().join(format!("concerta-jsloop-{}", std::process::id()));
    std::fs::create_dir_all(&root)?;
    let load_before = loadavg();
    let mut rows: Vec<(Variant, Load, Result<Value, String>)> = Vec::new();
    for (i, &variant) in args.variants.iter().enumerate() {
        for &load in &args.loads {
            log(format!("=== {} · {} ===", variant.label(), load.label()));
            let dir = root.join(format!("{i}-{}", load.sections));
            let r = run_one(variant, load, &args, &dir).await.map_err(|e| format!("{e:#}"));
            match &r {
                Ok(v) => log(format!("{v}")),
                Err(e) => log(format!("failed: {e}")),
            }
            rows.push((variant, load, r));
            let md = render(&args, &rows, &load_before, started.elapsed().as_secs_f64());
            blocks::write_block(&args.out, "sync-jsloop", &md)?;
        }
    }
    let _ = std::fs::remove_dir_all(&root);
    log(format!("wrote {} in {:.0} s", args.out.display(), started.elapsed().as_secs_f64()));
    Ok(())
}

async fn run_one(variant: Variant, load: Load, args: &Args, dir: &Path) -> Result<Value> {
    std::fs::create_dir_all(dir)?;
    let mut server = Server::new(variant.kind, dir, &args.programs)?;
    if let Some(ms) = variant.coalesce_ms {
        server.env.push(("CONCERTA_SYNC_COALESCE_MS".into(), ms.to_string()));
    }
    let mut spec = json!({
        "url": server.url(), "sections": load.sections, "clients": load.clients, "edits": load.edits,
        "timeoutMs": args.timeout.as_millis() as u64,
    });
    if variant.kind == Kind::Concerta {
        server.provision_concerta()?;
        server.start()?;
        spec["url"] = json!(server.url());
        spec["docs"] = json!(concerta_doc_urls(&server, load.sections).await?);
        spec["metricsUrl"] = json!(format!("http://127.0.0.1:{}/metrics", server.port));
    } else {
        server.start()?;
    }
    spec["serverPid"] = json!(server.pid());
    let result = node(args, &spec).await;
    server.stop();
    result
}

/// The `doc_url`s of `need` fresh sections.
async fn concerta_doc_urls(server: &Server, need: usize) -> Result<Vec<String>> {
    let token = server.token.clone().context("token")?;
    let port = server.port;
    let city = http::request(port, "POST", "/api/cities", &token, Some(&json!({"name": "Loop", "slug": "loop", "locale": "es"}))).await?;
    let city_id = city["id"].as_str().context("city id")?.to_owned();
    http::request(port, "POST", &format!("/api/cities/{city_id}/members"), &token,
        Some(&json!({"email": "bench@example.org", "name": "A", "role": "coordinator"}))).await?;
    let mut urls = Vec::new();
    for n in 0..100 {
        if urls.len() >= need {
            break;
        }
        let s = http::request(port, "POST", &format!("/api/cities/{city_id}/strategies"), &token,
            Some(&json!({"title": format!("L{n}"), "template": "seed"}))).await?;
        for sec in s["sections"].as_array().context("sections")? {
            urls.push(sec["doc_url"].as_str().context("doc_url")?.to_owned());
        }
    }
    urls.truncate(need);
    if urls.len() < need {
        bail!("only {} sections", urls.len());
    }
    Ok(urls)
}

/// Runs the Node closed loop (pinned to `node_cpu`) and reads its one JSON line.
async fn node(args: &Args, spec: &Value) -> Result<Value> {
    let script = args.programs.js_dir.join("closed-loop.mjs");
    let mut cmd = tokio::process::Command::new(&args.programs.node);
    cmd.arg(&script).arg(spec.to_string()).current_dir(&args.programs.js_dir);
    cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::inherit()).kill_on_drop(true);
    if let Some(cpu) = args.node_cpu {
        // SAFETY: only async-signal-safe calls between fork and exec.
        unsafe {
            cmd.pre_exec(move || {
                let mut set: libc::cpu_set_t = std::mem::zeroed();
                libc::CPU_SET(cpu, &mut set);
                libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set);
                Ok(())
            });
        }
    }
    let limit = args.timeout + Duration::from_secs(180);
    let out = tokio::time::timeout(limit, cmd.output()).await.context("the JS closed loop did not end")??;
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text.lines().last().context("no output from the JS closed loop")?;
    let v: Value = serde_json::from_str(line).with_context(|| format!("not JSON: {line}"))?;
    if v["ok"] != true {
        bail!("the JS closed loop failed: {}", v["error"]);
    }
    Ok(v)
}

fn f(v: &Value, key: &str, digits: usize) -> String {
    match v[key].as_f64() {
        Some(x) if x.is_finite() => format!("{x:.digits$}"),
        _ => "–".into(),
    }
}

fn render(args: &Args, rows: &[(Variant, Load, Result<Value, String>)], load_before: &str, secs: f64) -> String {
    use std::fmt::Write;
    let mut md = String::new();
    let (date, commit) = crate::stamp();
    let _ = writeln!(md, "## Official JS clients in closed loops (issue 15)\n");
    let _ = writeln!(md, "Generated by `{}` ({date}, commit {commit}, {secs:.0} s in all); do not edit by hand.\n", args.command);
    let _ = writeln!(md, "- **Clients:** `bench/js/closed-loop.mjs`: `@automerge/automerge-repo` 2.5.6 (automerge 3.5.0) in one Node process, one `Repo` and WebSocket per client, no storage. Each client splices 3 letters into `body` (every other edit also deleting 4) of a section whose body was prefilled with 2,000 letters, then waits until every other client of its section has that change before its next edit.");
    let _ = writeln!(md, "- **CPU:** server pinned to CPU 0, the Node clients to CPU 1{}. Client CPU = the Node process (all clients); server CPU = `/proc/<pid>/stat` utime+stime (10 ms ticks) over the timed loop.", if args.node_cpu.is_some() { "" } else { " (pinning off)" });
    let _ = writeln!(md, "- **Frames per edit:** counted at the clients' sockets (server in = what clients sent, server out = what clients received); for Concerta also from its own `/metrics` (`concerta_sync_frames_in_total` / `_out_total`, which include rosters).");
    let _ = writeln!(md, "- **Why Concerta sent:** its sync messages out per edit by what made them go (`concerta_sync_messages_out_total{{why}}`): a relay sent at once / held changes whose time came / the reply to a client's message, and the changes per sync message (`concerta_sync_changes_out_total` over those messages).");
    let _ = writeln!(md, "- **Machine:** shared with other work and loaded (1-minute load average {load_before} at the start, {} at the end): figures move between runs; compare within this table.\n", loadavg());
    let _ = writeln!(md, "| load (sections × clients × edits) | server | delivered / planned | edits/s | client CPU ms/edit | server CPU ms/edit | frames in / out per edit (clients' count) | frames in / out per edit (`/metrics`) | Concerta's sync out per edit: relay / held / reply (changes per message) | KB out per edit | server peak RSS |");
    let _ = writeln!(md, "|---|---|---|---|---|---|---|---|---|---|---|");
    for (variant, load, r) in rows {
        match r {
            Ok(v) => {
                let metrics = if v["serverMetrics"].is_object() {
                    format!("{} / {}", f(&v["serverMetrics"], "framesInPerEdit", 1), f(&v["serverMetrics"], "framesOutPerEdit", 1))
                } else {
                    "–".into()
                };
                let why = match v["serverMetrics"]["syncOutPerEdit"].as_object() {
                    Some(_) => {
                        let o = &v["serverMetrics"]["syncOutPerEdit"];
                        format!("{} / {} / {} ({})", f(o, "relay", 2), f(o, "held", 2), f(o, "reply", 2), f(&v["serverMetrics"], "changesPerSyncOut", 2))
                    }
                    None => "–".into(),
                };
                let rss = v["serverMaxRssKb"].as_f64().map(|k| format!("{:.0} MB", k / 1024.0)).unwrap_or_else(|| "–".into());
                let _ = writeln!(
                    md,
                    "| {} | {} | {} / {}{} | {} | {} | {} | {} / {} | {} | {} | {:.1} | {} |",
                    load.label(),
                    variant.label(),
                    v["delivered"],
                    v["planned"],
                    if v["timedOut"] == true { " (timed out)" } else { "" },
                    f(v, "editsPerSec", 1),
                    f(v, "clientCpuMsPerEdit", 1),
                    f(v, "serverCpuMsPerEdit", 2),
                    f(v, "framesInPerEdit", 1),
                    f(v, "framesOutPerEdit", 1),
                    metrics,
                    why,
                    v["bytesOutPerEdit"].as_f64().unwrap_or(0.0) / 1024.0,
                    rss,
                );
            }
            Err(e) => {
                let _ = writeln!(md, "| {} | {} | failed: {} | | | | | | | | |", load.label(), variant.label(), e.replace('|', "/").replace('\n', " "));
            }
        }
    }
    md
}
