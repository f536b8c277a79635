//! `gwb history`: the runs of `check` that each tenant's state keeps, newest first (a contract:
//! `schemaVersion` 1, in docs/output.md).

use serde::Serialize;

use crate::writeback::history::{RunRecord, Seen};

pub(crate) const KIND: &str = "gwb.history";
pub(crate) const SCHEMA_VERSION: u32 = 1;

/// One tenant's history.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct TenantHistory {
    /// The config file's name for the tenant (`null` for a run without `--tenant`).
    pub name: Option<String>,
    pub tenant_id: Option<String>,
    pub graph_root: Option<String>,
    /// The runs, newest first: every value but `at` and `command` a count.
    pub runs: Vec<RunRecord>,
    /// What drifts now (as the last run left it), each item with its `firstSeen`: the only ids
    /// the history keeps.
    pub current_drift: Vec<Seen>,
    /// The state file read (`null`: none yet).
    pub state_file: Option<String>,
}

/// What `gwb history` prints: one tenant, or several (`--all-tenants`, `--tenant` repeated).
pub(crate) struct HistoryDoc {
    pub tenants: Vec<TenantHistory>,
    pub several: bool,
    pub meta: super::Meta,
}
