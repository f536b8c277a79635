//! The tenant as it was decided (`[policy]` in the config file) and what has drifted from it.
//! Pure: fed the groups and the tenant default already read; `gwb check` does the reading.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

use super::plan::{Change, is_guid};
use super::summary::MissingWriteback;
use super::{Kind, classify, effective, is_synced_from_on_premises};
use crate::graph::model::{Group, WritebackConfiguration};

/// What a kind of group may be.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Rule {
    /// Not checked.
    #[default]
    Any,
    /// No group of the kind is written back, except those in `allow`.
    Disabled,
}

/// What `check` does with drift on role-assignable groups, which Graph lets only an app with
/// `RoleManagement.ReadWrite.Directory` change.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum PrivilegedDrift {
    /// Drift like any other (exit 3; `--fix` tries it and fails without the permission).
    #[default]
    Fail,
    /// Listed apart as needing a privileged permission: not counted as drift, not fixed.
    Report,
}

/// `[policy]` in the config file.
/// Read from the config file in its snake_case keys; written in JSON output in camelCase, as
/// every other JSON key gwb writes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all(serialize = "camelCase"))]
pub(crate) struct Policy {
    /// What `NewUnifiedGroupWritebackDefault` must be; unset: not checked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_m365_default: Option<bool>,
    /// Microsoft 365 groups (cloud-mastered).
    #[serde(default)]
    pub m365_writeback: Rule,
    /// Security groups (cloud-mastered, not mail-enabled).
    #[serde(default)]
    pub security_writeback: Rule,
    /// Group ids that may stay written back whatever the rules say.
    #[serde(default)]
    pub allow: Vec<String>,
    /// Drift on role-assignable groups: `"fail"` (the default) or `"report"`.
    #[serde(default, skip_serializing_if = "is_fail")]
    pub role_assignable_drift: PrivilegedDrift,
}

fn is_fail(p: &PrivilegedDrift) -> bool {
    *p == PrivilegedDrift::Fail
}

impl Policy {
    /// True when the policy checks nothing.
    pub(crate) fn is_empty(&self) -> bool {
        self.new_m365_default.is_none()
            && self.m365_writeback == Rule::Any
            && self.security_writeback == Rule::Any
    }

    /// Every `allow` entry must be a group id: a display name there would silently allow
    /// nothing.
    pub(crate) fn validate(&self) -> Result<(), String> {
        match self.allow.iter().find(|id| !is_guid(id)) {
            Some(bad) => Err(format!(
                "policy.allow: {bad:?} is not a group id (a GUID); list group ids, not names"
            )),
            None => Ok(()),
        }
    }

    fn rule(&self, kind: Kind) -> Rule {
        match kind {
            Kind::Microsoft365 => self.m365_writeback,
            Kind::Security => self.security_writeback,
            _ => Rule::Any,
        }
    }
}

/// What drifted: a group, or the tenant default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) enum DriftTarget {
    Group,
    TenantDefault,
}

impl DriftTarget {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            DriftTarget::Group => "group",
            DriftTarget::TenantDefault => "tenantDefault",
        }
    }
}

/// One way the tenant differs from the policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Drift {
    pub target: DriftTarget,
    /// The group's id; for the tenant default, the Group.Unified setting's id if one exists.
    pub id: Option<String>,
    pub display_name: Option<String>,
    pub kind: Option<Kind>,
    pub expected: String,
    pub actual: String,
    /// For a group: the change that puts it right (`check --fix`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub change: Option<Change>,
    /// The group is role-assignable: fixing it needs `RoleManagement.ReadWrite.Directory`.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub role_assignable: bool,
}

/// Compares groups with the policy one at a time, keeping only what drifted.
#[derive(Debug)]
pub(crate) struct PolicyChecker<'a> {
    policy: &'a Policy,
    allow: HashSet<String>,
    pub groups_checked: u64,
    pub allowed: u64,
    pub drift: Vec<Drift>,
    /// Drift on role-assignable groups kept apart (`role_assignable_drift = "report"`).
    pub privileged: Vec<Drift>,
}

impl<'a> PolicyChecker<'a> {
    pub fn new(policy: &'a Policy) -> Self {
        Self {
            policy,
            allow: policy.allow.iter().map(|s| s.to_lowercase()).collect(),
            groups_checked: 0,
            allowed: 0,
            drift: Vec::new(),
            privileged: Vec::new(),
        }
    }

