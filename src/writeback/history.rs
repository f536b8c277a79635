//! What changed since the last check: each drift item is new (not seen last run), persisting
//! (seen last run too) or resolved (drifted last run, or found and fixed in this one, and
//! compliant now). Pure: the caller reads and writes the state.

use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};

use super::policy::{Drift, DriftTarget};

/// A drift item as the state remembers it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Seen {
    pub target: DriftTarget,
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub display_name: Option<String>,
    /// When a check first saw it drift (RFC 3339). A state written before gwb kept it has
    /// none; the reader fills in that state's `checkedAt` (the earliest run known to have seen it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_seen: Option<String>,
}

impl Seen {
    pub(crate) fn of(d: &Drift) -> Seen {
        Seen {
            target: d.target,
            id: d.id.clone(),
            display_name: d.display_name.clone(),
            first_seen: d.first_seen.clone(),
        }
    }

    /// What makes two runs' items the same: the group's id, or the tenant default (whose
    /// setting id may change).
    pub(crate) fn key(&self) -> String {
        key(self.target, self.id.as_deref())
    }
}

pub(crate) fn key(target: DriftTarget, id: Option<&str>) -> String {
    match target {
        DriftTarget::TenantDefault => "tenantDefault".into(),
        DriftTarget::SyncEngine => "syncEngine".into(),
        DriftTarget::Group => format!("group:{}", id.unwrap_or("").to_ascii_lowercase()),
    }
}

/// One run of `check`, as the history keeps it: every value but the time and command a count.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RunRecord {
    pub at: String,
    pub command: String,
    pub exit_code: u8,
    pub new: u64,
    pub persisting: u64,
    pub resolved: u64,
    pub excepted: u64,
    /// What drifted after the run (new and persisting).
    pub drift: u64,
    /// A run that failed before it had a result: why (its counts are 0, its drift unknown).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl RunRecord {
    /// A run of `command` that failed with exit code `code`.
    pub(crate) fn failed(command: &str, code: u8, error: String) -> RunRecord {
        RunRecord {
            at: crate::clock::this_run_started(),
            command: command.to_string(),
            exit_code: code,
            new: 0,
            persisting: 0,
            resolved: 0,
            excepted: 0,
            drift: 0,
            error: Some(error),
        }
    }
}

/// The drift of this run against the last one.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Changes {
    /// When the last run was (none: this is the first).
    pub since: Option<String>,
    pub new: Vec<Drift>,
    pub persisting: Vec<Drift>,
    pub resolved: Vec<Seen>,
}

/// Classify against `previous` (the last run's drift): `found` is what this run found, `now`
/// what is left after it (the same as `found` without `--fix`; after a fix, what checking
/// again showed). Found-and-fixed items are new and resolved at once ("found 12 new, fixed 12").
/// `at` is this run's time: a new item's `firstSeen`; a persisting item keeps the one the last
/// run remembered.
pub(crate) fn classify(
    previous: Option<(&str, &[Seen])>,
    found: &[Drift],
    now: &[Drift],
    at: &str,
) -> Changes {
    let (since, previous) = match previous {
        Some((at, p)) => (Some(at.to_string()), p),
        None => (None, &[][..]),
    };
    let before: HashMap<String, Option<&str>> = previous
        .iter()
        .map(|s| (s.key(), s.first_seen.as_deref()))
        .collect();
    // Each item's key made once (a key is two allocations; a tenant of a fleet has thousands).
    let keyed = |ds: &[Drift]| -> Vec<String> {
        ds.iter().map(|d| key(d.target, d.id.as_deref())).collect()
    };
    let (found_keys, now_keys) = (keyed(found), keyed(now));
    let stamped = |d: &Drift, k: &str| Drift {
        first_seen: match before.get(k) {
            Some(Some(first)) => Some(first.to_string()),
            // Seen last run by a state that did not keep the time: the last run is the
            // earliest known.
            Some(None) => since.clone(),
            None => Some(at.to_string()),
        },
        ..d.clone()
    };
    let left: HashSet<&str> = now_keys.iter().map(String::as_str).collect();
    let mut new = Vec::new();
    let mut new_gone = Vec::new();
    for (d, k) in found.iter().zip(&found_keys) {
        if !before.contains_key(k.as_str()) {
            let d = stamped(d, k);
            if !left.contains(k.as_str()) {
                new_gone.push(Seen::of(&d));
            }
            new.push(d);
        }
    }
    let persisting: Vec<Drift> = now
        .iter()
        .zip(&now_keys)
        .filter(|(_, k)| before.contains_key(k.as_str()))
        .map(|(d, k)| stamped(d, k))
        .collect();
    let mut resolved: Vec<Seen> = previous
        .iter()
        .filter(|s| !left.contains(s.key().as_str()))
        .cloned()
        .collect();
    resolved.extend(new_gone);
    Changes {
        since,
        new,
        persisting,
        resolved,
    }
}

impl Changes {
    /// Give every item of `drift` the `firstSeen` this run's classification found for it.
    pub(crate) fn stamp(&self, drift: &mut [Drift]) {
        let first: HashMap<String, &str> = self
            .new
            .iter()
            .chain(&self.persisting)
            .filter_map(|d| Some((key(d.target, d.id.as_deref()), d.first_seen.as_deref()?)))
            .collect();
        for d in drift {
            if let Some(f) = first.get(&key(d.target, d.id.as_deref())) {
                d.first_seen = Some(f.to_string());
            }
        }
    }

