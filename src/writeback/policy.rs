//! The tenant as it was decided (`[policy]` in the config file) and what has drifted from it.
//! Pure: fed the groups and the tenant default already read; `gwb check` does the reading.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

use super::plan::{Change, Unaddressable, is_guid};
use super::summary::MissingWriteback;
use super::{Kind, classify, effective, is_synced_from_on_premises};
use crate::graph::model::{Group, GroupId, WritebackConfiguration};

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
    /// A security group may have writeback enabled only while an Entra Cloud Sync group
    /// provisioning job scopes on the flag (only Connect's discontinued v2 reads it otherwise).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub security_writeback_needs_cloud_sync: bool,
    /// `"none"`: the operator confirms the tenant has no Cloud Sync group provisioning to AD.
    /// gwb cannot be sure to find every Cloud Sync configuration (no Microsoft page gives the
    /// template of an Entra-to-AD one), so without this, finding no job is "unknown".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cloud_sync_group_provisioning: Option<GroupProvisioning>,
    /// Group ids that may stay written back whatever the rules say.
    #[serde(default, deserialize_with = "allow_ids")]
    pub allow: Vec<GroupId>,
    /// Drift on role-assignable groups: `"fail"` (the default) or `"report"`.
    #[serde(default, skip_serializing_if = "is_fail")]
    pub role_assignable_drift: PrivilegedDrift,
    /// Accepted exceptions, each with a reason and (usually) an expiry: `[[policy.exception]]`.
    #[serde(
        default,
        rename(deserialize = "exception", serialize = "exceptions"),
        skip_serializing_if = "Vec::is_empty"
    )]
    pub exceptions: Vec<Exception>,
}

/// What the operator knows of the tenant's Cloud Sync group provisioning.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum GroupProvisioning {
    /// The tenant has none.
    None,
}

/// An accepted exception: this group (or the tenant default) may stay as it is, for this
/// reason, owned by this person, until this date.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all(serialize = "camelCase"))]
pub(crate) struct Exception {
    /// The group's id; or
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// `"tenantDefault"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// Why it is accepted (required).
    #[serde(default)]
    pub reason: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// `YYYY-MM-DD`: in force through that day (UTC); none: until removed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<String>,
}

impl Exception {
    /// What is wrong with the entry, if anything.
    pub(crate) fn problem(&self) -> Option<String> {
        match (&self.id, &self.target) {
            (Some(_), Some(_)) => return Some("set id or target, not both".into()),
            (None, None) => {
                return Some(
                    "set id (a group id) or target = \"tenantDefault\" or \"syncEngine\"".into(),
                );
            }
            (Some(id), None) if !is_guid(id) => {
                return Some(format!("id {id:?} is not a group id (a GUID)"));
            }
            (None, Some(t)) if t != "tenantDefault" && t != "syncEngine" => {
                return Some(format!(
                    "target {t:?} is not \"tenantDefault\" or \"syncEngine\""
                ));
            }
            _ => {}
        }
        if self.reason.trim().is_empty() {
            return Some("reason is required: say why this is accepted".into());
        }
        match &self.expires {
            Some(d) if d.len() != 10 || super::plan::parse_cutoff(d).is_err() => {
                Some(format!("expires {d:?} is not a date: use YYYY-MM-DD"))
            }
            _ => None,
        }
    }

    /// What the exception covers, as one key: the group id (lowercase) or the target. Two
    /// exceptions with one key at one level would leave which one holds to chance.
    pub(crate) fn key(&self) -> String {
        match (&self.id, &self.target) {
            (Some(id), _) => id.to_ascii_lowercase(),
            (None, Some(t)) => t.clone(),
            (None, None) => String::new(),
        }
    }

    fn covers(&self, d: &Drift) -> bool {
        match (d.target, &self.id, &self.target) {
            (DriftTarget::Group, Some(id), _) => {
                d.id.as_deref().is_some_and(|g| g.eq_ignore_ascii_case(id))
            }
            (DriftTarget::TenantDefault, None, Some(t)) => t == "tenantDefault",
            (DriftTarget::SyncEngine, None, Some(t)) => t == "syncEngine",
            _ => false,
        }
    }

    fn name(&self) -> String {
        self.id
            .clone()
            .or_else(|| self.target.clone())
            .unwrap_or_default()
    }
}

