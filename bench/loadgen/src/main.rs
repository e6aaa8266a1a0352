//! `loadgen`: Concerta's automerge-repo load generator and side-by-side benchmark.
//!
//! `loadgen bench [--quick] [--servers concerta,npm,repo2,samod] --root DIR --out FILE …`
//! starts each server fresh on 127.0.0.1, puts the same load on it, samples /proc, stops it,
//! and writes a Markdown report. `cargo xtask bench` builds everything and runs this.
//! See bench/README.md.

mod blocks;
mod http;
mod jsloop;
mod load;
mod net;
mod peer;
mod report;
mod servers;
mod upload;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use automerge::Automerge;
use concerta_sync::DocumentId;
use serde_json::json;

use load::{ColdOpen, Conns, DocState, Group, Window};
use servers::{Kind, Programs, Server};

/// The sizes of one run.
#[derive(Debug, Clone)]
pub struct Plan {
    pub quick: bool,
    pub latency_docs: usize,
    pub readers: usize,
    pub latency_rate: f64,
    pub latency_warmup: Duration,
    pub latency_window: Duration,
    pub history_sizes: Vec<usize>,
    pub history_docs: usize,
    pub history_rate: f64,
    pub history_window: Duration,
    pub conns: usize,
    pub conns_limit: Duration,
    pub settle: Duration,
    pub idle: Duration,
    pub ramp_totals: Vec<f64>,
    pub ramp_step: Duration,
}

impl Plan {
    fn new(quick: bool) -> Plan {
        if quick {
            Plan {
                quick,
                latency_docs: 20,
                readers: 2,
                latency_rate: 10.0,
                latency_warmup: Duration::from_secs(2),
                latency_window: Duration::from_secs(8),
                history_sizes: vec![100, 2_000, 20_000],
                history_docs: 1,
                history_rate: 2.0,
                history_window: Duration::from_secs(6),
                conns: 1_000,
                conns_limit: Duration::from_secs(60),
                settle: Duration::from_secs(1),
                idle: Duration::from_secs(3),
                ramp_totals: vec![200.0, 800.0, 3_200.0],
                ramp_step: Duration::from_secs(3),
            }
        } else {
            Plan {
                quick,
                latency_docs: 20,
                readers: 2,
                latency_rate: 10.0,
                latency_warmup: Duration::from_secs(3),
                latency_window: Duration::from_secs(30),
                history_sizes: vec![100, 2_000, 20_000],
                history_docs: 2,
                history_rate: 2.0,
                history_window: Duration::from_secs(20),
                conns: 10_000,
                conns_limit: Duration::from_secs(120),
                settle: Duration::from_secs(2),
                idle: Duration::from_secs(5),
                ramp_totals: vec![100.0, 200.0, 400.0, 800.0, 1_600.0, 3_200.0, 6_400.0, 12_800.0],
                ramp_step: Duration::from_secs(5),
            }
        }
    }
}

pub type Res<T> = std::result::Result<T, String>;

/// Everything measured on one server.
pub struct ServerResult {
    pub kind: Kind,
    pub setup: Res<f64>,
    pub conns: Res<Conns>,
    pub latency: Res<Window>,
    pub history: Vec<(usize, Res<Window>)>,
    pub cold: Res<ColdOpen>,
    pub ramp: Res<Vec<(f64, Window)>>,
    pub errors: Vec<String>,
    pub secs: f64,
    /// 1-minute load average of the machine when this server's run began and ended.
    pub load: (String, String),
}

/// When and at which commit a results block is made: ("2026-11-29 21:28 UTC", "adaaa5c").
pub fn stamp() -> (String, String) {
    (report::sh("date", &["-u", "+%Y-%m-%d %H:%M UTC"]), report::sh("git", &["rev-parse", "--short", "HEAD"]))
}

pub fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg").ok().and_then(|l| l.split_whitespace().next().map(str::to_string)).unwrap_or_default()
}

