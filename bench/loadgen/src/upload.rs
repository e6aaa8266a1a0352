//! `loadgen upload`: the server's memory while a long history arrives (issue 15, item 4).
//!
//! One client writes a 20,000-change history into a fresh section, every change its own sync
//! message (the benchmark's edits: three letters spliced into `body`, every other edit also
//! deleting four), 400 a second (under Concerta's limit of 500 per connection) while the client
//! answers whatever the server says; then the client waits until the server has every change, and leaves. The
//! server's resident memory (`VmRSS`) is sampled every 100 ms from its start: fresh, the peak
//! during the upload, at its end, 5 s and 70 s after the client left (the engine unloads a
//! document 30 s after its last peer left). Then the server is restarted and a fresh client
//! opens that section cold: the memory the document itself needs. Writes its own block of
//! `bench/RESULTS.md`.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use concerta_sync::DocumentId;

use crate::load::{answer, cold_open, exchange_until, start_document};
use crate::net::Conn;
use crate::peer::{LightDoc, extend_history};
use crate::servers::{Kind, Programs, Server, sample};
use crate::{blocks, concerta_sections, loadavg, log};

pub struct Args {
    pub kinds: Vec<Kind>,
    pub changes: usize,
    /// Sync messages per second the client sends.
    pub rate: f64,
    pub programs: Programs,
    pub out: PathBuf,
    pub command: String,
}

/// Resident memory at one moment: all of it, and its anonymous part.
#[derive(Clone, Copy, Default)]
struct Mem {
    rss_kb: u64,
    anon_kb: u64,
}

impl Mem {
    fn of(pid: u32) -> Mem {
        let s = sample(pid);
        Mem { rss_kb: s.rss_kb, anon_kb: s.anon_kb }
    }

    fn max(self, other: Mem) -> Mem {
        Mem { rss_kb: self.rss_kb.max(other.rss_kb), anon_kb: self.anon_kb.max(other.anon_kb) }
    }
}

impl std::fmt::Display for Mem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} MB ({})", mb(self.rss_kb), mb(self.anon_kb))
    }
}

/// What one server did.
struct Upload {
    secs: f64,
    fresh: Mem,
    peak: Mem,
    end: Mem,
    after5: Mem,
    after70: Mem,
    restarted: Mem,
    cold: Mem,
    cold_ms: f64,
}

/// Runs the upload against every server and writes the block.
pub async fn run(args: Args) -> Result<()> {
    let started = Instant::now();
    let root = std::env::temp_dir().join(format!("concerta-upload-{}", std::process::id()));
    std::fs::create_dir_all(&root)?;
    let load_before = loadavg();
    let mut rows: Vec<(Kind, Result<Upload, String>)> = Vec::new();
    for &kind in &args.kinds {
        log(format!("=== upload of {} changes: {} ===", args.changes, kind.key()));
        let r = run_one(kind, &args, &root.join(kind.key())).await.map_err(|e| format!("{e:#}"));
        match &r {
            Ok(u) => log(format!(
                "{}: {:.1} s; RSS (anonymous) fresh {}, peak {}, end {}, +5 s {}, +70 s {}; restarted {}, cold open {} ({:.0} ms)",
                kind.key(), u.secs, u.fresh, u.peak, u.end, u.after5, u.after70, u.restarted, u.cold, u.cold_ms
            )),
            Err(e) => log(format!("{}: failed: {e}", kind.key())),
        }
        rows.push((kind, r));
        blocks::write_block(&args.out, "sync-upload", &render(&args, &rows, &load_before, started.elapsed().as_secs_f64()))?;
    }
    let _ = std::fs::remove_dir_all(&root);
    log(format!("wrote {} in {:.0} s", args.out.display(), started.elapsed().as_secs_f64()));
    Ok(())
}

fn mb(kb: u64) -> u64 {
    (kb + 512) / 1024
}

