//! A section document: the root holds `title` and `body`, both automerge text; `body`
//! carries the rich text ([`crate::rich`]). Made here, above the store, and read here.

use automerge::transaction::Transactable;
use automerge::{ActorId, AutoCommit, Automerge, ChangeHash, ObjType, ROOT, ReadDoc};

use crate::rich::{Block, read_text_object, write_blocks};
use crate::Error;

/// What a section says: its live title and its body.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SectionContent {
    /// The document's `title` text (may differ from the title it was created with).
    pub title: String,
    /// The body's blocks.
    pub blocks: Vec<Block>,
}

impl SectionContent {
    /// The body as plain text: one line per block.
    pub fn plain_text(&self) -> String {
        let lines: Vec<String> = self.blocks.iter().map(Block::text).collect();
        lines.join("\n")
    }
}

/// The first change of a new section document (one change chunk, what the store keeps as
/// the document's first row): `title` and `body` made as text, the body holding `blocks`
/// written as the browser editor writes them. A random actor, like any new client.
pub fn new_section_change(title: &str, blocks: &[Block]) -> Vec<u8> {
    let mut doc = AutoCommit::new().with_actor(ActorId::random());
    let title_obj = doc.put_object(ROOT, "title", ObjType::Text).expect("a fresh document accepts a root key");
    doc.splice_text(&title_obj, 0, 0, title).expect("a fresh text accepts a splice");
    let body = doc.put_object(ROOT, "body", ObjType::Text).expect("a fresh document accepts a root key");
    if !blocks.is_empty() {
        write_blocks(&mut doc, &body, blocks).expect("a fresh text accepts spans");
    }
    doc.commit();
    let change = doc.get_last_local_change().expect("a change was just committed");
    change.raw_bytes().to_vec()
}

/// One change on top of `doc` making its body hold `blocks` (and its title `title`, when
/// given), by a new actor: an edit as a client would send it. `None` when nothing differs.
pub fn edit_section_change(doc: &Automerge, title: Option<&str>, blocks: &[Block]) -> Result<Option<Vec<u8>>, Error> {
    let mut doc = AutoCommit::load(&doc.save())?.with_actor(ActorId::random());
    let body = text_at_root(&doc, "body")?;
    if let Some(title) = title {
        let title_obj = text_at_root(&doc, "title")?;
        doc.update_text(&title_obj, title)?;
    }
    write_blocks(&mut doc, &body, blocks)?;
    doc.commit();
    Ok(doc.get_last_local_change().map(|c| c.raw_bytes().to_vec()))
}

fn text_at_root<D: ReadDoc>(doc: &D, key: &str) -> Result<automerge::ObjId, Error> {
    match doc.get(ROOT, key)? {
        Some((value, id)) if value.to_objtype() == Some(ObjType::Text) => Ok(id),
        _ => Err(Error::NotASection(key.to_owned())),
    }
}

fn text_at_root_at<D: ReadDoc>(doc: &D, key: &str, heads: &[ChangeHash]) -> Option<automerge::ObjId> {
    match doc.get_at(ROOT, key, heads).ok()? {
        Some((value, id)) if value.to_objtype() == Some(ObjType::Text) => Some(id),
        _ => None,
    }
}

/// Reads a section document at `heads` (or now). A missing or non-text `title` or `body`
/// reads as empty: what clients see is what we export.
pub fn read_section<D: ReadDoc>(doc: &D, heads: Option<&[ChangeHash]>) -> Result<SectionContent, Error> {
    let find = |key: &str| match heads {
        Some(h) => text_at_root_at(doc, key, h),
        None => text_at_root(doc, key).ok(),
    };
    let title = match find("title") {
        Some(obj) => match heads {
            Some(h) => doc.text_at(&obj, h)?,
            None => doc.text(&obj)?,
        },
        None => String::new(),
    };
    let blocks = match find("body") {
        Some(obj) => read_text_object(doc, &obj, heads)?,
        None => Vec::new(),
    };
    Ok(SectionContent { title, blocks })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rich::{BlockType, Inline};
    use concerta_sync::graph::{ChangeGraph, Schema};

    fn blocks() -> Vec<Block> {
        vec![
            Block::heading(3, "Compromisos"),
            Block::new(BlockType::Paragraph, vec![Inline::plain("El "), Inline::strong("Alcalde"), Inline::plain(" firma.")]),
            Block::bullet(0, vec![Inline::plain("Plan de desarrollo")]),
        ]
    }

    #[test]
    fn the_first_change_passes_the_sync_engines_section_schema() {
        for content in [Vec::new(), blocks()] {
            let bytes = new_section_change("Voluntad política", &content);
            let change = automerge::Change::from_bytes(bytes).unwrap();
            let graph = ChangeGraph::new();
            let checked = graph.check(change, Schema::Section).expect("accepted").expect("no missing deps");
            let mut graph = graph;
            graph.append(checked);
        }
    }

    #[test]
    fn a_new_section_reads_back() {
        let bytes = new_section_change("Voluntad política", &blocks());
        let mut doc = Automerge::new();
        doc.load_incremental(&bytes).unwrap();
        let content = read_section(&doc, None).unwrap();
        assert_eq!(content.title, "Voluntad política");
        assert_eq!(content.blocks, blocks());
        assert_eq!(content.plain_text(), "Compromisos\nEl Alcalde firma.\nPlan de desarrollo");
    }

    #[test]
    fn an_edit_is_one_change_and_history_reads_at_heads() {
        let mut doc = Automerge::new();
        doc.load_incremental(&new_section_change("T", &blocks())).unwrap();
        let before = doc.get_heads();
        let mut edited = blocks();
        edited.push(Block::paragraph("Nuevo párrafo."));
        let change = edit_section_change(&doc, None, &edited).unwrap().expect("something changed");
        let change = automerge::Change::from_bytes(change).unwrap();
        // The edit also passes the engine's checks on top of the first change.
        let mut graph = ChangeGraph::new();
        for c in doc.get_changes(&[]) {
            let checked = graph.check(c.clone(), Schema::Section).unwrap().unwrap();
            graph.append(checked);
        }
        assert!(graph.check(change.clone(), Schema::Section).unwrap().is_some());
        doc.apply_changes([change]).unwrap();
        assert_eq!(read_section(&doc, None).unwrap().blocks, edited);
        assert_eq!(read_section(&doc, Some(&before)).unwrap().blocks, blocks());
        assert_eq!(edit_section_change(&doc, None, &edited).unwrap(), None, "no change when nothing differs");
    }

    #[test]
    fn a_document_without_the_schema_reads_empty() {
        let doc = Automerge::new();
        assert_eq!(read_section(&doc, None).unwrap(), SectionContent::default());
        assert_eq!(read_section(&doc, Some(&[])).unwrap(), SectionContent::default());
    }
}