struct Args {
    quick: bool,
    servers: Vec<Kind>,
    programs: Programs,
    repo_root: PathBuf,
    out: PathBuf,
    command: String,
    loadgen_cpu: Option<usize>,
    keep: bool,
}

fn parse_args() -> Result<Args> {
    if std::env::args().nth(1).as_deref() != Some("bench") {
        bail!("usage: loadgen bench [--quick] [--servers concerta,npm,repo2,samod] [--no-pin] [--keep] --repo-root DIR --out FILE --concerta BIN --samod BIN [--js-dir DIR] [--node node] [--command TEXT]");
    }
    let (mut quick, mut keep) = (false, false);
    let common = parse_common("bench", vec![Kind::Concerta, Kind::Npm, Kind::Repo2, Kind::Samod], |arg, _| {
        match arg {
            "--quick" => quick = true,
            "--keep" => keep = true,
            _ => return Ok(false),
        }
        Ok(true)
    })?;
    Ok(Args {
        quick,
        servers: common.kinds,
        programs: common.programs,
        repo_root: common.repo_root,
        out: common.out,
        command: common.command,
        loadgen_cpu: common.node_cpu,
        keep,
    })
}

fn main() -> Result<()> {
    if std::env::args().nth(1).as_deref() == Some("jsloop") {
        let args = parse_jsloop_args()?;
        let nofile = servers::raise_nofile();
        let _ = nofile;
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        return rt.block_on(jsloop::run(args));
    }
    if std::env::args().nth(1).as_deref() == Some("upload") {
        let args = parse_upload_args()?;
        servers::raise_nofile();
        if args.programs.server_cpu.is_some() {
            servers::pin_self(1);
        }
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        return rt.block_on(upload::run(args));
    }
    let args = parse_args()?;
    let nofile = servers::raise_nofile();
    if let Some(cpu) = args.loadgen_cpu {
        servers::pin_self(cpu);
    }
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    rt.block_on(bench(args, nofile))
}

/// The flags every mode (`bench`, `jsloop`, `upload`) shares, read from the command line; the
/// mode's own flags go to `own` (which answers whether it took the flag, pulling its value
/// with `val`).
struct Common {
    kinds: Vec<Kind>,
    programs: Programs,
    repo_root: PathBuf,
    out: PathBuf,
    command: String,
    /// Pin the clients (Node, or the load generator itself) to this CPU (the server to CPU 0).
    node_cpu: Option<usize>,
}

fn parse_common(
    mode: &str,
    default_kinds: Vec<Kind>,
    mut own: impl FnMut(&str, &mut dyn FnMut() -> Result<String>) -> Result<bool>,
) -> Result<Common> {
    let mut a = std::env::args().skip(2);
    let mut kinds = default_kinds;
    let mut pin = true;
    let (mut repo_root, mut out, mut concerta, mut samod, mut js_dir) = (None, None, None, None, None);
    let mut node = "node".to_string();
    let mut command = format!("loadgen {mode}");
    while let Some(arg) = a.next() {
        let mut val = || a.next().with_context(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--no-pin" => pin = false,
            "--servers" => kinds = val()?.split(',').map(Kind::parse).collect::<Result<_>>()?,
            "--repo-root" => repo_root = Some(PathBuf::from(val()?)),
            "--out" => out = Some(PathBuf::from(val()?)),
            "--concerta" => concerta = Some(PathBuf::from(val()?)),
            "--samod" => samod = Some(PathBuf::from(val()?)),
            "--js-dir" => js_dir = Some(PathBuf::from(val()?)),
            "--node" => node = val()?,
            "--command" => command = val()?,
            other => {
                if !own(other, &mut val)? {
                    bail!("unknown argument {other}")
                }
            }
        }
    }
    let repo_root: PathBuf = repo_root.context("--repo-root")?;
    let nproc = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let pin = pin && nproc >= 2;
    Ok(Common {
        kinds,
        programs: Programs {
            concerta: concerta.unwrap_or_else(|| repo_root.join("target/release/concerta")),
            samod: samod.unwrap_or_else(|| repo_root.join("target/release/samod-server")),
            js_dir: js_dir.unwrap_or_else(|| repo_root.join("bench/js")),
            node,
            server_cpu: pin.then_some(0),
        },
        out: out.unwrap_or_else(|| repo_root.join("bench/RESULTS.md")),
        repo_root,
        command,
        node_cpu: pin.then_some(1),
    })
}

