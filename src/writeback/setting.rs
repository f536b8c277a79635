//! Changing `NewUnifiedGroupWritebackDefault` without clobbering the rest of Group.Unified.
//! Pure: decides what to write from what was read; the command does the I/O.
//!
//! Graph's PATCH of a directory setting replaces the whole values array, so an update always
//! carries every existing value, byte for byte, with only this one entry changed (or added).
//! When no Group.Unified setting exists, all of the template's values are created from its
//! defaults with the override.

use serde::Serialize;

use super::tenant::{find_group_unified, parse_bool};
use crate::graph::model::{
    DirectorySetting, NEW_UNIFIED_GROUP_WRITEBACK_DEFAULT, SettingTemplateValue, SettingValue,
};

/// What `set-default` will do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "action", rename_all = "camelCase")]
pub(crate) enum SettingPlan {
    /// The setting already holds the target value: write nothing.
    #[serde(rename_all = "camelCase")]
    Unchanged {
        setting_id: String,
        raw_value: String,
    },
    /// PATCH the existing setting with `after` (the whole array, one entry changed or added).
    #[serde(rename_all = "camelCase")]
    Update {
        setting_id: String,
        /// The entry's value before, or None when the entry is missing.
        raw_before: Option<String>,
        before: Vec<SettingValue>,
        after: Vec<SettingValue>,
    },
    /// No Group.Unified setting: create it from the template's values.
    Create { values: Vec<SettingValue> },
}

/// The value as Graph should store it: lowercase.
pub(crate) fn bool_value(b: bool) -> String {
    if b { "true" } else { "false" }.to_string()
}

fn is_key(name: &str) -> bool {
    name.eq_ignore_ascii_case(NEW_UNIFIED_GROUP_WRITEBACK_DEFAULT)
}

/// Every value kept as it is, the key's entry set to `target` (appended when missing).
pub(crate) fn merged_values(existing: &[SettingValue], target: bool) -> Vec<SettingValue> {
    let mut out = existing.to_vec();
    let mut found = false;
    // Every entry for the key (Graph should hold one; a plan is refused when it holds more).
    for v in out.iter_mut().filter(|v| is_key(&v.name)) {
        v.value = Some(bool_value(target));
        found = true;
    }
    if !found {
        out.push(SettingValue {
            name: NEW_UNIFIED_GROUP_WRITEBACK_DEFAULT.into(),
            value: Some(bool_value(target)),
        });
    }
    out
}

/// All of the template's values at their defaults, the key set to `target`.
pub(crate) fn values_from_template(
    template: &[SettingTemplateValue],
    target: bool,
) -> Vec<SettingValue> {
    let mut values: Vec<SettingValue> = template
        .iter()
        .map(|t| SettingValue {
            name: t.name.clone(),
            value: Some(t.default_value.clone().unwrap_or_default()),
        })
        .collect();
    if !values.iter().any(|v| is_key(&v.name)) {
        values.push(SettingValue {
            name: NEW_UNIFIED_GROUP_WRITEBACK_DEFAULT.into(),
            value: None,
        });
    }
    merged_values(&values, target)
}

/// Why gwb will not write the setting: what it read is ambiguous or incomplete.
#[derive(Debug, thiserror::Error)]
#[error("{0}; nothing was changed")]
pub(crate) struct Unsafe(pub String);

/// Decide, from the tenant's settings, how to make the default `target`. A `Create` plan carries
/// no values yet: they come from the template, which the caller reads only when needed. Settings
/// gwb cannot act on safely ([`super::tenant::group_unified_problem`]) are refused.
pub fn plan(settings: &[DirectorySetting], target: bool) -> Result<SettingPlan, Unsafe> {
    if let Some(p) = super::tenant::group_unified_problem(settings) {
        return Err(Unsafe(p));
    }
    let Some(s) = find_group_unified(settings) else {
        return Ok(SettingPlan::Create { values: Vec::new() });
    };
    let raw = s
        .values
        .iter()
        .find(|v| is_key(&v.name))
        .and_then(|v| v.value.clone());
    Ok(match raw.as_deref().and_then(parse_bool) {
        Some(b) if b == target => SettingPlan::Unchanged {
            setting_id: s.id.clone(),
            raw_value: raw.unwrap_or_default(),
        },
        _ => SettingPlan::Update {
            setting_id: s.id.clone(),
            raw_before: raw,
            before: s.values.clone(),
            after: merged_values(&s.values, target),
        },
    })
}