    /// The oldest `firstSeen` of what drifts now (new or persisting), if any.
    pub(crate) fn oldest(&self) -> Option<&str> {
        self.new
            .iter()
            .chain(&self.persisting)
            .filter_map(|d| d.first_seen.as_deref())
            .min()
    }
}

/// Seconds from `first_seen` to `now` (both RFC 3339), never below 0.
pub(crate) fn age_seconds(first_seen: &str, now: &str) -> Option<i64> {
    use azure_core::time::parse_rfc3339;
    let (t, n) = (
        parse_rfc3339(first_seen.trim()).ok()?,
        parse_rfc3339(now.trim()).ok()?,
    );
    Some((n - t).whole_seconds().max(0))
}

/// "31 days", "1 day", "today": how long ago `first_seen` was at `now` (both RFC 3339).
pub(crate) fn age(first_seen: &str, now: &str) -> Option<String> {
    let days = super::plan::age_in_days(first_seen, now)?;
    Some(match days {
        ..=0 => "today".to_string(),
        1 => "1 day".to_string(),
        n => format!("{n} days"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(id: &str) -> Drift {
        Drift {
            target: DriftTarget::Group,
            id: Some(id.into()),
            display_name: Some(format!("g-{id}")),
            kind: None,
            expected: "not written back".into(),
            actual: "written back".into(),
            change: None,
            role_assignable: false,
            first_seen: None,
        }
    }

    fn seen_at(d: &Drift, at: &str) -> Seen {
        Seen {
            first_seen: Some(at.into()),
            ..Seen::of(d)
        }
    }

    fn ids(v: &[Drift]) -> Vec<(&str, Option<&str>)> {
        v.iter()
            .map(|d| (d.id.as_deref().unwrap(), d.first_seen.as_deref()))
            .collect()
    }

    #[test]
    fn three_runs_new_then_persisting_then_resolved() {
        // Run 1: the first run counts everything as new, first seen now.
        let one = classify(None, &[d("a"), d("b")], &[d("a"), d("b")], "t1");
        assert_eq!(ids(&one.new), vec![("a", Some("t1")), ("b", Some("t1"))]);
        assert!(one.persisting.is_empty() && one.resolved.is_empty() && one.since.is_none());
        // Run 2: a persists (keeping when it was first seen), b was put right, c is new.
        let seen = vec![seen_at(&d("a"), "t1"), seen_at(&d("b"), "t1")];
        let two = classify(
            Some(("t1", &seen)),
            &[d("A"), d("c")],
            &[d("A"), d("c")],
            "t2",
        );
        assert_eq!(two.since.as_deref(), Some("t1"));
        assert_eq!(ids(&two.new), vec![("c", Some("t2"))]);
        assert_eq!(
            ids(&two.persisting),
            vec![("A", Some("t1"))],
            "ids compare case-insensitively; firstSeen is kept"
        );
        assert_eq!(two.resolved, vec![seen_at(&d("b"), "t1")]);
        assert_eq!(two.oldest(), Some("t1"));
        // Run 3 with --fix: everything found is fixed.
        let seen = vec![seen_at(&d("a"), "t1"), seen_at(&d("c"), "t2")];
        let three = classify(Some(("t2", &seen)), &[d("a"), d("c"), d("e")], &[], "t3");
        assert_eq!(ids(&three.new), vec![("e", Some("t3"))]);
        assert!(three.persisting.is_empty());
        let resolved: Vec<&str> = three
            .resolved
            .iter()
            .filter_map(|s| s.id.as_deref())
            .collect();
        assert_eq!(resolved, vec!["a", "c", "e"], "found 1 new, fixed 3");
    }

    #[test]
    fn a_state_without_first_seen_dates_persisting_items_from_its_own_run() {
        let seen = vec![Seen::of(&d("a"))];
        let c = classify(Some(("t1", &seen)), &[d("a")], &[d("a")], "t2");
        assert_eq!(ids(&c.persisting), vec![("a", Some("t1"))]);
        let mut shown = vec![d("a"), d("x")];
        c.stamp(&mut shown);
        assert_eq!(shown[0].first_seen.as_deref(), Some("t1"));
        assert_eq!(shown[1].first_seen, None, "not in this run's drift");
    }

    #[test]
    fn ages_are_whole_days() {
        let at = "2026-11-01T10:00:00Z";
        assert_eq!(age(at, "2026-12-02T09:00:00Z").as_deref(), Some("30 days"));
        assert_eq!(age(at, "2026-12-02T10:00:00Z").as_deref(), Some("31 days"));
        assert_eq!(age(at, "2026-11-02T10:00:00Z").as_deref(), Some("1 day"));
        assert_eq!(age(at, at).as_deref(), Some("today"));
        assert_eq!(age("garbage", at), None);
    }

    #[test]
    fn the_tenant_default_is_one_item_whatever_its_setting_id() {
        let mut t = d("s1");
        t.target = DriftTarget::TenantDefault;
        let seen = vec![Seen::of(&t)];
        let mut now = t.clone();
        now.id = Some("s2".into());
        let c = classify(
            Some(("t", &seen)),
            std::slice::from_ref(&now),
            std::slice::from_ref(&now),
            "t2",
        );
        assert!(c.new.is_empty() && c.resolved.is_empty());
        assert_eq!(c.persisting.len(), 1);
    }
}
