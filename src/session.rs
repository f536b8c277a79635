//! The composition root of a run against a tenant: the configuration resolved once, the
//! built-in emulator when asked for, the credential and the Graph client, the tenant the run
//! works on, and the deadline every command runs within. Commands get a ready
//! [`change::Context`] and know none of this.

use std::io::Write;
use std::net::{Ipv4Addr, SocketAddr};

use anyhow::Context as _;

use crate::cli::{Cli, Command, GlobalArgs};
use crate::config::{self, Config, Source};
use crate::error::{ExitStatus, UsageError};
use crate::{auth, change, emulator, graph, output};

/// The configuration, resolved once from flags, environment and file (with its warnings shown).
pub(crate) fn config(cli: &Cli) -> anyhow::Result<Config> {
    config_of(&cli.global)
}

pub(crate) fn config_of(global: &GlobalArgs) -> anyhow::Result<Config> {
    #[allow(clippy::disallowed_methods)] // a root: hands the environment to config
    let cfg = config::resolve(global, &|k| std::env::var(k).ok())?;
    for w in &cfg.warnings {
        tracing::warn!("{w}");
    }
    Ok(cfg)
}

/// Everything a command that talks to Graph runs with.
pub(crate) struct Session {
    pub cfg: Config,
    pub ctx: change::Context,
    dirs: change::Dirs,
    /// `--emulator`: where its tenant is kept after the command.
    emulator_state: Option<(std::path::PathBuf, usize, u64)>,
    deadline: std::time::Duration,
    /// When the session opened, for `gwb_run_duration_seconds`.
    started: std::time::Instant,
    /// `--metrics-file`.
    metrics_file: Option<std::path::PathBuf>,
    /// The in-process emulator, kept alive for the run (`--emulator`).
    _emulator: Option<emulator::Emulator>,
}

impl Session {
    pub(crate) async fn open(cli: &Cli) -> anyhow::Result<Session> {
        Session::open_for(&cli.global, &cli.command, None).await
    }

    /// A session for `command` with `global`'s flags: in a fleet run, one tenant's (with its
    /// `--tenant NAME`), its writes paced also against the fleet's `shared` budget.
    pub(crate) async fn open_for(
        global: &GlobalArgs,
        command: &Command,
        shared: Option<std::sync::Arc<graph::pace::Pacer>>,
    ) -> anyhow::Result<Session> {
        let cfg = config_of(global)?;
        tracing::info!(graph_url = %cfg.graph_url.value, source = %cfg.graph_url.source, "graph_url");
        if let Some(f) = &cfg.file {
            tracing::info!(file = %f.display(), "read config file");
        }

        let limits = cfg.limits.clone();
        let deadline = limits.deadline.value;
        let Connection {
            root,
            credential,
            renew,
            emulator: _emulator,
            emulator_state,
        } = connect(global, &cfg).await?;
        let mut builder = graph::GraphClient::builder(root, credential)
            .read_timeout(limits.read_timeout.value)
            .timeout(limits.request_timeout.value)
            .max_pages(limits.max_pages.value)
            .retry(graph::retry::RetryPolicy {
                budget: limits.retry_budget.value,
                ..Default::default()
            });
        if let Some(r) = renew {
            builder = builder.renew_with(r);
        }
        if let Some(p) = shared {
            builder = builder.shared_pacer(p);
        }
        let client = builder.build()?;
        let format = cfg.format();
        // Plans and journals record the tenant, so they are never applied to another one.
        let tenant_id = match command {
            Command::DisableExistingM365(_)
            | Command::SetDefault(_)
            | Command::Restore(_)
            | Command::Check(_) => client.token_tenant().await,
            _ => None,
        };
        // Journals and plans record the Graph root they were made against; the emulator's port
        // changes every run, so it is recorded as its own name.
        let graph_root = if global.emulator {
            "emulator".to_string()
        } else {
            cfg.graph_url.value.clone()
        };
        let ctx = change::Context {
            client,
            format,
            out_is_file: cfg.out.is_some(),
            way_back: change::WayBack::new(global, cfg.file.as_deref(), cfg.tenant.as_deref()),
            deadline: std::time::Instant::now().checked_add(deadline),
            no_cloud_sync_group_provisioning: cfg.policy.cloud_sync_group_provisioning
                == Some(crate::writeback::policy::GroupProvisioning::None),
            target: change::Target {
                graph_root,
                tenant_id,
                name: cfg.tenant.clone(),
            },
            documents: None,
        };
        let dirs = change::Dirs {
            state: cfg.state_dir.clone(),
            lock: cfg.lock_dir.value.clone(),
        };
        Ok(Session {
            cfg,
            ctx,
            dirs,
            emulator_state,
            started: std::time::Instant::now(),
            metrics_file: global.metrics_file.clone(),
            deadline,
            _emulator,
        })
    }

