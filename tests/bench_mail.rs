//! `cargo xtask bench-mail`: 1,000 account invitations to a local SMTP sink (aiosmtpd).
//!
//! A `concerta serve` (the binary in `CONCERTA_BIN`, a release build under `cargo xtask
//! bench-mail`) on a fresh SQLite data directory (or Postgres with `--postgres`), a city, then
//! 1,000 `POST /api/cities/{city}/members` for new emails, 16 at a time: each writes the member,
//! the invitation and its outbox row in one transaction and answers without waiting on SMTP.
//! Measured: the API time to enqueue them all (and per request), the time until the sink has
//! accepted all 1,000, and messages per second. Prints one JSON line with the figures.

use std::time::{Duration, Instant};

use concerta_e2e::mail_sink::{Sink, free_port, smtp_python};
use concerta_e2e::{Api, Server, Store};
use futures_util::StreamExt;
use serde_json::json;

const MESSAGES: usize = 1000;
const CONCURRENCY: usize = 16;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let postgres = std::env::args().any(|a| a == "--postgres");
    let python = smtp_python().expect("a Python with aiosmtpd (cargo xtask bench-mail installs it)");
    let sink = Sink::start(&python, free_port(), &[]).await;
    let store = if postgres { Store::postgres().expect("--postgres needs DATABASE_URL_TEST") } else { Store::sqlite() };
    let server = Server::start_with_env(&store, &[("CONCERTA_SMTP_URL", &sink.url())]).await;
    store.create_user("bench@bench.test", "Bench", true).await;
    let api = Api::bearer(&server, &store.token("bench@bench.test").await);
    let city = api.post("/api/cities", json!({"name": "Montevideo", "slug": "montevideo", "locale": "es"})).await.expect(201);
    let city = city["id"].as_str().expect("city id").to_owned();

    let started = Instant::now();
    let mut latencies: Vec<Duration> = futures_util::stream::iter(0..MESSAGES)
        .map(|i| {
            let api = api.clone();
            let path = format!("/api/cities/{city}/members");
            async move {
                let t = Instant::now();
                let body = json!({"email": format!("p{i}@bench.test"), "name": format!("Persona {i}"), "role": "observer"});
                let answer = api.post(&path, body).await.expect(201);
                assert_eq!(answer["invitation"]["delivery"], "queued");
                t.elapsed()
            }
        })
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await;
    let enqueued = started.elapsed();
    sink.wait_for(MESSAGES, Duration::from_secs(1800), &server).await;
    let delivered = started.elapsed();
    let received = sink.received();
    let unique: std::collections::HashSet<_> = received.iter().map(|m| m["message_id"].to_string()).collect();
    assert_eq!(unique.len(), MESSAGES, "each invitation arrived once");
    latencies.sort();
    let pct = |p: f64| latencies[((latencies.len() as f64 - 1.0) * p).round() as usize].as_secs_f64() * 1000.0;
    let figures = json!({
        "backend": if postgres { "postgres" } else { "sqlite" },
        "messages": MESSAGES,
        "concurrency": CONCURRENCY,
        "enqueue_total_s": enqueued.as_secs_f64(),
        "enqueue_per_s": MESSAGES as f64 / enqueued.as_secs_f64(),
        "request_p50_ms": pct(0.5),
        "request_p95_ms": pct(0.95),
        "all_delivered_s": delivered.as_secs_f64(),
        "delivered_per_s": MESSAGES as f64 / delivered.as_secs_f64(),
        "drain_after_enqueue_s": (delivered - enqueued).as_secs_f64(),
    });
    println!("{figures}");
    if let Ok(out) = std::env::var("BENCH_OUT") {
        write_block(&out, &figures);
    }
    sink.stop().await;
}

/// Replaces (or appends) the `notify` block of `bench/RESULTS.md`; other blocks stay as they are.
fn write_block(file: &str, f: &serde_json::Value) {
    let n = |k: &str| f[k].as_f64().unwrap_or(f64::NAN);
    let body = format!(
        "## Email: 1,000 account invitations to a local SMTP sink (`cargo xtask bench-mail`)\n\n\
         Release `concerta serve` on {backend}, one node, default worker (batches of 16, 4 SMTP sends at once, pooled\n\
         connections), aiosmtpd on 127.0.0.1 parsing every message. 1,000 `POST /api/cities/{{city}}/members` for\n\
         new emails, {c} at a time; each commits the member, the invitation and its outbox row in one transaction.\n\
         Measured {date} on this machine (2 cores shared with other work: figures are indicative).\n\n\
         | figure | value |\n|---|---|\n\
         | API time to enqueue 1,000 (total) | {et:.2} s ({eps:.0} requests/s) |\n\
         | one request, p50 / p95 | {p50:.1} ms / {p95:.1} ms |\n\
         | from the first request until all 1,000 delivered | {ad:.2} s |\n\
         | delivery throughput | {dps:.0} messages/s |\n\
         | still sending after the last request answered | {drain:.2} s |\n",
        backend = f["backend"].as_str().unwrap_or("?"),
        c = f["concurrency"],
        date = chrono_free_date(),
        et = n("enqueue_total_s"),
        eps = n("enqueue_per_s"),
        p50 = n("request_p50_ms"),
        p95 = n("request_p95_ms"),
        ad = n("all_delivered_s"),
        dps = n("delivered_per_s"),
        drain = n("drain_after_enqueue_s"),
    );
    concerta_e2e::write_results_block(file, "notify", &body);
}

/// Today's date (UTC) from the system clock, as YYYY-MM-DD.
fn chrono_free_date() -> String {
    let out = std::process::Command::new("date").args(["-u", "+%Y-%m-%d"]).output();
    out.ok().and_then(|o| String::from_utf8(o.stdout).ok()).map(|s| s.trim().to_owned()).unwrap_or_default()
}