/// True when the setting now holds `target` for the key.
pub(crate) fn holds(settings: &[DirectorySetting], target: bool) -> bool {
    find_group_unified(settings).is_some_and(|s| {
        s.values
            .iter()
            .find(|v| is_key(&v.name))
            .and_then(|v| v.value.as_deref())
            .and_then(parse_bool)
            == Some(target)
    })
}

/// Same values, compared as Graph holds them: by name, in any order, and booleans in any
/// casing (Graph stores `"true"` sent by gwb and returns `"True"`).
pub(crate) fn same_values(a: &[SettingValue], b: &[SettingValue]) -> bool {
    let key = |v: &[SettingValue]| {
        let mut v: Vec<(String, Option<String>)> = v
            .iter()
            .map(|x| {
                let value = x.value.as_deref().map(|s| match parse_bool(s) {
                    Some(b) => bool_value(b),
                    None => s.to_string(),
                });
                (x.name.to_ascii_lowercase(), value)
            })
            .collect();
        v.sort();
        v
    };
    key(a) == key(b)
}

/// How a `set-default` journal is restored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) enum RestoreMethod {
    Patch,
    Create,
    Delete,
    None,
}

impl std::fmt::Display for RestoreMethod {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            RestoreMethod::Patch => "patch",
            RestoreMethod::Create => "create",
            RestoreMethod::Delete => "delete",
            RestoreMethod::None => "none",
        })
    }
}

/// What restoring Group.Unified from a journal comes to, decided from the journal and the
/// setting as it is now.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum RestoreDecision {
    /// The setting already holds what the journal recorded: nothing to write.
    AlreadyRecorded,
    /// Someone changed the key after gwb's run (gwb wrote `written`, it now holds `now`):
    /// left alone without `--force`.
    ChangedSinceRun {
        setting: DirectorySetting,
        now: Option<String>,
        written: Option<String>,
    },
    /// The setting was deleted after gwb's run: left alone without `--force`.
    DeletedSinceRun,
    /// Write: by `method`, to the setting `id` (none for a create), which holds `now`, the
    /// values `restored`.
    Write {
        method: RestoreMethod,
        id: Option<String>,
        now: Option<Vec<SettingValue>>,
        restored: Vec<SettingValue>,
    },
}

/// Compare-and-set, one value: gwb changed NewUnifiedGroupWritebackDefault only, so only that
/// entry is put back, and only while it still holds what gwb wrote (or with `force`); every
/// other value is kept as it is now (an admin may have changed it since). `before` is the
/// values array before gwb's run (`None`: gwb created the setting), `written` what gwb wrote,
/// `current` the setting now. `deleted` says the run deleted the setting (it was the restore of
/// a run that had created it): then absent is what gwb left, and undoing it creates the setting
/// again with `before`.
pub(crate) fn restore_decision(
    before: Option<&[SettingValue]>,
    written: &[SettingValue],
    deleted: bool,
    current: Option<&DirectorySetting>,
    force: bool,
) -> RestoreDecision {
    let key_written = key_entry(written);
    let changed = |c: &DirectorySetting, now: Option<String>| RestoreDecision::ChangedSinceRun {
        setting: c.clone(),
        now,
        written: key_written.clone(),
    };
    let patch = |c: &DirectorySetting, entry: Option<&String>| RestoreDecision::Write {
        method: RestoreMethod::Patch,
        id: Some(c.id.clone()),
        now: Some(c.values.clone()),
        restored: with_entry(&c.values, entry),
    };
    match (before, current) {
        (Some(b), Some(c)) => {
            let now = key_entry(&c.values);
            let original = key_entry(b);
            if same_entry(&now, &original) {
                RestoreDecision::AlreadyRecorded
            } else if same_entry(&now, &key_written) || force {
                patch(c, original.as_ref())
            } else {
                changed(c, now)
            }
        }
        // Deleted by gwb's run (a restore), or after it by someone else: re-create it then only
        // when forced.
        (Some(b), None) if force || deleted => RestoreDecision::Write {
            method: RestoreMethod::Create,
            id: None,
            now: None,
            restored: b.to_vec(),
        },
        (Some(_), None) => RestoreDecision::DeletedSinceRun,
        (None, None) => RestoreDecision::AlreadyRecorded,
        (None, Some(c)) if same_values(&c.values, written) => RestoreDecision::Write {
            method: RestoreMethod::Delete,
            id: Some(c.id.clone()),
            now: Some(c.values.clone()),
            restored: Vec::new(),
        },
        // gwb created it, and other values were changed since: put back only the effect gwb
        // had, the template default for the key, keeping the rest.
        // A key that holds the template default again has no effect of gwb's left to undo
        // (checked first: advising --force there would advise a no-op).
        (None, Some(c)) => {
            let now = key_entry(&c.values);
            let template = Some(bool_value(super::tenant::TEMPLATE_DEFAULT));
            if same_entry(&now, &template) {
                RestoreDecision::AlreadyRecorded
            } else if same_entry(&now, &key_written) || force {
                patch(c, template.as_ref())
            } else {
                changed(c, now)
            }
        }
    }
}

