//! Report rows and the running summary: turning groups into what `gwb report` prints.

use std::borrow::Cow;

use serde::Serialize;

use super::{Kind, Reason, classify, effective, is_synced_from_on_premises};
use crate::graph::model::{
    Group, Plain, UNIVERSAL_DISTRIBUTION, UNIVERSAL_MAIL_ENABLED_SECURITY, UNIVERSAL_SECURITY,
};

/// One group in the report. Field names and meanings are the JSON contract in the README.
///
/// Its text is borrowed from the group it was read from (`'g`) while the row is written as
/// the listing goes; a row kept past its page is made [`ReportRow::into_owned`]. At a million
/// groups, the three strings a row owned were a tenth of `report -o ndjson`'s instructions
/// (malloc and free; issue 33).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ReportRow<'g> {
    pub id: Cow<'g, str>,
    pub display_name: Option<Cow<'g, str>>,
    pub kind: Kind,
    pub synced_from_on_premises: bool,
    /// Raw `writebackConfiguration.isEnabled` (null stays null).
    pub is_enabled: Option<bool>,
    /// Raw `writebackConfiguration.onPremisesGroupType` (null stays null), shared with the
    /// group it was read from.
    pub on_premises_group_type: Option<std::sync::Arc<str>>,
    /// Effective: is the group written back to AD?
    pub written_back: bool,
    /// Effective on-premises type, or null when not written back.
    pub written_back_as: Option<&'static str>,
    pub reason: Reason,
    pub warning: Option<String>,
    pub is_assignable_to_role: Option<bool>,
    pub created_date_time: Option<Cow<'g, str>>,
    /// Members, with `report --member-counts` for written-back groups; otherwise null.
    pub member_count: Option<u64>,
    /// Who masters the group: Entra (`cloud`), AD (`onPremises`), or, for a group that came
    /// from AD and is synced no more, `movedToCloud` (its `onPremisesSyncBehavior.isCloudManaged`
    /// is true) or `formerlySynced` (it is false, or could not be read).
    pub source_of_authority: SourceOfAuthority,
    /// `onPremisesSyncBehavior.isCloudManaged`, read for groups that came from AD and are synced
    /// no more; null for the others, or when it could not be read.
    pub is_cloud_managed: Option<bool>,
    /// In scope of a Cloud Sync group provisioning job, which may write an AD SID back to the
    /// groups it provisions: then a SID alone does not show the group came from AD.
    #[serde(skip)]
    pub cloud_sync_scope: bool,
    /// Which of its strings the page reader found with nothing to escape ([`Plain`]): the
    /// group's marks, for the NDJSON writer.
    #[serde(skip)]
    pub(crate) plain: Plain,
}

/// Who masters a group (see [`ReportRow::source_of_authority`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) enum SourceOfAuthority {
    Cloud,
    OnPremises,
    MovedToCloud,
    FormerlySynced,
    /// It has an AD SID, is not cloud-managed, and is in scope of a Cloud Sync group
    /// provisioning job, which may have written that SID back: where it came from is unknown.
    Unknown,
}

impl SourceOfAuthority {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            SourceOfAuthority::Cloud => "cloud",
            SourceOfAuthority::OnPremises => "onPremises",
            SourceOfAuthority::MovedToCloud => "movedToCloud",
            SourceOfAuthority::FormerlySynced => "formerlySynced",
            SourceOfAuthority::Unknown => "unknown",
        }
    }
}

/// A group object without `writebackConfiguration`: v1.0, or a `$select` that dropped it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "group {id} has no writebackConfiguration property: the response is not from Graph beta with the property selected (check that graph_url is the Graph root, without /v1.0)"
)]
pub struct MissingWriteback {
    pub id: String,
}

