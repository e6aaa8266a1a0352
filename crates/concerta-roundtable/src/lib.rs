//! `concerta-roundtable`: the rules of multi-actor roundtables (*mesas multi-actor*), with no IO.
//!
//! What a coordinator convenes and what its invitees receive: validation of a roundtable's
//! details that names the offending field, with IANA time zones resolved by `jiff`'s bundled
//! database ([`validate`]); the iCalendar invitations of RFC 5545/5546 (`METHOD:REQUEST`,
//! updates with `SEQUENCE + 1`, `METHOD:CANCEL`), with `TZID` and a `VTIMEZONE` built from the
//! zone's transitions, line folding and escaping ([`ical`]); the signed, expiring RSVP tokens
//! that need no account ([`token`]); and the sector balance of the invitees ([`balance`]).
//!
//! Workflow: the server validates input here, stores it through `concerta-store` (which queues
//! the emails in the same transaction), and asks this crate for the calendar parts, the tokens
//! in the links and the balance shown to the coordinator.
//!
//! Invariant: like `concerta-core`, this crate does no IO and depends on no runtime, web or
//! SQL crate (checked by `cargo xtask check-deps`).

#![warn(missing_docs)]

pub mod balance;
pub mod ical;
pub mod token;
pub mod validate;

pub use validate::{Details, DetailsPatch, Schedule, validate_details, validate_patch, validate_timezone};
