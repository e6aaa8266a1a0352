//! `concerta-evaluation`: the rules of the evaluation stage, with no IO.
//!
//! What a city measures and how it reads the result: the vocabulary of indicators
//! ([`Level`], [`Direction`], [`Unit`], [`Frequency`]), the status rule of Open SDG
//! ([`status::assess`]), the seed framework's templates (the indicator table at three levels,
//! the capacities checklist, the baseline questionnaire: [`template`]), the Sustainable
//! Development Goals and their targets as the United Nations publishes them ([`sdg`]),
//! validation of indicators and measurements that names the offending field ([`validate`]),
//! due dates of measurements ([`schedule`]), network statistics (median and quartiles:
//! [`stats`]), CSV import and export ([`csv_io`]) and server-side SVG charts ([`chart`]).
//!
//! Workflow: the server validates input here, stores it through `concerta-store`, and asks
//! this crate for the status, the summaries, the charts and the CSV of what it read back.
//!
//! Invariant: like `concerta-core`, this crate does no IO and depends on no runtime, web or
//! SQL crate (checked by `cargo xtask check-deps`).

#![warn(missing_docs)]

pub mod chart;
pub mod csv_io;
mod model;
pub mod schedule;
pub mod sdg;
pub mod stats;
pub mod status;
pub mod template;
pub mod validate;

pub use model::{
    CapacityGroup, CapacityState, Direction, Frequency, Level, QuestionKind, ReviewState, Status, Text, Unit,
};
pub use status::{Assessment, Point};
