//! The result of `gwb check` (and of its `--fix`): the JSON contract (`schemaVersion`), and what
//! every renderer of a check (table, JSON, NDJSON, JUnit, HTML) prints from.

use serde::{Deserialize, Serialize};

use crate::doc::setting::SettingAction;
use crate::doc::{ItemFailure, TenantSection};
use crate::writeback::history::Changes;
use crate::writeback::plan::Skipped;
use crate::writeback::policy::{Drift, Excepted, Expiry, Policy};

/// 2: `fix.planned` and `fix.changed` (were `groupsPlanned`, `groupsChanged`, unlike every other
/// command's), and the policy's keys in camelCase (were the config file's snake_case).
pub(crate) const SCHEMA_VERSION: u32 = 2;

/// The tenant compared with the policy once.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Comparison {
    pub compliant: bool,
    pub groups_checked: u64,
    /// Groups written back that the policy's `allow` list permits.
    pub allowed: u64,
    /// `null` when the policy does not check the tenant default.
    #[serde(default)]
    pub tenant_default: Option<TenantSection>,
    pub drift: Vec<Drift>,
    /// With `role_assignable_drift = "report"`: drift on role-assignable groups, which only an
    /// app with RoleManagement.ReadWrite.Directory can fix; listed, not counted, not fixed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub needs_privileged_permission: Vec<Drift>,
    /// Drift that an exception in force accepts (`[[policy.exception]]`): not counted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub excepted: Vec<Excepted>,
    /// With `security_writeback_needs_cloud_sync`: who acts on security groups' writeback flag.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub security_writeback: Option<crate::writeback::engines::SecurityWriteback>,
    /// Exceptions about what this tenant has that expired or expire soon (said once per run,
    /// and carried by notifications; not in the document).
    #[serde(skip)]
    pub expiries: Vec<Expiry>,
}

/// A check's result in counts: what a fleet's summary, digest and history show of a tenant.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct Tally {
    pub new: u64,
    pub persisting: u64,
    pub resolved: u64,
    pub excepted: u64,
    /// Groups a `--fix` failed to change.
    pub failed: u64,
    /// When the oldest item drifting now was first seen.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub oldest_first_seen: Option<String>,
}

fn signal_name<S: serde::Serializer>(signal: &Option<i32>, s: S) -> Result<S::Ok, S::Error> {
    match signal {
        Some(sig) => s.serialize_str(crate::interrupt::name(*sig)),
        None => s.serialize_none(),
    }
}

/// What `--fix` did.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Fix {
    pub dry_run: bool,
    #[serde(rename = "planned")]
    pub groups_planned: u64,
    #[serde(rename = "changed")]
    pub groups_changed: Vec<String>,
    pub deleted_meanwhile: Vec<ItemFailure>,
    pub failed: Vec<ItemFailure>,
    /// Drifted groups left alone: read right before the write, they had changed since the
    /// check (someone else is managing them) or were already fixed.
    pub skipped: Vec<Skipped>,
    /// The tenant default's change.
    pub tenant_default: Option<SettingAction>,
    pub journals: Vec<String>,
    /// Changed by this run, but Graph did not show it yet when checked again.
    pub pending_read_back: Vec<String>,
    /// The signal that stopped the fix early, when one did (the tenant was not checked again).
    /// In JSON as `interrupted`: the signal's name (SIGINT, SIGTERM).
    #[serde(
        rename = "interrupted",
        skip_serializing_if = "Option::is_none",
        serialize_with = "signal_name",
        skip_deserializing
    )]
    pub signal: Option<i32>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CheckDoc<'a> {
    pub schema_version: u32,
    pub policy: &'a Policy,
    pub before: &'a Comparison,
    pub fix: Option<&'a Fix>,
    /// After `--fix`: the tenant checked again.
    pub after: Option<&'a Comparison>,
    /// Against the last run (see `run_state`): new, persisting and resolved drift.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub changes: Option<&'a Changes>,
    /// What the result describes.
    pub meta: &'a crate::doc::Meta,
}

/// A check's document as `gwb merge` reads it back from a fleet document's tenant entry.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CheckRead {
    pub policy: PolicyRead,
    pub before: Comparison,
    #[serde(default)]
    pub fix: Option<Fix>,
    #[serde(default)]
    pub after: Option<Comparison>,
    #[serde(default)]
    pub changes: Option<Changes>,
}

/// The policy as a check's document prints it (camelCase), read back.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct PolicyRead {
    new_m365_default: Option<bool>,
    m365_writeback: crate::writeback::policy::Rule,
    security_writeback: crate::writeback::policy::Rule,
    security_writeback_needs_cloud_sync: bool,
    cloud_sync_group_provisioning: Option<crate::writeback::policy::GroupProvisioning>,
    allow: Vec<crate::graph::model::GroupId>,
    role_assignable_drift: crate::writeback::policy::PrivilegedDrift,
    exceptions: Vec<crate::writeback::policy::Exception>,
}

impl From<PolicyRead> for Policy {
    fn from(p: PolicyRead) -> Policy {
        Policy {
            new_m365_default: p.new_m365_default,
            m365_writeback: p.m365_writeback,
            security_writeback: p.security_writeback,
            security_writeback_needs_cloud_sync: p.security_writeback_needs_cloud_sync,
            cloud_sync_group_provisioning: p.cloud_sync_group_provisioning,
            allow: p.allow,
            role_assignable_drift: p.role_assignable_drift,
            exceptions: p.exceptions,
        }
    }
}

/// What a check shows: the comparison, what a fix did, the comparison after it, and the
/// drift against the last check.
#[derive(Clone, Copy)]
pub(crate) struct Shown<'a> {
    pub before: &'a Comparison,
    pub fix: Option<&'a Fix>,
    pub after: Option<&'a Comparison>,
    pub changes: Option<&'a Changes>,
    /// The drift count of the last runs, oldest first, this one last (empty: no history).
    pub trend: &'a [u64],
}

impl Shown<'_> {
    /// The comparison that stands: after a fix, the second one.
    pub(crate) fn last(&self) -> &Comparison {
        self.after.unwrap_or(self.before)
    }

    /// The result in counts.
    pub(crate) fn tally(&self) -> Tally {
        let c = self.changes;
        let n = |v: Option<usize>| v.unwrap_or(0) as u64;
        Tally {
            new: n(c.map(|c| c.new.len())),
            persisting: n(c.map(|c| c.persisting.len())),
            resolved: n(c.map(|c| c.resolved.len())),
            excepted: self.last().excepted.len() as u64,
            failed: n(self.fix.map(|f| f.failed.len())),
            oldest_first_seen: c.and_then(|c| c.oldest()).map(str::to_string),
        }
    }
}
