//! `concerta-content`: what a strategy section *says*, read and written with automerge, off
//! the sync hot path.
//!
//! - [`rich`]: the rich-text format `@automerge/prosemirror` 0.2.x keeps in a section's
//!   `body` (block markers, marks `strong`, `em`, `link`), read into [`Block`]s and written
//!   back exactly as the binding writes it.
//! - [`section`]: a section document (`title` and `body` text): its first change, later
//!   edits, and its content at given heads.
//! - [`stored`]: a stored document (the sync engine's rows) into its heads or a document.
//! - [`diff`]: the word-level diff of a section since a version.
//! - [`export`]: Markdown and printable HTML of a strategy or a version ([`tree`] nests the
//!   blocks the way the editor shows them).
//! - [`minutes`]: a roundtable's minutes document (`notes` text, `agreements` list): its
//!   first change and what it says at closing.
//! - [`demo`]: the demo city's strategy text, drawn from the seed (Spanish).
//!
//! Workflow: the server loads a section's rows from the store, calls
//! [`stored::load_document`] on a blocking thread, reads it with [`section::read_section`]
//! at a version's heads or now, and renders, diffs or compares the result.
//!
//! Invariant: pure like `concerta-core`: no IO, no runtime, no SQL or web crate (checked by
//! `cargo xtask check-deps`).

#![warn(missing_docs)]

pub mod anchor;
pub mod demo;
pub mod diff;
pub mod export;
pub mod minutes;
pub mod rich;
pub mod section;
pub mod stored;
pub mod tree;

pub use rich::{Block, BlockType, Inline, Link, Marks};
pub use section::{SectionContent, edit_section_change, new_section_change, read_section};

/// What can go wrong reading or writing content.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Automerge refused an operation.
    #[error("automerge: {0}")]
    Automerge(#[from] automerge::AutomergeError),
    /// Stored rows could not be read.
    #[error("stored document: {0}")]
    Stored(String),
    /// The document has no text under this root key.
    #[error("not a section document: no `{0}` text")]
    NotASection(String),
}
