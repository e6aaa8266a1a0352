//! The storage writer: appends and compactions in order, every append waiting at once in one
//! statement (group commit); a failed write is retried until it lands, since the engine
//! relays nothing before it does.

use std::time::{Duration, Instant};

use concerta_store::Database;
use concerta_sync::{DocumentId, Event};
use tokio::sync::mpsc;

use super::runtime::Command;

pub(super) enum Write {
    Append { doc: DocumentId, chunk: Vec<u8>, upto: usize, started: Instant },
    Compact { doc: DocumentId, log: Vec<u8>, snapshot: Option<Vec<u8>>, replaces: Vec<i64> },
}

/// Writes appends and compactions in order; every batch of appends waiting at once goes in
/// one transaction (group commit). A failed write is retried until it lands: the engine
/// relays nothing before it does. Never exits on an error.
pub(super) async fn storage_writer(db: Database, node: String, mut rx: mpsc::UnboundedReceiver<Write>, cmd_tx: mpsc::Sender<Command>) {
    let mut backlog: Vec<Write> = Vec::new();
    loop {
        if backlog.is_empty() {
            match rx.recv().await {
                Some(w) => backlog.push(w),
                None => return,
            }
        }
        while let Ok(w) = rx.try_recv() {
            backlog.push(w);
        }
        // Appends up to the first compaction go together; compactions alone.
        let split = backlog.iter().position(|w| matches!(w, Write::Compact { .. })).unwrap_or(backlog.len());
        if split == 0 {
            let Write::Compact { doc, log, snapshot, replaces } = backlog.remove(0) else { unreachable!() };
            match db.compact_doc(&doc.to_string(), log, snapshot, &replaces).await {
                Ok(log_row) => {
                    let _ = cmd_tx.send(Command::Event(Event::Compacted { doc, log_row: Some(log_row) })).await;
                }
                Err(e) => {
                    // Nothing is lost: the rows stay, and a later compaction replaces them.
                    tracing::warn!(error = %e, %doc, "compaction failed");
                    let _ = cmd_tx.send(Command::Event(Event::Compacted { doc, log_row: None })).await;
                }
            }
            continue;
        }
        let batch: Vec<Write> = backlog.drain(..split).collect();
        let rows: Vec<(String, i16, Vec<u8>)> = batch
            .iter()
            .map(|w| match w {
                Write::Append { doc, chunk, .. } => (doc.to_string(), concerta_store::CHUNK_KIND_CHANGES, chunk.clone()),
                Write::Compact { .. } => unreachable!("split before compactions"),
            })
            .collect();
        let t = Instant::now();
        match db.append_doc_chunks(&node, &rows).await {
            Ok(ids) => {
                metrics::histogram!("concerta_sync_commit_seconds").record(t.elapsed().as_secs_f64());
                for (w, row) in batch.into_iter().zip(ids) {
                    if let Write::Append { doc, upto, started, .. } = w {
                        let _ = cmd_tx.send(Command::Stored { doc, upto, row, started }).await;
                    }
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "storing changes failed; retrying");
                backlog.splice(0..0, batch);
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }
}
