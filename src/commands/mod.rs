//! One file per subcommand. Commands are thin: fetch through `graph`, decide with the pure
//! `writeback` core, print through `output`.

pub mod apply;
pub mod check;
pub mod config_show;
pub mod disable;
pub mod emulator;
pub mod report;
pub mod restore;
pub mod set_default;

use crate::cli::OutputFormat;
use crate::graph::GraphClient;

/// What every command that talks to Graph gets.
pub struct Context {
    pub client: GraphClient,
    pub format: OutputFormat,
}
