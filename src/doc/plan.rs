//! The plan of `disable-existing-m365` as printed by `--dry-run` and saved by `--plan-out`,
//! with its review: the JSON contract of a saved plan (`kind`, `schemaVersion`).

use serde::{Deserialize, Serialize};

use crate::writeback::plan::{Change, PlanSummary, Skipped};

pub(crate) const PLAN_KIND: &str = "gwb.disable-existing-m365.plan";
pub(crate) const PLAN_SCHEMA_VERSION: u32 = 1;

/// A plan as printed by `--dry-run` and saved by `--plan-out`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PlanDoc {
    pub schema_version: u32,
    pub kind: String,
    /// The Graph root the plan was made against; a plan is applied only there.
    pub graph_root: String,
    /// The tenant the plan was made for (the token's `tid`), when the token said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant_id: Option<String>,
    pub created_at: String,
    pub changes: Vec<Change>,
    pub skipped: Vec<Skipped>,
    pub summary: PlanSummary,
    /// A saved plan's review (`--plan-out`): per group what an admin decides by, and the
    /// decision; a change whose entry says `keep` is not made. Absent from earlier plans.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub review: Vec<Entry>,
    /// With `review`: where its `lastActivityDate`s come from, or why there are none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub review_activity: Option<String>,
    /// The groups the config's policy keeps, left out of `changes` (each is in `skipped` with
    /// its reason as `note`).
    #[serde(default)]
    pub excluded_by_policy_ids: Vec<String>,
    /// A saved plan's id (`--plan-out`): `planRefs` are made from it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan_id: Option<String>,
    /// A saved plan: the `planRef` of every group it planned (the changes and the groups the
    /// policy keeps). Applied, it writes only groups whose reference is here: a plan can be
    /// narrowed, never widened.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub plan_refs: Vec<String>,
    /// `--wide`: the table shows ids (how it is printed, not part of the plan).
    #[serde(skip)]
    pub wide: bool,
    /// What the plan describes (absent in plans saved by an earlier gwb).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<crate::doc::Meta>,
}

/// One group of a review: what an admin decides by, and the decision (`disable` until the
/// admin writes `keep`). The JSON plan carries these as `review`; the CSV as its rows
/// (`change/review`).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Entry {
    pub id: String,
    pub decision: String,
    pub mail: Option<String>,
    pub visibility: Option<String>,
    pub is_team: bool,
    pub created_date_time: Option<String>,
    pub renewed_date_time: Option<String>,
    pub expiration_date_time: Option<String>,
    pub member_count: Option<u64>,
    pub owner_count: Option<u64>,
    /// From the Microsoft 365 groups activity report (see `change::review::LastActivity`); null when the
    /// group had none in its period, or the report was not available.
    #[serde(default)]
    pub last_activity_date: Option<String>,
    /// Why the row is pre-filled `keep`: the policy entry that keeps the group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}
