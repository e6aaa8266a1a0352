//! `cargo xtask bench-logins`: a flood of 1,000 concurrent wrong logins against the release
//! server on loopback (issue 16: the server keeps answering and its memory stays bounded).
//!
//! Two runs, each on a fresh `concerta serve` (the binary in `CONCERTA_BIN`) and SQLite:
//! - `default limits`: the shipped throttling (all requests come from 127.0.0.1, so after the
//!   address's allowance they get 429 before any password work);
//! - `no throttling`: allowances raised out of reach, so all 1,000 reach argon2 (as a flood from
//!   1,000 addresses would); only the bound on concurrent hashing keeps memory in check.
//!
//! During each flood a probe asks `/healthz` and an authenticated `GET /api/me` every 100 ms.
//! Measured: the flood's duration and statuses, the probe's latencies, and the server's peak
//! resident memory (`VmHWM`) before and after. Prints one JSON line per run; with `BENCH_OUT`
//! set, writes the `logins` block of that results file. Bounded: 1,000 requests per run,
//! loopback only, every wait with a deadline.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use concerta_e2e::{Api, Server, Store};
use futures_util::StreamExt;
use serde_json::{Value, json};

const LOGINS: usize = 1000;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let mut runs = Vec::new();
    for (name, limits) in [
        ("default limits", None),
        ("no throttling", Some("1000000/0.001")),
    ] {
        let figures = flood(name, limits).await;
        println!("{figures}");
        runs.push(figures);
    }
    if let Ok(out) = std::env::var("BENCH_OUT") {
        write_block(&out, &runs);
    }
}

/// The server's peak and current resident memory in MiB (`VmHWM`, `VmRSS`).
fn memory(pid: u32) -> (f64, f64) {
    let status =
        std::fs::read_to_string(format!("/proc/{pid}/status")).expect("the server's /proc status");
    let kib = |key: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(f64::NAN)
    };
    (kib("VmHWM:") / 1024.0, kib("VmRSS:") / 1024.0)
}

async fn flood(name: &str, limits: Option<&str>) -> Value {
    let store = Store::sqlite();
    let env: Vec<(&str, &str)> = match limits {
        Some(l) => vec![
            ("CONCERTA_LOGIN_LIMIT_ACCOUNT", l),
            ("CONCERTA_LOGIN_LIMIT_ADDRESS", l),
        ],
        None => vec![],
    };
    let server = Server::start_with_env(&store, &env).await;
    store.create_user("probe@bench.test", "Probe", false).await;
    let probe = Api::bearer(&server, &store.token("probe@bench.test").await);
    probe.get("/api/me").await.expect(200);
    let (peak_before, rss_before) = memory(server.pid());

    // The probe: every 100 ms until told to stop, /healthz then /api/me.
    let (stop_tx, mut stop_rx) = tokio::sync::oneshot::channel::<()>();
    let probe_task = {
        let probe = probe.clone();
        tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut failures = 0usize;
            loop {
                let t = Instant::now();
                let health = probe.get("/healthz").await.status;
                let me = probe.get("/api/me").await.status;
                if health == 200 && me == 200 {
                    latencies.push(t.elapsed().as_secs_f64() * 1000.0);
                } else {
                    failures += 1;
                }
                tokio::select! {
                    _ = &mut stop_rx => break,
                    _ = tokio::time::sleep(Duration::from_millis(100)) => {}
                }
            }
            (latencies, failures)
        })
    };

    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(600))
        .build()
        .expect("an HTTP client");
    let url = server.url("/api/auth/login");
    let started = Instant::now();
    let statuses: Vec<u16> = futures_util::stream::iter(0..LOGINS)
        .map(|i| {
            let (http, url) = (http.clone(), url.clone());
            async move {
                // Unknown accounts and one real one: the answers must not tell them apart.
                let email = if i % 10 == 0 {
                    "probe@bench.test".to_owned()
                } else {
                    format!("nobody{i}@bench.test")
                };
                let body = json!({"email": email, "password": "not the password"});
                match http.post(&url).json(&body).send().await {
                    Ok(r) => r.status().as_u16(),
                    Err(_) => 0,
                }
            }
        })
        .buffer_unordered(LOGINS)
        .collect()
        .await;
    let flood_s = started.elapsed().as_secs_f64();
    let _ = stop_tx.send(());
    let (mut latencies, probe_failures) = probe_task.await.expect("the probe ran");
    let (peak_after, rss_after) = memory(server.pid());
    let mut by_status = BTreeMap::new();
    for s in statuses {
        *by_status.entry(s.to_string()).or_insert(0usize) += 1;
    }
    latencies.sort_by(f64::total_cmp);
    let pct = |p: f64| {
        latencies
            .get(((latencies.len().max(1) - 1) as f64 * p).round() as usize)
            .copied()
            .unwrap_or(f64::NAN)
    };
    json!({
        "run": name,
        "logins": LOGINS,
        "flood_s": flood_s,
        "statuses": by_status,
        "probe_ok": latencies.len(),
        "probe_failed": probe_failures,
        "probe_p50_ms": pct(0.5),
        "probe_max_ms": pct(1.0),
        "peak_mib_before": peak_before,
        "peak_mib_after": peak_after,
        "rss_mib_before": rss_before,
        "rss_mib_after": rss_after,
    })
}

/// Replaces (or appends) the `logins` block of the results file; other blocks stay.
fn write_block(file: &str, runs: &[Value]) {
    let date = std::process::Command::new("date")
        .args(["-u", "+%Y-%m-%d %H:%M UTC"])
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.trim().to_owned())
        .unwrap_or_default();
    let n = |v: &Value, k: &str| v[k].as_f64().unwrap_or(f64::NAN);
    let bin = concerta_e2e::concerta_bin();
    let profile = if bin.components().any(|c| c.as_os_str() == "release") { "Release" } else { "Debug (not release)" };
    let mut rows = String::new();
    for r in runs {
        let statuses = r["statuses"]
            .as_object()
            .map(|m| {
                m.iter()
                    .map(|(k, v)| format!("{k}: {v}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .unwrap_or_default();
        rows.push_str(&format!(
            "| {} | {:.1} s | {} | {} ok, {} failed; p50 {:.1} ms, max {:.0} ms | {:.0} → {:.0} MiB | {:.0} → {:.0} MiB |\n",
            r["run"].as_str().unwrap_or("?"),
            n(r, "flood_s"),
            statuses,
            r["probe_ok"],
            r["probe_failed"],
            n(r, "probe_p50_ms"),
            n(r, "probe_max_ms"),
            n(r, "peak_mib_before"),
            n(r, "peak_mib_after"),
            n(r, "rss_mib_before"),
            n(r, "rss_mib_after"),
        ));
    }
    let text = format!(
        "## Login flood: 1,000 concurrent wrong logins (`cargo xtask bench-logins`)\n\n\
         {profile} `concerta serve` on SQLite, one node, all requests from 127.0.0.1 at once (one in ten for a real\n\
         account, the rest for unknown ones). A probe asks `/healthz` and an authenticated `GET /api/me` every\n\
         100 ms during the flood. Peak memory is the server's `VmHWM`. Measured {date} on this machine (2 cores,\n\
         shared with other work: figures are indicative).\n\n\
         | run | flood took | answers (HTTP status: count) | probe during the flood | peak memory before → after | resident before → after |\n\
         |---|---|---|---|---|---|\n{rows}"
    );
    concerta_e2e::write_results_block(file, "logins", &text);
}
