//! `check`'s memory between runs, per tenant and Graph root, in the state directory (or
//! `--state PATH`): the drift it found last time (each item with when it was first seen) and
//! the history of its runs (counts only, the last [`KEPT_RUNS`]).
//!
//! One JSON file per tenant, replaced whole (temporary file, fsync, rename: `files::write_atomic`),
//! so a run killed mid-write leaves the previous state whole, and no file lock is needed: the
//! tenants of a fleet, and the pods of a sharded job on a shared volume, each write their own
//! tenant's file. A file that is unreadable, of another kind or for another tenant is a warning
//! and a fresh start, never a failed check. A state of schema version 1 (no `firstSeen`, no
//! `runs`) is read and written back as version 2.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::change::Target;
use crate::writeback::history::{RunRecord as Run, Seen};

pub(crate) const KIND: &str = "gwb.check.state";
const SCHEMA_VERSION: u32 = 2;
/// The runs a state keeps (the oldest are dropped): more than a year of nightly runs, about
/// 150 bytes each.
pub(crate) const KEPT_RUNS: usize = 500;

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct State {
    schema_version: u32,
    kind: String,
    pub graph_root: String,
    #[serde(default)]
    pub tenant_id: Option<String>,
    /// The config file's name for the tenant, when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant_name: Option<String>,
    pub checked_at: String,
    pub drift: Vec<Seen>,
    /// The runs, oldest first.
    #[serde(default)]
    pub runs: Vec<Run>,
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

/// A state file as it is on disk, whoever it is for (`None`: missing; `Err`: unusable, why).
pub(crate) fn read(path: &Path) -> Result<Option<State>, String> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("cannot read it: {e}")),
    };
    let mut state: State =
        serde_json::from_str(&text).map_err(|e| format!("it is not readable ({e})"))?;
    if state.kind != KIND || !(1..=SCHEMA_VERSION).contains(&state.schema_version) {
        return Err(format!(
            "it is of another kind ({:?}, version {})",
            state.kind, state.schema_version
        ));
    }
    if state.schema_version == 1 {
        // Version 1 kept no times: the run that wrote it is the earliest known to have seen
        // its drift.
        for s in &mut state.drift {
            s.first_seen.get_or_insert_with(|| state.checked_at.clone());
        }
        state.schema_version = SCHEMA_VERSION;
    }
    Ok(Some(state))
}

/// The last run's state, or `None` (first run, or a file that cannot be used: warned about).
pub(crate) fn load(path: &Path, target: &Target) -> Option<State> {
    let state = match read(path) {
        Ok(s) => s?,
        Err(why) => {
            tracing::warn!(
                "the check state {}: {why}; starting afresh: every drift item counts as new",
                path.display()
            );
            return None;
        }
    };
    if !target.matches(&state.graph_root, state.tenant_id.as_deref()) {
        tracing::warn!(
            "the check state {} is for another tenant or Graph root; starting afresh",
            path.display()
        );
        return None;
    }
    Some(state)
}

/// Keep `drift` as this run's state, and `run` at the end of the history. The history is read
/// again right before the write (another run of the same tenant may have ended meanwhile), else
/// taken from `earlier` (the state this run started from).
pub(crate) fn save(path: &Path, target: &Target, drift: Vec<Seen>, run: Run, earlier: &[Run]) {
    let mut runs = match read(path) {
        Ok(Some(s)) if target.matches(&s.graph_root, s.tenant_id.as_deref()) => s.runs,
        _ => earlier.to_vec(),
    };
    runs.push(run);
    if runs.len() > KEPT_RUNS {
        runs.drain(..runs.len() - KEPT_RUNS);
    }
    let state = State {
        schema_version: SCHEMA_VERSION,
        kind: KIND.into(),
        graph_root: target.graph_root.clone(),
        tenant_id: target.tenant_id.clone(),
        tenant_name: target.name.clone(),
        checked_at: crate::clock::now_rfc3339(),
        drift,
        runs,
    };
    let result = serde_json::to_vec_pretty(&state)
        .map_err(std::io::Error::other)
        .and_then(|text| crate::files::write_atomic(path, &text));
    if let Err(e) = result {
        // The check's result stands; the next run compares with the older state.
        tracing::warn!("cannot keep the check state in {}: {e}", path.display());
    }
}

