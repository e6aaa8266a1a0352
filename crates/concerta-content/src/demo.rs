//! The demo city's strategy text (filled in below).