/// A drift item an exception in force removes from drift.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Excepted {
    #[serde(flatten)]
    pub drift: Drift,
    pub reason: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<String>,
}

/// An exception expiring within this many days gets a notice.
pub(crate) const EXPIRY_NOTICE_DAYS: i64 = 14;

/// What the exceptions did to the drift, on `today` (`YYYY-MM-DD`).
#[derive(Debug, Default)]
pub(crate) struct Excepting {
    pub drift: Vec<Drift>,
    pub excepted: Vec<Excepted>,
    /// Exceptions that expired: their items count as drift again.
    pub expired: Vec<Expiry>,
    /// Exceptions in force that expire soon.
    pub expiring: Vec<Expiry>,
}

/// An exception that expired, or expires within [`EXPIRY_NOTICE_DAYS`]: news for people.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Expiry {
    /// The group's id, or the target (`tenantDefault`, `syncEngine`).
    pub exception: String,
    pub reason: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// The last day in force (`YYYY-MM-DD`).
    pub expires: String,
    /// Days from today to that day (negative: expired).
    pub in_days: i64,
}

impl Expiry {
    fn of(e: &Exception, expires: &str, in_days: i64) -> Expiry {
        Expiry {
            exception: e.name(),
            reason: e.reason.clone(),
            owner: e.owner.clone(),
            expires: expires.to_string(),
            in_days,
        }
    }

    /// Whether it is about a group (not a tenant-level target).
    pub(crate) fn group_id(&self) -> Option<&str> {
        is_guid(&self.exception).then_some(self.exception.as_str())
    }

    /// The sentence people read.
    pub(crate) fn message(&self) -> String {
        if self.in_days < 0 {
            format!(
                "the exception for {} ({}) expired on {}: it counts as drift again",
                self.exception, self.reason, self.expires
            )
        } else {
            format!(
                "the exception for {} ({}) expires on {}, in {}",
                self.exception,
                self.reason,
                self.expires,
                if self.in_days == 1 {
                    "1 day".to_string()
                } else {
                    format!("{} days", self.in_days)
                }
            )
        }
    }
}

/// Take the items that exceptions in force cover out of `drift`. An exception is in force
/// through its `expires` day; after it, its item is drift again and named in `expired`.
/// The exception that accepts `d` on `today` (`YYYY-MM-DD`), if one is in force.
pub(crate) fn exception_in_force<'e>(
    exceptions: &'e [Exception],
    d: &Drift,
    today: &str,
) -> Option<&'e Exception> {
    exceptions
        .iter()
        .find(|e| e.covers(d) && e.expires.as_deref().is_none_or(|x| x >= today))
}

pub(crate) fn apply_exceptions(
    drift: Vec<Drift>,
    exceptions: &[Exception],
    today: &str,
) -> Excepting {
    let mut out = Excepting::default();
    for e in exceptions {
        if let Some(x) = &e.expires {
            let days =
                super::plan::age_in_days(&format!("{today}T00:00:00Z"), &format!("{x}T00:00:00Z"))
                    .unwrap_or(i64::MAX);
            if x.as_str() < today {
                out.expired.push(Expiry::of(e, x, days.min(-1)));
            } else if days <= EXPIRY_NOTICE_DAYS {
                out.expiring.push(Expiry::of(e, x, days));
            }
        }
    }
    for d in drift {
        match exception_in_force(exceptions, &d, today) {
            Some(e) => out.excepted.push(Excepted {
                drift: d,
                reason: e.reason.clone(),
                owner: e.owner.clone(),
                expires: e.expires.clone(),
            }),
            None => out.drift.push(d),
        }
    }
    out
}

impl Policy {
    /// Why the policy keeps group `id` written back on `today` (`YYYY-MM-DD`), if it does: it
    /// is in `allow`, or an exception in force names it. What a person decided binds every
    /// command, `disable-existing-m365` as much as `check`.
    pub(crate) fn keeps(&self, id: &GroupId, today: &str) -> Option<String> {
        if self.allow.contains(id) {
            return Some("in [policy] allow".into());
        }
        let e = self.exceptions.iter().find(|e| {
            e.id.as_deref().is_some_and(|x| id.is(x))
                && e.expires.as_deref().is_none_or(|x| x >= today)
        })?;
        let mut why = format!("[[policy.exception]]: {}", e.reason);
        if let Some(o) = &e.owner {
            why.push_str(&format!("; owner {o}"));
        }
        match &e.expires {
            Some(x) => why.push_str(&format!("; until {x}")),
            None => why.push_str("; no expiry"),
        }
        Some(why)
    }
}

