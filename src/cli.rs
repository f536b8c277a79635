//! The command line, declared with clap's derive API. Parsing only: values are resolved
//! against the environment and the config file in `config.rs`.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Clone, Parser)]
#[command(
    name = "gwb",
    version = concat!(env!("CARGO_PKG_VERSION"), " (git ", env!("GWB_GIT_REV"), ")"),
    about = "Keep a Microsoft Entra tenant's group writeback configuration under control (Microsoft Graph beta)",
    after_help = "Exit codes: 0 ok, 1 failed or partly failed, 2 usage or configuration error, 3 drift found (gwb check), 4 authentication or authorisation failure."
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args, Clone, Default)]
#[command(next_help_heading = "Global options")]
pub struct GlobalArgs {
    /// Config file (TOML). Default: $XDG_CONFIG_HOME/gwb/config.toml; env GWB_CONFIG.
    #[arg(long, global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,

    /// Run against the config file's [[tenants]] entry NAME: its keys (tenant_id, cloud,
    /// client_id, ...) over the file's top level, its [tenants.policy] over [policy].
    /// Repeat it to run several tenants as one fleet run (report, check, disable-existing-m365,
    /// set-default): one merged output, one exit code.
    #[arg(long, global = true, value_name = "NAME", action = clap::ArgAction::Append)]
    pub tenant: Vec<String>,

    /// Run every [[tenants]] entry of the config file as one fleet run.
    #[arg(long, global = true, hide_short_help = true)]
    pub all_tenants: bool,

    /// Fleet runs: this many tenants at once, each with its own client, pacing, lock and
    /// journal. [default: 4]
    #[arg(long, global = true, hide_short_help = true, value_name = "N")]
    pub parallel: Option<usize>,

