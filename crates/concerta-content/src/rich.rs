//! The rich-text format `@automerge/prosemirror` 0.2.x keeps in an automerge text object,
//! read into [`Block`]s and written back exactly as the binding writes it.
//!
//! In the text, every block starts with a **block marker**: a map inserted into the text
//! (automerge's `split_block`) holding `type` (a string scalar: `paragraph`, `heading`,
//! `unordered-list-item`, `ordered-list-item`, `blockquote`, `code-block`, `aside`, `image`),
//! `parents` (a list of string scalars: the enclosing blocks, e.g. `["unordered-list-item"]`
//! for an item nested in a bullet item), `attrs` (a map: `level` for a heading, an integer)
//! and `isEmbed` (a boolean). Text after a marker belongs to that block; text before the first
//! marker is an implicit paragraph. Inline formatting is marks on the text: `strong` and
//! `em` (value `true`, expanding at both ends) and `link` (value: a JSON string
//! `{"href","title"}`, not expanding).
//!
//! Writing goes through automerge's `update_spans` with the binding's mark configuration, so
//! a document written here opens in the browser editor and reads back identically (the
//! binding's `pmNodeToSpans(pmDocFromSpans(spans))` is the identity on it; the end-to-end
//! tests check that with the real binding).

use std::collections::HashMap;

use automerge::hydrate;
use automerge::marks::{ExpandMark, UpdateSpansConfig};
use automerge::{ObjId, ReadDoc, ScalarValue, Span};
use serde::{Deserialize, Serialize};

/// The kind of a block, as the binding names it in a marker's `type`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum BlockType {
    /// `paragraph`.
    Paragraph,
    /// `heading` with `attrs.level` 1–6.
    Heading(u8),
    /// `unordered-list-item`: an item of a bullet list.
    BulletItem,
    /// `ordered-list-item`: an item of a numbered list.
    NumberedItem,
    /// `blockquote`.
    Blockquote,
    /// `code-block`.
    CodeBlock,
    /// `aside`.
    Aside,
    /// `image` (an embed): `attrs.src`, `attrs.alt`.
    Image {
        /// The image's address.
        src: String,
        /// Its alternative text.
        alt: String,
    },
    /// Anything else, kept by name.
    Other(String),
}

impl BlockType {
    /// The marker's `type` string.
    pub fn name(&self) -> &str {
        match self {
            BlockType::Paragraph => "paragraph",
            BlockType::Heading(_) => "heading",
            BlockType::BulletItem => "unordered-list-item",
            BlockType::NumberedItem => "ordered-list-item",
            BlockType::Blockquote => "blockquote",
            BlockType::CodeBlock => "code-block",
            BlockType::Aside => "aside",
            BlockType::Image { .. } => "image",
            BlockType::Other(name) => name,
        }
    }

    /// A parent named `name` (parents carry no attributes).
    pub fn from_name(name: &str) -> Self {
        match name {
            "paragraph" => BlockType::Paragraph,
            "heading" => BlockType::Heading(1),
            "unordered-list-item" => BlockType::BulletItem,
            "ordered-list-item" => BlockType::NumberedItem,
            "blockquote" => BlockType::Blockquote,
            "code-block" => BlockType::CodeBlock,
            "aside" => BlockType::Aside,
            "image" => BlockType::Image { src: String::new(), alt: String::new() },
            other => BlockType::Other(other.to_owned()),
        }
    }

    /// Whether this is a list item (of either kind).
    pub fn is_list_item(&self) -> bool {
        matches!(self, BlockType::BulletItem | BlockType::NumberedItem)
    }
}

/// A link mark's value.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Link {
    /// Where it points (as written; exports drop unsafe schemes).
    pub href: String,
    /// Its title, if any.
    pub title: Option<String>,
}

/// The marks on a run of text.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Marks {
    /// Bold.
    pub strong: bool,
    /// Italic.
    pub em: bool,
    /// A link.
    pub link: Option<Link>,
}

/// A run of text with one set of marks.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Inline {
    /// The text (never empty in what [`read_blocks`] returns).
    pub text: String,
    /// Its marks.
    pub marks: Marks,
}

impl Inline {
    /// Plain text.
    pub fn plain(text: impl Into<String>) -> Self {
        Self { text: text.into(), marks: Marks::default() }
    }