impl<'g> ReportRow<'g> {
    pub(crate) fn from_group(g: &'g Group) -> Result<Self, MissingWriteback> {
        let wb = match &g.writeback_configuration {
            Some(wb) => wb.clone().unwrap_or_default(),
            None => return Err(MissingWriteback { id: g.id.clone() }),
        };
        let kind = classify(g);
        let synced = is_synced_from_on_premises(g);
        let eff = effective(kind, synced, &wb);
        Ok(ReportRow {
            id: Cow::Borrowed(&g.id),
            display_name: g.display_name.as_deref().map(Cow::Borrowed),
            kind,
            synced_from_on_premises: synced,
            is_enabled: wb.is_enabled,
            on_premises_group_type: wb.on_premises_group_type,
            written_back: eff.written_back,
            written_back_as: eff.written_back_as,
            reason: eff.reason,
            warning: eff.warning,
            is_assignable_to_role: g.is_assignable_to_role,
            created_date_time: g.created_date_time.as_deref().map(Cow::Borrowed),
            member_count: None,
            // A group from AD keeps its SID when its source of authority moves to the cloud,
            // and its onPremisesSyncEnabled becomes null: such a group is no cloud group.
            source_of_authority: if synced {
                SourceOfAuthority::OnPremises
            } else if g.on_premises_security_identifier.is_some() {
                SourceOfAuthority::FormerlySynced
            } else {
                SourceOfAuthority::Cloud
            },
            is_cloud_managed: None,
            cloud_sync_scope: false,
            plain: g.plain,
        })
    }

    /// The row with its own copy of the group's text, to keep past the group's page.
    pub(crate) fn into_owned(self) -> ReportRow<'static> {
        let own = |s: Cow<'_, str>| Cow::Owned(s.into_owned());
        ReportRow {
            id: own(self.id),
            display_name: self.display_name.map(own),
            created_date_time: self.created_date_time.map(own),
            ..self
        }
    }

    /// Whether its `isCloudManaged` is worth reading: it came from AD and is synced no more.
    pub(crate) fn came_from_ad(&self) -> bool {
        self.source_of_authority == SourceOfAuthority::FormerlySynced
    }

    /// Record what `onPremisesSyncBehavior` says.
    pub(crate) fn set_cloud_managed(&mut self, managed: bool) {
        self.is_cloud_managed = Some(managed);
        if managed {
            self.source_of_authority = SourceOfAuthority::MovedToCloud;
        }
    }

    /// Once `isCloudManaged` was read (or could not be): a group not cloud-managed whose SID
    /// Cloud Sync may have written back is not called ex-AD. Cloud Sync writes the SID back for
    /// users it provisions (for groups it is undocumented, GRAPH.md section 6), so gwb says
    /// "unknown", and why.
    pub(crate) fn settle_source(&mut self) {
        if self.source_of_authority == SourceOfAuthority::FormerlySynced && self.cloud_sync_scope {
            self.source_of_authority = SourceOfAuthority::Unknown;
            self.add_warning(
                "has an on-premises SID but is not cloud-managed, and is in scope of a Cloud Sync group provisioning job, which may have written that SID back: whether it came from AD is unknown".into(),
            );
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct KindCounts {
    pub total: u64,
    pub written_back: u64,
    pub synced_from_on_premises: u64,
}

/// Counts over every group read (filters choose the rows shown, not what is counted).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Summary {
    pub total_groups: u64,
    pub shown_groups: u64,
    pub written_back: u64,
    pub by_kind: ByKind,
    pub written_back_as: ByType,
    pub warnings: u64,
    /// With `--member-counts`: written-back groups the default sync rule skips for size.
    pub over_member_limit: u64,
    /// Groups from AD whose source of authority was moved to the cloud (`isCloudManaged`).
    pub moved_to_cloud: u64,
    /// Groups from AD synced no more, whose `isCloudManaged` is false or could not be read.
    pub formerly_synced: u64,
    /// Why `isCloudManaged` could not be read, when it could not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_cloud_managed_error: Option<String>,
}

/// Counts by kind: every kind, in `Kind`'s order, a map in JSON. An array, not a map: the
/// summary counts every row twice (all, shown), and a map's search was 3% of a million-group
/// report's CPU (perf, issue 33).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ByKind([KindCounts; Kind::ALL.len()]);

impl ByKind {
    pub(crate) fn get(&self, k: &Kind) -> Option<&KindCounts> {
        self.0.get(*k as usize)
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = (&Kind, &KindCounts)> {
        self.into_iter()
    }
}

impl std::ops::Index<&Kind> for ByKind {
    type Output = KindCounts;
    fn index(&self, k: &Kind) -> &KindCounts {
        &self.0[*k as usize]
    }
}

impl<'a> IntoIterator for &'a ByKind {
    type Item = (&'a Kind, &'a KindCounts);
    type IntoIter = std::iter::Zip<std::slice::Iter<'a, Kind>, std::slice::Iter<'a, KindCounts>>;
    fn into_iter(self) -> Self::IntoIter {
        Kind::ALL.iter().zip(&self.0)
    }
}

impl Serialize for ByKind {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.iter())
    }
}

