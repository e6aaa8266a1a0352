//! The audit log: append-only and hash-chained, so that tampering with the database shows.
//!
//! The log is split into chains: one per city (`city:<id>`: members, roles, areas, versions,
//! exports) and one for the instance (`instance`: logins, tokens, sessions, passwords). Entry
//! `seq` of a chain stores the hash of entry `seq - 1` (`prev_hash`; 64 zeros for the first)
//! and its own `hash`, the SHA-256 of a canonical encoding of every other column. Each chain
//! has a head row in `audit_chains` (its last `seq` and `hash`).
//!
//! Writing: [`append`] runs inside the transaction of the write it records, so the entry
//! exists exactly when the write does. It locks the chain's head row first (`SELECT … FOR
//! UPDATE` on Postgres, after an `INSERT … ON CONFLICT DO NOTHING` that also takes SQLite's
//! write lock), so concurrent writers on one node or on several serialize per chain and the
//! chain keeps one order. Code outside the store records through the `Database` method of
//! the write it makes (which takes an [`AuditActor`]), or through
//! [`Database::record_audit`] for events that write nothing else (exports, login failures).
//!
//! Checking: [`Database::verify_audit`] walks every chain in order and recomputes each
//! hash; the first entry that does not match (changed, removed, inserted or reordered rows,
//! or a head that does not match the last entry) is reported by chain and sequence number.
//!
//! Invariant: nothing in the store updates or deletes an `audit_entries` row.

use chrono::{DateTime, SecondsFormat, Utc};
use concerta_core::{AuditAction, CityId, UserId};
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};
use serde::Serialize;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::tables::{audit_chain, audit_entry, user};
use crate::{Database, Error, Result};

/// The `prev_hash` of the first entry of a chain.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The chain of entries that belong to no city.
pub const INSTANCE_CHAIN: &str = "instance";

/// The name of a city's chain.
pub fn city_chain(city: CityId) -> String {
    format!("city:{city}")
}

/// Who did what an entry records.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuditActor {
    /// The server itself or an operator at the command line (`concerta admin …`, `demo`).
    System,
    /// A signed-in user.
    User(UserId),
    /// Nobody signed in (a failed login).
    Anonymous,
}

/// An entry to append. Build it with [`NewAuditEntry::new`] and the setters.
#[derive(Clone, Debug)]
pub struct NewAuditEntry {
    /// The city whose chain gets the entry; `None`: the instance chain.
    pub city: Option<CityId>,
    /// Who did it.
    pub actor: AuditActor,
    /// What was done.
    pub action: AuditAction,
    /// The kind of thing it was done to (`member`, `section`, `version`, `token`…).
    pub target_kind: Option<String>,
    /// Its id.
    pub target_id: Option<String>,
    /// Anything else worth keeping, as a JSON object (names, old and new values).
    pub details: serde_json::Value,
}

impl NewAuditEntry {
    /// An entry of `action` by `actor`, on the instance chain, with no target or details.
    pub fn new(action: AuditAction, actor: AuditActor) -> Self {
        Self {
            city: None,
            actor,
            action,
            target_kind: None,
            target_id: None,
            details: serde_json::Value::Object(Default::default()),
        }
    }

    /// On `city`'s chain.
    pub fn city(mut self, city: CityId) -> Self {
        self.city = Some(city);
        self
    }

    /// Done to the `kind` with `id`.
    pub fn target(mut self, kind: &str, id: impl ToString) -> Self {
        self.target_kind = Some(kind.to_owned());
        self.target_id = Some(id.to_string());
        self
    }

    /// With these details (a JSON object).
    pub fn details(mut self, details: serde_json::Value) -> Self {
        self.details = details;
        self
    }
}

/// An entry of the log as read back.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AuditEntry {
    /// The entry's id.
    pub id: Uuid,
    /// Its chain (`city:<id>` or `instance`).
    pub chain: String,
    /// Its position in the chain, from 1.
    pub seq: i64,
    /// When it was recorded.
    pub at: DateTime<Utc>,
    /// The city, for city chains.
    pub city_id: Option<CityId>,
    /// The user who did it, if a user did.
    pub actor_id: Option<UserId>,
    /// Who did it as recorded then: the user's email, `system` or `anonymous`.
    pub actor: String,
    /// What was done (an [`AuditAction`] spelling).
    pub action: String,
    /// The kind of thing it was done to.
    pub target_kind: Option<String>,
    /// Its id.
    pub target_id: Option<String>,
    /// Details (a JSON object).
    pub details: serde_json::Value,
    /// The hash of the previous entry of the chain.
    pub prev_hash: String,
    /// This entry's hash.
    pub hash: String,
}

