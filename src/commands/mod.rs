//! One module per subcommand. Commands are thin: read through `graph` (shared reads in
//! `read.rs`), decide with the pure `writeback` core, write only through `change`, and print
//! documents (`doc`) through `output`. No command imports another (`tests/it/layers.rs`).

pub(crate) mod check;
pub(crate) mod config_show;
pub mod disable;
pub(crate) mod emulator;
pub(crate) mod history;
pub(crate) mod man;
pub(crate) mod read;
pub mod report;
pub(crate) mod restore;
pub(crate) mod set_default;
