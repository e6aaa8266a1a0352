//! bench/RESULTS.md: the side-by-side table, the targets, and notes.

use std::fmt::Write;
use std::path::Path;
use std::process::Command;

use crate::load::Window;
use crate::servers::{Kind, Programs};
use crate::{Plan, Res, ServerResult};

pub struct Info {
    pub date: String,
    pub machine: String,
    pub command: String,
    pub versions: Vec<(Kind, String)>,
    pub pinning: String,
}

pub fn sh(cmd: &str, args: &[&str]) -> String {
    Command::new(cmd).args(args).output().map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string()).unwrap_or_default()
}

fn json_version(path: &Path) -> String {
    std::fs::read_to_string(path)
        .ok()
        .and_then(|s| serde_json::from_str::<serde_json::Value>(&s).ok())
        .and_then(|v| v["version"].as_str().map(str::to_string))
        .unwrap_or_else(|| "?".into())
}

fn lock_version(lock: &Path, name: &str) -> String {
    let text = std::fs::read_to_string(lock).unwrap_or_default();
    let mut lines = text.lines();
    while let Some(l) = lines.next() {
        if l == format!("name = \"{name}\"") {
            if let Some(v) = lines.next().and_then(|v| v.strip_prefix("version = \"")) {
                return v.trim_end_matches('"').to_string();
            }
        }
    }
    "?".into()
}

impl Info {
    pub fn collect(root: &Path, p: &Programs, command: &str, loadgen_cpu: Option<usize>) -> Info {
        let mem_kb: u64 = std::fs::read_to_string("/proc/meminfo")
            .ok()
            .and_then(|m| m.lines().find(|l| l.starts_with("MemTotal:")).map(|l| l.to_string()))
            .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
            .unwrap_or(0);
        let model = std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|c| c.lines().find(|l| l.starts_with("model name")).map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string()))
            .unwrap_or_default();
        let nproc = unsafe { libc::sysconf(libc::_SC_NPROCESSORS_ONLN) }.max(0);
        let machine = format!(
            "{nproc} CPUs ({model}), {:.1} GiB RAM, Linux {}",
            mem_kb as f64 / 1024.0 / 1024.0,
            sh("uname", &["-r"])
        );
        let rev = sh("git", &["-C", &root.to_string_lossy(), "rev-parse", "--short", "HEAD"]);
        let dirty = !sh("git", &["-C", &root.to_string_lossy(), "status", "--porcelain", "--", "crates", "migrations"]).is_empty();
        let node = sh(&p.node, &["--version"]);
        let nm = p.js_dir.join("node_modules/@automerge");
        let npm_nested = nm.join("automerge-repo-sync-server/node_modules/@automerge");
        let versions = vec![
            (Kind::Concerta, format!(
                "`concerta` release build of commit {rev}{} (automerge {} in concerta-sync), SQLite",
                if dirty { " plus uncommitted changes under crates/" } else { "" },
                lock_version(&root.join("Cargo.lock"), "automerge")
            )),
            (Kind::Npm, format!(
                "`@automerge/automerge-repo-sync-server` {} (automerge-repo {}, automerge {}), Node {node}",
                json_version(&nm.join("automerge-repo-sync-server/package.json")),
                json_version(&npm_nested.join("automerge-repo/package.json")),
                json_version(&npm_nested.join("automerge/package.json")),
            )),
            (Kind::Repo2, format!(
                "`bench/js/server-repo2.mjs` on automerge-repo {} (automerge {}), NodeFS storage, Node {node}",
                json_version(&nm.join("automerge-repo/package.json")),
                json_version(&nm.join("automerge/package.json")),
            )),
            (Kind::Samod, format!(
                "`samod-server` (bench/samod) on samod {} (automerge {}), filesystem storage",
                lock_version(&root.join("bench/samod/Cargo.lock"), "samod"),
                lock_version(&root.join("bench/samod/Cargo.lock"), "automerge"),
            )),
        ];
        let pinning = match (p.server_cpu, loadgen_cpu) {
            (Some(s), Some(l)) => format!("the server under test pinned to CPU {s}, the load generator to CPU {l} (sched_setaffinity)"),
            _ => "no CPU pinning".into(),
        };
        Info { date: sh("date", &["-u", "+%Y-%m-%d %H:%M UTC"]), machine, command: command.into(), versions, pinning }
    }
}

