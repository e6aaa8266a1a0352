//! A whole engine fed arbitrary frames after a valid join and request, from two connections
//! with write access, with storage completing and access changing in between: it must never
//! panic, every frame it sends must decode, and at the end the stored rows must load and give
//! the engine's durable heads.
//!
//! Inputs go from raw bytes down to changes crafted from a pool of valid ones (seq, start
//! op, dependencies and operation references tweaked through automerge's expanded form), so
//! that the checks in `ChangeGraph::check` are reached, not only the decoders.
#![no_main]

use std::num::NonZeroU64;

use automerge::legacy::{ElementId, Key, ObjectId, OpId, OpType};
use automerge::{Change, ChangeHash, ObjType, ScalarValue};
use concerta_sync::wire::WireMessage;
use concerta_sync::{Access, Event, Identity};
use concerta_sync_fuzz::{actors, changes_message, doc, join_frame, pool, request_frame, sync_frame, Runtime};
use libfuzzer_sys::arbitrary::{self, Arbitrary};
use libfuzzer_sys::fuzz_target;

#[derive(Arbitrary, Debug)]
struct Tweak {
    index: u8,
    seq: Option<u8>,
    start_op: Option<u8>,
    drop_deps: bool,
    extra_dep: Option<u8>,
    actor: Option<u8>,
    /// Which op to change, and how.
    op: u8,
    obj: Option<(u8, u8)>,
    elem: Option<(u8, u8)>,
    pred: Option<(u8, u8)>,
    root_key: Option<u8>,
    action: Option<u8>,
}

#[derive(Arbitrary, Debug)]
enum Action {
    /// Any bytes as a frame.
    Frame { conn: bool, bytes: Vec<u8> },
    /// A well-formed `sync`/`request` frame around arbitrary sync message bytes.
    SyncBytes { conn: bool, request: bool, data: Vec<u8> },
    /// A decodable sync message carrying arbitrary chunks.
    Chunks { conn: bool, chunks: Vec<Vec<u8>> },
    /// A valid change from the pool.
    Pool { conn: bool, index: u8 },
    /// A change from the pool, tweaked.
    Crafted { conn: bool, tweak: Tweak },
    /// A well-formed sync message whose heads, need and last-sync hashes are pool changes
    /// (or unknown hashes) and whose bloom filter is arbitrary bytes.
    /// `unsorted` swaps the first two heads on the wire, as a careless peer might.
    Summary { conn: bool, heads: Vec<u8>, need: Vec<u8>, last_sync: Vec<u8>, bloom: Vec<u8>, flags: Option<u8>, unsorted: bool },
    /// A change from the pool with damaged bytes (checksum fixed up).
    Damaged { conn: bool, index: u8, edits: Vec<u8> },
    Ephemeral { conn: bool, data: Vec<u8> },
    Request { conn: bool },
    StoreOne,
    Settle,
    Access { conn: bool, access: u8 },
    Tick { ms: u16 },
    Reconnect { conn: bool },
}

fn op_id(counter: u8, actor: u8) -> OpId {
    let actors = actors();
    OpId(u64::from(counter), actors[actor as usize % actors.len()].clone())
}

fn craft(t: &Tweak) -> Option<Change> {
    let pool = pool();
    let base = &pool[t.index as usize % pool.len()];
    let mut e = base.decode();
    e.hash = None;
    if let Some(seq) = t.seq {
        e.seq = u64::from(seq);
    }
    if let Some(start) = t.start_op {
        e.start_op = NonZeroU64::new(u64::from(start))?;
    }
    if t.drop_deps {
        e.deps.clear();
    }
    if let Some(i) = t.extra_dep {
        e.deps.push(pool[i as usize % pool.len()].hash());
        e.deps.sort();
        e.deps.dedup();
    }
    if let Some(a) = t.actor {
        let actors = actors();
        e.actor_id = actors[a as usize % actors.len()].clone();
    }
    if !e.operations.is_empty() {
        let n = e.operations.len();
        let op = &mut e.operations[t.op as usize % n];
        if let Some((c, a)) = t.obj {
            op.obj = if c == 0 { ObjectId::Root } else { ObjectId::Id(op_id(c, a)) };
        }
        if let Some((c, a)) = t.elem {
            op.key = if c == 0 { Key::Seq(ElementId::Head) } else { Key::Seq(ElementId::Id(op_id(c, a))) };
        }
        if let Some((c, a)) = t.pred {
            op.pred = vec![op_id(c, a)].into();
        }
        if let Some(k) = t.root_key {
            op.key = Key::Map(["title", "body", "other", ""][k as usize % 4].into());
        }
        if let Some(a) = t.action {
            op.action = match a % 6 {
                0 => OpType::Make(ObjType::Text),
                1 => OpType::Make(ObjType::Map),
                2 => OpType::Delete,
                3 => OpType::Put(ScalarValue::Str("x".into())),
                4 => OpType::Increment(1),
                _ => OpType::Make(ObjType::List),
            };
        }
    }
    Some(Change::from(e))
}