/// Every `allow` entry must be a group id: a display name there would silently allow nothing.
/// (Read from the config file, whose reader names the line and blanks every `"`-quoted value
/// in case it is a secret; an allow entry is not one, so it is quoted with ‘ ’ and shown.)
pub(crate) fn allow_ids<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<GroupId>, D::Error> {
    let ids = Vec::<String>::deserialize(d)?;
    ids.iter()
        .map(|s| {
            GroupId::parse(s).ok_or_else(|| {
                serde::de::Error::custom(format!(
                    "policy.allow: ‘{}’ is not a group id (a GUID); list group ids, not names",
                    s.replace('"', "")
                ))
            })
        })
        .collect()
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
            && !self.security_writeback_needs_cloud_sync
    }

    fn rule(&self, kind: Kind) -> Rule {
        match kind {
            Kind::Microsoft365 => self.m365_writeback,
            Kind::Security => self.security_writeback,
            _ => Rule::Any,
        }
    }
}

/// What a security group with writeback enabled is expected to be when no Cloud Sync job
/// scopes on the flag (`security_writeback_needs_cloud_sync`).
pub(crate) const NEEDS_CLOUD_SYNC: &str =
    "not written back: no Cloud Sync job scopes on the writeback flag";

impl Policy {}

/// What drifted: a group, or the tenant default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) enum DriftTarget {
    Group,
    TenantDefault,
    /// Entra Connect's writeback engine: v1 alone writes every Microsoft 365 group back, so a
    /// policy that disables them cannot be met by per-group changes until v2 is on.
    SyncEngine,
}

impl DriftTarget {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            DriftTarget::Group => "group",
            DriftTarget::TenantDefault => "tenantDefault",
            DriftTarget::SyncEngine => "syncEngine",
        }
    }
}

/// The drift of a tenant whose Entra Connect runs group writeback v1 alone, under a policy that
/// disables Microsoft 365 groups' writeback: per-group changes cannot meet it until v2 is on.
pub(crate) fn v1_alone_drift() -> Drift {
    Drift {
        target: DriftTarget::SyncEngine,
        id: None,
        display_name: Some("Entra Connect group writeback".into()),
        kind: None,
        expected: "group writeback v2 on (GroupWritebackV2), so that each Microsoft 365 group's writeback flag takes effect".into(),
        actual: "v1 alone (unifiedGroupWritebackEnabled true, groupWriteBackEnabled false): every Microsoft 365 group is written back whatever its flag; the policy cannot be met by per-group changes until v2 is enabled on the Connect server (Set-ADSyncAADCompanyFeature -GroupWritebackV2 $true)".into(),
        change: None,
        role_assignable: false,
        first_seen: None,
    }
}

/// One way the tenant differs from the policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub change: Option<Change>,
    /// The group is role-assignable: fixing it needs `RoleManagement.ReadWrite.Directory`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub role_assignable: bool,
    /// When a check first saw this item drift (RFC 3339), kept across runs while it persists;
    /// set by the run memory (`history::classify`), absent where no memory is kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_seen: Option<String>,
}

impl Drift {
    /// A group's drift that no change can put right because Graph listed the group with an
    /// id that is not a GUID: `check --fix` fails it rather than leave it silently.
    pub(crate) fn unaddressable(&self) -> Option<Unaddressable> {
        match (self.target, &self.id, &self.change) {
            (DriftTarget::Group, Some(id), None) if !is_guid(id) => Some(Unaddressable {
                id: id.clone(),
                display_name: self.display_name.clone(),
            }),
            _ => None,
        }
    }
}

