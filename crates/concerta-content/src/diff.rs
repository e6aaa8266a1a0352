//! The word-level diff of a section's text between two points in its history.

use serde::Serialize;
use similar::{ChangeTag, TextDiff};

use crate::section::SectionContent;

/// What a diff operation does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DiffTag {
    /// Text present before and after.
    Equal,
    /// Text added since.
    Insert,
    /// Text removed since.
    Delete,
}

/// One run of the diff: consecutive words with the same tag.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DiffOp {
    /// What happened to this text.
    pub op: DiffTag,
    /// The text (words and the whitespace between them; blocks are separated by `\n`).
    pub text: String,
}

/// A section's diff.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SectionDiff {
    /// Whether anything of the section differs: its text, its title, or its structure and
    /// formatting (a paragraph made a heading, a word made bold), which `ops` cannot show.
    pub changed: bool,
    /// The word-level diff of the body's text; concatenating the `equal` and `delete` runs
    /// gives the old text, the `equal` and `insert` runs the new one.
    pub ops: Vec<DiffOp>,
}

/// The word-level diff of `old` → `new` (tokens: runs of non-space characters and runs of
/// whitespace), with adjacent tokens of the same tag merged into one op.
pub fn word_diff(old: &str, new: &str) -> Vec<DiffOp> {
    let diff = TextDiff::from_words(old, new);
    let mut ops: Vec<DiffOp> = Vec::new();
    for change in diff.iter_all_changes() {
        let op = match change.tag() {
            ChangeTag::Equal => DiffTag::Equal,
            ChangeTag::Insert => DiffTag::Insert,
            ChangeTag::Delete => DiffTag::Delete,
        };
        let text = change.value();
        match ops.last_mut() {
            Some(last) if last.op == op => last.text.push_str(text),
            _ => ops.push(DiffOp { op, text: text.to_owned() }),
        }
    }
    ops
}

/// The diff of a section since `old` (what a version recorded; `None` when the section did
/// not exist then) to `new`.
pub fn section_diff(old: Option<&SectionContent>, new: &SectionContent) -> SectionDiff {
    let empty = SectionContent::default();
    let old = old.unwrap_or(&empty);
    let ops = word_diff(&old.plain_text(), &new.plain_text());
    SectionDiff { changed: old != new, ops }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rich::{Block, BlockType, Inline};
    use proptest::prelude::*;

    fn side(ops: &[DiffOp], keep: DiffTag) -> String {
        ops.iter().filter(|o| o.op == DiffTag::Equal || o.op == keep).map(|o| o.text.as_str()).collect()
    }

    #[test]
    fn words_not_letters() {
        let ops = word_diff("la ciudad define objetivos", "la ciudad prioriza objetivos claros");
        assert_eq!(
            ops,
            vec![
                DiffOp { op: DiffTag::Equal, text: "la ciudad ".into() },
                DiffOp { op: DiffTag::Delete, text: "define".into() },
                DiffOp { op: DiffTag::Insert, text: "prioriza".into() },
                DiffOp { op: DiffTag::Equal, text: " objetivos".into() },
                DiffOp { op: DiffTag::Insert, text: " claros".into() },
            ]
        );
    }

    #[test]
    fn formatting_only_is_changed_with_equal_ops() {
        let old = SectionContent { title: "T".into(), blocks: vec![Block::paragraph("uno")] };
        let new = SectionContent {
            title: "T".into(),
            blocks: vec![Block::new(BlockType::Paragraph, vec![Inline::strong("uno")])],
        };
        let d = section_diff(Some(&old), &new);
        assert!(d.changed);
        assert!(d.ops.iter().all(|o| o.op == DiffTag::Equal));
        assert!(!section_diff(Some(&old), &old).changed);
        let from_nothing = section_diff(None, &old);
        assert!(from_nothing.changed);
        assert_eq!(from_nothing.ops, vec![DiffOp { op: DiffTag::Insert, text: "uno".into() }]);
    }

    proptest! {
        #[test]
        fn both_sides_are_recovered(old in "[a-zñ ,.\n]{0,60}", new in "[a-zñ ,.\n]{0,60}") {
            let ops = word_diff(&old, &new);
            prop_assert_eq!(side(&ops, DiffTag::Delete), old.clone());
            prop_assert_eq!(side(&ops, DiffTag::Insert), new.clone());
            for pair in ops.windows(2) {
                prop_assert_ne!(pair[0].op, pair[1].op, "adjacent ops are merged");
            }
            prop_assert_eq!(ops.iter().all(|o| o.op == DiffTag::Equal), old == new);
        }
    }
}
