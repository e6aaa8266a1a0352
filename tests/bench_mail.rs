//! `cargo xtask bench-mail`: 1,000 account invitations, then 1,000 roundtable invitations
//! (with their calendar parts), to a local SMTP sink (aiosmtpd).
//!
//! A `concerta serve` (the binary in `CONCERTA_BIN`, a release build under `cargo xtask
//! bench-mail`) on a fresh SQLite data directory (or Postgres with `--postgres`), a city, then
//! two runs, one after the other, 16 requests at a time:
//! - 1,000 `POST /api/cities/{city}/members` for new emails: each writes the member, the
//!   invitation and its outbox row in one transaction and answers without waiting on SMTP;
//! - 1,000 `POST /api/roundtables/{id}/invitations`, one invitee each, to one roundtable:
//!   each writes the invitation and its outbox row with the calendar object (a
//!   `text/calendar; method=REQUEST` alternative and an `invite.ics` attachment).
//!
//! Measured for each: the API time to enqueue them all (and per request), the time until the
//! sink has accepted all 1,000, and messages per second. Every message must arrive once, and
//! every roundtable invitation with its calendar parts. Prints one JSON line with the figures.

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

    let account = run(&sink, &server, MESSAGES, |i| {
        let api = api.clone();
        let path = format!("/api/cities/{city}/members");
        async move {
            let body = json!({"email": format!("p{i}@bench.test"), "name": format!("Persona {i}"), "role": "observer"});
            let answer = api.post(&path, body).await.expect(201);
            assert_eq!(answer["invitation"]["delivery"], "queued");
        }
    })
    .await;

    let rt = api
        .post(
            &format!("/api/cities/{city}/roundtables"),
            json!({
                "title": "Mesa multiactor de cooperación",
                "purpose": "Acordar prioridades",
                "agenda": "1. Apertura\n2. Acuerdos",
                "starts_at": "2030-03-10T10:00",
                "ends_at": "2030-03-10T12:00",
                "timezone": "America/Montevideo",
                "location": "Intendencia, Sala 1",
            }),
        )
        .await
        .expect(201);
    let rt = rt["id"].as_str().expect("roundtable id").to_owned();
    let roundtable = run(&sink, &server, 2 * MESSAGES, |i| {
        let api = api.clone();
        let path = format!("/api/roundtables/{rt}/invitations");
        async move {
            let invitee = json!({"email": format!("r{i}@bench.test"), "name": format!("Pérez, Invitada {i}"), "organization": "Org", "sector": "academia"});
            let answer = api.post(&path, json!({"invitees": [invitee]})).await.expect(201);
            assert!(["queued", "sent"].contains(&answer[0]["delivery"].as_str().unwrap_or_default()), "{answer}");
        }
    })
    .await;
    let received = sink.received();
    let unique: std::collections::HashSet<_> = received.iter().map(|m| m["message_id"].to_string()).collect();
    assert_eq!(unique.len(), 2 * MESSAGES, "each invitation arrived once");
    let invitations: Vec<&serde_json::Value> =
        received.iter().filter(|m| m["to_addr"].as_str().is_some_and(|a| a.starts_with('r') && a.ends_with("@bench.test"))).collect();
    assert_eq!(invitations.len(), MESSAGES);
    for m in &invitations {
        let parts = m["parts"].as_array().expect("parts");
        let calendar = parts.iter().find(|p| p["content_type"] == "text/calendar").unwrap_or_else(|| panic!("no calendar: {m}"));
        assert_eq!(calendar["params"]["method"], "REQUEST");
        assert!(calendar["content"].as_str().is_some_and(|c| c.contains("BEGIN:VEVENT")), "{m}");
        assert!(parts.iter().any(|p| p["filename"] == "invite.ics"), "no invite.ics: {m}");
    }
    let figures = json!({
        "backend": if postgres { "postgres" } else { "sqlite" },
        "messages": MESSAGES,
        "concurrency": CONCURRENCY,
        "account": account,
        "roundtable": roundtable,
    });
    println!("{figures}");
    if let Ok(out) = std::env::var("BENCH_OUT") {
        write_block(&out, &figures);
    }
    sink.stop().await;
}

