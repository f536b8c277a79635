//! `gwb config show`: the resolved configuration, each value with where it came from. Secrets
//! are never printed: only whether they are set, and from where.

use std::io::Write;

use serde::Serialize;

use crate::cli::OutputFormat;
use crate::config::{Config, Source};
use crate::error::ExitStatus;
use crate::output::write_json;

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Entry {
    key: &'static str,
    /// The value; for a secret, "<redacted>" when set.
    value: Option<String>,
    source: Option<String>,
    secret: bool,
}

fn entry(key: &'static str, value: Option<String>, source: Option<String>) -> Entry {
    Entry {
        key,
        value,
        source,
        secret: false,
    }
}

/// A secret: shown as set or not, and from where; never its value.
fn secret(key: &'static str, set: bool, source: Option<&Source>) -> Entry {
    Entry {
        key,
        value: set.then(|| "<redacted>".to_string()),
        source: source.map(Source::to_string),
        secret: true,
    }
}

pub fn run(cfg: &Config, format: OutputFormat, out: &mut dyn Write) -> anyhow::Result<ExitStatus> {
    crate::output::require::<Shown>(format, "config show")?;
    let mut entries = connection(cfg);
    entries.extend(sign_in(cfg));
    entries.extend(rest(cfg));
    // A notification destination that cannot be resolved breaks only `check`: said here.
    let mut warnings = cfg.warnings.clone();
    match &cfg.notify {
        Ok(d) if d.is_empty() => {}
        Ok(d) => entries.push(entry(
            "notify",
            Some(format!("{} destinations", d.len())),
            Some("[[notify]] of the config file".into()),
        )),
        Err(e) => warnings.push(format!(
            "{e}; gwb check (and --notify-test) will refuse to run until it is fixed; every other command runs"
        )),
    }
    crate::output::render(&Shown { entries, warnings }, format, out)?;
    Ok(ExitStatus::Ok)
}

/// What `config show` prints: each setting with its value and where it came from, then the
/// warnings.
struct Shown {
    entries: Vec<Entry>,
    warnings: Vec<String>,
}

impl crate::output::Render for Shown {
    const FORMATS: &'static [OutputFormat] = &[OutputFormat::Table, OutputFormat::Json];

    fn json(&self, out: &mut dyn Write) -> std::io::Result<()> {
        write_json(
            out,
            &serde_json::json!({ "settings": self.entries, "warnings": self.warnings }),
        )
    }

    fn table(&self, out: &mut dyn Write) -> std::io::Result<()> {
        for e in &self.entries {
            let value = e.value.as_deref().unwrap_or("(not set)");
            match &e.source {
                Some(s) => writeln!(out, "{:<27} {value}  ({s})", e.key)?,
                None => writeln!(out, "{:<27} {value}", e.key)?,
            }
        }
        for w in &self.warnings {
            writeln!(out, "warning: {w}")?;
        }
        Ok(())
    }
}

/// Where gwb connects: the config file, the cloud, Graph, the sign-in host, the credential kind
/// and the output format.
fn connection(cfg: &Config) -> Vec<Entry> {
    let mut v = vec![file_entry(cfg)];
    if !cfg.tenant_names.is_empty() {
        v.push(entry(
            "tenants",
            Some(cfg.tenant_names.join(", ")),
            Some("[[tenants]] of the config file".into()),
        ));
    }
    if let Some(name) = &cfg.tenant {
        v.push(entry(
            "tenant",
            Some(name.clone()),
            Some("flag --tenant: its [[tenants]] entry over the top level".into()),
        ));
    }
    v.extend(endpoint_entries(cfg));
    v
}

fn file_entry(cfg: &Config) -> Entry {
    entry(
        "config_file",
        Some(match (&cfg.file, &cfg.file_looked_at) {
            (Some(p), _) => p.display().to_string(),
            (None, Some(p)) => format!("(none: looked for {})", p.display()),
            (None, None) => "(none: neither XDG_CONFIG_HOME nor HOME is set)".into(),
        }),
        None,
    )
}

fn endpoint_entries(cfg: &Config) -> Vec<Entry> {
    vec![
        entry(
            "cloud",
            Some(cfg.cloud.value.as_str().into()),
            Some(cfg.cloud.source.to_string()),
        ),
        entry(
            "graph_url",
            Some(cfg.graph_url.value.clone()),
            Some(cfg.graph_url.source.to_string()),
        ),
        entry(
            "token_scope",
            Some(format!(
                "{}/.default",
                cfg.graph_url.value.trim_end_matches('/')
            )),
            Some("graph_url".into()),
        ),
        entry(
            "authority_host",
            Some(cfg.authority_host.value.clone()),
            Some(cfg.authority_host.source.to_string()),
        ),
        entry(
            "auth",
            cfg.auth.as_ref().map(|k| k.value.as_str().to_string()),
            cfg.auth.as_ref().map(|k| k.source.to_string()),
        ),
        entry(
            "output",
            cfg.output.as_ref().and_then(|o| {
                clap::ValueEnum::to_possible_value(&o.value).map(|p| p.get_name().to_string())
            }),
            cfg.output.as_ref().map(|o| o.source.to_string()),
        ),
    ]
}

