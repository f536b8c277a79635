//! Serde types for the Graph beta resources gwb reads and writes.
//!
//! Shared by the client, the pure core and the emulator, so the emulator serves exactly what
//! the client parses.

use serde::{Deserialize, Deserializer, Serialize};

/// What gwb reads of every group, as a literal for `concat!`.
macro_rules! group_select {
    () => {
        "id,displayName,groupTypes,securityEnabled,mailEnabled,onPremisesSyncEnabled,onPremisesSecurityIdentifier,isAssignableToRole,proxyAddresses,createdDateTime,writebackConfiguration"
    };
}

/// The `$select` gwb sends when listing groups: everything the pure core needs, nothing more.
pub const GROUP_SELECT: &str = group_select!();

/// [`GROUP_SELECT`] and what an admin reviews before disabling a group's writeback: its mail
/// address, visibility, renewal and expiry, and whether it is a Team (`resourceProvisioningOptions`).
pub const REVIEW_SELECT: &str = concat!(
    group_select!(),
    ",mail,visibility,renewedDateTime,expirationDateTime,resourceProvisioningOptions"
);

/// The Group.Unified directory setting template.
pub const GROUP_UNIFIED_TEMPLATE_ID: &str = "62375ab9-6b52-47ed-826b-58e47e0e304b";
pub(crate) const NEW_UNIFIED_GROUP_WRITEBACK_DEFAULT: &str = "NewUnifiedGroupWritebackDefault";

pub(crate) const UNIVERSAL_DISTRIBUTION: &str = "universalDistributionGroup";
pub(crate) const UNIVERSAL_SECURITY: &str = "universalSecurityGroup";
pub(crate) const UNIVERSAL_MAIL_ENABLED_SECURITY: &str = "universalMailEnabledSecurityGroup";

/// A group's id, checked once to be a GUID. Only a `GroupId` goes into a URL (see
/// `graph::groups`): Graph's own listing, a plan file or a journal may hold anything, and an id
/// like `x/../../users` must never become a request path.
///
/// Two ids are the same group whatever their case (a GUID's hex digits name one number), so a
/// `GroupId` compares and hashes by its 128 bits, and shows the text it was given.
#[derive(Debug, Clone)]
pub struct GroupId(String);

impl GroupId {
    /// The id, when `s` is a GUID (`8-4-4-4-12` hex digits, any case).
    pub fn parse(s: &str) -> Option<GroupId> {
        is_guid(s).then(|| GroupId(s.to_string()))
    }

