//! The storage decoders on any bytes: `split_changes` (what peers upload), `decode_log` and
//! `ChangeGraph::from_log`, and `load_graph` over such rows (what a load reads). Never a
//! panic. The first byte picks the decoder and the input: the rest of the bytes as they are,
//! behind the right magic, or as damage (position, xor) to valid change chunks, a valid saved
//! document (checksums fixed up after the damage, to get into the parsers) or a valid log.
#![no_main]

use concerta_sync::graph::ChangeGraph;
use concerta_sync::storage::{decode_log, encode_log, load_graph, split_changes, StoredChunk};
use concerta_sync::Schema;
use libfuzzer_sys::fuzz_target;

const CHUNK_MAGIC: [u8; 4] = [0x85, 0x6f, 0x4a, 0x83];

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else { return };
    concerta_sync_fuzz::run_catching(|| match mode % 9 {
        0 => {
            let _ = split_changes(rest);
        }
        1 => {
            let _ = split_changes(&[&CHUNK_MAGIC[..], rest].concat());
        }
        2 | 3 => {
            let bytes = if mode % 9 == 3 { [&b"CCTLOG01"[..], rest].concat() } else { rest.to_vec() };
            if let Ok(log) = decode_log(&bytes) {
                let _ = ChangeGraph::from_log(log);
            }
        }
        4 => {
            let rows = vec![(1, StoredChunk::Log([&b"CCTLOG01"[..], rest].concat()))];
            let _ = load_graph(rows, Schema::Section);
        }
        5 => {
            let rows = vec![
                (1, StoredChunk::Changes(concerta_sync_fuzz::initial_change().to_vec())),
                (2, StoredChunk::Changes([&CHUNK_MAGIC[..], rest].concat())),
            ];
            let _ = load_graph(rows, Schema::Section);
        }
        6 | 7 => {
            let mut stream =
                if mode % 9 == 6 { concerta_sync_fuzz::pool_stream() } else { concerta_sync_fuzz::pool_document() };
            concerta_sync_fuzz::damage(&mut stream, rest);
            concerta_sync_fuzz::fix_checksums(&mut stream);
            let _ = split_changes(&stream);
            let _ = load_graph(vec![(1, StoredChunk::Changes(stream))], Schema::Section);
        }
        _ => {
            let mut graph = ChangeGraph::new();
            let stream = concerta_sync_fuzz::pool_stream();
            for change in split_changes(&stream).expect("the pool splits") {
                let checked = graph.check(change, Schema::Section).expect("valid").expect("in order");
                graph.append(checked);
            }
            graph.mark_durable(graph.len());
            let mut log = encode_log(&graph);
            concerta_sync_fuzz::damage(&mut log, rest);
            if let Ok(log) = decode_log(&log) {
                let _ = ChangeGraph::from_log(log);
            }
            let _ = load_graph(vec![(1, StoredChunk::Log(log))], Schema::Section);
        }
    });
});
