//! Configuration, resolved once: flags > `GWB_*` environment > config file > built-in defaults.
//!
//! This is the only module that reads the environment. Every value remembers where it came
//! from, so `-v` can say. Secrets (the access token, the client secret) are read from the
//! environment only, never from flags (visible in `ps`) and, for now, never from the file.

use std::fmt;
use std::path::{Path, PathBuf};

use azure_core::credentials::Secret;
use clap::ValueEnum;
use serde::Deserialize;

use crate::auth::{AuthInputs, AuthKind};
use crate::cli::{GlobalArgs, OutputFormat};
use crate::graph::{DEFAULT_GRAPH_ROOT, validate_root};

/// Where a value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Flag(&'static str),
    Env(&'static str),
    File(PathBuf),
    Inferred(&'static str),
    Default,
    Emulator,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Flag(n) => write!(f, "flag {n}"),
            Source::Env(n) => write!(f, "environment {n}"),
            Source::File(p) => write!(f, "file {}", p.display()),
            Source::Inferred(why) => write!(f, "chosen because {why}"),
            Source::Default => f.write_str("default"),
            Source::Emulator => f.write_str("--emulator"),
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
    pub graph_url: Sourced<String>,
    pub auth: Option<Sourced<AuthKind>>,
    pub output: Option<Sourced<OutputFormat>>,
    pub auth_inputs: AuthInputs,
    /// The config file that was read, if any.
    pub file: Option<PathBuf>,
    /// Where journals go by default: `$XDG_STATE_HOME/gwb`, else `~/.local/state/gwb`.
    pub state_dir: Option<PathBuf>,
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
    graph_url: Option<String>,
    auth: Option<AuthKind>,
    output: Option<OutputFormat>,
    tenant_id: Option<String>,
    client_id: Option<String>,
}

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

    let auth_inputs = AuthInputs {
        access_token: env("GWB_ACCESS_TOKEN").map(Secret::new),
        tenant_id: env("AZURE_TENANT_ID").or(file.tenant_id),
        client_id: env("AZURE_CLIENT_ID").or(file.client_id),
        client_secret: env("AZURE_CLIENT_SECRET").map(Secret::new),
    };

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
            source: Source::Inferred("GWB_ACCESS_TOKEN is set"),
        })
    } else if auth_inputs.client_secret.is_some() {
        Some(Sourced {
            value: AuthKind::ClientSecret,
            source: Source::Inferred("AZURE_CLIENT_SECRET is set"),
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
        graph_url,
        auth,
        output,
        auth_inputs,
        file: file_path,
        state_dir,
    })
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
    toml::from_str(&text).map(Some).map_err(|e| ConfigError::File {
        path: path.to_path_buf(),
        detail: format!(
            "{}; allowed keys: graph_url, auth, output, tenant_id, client_id (see config.example.toml)",
            e.to_string().trim_end()
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

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
        // Plain http is fine for loopback (the emulator).
        let c = resolve(
            &GlobalArgs::default(),
            &env_of(&[("GWB_GRAPH_URL", "http://127.0.0.1:8080")]),
        )
        .unwrap();
        assert_eq!(c.graph_url.value, "http://127.0.0.1:8080");
    }
}
