//! What changed since the last check: each drift item is new (not seen last run), persisting
//! (seen last run too) or resolved (drifted last run, or found and fixed in this one, and
//! compliant now). Pure: the caller reads and writes the state.

use std::collections::HashSet;

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
}

impl Seen {
    pub(crate) fn of(d: &Drift) -> Seen {
        Seen {
            target: d.target,
            id: d.id.clone(),
            display_name: d.display_name.clone(),
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

/// The drift of this run against the last one.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
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
pub(crate) fn classify(
    previous: Option<(&str, &[Seen])>,
    found: &[Drift],
    now: &[Drift],
) -> Changes {
    let (since, previous) = match previous {
        Some((at, p)) => (Some(at.to_string()), p),
        None => (None, &[][..]),
    };
    let before: HashSet<String> = previous.iter().map(Seen::key).collect();
    let left: HashSet<String> = now.iter().map(|d| key(d.target, d.id.as_deref())).collect();
    let new: Vec<Drift> = found
        .iter()
        .filter(|d| !before.contains(&key(d.target, d.id.as_deref())))
        .cloned()
        .collect();
    let persisting: Vec<Drift> = now
        .iter()
        .filter(|d| before.contains(&key(d.target, d.id.as_deref())))
        .cloned()
        .collect();
    let mut resolved: Vec<Seen> = previous
        .iter()
        .filter(|s| !left.contains(&s.key()))
        .cloned()
        .collect();
    resolved.extend(
        new.iter()
            .filter(|d| !left.contains(&key(d.target, d.id.as_deref())))
            .map(Seen::of),
    );
    Changes {
        since,
        new,
        persisting,
        resolved,
    }
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
        }
    }

    #[test]
    fn three_runs_new_then_persisting_then_resolved() {
        // Run 1: the first run counts everything as new.
        let one = classify(None, &[d("a"), d("b")], &[d("a"), d("b")]);
        assert_eq!(one.new.len(), 2);
        assert!(one.persisting.is_empty() && one.resolved.is_empty() && one.since.is_none());
        // Run 2: a persists, b was put right by someone, c is new.
        let seen: Vec<Seen> = [d("a"), d("b")].iter().map(Seen::of).collect();
        let two = classify(Some(("t1", &seen)), &[d("A"), d("c")], &[d("A"), d("c")]);
        assert_eq!(two.since.as_deref(), Some("t1"));
        assert_eq!(two.new, vec![d("c")]);
        assert_eq!(
            two.persisting,
            vec![d("A")],
            "ids compare case-insensitively"
        );
        assert_eq!(two.resolved, vec![Seen::of(&d("b"))]);
        // Run 3 with --fix: everything found is fixed.
        let seen: Vec<Seen> = [d("a"), d("c")].iter().map(Seen::of).collect();
        let three = classify(Some(("t2", &seen)), &[d("a"), d("c"), d("e")], &[]);
        assert_eq!(three.new, vec![d("e")]);
        assert!(three.persisting.is_empty());
        let resolved: Vec<&str> = three
            .resolved
            .iter()
            .filter_map(|s| s.id.as_deref())
            .collect();
        assert_eq!(resolved, vec!["a", "c", "e"], "found 1 new, fixed 3");
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
        );
        assert!(c.new.is_empty() && c.resolved.is_empty());
        assert_eq!(c.persisting.len(), 1);
    }
}