/// Written-back groups by the AD type they are written as: the three types, in the order of
/// their names (as a map of them was), a map in JSON.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ByType([u64; TYPES.len()]);

const TYPES: [&str; 3] = [
    UNIVERSAL_DISTRIBUTION,
    UNIVERSAL_MAIL_ENABLED_SECURITY,
    UNIVERSAL_SECURITY,
];

impl ByType {
    /// Where `t` is counted: one of the three types, the only ones [`effective`] gives
    /// (`writeback::properties` checks that every effective state names one of them or none).
    fn slot(t: &str) -> usize {
        let i = TYPES.iter().position(|k| *k == t);
        i.unwrap_or_else(|| unreachable!("effective() gave {t:?}, not one of {TYPES:?}"))
    }

    /// Count a group written back as `t`.
    fn add(&mut self, t: &str) {
        self.0[Self::slot(t)] += 1;
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = (&&'static str, &u64)> {
        TYPES.iter().zip(&self.0)
    }
}

impl std::ops::Index<&str> for ByType {
    type Output = u64;
    fn index(&self, t: &str) -> &u64 {
        &self.0[Self::slot(t)]
    }
}

impl Serialize for ByType {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.iter())
    }
}

impl Summary {
    pub(crate) fn add(&mut self, row: &ReportRow, shown: bool) {
        self.total_groups += 1;
        self.shown_groups += u64::from(shown);
        let k = &mut self.by_kind.0[row.kind as usize];
        k.total += 1;
        k.synced_from_on_premises += u64::from(row.synced_from_on_premises);
        if row.written_back {
            k.written_back += 1;
            self.written_back += 1;
            if let Some(t) = row.written_back_as {
                self.written_back_as.add(t);
            }
        }
        self.warnings += u64::from(row.warning.is_some());
    }

    /// Count a group from AD once its `isCloudManaged` was read (or could not be).
    pub(crate) fn add_source(&mut self, row: &ReportRow) {
        match row.source_of_authority {
            SourceOfAuthority::MovedToCloud => self.moved_to_cloud += 1,
            SourceOfAuthority::FormerlySynced => self.formerly_synced += 1,
            _ => {}
        }
    }
}

/// The sync engine's default rules skip groups larger than this (GRAPH.md, section 1).
pub(crate) fn member_limit(kind: Kind) -> Option<u64> {
    match kind {
        Kind::Microsoft365 => Some(50_000),
        Kind::Security => Some(250_000),
        _ => None,
    }
}

impl ReportRow<'_> {
    /// Record the member count; a written-back group over its kind's limit gets a warning.
    /// Returns true when it is over.
    pub(crate) fn set_member_count(&mut self, count: u64) -> bool {
        self.member_count = Some(count);
        let over = self.written_back && member_limit(self.kind).is_some_and(|l| count > l);
        if over {
            let limit = member_limit(self.kind).unwrap_or_default();
            self.add_warning(format!(
                "{count} members, over the {limit} the default sync rule writes back for {} groups: not written back unless the rule is changed",
                self.kind.as_str()
            ));
        }
        over
    }

    pub(crate) fn add_warning(&mut self, w: String) {
        self.warning = Some(match self.warning.take() {
            Some(prev) => format!("{prev}; {w}"),
            None => w,
        });
    }
}

