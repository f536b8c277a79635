//! The pure core: what kind a group is and whether it is effectively written back.
//!
//! No I/O here. The rules are those of GRAPH.md section 1 ("Effective writeback"): for
//! Microsoft 365 groups `isEnabled: null` means written back (writeback v1 compatibility), for
//! security groups it means not written back; other kinds and groups mastered on-premises are
//! never written back.

pub(crate) mod engines;
pub(crate) mod history;
pub(crate) mod onprem;
pub mod plan;
pub(crate) mod policy;
#[cfg(test)]
mod properties;
pub(crate) mod setting;
pub(crate) mod summary;
pub mod tenant;

use serde::Serialize;

pub use crate::cli::Kind;

use crate::graph::model::{
    Group, UNIVERSAL_DISTRIBUTION, UNIVERSAL_MAIL_ENABLED_SECURITY, UNIVERSAL_SECURITY,
    WritebackConfiguration,
};

impl Kind {
    pub(crate) const ALL: [Kind; 4] = [
        Kind::Microsoft365,
        Kind::Security,
        Kind::MailEnabledSecurity,
        Kind::Distribution,
    ];

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Kind::Microsoft365 => "microsoft365",
            Kind::Security => "security",
            Kind::MailEnabledSecurity => "mailEnabledSecurity",
            Kind::Distribution => "distribution",
        }
    }
}

/// Why a group is or is not written back: a stable, machine-readable reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) enum Reason {
    /// `isEnabled: true`.
    Enabled,
    /// Microsoft 365 group with `isEnabled: null`: written back for v1 compatibility.
    DefaultEnabled,
    /// `isEnabled: false`.
    Disabled,
    /// Security group with `isEnabled: null`.
    DefaultDisabled,
    /// Mail-enabled security and distribution groups cannot be written back.
    Unsupported,
    /// `onPremisesSyncEnabled: true`: the group is mastered in AD.
    SyncedFromOnPremises,
    /// A cloud Microsoft 365 group while Entra Connect's group writeback v1 runs without v2:
    /// v1 writes every Microsoft 365 group back "independently of the Writeback Enabled
    /// setting" (Microsoft's migrate-group-writeback article), whatever `isEnabled` says.
    V1WritesAll,
}

impl Reason {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Reason::Enabled => "enabled",
            Reason::DefaultEnabled => "defaultEnabled",
            Reason::Disabled => "disabled",
            Reason::DefaultDisabled => "defaultDisabled",
            Reason::Unsupported => "unsupported",
            Reason::SyncedFromOnPremises => "syncedFromOnPremises",
            Reason::V1WritesAll => "v1WritesAll",
        }
    }
}

/// The effective writeback state of one group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Effective {
    pub written_back: bool,
    /// The on-premises group type it is written back as; `None` when not written back.
    pub written_back_as: Option<&'static str>,
    pub reason: Reason,
    /// A configuration Graph holds that the sync engine will not honour as stated.
    pub warning: Option<String>,
}

/// Classify a group by its attributes (also for groups synced from AD: their kind is still
/// meaningful; [`is_synced_from_on_premises`] says who masters them).
pub(crate) fn classify(g: &Group) -> Kind {
    if g.unified {
        Kind::Microsoft365
    } else if g.security_enabled == Some(true) {
        if g.mail_enabled == Some(true) || g.has_proxy_addresses {
            Kind::MailEnabledSecurity
        } else {
            Kind::Security
        }
    } else {
        Kind::Distribution
    }
}

pub(crate) fn is_synced_from_on_premises(g: &Group) -> bool {
    g.on_premises_sync_enabled == Some(true)
}

/// Map a raw `onPremisesGroupType` to the static name gwb reports, when it is a known one.
fn known_type(t: &str) -> Option<&'static str> {
    [
        UNIVERSAL_DISTRIBUTION,
        UNIVERSAL_SECURITY,
        UNIVERSAL_MAIL_ENABLED_SECURITY,
    ]
    .into_iter()
    .find(|k| k.eq_ignore_ascii_case(t))
}

