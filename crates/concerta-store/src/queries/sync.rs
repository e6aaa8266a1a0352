//! Storage of the sync engine's documents: appended change chunks, compaction into a log
//! and a snapshot, access context of a document, the server's storage id, and (on
//! Postgres) notifications between nodes: every append commits a `NOTIFY` on
//! [`DOC_CHANNEL`] so other nodes with peers on that document load the new row, and every
//! access change is announced on [`ACCESS_CHANNEL`] so every node re-checks its live
//! connections, and every consultation comment change on [`CONSULTATION_CHANNEL`] so every
//! node's comment streams hear of it.

use concerta_core::{AreaId, CityId};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, Statement};

use crate::tables::{access_notice, doc_chunk, document, section, server_meta};
use crate::{Database, Error, Result};

/// `doc_chunks.kind` of the engine's compact change log ([`concerta_core::chunk_kind`]).
pub const CHUNK_KIND_LOG: i16 = concerta_core::chunk_kind::LOG;

/// The Postgres channel on which appends are announced.
pub const DOC_CHANNEL: &str = "concerta_doc_chunks";

/// The Postgres channel on which access changes are announced (`node|event`).
pub const ACCESS_CHANNEL: &str = "concerta_access";

/// The Postgres channel on which consultation comment changes are announced (`node|event`).
pub const CONSULTATION_CHANNEL: &str = "concerta_consultations";

/// The Postgres channel on which nodes share who is in each document and their peers'
/// ephemeral messages (`node|event`).
pub const PRESENCE_CHANNEL: &str = "concerta_presence";

/// Largest payload Postgres takes in a `NOTIFY` (8,000 bytes), less room for the channel.
pub const MAX_NOTIFY_PAYLOAD: usize = 7_900;

/// What a node hears from the others.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Notice {
    /// A chunk was stored.
    Chunk(ChunkNotice),
    /// Access changed.
    Access {
        /// The node that announced it (its sync peer id).
        node: String,
        /// The server's encoding of what changed.
        event: String,
    },
    /// A consultation comment changed.
    Consultation {
        /// The node that announced it (its sync peer id).
        node: String,
        /// The server's encoding of what changed.
        event: String,
    },
    /// Who is in a document on another node, or an ephemeral message of a peer there.
    Presence {
        /// The node that announced it (its sync peer id).
        node: String,
        /// The server's encoding of it.
        event: String,
    },
}

/// Another node stored a chunk of a document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChunkNotice {
    /// The node that stored it (its sync peer id).
    pub node: String,
    /// The document.
    pub doc: String,
    /// The row id.
    pub row: i64,
}

impl ChunkNotice {
    /// Reads `node|doc|row`, as [`Database::append_doc_chunks`] writes it.
    fn parse(payload: &str) -> Option<Self> {
        let mut parts = payload.splitn(3, '|');
        let node = parts.next()?.to_owned();
        let doc = parts.next()?.to_owned();
        let row = parts.next()?.parse().ok()?;
        Some(Self { node, doc, row })
    }
}

/// Notices of chunks stored and access changed by any node (Postgres only).
pub struct DocListener(sea_orm::sqlx::postgres::PgListener);

impl DocListener {
    /// The next notice, or `None` when the connection dropped: it reconnects by itself on
    /// the next call, but notices sent meanwhile are lost, so the caller re-reads the
    /// documents it holds and re-checks its connections' access.
    pub async fn next(&mut self) -> Result<Option<Notice>> {
        loop {
            let n = self.0.try_recv().await.map_err(|e| Error::Internal(format!("listening for notices: {e}")))?;
            let Some(n) = n else { return Ok(None) };
            if n.channel() == ACCESS_CHANNEL {
                if let Some((node, event)) = n.payload().split_once('|') {
                    return Ok(Some(Notice::Access { node: node.to_owned(), event: event.to_owned() }));
                }
            } else if n.channel() == CONSULTATION_CHANNEL {
                if let Some((node, event)) = n.payload().split_once('|') {
                    return Ok(Some(Notice::Consultation { node: node.to_owned(), event: event.to_owned() }));
                }
            } else if n.channel() == PRESENCE_CHANNEL {
                if let Some((node, event)) = n.payload().split_once('|') {
                    return Ok(Some(Notice::Presence { node: node.to_owned(), event: event.to_owned() }));
                }
            } else if let Some(notice) = ChunkNotice::parse(n.payload()) {
                return Ok(Some(Notice::Chunk(notice)));
            }
        }
    }
}

