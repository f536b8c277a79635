//! The gwb binary: parse, set up logging, run, print an error once, exit with a documented code.

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;
use gwb::cli::Cli;
use tracing::Instrument as _;

#[tokio::main]
async fn main() -> ExitCode {
    let started = std::time::Instant::now();
    let cli = Cli::parse();
    // For the exit path's metrics file, written even when the run never reached a tenant.
    let metrics = cli.global.metrics_file.clone().map(|path| {
        let name = cli.global.tenant.first().cloned();
        (path, name, cli.command.name())
    });
    #[allow(clippy::disallowed_methods)] // the root: hands the environment to config
    let (log_settings, log_error) = gwb::config::logging(&cli.global, &|k| std::env::var(k).ok());
    gwb::init_logging(log_settings);
    // Output that is not a terminal is fitted to COLUMNS when it is set, as ls does.
    #[allow(clippy::disallowed_methods)] // the root: the one terminal setting read here
    let columns = std::env::var("COLUMNS").ok();
    gwb::output::set_columns(columns.and_then(|c| c.trim().parse().ok()));
    // Every log line of this run carries its id (in JSON logs: span.run_id).
    let run_id = gwb::clock::this_run_id();
    let span = tracing::info_span!("gwb", run_id = %run_id, command = cli.command.name());
    // Buffered: a 100,000-group JSON report is millions of small writes otherwise. A reader
    // that goes away (`gwb check -o ndjson | head -1`) stops the output, not the command: the
    // exit code stays the command's own (drift, a failed group).
    let mut out = gwb::output::PipeTolerant::new(std::io::BufWriter::with_capacity(
        64 * 1024,
        std::io::stdout().lock(),
    ));
    let result = match log_error {
        Some(e) => Err(e.into()),
        None => gwb::run(cli, &mut out).instrument(span.clone()).await,
    };
    let _ = out.flush();
    let code = match result {
        Ok(status) => status as u8,
        // A broken pipe is swallowed by PipeTolerant; one that still surfaces (a write outside
        // it) is not an error either.
        Err(e) if is_broken_pipe(&e) => 0,
        Err(e) => {
            let status = gwb::exit::for_error(&e);
            gwb::output::error_message(&span, &format!("{e:#}"), status as u8);
            status as u8
        }
    };
    // A run that failed before it reached a tenant still leaves its metrics file, saying so.
    if let Some((path, name, command)) = &metrics {
        gwb::metrics::write_unreached(path, name.as_deref(), command, code, started.elapsed());
    }
    // Last, whatever happened: each journal and how to undo it, each saved plan and how to
    // apply it.
    gwb::output::say_the_way_back(&run_id);
    ExitCode::from(code)
}

/// `gwb report | head` closes stdout early: that is not an error.
fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain()
        .filter_map(|c| c.downcast_ref::<std::io::Error>())
        .any(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
}