/// Sends `MESSAGES` requests made by `request(i)`, `CONCURRENCY` at a time, then waits
/// until the sink holds `total` messages; answers the figures of the run (times from its
/// first request).
async fn run<F, Fut>(sink: &Sink, server: &Server, total: usize, request: F) -> serde_json::Value
where
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let started = Instant::now();
    let mut latencies: Vec<Duration> = futures_util::stream::iter(0..MESSAGES)
        .map(|i| {
            let sent = request(i);
            async move {
                let t = Instant::now();
                sent.await;
                t.elapsed()
            }
        })
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await;
    let enqueued = started.elapsed();
    sink.wait_for(total, Duration::from_secs(1800), server).await;
    let delivered = started.elapsed();
    latencies.sort();
    let pct = |p: f64| latencies[((latencies.len() as f64 - 1.0) * p).round() as usize].as_secs_f64() * 1000.0;
    json!({
        "enqueue_total_s": enqueued.as_secs_f64(),
        "enqueue_per_s": MESSAGES as f64 / enqueued.as_secs_f64(),
        "request_p50_ms": pct(0.5),
        "request_p95_ms": pct(0.95),
        "all_delivered_s": delivered.as_secs_f64(),
        "delivered_per_s": MESSAGES as f64 / delivered.as_secs_f64(),
        "drain_after_enqueue_s": (delivered - enqueued).as_secs_f64(),
    })
}

/// Replaces (or appends) the `notify` block of `bench/RESULTS.md`; other blocks stay as they are.
fn write_block(file: &str, f: &serde_json::Value) {
    let row = |label: &str, key: &str, unit: &str, digits: usize| {
        let n = |run: &str| f[run][key].as_f64().unwrap_or(f64::NAN);
        format!("| {label} | {:.digits$} {unit} | {:.digits$} {unit} |\n", n("account"), n("roundtable"))
    };
    let body = format!(
        "## Email: 1,000 account invitations and 1,000 roundtable invitations to a local SMTP sink (`cargo xtask bench-mail`)\n\n\
         Release `concerta serve` on {backend}, one node, default worker (batches of 16, 4 SMTP sends at once, pooled\n\
         connections), aiosmtpd on 127.0.0.1 parsing every message. Two runs, one after the other, {c} requests at a\n\
         time: 1,000 `POST /api/cities/{{city}}/members` for new emails (each commits the member, the invitation and its\n\
         outbox row in one transaction), then 1,000 `POST /api/roundtables/{{id}}/invitations` of one invitee each to one\n\
         roundtable (each commits the invitation and its outbox row with the calendar object; every message carries a\n\
         `text/calendar; method=REQUEST` alternative and an `invite.ics` attachment, checked on arrival).\n\
         Measured {date} on this machine (2 cores shared with other work: figures are indicative).\n\n\
         | figure | account invitations | roundtable invitations |\n|---|---|---|\n\
         {total}{rate}{p50}{p95}{delivered}{throughput}{drain}",
        backend = f["backend"].as_str().unwrap_or("?"),
        c = f["concurrency"],
        date = chrono_free_date(),
        total = row("API time to enqueue 1,000 (total)", "enqueue_total_s", "s", 2),
        rate = row("requests per second while enqueuing", "enqueue_per_s", "requests/s", 0),
        p50 = row("one request, p50", "request_p50_ms", "ms", 1),
        p95 = row("one request, p95", "request_p95_ms", "ms", 1),
        delivered = row("from the run's first request until all 1,000 delivered", "all_delivered_s", "s", 2),
        throughput = row("delivery throughput", "delivered_per_s", "messages/s", 0),
        drain = row("still sending after the last request answered", "drain_after_enqueue_s", "s", 2),
    );
    concerta_e2e::write_results_block(file, "notify", &body);
}

/// Today's date (UTC) from the system clock, as YYYY-MM-DD.
fn chrono_free_date() -> String {
    let out = std::process::Command::new("date").args(["-u", "+%Y-%m-%d"]).output();
    out.ok().and_then(|o| String::from_utf8(o.stdout).ok()).map(|s| s.trim().to_owned()).unwrap_or_default()
}