    /// Bold text.
    pub fn strong(text: impl Into<String>) -> Self {
        Self { text: text.into(), marks: Marks { strong: true, ..Marks::default() } }
    }

    /// Italic text.
    pub fn em(text: impl Into<String>) -> Self {
        Self { text: text.into(), marks: Marks { em: true, ..Marks::default() } }
    }

    /// Linked text.
    pub fn link(text: impl Into<String>, href: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            marks: Marks { link: Some(Link { href: href.into(), title: None }), ..Marks::default() },
        }
    }
}

/// One block: its type, the blocks it is nested in (outermost first), and its text.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Block {
    /// What kind of block.
    pub kind: BlockType,
    /// The enclosing blocks, outermost first (`[BulletItem]` for a nested bullet item).
    pub parents: Vec<BlockType>,
    /// The text, in runs of equal marks (adjacent runs have different marks).
    pub inlines: Vec<Inline>,
}

impl Block {
    /// A block of `kind` at the top level.
    pub fn new(kind: BlockType, inlines: Vec<Inline>) -> Self {
        Self { kind, parents: Vec::new(), inlines }
    }

    /// A paragraph of plain text.
    pub fn paragraph(text: impl Into<String>) -> Self {
        Self::new(BlockType::Paragraph, vec![Inline::plain(text)])
    }

    /// A heading of `level` (1–6).
    pub fn heading(level: u8, text: impl Into<String>) -> Self {
        Self::new(BlockType::Heading(level), vec![Inline::plain(text)])
    }

    /// A bullet item nested `depth` levels deep (0 = top level) in bullet items.
    pub fn bullet(depth: usize, inlines: Vec<Inline>) -> Self {
        Self { kind: BlockType::BulletItem, parents: vec![BlockType::BulletItem; depth], inlines }
    }

    /// A numbered item at the top level.
    pub fn numbered(inlines: Vec<Inline>) -> Self {
        Self::new(BlockType::NumberedItem, inlines)
    }

    /// The block's text without marks.
    pub fn text(&self) -> String {
        self.inlines.iter().map(|i| i.text.as_str()).collect()
    }

    /// How many list items enclose this block.
    pub fn list_depth(&self) -> usize {
        self.parents.iter().filter(|p| p.is_list_item()).count()
    }
}

/// Reads a rich-text object into blocks: `spans` from [`ReadDoc::spans`] or `spans_at`.
///
/// Text before the first marker becomes a paragraph; adjacent runs with equal marks are
/// merged; empty runs are dropped. Never fails: unknown block types are kept as
/// [`BlockType::Other`], unknown marks are ignored, malformed values read as absent.
pub fn read_blocks(spans: impl IntoIterator<Item = Span>) -> Vec<Block> {
    let mut blocks: Vec<Block> = Vec::new();
    for span in spans {
        match span {
            Span::Block(map) => blocks.push(block_from_marker(&map)),
            Span::Text { text, marks } => {
                if text.is_empty() {
                    continue;
                }
                let marks = marks.map(|m| marks_from(m.iter())).unwrap_or_default();
                if blocks.is_empty() {
                    blocks.push(Block::new(BlockType::Paragraph, Vec::new()));
                }
                let inlines = &mut blocks.last_mut().expect("a block was just ensured").inlines;
                match inlines.last_mut() {
                    Some(last) if last.marks == marks => last.text.push_str(&text),
                    _ => inlines.push(Inline { text, marks }),
                }
            }
        }
    }
    blocks
}

/// Reads the rich text of `obj` at `heads` (or now).
pub fn read_text_object<D: ReadDoc>(
    doc: &D,
    obj: &ObjId,
    heads: Option<&[automerge::ChangeHash]>,
) -> Result<Vec<Block>, automerge::AutomergeError> {
    Ok(match heads {
        Some(heads) => read_blocks(doc.spans_at(obj, heads)?),
        None => read_blocks(doc.spans(obj)?),
    })
}

fn scalar_str(value: Option<&hydrate::Value>) -> Option<&str> {
    match value {
        Some(hydrate::Value::Scalar(ScalarValue::Str(s))) => Some(s.as_str()),
        _ => None,
    }
}