    /// Fleet runs: only shard K of N (1-based), by a stable rule: the tenant at index i of the
    /// sorted names is in shard (i mod N) + 1. Without --tenant, shards every [[tenants]] entry.
    #[arg(
        long,
        global = true,
        hide_short_help = true,
        value_name = "K/N",
        conflicts_with = "shards"
    )]
    pub shard: Option<String>,

    /// Fleet runs in a Kubernetes Indexed Job: N shards, this one named by JOB_COMPLETION_INDEX
    /// (0-based), as --shard (JOB_COMPLETION_INDEX + 1)/N.
    #[arg(long, global = true, hide_short_help = true, value_name = "N")]
    pub shards: Option<usize>,

    /// Fleet runs: writes allowed per 5 minutes across all tenants in this process (Graph's
    /// identity and access limit: 35,000 writes per 5 minutes per app across all tenants).
    /// [default: 35000]
    #[arg(long, global = true, hide_short_help = true, value_name = "N")]
    pub fleet_write_limit: Option<u32>,

    /// National cloud: sets the Graph root and the sign-in host together. Env GWB_CLOUD.
    #[arg(long, global = true, hide_short_help = true, value_enum)]
    pub cloud: Option<crate::cloud::Cloud>,

    /// Graph root, without the version (gwb appends /beta). Env GWB_GRAPH_URL.
    #[arg(long, global = true, hide_short_help = true, value_name = "URL")]
    pub graph_url: Option<String>,

    /// How to sign in. Env GWB_AUTH. Default: chosen from the credentials present.
    #[arg(long, global = true, hide_short_help = true, value_enum)]
    pub auth: Option<AuthKind>,

    /// Output format. Default: table on a terminal, json otherwise. Env GWB_OUTPUT.
    #[arg(long, short = 'o', global = true, value_enum)]
    pub output: Option<OutputFormat>,

    /// Write the data to FILE instead of stdout, atomically: into a temporary file beside it,
    /// synced and renamed over FILE when the command ends; a run that fails leaves no FILE (or
    /// the old one as it was). Without -o the format follows the extension (.html, .json,
    /// .ndjson, .csv, .xml for junit), else JSON.
    #[arg(long, global = true, value_name = "FILE")]
    pub out: Option<PathBuf>,

    /// More log detail on stderr (-v info, -vv debug, -vvv trace).
    #[arg(long, short = 'v', global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,

    /// Only errors on stderr.
    #[arg(
        long,
        short = 'q',
        global = true,
        hide_short_help = true,
        conflicts_with = "verbose"
    )]
    pub quiet: bool,

    /// Log format on stderr: text for people, json (one object per line, with the run id and
    /// every Graph request) for machines. Env GWB_LOG_FORMAT. [default: text]
    #[arg(long, global = true, hide_short_help = true, value_enum)]
    pub log_format: Option<LogFormat>,

    /// Colour in logs: auto (a terminal, and NO_COLOR unset), always or never.
    #[arg(long, global = true, hide_short_help = true, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,

    /// Give up on an answer that sends nothing for this many seconds (a server that accepted
    /// the connection and went silent). Env GWB_READ_TIMEOUT. [default: 30]
    #[arg(long, global = true, hide_short_help = true, value_name = "SECONDS")]
    pub read_timeout: Option<f64>,

    /// The longest one request may take, answer included, in seconds (a server that trickles).
    /// Env GWB_REQUEST_TIMEOUT. [default: 120]
    #[arg(long, global = true, hide_short_help = true, value_name = "SECONDS")]
    pub request_timeout: Option<f64>,

    /// Stop the whole run after this many seconds, whatever Graph does (a write run that is
    /// stopped can be undone from its journal like any interrupted run). Env GWB_DEADLINE. [default: 86400]
    #[arg(long, global = true, hide_short_help = true, value_name = "SECONDS")]
    pub deadline: Option<f64>,

    /// How long one request may keep retrying (throttling waits and attempts together), in
    /// seconds. Throttling that names its wait (Retry-After) is waited out for as long as this
    /// allows. Env GWB_RETRY_BUDGET. [default: 900]
    #[arg(long, global = true, hide_short_help = true, value_name = "SECONDS")]
    pub retry_budget: Option<f64>,

    /// At most this many pages per listing: a chain of nextLinks that never ends is an error.
    /// 20,000 pages of 999 is 20 million groups. Env GWB_MAX_PAGES. [default: 20000]
    #[arg(long, global = true, hide_short_help = true, value_name = "N")]
    pub max_pages: Option<u64>,

    /// Run against a built-in sample tenant served by an in-process emulator (no tenant, no
    /// credentials needed).
    #[arg(long, global = true, hide_short_help = true, conflicts_with_all = ["graph_url", "auth"])]
    pub emulator: bool,

    /// Number of groups in the --emulator sample tenant [default: 250].
    #[arg(long, global = true, hide_short_help = true, value_name = "N")]
    pub emulator_groups: Option<usize>,

    /// Seed of the --emulator sample tenant [default: 1].
    #[arg(long, global = true, hide_short_help = true, value_name = "S")]
    pub emulator_seed: Option<u64>,

    /// Write the run's figures (groups, drift, changes, Graph requests, success, duration) in
    /// the Prometheus text format to PATH when the command ends, atomically, for
    /// node_exporter's textfile collector.
    #[arg(long, global = true, hide_short_help = true, value_name = "PATH")]
    pub metrics_file: Option<PathBuf>,

    /// Start CSV output with a UTF-8 byte order mark, so Excel shows non-ASCII names (Équipe,
    /// Zürich, 東京) as written.
    #[arg(long, global = true, hide_short_help = true)]
    pub csv_bom: bool,

    /// Print long output as it is, not through the pager (GWB_PAGER, else PAGER, else
    /// less -FRX) that gwb uses on a terminal for report, check and dry runs.
    #[arg(long, global = true, hide_short_help = true)]
    pub no_pager: bool,

    /// Start the --emulator sample tenant afresh. Without it, what earlier --emulator commands
    /// changed is kept (in the state directory), so a walkthrough shows its own changes.
    #[arg(long, global = true, hide_short_help = true)]
    pub emulator_reset: bool,

    /// Set by a fleet run for each of its tenants when it selects more than one: a bearer token
    /// from the environment (GWB_ACCESS_TOKEN, GWB_ACCESS_TOKEN_FILE) is one tenant's, and is
    /// never sent to the others. Not a flag.
    #[arg(skip)]
    pub fleet_member: bool,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    #[default]
    Auto,
    Always,
    Never,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OutputFormat {
    Table,
    Json,
    Ndjson,
    Csv,
    /// JUnit XML (`check` only): drift in CI systems' test tabs.
    Junit,
    /// One self-contained HTML page (`report` and `check`): charts, and the groups in a table
    /// that filters, searches and sorts in the browser. Needs no network to view.
    Html,
}