/// What decides who may open a document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DocContext {
    /// The city the document belongs to.
    pub city: CityId,
    /// The responsible area, for a strategy section.
    pub area: Option<AreaId>,
    /// Whether it is a strategy section (its schema is checked).
    pub is_section: bool,
    /// For a roundtable's minutes: whether the roundtable is still open (scheduled), so its
    /// minutes may be written; `None` for any other document.
    pub minutes_open: Option<bool>,
}

/// One stored row of a document: (row id, kind, bytes).
pub type DocRow = (i64, i16, Vec<u8>);

/// One append of a group commit: (document id, kind, bytes).
pub type NewDocChunk = (String, i16, Vec<u8>);

impl Database {
    /// The city and area of a document; `None` when no such document exists.
    #[tracing::instrument(skip_all)]
    pub async fn get_doc_context(&self, doc: &str) -> Result<Option<DocContext>> {
        let Some(document) = document::Entity::find_by_id(doc.to_owned()).one(&self.conn).await? else {
            return Ok(None);
        };
        let section = section::Entity::find().filter(section::Column::DocId.eq(doc)).one(&self.conn).await?;
        let minutes_open = match &section {
            Some(_) => None,
            None => crate::tables::roundtable::Entity::find()
                .filter(crate::tables::roundtable::Column::MinutesDocId.eq(doc))
                .one(&self.conn)
                .await?
                .map(|r| r.status == "scheduled"),
        };
        Ok(Some(DocContext {
            city: document.city_id.into(),
            area: section.as_ref().and_then(|s| s.area_id).map(Into::into),
            is_section: section.is_some(),
            minutes_open,
        }))
    }

    /// A listener for chunk notices from every node; `None` on SQLite (one node only).
    #[tracing::instrument(skip_all)]
    pub async fn doc_listener(&self) -> Result<Option<DocListener>> {
        if self.conn.get_database_backend() != sea_orm::DbBackend::Postgres {
            return Ok(None);
        }
        let pool = self.conn.get_postgres_connection_pool();
        let mut listener = sea_orm::sqlx::postgres::PgListener::connect_with(pool)
            .await
            .map_err(|e| Error::Internal(format!("listening for notices: {e}")))?;
        listener
            .listen_all([DOC_CHANNEL, ACCESS_CHANNEL, CONSULTATION_CHANNEL, PRESENCE_CHANNEL])
            .await
            .map_err(|e| Error::Internal(format!("listening for notices: {e}")))?;
        Ok(Some(DocListener(listener)))
    }

    /// Announces an access change to every node (Postgres `NOTIFY` on [`ACCESS_CHANNEL`],
    /// payload `node|event`); nothing to do on SQLite, which has one node.
    #[tracing::instrument(skip_all)]
    pub async fn notify_access(&self, node: &str, event: &str) -> Result<()> {
        self.notify(ACCESS_CHANNEL, node, event).await
    }

    /// Announces a consultation comment change to every node (Postgres `NOTIFY` on
    /// [`CONSULTATION_CHANNEL`], payload `node|event`); nothing to do on SQLite.
    #[tracing::instrument(skip_all)]
    pub async fn notify_consultation(&self, node: &str, event: &str) -> Result<()> {
        self.notify(CONSULTATION_CHANNEL, node, event).await
    }

    /// `NOTIFY channel, 'node|event'` on Postgres; nothing on SQLite, which has one node.
    async fn notify(&self, channel: &str, node: &str, event: &str) -> Result<()> {
        let backend = self.conn.get_database_backend();
        if backend != sea_orm::DbBackend::Postgres {
            return Ok(());
        }
        let sql = "SELECT pg_notify($1, $2)";
        let values: Vec<sea_orm::Value> = vec![channel.into(), format!("{node}|{event}").into()];
        self.conn.execute_raw(Statement::from_sql_and_values(backend, sql, values)).await?;
        Ok(())
    }

    /// Shares presence with every node (Postgres `NOTIFY` on [`PRESENCE_CHANNEL`], payload
    /// `node|event`, at most [`MAX_NOTIFY_PAYLOAD`] bytes); nothing to do on SQLite.
    #[tracing::instrument(skip_all)]
    pub async fn notify_presence(&self, node: &str, event: &str) -> Result<()> {
        self.notify(PRESENCE_CHANNEL, node, event).await
    }