    /// The id in lowercase, when `s` is a GUID: for ids people type (`--exclude`, an exclude
    /// file), shown back as Graph writes them.
    pub fn parse_lowercase(s: &str) -> Option<GroupId> {
        is_guid(s).then(|| GroupId(s.to_ascii_lowercase()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The GUID's 128 bits.
    fn bits(&self) -> u128 {
        guid_bits(&self.0).expect("a GroupId is a GUID")
    }

    /// True when `s` names this group (any case).
    pub fn is(&self, s: &str) -> bool {
        self.0.eq_ignore_ascii_case(s)
    }
}

impl PartialEq for GroupId {
    fn eq(&self, other: &GroupId) -> bool {
        self.0.eq_ignore_ascii_case(&other.0)
    }
}

impl Eq for GroupId {}

impl PartialEq<str> for GroupId {
    fn eq(&self, other: &str) -> bool {
        self.is(other)
    }
}

impl PartialEq<&str> for GroupId {
    fn eq(&self, other: &&str) -> bool {
        self.is(other)
    }
}

/// Tests name groups by literal GUIDs.
#[cfg(test)]
impl From<&str> for GroupId {
    fn from(s: &str) -> GroupId {
        GroupId::parse(s).expect("a test's group id is a GUID")
    }
}

#[cfg(test)]
impl From<String> for GroupId {
    fn from(s: String) -> GroupId {
        GroupId::from(s.as_str())
    }
}

impl std::hash::Hash for GroupId {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.bits().hash(state);
    }
}

impl Serialize for GroupId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

/// Read from a file gwb or a person wrote (a plan, a journal, a config): anything but a GUID is
/// refused there, by the reader that knows the file and line, before it can reach a request.
impl<'de> Deserialize<'de> for GroupId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<GroupId, D::Error> {
        let s = String::deserialize(d)?;
        GroupId::parse(&s)
            .ok_or_else(|| serde::de::Error::custom(format!("{s:?} is not a group id (a GUID)")))
    }
}

impl std::fmt::Display for GroupId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A directory setting's id, checked once to be a GUID: only a `SettingId` goes into a
/// `settings/{id}` URL, whatever a journal or an answer held.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingId(String);

impl SettingId {
    /// The id, when `s` is a GUID.
    pub fn parse(s: &str) -> Option<SettingId> {
        is_guid(s).then(|| SettingId(s.to_string()))
    }
}

impl std::fmt::Display for SettingId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A GUID's 128 bits (any case), or `None` for anything else; no allocation (it runs once per
/// group listed, for the listing's duplicate check: a million times on a large tenant).
pub(crate) fn guid_bits(id: &str) -> Option<u128> {
    let b: &[u8; 36] = id.as_bytes().try_into().ok()?;
    if [b[8], b[13], b[18], b[23]] != [b'-'; 4] {
        return None;
    }
    // The 32 digits, eight at a time: one table lookup a digit, each waiting on the last, was
    // 4% of a million-group report's CPU (perf, issue 33).
    let mut digits = [0u8; 32];
    digits[..8].copy_from_slice(&b[..8]);
    digits[8..12].copy_from_slice(&b[9..13]);
    digits[12..16].copy_from_slice(&b[14..18]);
    digits[16..20].copy_from_slice(&b[19..23]);
    digits[20..].copy_from_slice(&b[24..]);
    let mut v: u128 = 0;
    for word in digits.chunks_exact(8) {
        let word = u64::from_le_bytes(word.try_into().ok()?);
        v = (v << 32) | u128::from(hex8(word)?);
    }
    Some(v)
}

/// Eight ASCII hex digits (any case; the first in the lowest byte) as a number, or `None` when
/// any byte is not one. Every byte is tested and converted at once: with all bytes below 0x80,
/// adding to each byte never carries into the next, so a byte's high bit says how it compares.
fn hex8(x: u64) -> Option<u32> {
    // Its own constants, as fast.rs's: fast.rs reads into this module's types, so this module
    // does not import from it.
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    if x & HIGHS != 0 {
        return None;
    }
    let at_least = |v: u64, m: u8| v.wrapping_add(u64::from(0x80 - m) * ONES) & HIGHS;
    let at_most = |v: u64, n: u8| !v.wrapping_add(u64::from(0x7f - n) * ONES) & HIGHS;
    // Lower case: 'A'..='F' become 'a'..='f'. Digits are tested on the bytes as they are (a
    // control byte 0x10..0x19 would become a digit).
    let lower = x | (0x20 * ONES);
    let digit = at_least(x, b'0') & at_most(x, b'9');
    let letter = at_least(lower, b'a') & at_most(lower, b'f');
    if digit | letter != HIGHS {
        return None;
    }
    // Each byte's value: its low four bits, plus 9 for a letter ('a' and 'A' end in 1).
    let nibbles = (x & (0x0f * ONES)) + (letter >> 7) * 9;
    // Pairs of nibbles into bytes, pairs of bytes into 16 bits, then 32: first digit highest.
    let bytes = ((nibbles << 4) | (nibbles >> 8)) & 0x00ff_00ff_00ff_00ff;
    let halves = ((bytes << 8) | (bytes >> 16)) & 0x0000_ffff_0000_ffff;
    Some(((halves << 16) | (halves >> 32)) as u32)
}

/// The one GUID check.
pub(crate) fn is_guid(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

/// A group as listed with [`GROUP_SELECT`].
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Group {
    pub id: String,
    #[serde(default)]
    pub display_name: Option<String>,
    /// `groupTypes` holds "Unified" (in any case): a Microsoft 365 group. The only thing gwb
    /// reads of the array, so the array is not kept: at a million groups its strings were
    /// two allocations a group (BENCHMARKS.md, issue 33).
    #[serde(rename = "groupTypes", default, deserialize_with = "holds_unified")]
    pub unified: bool,
    #[serde(default)]
    pub security_enabled: Option<bool>,
    #[serde(default)]
    pub mail_enabled: Option<bool>,
    #[serde(default)]
    pub on_premises_sync_enabled: Option<bool>,
    /// The AD group's SID: set on every group that came from AD, and kept when its source of
    /// authority moves to the cloud (Cloud Sync matches the AD group by it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_premises_security_identifier: Option<String>,
    #[serde(default)]
    pub is_assignable_to_role: Option<bool>,
    /// `proxyAddresses` is not empty (null reads as empty): all gwb reads of it.
    #[serde(rename = "proxyAddresses", default, deserialize_with = "not_empty")]
    pub has_proxy_addresses: bool,
    #[serde(default)]
    pub created_date_time: Option<String>,
    /// Outer `None`: the property was absent (v1.0, or a `$select` that dropped it): an error
    /// for gwb, never "not set". `Some(None)`: present and null.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub writeback_configuration: Option<Option<WritebackConfiguration>>,
    /// Which of its strings hold nothing JSON escapes, as the page reader found them.
    #[serde(skip)]
    pub(crate) plain: Plain,
}

/// Which of a group's strings hold nothing that JSON escapes (a control character, `"` or
/// `\\`), a bit each: the page reader ([`super::fast`]) marks each string it found so on the
/// page, and the NDJSON writer copies a marked string without looking through it again (that
/// second look was 5% of `report -o ndjson`'s instructions: callgrind at 100,000 groups,
/// 513.7 M -> 488.7 M, issue 33). Serde marks nothing, and an unmarked string is looked
/// through as before. The marks are not part of the group's value: groups read both ways
/// compare equal.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Plain(u8);

impl Plain {
    pub(crate) const ID: u8 = 1;
    pub(crate) const DISPLAY_NAME: u8 = 2;
    pub(crate) const CREATED: u8 = 4;

    pub(crate) fn has(self, field: u8) -> bool {
        self.0 & field != 0
    }

    pub(crate) fn mark(&mut self, field: u8, plain: bool) {
        if plain {
            self.0 |= field;
        }
    }
}

impl PartialEq for Plain {
    /// Always: the marks say how a group was read, not what it is.
    fn eq(&self, _: &Plain) -> bool {
        true
    }
}

/// A group as a review plan lists it ([`REVIEW_SELECT`]): what gwb reads of every group, and
/// what an admin decides by. Its own type, so the listings on the hot path (a million groups)
/// do not carry five more fields per group.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReviewedGroup {
    #[serde(flatten)]
    pub group: Group,
    #[serde(default)]
    pub mail: Option<String>,
    #[serde(default)]
    pub visibility: Option<String>,
    #[serde(default)]
    pub renewed_date_time: Option<String>,
    #[serde(default)]
    pub expiration_date_time: Option<String>,
    #[serde(default, deserialize_with = "null_as_empty")]
    pub resource_provisioning_options: Vec<String>,
}

/// What a listing of groups yields: something with a group's id, listed once.
pub(crate) trait Listed: Sized {
    fn listed_id(&self) -> &str;

