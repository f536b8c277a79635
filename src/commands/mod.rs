//! One file per subcommand. Commands are thin: fetch through `graph`, decide with the pure
//! `writeback` core, print through `output`.

pub(crate) mod check;
pub(crate) mod config_show;
pub mod disable;
pub(crate) mod emulator;
pub(crate) mod man;
pub(crate) mod read;
pub mod report;
pub(crate) mod restore;
pub(crate) mod set_default;
