//! Property tests of the decoders: no input makes them panic, and what we encode comes back.

use automerge::transaction::Transactable;
use automerge::{ActorId, AutoCommit, Change, ReadDoc, ROOT};
use concerta_sync::graph::ChangeGraph;
use concerta_sync::storage::{decode_log, encode_log, load_graph, split_changes, StoredChunk};
use concerta_sync::wire::{PeerMetadata, WireMessage};
use concerta_sync::{DocumentId, Schema};
use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;

fn text() -> impl Strategy<Value = String> {
    "\\PC{0,12}"
}

fn document_id() -> impl Strategy<Value = DocumentId> {
    any::<[u8; 16]>().prop_map(DocumentId::from_bytes)
}

fn metadata() -> impl Strategy<Value = PeerMetadata> {
    (option::of(text()), any::<bool>()).prop_map(|(storage_id, is_ephemeral)| PeerMetadata { storage_id, is_ephemeral })
}

fn bytes() -> impl Strategy<Value = Vec<u8>> {
    vec(any::<u8>(), 0..64)
}

fn wire_message() -> impl Strategy<Value = WireMessage> {
    prop_oneof![
        (text(), option::of(metadata()), vec(text(), 0..16)).prop_map(|(sender_id, metadata, supported_protocol_versions)| {
            WireMessage::Join { sender_id, metadata, supported_protocol_versions }
        }),
        (text(), text(), option::of(metadata()), text()).prop_map(|(sender_id, target_id, metadata, selected_protocol_version)| {
            WireMessage::Peer { sender_id, target_id, metadata, selected_protocol_version }
        }),
        text().prop_map(|sender_id| WireMessage::Leave { sender_id }),
        text().prop_map(|message| WireMessage::Error { message }),
        (text(), text(), document_id(), bytes())
            .prop_map(|(sender_id, target_id, document_id, data)| WireMessage::Request { sender_id, target_id, document_id, data }),
        (text(), text(), document_id(), bytes())
            .prop_map(|(sender_id, target_id, document_id, data)| WireMessage::Sync { sender_id, target_id, document_id, data }),
        (text(), text(), document_id())
            .prop_map(|(sender_id, target_id, document_id)| WireMessage::DocUnavailable { sender_id, target_id, document_id }),
        (text(), text(), any::<u64>(), text(), document_id(), bytes()).prop_map(
            |(sender_id, target_id, count, session_id, document_id, data)| WireMessage::Ephemeral {
                sender_id,
                target_id,
                count,
                session_id,
                document_id,
                data
            }
        ),
        (text(), text()).prop_map(|(sender_id, target_id)| WireMessage::RemoteSubscriptionChange { sender_id, target_id }),
        (text(), text(), document_id())
            .prop_map(|(sender_id, target_id, document_id)| WireMessage::RemoteHeadsChanged { sender_id, target_id, document_id }),
    ]
}

/// Byte edits applied to a valid input: (position, xor mask) flips and a truncation.
fn mutate(mut input: Vec<u8>, flips: &[(usize, u8)], cut: Option<usize>) -> Vec<u8> {
    if input.is_empty() {
        return input;
    }
    for &(pos, mask) in flips {
        let i = pos % input.len();
        input[i] ^= mask;
    }
    if let Some(cut) = cut {
        input.truncate(cut % (input.len() + 1));
    }
    input
}

fn flips() -> impl Strategy<Value = Vec<(usize, u8)>> {
    vec((any::<usize>(), 1..=255u8), 0..4)
}

