//! How a run behaves, beside where it connects: how long requests and the run may take, how
//! many pages a listing may have, and how logs are written.

use std::time::Duration;

use super::{ConfigError, Layers, Source, Sourced, flag, pick};
use crate::cli::{ColorChoice, GlobalArgs, LogFormat};

/// The longest duration gwb accepts for a seconds setting: a week. Anything longer is a typo
/// (and `1e20` seconds does not even fit a `Duration`).
pub(crate) const MAX_SECONDS: f64 = 7.0 * 24.0 * 3600.0;

/// A seconds setting (fractions allowed): finite, at most [`MAX_SECONDS`], and positive (or
/// also 0 when `zero_ok`). Checked before anything is created, so a bad value changes nothing.
pub(crate) fn seconds(
    name: &str,
    secs: f64,
    zero_ok: bool,
) -> Result<Duration, crate::error::UsageError> {
    let low_ok = if zero_ok { secs >= 0.0 } else { secs > 0.0 };
    if secs.is_finite()
        && low_ok
        && secs <= MAX_SECONDS
        && let Ok(d) = Duration::try_from_secs_f64(secs)
    {
        return Ok(d);
    }
    let low = if zero_ok { "0 or more" } else { "more than 0" };
    Err(crate::error::UsageError(format!(
        "{name} must be a number of seconds, {low} and at most {MAX_SECONDS} (a week), not {secs}; nothing was changed"
    )))
}

/// The run's time and size limits, each with where it came from.
#[derive(Debug, Clone)]
pub(crate) struct Limits {
    pub read_timeout: Sourced<Duration>,
    pub request_timeout: Sourced<Duration>,
    pub deadline: Sourced<Duration>,
    pub retry_budget: Sourced<Duration>,
    pub max_pages: Sourced<u64>,
}

pub(super) fn limits(global: &GlobalArgs, layers: &Layers) -> Result<Limits, ConfigError> {
    let secs = |value: Option<f64>, flag_name: &'static str, var: &'static str, default: f64| {
        let picked = pick([
            flag(value, flag_name),
            number::<f64>(layers, var)?,
            Some(Sourced {
                value: default,
                source: Source::Default,
            }),
        ])
        .expect("the last layer is always set");
        let name = match &picked.source {
            Source::Env(v) => v.to_string(),
            _ => flag_name.to_string(),
        };
        let value = seconds(&name, picked.value, false)
            .map_err(|e| ConfigError::Value { name, detail: e.0 })?;
        Ok::<_, ConfigError>(Sourced {
            value,
            source: picked.source,
        })
    };
    Ok(Limits {
        read_timeout: secs(
            global.read_timeout,
            "--read-timeout",
            "GWB_READ_TIMEOUT",
            30.0,
        )?,
        request_timeout: secs(
            global.request_timeout,
            "--request-timeout",
            "GWB_REQUEST_TIMEOUT",
            120.0,
        )?,
        deadline: secs(global.deadline, "--deadline", "GWB_DEADLINE", 86_400.0)?,
        retry_budget: secs(
            global.retry_budget,
            "--retry-budget",
            "GWB_RETRY_BUDGET",
            900.0,
        )?,
        max_pages: pick([
            flag(global.max_pages, "--max-pages"),
            number::<u64>(layers, "GWB_MAX_PAGES")?,
            Some(Sourced {
                value: crate::graph::DEFAULT_MAX_PAGES,
                source: Source::Default,
            }),
        ])
        .expect("the last layer is always set"),
    })
}

/// A number from the environment.
fn number<T: std::str::FromStr>(
    layers: &Layers,
    var: &'static str,
) -> Result<Option<Sourced<T>>, ConfigError> {
    layers
        .env(var)
        .map(|v| {
            v.trim()
                .parse::<T>()
                .map(|value| Sourced {
                    value,
                    source: Source::Env(var),
                })
                .map_err(|_| ConfigError::Value {
                    name: var.to_string(),
                    detail: format!("{v:?} is not a number"),
                })
        })
        .transpose()
}

/// How logs are written, set once at start-up.
#[derive(Debug, Clone, Copy)]
pub struct LogSettings {
    pub verbose: u8,
    pub quiet: bool,
    pub format: LogFormat,
    pub color: ColorChoice,
    /// `NO_COLOR` is set (https://no-color.org).
    pub no_color_env: bool,
}

/// The log settings: flags > `GWB_LOG_FORMAT` > text; `NO_COLOR` turns colour off under
/// `--color auto`. Resolved before anything else (so the config's own errors are logged in the
/// chosen format); a `GWB_LOG_FORMAT` that is not a format is returned as the error, with text
/// settings to report it in.
pub fn logging(
    global: &GlobalArgs,
    env: &dyn Fn(&str) -> Option<String>,
) -> (LogSettings, Option<ConfigError>) {
    let env = |k: &str| env(k).filter(|v| !v.is_empty());
    let (from_env, error) = match env("GWB_LOG_FORMAT") {
        Some(v) => match super::parse_enum::<LogFormat>("GWB_LOG_FORMAT", &v) {
            Ok(f) => (Some(f), None),
            Err(e) => (None, Some(e)),
        },
        None => (None, None),
    };
    let settings = LogSettings {
        verbose: global.verbose,
        quiet: global.quiet,
        format: global.log_format.or(from_env).unwrap_or_default(),
        color: global.color,
        no_color_env: env("NO_COLOR").is_some(),
    };
    (settings, error)
}

impl LogSettings {
    /// The tracing filter. Text: warnings by default, `-v` info, `-vv` debug, `-vvv` trace,
    /// `-q` errors only. JSON: info by default, with every Graph request (logged at debug by
    /// `gwb::graph`), so a scheduled job's log says what it did.
    pub fn filter(&self) -> String {
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
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => stderr_is_terminal && !self.no_color_env,
        }
    }
}
