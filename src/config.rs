//! Configuration, resolved once: flags > `GWB_*` environment > config file > built-in defaults.
//!
//! This is the only module that reads the environment. Every value remembers where it came
//! from, so `-v` and `gwb config show` can say. Secrets (the access token, the client secret,
//! a certificate's password) are never read from flags (visible in `ps`): they come from the
//! environment, from a file named by the environment or the config file, or from the config file
//! itself; a file holding one that others may read gets a warning.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use azure_core::credentials::Secret;
use clap::ValueEnum;
use serde::Deserialize;

use crate::auth::{AuthInputs, AuthKind};
use crate::cli::{GlobalArgs, OutputFormat};
use crate::graph::{DEFAULT_GRAPH_ROOT, validate_root};
use crate::writeback::policy::Policy;

/// The national clouds: each has its own Graph root and sign-in host, and a token of one is not
/// valid in another (GRAPH.md, section 5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Cloud {
    /// Microsoft Entra global service.
    Global,
    /// US Government L4 (GCC High).
    Usgov,
    /// US Government L5 (DoD).
    UsgovDod,
    /// Microsoft Entra operated by 21Vianet (China).
    China,
}

impl Cloud {
    pub const ALL: [Cloud; 4] = [Cloud::Global, Cloud::Usgov, Cloud::UsgovDod, Cloud::China];

    pub fn as_str(self) -> &'static str {
        match self {
            Cloud::Global => "global",
            Cloud::Usgov => "usgov",
            Cloud::UsgovDod => "usgov-dod",
            Cloud::China => "china",
        }
    }

    pub fn graph_root(self) -> &'static str {
        match self {
            Cloud::Global => DEFAULT_GRAPH_ROOT,
            Cloud::Usgov => "https://graph.microsoft.us",
            Cloud::UsgovDod => "https://dod-graph.microsoft.us",
            Cloud::China => "https://microsoftgraph.chinacloudapi.cn",
        }
    }

    pub fn authority_host(self) -> &'static str {
        match self {
            Cloud::Global => "https://login.microsoftonline.com",
            Cloud::Usgov | Cloud::UsgovDod => "https://login.microsoftonline.us",
            Cloud::China => "https://login.chinacloudapi.cn",
        }
    }

    /// The cloud whose Graph lives at `root`'s host, if any.
    pub fn of_graph_root(root: &str) -> Option<Cloud> {
        let host = url::Url::parse(root).ok()?.host_str()?.to_ascii_lowercase();
        Cloud::ALL.into_iter().find(|c| {
            url::Url::parse(c.graph_root())
                .ok()
                .and_then(|u| u.host_str().map(str::to_string))
                .as_deref()
                == Some(host.as_str())
        })
    }
}

/// Where a value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
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
pub struct Sourced<T> {
    pub value: T,
    pub source: Source,
}

/// The resolved configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub cloud: Sourced<Cloud>,
    pub graph_url: Sourced<String>,
    /// The sign-in host for credentials that sign in (https only).
    pub authority_host: Sourced<String>,
    pub auth: Option<Sourced<AuthKind>>,
    pub output: Option<Sourced<OutputFormat>>,
    pub auth_inputs: AuthInputs,
    /// The config file that was read, if any.
    pub file: Option<PathBuf>,
    /// Where journals go by default: `$XDG_STATE_HOME/gwb`, else `~/.local/state/gwb`.
    pub state_dir: Option<PathBuf>,
    /// Where each sign-in input that is set came from, by config key (`tenant_id`,
    /// `client_secret`, ...). For secrets, the source only: never the value.
    pub origins: BTreeMap<&'static str, Source>,
    /// Things worth a warning that do not stop the run (a secret others may read).
    pub warnings: Vec<String>,
    /// `[policy]` from the config file (empty when there is none).
    pub policy: Policy,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("config file {path}: {detail}")]
    File { path: PathBuf, detail: String },
    #[error("{name}: {detail}")]
    Value { name: String, detail: String },
}

/// The keys a config file may hold. Unknown keys are an error, so a typo is caught.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    cloud: Option<Cloud>,
    graph_url: Option<String>,
    authority_host: Option<String>,
    auth: Option<AuthKind>,
    output: Option<OutputFormat>,
    tenant_id: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
    client_secret_file: Option<PathBuf>,
    client_certificate_path: Option<PathBuf>,
    client_certificate_password: Option<String>,
    client_certificate_password_file: Option<PathBuf>,
    policy: Option<Policy>,
}

const FILE_KEYS: &str = "cloud, graph_url, authority_host, auth, output, tenant_id, client_id, client_secret, client_secret_file, client_certificate_path, client_certificate_password, client_certificate_password_file, [policy] (new_m365_default, m365_writeback, security_writeback, allow, role_assignable_drift)";

