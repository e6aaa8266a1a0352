//! The load: groups of one writer and N readers per document, ramps, connection floods,
//! cold opens and history uploads. Every loop is bounded in count and time.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use automerge::sync::{Message, SyncDoc};
use automerge::{Automerge, ChangeHash};
use concerta_sync::DocumentId;
use concerta_sync::wire::WireMessage;
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinHandle;

use crate::net::{Conn, new_peer_id};
use crate::peer::{LightDoc, Writer, extend_history};
use crate::servers::{Sample, sample, self_sample};

const CONNECT_TIMEOUT: Duration = Duration::from_secs(20);

/// A document as the server should hold it.
pub struct DocState {
    pub id: DocumentId,
    pub doc: Automerge,
}

impl DocState {
    pub fn heads(&self) -> Vec<ChangeHash> {
        let mut h = self.doc.get_heads();
        h.sort_unstable();
        h
    }
}

#[derive(Clone, Copy)]
struct Tag {
    sent: Instant,
    epoch: u32,
}

const EPOCHS: usize = 64;

#[derive(Default)]
struct Shared {
    tags: Mutex<HashMap<ChangeHash, Tag>>,
    /// (epoch, latency µs) per delivery to a reader.
    deliveries: Mutex<Vec<(u32, u32)>>,
    sent: Mutex<Vec<u64>>,
    sent_total: AtomicU64,
    delivered_total: AtomicU64,
    /// Per-writer rate in milli-edits per second.
    rate_milli: AtomicU64,
    epoch: AtomicU32,
    ready: AtomicUsize,
    errors: Mutex<Vec<String>>,
    /// Frames the clients received (all kinds).
    frames_in: AtomicU64,
}

impl Shared {
    fn error(&self, e: String) {
        let mut errs = self.errors.lock().unwrap();
        if errs.len() < 20 && !errs.contains(&e) {
            errs.push(e);
        }
    }
}

/// Latency statistics in milliseconds.
#[derive(Debug, Clone, Copy, Default)]
pub struct Lat {
    pub n: usize,
    pub p50: f64,
    pub p99: f64,
    pub max: f64,
}

pub fn lat_stats(mut us: Vec<u32>) -> Lat {
    if us.is_empty() {
        return Lat::default();
    }
    us.sort_unstable();
    let q = |p: f64| us[((us.len() as f64 * p).ceil() as usize).clamp(1, us.len()) - 1] as f64 / 1000.0;
    Lat { n: us.len(), p50: q(0.50), p99: q(0.99), max: *us.last().unwrap() as f64 / 1000.0 }
}

/// The result of one measured window.
#[derive(Debug, Clone, Default)]
pub struct Window {
    pub secs: f64,
    /// Edits the writers made in the window.
    pub edits: u64,
    /// Edits of the window that reached every reader.
    pub delivered_edits: f64,
    pub lat: Lat,
    pub server_cpu_ns: u64,
    pub client_cpu_ns: u64,
    pub rss_kb: u64,
    /// The server's CPU use with every client connected and no edits (ns per second).
    pub idle_ns_per_s: f64,
    /// Seconds the CPU figures cover (window + drain).
    pub span_secs: f64,
    /// Frames the clients received per second during the idle window (0 when quiet).
    pub idle_frames_per_s: f64,
}

impl Window {
    pub fn server_us_per_edit(&self) -> f64 {
        if self.edits == 0 { f64::NAN } else { self.server_cpu_ns as f64 / self.edits as f64 / 1000.0 }
    }
    /// CPU per edit less what the server spends idle over the same span.
    /// Not meaningful (NaN) when the server was busy in the background during the idle
    /// window (over 20 % of a core with no edits).
    pub fn server_net_us_per_edit(&self) -> f64 {
        if self.edits == 0 || self.idle_ns_per_s > 0.2e9 {
            return f64::NAN;
        }
        let net = (self.server_cpu_ns as f64 - self.idle_ns_per_s * self.span_secs).max(0.0);
        net / self.edits as f64 / 1000.0
    }
    /// Net of idle where meaningful, else raw.
    pub fn server_best_us_per_edit(&self) -> f64 {
        let net = self.server_net_us_per_edit();
        if net.is_nan() { self.server_us_per_edit() } else { net }
    }
    pub fn client_us_per_edit(&self) -> f64 {
        if self.edits == 0 { f64::NAN } else { self.client_cpu_ns as f64 / self.edits as f64 / 1000.0 }
    }
}

