//! gwb: keep a Microsoft Entra tenant's group writeback configuration under control through
//! Microsoft Graph beta.
//!
//! Data flows one way: cli -> config/auth -> commands -> (graph, writeback) -> output.

pub mod auth;
pub mod cli;
pub mod commands;
pub mod config;
pub mod emulator;
pub mod error;
pub mod files;
pub mod graph;
pub mod interrupt;
pub mod journal;
pub mod lock;
pub mod output;
pub mod permissions;
pub mod writeback;

use std::io::Write;
use std::net::{Ipv4Addr, SocketAddr};

use anyhow::Context as _;

use cli::{Cli, Command};
use config::Source;

pub use error::{ExitStatus, UsageError};

/// Run a parsed command line, writing data to `out`.
pub async fn run(cli: Cli, out: &mut dyn Write) -> anyhow::Result<ExitStatus> {
    match &cli.command {
        Command::Emulator(args) => return commands::emulator::run(args).await,
        Command::Completions(args) => {
            let mut cmd = <Cli as clap::CommandFactory>::command();
            clap_complete::generate(args.shell, &mut cmd, "gwb", out);
            out.flush()?;
            return Ok(ExitStatus::Ok);
        }
        Command::Man => {
            let cmd = <Cli as clap::CommandFactory>::command();
            clap_mangen::Man::new(cmd).render(out)?;
            out.flush()?;
            return Ok(ExitStatus::Ok);
        }
        _ => {}
    }
    let cfg = config::resolve(&cli.global, &|k| std::env::var(k).ok())?;
    for w in &cfg.warnings {
        tracing::warn!("{w}");
    }
    if let Command::Config(_) = &cli.command {
        let format = cfg
            .output
            .as_ref()
            .map(|o| o.value)
            .unwrap_or_else(output::default_format);
        return commands::config_show::run(&cfg, format, out);
    }
    tracing::info!(graph_url = %cfg.graph_url.value, source = %cfg.graph_url.source, "graph_url");
    if let Some(f) = &cfg.file {
        tracing::info!(file = %f.display(), "read config file");
    }

    // --emulator: serve a sample tenant in-process and point the client at it.
    let g = &cli.global;
    let deadline = commands::seconds("--deadline", g.deadline, false)?;
    if !g.emulator && (g.emulator_groups.is_some() || g.emulator_seed.is_some()) {
        return Err(UsageError(
            "--emulator-groups and --emulator-seed only apply with --emulator".into(),
        )
        .into());
    }
    let (groups, seed) = (
        g.emulator_groups.unwrap_or(250),
        g.emulator_seed.unwrap_or(1),
    );
    let mut _emulator = None;
    let mut renew: Option<graph::Renew> = None;
    let (root, credential) = if cli.global.emulator {
        let tenant = emulator::Tenant::generate(groups, seed);
        let emu = emulator::Emulator::start(
            tenant,
            emulator::EmulatorConfig::default(),
            SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
        )
        .await
        .context("starting the built-in emulator")?;
        tracing::warn!(
            "using the built-in emulator at {} with a sample tenant of {} groups (seed {}); no real tenant is read",
            emu.url(),
            groups,
            seed
        );
        let root = emu.url();
        _emulator = Some(emu);
        (
            root,
            std::sync::Arc::new(auth::StaticToken::new("emulator-token")) as _,
        )
    } else {
        let kind = cfg.auth.as_ref().ok_or_else(|| {
            UsageError(
                "no credentials: choose how to sign in with --auth / GWB_AUTH (azure-cli at a terminal after `az login`, managed-identity on Azure, workload-identity with AZURE_FEDERATED_TOKEN_FILE, client-secret with AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET, client-certificate with AZURE_CLIENT_CERTIFICATE_PATH instead of the secret, access-token with GWB_ACCESS_TOKEN), or try --emulator".into(),
            )
        })?;
        tracing::info!(auth = kind.value.as_str(), source = %kind.source, "auth");
        if matches!(kind.source, Source::Inferred(_)) {
            tracing::info!(
                "no auth kind configured; using {} ({})",
                kind.value.as_str(),
                kind.source
            );
        }
        if kind.value.signs_in() {
            // A 401 gets one fresh token: a new credential, with an empty cache.
            let (k, inputs) = (kind.value, cfg.auth_inputs.clone());
            renew = Some(std::sync::Arc::new(move || {
                auth::credential(k, &inputs).map_err(|e| e.to_string())
            }));
        }
        (
            cfg.graph_url.value.clone(),
            auth::credential(kind.value, &cfg.auth_inputs)?,
        )
    };
    let mut builder = graph::GraphClient::builder(root, credential)
        .read_timeout(commands::seconds("--read-timeout", g.read_timeout, false)?)
        .timeout(commands::seconds(
            "--request-timeout",
            g.request_timeout,
            false,
        )?)
        .max_pages(g.max_pages)
        .retry(graph::retry::RetryPolicy {
            budget: commands::seconds("--retry-budget", g.retry_budget, false)?,
            ..Default::default()
        });
    if let Some(r) = renew {
        builder = builder.renew_with(r);
    }
    let client = builder.build()?;
    let format = cfg
        .output
        .map(|o| o.value)
        .unwrap_or_else(output::default_format);
    // Plans and journals record the tenant, so they are never applied to another one.
    let tenant_id = match &cli.command {
        Command::DisableExistingM365(_)
        | Command::SetDefault(_)
        | Command::Restore(_)
        | Command::Check(_) => client.token_tenant().await,
        _ => None,
    };
    // Journals and plans record the Graph root they were made against; the emulator's port
    // changes every run, so it is recorded as its own name.
    let graph_root = if cli.global.emulator {
        "emulator".to_string()
    } else {
        cfg.graph_url.value.clone()
    };
    let ctx = commands::Context {
        client,
        format,
        target: commands::Target {
            graph_root,
            tenant_id,
        },
    };
    let state_dir = cfg.state_dir.as_deref();
    let command = async {
        match &cli.command {
            Command::Report(args) => commands::report::run(&ctx, args, out).await,
            Command::DisableExistingM365(args) => {
                commands::disable::run(&ctx, args, state_dir, out).await
            }
            Command::SetDefault(args) => {
                commands::set_default::run(&ctx, args, state_dir, out).await
            }
            Command::Restore(args) => commands::restore::run(&ctx, args, state_dir, out).await,
            Command::Check(args) => {
                let policy = commands::check::PolicySource {
                    policy: &cfg.policy,
                    file: cfg.file.as_deref(),
                };
                commands::check::run(&ctx, args, policy, state_dir, out).await
            }
            Command::Emulator(_) | Command::Config(_) | Command::Completions(_) | Command::Man => {
                unreachable!("handled above")
            }
        }
    };
    // Whatever Graph does, the run ends by its deadline; a write run stopped here is recorded
    // in its journal like any interrupted run.
    let result = match tokio::time::timeout(deadline, command).await {
        Ok(r) => r,
        Err(_) => Err(graph::GraphError::Deadline {
            secs: deadline.as_secs_f64(),
            doing: match &cli.command {
                Command::DisableExistingM365(_) | Command::Restore(_) | Command::Check(_) => {
                    "; changes already made are in the run's journal (gwb restore --journal PATH undoes them)".into()
                }
                _ => String::new(),
            },
        }
        .into()),
    };
    result.map_err(|e| with_permission_hint(e, &cli.command))
}

