//! The emulator's tenant: groups and directory settings, generated deterministically from a
//! seed and a size, with every kind and writeback state of group GRAPH.md describes.

use std::collections::HashMap;

use serde_json::{Map, Value, json};

use crate::graph::model::{
    DirectorySetting, GROUP_UNIFIED_TEMPLATE_ID, SettingTemplate, SettingTemplateValue,
    UNIVERSAL_DISTRIBUTION, UNIVERSAL_MAIL_ENABLED_SECURITY, UNIVERSAL_SECURITY,
    WritebackConfiguration,
};

/// A small, fast, well-known PRNG (splitmix64), so that a seed means the same tenant across
/// versions of any dependency.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed ^ 0x9E37_79B9_7F4A_7C15)
    }
    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in `0..n` (n > 0).
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }
    /// True with probability `p`.
    pub(crate) fn chance(&mut self, p: f64) -> bool {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64 <= p && p > 0.0
    }
    pub(crate) fn uuid(&mut self) -> String {
        let a = self.next_u64();
        let b = self.next_u64();
        format!(
            "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
            a >> 32,
            (a >> 16) & 0xffff,
            a & 0xfff,
            ((b >> 48) & 0x3fff) | 0x8000,
            b & 0xffff_ffff_ffff
        )
    }
}

/// A group as the emulator stores it.
#[derive(Debug, Clone, PartialEq)]
pub struct EmuGroup {
    pub id: String,
    pub display_name: String,
    pub description: Option<String>,
    pub group_types: Vec<String>,
    pub security_enabled: bool,
    pub mail_enabled: bool,
    pub mail_nickname: String,
    pub mail: Option<String>,
    pub on_premises_sync_enabled: Option<bool>,
    /// The AD group's SID: groups from AD have one, and keep it when their source of authority
    /// moves to the cloud.
    pub on_premises_security_identifier: Option<String>,
    /// `onPremisesSyncBehavior.isCloudManaged`: the source of authority was moved to the cloud
    /// (then `on_premises_sync_enabled` is null, as Microsoft's table of attributes after the
    /// switch says). `None` reads as false.
    pub cloud_managed: Option<bool>,
    pub is_assignable_to_role: Option<bool>,
    pub proxy_addresses: Vec<String>,
    pub created_date_time: String,
    pub writeback: WritebackConfiguration,
    pub member_count: u64,
    /// Graph's read-after-write lag: while it lasts, reads still show this older state.
    pub stale: Option<(WritebackConfiguration, Lag)>,
}

/// How long a write stays invisible to reads.
#[derive(Debug, Clone, PartialEq)]
pub enum Lag {
    /// Until this instant (wall clock).
    Until(std::time::Instant),
    /// For this many more reads of the group (by id or in a listing): the same whatever the
    /// machine's speed, so tests that use it cannot race.
    Reads(std::cell::Cell<u32>),
}

/// Every property the emulator knows on a group (unknown `$select` names are a 400, as in Graph).
pub(crate) const GROUP_PROPERTIES: &[&str] = &[
    "id",
    "displayName",
    "description",
    "groupTypes",
    "securityEnabled",
    "mailEnabled",
    "mailNickname",
    "mail",
    "onPremisesSyncEnabled",
    "onPremisesSecurityIdentifier",
    "isAssignableToRole",
    "proxyAddresses",
    "createdDateTime",
    "visibility",
    "renewedDateTime",
    "expirationDateTime",
    "resourceProvisioningOptions",
    "writebackConfiguration",
];

/// The properties returned without `$select`. Real beta returns `writebackConfiguration` among
/// a group's default properties (GRAPH.md section 1); v1.0 has no such property at all, which
/// is why gwb always selects it.
pub(crate) const DEFAULT_PROPERTIES: &[&str] = &[
    "id",
    "displayName",
    "description",
    "groupTypes",
    "securityEnabled",
    "mailEnabled",
    "mailNickname",
    "mail",
    "onPremisesSyncEnabled",
    "isAssignableToRole",
    "proxyAddresses",
    "createdDateTime",
    "visibility",
    "writebackConfiguration",
];

