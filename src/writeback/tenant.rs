//! The tenant default for new Microsoft 365 groups, `NewUnifiedGroupWritebackDefault`, read from
//! the tenant's directory settings.

use serde::Serialize;

use crate::graph::model::{
    DirectorySetting, GROUP_UNIFIED_TEMPLATE_ID, NEW_UNIFIED_GROUP_WRITEBACK_DEFAULT,
};

/// Where the tenant default comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum DefaultSource {
    /// The Group.Unified setting holds the value.
    Setting,
    /// The Group.Unified setting exists but has no such entry: the template default applies.
    TemplateDefaultMissingEntry,
    /// No Group.Unified setting exists: the template defaults apply.
    TemplateDefaultNoSetting,
    /// The entry holds something other than true/false; the template default is assumed.
    TemplateDefaultInvalidValue,
}

impl DefaultSource {
    pub fn describe(self) -> &'static str {
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
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TenantDefault {
    /// Whether new Microsoft 365 groups are written back by default.
    pub new_unified_group_writeback_default: bool,
    pub source: DefaultSource,
    /// The Group.Unified setting's id, when one exists.
    pub setting_id: Option<String>,
    /// The raw string value as Graph holds it (casing varies), when present.
    pub raw_value: Option<String>,
}

/// The template's default for `NewUnifiedGroupWritebackDefault`.
pub const TEMPLATE_DEFAULT: bool = true;

/// Parse a directory-setting boolean: Graph stores strings, casing varies.
pub fn parse_bool(s: &str) -> Option<bool> {
    match s.trim() {
        v if v.eq_ignore_ascii_case("true") => Some(true),
        v if v.eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    }
}

/// Find Group.Unified (by template id: its displayName may be null).
pub fn find_group_unified(settings: &[DirectorySetting]) -> Option<&DirectorySetting> {
    settings.iter().find(|s| {
        s.template_id
            .as_deref()
            .is_some_and(|t| t.eq_ignore_ascii_case(GROUP_UNIFIED_TEMPLATE_ID))
    })
}

pub fn tenant_default(settings: &[DirectorySetting]) -> TenantDefault {
    let Some(setting) = find_group_unified(settings) else {
        return TenantDefault {
            new_unified_group_writeback_default: TEMPLATE_DEFAULT,
            source: DefaultSource::TemplateDefaultNoSetting,
            setting_id: None,
            raw_value: None,
        };
    };
    let entry = setting.values.iter().find(|v| {
        v.name
            .eq_ignore_ascii_case(NEW_UNIFIED_GROUP_WRITEBACK_DEFAULT)
    });
    let raw = entry.and_then(|e| e.value.clone());
    let (value, source) = match (entry, raw.as_deref().and_then(parse_bool)) {
        (None, _) => (TEMPLATE_DEFAULT, DefaultSource::TemplateDefaultMissingEntry),
        (Some(_), Some(b)) => (b, DefaultSource::Setting),
        (Some(_), None) => (TEMPLATE_DEFAULT, DefaultSource::TemplateDefaultInvalidValue),
    };
    TenantDefault {
        new_unified_group_writeback_default: value,
        source,
        setting_id: Some(setting.id.clone()),
        raw_value: raw,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::model::SettingValue;

    fn setting(template: &str, values: &[(&str, &str)]) -> DirectorySetting {
        DirectorySetting {
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