fn name(k: Kind) -> &'static str {
    match k {
        Kind::Concerta => "Concerta",
        Kind::Npm => "JS sync-server (npm)",
        Kind::Repo2 => "JS repo 2.x",
        Kind::Samod => "samod",
    }
}

fn us(x: f64) -> String {
    if x.is_nan() {
        "–".into()
    } else if x >= 10_000.0 {
        format!("{:.1} ms", x / 1000.0)
    } else if x >= 1000.0 {
        format!("{:.2} ms", x / 1000.0)
    } else {
        format!("{x:.0} µs")
    }
}

/// Raw CPU per edit, and net of idle.
fn cpu(w: &Window) -> String {
    let net = w.server_net_us_per_edit();
    if net.is_nan() {
        format!("{} (net: n/a, busy while idle)", us(w.server_us_per_edit()))
    } else {
        format!("{} ({} net)", us(w.server_us_per_edit()), us(net))
    }
}

fn ms(x: f64) -> String {
    if x >= 100.0 { format!("{x:.0} ms") } else if x >= 10.0 { format!("{x:.1} ms") } else { format!("{x:.2} ms") }
}

fn mb(kb: u64) -> String {
    format!("{:.0} MB", kb as f64 / 1024.0)
}

fn cell<T>(r: &Res<T>, f: impl Fn(&T) -> String) -> String {
    match r {
        Ok(v) => f(v),
        Err(e) => format!("failed: {}", e.chars().take(80).collect::<String>().replace('|', "/")),
    }
}

fn hist<'a>(r: &'a ServerResult, size: usize) -> Option<&'a Window> {
    r.history.iter().find(|(s, _)| *s == size).and_then(|(_, w)| w.as_ref().ok())
}

fn hist_cell(r: &ServerResult, size: usize, f: impl Fn(&Window) -> String) -> String {
    match r.history.iter().find(|(s, _)| *s == size) {
        None => "not run".into(),
        Some((_, w)) => cell(w, f),
    }
}

/// The sustained rate of a ramp: the best step that delivered ≥ 95 % with p99 < 500 ms;
/// and the best delivered rate of any step.
pub fn ramp_summary(steps: &[(f64, Window)]) -> (Option<(f64, &Window)>, f64) {
    let mut sustained = None;
    let mut best = 0.0f64;
    for (total, w) in steps {
        let delivered = w.delivered_edits / w.secs;
        best = best.max(delivered);
        if w.edits > 0 && w.delivered_edits >= 0.95 * w.edits as f64 && w.lat.p99 < 500.0 {
            sustained = Some((*total, w));
        }
    }
    (sustained, best)
}

