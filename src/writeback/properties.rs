//! Property tests (proptest) for the pure core and the parsers: thousands of generated inputs
//! per property, each checked against the rule it must keep.

use std::collections::HashSet;

use proptest::collection::vec;
use proptest::prelude::*;

use super::plan::{DisablePlanner, Selection, SkipReason, parse_cutoff};
use super::policy::{Policy, PolicyChecker, Rule};
use super::setting::merged_values;
use super::{Kind, classify, effective, is_synced_from_on_premises};
use crate::graph::model::{Group, GroupId, SettingValue, WritebackConfiguration};

fn group_type() -> impl Strategy<Value = Option<String>> {
    prop_oneof![
        Just(None),
        Just(Some("universalDistributionGroup".to_string())),
        Just(Some("universalSecurityGroup".to_string())),
        Just(Some("universalMailEnabledSecurityGroup".to_string())),
        Just(Some("UniversalSecurityGroup".to_string())),
        "[a-zA-Z]{0,12}".prop_map(Some),
    ]
}

fn writeback() -> impl Strategy<Value = WritebackConfiguration> {
    (proptest::option::of(any::<bool>()), group_type()).prop_map(|(is_enabled, t)| {
        WritebackConfiguration {
            is_enabled,
            on_premises_group_type: t.map(Into::into),
        }
    })
}

prop_compose! {
    fn group()(
        n in 0u64..1_000_000,
        unified in any::<bool>(),
        security in proptest::option::of(any::<bool>()),
        mail in proptest::option::of(any::<bool>()),
        synced in proptest::option::of(any::<bool>()),
        proxy in any::<bool>(),
        wb in writeback(),
        day in 1u32..=28,
    ) -> Group {
        serde_json::from_value(serde_json::json!({
            "id": format!("0b1f5a6e-1111-4c1e-9e4f-{n:012}"),
            "displayName": format!("g{n}"),
            "groupTypes": if unified { vec!["Unified"] } else { vec![] },
            "securityEnabled": security,
            "mailEnabled": mail,
            "onPremisesSyncEnabled": synced,
            "proxyAddresses": if proxy { vec!["SMTP:g@contoso.com"] } else { vec![] },
            "createdDateTime": format!("2024-03-{day:02}T10:00:00Z"),
            "writebackConfiguration": wb,
        }))
        .expect("a valid group")
    }
}

/// Groups with distinct ids, as a tenant has.
fn groups(max: usize) -> impl Strategy<Value = Vec<Group>> {
    vec(group(), 0..max).prop_map(|gs| {
        let mut seen = HashSet::new();
        gs.into_iter()
            .filter(|g| seen.insert(g.id.clone()))
            .collect()
    })
}