fn scalar_int(value: Option<&hydrate::Value>) -> Option<i64> {
    match value {
        Some(hydrate::Value::Scalar(ScalarValue::Int(n))) => Some(*n),
        Some(hydrate::Value::Scalar(ScalarValue::Uint(n))) => i64::try_from(*n).ok(),
        Some(hydrate::Value::Scalar(ScalarValue::F64(f))) if f.fract() == 0.0 => Some(*f as i64),
        _ => None,
    }
}

fn block_from_marker(map: &hydrate::Map) -> Block {
    let name = scalar_str(map.get("type")).unwrap_or("paragraph");
    let attrs = match map.get("attrs") {
        Some(hydrate::Value::Map(attrs)) => Some(attrs),
        _ => None,
    };
    let attr = |key: &str| attrs.and_then(|a| a.get(key));
    let kind = match name {
        "heading" => BlockType::Heading(scalar_int(attr("level")).unwrap_or(1).clamp(1, 6) as u8),
        "image" => BlockType::Image {
            src: scalar_str(attr("src")).unwrap_or_default().to_owned(),
            alt: scalar_str(attr("alt")).unwrap_or_default().to_owned(),
        },
        other => BlockType::from_name(other),
    };
    let parents = match map.get("parents") {
        Some(hydrate::Value::List(list)) => list
            .iter()
            .filter_map(|p| scalar_str(Some(&p.value)))
            .map(BlockType::from_name)
            .collect(),
        _ => Vec::new(),
    };
    Block { kind, parents, inlines: Vec::new() }
}

fn marks_from<'a>(marks: impl Iterator<Item = (&'a str, &'a ScalarValue)>) -> Marks {
    let mut out = Marks::default();
    for (name, value) in marks {
        let on = !matches!(value, ScalarValue::Null | ScalarValue::Boolean(false));
        match name {
            "strong" => out.strong = on,
            "em" => out.em = on,
            "link" => {
                out.link = match value {
                    ScalarValue::Str(json) => parse_link(json),
                    _ => None,
                }
            }
            _ => {}
        }
    }
    out
}

fn parse_link(json: &str) -> Option<Link> {
    #[derive(Deserialize)]
    struct Raw {
        href: Option<String>,
        title: Option<String>,
    }
    let raw: Raw = serde_json::from_str(json).ok()?;
    Some(Link { href: raw.href.unwrap_or_default(), title: raw.title.filter(|t| !t.is_empty()) })
}

/// The value the binding stores for a link mark: `{"href","title"}` as JSON (title `null`
/// when absent), in that key order.
pub fn link_mark_value(link: &Link) -> String {
    serde_json::json!({ "href": link.href, "title": link.title }).to_string()
}

/// The `update_spans` configuration of the binding's basic schema: marks expand at both
/// ends by default, `link` at neither (ProseMirror's `inclusive: false`).
pub fn update_spans_config() -> UpdateSpansConfig {
    UpdateSpansConfig::default()
        .with_default_expand(ExpandMark::Both)
        .with_mark_expand("strong", ExpandMark::Both)
        .with_mark_expand("em", ExpandMark::Both)
        .with_mark_expand("link", ExpandMark::None)
}

fn string_list(items: &[BlockType]) -> hydrate::Value {
    hydrate::Value::from(
        items.iter().map(|p| hydrate::Value::Scalar(ScalarValue::Str(p.name().into()))).collect::<Vec<_>>(),
    )
}

/// The block marker the binding writes for `block`: `type`, `parents`, `attrs`, `isEmbed`.
pub fn block_marker(block: &Block) -> hydrate::Map {
    let mut attrs: HashMap<&str, hydrate::Value> = HashMap::new();
    match &block.kind {
        BlockType::Heading(level) => {
            attrs.insert("level", hydrate::Value::Scalar(ScalarValue::Int(i64::from(*level))));
        }
        BlockType::Image { src, alt } => {
            attrs.insert("src", hydrate::Value::Scalar(ScalarValue::Str(src.as_str().into())));
            attrs.insert("alt", hydrate::Value::Scalar(ScalarValue::Str(alt.as_str().into())));
        }
        _ => {}
    }
    let mut marker: HashMap<&str, hydrate::Value> = HashMap::new();
    marker.insert("type", hydrate::Value::Scalar(ScalarValue::Str(block.kind.name().into())));
    marker.insert("parents", string_list(&block.parents));
    marker.insert("attrs", hydrate::Value::Map(attrs.into()));
    marker.insert(
        "isEmbed",
        hydrate::Value::Scalar(ScalarValue::Boolean(matches!(block.kind, BlockType::Image { .. }))),
    );
    marker.into()
}