/// Resolve the configuration from the flags, the environment (`env`) and the config file.
pub fn resolve(
    global: &GlobalArgs,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Config, ConfigError> {
    let env = |name: &str| env(name).filter(|v| !v.is_empty());

    // Which file: --config, else GWB_CONFIG (both must exist), else the default path (may not).
    let (path, explicit) = match (&global.config, env("GWB_CONFIG")) {
        (Some(p), _) => (Some(p.clone()), true),
        (None, Some(p)) => (Some(PathBuf::from(p)), true),
        (None, None) => (default_config_path(&env), false),
    };
    let (file, file_path) = match path {
        Some(p) => match read_file(&p, explicit)? {
            Some(f) => (f, Some(p)),
            None => (FileConfig::default(), None),
        },
        None => (FileConfig::default(), None),
    };
    let from_file = |p: &Option<PathBuf>| Source::File(p.clone().unwrap_or_default());

    let cloud_set = if let Some(c) = global.cloud {
        Some(Sourced {
            value: c,
            source: Source::Flag("--cloud"),
        })
    } else if let Some(v) = env("GWB_CLOUD") {
        Some(Sourced {
            value: parse_enum::<Cloud>("GWB_CLOUD", &v)?,
            source: Source::Env("GWB_CLOUD"),
        })
    } else {
        file.cloud.map(|c| Sourced {
            value: c,
            source: from_file(&file_path),
        })
    };

    let graph_url = if global.emulator {
        // Replaced by the emulator's address once it listens.
        Sourced {
            value: String::new(),
            source: Source::Emulator,
        }
    } else if let Some(v) = &global.graph_url {
        Sourced {
            value: v.clone(),
            source: Source::Flag("--graph-url"),
        }
    } else if let Some(v) = env("GWB_GRAPH_URL") {
        Sourced {
            value: v,
            source: Source::Env("GWB_GRAPH_URL"),
        }
    } else if let Some(v) = file.graph_url {
        Sourced {
            value: v,
            source: from_file(&file_path),
        }
    } else if let Some(c) = &cloud_set {
        Sourced {
            value: c.value.graph_root().to_string(),
            source: Source::FromCloud(c.value),
        }
    } else {
        Sourced {
            value: DEFAULT_GRAPH_ROOT.to_string(),
            source: Source::Default,
        }
    };
    if !global.emulator {
        validate_root(&graph_url.value).map_err(|e| ConfigError::Value {
            name: format!("graph_url (from {})", graph_url.source),
            detail: e.to_string(),
        })?;
    }

    // The cloud: as set, else the one whose Graph the root points at, else global. A Graph root
    // of one known cloud with another cloud set would get tokens for the wrong cloud.
    let url_cloud = if global.emulator {
        None
    } else {
        Cloud::of_graph_root(&graph_url.value)
    };
    let cloud = match (cloud_set, url_cloud) {
        (Some(c), Some(u)) if c.value != u => {
            return Err(ConfigError::Value {
                name: format!("cloud (from {})", c.source),
                detail: format!(
                    "cloud = {} but graph_url (from {}) is {}, the Graph of cloud {}; a token of one cloud is never sent to another's Graph: make them agree",
                    c.value.as_str(),
                    graph_url.source,
                    graph_url.value,
                    u.as_str()
                ),
            });
        }
        (Some(c), _) => c,
        (None, Some(u)) => Sourced {
            value: u,
            source: Source::FromGraphUrl,
        },
        (None, None) => Sourced {
            value: Cloud::Global,
            source: Source::Default,
        },
    };
    let authority_host = if let Some(v) = env("AZURE_AUTHORITY_HOST") {
        Sourced {
            value: v,
            source: Source::Env("AZURE_AUTHORITY_HOST"),
        }
    } else if let Some(v) = file.authority_host {
        Sourced {
            value: v,
            source: from_file(&file_path),
        }
    } else {
        Sourced {
            value: cloud.value.authority_host().to_string(),
            source: Source::FromCloud(cloud.value),
        }
    };
    match url::Url::parse(&authority_host.value) {
        Ok(u) if u.scheme() == "https" && u.host_str().is_some() => {}
        _ => {
            return Err(ConfigError::Value {
                name: format!("authority_host (from {})", authority_host.source),
                detail: format!(
                    "{:?} is not an https URL; expected e.g. {}",
                    authority_host.value,
                    Cloud::Global.authority_host()
                ),
            });
        }
    }

    let mut origins = BTreeMap::new();
    let mut warnings = Vec::new();
    let mut first = |key: &'static str, candidates: Vec<(Option<String>, Source)>| {
        let (v, src) = candidates
            .into_iter()
            .find_map(|(v, s)| v.map(|v| (v, s)))?;
        origins.insert(key, src);
        Some(v)
    };
    let tenant_id = first(
        "tenant_id",
        vec![
            (env("AZURE_TENANT_ID"), Source::Env("AZURE_TENANT_ID")),
            (file.tenant_id.clone(), from_file(&file_path)),
        ],
    );
    let client_id = first(
        "client_id",
        vec![
            (env("AZURE_CLIENT_ID"), Source::Env("AZURE_CLIENT_ID")),
            (file.client_id.clone(), from_file(&file_path)),
        ],
    );
    let federated_token_file = first(
        "federated_token_file",
        vec![(
            env("AZURE_FEDERATED_TOKEN_FILE"),
            Source::Env("AZURE_FEDERATED_TOKEN_FILE"),
        )],
    )
    .map(PathBuf::from);
    let relative_to_file = |p: PathBuf| match &file_path {
        Some(f) if p.is_relative() => f.parent().unwrap_or(Path::new(".")).join(p),
        _ => p,
    };
    let client_certificate = if let Some(v) = env("AZURE_CLIENT_CERTIFICATE_PATH") {
        origins.insert(
            "client_certificate_path",
            Source::Env("AZURE_CLIENT_CERTIFICATE_PATH"),
        );
        Some(PathBuf::from(v))
    } else {
        file.client_certificate_path.clone().map(|p| {
            origins.insert("client_certificate_path", from_file(&file_path));
            relative_to_file(p)
        })
    };
    if let Some(w) = client_certificate
        .as_deref()
        .and_then(|p| shared_secret_warning(p, "a private key"))
    {
        warnings.push(w);
    }

    let mut secrets = SecretReader {
        env: &env,
        file_path: file_path.as_deref(),
        origins: &mut origins,
        warnings: &mut warnings,
    };
    let access_token = secrets.read(
        "access_token",
        ("GWB_ACCESS_TOKEN", "GWB_ACCESS_TOKEN_FILE"),
        None,
        None,
    )?;
    let client_secret = secrets.read(
        "client_secret",
        ("AZURE_CLIENT_SECRET", "GWB_CLIENT_SECRET_FILE"),
        file.client_secret.clone(),
        file.client_secret_file.clone().map(&relative_to_file),
    )?;
    let client_certificate_password = secrets.read(
        "client_certificate_password",
        (
            "AZURE_CLIENT_CERTIFICATE_PASSWORD",
            "GWB_CLIENT_CERTIFICATE_PASSWORD_FILE",
        ),
        file.client_certificate_password.clone(),
        file.client_certificate_password_file
            .clone()
            .map(&relative_to_file),
    )?;

    let auth_inputs = AuthInputs {
        access_token,
        tenant_id,
        client_id,
        client_secret,
        client_certificate,
        client_certificate_password,
        authority_host: authority_host.value.clone(),
        federated_token_file,
        cli_executor: None,
        transport: None,
    };

    let policy = file.policy.clone().unwrap_or_default();
    policy.validate().map_err(|detail| ConfigError::File {
        path: file_path.clone().unwrap_or_default(),
        detail,
    })?;

    let auth = if global.emulator {
        Some(Sourced {
            value: AuthKind::AccessToken,
            source: Source::Emulator,
        })
    } else if let Some(k) = global.auth {
        Some(Sourced {
            value: k,
            source: Source::Flag("--auth"),
        })
    } else if let Some(v) = env("GWB_AUTH") {
        Some(Sourced {
            value: parse_enum::<AuthKind>("GWB_AUTH", &v)?,
            source: Source::Env("GWB_AUTH"),
        })
    } else if let Some(k) = file.auth {
        Some(Sourced {
            value: k,
            source: from_file(&file_path),
        })
    } else if auth_inputs.access_token.is_some() {
        Some(Sourced {
            value: AuthKind::AccessToken,
            source: Source::Inferred("an access token is set (GWB_ACCESS_TOKEN)"),
        })
    } else if auth_inputs.client_secret.is_some() {
        Some(Sourced {
            value: AuthKind::ClientSecret,
            source: Source::Inferred("a client secret is set (AZURE_CLIENT_SECRET)"),
        })
    } else if auth_inputs.client_certificate.is_some() {
        Some(Sourced {
            value: AuthKind::ClientCertificate,
            source: Source::Inferred("a client certificate is set (AZURE_CLIENT_CERTIFICATE_PATH)"),
        })
    } else if auth_inputs.federated_token_file.is_some() {
        Some(Sourced {
            value: AuthKind::WorkloadIdentity,
            source: Source::Inferred("AZURE_FEDERATED_TOKEN_FILE is set"),
        })
    } else if env("IDENTITY_ENDPOINT").is_some() || env("MSI_ENDPOINT").is_some() {
        Some(Sourced {
            value: AuthKind::ManagedIdentity,
            source: Source::Inferred("a managed identity endpoint is set (IDENTITY_ENDPOINT)"),
        })
    } else {
        None
    };

    let output = if let Some(o) = global.output {
        Some(Sourced {
            value: o,
            source: Source::Flag("--output"),
        })
    } else if let Some(v) = env("GWB_OUTPUT") {
        Some(Sourced {
            value: parse_enum::<OutputFormat>("GWB_OUTPUT", &v)?,
            source: Source::Env("GWB_OUTPUT"),
        })
    } else {
        file.output.map(|o| Sourced {
            value: o,
            source: from_file(&file_path),
        })
    };

    let state_dir = env("XDG_STATE_HOME")
        .map(PathBuf::from)
        .or_else(|| env("HOME").map(|h| Path::new(&h).join(".local").join("state")))
        .map(|d| d.join("gwb"));

    Ok(Config {
        cloud,
        graph_url,
        authority_host,
        auth,
        output,
        auth_inputs,
        file: file_path,
        state_dir,
        origins,
        warnings,
        policy,
    })
}

