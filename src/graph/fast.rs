//! A page of groups read the way Graph writes it, without serde's per-key machinery.
//!
//! At a million groups, reading pages was 60% of `report -o ndjson`'s instructions, and most
//! of that was serde_json finding and matching each of a group's eleven keys (callgrind,
//! BENCHMARKS.md, issue 33). Graph's pages are plain: compact JSON, the same keys in every
//! group, strings without escapes. This reads such a page (a string with an escape is
//! unescaped by serde_json, string by string) and nothing else: anything it does not expect (a
//! number where a flag goes, a key it does not know, a key twice, a group without an id, a lone
//! surrogate, a page member other than Graph's) makes it decline, and the page is read by serde
//! as before, with serde's errors. So a page reads the same either way; a
//! test reads many pages, and every page with one byte changed, both ways, and compares.

use std::borrow::Cow;

use super::model::{Group, Plain, WritebackConfiguration, intern_type};

/// Read `text`, a page of groups, into `into`, as [`super::model::PageInto`] would. The groups
/// `into` holds (the last page's, handed back by the listing's consumer) are read into again:
/// their strings keep their memory, so a page costs no allocation. At a million groups, the
/// three strings a group allocated, freed a page later, were a tenth of `report -o ndjson`'s
/// instructions (glibc's per-thread cache holds seven blocks of a size; a page frees three
/// thousand). `false`: declined (`into` then holds anything), and the page must be read by
/// serde.
pub(crate) fn page_into(text: &str, into: &mut Vec<Group>) -> bool {
    let mut r = Reader {
        text,
        i: 0,
        order: std::array::from_fn(|i| i),
        spare: Vec::new(),
    };
    let mut read = 0;
    let ok = r.page(into, &mut read).is_some() && r.at_end();
    into.truncate(read);
    ok
}

struct Reader<'a> {
    text: &'a str,
    i: usize,
    /// The fields of the last group, in the order it sent them ([`Reader::members`]).
    order: [usize; FIELDS.len()],
    /// The strings of text fields that read as null on this page, for the next that does not.
    spare: Vec<String>,
}

/// The keys of a group that [`GROUP_SELECT`](super::model::GROUP_SELECT) selects, in its
/// order, each as Graph writes it after the member before it: comma, quoted name, colon. A
/// group's members are read by their index here.
const FIELDS: [&[u8]; 11] = [
    b",\"id\":",
    b",\"displayName\":",
    b",\"groupTypes\":",
    b",\"securityEnabled\":",
    b",\"mailEnabled\":",
    b",\"onPremisesSyncEnabled\":",
    b",\"onPremisesSecurityIdentifier\":",
    b",\"isAssignableToRole\":",
    b",\"proxyAddresses\":",
    b",\"createdDateTime\":",
    b",\"writebackConfiguration\":",
];

/// The members of a `writebackConfiguration`, as [`FIELDS`].
const WRITEBACK: [&[u8]; 2] = [b",\"isEnabled\":", b",\"onPremisesGroupType\":"];

/// The name in a key as [`FIELDS`] writes it.
fn name(key: &[u8]) -> &[u8] {
    &key[2..key.len() - 2]
}

/// `None`: declined.
type Read<T> = Option<T>;

