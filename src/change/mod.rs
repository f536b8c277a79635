//! The change layer: the only code that writes to a tenant, opens journals or takes the lock.
//! The pipeline (plan, print, consent, lock, journal, apply, verify: one stop for `--dry-run`),
//! the apply engine for group writes, the Group.Unified write and its restore, the review CSV
//! a plan is narrowed by, and the run's context every command gets. Commands build change sets
//! and hand them to `pipeline::run`; nothing here imports a command.

pub mod apply;
pub(crate) mod pipeline;
pub(crate) mod review;
pub(crate) mod run;
pub(crate) mod run_state;
pub(crate) mod setting;
pub(crate) mod undo;

use crate::cli::OutputFormat;
use crate::graph::GraphClient;

/// Where a writing run keeps its files: journals in the state directory (none without HOME or
/// XDG_STATE_HOME: then `--journal` is needed), locks in the lock directory shared by every user.
#[derive(Debug, Clone)]
pub struct Dirs {
    pub state: Option<std::path::PathBuf>,
    pub lock: std::path::PathBuf,
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
    /// The global flags that chose this target, for the follow-up commands gwb prints.
    pub way_back: WayBack,
    /// When the run's `--deadline` ends: what comes after the result (notifications) gets only
    /// what is left of it.
    pub deadline: Option<std::time::Instant>,
    /// `[policy] cloud_sync_group_provisioning = "none"`: the operator confirms the tenant has
    /// no Cloud Sync group provisioning, so not finding a job means there is none (otherwise it
    /// proves nothing: gwb cannot be sure to find every Cloud Sync configuration).
    pub no_cloud_sync_group_provisioning: bool,
    /// In a fleet run printing JUnit or HTML: the run hands its suite or page to the fleet
    /// here instead of printing a file, and the fleet renders one file from every tenant's.
    pub documents: Option<Documents>,
}

/// The documents a fleet's tenant hands in ([`Context::documents`]).
#[derive(Default)]
pub(crate) struct Handed {
    pub suites: Vec<crate::output::junit::Suite>,
    pub pages: Vec<crate::output::html::Page>,
    /// A check's result in counts, its trend and its exceptions' expiries.
    pub check: Option<CheckNews>,
}

/// What a fleet's tenant hands in of its check (the fleet sums, sorts and tells).
#[derive(Debug, Clone, Default)]
pub(crate) struct CheckNews {
    pub tally: crate::doc::check::Tally,
    /// The drift count of the last runs, oldest first.
    pub trend: Vec<u64>,
    pub expiries: Vec<crate::writeback::policy::Expiry>,
}

/// Where a fleet collects a tenant's documents ([`Context::documents`]).
#[derive(Clone, Default)]
pub struct Documents(std::sync::Arc<std::sync::Mutex<Handed>>);

impl std::fmt::Debug for Documents {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Documents")
    }
}

impl Documents {
    pub(crate) fn suite(&self, suite: crate::output::junit::Suite) {
        self.0.lock().expect("documents").suites.push(suite);
    }

    pub(crate) fn page(&self, page: crate::output::html::Page) {
        self.0.lock().expect("documents").pages.push(page);
    }

    pub(crate) fn check(&self, news: CheckNews) {
        self.0.lock().expect("documents").check = Some(news);
    }

    /// The suites handed in so far.
    pub(crate) fn take(&self) -> Handed {
        std::mem::take(&mut *self.0.lock().expect("documents"))
    }
}

impl Context {
    /// What this run's documents say they describe ([`crate::doc::Meta`]).
    pub(crate) fn meta(&self, command: &str) -> crate::doc::Meta {
        crate::doc::Meta {
            tenant_id: self.target.tenant_id.clone(),
            tenant_name: self.target.name.clone(),
            graph_root: self.target.graph_root.clone(),
            ..crate::doc::Meta::this_run(&format!("gwb {command}"))
        }
    }
}

/// The follow-up commands a run prints ("undo with", "apply it with") carry the global flags
/// that chose its target, so that pasted they reach the same tenant: `--config`, `--tenant`,
/// `--emulator` (with its sample's size and seed), `--cloud`, `--graph-url`, `--auth`. What
/// the environment chose, the same shell still chooses.
#[derive(Debug, Clone, Default)]
pub struct WayBack {
    flags: Vec<String>,
}