/// Writers and readers on a set of documents, connected and synced.
pub struct Group {
    shared: Arc<Shared>,
    stop: watch::Sender<bool>,
    writers: Vec<JoinHandle<Result<DocState>>>,
    readers: Vec<JoinHandle<()>>,
    readers_per_doc: usize,
    next_epoch: u32,
    pid: u32,
}

impl Group {
    /// Connects one writer and `readers_per_doc` readers per document and waits until every
    /// reader holds the document (readers start empty and `request` it, like a new client).
    pub async fn start(url: &str, docs: Vec<DocState>, readers_per_doc: usize, pid: u32, ready_timeout: Duration) -> Result<Group> {
        let shared = Arc::new(Shared::default());
        *shared.sent.lock().unwrap() = vec![0; EPOCHS];
        let (stop, stop_rx) = watch::channel(false);
        let mut writers = Vec::new();
        let mut readers = Vec::new();
        let n_docs = docs.len();
        for (i, ds) in docs.into_iter().enumerate() {
            let target = ds.heads();
            let id = ds.id;
            let conn = Conn::open(url, new_peer_id("w"), CONNECT_TIMEOUT).await?;
            writers.push(tokio::spawn(writer_task(conn, ds, shared.clone(), stop_rx.clone(), i as u64 + 1)));
            for _ in 0..readers_per_doc {
                let conn = Conn::open(url, new_peer_id("r"), CONNECT_TIMEOUT).await?;
                readers.push(tokio::spawn(reader_task(conn, id, target.clone(), shared.clone(), stop_rx.clone())));
            }
        }
        let group = Group { shared, stop, writers, readers, readers_per_doc, next_epoch: 1, pid };
        let want = n_docs * readers_per_doc;
        let deadline = Instant::now() + ready_timeout;
        while group.shared.ready.load(Relaxed) < want {
            if Instant::now() > deadline {
                let errs = group.shared.errors.lock().unwrap().clone();
                let got = group.shared.ready.load(Relaxed);
                group.stop().await.ok();
                bail!("only {got} of {want} readers synced within {ready_timeout:?}; errors: {errs:?}");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Ok(group)
    }

    pub fn writers(&self) -> usize {
        self.writers.len()
    }

    pub fn errors(&self) -> Vec<String> {
        self.shared.errors.lock().unwrap().clone()
    }

    fn set_rate(&self, per_writer: f64) {
        self.shared.rate_milli.store((per_writer * 1000.0).round() as u64, Relaxed);
    }

    fn new_epoch(&mut self) -> u32 {
        let e = self.next_epoch.min(EPOCHS as u32 - 1);
        self.next_epoch += 1;
        self.shared.epoch.store(e, Relaxed);
        e
    }

    fn backlog(&self) -> i64 {
        self.shared.sent_total.load(Relaxed) as i64 * self.readers_per_doc as i64
            - self.shared.delivered_total.load(Relaxed) as i64
    }

    /// Stops the edits and waits (bounded) until every reader has every edit.
    async fn drain(&self, timeout: Duration) -> bool {
        self.set_rate(0.0);
        self.shared.epoch.store(0, Relaxed);
        let deadline = Instant::now() + timeout;
        while self.backlog() > 0 {
            if Instant::now() > deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        true
    }

    fn window_stats(&self, epoch: u32) -> (u64, f64, Lat) {
        let edits = self.shared.sent.lock().unwrap()[epoch as usize];
        let lats: Vec<u32> =
            self.shared.deliveries.lock().unwrap().iter().filter(|(e, _)| *e == epoch).map(|(_, l)| *l).collect();
        let delivered = lats.len() as f64 / self.readers_per_doc as f64;
        (edits, delivered, lat_stats(lats))
    }

    /// A warm-up, then a measured window at a fixed rate, then a drain; CPU over window+drain.
    pub async fn measure(&mut self, per_writer: f64, idle: Duration, warmup: Duration, window: Duration) -> Result<Window> {
        wait_quiet(self.pid, Duration::from_secs(60)).await;
        let i0 = sample(self.pid);
        let f0 = self.shared.frames_in.load(Relaxed);
        let ti = Instant::now();
        tokio::time::sleep(idle).await;
        let idle_ns_per_s = sample(self.pid).cpu_ns_since(&i0) as f64 / ti.elapsed().as_secs_f64();
        let idle_frames_per_s = (self.shared.frames_in.load(Relaxed) - f0) as f64 / ti.elapsed().as_secs_f64();
        self.set_rate(per_writer);
        self.shared.epoch.store(0, Relaxed);
        tokio::time::sleep(warmup).await;
        let s0 = sample(self.pid);
        let c0 = self_sample();
        let t0 = Instant::now();
        let epoch = self.new_epoch();
        tokio::time::sleep(window).await;
        let secs = t0.elapsed().as_secs_f64();
        let drained = self.drain(Duration::from_secs(30)).await;
        let s1 = sample(self.pid);
        let c1 = self_sample();
        let span_secs = t0.elapsed().as_secs_f64();
        if !drained {
            self.shared.error(format!("not drained within 30 s (backlog {})", self.backlog()));
        }
        let (edits, delivered, lat) = self.window_stats(epoch);
        Ok(Window {
            secs,
            edits,
            delivered_edits: delivered,
            lat,
            server_cpu_ns: s1.cpu_ns_since(&s0),
            client_cpu_ns: c1.cpu_ns_since(&c0),
            rss_kb: s1.rss_kb,
            idle_ns_per_s,
            span_secs,
            idle_frames_per_s,
        })
    }

    /// A bounded ramp of total edit rates; stops after the first step the server does not
    /// keep up with (p99 over 1 s or more than 1 s of edits outstanding).
    pub async fn ramp(&mut self, totals: &[f64], step: Duration) -> Result<Vec<(f64, Window)>> {
        let mut steps = Vec::new();
        let n = self.writers() as f64;
        for &total in totals {
            self.set_rate(total / n);
            let s0 = sample(self.pid);
            let c0 = self_sample();
            let t0 = Instant::now();
            let epoch = self.new_epoch();
            tokio::time::sleep(step).await;
            let s1 = sample(self.pid);
            let c1 = self_sample();
            let secs = t0.elapsed().as_secs_f64();
            let (edits, _, lat_so_far) = self.window_stats(epoch);
            let behind = self.backlog() as f64 / self.readers_per_doc as f64;
            steps.push((
                total,
                epoch,
                Window {
                    secs,
                    edits,
                    server_cpu_ns: s1.cpu_ns_since(&s0),
                    client_cpu_ns: c1.cpu_ns_since(&c0),
                    rss_kb: s1.rss_kb,
                    ..Default::default()
                },
            ));
            // Saturated, or the generator cannot offer more (it made < 90 % of the edits asked).
            if lat_so_far.p99 > 1000.0 || behind > total || (edits as f64) < 0.9 * total * secs {
                break;
            }
        }
        self.drain(Duration::from_secs(20)).await;
        Ok(steps
            .into_iter()
            .map(|(total, epoch, mut w)| {
                let (_, _, lat) = self.window_stats(epoch);
                // Delivered = reached a reader within one second.
                let on_time = self.shared.deliveries.lock().unwrap().iter().filter(|(e, l)| *e == epoch && *l <= 1_000_000).count();
                w.delivered_edits = on_time as f64 / self.readers_per_doc as f64;
                w.lat = lat;
                (total, w)
            })
            .collect())
    }

    /// Closes every connection; the writers hand back their documents.
    pub async fn stop(self) -> Result<Vec<DocState>> {
        let _ = self.stop.send(true);
        let mut docs = Vec::new();
        for w in self.writers {
            match tokio::time::timeout(Duration::from_secs(30), w).await {
                Ok(Ok(Ok(d))) => docs.push(d),
                Ok(Ok(Err(e))) => bail!("writer failed: {e:#}"),
                Ok(Err(e)) => bail!("writer panicked: {e}"),
                Err(_) => bail!("writer did not stop within 30 s"),
            }
        }
        for r in self.readers {
            let _ = tokio::time::timeout(Duration::from_secs(10), r).await;
        }
        Ok(docs)
    }
}

/// Waits (bounded) until the server uses under 3 % of a CPU over half a second: background
/// work after a restart (loading, snapshots, compaction) is not an edit's cost.
pub async fn wait_quiet(pid: u32, limit: Duration) -> Duration {
    let t0 = Instant::now();
    let mut prev = sample(pid);
    while t0.elapsed() < limit {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let now = sample(pid);
        if (now.cpu_ns_since(&prev) as f64) < 0.03 * 0.5e9 {
            break;
        }
        prev = now;
    }
    t0.elapsed()
}

async fn writer_task(mut conn: Conn, ds: DocState, shared: Arc<Shared>, mut stop: watch::Receiver<bool>, seed: u64) -> Result<DocState> {
    let id = ds.id;
    let mut w = Writer::new(ds.doc, seed)?;
    let phase = (seed % 97) as f64 / 97.0;
    if let Some(m) = w.light.generate() {
        conn.send_sync(id, m, false).await?;
    }
    let mut next: Option<Instant> = None;
    let result: Result<()> = async {
        loop {
            let rate = shared.rate_milli.load(Relaxed);
            let period = (rate > 0).then(|| Duration::from_secs_f64(1000.0 / rate as f64));
            match (period, next) {
                (None, _) => next = None,
                (Some(p), None) => next = Some(Instant::now() + p.mul_f64(phase)),
                _ => {}
            }
            let wake = next.unwrap_or_else(|| Instant::now() + Duration::from_millis(20));
            tokio::select! {
                _ = stop.changed() => return Ok(()),
                _ = tokio::time::sleep_until(wake.into()) => {
                    if let (Some(p), Some(n)) = (period, next) {
                        let h = w.edit();
                        let epoch = shared.epoch.load(Relaxed);
                        shared.tags.lock().unwrap().insert(h, Tag { sent: Instant::now(), epoch });
                        shared.sent.lock().unwrap()[epoch as usize] += 1;
                        shared.sent_total.fetch_add(1, Relaxed);
                        if let Some(m) = w.light.generate() {
                            conn.send_sync(id, m, false).await?;
                        }
                        let now = Instant::now();
                        next = Some(if n + p + Duration::from_secs(1) < now { now } else { n + p });
                    }
                }
                m = conn.recv() => match m? {
                    Some(WireMessage::Sync { data, .. }) => {
                        shared.frames_in.fetch_add(1, Relaxed);
                        let msg = Message::decode(&data).map_err(|e| anyhow!("sync message: {e}"))?;
                        w.receive(&msg)?;
                        if let Some(r) = w.light.generate() {
                            conn.send_sync(id, r, false).await?;
                        }
                    }
                    Some(WireMessage::Error { message }) => shared.error(format!("writer got error: {message}")),
                    Some(WireMessage::DocUnavailable { .. }) => bail!("writer: doc-unavailable"),
                    Some(_) => {}
                    None => bail!("writer: connection closed by server"),
                },
            }
        }
    }
    .await;
    if let Err(e) = &result {
        shared.error(format!("{e:#}"));
    }
    conn.close().await;
    Ok(DocState { id, doc: w.doc })
}

async fn reader_task(mut conn: Conn, id: DocumentId, target: Vec<ChangeHash>, shared: Arc<Shared>, mut stop: watch::Receiver<bool>) {
    let mut light = LightDoc::new();
    let mut ready = false;
    let result: Result<()> = async {
        let first = light.generate().context("first message")?;
        conn.send_sync(id, first, true).await?;
        loop {
            tokio::select! {
                _ = stop.changed() => return Ok(()),
                m = conn.recv() => match m? {
                    Some(WireMessage::Sync { data, .. }) => {
                        let now = Instant::now();
                        shared.frames_in.fetch_add(1, Relaxed);
                        let msg = Message::decode(&data).map_err(|e| anyhow!("sync message: {e}"))?;
                        let mut new = Vec::new();
                        light.receive(&msg, &mut |c| new.push(c.hash()))?;
                        if !new.is_empty() && ready {
                            let tags = shared.tags.lock().unwrap();
                            let mut dl = shared.deliveries.lock().unwrap();
                            for h in new {
                                if let Some(t) = tags.get(&h) {
                                    dl.push((t.epoch, now.duration_since(t.sent).as_micros().min(u32::MAX as u128) as u32));
                                    shared.delivered_total.fetch_add(1, Relaxed);
                                }
                            }
                        }
                        if !ready && light.heads() == target {
                            ready = true;
                            shared.ready.fetch_add(1, Relaxed);
                        }
                        if let Some(r) = light.generate() {
                            conn.send_sync(id, r, false).await?;
                        }
                    }
                    Some(WireMessage::Error { message }) => shared.error(format!("reader got error: {message}")),
                    Some(WireMessage::DocUnavailable { .. }) => bail!("reader: doc-unavailable"),
                    Some(_) => {}
                    None => bail!("reader: connection closed by server"),
                },
            }
        }
    }
    .await;
    if let Err(e) = result {
        shared.error(format!("{e:#}"));
    }
    conn.close().await;
}

/// Brings a document to `total` changes on the server. `server_created`: the server made
/// the document (Concerta's sections): fetch it first and build on it; otherwise the client
/// creates it (as automerge-repo clients do) from a new section document.
pub async fn prepare(url: &str, id: DocumentId, server_created: bool, total: usize, seed: u64) -> Result<DocState> {
    let mut light = LightDoc::new();
    let mut doc = start_document(url, id, server_created, &mut light).await?;
    // Generate with no connection open: servers drop peers that miss their keep-alive pings.
    extend_history(&mut doc, total, seed)?;
    let all: Vec<automerge::Change> = doc.get_changes(&[]);
    let mut conn = Conn::open(url, new_peer_id("prep"), CONNECT_TIMEOUT).await?;
    // Say hello first: the protocol needs the server's `have` before it sends changes.
    let first = light.generate().context("first message")?;
    conn.send_sync(id, first, false).await?;
    for batch in all.chunks(1000) {
        for c in batch {
            light.add_local(c.clone());
        }
        if let Some(m) = light.generate() {
            conn.send_sync(id, m, false).await?;
        }
        exchange_until(&mut conn, id, &mut light, Duration::from_secs(120), |l| {
            l.their_heads().as_ref() == Some(&l.heads())
        })
        .await
        .with_context(|| format!("uploading to {} changes", light.graph.len()))?;
    }
    conn.close().await;
    Ok(DocState { id, doc })
}

/// The document a client builds on: the server's (fetched into `light`, which then forgets
/// the connection) when the server made it, else a new section document of the client's.
pub(crate) async fn start_document(url: &str, id: DocumentId, server_created: bool, light: &mut LightDoc) -> Result<Automerge> {
    if !server_created {
        return Ok(Automerge::load(&concerta_sync::new_section_document("Bench"))?);
    }
    let mut conn = Conn::open(url, new_peer_id("prep"), CONNECT_TIMEOUT).await?;
    let first = light.generate().context("first message")?;
    conn.send_sync(id, first, true).await?;
    exchange_until(&mut conn, id, light, Duration::from_secs(60), |l| {
        !l.graph.is_empty() && l.their_heads().as_ref() == Some(&l.heads())
    })
    .await
    .context("fetching the server's document")?;
    conn.close().await;
    light.reset_peer();
    let mut doc = Automerge::new();
    doc.apply_changes(light.changes().collect::<Vec<_>>())?;
    Ok(doc)
}

/// Answers the server's messages until `done` (or `timeout`).
pub(crate) async fn exchange_until(
    conn: &mut Conn,
    id: DocumentId,
    light: &mut LightDoc,
    timeout: Duration,
    done: impl Fn(&LightDoc) -> bool,
) -> Result<()> {
    let deadline = Instant::now() + timeout;
    while !done(light) {
        let m = tokio::time::timeout_at(deadline.into(), conn.recv())
            .await
            .map_err(|_| anyhow!("no agreement within {timeout:?}"))??;
        answer(conn, id, light, m).await?;
    }
    Ok(())
}

/// Takes in one message from the server and answers it when the protocol says so.
pub(crate) async fn answer(conn: &mut Conn, id: DocumentId, light: &mut LightDoc, got: Option<WireMessage>) -> Result<()> {
    match got {
        Some(WireMessage::Sync { data, .. }) => {
            let msg = Message::decode(&data).map_err(|e| anyhow!("sync message: {e}"))?;
            light.receive(&msg, &mut |_| {})?;
            if let Some(r) = light.generate() {
                conn.send_sync(id, r, false).await?;
            }
            Ok(())
        }
        Some(WireMessage::Error { message }) => bail!("server error: {message}"),
        Some(WireMessage::DocUnavailable { .. }) => bail!("doc-unavailable"),
        Some(_) => Ok(()),
        None => bail!("connection closed"),
    }
}

/// A fresh client with a real automerge document opens a document: time from the upgrade
/// until its heads are the expected ones.
#[derive(Debug, Clone, Default)]
pub struct ColdOpen {
    pub total_ms: f64,
    pub handshake_ms: f64,
    pub client_apply_ms: f64,
    pub bytes: usize,
    pub server_cpu_ms: f64,
}

pub async fn cold_open(url: &str, id: DocumentId, expected: &[ChangeHash], pid: u32) -> Result<ColdOpen> {
    let s0 = sample(pid);
    let t0 = Instant::now();
    let mut conn = Conn::open(url, new_peer_id("cold"), CONNECT_TIMEOUT).await?;
    let handshake = t0.elapsed();
    let mut doc = Automerge::new();
    let mut st = automerge::sync::State::new();
    let first = doc.generate_sync_message(&mut st).context("first message")?;
    conn.send_sync(id, first.encode(), true).await?;
    let mut apply = Duration::ZERO;
    let mut bytes = 0;
    let deadline = Instant::now() + Duration::from_secs(180);
    loop {
        let mut heads = doc.get_heads();
        heads.sort_unstable();
        if heads == expected {
            break;
        }
        let m = tokio::time::timeout_at(deadline.into(), conn.recv())
            .await
            .map_err(|_| anyhow!("cold open did not complete within 180 s"))??;
        match m {
            Some(WireMessage::Sync { data, .. }) => {
                bytes += data.len();
                let ta = Instant::now();
                let msg = Message::decode(&data).map_err(|e| anyhow!("sync message: {e}"))?;
                doc.receive_sync_message(&mut st, msg)?;
                apply += ta.elapsed();
                if let Some(r) = doc.generate_sync_message(&mut st) {
                    conn.send_sync(id, r.encode(), false).await?;
                }
            }
            Some(WireMessage::DocUnavailable { .. }) => bail!("doc-unavailable"),
            Some(WireMessage::Error { message }) => bail!("server error: {message}"),
            Some(_) => {}
            None => bail!("connection closed"),
        }
    }
    let total = t0.elapsed();
    conn.close().await;
    let s1 = sample(pid);
    Ok(ColdOpen {
        total_ms: total.as_secs_f64() * 1e3,
        handshake_ms: handshake.as_secs_f64() * 1e3,
        client_apply_ms: apply.as_secs_f64() * 1e3,
        bytes,
        server_cpu_ms: s1.cpu_ns_since(&s0) as f64 / 1e6,
    })
}

/// Many connections: open (join handshakes), idle, then each syncs one document, then all leave.
#[derive(Debug, Clone, Default)]
pub struct Conns {
    pub target: usize,
    pub opened: usize,
    pub failed: usize,
    pub first_error: Option<String>,
    pub open_secs: f64,
    pub synced: usize,
    pub sync_secs: f64,
    pub base: Sample,
    pub idle: Sample,
    pub syncing: Sample,
    pub after: Sample,
    pub after_secs: f64,
    pub client_rss_kb: u64,
}

pub async fn conns(url: &str, n: usize, docs: &[(DocumentId, Vec<ChangeHash>)], pid: u32, limit: Duration, settle: Duration) -> Result<Conns> {
    let mut r = Conns { target: n, base: sample(pid), ..Default::default() };
    let (phase_tx, phase_rx) = watch::channel(0u8);
    let opened = Arc::new(AtomicUsize::new(0));
    let failed = Arc::new(AtomicUsize::new(0));
    let synced = Arc::new(AtomicUsize::new(0));
    let first_error: Arc<Mutex<Option<String>>> = Arc::default();
    let sem = Arc::new(Semaphore::new(256));
    let t0 = Instant::now();
    let mut tasks = Vec::with_capacity(n);
    for i in 0..n {
        let (url, sem, opened, failed, synced, first_error) =
            (url.to_string(), sem.clone(), opened.clone(), failed.clone(), synced.clone(), first_error.clone());
        let mut phase = phase_rx.clone();
        let (doc, target) = docs[i % docs.len()].clone();
        tasks.push(tokio::spawn(async move {
            let permit = sem.acquire_owned().await.expect("open semaphore");
            let mut conn = match Conn::open(&url, new_peer_id("c"), CONNECT_TIMEOUT).await {
                Ok(c) => c,
                Err(e) => {
                    failed.fetch_add(1, Relaxed);
                    first_error.lock().unwrap().get_or_insert_with(|| format!("{e:#}"));
                    return;
                }
            };
            drop(permit);
            opened.fetch_add(1, Relaxed);
            let mut light = LightDoc::new();
            let mut is_synced = false;
            loop {
                tokio::select! {
                    changed = phase.changed() => {
                        if changed.is_err() { break; }
                        let p = *phase.borrow_and_update();
                        match p {
                            1 => {
                                if let Some(m) = light.generate() {
                                    if conn.send_sync(doc, m, true).await.is_err() { break; }
                                }
                            }
                            _ => break,
                        }
                    }
                    m = conn.recv() => match m {
                        Ok(Some(WireMessage::Sync { data, .. })) => {
                            let Ok(msg) = Message::decode(&data) else { break };
                            if light.receive(&msg, &mut |_| {}).is_err() { break; }
                            if !is_synced && light.heads() == target {
                                is_synced = true;
                                synced.fetch_add(1, Relaxed);
                            }
                            if let Some(m) = light.generate() {
                                if conn.send_sync(doc, m, false).await.is_err() { break; }
                            }
                        }
                        Ok(Some(_)) => {}
                        _ => break,
                    },
                }
            }
            conn.close().await;
        }));
    }
    let deadline = t0 + limit;
    while opened.load(Relaxed) + failed.load(Relaxed) < n && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    r.open_secs = t0.elapsed().as_secs_f64();
    r.opened = opened.load(Relaxed);
    r.failed = failed.load(Relaxed);
    tokio::time::sleep(settle).await;
    r.idle = sample(pid);
    let _ = phase_tx.send(1);
    let t1 = Instant::now();
    let want = opened.load(Relaxed);
    while synced.load(Relaxed) < want && t1.elapsed() < limit {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    r.sync_secs = t1.elapsed().as_secs_f64();
    r.synced = synced.load(Relaxed);
    tokio::time::sleep(settle).await;
    r.syncing = sample(pid);
    r.client_rss_kb = self_sample().rss_kb;
    let _ = phase_tx.send(2);
    let t2 = Instant::now();
    for t in tasks {
        if t2.elapsed() > Duration::from_secs(60) {
            t.abort();
        } else {
            let _ = tokio::time::timeout(Duration::from_secs(60).saturating_sub(t2.elapsed()), t).await;
        }
    }
    // Give the server a bounded while (45 s: idle documents may be unloaded after 30 s) to
    // release what the clients held; stop as soon as RSS is back near the fresh figure.
    let t3 = Instant::now();
    tokio::time::sleep(settle).await;
    loop {
        r.after = sample(pid);
        let back = r.after.rss_kb as f64 <= r.base.rss_kb as f64 * 1.2 + 8.0 * 1024.0;
        if back || t3.elapsed() >= Duration::from_secs(45) {
            break;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    r.after_secs = t3.elapsed().as_secs_f64();
    r.first_error = first_error.lock().unwrap().clone();
    Ok(r)
}

/// The floor of relaying an edit: `Change::from_bytes` + `decode()` of real edits.
pub fn decode_cost_us(changes: &[Vec<u8>]) -> f64 {
    let t = Instant::now();
    for bytes in changes {
        let c = automerge::Change::from_bytes(bytes.clone()).expect("decodes");
        std::hint::black_box(c.decode());
    }
    t.elapsed().as_secs_f64() * 1e6 / changes.len().max(1) as f64
}

pub type _Unused = Sample;
