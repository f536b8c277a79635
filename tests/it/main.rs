//! gwb's integration tests: one binary, a shared builder in `support`, fixtures on disk in
//! `wiremock-fixtures/`.

// Tests may say on stderr what they measured or skipped; the print lints guard the library.
#![allow(clippy::print_stdout, clippy::print_stderr)]
// Tests set up and read their own environment; the rule that only config reads it is gwb's.
#![allow(clippy::disallowed_methods)]

mod check;
mod client;
mod config;
mod disable;
mod docs;
mod emulator;
mod fleet;
mod formats;
mod layers;
mod notify;
mod report;
mod restore;
mod review;
mod set_default;
mod support;
