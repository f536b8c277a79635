//! What a run that writes groups did (`--output json` of disable, restore and the fix of
//! check): the result, its summary, and each failure.

use serde::Serialize;

use crate::writeback::plan::Skipped;

/// A group that could not be changed, or was gone.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ItemFailure {
    pub id: String,
    pub display_name: Option<String>,
    pub status: u16,
    pub code: String,
    pub message: String,
    pub request_id: Option<String>,
}

/// What a run did (stdout, `--output json`).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RunResult {
    pub run_id: Option<String>,
    pub journal: Option<String>,
    pub summary: RunSummary,
    pub changed: Vec<String>,
    pub deleted_meanwhile: Vec<ItemFailure>,
    pub failed: Vec<ItemFailure>,
    pub skipped: Vec<Skipped>,
    /// Interrupted runs: writes sent that got no final answer.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unconfirmed: Vec<String>,
}

#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RunSummary {
    pub planned: u64,
    pub changed: u64,
    pub already_disabled: u64,
    pub excluded: u64,
    pub created_on_or_after_cutoff: u64,
    pub synced_from_on_premises: u64,
    /// Groups the config's policy keeps (`[policy] allow`, an exception in force).
    pub excluded_by_policy: u64,
    /// `--skip-role-assignable`: role-assignable groups left alone (absent when none).
    #[serde(skip_serializing_if = "is_zero")]
    pub role_assignable_skipped: u64,
    pub changed_since_plan: u64,
    /// `--plan`: groups that, read again, are no longer cloud Microsoft 365 groups (left
    /// alone; the run fails, exit 1).
    pub not_plannable: u64,
    /// `--plan REVIEW.csv`: rows whose displayName is not the group's name now.
    pub renamed_since_review: u64,
    /// `restore`: groups changed after gwb's run, left alone (without `--force`).
    pub changed_since_run: u64,
    pub deleted_meanwhile: u64,
    pub failed: u64,
    /// Interrupted runs: planned changes never sent.
    #[serde(skip_serializing_if = "is_zero")]
    pub not_sent: u64,
    /// Interrupted runs: writes sent that got no final answer (each may have been made).
    #[serde(skip_serializing_if = "is_zero")]
    pub unconfirmed: u64,
    /// The signal that stopped the run early (SIGINT, SIGTERM), when one did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interrupted: Option<&'static str>,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}