/// The spans the binding's `pmNodeToSpans` makes of these blocks: a marker before every
/// block, then its runs with their marks.
pub fn to_spans(blocks: &[Block]) -> Vec<Span> {
    let mut spans = Vec::new();
    for block in blocks {
        spans.push(Span::Block(block_marker(block)));
        for inline in &block.inlines {
            if inline.text.is_empty() {
                continue;
            }
            let m = &inline.marks;
            let mut set: Vec<(String, ScalarValue)> = Vec::new();
            if m.strong {
                set.push(("strong".into(), ScalarValue::Boolean(true)));
            }
            if m.em {
                set.push(("em".into(), ScalarValue::Boolean(true)));
            }
            if let Some(link) = &m.link {
                set.push(("link".into(), ScalarValue::Str(link_mark_value(link).into())));
            }
            let marks = if set.is_empty() {
                None
            } else {
                Some(std::sync::Arc::new(set.into_iter().collect::<automerge::marks::MarkSet>()))
            };
            spans.push(Span::Text { text: inline.text.clone(), marks });
        }
    }
    spans
}

/// Makes the text object `obj` hold `blocks`, the way the binding does it: automerge's
/// `update_spans` (a minimal diff against what is there) with the binding's mark
/// configuration.
pub fn write_blocks<T: automerge::transaction::Transactable>(
    tx: &mut T,
    obj: &ObjId,
    blocks: &[Block],
) -> Result<(), automerge::AutomergeError> {
    tx.update_spans(obj, update_spans_config(), to_spans(blocks))
}

#[cfg(test)]
mod tests {
    use super::*;
    use automerge::transaction::Transactable;
    use automerge::{AutoCommit, ObjType, ROOT};

    fn sample() -> Vec<Block> {
        vec![
            Block::heading(2, "Voluntad política"),
            Block::new(
                BlockType::Paragraph,
                vec![
                    Inline::plain("La ciudad asume un "),
                    Inline::strong("compromiso"),
                    Inline::plain(" con la "),
                    Inline::link("Agenda 2030", "https://sdgs.un.org/"),
                    Inline::plain("."),
                ],
            ),
            Block::bullet(0, vec![Inline::plain("uno")]),
            Block::bullet(1, vec![Inline::em("uno punto uno")]),
            Block::bullet(0, vec![Inline::plain("dos")]),
            Block::numbered(vec![Inline::plain("primero")]),
        ]
    }

    #[test]
    fn blocks_round_trip_through_a_document() {
        let mut doc = AutoCommit::new();
        let body = doc.put_object(ROOT, "body", ObjType::Text).unwrap();
        write_blocks(&mut doc, &body, &sample()).unwrap();
        assert_eq!(read_text_object(&doc, &body, None).unwrap(), sample());
    }

    #[test]
    fn markers_have_the_binding_shape() {
        let mut doc = AutoCommit::new();
        let body = doc.put_object(ROOT, "body", ObjType::Text).unwrap();
        write_blocks(&mut doc, &body, &sample()).unwrap();
        let (_, marker) = doc.get(&body, 0).unwrap().unwrap();
        assert_eq!(doc.object_type(&marker).unwrap(), ObjType::Map);
        let (ty, _) = doc.get(&marker, "type").unwrap().unwrap();
        assert_eq!(ty.to_string(), "\"heading\"");
        let (is_embed, _) = doc.get(&marker, "isEmbed").unwrap().unwrap();
        assert_eq!(is_embed.to_string(), "false");
        let (_, attrs) = doc.get(&marker, "attrs").unwrap().unwrap();
        let (level, _) = doc.get(&attrs, "level").unwrap().unwrap();
        assert_eq!(level.to_string(), "2");
        let (_, parents) = doc.get(&marker, "parents").unwrap().unwrap();
        assert_eq!(doc.object_type(&parents).unwrap(), ObjType::List);
    }

