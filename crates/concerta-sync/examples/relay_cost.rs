//! Engine-only CPU per relayed edit on sections of 100, 2,000 and 20,000 changes.
//!
//! `cargo run --release -p concerta-sync --example relay_cost [edits]`
//!
//! A writer (a full automerge document, its cost not counted) sends one small change per
//! sync message; a reader acknowledges every relay as a real peer would. Only the engine's
//! `handle_event` calls are timed, with storage completing at once. Also prints the cost of
//! decoding one change (`Change::from_bytes` + `decode()`), the floor of any relay.

use std::time::{Duration, Instant};

use automerge::sync::{Have, Message, State, SyncDoc};
use automerge::transaction::Transactable;
use automerge::{AutoCommit, ReadDoc, ROOT};
use concerta_sync::storage::{self, StoredChunk};
use concerta_sync::wire::WireMessage;
use concerta_sync::{Access, Config, DocumentId, Effect, Engine, Event, Identity, Schema};

fn history(n: usize) -> AutoCommit {
    let mut doc = AutoCommit::new();
    doc.load_incremental(&concerta_sync::new_section_change("Voluntad política")).unwrap();
    let body = doc.get(ROOT, "body").unwrap().unwrap().1;
    for i in 1..n {
        // A few actors, as sessions come and go.
        if i % 500 == 0 {
            doc.set_actor(automerge::ActorId::random());
        }
        let len = doc.length(&body);
        doc.splice_text(&body, len.saturating_sub(i % 7), 0, "ab ").unwrap();
        doc.commit();
    }
    doc
}

struct Run {
    engine: Engine,
    rows: Vec<(i64, StoredChunk)>,
    spent: Duration,
    now: u64,
}

impl Run {
    fn event(&mut self, event: Event) -> Vec<Effect> {
        self.now += 1;
        let t = Instant::now();
        let effects = self.engine.handle_event(self.now, event);
        self.spent += t.elapsed();
        let mut out = Vec::new();
        for e in effects {
            match e {
                Effect::CheckAccess { conn, doc } => out.extend(self.event(Event::Access { conn, doc, access: Access::Write })),
                Effect::Load { doc } => {
                    let rows = Some(self.rows.clone());
                    out.extend(self.event(Event::Loaded { doc, rows, schema: Schema::Section }))
                }
                Effect::Store { doc, chunk, upto } => {
                    let row = self.rows.len() as i64 + 10;
                    self.rows.push((row, StoredChunk::Changes(chunk)));
                    out.extend(self.event(Event::Stored { doc, upto, row }));
                }
                other => out.push(other),
            }
        }
        out
    }
}

fn frame(doc: DocumentId, from: &str, msg: Message) -> Vec<u8> {
    WireMessage::Sync { sender_id: from.into(), target_id: "s".into(), document_id: doc, data: msg.encode() }.encode()
}

fn join(name: &str) -> Vec<u8> {
    WireMessage::Join { sender_id: name.into(), metadata: None, supported_protocol_versions: vec!["1".into()] }.encode()
}

fn main() {
    let edits: usize = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(300);
    let doc_id = DocumentId::random();
    for n in [100usize, 2_000, 20_000] {
        let t = Instant::now();
        let mut writer = history(n);
        let built = t.elapsed();
        // The server starts from a compacted log, as after a restart.
        let graph = storage::load_graph(
            vec![(1, StoredChunk::Changes(writer.save_nocompress()))],
            Schema::Section,
        )
        .unwrap()
        .graph;
        let log = storage::encode_log(&graph);
        let mut run = Run { engine: Engine::new(Config::default()), rows: vec![(2, StoredChunk::Log(log))], spent: Duration::ZERO, now: 0 };
        for (conn, name) in [(1u64, "w"), (2, "r")] {
            run.event(Event::Connected { conn, identity: Identity { user_id: format!("user-{conn}"), name: format!("User {conn}") } });
            run.event(Event::Frame { conn, data: join(name) });
        }
        // Both peers start in sync with the server's heads.
        let heads = writer.get_heads();
        let mut wstate = State::new();
        let hello = Message {
            heads: heads.clone(),
            need: vec![],
            have: vec![Have { last_sync: heads.clone(), bloom: automerge::sync::BloomFilter::from_hashes(std::iter::empty::<automerge::ChangeHash>()) }],
            changes: automerge::sync::ChunkList::empty(),
            flags: None,
            version: automerge::sync::MessageVersion::V1,
        };
        run.event(Event::Frame { conn: 1, data: frame(doc_id, "w", hello.clone()) });
        run.event(Event::Frame { conn: 2, data: frame(doc_id, "r", hello.clone()) });
        let cold = run.spent;
        wstate.shared_heads = heads.clone();
        wstate.their_heads = Some(heads.clone());
        wstate.their_have = Some(hello.have.clone());
        wstate.their_need = Some(vec![]);
        let body = writer.get(ROOT, "body").unwrap().unwrap().1;
        run.spent = Duration::ZERO;
        let mut decode = Duration::ZERO;
        let mut relayed = 0;
        for i in 0..edits {
            let len = writer.length(&body);
            writer.splice_text(&body, len / 2, 0, if i % 2 == 0 { "x" } else { "y" }).unwrap();
            writer.commit();
            let change = writer.get_last_local_change().unwrap().raw_bytes().to_vec();
            let t = Instant::now();
            let c = automerge::Change::from_bytes(change).unwrap();
            std::hint::black_box(c.decode());
            decode += t.elapsed();
            let msg = writer.sync().generate_sync_message(&mut wstate).unwrap();
            let effects = run.event(Event::Frame { conn: 1, data: frame(doc_id, "w", msg) });
            for e in effects {
                if let Effect::Send { conn, frame: f } = e {
                    let WireMessage::Sync { data, .. } = WireMessage::decode(&f).unwrap() else { continue };
                    let m = Message::decode(&data).unwrap();
                    if conn == 1 {
                        writer.sync().receive_sync_message(&mut wstate, m).unwrap();
                    } else if !m.changes.is_empty() {
                        relayed += 1;
                        // The reader acknowledges with its new heads.
                        let ack = Message { heads: m.heads.clone(), have: vec![Have { last_sync: m.heads.clone(), ..Default::default() }], ..hello.clone() };
                        run.event(Event::Frame { conn: 2, data: frame(doc_id, "r", ack) });
                    }
                }
            }
        }
        let per_edit = run.spent / edits as u32;
        let per_decode = decode / edits as u32;
        println!(
            "history {n:>6}: engine {per_edit:>10.2?}/edit (relayed {relayed}/{edits}), decode {per_decode:>8.2?}/change, ratio {:.1}x, cold open {cold:.2?} (history built in {built:.1?})",
            per_edit.as_secs_f64() / per_decode.as_secs_f64().max(1e-9)
        );
    }
}