    pub fn consider(&mut self, g: &Group) -> Result<(), MissingWriteback> {
        let wb = g
            .writeback()
            .ok_or_else(|| MissingWriteback { id: g.id.clone() })?;
        self.groups_checked += 1;
        let kind = classify(g);
        if self.policy.rule(kind) == Rule::Any {
            return Ok(());
        }
        // AD-mastered groups come from AD; writeback does not apply to them.
        let synced = is_synced_from_on_premises(g);
        let eff = effective(kind, synced, &wb);
        if synced || !eff.written_back {
            return Ok(());
        }
        if self.allow.contains(&g.id.to_lowercase()) {
            self.allowed += 1;
            return Ok(());
        }
        let actual = format!(
            "written back as {} (isEnabled: {})",
            eff.written_back_as.unwrap_or("?"),
            wb.is_enabled
                .map(|b| b.to_string())
                .unwrap_or_else(|| "null".into())
        );
        let role_assignable = g.is_assignable_to_role == Some(true);
        let apart = role_assignable && self.policy.role_assignable_drift == PrivilegedDrift::Report;
        let list = if apart {
            &mut self.privileged
        } else {
            &mut self.drift
        };
        list.push(Drift {
            role_assignable,
            target: DriftTarget::Group,
            id: Some(g.id.clone()),
            display_name: g.display_name.clone(),
            kind: Some(kind),
            expected: "not written back".into(),
            actual,
            change: Some(Change {
                role_assignable,
                id: g.id.clone(),
                display_name: g.display_name.clone(),
                after: WritebackConfiguration {
                    is_enabled: Some(false),
                    // The type is kept (a PATCH without it may reset it), unless it is one this
                    // kind of group cannot have: Graph refuses to write such a value back.
                    on_premises_group_type: if eff.warning.is_some() {
                        None
                    } else {
                        wb.on_premises_group_type.clone()
                    },
                },
                before: wb,
            }),
        });
        Ok(())
    }

    /// Compare the tenant default (`None`: not read, because the policy does not check it).
    pub(crate) fn consider_default(
        &mut self,
        actual: bool,
        setting_id: Option<&str>,
        source: &str,
    ) {
        if let Some(want) = self.policy.new_m365_default
            && want != actual
        {
            self.drift.push(Drift {
                target: DriftTarget::TenantDefault,
                id: setting_id.map(str::to_string),
                display_name: Some("NewUnifiedGroupWritebackDefault".into()),
                kind: None,
                expected: want.to_string(),
                actual: format!("{actual} ({source})"),
                change: None,
                role_assignable: false,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn group(id: &str, types: &[&str], security: bool, mail: bool, wb: Option<bool>) -> Group {
        serde_json::from_value(serde_json::json!({
            "id": id, "displayName": format!("g-{id}"),
            "groupTypes": types, "securityEnabled": security, "mailEnabled": mail,
            "writebackConfiguration": {"isEnabled": wb, "onPremisesGroupType": null}
        }))
        .unwrap()
    }

    const A: &str = "00000000-0000-0000-0000-00000000000a";
    const B: &str = "00000000-0000-0000-0000-00000000000b";
    const C: &str = "00000000-0000-0000-0000-00000000000c";

    #[test]
    fn written_back_m365_groups_drift_unless_allowed() {
        let policy = Policy {
            m365_writeback: Rule::Disabled,
            allow: vec![B.to_uppercase()],
            ..Default::default()
        };
        let mut c = PolicyChecker::new(&policy);
        // null is written back for Microsoft 365 (the drift other tools miss).
        c.consider(&group(A, &["Unified"], false, true, None))
            .unwrap();
        c.consider(&group(B, &["Unified"], false, true, Some(true)))
            .unwrap();
        c.consider(&group(C, &["Unified"], false, true, Some(false)))
            .unwrap();
        // A written-back security group is not checked: security_writeback = "any".
        c.consider(&group(C, &[], true, false, Some(true))).unwrap();
        assert_eq!(c.groups_checked, 4);
        assert_eq!(c.allowed, 1);
        assert_eq!(c.drift.len(), 1);
        let d = &c.drift[0];
        assert_eq!(d.id.as_deref(), Some(A));
        assert!(d.actual.contains("isEnabled: null"), "{}", d.actual);
        let change = d.change.as_ref().unwrap();
        assert_eq!(change.after.is_enabled, Some(false));
        assert_eq!(change.before.is_enabled, None);
    }

    #[test]
    fn security_rule_and_tenant_default() {
        let policy = Policy {
            security_writeback: Rule::Disabled,
            new_m365_default: Some(false),
            ..Default::default()
        };
        let mut c = PolicyChecker::new(&policy);
        // null is not written back for security groups.
        c.consider(&group(A, &[], true, false, None)).unwrap();
        c.consider(&group(B, &[], true, false, Some(true))).unwrap();
        c.consider(&group(C, &["Unified"], false, true, None))
            .unwrap();
        c.consider_default(true, None, "template default");
        c.consider_default(false, None, "setting");
        let targets: Vec<_> = c
            .drift
            .iter()
            .map(|d| (d.target.as_str(), d.id.clone()))
            .collect();
        assert_eq!(
            targets,
            vec![("group", Some(B.to_string())), ("tenantDefault", None)]
        );
    }

    #[test]
    fn synced_groups_never_drift_and_allow_must_hold_ids() {
        let policy = Policy {
            m365_writeback: Rule::Disabled,
            ..Default::default()
        };
        let mut g = group(A, &["Unified"], false, true, Some(true));
        g.on_premises_sync_enabled = Some(true);
        let mut c = PolicyChecker::new(&policy);
        c.consider(&g).unwrap();
        assert!(c.drift.is_empty());
        assert!(Policy::default().is_empty() && !policy.is_empty());
        let bad = Policy {
            allow: vec!["Finance Team".into()],
            ..Default::default()
        };
        assert!(bad.validate().unwrap_err().contains("Finance Team"));
    }
}
