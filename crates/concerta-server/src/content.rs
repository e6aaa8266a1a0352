//! What sections say, for the REST API: new sections' first changes, stored heads, documents
//! materialized at given heads, and whether a section changed since a version.
//!
//! Everything O(document) (decoding a log, loading and reading a document) runs on tokio's
//! blocking pool, at most [`MAX_MATERIALIZING`] at once, never in the sync engine's task.
//! Results that depend only on a document's rows are cached under its
//! [`DocRevision`] (any append or compaction changes it), so an outline polled while nobody
//! types costs one small query.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use anyhow::Context;
use automerge::{Automerge, ChangeHash};
use concerta_content::SectionContent;
use concerta_content::stored::{load_document, stored_heads};
use concerta_core::{Locale, StrategyTemplate, VersionId, seed_template};
use concerta_store::{Database, DocRevision, NewSection, Section, Version};
use concerta_sync::DocumentId;
use tokio::sync::Semaphore;

use crate::error::{Error, Result};

/// How many documents may be loaded or decoded at once (each takes a blocking thread and
/// O(document) CPU and memory).
pub const MAX_MATERIALIZING: usize = 2;

/// Entries kept per cache before it is cleared (a few KB each at most).
const CACHE_LIMIT: usize = 10_000;

/// The content service of [`crate::AppState`]. Cheap to clone.
#[derive(Clone)]
pub struct Content {
    permits: Arc<Semaphore>,
    heads: Arc<Mutex<HashMap<DocumentId, (DocRevision, Vec<ChangeHash>)>>>,
    changed: Arc<Mutex<HashMap<(DocumentId, DocRevision, VersionId), bool>>>,
}

impl Default for Content {
    fn default() -> Self {
        Self::new()
    }
}

/// The sections of a new strategy, each with its document's first change (made here, above
/// the store): the seed template's items titled in `locale`, with empty bodies; none for a
/// blank strategy.
pub fn template_sections(template: StrategyTemplate, locale: Locale) -> Vec<NewSection> {
    template_sections_with(template, locale, |_| Vec::new())
}

/// Like [`template_sections`], each body holding `body(key)` as rich text.
pub fn template_sections_with(
    template: StrategyTemplate,
    locale: Locale,
    body: impl Fn(&str) -> Vec<concerta_content::Block>,
) -> Vec<NewSection> {
    match template {
        StrategyTemplate::Blank => Vec::new(),
        StrategyTemplate::Seed => seed_template()
            .iter()
            .map(|item| NewSection {
                key: item.key.to_owned(),
                title: item.title(locale).to_owned(),
                stage: item.stage,
                position: item.position as i32,
                doc_id: DocumentId::random(),
                first_change: concerta_content::new_section_change(item.title(locale), &body(item.key)),
            })
            .collect(),
    }
}

/// Hex change hashes → hashes; malformed ones are skipped (they were written by us).
pub fn parse_heads(heads: &[String]) -> Vec<ChangeHash> {
    heads.iter().filter_map(|h| h.parse().ok()).collect()
}

/// Hashes → sorted hex.
pub fn hex_heads(heads: &[ChangeHash]) -> Vec<String> {
    let mut out: Vec<String> = heads.iter().map(ToString::to_string).collect();
    out.sort();
    out
}

/// A loaded document and its stored heads.
pub struct Loaded {
    /// The document with every stored change.
    pub doc: Automerge,
    /// Its stored heads.
    pub heads: Vec<ChangeHash>,
}

impl Loaded {
    /// The section at `heads` (those the document does not know are ignored; none left
    /// reads the empty document), or now.
    pub fn read(&self, heads: Option<&[ChangeHash]>) -> Result<SectionContent> {
        let known: Vec<ChangeHash>;
        let at = match heads {
            Some(heads) => {
                known = heads.iter().copied().filter(|h| self.doc.get_change_meta_by_hash(h).is_some()).collect();
                Some(known.as_slice())
            }
            None => None,
        };
        concerta_content::read_section(&self.doc, at).context("reading a section").map_err(Error::Internal)
    }
}

impl Content {
    /// An empty service.
    pub fn new() -> Self {
        Self {
            permits: Arc::new(Semaphore::new(MAX_MATERIALIZING)),
            heads: Arc::default(),
            changed: Arc::default(),
        }
    }