fuzz_target!(|actions: Vec<Action>| {
    concerta_sync_fuzz::run_catching(|| {
        let mut rt = Runtime::new();
        let names = ["alice", "bob"];
        let mut conns = [1u64, 2];
        for (i, &conn) in conns.iter().enumerate() {
            rt.event(Event::Connected { conn, identity: Identity { user_id: format!("user-{conn}"), name: format!("User {conn}") } });
            rt.event(Event::Frame { conn, data: join_frame(names[i]) });
            rt.event(Event::Frame { conn, data: request_frame(names[i]) });
        }
        for action in actions.into_iter().take(64) {
            let pick = |c: bool| usize::from(c);
            match action {
                Action::Frame { conn, bytes } => rt.event(Event::Frame { conn: conns[pick(conn)], data: bytes }),
                Action::SyncBytes { conn, request, data } => {
                    let i = pick(conn);
                    rt.event(Event::Frame { conn: conns[i], data: sync_frame(names[i], request, data) });
                }
                Action::Chunks { conn, chunks } => {
                    let i = pick(conn);
                    let data = changes_message(Vec::new(), chunks);
                    rt.event(Event::Frame { conn: conns[i], data: sync_frame(names[i], false, data) });
                }
                Action::Pool { conn, index } => {
                    let i = pick(conn);
                    let change = &pool()[index as usize % pool().len()];
                    let data = changes_message(vec![change.hash()], vec![change.raw_bytes().to_vec()]);
                    rt.event(Event::Frame { conn: conns[i], data: sync_frame(names[i], false, data) });
                }
                Action::Crafted { conn, tweak } => {
                    let i = pick(conn);
                    // The re-encoding itself may reject what we made up; that is not the engine's
                    // business.
                    let crafted = std::panic::catch_unwind(|| craft(&tweak)).ok().flatten();
                    if let Some(change) = crafted {
                        let heads: Vec<ChangeHash> = vec![change.hash()];
                        let data = changes_message(heads, vec![change.raw_bytes().to_vec()]);
                        rt.event(Event::Frame { conn: conns[i], data: sync_frame(names[i], false, data) });
                    }
                }
                Action::Summary { conn, heads, need, last_sync, bloom, flags, unsorted } => {
                    let i = pick(conn);
                    let hash = |b: &u8| match pool().get(*b as usize) {
                        Some(c) => c.hash(),
                        None => ChangeHash([*b; 32]),
                    };
                    // automerge's encoder wants each list sorted.
                    let hashes = |list: &[u8]| {
                        let mut v: Vec<ChangeHash> = list.iter().take(16).map(hash).collect();
                        v.sort();
                        v.dedup();
                        v
                    };
                    let Ok(bloom) = automerge::sync::BloomFilter::try_from(&bloom[..]) else { continue };
                    let mut flag_set = None;
                    if let Some(f) = flags {
                        let mut set = automerge::sync::MessageFlags::new();
                        set.set(f & 0x7);
                        flag_set = Some(set);
                    }
                    let msg = automerge::sync::Message {
                        heads: hashes(&heads),
                        need: hashes(&need),
                        have: vec![automerge::sync::Have { last_sync: hashes(&last_sync), bloom }],
                        changes: automerge::sync::ChunkList::empty(),
                        flags: flag_set,
                        version: automerge::sync::MessageVersion::V1,
                    };
                    let two = msg.heads.len() >= 2;
                    let mut data = msg.encode();
                    if unsorted && two {
                        // Message type, count (one byte: at most 16), then 32 bytes per head.
                        let first = data[2..34].to_vec();
                        data.copy_within(34..66, 2);
                        data[34..66].copy_from_slice(&first);
                    }
                    rt.event(Event::Frame { conn: conns[i], data: sync_frame(names[i], false, data) });
                }
                Action::Damaged { conn, index, edits } => {
                    let i = pick(conn);
                    let mut bytes = pool()[index as usize % pool().len()].raw_bytes().to_vec();
                    concerta_sync_fuzz::damage(&mut bytes, &edits);
                    concerta_sync_fuzz::fix_checksums(&mut bytes);
                    let data = changes_message(Vec::new(), vec![bytes]);
                    rt.event(Event::Frame { conn: conns[i], data: sync_frame(names[i], false, data) });
                }
                Action::Ephemeral { conn, data } => {
                    let i = pick(conn);
                    let frame = WireMessage::Ephemeral {
                        sender_id: names[i].into(),
                        target_id: "server".into(),
                        count: 1,
                        session_id: names[i].into(),
                        document_id: doc(),
                        data,
                    };
                    rt.event(Event::Frame { conn: conns[i], data: frame.encode() });
                }
                Action::Request { conn } => {
                    let i = pick(conn);
                    rt.event(Event::Frame { conn: conns[i], data: request_frame(names[i]) });
                }
                Action::StoreOne => rt.store_one(),
                Action::Settle => rt.settle(),
                Action::Access { conn, access } => {
                    let i = pick(conn);
                    let access = [Access::None, Access::Read, Access::Write][access as usize % 3];
                    rt.access[conns[i] as usize % 2] = access;
                    rt.event(Event::Access { conn: conns[i], doc: doc(), access });
                }
                Action::Tick { ms } => {
                    rt.now += u64::from(ms);
                    rt.event(Event::Tick);
                }
                Action::Reconnect { conn } => {
                    let i = pick(conn);
                    rt.event(Event::Disconnected { conn: conns[i] });
                    conns[i] += 2;
                    rt.event(Event::Connected { conn: conns[i], identity: Identity { user_id: format!("user-{}", conns[i]), name: format!("User {}", conns[i]) } });
                    rt.event(Event::Frame { conn: conns[i], data: join_frame(names[i]) });
                    rt.event(Event::Frame { conn: conns[i], data: request_frame(names[i]) });
                }
            }
        }
        rt.check_storage();
    });
});
