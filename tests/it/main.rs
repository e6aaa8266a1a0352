//! End-to-end tests: the real `concerta` binary on real sockets, with the real clients.
//! See the crate docs (`tests/lib.rs`) for where the programs come from.
//!
//! - `foundation`: the README flow through the binary and REST; error answers; tenancy.
//! - `sync_clients`: two official JS clients and a samod client converge on one section.
//! - `sync_access`: read-only, no-access, schema-breaking and revoked peers over `/sync`.
//! - `sync_presence`: the server's presence rosters and ephemeral sender ids, seen by JS clients.
//! - `content`: the demo's rich text in the real binding; a JS client's rich text in versions, diffs, exports.
//! - `security`: `concerta audit verify` on a real log and on one altered by hand.
//! - `reminders`: one reminder per due date across two nodes on Postgres and a restart.
//! - `durability`: `kill -9` in a write burst loses no acknowledged or relayed change (one
//!   node, and one of two nodes on Postgres).
//! - `cluster`: two nodes on one Postgres: JS clients on each converge; access changes made
//!   through one node reach live connections on the other.
//! - `mail`: email through a real SMTP server (aiosmtpd): MIME, retries, two nodes, `kill -9`,
//!   `.eml` files, account invitations, measurement reminders.
//! - `consultations`: a stakeholder's invitation email, its link, a comment and the city's
//!   answer by email, once.
//! - `roundtables_mail`: roundtable invitations, updates, cancellations and reminders as
//!   calendar invitations (parsed by Python's `icalendar`), RSVP from the email, delivery status.

mod cluster;
mod consultations;
mod content;
mod durability;
mod foundation;
mod mail;
mod reminders;
mod roundtables_mail;
mod security;
mod sync_access;
mod sync_clients;
mod sync_presence;