    #[test]
    fn rewriting_changes_only_what_differs() {
        let mut doc = AutoCommit::new();
        let body = doc.put_object(ROOT, "body", ObjType::Text).unwrap();
        write_blocks(&mut doc, &body, &sample()).unwrap();
        doc.commit();
        let mut edited = sample();
        edited[4] = Block::bullet(0, vec![Inline::plain("dos y tres")]);
        write_blocks(&mut doc, &body, &edited).unwrap();
        let change = doc.get_last_local_change().unwrap().clone();
        assert!(change.len() < 20, "a small edit is a small change, got {} ops", change.len());
        assert_eq!(read_text_object(&doc, &body, None).unwrap(), edited);
    }

    #[test]
    fn text_before_any_marker_is_a_paragraph_and_runs_merge() {
        let mut doc = AutoCommit::new();
        let body = doc.put_object(ROOT, "body", ObjType::Text).unwrap();
        doc.splice_text(&body, 0, 0, "hola mundo").unwrap();
        let blocks = read_text_object(&doc, &body, None).unwrap();
        assert_eq!(blocks, vec![Block::paragraph("hola mundo")]);
    }

    fn arb_inline() -> impl proptest::strategy::Strategy<Value = Inline> {
        use proptest::prelude::*;
        ("[a-zñ ,.¿?]{1,6}", any::<bool>(), any::<bool>(), proptest::option::of("[a-z]{1,5}")).prop_map(
            |(text, strong, em, link)| Inline {
                text,
                marks: Marks { strong, em, link: link.map(|l| Link { href: format!("https://{l}.org"), title: None }) },
            },
        )
    }

    fn arb_block() -> impl proptest::strategy::Strategy<Value = Block> {
        use proptest::prelude::*;
        let kind = prop_oneof![
            Just(BlockType::Paragraph),
            (1u8..=6).prop_map(BlockType::Heading),
            Just(BlockType::BulletItem),
            Just(BlockType::NumberedItem),
            Just(BlockType::Blockquote),
        ];
        (kind, 0usize..3, proptest::collection::vec(arb_inline(), 0..4)).prop_map(|(kind, depth, inlines)| {
            let parents = if kind.is_list_item() { vec![BlockType::BulletItem; depth] } else { Vec::new() };
            Block { kind, parents, inlines }
        })
    }

    /// What reading gives back: adjacent runs with equal marks merged.
    fn normalised(blocks: &[Block]) -> Vec<Block> {
        blocks
            .iter()
            .map(|b| {
                let mut inlines: Vec<Inline> = Vec::new();
                for i in &b.inlines {
                    match inlines.last_mut() {
                        Some(last) if last.marks == i.marks => last.text.push_str(&i.text),
                        _ => inlines.push(i.clone()),
                    }
                }
                Block { inlines, ..b.clone() }
            })
            .collect()
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(96))]

        /// Any blocks written read back the same, and rewriting a document to other blocks
        /// (update_spans' diff) leaves exactly those.
        #[test]
        fn write_then_read_is_the_identity(
            first in proptest::collection::vec(arb_block(), 1..6),
            second in proptest::collection::vec(arb_block(), 1..6),
        ) {
            let mut doc = AutoCommit::new();
            let body = doc.put_object(ROOT, "body", ObjType::Text).unwrap();
            write_blocks(&mut doc, &body, &first).unwrap();
            proptest::prop_assert_eq!(read_text_object(&doc, &body, None).unwrap(), normalised(&first));
            let heads = doc.get_heads();
            write_blocks(&mut doc, &body, &second).unwrap();
            proptest::prop_assert_eq!(read_text_object(&doc, &body, None).unwrap(), normalised(&second));
            proptest::prop_assert_eq!(read_text_object(&doc, &body, Some(&heads)).unwrap(), normalised(&first));
        }
    }

    #[test]
    fn malformed_markers_read_as_something_sensible() {
        let mut doc = AutoCommit::new();
        let body = doc.put_object(ROOT, "body", ObjType::Text).unwrap();
        doc.splice_text(&body, 0, 0, "x").unwrap();
        let marker = doc.split_block(&body, 0).unwrap();
        doc.put(&marker, "type", 42).unwrap();
        let blocks = read_text_object(&doc, &body, None).unwrap();
        assert_eq!(blocks, vec![Block::paragraph("x")]);
        assert_eq!(parse_link("not json"), None);
    }
}
