//! `impl Database` blocks, one file per area of the domain.

pub mod actors;
pub mod areas;
pub mod audit;
pub mod baseline;
pub mod capacities;
pub mod consultations;
pub mod auth;
pub mod cities;
pub mod indicators;
pub mod members;
pub mod roundtables;
pub mod strategies;
pub mod sync;
pub mod users;
pub mod versions;