/// `loadgen jsloop [--quick] [--servers concerta,npm,repo2,samod] [--coalesce MS,MS] [--no-pin]
/// --repo-root DIR --out FILE --concerta BIN --samod BIN [--js-dir DIR] [--node node] [--command TEXT]`.
/// Concerta runs once per relay coalescing window in `--coalesce` (default `0,50`: off, and
/// its default).
fn parse_jsloop_args() -> Result<jsloop::Args> {
    let mut quick = false;
    let mut windows = vec![0, 50];
    let common = parse_common("jsloop", vec![Kind::Concerta, Kind::Npm, Kind::Repo2, Kind::Samod], |arg, val| {
        match arg {
            "--quick" => quick = true,
            "--coalesce" => {
                windows = val()?
                    .split(',')
                    .map(|ms| ms.trim().parse::<u64>())
                    .collect::<Result<_, _>>()
                    .context("--coalesce takes milliseconds, e.g. 0,50,100")?
            }
            _ => return Ok(false),
        }
        Ok(true)
    })?;
    let mut variants = Vec::new();
    for &kind in &common.kinds {
        if kind == Kind::Concerta {
            variants.extend(windows.iter().map(|&ms| jsloop::Variant { kind, coalesce_ms: Some(ms) }));
        } else {
            variants.push(jsloop::Variant { kind, coalesce_ms: None });
        }
    }
    let loads = if quick {
        vec![jsloop::Load { sections: 1, clients: 10, edits: 30 }, jsloop::Load { sections: 20, clients: 3, edits: 15 }]
    } else {
        vec![jsloop::Load { sections: 1, clients: 10, edits: 100 }, jsloop::Load { sections: 20, clients: 3, edits: 50 }]
    };
    Ok(jsloop::Args {
        variants,
        loads,
        programs: common.programs,
        out: common.out,
        command: common.command,
        timeout: Duration::from_secs(150),
        node_cpu: common.node_cpu,
    })
}

/// `loadgen upload [--changes N] [--rate N] [--servers concerta,samod] [--no-pin] --repo-root DIR --out FILE
/// --concerta BIN --samod BIN [--js-dir DIR] [--node node] [--command TEXT]`.
fn parse_upload_args() -> Result<upload::Args> {
    let (mut changes, mut rate) = (20_000, 400.0);
    let common = parse_common("upload", vec![Kind::Concerta, Kind::Samod], |arg, val| {
        match arg {
            "--changes" => changes = val()?.parse().context("--changes N")?,
            "--rate" => rate = val()?.parse().context("--rate MESSAGES_PER_S")?,
            // Accepted for symmetry with `bench`; the upload has one plan.
            "--quick" | "--keep" => {}
            _ => return Ok(false),
        }
        Ok(true)
    })?;
    Ok(upload::Args { kinds: common.kinds, changes, rate, programs: common.programs, out: common.out, command: common.command })
}

fn log(msg: impl AsRef<str>) {
    eprintln!("[loadgen {}] {}", chrono_now(), msg.as_ref());
}

fn chrono_now() -> String {
    let out = std::process::Command::new("date").arg("+%H:%M:%S").output();
    out.map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string()).unwrap_or_default()
}