async fn run_one(kind: Kind, args: &Args, dir: &Path) -> Result<Upload> {
    std::fs::create_dir_all(dir)?;
    let mut server = Server::new(kind, dir, &args.programs)?;
    let id = if kind == Kind::Concerta {
        server.provision_concerta()?;
        server.start()?;
        *concerta_sections(&server, 1).await?.first().context("a section")?
    } else {
        server.start()?;
        DocumentId::random()
    };
    let url = server.url();
    let pid = server.pid();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let fresh = Mem::of(pid);

    // The peak (of each figure on its own), sampled every 100 ms until the client has left.
    let peak = Arc::new((AtomicU64::new(fresh.rss_kb), AtomicU64::new(fresh.anon_kb)));
    let stop = Arc::new(AtomicBool::new(false));
    let sampler = {
        let (peak, stop) = (peak.clone(), stop.clone());
        tokio::spawn(async move {
            while !stop.load(Relaxed) {
                let now = Mem::of(pid);
                peak.0.fetch_max(now.rss_kb, Relaxed);
                peak.1.fetch_max(now.anon_kb, Relaxed);
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
    };
    let t0 = Instant::now();
    let heads = upload(&url, id, kind == Kind::Concerta, args.changes, args.rate).await;
    let secs = t0.elapsed().as_secs_f64();
    let end = Mem::of(pid);
    let heads = heads?;
    tokio::time::sleep(Duration::from_secs(5)).await;
    let after5 = Mem::of(pid);
    tokio::time::sleep(Duration::from_secs(65)).await;
    let after70 = Mem::of(pid);
    stop.store(true, Relaxed);
    let _ = sampler.await;

    server.stop();
    server.start()?;
    let pid = server.pid();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let restarted = Mem::of(pid);
    let cold = cold_open(&server.url(), id, &heads, pid).await;
    let cold_mem = Mem::of(pid);
    server.stop();
    let cold = cold?;
    let peak = Mem { rss_kb: peak.0.load(Relaxed), anon_kb: peak.1.load(Relaxed) }.max(end);
    Ok(Upload { secs, fresh, peak, end, after5, after70, restarted, cold: cold_mem, cold_ms: cold.total_ms })
}

/// Writes `changes` edits into document `id`, one sync message each, answering the server as
/// it goes; returns the document's heads once the server has them all.
async fn upload(url: &str, id: DocumentId, server_created: bool, changes: usize, rate: f64) -> Result<Vec<automerge::ChangeHash>> {
    let mut light = LightDoc::new();
    let mut doc = start_document(url, id, server_created, &mut light).await?;
    // Generated before connecting: servers drop peers that miss their keep-alive pings.
    extend_history(&mut doc, changes, 20_000)?;
    let all = doc.get_changes(&[]);
    let mut conn = Conn::open(url, crate::net::new_peer_id("upload"), Duration::from_secs(10)).await?;
    let hello = light.generate().context("first message")?;
    conn.send_sync(id, hello, !server_created).await?;
    let t0 = Instant::now();
    for (i, change) in all.into_iter().enumerate() {
        light.add_local(change);
        if let Some(m) = light.generate() {
            conn.send_sync(id, m, false).await?;
        }
        // Paced below Concerta's per-connection limit (500 messages/s); answer what arrives
        // meanwhile.
        let due = t0 + Duration::from_secs_f64((i + 1) as f64 / rate);
        while let Ok(got) = tokio::time::timeout_at(due.into(), conn.recv()).await {
            answer(&mut conn, id, &mut light, got?).await?;
        }
    }
    exchange_until(&mut conn, id, &mut light, Duration::from_secs(600), |l| l.their_heads().as_ref() == Some(&l.heads()))
        .await
        .context("waiting for the server to have every change")?;
    conn.close().await;
    let mut heads = doc.get_heads();
    heads.sort_unstable();
    Ok(heads)
}

fn render(args: &Args, rows: &[(Kind, Result<Upload, String>)], load_before: &str, secs: f64) -> String {
    let mut md = String::new();
    md.push_str("## Memory while a long history arrives (issue 15)\n\n");
    let (date, commit) = crate::stamp();
    md.push_str(&format!(
        "Generated by `{}` ({date}, commit {}, {:.0} s in all; 1-minute load average {} at the start, {} at the end); do not edit by hand.\n\n",
        args.command,
        commit,
        secs,
        load_before,
        loadavg()
    ));
    md.push_str(&format!(
        "- **Load:** one client writes {} changes into a fresh section (three letters spliced into `body`, every other edit also deleting four), every change its own sync message, {} messages a second (Concerta refuses more than 500/s on a connection), answering the server as it goes; it waits until the server has them all and leaves.\n",
        args.changes, args.rate
    ));
    md.push_str("- **Memory:** the server's resident memory (`VmRSS`), and in brackets its anonymous part (`RssAnon`: heap and stacks, without the program's own mapped code, which a larger binary has more of), sampled every 100 ms (each peak on its own). Concerta unloads a document 30 s after its last peer left. Restarted: a fresh process, then a fresh client opens the section cold (the memory the document itself needs).\n\n");
    md.push_str("| server | upload time | fresh | peak during the upload | at its end | 5 s after the client left | 70 s after | restarted: fresh / after a cold open of the section |\n");
    md.push_str("|---|---|---|---|---|---|---|---|\n");
    for (kind, r) in rows {
        let name = match kind {
            Kind::Concerta => "Concerta",
            Kind::Npm => "JS sync-server (npm)",
            Kind::Repo2 => "JS repo 2.x",
            Kind::Samod => "samod",
        };
        match r {
            Ok(u) => md.push_str(&format!(
                "| {name} | {:.1} s | {} | {} | {} | {} | {} | {} / {} ({:.0} ms) |\n",
                u.secs, u.fresh, u.peak, u.end, u.after5, u.after70, u.restarted, u.cold, u.cold_ms
            )),
            Err(e) => md.push_str(&format!("| {name} | failed: {} | | | | | | |\n", e.replace('|', "/").replace('\n', " "))),
        }
    }
    md
}
