//! One file per subcommand. Commands are thin: fetch through `graph`, decide with the pure
//! `writeback` core, print through `output`.

pub mod apply;
pub mod check;
pub mod config_show;
pub mod disable;
pub mod emulator;
pub mod report;
pub mod restore;
pub mod set_default;

use crate::cli::OutputFormat;
use crate::graph::GraphClient;

/// What every command that talks to Graph gets.
pub struct Context {
    pub client: GraphClient,
    pub format: OutputFormat,
    /// Where this run works; recorded in plans and journals, checked when they are used.
    pub target: Target,
}

/// The Graph root and tenant a run works on. Plans and journals record it, and are used only
/// where it matches: two tenants share a Graph root, two clouds share none.
#[derive(Debug, Clone)]
pub struct Target {
    /// The Graph root, or "emulator" (its port changes every run).
    pub graph_root: String,
    /// The token's `tid` claim, when the token says.
    pub tenant_id: Option<String>,
}

impl Target {
    /// Refuse `what` (a plan or journal) recorded for another Graph root or tenant.
    pub fn check(
        &self,
        what: &str,
        graph_root: &str,
        tenant_id: Option<&str>,
    ) -> Result<(), crate::UsageError> {
        if graph_root.trim_end_matches('/') != self.graph_root.trim_end_matches('/') {
            return Err(crate::UsageError(format!(
                "{what} was made against {graph_root}, not {}; refusing to use it here (nothing was changed)",
                self.graph_root
            )));
        }
        match (tenant_id, self.tenant_id.as_deref()) {
            (Some(r), Some(c)) if !r.eq_ignore_ascii_case(c) => Err(crate::UsageError(format!(
                "{what} was made for tenant {r}, but gwb is signed in to tenant {c}; refusing to use it here (nothing was changed)"
            ))),
            (Some(r), None) => {
                tracing::warn!(
                    "{what} was made for tenant {r}; this token does not say its tenant, so that cannot be checked"
                );
                Ok(())
            }
            _ => Ok(()),
        }
    }
}

/// The longest duration gwb accepts for a seconds flag: a week. Anything longer is a typo (and
/// `1e20` seconds does not even fit a `Duration`).
pub const MAX_SECONDS: f64 = 7.0 * 24.0 * 3600.0;

/// A seconds flag (fractions allowed): finite, at most [`MAX_SECONDS`], and positive (or also 0
/// when `zero_ok`). Checked before anything is created, so a bad value changes nothing.
pub fn seconds(
    flag: &str,
    secs: f64,
    zero_ok: bool,
) -> Result<std::time::Duration, crate::UsageError> {
    let low_ok = if zero_ok { secs >= 0.0 } else { secs > 0.0 };
    if secs.is_finite()
        && low_ok
        && secs <= MAX_SECONDS
        && let Ok(d) = std::time::Duration::try_from_secs_f64(secs)
    {
        return Ok(d);
    }
    let low = if zero_ok { "0 or more" } else { "more than 0" };
    Err(crate::UsageError(format!(
        "{flag} must be a number of seconds, {low} and at most {MAX_SECONDS} (a week), not {secs}; nothing was changed"
    )))
}

/// `--verify-timeout`: a number of seconds, 0 or more.
pub fn verify_timeout(secs: f64) -> Result<std::time::Duration, crate::UsageError> {
    seconds("--verify-timeout", secs, true)
}