    /// Read a page of these into `into` without serde, if the page is as Graph writes it;
    /// `false`: serde reads the page ([`super::fast`]).
    fn read_page(text: &str, into: &mut Vec<Self>) -> bool {
        let _ = (text, into);
        false
    }
}

impl Listed for Group {
    fn listed_id(&self) -> &str {
        &self.id
    }

    fn read_page(text: &str, into: &mut Vec<Self>) -> bool {
        super::fast::page_into(text, into)
    }
}

impl Listed for ReviewedGroup {
    fn listed_id(&self) -> &str {
        &self.group.id
    }
}

/// `writebackConfiguration` (groupWritebackConfiguration). Both fields nullable; null means
/// "not set", which the pure core interprets per group kind.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WritebackConfiguration {
    #[serde(default)]
    pub is_enabled: Option<bool>,
    /// Shared, not copied: a plan's before and after hold the same type, and a million-group
    /// plan would otherwise hold it twice per change. The three types Graph documents are
    /// read as one shared string each ([`interned_type`]).
    #[serde(default, deserialize_with = "interned_type")]
    pub on_premises_group_type: Option<std::sync::Arc<str>>,
}

/// `onPremisesGroupType`, the three documented types shared rather than allocated: a listing
/// reads one per group, a million allocations and frees on a large tenant (issue 33). Any other
/// text is kept as Graph sent it. Each thread has its own copies, so the fleet's worker threads
/// do not contend on one reference count.
fn interned_type<'de, D: Deserializer<'de>>(d: D) -> Result<Option<std::sync::Arc<str>>, D::Error> {
    struct Interned(std::sync::Arc<str>);
    impl<'de> Deserialize<'de> for Interned {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            read_str(d, "an on-premises group type", |s| Interned(intern_type(s)))
        }
    }
    Ok(Option::<Interned>::deserialize(d)?.map(|t| t.0))
}