impl<'a> Reader<'a> {
    fn bytes(&self) -> &'a [u8] {
        self.text.as_bytes()
    }

    fn ws(&mut self) {
        // Graph's pages are compact: the next byte is nearly always no white space at all.
        if self.bytes().get(self.i).is_some_and(|&c| c > b' ') {
            return;
        }
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.bytes().get(self.i) {
            self.i += 1;
        }
    }

    /// The next byte after white space, consumed if it is `c`.
    fn eat(&mut self, c: u8) -> bool {
        self.ws();
        if self.bytes().get(self.i) == Some(&c) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn expect(&mut self, c: u8) -> Read<()> {
        self.eat(c).then_some(())
    }

    fn at_end(&mut self) -> bool {
        self.ws();
        self.i == self.bytes().len()
    }

    /// `null` next, consumed.
    fn null(&mut self) -> bool {
        self.ws();
        let null = self.bytes()[self.i..].starts_with(b"null");
        if null {
            self.i += 4;
        }
        null
    }

    /// A string: borrowed where it lies in the page, or, when it holds an escape, unescaped by
    /// serde_json (which refuses what serde refuses: a control character, a lone surrogate).
    fn string(&mut self) -> Read<Cow<'a, str>> {
        self.expect(b'"')?;
        let start = self.i;
        let end = match plain_len(&self.bytes()[start..]) {
            Some(len) => start + len,
            None => return self.escaped(start - 1).map(Cow::Owned),
        };
        self.i = end + 1;
        // Both ends are ASCII quotes, so char boundaries of the page's text.
        self.text.get(start..end).map(Cow::Borrowed)
    }

    /// The string whose opening quote is at `quote`, unescaped.
    fn escaped(&mut self, quote: usize) -> Read<String> {
        let mut j = quote + 1;
        loop {
            match *self.bytes().get(j)? {
                b'"' => break,
                b'\\' => j += 2,
                _ => j += 1,
            }
        }
        self.i = j + 1;
        serde_json::from_slice(&self.bytes()[quote..=j]).ok()
    }

    /// A key (never escaped by Graph) and its colon.
    fn key(&mut self) -> Read<&'a [u8]> {
        let Cow::Borrowed(k) = self.string()? else {
            return None;
        };
        self.expect(b':')?;
        Some(k.as_bytes())
    }

    /// `{` or `[` then each member or item through `each`, separated by commas, then the
    /// closing bracket.
    fn each(
        &mut self,
        open: u8,
        close: u8,
        mut each: impl FnMut(&mut Self) -> Read<()>,
    ) -> Read<()> {
        self.expect(open)?;
        if self.eat(close) {
            return Some(());
        }
        loop {
            each(self)?;
            if self.eat(close) {
                return Some(());
            }
            self.expect(b',')?;
        }
    }

    fn nullable<T>(&mut self, read: impl FnOnce(&mut Self) -> Read<T>) -> Read<Option<T>> {
        if self.null() {
            Some(None)
        } else {
            read(self).map(Some)
        }
    }

    fn flag(&mut self) -> Read<Option<bool>> {
        self.ws();
        let rest = &self.bytes()[self.i..];
        let (v, len) = match rest.first()? {
            b't' if rest.starts_with(b"true") => (Some(true), 4),
            b'f' if rest.starts_with(b"false") => (Some(false), 5),
            b'n' if rest.starts_with(b"null") => (None, 4),
            _ => return None,
        };
        self.i += len;
        Some(v)
    }

    /// A string or null, into `slot`, whose memory it keeps where it can; `true` when it is
    /// a string with nothing to escape in it (see [`put`]).
    ///
    /// A field that is null in one group and not in the next (an AD SID) moves its string to
    /// the next group that needs one, rather than freeing it and allocating another.
    fn text(&mut self, slot: &mut Option<String>) -> Read<bool> {
        Some(match (self.nullable(Self::string)?, slot.as_mut()) {
            (Some(s), Some(buf)) => put(buf, s),
            (Some(s), None) => {
                let mut buf = self.spare.pop().unwrap_or_default();
                let plain = put(&mut buf, s);
                *slot = Some(buf);
                plain
            }
            (None, _) => {
                self.spare.extend(slot.take());
                false
            }
        })
    }

    /// A number as Graph writes a count: digits, no sign, fraction or leading zero.
    fn count(&mut self) -> Read<()> {
        self.ws();
        let digits = self.bytes()[self.i..]
            .iter()
            .take_while(|c| c.is_ascii_digit())
            .count();
        if digits == 0 || (digits > 1 && self.bytes()[self.i] == b'0') {
            return None;
        }
        self.i += digits;
        Some(())
    }

    /// The page: `value` once, `@odata.nextLink` at most once (a string or null), and the
    /// other members Graph sends (`@odata.context`, `@odata.count`).
    /// The groups are read into `into` from its start, `read` counting them.
    fn page(&mut self, into: &mut Vec<Group>, read: &mut usize) -> Read<()> {
        let (mut values, mut link) = (false, false);
        self.each(b'{', b'}', |r| match r.key()? {
            b"value" if !values => {
                values = true;
                r.each(b'[', b']', |r| {
                    if *read == into.len() {
                        into.push(Group::default());
                    }
                    r.group(&mut into[*read])?;
                    *read += 1;
                    Some(())
                })
            }
            b"@odata.nextLink" if !link => {
                link = true;
                r.nullable(Self::string).map(drop)
            }
            b"@odata.context" => r.string().map(drop),
            b"@odata.count" => r.count(),
            _ => None,
        })?;
        values.then_some(())
    }

    /// One group as [`GROUP_SELECT`](super::model::GROUP_SELECT) lists it, into `g` (a group
    /// of the last page, or a new one): each field is read over what `g` held, and a field the
    /// group does not send is set as serde leaves it (absent: none, false).
    fn group(&mut self, g: &mut Group) -> Read<()> {
        let mut order = self.order;
        let mut plain = Plain::default();
        let sent = self.members(&FIELDS, &mut order, |r, field| match field {
            0 => r.string().map(|s| plain.mark(Plain::ID, put(&mut g.id, s))),
            1 => r
                .text(&mut g.display_name)
                .map(|p| plain.mark(Plain::DISPLAY_NAME, p)),
            2 => r.types().map(|v| g.unified = v),
            3 => r.flag().map(|v| g.security_enabled = v),
            4 => r.flag().map(|v| g.mail_enabled = v),
            5 => r.flag().map(|v| g.on_premises_sync_enabled = v),
            6 => r.text(&mut g.on_premises_security_identifier).map(drop),
            7 => r.flag().map(|v| g.is_assignable_to_role = v),
            8 => r.addresses().map(|v| g.has_proxy_addresses = v),
            9 => r
                .text(&mut g.created_date_time)
                .map(|p| plain.mark(Plain::CREATED, p)),
            _ => r
                .nullable(Self::writeback)
                .map(|v| g.writeback_configuration = Some(v)),
        })?;
        self.order = order;
        // Marked afresh for each group: a group read into again keeps none of the last one's.
        g.plain = plain;
        // A group without an id is serde's error.
        if sent & 1 == 0 {
            return None;
        }
        for field in (1..FIELDS.len()).filter(|f| sent & (1 << f) == 0) {
            match field {
                1 => g.display_name = None,
                2 => g.unified = false,
                3 => g.security_enabled = None,
                4 => g.mail_enabled = None,
                5 => g.on_premises_sync_enabled = None,
                6 => g.on_premises_security_identifier = None,
                7 => g.is_assignable_to_role = None,
                8 => g.has_proxy_addresses = false,
                9 => g.created_date_time = None,
                _ => g.writeback_configuration = None,
            }
        }
        Some(())
    }

    /// An object whose keys are `keys` (as [`FIELDS`] writes them), each member's value read by
    /// `each` with the key's index; a key it does not know, or a key twice, declines. Gives
    /// the keys sent, a bit each. Graph
    /// sends the same keys in the same order in every object, so the key at each place is
    /// tried first as the one `order` holds there (the last object's), comma and all, in one
    /// comparison; any other key, or white space, is read the long way. `order` is updated.
    fn members<const N: usize>(
        &mut self,
        keys: &[&[u8]; N],
        order: &mut [usize; N],
        mut each: impl FnMut(&mut Self, usize) -> Read<()>,
    ) -> Read<u32> {
        self.expect(b'{')?;
        let mut seen = 0u32;
        for at in 0.. {
            // The first member has no comma before it.
            let skip = usize::from(at == 0);
            let field = match order.get(at) {
                Some(&guess) if starts(&self.bytes()[self.i..], &keys[guess][skip..]) => {
                    self.i += keys[guess].len() - skip;
                    guess
                }
                _ => {
                    if self.eat(b'}') {
                        return Some(seen);
                    }
                    if at > 0 {
                        self.expect(b',')?;
                    }
                    let key = self.key()?;
                    keys.iter().position(|k| name(k) == key)?
                }
            };
            if let Some(slot) = order.get_mut(at) {
                *slot = field;
            }
            // A key twice is serde's error.
            if seen & (1 << field) != 0 {
                return None;
            }
            seen |= 1 << field;
            each(self, field)?;
        }
        unreachable!("a page holds fewer than usize::MAX members")
    }

    /// `groupTypes`: whether it holds "Unified", in any case.
    fn types(&mut self) -> Read<bool> {
        let mut unified = false;
        self.nullable(|r| {
            r.each(b'[', b']', |r| {
                unified |= r.string()?.eq_ignore_ascii_case("Unified");
                Some(())
            })
        })?;
        Some(unified)
    }

    /// `proxyAddresses`: whether it holds any.
    fn addresses(&mut self) -> Read<bool> {
        let mut any = false;
        self.nullable(|r| {
            r.each(b'[', b']', |r| {
                r.string()?;
                any = true;
                Some(())
            })
        })?;
        Some(any)
    }

    fn writeback(&mut self) -> Read<WritebackConfiguration> {
        let mut wb = WritebackConfiguration::default();
        self.members(&WRITEBACK, &mut [0, 1], |r, field| match field {
            0 => r.flag().map(|v| wb.is_enabled = v),
            _ => r
                .nullable(Self::string)
                .map(|v| wb.on_premises_group_type = v.as_deref().map(intern_type)),
        })?;
        Some(wb)
    }
}

