//! The tenant section of `report` and `check`: the default for new Microsoft 365 groups, and
//! (in `report`) who acts on the writeback flag.

use serde::Serialize;

use crate::writeback::engines::{CloudSync, SecurityWriteback, SyncFeatures};
use crate::writeback::tenant::{DefaultSource, TenantDefault};

/// The tenant section of the report: the default for new Microsoft 365 groups, or why it could
/// not be read.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct TenantSection {
    /// `null` only when the settings could not be read (see `error`).
    pub new_unified_group_writeback_default: Option<bool>,
    pub source: DefaultSource,
    pub source_description: String,
    pub setting_id: Option<String>,
    pub raw_value: Option<String>,
    pub error: Option<String>,
    /// Why the default is ambiguous or unknown (two Group.Unified settings, duplicate entries,
    /// values not returned); gwb writes nothing while it is set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
    /// `report` only: the sync engine's writeback features, or why they could not be read
    /// (not read back: `gwb merge` renders checks).
    #[serde(skip_serializing_if = "Option::is_none", skip_deserializing)]
    pub sync_features: Option<SyncFeatures>,
    /// `report` only: Entra Cloud Sync's jobs, or why they could not be read.
    #[serde(skip_serializing_if = "Option::is_none", skip_deserializing)]
    pub cloud_sync: Option<CloudSync>,
    /// `report` only: who acts on security groups' writeback flag.
    #[serde(skip_serializing_if = "Option::is_none", skip_deserializing)]
    pub security_writeback: Option<SecurityWriteback>,
}

impl TenantSection {
    pub(crate) fn known(d: &TenantDefault) -> Self {
        let source = d.source;
        let unknown = d.source == DefaultSource::ValuesUnreadable;
        TenantSection {
            new_unified_group_writeback_default: (!unknown)
                .then_some(d.new_unified_group_writeback_default),
            source,
            source_description: d.source.describe().to_string(),
            setting_id: d.setting_id.clone(),
            raw_value: d.raw_value.clone(),
            error: None,
            problem: d.problem.clone(),
            sync_features: None,
            cloud_sync: None,
            security_writeback: None,
        }
    }

    pub(crate) fn unreadable(error: String) -> Self {
        TenantSection {
            new_unified_group_writeback_default: None,
            source: DefaultSource::Unreadable,
            source_description: format!(
                "could not read the tenant's directory settings (needs {})",
                crate::permissions::READ_SETTINGS
            ),
            setting_id: None,
            raw_value: None,
            error: Some(error),
            problem: None,
            sync_features: None,
            cloud_sync: None,
            security_writeback: None,
        }
    }
}