/// `onPremisesGroupType` as [`WritebackConfiguration`] holds it: one of this thread's shared
/// copies of the three documented types, or the text as Graph sent it.
pub(crate) fn intern_type(s: &str) -> std::sync::Arc<str> {
    use std::sync::Arc;
    thread_local! {
        static KNOWN: [Arc<str>; 3] = [
            Arc::from(UNIVERSAL_DISTRIBUTION),
            Arc::from(UNIVERSAL_SECURITY),
            Arc::from(UNIVERSAL_MAIL_ENABLED_SECURITY),
        ];
    }
    let known = KNOWN.with(|k| k.iter().find(|t| &***t == s).cloned());
    known.unwrap_or_else(|| Arc::from(s))
}

/// A JSON string handed to `f` where it lies in the page (escaped text: once unescaped), so
/// that `f` copies only what it keeps. `what` names the value in the error for anything else.
fn read_str<'de, D: Deserializer<'de>, T>(
    d: D,
    what: &'static str,
    f: impl FnOnce(&str) -> T,
) -> Result<T, D::Error> {
    struct V<F>(&'static str, F);
    impl<T, F: FnOnce(&str) -> T> serde::de::Visitor<'_> for V<F> {
        type Value = T;
        fn expecting(&self, out: &mut std::fmt::Formatter) -> std::fmt::Result {
            out.write_str(self.0)
        }
        fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<T, E> {
            Ok((self.1)(s))
        }
    }
    d.deserialize_str(V(what, f))
}

impl Group {
    /// The group's writeback configuration; `None` when Graph did not return the property.
    pub(crate) fn writeback(&self) -> Option<WritebackConfiguration> {
        self.writeback_configuration
            .as_ref()
            .map(|w| w.clone().unwrap_or_default())
    }
}

/// One page of a collection. Listings read pages with [`PageInto`], which reads the same.
#[derive(Debug, Deserialize)]
pub struct Page<T> {
    pub value: Vec<T>,
    #[serde(rename = "@odata.nextLink", default)]
    pub next_link: Option<String>,
}

/// A directorySetting (`/beta/settings`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", from = "RawDirectorySetting")]
pub struct DirectorySetting {
    pub id: String,
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub template_id: Option<String>,
    pub values: Vec<SettingValue>,
    /// Graph's answer had no `values`, or `null`: the values were not read, and a write built
    /// from them would wipe every one (PATCH replaces the array). Never serialised.
    #[serde(skip_serializing, default)]
    pub values_unread: bool,
}

