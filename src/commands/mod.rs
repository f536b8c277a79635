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
    /// The tenant the token is for (its `tid` claim), when the token says; recorded in plans
    /// and journals so they are never applied to another tenant.
    pub tenant_id: Option<String>,
}

/// `--verify-timeout`: a number of seconds, 0 or more.
pub fn verify_timeout(secs: f64) -> Result<std::time::Duration, crate::UsageError> {
    if secs.is_finite() && secs >= 0.0 {
        Ok(std::time::Duration::from_secs_f64(secs))
    } else {
        Err(crate::UsageError(format!(
            "--verify-timeout must be a number of seconds (0 or more), not {secs}"
        )))
    }
}

/// Refuse a plan or journal recorded for another tenant than the token's.
pub fn check_tenant(
    what: &str,
    recorded: Option<&str>,
    current: Option<&str>,
) -> Result<(), crate::UsageError> {
    match (recorded, current) {
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
