//! Passage anchors of consultation comments: automerge cursors at both ends of a passage of a
//! section's `body`, so a comment stays on its words while the draft keeps changing.
//!
//! An anchor is two cursors: `start` on the passage's first character (it moves forward when
//! that character is deleted) and `end` on its last character (it moves backward). Resolved
//! against the document now, the passage is what lies between them; when every character of
//! it was deleted the two cross, and the passage reads as removed (the comment keeps its
//! quote). Positions count Unicode code points of `body`, where each block marker counts one
//! (U+FFFC), the way automerge's Rust side indexes text; cursors themselves are independent of
//! the encoding, so a browser's cursors (UTF-16) resolve here unchanged.

use automerge::{Automerge, ChangeHash, Cursor, MoveCursor, ObjType, ROOT, ReadDoc};

/// The object-replacement character automerge puts where a block marker sits in a text.
const MARKER: char = '\u{fffc}';

/// A passage as it reads in a document now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resolved {
    /// Position of the passage's first character in `body`.
    pub from: usize,
    /// Position just after its last character (`from` when removed).
    pub to: usize,
    /// The passage's text now (block markers read as line breaks), empty when removed.
    pub text: String,
    /// Whether every character of the passage was deleted.
    pub removed: bool,
}

/// Why an anchor cannot be made or read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AnchorError {
    /// A cursor is not automerge's cursor syntax.
    #[error("is not an automerge cursor")]
    Malformed,
    /// A cursor names an operation this document does not have (yet), or not in `body`.
    #[error("does not point into this section's text")]
    Unknown,
    /// The end comes before the start.
    #[error("ends before it starts")]
    Reversed,
    /// The quote is not in the text.
    #[error("is not in the section's text")]
    QuoteNotFound,
    /// The document has no `body` text.
    #[error("the section has no text")]
    NoBody,
}

fn body(doc: &Automerge) -> Result<automerge::ObjId, AnchorError> {
    match doc.get(ROOT, "body") {
        Ok(Some((value, id))) if value.to_objtype() == Some(ObjType::Text) => Ok(id),
        _ => Err(AnchorError::NoBody),
    }
}

fn parse(cursor: &str) -> Result<Cursor, AnchorError> {
    Cursor::try_from(cursor).map_err(|_| AnchorError::Malformed)
}

/// The body's text with block markers as line breaks (one character each, so positions hold).
fn readable(text: &str) -> String {
    text.chars().map(|c| if c == MARKER { '\n' } else { c }).collect()
}

/// The body's text (at `heads`, or now) as a reader sees it: block markers as line breaks,
/// one character each, so positions in it are positions in `body`.
pub fn body_text(doc: &Automerge, heads: Option<&[ChangeHash]>) -> Result<String, AnchorError> {
    let body = body(doc)?;
    let text = match heads {
        Some(h) => doc.text_at(&body, h),
        None => doc.text(&body),
    }
    .map_err(|_| AnchorError::NoBody)?;
    Ok(readable(&text))
}

/// Makes the cursors of the `occurrence`-th (from 0) occurrence of `quote` in the body (read
/// at `heads`, or now): `(start, end)` in automerge's text form. Whitespace at the quote's
/// ends is ignored.
pub fn anchor_quote(
    doc: &Automerge,
    quote: &str,
    occurrence: usize,
    heads: Option<&[ChangeHash]>,
) -> Result<(String, String), AnchorError> {
    let body = body(doc)?;
    let text = body_text(doc, heads)?;
    let quote = quote.trim();
    if quote.is_empty() {
        return Err(AnchorError::QuoteNotFound);
    }
    let byte = text.match_indices(quote).nth(occurrence).map(|(at, _)| at).ok_or(AnchorError::QuoteNotFound)?;
    let from = text[..byte].chars().count();
    let to = from + quote.chars().count();
    let start = doc.get_cursor_moving(&body, from, heads, MoveCursor::After).map_err(|_| AnchorError::Unknown)?;
    let end = doc.get_cursor_moving(&body, to - 1, heads, MoveCursor::Before).map_err(|_| AnchorError::Unknown)?;
    Ok((start.to_string(), end.to_string()))
}

/// Checks a client's cursors against the document: both parse and point into the body, and
/// the start does not come after the end. Returns the passage as it reads now.
pub fn check_anchor(doc: &Automerge, start: &str, end: &str) -> Result<Resolved, AnchorError> {
    let resolved = resolve(doc, start, end)?;
    if resolved.removed {
        return Err(AnchorError::Reversed);
    }
    Ok(resolved)
}

/// Where the passage between `start` and `end` is now.
pub fn resolve(doc: &Automerge, start: &str, end: &str) -> Result<Resolved, AnchorError> {
    let body = body(doc)?;
    let start = parse(start)?;
    let end = parse(end)?;
    let from = doc.get_cursor_position(&body, &start, None).map_err(|_| AnchorError::Unknown)?;
    let last = doc.get_cursor_position(&body, &end, None).map_err(|_| AnchorError::Unknown)?;
    let text = readable(&doc.text(&body).map_err(|_| AnchorError::NoBody)?);
    let len = text.chars().count();
    // The end cursor moves backward when its character is deleted, the start forward: once
    // the whole passage is gone they cross.
    if from > last || from >= len {
        let at = from.min(len);
        return Ok(Resolved { from: at, to: at, text: String::new(), removed: true });
    }
    let to = (last + 1).min(len);
    let passage: String = text.chars().skip(from).take(to.saturating_sub(from)).collect();
    Ok(Resolved { from, to, removed: passage.is_empty(), text: passage })
}