impl EmuGroup {
    /// The writeback configuration a read sees now (an older one while a write is lagging).
    /// Each call is one read (it counts against a [`Lag::Reads`]).
    pub(crate) fn visible_writeback(&self) -> &WritebackConfiguration {
        match &self.stale {
            Some((old, Lag::Until(until))) if std::time::Instant::now() < *until => old,
            Some((old, Lag::Reads(left))) if left.get() > 0 => {
                left.set(left.get() - 1);
                old
            }
            _ => &self.writeback,
        }
    }

    /// What a read would see now, without counting as one.
    pub(crate) fn peek_writeback(&self) -> &WritebackConfiguration {
        match &self.stale {
            Some((old, Lag::Until(until))) if std::time::Instant::now() < *until => old,
            Some((old, Lag::Reads(left))) if left.get() > 0 => old,
            _ => &self.writeback,
        }
    }

    pub fn is_unified(&self) -> bool {
        self.group_types.iter().any(|t| t == "Unified")
    }

    /// Graph: when the group was last renewed; a Microsoft 365 group never renewed shows its
    /// creation. Other groups: null. (`expirationDateTime` is null: the emulated tenant has no
    /// group expiration policy.)
    pub(crate) fn renewed_date_time(&self) -> Option<&str> {
        self.is_unified().then_some(self.created_date_time.as_str())
    }

    /// Graph's `resourceProvisioningOptions`: `["Team"]` for a Microsoft 365 group with a
    /// team; here every Microsoft 365 group whose id starts with a digit.
    pub(crate) fn resource_provisioning_options(&self) -> Vec<&'static str> {
        if self.is_unified() && self.id.starts_with(|c: char| c.is_ascii_digit()) {
            vec!["Team"]
        } else {
            Vec::new()
        }
    }

    /// Owners: one or two for a Microsoft 365 group, none for the others.
    pub(crate) fn owner_count(&self) -> u64 {
        if self.is_unified() {
            1 + self.member_count % 2
        } else {
            0
        }
    }

    /// The JSON object with only `select`ed properties, in Graph's shape.
    /// Append this group as JSON with the `select`ed properties to `out`: the same object as
    /// [`EmuGroup::to_json`], written directly (list pages are the emulator's hot path, and the
    /// benchmarks need the server's share of a round trip to be small).
    pub(crate) fn write_json(&self, select: &[&str], out: &mut Vec<u8>) {
        fn put<T: serde::Serialize + ?Sized>(out: &mut Vec<u8>, v: &T) {
            serde_json::to_writer(&mut *out, v).expect("JSON values serialise");
        }
        out.push(b'{');
        let mut first = true;
        for &p in select {
            if !matches!(
                p,
                "id" | "displayName"
                    | "description"
                    | "groupTypes"
                    | "securityEnabled"
                    | "mailEnabled"
                    | "mailNickname"
                    | "mail"
                    | "onPremisesSyncEnabled"
                    | "onPremisesSecurityIdentifier"
                    | "isAssignableToRole"
                    | "proxyAddresses"
                    | "createdDateTime"
                    | "visibility"
                    | "renewedDateTime"
                    | "expirationDateTime"
                    | "resourceProvisioningOptions"
                    | "writebackConfiguration"
            ) {
                continue;
            }
            if !first {
                out.push(b',');
            }
            first = false;
            put(out, p);
            out.push(b':');
            match p {
                "id" => put(out, &self.id),
                "displayName" => put(out, &self.display_name),
                "description" => put(out, &self.description),
                "groupTypes" => put(out, &self.group_types),
                "securityEnabled" => put(out, &self.security_enabled),
                "mailEnabled" => put(out, &self.mail_enabled),
                "mailNickname" => put(out, &self.mail_nickname),
                "mail" => put(out, &self.mail),
                "onPremisesSyncEnabled" => put(out, &self.on_premises_sync_enabled),
                "onPremisesSecurityIdentifier" => put(out, &self.on_premises_security_identifier),
                "isAssignableToRole" => put(out, &self.is_assignable_to_role),
                "proxyAddresses" => put(out, &self.proxy_addresses),
                "createdDateTime" => put(out, &self.created_date_time),
                "visibility" => put(out, &self.is_unified().then_some("Private")),
                "renewedDateTime" => put(out, &self.renewed_date_time()),
                "expirationDateTime" => put(out, &None::<String>),
                "resourceProvisioningOptions" => put(out, &self.resource_provisioning_options()),
                _ => {
                    let wb = self.visible_writeback();
                    out.extend_from_slice(b"{\"isEnabled\":");
                    put(out, &wb.is_enabled);
                    out.extend_from_slice(b",\"onPremisesGroupType\":");
                    put(out, &wb.on_premises_group_type);
                    out.push(b'}');
                }
            }
        }
        out.push(b'}');
    }

    pub fn to_json(&self, select: &[&str]) -> Value {
        let mut m = Map::with_capacity(select.len());
        for &p in select {
            let v = match p {
                "id" => json!(self.id),
                "displayName" => json!(self.display_name),
                "description" => json!(self.description),
                "groupTypes" => json!(self.group_types),
                "securityEnabled" => json!(self.security_enabled),
                "mailEnabled" => json!(self.mail_enabled),
                "mailNickname" => json!(self.mail_nickname),
                "mail" => json!(self.mail),
                "onPremisesSyncEnabled" => json!(self.on_premises_sync_enabled),
                "onPremisesSecurityIdentifier" => json!(self.on_premises_security_identifier),
                "isAssignableToRole" => json!(self.is_assignable_to_role),
                "proxyAddresses" => json!(self.proxy_addresses),
                "createdDateTime" => json!(self.created_date_time),
                "visibility" => json!(if self.is_unified() {
                    Some("Private")
                } else {
                    None
                }),
                "renewedDateTime" => json!(self.renewed_date_time()),
                "expirationDateTime" => Value::Null,
                "resourceProvisioningOptions" => json!(self.resource_provisioning_options()),
                "writebackConfiguration" => {
                    let wb = self.visible_writeback();
                    json!({
                        "isEnabled": wb.is_enabled,
                        "onPremisesGroupType": wb.on_premises_group_type,
                    })
                }
                _ => continue,
            };
            m.insert(p.to_string(), v);
        }
        Value::Object(m)
    }
}