/// Reads secrets from where they may be, remembering where each came from.
struct SecretReader<'a> {
    env: &'a dyn Fn(&str) -> Option<String>,
    file_path: Option<&'a Path>,
    origins: &'a mut BTreeMap<&'static str, Source>,
    warnings: &'a mut Vec<String>,
}

impl SecretReader<'_> {
    /// The secret `key`: from the environment (`vars.0` holds it, `vars.1` names a file holding
    /// it), else from the config file (`inline`, or the file at `path`). Two at the same level
    /// are an error: which one was meant is not gwb's guess.
    fn read(
        &mut self,
        key: &'static str,
        vars: (&'static str, &'static str),
        inline: Option<String>,
        path: Option<PathBuf>,
    ) -> Result<Option<Secret>, ConfigError> {
        let both = |a: String, b: String| ConfigError::Value {
            name: key.to_string(),
            detail: format!("both {a} and {b} are set; set one"),
        };
        let (value, source) = match ((self.env)(vars.0), (self.env)(vars.1)) {
            (Some(_), Some(_)) => return Err(both(vars.0.into(), vars.1.into())),
            (Some(v), None) => (v, Source::Env(vars.0)),
            (None, Some(p)) => self.read_file(key, PathBuf::from(p), Source::Env(vars.1))?,
            (None, None) => {
                let cfg = self.file_path.map(Path::to_path_buf).unwrap_or_default();
                match (inline, path) {
                    (Some(_), Some(_)) => {
                        return Err(both(
                            format!("{key} in {}", cfg.display()),
                            format!("{key}_file"),
                        ));
                    }
                    (Some(v), None) => {
                        if let Some(w) = shared_secret_warning(&cfg, key) {
                            self.warnings.push(w);
                        }
                        (v, Source::File(cfg))
                    }
                    (None, Some(p)) => self.read_file(key, p, Source::File(cfg))?,
                    (None, None) => return Ok(None),
                }
            }
        };
        self.origins.insert(key, source);
        Ok(Some(Secret::new(value)))
    }

    fn read_file(
        &mut self,
        key: &'static str,
        path: PathBuf,
        named_by: Source,
    ) -> Result<(String, Source), ConfigError> {
        let error = |detail: String| ConfigError::Value {
            name: format!("{key} (file named by {named_by})"),
            detail,
        };
        let text = std::fs::read_to_string(&path)
            .map_err(|e| error(format!("cannot read {}: {e}", path.display())))?;
        // Files written by `echo` or editors end in a newline that is not part of the secret.
        let value = text.trim_end_matches(['\n', '\r']).to_string();
        if value.is_empty() {
            return Err(error(format!("{} is empty", path.display())));
        }
        if let Some(w) = shared_secret_warning(&path, key) {
            self.warnings.push(w);
        }
        let source = Source::Contents {
            path,
            named_by: Box::new(named_by),
        };
        Ok((value, source))
    }
}