    /// `out`, through the pager when the command only reads and prints a table to a terminal.
    pub(crate) fn paged<'a>(
        &self,
        out: &'a mut dyn Write,
        pageable: bool,
    ) -> output::pager::Paged<'a> {
        let pager = self.cfg.pager.as_ref().map(|p| p.value.as_str());
        output::pager::Paged::new(
            out,
            pager,
            self.ctx.format,
            pageable && self.cfg.out.is_none(),
        )
    }

    /// Where journals and the run lock live.
    pub(crate) fn dirs(&self) -> &change::Dirs {
        &self.dirs
    }

    /// Run `command`'s future within the run's deadline, with the permission hint on a 401/403.
    /// Whatever Graph does, the run ends by its deadline; a write run stopped here is recorded
    /// in its journal like any interrupted run.
    pub async fn run(
        &self,
        command: &Command,
        fut: impl std::future::Future<Output = anyhow::Result<ExitStatus>>,
    ) -> anyhow::Result<ExitStatus> {
        // The command records its metrics into a recorder of its own (a fleet runs several).
        let (result, recorded) =
            crate::metrics::recorded(tokio::time::timeout(self.deadline, fut)).await;
        let result = match result {
            Ok(r) => r,
            Err(_) => Err(graph::GraphError::Deadline {
                secs: self.deadline.as_secs_f64(),
                doing: match command {
                    Command::DisableExistingM365(_) | Command::Restore(_) | Command::Check(_) => {
                        "; changes already made are in the run's journal (gwb restore --journal PATH undoes them)".into()
                    }
                    _ => String::new(),
                },
            }
            .into()),
        };
        if let (Some(emu), Some((path, groups, seed))) = (&self._emulator, &self.emulator_state)
            && let Err(e) = emulator::saved::save(&emu.shared().tenant(), *groups, *seed, path)
        {
            tracing::warn!(
                "cannot keep the emulator's tenant in {}: {e}; the next --emulator command starts afresh",
                path.display()
            );
        }
        if let Some(path) = &self.metrics_file {
            self.write_metrics(path, command, &result, recorded);
        }
        result
    }

    /// `--metrics-file`: the run's figures, written whether the command succeeded or not.
    fn write_metrics(
        &self,
        path: &std::path::Path,
        command: &Command,
        result: &anyhow::Result<ExitStatus>,
        recorded: Vec<crate::metrics::Series>,
    ) {
        let t = &self.ctx.target;
        let tenant = t.tenant_id.clone().unwrap_or_else(|| t.graph_root.clone());
        let code = match result {
            Ok(s) => *s as u8,
            Err(e) => crate::exit::for_error(e) as u8,
        };
        let whose = crate::metrics::Whose {
            tenant: &tenant,
            name: t.name.as_deref(),
        };
        let text = crate::metrics::render(
            &whose,
            command.name(),
            code,
            self.started.elapsed(),
            &self.ctx.client.answers(),
            crate::metrics::unix_now(),
            recorded,
        );
        crate::metrics::write(path, &text);
    }
}

/// Where the run's requests go and with which credential.
struct Connection {
    root: String,
    credential: std::sync::Arc<dyn azure_core::credentials::TokenCredential>,
    /// A fresh credential after a 401, for the kinds that sign in.
    renew: Option<graph::Renew>,
    emulator: Option<emulator::Emulator>,
    /// Where the built-in emulator's tenant is kept between commands (with its size and seed).
    emulator_state: Option<(std::path::PathBuf, usize, u64)>,
}

