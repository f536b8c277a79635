//! Plans for bulk changes: which groups change from what to what, and which are skipped and why.
//! Pure: built from groups already read, applied elsewhere through one code path.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

use super::summary::MissingWriteback;
use super::{Kind, classify, effective, is_synced_from_on_premises};
use crate::graph::model::{Group, GroupId, WritebackConfiguration};

/// One group's change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Change {
    pub id: GroupId,
    pub display_name: Option<String>,
    pub before: WritebackConfiguration,
    pub after: WritebackConfiguration,
    /// The group is role-assignable (`isAssignableToRole: true`): Graph changes it only for an
    /// app that also holds `RoleManagement.ReadWrite.Directory`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub role_assignable: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum SkipReason {
    /// Already not written back (`isEnabled: false`).
    AlreadyDisabled,
    /// Named by `--exclude` or `--exclude-file`.
    Excluded,
    /// Created on or after `--created-before` (or with no creation date).
    CreatedOnOrAfterCutoff,
    /// Mastered in on-premises AD: writeback does not apply.
    SyncedFromOnPremises,
    /// `--plan`: the group's state is no longer the plan's `before`.
    ChangedSincePlan,
    /// The group no longer exists.
    DeletedMeanwhile,
    /// `restore`: the group is already in its recorded state.
    AlreadyInRecordedState,
    /// `restore`: the group no longer holds what gwb wrote (someone changed it after gwb's
    /// run); left alone unless `--force`.
    ChangedSinceRun,
    /// Kept by the config's policy (`[policy] allow`, or a `[[policy.exception]]` in force):
    /// the skipped entry's `note` says which.
    ExcludedByPolicy,
    /// Read right before the write, the group is no longer one the command plans (not a cloud
    /// Microsoft 365 group): a saved plan or review named a group it may not change.
    NotPlannable,
    /// `--skip-role-assignable`: the group is role-assignable.
    RoleAssignable,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Skipped {
    pub id: String,
    pub display_name: Option<String>,
    pub reason: SkipReason,
    /// Why, in words, where the reason alone does not say (the policy entry that keeps it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PlanSummary {
    pub changes: u64,
    pub already_disabled: u64,
    pub excluded: u64,
    pub created_on_or_after_cutoff: u64,
    pub synced_from_on_premises: u64,
    /// Groups that are not Microsoft 365 groups (not listed one by one).
    pub other_kinds: u64,
    /// Groups the config's policy keeps (`[policy] allow`, an exception in force).
    #[serde(default)]
    pub excluded_by_policy: u64,
    /// `--skip-role-assignable`: role-assignable groups left alone.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub role_assignable_skipped: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// A group a plan would change that Graph listed with an id that is not a GUID. No such id
/// goes into a request: the write fails it (`invalidId`, journaled) and the rest go on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unaddressable {
    pub id: String,
    pub display_name: Option<String>,
}

impl Unaddressable {
    /// The group `g`, when its id is not a GUID.
    pub(crate) fn of(g: &Group) -> Option<Unaddressable> {
        GroupId::parse(&g.id).is_none().then(|| Unaddressable {
            id: g.id.clone(),
            display_name: g.display_name.clone(),
        })
    }
}

/// Which Microsoft 365 groups `disable-existing-m365` leaves alone.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// Group ids (`--exclude`, `--exclude-file`), lowercase as typed ones are shown back.
    pub exclude: HashSet<GroupId>,
    /// `YYYY-MM-DDTHH:MM:SSZ`: only groups created strictly before this are changed.
    pub created_before: Option<String>,
    /// `--skip-role-assignable`: role-assignable groups are skipped, not changed.
    pub skip_role_assignable: bool,
}