/// `s` into `slot`, in the memory `slot` has if it is borrowed. `true` when it is: a string
/// borrowed from the page ([`Reader::string`]) ended at the first byte JSON escapes, so it
/// holds none ([`Plain`]).
fn put(slot: &mut String, s: Cow<'_, str>) -> bool {
    match s {
        Cow::Borrowed(s) => {
            slot.clear();
            slot.push_str(s);
            true
        }
        Cow::Owned(s) => {
            *slot = s;
            false
        }
    }
}

/// Whether `rest` starts with `pat`, compared eight bytes at a time (the last eight may overlap
/// the ones before): a key with its comma is 6 to 32 bytes, and a call to memcmp for each of a
/// million groups' eleven keys was a fifth of the reader's instructions (callgrind, issue 33).
fn starts(rest: &[u8], pat: &[u8]) -> bool {
    let n = pat.len();
    let Some(head) = rest.get(..n) else {
        return false;
    };
    if n < 8 {
        return head == pat;
    }
    let word = |s: &[u8], at: usize| s[at..at + 8].first_chunk().map(|w| u64::from_le_bytes(*w));
    let mut at = 0;
    while at + 8 < n {
        if word(head, at) != word(pat, at) {
            return false;
        }
        at += 8;
    }
    word(head, n - 8) == word(pat, n - 8)
}

