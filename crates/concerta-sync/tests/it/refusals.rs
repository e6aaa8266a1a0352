//! Malformed but decodable changes are refused before they reach any peer.
//!
//! Every crafted change here decodes (`Change::from_bytes` accepts it) and is something
//! automerge 0.12 rejects or corrupts itself on when applying it (it throws or panics on a
//! seq gap, a wrong start op, an unknown object or element; it silently forks an actor that
//! skips its own previous change). For each one: the sender gets an `error` that says why,
//! nothing is stored, the other peer never gets it, the sender is read-only for the document
//! from then on (`READ_ONLY` in every later message, later changes ignored) and the exchange
//! goes quiet.

use std::num::NonZeroU64;

use automerge::legacy::{ElementId, Key, ObjectId, OpId};
use automerge::sync::MessageFlags;
use automerge::transaction::Transactable;
use automerge::{ActorId, AutoCommit, Change, ChangeHash, ExpandedChange, ObjType, ReadDoc, ROOT};
use concerta_sync::storage::StoredChunk;
use concerta_sync::wire::WireMessage;
use concerta_sync::{Access, Config, DocumentId};

use crate::sim::{has_flag, pump, route, EngineServer, Peer, Server, SERVER_PEER};

/// Rounds within which every exchange here must go quiet.
const QUIET: usize = 12;

pub(crate) struct World {
    pub server: EngineServer,
    pub writer: Peer,
    pub watcher: Peer,
    pub initial: Vec<u8>,
}

pub(crate) fn doc_id() -> DocumentId {
    DocumentId::from_bytes([3; 16])
}

pub(crate) fn config() -> Config {
    Config { peer_id: SERVER_PEER.into(), ..Config::default() }
}

/// A server holding a new section and two writers that synced it.
pub(crate) fn world_with(config: Config) -> World {
    let initial = crate::sim::fixed_section_change("Plan de movilidad");
    let mut server = EngineServer::new(doc_id(), initial.clone(), config);
    let mut writer = Peer::new("writer", 1, 1);
    let mut watcher = Peer::new("watcher", 2, 2);
    writer.connect(&mut server, Access::Write);
    watcher.connect(&mut server, Access::Write);
    pump(&mut server, &mut [&mut writer, &mut watcher], QUIET);
    let heads = server.engine.heads(&doc_id()).expect("loaded");
    assert_eq!(writer.doc.get_heads(), heads);
    assert_eq!(watcher.doc.get_heads(), heads);
    // A while later: nobody was sent anything recently, so the next relay goes out at once.
    server.advance(1_000);
    World { server, writer, watcher, initial }
}

fn world() -> World {
    world_with(config())
}

/// Another actor's document holding the initial change: where changes are crafted.
fn workshop(w: &World, actor: u8) -> AutoCommit {
    let mut doc = AutoCommit::new().with_actor(ActorId::from([actor; 16]));
    doc.load_incremental(&w.initial).expect("initial change loads");
    doc
}

fn body(doc: &AutoCommit) -> automerge::ObjId {
    doc.get(ROOT, "body").expect("readable").expect("a section has a body").1
}

/// Splices `text` at the start of the body and commits: one change.
fn edit(doc: &mut AutoCommit, text: &str) -> Change {
    let body = body(doc);
    doc.splice_text(&body, 0, 0, text).expect("valid splice");
    doc.commit();
    doc.get_last_local_change().expect("committed")
}

/// Re-encodes `change` after `f` edited its expanded form: a well-formed, decodable change
/// with whatever content `f` gave it.
fn craft(change: &Change, f: impl FnOnce(&mut ExpandedChange)) -> Change {
    let mut expanded = change.decode();
    expanded.hash = None;
    f(&mut expanded);
    let crafted = Change::from(expanded);
    Change::from_bytes(crafted.raw_bytes().to_vec()).expect("the crafted change decodes")
}

