//! The command line, declared with clap's derive API. Parsing only: values are resolved
//! against the environment and the config file in `config.rs`.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::auth::AuthKind;
use crate::writeback::Kind;

#[derive(Debug, Parser)]
#[command(
    name = "gwb",
    version,
    about = "Keep a Microsoft Entra tenant's group writeback configuration under control (Microsoft Graph beta)",
    after_help = "Exit codes: 0 ok, 1 failed or partly failed, 2 usage or configuration error, 4 authentication or authorisation failure."
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args, Clone, Default)]
pub struct GlobalArgs {
    /// Config file (TOML). Default: $XDG_CONFIG_HOME/gwb/config.toml; env GWB_CONFIG.
    #[arg(long, global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,

    /// Graph root, without the version (gwb appends /beta). Env GWB_GRAPH_URL.
    #[arg(long, global = true, value_name = "URL")]
    pub graph_url: Option<String>,

    /// How to sign in. Env GWB_AUTH. Default: chosen from the credentials present.
    #[arg(long, global = true, value_enum)]
    pub auth: Option<AuthKind>,

    /// Output format. Default: table on a terminal, json otherwise. Env GWB_OUTPUT.
    #[arg(long, short = 'o', global = true, value_enum)]
    pub output: Option<OutputFormat>,

    /// More log detail on stderr (-v info, -vv debug, -vvv trace).
    #[arg(long, short = 'v', global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,

    /// Only errors on stderr.
    #[arg(long, short = 'q', global = true, conflicts_with = "verbose")]
    pub quiet: bool,

    /// Run against a built-in sample tenant served by an in-process emulator (no tenant, no
    /// credentials needed).
    #[arg(long, global = true, conflicts_with_all = ["graph_url", "auth"])]
    pub emulator: bool,

    /// Number of groups in the --emulator sample tenant [default: 250].
    #[arg(long, global = true, value_name = "N")]
    pub emulator_groups: Option<usize>,

    /// Seed of the --emulator sample tenant [default: 1].
    #[arg(long, global = true, value_name = "S")]
    pub emulator_seed: Option<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OutputFormat {
    Table,
    Json,
    Ndjson,
    Csv,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Every group's raw and effective writeback state, plus the tenant default.
    Report(ReportArgs),
    /// Serve a local Graph emulator with a generated tenant (for trying gwb and testing automation).
    Emulator(EmulatorArgs),
}

#[derive(Debug, Args, Clone, Default)]
pub struct ReportArgs {
    /// Only groups of this kind (repeatable).
    #[arg(long, value_enum)]
    pub kind: Vec<Kind>,
    /// Only groups that are effectively written back.
    #[arg(long)]
    pub written_back: bool,
}

#[derive(Debug, Args, Clone)]
pub struct EmulatorArgs {
    /// Address to listen on, e.g. 127.0.0.1:8080.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Number of groups to generate.
    #[arg(long, default_value_t = 2_345)]
    pub groups: usize,
    /// Seed for the generated tenant (same seed and size, same tenant).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Latency added to every request, in milliseconds.
    #[arg(long, default_value_t = 0)]
    pub latency_ms: u64,
    /// Share of requests answered with an injected fault (429, 503, 504, dropped connection,
    /// slow response), from 0 to 1.
    #[arg(long, default_value_t = 0.0)]
    pub fault_rate: f64,
}