#[cfg(test)]
mod tests {
    use super::*;
    use automerge::transaction::Transactable;
    use automerge::{AutoCommit, ActorId};

    use crate::{Block, new_section_change};

    fn doc_with(text: &str) -> Automerge {
        let change = new_section_change("T", &[Block::paragraph(text)]);
        let mut doc = Automerge::new();
        doc.load_incremental(&change).unwrap();
        doc
    }

    fn edit(doc: &Automerge, f: impl FnOnce(&mut AutoCommit, &automerge::ObjId)) -> Automerge {
        let mut ac = AutoCommit::load(&doc.save()).unwrap().with_actor(ActorId::random());
        let body = match ac.get(ROOT, "body").unwrap() {
            Some((_, id)) => id,
            None => panic!("no body"),
        };
        f(&mut ac, &body);
        ac.commit();
        Automerge::load(&ac.save()).unwrap()
    }

    fn position(doc: &Automerge, needle: &str) -> usize {
        let body = body(doc).unwrap();
        let text = readable(&doc.text(&body).unwrap());
        text[..text.find(needle).unwrap()].chars().count()
    }

    #[test]
    fn a_quote_stays_on_its_words_through_edits_around_and_inside() {
        let doc = doc_with("La ciudad asume la acción internacional como política de Estado.");
        let (start, end) = anchor_quote(&doc, "acción internacional", 0, None).unwrap();
        let now = resolve(&doc, &start, &end).unwrap();
        assert_eq!(now.text, "acción internacional");
        assert!(!now.removed);

        // Insert before the passage and after it.
        let doc = edit(&doc, |d, b| {
            let at = position(&Automerge::load(&d.save()).unwrap(), "La");
            d.splice_text(b, at, 0, "Hoy ").unwrap();
        });
        let doc = edit(&doc, |d, b| {
            let at = position(&Automerge::load(&d.save()).unwrap(), " como");
            d.splice_text(b, at, 0, " sostenida").unwrap();
        });
        assert_eq!(resolve(&doc, &start, &end).unwrap().text, "acción internacional");
        // Insert inside it, and delete part of it.
        let doc = edit(&doc, |d, b| {
            let at = position(&Automerge::load(&d.save()).unwrap(), " internacional");
            d.splice_text(b, at, 0, " pública").unwrap();
        });
        assert_eq!(resolve(&doc, &start, &end).unwrap().text, "acción pública internacional");
        let doc = edit(&doc, |d, b| {
            let at = position(&Automerge::load(&d.save()).unwrap(), "acción");
            d.splice_text(b, at, "acción ".chars().count() as isize, "").unwrap();
        });
        let now = resolve(&doc, &start, &end).unwrap();
        assert_eq!(now.text, "pública internacional");
        assert!(!now.removed);

        // Delete it all: the passage is removed, and the cursors still resolve.
        let doc = edit(&doc, |d, b| {
            let at = position(&Automerge::load(&d.save()).unwrap(), "pública");
            d.splice_text(b, at, "pública internacional".chars().count() as isize, "").unwrap();
        });
        let now = resolve(&doc, &start, &end).unwrap();
        assert!(now.removed, "{now:?}");
        assert_eq!(now.text, "");
    }

    #[test]
    fn the_nth_occurrence_and_a_version_s_heads() {
        let doc = doc_with("uno dos uno");
        let heads = doc.get_heads();
        let (start, end) = anchor_quote(&doc, "uno", 1, None).unwrap();
        assert_eq!(resolve(&doc, &start, &end).unwrap().from, 1 + "uno dos ".len());
        let later = edit(&doc, |d, b| {
            d.splice_text(b, 1, "uno ".chars().count() as isize, "").unwrap();
        });
        assert_eq!(body_text(&later, None).unwrap(), "\ndos uno");
        // Anchored at the version's heads, resolved now.
        let (start, end) = anchor_quote(&later, "uno dos", 0, Some(&heads)).unwrap();
        assert_eq!(resolve(&later, &start, &end).unwrap().text, "dos");
    }

    #[test]
    fn bad_cursors_and_quotes_are_refused() {
        let doc = doc_with("Texto de la sección.");
        assert_eq!(anchor_quote(&doc, "no está", 0, None), Err(AnchorError::QuoteNotFound));
        assert_eq!(anchor_quote(&doc, "  ", 0, None), Err(AnchorError::QuoteNotFound));
        assert_eq!(anchor_quote(&doc, "sección", 1, None), Err(AnchorError::QuoteNotFound));
        assert_eq!(resolve(&doc, "not a cursor", "e").unwrap_err(), AnchorError::Malformed);
        let other = doc_with("Otro documento");
        let (start, end) = anchor_quote(&other, "Otro", 0, None).unwrap();
        assert_eq!(resolve(&doc, &start, &end).unwrap_err(), AnchorError::Unknown);
        let (start, _) = anchor_quote(&doc, "sección", 0, None).unwrap();
        let (_, end) = anchor_quote(&doc, "Texto", 0, None).unwrap();
        assert_eq!(check_anchor(&doc, &start, &end).unwrap_err(), AnchorError::Reversed);
    }
}