    /// Announces an access change made by another process than the server (the CLI): a
    /// `NOTIFY` on Postgres, as [`Database::notify_access`]; on SQLite a row in
    /// `access_notices`, which the server polls with [`Database::access_notices_after`]
    /// (rows older than an hour are pruned here).
    #[tracing::instrument(skip_all)]
    pub async fn announce_access_from_outside(&self, event: &str) -> Result<()> {
        if self.conn.get_database_backend() == sea_orm::DbBackend::Postgres {
            return self.notify_access("cli", event).await;
        }
        let now = chrono::Utc::now();
        access_notice::Entity::delete_many()
            .filter(access_notice::Column::CreatedAt.lt(now - chrono::Duration::hours(1)))
            .exec(&self.conn)
            .await?;
        access_notice::ActiveModel { event: Set(event.to_owned()), created_at: Set(now), ..Default::default() }
            .insert(&self.conn)
            .await?;
        Ok(())
    }

    /// The id of the newest access notice left by another process (0 when none): where a
    /// server that starts polling begins, so it does not replay old notices.
    #[tracing::instrument(skip_all)]
    pub async fn newest_access_notice(&self) -> Result<i64> {
        let newest = access_notice::Entity::find().order_by_desc(access_notice::Column::Id).one(&self.conn).await?;
        Ok(newest.map_or(0, |n| n.id))
    }

    /// The access notices left by other processes after notice `after` (SQLite; see
    /// [`Database::announce_access_from_outside`]), as (id, event) in id order.
    #[tracing::instrument(skip_all)]
    pub async fn access_notices_after(&self, after: i64) -> Result<Vec<(i64, String)>> {
        let rows = access_notice::Entity::find()
            .filter(access_notice::Column::Id.gt(after))
            .order_by_asc(access_notice::Column::Id)
            .all(&self.conn)
            .await?;
        Ok(rows.into_iter().map(|n| (n.id, n.event)).collect())
    }

    /// The rows of a document after row `after` (any kind), in id order.
    #[tracing::instrument(skip_all)]
    pub async fn load_doc_rows_after(&self, doc: &str, after: i64) -> Result<Vec<DocRow>> {
        let rows = doc_chunk::Entity::find()
            .filter(doc_chunk::Column::DocId.eq(doc))
            .filter(doc_chunk::Column::Id.gt(after))
            .order_by_asc(doc_chunk::Column::Id)
            .all(&self.conn)
            .await?;
        Ok(rows.into_iter().map(|r| (r.id, r.kind, r.data)).collect())
    }

    /// The rows of a document in id order; `None` when the document does not exist.
    #[tracing::instrument(skip_all)]
    pub async fn load_doc_rows(&self, doc: &str) -> Result<Option<Vec<DocRow>>> {
        if document::Entity::find_by_id(doc.to_owned()).one(&self.conn).await?.is_none() {
            return Ok(None);
        }
        let rows = doc_chunk::Entity::find()
            .filter(doc_chunk::Column::DocId.eq(doc))
            .order_by_asc(doc_chunk::Column::Id)
            .all(&self.conn)
            .await?;
        Ok(Some(rows.into_iter().map(|r| (r.id, r.kind, r.data)).collect()))
    }

    /// Appends several chunks in ONE transaction (group commit) and returns their row ids
    /// in order. When this returns, they are durable. On Postgres each append is announced
    /// to the other nodes on commit, as stored by `node`.
    #[tracing::instrument(skip_all, fields(chunks = chunks.len()))]
    pub async fn append_doc_chunks(&self, node: &str, chunks: &[NewDocChunk]) -> Result<Vec<i64>> {
        // The hot path of every edit: ONE statement (atomic on its own, no BEGIN/COMMIT
        // round trips), built by hand and cached by the driver as a prepared statement for
        // each batch size. On Postgres the same statement announces the rows to the other
        // nodes, delivered when it commits.
        if chunks.is_empty() {
            return Ok(Vec::new());
        }
        let backend = self.conn.get_database_backend();
        let postgres = backend == sea_orm::DbBackend::Postgres;
        let now = crate::now();
        let mut sql = String::from("INSERT INTO doc_chunks (doc_id, kind, data, created_at) VALUES ");
        let mut values: Vec<sea_orm::Value> = Vec::with_capacity(chunks.len() * 4 + 2);
        for (i, (doc, kind, data)) in chunks.iter().enumerate() {
            if i > 0 {
                sql.push_str(", ");
            }
            if postgres {
                let n = i * 4;
                sql.push_str(&format!("(${}, ${}, ${}, ${})", n + 1, n + 2, n + 3, n + 4));
            } else {
                sql.push_str("(?, ?, ?, ?)");
            }
            values.extend([doc.clone().into(), (*kind).into(), data.clone().into(), now.into()]);
        }
        let sql = if postgres {
            let n = chunks.len() * 4;
            values.extend([DOC_CHANNEL.into(), format!("{node}|").into()]);
            format!(
                "WITH ins AS ({sql} RETURNING id, doc_id) \
                 SELECT id, pg_notify(${}, ${} || doc_id || '|' || id::text) AS notified FROM ins ORDER BY id",
                n + 1,
                n + 2
            )
        } else {
            format!("{sql} RETURNING id")
        };
        let rows = self.conn.query_all_raw(Statement::from_sql_and_values(backend, sql, values)).await?;
        let mut ids = rows
            .iter()
            .map(|r| r.try_get::<i64>("", "id"))
            .collect::<std::result::Result<Vec<_>, _>>()?;
        // Rows come back in insertion order on both; sort anyway, since ids increase with it.
        ids.sort_unstable();
        Ok(ids)
    }

