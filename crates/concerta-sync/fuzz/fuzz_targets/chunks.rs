//! The storage decoders on any bytes: `split_changes` (what peers upload), `decode_log` and
//! `ChangeGraph::from_log`, and `load_graph` over such rows (what a load reads). Never a
//! panic. The first byte picks the decoder and whether to put the right magic in front.
#![no_main]

use concerta_sync::graph::ChangeGraph;
use concerta_sync::storage::{decode_log, load_graph, split_changes, StoredChunk};
use concerta_sync::Schema;
use libfuzzer_sys::fuzz_target;

const CHUNK_MAGIC: [u8; 4] = [0x85, 0x6f, 0x4a, 0x83];

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else { return };
    concerta_sync_fuzz::run_catching(|| match mode % 6 {
        0 => {
            let _ = split_changes(rest);
        }
        1 => {
            let _ = split_changes(&[&CHUNK_MAGIC[..], rest].concat());
        }
        2 | 3 => {
            let bytes = if mode % 6 == 3 { [&b"CCTLOG01"[..], rest].concat() } else { rest.to_vec() };
            if let Ok(log) = decode_log(&bytes) {
                let _ = ChangeGraph::from_log(log);
            }
        }
        4 => {
            let rows = vec![(1, StoredChunk::Log([&b"CCTLOG01"[..], rest].concat()))];
            let _ = load_graph(rows, Schema::Section);
        }
        _ => {
            let rows = vec![
                (1, StoredChunk::Changes(concerta_sync_fuzz::initial_change().to_vec())),
                (2, StoredChunk::Changes([&CHUNK_MAGIC[..], rest].concat())),
            ];
            let _ = load_graph(rows, Schema::Section);
        }
    });
});