/// A directorySetting as Graph sends it, `values` possibly absent or null.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawDirectorySetting {
    id: String,
    #[serde(default)]
    display_name: Option<String>,
    #[serde(default)]
    template_id: Option<String>,
    #[serde(default)]
    values: Option<Vec<SettingValue>>,
}

impl From<RawDirectorySetting> for DirectorySetting {
    fn from(r: RawDirectorySetting) -> Self {
        DirectorySetting {
            id: r.id,
            display_name: r.display_name,
            template_id: r.template_id,
            values_unread: r.values.is_none(),
            values: r.values.unwrap_or_default(),
        }
    }
}

/// One `{name, value}` of a directory setting. Values are strings, also for booleans.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SettingValue {
    pub name: String,
    #[serde(default)]
    pub value: Option<String>,
}

/// A directorySettingTemplate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SettingTemplate {
    pub id: String,
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub values: Vec<SettingTemplateValue>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SettingTemplateValue {
    pub name: String,
    #[serde(rename = "type", default)]
    pub type_: Option<String>,
    #[serde(default)]
    pub default_value: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
}

fn present<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

/// A page of a collection read into a vector used again page after page (emptied first),
/// giving the page's nextLink. It reads what [`Page`] reads: `value` required, each of `value`
/// and `@odata.nextLink` at most once, every other key skipped.
///
/// A listing's consumer hands each vector back (`paging::SpareValues`): freeing one
/// page's vector of a million-group listing (about 130 KB) had glibc merge every small block
/// freed since (`malloc_consolidate`, 4.8% of `report -o ndjson`'s CPU, perf), and the groups
/// of the next page then came from malloc's slow path.
pub(crate) struct PageInto<'v, T>(pub &'v mut Vec<T>);

impl<'de, T: Deserialize<'de>> serde::de::DeserializeSeed<'de> for PageInto<'_, T> {
    type Value = Option<String>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Option<String>, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de, T: Deserialize<'de>> serde::de::Visitor<'de> for PageInto<'_, T> {
    type Value = Option<String>;
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a page of a collection (an object with value)")
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        use serde::de::Error as _;
        self.0.clear();
        let (mut values, mut link) = (false, None::<Option<String>>);
        while let Some(key) = map.next_key::<PageKey>()? {
            match key {
                PageKey::Value if values => return Err(A::Error::duplicate_field("value")),
                PageKey::Value => {
                    values = true;
                    map.next_value_seed(ValuesInto(&mut *self.0))?;
                }
                PageKey::NextLink if link.is_some() => {
                    return Err(A::Error::duplicate_field("@odata.nextLink"));
                }
                PageKey::NextLink => link = Some(map.next_value()?),
                PageKey::Other => {
                    map.next_value::<serde::de::IgnoredAny>()?;
                }
            }
        }
        if !values {
            return Err(A::Error::missing_field("value"));
        }
        Ok(link.flatten())
    }
}

/// The keys of a page that [`PageInto`] reads.
enum PageKey {
    Value,
    NextLink,
    Other,
}

impl<'de> Deserialize<'de> for PageKey {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Key;
        impl serde::de::Visitor<'_> for Key {
            type Value = PageKey;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a key")
            }
            fn visit_str<E>(self, k: &str) -> Result<PageKey, E> {
                Ok(match k {
                    "value" => PageKey::Value,
                    "@odata.nextLink" => PageKey::NextLink,
                    _ => PageKey::Other,
                })
            }
        }
        d.deserialize_identifier(Key)
    }
}

/// A page's `value` array, appended to the vector. A listing's vector grows (by doubling: a
/// JSON array does not say its length) on its first page only; the pages after it fit. A
/// collection that is not handed back (settings, a few items) allocates what it holds.
struct ValuesInto<'v, T>(&'v mut Vec<T>);