/// The emulated tenant.
#[derive(Debug, Clone, Default)]
pub struct Tenant {
    pub groups: Vec<EmuGroup>,
    index: HashMap<String, usize>,
    pub settings: Vec<DirectorySetting>,
}

impl Tenant {
    pub fn new(groups: Vec<EmuGroup>, settings: Vec<DirectorySetting>) -> Self {
        let index = groups
            .iter()
            .enumerate()
            .map(|(i, g)| (g.id.clone(), i))
            .collect();
        Tenant {
            groups,
            index,
            settings,
        }
    }

    pub fn group(&self, id: &str) -> Option<&EmuGroup> {
        self.index.get(id).map(|&i| &self.groups[i])
    }

    pub fn group_mut(&mut self, id: &str) -> Option<&mut EmuGroup> {
        self.index.get(id).map(|&i| &mut self.groups[i])
    }

    /// Remove a group (tests: "deleted meanwhile").
    pub fn remove_group(&mut self, id: &str) -> Option<EmuGroup> {
        let i = self.index.remove(id)?;
        let g = self.groups.remove(i);
        self.index = self
            .groups
            .iter()
            .enumerate()
            .map(|(i, g)| (g.id.clone(), i))
            .collect();
        Some(g)
    }

    /// Generate `n` groups from `seed`: about 45% Microsoft 365, 30% security, 8% mail-enabled
    /// security, 10% distribution and 7% synced from AD, across every writeback state
    /// (true/false/null, each on-premises type, a few invalid security configurations),
    /// role-assignable groups, awkward display names (commas, quotes, non-ASCII, HTML and script
    /// meant to run in a report) and a few
    /// groups over the sync engine's member limits. No Group.Unified setting exists.
    /// The sample's groups whose source of authority moved from AD to the cloud: the first two
    /// cloud security groups (not mail-enabled) keep an AD SID and are cloud-managed; the third
    /// keeps its SID with `isCloudManaged` false (AD takes it over at its next sync). For the
    /// `--emulator` demo; tests build their own.
    pub fn with_sample_sources(mut self) -> Self {
        let picked: Vec<usize> = (0..self.groups.len())
            .filter(|&i| {
                let g = &self.groups[i];
                g.group_types.is_empty()
                    && g.security_enabled
                    && !g.mail_enabled
                    && g.on_premises_sync_enabled != Some(true)
            })
            .take(3)
            .collect();
        for (n, i) in picked.into_iter().enumerate() {
            let g = &mut self.groups[i];
            g.on_premises_security_identifier = Some(format!(
                "S-1-5-21-1004336348-1177238915-682003330-{}",
                7000 + i
            ));
            g.cloud_managed = Some(n < 2);
        }
        self
    }

