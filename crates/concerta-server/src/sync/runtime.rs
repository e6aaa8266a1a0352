//! The runtime around the sans-IO [`Engine`]: one task owns the engine and performs its
//! effects; a storage writer task group-commits appends; access checks, loads and
//! materialization run as their own tasks and come back as events.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use concerta_core::{CityId, UserId};
use concerta_store::Database;
use concerta_sync::storage::{self, StoredChunk};
use concerta_sync::{Access, Config as EngineConfig, ConnId, DocumentId, Effect, Engine, Event, Identity, Schema};
use tokio::sync::{broadcast, mpsc, oneshot};

use super::access::{decide, schema};
use super::cluster::{PresenceNotice, listen_to_other_nodes, share_presence};
use super::writer::{Write, storage_writer};
use crate::live::CommentEvent;
use crate::state::{AccessEvent, Credential};

/// What a connection's writer receives.
#[derive(Debug)]
pub enum Outgoing {
    /// A binary frame to send.
    Frame(Vec<u8>),
    /// Close the connection.
    Close,
}

/// Who a connection is, as the upgrade authenticated it.
#[derive(Clone, Debug)]
pub struct ConnIdentity {
    /// The user.
    pub user: UserId,
    /// Their display name, shown to the other peers in presence rosters.
    pub name: String,
    /// Whether they administer the whole network.
    pub network_admin: bool,
    /// The secret they authenticated with, if known: revoking it cuts the connection.
    pub credential: Option<Credential>,
    /// When that credential expires, if ever: the connection is cut then.
    pub expires_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// One user in a document on this node ([`SyncHandle::presence`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeerPresence {
    /// The user.
    pub user_id: UserId,
    /// Their display name.
    pub name: String,
    /// The most they may do through any of their connections: `Read` or `Write`.
    pub access: Access,
}

/// Commands for the engine task.
#[allow(missing_docs)]
pub enum Command {
    /// A new authenticated connection and the queue its writer drains.
    Connect { conn: ConnId, identity: ConnIdentity, tx: mpsc::Sender<Outgoing> },
    /// Who is in these documents on this node.
    Presence { docs: Vec<DocumentId>, reply: oneshot::Sender<HashMap<DocumentId, Vec<PeerPresence>>> },
    /// An event for the engine as it is.
    Event(Event),
    /// Access of these (connection, document) pairs was re-decided by a background check.
    Recheck(Vec<(ConnId, DocumentId, Access)>),
    /// An append is durable; `started` is when its change arrived.
    Stored { doc: DocumentId, upto: usize, row: i64, started: Instant },
    /// The answer to an access check, with the document's city (for revocations).
    Decided { conn: ConnId, doc: DocumentId, access: Access, city: Option<CityId> },
    /// Another node stored row `row` of `doc` (Postgres only).
    RemoteRow { doc: DocumentId, row: i64 },
    /// The notice stream was interrupted: re-read every document in memory and re-check
    /// every connection's access (access notices may have been missed too).
    ResyncAll,
    /// Another node changed access (Postgres only).
    RemoteAccess(AccessEvent),
}

/// A handle to the running engine; cheap to clone.
#[derive(Clone)]
pub struct SyncHandle {
    tx: mpsc::Sender<Command>,
    next_conn: Arc<std::sync::atomic::AtomicU64>,
    /// This node's peer id (in `peer` messages and on the notices it sends other nodes).
    node: Arc<str>,
}

impl SyncHandle {
    /// Starts the engine, storage writer and timers on the current tokio runtime.
    /// `coalesce_ms`: see [`EngineConfig::coalesce_ms`].
    /// Notices of comment changes from other nodes go to `comment_events`.
    pub fn start(
        db: Database,
        access_events: broadcast::Receiver<AccessEvent>,
        comment_events: broadcast::Sender<CommentEvent>,
        coalesce_ms: u64,
    ) -> Self {
        let (tx, rx) = mpsc::channel(16 * 1024);
        let node: Arc<str> = format!("concerta-{}", uuid::Uuid::new_v4()).into();
        let handle = SyncHandle { tx: tx.clone(), next_conn: Arc::new(1.into()), node: node.clone() };
        tokio::spawn(run(db, rx, tx, access_events, comment_events, coalesce_ms, node));
        handle
    }

