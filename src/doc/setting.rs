//! What `set-default` (and the tenant-default part of `check --fix`) did, or would do: the
//! JSON contract of `set-default`.

use serde::Serialize;

use crate::doc::TenantSection;
use crate::graph::model::SettingValue;
use crate::writeback::setting::SettingPlan;

/// What `set-default` did, or would do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) enum SettingAction {
    Unchanged,
    Updated,
    Created,
    WouldUpdate,
    WouldCreate,
}

impl SettingAction {
    /// The dry-run (or nothing-to-do) action for a plan.
    pub(crate) fn planned(plan: &SettingPlan) -> SettingAction {
        match plan {
            SettingPlan::Unchanged { .. } => SettingAction::Unchanged,
            SettingPlan::Update { .. } => SettingAction::WouldUpdate,
            SettingPlan::Create { .. } => SettingAction::WouldCreate,
        }
    }

    /// The name in JSON (and in the check table).
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            SettingAction::Unchanged => "unchanged",
            SettingAction::Updated => "updated",
            SettingAction::Created => "created",
            SettingAction::WouldUpdate => "wouldUpdate",
            SettingAction::WouldCreate => "wouldCreate",
        }
    }

    /// Whether the tenant was written.
    pub(crate) fn wrote(self) -> bool {
        matches!(self, SettingAction::Updated | SettingAction::Created)
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Outcome {
    pub action: SettingAction,
    pub dry_run: bool,
    pub target: bool,
    pub before: TenantSection,
    pub setting_id: Option<String>,
    pub values_before: Option<Vec<SettingValue>>,
    pub values_after: Option<Vec<SettingValue>>,
    /// Whether a read-back showed the new value (null when nothing was written).
    pub verified: Option<bool>,
    /// Why the read-back failed, when it did (the write itself was made).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verification_error: Option<String>,
    pub journal: Option<String>,
    /// What the outcome describes (set by the command that prints it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub meta: Option<crate::doc::Meta>,
}
