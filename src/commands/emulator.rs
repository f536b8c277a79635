//! `gwb emulator`: serve the Graph emulator in the foreground until interrupted.

use crate::ExitStatus;
use crate::cli::EmulatorArgs;
use crate::emulator::{Emulator, EmulatorConfig, Tenant};

pub async fn run(args: &EmulatorArgs) -> anyhow::Result<ExitStatus> {
    if !(0.0..=1.0).contains(&args.fault_rate) {
        return Err(crate::UsageError(format!(
            "--fault-rate must be between 0 and 1, not {}",
            args.fault_rate
        ))
        .into());
    }
    let cfg = EmulatorConfig {
        latency: std::time::Duration::from_millis(args.latency_ms),
        fault_rate: args.fault_rate,
        seed: args.seed,
    };
    let emu = Emulator::start(Tenant::generate(args.groups, args.seed), cfg, args.listen)
        .await
        .map_err(|e| crate::UsageError(format!("cannot listen on {}: {e}", args.listen)))?;
    eprintln!(
        "gwb emulator: {} groups (seed {}) at {}\ntry:  GWB_GRAPH_URL={} GWB_ACCESS_TOKEN=any-token gwb report\nstop with Ctrl-C",
        args.groups,
        args.seed,
        emu.url(),
        emu.url()
    );
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
