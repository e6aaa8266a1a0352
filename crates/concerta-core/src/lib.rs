//! `concerta-core`: the domain vocabulary of Concerta, with no IO.
//!
//! It holds the id newtypes every other crate uses for keys ([`CityId`], [`SectionId`]…),
//! the enums of the domain ([`Role`], [`Sector`], [`Stage`], [`Locale`]), input validation
//! helpers that name the offending field ([`FieldError`]), the seed framework's section
//! template ([`seed_template`]) and the permission function [`permit`].
//!
//! Workflow: the server resolves who is asking (a [`Principal`]) and what is being touched (a
//! [`Resource`]), then asks [`permit`] before calling the store. Every access decision of the
//! product goes through that one pure function, so the cross-city guarantee lives in one place.
//!
//! Invariant: this crate depends only on `serde`, `thiserror` and `uuid`; no runtime, web or SQL
//! crate (checked by `cargo xtask`).

#![warn(missing_docs)]

mod enums;
mod ids;
mod permission;
mod template;
mod validate;

pub use enums::{AuditAction, Decision, Locale, ParseEnumError, Role, Rsvp, SectionState, Sector, Stage, StrategyTemplate};
pub use ids::{
    AccountInvitationId, ActorId, ApiTokenId, AreaId, BaselineResponseId, CapacityId, CityId, CommentId, ConsultationId, ConsultationInviteeId, EvidenceId,
    IndicatorId, InvitationId, MeasurementId, MemberId, NetworkId, OutboxMessageId, QuestionId, QuestionnaireId, RoundtableId, SectionId, SessionId,
    StrategyId, UserId, VersionId,
};
pub use permission::{Action, Membership, Principal, Resource, may_create_city, permit};
pub use template::{SectionTemplate, seed_template};

/// The kinds of a document's stored rows (`doc_chunks.kind`): written by the store, read by
/// the sync engine, defined here once for both.
pub mod chunk_kind {
    /// Incremental automerge changes, concatenated.
    pub const CHANGES: i16 = 0;
    /// A snapshot: its heads and a saved automerge document
    /// (`concerta_sync::storage::encode_snapshot`).
    pub const SNAPSHOT: i16 = 1;
    /// The sync engine's compact change log (`concerta_sync::storage::encode_log`).
    pub const LOG: i16 = 2;
}
pub use validate::{FieldError, validate_email, validate_name, validate_slug, validate_text};