impl From<audit_entry::Model> for AuditEntry {
    fn from(m: audit_entry::Model) -> Self {
        let details = serde_json::from_str(&m.details).unwrap_or(serde_json::Value::String(m.details));
        Self {
            id: m.id,
            chain: m.chain,
            seq: m.seq,
            at: m.at,
            city_id: m.city_id.map(CityId::from),
            actor_id: m.actor_id.map(UserId::from),
            actor: m.actor,
            action: m.action,
            target_kind: m.target_kind,
            target_id: m.target_id,
            details,
            prev_hash: m.prev_hash,
            hash: m.hash,
        }
    }
}

/// A chain as [`Database::verify_audit`] found it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChainHead {
    /// The chain's name.
    pub chain: String,
    /// How many entries it holds.
    pub entries: i64,
    /// The hash of its last entry (record it elsewhere to detect a truncated chain later).
    pub head_hash: String,
}

/// The first entry that breaks a chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BrokenEntry {
    /// The chain.
    pub chain: String,
    /// The sequence number where the chain breaks.
    pub seq: i64,
    /// The entry's id, when there is a row at that place.
    pub id: Option<Uuid>,
    /// What is wrong.
    pub reason: String,
}

/// What [`Database::verify_audit`] found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditReport {
    /// The chains that verified, with their heads.
    pub chains: Vec<ChainHead>,
    /// The first broken entry, if any (chains are checked in name order).
    pub broken: Option<BrokenEntry>,
}

