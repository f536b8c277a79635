//! The result of `gwb check` (and of its `--fix`): the JSON contract (`schemaVersion`), and what
//! every renderer of a check (table, JSON, NDJSON, JUnit, HTML) prints from.

use serde::Serialize;

use crate::doc::setting::SettingAction;
use crate::doc::{ItemFailure, TenantSection};
use crate::writeback::history::Changes;
use crate::writeback::plan::Skipped;
use crate::writeback::policy::{Drift, Excepted, Policy};

/// 2: `fix.planned` and `fix.changed` (were `groupsPlanned`, `groupsChanged`, unlike every other
/// command's), and the policy's keys in camelCase (were the config file's snake_case).
pub(crate) const SCHEMA_VERSION: u32 = 2;

/// The tenant compared with the policy once.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Comparison {
    pub compliant: bool,
    pub groups_checked: u64,
    /// Groups written back that the policy's `allow` list permits.
    pub allowed: u64,
    /// `null` when the policy does not check the tenant default.
    pub tenant_default: Option<TenantSection>,
    pub drift: Vec<Drift>,
    /// With `role_assignable_drift = "report"`: drift on role-assignable groups, which only an
    /// app with RoleManagement.ReadWrite.Directory can fix; listed, not counted, not fixed.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub needs_privileged_permission: Vec<Drift>,
    /// Drift that an exception in force accepts (`[[policy.exception]]`): not counted.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub excepted: Vec<Excepted>,
    /// With `security_writeback_needs_cloud_sync`: who acts on security groups' writeback flag.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub security_writeback: Option<crate::writeback::engines::SecurityWriteback>,
}

fn signal_name<S: serde::Serializer>(signal: &Option<i32>, s: S) -> Result<S::Ok, S::Error> {
    match signal {
        Some(sig) => s.serialize_str(crate::interrupt::name(*sig)),
        None => s.serialize_none(),
    }
}

/// What `--fix` did.
#[derive(Debug, Default, Serialize)]
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
        serialize_with = "signal_name"
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

/// What a check shows: the comparison, what a fix did, the comparison after it, and the
/// drift against the last check.
#[derive(Clone, Copy)]
pub(crate) struct Shown<'a> {
    pub before: &'a Comparison,
    pub fix: Option<&'a Fix>,
    pub after: Option<&'a Comparison>,
    pub changes: Option<&'a Changes>,
}