    pub fn generate(n: usize, seed: u64) -> Self {
        let mut rng = Rng::new(seed);
        let groups = (0..n).map(|i| generate_group(&mut rng, i)).collect();
        Tenant::new(groups, Vec::new())
    }
}

const WORDS: &[&str] = &[
    "Finance",
    "Sales",
    "Engineering",
    "Marketing",
    "Legal",
    "Support",
    "Operations",
    "Research",
    "Design",
    "HR",
    "Facilities",
    "Security",
    "Data",
    "Platform",
    "Field",
];

fn pick_enabled(rng: &mut Rng, null_share: u64) -> Option<bool> {
    let r = rng.below(100);
    if r < null_share {
        None
    } else if r < null_share + (100 - null_share) / 2 {
        Some(true)
    } else {
        Some(false)
    }
}

// Long on purpose: one generated group, field by field, with the mix of kinds and states the
// tests and benchmarks rely on.
fn generate_group(rng: &mut Rng, i: usize) -> EmuGroup {
    let id = rng.uuid();
    let word = WORDS[rng.below(WORDS.len() as u64) as usize];
    let display_name = match i % 29 {
        3 => format!("{word}, Contractors {i:05}"),
        7 => format!("\"{word}\" Quoted {i:05}"),
        11 => format!("Équipe {word} Zürich 東京 {i:05}"),
        13 => format!("{word}, \"All\" Staff {i:05}"),
        // Names anyone who may create a group can give it: the HTML report must show them as
        // text and run nothing.
        17 if i == 17 => "<img src=x onerror=alert(1)>".into(),
        17 => format!("<img src=x onerror=alert(1)> {word} {i:05}"),
        19 if i == 19 => "</script><script>alert(1)</script>".into(),
        19 => format!("</script><script>alert(1)</script> {word} {i:05}"),
        _ => format!("{word} Team {i:05}"),
    };
    let nickname = format!("{}{:05}", word.to_lowercase(), i);
    let roll = rng.below(100);
    let year = 2015 + rng.below(12);
    let created_date_time = format!(
        "{year}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        1 + rng.below(12),
        1 + rng.below(28),
        rng.below(24),
        rng.below(60),
        rng.below(60)
    );
    let member_count = match rng.below(400) {
        0 => 60_000 + rng.below(10_000),
        1 => 260_000 + rng.below(10_000),
        _ => rng.below(500),
    };
    let smtp = |nick: &str| vec![format!("SMTP:{nick}@contoso.example")];
    let mut g = EmuGroup {
        id,
        display_name,
        description: None,
        group_types: Vec::new(),
        security_enabled: false,
        mail_enabled: false,
        mail_nickname: nickname.clone(),
        mail: None,
        on_premises_sync_enabled: None,
        on_premises_security_identifier: None,
        cloud_managed: None,
        is_assignable_to_role: None,
        proxy_addresses: Vec::new(),
        created_date_time,
        writeback: WritebackConfiguration::default(),
        stale: None,
        member_count,
    };
    match roll {
        0..=44 => {
            g.group_types = vec!["Unified".into()];
            if rng.chance(0.1) {
                g.group_types.push("DynamicMembership".into());
            }
            g.mail_enabled = true;
            g.security_enabled = rng.chance(0.2);
            g.mail = Some(format!("{nickname}@contoso.example"));
            g.proxy_addresses = smtp(&nickname);
            g.writeback.is_enabled = pick_enabled(rng, 50);
            g.writeback.on_premises_group_type = match rng.below(8) {
                0 | 1 => Some(UNIVERSAL_DISTRIBUTION.into()),
                2 => Some(UNIVERSAL_SECURITY.into()),
                3 => Some(UNIVERSAL_MAIL_ENABLED_SECURITY.into()),
                _ => None,
            };
            if rng.chance(0.03) {
                g.is_assignable_to_role = Some(true);
            }
        }
        45..=74 => {
            g.security_enabled = true;
            g.writeback.is_enabled = pick_enabled(rng, 50);
            g.writeback.on_premises_group_type = match rng.below(20) {
                0..=7 => Some(UNIVERSAL_SECURITY.into()),
                8 => Some(UNIVERSAL_DISTRIBUTION.into()), // invalid for a security group
                _ => None,
            };
            if rng.chance(0.05) {
                g.is_assignable_to_role = Some(true);
            }
        }
        75..=82 => {
            g.security_enabled = true;
            g.mail_enabled = true;
            g.mail = Some(format!("{nickname}@contoso.example"));
            g.proxy_addresses = smtp(&nickname);
            g.writeback.is_enabled = if rng.chance(0.2) { Some(true) } else { None };
        }
        83..=92 => {
            g.mail_enabled = true;
            g.mail = Some(format!("{nickname}@contoso.example"));
            g.proxy_addresses = smtp(&nickname);
        }
        _ => {
            // Mastered in on-premises AD and synced up: security or distribution.
            g.on_premises_sync_enabled = Some(true);
            // Derived from the index, not drawn: the sample's other draws stay as they were.
            g.on_premises_security_identifier = Some(format!(
                "S-1-5-21-1004336348-1177238915-682003330-{}",
                5000 + i
            ));
            g.security_enabled = rng.chance(0.7);
            g.mail_enabled = !g.security_enabled;
            if g.mail_enabled {
                g.proxy_addresses = smtp(&nickname);
            }
            g.writeback.is_enabled = if rng.chance(0.3) { Some(true) } else { None };
        }
    }
    g
}