async fn bench(args: Args, nofile: u64) -> Result<()> {
    let plan = Plan::new(args.quick);
    let started = Instant::now();
    let root = tempdir()?;
    log(format!("work dir {} · open files limit {nofile} · plan {}", root.display(), if plan.quick { "quick" } else { "full" }));
    if (nofile as usize) < plan.conns + 1000 {
        log(format!("warning: open files limit {nofile} is below {} connections", plan.conns));
    }

    // The floor: decoding one change, measured here on real edits of a 20,000-change history.
    let mut doc = Automerge::load(&concerta_sync::new_section_document("Bench"))?;
    let t = Instant::now();
    peer::extend_history(&mut doc, 20_000, 7)?;
    let gen_secs = t.elapsed().as_secs_f64();
    let tail: Vec<Vec<u8>> = doc.get_changes(&[]).iter().rev().take(2_000).map(|c| c.raw_bytes().to_vec()).collect();
    let mut runs: Vec<f64> = (0..7).map(|_| load::decode_cost_us(&tail)).collect();
    runs.sort_by(f64::total_cmp);
    let decode_us = runs[runs.len() / 2];
    log(format!("decode cost {decode_us:.2} µs/change; generating 20,000 changes took {gen_secs:.2} s"));
    drop(doc);

    // What is being measured, taken before any server runs (the work tree may change later).
    let info = args_info(&args);
    let mut results = Vec::new();
    for &kind in &args.servers {
        log(format!("=== {} ===", kind.key()));
        let r = run_server(kind, &args, &plan, &root).await;
        log(format!("{} done in {:.0} s", kind.key(), r.secs));
        results.push(r);
        let md = report::render(&info, &plan, decode_us, &results, started.elapsed().as_secs_f64());
        // Other benchmarks' marked blocks (bench-web, jsloop) stay.
        let old = std::fs::read_to_string(&args.out).unwrap_or_default();
        let md = blocks::keep_other_blocks(&old, &md);
        std::fs::write(&args.out, md).with_context(|| format!("write {}", args.out.display()))?;
    }
    log(format!("wrote {} in {:.0} s", args.out.display(), started.elapsed().as_secs_f64()));
    if !args.keep {
        let _ = std::fs::remove_dir_all(&root);
    }
    Ok(())
}

fn args_info(args: &Args) -> report::Info {
    report::Info::collect(&args.repo_root, &args.programs, &args.command, args.loadgen_cpu)
}

fn tempdir() -> Result<PathBuf> {
    let base = std::env::temp_dir().join(format!("concerta-bench-{}", std::process::id()));
    std::fs::create_dir_all(&base)?;
    Ok(base)
}

fn err<T>(r: Result<T>) -> Res<T> {
    r.map_err(|e| format!("{e:#}"))
}