/// The hash of an entry: SHA-256 (hex) of a JSON array of every column but `id` and `hash`,
/// in a fixed order, with the time in RFC 3339 at microseconds.
fn entry_hash(m: &audit_entry::Model) -> String {
    let at = m.at.to_rfc3339_opts(SecondsFormat::Micros, true);
    let canonical = serde_json::json!([
        1,
        m.chain,
        m.seq,
        at,
        m.city_id.map(|u| u.to_string()),
        m.actor_id.map(|u| u.to_string()),
        m.actor,
        m.action,
        m.target_kind,
        m.target_id,
        m.details,
        m.prev_hash,
    ]);
    hex(&Sha256::digest(canonical.to_string().as_bytes()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Appends `entry` to its chain within the caller's transaction `conn` (see the module docs).
/// Call it from the transaction of the write it records.
pub async fn append(conn: &impl ConnectionTrait, entry: &NewAuditEntry) -> Result<AuditEntry> {
    let chain = entry.city.map(city_chain).unwrap_or_else(|| INSTANCE_CHAIN.to_owned());
    // Make sure the head row exists (this is also SQLite's write lock), then lock it.
    audit_chain::Entity::insert(audit_chain::ActiveModel {
        chain: Set(chain.clone()),
        seq: Set(0),
        head_hash: Set(GENESIS_HASH.to_owned()),
    })
    .on_conflict(OnConflict::column(audit_chain::Column::Chain).do_nothing().to_owned())
    .exec_without_returning(conn)
    .await?;
    let head = audit_chain::Entity::find_by_id(chain.clone())
        .lock_exclusive()
        .one(conn)
        .await?
        .ok_or_else(|| Error::Internal(format!("the audit chain {chain} has no head row")))?;
    let (actor_id, actor) = match entry.actor {
        AuditActor::System => (None, "system".to_owned()),
        AuditActor::Anonymous => (None, "anonymous".to_owned()),
        AuditActor::User(id) => {
            let email = user::Entity::find_by_id(id.uuid()).one(conn).await?.map(|u| u.email);
            (Some(id.uuid()), email.unwrap_or_else(|| id.to_string()))
        }
    };
    let mut model = audit_entry::Model {
        id: Uuid::now_v7(),
        chain: chain.clone(),
        seq: head.seq + 1,
        at: crate::now(),
        city_id: entry.city.map(CityId::uuid),
        actor_id,
        actor,
        action: entry.action.as_str().to_owned(),
        target_kind: entry.target_kind.clone(),
        target_id: entry.target_id.clone(),
        details: entry.details.to_string(),
        prev_hash: head.head_hash.clone(),
        hash: String::new(),
    };
    model.hash = entry_hash(&model);
    audit_entry::ActiveModel::from(model.clone()).insert(conn).await?;
    let mut head: audit_chain::ActiveModel = head.into();
    head.seq = Set(model.seq);
    head.head_hash = Set(model.hash.clone());
    head.update(conn).await?;
    Ok(model.into())
}

/// How many entries [`Database::verify_audit`] reads at a time.
const VERIFY_PAGE: u64 = 1000;

impl Database {
    /// Records an event that writes nothing else (an export, a failed login) in its own
    /// transaction.
    #[tracing::instrument(skip_all)]
    pub async fn record_audit(&self, entry: NewAuditEntry) -> Result<AuditEntry> {
        let entry = &entry;
        self.transaction(|tx| async move { append(&*tx, entry).await }).await
    }

    /// A page of a chain, newest first: `city`'s chain (or the instance chain for `None`),
    /// entries before sequence number `before` (all when `None`), at most `limit`.
    #[tracing::instrument(skip_all)]
    pub async fn list_audit(&self, city: Option<CityId>, before: Option<i64>, limit: u64) -> Result<Vec<AuditEntry>> {
        let chain = city.map(city_chain).unwrap_or_else(|| INSTANCE_CHAIN.to_owned());
        let mut query = audit_entry::Entity::find().filter(audit_entry::Column::Chain.eq(chain));
        if let Some(before) = before {
            query = query.filter(audit_entry::Column::Seq.lt(before));
        }
        Ok(query
            .order_by_desc(audit_entry::Column::Seq)
            .limit(limit)
            .all(&self.conn)
            .await?
            .into_iter()
            .map(AuditEntry::from)
            .collect())
    }

    /// Checks every chain: sequence numbers contiguous from 1, each `prev_hash` the previous
    /// entry's hash, each hash recomputed from the row, and the head row naming the last
    /// entry. Stops at the first broken entry.
    #[tracing::instrument(skip_all)]
    pub async fn verify_audit(&self) -> Result<AuditReport> {
        let heads = audit_chain::Entity::find().order_by_asc(audit_chain::Column::Chain).all(&self.conn).await?;
        let mut chains: Vec<String> = heads.iter().map(|h| h.chain.clone()).collect();
        // Entries whose chain has no head row are checked too (a deleted head is tampering).
        let listed: Vec<String> = audit_entry::Entity::find()
            .select_only()
            .column(audit_entry::Column::Chain)
            .distinct()
            .into_tuple()
            .all(&self.conn)
            .await?;
        for chain in listed {
            if !chains.contains(&chain) {
                chains.push(chain);
            }
        }
        chains.sort();
        let mut report = AuditReport { chains: Vec::new(), broken: None };
        for chain in chains {
            let head = heads.iter().find(|h| h.chain == chain);
            match self.verify_chain(&chain, head).await? {
                Ok(ok) => report.chains.push(ok),
                Err(broken) => {
                    report.broken = Some(broken);
                    break;
                }
            }
        }
        Ok(report)
    }

    async fn verify_chain(
        &self,
        chain: &str,
        head: Option<&audit_chain::Model>,
    ) -> Result<std::result::Result<ChainHead, BrokenEntry>> {
        let broken = |seq: i64, id: Option<Uuid>, reason: &str| BrokenEntry {
            chain: chain.to_owned(),
            seq,
            id,
            reason: reason.to_owned(),
        };
        let mut expected_seq = 1;
        let mut prev_hash = GENESIS_HASH.to_owned();
        loop {
            let page = audit_entry::Entity::find()
                .filter(audit_entry::Column::Chain.eq(chain))
                .filter(audit_entry::Column::Seq.gte(expected_seq))
                .order_by_asc(audit_entry::Column::Seq)
                .limit(VERIFY_PAGE)
                .all(&self.conn)
                .await?;
            let full = page.len() as u64 == VERIFY_PAGE;
            for row in page {
                if row.seq != expected_seq {
                    return Ok(Err(broken(expected_seq, None, "the entry is missing")));
                }
                if row.prev_hash != prev_hash {
                    return Ok(Err(broken(row.seq, Some(row.id), "its previous hash does not match the entry before it")));
                }
                if entry_hash(&row) != row.hash {
                    return Ok(Err(broken(row.seq, Some(row.id), "its content does not match its hash")));
                }
                prev_hash = row.hash;
                expected_seq += 1;
            }
            if !full {
                break;
            }
        }
        let entries = expected_seq - 1;
        match head {
            None => return Ok(Err(broken(entries, None, "the chain has no head row"))),
            Some(head) if head.seq != entries => {
                return Ok(Err(broken(
                    entries + 1,
                    None,
                    &format!("the head says {} entries, the log holds {entries}", head.seq),
                )));
            }
            Some(head) if head.head_hash != prev_hash => {
                return Ok(Err(broken(entries, None, "the head's hash does not match the last entry")));
            }
            Some(_) => {}
        }
        Ok(Ok(ChainHead { chain: chain.to_owned(), entries, head_hash: prev_hash }))
    }
}