/// Who gwb signs in as: ids and paths shown, secrets only as set or not, with their source.
fn sign_in(cfg: &Config) -> Vec<Entry> {
    let a = &cfg.auth_inputs;
    let origin = |key: &str| cfg.origins.get(key).map(Source::to_string);
    vec![
        entry("tenant_id", a.tenant_id.clone(), origin("tenant_id")),
        entry("client_id", a.client_id.clone(), origin("client_id")),
        entry(
            "federated_token_file",
            a.federated_token_file
                .as_ref()
                .map(|p| p.display().to_string()),
            origin("federated_token_file"),
        ),
        entry(
            "client_certificate_path",
            a.client_certificate
                .as_ref()
                .map(|p| p.display().to_string()),
            origin("client_certificate_path"),
        ),
        secret(
            "access_token",
            a.access_token.is_some(),
            cfg.origins.get("access_token"),
        ),
        secret(
            "client_secret",
            a.client_secret.is_some(),
            cfg.origins.get("client_secret"),
        ),
        secret(
            "client_certificate_password",
            a.client_certificate_password.is_some(),
            cfg.origins.get("client_certificate_password"),
        ),
    ]
}

/// The policy and the state directory.
fn rest(cfg: &Config) -> Vec<Entry> {
    vec![
        entry(
            "policy",
            (!cfg.policy.is_empty()).then(|| policy_in_file_keys(&cfg.policy)),
            (!cfg.policy.is_empty())
                .then(|| {
                    cfg.file
                        .as_ref()
                        .map(|p| Source::File(p.clone()).to_string())
                })
                .flatten(),
        ),
        entry(
            "state_dir",
            cfg.state_dir.as_ref().map(|p| p.display().to_string()),
            None,
        ),
        entry(
            "lock_dir",
            Some(cfg.lock_dir.value.display().to_string()),
            Some(cfg.lock_dir.source.to_string()),
        ),
    ]
}

/// The commented starting config file `gwb config init` writes: the example from the
/// repository, every key commented out with what it does.
const EXAMPLE: &str = include_str!("../../config.example.toml");

/// `gwb config init`: write [`EXAMPLE`] to `path` (the default config path), never over an
/// existing file unless `force`.
pub(crate) fn init(path: Option<&std::path::Path>, force: bool) -> anyhow::Result<ExitStatus> {
    let path = path.ok_or_else(|| {
        crate::error::UsageError(
            "no default config path (neither XDG_CONFIG_HOME nor HOME is set): give --path".into(),
        )
    })?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| {
            crate::error::UsageError(format!("cannot create {}: {e}", dir.display()))
        })?;
    }
    crate::files::write_new(path, EXAMPLE.as_bytes(), force).map_err(|e| {
        let hint = if e.kind() == std::io::ErrorKind::AlreadyExists {
            " (a config file is already there: edit it, or add --force to replace it)"
        } else {
            ""
        };
        crate::error::UsageError(format!(
            "{}: {e}{hint}; nothing was written",
            path.display()
        ))
    })?;
    crate::output::notice(&format!(
        "wrote {}: every key is commented out; uncomment and fill in what you use, then check with gwb config show",
        path.display()
    ));
    Ok(ExitStatus::Ok)
}

/// The policy as JSON with the config file's keys (snake_case), so it reads as the file does;
/// JSON output elsewhere (check) uses camelCase, as every gwb document.
fn policy_in_file_keys(policy: &crate::writeback::policy::Policy) -> String {
    let snake = |k: &str| {
        let mut out = String::new();
        for c in k.chars() {
            if c.is_ascii_uppercase() {
                out.push('_');
                out.push(c.to_ascii_lowercase());
            } else {
                out.push(c);
            }
        }
        out
    };
    let value = match serde_json::to_value(policy) {
        Ok(serde_json::Value::Object(m)) => {
            serde_json::Value::Object(m.into_iter().map(|(k, v)| (snake(&k), v)).collect())
        }
        Ok(other) => other,
        Err(_) => serde_json::Value::Null,
    };
    value.to_string()
}
