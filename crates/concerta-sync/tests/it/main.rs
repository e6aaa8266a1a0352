//! Integration tests of the sync engine, driven with no sockets, no sleeps, no database.

mod differential;
mod sim;
