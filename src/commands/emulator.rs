//! `gwb emulator`: serve the Graph emulator in the foreground until interrupted.

use crate::cli::EmulatorArgs;
use crate::emulator::{Emulator, EmulatorConfig, Tenant};
use crate::error::ExitStatus;

pub async fn run(args: &EmulatorArgs) -> anyhow::Result<ExitStatus> {
    if !(0.0..=1.0).contains(&args.fault_rate) {
        return Err(crate::error::UsageError(format!(
            "--fault-rate must be between 0 and 1, not {}",
            args.fault_rate
        ))
        .into());
    }
    let cfg = EmulatorConfig {
        sync_features_readable: args.delegated_admin,
        write_quirks: Default::default(),
        storm: args.storm.map(|n| (n, args.storm_retry_after.clone())),
        batch_424: args.batch_424,
        capitalise_booleans: args.capitalise_booleans,
        hold_pages: None,
        only_token: None,
        read_lag: std::time::Duration::from_millis(args.read_lag_ms),
        read_lag_reads: args.read_lag_reads,
        latency: std::time::Duration::from_millis(args.latency_ms),
        fault_rate: args.fault_rate,
        seed: args.seed,
        write_limit: match args.write_limit {
            Some(n) => Some((
                n,
                super::seconds("--write-window", args.write_window, false)?,
            )),
            None => None,
        },
    };
    let emu = Emulator::start(Tenant::generate(args.groups, args.seed), cfg, args.listen)
        .await
        .map_err(|e| crate::error::UsageError(format!("cannot listen on {}: {e}", args.listen)))?;
    // The first line is stable ("listening on URL") so scripts and tests can read the port.
    crate::output::banner(&format!(
        "gwb emulator: listening on {2}\n{0} groups (seed {1}); try:  GWB_GRAPH_URL={3} GWB_ACCESS_TOKEN=any-token gwb report\nstop with Ctrl-C or SIGTERM",
        args.groups,
        args.seed,
        emu.url(),
        emu.url()
    ));
    shutdown_signal().await;
    emu.stop().await;
    Ok(ExitStatus::Ok)
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("SIGTERM handler");
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