/// Collects a plan to disable writeback on existing Microsoft 365 groups.
#[derive(Debug, Default)]
pub struct DisablePlanner {
    selection: Selection,
    /// The `--exclude` ids met in the listing.
    excluded_seen: HashSet<GroupId>,
    pub changes: Vec<Change>,
    /// Would be changes, but Graph listed them with an id that is not a GUID (counted in
    /// `summary.changes`: the run fails them).
    pub unaddressable: Vec<Unaddressable>,
    pub skipped: Vec<Skipped>,
    pub summary: PlanSummary,
}

impl DisablePlanner {
    pub fn new(selection: Selection) -> Self {
        Self {
            selection,
            ..Default::default()
        }
    }

    /// The `--exclude` ids that no group in the listing had (a typo, or a group deleted since),
    /// sorted.
    pub(crate) fn excluded_but_absent(&self) -> Vec<String> {
        let mut ids: Vec<String> = self
            .selection
            .exclude
            .difference(&self.excluded_seen)
            .map(|id| id.as_str().to_string())
            .collect();
        ids.sort();
        ids
    }

    /// Consider one group: cloud-mastered Microsoft 365 groups that are effectively written back
    /// (`isEnabled` true or null) become changes, unless excluded or too new.
    pub fn consider(&mut self, g: &Group) -> Result<(), MissingWriteback> {
        let wb = g
            .writeback()
            .ok_or_else(|| MissingWriteback { id: g.id.clone() })?;
        let id = GroupId::parse(&g.id);
        let excluded = id
            .as_ref()
            .is_some_and(|i| self.selection.exclude.contains(i));
        if let Some(i) = id.as_ref().filter(|_| excluded) {
            self.excluded_seen.insert(i.clone());
        }
        let kind = classify(g);
        if kind != Kind::Microsoft365 {
            self.summary.other_kinds += 1;
            return Ok(());
        }
        let skip = |reason| Skipped {
            id: g.id.clone(),
            display_name: g.display_name.clone(),
            reason,
            note: None,
        };
        let synced = is_synced_from_on_premises(g);
        let reason = if synced {
            self.summary.synced_from_on_premises += 1;
            Some(SkipReason::SyncedFromOnPremises)
        } else if !effective(kind, synced, &wb).written_back {
            self.summary.already_disabled += 1;
            Some(SkipReason::AlreadyDisabled)
        } else if excluded {
            self.summary.excluded += 1;
            Some(SkipReason::Excluded)
        } else if let Some(cutoff) = &self.selection.created_before {
            let before_cutoff = g
                .created_date_time
                .as_deref()
                .is_some_and(|c| created_before(c, cutoff));
            if before_cutoff {
                None
            } else {
                self.summary.created_on_or_after_cutoff += 1;
                Some(SkipReason::CreatedOnOrAfterCutoff)
            }
        } else {
            None
        };
        let reason = match reason {
            None if self.selection.skip_role_assignable
                && g.is_assignable_to_role == Some(true) =>
            {
                self.summary.role_assignable_skipped += 1;
                Some(SkipReason::RoleAssignable)
            }
            r => r,
        };
        match (reason, id) {
            (Some(r), _) => self.skipped.push(skip(r)),
            (None, None) => {
                self.summary.changes += 1;
                self.unaddressable.extend(Unaddressable::of(g));
            }
            (None, Some(id)) => {
                self.summary.changes += 1;
                self.changes.push(Change {
                    role_assignable: g.is_assignable_to_role == Some(true),
                    id,
                    display_name: g.display_name.clone(),
                    after: WritebackConfiguration {
                        is_enabled: Some(false),
                        on_premises_group_type: wb.on_premises_group_type.clone(),
                    },
                    before: wb,
                });
            }
        }
        Ok(())
    }
}

/// Whether a `createdDateTime` is strictly before the cutoff, compared as instants: Graph may
/// write an offset (`-02:00`) or fractions of a second, which a string comparison gets wrong.
/// A date that does not parse is not before anything (the group is left alone).
pub(crate) fn created_before(created: &str, cutoff: &str) -> bool {
    use azure_core::time::parse_rfc3339;
    match (parse_rfc3339(created.trim()), parse_rfc3339(cutoff)) {
        (Ok(c), Ok(k)) => c < k,
        _ => false,
    }
}

