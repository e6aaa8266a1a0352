//! Flat blocks (with their `parents`) into a tree of elements, following the binding's own
//! traversal (`traverseSpans` in `@automerge/prosemirror`): a block's path is, for each
//! parent, its wrapper (a list for list items) and the parent itself, then the block's own
//! wrapper; whatever prefix of that path is already open is reused, the rest is closed and
//! opened anew. So consecutive items share one list, and an item whose parents name a list
//! item nests inside the item before it, exactly as the editor shows them.

use crate::rich::{Block, BlockType, Inline};

/// An element of the rendered tree.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Tag {
    /// A bullet list (`<ul>`).
    BulletList,
    /// A numbered list (`<ol>`).
    NumberedList,
    /// A list item; its own text is its first line.
    ListItem,
    /// A paragraph.
    Paragraph,
    /// A heading of the body's own level (1–6).
    Heading(u8),
    /// A quotation.
    Blockquote,
    /// An aside.
    Aside,
    /// Preformatted code.
    CodeBlock,
    /// An image.
    Image {
        /// Its address.
        src: String,
        /// Its alternative text.
        alt: String,
    },
    /// A block type the binding does not know; rendered as a plain container.
    Other(String),
}

/// One element: its tag, its own text, and what is nested in it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Element {
    /// What it is.
    pub tag: Tag,
    /// Its own text (a textblock's content, a list item's first line).
    pub inlines: Vec<Inline>,
    /// Nested elements.
    pub children: Vec<Element>,
}

fn wrapper(kind: &BlockType) -> Option<Tag> {
    match kind {
        BlockType::BulletItem => Some(Tag::BulletList),
        BlockType::NumberedItem => Some(Tag::NumberedList),
        _ => None,
    }
}

fn content(kind: &BlockType) -> Tag {
    match kind {
        BlockType::Paragraph => Tag::Paragraph,
        BlockType::Heading(level) => Tag::Heading(*level),
        BlockType::BulletItem | BlockType::NumberedItem => Tag::ListItem,
        BlockType::Blockquote => Tag::Blockquote,
        BlockType::Aside => Tag::Aside,
        BlockType::CodeBlock => Tag::CodeBlock,
        BlockType::Image { src, alt } => Tag::Image { src: src.clone(), alt: alt.clone() },
        BlockType::Other(name) => Tag::Other(name.clone()),
    }
}

fn same_node(a: &Tag, b: &Tag) -> bool {
    match (a, b) {
        // Node types compare by type, as ProseMirror's do (attributes aside).
        (Tag::Heading(_), Tag::Heading(_)) => true,
        (Tag::Image { .. }, Tag::Image { .. }) => true,
        _ => a == b,
    }
}

/// Builds the tree of `blocks`.
pub fn build(blocks: &[Block]) -> Vec<Element> {
    let mut root: Vec<Element> = Vec::new();
    let mut stack: Vec<Element> = Vec::new();

    fn close(stack: &mut Vec<Element>, root: &mut Vec<Element>) {
        let done = stack.pop().expect("close is called on a non-empty stack");
        match stack.last_mut() {
            Some(parent) => parent.children.push(done),
            None => root.push(done),
        }
    }

    for block in blocks {
        let mut outer: Vec<Tag> = Vec::new();
        for parent in &block.parents {
            if let Some(w) = wrapper(parent) {
                outer.push(w);
            }
            outer.push(content(parent));
        }
        if let Some(w) = wrapper(&block.kind) {
            outer.push(w);
        }
        let mut keep = 0;
        while keep < outer.len() && keep < stack.len() && same_node(&stack[keep].tag, &outer[keep]) {
            keep += 1;
        }
        while stack.len() > keep {
            close(&mut stack, &mut root);
        }
        for tag in outer.into_iter().skip(keep) {
            stack.push(Element { tag, inlines: Vec::new(), children: Vec::new() });
        }
        stack.push(Element { tag: content(&block.kind), inlines: block.inlines.clone(), children: Vec::new() });
    }
    while !stack.is_empty() {
        close(&mut stack, &mut root);
    }
    root
}

#[cfg(test)]
mod tests {
    use super::*;

    fn el(tag: Tag, text: &str, children: Vec<Element>) -> Element {
        let inlines = if text.is_empty() { Vec::new() } else { vec![Inline::plain(text)] };
        Element { tag, inlines, children }
    }

    #[test]
    fn lists_group_and_nest_like_the_editor() {
        let blocks = vec![
            Block::heading(2, "h"),
            Block::bullet(0, vec![Inline::plain("a")]),
            Block::bullet(1, vec![Inline::plain("a.1")]),
            Block::bullet(1, vec![Inline::plain("a.2")]),
            Block::bullet(0, vec![Inline::plain("b")]),
            Block::numbered(vec![Inline::plain("uno")]),
            Block::numbered(vec![Inline::plain("dos")]),
            Block::paragraph("fin"),
        ];
        assert_eq!(
            build(&blocks),
            vec![
                el(Tag::Heading(2), "h", vec![]),
                el(
                    Tag::BulletList,
                    "",
                    vec![
                        el(
                            Tag::ListItem,
                            "a",
                            vec![el(
                                Tag::BulletList,
                                "",
                                vec![el(Tag::ListItem, "a.1", vec![]), el(Tag::ListItem, "a.2", vec![])]
                            )]
                        ),
                        el(Tag::ListItem, "b", vec![]),
                    ]
                ),
                el(Tag::NumberedList, "", vec![el(Tag::ListItem, "uno", vec![]), el(Tag::ListItem, "dos", vec![])]),
                el(Tag::Paragraph, "fin", vec![]),
            ]
        );
    }

    #[test]
    fn a_paragraph_inside_an_item_and_a_nested_item_without_a_parent_item() {
        let mut second = Block::paragraph("segundo párrafo");
        second.parents = vec![BlockType::BulletItem];
        // A nested item first: its wrappers are made for it.
        let orphan = Block::bullet(1, vec![Inline::plain("x")]);
        let tree = build(&[Block::bullet(0, vec![Inline::plain("a")]), second, orphan]);
        assert_eq!(tree.len(), 1);
        let item = &tree[0].children[0];
        assert_eq!(item.children[0], el(Tag::Paragraph, "segundo párrafo", vec![]));
        assert_eq!(item.children[1].tag, Tag::BulletList);
    }
}
