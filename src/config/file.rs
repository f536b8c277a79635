//! The config file: where it is, the keys it may hold (unknown keys are an error, so a typo is
//! caught), and parse errors that never echo a line of it (it may hold a secret).

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::ConfigError;
use crate::auth::AuthKind;
use crate::cli::OutputFormat;
use crate::cloud::Cloud;
use crate::writeback::policy::Policy;

/// The keys a config file may hold. Unknown keys are an error, so a typo is caught.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FileConfig {
    pub(super) cloud: Option<Cloud>,
    pub(super) graph_url: Option<String>,
    pub(super) authority_host: Option<String>,
    pub(super) auth: Option<AuthKind>,
    pub(super) output: Option<OutputFormat>,
    pub(super) tenant_id: Option<String>,
    pub(super) client_id: Option<String>,
    pub(super) client_secret: Option<String>,
    pub(super) client_secret_file: Option<PathBuf>,
    pub(super) client_certificate_path: Option<PathBuf>,
    pub(super) client_certificate_password: Option<String>,
    pub(super) client_certificate_password_file: Option<PathBuf>,
    pub(super) lock_dir: Option<PathBuf>,
    /// A file holding a bearer token for `auth = "access-token"` (like GWB_ACCESS_TOKEN_FILE).
    pub(super) access_token_file: Option<PathBuf>,
    pub(super) policy: Option<Policy>,
    #[serde(default)]
    pub(super) notify: Vec<NotifyEntry>,
    /// The fleet: `[[tenants]]`, each chosen with `--tenant NAME`.
    #[serde(default)]
    pub(super) tenants: Vec<TenantEntry>,
}

/// A `[[tenants]]` entry: a name, and the connection keys that differ from the top level's.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct TenantEntry {
    pub(super) name: String,
    pub(super) tenant_id: Option<String>,
    pub(super) cloud: Option<Cloud>,
    pub(super) graph_url: Option<String>,
    pub(super) authority_host: Option<String>,
    pub(super) auth: Option<AuthKind>,
    pub(super) client_id: Option<String>,
    pub(super) client_secret_file: Option<PathBuf>,
    pub(super) client_certificate_path: Option<PathBuf>,
    pub(super) client_certificate_password_file: Option<PathBuf>,
    pub(super) access_token_file: Option<PathBuf>,
    /// Overlays the top-level `[policy]`, key by key.
    pub(super) policy: Option<TenantPolicy>,
}

/// `[tenants.policy]`: each key set here replaces the top-level policy's.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct TenantPolicy {
    /// `true`, `false`, or `"any"` (not checked for this tenant).
    new_m365_default: Option<AnyOr<bool>>,
    m365_writeback: Option<crate::writeback::policy::Rule>,
    security_writeback: Option<crate::writeback::policy::Rule>,
    #[serde(default, deserialize_with = "some_allow_ids")]
    allow: Option<Vec<crate::graph::model::GroupId>>,
    role_assignable_drift: Option<crate::writeback::policy::PrivilegedDrift>,
    cloud_sync_group_provisioning: Option<crate::writeback::policy::GroupProvisioning>,
    /// `[[tenants.policy.exception]]`: this tenant's exceptions, added to the top level's (an
    /// exception names a group of one tenant).
    #[serde(default, rename = "exception")]
    exceptions: Vec<crate::writeback::policy::Exception>,
}

fn some_allow_ids<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<Vec<crate::graph::model::GroupId>>, D::Error> {
    crate::writeback::policy::allow_ids(d).map(Some)
}

/// A value, or `"any"`: not checked.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(untagged)]
enum AnyOr<T> {
    Value(T),
    Any(AnyWord),
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "lowercase")]
enum AnyWord {
    Any,
}

impl TenantPolicy {
    /// `base` with this tenant's keys put over it.
    pub(super) fn over(&self, mut base: Policy) -> Policy {
        if let Some(d) = self.new_m365_default {
            base.new_m365_default = match d {
                AnyOr::Value(v) => Some(v),
                AnyOr::Any(AnyWord::Any) => None,
            };
        }
        if let Some(r) = self.m365_writeback {
            base.m365_writeback = r;
        }
        if let Some(r) = self.security_writeback {
            base.security_writeback = r;
        }
        if let Some(a) = &self.allow {
            base.allow = a.clone();
        }
        if let Some(r) = self.role_assignable_drift {
            base.role_assignable_drift = r;
        }
        if let Some(g) = self.cloud_sync_group_provisioning {
            base.cloud_sync_group_provisioning = Some(g);
        }
        // A tenant's exception for a target replaces the top level's for that tenant.
        let own: std::collections::HashSet<String> =
            self.exceptions.iter().map(|e| e.key()).collect();
        base.exceptions.retain(|e| !own.contains(&e.key()));
        base.exceptions.extend(self.exceptions.iter().cloned());
        base
    }
}