fn initial_actor(w: &World) -> ActorId {
    Change::from_bytes(w.initial.clone()).expect("one change").actor_id().clone()
}

/// A change any writer could make on top of what the server holds: valid by every check.
fn valid_change(w: &mut World, actor: u8) -> Change {
    let mut doc = w.watcher.doc.fork().with_actor(ActorId::from([actor; 16]));
    edit(&mut doc, "válido ")
}

/// The writer's automerge client uploads `changes` (valid ones) the ordinary way.
fn upload(w: &mut World, changes: Vec<Change>) {
    w.writer.doc.apply_changes(changes.clone()).expect("valid changes apply");
    pump(&mut w.server, &mut [&mut w.writer, &mut w.watcher], QUIET);
    for c in &changes {
        assert!(w.watcher.doc.get_change_by_hash(&c.hash()).is_some(), "a valid change reaches the other peer");
    }
}

struct Before {
    rows: Vec<(i64, StoredChunk)>,
    heads: Vec<ChangeHash>,
    writer_seen: usize,
}

fn before(w: &World) -> Before {
    Before {
        rows: w.server.rows.clone(),
        heads: w.server.engine.heads(&doc_id()).expect("loaded"),
        writer_seen: w.writer.received.len(),
    }
}

/// Checks everything a refusal of `bad` must leave behind, `why` being part of the error.
fn assert_refused(w: &mut World, b: &Before, bad: ChangeHash, why: &str) {
    // (1) One error that says why.
    let errors: Vec<String> = w.writer.received[b.writer_seen..]
        .iter()
        .filter_map(|m| match m {
            WireMessage::Error { message } => Some(message.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(errors.len(), 1, "one error frame, got {errors:?}");
    assert!(errors[0].contains(why), "the error says why: {:?} should mention {why:?}", errors[0]);
    assert_eq!(w.server.refused.len(), 1, "one refusal reported to the runtime");
    assert_eq!(w.server.errors(), 1, "one error frame from the engine in all");
    assert_eq!(w.server.engine.stats().changes_refused, 1);
    assert!(!w.server.closed(w.writer.conn), "a refusal does not close the connection");

    // (2) Nothing stored, heads unchanged, the other peer never got it.
    assert_eq!(w.server.pending_stores(), 0, "nothing was staged for storage");
    assert_eq!(w.server.rows, b.rows, "nothing was stored");
    assert_eq!(w.server.engine.heads(&doc_id()).expect("loaded"), b.heads);
    assert!(!w.watcher.hashes_received().contains(&bad), "the other peer never got the refused change");
    assert!(w.watcher.doc.get_change_by_hash(&bad).is_none());

    // (3) Read-only from now on: every later sync message carries READ_ONLY...
    let error_at = w.writer.received[b.writer_seen..]
        .iter()
        .position(|m| matches!(m, WireMessage::Error { .. }))
        .expect("found above")
        + b.writer_seen;
    let later: Vec<&WireMessage> = w.writer.received[error_at..].iter().collect();
    let later_syncs: Vec<automerge::sync::Message> = later
        .iter()
        .filter_map(|m| match m {
            WireMessage::Sync { data, .. } => Some(automerge::sync::Message::decode(data).expect("decodes")),
            _ => None,
        })
        .collect();
    assert!(!later_syncs.is_empty(), "the engine tells the peer it is read-only right after the error");
    for m in &later_syncs {
        assert!(has_flag(m, MessageFlags::READ_ONLY), "every message after a refusal carries READ_ONLY");
    }
    // ... and a valid change from it is not accepted either (nor answered with more errors).
    let valid = valid_change(w, 0x77);
    let seen = w.writer.received.len();
    let heads = vec![valid.hash()];
    w.writer.send_raw(&mut w.server, doc_id(), vec![valid.raw_bytes().to_vec()], heads);
    assert_eq!(w.server.pending_stores(), 0, "a refused peer's later change is not staged");
    w.server.settle_all();
    route(&mut w.server, &mut [&mut w.writer, &mut w.watcher]);
    assert_eq!(w.server.rows, b.rows, "a refused peer's later change is not stored");
    assert!(w.watcher.doc.get_change_by_hash(&valid.hash()).is_none(), "nor relayed");
    assert_eq!(w.writer.errors().len(), 1, "no further errors: the exchange must end");
    for m in w.writer.received[seen..].iter() {
        if let WireMessage::Sync { data, .. } = m {
            let m = automerge::sync::Message::decode(data).expect("decodes");
            assert!(has_flag(&m, MessageFlags::READ_ONLY));
        }
    }

    // (4) The exchange goes quiet, and still nothing of it got through.
    pump(&mut w.server, &mut [&mut w.writer, &mut w.watcher], QUIET);
    assert_eq!(w.server.rows, b.rows);
    assert!(w.watcher.doc.get_change_by_hash(&bad).is_none());
    // The other writer is unaffected: its edits still go through.
    edit(&mut w.watcher.doc, "sigo ");
    pump(&mut w.server, &mut [&mut w.writer, &mut w.watcher], QUIET);
    assert_eq!(w.server.engine.heads(&doc_id()).expect("loaded"), w.watcher.doc.get_heads());
}

/// Sends a crafted change from the writer's connection and checks the refusal.
fn refuse_crafted(w: &mut World, bad: Change, why: &str) {
    let b = before(w);
    let heads = vec![bad.hash()];
    w.writer.send_raw(&mut w.server, doc_id(), vec![bad.raw_bytes().to_vec()], heads);
    assert_eq!(w.server.pending_stores(), 0, "refused before storage");
    w.server.settle_all();
    route(&mut w.server, &mut [&mut w.writer, &mut w.watcher]);
    assert_refused(w, &b, bad.hash(), why);
}

#[test]
fn seq_gap_is_refused() {
    let mut w = world();
    let mut x = workshop(&w, 9);
    let c1 = edit(&mut x, "uno ");
    let c2 = edit(&mut x, "dos ");
    upload(&mut w, vec![c1]);
    // Seq 3 right after seq 1: all its dependencies are present, seq 2 never existed.
    let bad = craft(&c2, |e| e.seq = 3);
    refuse_crafted(&mut w, bad, "does not follow");
}

#[test]
fn actor_that_skips_its_own_previous_change_is_refused() {
    let mut w = world();
    let mut x = workshop(&w, 9);
    let c1 = edit(&mut x, "uno ");
    let c2 = edit(&mut x, "dos ");
    upload(&mut w, vec![c1.clone(), c2.clone()]);
    // Seq 3 of the same actor built on seq 1, not on seq 2: a forked actor whose op ids
    // collide with seq 2's (automerge takes it silently and then holds two ops per id).
    let bad = craft(&c2, |e| e.seq = 3);
    assert_eq!(bad.deps(), &[c1.hash()]);
    refuse_crafted(&mut w, bad, "seq 3 of actor");
}

#[test]
fn repeated_seq_with_another_hash_is_refused() {
    let mut w = world();
    let mut x = workshop(&w, 9);
    let c1 = edit(&mut x, "uno ");
    upload(&mut w, vec![c1.clone()]);
    // The same actor's seq 1 again, from another history (a cloned browser profile).
    let mut clone = workshop(&w, 9);
    let other = edit(&mut clone, "otro ");
    assert_eq!((other.seq(), other.actor_id()), (1, c1.actor_id()));
    assert_ne!(other.hash(), c1.hash());
    refuse_crafted(&mut w, other, "already exists with another hash");
}

#[test]
fn wrong_start_op_is_refused() {
    let mut w = world();
    let mut x = workshop(&w, 9);
    let c1 = edit(&mut x, "uno ");
    let bad = craft(&c1, |e| e.start_op = NonZeroU64::new(e.start_op.get() + 5).expect("nonzero"));
    let why = format!("start op {} should be {}", c1.start_op().get() + 5, c1.start_op().get());
    refuse_crafted(&mut w, bad, &why);
}

#[test]
fn operation_on_an_unknown_object_is_refused() {
    let mut w = world();
    let actor = initial_actor(&w);
    let mut x = workshop(&w, 9);
    let c1 = edit(&mut x, "uno ");
    let bad = craft(&c1, |e| {
        for op in e.operations.iter_mut() {
            op.obj = ObjectId::Id(OpId(999, actor.clone()));
        }
    });
    refuse_crafted(&mut w, bad, "object that does not exist");
}

#[test]
fn operation_on_an_op_that_is_not_an_object_is_refused() {
    let mut w = world();
    let mut x = workshop(&w, 9);
    let c1 = edit(&mut x, "uno ");
    let c2 = edit(&mut x, "dos ");
    upload(&mut w, vec![c1.clone()]);
    // Op `start@X` of c1 exists, but it is a character, not an object.
    let character = OpId(c1.start_op().get(), x.get_actor().clone());
    let bad = craft(&c2, |e| {
        for op in e.operations.iter_mut() {
            op.obj = ObjectId::Id(character.clone());
        }
    });
    refuse_crafted(&mut w, bad, "object that does not exist");
}

#[test]
fn unknown_element_reference_is_refused() {
    let mut w = world();
    let actor = initial_actor(&w);
    let mut x = workshop(&w, 9);
    let c1 = edit(&mut x, "uno ");
    let bad = craft(&c1, |e| e.operations[1].key = Key::Seq(ElementId::Id(OpId(777, actor.clone()))));
    refuse_crafted(&mut w, bad, "operation that does not exist");
}

#[test]
fn unknown_pred_is_refused() {
    let mut w = world();
    let actor = initial_actor(&w);
    let mut x = workshop(&w, 9);
    let c1 = edit(&mut x, "uno ");
    upload(&mut w, vec![c1]);
    let body = body(&x);
    x.splice_text(&body, 0, 1, "").expect("delete one character");
    x.commit();
    let delete = x.get_last_local_change().expect("committed");
    // The deletion's pred names an op nobody made.
    let bad = craft(&delete, |e| e.operations[0].pred = vec![OpId(888, actor.clone())].into());
    refuse_crafted(&mut w, bad, "operation that does not exist");
}

/// A schema-breaking edit made by the writer's own automerge client (which accepts it)
/// and uploaded the ordinary way: the official client's path.
fn refuse_schema_break(make: impl FnOnce(&mut AutoCommit), why: &str) {
    let mut w = world();
    let b = before(&w);
    make(&mut w.writer.doc);
    w.writer.doc.commit();
    let bad = w.writer.doc.get_last_local_change().expect("committed").hash();
    // The whole exchange, refusal included, goes quiet.
    pump(&mut w.server, &mut [&mut w.writer, &mut w.watcher], QUIET);
    assert_refused(&mut w, &b, bad, why);
    // The writer's client stopped offering it: it still holds it, the server never did.
    assert!(w.writer.doc.get_change_by_hash(&bad).is_some());
    assert!(w.writer.state.is_peer_read_only(), "the client knows the server is read-only for it");
}

#[test]
fn root_key_other_than_title_and_body_is_refused() {
    refuse_schema_break(|d| d.put(ROOT, "owner", "me").map(|_| ()).expect("automerge takes it"), "only title and body");
}

#[test]
fn scalar_title_is_refused() {
    refuse_schema_break(|d| d.put(ROOT, "title", "plain").map(|_| ()).expect("automerge takes it"), "must be text");
}

#[test]
fn map_body_is_refused() {
    refuse_schema_break(|d| d.put_object(ROOT, "body", ObjType::Map).map(|_| ()).expect("automerge takes it"), "must be text");
}

#[test]
fn deleting_title_is_refused() {
    refuse_schema_break(|d| d.delete(ROOT, "title").expect("automerge takes it"), "must be text");
}

#[test]
fn objects_made_inside_the_body_belong_to_it() {
    // The control for the schema cases: a block marker (a map inside the text) and an edit
    // of that map are accepted and relayed.
    let mut w = world();
    let body = body(&w.writer.doc);
    w.writer.doc.splice_text(&body, 0, 0, "Título").expect("splice");
    let block = w.writer.doc.split_block(&body, 0).expect("block marker");
    w.writer.doc.commit();
    w.writer.doc.put(&block, "type", "heading").expect("edit inside the marker");
    w.writer.doc.commit();
    pump(&mut w.server, &mut [&mut w.writer, &mut w.watcher], QUIET);
    assert!(w.writer.errors().is_empty(), "refused: {:?}", w.writer.errors());
    assert_eq!(w.watcher.doc.get_heads(), w.writer.doc.get_heads());
    assert_eq!(w.server.engine.heads(&doc_id()).expect("loaded"), w.writer.doc.get_heads());
}

#[test]
fn valid_change_is_relayed_only_after_it_is_stored() {
    let mut w = world();
    let rows = w.server.rows.len();
    let change = edit(&mut w.writer.doc, "hola ");
    let frame = w.writer.sync_frame(doc_id()).expect("the writer has something to say");
    w.server.frame(w.writer.conn, frame);
    // Checked and staged, not yet durable: nobody hears of it.
    assert_eq!(w.server.pending_stores(), 1, "one store in flight");
    assert_eq!(w.server.rows.len(), rows);
    route(&mut w.server, &mut [&mut w.writer, &mut w.watcher]);
    assert!(!w.watcher.hashes_received().contains(&change.hash()), "not relayed before it is durable");
    assert!(w.watcher.doc.get_change_by_hash(&change.hash()).is_none(), "not relayed before it is durable");
    assert!(
        !w.server.engine.heads(&doc_id()).expect("loaded").contains(&change.hash()),
        "not advertised before it is durable"
    );
    // The store completes: now the other peer gets it.
    w.server.settle_all();
    assert_eq!(w.server.rows.len(), rows + 1);
    route(&mut w.server, &mut [&mut w.writer, &mut w.watcher]);
    assert!(w.watcher.hashes_received().contains(&change.hash()));
    assert!(w.watcher.doc.get_change_by_hash(&change.hash()).is_some());
    assert_eq!(w.server.engine.heads(&doc_id()).expect("loaded"), vec![change.hash()]);
}

#[test]
fn change_with_missing_dependencies_waits_and_asks_for_them() {
    // Seq 1 and seq 3 arrive, seq 2 does not: seq 3 cannot be checked yet. It is neither
    // stored nor relayed, nor refused: the engine asks for what is missing.
    let mut w = world();
    let mut x = workshop(&w, 9);
    let c1 = edit(&mut x, "uno ");
    let c2 = edit(&mut x, "dos ");
    let c3 = edit(&mut x, "tres ");
    let rows = w.server.rows.clone();
    let seen = w.writer.received.len();
    let heads = vec![c3.hash()];
    w.writer.send_raw(&mut w.server, doc_id(), vec![c1.raw_bytes().to_vec(), c3.raw_bytes().to_vec()], heads);
    w.server.settle_all();
    route(&mut w.server, &mut [&mut w.writer, &mut w.watcher]);
    assert!(w.writer.errors().is_empty());
    assert!(w.watcher.doc.get_change_by_hash(&c1.hash()).is_some(), "seq 1 was fine");
    assert!(w.watcher.doc.get_change_by_hash(&c3.hash()).is_none(), "seq 3 waits");
    assert_eq!(w.server.rows.len(), rows.len() + 1, "only seq 1 was stored");
    let asked: Vec<ChangeHash> = w.writer.received[seen..]
        .iter()
        .filter_map(|m| match m {
            WireMessage::Sync { data, .. } => Some(automerge::sync::Message::decode(data).expect("decodes").need),
            _ => None,
        })
        .flatten()
        .collect();
    assert!(asked.contains(&c2.hash()), "the engine asks for seq 2");
    // Seq 2 arrives: both go through, in order.
    let heads = vec![c3.hash()];
    w.writer.send_raw(&mut w.server, doc_id(), vec![c2.raw_bytes().to_vec()], heads);
    w.server.settle_all();
    route(&mut w.server, &mut [&mut w.writer, &mut w.watcher]);
    assert!(w.watcher.doc.get_change_by_hash(&c3.hash()).is_some());
    assert_eq!(w.server.engine.heads(&doc_id()).expect("loaded"), vec![c3.hash()]);
}

#[test]
fn a_waiting_invalid_change_is_not_blamed_on_the_peer_that_completes_it() {
    // The writer sends a change whose dependency (the watcher's offline edit) the server
    // has not seen yet, and whose start op is wrong. When the watcher uploads that edit,
    // the waiting change fails its checks: it must be dropped, and the watcher, which did
    // nothing wrong, must stay a writer.
    let mut w = world();
    let mut offline = w.watcher.doc.fork();
    let theirs = edit(&mut offline, "offline ");
    let mut x = w.watcher.doc.fork().with_actor(ActorId::from([9; 16]));
    x.apply_changes([theirs.clone()]).expect("applies");
    let on_top = edit(&mut x, "encima ");
    let bad = craft(&on_top, |e| e.start_op = NonZeroU64::new(e.start_op.get() + 3).expect("nonzero"));
    let heads = vec![bad.hash()];
    w.writer.send_raw(&mut w.server, doc_id(), vec![bad.raw_bytes().to_vec()], heads);
    w.server.settle_all();
    route(&mut w.server, &mut [&mut w.writer, &mut w.watcher]);
    assert!(w.writer.errors().is_empty(), "nothing to judge yet");

    w.watcher.doc.apply_changes([theirs.clone()]).expect("the watcher's own edit");
    pump(&mut w.server, &mut [&mut w.writer, &mut w.watcher], QUIET);
    assert!(w.watcher.errors().is_empty(), "the watcher was blamed for another peer's change: {:?}", w.watcher.errors());
    assert!(w.server.engine.heads(&doc_id()).expect("loaded").contains(&theirs.hash()));
    assert!(w.writer.doc.get_change_by_hash(&bad.hash()).is_none(), "the invalid change reached nobody");
    assert!(w.watcher.doc.get_change_by_hash(&bad.hash()).is_none(), "the invalid change reached nobody");
    // Its sender is the one refused, and read-only from then on.
    let errors = w.writer.errors();
    assert_eq!(errors.len(), 1, "the sender of the invalid change is told: {errors:?}");
    assert!(errors[0].contains("start op"), "{errors:?}");
    assert!(w.writer.state.is_peer_read_only(), "and is read-only for the document");
    // The watcher can still write.
    let next = edit(&mut w.watcher.doc, "sigo ");
    pump(&mut w.server, &mut [&mut w.writer, &mut w.watcher], QUIET);
    assert!(w.writer.doc.get_change_by_hash(&next.hash()).is_some(), "the watcher still writes");
}

/// A refusal targets the change, not the person: the same refused change sent again on a
/// fresh connection (a client that reconnects and resends it) is refused at once, and so is
/// a change built on it; a clean change on another fresh connection is taken at once.
#[test]
fn a_refused_change_stays_refused_on_every_connection_and_clean_ones_write() {
    let mut w = world();
    let rows_before = w.server.rows.len();
    // The writer breaks the schema, then builds a second change on top of the broken one.
    w.writer.doc.put(ROOT, "owner", "me").expect("automerge takes it");
    w.writer.doc.commit();
    let bad = w.writer.doc.get_last_local_change().expect("committed");
    let on_top = edit(&mut w.writer.doc, "encima ");
    assert!(on_top.deps().contains(&bad.hash()));
    pump(&mut w.server, &mut [&mut w.writer, &mut w.watcher], QUIET);
    assert_eq!(w.writer.errors().len(), 1, "the writer's connection was refused once");

    // The same bad change again, from a fresh connection (same document, new socket).
    let mut again = Peer::new("again", 1, 3);
    again.connect(&mut w.server, Access::Write);
    pump(&mut w.server, &mut [&mut again], QUIET);
    let heads = vec![bad.hash()];
    again.send_raw(&mut w.server, doc_id(), vec![bad.raw_bytes().to_vec()], heads);
    w.server.settle_all();
    route(&mut w.server, &mut [&mut again]);
    let errors = again.errors();
    assert_eq!(errors.len(), 1, "resending a refused change is refused at once: {errors:?}");
    assert!(errors[0].contains("refused before"), "{errors:?}");

    // A change built on it, from yet another fresh connection: refused too, though on its
    // own it would pass every check.
    let mut dependant = Peer::new("dependant", 1, 4);
    dependant.connect(&mut w.server, Access::Write);
    pump(&mut w.server, &mut [&mut dependant], QUIET);
    let heads = vec![on_top.hash()];
    dependant.send_raw(&mut w.server, doc_id(), vec![on_top.raw_bytes().to_vec()], heads);
    w.server.settle_all();
    route(&mut w.server, &mut [&mut dependant]);
    assert_eq!(dependant.errors().len(), 1, "a change on top of a refused one is refused: {:?}", dependant.received);
    assert_eq!(w.server.rows.len(), rows_before, "nothing of the refused changes was stored");

    // A clean connection of the same person (the sim's identities are per connection; the
    // engine keeps no per-person memory at all) writes at once.
    let mut clean = Peer::new("clean", 9, 5);
    clean.connect(&mut w.server, Access::Write);
    pump(&mut w.server, &mut [&mut clean, &mut w.watcher], QUIET);
    let good = edit(&mut clean.doc, "limpio ");
    pump(&mut w.server, &mut [&mut clean, &mut w.watcher], QUIET);
    assert!(clean.errors().is_empty(), "{:?}", clean.errors());
    assert!(w.watcher.doc.get_change_by_hash(&good.hash()).is_some(), "the clean change reached the other peer");
    assert_eq!(w.server.engine.heads(&doc_id()).expect("loaded"), vec![good.hash()]);
    // The refused connection stays read-only: its later change is not taken.
    let later = edit(&mut w.writer.doc, "después ");
    pump(&mut w.server, &mut [&mut w.writer, &mut w.watcher], QUIET);
    assert!(w.watcher.doc.get_change_by_hash(&later.hash()).is_none(), "the refused connection stays read-only");
}

/// A change automerge rejects when materializing, after both peers got it (no such change
/// is known: the materializer's answer is made here). The engine reports it, tells both
/// peers its heads without it, never sends it or asks for it again, and the exchange goes
/// quiet. Before, the peers were told nothing (`Engine::unannounced` was not empty), the
/// engine asked for the change in every message as one it lacked, and answered the peers
/// that had it forever.
#[test]
fn a_quarantined_change_is_announced_and_never_asked_for_again() {
    use concerta_sync::storage::{self, Materialized};
    use concerta_sync::Event;
    for coalesce_ms in [0, 100] {
        let mut w = world_with(Config { coalesce_ms, ..config() });
        let bad = edit(&mut w.writer.doc, "rechazado ");
        pump(&mut w.server, &mut [&mut w.writer, &mut w.watcher], QUIET);
        assert!(w.watcher.doc.get_change_by_hash(&bad.hash()).is_some(), "relayed before it was quarantined");
        let initial_hash = Change::from_bytes(w.initial.clone()).expect("parses").hash();
        let m = storage::materialize(vec![w.initial.clone()]).expect("materializes");
        let before = (w.writer.received.len(), w.watcher.received.len());
        w.server.event(Event::Materialized { doc: doc_id(), result: Ok(Materialized { rejected: vec![bad.hash()], ..m }) });
        assert!(w.server.quarantined.contains(&bad.hash()), "reported");
        assert_eq!(w.server.engine.heads(&doc_id()).expect("loaded"), vec![initial_hash]);
        w.server.advance(1_000);
        pump(&mut w.server, &mut [&mut w.writer, &mut w.watcher], QUIET);
        for (peer, from) in [(&w.writer, before.0), (&w.watcher, before.1)] {
            let after: Vec<automerge::sync::Message> = peer.received[from..]
                .iter()
                .filter_map(|m| match m {
                    WireMessage::Sync { data, .. } => Some(automerge::sync::Message::decode(data).expect("decodes")),
                    _ => None,
                })
                .collect();
            assert_eq!(after.last().map(|m| m.heads.clone()), Some(vec![initial_hash]), "{} heard our heads", peer.name);
            for m in &after {
                assert!(!m.need.contains(&bad.hash()), "{} was asked for the quarantined change", peer.name);
                assert!(m.changes.is_empty(), "{} was sent changes", peer.name);
            }
        }
    }
}

/// The compaction that would leave a quarantined change out of the rows fails: its snapshot
/// waits for the next one, and the rows lose the change then. Before, the snapshot was
/// dropped and the change stayed in the rows until the next materialization, served again by
/// every load.
#[test]
fn a_snapshot_whose_compaction_failed_goes_with_the_next_one() {
    use concerta_sync::storage::{self, Materialized, StoredChunk};
    use concerta_sync::Event;
    let mut w = world();
    let bad = edit(&mut w.writer.doc, "rechazado ");
    pump(&mut w.server, &mut [&mut w.writer, &mut w.watcher], QUIET);
    let in_rows = |server: &EngineServer, hash: &automerge::ChangeHash| {
        server.rows.iter().any(|(_, row)| match row {
            StoredChunk::Changes(bytes) => storage::split_changes(bytes).expect("stored").iter().any(|c| &c.hash() == hash),
            StoredChunk::Log(bytes) => storage::decode_log(bytes).expect("stored").entries.iter().any(|e| &e.hash == hash),
            StoredChunk::Snapshot(_) => false,
        })
    };
    assert!(in_rows(&w.server, &bad.hash()), "stored before the quarantine");
    let m = storage::materialize(vec![w.initial.clone()]).expect("materializes");
    w.server.fail_compactions = 1;
    w.server.event(Event::Materialized { doc: doc_id(), result: Ok(Materialized { rejected: vec![bad.hash()], ..m }) });
    assert!(in_rows(&w.server, &bad.hash()), "the compaction failed: the rows are as they were");
    assert!(!w.server.rows.iter().any(|(_, r)| matches!(r, StoredChunk::Snapshot(_))), "no snapshot row yet");
    // The next accepted change (another actor's, on the first change only: not built on
    // the quarantined one) is stored, and the compaction after it carries the snapshot.
    let mut other = workshop(&w, 9);
    let body = match other.get(ROOT, "body") {
        Ok(Some((_, body))) => body,
        o => panic!("a section has a body: {o:?}"),
    };
    other.splice_text(&body, 0, 0, "luego ").expect("an edit");
    other.commit();
    let change = other.get_last_local_change().expect("committed").raw_bytes().to_vec();
    let heads = other.get_heads();
    w.watcher.send_raw(&mut w.server, doc_id(), vec![change], heads);
    pump(&mut w.server, &mut [&mut w.writer, &mut w.watcher], QUIET);
    assert!(w.server.rows.iter().any(|(_, r)| matches!(r, StoredChunk::Snapshot(_))), "the snapshot row was written");
    assert!(!in_rows(&w.server, &bad.hash()), "the quarantined change left the rows");
}
