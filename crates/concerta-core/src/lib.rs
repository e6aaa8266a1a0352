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
    ActorId, ApiTokenId, AreaId, BaselineResponseId, CapacityId, CityId, CommentId, ConsultationId, ConsultationInviteeId, EvidenceId,
    IndicatorId, InvitationId, MeasurementId, MemberId, NetworkId, QuestionId, QuestionnaireId, RoundtableId, SectionId, SessionId,
    StrategyId, UserId, VersionId,
};
pub use permission::{Action, Membership, Principal, Resource, may_create_city, permit};
pub use template::{SectionTemplate, seed_template};
pub use validate::{FieldError, validate_email, validate_name, validate_slug, validate_text};
