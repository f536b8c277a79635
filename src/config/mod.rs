//! Configuration, resolved once: flags > `GWB_*` environment > config file > built-in defaults.
//!
//! This is the only module that reads the environment. Every value remembers where it came
//! from, so `-v` and `gwb config show` can say. Secrets (the access token, the client secret,
//! a certificate's password) are never read from flags (visible in `ps`): they come from the
//! environment, from a file named by the environment or the config file, or from the config file
//! itself; a file holding one that others may read gets a warning.

//!
//! Layers: `file` (the TOML format), `secrets`, and one small resolver per concern: `endpoint`
//! (cloud, Graph root, sign-in host), `signin` (who gwb signs in as), `run` (output, logging,
//! timeouts). Each picks with [`pick`]: the first layer that sets a value wins.

mod endpoint;
mod file;
mod notify;
mod run;
mod secrets;
mod signin;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use clap::ValueEnum;

use crate::auth::{AuthInputs, AuthKind};
use crate::cli::{GlobalArgs, OutputFormat};
pub(crate) use crate::cloud::Cloud;
use crate::writeback::policy::Policy;
use file::FileConfig;
pub(crate) use run::{Limits, seconds};
pub use run::{LogSettings, logging};

/// Where a value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Source {
    Flag(&'static str),
    Env(&'static str),
    File(PathBuf),
    Inferred(&'static str),
    /// Implied by the cloud setting.
    FromCloud(Cloud),
    /// Implied by the Graph root (a known cloud's Graph host).
    FromGraphUrl,
    Default,
    Emulator,
    /// Read from a file, whose path came from `named_by`.
    Contents {
        path: PathBuf,
        named_by: Box<Source>,
    },
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Flag(n) => write!(f, "flag {n}"),
            Source::Env(n) => write!(f, "environment {n}"),
            Source::File(p) => write!(f, "file {}", p.display()),
            Source::Inferred(why) => write!(f, "chosen because {why}"),
            Source::FromCloud(c) => write!(f, "from cloud = {}", c.as_str()),
            Source::FromGraphUrl => f.write_str("from the Graph root's host"),
            Source::Default => f.write_str("default"),
            Source::Emulator => f.write_str("--emulator"),
            Source::Contents { path, named_by } => {
                write!(f, "contents of {} (named by {named_by})", path.display())
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Sourced<T> {
    pub value: T,
    pub source: Source,
}

/// The resolved configuration.
#[derive(Debug, Clone)]
pub(crate) struct Config {
    pub cloud: Sourced<Cloud>,
    pub graph_url: Sourced<String>,
    /// The sign-in host for credentials that sign in (https only).
    pub authority_host: Sourced<String>,
    pub auth: Option<Sourced<AuthKind>>,
    pub output: Option<Sourced<OutputFormat>>,
    pub auth_inputs: AuthInputs,
    /// The config file that was read, if any.
    pub file: Option<PathBuf>,
    /// The config file gwb looked for (read or not): `--config`, `GWB_CONFIG`, or the default
    /// path; `None` only without HOME and XDG_CONFIG_HOME.
    pub file_looked_at: Option<PathBuf>,
    /// Where journals go by default: `$XDG_STATE_HOME/gwb`, else `~/.local/state/gwb`.
    pub state_dir: Option<PathBuf>,
    /// Where each sign-in input that is set came from, by config key (`tenant_id`,
    /// `client_secret`, ...). For secrets, the source only: never the value.
    pub origins: BTreeMap<&'static str, Source>,
    /// Things worth a warning that do not stop the run (a secret others may read).
    pub warnings: Vec<String>,
    /// `[policy]` from the config file (empty when there is none).
    pub policy: Policy,
    /// How long requests and the run may take, and how many pages a listing may have.
    pub limits: Limits,
    /// Where the run locks are: shared by every user of the machine (see `lock`).
    pub lock_dir: Sourced<PathBuf>,
    /// Where `check` sends notifications (`[[notify]]`), or why a destination cannot be
    /// resolved: only `check` needs them, so only `check` fails on it (`config show` warns).
    pub notify: Result<Vec<crate::notify::Destination>, ConfigError>,
    /// The pager for long output on a terminal (see `output::pager`); `None` with --no-pager.
    pub pager: Option<Sourced<String>>,
    /// `--out FILE`: the data goes there, not to stdout (and never through the pager).
    pub out: Option<PathBuf>,
    /// The names of the config file's `[[tenants]]`, in the file's order.
    pub tenant_names: Vec<String>,
    /// `--tenant NAME`: the entry this run works on.
    pub tenant: Option<String>,
}

#[derive(Clone, Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("config file {path}: {detail}")]
    File { path: PathBuf, detail: String },
    #[error("{name}: {detail}")]
    Value { name: String, detail: String },
}

impl Config {
    /// The output format: as set, else a table on a terminal and JSON otherwise.
    pub(crate) fn format(&self) -> OutputFormat {
        match (&self.output, &self.out) {
            (Some(o), _) => o.value,
            // A file is not a terminal: never a table unless asked for.
            (None, Some(_)) => OutputFormat::Json,
            (None, None) => default_format(),
        }
    }
}

/// The environment, the config file and where it is: what every resolver reads besides the
/// flags. The environment is injected (tests pass a map); empty variables count as unset.
pub(crate) struct Layers<'a> {
    env: &'a dyn Fn(&str) -> Option<String>,
    file: FileConfig,
    file_path: Option<PathBuf>,
    looked_at: Option<PathBuf>,
    /// The names of the file's `[[tenants]]`, in the file's order.
    tenant_names: Vec<String>,
    /// Environment variables that the chosen `[[tenants]]` entry overrides: a key set in the
    /// entry names that tenant, so the environment (AZURE_TENANT_ID from a workload identity
    /// webhook, a GWB_GRAPH_URL left in a shell) must not send its run elsewhere.
    shadowed: Vec<&'static str>,
}

impl Layers<'_> {
    /// An environment variable, when set and not empty.
    fn env(&self, name: &str) -> Option<String> {
        if self.shadowed.contains(&name) {
            return None;
        }
        (self.env)(name).filter(|v| !v.is_empty())
    }

    /// `name` from the environment, with its source.
    fn env_str(&self, name: &'static str) -> Option<Sourced<String>> {
        self.env(name).map(|value| Sourced {
            value,
            source: Source::Env(name),
        })
    }

    /// `name` from the environment, parsed as one of `T`'s values.
    fn env_enum<T: ValueEnum>(
        &self,
        name: &'static str,
    ) -> Result<Option<Sourced<T>>, ConfigError> {
        self.env(name)
            .map(|v| {
                Ok(Sourced {
                    value: parse_enum::<T>(name, &v)?,
                    source: Source::Env(name),
                })
            })
            .transpose()
    }

    /// A value from the config file, with its source.
    fn in_file<T>(&self, value: Option<T>) -> Option<Sourced<T>> {
        value.map(|value| Sourced {
            value,
            source: Source::File(self.file_path.clone().unwrap_or_default()),
        })
    }

    /// A path in the config file, relative to the file's directory.
    fn relative_to_file(&self, p: PathBuf) -> PathBuf {
        match &self.file_path {
            Some(f) if p.is_relative() => f.parent().unwrap_or(Path::new(".")).join(p),
            _ => p,
        }
    }
}

/// A flag's value, with its source.
fn flag<T>(value: Option<T>, name: &'static str) -> Option<Sourced<T>> {
    value.map(|value| Sourced {
        value,
        source: Source::Flag(name),
    })
}

/// The precedence rule, once: the first layer (flag, environment, file, ...) that sets a value.
fn pick<T, const N: usize>(layers: [Option<Sourced<T>>; N]) -> Option<Sourced<T>> {
    layers.into_iter().flatten().next()
}

/// The format a file's extension names (`--out report.html`), if any.
fn format_for_path(path: &Path) -> Option<OutputFormat> {
    let ext = path.extension()?.to_str()?.to_ascii_lowercase();
    Some(match ext.as_str() {
        "html" | "htm" => OutputFormat::Html,
        "json" => OutputFormat::Json,
        "ndjson" | "jsonl" => OutputFormat::Ndjson,
        "csv" => OutputFormat::Csv,
        "xml" => OutputFormat::Junit,
        _ => return None,
    })
}

/// Resolve the configuration from the flags, the environment (`env`) and the config file.
pub(crate) fn resolve(
    global: &GlobalArgs,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Config, ConfigError> {
    let layers = open_file(global, env)?;
    let endpoint = endpoint::resolve(global, &layers)?;
    let signin = signin::resolve(global, &layers, &endpoint.authority_host.value)?;
    let policy = layers.file.policy.clone().unwrap_or_default();
    let output = pick([
        flag(global.output, "--output"),
        global
            .out
            .as_deref()
            .and_then(format_for_path)
            .map(|value| Sourced {
                value,
                source: Source::Inferred("--out's extension"),
            }),
        layers.env_enum::<OutputFormat>("GWB_OUTPUT")?,
        layers.in_file(layers.file.output),
    ]);
    let limits = run::limits(global, &layers)?;
    let lock_dir = pick([
        layers.env_str("GWB_LOCK_DIR").map(|s| Sourced {
            value: PathBuf::from(s.value),
            source: s.source,
        }),
        layers.in_file(
            layers
                .file
                .lock_dir
                .clone()
                .map(|p| layers.relative_to_file(p)),
        ),
        Some(Sourced {
            value: PathBuf::from(layers.env("TMPDIR").unwrap_or_else(|| "/tmp".into()))
                .join("gwb-locks"),
            source: Source::Default,
        }),
    ])
    .expect("the last layer is always set");
    let (notify, notify_warnings) = notify::resolve(&layers);
    let pager = (!global.no_pager)
        .then(|| {
            pick([
                layers.env_str("GWB_PAGER"),
                layers.env_str("PAGER"),
                Some(Sourced {
                    value: "less -FRX".into(),
                    source: Source::Default,
                }),
            ])
        })
        .flatten();
    let state_dir = layers
        .env("XDG_STATE_HOME")
        .map(PathBuf::from)
        .or_else(|| {
            layers
                .env("HOME")
                .map(|h| Path::new(&h).join(".local").join("state"))
        })
        .map(|d| d.join("gwb"));
    Ok(Config {
        cloud: endpoint.cloud,
        graph_url: endpoint.graph_url,
        authority_host: endpoint.authority_host,
        auth: signin.auth,
        output,
        auth_inputs: signin.inputs,
        file: layers.file_path,
        file_looked_at: layers.looked_at,
        state_dir,
        origins: signin.origins,
        warnings: signin.warnings.into_iter().chain(notify_warnings).collect(),
        policy,
        limits,
        lock_dir,
        pager,
        out: global.out.clone(),
        notify,
        tenant_names: layers.tenant_names,
        tenant: global.tenant.first().cloned(),
    })
}

/// Which file: `--config`, else `GWB_CONFIG` (both must exist), else the default path (which
/// may not).
/// The bearer token variables a fleet run over several tenants does not use.
pub(crate) const ENV_TOKENS: [&str; 2] = ["GWB_ACCESS_TOKEN", "GWB_ACCESS_TOKEN_FILE"];

fn open_file<'a>(
    global: &GlobalArgs,
    env: &'a dyn Fn(&str) -> Option<String>,
) -> Result<Layers<'a>, ConfigError> {
    let mut layers = Layers {
        env,
        file: FileConfig::default(),
        file_path: None,
        looked_at: None,
        tenant_names: Vec::new(),
        shadowed: Vec::new(),
    };
    let (path, explicit) = match (&global.config, layers.env("GWB_CONFIG")) {
        (Some(p), _) => (Some(p.clone()), true),
        (None, Some(p)) => (Some(PathBuf::from(p)), true),
        (None, None) => (file::default_config_path(&|k| layers.env(k)), false),
    };
    layers.looked_at = path.clone();
    if let Some(p) = path
        && let Some(f) = file::read_file(&p, explicit)?
    {
        layers.tenant_names = f.tenants.iter().map(|t| t.name.clone()).collect();
        layers.file = match global.tenant.first() {
            Some(name) => {
                layers.shadowed = f.entry_shadows(name);
                // A token in the environment belongs to one tenant: in a run over several it
                // goes to none (a top-level access_token_file in the file is the operator's
                // choice, and still holds).
                if global.fleet_member {
                    for v in ENV_TOKENS {
                        if !layers.shadowed.contains(&v) {
                            layers.shadowed.push(v);
                        }
                    }
                }
                for v in &layers.shadowed {
                    if (layers.env)(v).is_some_and(|x| !x.is_empty()) {
                        tracing::info!(
                            "{v} is set, and tenant {name}'s [[tenants]] entry sets its own value: using the entry's"
                        );
                    }
                }
                f.for_tenant(name, &p)?
            }
            None => f,
        };
        layers.file_path = Some(p);
    } else if let Some(name) = global.tenant.first() {
        return Err(ConfigError::Value {
            name: "--tenant".into(),
            detail: format!(
                "{name:?} names a [[tenants]] entry of the config file, and no config file was read (give --config PATH or GWB_CONFIG)"
            ),
        });
    }
    Ok(layers)
}

fn parse_enum<T: ValueEnum>(name: &str, v: &str) -> Result<T, ConfigError> {
    T::from_str(v, true).map_err(|_| {
        let allowed: Vec<String> = T::value_variants()
            .iter()
            .filter_map(|x| x.to_possible_value().map(|p| p.get_name().to_string()))
            .collect();
        ConfigError::Value {
            name: name.to_string(),
            detail: format!("{v:?} is not one of: {}", allowed.join(", ")),
        }
    })
}

/// Kubernetes' `JOB_COMPLETION_INDEX`: the pod's index in an Indexed Job (`--shards N`).
#[allow(clippy::disallowed_methods)] // config: the one place that reads the environment
pub(crate) fn job_completion_index() -> Option<String> {
    std::env::var("JOB_COMPLETION_INDEX").ok()
}

/// Table on a terminal, JSON otherwise: the last layer of the output format, decided where the
/// others are (the printer only prints what it is told).
fn default_format() -> OutputFormat {
    use std::io::IsTerminal;
    if std::io::stdout().is_terminal() {
        OutputFormat::Table
    } else {
        OutputFormat::Json
    }
}