async fn run_server(kind: Kind, args: &Args, plan: &Plan, root: &std::path::Path) -> ServerResult {
    let t0 = Instant::now();
    let mut r = ServerResult {
        kind,
        setup: Err("not run".into()),
        conns: Err("not run".into()),
        latency: Err("not run".into()),
        history: Vec::new(),
        cold: Err("not run".into()),
        ramp: Err("not run".into()),
        errors: Vec::new(),
        secs: 0.0,
        load: (loadavg(), String::new()),
    };
    let mut server = match Server::new(kind, root, &args.programs) {
        Ok(s) => s,
        Err(e) => {
            r.setup = Err(format!("{e:#}"));
            return r;
        }
    };
    // Setup: documents of every size, uploaded through the protocol.
    let ts = Instant::now();
    let setup = setup_docs(&mut server, plan).await;
    server.stop();
    let (mut small, mut hist) = match setup {
        Ok(d) => {
            r.setup = Ok(ts.elapsed().as_secs_f64());
            d
        }
        Err(e) => {
            log(format!("setup failed: {e:#}"));
            r.setup = Err(format!("{e:#}"));
            r.secs = t0.elapsed().as_secs_f64();
            return r;
        }
    };
    log(format!("setup {:.1} s", ts.elapsed().as_secs_f64()));

    // 1. Connections: open N, idle, each syncs one of the small documents, all leave.
    r.conns = err(async {
        server.start()?;
        let docs: Vec<(DocumentId, Vec<automerge::ChangeHash>)> = small.iter().map(|d| (d.id, d.heads())).collect();
        let c = load::conns(&server.url(), plan.conns, &docs, server.pid(), plan.conns_limit, plan.settle).await;
        server.stop();
        c
    }
    .await);
    match &r.conns {
        Ok(c) => log(format!(
            "conns: opened {}/{} in {:.1} s, synced {} in {:.1} s, rss base {} idle {} syncing {} after {} MB",
            c.opened, c.target, c.open_secs, c.synced, c.sync_secs,
            c.base.rss_kb / 1024, c.idle.rss_kb / 1024, c.syncing.rss_kb / 1024, c.after.rss_kb / 1024
        )),
        Err(e) => log(format!("conns failed: {e}")),
    }

    // 2. Relay latency at a fixed rate.
    let lat = async {
        server.start()?;
        let mut g = Group::start(&server.url(), std::mem::take(&mut small), plan.readers, server.pid(), Duration::from_secs(120)).await?;
        let w = g.measure(plan.latency_rate, plan.idle, plan.latency_warmup, plan.latency_window).await;
        let errors = g.errors();
        small = g.stop().await?;
        server.stop();
        Ok::<_, anyhow::Error>((w?, errors))
    }
    .await;
    r.latency = match lat {
        Ok((w, errors)) => {
            r.errors.extend(errors.into_iter().map(|e| format!("latency: {e}")));
            log(format!("latency: {} edits p50 {:.2} ms p99 {:.2} ms, server {:.0} µs/edit (net of idle {:.0}), client {:.0} µs/edit",
                w.edits, w.lat.p50, w.lat.p99, w.server_us_per_edit(), w.server_net_us_per_edit(), w.client_us_per_edit()));
            Ok(w)
        }
        Err(e) => {
            server.stop();
            log(format!("latency failed: {e:#}"));
            Err(format!("{e:#}"))
        }
    };

    // 3. CPU per edit by history size.
    if server.start().is_ok() {
        for (size, docs) in plan.history_sizes.iter().zip(hist.iter_mut()) {
            let res = async {
                let mut g = Group::start(&server.url(), std::mem::take(docs), plan.readers, server.pid(), Duration::from_secs(180)).await?;
                let w = g.measure(plan.history_rate, plan.idle, Duration::from_secs(2), plan.history_window).await;
                let errors = g.errors();
                *docs = g.stop().await?;
                Ok::<_, anyhow::Error>((w?, errors))
            }
            .await;
            r.history.push((*size, match res {
                Ok((w, errors)) => {
                    r.errors.extend(errors.into_iter().map(|e| format!("history {size}: {e}")));
                    log(format!("history {size}: {} edits p99 {:.2} ms, server {:.0} µs/edit (net of idle {:.0}; idle {:.2} ms/s, {:.1} frames/s)", w.edits, w.lat.p99, w.server_us_per_edit(), w.server_net_us_per_edit(), w.idle_ns_per_s / 1e6, w.idle_frames_per_s));
                    Ok(w)
                }
                Err(e) => {
                    log(format!("history {size} failed: {e:#}"));
                    Err(format!("{e:#}"))
                }
            }));
        }
        server.stop();
    }

    // 4. Cold open of the largest section after a restart.
    r.cold = err(async {
        let big = hist.last().and_then(|d| d.first()).context("no large document")?;
        server.start()?;
        let c = load::cold_open(&server.url(), big.id, &big.heads(), server.pid()).await;
        server.stop();
        c
    }
    .await);
    if let Ok(c) = &r.cold {
        log(format!("cold open: {:.0} ms (client apply {:.0} ms, {} bytes)", c.total_ms, c.client_apply_ms, c.bytes));
    }

    // 5. Saturation: a bounded ramp on the small documents.
    let ramp = async {
        server.start()?;
        let mut g = Group::start(&server.url(), std::mem::take(&mut small), plan.readers, server.pid(), Duration::from_secs(120)).await?;
        let steps = g.ramp(&plan.ramp_totals, plan.ramp_step).await;
        let errors = g.errors();
        let _ = g.stop().await;
        server.stop();
        Ok::<_, anyhow::Error>((steps?, errors))
    }
    .await;
    r.ramp = match ramp {
        Ok((steps, errors)) => {
            r.errors.extend(errors.into_iter().map(|e| format!("ramp: {e}")));
            for (total, w) in &steps {
                log(format!("ramp {total}/s: sent {:.0}/s delivered {:.0}/s p99 {:.1} ms server cpu {:.0}% generator cpu {:.0}%",
                    w.edits as f64 / w.secs, w.delivered_edits / w.secs, w.lat.p99, w.server_cpu_ns as f64 / w.secs / 1e7, w.client_cpu_ns as f64 / w.secs / 1e7));
            }
            Ok(steps)
        }
        Err(e) => {
            server.stop();
            log(format!("ramp failed: {e:#}"));
            Err(format!("{e:#}"))
        }
    };
    server.stop();
    r.secs = t0.elapsed().as_secs_f64();
    r.load.1 = loadavg();
    r
}

