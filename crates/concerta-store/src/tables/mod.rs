//! sea-orm entities, one module per table. Private to the crate: the public API is the
//! `Database` methods in `queries/`.
//!
//! The schema itself is defined by `concerta-migrations`; these mirror it.

pub mod access_notice;
pub mod api_token;
pub mod audit_chain;
pub mod audit_entry;
pub mod area;
pub mod account_invitation;
pub mod actor;
pub mod city;
pub mod doc_chunk;
pub mod document;
pub mod member;
pub mod section;
pub mod server_meta;
pub mod session;
pub mod strategy;
pub mod user;
pub mod version;
pub mod version_section;
pub mod indicator;
pub mod indicator_section;
pub mod indicator_sdg;
pub mod evidence_file;
pub mod measurement;
pub mod measurement_reminder;
pub mod capacity;
pub mod network;
pub mod outbox_message;
pub mod network_city;
pub mod questionnaire;
pub mod baseline_question;
pub mod baseline_response;
pub mod baseline_answer;
pub mod roundtable;
pub mod roundtable_invitation;
pub mod roundtable_reminder;
pub mod roundtable_agreement;
pub mod consultation;
pub mod consultation_section;
pub mod consultation_invitee;
pub mod consultation_comment;