impl FileConfig {
    /// The environment variables that tenant `name`'s entry overrides: those of each key it
    /// sets (a cloud also sets the Graph root and sign-in host).
    pub(super) fn entry_shadows(&self, name: &str) -> Vec<&'static str> {
        let Some(t) = self.tenants.iter().find(|t| t.name == name) else {
            return Vec::new();
        };
        let mut v = Vec::new();
        let mut add = |set: bool, vars: &[&'static str]| {
            if set {
                v.extend_from_slice(vars);
            }
        };
        add(t.tenant_id.is_some(), &["AZURE_TENANT_ID"]);
        add(
            t.cloud.is_some(),
            &["GWB_CLOUD", "GWB_GRAPH_URL", "AZURE_AUTHORITY_HOST"],
        );
        add(t.graph_url.is_some(), &["GWB_GRAPH_URL"]);
        add(t.authority_host.is_some(), &["AZURE_AUTHORITY_HOST"]);
        add(t.auth.is_some(), &["GWB_AUTH"]);
        add(t.client_id.is_some(), &["AZURE_CLIENT_ID"]);
        add(
            t.client_secret_file.is_some(),
            &["AZURE_CLIENT_SECRET", "GWB_CLIENT_SECRET_FILE"],
        );
        add(
            t.client_certificate_path.is_some(),
            &["AZURE_CLIENT_CERTIFICATE_PATH"],
        );
        add(
            t.client_certificate_password_file.is_some(),
            &[
                "AZURE_CLIENT_CERTIFICATE_PASSWORD",
                "GWB_CLIENT_CERTIFICATE_PASSWORD_FILE",
            ],
        );
        add(
            t.access_token_file.is_some(),
            &["GWB_ACCESS_TOKEN", "GWB_ACCESS_TOKEN_FILE"],
        );
        v
    }

    /// The file as it reads for tenant `name`: the entry's keys over the top level's.
    pub(super) fn for_tenant(mut self, name: &str, path: &Path) -> Result<FileConfig, ConfigError> {
        let Some(t) = self.tenants.iter().find(|t| t.name == name).cloned() else {
            let names: Vec<&str> = self.tenants.iter().map(|t| t.name.as_str()).collect();
            return Err(ConfigError::File {
                path: path.to_path_buf(),
                detail: if names.is_empty() {
                    format!(
                        "--tenant {name}: the file has no [[tenants]] entries (add one with name = {name:?})"
                    )
                } else {
                    format!(
                        "--tenant {name}: no [[tenants]] entry has that name; the names are: {}",
                        names.join(", ")
                    )
                },
            });
        };
        macro_rules! over {
            ($($k:ident),*) => { $( if t.$k.is_some() { self.$k = t.$k.clone(); } )* };
        }
        over!(
            tenant_id,
            cloud,
            graph_url,
            authority_host,
            auth,
            client_id,
            client_secret_file,
            client_certificate_path,
            client_certificate_password_file,
            access_token_file
        );
        // A secret file named for the tenant replaces an inline secret at the top level.
        if t.client_secret_file.is_some() {
            self.client_secret = None;
        }
        if t.client_certificate_password_file.is_some() {
            self.client_certificate_password = None;
        }
        if let Some(p) = &t.policy {
            self.policy = Some(p.over(self.policy.take().unwrap_or_default()));
        }
        Ok(self)
    }
}

/// Tenant names go into file names (journals, state, shard outputs): letters, digits, `.`, `_`
/// and `-`, not starting with `.`, at most 64 characters, each name once.
fn check_tenants(path: &Path, file: &FileConfig) -> Result<(), ConfigError> {
    let mut seen = std::collections::HashSet::new();
    for (i, t) in file.tenants.iter().enumerate() {
        let n = &t.name;
        let safe = !n.is_empty()
            && n.len() <= 64
            && !n.starts_with('.')
            && n.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
        let problem = if !safe {
            Some(format!(
                "name {n:?} cannot name files: use letters, digits, '.', '_' and '-' (at most 64, not starting with '.')"
            ))
        } else if !seen.insert(n.to_ascii_lowercase()) {
            Some(format!(
                "name {n:?} is used twice (names are compared without case)"
            ))
        } else {
            None
        };
        if let Some(p) = problem {
            return Err(ConfigError::File {
                path: path.to_path_buf(),
                detail: format!("[[tenants]] number {}: {p}", i + 1),
            });
        }
    }
    Ok(())
}

