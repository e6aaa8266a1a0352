//! The engine held to automerge's own sync: the same random sessions run against our engine
//! and against a server on automerge's `SyncDoc`; every peer must end with every change it
//! may have, the same heads and text, and the exchange must go quiet.
//!
//! A failing seed is printed; replay it with `CONCERTA_SEED=<seed> cargo test -p
//! concerta-sync differential`. `CONCERTA_SEEDS=<n>` runs more seeds.

use automerge::{Automerge, ChangeHash, ReadDoc, ROOT};
use concerta_sync::{Access, Config, DocumentId};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::sim::{join_frame, Client, EngineServer, ReferenceServer, Server};

struct Outcome {
    expected_heads: Vec<ChangeHash>,
    expected_body: String,
    server_heads: Vec<ChangeHash>,
    /// Writers the server never told that it has their heads (automerge-repo's "synced").
    unconfirmed: Vec<String>,
}

fn route<S: Server>(server: &mut S, clients: &mut [Client]) -> bool {
    let out = server.take_outgoing();
    let any = !out.is_empty();
    for (conn, frame) in out {
        if let Some(c) = clients.iter_mut().find(|c| c.conn == Some(conn)) {
            c.inbox.push_back(frame);
        }
    }
    any
}

fn after_receive(client: &mut Client, doc: DocumentId) {
    if client.joined && client.conn.is_some() {
        if let Some(f) = client.sync_frame(doc) {
            client.outbox.push_back(f);
        }
    }
}

fn connect<S: Server>(server: &mut S, client: &mut Client, conn: u64, rng: &mut ChaCha8Rng) {
    client.conn = Some(conn);
    client.joined = false;
    client.inbox.clear();
    client.outbox.clear();
    // A reconnecting client either starts over or keeps what it knew it shared (as the JS
    // client does per storage id).
    client.state = if rng.random_bool(0.5) {
        automerge::sync::State::new()
    } else {
        automerge::sync::State::decode(&client.state.encode()).expect("state round-trips")
    };
    server.connect(conn, client.access);
    client.outbox.push_back(join_frame(&client.name));
}

fn disconnect<S: Server>(server: &mut S, client: &mut Client) {
    if let Some(conn) = client.conn.take() {
        server.disconnect(conn);
        client.inbox.clear();
        client.outbox.clear();
        client.joined = false;
    }
}

fn run<S: Server>(mut server: S, seed: u64, doc: DocumentId, initial: &[u8], restarts: bool) -> Result<Outcome, String> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let n = rng.random_range(2..=5);
    let mut clients: Vec<Client> = (0..n)
        .map(|i| {
            let access = if i == 0 || rng.random_bool(0.75) { Access::Write } else { Access::Read };
            let mut c = Client::new(format!("peer-{i}"), i as u8 + 1, access);
            c.sends_whole_doc = access == Access::Write && rng.random_bool(0.2);
            c
        })
        .collect();
    let mut next_conn = 1u64;
    // Some peers start connected, the others join late, empty.
    for c in clients.iter_mut() {
        if rng.random_bool(0.6) {
            connect(&mut server, c, next_conn, &mut rng);
            next_conn += 1;
        }
    }
    let steps = rng.random_range(100..400);
    for _ in 0..steps {
        let i = rng.random_range(0..clients.len());
        match rng.random_range(0..100) {
            0..=29 => {
                // Edits happen online and offline alike.
                let c = &mut clients[i];
                // Now and then a long offline session: enough changes for bloom-filter false
                // positives to happen.
                let edits = if rng.random_bool(0.05) { rng.random_range(40..160) } else { rng.random_range(1..=3) };
                for _ in 0..edits {
                    c.edit(&mut rng);
                }
                after_receive(c, doc);
            }
            30..=49 => {
                if let Some(frame) = clients[i].outbox.pop_front() {
                    let conn = clients[i].conn.expect("outbox only while connected");
                    server.frame(conn, frame);
                }
            }
            50..=69 => {
                if let Some(frame) = clients[i].inbox.pop_front() {
                    clients[i].receive(&frame);
                    after_receive(&mut clients[i], doc);
                }
            }
            70..=84 => server.settle(&mut rng, false),
            85..=89 => disconnect(&mut server, &mut clients[i]),
            90..=96 => {
                if clients[i].conn.is_none() {
                    connect(&mut server, &mut clients[i], next_conn, &mut rng);
                    next_conn += 1;
                }
            }
            _ => {
                if restarts {
                    for c in clients.iter_mut() {
                        disconnect(&mut server, c);
                    }
                    server.restart();
                }
            }
        }
        route(&mut server, &mut clients);
    }

    // Everyone comes back and the network delivers everything until nobody has anything
    // to say.
    for c in clients.iter_mut() {
        if c.conn.is_none() {
            connect(&mut server, c, next_conn, &mut rng);
            next_conn += 1;
        }
    }
    let mut quiet_rounds = 0;
    for round in 0.. {
        if round > 500 {
            return Err(format!("seed {seed}: the exchange did not go quiet after 500 rounds"));
        }
        let mut traffic = false;
        for c in clients.iter_mut() {
            while let Some(frame) = c.outbox.pop_front() {
                traffic = true;
                server.frame(c.conn.expect("connected"), frame);
            }
        }
        server.settle(&mut rng, true);
        traffic |= route(&mut server, &mut clients);
        for c in clients.iter_mut() {
            while let Some(frame) = c.inbox.pop_front() {
                traffic = true;
                c.receive(&frame);
                after_receive(c, doc);
            }
        }
        if traffic {
            quiet_rounds = 0;
        } else {
            quiet_rounds += 1;
            if quiet_rounds == 2 {
                break;
            }
        }
    }

    // What every peer should have: the initial change plus every writer's changes.
    let mut reference = Automerge::new();
    reference.load_incremental(initial).map_err(|e| e.to_string())?;
    for c in clients.iter_mut().filter(|c| c.access == Access::Write) {
        let changes: Vec<automerge::Change> = c.doc.get_changes(&[]);
        reference.apply_changes(changes).map_err(|e| e.to_string())?;
    }
    let expected_heads = reference.get_heads();
    let expected_body = match reference.get(ROOT, "body") {
        Ok(Some((_, obj))) => reference.text(&obj).unwrap_or_default(),
        _ => String::new(),
    };
    for c in clients.iter_mut() {
        match c.access {
            Access::Write => {
                if c.heads() != expected_heads {
                    let short = |hs: &[ChangeHash]| hs.iter().map(|h| h.to_string()[..8].to_owned()).collect::<Vec<_>>();
                    let heads = c.heads();
                    return Err(format!(
                        "seed {seed}: {} (conn {:?}) ended with other heads than the merge of all writers: {:?} vs {:?}; {}",
                        c.name,
                        c.conn,
                        short(&heads),
                        short(&expected_heads),
                        server.describe()
                    ));
                }
                if c.body() != expected_body {
                    return Err(format!("seed {seed}: {} ended with other text", c.name));
                }
            }
            _ => {
                for h in &expected_heads {
                    if c.doc.get_change_by_hash(h).is_none() {
                        return Err(format!("seed {seed}: read-only {} is missing writers' changes", c.name));
                    }
                }
            }
        }
    }
    // Every writer heard the server's heads equal its own: the last sync message it got says
    // so (what the JS client's `waitSynced` and the app's "saved" wait for).
    let unconfirmed = clients
        .iter_mut()
        .filter(|c| c.access == Access::Write)
        .filter_map(|c| {
            let mut theirs = c.state.their_heads.clone().unwrap_or_default();
            theirs.sort();
            let mut ours = c.heads();
            ours.sort();
            (theirs != ours).then(|| c.name.clone())
        })
        .collect();
    Ok(Outcome { expected_heads, expected_body, server_heads: server.heads(), unconfirmed })
}