impl WayBack {
    pub(crate) fn new(
        global: &crate::cli::GlobalArgs,
        config_file: Option<&std::path::Path>,
        tenant: Option<&str>,
    ) -> WayBack {
        use clap::ValueEnum;
        let mut flags: Vec<String> = Vec::new();
        let mut flag = |name: &str, value: Option<String>| {
            flags.push(name.to_string());
            flags.extend(value);
        };
        if let Some(f) = config_file {
            flag("--config", Some(f.display().to_string()));
        }
        if let Some(t) = tenant {
            flag("--tenant", Some(t.to_string()));
        }
        if global.emulator {
            flag("--emulator", None);
            if let Some(n) = global.emulator_groups {
                flag("--emulator-groups", Some(n.to_string()));
            }
            if let Some(s) = global.emulator_seed {
                flag("--emulator-seed", Some(s.to_string()));
            }
        }
        let name = |v: Option<clap::builder::PossibleValue>| v.map(|v| v.get_name().to_string());
        if let Some(c) = &global.cloud {
            flag("--cloud", name(c.to_possible_value()));
        }
        if let Some(u) = &global.graph_url {
            flag("--graph-url", Some(u.clone()));
        }
        if let Some(a) = &global.auth {
            flag("--auth", name(a.to_possible_value()));
        }
        WayBack { flags }
    }

    /// `gwb [flags] ARGS...`, each word quoted for a POSIX shell where it needs it.
    pub(crate) fn command(&self, args: &[&str]) -> String {
        std::iter::once("gwb")
            .chain(self.flags.iter().map(String::as_str))
            .chain(args.iter().copied())
            .map(shell_word)
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// The command that undoes the run recorded in `journal`.
    pub(crate) fn undo(&self, journal: &std::path::Path) -> String {
        self.command(&["restore", "--journal", &journal.display().to_string()])
    }

    /// The command that applies the plan saved at `plan`.
    pub(crate) fn apply_plan(&self, plan: &std::path::Path) -> String {
        self.command(&[
            "disable-existing-m365",
            "--plan",
            &plan.display().to_string(),
        ])
    }
}

/// `word` as a POSIX shell reads it back: as it is when it holds only safe characters, else in
/// single quotes.
fn shell_word(word: &str) -> std::borrow::Cow<'_, str> {
    let safe = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=@%+,".contains(c));
    if safe {
        word.into()
    } else {
        format!("'{}'", word.replace('\'', "'\\''")).into()
    }
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
    /// The tenant as notifications name it.
    pub(crate) fn as_notified(&self) -> crate::notify::Tenant {
        crate::notify::Tenant {
            id: self.tenant_id.clone(),
            graph_root: self.graph_root.clone(),
            name: self.name.clone(),
        }
    }

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
            // The built-in emulator is a target of its own: say how to reach it, or leave it.
            let hint = match (graph_root, self.graph_root.as_str()) {
                ("emulator", _) => {
                    "; it was made against gwb's built-in emulator: add --emulator to use it there"
                }
                (_, "emulator") => "; drop --emulator to use it against that Graph root",
                _ => "",
            };
            return Err(crate::error::UsageError(format!(
                "{what} was made against {graph_root}, not {}; refusing to use it here (nothing was changed){hint}",
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

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[test]
    fn the_way_back_names_the_flags_that_chose_the_target_quoted_for_a_shell() {
        let cli = crate::cli::Cli::parse_from([
            "gwb",
            "--emulator",
            "--emulator-seed",
            "7",
            "-q",
            "--emulator-reset",
            "disable-existing-m365",
        ]);
        let w = WayBack::new(
            &cli.global,
            Some(std::path::Path::new("my conf.toml")),
            None,
        );
        assert_eq!(
            w.undo(std::path::Path::new("/s/it's.jsonl")),
            "gwb --config 'my conf.toml' --emulator --emulator-seed 7 restore --journal '/s/it'\\''s.jsonl'"
        );
        let cli = crate::cli::Cli::parse_from([
            "gwb",
            "--cloud",
            "usgov",
            "--graph-url",
            "https://graph.microsoft.us",
            "report",
        ]);
        let w = WayBack::new(&cli.global, None, Some("contoso"));
        assert_eq!(
            w.apply_plan(std::path::Path::new("r.csv")),
            "gwb --tenant contoso --cloud usgov --graph-url https://graph.microsoft.us disable-existing-m365 --plan r.csv"
        );
    }
}