/// The built-in emulator (`--emulator`) with its static token, or the configured Graph root
/// with the credential the configuration chooses.
async fn connect(g: &GlobalArgs, cfg: &Config) -> anyhow::Result<Connection> {
    // --emulator: serve a sample tenant in-process and point the client at it.
    if !g.emulator && (g.emulator_groups.is_some() || g.emulator_seed.is_some() || g.emulator_reset)
    {
        return Err(UsageError(
            "--emulator-groups, --emulator-seed and --emulator-reset only apply with --emulator"
                .into(),
        )
        .into());
    }
    if g.emulator {
        built_in_emulator(g, cfg).await
    } else {
        signed_in(g, cfg)
    }
}

/// `--emulator`: a sample tenant served in-process (kept between commands in the state
/// directory), with its static token.
async fn built_in_emulator(g: &GlobalArgs, cfg: &Config) -> anyhow::Result<Connection> {
    let (groups, seed) = (
        g.emulator_groups.unwrap_or(250),
        g.emulator_seed.unwrap_or(1),
    );
    let mut tenant = emulator::Tenant::generate(groups, seed).with_sample_sources();
    let saved = cfg
        .state_dir
        .as_deref()
        .map(|d| emulator::saved::path(d, groups, seed));
    let kept = match &saved {
        Some(p) if g.emulator_reset => {
            let _ = std::fs::remove_file(p);
            false
        }
        Some(p) => emulator::saved::load_into(&mut tenant, p),
        None => false,
    };
    let emu = emulator::Emulator::start(
        tenant,
        emulator::EmulatorConfig {
            cloud_sync: emulator::sample_cloud_sync(),
            ..Default::default()
        },
        SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
    )
    .await
    .context("starting the built-in emulator")?;
    tracing::info!(url = %emu.url(), groups, seed, "the built-in emulator listens");
    // One short line: what a person reads is that no real tenant is touched.
    crate::output::notice(&if kept {
        "the built-in emulator's sample tenant, as earlier --emulator commands left it (--emulator-reset starts afresh); no real tenant".to_string()
    } else {
        format!(
            "the built-in emulator: a sample tenant of {groups} groups (seed {seed}); no real tenant"
        )
    });
    Ok(Connection {
        root: emu.url(),
        credential: std::sync::Arc::new(auth::StaticToken::new("emulator-token")),
        renew: None,
        emulator: Some(emu),
        emulator_state: saved.map(|p| (p, groups, seed)),
    })
}

/// The configured Graph root with the credential the configuration chooses (and a fresh one
/// after a 401, for the kinds that sign in).
fn signed_in(g: &GlobalArgs, cfg: &Config) -> anyhow::Result<Connection> {
    let mut renew: Option<graph::Renew> = None;
    let kind = cfg.auth.as_ref().ok_or_else(|| {
        let fleet = if g.fleet_member {
            "this tenant's entry has no credential of its own, and in a run over several tenants GWB_ACCESS_TOKEN and GWB_ACCESS_TOKEN_FILE from the environment are not used (one tenant's token must never reach another); "
        } else {
            ""
        };
        UsageError(format!(
            "{fleet}no credentials: choose how to sign in with --auth / GWB_AUTH (azure-cli at a terminal after `az login`, managed-identity on Azure, workload-identity with AZURE_FEDERATED_TOKEN_FILE, client-secret with AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET, client-certificate with AZURE_CLIENT_CERTIFICATE_PATH instead of the secret, access-token with GWB_ACCESS_TOKEN), or try --emulator"
        ))
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
    let credential = auth::credential(kind.value, &cfg.auth_inputs).map_err(|e| {
        let e = anyhow::Error::new(e);
        if g.fleet_member {
            e.context("this tenant's entry has no credential of its own, and in a run over several tenants GWB_ACCESS_TOKEN and GWB_ACCESS_TOKEN_FILE from the environment are not used (one tenant's token must never reach another): give the [[tenants]] entry its own access_token_file or sign-in keys")
        } else {
            e
        }
    })?;
    Ok(Connection {
        root: cfg.graph_url.value.clone(),
        credential,
        renew,
        emulator: None,
        emulator_state: None,
    })
}

/// A 401 or 403 from Graph, with what the command `needs` (the dispatcher knows): the
/// permission to grant, or a fresh token for the right cloud.
pub(crate) fn with_permission_hint(e: anyhow::Error, needs: Option<&str>) -> anyhow::Error {
    let status = e
        .chain()
        .filter_map(|c| c.downcast_ref::<graph::GraphError>())
        .find_map(|g| g.status());
    let Some(needs) = needs else {
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