/// A 401 or 403 from Graph, with what the command needs: the permission to grant, or a fresh
/// token for the right cloud.
fn with_permission_hint(e: anyhow::Error, command: &Command) -> anyhow::Error {
    let status = e
        .chain()
        .filter_map(|c| c.downcast_ref::<graph::GraphError>())
        .find_map(|g| g.status());
    let Some(needs) = permissions::for_command(command) else {
        return e;
    };
    match status {
        Some(403) => e.context(format!(
            "Graph refused the request (403): the identity gwb signed in as needs {needs}, with admin consent"
        )),
        Some(401) => e.context(
            "Graph refused the token (401): it has expired or was issued for another cloud or audience; sign in again",
        ),
        _ => e,
    }
}

/// How logs are written, set once at start-up.
#[derive(Debug, Clone, Copy)]
pub struct LogSettings {
    pub verbose: u8,
    pub quiet: bool,
    pub format: cli::LogFormat,
    pub color: cli::ColorChoice,
    /// `NO_COLOR` is set (https://no-color.org).
    pub no_color_env: bool,
}

impl LogSettings {
    pub fn from_args(g: &cli::GlobalArgs) -> Self {
        LogSettings {
            verbose: g.verbose,
            quiet: g.quiet,
            format: g.log_format,
            color: g.color,
            no_color_env: std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()),
        }
    }

    /// The tracing filter. Text: warnings by default, `-v` info, `-vv` debug, `-vvv` trace,
    /// `-q` errors only. JSON: info by default, with every Graph request (logged at debug by
    /// `gwb::graph`), so a scheduled job's log says what it did.
    pub fn filter(&self) -> String {
        use cli::LogFormat;
        let level = match (self.quiet, self.verbose, self.format) {
            (true, _, _) => "error",
            (false, 0, LogFormat::Text) => "warn",
            (false, 0, LogFormat::Json) | (false, 1, _) => "info",
            (false, 2, _) => "debug",
            _ => "trace",
        };
        match (level, self.format) {
            ("trace", _) => "trace".to_string(),
            ("info", LogFormat::Json) => "warn,gwb=info,gwb::graph=debug".to_string(),
            // Our own crate at the chosen level; dependencies one notch quieter.
            _ => format!("warn,gwb={level}"),
        }
    }

    pub fn ansi(&self, stderr_is_terminal: bool) -> bool {
        match self.color {
            cli::ColorChoice::Always => true,
            cli::ColorChoice::Never => false,
            cli::ColorChoice::Auto => stderr_is_terminal && !self.no_color_env,
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
        .with_writer(std::io::stderr)
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