#[derive(Debug, Clone, Subcommand)]
pub enum Command {
    /// Every group's raw and effective writeback state, plus the tenant default.
    #[command(after_help = "Examples:
  gwb report                                   the table (a pager on a terminal)
  gwb report --kind m365 --written-back        only Microsoft 365 groups written back
  gwb report -o csv > groups.csv               for a spreadsheet
  gwb report --member-counts -o json           with member counts, as JSON")]
    Report(ReportArgs),
    /// Disable writeback on existing Microsoft 365 groups that are written back: planned,
    /// batched, throttle-aware, journaled.
    #[command(
        name = "disable-existing-m365",
        after_help = "Examples:
  gwb disable-existing-m365 --dry-run                    the plan, nothing written
  gwb disable-existing-m365 --plan-out plan.json         save the plan for review
  gwb disable-existing-m365 --plan plan.json --yes       apply the reviewed plan
  gwb disable-existing-m365 --exclude-file keep.txt --created-before 2025-01-01 --yes
  gwb restore --last                                     undo the last run"
    )]
    DisableExistingM365(DisableArgs),
    /// Set the tenant default for new Microsoft 365 groups (NewUnifiedGroupWritebackDefault in
    /// Group.Unified), keeping every other value of the setting.
    #[command(
        name = "set-default",
        after_help = "Examples:
  gwb set-default false --dry-run     what would change
  gwb set-default false               new Microsoft 365 groups are not written back
  gwb restore --last                  put the previous value back"
    )]
    SetDefault(SetDefaultArgs),
    /// Put every group or setting recorded in one or more journals back to its recorded
    /// before-state.
    #[command(after_help = "Examples:
  gwb restore --list                          the journals, newest first
  gwb restore --last --dry-run                what undoing the last run would do
  gwb restore --journal PATH --yes            undo that run")]
    Restore(RestoreArgs),
    /// Compare the tenant with [policy] in the config file: exit 0 compliant, 3 drift found.
    /// --fix puts the drift right (journaled, as disable-existing-m365 and set-default do) and
    /// checks again.
    #[command(after_help = "Examples:
  gwb check                                   exit 0 compliant, 3 drift
  gwb check -o csv > drift.csv                the drift for a change board
  gwb check --fix --dry-run                   what --fix would change
  gwb check --fix --yes --max-changes 500     the nightly job")]
    Check(CheckArgs),
    /// Show the resolved configuration and where each value came from (secrets redacted).
    #[command(after_help = "Examples:
  gwb config show                   every setting and where it came from
  gwb config init                   write a commented starting config file")]
    Config(ConfigArgs),
    /// Serve a local Graph emulator with a generated tenant (for trying gwb and testing automation).
    #[command(after_help = "Examples:
  gwb emulator --groups 10000 --latency-ms 50
  GWB_GRAPH_URL=http://127.0.0.1:8080 GWB_ACCESS_TOKEN=any gwb report")]
    Emulator(EmulatorArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell or pwsh) to stdout.
    #[command(after_help = "Examples:
  gwb completions bash > ~/.local/share/bash-completion/completions/gwb
  gwb completions pwsh >> $PROFILE")]
    Completions(CompletionsArgs),
    /// Print gwb's man page (roff) to stdout, or with --dir write one page per subcommand.
    #[command(after_help = "Examples:
  gwb man > gwb.1
  gwb man --dir /usr/local/share/man/man1     gwb.1, gwb-report.1, gwb-check.1, ...")]
    Man(ManArgs),
    /// Join the JSON fleet documents of several shards (--shard K/N -o json) into one, with one
    /// summary; exit as the fleet would (1 any tenant failed, else 3 any drifted, else 0).
    #[command(after_help = "Examples:
  gwb merge shard-1.json shard-2.json shard-3.json > fleet.json")]
    Merge(MergeArgs),
    /// The runs of check that the state keeps (counts per run, the drift's trend, how long the
    /// current drift has lasted), newest first. Reads the state directory only: no sign-in.
    #[command(after_help = "Examples:
  gwb history                                  this tenant's runs, newest first
  gwb history --tenant contoso --last 30       one tenant of the config's [[tenants]]
  gwb history --all-tenants -o json            every tenant, for a dashboard")]
    History(HistoryArgs),
}