/// The effective writeback of a group of `kind` with configuration `wb`.
pub(crate) fn effective(kind: Kind, synced: bool, wb: &WritebackConfiguration) -> Effective {
    let not = |reason| Effective {
        written_back: false,
        written_back_as: None,
        reason,
        warning: None,
    };
    if synced {
        return not(Reason::SyncedFromOnPremises);
    }
    match kind {
        Kind::Microsoft365 => {
            let reason = match wb.is_enabled {
                Some(false) => return not(Reason::Disabled),
                Some(true) => Reason::Enabled,
                None => Reason::DefaultEnabled,
            };
            match wb.on_premises_group_type.as_deref() {
                None => Effective {
                    written_back: true,
                    written_back_as: Some(UNIVERSAL_DISTRIBUTION),
                    reason,
                    warning: None,
                },
                Some(t) => match known_type(t) {
                    Some(k) => Effective {
                        written_back: true,
                        written_back_as: Some(k),
                        reason,
                        warning: None,
                    },
                    None => Effective {
                        written_back: true,
                        written_back_as: Some(UNIVERSAL_DISTRIBUTION),
                        reason,
                        warning: Some(format!(
                            "unknown onPremisesGroupType {t:?}; the default universalDistributionGroup is assumed"
                        )),
                    },
                },
            }
        }
        Kind::Security => match wb.is_enabled {
            Some(true) => {
                let warning = match wb.on_premises_group_type.as_deref() {
                    None => None,
                    Some(t) if t.eq_ignore_ascii_case(UNIVERSAL_SECURITY) => None,
                    Some(t) => Some(format!(
                        "invalid configuration: security groups can only be written back as universalSecurityGroup, not {t:?}"
                    )),
                };
                Effective {
                    written_back: true,
                    written_back_as: Some(UNIVERSAL_SECURITY),
                    reason: Reason::Enabled,
                    warning,
                }
            }
            Some(false) => not(Reason::Disabled),
            None => not(Reason::DefaultDisabled),
        },
        Kind::MailEnabledSecurity | Kind::Distribution => not(Reason::Unsupported),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn group(types: &[&str], sec: Option<bool>, mail: Option<bool>, proxies: &[&str]) -> Group {
        Group {
            id: "g".into(),
            display_name: None,
            unified: types.iter().any(|t| t.eq_ignore_ascii_case("Unified")),
            security_enabled: sec,
            mail_enabled: mail,
            on_premises_sync_enabled: None,
            on_premises_security_identifier: None,
            is_assignable_to_role: None,
            has_proxy_addresses: !proxies.is_empty(),
            created_date_time: None,
            writeback_configuration: Some(None),
            plain: Default::default(),
        }
    }

    fn wb(en: Option<bool>, t: Option<&str>) -> WritebackConfiguration {
        WritebackConfiguration {
            is_enabled: en,
            on_premises_group_type: t.map(Into::into),
        }
    }

    #[test]
    fn classification_table() {
        let smtp = ["SMTP:a@contoso.com"];
        assert_eq!(
            classify(&group(&["Unified"], Some(false), Some(true), &smtp)),
            Kind::Microsoft365
        );
        // Unified wins even when also security-enabled; casing of the tag does not matter.
        assert_eq!(
            classify(&group(
                &["unified", "DynamicMembership"],
                Some(true),
                Some(true),
                &[]
            )),
            Kind::Microsoft365
        );
        assert_eq!(
            classify(&group(&[], Some(true), Some(false), &[])),
            Kind::Security
        );
        assert_eq!(
            classify(&group(&["DynamicMembership"], Some(true), None, &[])),
            Kind::Security
        );
        assert_eq!(
            classify(&group(&[], Some(true), Some(true), &smtp)),
            Kind::MailEnabledSecurity
        );
        // mailEnabled false but proxy addresses present: still mail-enabled security.
        assert_eq!(
            classify(&group(&[], Some(true), Some(false), &smtp)),
            Kind::MailEnabledSecurity
        );
        assert_eq!(
            classify(&group(&[], Some(false), Some(true), &smtp)),
            Kind::Distribution
        );
        assert_eq!(classify(&group(&[], None, None, &[])), Kind::Distribution);
    }

    #[test]
    fn m365_effective_table() {
        let k = Kind::Microsoft365;
        for (en, reason) in [
            (Some(true), Reason::Enabled),
            (None, Reason::DefaultEnabled),
        ] {
            let e = effective(k, false, &wb(en, None));
            assert!(e.written_back);
            assert_eq!(e.written_back_as, Some(UNIVERSAL_DISTRIBUTION));
            assert_eq!(e.reason, reason);
            for t in [
                UNIVERSAL_DISTRIBUTION,
                UNIVERSAL_SECURITY,
                UNIVERSAL_MAIL_ENABLED_SECURITY,
            ] {
                let e = effective(k, false, &wb(en, Some(t)));
                assert_eq!(
                    (e.written_back, e.written_back_as, e.warning),
                    (true, Some(t), None)
                );
            }
        }
        for t in [None, Some(UNIVERSAL_SECURITY)] {
            let e = effective(k, false, &wb(Some(false), t));
            assert_eq!(
                (e.written_back, e.written_back_as, e.reason),
                (false, None, Reason::Disabled)
            );
        }
        let odd = effective(k, false, &wb(Some(true), Some("globalGroup")));
        assert!(odd.written_back && odd.warning.is_some());
    }

    #[test]
    fn security_effective_table() {
        let k = Kind::Security;
        let e = effective(k, false, &wb(Some(true), None));
        assert_eq!(
            (e.written_back, e.written_back_as, e.reason),
            (true, Some(UNIVERSAL_SECURITY), Reason::Enabled)
        );
        assert!(e.warning.is_none());
        let e = effective(k, false, &wb(Some(true), Some(UNIVERSAL_SECURITY)));
        assert!(e.written_back && e.warning.is_none());
        for bad in [UNIVERSAL_DISTRIBUTION, UNIVERSAL_MAIL_ENABLED_SECURITY] {
            let e = effective(k, false, &wb(Some(true), Some(bad)));
            assert_eq!(e.written_back_as, Some(UNIVERSAL_SECURITY));
            assert!(
                e.warning
                    .as_deref()
                    .unwrap()
                    .contains("invalid configuration")
            );
        }
        let e = effective(k, false, &wb(Some(false), Some(UNIVERSAL_SECURITY)));
        assert_eq!((e.written_back, e.reason), (false, Reason::Disabled));
        // null means NOT written back for security groups (unlike Microsoft 365 groups).
        let e = effective(k, false, &wb(None, None));
        assert_eq!((e.written_back, e.reason), (false, Reason::DefaultDisabled));
    }

    #[test]
    fn unsupported_kinds_and_synced_groups_never_written_back() {
        for k in [Kind::MailEnabledSecurity, Kind::Distribution] {
            for en in [Some(true), Some(false), None] {
                let e = effective(k, false, &wb(en, Some(UNIVERSAL_SECURITY)));
                assert_eq!((e.written_back, e.reason), (false, Reason::Unsupported));
            }
        }
        for k in Kind::ALL {
            for en in [Some(true), Some(false), None] {
                let e = effective(k, true, &wb(en, None));
                assert_eq!(
                    (e.written_back, e.written_back_as, e.reason),
                    (false, None, Reason::SyncedFromOnPremises)
                );
            }
        }
    }
}
