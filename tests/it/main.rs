//! gwb's integration tests: one binary, a shared builder in `support`, fixtures on disk in
//! `wiremock-fixtures/`.

// Tests may say on stderr what they measured or skipped; the print lints guard the library.
#![allow(clippy::print_stdout, clippy::print_stderr)]
// Tests set up and read their own environment; the rule that only config reads it is gwb's.
#![allow(clippy::disallowed_methods)]

mod auth;
mod bad_input;
mod batch;
mod browser;
mod check;
mod cli;
mod client;
mod disable;
mod documented;
mod e2e;
mod emulator;
mod examples;
mod fleet;
mod formats;
mod golden;
mod help;
mod history;
mod hostile;
mod layers;
mod metrics;
mod notify;
mod pipeline;
mod plans;
mod promises;
mod reliability;
mod review;
mod screens;
mod set_default;
mod streaming;
mod support;
mod undo;
mod walkthrough;