    /// This node's id among the nodes on one database.
    pub fn node(&self) -> &str {
        &self.node
    }

    /// A fresh connection id.
    pub fn next_conn(&self) -> ConnId {
        self.next_conn.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    }

    /// Sends a command; false when the engine is gone (shutting down).
    pub async fn send(&self, cmd: Command) -> bool {
        self.tx.send(cmd).await.is_ok()
    }

    /// Who is in each of `docs` on this node: one entry per user (with the most access any
    /// of their connections has), in the order they came. Documents nobody is in are absent;
    /// so is everything when the engine is gone.
    pub async fn presence(&self, docs: Vec<DocumentId>) -> HashMap<DocumentId, Vec<PeerPresence>> {
        let (reply, answer) = oneshot::channel();
        if !self.send(Command::Presence { docs, reply }).await {
            return HashMap::new();
        }
        answer.await.unwrap_or_default()
    }
}

struct ConnInfo {
    user: UserId,
    network_admin: bool,
    credential: Option<Credential>,
    tx: mpsc::Sender<Outgoing>,
}

struct Runtime {
    engine: Engine,
    db: Database,
    conns: HashMap<ConnId, ConnInfo>,
    /// The city of each document some connection was granted, for revocations.
    doc_city: HashMap<DocumentId, CityId>,
    /// Connections plus documents at the last tick, to notice when memory was freed.
    last_size: usize,
    cmd_tx: mpsc::Sender<Command>,
    writer_tx: mpsc::UnboundedSender<Write>,
    started: Instant,
    /// When the engine asked to be woken ([`Effect::Wake`]).
    wake: Option<tokio::time::Instant>,
    /// Presence for the other nodes (Postgres only; see `cluster::share_presence`).
    presence_tx: Option<mpsc::Sender<String>>,
}


async fn run(
    db: Database,
    mut rx: mpsc::Receiver<Command>,
    cmd_tx: mpsc::Sender<Command>,
    mut access_events: broadcast::Receiver<AccessEvent>,
    comment_events: broadcast::Sender<CommentEvent>,
    coalesce_ms: u64,
    node: Arc<str>,
) {
    let storage_id = match db.storage_id().await {
        Ok(id) => Some(id),
        Err(e) => {
            tracing::error!(error = %e, "could not read the storage id; peers will not keep sync state");
            None
        }
    };
    let several_nodes = db.is_postgres();
    let config = EngineConfig {
        peer_id: node.to_string(),
        storage_id,
        coalesce_ms,
        share_presence: several_nodes,
        ..EngineConfig::default()
    };
    let presence_tx = several_nodes.then(|| {
        let (tx, rx) = mpsc::channel(4 * 1024);
        tokio::spawn(share_presence(db.clone(), node.to_string(), rx));
        tx
    });
    let (writer_tx, writer_rx) = mpsc::unbounded_channel();
    tokio::spawn(storage_writer(db.clone(), config.peer_id.clone(), writer_rx, cmd_tx.clone()));
    tokio::spawn(listen_to_other_nodes(db.clone(), config.peer_id.clone(), cmd_tx.clone(), comment_events));
    let mut rt = Runtime {
        engine: Engine::new(config),
        db,
        conns: HashMap::new(),
        doc_city: HashMap::new(),
        last_size: 0,
        cmd_tx,
        writer_tx,
        started: Instant::now(),
        wake: None,
        presence_tx,
    };
    let mut tick = tokio::time::interval(Duration::from_millis(concerta_sync::TICK_MS));
    loop {
        tokio::select! {
            cmd = rx.recv() => match cmd {
                Some(cmd) => rt.command(cmd),
                None => break,
            },
            _ = sleep_until(rt.wake) => {
                rt.wake = None;
                rt.event(Event::Wake);
            }
            _ = tick.tick() => {
                rt.event(Event::Tick);
                rt.publish_gauges();
                rt.return_memory();
            }
            ev = access_events.recv() => match ev {
                Ok(event) => rt.access_changed(event),
                // Missed some: re-check everyone rather than miss a revocation.
                Err(broadcast::error::RecvError::Lagged(_)) => rt.recheck_city(None),
                Err(broadcast::error::RecvError::Closed) => {
                    access_events = broadcast::channel(1).1;
                }
            },
        }
    }
}

