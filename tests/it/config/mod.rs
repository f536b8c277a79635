//! Configuration and the command line: config files and `config show`/`init`, flags, help and
//! man pages, bad input, the example job definitions.

mod bad_input;
mod bad_values;
mod baseline;
mod cli;
mod examples;
mod help;
mod show;