    /// Replaces the rows `replaces` of a document (changes and logs) by `log`, and every
    /// older snapshot by `snapshot` when given, in one transaction. Returns the log's row id.
    #[tracing::instrument(skip_all, fields(replaces = replaces.len()))]
    pub async fn compact_doc(&self, doc: &str, log: Vec<u8>, snapshot: Option<Vec<u8>>, replaces: &[i64]) -> Result<i64> {
        let (log, snapshot) = (&log, &snapshot);
        self.transaction(|tx| async move {
            let now = crate::now();
            for ids in replaces.chunks(500) {
                doc_chunk::Entity::delete_many()
                    .filter(doc_chunk::Column::DocId.eq(doc))
                    .filter(doc_chunk::Column::Id.is_in(ids.iter().copied()))
                    .filter(doc_chunk::Column::Kind.ne(crate::CHUNK_KIND_SNAPSHOT))
                    .exec(&*tx)
                    .await?;
            }
            if let Some(snapshot) = snapshot {
                doc_chunk::Entity::delete_many()
                    .filter(doc_chunk::Column::DocId.eq(doc))
                    .filter(doc_chunk::Column::Kind.eq(crate::CHUNK_KIND_SNAPSHOT))
                    .exec(&*tx)
                    .await?;
                doc_chunk::Entity::insert(doc_chunk::ActiveModel {
                    doc_id: Set(doc.to_owned()),
                    kind: Set(crate::CHUNK_KIND_SNAPSHOT),
                    data: Set(snapshot.clone()),
                    created_at: Set(now),
                    ..Default::default()
                })
                .exec(&*tx)
                .await?;
            }
            // `exec`, not `insert`: that reads the row back, the whole log with it (a few MB
            // for a long history, on top of the copies the statement needs).
            let row = doc_chunk::Entity::insert(doc_chunk::ActiveModel {
                doc_id: Set(doc.to_owned()),
                kind: Set(CHUNK_KIND_LOG),
                data: Set(log.clone()),
                created_at: Set(now),
                ..Default::default()
            })
            .exec(&*tx)
            .await?;
            Ok(row.last_insert_id)
        })
        .await
    }

    /// The number of stored rows of a document (compaction keeps it small).
    #[tracing::instrument(skip_all)]
    pub async fn doc_row_count(&self, doc: &str) -> Result<u64> {
        Ok(doc_chunk::Entity::find().filter(doc_chunk::Column::DocId.eq(doc)).count(&self.conn).await?)
    }

    /// This deployment's storage id, made once and shared by every node on the database:
    /// peers use it to keep sync state across sessions.
    #[tracing::instrument(skip_all)]
    pub async fn storage_id(&self) -> Result<String> {
        const KEY: &str = "storage_id";
        if let Some(row) = server_meta::Entity::find_by_id(KEY.to_owned()).one(&self.conn).await? {
            return Ok(row.value);
        }
        let fresh = uuid::Uuid::new_v4().to_string();
        let inserted = server_meta::ActiveModel { key: Set(KEY.to_owned()), value: Set(fresh) }.insert(&self.conn).await;
        match inserted {
            Ok(row) => Ok(row.value),
            // Another node won the race: take theirs.
            Err(_) => server_meta::Entity::find_by_id(KEY.to_owned())
                .one(&self.conn)
                .await?
                .map(|r| r.value)
                .ok_or(Error::NotFound),
        }
    }
}