/// The Group.Unified directory setting template with its 15 values and defaults.
pub fn group_unified_template() -> SettingTemplate {
    let v = |name: &str, ty: &str, default: &str, description: &str| SettingTemplateValue {
        name: name.into(),
        type_: Some(ty.into()),
        default_value: Some(default.into()),
        description: Some(description.into()),
    };
    SettingTemplate {
        id: GROUP_UNIFIED_TEMPLATE_ID.into(),
        display_name: Some("Group.Unified".into()),
        description: Some("Setting templates define the different settings that can be used for the associated ObjectSettings. This template defines settings that can be used for Unified Groups.".into()),
        values: vec![
            v("NewUnifiedGroupWritebackDefault", "System.Boolean", "true", "Flag indicating if new unified groups are written back to on-premises by default."),
            v("EnableMIPLabels", "System.Boolean", "false", "Flag indicating whether Microsoft Information Protection labels can be assigned to Unified Groups."),
            v("CustomBlockedWordsList", "System.String", "", "A comma-delimited list of blocked words for Unified Group displayName and mailNickName."),
            v("EnableMSStandardBlockedWords", "System.Boolean", "false", "A flag indicating whether or not to enable the Microsoft Standard list of blocked words."),
            v("ClassificationDescriptions", "System.String", "", "A comma-delimited list of structured strings describing the classification values."),
            v("DefaultClassification", "System.String", "", "The classification value to be used by default for Unified Group creation."),
            v("PrefixSuffixNamingRequirement", "System.String", "", "The format string used to enforce a consistent naming convention for Unified Groups."),
            v("AllowGuestsToBeGroupOwner", "System.Boolean", "false", "Flag indicating if guests are allowed to be owner in any Unified Group."),
            v("AllowGuestsToAccessGroups", "System.Boolean", "true", "Flag indicating if guests are allowed to access any Unified Group resources."),
            v("GuestUsageGuidelinesUrl", "System.String", "", "A link to the Group Usage Guidelines for guests."),
            v("GroupCreationAllowedGroupId", "System.Guid", "", "Guid of the security group that is always allowed to create Unified Groups."),
            v("AllowToAddGuests", "System.Boolean", "true", "Flag indicating if guests are allowed in any Unified Group."),
            v("UsageGuidelinesUrl", "System.String", "", "A link to the Group Usage Guidelines."),
            v("ClassificationList", "System.String", "", "A comma-delimited list of valid classification values that can be applied to Unified Groups."),
            v("EnableGroupCreation", "System.Boolean", "true", "Flag indicating if group creation feature is on."),
        ],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fast_list_writer_writes_what_to_json_builds() {
        let t = Tenant::generate(500, 3);
        let selects: [&[&str]; 4] = [
            GROUP_PROPERTIES,
            DEFAULT_PROPERTIES,
            &["id", "writebackConfiguration"],
            &["displayName", "id", "visibility", "proxyAddresses"],
        ];
        for g in &t.groups {
            for sel in selects {
                let mut out = Vec::new();
                g.write_json(sel, &mut out);
                let written: Value = serde_json::from_slice(&out).unwrap();
                assert_eq!(written, g.to_json(sel), "{}", String::from_utf8_lossy(&out));
            }
        }
    }

    /// The emulator's pages are Graph's shape, hostile names and all: the fast page reader reads
    /// every one of them itself (it does not hand them to serde), and as serde reads them.
    #[test]
    fn listed_pages_are_read_by_the_fast_reader_as_serde_reads_them() {
        let t = Tenant::generate(2_345, 5);
        let select: Vec<&str> = crate::graph::model::GROUP_SELECT.split(',').collect();
        for page in t.groups.chunks(999) {
            let mut text = br#"{"@odata.context":"http://x/beta/$metadata#groups","@odata.nextLink":"http://x/beta/groups?$skiptoken=a","value":["#.to_vec();
            for (i, g) in page.iter().enumerate() {
                if i > 0 {
                    text.push(b',');
                }
                g.write_json(&select, &mut text);
            }
            text.extend_from_slice(b"]}");
            let text = String::from_utf8(text).unwrap();
            assert!(text.contains("\\\""), "the page holds escaped names");
            let mut fast = Vec::new();
            assert!(crate::graph::fast::page_into(&text, &mut fast));
            let mut by_serde = Vec::new();
            crate::graph::Json::Text(&text)
                .read(crate::graph::model::PageInto(&mut by_serde))
                .unwrap();
            assert_eq!(fast, by_serde);
        }
    }

    #[test]
    fn same_seed_same_tenant_other_seed_other_tenant() {
        let a = Tenant::generate(300, 7);
        let b = Tenant::generate(300, 7);
        let c = Tenant::generate(300, 8);
        assert_eq!(a.groups, b.groups);
        assert_ne!(a.groups, c.groups);
    }

    #[test]
    fn generated_tenant_covers_every_kind_and_state() {
        let t = Tenant::generate(2_345, 1);
        let has = |f: &dyn Fn(&EmuGroup) -> bool| t.groups.iter().any(f);
        for en in [Some(true), Some(false), None] {
            assert!(has(&|g| g.is_unified() && g.writeback.is_enabled == en));
            assert!(has(&|g| !g.is_unified()
                && g.security_enabled
                && !g.mail_enabled
                && g.on_premises_sync_enabled.is_none()
                && g.writeback.is_enabled == en));
        }
        for ty in [
            UNIVERSAL_DISTRIBUTION,
            UNIVERSAL_SECURITY,
            UNIVERSAL_MAIL_ENABLED_SECURITY,
        ] {
            assert!(has(
                &|g| g.is_unified() && g.writeback.on_premises_group_type.as_deref() == Some(ty)
            ));
        }
        assert!(has(&|g| g.on_premises_sync_enabled == Some(true)));
        assert!(has(&|g| g.is_assignable_to_role == Some(true)));
        assert!(has(
            &|g| g.display_name.contains(',') && g.display_name.contains('"')
        ));
        assert!(has(&|g| !g.display_name.is_ascii()));
        assert!(has(&|g| g.member_count > 250_000));
        let ids: std::collections::HashSet<_> = t.groups.iter().map(|g| &g.id).collect();
        assert_eq!(ids.len(), t.groups.len(), "ids are unique");
    }

    #[test]
    fn template_has_the_fifteen_documented_values() {
        let t = group_unified_template();
        assert_eq!(t.values.len(), 15);
        let wb = t
            .values
            .iter()
            .find(|v| v.name == "NewUnifiedGroupWritebackDefault")
            .unwrap();
        assert_eq!(wb.default_value.as_deref(), Some("true"));
    }
}