pub fn render(info: &Info, plan: &Plan, decode_us: f64, results: &[ServerResult], total_secs: f64) -> String {
    let mut o = String::new();
    let w = &mut o;
    let _ = writeln!(w, "# Sync server benchmark: Concerta and the alternatives, side by side\n");
    let _ = writeln!(w, "Generated by `bench/loadgen` (see `bench/README.md`); do not edit by hand.\n");
    let _ = writeln!(w, "- **Date:** {}", info.date);
    let _ = writeln!(w, "- **Machine:** {}", info.machine);
    let _ = writeln!(w, "- **Command:** `{}` ({} plan, {:.0} s in all)", info.command, if plan.quick { "quick" } else { "full" }, total_secs);
    let _ = writeln!(w, "- **CPU:** {}. The server and the generator never share a core; the server gets exactly one.", info.pinning);
    let _ = writeln!(w, "- **Servers** (each started fresh on 127.0.0.1, restarted before every scenario on its own data directory, stopped after):");
    for (k, v) in &info.versions {
        if results.iter().any(|r| r.kind == *k) {
            let _ = writeln!(w, "  - {}: {v}", name(*k));
        }
    }
    let _ = writeln!(w, "- **Floor:** decoding one change (`Change::from_bytes` + `decode()`, mean over the last 2,000 edits of a 20,000-change history, this run): **{decode_us:.2} µs**.\n");

    let _ = writeln!(w, "## Side by side\n");
    let _ = write!(w, "| | ");
    for r in results {
        let _ = write!(w, "{} | ", name(r.kind));
    }
    let _ = writeln!(w);
    let _ = write!(w, "|---|");
    for _ in results {
        let _ = write!(w, "---|");
    }
    let _ = writeln!(w);
    let mut row = |label: String, f: &dyn Fn(&ServerResult) -> String| {
        let _ = write!(w, "| {label} | ");
        for r in results {
            let _ = write!(w, "{} | ", f(r));
        }
        let _ = writeln!(w);
    };
    let load = format!("{} docs × (1 writer + {} readers), {} edits/s per writer, {} s", plan.latency_docs, plan.readers, plan.latency_rate, plan.latency_window.as_secs());
    row(format!("relay latency p50 / p99 ({load})"), &|r| cell(&r.latency, |w| format!("{} / {}", ms(w.lat.p50), ms(w.lat.p99))));
    row("server CPU per edit at that load: raw (net of idle)".into(), &|r| cell(&r.latency, cpu));
    for &size in &plan.history_sizes {
        row(format!("server CPU per edit, {size}-change section: raw (net of idle)"), &|r| hist_cell(r, size, cpu));
    }
    if let (Some(&lo), Some(&hi)) = (plan.history_sizes.first(), plan.history_sizes.last()) {
        row(format!("server CPU while idle, {hi}-change run (all clients connected, no edits)"), &|r| hist_cell(r, hi, |w| format!("{:.2} ms/s ({:.1} frames/s to clients)", w.idle_ns_per_s / 1e6, w.idle_frames_per_s)));
        row(format!("CPU/edit ratio {hi} ÷ {lo} changes (net)"), &|r| match (hist(r, hi), hist(r, lo)) {
            (Some(a), Some(b)) => format!("{:.2}×", a.server_best_us_per_edit() / b.server_best_us_per_edit()),
            _ => "–".into(),
        });
        row(format!("CPU/edit ÷ decode of one change ({hi} changes, net)"), &|r| match hist(r, hi) {
            Some(a) => format!("{:.0}×", a.server_best_us_per_edit() / decode_us),
            None => "–".into(),
        });
    }
    for &size in &plan.history_sizes {
        row(format!("relay p99, {size}-change section ({} docs, {} edits/s each)", plan.history_docs, plan.history_rate), &|r| hist_cell(r, size, |w| ms(w.lat.p99)));
    }
    row("edits/s at saturation: sustained (≥95 % delivered, p99 < 500 ms) / best step (edits reaching readers within 1 s, per s)".into(), &|r| cell(&r.ramp, |s| {
        let (sus, best) = ramp_summary(s);
        let gen_bound = s.last().is_some_and(|(t, w)| (w.edits as f64) < 0.9 * t * w.secs && w.lat.p99 < 1000.0);
        let note = if gen_bound { " (generator-bound: a lower bound)" } else { "" };
        match sus {
            Some((_, w)) => format!("{:.0} / {:.0}{note}", w.delivered_edits / w.secs, best),
            None => format!("– / {best:.0}{note}"),
        }
    }));
    row("ramp steps (offered/s → delivered within 1 s/s, p99, load generator CPU)".into(), &|r| cell(&r.ramp, |s| {
        s.iter().map(|(t, w)| format!("{t:.0}→{:.0} {} (gen. CPU {:.0} %)", w.delivered_edits / w.secs, ms(w.lat.p99), w.client_cpu_ns as f64 / w.secs / 1e7)).collect::<Vec<_>>().join("; ")
    }));
    let n = plan.conns;
    row(format!("time to open {n} connections (join → peer)"), &|r| cell(&r.conns, |c| {
        if c.opened == c.target { format!("{:.1} s", c.open_secs) } else { format!("{} of {} in {:.1} s ({} failed: {})", c.opened, c.target, c.open_secs, c.failed, c.first_error.clone().unwrap_or_default().chars().take(60).collect::<String>()) }
    }));
    row("server RSS: fresh / N idle / N syncing / after they left (seconds after)".into(), &|r| cell(&r.conns, |c| {
        format!("{} / {} / {} / {} ({:.0} s)", mb(c.base.rss_kb), mb(c.idle.rss_kb), mb(c.syncing.rss_kb), mb(c.after.rss_kb), c.after_secs)
    }));
    row("RSS per idle connection".into(), &|r| cell(&r.conns, |c| {
        format!("{:.1} KB", (c.idle.rss_kb as f64 - c.base.rss_kb as f64) / c.opened.max(1) as f64)
    }));
    row(format!("RSS per syncing connection ({} documents shared)", plan.latency_docs), &|r| cell(&r.conns, |c| {
        let per = (c.syncing.rss_kb as f64 - c.base.rss_kb as f64) / c.opened.max(1) as f64;
        if c.synced < c.opened { format!("{per:.1} KB (only {} of {} synced)", c.synced, c.opened) } else { format!("{per:.1} KB") }
    }));
    row("time for those connections to sync".into(), &|r| cell(&r.conns, |c| format!("{} in {:.1} s", c.synced, c.sync_secs)));
    let big = plan.history_sizes.last().copied().unwrap_or(0);
    row(format!("cold open of the {big}-change section after restart (total; of which client apply)"), &|r| cell(&r.cold, |c| {
        format!("{} ({})", ms(c.total_ms), ms(c.client_apply_ms))
    }));
    row("  server CPU for that cold open / bytes sent".into(), &|r| cell(&r.cold, |c| format!("{} / {:.0} KB", ms(c.server_cpu_ms), c.bytes as f64 / 1024.0)));
    row("load generator CPU per edit (latency run; all its clients)".into(), &|r| cell(&r.latency, |w| us(w.client_us_per_edit())));
    row("machine load average (1 min) when this server's run began / ended".into(), &|r| format!("{} / {}", r.load.0, r.load.1));
    row("wall time of this server's run".into(), &|r| format!("{:.0} s", r.secs));
    drop(row);

    // Targets.
    let _ = writeln!(w, "\n## Targets (issue 10)\n");
    let concerta = results.iter().find(|r| r.kind == Kind::Concerta);
    let others: Vec<&ServerResult> = results.iter().filter(|r| r.kind != Kind::Concerta).collect();
    match concerta {
        None => {
            let _ = writeln!(w, "Concerta was not measured in this run, so no target can be judged.");
        }
        Some(c) => {
            let mut t = |ok: Option<bool>, text: String| {
                let mark = match ok {
                    Some(true) => "met",
                    Some(false) => "**not met**",
                    None => "not measured",
                };
                let _ = writeln!(w, "- {mark}: {text}");
            };
            let lo = plan.history_sizes.first().copied().unwrap_or(0);
            match (hist(c, big), hist(c, lo)) {
                (Some(a), Some(b)) => {
                    let ratio = a.server_net_us_per_edit() / b.server_net_us_per_edit();
                    t(Some(ratio <= 2.0), format!("CPU/edit (net of idle) on the {big}-change section within 2× of the {lo}-change one: {} vs {} = {ratio:.2}×", us(a.server_net_us_per_edit()), us(b.server_net_us_per_edit())));
                    let d = a.server_net_us_per_edit() / decode_us;
                    t(Some(d <= 20.0), format!("CPU/edit (net of idle) within 20× of decoding the change: {} ÷ {decode_us:.2} µs = {d:.0}× (raw: {:.0}×)", us(a.server_net_us_per_edit()), a.server_us_per_edit() / decode_us));
                }
                _ => t(None, "CPU/edit flat in history".into()),
            }
            for &size in &plan.history_sizes {
                let best = others.iter().filter_map(|r| hist(r, size).map(|w| (r.kind, w.server_best_us_per_edit()))).fold(None, |acc: Option<(Kind, f64)>, x| match acc { Some(a) if a.1 <= x.1 => Some(a), _ => Some(x) });
                match (hist(c, size), best) {
                    (Some(cw), Some((k, b))) => {
                        let f = b / cw.server_net_us_per_edit();
                        t(Some(f >= 10.0), format!("≥10× less CPU/edit (net of idle) than the best other at {size} changes ({}, {}): Concerta {} → {f:.1}×", name(k), us(b), us(cw.server_net_us_per_edit())));
                    }
                    _ => t(None, format!("≥10× less CPU/edit at {size} changes")),
                }
            }
            // p99 at every load.
            let mut loads: Vec<(String, Box<dyn Fn(&ServerResult) -> Option<f64>>)> = vec![(
                "the fixed-rate run".into(),
                Box::new(|r: &ServerResult| r.latency.as_ref().ok().map(|w| w.lat.p99)),
            )];
            for &size in &plan.history_sizes {
                loads.push((format!("{size}-change sections"), Box::new(move |r: &ServerResult| hist(r, size).map(|w| w.lat.p99))));
            }
            for (i, &total) in plan.ramp_totals.iter().enumerate() {
                loads.push((format!("ramp step {total:.0}/s"), Box::new(move |r: &ServerResult| {
                    r.ramp.as_ref().ok().and_then(|s| s.get(i)).filter(|(t, _)| *t == total).map(|(_, w)| w.lat.p99)
                })));
            }
            for (label, f) in &loads {
                let Some(cp) = f(c) else {
                    if others.iter().any(|r| f(r).is_some()) {
                        t(None, format!("lower p99 than each other server at {label}"));
                    }
                    continue;
                };
                let cmp: Vec<(Kind, f64)> = others.iter().filter_map(|r| f(r).map(|p| (r.kind, p))).collect();
                if cmp.is_empty() {
                    continue;
                }
                let ok = cmp.iter().all(|(_, p)| cp < *p);
                t(Some(ok), format!("lower p99 than each other server at {label}: {} vs {}", ms(cp),
                    cmp.iter().map(|(k, p)| format!("{} {}", name(*k), ms(*p))).collect::<Vec<_>>().join(", ")));
            }
            match &c.conns {
                Ok(cn) if cn.target >= 10_000 => {
                    let rss = cn.syncing.rss_kb.max(cn.idle.rss_kb);
                    t(Some(cn.opened >= 10_000 && rss < 1024 * 1024), format!("{} connections (syncing) under 1 GiB RSS: {} open, {}", cn.target, cn.opened, mb(rss)));
                }
                Ok(cn) => t(None, format!("10,000 connections under 1 GiB (this plan opened {}; {} at {} syncing)", cn.target, mb(cn.syncing.rss_kb), cn.synced)),
                Err(_) => t(None, "10,000 connections under 1 GiB".into()),
            }
            match &c.conns {
                Ok(cn) => {
                    let ok = cn.after.rss_kb as f64 <= cn.base.rss_kb as f64 * 1.2 + 8.0 * 1024.0;
                    t(Some(ok), format!("memory back to baseline after the clients left ({:.0} s later): {} vs {} fresh (allowance: +20 % + 8 MB)", cn.after_secs, mb(cn.after.rss_kb), mb(cn.base.rss_kb)));
                }
                Err(_) => t(None, "memory returns to baseline".into()),
            }
        }
    }

    let _ = writeln!(w, "\n## Method\n");
    let _ = writeln!(w, "{}", METHOD.trim());
    let _ = writeln!(w, "\n## Errors and failures seen in this run\n");
    let mut any = false;
    for r in results {
        let mut lines: Vec<String> = r.errors.clone();
        if let Err(e) = &r.setup {
            lines.push(format!("setup: {e}"));
        }
        for (label, res) in [("conns", r.conns.as_ref().err()), ("latency", r.latency.as_ref().err()), ("cold open", r.cold.as_ref().err()), ("ramp", r.ramp.as_ref().err())] {
            if let Some(e) = res {
                lines.push(format!("{label}: {e}"));
            }
        }
        for (size, h) in &r.history {
            if let Err(e) = h {
                lines.push(format!("history {size}: {e}"));
            }
        }
        for l in lines {
            any = true;
            let _ = writeln!(w, "- {}: {}", name(r.kind), l.replace('\n', " "));
        }
    }
    if !any {
        let _ = writeln!(w, "None.");
    }
    o
}