/// The key's entry in a values array: `None` when absent, `Some(value)` when present.
fn key_entry(values: &[SettingValue]) -> Option<String> {
    values
        .iter()
        .find(|v| is_key(v.name.trim()))
        .map(|v| v.value.clone().unwrap_or_default())
}

/// Two entries mean the same (booleans case-insensitively, as Graph stores them).
fn same_entry(a: &Option<String>, b: &Option<String>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => match (super::tenant::parse_bool(a), super::tenant::parse_bool(b)) {
            (Some(x), Some(y)) => x == y,
            _ => a == b,
        },
        (None, None) => true,
        _ => false,
    }
}

/// `values` with the key's entry set to `entry` exactly (removed when `None`), the rest as is.
fn with_entry(values: &[SettingValue], entry: Option<&String>) -> Vec<SettingValue> {
    match entry {
        None => values
            .iter()
            .filter(|v| !is_key(v.name.trim()))
            .cloned()
            .collect(),
        Some(e) if values.iter().any(|v| is_key(v.name.trim())) => values
            .iter()
            .map(|v| {
                if is_key(v.name.trim()) {
                    SettingValue {
                        name: v.name.clone(),
                        value: Some(e.clone()),
                    }
                } else {
                    v.clone()
                }
            })
            .collect(),
        Some(e) => {
            let mut out = values.to_vec();
            out.push(SettingValue {
                name: crate::graph::model::NEW_UNIFIED_GROUP_WRITEBACK_DEFAULT.into(),
                value: Some(e.clone()),
            });
            out
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn named(values: &[(&str, &str)]) -> DirectorySetting {
        setting(values.iter().map(|(n, v)| sv(n, v)).collect())
    }

    #[test]
    fn restoring_a_create_whose_key_holds_the_template_default_again_is_nothing_to_do() {
        // set-default false created Group.Unified; set-default true then set the key back.
        let written = named(&[("A", "x"), ("NewUnifiedGroupWritebackDefault", "false")]).values;
        let now = named(&[("A", "x"), ("NewUnifiedGroupWritebackDefault", "true")]);
        assert_eq!(
            restore_decision(None, &written, false, Some(&now), false),
            RestoreDecision::AlreadyRecorded,
            "not ChangedSinceRun, whose --force advice would be a no-op"
        );
    }

    #[test]
    fn restoring_an_update_puts_back_only_the_key_while_it_holds_what_gwb_wrote() {
        let before = named(&[("A", "x"), ("NewUnifiedGroupWritebackDefault", "true")]).values;
        let written = named(&[("A", "x"), ("NewUnifiedGroupWritebackDefault", "false")]).values;
        let now = named(&[
            ("A", "changed"),
            ("NewUnifiedGroupWritebackDefault", "False"),
        ]);
        match restore_decision(Some(&before), &written, false, Some(&now), false) {
            RestoreDecision::Write {
                method: RestoreMethod::Patch,
                restored,
                ..
            } => {
                assert_eq!(
                    restored[0].value.as_deref(),
                    Some("changed"),
                    "A kept as now"
                );
                assert_eq!(restored[1].value.as_deref(), Some("true"));
            }
            other => panic!("{other:?}"),
        }
        let moved = named(&[("NewUnifiedGroupWritebackDefault", "maybe")]);
        assert!(matches!(
            restore_decision(Some(&before), &written, false, Some(&moved), false),
            RestoreDecision::ChangedSinceRun { .. }
        ));
    }
    use crate::graph::model::GROUP_UNIFIED_TEMPLATE_ID;

    fn sv(name: &str, value: &str) -> SettingValue {
        SettingValue {
            name: name.into(),
            value: Some(value.into()),
        }
    }

    fn setting(values: Vec<SettingValue>) -> DirectorySetting {
        DirectorySetting {
            values_unread: false,
            id: "s1".into(),
            display_name: None,
            template_id: Some(GROUP_UNIFIED_TEMPLATE_ID.into()),
            values,
        }
    }

    fn customised() -> Vec<SettingValue> {
        vec![
            sv("CustomBlockedWordsList", "Payroll,CEO"),
            sv(
                "PrefixSuffixNamingRequirement",
                "GRP_[Department]_[GroupName]",
            ),
            sv("AllowGuestsToAccessGroups", "False"),
            sv("ClassificationList", "Public,Internal,Secret"),
            sv("EnableGroupCreation", "false"),
            sv(
                "GroupCreationAllowedGroupId",
                "6e1a0b9c-0000-4000-8000-000000000001",
            ),
            sv("NewUnifiedGroupWritebackDefault", "True"),
        ]
    }

    #[test]
    fn an_update_keeps_every_other_value_byte_for_byte() {
        let p = plan(&[setting(customised())], false).unwrap();
        let SettingPlan::Update {
            before,
            after,
            raw_before,
            ..
        } = p
        else {
            panic!("{p:?}")
        };
        assert_eq!(raw_before.as_deref(), Some("True"));
        assert_eq!(before, customised());
        assert_eq!(after.len(), before.len());
        for (b, a) in before.iter().zip(&after) {
            if b.name == NEW_UNIFIED_GROUP_WRITEBACK_DEFAULT {
                assert_eq!(a.value.as_deref(), Some("false"));
            } else {
                assert_eq!(a, b);
            }
        }
    }

    #[test]
    fn equal_values_in_any_casing_mean_no_write() {
        for raw in ["True", "TRUE", "true", " true "] {
            let mut v = customised();
            v.last_mut().unwrap().value = Some(raw.into());
            assert!(
                matches!(
                    plan(&[setting(v)], true).unwrap(),
                    SettingPlan::Unchanged { .. }
                ),
                "{raw}"
            );
        }
    }

    #[test]
    fn a_missing_entry_is_added_and_an_invalid_one_replaced() {
        let mut v = customised();
        v.pop();
        let SettingPlan::Update { after, .. } = plan(&[setting(v.clone())], true).unwrap() else {
            panic!()
        };
        assert_eq!(after.len(), v.len() + 1);
        assert_eq!(
            after.last().unwrap(),
            &sv("NewUnifiedGroupWritebackDefault", "true")
        );
        v.push(sv("NewUnifiedGroupWritebackDefault", "yes"));
        assert!(matches!(
            plan(&[setting(v)], true).unwrap(),
            SettingPlan::Update { .. }
        ));
    }

    #[test]
    fn no_setting_means_create_from_every_template_default() {
        assert_eq!(
            plan(&[], false).unwrap(),
            SettingPlan::Create { values: vec![] }
        );
        let template: Vec<SettingTemplateValue> = [
            ("EnableGroupCreation", "true"),
            ("NewUnifiedGroupWritebackDefault", "true"),
            ("UsageGuidelinesUrl", ""),
        ]
        .iter()
        .map(|(n, d)| SettingTemplateValue {
            name: (*n).into(),
            type_: Some("System.String".into()),
            default_value: Some((*d).into()),
            description: None,
        })
        .collect();
        let v = values_from_template(&template, false);
        assert_eq!(
            v,
            vec![
                sv("EnableGroupCreation", "true"),
                sv("NewUnifiedGroupWritebackDefault", "false"),
                sv("UsageGuidelinesUrl", ""),
            ]
        );
        assert!(holds(&[setting(v.clone())], false));
        assert!(!holds(&[setting(v)], true));
    }

    #[test]
    fn values_compare_by_name_in_any_order() {
        let mut r = customised();
        r.reverse();
        assert!(same_values(&customised(), &r));
        r[0].value = Some("x".into());
        assert!(!same_values(&customised(), &r));
    }
}
