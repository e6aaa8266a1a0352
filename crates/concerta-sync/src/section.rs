//! The section document schema: the root holds `title` and `body`, both automerge text.

use automerge::{transaction::Transactable, ActorId, AutoCommit, ObjType, ROOT};

/// The saved bytes of a new section document whose `title` is `title` and whose `body` is
/// empty, both automerge text, as the server creates it. Store them as the document's first
/// chunk.
pub fn new_section_document(title: &str) -> Vec<u8> {
    let mut doc = AutoCommit::new().with_actor(ActorId::random());
    let title_obj = doc
        .put_object(ROOT, "title", ObjType::Text)
        .expect("a fresh document accepts a root key");
    doc.splice_text(&title_obj, 0, 0, title)
        .expect("a fresh text object accepts a splice");
    doc.put_object(ROOT, "body", ObjType::Text)
        .expect("a fresh document accepts a root key");
    doc.save()
}

/// The same new section as one change chunk: what the server stores as the document's
/// first row (kind 0), so the engine reads it without loading a document.
pub fn new_section_change(title: &str) -> Vec<u8> {
    let doc = automerge::Automerge::load(&new_section_document(title))
        .expect("a document we just saved loads");
    let changes = doc.get_changes(&[]);
    debug_assert_eq!(changes.len(), 1);
    changes.iter().flat_map(|c| c.raw_bytes().to_vec()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use automerge::ReadDoc;

    #[test]
    fn new_section_has_text_title_and_body() {
        let doc = automerge::Automerge::load(&new_section_document("Voluntad política")).unwrap();
        let (_, title) = doc.get(ROOT, "title").unwrap().unwrap();
        assert_eq!(doc.text(&title).unwrap(), "Voluntad política");
        let (value, body) = doc.get(ROOT, "body").unwrap().unwrap();
        assert_eq!(value.to_objtype(), Some(ObjType::Text));
        assert_eq!(doc.text(&body).unwrap(), "");
    }
}