/// Compares groups with the policy one at a time, keeping only what drifted.
#[derive(Debug)]
pub(crate) struct PolicyChecker<'a> {
    policy: &'a Policy,
    allow: HashSet<GroupId>,
    pub groups_checked: u64,
    pub allowed: u64,
    pub drift: Vec<Drift>,
    /// Drift on role-assignable groups kept apart (`role_assignable_drift = "report"`).
    pub privileged: Vec<Drift>,
    /// `security_writeback_needs_cloud_sync` is set and no Cloud Sync job scopes on the
    /// writeback flag: security groups with writeback enabled drift.
    pub security_flag_unused: bool,
    /// The group ids the exceptions name (as GUID bits: no allocation per group listed), and
    /// those the listing held: an exception's expiry is news only where its group exists.
    exception_ids: HashSet<u128>,
    exceptions_found: HashSet<u128>,
}

impl<'a> PolicyChecker<'a> {
    pub fn new(policy: &'a Policy) -> Self {
        Self {
            policy,
            allow: policy.allow.iter().cloned().collect(),
            groups_checked: 0,
            allowed: 0,
            drift: Vec::new(),
            privileged: Vec::new(),
            security_flag_unused: false,
            exception_ids: policy
                .exceptions
                .iter()
                .filter_map(|e| crate::graph::model::guid_bits(e.id.as_deref()?))
                .collect(),
            exceptions_found: HashSet::new(),
        }
    }

    /// Whether `x` is about something this tenant has: a tenant-level target, or a group the
    /// listing held.
    pub fn applies(&self, x: &Expiry) -> bool {
        x.group_id().is_none_or(|id| {
            crate::graph::model::guid_bits(id).is_some_and(|b| self.exceptions_found.contains(&b))
        })
    }

