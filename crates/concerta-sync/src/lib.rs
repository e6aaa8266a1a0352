//! `concerta-sync`: the sans-IO real-time sync engine.
//!
//! It speaks the automerge-repo WebSocket protocol v1 ([`wire`]) and runs the automerge
//! sync protocol ([`protocol`]) over each document's change graph ([`graph`]) without
//! materializing documents on the hot path. The [`Engine`] is a state machine: the server
//! feeds it events (frames, access decisions, storage results, time) and performs the
//! effects it returns (sends, loads, appends, snapshots). No IO, no runtime, no SQL here.
//!
//! Workflow of an edit: a peer's sync message arrives → its changes are split and checked
//! against the graph (sequence, dependencies, start op, references, section schema) → the
//! accepted ones are staged and an [`Effect::Store`] goes out → on [`Event::Stored`] they
//! become durable, and every peer of the document gets a sync message with what it lacks.

mod document_id;
pub mod engine;
pub mod graph;
pub mod presence;
pub mod protocol;
mod section;
pub mod storage;
pub mod wire;

pub use document_id::{DocumentId, InvalidDocumentId};
pub use engine::{Access, Config, ConnId, Effect, Engine, Event, Millis, Stats, TICK_MS};
pub use graph::{Refusal, Schema};
pub use presence::{Identity, PeerPresence};
pub use section::{new_section_change, new_section_document};
