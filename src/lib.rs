//! gwb: keep a Microsoft Entra tenant's group writeback configuration under control through
//! Microsoft Graph beta.
//!
//! Every import points down a floor (ARCHITECTURE.md; `tests/it/layers.rs` checks it): leaves,
//! then graph, the pure core, documents, the printer, config, the change layer, commands, the
//! session, the dispatcher, the fleet, and this entry, which nothing imports.

pub mod auth;
pub mod change;
pub mod cli;
pub mod clock;
pub(crate) mod cloud;
pub mod commands;
pub mod config;
pub(crate) mod dispatch;
pub(crate) mod doc;
pub mod emulator;
pub mod error;
pub mod exit;
pub(crate) mod files;
pub(crate) mod fleet;
pub mod graph;
pub(crate) mod interrupt;
pub mod journal;
pub mod lock;
pub mod metrics;
pub(crate) mod notify;
pub mod output;
pub(crate) mod permissions;
pub(crate) mod session;
pub mod writeback;

use std::io::Write;

use anyhow::Context as _;

use cli::{Cli, Command};

pub use config::LogSettings;
pub use error::{ExitStatus, UsageError};

/// Run a parsed command line, writing data to `out`, or with `--out FILE` to that file
/// (atomically: whole when the command ends, absent when it fails).
pub async fn run(cli: Cli, out: &mut dyn Write) -> anyhow::Result<ExitStatus> {
    output::set_csv_bom(cli.global.csv_bom);
    interrupt::on_hard_stop(|| output::say_the_way_back(&clock::this_run_id()));
    let Some(path) = cli.global.out.clone() else {
        return run_command(cli, out).await;
    };
    if matches!(cli.command, Command::Emulator(_)) {
        return Err(UsageError("--out: the emulator prints no data to keep".into()).into());
    }
    let mut file = files::AtomicOut::create(&path).map_err(|e| {
        UsageError(format!(
            "--out {}: cannot write there ({e}); give a file in a directory that exists and you may write to (nothing was done)",
            path.display()
        ))
    })?;
    let result = run_command(cli, &mut file).await;
    // A command that ended (whatever its exit code) wrote its whole output; one that failed
    // leaves no file behind.
    if result.is_ok() {
        file.commit()
            .with_context(|| format!("--out {}: cannot finish the file", path.display()))?;
        output::notice(&format!("wrote {}", path.display()));
    }
    result
}

/// One match, one arm per command.
async fn run_command(cli: Cli, out: &mut dyn Write) -> anyhow::Result<ExitStatus> {
    if let Command::History(args) = &cli.command {
        // Several tenants' history is read, not run: no fleet.
        let cfg = session::config_of(&{
            let mut g = cli.global.clone();
            g.tenant.clear();
            g.all_tenants = false;
            g
        })?;
        let pager = cfg.pager.as_ref().map(|p| p.value.as_str());
        let mut w = output::pager::Paged::new(out, pager, cfg.format(), cfg.out.is_none());
        let r = commands::history::run(&cli.global, args, &cfg, &session::config_of, &mut w);
        w.finish();
        return r;
    }
    if fleet::selected(&cli.global) {
        return fleet::run(&cli, out).await;
    }
    match &cli.command {
        Command::Emulator(args) => commands::emulator::run(args).await,
        Command::Completions(args) => {
            let mut cmd = <Cli as clap::CommandFactory>::command();
            clap_complete::generate(clap_complete::Shell::from(args.shell), &mut cmd, "gwb", out);
            out.flush()?;
            Ok(ExitStatus::Ok)
        }
        Command::Man(args) => commands::man::run(args, out),
        Command::Config(cli::ConfigArgs {
            action: cli::ConfigAction::Init {
                from_tenant: true, ..
            },
        }) => {
            let s = session::Session::open(&cli).await?;
            dispatch::on_tenant(&s, &cli.command, out).await
        }
        Command::Config(cli::ConfigArgs {
            action: cli::ConfigAction::Init { path, force, .. },
        }) => {
            let cfg = session::config(&cli)?;
            commands::config_show::init(path.as_deref().or(cfg.file_looked_at.as_deref()), *force)
        }
        Command::Config(_) => {
            let cfg = session::config(&cli)?;
            let format = cfg.format();
            commands::config_show::run(&cfg, format, out)
        }
        Command::Restore(args) if args.list => {
            let cfg = session::config(&cli)?;
            let format = cfg.format();
            let pager = cfg.pager.as_ref().map(|p| p.value.as_str());
            let mut w = output::pager::Paged::new(out, pager, format, cfg.out.is_none());
            let way_back =
                change::WayBack::new(&cli.global, cfg.file.as_deref(), cfg.tenant.as_deref());
            let r = commands::restore::list(cfg.state_dir.as_deref(), format, &way_back, &mut w);
            w.finish();
            r
        }
        Command::Merge(args) => fleet::merge::run(args, cli.global.output, out),
        command => {
            let s = session::Session::open(&cli).await?;
            dispatch::on_tenant(&s, command, out).await
        }
    }
}

/// Set up logging to stderr (see [`LogSettings::filter`]); JSON lines carry the run's span,
/// with its run id.
pub fn init_logging(settings: LogSettings) {
    use std::io::IsTerminal;
    let filter = tracing_subscriber::EnvFilter::new(settings.filter());
    output::set_messages(settings.format == cli::LogFormat::Json, settings.quiet);
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(output::LogWriter)
        .with_target(false);
    let _ = match settings.format {
        cli::LogFormat::Text => builder
            .with_ansi(settings.ansi(std::io::stderr().is_terminal()))
            .try_init(),
        cli::LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .try_init(),
    };
}