/// One step of a random editing session over three actors.
#[derive(Debug, Clone)]
enum Step {
    Insert { actor: usize, pos: usize, text: String },
    Delete { actor: usize, pos: usize },
    /// A block marker (a map inside the body) and an edit of it.
    Block { actor: usize, pos: usize },
    /// `actor` merges what the next actor has.
    Merge { actor: usize },
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => (0..3usize, any::<usize>(), "[a-zñ🌍 ]{1,4}").prop_map(|(actor, pos, text)| Step::Insert { actor, pos, text }),
        2 => (0..3usize, any::<usize>()).prop_map(|(actor, pos)| Step::Delete { actor, pos }),
        1 => (0..3usize, any::<usize>()).prop_map(|(actor, pos)| Step::Block { actor, pos }),
        2 => (0..3usize).prop_map(|actor| Step::Merge { actor }),
    ]
}

/// Runs the session; returns every change of the merged result in causal order.
fn session(steps: &[Step]) -> Vec<Change> {
    let initial = concerta_sync::new_section_change("Título");
    let mut docs: Vec<AutoCommit> = (0..3u8)
        .map(|i| {
            let mut d = AutoCommit::new().with_actor(ActorId::from([0x50 + i; 16]));
            d.load_incremental(&initial).expect("initial change loads");
            d
        })
        .collect();
    for s in steps {
        match s {
            Step::Insert { actor, pos, text } => {
                let d = &mut docs[*actor];
                let body = d.get(ROOT, "body").expect("readable").expect("body").1;
                let len = d.length(&body);
                d.splice_text(&body, pos % (len + 1), 0, text).expect("splice");
                d.commit();
            }
            Step::Delete { actor, pos } => {
                let d = &mut docs[*actor];
                let body = d.get(ROOT, "body").expect("readable").expect("body").1;
                let len = d.length(&body);
                if len > 0 {
                    d.splice_text(&body, pos % len, 1, "").expect("delete");
                    d.commit();
                }
            }
            Step::Block { actor, pos } => {
                let d = &mut docs[*actor];
                let body = d.get(ROOT, "body").expect("readable").expect("body").1;
                let len = d.length(&body);
                let block = d.split_block(&body, pos % (len + 1)).expect("block marker");
                d.commit();
                d.put(&block, "type", "paragraph").expect("edit the marker");
                d.commit();
            }
            Step::Merge { actor } => {
                let mut other = docs[(actor + 1) % 3].fork();
                docs[*actor].merge(&mut other).expect("merge");
            }
        }
    }
    let mut all = docs[0].fork();
    for d in docs.iter_mut().skip(1) {
        all.merge(d).expect("merge");
    }
    all.get_changes(&[])
}