/// Whole days from the instant `then` (RFC 3339) to `now`; `None` when `then` does not parse.
pub(crate) fn age_in_days(then: &str, now: &str) -> Option<i64> {
    use azure_core::time::parse_rfc3339;
    let (t, n) = (
        parse_rfc3339(then.trim()).ok()?,
        parse_rfc3339(now.trim()).ok()?,
    );
    Some((n - t).whole_days())
}

/// A saved plan older than this many days gets a warning when it is applied.
pub(crate) const PLAN_STALE_DAYS: i64 = 7;

/// Parse `--created-before`: `YYYY-MM-DD` (midnight UTC) or `YYYY-MM-DDTHH:MM:SSZ`. Returns the
/// normalised UTC timestamp Graph's `createdDateTime` compares against as a string.
pub(crate) fn parse_cutoff(s: &str) -> Result<String, String> {
    let s = s.trim();
    let (date, time) = match s.split_once('T') {
        None => (s, "00:00:00Z"),
        Some((d, t)) => (d, t),
    };
    let bad = || format!("{s:?} is not a date: use YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ (UTC)");
    let parts: Vec<&str> = date.split('-').collect();
    let [y, m, d] = parts.as_slice() else {
        return Err(bad());
    };
    if y.len() != 4 || m.len() != 2 || d.len() != 2 {
        return Err(bad());
    }
    let (y, m, d): (u32, u32, u32) = (
        y.parse().map_err(|_| bad())?,
        m.parse().map_err(|_| bad())?,
        d.parse().map_err(|_| bad())?,
    );
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days = [
        31,
        if leap { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    if !(1..=12).contains(&m) || d == 0 || d > days[(m - 1) as usize] {
        return Err(format!("{s:?} is not a real date"));
    }
    let t = time.strip_suffix('Z').ok_or_else(bad)?;
    let tp: Vec<&str> = t.split(':').collect();
    let [hh, mm, ss] = tp.as_slice() else {
        return Err(bad());
    };
    let (hh, mm, ss): (u32, u32, u32) = (
        hh.parse().map_err(|_| bad())?,
        mm.parse().map_err(|_| bad())?,
        ss.parse().map_err(|_| bad())?,
    );
    if hh > 23 || mm > 59 || ss > 59 {
        return Err(format!("{s:?} is not a real time"));
    }
    Ok(format!("{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}Z"))
}

/// Parse an exclude file: one group id per line, `#` starts a comment, blank lines ignored.
pub(crate) fn parse_exclude_file(text: &str) -> Result<Vec<GroupId>, String> {
    let mut ids = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let Some(id) = GroupId::parse_lowercase(line) else {
            return Err(format!(
                "line {}: {line:?} is not a group id (a GUID)",
                n + 1
            ));
        };
        ids.push(id);
    }
    Ok(ids)
}

pub(crate) use crate::graph::model::is_guid;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::model::{UNIVERSAL_MAIL_ENABLED_SECURITY, UNIVERSAL_SECURITY};

    /// A group named `name` (upper-cased), with a GUID made from the name (or `name` itself
    /// when it is one).
    fn g(name: &str, unified: bool, en: Option<bool>, ty: Option<&str>, created: &str) -> Group {
        let id = if is_guid(name) {
            name.to_string()
        } else {
            let h = name.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
                (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
            });
            format!("00000000-0000-4000-8000-{:012x}", h & 0xffff_ffff_ffff)
        };
        Group {
            id,
            display_name: Some(name.to_uppercase()),
            unified,
            security_enabled: Some(!unified),
            mail_enabled: Some(unified),
            on_premises_sync_enabled: None,
            on_premises_security_identifier: None,
            is_assignable_to_role: None,
            has_proxy_addresses: false,
            created_date_time: Some(created.into()),
            writeback_configuration: Some(Some(WritebackConfiguration {
                is_enabled: en,
                on_premises_group_type: ty.map(Into::into),
            })),
            plain: Default::default(),
        }
    }

    #[test]
    fn selects_written_back_cloud_m365_groups_and_keeps_their_type() {
        let mut p = DisablePlanner::new(Selection::default());
        p.consider(&g("a", true, None, None, "2020-01-01T00:00:00Z"))
            .unwrap();
        p.consider(&g(
            "b",
            true,
            Some(true),
            Some(UNIVERSAL_MAIL_ENABLED_SECURITY),
            "2020-01-01T00:00:00Z",
        ))
        .unwrap();
        p.consider(&g("c", true, Some(false), None, "2020-01-01T00:00:00Z"))
            .unwrap();
        p.consider(&g(
            "d",
            false,
            Some(true),
            Some(UNIVERSAL_SECURITY),
            "2020-01-01T00:00:00Z",
        ))
        .unwrap();
        let mut synced = g("e", true, None, None, "2020-01-01T00:00:00Z");
        synced.on_premises_sync_enabled = Some(true);
        p.consider(&synced).unwrap();
        assert_eq!(names(&p.changes), ["A", "B"]);
        assert_eq!(
            p.changes[1].after,
            WritebackConfiguration {
                is_enabled: Some(false),
                on_premises_group_type: Some(UNIVERSAL_MAIL_ENABLED_SECURITY.into())
            }
        );
        assert_eq!(p.changes[0].before.is_enabled, None);
        assert_eq!(
            p.summary,
            PlanSummary {
                changes: 2,
                already_disabled: 1,
                synced_from_on_premises: 1,
                other_kinds: 1,
                ..Default::default()
            }
        );
        let reasons: Vec<_> = p
            .skipped
            .iter()
            .map(|s| (s.display_name.as_deref().unwrap(), s.reason))
            .collect();
        assert_eq!(
            reasons,
            [
                ("C", SkipReason::AlreadyDisabled),
                ("E", SkipReason::SyncedFromOnPremises)
            ]
        );
    }

    fn names(changes: &[Change]) -> Vec<&str> {
        changes
            .iter()
            .map(|c| c.display_name.as_deref().unwrap())
            .collect()
    }

    /// A group Graph lists with an id that is not a GUID is planned apart: counted as a
    /// change (the run fails it), never a `Change` whose id could reach a URL.
    #[test]
    fn a_listed_id_that_is_not_a_guid_is_planned_apart() {
        let mut p = DisablePlanner::new(Selection::default());
        let mut odd = g("odd", true, None, None, "2020-01-01T00:00:00Z");
        odd.id = "x/../../users".into();
        p.consider(&odd).unwrap();
        p.consider(&g("a", true, None, None, "2020-01-01T00:00:00Z"))
            .unwrap();
        assert_eq!(names(&p.changes), ["A"]);
        assert_eq!(
            p.unaddressable,
            [Unaddressable {
                id: "x/../../users".into(),
                display_name: Some("ODD".into())
            }]
        );
        assert_eq!(p.summary.changes, 2);
    }

    #[test]
    fn exclusions_and_cutoff() {
        let id1 = "0b1f5a6e-1111-4c1e-9e4f-000000000001";
        let sel = Selection {
            exclude: [id1.into()].into(),
            created_before: Some(parse_cutoff("2021-01-01").unwrap()),
            ..Default::default()
        };
        let mut p = DisablePlanner::new(sel);
        p.consider(&g(
            &id1.to_uppercase(),
            true,
            None,
            None,
            "2019-01-01T00:00:00Z",
        ))
        .unwrap();
        p.consider(&g("old", true, None, None, "2020-12-31T23:59:59Z"))
            .unwrap();
        p.consider(&g("new", true, None, None, "2021-01-01T00:00:00Z"))
            .unwrap();
        assert_eq!(names(&p.changes), ["OLD"]);
        assert_eq!(
            (p.summary.excluded, p.summary.created_on_or_after_cutoff),
            (1, 1)
        );
    }

    #[test]
    fn the_cutoff_compares_instants_not_strings() {
        let k = parse_cutoff("2021-01-01").unwrap();
        // 23:00 at -02:00 is 01:00 UTC on the cutoff day: not before it.
        assert!(!created_before("2020-12-31T23:00:00-02:00", &k));
        assert!(created_before("2021-01-01T01:00:00+02:00", &k));
        // Half a second after the cutoff is after it; a tenth before is before.
        assert!(!created_before("2021-01-01T00:00:00.5Z", &k));
        assert!(created_before("2020-12-31T23:59:59.9Z", &k));
        assert!(!created_before("2021-01-01T00:00:00Z", &k));
        assert!(!created_before("yesterday", &k));
        let mut p = DisablePlanner::new(Selection {
            exclude: Default::default(),
            created_before: Some(k),
            ..Default::default()
        });
        p.consider(&g("offset", true, None, None, "2020-12-31T23:00:00-02:00"))
            .unwrap();
        p.consider(&g("fraction", true, None, None, "2021-01-01T00:00:00.5Z"))
            .unwrap();
        p.consider(&g("old", true, None, None, "2020-12-31T23:59:59.123Z"))
            .unwrap();
        assert_eq!(names(&p.changes), ["OLD"]);
    }

    #[test]
    fn cutoff_parsing_rejects_impossible_dates() {
        assert_eq!(parse_cutoff("2024-02-29").unwrap(), "2024-02-29T00:00:00Z");
        assert_eq!(
            parse_cutoff("2024-03-01T12:30:00Z").unwrap(),
            "2024-03-01T12:30:00Z"
        );
        for bad in [
            "2023-02-29",
            "2024-13-01",
            "2024-00-10",
            "24-01-01",
            "yesterday",
            "2024-01-01T25:00:00Z",
            "2024-01-01T10:00:00",
        ] {
            assert!(parse_cutoff(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn plan_age_is_counted_in_whole_days() {
        assert_eq!(
            age_in_days("2026-11-20T10:00:00Z", "2026-11-29T09:59:59Z"),
            Some(8)
        );
        assert_eq!(
            age_in_days("2026-11-29T10:00:00Z", "2026-11-29T18:00:00Z"),
            Some(0)
        );
        assert_eq!(age_in_days("yesterday", "2026-11-29T18:00:00Z"), None);
    }

    #[test]
    fn exclude_ids_no_group_had_are_reported() {
        let here = "0b1f5a6e-1111-4c1e-9e4f-000000000001";
        let absent = "0b1f5a6e-1111-4c1e-9e4f-00000000000f";
        let mut p = DisablePlanner::new(Selection {
            exclude: [here.into(), absent.into()].into(),
            created_before: None,
            ..Default::default()
        });
        // Excluded and already disabled: still met, so not reported.
        p.consider(&g(here, true, Some(false), None, "2020-01-01T00:00:00Z"))
            .unwrap();
        assert_eq!(p.excluded_but_absent(), vec![absent.to_string()]);
    }

    #[test]
    fn exclude_file_format() {
        let ids = parse_exclude_file("# keep these\n0B1F5A6E-1111-4C1E-9E4F-000000000001  # finance\n\n  0b1f5a6e-1111-4c1e-9e4f-000000000002\n").unwrap();
        assert_eq!(
            ids,
            [
                "0b1f5a6e-1111-4c1e-9e4f-000000000001",
                "0b1f5a6e-1111-4c1e-9e4f-000000000002"
            ]
        );
        let e =
            parse_exclude_file("0b1f5a6e-1111-4c1e-9e4f-000000000001\nFinance Team\n").unwrap_err();
        assert!(e.contains("line 2"), "{e}");
    }
}