impl Runtime {
    fn now(&self) -> u64 {
        self.started.elapsed().as_millis() as u64
    }

    fn command(&mut self, cmd: Command) {
        match cmd {
            Command::Connect { conn, identity, tx } => {
                let ConnIdentity { user, name, network_admin, credential, .. } = identity;
                self.conns.insert(conn, ConnInfo { user, network_admin, credential, tx });
                metrics::counter!("concerta_sync_connections_total").increment(1);
                self.event(Event::Connected { conn, identity: Identity { user_id: user.to_string(), name } });
            }
            Command::Presence { docs, reply } => {
                let _ = reply.send(self.presence(docs));
            }
            Command::Event(event) => {
                if let Event::Disconnected { conn } = &event {
                    self.conns.remove(conn);
                }
                self.event(event);
            }
            Command::Recheck(decisions) => {
                for (conn, doc, access) in decisions {
                    self.event(Event::Access { conn, doc, access });
                }
            }
            Command::Decided { conn, doc, access, city } => {
                if let Some(city) = city {
                    self.doc_city.insert(doc, city);
                }
                self.event(Event::Access { conn, doc, access });
            }
            Command::RemoteRow { doc, row } => {
                if self.engine.heads(&doc).is_some() {
                    self.fetch_rows(doc, row - 1);
                }
            }
            Command::ResyncAll => {
                for doc in self.engine.loaded_docs() {
                    self.fetch_rows(doc, i64::MIN);
                }
                self.recheck_city(None);
            }
            Command::RemoteAccess(event) => self.access_changed(event),
            Command::Stored { doc, upto, row, started } => {
                let t = Instant::now();
                self.event(Event::Stored { doc, upto, row });
                // Relay latency: from the arrival of the change to the relays being queued.
                metrics::histogram!("concerta_sync_relay_seconds").record((t - started).as_secs_f64() + t.elapsed().as_secs_f64());
            }
        }
    }

    fn event(&mut self, event: Event) {
        let t = Instant::now();
        let frame_in = matches!(event, Event::Frame { .. });
        let effects = self.engine.handle_event(self.now(), event);
        if frame_in {
            metrics::histogram!("concerta_sync_frame_seconds").record(t.elapsed().as_secs_f64());
        }
        for effect in effects {
            self.perform(effect, t);
        }
    }