/// The length of a string's text up to its closing quote; `None` when an escape or a control
/// character comes first (serde reads those), or no quote does.
fn plain_len(b: &[u8]) -> Option<usize> {
    first_escaped(b).filter(|&at| b[at] == b'"')
}

/// Where the first byte is that JSON escapes in a string (a control character, `"` or `\\`),
/// tested eight bytes at a time: read here to find where a string ends, and by the NDJSON
/// writer to find whether it must escape (`output::rows`).
pub(crate) fn first_escaped(b: &[u8]) -> Option<usize> {
    first_marked(
        b,
        |w| below(w, 0x20) | equal(w, b'"') | equal(w, b'\\'),
        |c| c < 0x20 || c == b'"' || c == b'\\',
    )
}

/// Where the first byte of `b` is that `marks` marks in a word of eight (see [`below`]), or,
/// in the bytes after the last whole word, that `byte` says: the one loop of every
/// word-at-a-time byte search (strings here, escapes in NDJSON, quotes in CSV).
pub(crate) fn first_marked(
    b: &[u8],
    marks: impl Fn(u64) -> u64,
    byte: impl Fn(u8) -> bool,
) -> Option<usize> {
    let mut words = b.chunks_exact(8);
    let mut at = 0;
    for w in &mut words {
        let stop = marks(u64::from_le_bytes([
            w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7],
        ]));
        if stop != 0 {
            return Some(at + stop.trailing_zeros() as usize / 8);
        }
        at += 8;
    }
    words
        .remainder()
        .iter()
        .position(|&c| byte(c))
        .map(|i| at + i)
}

/// Every byte 1, and every byte's high bit: the constants of each word-at-a-time byte test
/// (here, and the seen ids' tags in `paging`).
pub(crate) const ONES: u64 = 0x0101_0101_0101_0101;
pub(crate) const HIGH: u64 = 0x8080_8080_8080_8080;

/// The high bit of each byte of `w` below `n`, for `n` up to 0x80. The lowest such byte is
/// marked exactly: subtracting `n` from every byte of a word sets the high bit of the lowest
/// byte below it (no borrow reaches that byte from below), and a byte with its own high bit
/// set (UTF-8 beyond ASCII) is masked out by `!w`. A higher byte may show a false mark only
/// above a true one, so a search stops at the right byte.
pub(crate) fn below(w: u64, n: u8) -> u64 {
    w.wrapping_sub(ONES * u64::from(n)) & !w & HIGH
}

/// The high bit of each byte of `w` equal to `c` (as [`below`]: the lowest exactly).
pub(crate) fn equal(w: u64, c: u8) -> u64 {
    below(w ^ (ONES * u64::from(c)), 1)
}

/// The high bit of each byte of `w` that is zero, and of no other (exact, unlike
/// [`equal`]'s marks above the first).
pub(crate) fn zero_bytes(w: u64) -> u64 {
    !(((w & !HIGH) + !HIGH) | w | !HIGH)
}

/// The high bit of each of a word's first `n` bytes (all eight for `n` of 8 or more).
pub(crate) fn first_bytes(n: usize) -> u64 {
    match n {
        0 => 0,
        1..8 => HIGH & ((1 << (8 * n)) - 1),
        _ => HIGH,
    }
}