#[derive(Debug, Args, Clone)]
pub struct HistoryArgs {
    /// Read this state file (as check --state PATH wrote it) instead of the state directory's.
    #[arg(long, value_name = "PATH")]
    pub state: Option<PathBuf>,
    /// Show only the newest N runs of each tenant.
    #[arg(long, value_name = "N")]
    pub last: Option<usize>,
}

#[derive(Debug, Args, Clone)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub shell: Shell,
}

/// The shells gwb completes for (clap_complete's, with `pwsh` for PowerShell).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Shell {
    Bash,
    Elvish,
    Fish,
    #[value(alias = "pwsh")]
    Powershell,
    Zsh,
}

impl From<Shell> for clap_complete::Shell {
    fn from(s: Shell) -> Self {
        match s {
            Shell::Bash => clap_complete::Shell::Bash,
            Shell::Elvish => clap_complete::Shell::Elvish,
            Shell::Fish => clap_complete::Shell::Fish,
            Shell::Powershell => clap_complete::Shell::PowerShell,
            Shell::Zsh => clap_complete::Shell::Zsh,
        }
    }
}

#[derive(Debug, Args, Clone)]
pub struct MergeArgs {
    /// The shards' JSON outputs.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Merge even when a shard's output is missing (or the shards disagree on their count):
    /// a warning instead of exit 1. The merged document lists the missing shards either way.
    #[arg(long)]
    pub allow_missing: bool,
}

#[derive(Debug, Args, Clone)]
pub struct ManArgs {
    /// Write gwb.1 and one page per subcommand (gwb-report.1, ...) into this directory.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

impl Command {
    /// The subcommand's name, as typed.
    pub fn name(&self) -> &'static str {
        match self {
            Command::Report(_) => "report",
            Command::DisableExistingM365(_) => "disable-existing-m365",
            Command::SetDefault(_) => "set-default",
            Command::Restore(_) => "restore",
            Command::Check(_) => "check",
            Command::Config(_) => "config",
            Command::Emulator(_) => "emulator",
            Command::Completions(_) => "completions",
            Command::Man(_) => "man",
            Command::Merge(_) => "merge",
            Command::History(_) => "history",
        }
    }
}

/// How a bulk change is applied.
#[derive(Debug, Args, Clone)]
pub struct ApplyArgs {
    /// Show what would change and make no writes.
    #[arg(long)]
    pub dry_run: bool,
    /// Apply without asking (required when no terminal is attached).
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Refuse to apply a plan with more than N changes (a guard for scheduled jobs).
    #[arg(long, value_name = "N")]
    pub max_changes: Option<usize>,
    /// Batches of 20 requests in flight at once.
    #[arg(long, value_name = "N", default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=16))]
    pub concurrency: u16,
    /// Writes allowed per write window (Graph: 3,000 per 150 s per app and tenant).
    #[arg(long, value_name = "N", default_value_t = 3_000, value_parser = clap::value_parser!(u32).range(20..))]
    pub write_limit: u32,
    /// The write window in seconds (fractions allowed).
    #[arg(long, value_name = "SECONDS", default_value_t = 150.0)]
    pub write_window: f64,
    /// After writing, how long to keep reading the changed groups back while Graph does not
    /// yet show the changes (reads can lag writes); those that never show are failed.
    #[arg(long, value_name = "SECONDS", default_value_t = 30.0)]
    pub verify_timeout: f64,
}