    async fn blocking<T: Send + 'static>(&self, work: impl FnOnce() -> T + Send + 'static) -> Result<T> {
        let _permit = self.permits.acquire().await.context("the content semaphore is closed")?;
        tokio::task::spawn_blocking(work).await.context("a content task failed").map_err(Error::Internal)
    }

    async fn rows(db: &Database, doc: DocumentId) -> Result<Vec<concerta_content::stored::Row>> {
        db.load_doc_rows(&doc.to_string())
            .await?
            .with_context(|| format!("document {doc} has no row"))
            .map_err(Error::Internal)
    }

    /// The stored heads of each of `docs` (cached per revision).
    pub async fn heads_of(&self, db: &Database, docs: &[DocumentId]) -> Result<HashMap<DocumentId, Vec<ChangeHash>>> {
        let revisions = db.doc_revisions(docs).await?;
        let mut out = HashMap::new();
        for doc in docs {
            let Some(revision) = revisions.get(doc).copied() else {
                out.insert(*doc, Vec::new());
                continue;
            };
            let cached = self.heads.lock().expect("cache lock").get(doc).filter(|(r, _)| *r == revision).map(|(_, h)| h.clone());
            let heads = match cached {
                Some(heads) => heads,
                None => {
                    let rows = Self::rows(db, *doc).await?;
                    let heads = self
                        .blocking(move || stored_heads(rows))
                        .await?
                        .with_context(|| format!("reading the heads of {doc}"))
                        .map_err(Error::Internal)?;
                    let mut cache = self.heads.lock().expect("cache lock");
                    if cache.len() >= CACHE_LIMIT {
                        cache.clear();
                    }
                    cache.insert(*doc, (revision, heads.clone()));
                    heads
                }
            };
            out.insert(*doc, heads);
        }
        Ok(out)
    }

    /// The stored document `doc`, loaded on a blocking thread.
    pub async fn load(&self, db: &Database, doc: DocumentId) -> Result<Loaded> {
        let rows = Self::rows(db, doc).await?;
        let (doc, heads) = self
            .blocking(move || load_document(rows))
            .await?
            .with_context(|| format!("loading document {doc}"))
            .map_err(Error::Internal)?;
        Ok(Loaded { doc, heads })
    }

    /// For each of `sections`: whether it says something else now than in `approved`
    /// (`None` without an approved version). Equal heads mean unchanged at no cost;
    /// otherwise the document is loaded and both states compared (title, blocks, marks),
    /// cached per revision.
    pub async fn changed_since(
        &self,
        db: &Database,
        sections: &[Section],
        approved: Option<&Version>,
    ) -> Result<HashMap<concerta_core::SectionId, Option<bool>>> {
        let Some(approved) = approved else {
            return Ok(sections.iter().map(|s| (s.id, None)).collect());
        };
        let recorded: HashMap<_, _> = approved.sections.iter().map(|s| (s.section_id, s)).collect();
        let docs: Vec<DocumentId> = sections.iter().map(|s| s.doc_id).collect();
        let now = self.heads_of(db, &docs).await?;
        let revisions = db.doc_revisions(&docs).await?;
        let mut out = HashMap::new();
        for section in sections {
            let Some(then) = recorded.get(&section.id) else {
                // Made after the version: new text.
                out.insert(section.id, Some(true));
                continue;
            };
            let then_heads = parse_heads(&then.heads);
            let mut current = now.get(&section.doc_id).cloned().unwrap_or_default();
            current.sort();
            let mut sorted_then = then_heads.clone();
            sorted_then.sort();
            if current == sorted_then {
                out.insert(section.id, Some(false));
                continue;
            }
            let key = revisions.get(&section.doc_id).map(|r| (section.doc_id, *r, approved.id));
            if let Some(hit) = key.and_then(|k| self.changed.lock().expect("cache lock").get(&k).copied()) {
                out.insert(section.id, Some(hit));
                continue;
            }
            let loaded = self.load(db, section.doc_id).await?;
            let changed = loaded.read(Some(&then_heads))? != loaded.read(None)?;
            if let Some(key) = key {
                let mut cache = self.changed.lock().expect("cache lock");
                if cache.len() >= CACHE_LIMIT {
                    cache.clear();
                }
                cache.insert(key, changed);
            }
            out.insert(section.id, Some(changed));
        }
        Ok(out)
    }
}