    fn perform(&mut self, effect: Effect, started: Instant) {
        match effect {
            Effect::Send { conn, frame } => {
                if let Some(c) = self.conns.get(&conn) {
                    match c.tx.try_send(Outgoing::Frame(frame)) {
                        Ok(()) => {}
                        // A peer that does not read its frames is cut rather than buffered
                        // without bound.
                        Err(mpsc::error::TrySendError::Full(_)) => {
                            tracing::warn!(conn, "slow sync peer disconnected");
                            metrics::counter!("concerta_sync_slow_peers_total").increment(1);
                            let _ = c.tx.try_send(Outgoing::Close);
                        }
                        // Already gone; its disconnect is on the way.
                        Err(mpsc::error::TrySendError::Closed(_)) => {}
                    }
                }
            }
            Effect::Close { conn } => {
                if let Some(c) = self.conns.get(&conn) {
                    let _ = c.tx.try_send(Outgoing::Close);
                }
            }
            Effect::CheckAccess { conn, doc } => {
                let Some(c) = self.conns.get(&conn) else { return };
                let (db, tx, user, admin) = (self.db.clone(), self.cmd_tx.clone(), c.user, c.network_admin);
                tokio::spawn(async move {
                    let (access, city) = decide(&db, user, admin, doc).await;
                    let _ = tx.send(Command::Decided { conn, doc, access, city }).await;
                });
            }
            Effect::Load { doc } => {
                let (db, tx) = (self.db.clone(), self.cmd_tx.clone());
                tokio::spawn(async move {
                    let event = load(&db, doc).await;
                    let _ = tx.send(Command::Event(event)).await;
                });
            }
            Effect::Store { doc, chunk, upto } => {
                metrics::counter!("concerta_sync_stores_total").increment(1);
                let _ = self.writer_tx.send(Write::Append { doc, chunk, upto, started });
            }
            Effect::Compact { doc, log, snapshot, replaces } => {
                let _ = self.writer_tx.send(Write::Compact { doc, log, snapshot, replaces });
            }
            Effect::Materialize { doc, changes } => {
                let tx = self.cmd_tx.clone();
                tokio::spawn(async move {
                    let result = tokio::task::spawn_blocking(move || {
                        let result = storage::materialize(changes).map_err(|e| e.to_string());
                        // The materializer's document is gone: give its pages back now, not
                        // at the next time connections or documents go away.
                        crate::memory::trim_heap();
                        result
                    })
                    .await
                    .unwrap_or_else(|e| Err(format!("materializer task: {e}")));
                    let _ = tx.send(Command::Event(Event::Materialized { doc, result })).await;
                });
            }
            // The engine remembers what it refused (the change, and changes built on it) and
            // keeps that connection read-only; the person's other connections write on.
            Effect::Refused { doc, conn, reason } => {
                tracing::info!(%doc, conn, %reason, "change refused");
            }
            Effect::Quarantined { doc, hashes } => {
                tracing::error!(%doc, count = hashes.len(), "changes quarantined: automerge rejected them");
            }
            Effect::Wake { at } => {
                let at = tokio::time::Instant::from_std(self.started + Duration::from_millis(at));
                if self.wake.is_none_or(|w| at < w) {
                    self.wake = Some(at);
                }
            }
            Effect::SharePresence { doc, roster } => self.share(PresenceNotice::Roster { doc, roster }),
            Effect::ShareEphemeral { doc, sender_id, session_id, count, data } => {
                self.share(PresenceNotice::Ephemeral { doc, sender_id, session_id, count, data })
            }
            Effect::ProtocolError { conn, reason } => {
                metrics::counter!("concerta_sync_protocol_errors_total").increment(1);
                tracing::info!(conn, %reason, "sync protocol error");
            }
        }
    }

    /// Shares presence with the other nodes; dropped when too large or when they cannot
    /// keep up (presence repeats every tick, cursors move again).
    fn share(&self, notice: PresenceNotice) {
        let (Some(tx), Some(event)) = (&self.presence_tx, notice.encode()) else { return };
        if tx.try_send(event).is_err() {
            metrics::counter!("concerta_sync_presence_dropped_total").increment(1);
        }
    }

    /// Acts on an access change, from this node or another.
    fn access_changed(&mut self, event: AccessEvent) {
        match event {
            AccessEvent::City(city) => self.recheck_city(Some(city)),
            AccessEvent::User(user) => self.recheck_user(user),
            AccessEvent::Credential(credential) => self.cut_credential(&credential),
        }
    }