impl<'de, T: Deserialize<'de>> serde::de::DeserializeSeed<'de> for ValuesInto<'_, T> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de, T: Deserialize<'de>> serde::de::Visitor<'de> for ValuesInto<'_, T> {
    type Value = ();
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("an array of values")
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(v) = seq.next_element()? {
            self.0.push(v);
        }
        Ok(())
    }
}

fn null_as_empty<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(Option::<Vec<T>>::deserialize(d)?.unwrap_or_default())
}

/// A `groupTypes` array (or null): whether it holds "Unified", in any case. Each string is
/// looked at where it lies in the page, never copied.
fn holds_unified<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    struct IsUnified(bool);
    impl<'de> Deserialize<'de> for IsUnified {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            read_str(d, "a group type", |s| {
                IsUnified(s.eq_ignore_ascii_case("Unified"))
            })
        }
    }
    struct Types;
    impl<'de> serde::de::Visitor<'de> for Types {
        type Value = bool;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("an array of group types, or null")
        }
        fn visit_unit<E: serde::de::Error>(self) -> Result<bool, E> {
            Ok(false)
        }
        fn visit_none<E: serde::de::Error>(self) -> Result<bool, E> {
            Ok(false)
        }
        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<bool, D::Error> {
            d.deserialize_seq(self)
        }
        fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<bool, A::Error> {
            let mut unified = false;
            while let Some(IsUnified(u)) = seq.next_element()? {
                unified |= u;
            }
            Ok(unified)
        }
    }
    d.deserialize_option(Types)
}