const METHOD: &str = r#"
- **Clients** (`bench/loadgen`, one process, one tokio thread): every client is its own WebSocket
  connection doing the automerge-repo v1 handshake (`join` → `peer`, ephemeral, no storage id).
  A **writer** holds a real automerge 0.12 document with the section's full history and makes
  real edits on it (insert 3 characters at a random place in `body`, every other edit also
  delete 4), a new actor per session; its sync messages come from a light mirror (below).
  A **reader** is a light but honest sync peer: it keeps only the change graph (hashes,
  dependencies, bytes) in `concerta_sync::graph::ChangeGraph` and answers with
  `concerta_sync::protocol` (the sans-IO twin of automerge's `SyncDoc`, held to it by the
  engine's differential test); it never materializes a document, sends no flags (a V1 peer, so
  servers send it changes, not whole documents) and replies to every message. Readers start
  empty and `request` the document, like a new client.
- **Latency** = arrival of the change at a reader − the moment the writer committed it, on the
  same process clock (tagged by change hash); every reader's arrival is one sample. Edits made
  during the warm-up are not counted.
- **Server CPU per edit** = the server process's on-CPU time over the measured window plus the
  drain after it (sum of `/proc/<pid>/task/*/schedstat`, ns resolution; `/proc/<pid>/stat`
  utime+stime is the cross-check and wins if threads exited) ÷ edits the writers made in the
  window. Each edit is relayed to 2 readers. The raw figure includes whatever the server does
  in the background at the time (storage writes, timers, GC); "net" subtracts the server's
  CPU rate measured just before, with every client connected and no edits (idle window), over
  the same span. At 2 edits/s per document the idle share is large for a cheap server, so the
  targets are judged on the net figures; both are shown. Before that idle window the driver
  waits (up to 60 s) for the server to go quiet (< 3 % of a core); a server still busy in the
  idle window (> 20 % of a core) gets no net figure, and its raw figure is used in ratios and
  comparisons.