fn setting_values() -> impl Strategy<Value = Vec<SettingValue>> {
    vec(
        (
            prop_oneof![
                "[A-Za-z]{1,24}".prop_map(|s| s),
                Just("NewUnifiedGroupWritebackDefault".to_string()),
                Just("newunifiedgroupwritebackdefault".to_string()),
            ],
            proptest::option::of(".{0,20}"),
        ),
        0..20,
    )
    .prop_map(|pairs| {
        // Graph holds each name once.
        let mut seen = HashSet::new();
        pairs
            .into_iter()
            .filter(|(n, _)| seen.insert(n.to_lowercase()))
            .map(|(name, value)| SettingValue { name, value })
            .collect()
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// The merged array keeps every other value byte for byte, in place, and sets only the key.
    #[test]
    fn merge_keeps_every_other_value(existing in setting_values(), target in any::<bool>()) {
        let merged = merged_values(&existing, target);
        let is_key = |v: &SettingValue| v.name.eq_ignore_ascii_case("NewUnifiedGroupWritebackDefault");
        let had_key = existing.iter().any(is_key);
        prop_assert_eq!(merged.len(), existing.len() + usize::from(!had_key));
        for (before, after) in existing.iter().zip(&merged) {
            if is_key(before) {
                prop_assert_eq!(&after.name, &before.name);
                prop_assert_eq!(after.value.as_deref(), Some(if target { "true" } else { "false" }));
            } else {
                prop_assert_eq!(before, after);
            }
        }
        prop_assert_eq!(merged.iter().filter(|v| is_key(v)).count(), 1);
        // Merging twice changes nothing more.
        prop_assert_eq!(merged_values(&merged, target), merged.clone());
    }

    /// The effective-state rules of GRAPH.md, section 1.
    #[test]
    fn effective_state_follows_the_table(g in group()) {
        let wb = g.writeback().unwrap();
        let kind = classify(&g);
        let synced = is_synced_from_on_premises(&g);
        let e = effective(kind, synced, &wb);
        if synced {
            prop_assert!(!e.written_back);
        }
        match kind {
            Kind::Microsoft365 if !synced => {
                prop_assert_eq!(e.written_back, wb.is_enabled != Some(false));
            }
            Kind::Security if !synced => {
                prop_assert_eq!(e.written_back, wb.is_enabled == Some(true));
                if e.written_back {
                    prop_assert_eq!(e.written_back_as, Some("universalSecurityGroup"));
                }
            }
            Kind::MailEnabledSecurity | Kind::Distribution => prop_assert!(!e.written_back),
            _ => {}
        }
        prop_assert_eq!(e.written_back, e.written_back_as.is_some());
        // One of the three types, exactly as the summary counts them (whatever case or value
        // the group's own type has).
        if let Some(t) = e.written_back_as {
            prop_assert!(
                [
                    "universalDistributionGroup",
                    "universalSecurityGroup",
                    "universalMailEnabledSecurityGroup"
                ]
                .contains(&t),
                "{t}"
            );
        }
    }

    /// Every Microsoft 365 group is either a change or skipped with a reason; changes only
    /// disable, keep the type, and only touch cloud groups that are written back.
    #[test]
    fn the_disable_plan_accounts_for_every_group(groups in groups(60), exclude_every in 1usize..5) {
        let mut exclude = HashSet::new();
        for g in groups.iter().step_by(exclude_every) {
            exclude.extend(GroupId::parse_lowercase(&g.id));
        }
        let mut planner = DisablePlanner::new(Selection { exclude: exclude.clone(), ..Default::default() });
        for g in &groups {
            planner.consider(g).unwrap();
        }
        let m365 = groups.iter().filter(|g| classify(g) == Kind::Microsoft365).count();
        prop_assert_eq!(planner.changes.len() + planner.unaddressable.len() + planner.skipped.len(), m365);
        prop_assert_eq!(planner.summary.other_kinds as usize, groups.len() - m365);
        for c in &planner.changes {
            let g = groups.iter().find(|g| c.id == g.id.as_str()).unwrap();
            prop_assert!(!is_synced_from_on_premises(g));
            prop_assert!(c.before.is_enabled != Some(false));
            prop_assert!(!exclude.contains(&c.id));
            prop_assert_eq!(c.after.is_enabled, Some(false));
            prop_assert_eq!(&c.after.on_premises_group_type, &c.before.on_premises_group_type);
        }
        for s in &planner.skipped {
            if s.reason == SkipReason::Excluded {
                prop_assert!(GroupId::parse(&s.id).is_some_and(|id| exclude.contains(&id)));
            }
        }
    }

    /// Drift is exactly the written-back cloud groups of a disabled kind that are not allowed.
    #[test]
    fn policy_drift_is_what_the_rules_say(groups in groups(60), allow_every in 1usize..6) {
        let allow: Vec<GroupId> = groups.iter().step_by(allow_every).filter_map(|g| GroupId::parse(&g.id)).collect();
        let policy = Policy {
            m365_writeback: Rule::Disabled,
            security_writeback: Rule::Disabled,
            allow: allow.clone(),
            ..Default::default()
        };
        let mut c = PolicyChecker::new(&policy);
        for g in &groups {
            c.consider(g).unwrap();
        }
        let want: HashSet<&str> = groups
            .iter()
            .filter(|g| {
                let kind = classify(g);
                let synced = is_synced_from_on_premises(g);
                matches!(kind, Kind::Microsoft365 | Kind::Security)
                    && effective(kind, synced, &g.writeback().unwrap()).written_back
                    && !allow.iter().any(|a| a.is(&g.id))
            })
            .map(|g| g.id.as_str())
            .collect();
        let got: HashSet<&str> = c.drift.iter().filter_map(|d| d.id.as_deref()).collect();
        prop_assert_eq!(got.len(), c.drift.len(), "one drift item per group");
        prop_assert_eq!(got, want);
        for d in &c.drift {
            let change = d.change.as_ref().unwrap();
            prop_assert_eq!(change.after.is_enabled, Some(false));
        }
    }

    /// --created-before: never a panic; a real date is accepted and normalised, a day past the
    /// month's end is refused.
    #[test]
    fn cutoff_dates(y in 1900u32..2200, m in 1u32..=12, d in 1u32..=31, junk in ".{0,30}") {
        let _ = parse_cutoff(&junk);
        let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
        let days = [31, if leap { 29 } else { 28 }, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][(m - 1) as usize];
        let s = format!("{y:04}-{m:02}-{d:02}");
        match parse_cutoff(&s) {
            Ok(c) => {
                prop_assert!(d <= days);
                prop_assert_eq!(c, format!("{s}T00:00:00Z"));
            }
            Err(_) => prop_assert!(d > days),
        }
    }
}