fn graph_of(changes: &[Change]) -> ChangeGraph {
    let mut graph = ChangeGraph::new();
    for c in changes {
        let checked = graph
            .check(c.clone(), Schema::Section)
            .unwrap_or_else(|r| panic!("a valid change was refused: {r}"))
            .expect("changes come in causal order");
        graph.append(checked);
    }
    graph
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn wire_decode_never_panics(frame in vec(any::<u8>(), 0..256)) {
        let _ = WireMessage::decode(&frame);
    }

    #[test]
    fn wire_messages_round_trip(m in wire_message()) {
        prop_assert_eq!(WireMessage::decode(&m.encode()), Ok(m));
    }

    #[test]
    fn wire_decode_never_panics_on_damaged_frames(m in wire_message(), flips in flips(), cut in option::of(any::<usize>())) {
        let _ = WireMessage::decode(&mutate(m.encode(), &flips, cut));
    }

    #[test]
    fn split_changes_never_panics(stream in vec(any::<u8>(), 0..256), header in any::<bool>()) {
        // With the chunk magic in front, parsing gets past the first check.
        let stream = if header { [&[0x85, 0x6f, 0x4a, 0x83][..], &stream].concat() } else { stream };
        let _ = split_changes(&stream);
    }

    #[test]
    fn split_changes_never_panics_on_damaged_chunks(
        steps in vec(step(), 1..8),
        whole_document in any::<bool>(),
        flips in flips(),
        cut in option::of(any::<usize>()),
    ) {
        let changes = session(&steps);
        let stream: Vec<u8> = if whole_document {
            let mut doc = automerge::Automerge::new();
            doc.apply_changes(changes.clone()).expect("valid changes apply");
            doc.save()
        } else {
            changes.iter().flat_map(|c| c.raw_bytes().to_vec()).collect()
        };
        // Undamaged, the stream splits back into the same changes.
        let hashes: Vec<_> = split_changes(&stream).expect("a valid stream splits").iter().map(|c| c.hash()).collect();
        let mut expected: Vec<_> = changes.iter().map(|c| c.hash()).collect();
        let mut got = hashes.clone();
        expected.sort();
        got.sort();
        prop_assert_eq!(got, expected);
        let _ = split_changes(&mutate(stream, &flips, cut));
    }

    #[test]
    fn decode_log_never_panics(bytes in vec(any::<u8>(), 0..256), header in any::<bool>()) {
        let bytes = if header { [&b"CCTLOG01"[..], &bytes].concat() } else { bytes };
        if let Ok(log) = decode_log(&bytes) {
            // What decodes must also build a graph without panicking (the engine loads it).
            let _ = ChangeGraph::from_log(log);
        }
    }

    #[test]
    fn loading_damaged_logs_never_panics(steps in vec(step(), 1..8), flips in flips(), cut in option::of(any::<usize>())) {
        let changes = session(&steps);
        let mut graph = graph_of(&changes);
        graph.mark_durable(graph.len());
        let log = encode_log(&graph);
        let damaged = mutate(log, &flips, cut);
        if let Ok(log) = decode_log(&damaged) {
            let _ = ChangeGraph::from_log(log);
        }
        let _ = load_graph(vec![(1, StoredChunk::Log(damaged))], Schema::Section);
    }

    #[test]
    fn logs_round_trip(steps in vec(step(), 1..25), cut in any::<prop::sample::Index>()) {
        let changes = session(&steps);
        let mut graph = graph_of(&changes);
        let upto = cut.index(changes.len() + 1);
        graph.mark_durable(upto);
        let log = decode_log(&encode_log(&graph)).expect("our own log decodes");
        let mut rebuilt = ChangeGraph::from_log(log);
        prop_assert_eq!(rebuilt.len(), upto);
        prop_assert_eq!(rebuilt.durable_len(), upto);
        prop_assert_eq!(rebuilt.durable_heads(), graph.durable_heads());
        prop_assert_eq!(rebuilt.durable_hashes(), graph.durable_hashes());
        for (a, b) in rebuilt.nodes().iter().zip(graph.nodes()) {
            prop_assert_eq!(&a.bytes, &b.bytes);
            prop_assert_eq!((a.seq, a.start_op, a.max_op, &a.deps), (b.seq, b.start_op, b.max_op, &b.deps));
        }
        // The rebuilt graph knows enough (actors, seqs, op ranges, objects) to check and
        // take the rest of the history, and ends where the original does.
        for c in &changes[upto..] {
            let checked = rebuilt
                .check(c.clone(), Schema::Section)
                .unwrap_or_else(|r| panic!("refused after a log round trip: {r}"))
                .expect("causal order");
            rebuilt.append(checked);
        }
        prop_assert_eq!(rebuilt.all_heads(), graph.all_heads());
    }
}

/// A log row found by the `chunks` fuzz target: one entry with start op 0 and no ops, which
/// no real change has; rebuilding the graph from it computed `0 + 0 - 1`.
#[test]
fn a_log_entry_with_start_op_zero_is_corrupt() {
    let tail = "0aaa2a010101010101010101010101aaaaaa000000000000000000000000000000000000040000000000000000\
                00000000000000000000000000000000000000000000000000000000000000";
    let bytes: Vec<u8> = (0..tail.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&tail[i..i + 2], 16).expect("hex"))
        .collect();
    let log = [&b"CCTLOG01"[..], &bytes].concat();
    assert!(decode_log(&log).is_err(), "start op 0 is corrupt");
    assert!(load_graph(vec![(1, StoredChunk::Log(log))], Schema::Section).is_err());
}
