//! The tenant default for new Microsoft 365 groups, `NewUnifiedGroupWritebackDefault`, read from
//! the tenant's directory settings.

use serde::Serialize;

use crate::graph::model::{
    DirectorySetting, GROUP_UNIFIED_TEMPLATE_ID, NEW_UNIFIED_GROUP_WRITEBACK_DEFAULT,
};

/// Where the tenant default comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) enum DefaultSource {
    /// The Group.Unified setting holds the value.
    Setting,
    /// The Group.Unified setting exists but has no such entry: the template default applies.
    TemplateDefaultMissingEntry,
    /// No Group.Unified setting exists: the template defaults apply.
    TemplateDefaultNoSetting,
    /// The entry holds something other than true/false; the template default is assumed.
    TemplateDefaultInvalidValue,
    /// Group.Unified exists, but Graph returned it without its values: the default is unknown.
    ValuesUnreadable,
    /// The settings could not be read at all (an error, or a missing permission).
    Unreadable,
}

impl DefaultSource {
    pub(crate) fn describe(self) -> &'static str {
        match self {
            DefaultSource::Setting => "set in the tenant's Group.Unified directory setting",
            DefaultSource::TemplateDefaultMissingEntry => {
                "template default (Group.Unified exists but has no NewUnifiedGroupWritebackDefault entry)"
            }
            DefaultSource::TemplateDefaultNoSetting => {
                "template default (the tenant has no Group.Unified directory setting)"
            }
            DefaultSource::TemplateDefaultInvalidValue => {
                "template default assumed (the entry's value is neither true nor false)"
            }
            DefaultSource::ValuesUnreadable => {
                "unknown: Graph returned the Group.Unified setting without its values"
            }
            DefaultSource::Unreadable => {
                "unknown: the tenant's directory settings could not be read"
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct TenantDefault {
    /// Whether new Microsoft 365 groups are written back by default.
    pub new_unified_group_writeback_default: bool,
    pub source: DefaultSource,
    /// The Group.Unified setting's id, when one exists.
    pub setting_id: Option<String>,
    /// The raw string value as Graph holds it (casing varies), when present.
    pub raw_value: Option<String>,
    /// Why the default is ambiguous or unknown (two Group.Unified settings, several entries for
    /// the key, values not returned), when it is: gwb reports it and writes nothing.
    pub problem: Option<String>,
}

/// The template's default for `NewUnifiedGroupWritebackDefault`.
pub(crate) const TEMPLATE_DEFAULT: bool = true;

/// Parse a directory-setting boolean: Graph stores strings, casing varies.
pub(crate) fn parse_bool(s: &str) -> Option<bool> {
    match s.trim() {
        v if v.eq_ignore_ascii_case("true") => Some(true),
        v if v.eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    }
}

fn is_group_unified(s: &DirectorySetting) -> bool {
    s.template_id
        .as_deref()
        .is_some_and(|t| t.eq_ignore_ascii_case(GROUP_UNIFIED_TEMPLATE_ID))
}

fn is_key(name: &str) -> bool {
    name.trim()
        .eq_ignore_ascii_case(NEW_UNIFIED_GROUP_WRITEBACK_DEFAULT)
}

/// Find Group.Unified (by template id: its displayName may be null).
pub(crate) fn find_group_unified(settings: &[DirectorySetting]) -> Option<&DirectorySetting> {
    settings.iter().find(|s| is_group_unified(s))
}

/// What makes the tenant default unsafe to act on, if anything: Graph should never send two
/// Group.Unified settings, several entries for the key, or a setting without its values, but if
/// it does, gwb cannot know which one the service uses, and a write built from the answer could
/// clobber values it never saw.
pub(crate) fn group_unified_problem(settings: &[DirectorySetting]) -> Option<String> {
    let all: Vec<&DirectorySetting> = settings.iter().filter(|s| is_group_unified(s)).collect();
    if all.len() > 1 {
        return Some(format!(
            "the tenant has {} Group.Unified directory settings ({}); gwb cannot tell which one applies. Delete the extra ones in Microsoft Graph, then run gwb again",
            all.len(),
            all.iter()
                .map(|s| s.id.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    let s = all.first()?;
    if s.values_unread {
        return Some(format!(
            "Graph returned the Group.Unified setting {} without its values (missing or null); writing it would wipe every value it holds. Try again later",
            s.id
        ));
    }
    let entries: Vec<&str> = s
        .values
        .iter()
        .filter(|v| is_key(&v.name))
        .map(|v| v.value.as_deref().unwrap_or("null"))
        .collect();
    (entries.len() > 1).then(|| {
        format!(
            "the Group.Unified setting {} holds {} NewUnifiedGroupWritebackDefault entries ({}); gwb cannot tell which one applies. Remove the extra entries, then run gwb again",
            s.id,
            entries.len(),
            entries.join(", ")
        )
    })
}

pub(crate) fn tenant_default(settings: &[DirectorySetting]) -> TenantDefault {
    let problem = group_unified_problem(settings);
    if let Some(p) = &problem {
        tracing::warn!("{p}");
    }
    let Some(setting) = find_group_unified(settings) else {
        return TenantDefault {
            new_unified_group_writeback_default: TEMPLATE_DEFAULT,
            source: DefaultSource::TemplateDefaultNoSetting,
            setting_id: None,
            raw_value: None,
            problem,
        };
    };
    let entry = setting.values.iter().find(|v| is_key(&v.name));
    let raw = entry.and_then(|e| e.value.clone());
    let (value, source) = match (entry, raw.as_deref().and_then(parse_bool)) {
        _ if setting.values_unread => (TEMPLATE_DEFAULT, DefaultSource::ValuesUnreadable),
        (None, _) => (TEMPLATE_DEFAULT, DefaultSource::TemplateDefaultMissingEntry),
        (Some(_), Some(b)) => (b, DefaultSource::Setting),
        (Some(_), None) => (TEMPLATE_DEFAULT, DefaultSource::TemplateDefaultInvalidValue),
    };
    TenantDefault {
        new_unified_group_writeback_default: value,
        source,
        setting_id: Some(setting.id.clone()),
        raw_value: raw,
        problem,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::model::SettingValue;

    fn setting(template: &str, values: &[(&str, &str)]) -> DirectorySetting {
        DirectorySetting {
            values_unread: false,
            id: "s1".into(),
            display_name: None,
            template_id: Some(template.into()),
            values: values
                .iter()
                .map(|(n, v)| SettingValue {
                    name: n.to_string(),
                    value: Some(v.to_string()),
                })
                .collect(),
        }
    }

    #[test]
    fn no_setting_means_template_default_true() {
        let d = tenant_default(&[]);
        assert!(d.new_unified_group_writeback_default);
        assert_eq!(d.source, DefaultSource::TemplateDefaultNoSetting);
        // Another template's setting is not Group.Unified.
        let other = setting(
            "08d542b9-071f-4e16-94b0-74abb372e3d9",
            &[("NewUnifiedGroupWritebackDefault", "false")],
        );
        assert_eq!(
            tenant_default(&[other]).source,
            DefaultSource::TemplateDefaultNoSetting
        );
    }

    #[test]
    fn value_compares_case_insensitively() {
        for (raw, want) in [
            ("false", false),
            ("False", false),
            ("FALSE", false),
            ("True", true),
            ("true", true),
        ] {
            let s = setting(
                GROUP_UNIFIED_TEMPLATE_ID,
                &[
                    ("EnableGroupCreation", "false"),
                    ("NewUnifiedGroupWritebackDefault", raw),
                ],
            );
            let d = tenant_default(&[s]);
            assert_eq!(d.new_unified_group_writeback_default, want, "{raw}");
            assert_eq!(d.source, DefaultSource::Setting);
            assert_eq!(d.raw_value.as_deref(), Some(raw));
            assert_eq!(d.setting_id.as_deref(), Some("s1"));
        }
    }

    #[test]
    fn missing_entry_and_invalid_value_fall_back_to_template() {
        let s = setting(
            GROUP_UNIFIED_TEMPLATE_ID,
            &[("EnableGroupCreation", "false")],
        );
        let d = tenant_default(&[s]);
        assert_eq!(
            (d.new_unified_group_writeback_default, d.source),
            (true, DefaultSource::TemplateDefaultMissingEntry)
        );
        let s = setting(
            GROUP_UNIFIED_TEMPLATE_ID,
            &[("NewUnifiedGroupWritebackDefault", "maybe")],
        );
        let d = tenant_default(&[s]);
        assert_eq!(
            (d.new_unified_group_writeback_default, d.source),
            (true, DefaultSource::TemplateDefaultInvalidValue)
        );
    }
}
