//! One file per subcommand. Commands are thin: fetch through `graph`, decide with the pure
//! `writeback` core, print through `output`.

pub mod apply;
pub(crate) mod check;
pub(crate) mod config_show;
pub mod disable;
pub(crate) mod emulator;
pub(crate) mod man;
pub(crate) mod pipeline;
pub mod report;
pub(crate) mod restore;
pub(crate) mod review;
pub(crate) mod run_state;
pub(crate) mod set_default;

use crate::cli::OutputFormat;
use crate::graph::GraphClient;

/// Where a writing run keeps its files: journals in the state directory (none without HOME or
/// XDG_STATE_HOME: then `--journal` is needed), locks in the lock directory shared by every user.
#[derive(Debug, Clone)]
pub struct Dirs {
    pub state: Option<std::path::PathBuf>,
    pub lock: std::path::PathBuf,
}

/// Every group of the tenant, handed to `each`, with a spinner counting them on a terminal
/// ("reading groups… 12,000"): a listing of 30,000 groups is a quarter of a minute.
pub(crate) async fn each_group(
    client: &GraphClient,
    mut each: impl FnMut(crate::graph::model::Group) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let spin = crate::output::spinner("reading groups");
    let r = crate::graph::groups::for_each(client, |g| {
        spin.inc(1);
        each(g)
    })
    .await;
    spin.finish_and_clear();
    r
}

/// What every command that talks to Graph gets.
pub struct Context {
    pub client: GraphClient,
    pub format: OutputFormat,
    /// Where this run works; recorded in plans and journals, checked when they are used.
    pub target: Target,
    /// The data goes to a `--out` file, which appears only when the run succeeds: JSON can be
    /// written as it is read. To stdout, JSON is kept whole so a failed run prints none of it.
    pub out_is_file: bool,
}

/// The Graph root and tenant a run works on. Plans and journals record it, and are used only
/// where it matches: two tenants share a Graph root, two clouds share none.
#[derive(Debug, Clone)]
pub struct Target {
    /// The Graph root, or "emulator" (its port changes every run).
    pub graph_root: String,
    /// The token's `tid` claim, when the token says.
    pub tenant_id: Option<String>,
    /// `--tenant NAME`: the config file's name for the tenant, which journals and state files
    /// carry in their file names (not compared: the Graph root and tenant id are).
    pub name: Option<String>,
}

impl Target {
    /// The run lock's key, which names the check's state file too. A token that does not say
    /// its tenant (an opaque access token) is keyed by the entry's name, so the tenants of a
    /// fleet on one Graph root never share a lock.
    pub(crate) fn lock_key(&self) -> crate::lock::LockKey<'_> {
        crate::lock::LockKey {
            graph_root: &self.graph_root,
            tenant_id: self.tenant_id.as_deref().or(self.name.as_deref()),
        }
    }

    /// `stem` with the tenant's name, for a file name: `disable-existing-m365-contoso`.
    pub(crate) fn file_stem(&self, stem: &str) -> String {
        match &self.name {
            Some(n) => format!("{stem}-{n}"),
            None => stem.to_string(),
        }
    }
}

impl Target {
    /// Whether something recorded for `graph_root` and `tenant_id` belongs here, quietly (a
    /// tenant that one side does not know is not a mismatch).
    pub(crate) fn matches(&self, graph_root: &str, tenant_id: Option<&str>) -> bool {
        graph_root.trim_end_matches('/') == self.graph_root.trim_end_matches('/')
            && match (tenant_id, self.tenant_id.as_deref()) {
                (Some(r), Some(c)) => r.eq_ignore_ascii_case(c),
                _ => true,
            }
    }

    /// Refuse `what` (a plan or journal) recorded for another Graph root or tenant.
    pub(crate) fn check(
        &self,
        what: &str,
        graph_root: &str,
        tenant_id: Option<&str>,
    ) -> Result<(), crate::error::UsageError> {
        if graph_root.trim_end_matches('/') != self.graph_root.trim_end_matches('/') {
            return Err(crate::error::UsageError(format!(
                "{what} was made against {graph_root}, not {}; refusing to use it here (nothing was changed)",
                self.graph_root
            )));
        }
        match (tenant_id, self.tenant_id.as_deref()) {
            (Some(r), Some(c)) if !r.eq_ignore_ascii_case(c) => {
                Err(crate::error::UsageError(format!(
                    "{what} was made for tenant {r}, but gwb is signed in to tenant {c}; refusing to use it here (nothing was changed)"
                )))
            }
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

pub(crate) use crate::config::seconds;

/// `--verify-timeout`: a number of seconds, 0 or more.
pub(crate) fn verify_timeout(secs: f64) -> Result<std::time::Duration, crate::error::UsageError> {
    seconds("--verify-timeout", secs, true)
}