/// The caveats every report states: what Graph's data cannot tell.
pub(crate) fn caveats() -> Vec<&'static str> {
    vec![
        "Entra Connect's default sync rule skips Microsoft 365 groups over 50,000 members and security groups over 250,000: a group shown as written back may still be absent from AD.",
        "Writeback v2 of security groups in Entra Connect Sync was retired on 30 June 2024; Cloud Sync's Group Provision to AD reads a group's writeback flag only when its scoping filter uses it (isWritebackEnabled). Writeback v1 of Microsoft 365 groups still runs.",
        "Disabling writeback does not delete the AD copy unless the custom 'delete when out of scope' sync rule exists.",
        "isEnabled null means written back for Microsoft 365 groups (writeback v1 compatibility) and not written back for security groups.",
        "isEnabled false on a Microsoft 365 group is honoured only while Entra Connect's group writeback v2 (GroupWritebackV2) runs: with v1 alone every Microsoft 365 group is written back whatever its flag. Where Entra Connect's sync features are readable, such rows say so (reason v1WritesAll); otherwise which version runs is unknown to gwb.",
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::model::WritebackConfiguration;

    fn g(id: &str, unified: bool, wb: Option<Option<WritebackConfiguration>>) -> Group {
        Group {
            id: id.into(),
            display_name: Some(format!("name {id}")),
            unified,
            security_enabled: Some(!unified),
            mail_enabled: Some(unified),
            on_premises_sync_enabled: None,
            on_premises_security_identifier: None,
            is_assignable_to_role: None,
            has_proxy_addresses: false,
            created_date_time: None,
            writeback_configuration: wb,
            plain: Default::default(),
        }
    }

    #[test]
    fn rows_keep_raw_values_and_effective_state() {
        let group = g("a", true, Some(None));
        let r = ReportRow::from_group(&group).unwrap();
        assert_eq!(
            (r.is_enabled, r.on_premises_group_type.clone()),
            (None, None)
        );
        assert!(r.written_back);
        assert_eq!(r.written_back_as, Some(UNIVERSAL_DISTRIBUTION));
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(json["isEnabled"], serde_json::Value::Null);
        assert_eq!(json["kind"], "microsoft365");
        assert_eq!(json["writtenBackAs"], "universalDistributionGroup");
        assert_eq!(json["reason"], "defaultEnabled");
    }

    #[test]
    fn missing_property_is_an_error_naming_the_group() {
        let e = ReportRow::from_group(&g("v1-shaped", true, None)).unwrap_err();
        assert_eq!(e.id, "v1-shaped");
        assert!(e.to_string().contains("writebackConfiguration"));
    }

    #[test]
    fn summary_counts_every_group_and_each_kind() {
        let mut s = Summary::default();
        let groups = [
            g("a", true, Some(None)),
            g("b", false, Some(None)),
            g(
                "c",
                false,
                Some(Some(WritebackConfiguration {
                    is_enabled: Some(true),
                    on_premises_group_type: None,
                })),
            ),
        ];
        let rows = groups.each_ref().map(|g| ReportRow::from_group(g).unwrap());
        for (i, r) in rows.iter().enumerate() {
            s.add(r, i != 1);
        }
        assert_eq!((s.total_groups, s.shown_groups, s.written_back), (3, 2, 2));
        assert_eq!(s.by_kind[&Kind::Security].total, 2);
        assert_eq!(s.by_kind[&Kind::Security].written_back, 1);
        assert_eq!(s.by_kind[&Kind::Distribution].total, 0);
        assert_eq!(s.written_back_as[UNIVERSAL_SECURITY], 1);
        assert_eq!(s.written_back_as[UNIVERSAL_DISTRIBUTION], 1);
        let json = serde_json::to_value(&s).unwrap();
        assert_eq!(json["byKind"]["microsoft365"]["writtenBack"], 1);
    }

    /// The counts are arrays, written as the maps they were: every kind and every type, in
    /// the order of their keys.
    #[test]
    fn counts_are_written_as_maps_in_the_order_of_their_keys() {
        for (i, k) in Kind::ALL.iter().enumerate() {
            assert_eq!(*k as usize, i, "Kind::ALL is in Kind's order");
        }
        let mut s = Summary::default();
        s.by_kind.0[Kind::Distribution as usize].total = 4;
        s.written_back_as.add(UNIVERSAL_SECURITY);
        s.written_back_as.add(UNIVERSAL_SECURITY);
        s.written_back_as.add(UNIVERSAL_MAIL_ENABLED_SECURITY);
        let by_kind: std::collections::BTreeMap<Kind, KindCounts> =
            s.by_kind.iter().map(|(k, c)| (*k, c.clone())).collect();
        let by_type: std::collections::BTreeMap<&str, u64> =
            s.written_back_as.iter().map(|(t, n)| (*t, *n)).collect();
        assert_eq!(
            serde_json::to_string(&s.by_kind).unwrap(),
            serde_json::to_string(&by_kind).unwrap()
        );
        assert_eq!(
            serde_json::to_string(&s.written_back_as).unwrap(),
            serde_json::to_string(&by_type).unwrap()
        );
        assert_eq!(by_kind.len(), 4);
        assert_eq!(by_type[UNIVERSAL_SECURITY], 2);
        assert_eq!(s.written_back_as[UNIVERSAL_MAIL_ENABLED_SECURITY], 1);
        assert_eq!(s.by_kind[&Kind::Distribution].total, 4);
    }
}