#[derive(Debug, Args, Clone)]
pub struct DisableArgs {
    #[command(flatten)]
    pub apply: ApplyArgs,
    /// A group id to leave written back (repeatable).
    #[arg(long, value_name = "ID", conflicts_with = "plan")]
    pub exclude: Vec<String>,
    /// A file of group ids to leave written back: one per line, `#` starts a comment.
    #[arg(long, value_name = "PATH", conflicts_with = "plan")]
    pub exclude_file: Vec<PathBuf>,
    /// Only groups created before this date (YYYY-MM-DD, or YYYY-MM-DDTHH:MM:SSZ; UTC).
    #[arg(long, value_name = "DATE", conflicts_with = "plan")]
    pub created_before: Option<String>,
    /// Leave role-assignable groups alone (Graph changes them only for an app that also holds
    /// RoleManagement.ReadWrite.Directory); they are listed as skipped and counted.
    #[arg(long, conflicts_with = "plan")]
    pub skip_role_assignable: bool,
    /// The plan's table also shows each group's id.
    #[arg(long)]
    pub wide: bool,
    /// Save the plan to PATH and stop (review it, then apply it with --plan).
    #[arg(long, value_name = "PATH", conflicts_with = "plan")]
    pub plan_out: Option<PathBuf>,
    /// With --plan-out: replace a file already at PATH (never its target, if it is a symlink).
    #[arg(long, requires = "plan_out")]
    pub force: bool,
    /// Apply a saved plan: each group is read again and skipped if it changed since.
    #[arg(long, value_name = "PATH")]
    pub plan: Option<PathBuf>,
    /// The journal to write (default: a new file in $XDG_STATE_HOME/gwb/).
    #[arg(long, value_name = "PATH")]
    pub journal: Option<PathBuf>,
    /// Include the groups the config's policy keeps ([policy] allow, [[policy.exception]] in
    /// force), which are otherwise left out of the plan and kept in a review.
    #[arg(long)]
    pub ignore_policy: bool,
    /// With --plan REVIEW.csv: apply a review whose rows name groups that were renamed since
    /// (needed when no one is asked: --yes, or no terminal).
    #[arg(long, requires = "plan")]
    pub accept_renamed: bool,
}

#[derive(Debug, Args, Clone)]
pub struct ConfigArgs {
    #[command(subcommand)]
    pub action: ConfigAction,
}

#[derive(Debug, Subcommand, Clone)]
pub enum ConfigAction {
    /// Print every setting, its value and its source; secrets show only whether they are set.
    Show,
    /// Write a commented starting config file (every key, with what it does) to the default
    /// path, or to --path; never over an existing file unless --force. With --from-tenant, the
    /// tenant as it stands as a starting policy, under which gwb check is compliant today.
    Init {
        /// Where to write it [default: $XDG_CONFIG_HOME/gwb/config.toml].
        #[arg(long, value_name = "PATH")]
        path: Option<PathBuf>,
        /// Replace an existing file.
        #[arg(long)]
        force: bool,
        /// Read the tenant and write its baseline: new_m365_default as read, both kinds'
        /// writeback "disabled" with every group written back today in allow. The policy
        /// binds disable-existing-m365 too (trim allow, or --ignore-policy, to disable them).
        #[arg(long)]
        from_tenant: bool,
    },
}