- **History sizes:** each section is built once per server by the generator (automerge, a new
  actor every 200 changes, ~1 character of net growth per change) and uploaded through the
  protocol in batches of 1,000 changes before the server is restarted and measured. Concerta's
  sections are created by its REST API (a coordinator may write all); the others' documents
  are created by the client, as automerge-repo clients do.
- **Saturation:** 20 documents, the total edit rate raised in steps; stops after the first step
  with p99 over 1 s or more than a second of edits outstanding. "Sustained" is the best step
  that delivered ≥ 95 % of its edits to both readers with p99 < 500 ms. If the generator's own
  CPU is the limit, the figure is a lower bound for that server.
- **Connections:** N connections opened with 256 handshakes in flight; RSS (`VmRSS`) of the
  fresh server, after all are open and idle, after each has synced one of the 20 small
  documents (a `request`), and after all have left: sampled every second until it is back
  within 20 % + 8 MB of the fresh figure, or 45 s have passed. Per-connection figures are
  (RSS − fresh RSS) ÷ N, so the syncing figure includes the documents loaded.
- **Cold open:** the server restarted, then a fresh client with a real automerge document
  (which advertises V2, like the JS client) requests the largest section; time from TCP
  connect to the client holding the expected heads, including its own apply time (shown apart).
"#;
