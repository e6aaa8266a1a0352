//! A stored document (the sync engine's rows: change chunks, logs, a snapshot) turned into
//! its durable heads, or into a full automerge document to read. Off the hot path: the
//! server calls this on a blocking thread.

use automerge::{Automerge, Change, ChangeHash};
use concerta_sync::graph::Schema;
use concerta_sync::storage::{StoredChunk, load_graph};

use crate::Error;

/// One stored row: (row id, kind, bytes), as the store returns it.
pub type Row = (i64, i16, Vec<u8>);

fn graph_of(rows: Vec<Row>) -> Result<concerta_sync::storage::Loaded, Error> {
    let rows = rows
        .into_iter()
        .filter_map(|(id, kind, data)| StoredChunk::from_row(kind, data).map(|c| (id, c)))
        .collect();
    load_graph(rows, Schema::Section).map_err(|e| Error::Stored(e.to_string()))
}

/// The heads of everything stored, sorted: what a named version records. Cheap: the log
/// decodes without hashing, and only change rows appended since the last compaction are
/// parsed.
pub fn stored_heads(rows: Vec<Row>) -> Result<Vec<ChangeHash>, Error> {
    Ok(graph_of(rows)?.graph.durable_heads())
}

/// The whole stored document: the latest snapshot plus the changes after it, applied with
/// automerge (O(document)). Changes automerge refuses are left out, as the materializer
/// does. Also returns the stored heads.
pub fn load_document(rows: Vec<Row>) -> Result<(Automerge, Vec<ChangeHash>), Error> {
    let loaded = graph_of(rows)?;
    let graph = &loaded.graph;
    let heads = graph.durable_heads();
    let (mut doc, tail) = match &loaded.snapshot {
        Some((saved, snapshot_heads)) => {
            let doc = Automerge::load(saved).map_err(|e| Error::Stored(e.to_string()))?;
            (doc, graph.missing_from(snapshot_heads))
        }
        None => (Automerge::new(), graph.durable_tail(0).collect()),
    };
    let changes: Vec<Change> = tail
        .into_iter()
        .filter_map(|i| Change::from_bytes(graph.node(i).bytes.clone()).ok())
        .collect();
    let applied = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let mut trial = doc.clone();
        trial.apply_changes(changes.clone()).map(|_| trial)
    }));
    match applied {
        Ok(Ok(trial)) => doc = trial,
        _ => {
            // Something automerge refuses: one change at a time, skipping the bad ones.
            for change in changes {
                let one = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    let mut trial = doc.clone();
                    trial.apply_changes([change]).map(|_| trial)
                }));
                if let Ok(Ok(trial)) = one {
                    doc = trial;
                }
            }
        }
    }
    Ok((doc, heads))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rich::Block;
    use crate::section::{edit_section_change, new_section_change, read_section};
    use concerta_sync::storage::{encode_log, encode_snapshot, materialize};

    #[test]
    fn heads_and_document_from_change_rows_logs_and_snapshots() {
        let first = new_section_change("T", &[Block::paragraph("uno")]);
        let mut doc = Automerge::new();
        doc.load_incremental(&first).unwrap();
        let second = edit_section_change(&doc, None, &[Block::paragraph("uno dos")]).unwrap().unwrap();
        doc.load_incremental(&second).unwrap();
        let third = edit_section_change(&doc, None, &[Block::paragraph("uno dos tres")]).unwrap().unwrap();
        let mut full = doc.clone();
        full.load_incremental(&third).unwrap();

        // Plain change rows.
        let rows: Vec<Row> = vec![(1, 0, first.clone()), (2, 0, second.clone()), (3, 0, third.clone())];
        assert_eq!(stored_heads(rows.clone()).unwrap(), full.get_heads());
        let (loaded, heads) = load_document(rows).unwrap();
        assert_eq!(heads, full.get_heads());
        assert_eq!(read_section(&loaded, None).unwrap().plain_text(), "uno dos tres");

        // A log of the first two, a snapshot of the first, and the third as a change row.
        let two = load_graph(
            vec![(1, StoredChunk::Changes(first.clone())), (2, StoredChunk::Changes(second.clone()))],
            Schema::Section,
        )
        .unwrap();
        let log = encode_log(&two.graph);
        let snap = materialize(vec![first.clone()]).unwrap();
        let snapshot = encode_snapshot(&snap.heads, &snap.snapshot);
        let rows: Vec<Row> = vec![(5, 1, snapshot), (6, 2, log), (7, 0, third)];
        let (loaded, heads) = load_document(rows.clone()).unwrap();
        assert_eq!(heads, full.get_heads());
        assert_eq!(stored_heads(rows).unwrap(), full.get_heads());
        assert_eq!(read_section(&loaded, None).unwrap().plain_text(), "uno dos tres");
        assert_eq!(read_section(&loaded, Some(&doc.get_heads())).unwrap().plain_text(), "uno dos");
    }

    #[test]
    fn damaged_rows_are_an_error_not_a_panic() {
        assert!(load_document(vec![(1, 0, vec![1, 2, 3])]).is_err());
        assert!(stored_heads(vec![(1, 2, b"CCTLOG01garbage!".to_vec())]).is_err());
        assert_eq!(stored_heads(Vec::new()).unwrap(), Vec::<ChangeHash>::new());
    }
}