/// A word-at-a-time search against its byte-by-byte definition: each byte value alone, and at
/// each place of short and long text among plain, non-ASCII, DEL, space and NUL bytes (the
/// tests of the NDJSON writer and of CSV quoting).
#[cfg(test)]
pub(crate) fn agrees_at_every_place(by_words: fn(&[u8]) -> bool, by_bytes: fn(&[u8]) -> bool) {
    for b in 0..=255u8 {
        for len in 1..=17 {
            for at in 0..len {
                for fill in [b'a', 0xC3, 0x7F, 0x20, 0xFF, 0x00] {
                    let mut s = vec![fill; len];
                    s[at] = b;
                    assert_eq!(
                        by_words(&s),
                        by_bytes(&s),
                        "{b:#04x} at {at} of {len} among {fill:#04x}"
                    );
                }
            }
        }
    }
    assert_eq!(by_words(b""), by_bytes(b""));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::Json;
    use crate::graph::model::PageInto;

    /// The page as serde reads it (`None`: serde's error).
    fn by_serde(text: &str) -> Option<Vec<Group>> {
        let mut v = Vec::new();
        Json::Text(text).read(PageInto(&mut v)).ok().map(|_| v)
    }

    /// Whether every string `g` marks plain holds nothing JSON escapes.
    fn marks_hold(g: &Group) -> bool {
        [
            (Plain::ID, Some(&g.id)),
            (Plain::DISPLAY_NAME, g.display_name.as_ref()),
            (Plain::CREATED, g.created_date_time.as_ref()),
        ]
        .into_iter()
        .all(|(field, s)| {
            !g.plain.has(field) || s.is_some_and(|s| first_escaped(s.as_bytes()).is_none())
        })
    }

    /// Every string marked plain.
    fn all_marked() -> Plain {
        let mut p = Plain::default();
        for field in [Plain::ID, Plain::DISPLAY_NAME, Plain::CREATED] {
            p.mark(field, true);
        }
        p
    }

    /// The fast reader agrees with serde on `text`: what it reads, serde reads the same; what
    /// serde refuses, it declines. Returns whether it read the page. Each string it marks
    /// plain holds nothing to escape.
    fn agrees(text: &str) -> bool {
        // The last page's groups, every field set, are read into again: what the page does
        // not say must not be left over from them, nor their marks.
        let left_over = Group {
            id: "left over".into(),
            display_name: Some("left over name".into()),
            unified: true,
            security_enabled: Some(true),
            mail_enabled: Some(true),
            on_premises_sync_enabled: Some(true),
            on_premises_security_identifier: Some("S-1-5-21-left-over".into()),
            is_assignable_to_role: Some(true),
            has_proxy_addresses: true,
            created_date_time: Some("2000-01-01T00:00:00Z".into()),
            writeback_configuration: Some(Some(WritebackConfiguration {
                is_enabled: Some(true),
                on_premises_group_type: Some(intern_type("universalSecurityGroup")),
            })),
            plain: all_marked(),
        };
        // Read over three (every group of these pages) and over one (the groups after it are
        // new, and take the strings of fields that read as null before them).
        let [over_three, over_one] = [3, 1].map(|n| {
            let mut fast = vec![left_over.clone(); n];
            let read = page_into(text, &mut fast);
            if read {
                assert!(fast.iter().all(marks_hold), "{text}");
                assert_eq!(Some(fast), by_serde(text), "{text}");
            }
            read
        });
        assert_eq!(
            over_three, over_one,
            "read or declined whatever came before: {text}"
        );
        over_three
    }

    const GROUP: &str = r#"{"id":"e99ff867-dbf6-42c9-b82f-f84cb27281e9","displayName":"Data Team","groupTypes":["Unified"],"securityEnabled":false,"mailEnabled":true,"onPremisesSyncEnabled":null,"onPremisesSecurityIdentifier":null,"isAssignableToRole":null,"proxyAddresses":["SMTP:data@contoso.example"],"createdDateTime":"2022-02-05T12:52:49Z","writebackConfiguration":{"isEnabled":true,"onPremisesGroupType":"universalDistributionGroup"}}"#;

    /// Pages as Graph writes them, and as it might: every field's forms.
    fn pages() -> Vec<String> {
        let groups = [
            GROUP.to_string(),
            r#"{"id":"b","displayName":null,"groupTypes":[],"securityEnabled":true,"mailEnabled":false,"onPremisesSyncEnabled":true,"onPremisesSecurityIdentifier":"S-1-5-21-1","isAssignableToRole":true,"proxyAddresses":[],"createdDateTime":null,"writebackConfiguration":null}"#.into(),
            r#"{"id":"c","groupTypes":["DynamicMembership","unified"],"proxyAddresses":null,"writebackConfiguration":{"isEnabled":null,"onPremisesGroupType":null}}"#.into(),
            r#"{"id":"d","groupTypes":null,"writebackConfiguration":{}}"#.into(),
            r#"{"id":"e","writebackConfiguration":{"onPremisesGroupType":"somethingNew","isEnabled":false}}"#.into(),
            r#"{"displayName":"Équipe données 数据","id":"f","createdDateTime":"2024-01-01T00:00:00Z"}"#.into(),
            r#"{"id":"g","displayName":"a \"quoted\" name\\","groupTypes":["Unified"]}"#.into(),
            r#"{"id":"h","displayName":"lone \ud800 surrogate"}"#.into(),
            r#"{"id":"i","unknownKey":1}"#.into(),
            r#"{"id":"j","id":"k"}"#.into(),
            r#"{"displayName":"no id"}"#.into(),
            r#"{"id":"l","mailEnabled":1}"#.into(),
            r#"{"id":"m","proxyAddresses":[1,{"a":[]}]}"#.into(),
            r#"{"id":"n","writebackConfiguration":{"isEnabled":true,"isEnabled":false}}"#.into(),
            r#"{"id":"o","writebackConfiguration":{"extra":true}}"#.into(),
            r#"{"id":"p","writebackConfiguration":"yes"}"#.into(),
            r#"{"id":"q\/r","groupTypes":["Unifi\u0065d"],"writebackConfiguration":{"onPremisesGroupType":"universal\u0044istributionGroup"}}"#.into(),
            r#"{"id":"s","displayName":"tab\there\n"}"#.into(),
        ];
        let mut pages = vec![
            r#"{"value":[]}"#.to_string(),
            r#"{"@odata.nextLink":null,"value":[]}"#.to_string(),
            r#"{}"#.to_string(),
            r#"{"value":[],"value":[]}"#.to_string(),
            r#"{"@odata.nextLink":"a","@odata.nextLink":"b","value":[]}"#.to_string(),
            r#"{"@odata.count":0,"value":[]}"#.to_string(),
            r#"{"@odata.count":012,"value":[]}"#.to_string(),
            r#"{"value":[]} x"#.to_string(),
            r#"null"#.to_string(),
            String::new(),
        ];
        for g in &groups {
            pages.push(format!(
                r#"{{"@odata.context":"https://graph.microsoft.com/beta/$metadata#groups","@odata.nextLink":"https://graph.microsoft.com/beta/groups?$top=2&$skiptoken=X","value":[{GROUP},{g}]}}"#
            ));
        }
        // Pretty-printed, with white space everywhere serde allows it.
        let all: serde_json::Value = serde_json::from_str(&format!(
            r#"{{"@odata.count":3,"value":[{GROUP},{},{}],"@odata.nextLink":null}}"#,
            groups[1], groups[2]
        ))
        .unwrap();
        pages.push(serde_json::to_string_pretty(&all).unwrap());
        pages
    }

    #[test]
    fn pages_read_as_serde_reads_them() {
        let read: Vec<bool> = pages().iter().map(|p| agrees(p)).collect();
        // The plain pages are read here; the others (escapes, surprises, errors) declined.
        assert!(read[0] && read[1] && read[5], "{read:?}");
        assert!(!read[2] && !read[3] && !read[4] && !read[6] && !read[7] && !read[8]);
        // Escaped text is read (by serde_json, string by string); a lone surrogate, a key or
        // a type it does not know, a key twice, no id, or a number for a flag is declined.
        let groups = &read[10..28];
        assert_eq!(
            groups,
            [
                true, true, true, true, true, true, true, false, false, false, false, false, false,
                false, false, false, true, true
            ]
        );
        assert!(read[28], "the pretty-printed page");
    }

    /// A string read as it lies on the page is marked plain; one read with an escape is not,
    /// even where the group read into was marked.
    #[test]
    fn strings_read_whole_are_marked_plain() {
        let page = format!(
            r#"{{"value":[{GROUP},{},{}]}}"#,
            r#"{"id":"q\/r","displayName":"a \"quoted\" name","createdDateTime":"2024\u002d01"}"#,
            r#"{"id":"s","displayName":null}"#
        );
        let mut into = vec![
            Group {
                plain: all_marked(),
                display_name: Some("was plain".into()),
                created_date_time: Some("was plain".into()),
                ..Group::default()
            };
            3
        ];
        assert!(page_into(&page, &mut into), "{page}");
        let marks = |g: &Group| {
            [Plain::ID, Plain::DISPLAY_NAME, Plain::CREATED].map(|field| g.plain.has(field))
        };
        assert_eq!(marks(&into[0]), [true, true, true]);
        assert_eq!(marks(&into[1]), [false, false, false]);
        assert_eq!(into[1].display_name.as_deref(), Some("a \"quoted\" name"));
        assert_eq!(marks(&into[2]), [true, false, false]);
    }

    #[test]
    fn every_page_with_one_byte_changed_reads_as_serde_reads_it() {
        let bytes: &[&str] = &[
            "\"", "\\", "{", "}", "[", "]", ",", ":", " ", "\n", "0", "1", "n", "t", "f", "x",
            "\u{1}", "é", "",
        ];
        let mut declined = 0;
        for page in pages() {
            for (at, _) in page.char_indices() {
                let next = page[at..].chars().next().map_or(0, char::len_utf8);
                for b in bytes {
                    let changed = format!("{}{b}{}", &page[..at], &page[at + next..]);
                    declined += usize::from(!agrees(&changed));
                }
            }
        }
        // Most changes break the page, and are declined; the test is that none is misread.
        assert!(declined > 0);
    }

    #[test]
    fn the_fields_are_what_graph_is_asked_for() {
        let fields: Vec<&str> = FIELDS
            .iter()
            .map(|f| std::str::from_utf8(name(f)).unwrap())
            .collect();
        assert_eq!(fields.join(","), crate::graph::model::GROUP_SELECT);
        // Each key is written as Graph writes it after the member before it.
        for key in FIELDS.iter().chain(&WRITEBACK) {
            let name = std::str::from_utf8(name(key)).unwrap();
            assert_eq!(
                *key,
                format!(",{}:", serde_json::to_string(name).unwrap()).as_bytes()
            );
        }
    }

    /// One member of a generated group: its key and its value as JSON text.
    fn member() -> impl proptest::strategy::Strategy<Value = (String, String)> {
        use proptest::prelude::*;
        let text = prop_oneof![
            Just("null".to_string()),
            "[a-zA-Z0-9 é数\"\\\\/\u{1}-]{0,12}".prop_map(|s| serde_json::to_string(&s).unwrap()),
            Just(r#""lone \ud800""#.to_string()),
        ];
        let flag = prop_oneof![Just("null"), Just("true"), Just("false"), Just("0")];
        let list = proptest::collection::vec(
            prop_oneof![
                Just(r#""Unified""#),
                Just(r#""uNiFiEd""#),
                Just(r#""DynamicMembership""#),
                Just("1")
            ],
            0..3,
        )
        .prop_map(|v| format!("[{}]", v.join(",")));
        let wb = prop_oneof![
            Just("null".to_string()),
            Just("{}".to_string()),
            (flag.clone(), text.clone())
                .prop_map(|(f, t)| format!(r#"{{"isEnabled":{f},"onPremisesGroupType":{t}}}"#)),
            (flag.clone(), text.clone())
                .prop_map(|(f, t)| format!(r#"{{"onPremisesGroupType":{t},"isEnabled":{f}}}"#)),
        ];
        prop_oneof![
            text.clone().prop_map(|v| ("id".to_string(), v)),
            text.clone().prop_map(|v| ("displayName".to_string(), v)),
            prop_oneof![Just("null".to_string()), list.clone()]
                .prop_map(|v| ("groupTypes".to_string(), v)),
            flag.clone()
                .prop_map(|v| ("securityEnabled".to_string(), v.to_string())),
            flag.clone()
                .prop_map(|v| ("mailEnabled".to_string(), v.to_string())),
            flag.clone()
                .prop_map(|v| ("onPremisesSyncEnabled".to_string(), v.to_string())),
            text.clone()
                .prop_map(|v| ("onPremisesSecurityIdentifier".to_string(), v)),
            flag.prop_map(|v| ("isAssignableToRole".to_string(), v.to_string())),
            prop_oneof![Just("null".to_string()), list]
                .prop_map(|v| ("proxyAddresses".to_string(), v)),
            text.prop_map(|v| ("createdDateTime".to_string(), v)),
            wb.prop_map(|v| ("writebackConfiguration".to_string(), v)),
            Just((
                "@odata.type".to_string(),
                r##""#microsoft.graph.group""##.to_string()
            )),
        ]
    }

    proptest::proptest! {
        /// Groups of any members in any order (a key twice, a number for a flag, a lone
        /// surrogate, no id, an unknown key): read as serde reads them, or declined.
        #[test]
        fn generated_groups_read_as_serde_reads_them(
            groups in proptest::collection::vec(proptest::collection::vec(member(), 0..14), 0..4),
            pretty in proptest::bool::ANY,
        ) {
            let sep = if pretty { ",\n  " } else { "," };
            let groups: Vec<String> = groups
                .iter()
                .map(|g| {
                    let members: Vec<String> = g.iter().map(|(k, v)| format!("\"{k}\":{v}")).collect();
                    format!("{{{}}}", members.join(sep))
                })
                .collect();
            let page = format!(r#"{{"@odata.context":"c","value":[{}]}}"#, groups.join(sep));
            agrees(&page);
        }
    }

    proptest::proptest! {
        /// Groups with every field Graph sends, each once, in any order, with any text: read by
        /// the fast reader itself, as serde reads them.
        #[test]
        fn groups_in_any_order_are_read(
            groups in proptest::collection::vec(
                proptest::strategy::Strategy::prop_shuffle(
                    proptest::collection::vec(member(), 40)
                ),
                1..4,
            ),
        ) {
            let groups: Vec<String> = groups
                .iter()
                .map(|g| {
                    // The first of each known key, no number for a flag, no lone surrogate, an
                    // id that is text.
                    let mut seen = std::collections::HashSet::new();
                    let mut members: Vec<String> = g
                        .iter()
                        .filter(|(k, v)| {
                            FIELDS.iter().any(|f| name(f) == k.as_bytes())
                                && !v.contains("ud800")
                                && !v.contains('0')
                                && !v.contains('1')
                                && (k != "id" || v != "null")
                                && seen.insert(k.clone())
                        })
                        .map(|(k, v)| format!("\"{k}\":{v}"))
                        .collect();
                    if !seen.contains("id") {
                        members.push(r#""id":"x""#.into());
                    }
                    format!("{{{}}}", members.join(","))
                })
                .collect();
            let page = format!(r#"{{"value":[{}]}}"#, groups.join(","));
            proptest::prop_assert!(agrees(&page), "{}", page);
        }
    }

    #[test]
    fn a_key_is_found_only_whole() {
        // Every length a key may have and more, every byte changed at every place, and text
        // cut short or going on: as `starts_with` says.
        for len in 0..40 {
            let pat: Vec<u8> = (0..len).map(|i| b'a' + (i % 26) as u8).collect();
            let mut rest = pat.clone();
            rest.extend_from_slice(b"\":1");
            assert!(starts(&rest, &pat), "{len}");
            assert!(starts(&pat, &pat), "{len}");
            for at in 0..len {
                for byte in [0u8, b'"', pat[at] ^ 0x20, pat[at] ^ 0x80, 0xFF] {
                    let mut other = rest.clone();
                    other[at] = byte;
                    assert_eq!(starts(&other, &pat), other.starts_with(&pat), "{len} {at}");
                }
            }
            if len > 0 {
                assert!(!starts(&pat[..len - 1], &pat), "{len}: cut short");
            }
            assert!(!starts(&rest, &[&pat[..], b"x"].concat()), "{len}: longer");
        }
    }

    #[test]
    fn known_types_are_shared() {
        let mut v = Vec::new();
        let page = format!(r#"{{"value":[{GROUP},{GROUP}]}}"#);
        assert!(page_into(&page, &mut v));
        let t = |g: &Group| {
            g.writeback_configuration
                .clone()
                .flatten()
                .and_then(|w| w.on_premises_group_type)
                .unwrap()
        };
        assert!(std::sync::Arc::ptr_eq(&t(&v[0]), &t(&v[1])));
    }

    #[test]
    fn a_string_ends_at_its_quote_and_not_at_an_escape_or_control() {
        for len in 0..20 {
            for stop in [b'"', b'\\', b'\n', 0x1f, 0] {
                let mut s = vec![b'a'; len];
                s.push(stop);
                s.extend_from_slice(b"\"rest");
                let want = (stop == b'"').then_some(len);
                assert_eq!(plain_len(&s), want, "{len} {stop}");
                // Bytes at or above 0x80, and just above the control range, pass.
                let mut t = vec![0xC3, 0xA9, 0x20, 0x7F, 0xFF];
                t.extend_from_slice(&s);
                assert_eq!(plain_len(&t), want.map(|n| n + 5));
            }
        }
        assert_eq!(plain_len(b"no quote at all"), None);
    }
}
