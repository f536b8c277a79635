//! `check`'s memory between runs: the drift it found last time, per tenant and Graph root, in
//! the state directory (or `--state PATH`). Written atomically (temporary file, fsync, rename),
//! so a killed run leaves the previous state whole. A file that is unreadable, of another kind
//! or for another tenant is a warning and a fresh start, never a failed check.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::change::Target;
use crate::writeback::history::Seen;
use crate::writeback::policy::Drift;

const KIND: &str = "gwb.check.state";
const SCHEMA_VERSION: u32 = 1;

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct State {
    schema_version: u32,
    kind: String,
    graph_root: String,
    #[serde(default)]
    tenant_id: Option<String>,
    pub checked_at: String,
    pub drift: Vec<Seen>,
}

/// Where the state of `target` is kept: `explicit`, else a file in the state directory named by
/// the tenant and Graph root (as the run lock is).
pub(crate) fn path(
    explicit: Option<&Path>,
    state_dir: Option<&Path>,
    target: &Target,
) -> Option<PathBuf> {
    if let Some(p) = explicit {
        return Some(p.to_path_buf());
    }
    let key = target.lock_key().file_name();
    let stem = key.trim_end_matches(".lock");
    state_dir.map(|d| d.join(format!("{}-{stem}.json", target.file_stem("check"))))
}

/// The last run's state, or `None` (first run, or a file that cannot be used: warned about).
pub(crate) fn load(path: &Path, target: &Target) -> Option<State> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
        Err(e) => {
            tracing::warn!(
                "cannot read the check state {}: {e}; starting afresh",
                path.display()
            );
            return None;
        }
    };
    let state: State = match serde_json::from_str(&text) {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!(
                "the check state {} is not readable ({e}); starting afresh: every drift item counts as new",
                path.display()
            );
            return None;
        }
    };
    if state.kind != KIND
        || state.schema_version != SCHEMA_VERSION
        || !target.matches(&state.graph_root, state.tenant_id.as_deref())
    {
        tracing::warn!(
            "the check state {} is of another kind or for another tenant or Graph root; starting afresh",
            path.display()
        );
        return None;
    }
    Some(state)
}

/// Keep `drift` as this run's state.
pub(crate) fn save(path: &Path, target: &Target, drift: &[Drift]) {
    save_seen(path, target, drift.iter().map(Seen::of).collect());
}

/// [`save`] from the items as the state keeps them (a streamed check keeps only these).
pub(crate) fn save_seen(path: &Path, target: &Target, drift: Vec<Seen>) {
    let state = State {
        schema_version: SCHEMA_VERSION,
        kind: KIND.into(),
        graph_root: target.graph_root.clone(),
        tenant_id: target.tenant_id.clone(),
        checked_at: crate::clock::now_rfc3339(),
        drift,
    };
    let result = serde_json::to_vec_pretty(&state)
        .map_err(std::io::Error::other)
        .and_then(|text| crate::files::write_atomic(path, &text));
    if let Err(e) = result {
        // The check's result stands; the next run compares with the older state.
        tracing::warn!("cannot keep the check state in {}: {e}", path.display());
    }
}