    /// Re-decides the access of every live (connection, document) of `city` (all when
    /// `None`), in the background; the engine applies what changed.
    fn recheck_city(&mut self, city: Option<CityId>) {
        let mut pairs = Vec::new();
        for (&conn, info) in &self.conns {
            for (doc, access) in self.engine.conn_docs(conn) {
                if access.is_none() {
                    continue;
                }
                let in_city = match (city, self.doc_city.get(&doc)) {
                    (None, _) | (_, None) => true,
                    (Some(c), Some(d)) => c == *d,
                };
                if in_city {
                    pairs.push((conn, info.user, info.network_admin, doc));
                }
            }
        }
        if pairs.is_empty() {
            return;
        }
        let (db, tx) = (self.db.clone(), self.cmd_tx.clone());
        tokio::spawn(async move {
            let mut decisions = Vec::with_capacity(pairs.len());
            for (conn, user, admin, doc) in pairs {
                let (access, _) = decide(&db, user, admin, doc).await;
                decisions.push((conn, doc, access));
            }
            let _ = tx.send(Command::Recheck(decisions)).await;
        });
    }

    /// Who is in each document, one entry per user.
    fn presence(&self, docs: Vec<DocumentId>) -> HashMap<DocumentId, Vec<PeerPresence>> {
        let mut result = HashMap::new();
        for doc in docs {
            let mut users: Vec<PeerPresence> = Vec::new();
            for p in self.engine.presence(&doc) {
                let Ok(user_id) = p.user_id.parse::<UserId>() else { continue };
                match users.iter_mut().find(|u| u.user_id == user_id) {
                    Some(u) if p.access == Access::Write => u.access = Access::Write,
                    Some(_) => {}
                    None => users.push(PeerPresence { user_id, name: p.name, access: p.access }),
                }
            }
            if !users.is_empty() {
                result.insert(doc, users);
            }
        }
        result
    }

    /// Cuts every live connection authenticated with `credential`.
    fn cut_credential(&mut self, credential: &Credential) {
        let conns: Vec<ConnId> =
            self.conns.iter().filter(|(_, c)| c.credential.as_ref() == Some(credential)).map(|(&conn, _)| conn).collect();
        for conn in conns {
            tracing::info!(conn, "credential ended; closing its sync connection");
            self.event(Event::Cut { conn, reason: "your credential was revoked".into() });
        }
    }

    /// Re-checks every live connection of `user` in the background: one whose credential no
    /// longer authenticates them is cut, the others have their access re-decided.
    fn recheck_user(&mut self, user: UserId) {
        let conns: Vec<(ConnId, bool, Option<Credential>, Vec<DocumentId>)> = self
            .conns
            .iter()
            .filter(|(_, c)| c.user == user)
            .map(|(&conn, c)| {
                let docs = self.engine.conn_docs(conn).into_iter().filter(|(_, a)| a.is_some()).map(|(d, _)| d).collect();
                (conn, c.network_admin, c.credential.clone(), docs)
            })
            .collect();
        if conns.is_empty() {
            return;
        }
        let (db, tx) = (self.db.clone(), self.cmd_tx.clone());
        tokio::spawn(async move {
            let mut decisions = Vec::new();
            for (conn, admin, credential, docs) in conns {
                let valid = match &credential {
                    Some(Credential::ApiToken(hash)) => db.get_api_token_user(hash).await.map(|u| u.map(|u| u.id)),
                    Some(Credential::Session(hash)) => db.get_session_user(hash, chrono::Utc::now()).await.map(|u| u.map(|u| u.id)),
                    None => Ok(Some(user)),
                };
                match valid {
                    Ok(Some(u)) if u == user => {
                        for doc in docs {
                            let (access, _) = decide(&db, user, admin, doc).await;
                            decisions.push((conn, doc, access));
                        }
                    }
                    Ok(_) => {
                        let reason = "your credential was revoked".to_owned();
                        let _ = tx.send(Command::Event(Event::Cut { conn, reason })).await;
                    }
                    Err(e) => tracing::warn!(error = %e, conn, "re-checking a credential failed; keeping the connection"),
                }
            }
            if !decisions.is_empty() {
                let _ = tx.send(Command::Recheck(decisions)).await;
            }
        });
    }

