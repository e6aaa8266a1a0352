//! Integration tests of the sync engine, driven with no sockets, no sleeps, no database.

mod access;
mod cluster;
mod decoders;
mod differential;
mod limits;
mod pipeline;
mod presence;
mod refusals;
mod relay;
mod sim;