    pub fn consider(&mut self, g: &Group) -> Result<(), MissingWriteback> {
        let wb = g
            .writeback()
            .ok_or_else(|| MissingWriteback { id: g.id.clone() })?;
        self.groups_checked += 1;
        if !self.exception_ids.is_empty()
            && let Some(bits) = crate::graph::model::guid_bits(&g.id)
            && self.exception_ids.contains(&bits)
        {
            self.exceptions_found.insert(bits);
        }
        let kind = classify(g);
        let rule = self.policy.rule(kind);
        let needs_cloud_sync =
            rule == Rule::Any && kind == Kind::Security && self.security_flag_unused;
        if rule == Rule::Any && !needs_cloud_sync {
            return Ok(());
        }
        // AD-mastered groups come from AD; writeback does not apply to them.
        let synced = is_synced_from_on_premises(g);
        let eff = effective(kind, synced, &wb);
        if synced || !eff.written_back {
            return Ok(());
        }
        let id = GroupId::parse(&g.id);
        if id.as_ref().is_some_and(|i| self.allow.contains(i)) {
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
            first_seen: None,
            target: DriftTarget::Group,
            id: Some(g.id.clone()),
            display_name: g.display_name.clone(),
            kind: Some(kind),
            expected: if needs_cloud_sync {
                NEEDS_CLOUD_SYNC.into()
            } else {
                "not written back".into()
            },
            actual,
            // A group listed with an id that is not a GUID has no change: `check --fix` fails
            // it (see [`Drift::unaddressable`]).
            change: id.map(|id| Change {
                role_assignable,
                id,
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
                first_seen: None,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drift_of(id: &str) -> Drift {
        Drift {
            target: DriftTarget::Group,
            id: Some(id.into()),
            display_name: Some("HR".into()),
            kind: Some(Kind::Microsoft365),
            expected: "not written back".into(),
            actual: "written back".into(),
            change: None,
            role_assignable: false,
            first_seen: None,
        }
    }

    fn exception(id: &str, expires: Option<&str>) -> Exception {
        Exception {
            id: Some(id.into()),
            target: None,
            reason: "HR share until migration".into(),
            owner: Some("alice@contoso.com".into()),
            expires: expires.map(str::to_string),
        }
    }

    #[test]
    fn the_policy_keeps_allowed_and_excepted_groups_until_the_exception_expires() {
        let a = "11111111-1111-4111-8111-111111111111";
        let b = "22222222-2222-4222-8222-222222222222";
        let policy = Policy {
            allow: vec![a.to_uppercase().into()],
            exceptions: vec![Exception {
                id: Some(b.into()),
                reason: "HR shares".into(),
                owner: Some("ana".into()),
                expires: Some("2026-12-31".into()),
                ..Default::default()
            }],
            ..Default::default()
        };
        assert_eq!(
            policy.keeps(&a.into(), "2026-12-02").as_deref(),
            Some("in [policy] allow")
        );
        let why = policy.keeps(&b.into(), "2026-12-31").unwrap();
        assert!(
            why.contains("HR shares") && why.contains("ana") && why.contains("2026-12-31"),
            "{why}"
        );
        assert_eq!(
            policy.keeps(&b.into(), "2027-01-01"),
            None,
            "an expired exception keeps nothing"
        );
        assert_eq!(
            policy.keeps(&"33333333-3333-4333-8333-333333333333".into(), "2026-12-02"),
            None
        );
    }

    #[test]
    fn an_exception_in_force_takes_its_item_out_of_drift_through_its_last_day() {
        let e = apply_exceptions(
            vec![drift_of(A), drift_of(B)],
            &[exception(A, Some("2026-11-29"))],
            "2026-11-29",
        );
        assert_eq!(e.drift, vec![drift_of(B)]);
        assert_eq!(e.excepted.len(), 1);
        assert_eq!(e.excepted[0].reason, "HR share until migration");
        assert_eq!(e.excepted[0].expires.as_deref(), Some("2026-11-29"));
        assert!(e.expired.is_empty());
        assert_eq!(e.expiring.len(), 1, "expires today: within 14 days");
    }

    #[test]
    fn an_expired_exception_counts_as_drift_again_and_is_named() {
        let e = apply_exceptions(
            vec![drift_of(A)],
            &[exception(A, Some("2026-11-28"))],
            "2026-11-29",
        );
        assert_eq!(e.drift, vec![drift_of(A)]);
        assert!(e.excepted.is_empty());
        assert!(
            e.expired[0].message().contains(A)
                && e.expired[0].message().contains("expired on 2026-11-28"),
            "{:?}",
            e.expired
        );
    }

    #[test]
    fn an_exception_expiring_within_14_days_gets_a_notice_and_later_ones_none() {
        let soon = apply_exceptions(
            vec![drift_of(A)],
            &[exception(A, Some("2026-12-13"))],
            "2026-11-29",
        );
        assert!(
            soon.expiring[0].message().contains("in 14 days"),
            "{:?}",
            soon.expiring
        );
        let later = apply_exceptions(
            vec![drift_of(A)],
            &[exception(A, Some("2026-12-14"))],
            "2026-11-29",
        );
        assert!(later.expiring.is_empty());
        let forever = apply_exceptions(vec![drift_of(A)], &[exception(A, None)], "2026-11-29");
        assert!(forever.drift.is_empty() && forever.expiring.is_empty());
    }

    #[test]
    fn invalid_exceptions_say_what_is_wrong() {
        let mut no_reason = exception(A, None);
        no_reason.reason = "  ".into();
        assert!(no_reason.problem().unwrap().contains("reason is required"));
        assert!(
            exception("Finance", None)
                .problem()
                .unwrap()
                .contains("not a group id")
        );
        assert!(
            exception(A, Some("31/03/2027"))
                .problem()
                .unwrap()
                .contains("not a date")
        );
        assert!(exception(A, Some("2027-02-30")).problem().is_some());
        let both = Exception {
            target: Some("tenantDefault".into()),
            ..exception(A, None)
        };
        assert!(both.problem().unwrap().contains("not both"));
        let tenant = Exception {
            id: None,
            target: Some("tenantDefault".into()),
            ..exception(A, None)
        };
        assert_eq!(tenant.problem(), None);
        let mut d = drift_of(A);
        d.target = DriftTarget::TenantDefault;
        assert_eq!(
            apply_exceptions(vec![d], &[tenant], "2026-11-29")
                .excepted
                .len(),
            1
        );
    }

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
            allow: vec![B.to_uppercase().into()],
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
        let bad = toml::from_str::<Policy>("allow = [\"Finance Team\"]").unwrap_err();
        assert!(
            bad.to_string()
                .contains("‘Finance Team’ is not a group id (a GUID); list group ids, not names"),
            "{bad}"
        );
        let good: Policy = toml::from_str(&format!("allow = [\"{A}\"]")).unwrap();
        assert_eq!(good.allow, [A]);
    }
}
