//! Heap probe: the bytes each step of the engine's document handling holds, live and at its
//! peak, for a long history written the way `loadgen upload` writes it (three letters spliced
//! into `body`, every other change also deleting four, a new actor every 200 changes).
//! Counted by a wrapping global allocator, so the figures are the program's own, not the
//! allocator's: `cargo run --release -p concerta-sync --example memprobe [changes]`.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

use automerge::transaction::Transactable;
use automerge::{ActorId, Automerge, ReadDoc, ROOT};
use concerta_sync::graph::{ChangeGraph, Schema};
use concerta_sync::storage;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

struct Counting;
static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(l) };
        let now = LIVE.fetch_add(l.size(), Relaxed) + l.size();
        PEAK.fetch_max(now, Relaxed);
        p
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        unsafe { System.dealloc(p, l) };
        LIVE.fetch_sub(l.size(), Relaxed);
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        let q = unsafe { System.realloc(p, l, new) };
        if new > l.size() {
            let now = LIVE.fetch_add(new - l.size(), Relaxed) + new - l.size();
            PEAK.fetch_max(now, Relaxed);
        } else {
            LIVE.fetch_sub(l.size() - new, Relaxed);
        }
        q
    }
}

#[global_allocator]
static A: Counting = Counting;

fn mb(b: usize) -> f64 {
    b as f64 / 1e6
}

fn step<T>(name: &str, f: impl FnOnce() -> T) -> T {
    let before = LIVE.load(Relaxed);
    PEAK.store(before, Relaxed);
    let t = std::time::Instant::now();
    let r = f();
    println!(
        "{name:<40} live {:>8.1} MB -> {:>8.1} MB (+{:>7.1}), peak +{:>7.1} MB, {:>6} ms",
        mb(before),
        mb(LIVE.load(Relaxed)),
        mb(LIVE.load(Relaxed).saturating_sub(before)),
        mb(PEAK.load(Relaxed) - before),
        t.elapsed().as_millis()
    );
    r
}

fn main() {
    let n: usize = std::env::args().nth(1).map(|s| s.parse().unwrap()).unwrap_or(20_000);
    let first = concerta_sync::new_section_change("Voluntad política");
    let changes: Vec<Vec<u8>> = step("generate history (automerge doc)", || {
        let mut doc = Automerge::new();
        doc.load_incremental(&first).unwrap();
        let body = doc.get(ROOT, "body").unwrap().unwrap().1;
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let mut out = vec![first.clone()];
        for tick in 0..n - 1 {
            if tick % 200 == 0 {
                doc.set_actor(ActorId::random());
            }
            let len = doc.length(&body);
            let mut tx = doc.transaction();
            let pos = if len == 0 { 0 } else { rng.random_range(0..=len) };
            let text: String = (0..3).map(|_| rng.random_range(b'a'..=b'z') as char).collect();
            tx.splice_text(&body, pos, 0, &text).unwrap();
            if tick % 2 == 1 && len > 8 {
                let at = rng.random_range(0..len - 5);
                tx.splice_text(&body, at, 4, "").unwrap();
            }
            tx.commit();
            out.push(doc.get_last_local_change().unwrap().raw_bytes().to_vec());
        }
        out
    });
    let raw: usize = changes.iter().map(|c| c.len()).sum();
    println!("{} changes, {:.1} MB of change bytes", changes.len(), mb(raw));

    let graph = step("graph: check + append every change", || {
        let mut g = ChangeGraph::new();
        for c in &changes {
            let change = automerge::Change::from_bytes(c.clone()).unwrap();
            let checked = g.check(change, Schema::Section).unwrap().unwrap();
            g.append(checked);
        }
        let len = g.len();
        g.mark_durable(len);
        g
    });
    let log = step("encode_log", || storage::encode_log(&graph));
    println!("log {:.1} MB", mb(log.len()));
    step("drop graph", || drop(graph));
    let graph = step("decode_log + from_log", || ChangeGraph::from_log(storage::decode_log(&log).unwrap()));
    let all = step("materialize every change", || storage::materialize(changes.clone()).unwrap());
    println!("snapshot: {:.2} MB", mb(all.snapshot.len()));
    let loaded = step("Automerge::load(snapshot)", || Automerge::load(&all.snapshot).unwrap());
    step("drop the loaded document", || drop(loaded));
    drop(graph);
}