/// A warning when the file at `path`, which holds `what`, may be read by group or others.
#[cfg(unix)]
fn shared_secret_warning(path: &Path, what: &str) -> Option<String> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path).ok()?.permissions().mode() & 0o777;
    (mode & 0o077 != 0).then(|| {
        format!(
            "{} holds {what} and may be read by group or others (mode {mode:03o}); restrict it: chmod 600 {}",
            path.display(),
            path.display()
        )
    })
}

#[cfg(not(unix))]
fn shared_secret_warning(_path: &Path, _what: &str) -> Option<String> {
    None
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

fn default_config_path(env: &dyn Fn(&str) -> Option<String>) -> Option<PathBuf> {
    let base = env("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| env("HOME").map(|h| Path::new(&h).join(".config")))?;
    Some(base.join("gwb").join("config.toml"))
}

/// Read and parse a config file. A missing default file is `Ok(None)`; a missing explicit one
/// and any unreadable or invalid file is an error naming the path (and the key, via toml).
fn read_file(path: &Path, explicit: bool) -> Result<Option<FileConfig>, ConfigError> {
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
    toml::from_str(&text)
        .map(Some)
        .map_err(|e: toml::de::Error| ConfigError::File {
            path: path.to_path_buf(),
            detail: format!(
                "{}; allowed keys: {FILE_KEYS} (see config.example.toml)",
                parse_error_without_source(&text, &e)
            ),
        })
}

/// A TOML error as its position and message only. toml's own rendering quotes the offending
/// source line, and the file may hold a client secret on that very line (a typo in the key, a
/// wrong type, an unterminated string, a secret under the wrong table): it must never reach
/// stderr. Quoted values in the message (`invalid type: string "..."`) are blanked too.
fn parse_error_without_source(text: &str, e: &toml::de::Error) -> String {
    let mut msg = String::new();
    let mut quoted = false;
    for c in e.message().trim().chars() {
        match c {
            '"' => {
                quoted = !quoted;
                msg.push_str(if quoted { "\"(value hidden" } else { ")\"" });
            }
            _ if quoted => {}
            _ => msg.push(c),
        }
    }
    if quoted {
        msg.push_str(")\"");
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn a_broken_config_file_never_echoes_its_lines() {
        for (name, text, expect) in [
            ("typo", "client_secrte = \"s3cr3t-typo\"\n", "client_secrte"),
            (
                "type",
                "client_secret = \"s3cr3t-ok\"\noutput = 5\n",
                "line 2",
            ),
            ("unterminated", "client_secret = \"s3cr3t-open\n", "line 1"),
            (
                "under-policy",
                "[policy]\nclient_secret = \"s3cr3t-policy\"\n",
                "client_secret",
            ),
            (
                "bool",
                "[policy]\nnew_m365_default = \"s3cr3t-b\"\n",
                "line 2",
            ),
        ] {
            let p = temp_file(&format!("secret-{name}"), text);
            let e = read_file(&p, true).unwrap_err().to_string();
            assert!(!e.contains("s3cr3t"), "{name}: {e}");
            assert!(e.contains(expect), "{name}: {e}");
            assert!(e.contains(&p.display().to_string()), "{name}: {e}");
        }
    }

    fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
        let m: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| m.get(k).cloned()
    }

    fn temp_file(name: &str, text: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("gwb-config-test-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("config.toml");
        std::fs::write(&p, text).unwrap();
        p
    }

    #[test]
    fn defaults_without_file() {
        let c = resolve(
            &GlobalArgs::default(),
            &env_of(&[("XDG_CONFIG_HOME", "/nonexistent-gwb")]),
        )
        .unwrap();
        assert_eq!(c.graph_url.value, DEFAULT_GRAPH_ROOT);
        assert_eq!(c.graph_url.source, Source::Default);
        assert!(c.auth.is_none());
        assert!(c.file.is_none());
    }

    #[test]
    fn flags_beat_env_beat_file() {
        let p = temp_file(
            "prec",
            "graph_url = \"https://file.example\"\nauth = \"client-secret\"\n",
        );
        let ps = p.to_str().unwrap();
        let env = env_of(&[("GWB_CONFIG", ps), ("GWB_GRAPH_URL", "https://env.example")]);
        let c = resolve(&GlobalArgs::default(), &env).unwrap();
        assert_eq!(c.graph_url.value, "https://env.example");
        assert_eq!(c.auth.as_ref().unwrap().value, AuthKind::ClientSecret);
        assert_eq!(c.auth.unwrap().source, Source::File(p.clone()));

        let g = GlobalArgs {
            graph_url: Some("https://flag.example".into()),
            auth: Some(AuthKind::AccessToken),
            ..Default::default()
        };
        let c = resolve(&g, &env).unwrap();
        assert_eq!(c.graph_url.value, "https://flag.example");
        assert_eq!(c.graph_url.source, Source::Flag("--graph-url"));
        assert_eq!(c.auth.unwrap().value, AuthKind::AccessToken);

        let c = resolve(&GlobalArgs::default(), &env_of(&[("GWB_CONFIG", ps)])).unwrap();
        assert_eq!(c.graph_url.value, "https://file.example");
    }

    #[test]
    fn unknown_key_names_file_and_key() {
        let p = temp_file("unknown", "graph_ulr = \"https://x\"\n");
        let e = resolve(
            &GlobalArgs {
                config: Some(p.clone()),
                ..Default::default()
            },
            &env_of(&[]),
        )
        .unwrap_err();
        let s = e.to_string();
        assert!(
            s.contains(p.to_str().unwrap()) && s.contains("graph_ulr"),
            "{s}"
        );
    }

    #[test]
    fn missing_explicit_file_is_an_error() {
        let g = GlobalArgs {
            config: Some("/nonexistent/gwb.toml".into()),
            ..Default::default()
        };
        assert!(
            resolve(&g, &env_of(&[]))
                .unwrap_err()
                .to_string()
                .contains("/nonexistent/gwb.toml")
        );
    }

    #[test]
    fn bad_values_are_named() {
        let e = resolve(&GlobalArgs::default(), &env_of(&[("GWB_AUTH", "password")]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("GWB_AUTH") && e.contains("access-token"), "{e}");
        let e = resolve(
            &GlobalArgs::default(),
            &env_of(&[("GWB_GRAPH_URL", "http://graph.example.com")]),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("GWB_GRAPH_URL") && e.contains("loopback"), "{e}");
        let e = resolve(
            &GlobalArgs::default(),
            &env_of(&[("GWB_GRAPH_URL", "https://graph.microsoft.com/v1.0")]),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("/beta"), "{e}");
    }

    #[test]
    fn auth_is_inferred_from_what_is_present() {
        let c = resolve(
            &GlobalArgs::default(),
            &env_of(&[("GWB_ACCESS_TOKEN", "t")]),
        )
        .unwrap();
        assert_eq!(c.auth.unwrap().value, AuthKind::AccessToken);
        let c = resolve(
            &GlobalArgs::default(),
            &env_of(&[("AZURE_CLIENT_SECRET", "s")]),
        )
        .unwrap();
        assert_eq!(c.auth.unwrap().value, AuthKind::ClientSecret);
        let c = resolve(
            &GlobalArgs::default(),
            &env_of(&[("AZURE_FEDERATED_TOKEN_FILE", "/var/run/secrets/token")]),
        )
        .unwrap();
        assert_eq!(c.auth.unwrap().value, AuthKind::WorkloadIdentity);
        assert_eq!(
            c.auth_inputs.federated_token_file.as_deref(),
            Some(Path::new("/var/run/secrets/token"))
        );
        let c = resolve(
            &GlobalArgs::default(),
            &env_of(&[(
                "IDENTITY_ENDPOINT",
                "http://localhost:40342/metadata/identity/oauth2/token",
            )]),
        )
        .unwrap();
        assert_eq!(c.auth.unwrap().value, AuthKind::ManagedIdentity);
        // Nothing present: no guess (the command says what to set).
        let c = resolve(&GlobalArgs::default(), &env_of(&[])).unwrap();
        assert!(c.auth.is_none());
        // Plain http is fine for loopback (the emulator).
        let c = resolve(
            &GlobalArgs::default(),
            &env_of(&[("GWB_GRAPH_URL", "http://127.0.0.1:8080")]),
        )
        .unwrap();
        assert_eq!(c.graph_url.value, "http://127.0.0.1:8080");
    }

    fn chmod(p: &Path, mode: u32) {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
    }

    #[test]
    fn secrets_come_from_files_and_shared_ones_are_warned_about() {
        // A secret file named by the environment: trailing newline dropped, source recorded.
        let cfg = temp_file("secretfile", "tenant_id = \"t\"\n");
        let dir = cfg.parent().unwrap();
        let secret = dir.join("secret");
        std::fs::write(&secret, "s3cr3t\n").unwrap();
        chmod(&secret, 0o600);
        let sp = secret.to_str().unwrap();
        let c = resolve(
            &GlobalArgs::default(),
            &env_of(&[
                ("GWB_CLIENT_SECRET_FILE", sp),
                ("XDG_CONFIG_HOME", "/nonexistent-gwb"),
            ]),
        )
        .unwrap();
        assert_eq!(
            c.auth_inputs.client_secret.as_ref().unwrap().secret(),
            "s3cr3t"
        );
        assert_eq!(c.auth.unwrap().value, AuthKind::ClientSecret);
        assert_eq!(
            c.origins["client_secret"].to_string(),
            format!("contents of {sp} (named by environment GWB_CLIENT_SECRET_FILE)")
        );
        assert!(c.warnings.is_empty(), "{:?}", c.warnings);
        chmod(&secret, 0o644);
        let c = resolve(
            &GlobalArgs::default(),
            &env_of(&[
                ("GWB_CLIENT_SECRET_FILE", sp),
                ("XDG_CONFIG_HOME", "/nonexistent-gwb"),
            ]),
        )
        .unwrap();
        assert_eq!(c.warnings.len(), 1);
        assert!(c.warnings[0].contains("mode 644") && c.warnings[0].contains("chmod 600"));

        // Both at one level: refused. The environment beats the config file.
        let e = resolve(
            &GlobalArgs::default(),
            &env_of(&[("GWB_CLIENT_SECRET_FILE", sp), ("AZURE_CLIENT_SECRET", "x")]),
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("AZURE_CLIENT_SECRET") && e.contains("set one"),
            "{e}"
        );

        // In the config file, inline or by a path relative to the file.
        std::fs::write(&cfg, "client_secret_file = \"secret\"\n").unwrap();
        let cp = cfg.to_str().unwrap();
        let c = resolve(&GlobalArgs::default(), &env_of(&[("GWB_CONFIG", cp)])).unwrap();
        assert_eq!(
            c.auth_inputs.client_secret.as_ref().unwrap().secret(),
            "s3cr3t"
        );
        let c = resolve(
            &GlobalArgs::default(),
            &env_of(&[("GWB_CONFIG", cp), ("AZURE_CLIENT_SECRET", "from-env")]),
        )
        .unwrap();
        assert_eq!(
            c.auth_inputs.client_secret.as_ref().unwrap().secret(),
            "from-env"
        );
        assert_eq!(
            c.origins["client_secret"],
            Source::Env("AZURE_CLIENT_SECRET")
        );

        std::fs::write(&cfg, "client_secret = \"inline\"\n").unwrap();
        chmod(&cfg, 0o640);
        let c = resolve(&GlobalArgs::default(), &env_of(&[("GWB_CONFIG", cp)])).unwrap();
        assert_eq!(
            c.auth_inputs.client_secret.as_ref().unwrap().secret(),
            "inline"
        );
        assert!(
            c.warnings.len() == 1
                && c.warnings[0].contains(cp)
                && c.warnings[0].contains("client_secret"),
            "{:?}",
            c.warnings
        );
        chmod(&cfg, 0o600);
        let c = resolve(&GlobalArgs::default(), &env_of(&[("GWB_CONFIG", cp)])).unwrap();
        assert!(c.warnings.is_empty(), "{:?}", c.warnings);

        std::fs::write(
            &cfg,
            "client_secret = \"a\"\nclient_secret_file = \"secret\"\n",
        )
        .unwrap();
        assert!(resolve(&GlobalArgs::default(), &env_of(&[("GWB_CONFIG", cp)])).is_err());

        // A named file that cannot be read is an error naming the key and the path.
        let e = resolve(
            &GlobalArgs::default(),
            &env_of(&[("GWB_CLIENT_CERTIFICATE_PASSWORD_FILE", "/nonexistent/pw")]),
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("client_certificate_password") && e.contains("/nonexistent/pw"),
            "{e}"
        );
    }

    #[test]
    fn a_certificate_path_chooses_certificate_sign_in() {
        let cfg = temp_file("cert", "client_certificate_path = \"app.pem\"\n");
        let cp = cfg.to_str().unwrap();
        let c = resolve(&GlobalArgs::default(), &env_of(&[("GWB_CONFIG", cp)])).unwrap();
        assert_eq!(c.auth.unwrap().value, AuthKind::ClientCertificate);
        assert_eq!(
            c.auth_inputs.client_certificate.as_deref(),
            Some(cfg.parent().unwrap().join("app.pem").as_path())
        );
        let c = resolve(
            &GlobalArgs::default(),
            &env_of(&[
                ("GWB_CONFIG", cp),
                ("AZURE_CLIENT_CERTIFICATE_PATH", "/etc/gwb/app.pfx"),
                ("AZURE_CLIENT_CERTIFICATE_PASSWORD", "pw"),
            ]),
        )
        .unwrap();
        assert_eq!(
            c.auth_inputs.client_certificate.as_deref(),
            Some(Path::new("/etc/gwb/app.pfx"))
        );
        assert_eq!(
            c.auth_inputs.client_certificate_password.unwrap().secret(),
            "pw"
        );
    }

    #[test]
    fn each_cloud_sets_graph_root_sign_in_host_and_scope_together() {
        let want = [
            (
                "global",
                "https://graph.microsoft.com",
                "https://login.microsoftonline.com",
            ),
            (
                "usgov",
                "https://graph.microsoft.us",
                "https://login.microsoftonline.us",
            ),
            (
                "usgov-dod",
                "https://dod-graph.microsoft.us",
                "https://login.microsoftonline.us",
            ),
            (
                "china",
                "https://microsoftgraph.chinacloudapi.cn",
                "https://login.chinacloudapi.cn",
            ),
        ];
        for (name, graph, login) in want {
            let env = env_of(&[("XDG_CONFIG_HOME", "/nonexistent-gwb"), ("GWB_CLOUD", name)]);
            let c = resolve(&GlobalArgs::default(), &env).unwrap();
            assert_eq!(c.cloud.value.as_str(), name);
            assert_eq!(c.graph_url.value, graph, "{name}");
            assert_eq!(c.graph_url.source, Source::FromCloud(c.cloud.value));
            assert_eq!(c.authority_host.value, login, "{name}");
            assert_eq!(c.auth_inputs.authority_host, login);
            // The Graph root alone implies its cloud, and so the sign-in host.
            let env = env_of(&[
                ("XDG_CONFIG_HOME", "/nonexistent-gwb"),
                ("GWB_GRAPH_URL", graph),
            ]);
            let c = resolve(&GlobalArgs::default(), &env).unwrap();
            assert_eq!(c.cloud.value.as_str(), name);
            assert_eq!(c.cloud.source, Source::FromGraphUrl);
            assert_eq!(c.authority_host.value, login);
        }
    }

    #[test]
    fn cloud_precedence_overrides_and_conflicts() {
        let p = temp_file("cloud", "cloud = \"usgov\"\n");
        let ps = p.to_str().unwrap();
        let c = resolve(&GlobalArgs::default(), &env_of(&[("GWB_CONFIG", ps)])).unwrap();
        assert_eq!(c.cloud.value, Cloud::Usgov);
        assert_eq!(c.cloud.source, Source::File(p.clone()));
        let env = env_of(&[("GWB_CONFIG", ps), ("GWB_CLOUD", "china")]);
        assert_eq!(
            resolve(&GlobalArgs::default(), &env).unwrap().cloud.value,
            Cloud::China
        );
        let g = GlobalArgs {
            cloud: Some(Cloud::UsgovDod),
            ..Default::default()
        };
        let c = resolve(&g, &env).unwrap();
        assert_eq!(c.cloud.value, Cloud::UsgovDod);
        assert_eq!(c.graph_url.value, "https://dod-graph.microsoft.us");

        // An explicit sign-in host wins over the cloud's; it must be https.
        let env = env_of(&[
            ("GWB_CONFIG", ps),
            ("AZURE_AUTHORITY_HOST", "https://login.example.test"),
        ]);
        let c = resolve(&GlobalArgs::default(), &env).unwrap();
        assert_eq!(c.authority_host.value, "https://login.example.test");
        let env = env_of(&[
            ("GWB_CONFIG", ps),
            ("AZURE_AUTHORITY_HOST", "http://login.example.test"),
        ]);
        let e = resolve(&GlobalArgs::default(), &env)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("AZURE_AUTHORITY_HOST") && e.contains("https"),
            "{e}"
        );

        // One cloud's Graph with another cloud set is refused: the token would be the wrong one.
        let env = env_of(&[
            ("GWB_CONFIG", ps),
            ("GWB_GRAPH_URL", "https://graph.microsoft.com"),
        ]);
        let e = resolve(&GlobalArgs::default(), &env)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("cloud = usgov") && e.contains("graph.microsoft.com"),
            "{e}"
        );
        // A Graph root that is no cloud's (a proxy, the emulator) is allowed with any cloud.
        let env = env_of(&[
            ("GWB_CONFIG", ps),
            ("GWB_GRAPH_URL", "http://127.0.0.1:8080"),
        ]);
        assert_eq!(
            resolve(&GlobalArgs::default(), &env).unwrap().cloud.value,
            Cloud::Usgov
        );
        let env = env_of(&[("GWB_CLOUD", "mars")]);
        let e = resolve(&GlobalArgs::default(), &env)
            .unwrap_err()
            .to_string();
        assert!(e.contains("GWB_CLOUD") && e.contains("usgov-dod"), "{e}");
    }

    #[test]
    fn the_example_config_documents_every_key_and_parses_uncommented() {
        let text = include_str!("../config.example.toml");
        // Every commented-out `key = value` line, uncommented, must be a valid config.
        let uncommented: String = text
            .lines()
            .filter_map(|l| {
                let l = l.trim_start_matches('#').trim();
                if l.starts_with('[') && l.ends_with(']') && !l.contains(' ') {
                    return Some(format!("{l}\n"));
                }
                let key = l.split('=').next()?.trim();
                (l.contains(" = ") && !key.contains(' ')).then(|| format!("{l}\n"))
            })
            .collect();
        let parsed: FileConfig =
            toml::from_str(&uncommented).unwrap_or_else(|e| panic!("{e}\n{uncommented}"));
        assert!(parsed.cloud.is_some() && parsed.graph_url.is_some());
        assert!(parsed.authority_host.is_some() && parsed.auth.is_some());
        assert!(
            parsed.output.is_some() && parsed.tenant_id.is_some() && parsed.client_id.is_some()
        );
        assert!(parsed.client_secret.is_some() && parsed.client_secret_file.is_some());
        assert!(parsed.client_certificate_path.is_some());
        assert!(parsed.client_certificate_password.is_some());
        assert!(parsed.client_certificate_password_file.is_some());
        // FILE_KEYS, shown when a key is unknown, names every key.
        let listed: Vec<&str> = FILE_KEYS.split(", ").collect();
        let top: Vec<&str> = uncommented
            .lines()
            .take_while(|l| !l.starts_with('['))
            .filter_map(|l| l.split(" = ").next())
            .collect();
        for key in &top {
            assert!(listed.contains(key), "{key} missing from FILE_KEYS");
        }
        let policy = parsed.policy.expect("the example documents [policy]");
        assert!(policy.new_m365_default.is_some() && !policy.allow.is_empty());
        assert!(
            policy.m365_writeback != crate::writeback::policy::Rule::Any
                && policy.security_writeback != crate::writeback::policy::Rule::Any
        );
        for key in [
            "new_m365_default",
            "m365_writeback",
            "security_writeback",
            "allow",
        ] {
            assert!(FILE_KEYS.contains(key), "{key}");
        }
    }
}