/// An array (or null): whether it has any element. The elements are skipped, not built.
fn not_empty<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    let items = Option::<Vec<serde::de::IgnoredAny>>::deserialize(d)?;
    Ok(items.is_some_and(|v| !v.is_empty()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_read_into_a_used_vector_reads_what_page_reads() {
        let bodies = [
            r#"{"value":[{"id":"a"}]}"#,
            r#"{"@odata.nextLink":"n","value":[]}"#,
            r#"{"value":[{"id":"a"}],"@odata.nextLink":null}"#,
            r#"{"@odata.context":"x","value":[{"id":"b"},{"id":"c"}],"@odata.count":2}"#,
            r#"{"value":[{"id":"d","groupTypes":["Unified"],"x":{"value":[1]}}]}"#,
            r#"{"value":null}"#,
            r#"{}"#,
            r#"{"value":[],"value":[]}"#,
            r#"{"@odata.nextLink":"a","@odata.nextLink":"b","value":[]}"#,
            r#"{"value":[1]}"#,
            r#"{"value":[]} x"#,
            r#"{"@odata.nextLink":5,"value":[]}"#,
            r#"{"value":[{"id":"e"}"#,
            r#"null"#,
        ];
        let mut into: Vec<Group> = vec![serde_json::from_str(r#"{"id":"left over"}"#).unwrap()];
        for body in bodies {
            let read = crate::graph::Json::Text(body).read(PageInto(&mut into));
            match serde_json::from_str::<Page<Group>>(body) {
                Ok(page) => {
                    assert_eq!(read.unwrap(), page.next_link, "{body}");
                    let ids = |v: &[Group]| v.iter().map(|g| g.id.clone()).collect::<Vec<_>>();
                    assert_eq!(ids(&into), ids(&page.value), "{body}");
                }
                Err(e) => assert!(read.is_err(), "{body}: Page refuses it ({e})"),
            }
        }
    }

    #[test]
    fn a_page_is_read_into_the_room_of_the_vector_handed_in() {
        let values: Vec<String> = (0..999).map(|i| format!("{{\"id\":\"g{i}\"}}")).collect();
        let body = format!(
            r#"{{"@odata.nextLink":"x","value":[{}]}}"#,
            values.join(",")
        );
        let mut into = Vec::<Group>::with_capacity(999);
        let at = into.as_ptr();
        let link = crate::graph::Json::Text(&body).read(PageInto(&mut into));
        assert_eq!(link.unwrap().as_deref(), Some("x"));
        assert_eq!((into.len(), into.capacity()), (999, 999), "never grown");
        assert_eq!(into.as_ptr(), at, "the same vector");
        assert_eq!(into[998].id, "g998");
    }

    #[test]
    fn absent_null_and_present_writeback_are_distinct() {
        let absent: Group = serde_json::from_str(r#"{"id":"a"}"#).unwrap();
        assert_eq!(absent.writeback_configuration, None);
        assert_eq!(absent.writeback(), None);

        let null: Group =
            serde_json::from_str(r#"{"id":"a","writebackConfiguration":null}"#).unwrap();
        assert_eq!(null.writeback(), Some(WritebackConfiguration::default()));

        let set: Group = serde_json::from_str(
            r##"{"id":"a","writebackConfiguration":{"@odata.type":"#microsoft.graph.groupWritebackConfiguration","isEnabled":false,"onPremisesGroupType":"universalSecurityGroup"}}"##,
        )
        .unwrap();
        assert_eq!(
            set.writeback(),
            Some(WritebackConfiguration {
                is_enabled: Some(false),
                on_premises_group_type: Some(UNIVERSAL_SECURITY.into())
            })
        );
    }

    #[test]
    fn a_setting_without_values_is_marked_unread() {
        for body in [r#"{"id":"s"}"#, r#"{"id":"s","values":null}"#] {
            let s: DirectorySetting = serde_json::from_str(body).unwrap();
            assert!(s.values_unread && s.values.is_empty(), "{body}");
        }
        let s: DirectorySetting = serde_json::from_str(r#"{"id":"s","values":[]}"#).unwrap();
        assert!(!s.values_unread);
    }

    /// [`guid_bits`] one byte at a time: what it must agree with.
    fn guid_bits_bytewise(id: &str) -> Option<u128> {
        let b = id.as_bytes();
        if b.len() != 36 {
            return None;
        }
        let mut v: u128 = 0;
        for (i, &c) in b.iter().enumerate() {
            if matches!(i, 8 | 13 | 18 | 23) {
                if c != b'-' {
                    return None;
                }
                continue;
            }
            v = (v << 4) | u128::from((c as char).to_digit(16)?);
        }
        Some(v)
    }

    #[test]
    fn guid_bits_agrees_with_the_bytewise_read_for_every_byte_at_every_place() {
        let ids = [
            "e99ff867-dbf6-42c9-b82f-f84cb27281e9",
            "00000000-0000-0000-0000-000000000000",
            "FFFFFFFF-ffff-FfFf-fFfF-aBcDeF012345",
        ];
        for id in ids {
            assert_eq!(guid_bits(id), guid_bits_bytewise(id));
            assert!(guid_bits(id).is_some(), "{id}");
            for at in 0..36 {
                for byte in 0..=255u8 {
                    let mut b = id.as_bytes().to_vec();
                    b[at] = byte;
                    // Bytes that are not UTF-8 cannot be in a str; the check is on bytes.
                    let Ok(s) = std::str::from_utf8(&b) else {
                        continue;
                    };
                    assert_eq!(guid_bits(s), guid_bits_bytewise(s), "{s:?}");
                }
            }
        }
    }

    proptest::proptest! {
        #[test]
        fn guid_bits_agrees_with_the_bytewise_read(
            digits in proptest::collection::vec(
                proptest::sample::select(b"0123456789abcdefABCDEF".to_vec()), 32),
            changed in proptest::option::of((0..36usize, 0..128u8)),
        ) {
            let mut b = digits;
            for at in [8, 13, 18, 23] {
                b.insert(at, b'-');
            }
            if let Some((at, byte)) = changed {
                b[at] = byte;
            }
            let s = String::from_utf8(b).unwrap();
            proptest::prop_assert_eq!(guid_bits(&s), guid_bits_bytewise(&s));
        }
    }

    #[test]
    fn guid_bits_reads_every_guid_and_nothing_else() {
        let id = "e99ff867-DBF6-42c9-b82f-f84cb27281e9";
        assert_eq!(guid_bits(id), Some(0xe99ff867_dbf6_42c9_b82f_f84cb27281e9));
        assert!(is_guid(id));
        for bad in [
            "e99ff867-dbf6-42c9-b82f-f84cb27281e",
            "e99ff867-dbf6-42c9-b82f-f84cb27281e9a",
            "e99ff867xdbf6-42c9-b82f-f84cb27281e9",
            "e99ff867-dbf6-42c9-b82f-f84cb27281eg",
            "e99ff867-dbf6-42c9-b82f-f84cb2728-e9",
            "é9ff867-dbf6-42c9-b82f-f84cb27281e9",
            "",
        ] {
            assert_eq!(guid_bits(bad), None, "{bad}");
            assert!(!is_guid(bad), "{bad}");
        }
    }

    #[test]
    fn null_collections_read_as_empty() {
        let g: Group = serde_json::from_str(
            r#"{"id":"a","groupTypes":null,"proxyAddresses":null,"writebackConfiguration":null}"#,
        )
        .unwrap();
        assert!(!g.unified && !g.has_proxy_addresses);
    }

    #[test]
    fn group_types_and_proxies_are_read_without_being_kept() {
        for (json, unified, proxies) in [
            (
                r#""groupTypes":["Unified"],"proxyAddresses":["SMTP:a@b"]"#,
                true,
                true,
            ),
            (
                r#""groupTypes":["DynamicMembership","unified"]"#,
                true,
                false,
            ),
            (
                r#""groupTypes":["\u0055nified"],"proxyAddresses":[]"#,
                true,
                false,
            ),
            (
                r#""groupTypes":["DynamicMembership"],"proxyAddresses":["x","y"]"#,
                false,
                true,
            ),
            (r#""groupTypes":[]"#, false, false),
        ] {
            let g: Group = serde_json::from_str(&format!(r#"{{"id":"a",{json}}}"#)).unwrap();
            assert_eq!(
                (g.unified, g.has_proxy_addresses),
                (unified, proxies),
                "{json}"
            );
        }
        // Not an array of strings: an error, as before.
        for bad in [r#""groupTypes":"Unified""#, r#""groupTypes":[1]"#] {
            let r = serde_json::from_str::<Group>(&format!(r#"{{"id":"a",{bad}}}"#));
            assert!(r.is_err(), "{bad}");
        }
    }

    #[test]
    fn the_documented_group_types_are_read_as_one_shared_string_each() {
        let read = |json: &str| -> WritebackConfiguration { serde_json::from_str(json).unwrap() };
        let ty = |json: &str| read(json).on_premises_group_type;
        for known in [
            UNIVERSAL_DISTRIBUTION,
            UNIVERSAL_SECURITY,
            UNIVERSAL_MAIL_ENABLED_SECURITY,
        ] {
            let json = format!(r#"{{"isEnabled":true,"onPremisesGroupType":"{known}"}}"#);
            let (a, b) = (ty(&json).unwrap(), ty(&json).unwrap());
            assert_eq!(&*a, known);
            assert!(std::sync::Arc::ptr_eq(&a, &b), "{known} is shared");
            // Escaped, it reads the same (serde hands over an owned string then).
            let escaped = json.replacen("universal", r"\u0075niversal", 1);
            assert!(std::sync::Arc::ptr_eq(&ty(&escaped).unwrap(), &a));
        }
        // Not one of the three (another case, or a type Graph adds): kept as sent.
        for other in ["UniversalSecurityGroup", "somethingNew", ""] {
            let json = format!(r#"{{"onPremisesGroupType":"{other}"}}"#);
            assert_eq!(ty(&json).as_deref(), Some(other));
        }
        assert_eq!(ty(r#"{"onPremisesGroupType":null}"#), None);
        assert_eq!(ty(r#"{"isEnabled":false}"#), None);
        assert!(
            serde_json::from_str::<WritebackConfiguration>(r#"{"onPremisesGroupType":5}"#).is_err()
        );
    }
}