    /// Reads the rows of `doc` after `after` and hands them to the engine as stored elsewhere.
    fn fetch_rows(&self, doc: DocumentId, after: i64) {
        let (db, tx) = (self.db.clone(), self.cmd_tx.clone());
        tokio::spawn(async move {
            match db.load_doc_rows_after(&doc.to_string(), after).await {
                Ok(rows) => {
                    let rows = rows
                        .into_iter()
                        .filter_map(|(id, kind, data)| StoredChunk::from_row(kind, data).map(|c| (id, c)))
                        .collect();
                    let _ = tx.send(Command::Event(Event::Remote { doc, rows })).await;
                }
                Err(e) => tracing::warn!(error = %e, %doc, "reading another node's rows failed"),
            }
        });
    }

    /// Hands freed heap back to the system once connections or documents went away: glibc
    /// keeps it otherwise, and a server that served 10,000 connections would stay that big.
    fn return_memory(&mut self) {
        let stats = self.engine.stats();
        let size = stats.connections + stats.documents;
        if size < self.last_size {
            crate::memory::trim_heap();
        }
        self.last_size = size;
    }

    fn publish_gauges(&mut self) {
        let stats = self.engine.stats();
        // The engine counts frames, bytes and changes as it goes; publishing its totals here
        // keeps registry look-ups off the per-frame path.
        metrics::gauge!("concerta_sync_connections").set(stats.connections as f64);
        metrics::gauge!("concerta_sync_documents_in_memory").set(stats.documents as f64);
        metrics::counter!("concerta_sync_frames_in_total").absolute(stats.frames_in);
        metrics::counter!("concerta_sync_bytes_in_total").absolute(stats.bytes_in);
        metrics::counter!("concerta_sync_frames_out_total").absolute(stats.frames_out);
        metrics::counter!("concerta_sync_bytes_out_total").absolute(stats.bytes_out);
        metrics::counter!("concerta_sync_changes_accepted_total").absolute(stats.changes_accepted);
        metrics::counter!("concerta_sync_changes_refused_total").absolute(stats.changes_refused);
        metrics::counter!("concerta_sync_changes_quarantined_total").absolute(stats.changes_quarantined);
        metrics::counter!("concerta_sync_relays_held_total").absolute(stats.relays_held);
        for (why, n) in [
            ("relay", stats.sync_relayed),
            ("held", stats.sync_released),
            ("reply", stats.sync_replies),
            ("other", stats.sync_other),
        ] {
            metrics::counter!("concerta_sync_messages_out_total", "why" => why).absolute(n);
        }
        metrics::counter!("concerta_sync_changes_out_total").absolute(stats.changes_out);
        // Forget the city of documents nobody holds any more.
        let live: std::collections::HashSet<DocumentId> =
            self.conns.keys().flat_map(|&c| self.engine.conn_docs(c)).map(|(d, _)| d).collect();
        self.doc_city.retain(|d, _| live.contains(d));
    }
}



/// Sleeps until `at`, forever when `None`.
async fn sleep_until(at: Option<tokio::time::Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

async fn load(db: &Database, doc: DocumentId) -> Event {
    let schema = match db.get_doc_context(&doc.to_string()).await {
        Ok(Some(ctx)) => schema(&ctx),
        Ok(None) => Schema::Any,
        Err(e) => {
            tracing::error!(error = %e, %doc, "loading a document failed");
            return Event::Loaded { doc, rows: None, schema: Schema::Section };
        }
    };
    match db.load_doc_rows(&doc.to_string()).await {
        Ok(rows) => {
            let rows = rows.map(|rows| {
                rows.into_iter()
                    .filter_map(|(id, kind, data)| StoredChunk::from_row(kind, data).map(|c| (id, c)))
                    .collect()
            });
            Event::Loaded { doc, rows, schema }
        }
        Err(e) => {
            tracing::error!(error = %e, %doc, "loading a document failed");
            Event::Loaded { doc, rows: None, schema }
        }
    }
}