#[derive(Debug, Args, Clone)]
pub struct SetDefaultArgs {
    /// Whether new Microsoft 365 groups are written back by default: true or false.
    #[arg(value_name = "true|false", action = clap::ArgAction::Set, value_parser = clap::builder::BoolValueParser::new())]
    pub value: bool,
    /// Show the change and make no writes.
    #[arg(long)]
    pub dry_run: bool,
    /// The journal to write (default: a new file in $XDG_STATE_HOME/gwb/).
    #[arg(long, value_name = "PATH")]
    pub journal: Option<PathBuf>,
    /// How long to wait for Graph to show the new value when reading it back (reads can lag
    /// writes by about 10 s).
    #[arg(long, value_name = "SECONDS", default_value_t = 30.0)]
    pub verify_timeout: f64,
}

#[derive(Debug, Args, Clone)]
pub struct CheckArgs {
    /// Put the drift right: disable writeback on the drifted groups and set the tenant default,
    /// then check again.
    #[arg(long)]
    pub fix: bool,
    /// Where check keeps what it found, to say what is new, persisting or resolved next time
    /// [default: a file per tenant and Graph root in the state directory].
    #[arg(long, value_name = "PATH")]
    pub state: Option<PathBuf>,
    /// Send a sample notification to every [[notify]] destination and say which were
    /// delivered (exit 0 if all were, 1 if not); checks nothing.
    #[arg(long, conflicts_with = "fix")]
    pub notify_test: bool,
    #[command(flatten)]
    pub apply: ApplyArgs,
}

#[derive(Debug, Args, Clone)]
pub struct RestoreArgs {
    #[command(flatten)]
    pub apply: ApplyArgs,
    /// A journal to restore from (repeatable; for a group in several, the earliest run wins).
    #[arg(
        long = "journal",
        value_name = "PATH",
        required_unless_present_any = ["last", "list"],
        conflicts_with_all = ["last", "list"]
    )]
    pub journals: Vec<PathBuf>,
    /// Restore from the newest journal in the state directory made against this tenant and
    /// Graph root (the last run's undo).
    #[arg(long, conflicts_with = "list")]
    pub last: bool,
    /// With --last: a restore's own journal counts too (without it --last skips them, so that
    /// undoing twice never silently redoes the change).
    #[arg(long, requires = "last")]
    pub include_restores: bool,
    /// List the journals in the state directory (command, start, tenant, counts, finished or
    /// interrupted) and change nothing; needs no sign-in.
    #[arg(long)]
    pub list: bool,
    /// The journal that records this restore (default: a new file in $XDG_STATE_HOME/gwb/).
    #[arg(long, value_name = "PATH")]
    pub record: Option<PathBuf>,
    /// Also put back groups (and the tenant default) that were changed after gwb's run, to the
    /// journal's state; without it they are left alone and reported (exit 1). Asks first, like
    /// any restore, unless --yes.
    #[arg(long)]
    pub force: bool,
    /// The dry run's table also shows each group's id.
    #[arg(long)]
    pub wide: bool,
}

