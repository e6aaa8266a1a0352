//! Marked blocks of `bench/RESULTS.md`: each benchmark writes its own
//! `<!-- bench:NAME:start -->` … `<!-- bench:NAME:end -->` block and leaves the others as
//! they are.

use std::path::Path;

use anyhow::{Context, Result};

fn markers(name: &str) -> (String, String) {
    (format!("<!-- bench:{name}:start -->"), format!("<!-- bench:{name}:end -->"))
}

/// Every marked block of `text`: (name, the block including its markers).
pub fn blocks(text: &str) -> Vec<(String, String)> {
    let mut found = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find("<!-- bench:") {
        let after = &rest[i + "<!-- bench:".len()..];
        let Some(name_end) = after.find(":start -->") else { break };
        let name = &after[..name_end];
        if name.contains(' ') || name.contains('\n') {
            rest = after;
            continue;
        }
        let (_, end) = markers(name);
        let Some(j) = rest[i..].find(&end) else { break };
        let block = &rest[i..i + j + end.len()];
        found.push((name.to_owned(), block.to_owned()));
        rest = &rest[i + j + end.len()..];
    }
    found
}

/// `text` with the block `name` set to `content` (replaced where it is, else appended).
pub fn with_block(text: &str, name: &str, content: &str) -> String {
    let (start, end) = markers(name);
    let block = format!("{start}\n{}\n{end}", content.trim_end());
    match (text.find(&start), text.find(&end)) {
        (Some(i), Some(j)) if j > i => format!("{}{block}{}", &text[..i], &text[j + end.len()..]),
        _ => {
            let mut out = text.trim_end().to_owned();
            if !out.is_empty() {
                out.push_str("\n\n");
            }
            out.push_str(&block);
            out.push('\n');
            out
        }
    }
}

/// `new` followed by every block of `old` that `new` does not have: a writer that renders
/// the whole file keeps the other benchmarks' blocks.
pub fn keep_other_blocks(old: &str, new: &str) -> String {
    let ours: Vec<String> = blocks(new).into_iter().map(|(n, _)| n).collect();
    let mut out = new.trim_end().to_owned();
    for (name, block) in blocks(old) {
        if !ours.contains(&name) {
            out.push_str("\n\n");
            out.push_str(&block);
        }
    }
    out.push('\n');
    out
}

/// Writes the block `name` of the file at `path`, keeping everything else.
pub fn write_block(path: &Path, name: &str, content: &str) -> Result<()> {
    let old = std::fs::read_to_string(path).unwrap_or_default();
    std::fs::write(path, with_block(&old, name, content)).with_context(|| format!("write {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_block_is_replaced_in_place_and_others_kept() {
        let old = "# R\n\ntable\n\n<!-- bench:web:start -->\nweb 1\n<!-- bench:web:end -->\n\n<!-- bench:x:start -->\nx 1\n<!-- bench:x:end -->\n";
        let new = with_block(old, "x", "x 2");
        assert!(new.contains("web 1") && new.contains("x 2") && !new.contains("x 1"), "{new}");
        let added = with_block(&new, "y", "y 1");
        assert!(added.ends_with("<!-- bench:y:start -->\ny 1\n<!-- bench:y:end -->\n"), "{added}");
        assert_eq!(blocks(&added).iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(), ["web", "x", "y"]);
    }

    #[test]
    fn a_whole_file_writer_keeps_the_blocks_it_does_not_render() {
        let old = "# old\n<!-- bench:web:start -->\nweb\n<!-- bench:web:end -->\n";
        let out = keep_other_blocks(old, "# new table\n");
        assert_eq!(out, "# new table\n\n<!-- bench:web:start -->\nweb\n<!-- bench:web:end -->\n");
    }
}
