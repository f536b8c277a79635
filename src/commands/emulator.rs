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
    let cfg = config(args)?;
    if args.tenants == 0 {
        return Err(crate::error::UsageError(
            "--tenants 0: give 1 or more (nothing was done)".into(),
        )
        .into());
    }
    let emus = start(args, &cfg).await?;
    let urls: Vec<String> = emus.iter().map(Emulator::url).collect();
    // The first line is stable ("listening on URL") so scripts and tests can read the port.
    if args.tenants == 1 {
        crate::output::banner(&format!(
            "gwb emulator: listening on {2}\n{0} groups (seed {1}); try:  GWB_GRAPH_URL={3} GWB_ACCESS_TOKEN=any-token gwb report\nstop with Ctrl-C or SIGTERM",
            args.groups, args.seed, urls[0], urls[0]
        ));
    } else {
        crate::output::banner(&format!(
            "gwb emulator: listening on {}\n{} tenants of {} groups (seeds {} to {}): {}",
            urls[0],
            args.tenants,
            args.groups,
            args.seed,
            args.seed + args.tenants as u64 - 1,
            urls.join(" ")
        ));
    }
    if let Some(path) = &args.fleet_config {
        write_fleet_config(path, &urls)?;
        crate::output::banner(&format!(
            "fleet config: {0}; try:  gwb --config {0} --all-tenants report\nstop with Ctrl-C or SIGTERM",
            path.display()
        ));
    }
    shutdown_signal().await;
    for emu in emus {
        emu.stop().await;
    }
    Ok(ExitStatus::Ok)
}

/// The emulator's behaviour from the flags.
fn config(args: &EmulatorArgs) -> anyhow::Result<EmulatorConfig> {
    Ok(EmulatorConfig {
        sync_features_readable: args.delegated_admin,
        group_writeback_v2: args.group_writeback_v2,
        write_quirks: Default::default(),
        storm: args.storm.map(|n| (n, args.storm_retry_after.clone())),
        batch_424: args.batch_424,
        capitalise_booleans: args.capitalise_booleans,
        hold_pages: None,
        only_token: None,
        cloud_sync: crate::emulator::sample_cloud_sync(),
        cloud_sync_forbidden: false,
        report_settings_forbidden: false,
        sync_behavior_forbidden: false,
        activity_report: if args.concealed_reports {
            crate::emulator::ActivityReport::ConcealedGuidLike
        } else {
            Default::default()
        },
        read_lag: std::time::Duration::from_millis(args.read_lag_ms),
        read_lag_reads: args.read_lag_reads,
        latency: std::time::Duration::from_millis(args.latency_ms),
        fault_rate: args.fault_rate,
        seed: args.seed,
        write_limit: match args.write_limit {
            Some(n) => Some((
                n,
                crate::change::seconds("--write-window", args.write_window, false)?,
            )),
            None => None,
        },
    })
}

/// One emulator per tenant, on consecutive ports (or each on a free one with port 0).
async fn start(args: &EmulatorArgs, cfg: &EmulatorConfig) -> anyhow::Result<Vec<Emulator>> {
    let mut emus = Vec::new();
    for i in 0..args.tenants {
        let mut addr = args.listen;
        if addr.port() != 0 {
            let port = u16::try_from(usize::from(addr.port()) + i).map_err(|_| {
                crate::error::UsageError(format!(
                    "--tenants {}: ports from {} run past 65535; give a lower port or port 0",
                    args.tenants,
                    args.listen.port()
                ))
            })?;
            addr.set_port(port);
        }
        let seed = args.seed + i as u64;
        let mut cfg = cfg.clone();
        cfg.seed = seed;
        let emu = Emulator::start(
            Tenant::generate(args.groups, seed).with_sample_sources(),
            cfg,
            addr,
        )
        .await
        .map_err(|e| crate::error::UsageError(format!("cannot listen on {addr}: {e}")))?;
        emus.push(emu);
    }
    Ok(emus)
}

/// A config file naming each emulated tenant, with the token they accept in a file beside it
/// (`PATH.token`, readable by its owner only) and a sample policy.
fn write_fleet_config(path: &std::path::Path, urls: &[String]) -> anyhow::Result<()> {
    let token = path.with_extension("token");
    let cannot = |p: &std::path::Path, e: std::io::Error| {
        crate::error::UsageError(format!(
            "--fleet-config: cannot write {} ({e}); give a path in a directory that exists",
            p.display()
        ))
    };
    crate::files::write_atomic(&token, b"emulator-token").map_err(|e| cannot(&token, e))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&token, std::fs::Permissions::from_mode(0o600))
            .map_err(|e| cannot(&token, e))?;
    }
    let mut toml = format!(
        "# A fleet of emulated tenants (gwb emulator --tenants {}).\nauth = \"access-token\"\naccess_token_file = {}\n\n[policy]\nnew_m365_default = false\nm365_writeback = \"disabled\"\n",
        urls.len(),
        toml_string(&token.display().to_string())
    );
    for (i, url) in urls.iter().enumerate() {
        toml.push_str(&format!(
            "\n[[tenants]]\nname = \"tenant-{:02}\"\ngraph_url = \"{url}\"\n",
            i + 1
        ));
    }
    crate::files::write_atomic(path, toml.as_bytes()).map_err(|e| cannot(path, e))?;
    Ok(())
}

/// A TOML basic string.
fn toml_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
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