#[derive(Debug, Args, Clone, Default)]
pub struct ReportArgs {
    /// Only groups of this kind (repeatable).
    #[arg(long, value_enum)]
    pub kind: Vec<Kind>,
    /// Only groups that are effectively written back.
    #[arg(long)]
    pub written_back: bool,
    /// Also count the members of each written-back group shown (one $count per group, 20 per
    /// $batch) and flag those the default sync rule skips for size (Microsoft 365 over 50,000,
    /// security over 250,000).
    #[arg(long)]
    pub member_counts: bool,
    /// The table with each group's id and raw writebackConfiguration (isEnabled,
    /// onPremisesGroupType) too. On a terminal, names are otherwise cut to fit its width.
    #[arg(long)]
    pub wide: bool,
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
    /// Enforce a write limit: at most N group writes per --write-window seconds, else 429.
    #[arg(long, value_name = "N")]
    pub write_limit: Option<u32>,
    /// The emulator's write window in seconds (fractions allowed).
    #[arg(long, value_name = "SECONDS", default_value_t = 150.0)]
    pub write_window: f64,
    /// Graph's read-after-write lag for groups, in milliseconds: reads show a group's previous
    /// state for this long after a write.
    #[arg(long, value_name = "MS", default_value_t = 0)]
    pub read_lag_ms: u64,
    /// Graph's read-after-write lag counted in reads: the next N reads of a group written to
    /// still show its previous state (instead of --read-lag-ms).
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub read_lag_reads: u32,
    /// Serve the sync features (/directory/onPremisesSynchronization) as Graph does to a
    /// delegated Global Administrator; without it, 403 as to an app-only token.
    #[arg(long)]
    pub delegated_admin: bool,
    /// A throttling storm: answer the first N $batch items 429, however many attempts it takes.
    #[arg(long, value_name = "N")]
    pub storm: Option<u64>,
    /// The storm's Retry-After, in seconds.
    #[arg(long, value_name = "SECONDS", default_value = "1")]
    pub storm_retry_after: String,
    /// Answer a $batch with a throttled item 424 Failed Dependency as a whole (the items' own
    /// answers in the body), as Graph's throttling page describes.
    #[arg(long)]
    pub batch_424: bool,
    /// Store setting values true/false as True/False, as Graph is known to.
    #[arg(long)]
    pub capitalise_booleans: bool,
    /// With --delegated-admin: the sync features say group writeback v2 is on
    /// (groupWriteBackEnabled: true). Without it v1 runs alone and writes every Microsoft 365
    /// group back whatever its flag.
    #[arg(long, requires = "delegated_admin")]
    pub group_writeback_v2: bool,
    /// The tenant conceals user, group and site names in its usage reports: reportSettings says
    /// displayConcealedNames true, and the groups activity report's ids are hashes shaped like
    /// GUIDs.
    #[arg(long)]
    pub concealed_reports: bool,
    /// Serve a fleet: N tenants, each its own emulator (seeds --seed, --seed + 1, ...; ports
    /// from --listen's up, or any free ones with port 0).
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub tenants: usize,
    /// With --tenants: write a config file at PATH naming every tenant ([[tenants]] tenant-01,
    /// ...) with a sample [policy], for gwb --config PATH --all-tenants ...
    #[arg(long, value_name = "PATH", requires = "tenants")]
    pub fleet_config: Option<PathBuf>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_clap_definitions_are_consistent() {
        // clap checks these only when a subcommand is used; check them all here.
        Cli::command().debug_assert();
    }
}

/// How gwb signs in.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, clap::ValueEnum,
)]
#[serde(rename_all = "kebab-case")]
pub enum AuthKind {
    /// A bearer token obtained elsewhere, from `GWB_ACCESS_TOKEN` (also used for the emulator).
    AccessToken,
    /// An app registration's client secret: `AZURE_TENANT_ID`, `AZURE_CLIENT_ID`,
    /// `AZURE_CLIENT_SECRET`.
    ClientSecret,
    /// An app registration's certificate: `AZURE_TENANT_ID`, `AZURE_CLIENT_ID`,
    /// `AZURE_CLIENT_CERTIFICATE_PATH` (PEM with the private key, or PFX), and
    /// `AZURE_CLIENT_CERTIFICATE_PASSWORD` for an encrypted key or PFX.
    ClientCertificate,
    /// Workload identity federation (Kubernetes, GitHub Actions): `AZURE_TENANT_ID`,
    /// `AZURE_CLIENT_ID`, `AZURE_FEDERATED_TOKEN_FILE`.
    WorkloadIdentity,
    /// An Azure managed identity: system-assigned, or user-assigned with `AZURE_CLIENT_ID`.
    ManagedIdentity,
    /// The signed-in Azure CLI (`az login`), for people at a terminal.
    AzureCli,
}

/// A group's kind, as Microsoft's own tooling classifies it.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    serde::Serialize,
    serde::Deserialize,
    clap::ValueEnum,
)]
#[serde(rename_all = "camelCase")]
#[value(rename_all = "camelCase")]
pub enum Kind {
    #[value(alias = "m365", alias = "microsoft-365", alias = "unified")]
    Microsoft365,
    Security,
    #[value(alias = "mail-security", alias = "mail-enabled-security")]
    MailEnabledSecurity,
    Distribution,
}
