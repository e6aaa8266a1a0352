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

/// Where a roundtable stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Convened; invitations go out, answers come in.
    Scheduled,
    /// Called off: invitees got `METHOD:CANCEL`.
    Cancelled,
    /// Held and closed: the minutes went to the attendees, the agreements are recorded.
    Closed,
}

impl Status {
    /// The stored and JSON spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Scheduled => "scheduled",
            Status::Cancelled => "cancelled",
            Status::Closed => "closed",
        }
    }
}

impl std::str::FromStr for Status {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "scheduled" => Ok(Status::Scheduled),
            "cancelled" => Ok(Status::Cancelled),
            "closed" => Ok(Status::Closed),
            other => Err(format!("unknown roundtable status `{other}`")),
        }
    }
}