fn seeds() -> Vec<u64> {
    if let Ok(seed) = std::env::var("CONCERTA_SEED") {
        return vec![seed.parse().expect("CONCERTA_SEED is a number")];
    }
    let n: u64 = std::env::var("CONCERTA_SEEDS").ok().and_then(|s| s.parse().ok()).unwrap_or(60);
    (0..n).map(|i| 0x5eed_0000 + i).collect()
}

#[test]
fn engine_converges_like_automerge_sync() {
    let doc = DocumentId::from_bytes([7; 16]);
    let initial = concerta_sync::new_section_change("Voluntad política");
    let mut failures = Vec::new();
    for seed in seeds() {
        // Small thresholds so snapshots, compaction and whole-document sends all happen.
        let config = Config { snapshot_every: 40, compact_rows: 8, ..Config::default() };
        let ours = run(EngineServer::new(doc, initial.clone(), config), seed, doc, &initial, seed % 3 == 0);
        let theirs = run(ReferenceServer::new(doc, &initial), seed, doc, &initial, false);
        match (ours, theirs) {
            (Ok(o), Ok(t)) => {
                if o.server_heads != o.expected_heads {
                    failures.push(format!("seed {seed}: engine's durable heads differ from the merge"));
                }
                if !o.unconfirmed.is_empty() {
                    failures.push(format!("seed {seed}: the engine never confirmed the heads of {:?}", o.unconfirmed));
                }
                if !t.unconfirmed.is_empty() {
                    failures.push(format!("seed {seed}: automerge's sync never confirmed the heads of {:?}", t.unconfirmed));
                }
                if t.server_heads != t.expected_heads {
                    failures.push(format!("seed {seed}: reference server's heads differ (harness bug)"));
                }
                assert!(!o.expected_body.is_empty() || o.expected_heads.len() == 1);
            }
            (Err(e), _) => failures.push(format!("engine: {e}")),
            (_, Err(e)) => failures.push(format!("reference: {e}")),
        }
    }
    assert!(failures.is_empty(), "failing seeds (replay with CONCERTA_SEED=<seed>):\n{}", failures.join("\n"));
}

#[test]
fn nodes_sharing_a_store_converge_like_automerge_sync() {
    let doc = DocumentId::from_bytes([9; 16]);
    let initial = concerta_sync::new_section_change("Alianzas internas y externas");
    let mut failures = Vec::new();
    for seed in seeds() {
        let config = Config { snapshot_every: 40, compact_rows: 8, ..Config::default() };
        let cluster = crate::cluster::Cluster::new(doc, initial.clone(), config);
        match run(cluster, seed, doc, &initial, seed % 3 == 0) {
            Ok(o) if o.server_heads != o.expected_heads => {
                failures.push(format!("seed {seed}: the store's heads differ from the merge of all writers"))
            }
            Ok(o) if !o.unconfirmed.is_empty() => {
                failures.push(format!("seed {seed}: the nodes never confirmed the heads of {:?}", o.unconfirmed))
            }
            Ok(_) => {}
            Err(e) => failures.push(format!("cluster: {e}")),
        }
    }
    assert!(failures.is_empty(), "failing seeds (replay with CONCERTA_SEED=<seed>):\n{}", failures.join("\n"));
}