/// Add a failed run to the history of the state at `path`, leaving its drift and its time (the
/// last result's) as they are. No state, nothing recorded: there is no result to attach it to.
pub(crate) fn append_failure(path: &Path, target: &Target, run: Run) {
    let Ok(Some(mut state)) = read(path) else {
        return;
    };
    if !target.matches(&state.graph_root, state.tenant_id.as_deref()) {
        return;
    }
    state.runs.push(run);
    if state.runs.len() > KEPT_RUNS {
        state.runs.drain(..state.runs.len() - KEPT_RUNS);
    }
    let result = serde_json::to_vec_pretty(&state)
        .map_err(std::io::Error::other)
        .and_then(|text| crate::files::write_atomic(path, &text));
    if let Err(e) = result {
        tracing::warn!("cannot keep the failed run in {}: {e}", path.display());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target() -> Target {
        Target {
            graph_root: "https://graph.microsoft.com".into(),
            tenant_id: Some("t1".into()),
            name: Some("contoso".into()),
        }
    }

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "gwb-state-test-{}-{name}-{}",
            std::process::id(),
            fastrand::u32(..)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        dir.join("check.json")
    }

    fn run(i: u64) -> Run {
        Run {
            at: format!("2026-01-01T00:00:{:02}Z", i % 60),
            command: "gwb check".into(),
            exit_code: 3,
            new: i,
            persisting: 0,
            resolved: 0,
            excepted: 0,
            drift: i,
            error: None,
        }
    }

    #[test]
    fn a_version_1_state_is_read_with_its_time_as_first_seen() {
        let p = scratch("v1");
        std::fs::write(
            &p,
            r#"{"schemaVersion":1,"kind":"gwb.check.state","graphRoot":"https://graph.microsoft.com","tenantId":"t1","checkedAt":"2026-10-01T02:00:00Z","drift":[{"target":"group","id":"a","displayName":"A"}]}"#,
        )
        .unwrap();
        let s = load(&p, &target()).expect("read");
        assert_eq!(
            s.drift[0].first_seen.as_deref(),
            Some("2026-10-01T02:00:00Z")
        );
        assert!(s.runs.is_empty());
        save(&p, &target(), s.drift, run(1), &s.runs);
        let text = std::fs::read_to_string(&p).unwrap();
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["schemaVersion"], 2);
        assert_eq!(v["drift"][0]["firstSeen"], "2026-10-01T02:00:00Z");
        assert_eq!(v["runs"].as_array().unwrap().len(), 1);
        assert_eq!(v["tenantName"], "contoso");
    }

    #[test]
    fn the_history_keeps_the_last_runs_and_rereads_before_writing() {
        let p = scratch("kept");
        for i in 0..(KEPT_RUNS as u64 + 7) {
            save(&p, &target(), Vec::new(), run(i), &[]);
        }
        let s = load(&p, &target()).unwrap();
        assert_eq!(s.runs.len(), KEPT_RUNS);
        assert_eq!(s.runs[0].new, 7, "the oldest were dropped");
        assert_eq!(s.runs.last().unwrap().new, KEPT_RUNS as u64 + 6);
        // A run that started from an older state still keeps what ended meanwhile.
        save(&p, &target(), Vec::new(), run(1000), &[run(1)]);
        let s = load(&p, &target()).unwrap();
        assert_eq!(s.runs.len(), KEPT_RUNS);
        assert_eq!(s.runs.last().unwrap().new, 1000);
        assert_eq!(s.runs[KEPT_RUNS - 2].new, KEPT_RUNS as u64 + 6);
    }

    #[test]
    fn garbage_or_another_tenants_state_is_a_fresh_start() {
        let p = scratch("garbage");
        std::fs::write(&p, "{\"schemaVersion\": 2, \"kind\": \"gwb.check.st").unwrap();
        assert!(load(&p, &target()).is_none());
        save(&p, &target(), Vec::new(), run(1), &[]);
        let other = Target {
            tenant_id: Some("t2".into()),
            ..target()
        };
        assert!(load(&p, &other).is_none());
        assert!(load(&p, &target()).is_some());
    }
}