/// Creates the documents on a fresh server: `latency_docs` small ones (10 changes) and
/// `history_docs` per history size. Concerta's are sections the server created through the
/// REST API; the others' are created by the client, as automerge-repo clients do.
async fn setup_docs(server: &mut Server, plan: &Plan) -> Result<(Vec<DocState>, Vec<Vec<DocState>>)> {
    if server.kind == Kind::Concerta {
        server.provision_concerta()?;
    }
    server.start()?;
    let need = plan.latency_docs + plan.history_docs * plan.history_sizes.len();
    let ids: Vec<DocumentId> = if server.kind == Kind::Concerta {
        concerta_sections(server, need).await?
    } else {
        (0..need).map(|_| DocumentId::random()).collect()
    };
    let created = server.kind == Kind::Concerta;
    let url = server.url();
    let mut it = ids.into_iter();
    let mut small = Vec::new();
    for i in 0..plan.latency_docs {
        small.push(load::prepare(&url, it.next().expect("enough"), created, 10, 1000 + i as u64).await?);
    }
    let mut hist = Vec::new();
    for &size in &plan.history_sizes {
        let mut v = Vec::new();
        for j in 0..plan.history_docs {
            let t = Instant::now();
            v.push(load::prepare(&url, it.next().expect("enough"), created, size, size as u64 + j as u64).await?);
            log(format!("prepared a {size}-change document in {:.1} s", t.elapsed().as_secs_f64()));
        }
        hist.push(v);
    }
    Ok((small, hist))
}

/// A city, its coordinator, and strategies from the seed template until there are `need`
/// sections.
async fn concerta_sections(server: &Server, need: usize) -> Result<Vec<DocumentId>> {
    let token = server.token.clone().context("token")?;
    let port = server.port;
    let city = http::request(port, "POST", "/api/cities", &token, Some(&json!({"name": "Bench", "slug": "bench", "locale": "es"}))).await?;
    let city_id = city["id"].as_str().map(str::to_string).or_else(|| city["id"].as_i64().map(|i| i.to_string())).context("city id")?;
    http::request(port, "POST", &format!("/api/cities/{city_id}/members"), &token,
        Some(&json!({"email": "bench@example.org", "name": "A", "role": "coordinator"}))).await?;
    let mut ids = Vec::new();
    for n in 0..100 {
        if ids.len() >= need {
            break;
        }
        let s = http::request(port, "POST", &format!("/api/cities/{city_id}/strategies"), &token,
            Some(&json!({"title": format!("S{n}"), "template": "seed"}))).await?;
        for sec in s["sections"].as_array().context("sections")? {
            let url = sec["doc_url"].as_str().context("doc_url")?;
            ids.push(DocumentId::parse_url(url).map_err(|_| anyhow::anyhow!("bad doc_url {url}"))?);
        }
    }
    ids.truncate(need);
    if ids.len() < need {
        bail!("only {} sections", ids.len());
    }
    Ok(ids)
}