/// A `[[notify]]` entry as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct NotifyEntry {
    pub(super) kind: Option<crate::notify::Kind>,
    pub(super) url_env: Option<String>,
    pub(super) url_file: Option<PathBuf>,
    pub(super) on: Option<crate::notify::On>,
    #[serde(default)]
    pub(super) to: Vec<String>,
    pub(super) sender: Option<String>,
    pub(super) timeout_seconds: Option<f64>,
    pub(super) scope: Option<crate::notify::Scope>,
    pub(super) report_url: Option<String>,
    pub(super) tenant: Option<String>,
}

pub(super) fn default_config_path(env: &dyn Fn(&str) -> Option<String>) -> Option<PathBuf> {
    let base = env("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| env("HOME").map(|h| Path::new(&h).join(".config")))?;
    Some(base.join("gwb").join("config.toml"))
}

/// Read and parse a config file. A missing default file is `Ok(None)`; a missing explicit one
/// and any unreadable or invalid file is an error naming the path (and the key, via toml).
pub(super) fn read_file(path: &Path, explicit: bool) -> Result<Option<FileConfig>, ConfigError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !explicit => return Ok(None),
        Err(e) => {
            return Err(ConfigError::File {
                path: path.to_path_buf(),
                detail: format!("cannot read it: {e}"),
            });
        }
    };
    let file: FileConfig =
        toml::from_str(&text).map_err(|e: toml::de::Error| ConfigError::File {
            path: path.to_path_buf(),
            detail: explain(&text, &e),
        })?;
    check_exceptions(path, &text, &file)?;
    check_tenants(path, &file)?;
    Ok(Some(file))
}

/// Every `[[policy.exception]]` must say what it covers and why, with a real date: an entry
/// that cannot be read is a usage error naming its line, never an exception silently ignored.
fn check_exceptions(path: &Path, text: &str, file: &FileConfig) -> Result<(), ConfigError> {
    let empty = Policy::default();
    let policy = file.policy.as_ref().unwrap_or(&empty);
    // The line of each `[[policy.exception]]` header, in order: the n-th entry is the n-th.
    let headers: Vec<usize> = text
        .lines()
        .enumerate()
        .filter(|(_, l)| {
            l.split('#').next().unwrap_or("").trim().replace(' ', "") == "[[policy.exception]]"
        })
        .map(|(i, _)| i + 1)
        .collect();
    let bad = |detail: String| ConfigError::File {
        path: path.to_path_buf(),
        detail,
    };
    for t in &file.tenants {
        let listed: Vec<_> = t.policy.iter().flat_map(|p| p.exceptions.iter()).collect();
        for (i, e) in listed.iter().enumerate() {
            if let Some(problem) = e.problem() {
                return Err(bad(format!(
                    "[[tenants]] {}: [[tenants.policy.exception]] number {}: {problem}",
                    t.name,
                    i + 1
                )));
            }
        }
        if let Some((a, b, key)) = twice(listed.iter().copied()) {
            return Err(bad(format!(
                "[[tenants]] {}: [[tenants.policy.exception]] number {a} and number {b} both cover {key}: one exception per group or target; keep one of them (nothing was changed)",
                t.name
            )));
        }
    }
    let at = |i: usize| {
        headers
            .get(i)
            .map(|l| format!("line {l}: "))
            .unwrap_or_default()
    };
    for (i, e) in policy.exceptions.iter().enumerate() {
        if let Some(problem) = e.problem() {
            return Err(bad(format!(
                "{}[[policy.exception]] number {}: {problem}",
                at(i),
                i + 1
            )));
        }
    }
    if let Some((a, b, key)) = twice(policy.exceptions.iter()) {
        return Err(bad(format!(
            "{}[[policy.exception]] number {a} and {}number {b} both cover {key}: one exception per group or target (an expired one and an open-ended one would leave which holds to chance); keep one of them (nothing was changed)",
            at(a - 1),
            at(b - 1)
        )));
    }
    Ok(())
}

