//! `gwb history`: the runs of `check` that the state keeps, per tenant, newest first. Reads the
//! state directory only: no sign-in, no Graph.
//!
//! A tenant's state file is named by its `[[tenants]]` name (if any) and a hash of its Graph
//! root and tenant id (`check-contoso-gwb-<hash>.json`), so history finds it by the name and
//! the Graph root the config gives; when several tenants' files match (a run without `--tenant`
//! against two tenants), the most recently checked is shown and the others are named.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::change::run_state::{self, State};
use crate::cli::{GlobalArgs, HistoryArgs};
use crate::doc::history::{HistoryDoc, TenantHistory};
use crate::error::{ExitStatus, UsageError};

/// Whether `file` (a name in the state directory) is a check state of the tenant `name`
/// (`None`: a run without `--tenant`).
fn is_state_of(file: &str, name: Option<&str>) -> bool {
    let Some(middle) = file
        .strip_prefix("check-")
        .and_then(|f| f.strip_suffix(".json"))
    else {
        return false;
    };
    // The last 20 characters are the key: `gwb-` and 16 hexadecimal digits.
    let Some(split) = middle.len().checked_sub(20) else {
        return false;
    };
    let (prefix, key) = middle.split_at(split);
    let hex = key
        .strip_prefix("gwb-")
        .is_some_and(|h| h.len() == 16 && h.bytes().all(|b| b.is_ascii_hexdigit()));
    hex && match name {
        Some(n) => prefix.strip_suffix('-') == Some(n),
        None => prefix.is_empty(),
    }
}

/// The state of the tenant `name` in `dir` for `graph_root`: the most recently checked one.
fn find(dir: &Path, name: Option<&str>, graph_root: &str) -> Option<(PathBuf, State)> {
    let entries = std::fs::read_dir(dir).ok()?;
    let mut found: Vec<(PathBuf, State)> = entries
        .filter_map(|e| e.ok())
        .filter(|e| is_state_of(&e.file_name().to_string_lossy(), name))
        .filter_map(|e| {
            let path = e.path();
            match run_state::read(&path) {
                Ok(Some(s)) => Some((path, s)),
                Ok(None) => None,
                Err(why) => {
                    tracing::warn!("the check state {}: {why}; left out", path.display());
                    None
                }
            }
        })
        .filter(|(_, s)| s.graph_root.trim_end_matches('/') == graph_root.trim_end_matches('/'))
        .collect();
    found.sort_by(|a, b| b.1.checked_at.cmp(&a.1.checked_at));
    for (p, s) in found.iter().skip(1) {
        tracing::warn!(
            "{} is the state of another tenant ({}) on the same Graph root; shown: the most recently checked",
            p.display(),
            s.tenant_id.as_deref().unwrap_or("tenant id unknown")
        );
    }
    found.into_iter().next()
}

/// One tenant's history as the document shows it, `last` runs at most.
fn tenant(name: Option<String>, found: Option<(PathBuf, State)>, last: usize) -> TenantHistory {
    match found {
        None => TenantHistory {
            name,
            tenant_id: None,
            graph_root: None,
            runs: Vec::new(),
            current_drift: Vec::new(),
            state_file: None,
        },
        Some((path, state)) => TenantHistory {
            name: name.or(state.tenant_name),
            tenant_id: state.tenant_id,
            graph_root: Some(state.graph_root),
            runs: state.runs.into_iter().rev().take(last).collect(),
            current_drift: state.drift,
            state_file: Some(path.display().to_string()),
        },
    }
}

/// `gwb history`: one tenant (`--tenant NAME`, or none), or several (`--tenant` repeated,
/// `--all-tenants`).
/// `cfg` is the configuration without a tenant (the caller resolved it, its warnings said);
/// `config_of` resolves a named tenant's (its state directory and Graph root may be its own).
pub(crate) fn run(
    global: &GlobalArgs,
    args: &HistoryArgs,
    cfg: &crate::config::Config,
    config_of: &dyn Fn(&GlobalArgs) -> anyhow::Result<crate::config::Config>,
    out: &mut dyn Write,
) -> anyhow::Result<ExitStatus> {
    let mut top = global.clone();
    top.tenant.clear();
    top.all_tenants = false;
    crate::output::require::<HistoryDoc>(cfg.format(), "gwb history")?;
    let several = global.all_tenants || global.tenant.len() > 1;
    let names: Vec<Option<String>> = if global.all_tenants {
        if cfg.tenant_names.is_empty() {
            return Err(UsageError(
                "--all-tenants: the config file has no [[tenants]] entries (nothing was done)"
                    .into(),
            )
            .into());
        }
        let mut n = cfg.tenant_names.clone();
        n.sort();
        n.into_iter().map(Some).collect()
    } else if global.tenant.is_empty() {
        vec![None]
    } else {
        global.tenant.iter().cloned().map(Some).collect()
    };
    if args.state.is_some() && several {
        return Err(UsageError(
            "--state PATH is one tenant's state file: give one --tenant NAME, or none (nothing was done)".into(),
        )
        .into());
    }
    let last = args.last.unwrap_or(usize::MAX);
    let mut tenants = Vec::new();
    for name in names {
        let own;
        let cfg = match &name {
            None => cfg,
            Some(n) => {
                let mut g = top.clone();
                g.tenant = vec![n.clone()];
                g.fleet_member = several;
                own = config_of(&g)?;
                &own
            }
        };
        let graph_root = if global.emulator {
            "emulator".to_string()
        } else {
            cfg.graph_url.value.clone()
        };
        let found = match (&args.state, &cfg.state_dir) {
            (Some(p), _) => run_state::read(p)
                .map_err(|why| {
                    UsageError(format!("--state {}: {why} (nothing was done)", p.display()))
                })?
                .map(|s| (p.clone(), s)),
            (None, Some(dir)) => find(dir, name.as_deref(), &graph_root),
            (None, None) => {
                return Err(UsageError(
                    "no state directory: set state_dir in the config file, or XDG_STATE_HOME or HOME (nothing was done)".into(),
                )
                .into());
            }
        };
        tenants.push(tenant(name, found, last));
    }
    let doc = HistoryDoc {
        tenants,
        several,
        meta: crate::doc::Meta::this_run("gwb history"),
    };
    crate::output::render(&doc, cfg.format(), out)?;
    Ok(ExitStatus::Ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_files_are_told_apart_by_the_tenants_name() {
        let key = "gwb-0123456789abcdef";
        assert!(is_state_of(&format!("check-{key}.json"), None));
        assert!(!is_state_of(&format!("check-contoso-{key}.json"), None));
        assert!(is_state_of(
            &format!("check-contoso-{key}.json"),
            Some("contoso")
        ));
        assert!(is_state_of(
            &format!("check-contoso-eu-{key}.json"),
            Some("contoso-eu")
        ));
        assert!(!is_state_of(
            &format!("check-contoso-eu-{key}.json"),
            Some("contoso")
        ));
        assert!(!is_state_of("check-contoso-gwb-xyz.json", Some("contoso")));
        assert!(!is_state_of(&format!("disable-{key}.json"), None));
    }
}