/// The first two exceptions (numbered from 1) that cover the same group or target, and what.
fn twice<'e>(
    exceptions: impl Iterator<Item = &'e crate::writeback::policy::Exception>,
) -> Option<(usize, usize, String)> {
    let mut seen: std::collections::HashMap<String, usize> = Default::default();
    for (i, e) in exceptions.enumerate() {
        let key = e.key();
        if let Some(first) = seen.insert(key.clone(), i + 1) {
            let what = match &e.id {
                Some(_) => format!("group {key}"),
                None => format!("target {key}"),
            };
            return Some((first, i + 1, what));
        }
    }
    None
}

/// A TOML error said so that a person can fix it: where, what, and for an unknown key the keys
/// its table allows (serde's message lists them) or, for a top-level key written after a
/// table header, that it belongs above the header (TOML's classic trap).
fn explain(text: &str, e: &toml::de::Error) -> String {
    let mut detail = parse_error_without_source(text, e);
    let unknown = e
        .message()
        .strip_prefix("unknown field `")
        .and_then(|m| m.split('`').next());
    if let Some(key) = unknown {
        let table = e.span().and_then(|span| table_at(text, span.start));
        if let Some(table) = table.filter(|_| TOP_LEVEL_KEYS.contains(&key)) {
            detail.push_str(&format!(
                "; {key} is a top-level key: move it above {table} (in TOML, every key after a [table] header belongs to that table)"
            ));
        }
        detail.push_str(" (see config.example.toml)");
    }
    detail
}

/// The keys of the file's top level, before any table.
pub(super) const TOP_LEVEL_KEYS: &[&str] = &[
    "cloud",
    "graph_url",
    "authority_host",
    "auth",
    "output",
    "tenant_id",
    "client_id",
    "client_secret",
    "client_secret_file",
    "client_certificate_path",
    "client_certificate_password",
    "client_certificate_password_file",
    "lock_dir",
    "access_token_file",
];

/// The `[table]` or `[[table]]` header above byte `at`, if any.
fn table_at(text: &str, at: usize) -> Option<String> {
    text[..at.min(text.len())]
        .lines()
        .rev()
        .map(str::trim)
        .find(|l| l.starts_with('['))
        .map(|l| l.split('#').next().unwrap_or(l).trim().to_string())
}

/// The key written on the line of byte `at` (`key = ...`), if any.
fn key_at(text: &str, at: usize) -> Option<String> {
    let start = text[..at.min(text.len())].rfind('\n').map_or(0, |i| i + 1);
    let line = text[start..].lines().next()?;
    let (key, _) = line.split_once('=')?;
    Some(key.trim().trim_matches('"').to_string())
}

/// Whether a value of `key` may be shown in an error: never a secret's, and never a long one (a
/// secret pasted under the wrong key is long; what people type for the others is short).
fn may_show(key: Option<&str>, value: &str) -> bool {
    let secretive = |k: &str| {
        ["secret", "password", "token"]
            .iter()
            .any(|s| k.contains(s))
    };
    key.is_some_and(|k| !secretive(k)) && value.chars().count() <= 24
}

/// A TOML error as its position and message only. toml's own rendering quotes the offending
/// source line, and the file may hold a client secret on that very line (a typo in the key, a
/// wrong type, an unterminated string, a secret under the wrong table): it must never reach
/// stderr. A quoted value in the message (`invalid type: string "..."`) is shown only where
/// [`may_show`] says so, else blanked.
fn parse_error_without_source(text: &str, e: &toml::de::Error) -> String {
    let key = e.span().and_then(|span| key_at(text, span.start));
    let mut msg = String::new();
    let mut value: Option<String> = None;
    for c in e.message().trim().chars() {
        match (c, &mut value) {
            ('"', None) => value = Some(String::new()),
            ('"', Some(v)) => {
                if may_show(key.as_deref(), v) {
                    msg.push_str(&format!("\"{v}\""));
                } else {
                    msg.push_str("\"(value hidden)\"");
                }
                value = None;
            }
            (c, Some(v)) => v.push(c),
            (c, None) => msg.push(c),
        }
    }
    if value.is_some() {
        msg.push_str("\"(value hidden)\"");
    }
    match e.span() {
        Some(span) => {
            let before = &text[..span.start.min(text.len())];
            let line = before.matches('\n').count() + 1;
            let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
            format!("line {line}, column {column}: {msg}")
        }
        None => msg,
    }
}
