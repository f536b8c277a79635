//! Follow `@odata.nextLink` as a stream of pages.
//!
//! The whole nextLink is followed as given (it carries the opaque `$skiptoken` and the other
//! query parameters); request headers such as `ConsistencyLevel` are sent again on every page,
//! because Graph does not carry them over. Paging stops at the first page without a nextLink,
//! and no request is made after it. A nextLink to another origin is refused before any token is
//! attached (see [`GraphClient::send`]); one that repeats an earlier link is a loop and an error.

use std::collections::HashSet;

use tracing::Instrument as _;

use futures_util::{Stream, StreamExt};
use reqwest::Method;
use reqwest::header::HeaderName;
use serde::de::DeserializeOwned;
use url::Url;

use super::fast::{ONES, first_bytes, zero_bytes};
use super::model::PageInto;
use super::{GraphClient, GraphError, GraphResponse, Json, parse_json, parse_json_by};

/// Only the link of a page: found without building the page's values, so the next page can be
/// requested while this one is being parsed.
#[derive(serde::Deserialize)]
struct LinkOnly {
    #[serde(rename = "@odata.nextLink", default)]
    next_link: Option<String>,
}

/// A page handed back by the consumer of a listing once it has handled its values, for the
/// next page to be read into: one page's vector (and, read by the fast reader, one page's
/// groups) serves the whole listing (see [`PageInto`] and [`super::fast::page_into`] for why).
pub(crate) struct SpareValues<T>(std::sync::Arc<std::sync::Mutex<Option<Vec<T>>>>);

impl<T> Default for SpareValues<T> {
    fn default() -> Self {
        SpareValues(Default::default())
    }
}

impl<T> Clone for SpareValues<T> {
    fn clone(&self) -> Self {
        SpareValues(self.0.clone())
    }
}

impl<T> SpareValues<T> {
    /// Hand back a page once its values are handled. They are kept: a fast reader reads the
    /// next page over them ([`super::model::Listed::read_page`]); serde empties it first.
    pub(crate) fn give(&self, values: Vec<T>) {
        *self.0.lock().expect("spare values") = Some(values);
    }

    fn take(&self) -> Vec<T> {
        self.0
            .lock()
            .expect("spare values")
            .take()
            .unwrap_or_default()
    }
}

/// Aborts the page fetcher when the stream is dropped (a consumer that stops early).
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The client of a listing in progress: when the listing ends (or is dropped), its spare page
/// bodies are freed, so a tenant of a fleet does not hold them through the rest of its run.
struct SparesWhileListing(GraphClient);

impl Drop for SparesWhileListing {
    fn drop(&mut self) {
        self.0.drop_spares();
    }
}

impl GraphClient {
    /// Stream the pages of a collection starting at `first`. Each item is one page's values.
    ///
    /// Pages are fetched by a task one page ahead of the consumer: as soon as a page has
    /// arrived and its nextLink is checked, the next request goes out while the consumer parses
    /// the page. So paging costs one round trip per page, not a round trip plus parsing. At most
    /// three raw pages are held at once (being parsed, queued, arriving); each is dropped as
    /// soon as it is parsed.
    pub fn pages<T: DeserializeOwned + 'static>(
        &self,
        first: Url,
        headers: Vec<(HeaderName, String)>,
    ) -> impl Stream<Item = Result<Vec<T>, GraphError>> + 'static {
        self.pages_recycling(first, headers, |_, _| false).0
    }

    /// [`Self::pages`], with the handle through which the consumer hands each page
    /// back: the next page is read into it (see [`PageInto`]). `read_fast` reads a page
    /// without serde if it can ([`super::model::Listed::read_page`]); serde reads the rest.
    pub(crate) fn pages_recycling<T: DeserializeOwned + 'static>(
        &self,
        first: Url,
        headers: Vec<(HeaderName, String)>,
        read_fast: fn(&str, &mut Vec<T>) -> bool,
    ) -> (
        impl Stream<Item = Result<Vec<T>, GraphError>> + 'static,
        SpareValues<T>,
    ) {
        let (tx, rx) = tokio::sync::mpsc::channel::<Result<(Url, GraphResponse), GraphError>>(1);
        let client = self.clone();
        let fetcher = tokio::spawn(
            async move {
                let mut next = Some(first);
                let mut seen = HashSet::new();
                let max_pages = client.max_pages();
                let mut fetched_pages = 0u64;
                while let Some(url) = next.take() {
                    fetched_pages += 1;
                    if fetched_pages > max_pages {
                        let _ = tx
                            .send(Err(GraphError::TooManyPages {
                                path: url.path().to_string(),
                                limit: max_pages,
                            }))
                            .await;
                        return;
                    }
                    let fetched = client.fetch_page(&url, &headers, &mut seen).await;
                    let failed = fetched.is_err();
                    let item = fetched.map(|(resp, link)| {
                        next = link;
                        (url, resp)
                    });
                    if tx.send(item).await.is_err() || failed {
                        return;
                    }
                }
            }
            // The page requests' log lines belong to the run that asked for them.
            .in_current_span(),
        );
        let spares = SparesWhileListing(self.clone());
        let values = SpareValues::default();
        let stream = futures_util::stream::unfold(
            (rx, AbortOnDrop(fetcher), spares, values.clone()),
            move |(mut rx, guard, spares, values)| async move {
                let item = rx.recv().await?;
                let page = item.and_then(|(url, resp)| {
                    let mut into = values.take();
                    let read = parse_json_by(&resp, "GET", url.path(), |json| {
                        if let Json::Text(text) = &json
                            && read_fast(text, &mut into)
                        {
                            return Ok(None);
                        }
                        json.read(PageInto(&mut into))
                    });
                    spares.0.recycle(resp.body);
                    read.map(|_link| into)
                });
                Some((page, (rx, guard, spares, values)))
            },
        );
        (stream, values)
    }

    /// The groups of a listing (`T`: a [`super::model::Group`], or a
    /// [`super::model::ReviewedGroup`]), page by page, each group once. Graph should never list
    /// a group twice, but if it does (on two pages), the repeat is dropped with a warning, so
    /// nothing is planned or counted twice. A non-empty page that holds only groups already
    /// listed is a chain going round under new links: an error, like a repeated link.
    pub(crate) fn listed_pages<T: DeserializeOwned + super::model::Listed + 'static>(
        &self,
        first: Url,
    ) -> (
        impl Stream<Item = Result<Vec<T>, GraphError>> + 'static,
        SpareValues<T>,
    ) {
        let path = first.path().to_string();
        let mut seen = SeenIds::default();
        let mut page_no = 0u64;
        let mut failed = false;
        let (pages, spare) = self.pages_recycling::<T>(first, Vec::new(), T::read_page);
        let listed = pages
            .map(move |page| {
                let mut page = page?;
                page_no += 1;
                let before = page.len();
                seen.retain_new(&mut page);
                let repeated = before - page.len();
                if repeated > 0 {
                    if page.is_empty() {
                        return Err(GraphError::PagingRepeats {
                            path: path.clone(),
                            page: page_no,
                            repeated,
                        });
                    }
                    tracing::warn!(
                        page = page_no,
                        repeated,
                        "graph listed {repeated} groups a second time; each is counted once"
                    );
                }
                Ok(page)
            })
            // Nothing after an error.
            .take_while(move |r| {
                let go = !failed;
                failed |= r.is_err();
                std::future::ready(go)
            });
        (listed, spare)
    }

    /// GET one page and check its nextLink: same origin, not seen before.
    async fn fetch_page(
        &self,
        url: &Url,
        headers: &[(HeaderName, String)],
        seen: &mut HashSet<String>,
    ) -> Result<(GraphResponse, Option<Url>), GraphError> {
        if !seen.insert(url.as_str().to_string()) {
            return Err(GraphError::PagingLoop {
                url: url.to_string(),
            });
        }
        let hdrs: Vec<(HeaderName, &str)> = headers
            .iter()
            .map(|(n, v)| (n.clone(), v.as_str()))
            .collect();
        let resp = self.send(Method::GET, url.clone(), &hdrs, None).await?;
        // The link is found by a scan of the top level, which skips the page's values without
        // parsing them (the next request waits on this); anything the scan does not recognise
        // is parsed in full, for the exact error.
        let link = match top_level_next_link(&resp.body) {
            Some(link) => link,
            None => parse_json::<LinkOnly>(&resp, "GET", url.path())?.next_link,
        };
        let Some(link) = link else {
            return Ok((resp, None));
        };
        let next = Url::parse(&link).map_err(|e| GraphError::Malformed {
            method: "GET".into(),
            path: url.path().to_string(),
            detail: format!("@odata.nextLink {link:?} is not a URL: {e}"),
            request_id: resp.request_id.clone(),
        })?;
        if !self.is_same_origin(&next) {
            return Err(GraphError::ForeignOrigin {
                url: next.to_string(),
                origin: self.beta_root().origin().ascii_serialization(),
            });
        }
        Ok((resp, Some(next)))
    }
}

/// The `@odata.nextLink` of a page (`Some(None)`: the page has none), found by walking the
/// top-level object's members and skipping each value by its brackets and strings, without
/// building anything, and stopping at the link (Graph sends it before the values). `None` when
/// the body is not a plain JSON object or the link is not a string: the caller then parses the
/// page in full for the error.
pub(crate) fn top_level_next_link(body: &[u8]) -> Option<Option<String>> {
    fn ws(b: &[u8], mut i: usize) -> usize {
        while i < b.len() && matches!(b[i], b' ' | b'\t' | b'\n' | b'\r') {
            i += 1;
        }
        i
    }
    /// `b[i]` is the opening quote; returns the index after the closing one.
    fn string(b: &[u8], mut i: usize) -> Option<usize> {
        i += 1;
        while i < b.len() {
            match b[i] {
                b'"' => return Some(i + 1),
                b'\\' => i += 2,
                _ => i += 1,
            }
        }
        None
    }
    /// Skips one value starting at `i`; returns the index after it.
    fn value(b: &[u8], i: usize) -> Option<usize> {
        match *b.get(i)? {
            b'"' => string(b, i),
            b'{' | b'[' => {
                let mut depth = 0usize;
                let mut j = i;
                while j < b.len() {
                    match b[j] {
                        b'"' => {
                            j = string(b, j)?;
                            continue;
                        }
                        b'{' | b'[' => depth += 1,
                        b'}' | b']' => {
                            depth -= 1;
                            if depth == 0 {
                                return Some(j + 1);
                            }
                        }
                        _ => {}
                    }
                    j += 1;
                }
                None
            }
            _ => {
                let mut j = i;
                while j < b.len()
                    && !matches!(b[j], b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r')
                {
                    j += 1;
                }
                (j > i).then_some(j)
            }
        }
    }
    let b = body;
    let mut i = ws(b, 0);
    if b.get(i) != Some(&b'{') {
        return None;
    }
    i = ws(b, i + 1);
    if b.get(i) == Some(&b'}') {
        return Some(None);
    }
    loop {
        if b.get(i) != Some(&b'"') {
            return None;
        }
        let key_end = string(b, i)?;
        let key = &b[i + 1..key_end - 1];
        i = ws(b, key_end);
        if b.get(i) != Some(&b':') {
            return None;
        }
        let start = ws(b, i + 1);
        let end = value(b, start)?;
        if key == b"@odata.nextLink" {
            // A string (or null); a number or an object is left to the full parse's error.
            // The rest of the page is not scanned: the consumer's parse of the whole page
            // reports a second link, or anything after the object.
            return serde_json::from_slice::<Option<String>>(&b[start..end]).ok();
        }
        i = ws(b, end);
        match b.get(i) {
            Some(b',') => i = ws(b, i + 1),
            Some(b'}') => break,
            _ => return None,
        }
    }
    // Nothing but white space may follow the object.
    if ws(b, i + 1) != b.len() {
        return None;
    }
    Some(None)
}

/// Group ids seen so far, in about 19 bytes each: a GUID is kept as its 128 bits, in one of
/// up to 65,536 buckets chosen by a hash of it. A bucket is sixteen slots of one table, with a
/// byte of each id's hash (its tag) beside it in a table of tags sixteen times smaller: a
/// lookup reads the bucket's count and tags, and reads a slot only where a tag matches (one id
/// in 256), so a new id costs a read of the small table and a write to the large one, not a
/// wait on up to four cache lines of the large one (perf, issue 33). The ids of a full bucket
/// spill into a hash set. At a million groups buckets hold about 15 ids: the table is 16 MB,
/// the tags 1 MB and the spill about 80,000 ids (2 MB). A hash set of 1,000,000 `u128` would
/// take 36 MB (its table doubles to 2^21 slots just past 917,504 ids), which would break
/// `report`'s memory target at a million groups; a sorted vector (16 MB) cost a fifth of the
/// listing's CPU in cache misses, and a growable vector per bucket a twentieth in
/// reallocations (BENCHMARKS.md). Ids that are not GUIDs are kept as text.
#[derive(Default)]
struct SeenIds {
    /// Bucket `b`'s ids are `slots[b * SLOTS..][..lens[b]]`.
    slots: Vec<u128>,
    /// Bucket `b`'s tags, a byte per slot in slot order, in `tags[b * 2]` and `tags[b * 2 + 1]`.
    tags: Vec<u64>,
    lens: Vec<u8>,
    /// The ids of full buckets.
    spill: HashSet<u128>,
    /// A page's ids as parsed ([`SeenIds::retain_new`]), kept for the next page.
    parsed: Vec<Option<u128>>,
    /// How far the mixed hash is shifted to index the buckets (64 - log2 of their count).
    shift: u32,
    len: usize,
    other: HashSet<String>,
}

/// Buckets to start with (64 KB), and at most (16 MB): a small tenant (a fleet reads hundreds
/// of them) does not pay for a million groups' table; the table grows fourfold whenever buckets
/// average 12 ids, so that few spill before it is at its largest.
const FIRST_BUCKETS: usize = 1 << 8;
const MAX_BUCKETS: usize = 1 << 16;
const SLOTS: usize = 16;
const GROW_AT: usize = 12;

impl SeenIds {
    /// The bucket of `bits` and its tag.
    fn bucket(bits: u128, shift: u32) -> (usize, u8) {
        // Fold and mix, so ids that are not random (sequential test ids) still spread. The
        // bucket is the hash's top bits; the tag, bits below any bucket index uses.
        let folded = (bits as u64) ^ ((bits >> 64) as u64);
        let h = folded.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        ((h >> shift) as usize, (h >> 24) as u8)
    }

    fn buckets(&self) -> usize {
        self.lens.len()
    }

    /// Keep the page's groups not seen before, and mark them seen. Each id is parsed once,
    /// for the read-ahead and for the insert.
    fn retain_new<T: super::model::Listed>(&mut self, page: &mut Vec<T>) {
        let mut parsed = std::mem::take(&mut self.parsed);
        parsed.clear();
        parsed.extend(
            page.iter()
                .map(|g| crate::graph::model::guid_bits(g.listed_id())),
        );
        self.warm(&parsed);
        let mut next = parsed.iter();
        page.retain(|g| self.insert_parsed(next.next().copied().flatten(), g.listed_id()));
        self.parsed = parsed;
    }

    /// Read, ahead of the inserts, what a page's ids will look at: their buckets' tags and the
    /// slots they will be stored in. Each insert waits on a cache miss in a table of a million
    /// ids (perf: most of its time); read here, id after id, with nothing depending on the last
    /// read, the processor has many of them in flight at once instead of one. It changes
    /// nothing, so the inserts are right without it.
    fn warm(&self, parsed: &[Option<u128>]) {
        if self.buckets() < MAX_BUCKETS {
            // Small enough to stay in the cache.
            return;
        }
        let x = parsed.iter().flatten().fold(0u128, |x, &bits| {
            let (b, _) = Self::bucket(bits, self.shift);
            let len = usize::from(self.lens[b]).min(SLOTS - 1);
            x ^ u128::from(self.tags[b * 2]) ^ self.slots[b * SLOTS + len]
        });
        std::hint::black_box(x);
    }

    /// True when `id` was not seen before.
    #[cfg(test)]
    fn insert(&mut self, id: &str) -> bool {
        self.insert_parsed(crate::graph::model::guid_bits(id), id)
    }

    /// `SeenIds::insert` (in tests), with `id` already parsed (`bits`: its GUID, if it is one).
    fn insert_parsed(&mut self, bits: Option<u128>, id: &str) -> bool {
        let Some(bits) = bits else {
            return self.other.insert(id.to_string());
        };
        if self.lens.is_empty() {
            self.resize(FIRST_BUCKETS);
        }
        if !self.put(bits) {
            return false;
        }
        self.len += 1;
        if self.len > self.buckets() * GROW_AT && self.buckets() < MAX_BUCKETS {
            self.resize((self.buckets() * 4).min(MAX_BUCKETS));
        }
        true
    }

    /// Store `bits` unless it is there: true when it was not.
    fn put(&mut self, bits: u128) -> bool {
        let (b, tag) = Self::bucket(bits, self.shift);
        let len = usize::from(self.lens[b]);
        let at = b * SLOTS;
        for half in 0..2 {
            let mut same = zero_bytes(self.tags[b * 2 + half] ^ (ONES * u64::from(tag)))
                & first_bytes(len.saturating_sub(half * 8));
            while same != 0 {
                let i = half * 8 + same.trailing_zeros() as usize / 8;
                if self.slots[at + i] == bits {
                    return false;
                }
                same &= same - 1;
            }
        }
        if len < SLOTS {
            self.slots[at + len] = bits;
            self.tags[b * 2 + len / 8] |= u64::from(tag) << (8 * (len % 8));
            self.lens[b] += 1;
            true
        } else {
            self.spill.insert(bits)
        }
    }

    /// `count` buckets, every id moved to its new one.
    fn resize(&mut self, count: usize) {
        let old = std::mem::take(&mut self.slots);
        let lens = std::mem::take(&mut self.lens);
        let spill = std::mem::take(&mut self.spill);
        self.slots = vec![0; count * SLOTS];
        self.tags = vec![0; count * 2];
        self.lens = vec![0; count];
        self.shift = 64 - count.trailing_zeros();
        let kept = lens
            .iter()
            .enumerate()
            .flat_map(|(b, &len)| &old[b * SLOTS..][..usize::from(len)]);
        for &bits in kept.chain(&spill) {
            self.put(bits);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An emulated tenant of 4,500 groups (five pages) and a client of it.
    async fn tenant_of_4500() -> (crate::emulator::Emulator, GraphClient) {
        use crate::emulator::{Emulator, EmulatorConfig, Tenant};
        let emu = Emulator::start(
            Tenant::generate(4_500, 7),
            EmulatorConfig::default(),
            "127.0.0.1:0".parse().unwrap(),
        )
        .await
        .unwrap();
        let client = GraphClient::builder(
            emu.url(),
            std::sync::Arc::new(crate::auth::StaticToken::new("t")),
        )
        .build()
        .unwrap();
        (emu, client)
    }

    /// Two listings of five pages on one client: every group listed once each time, and no
    /// spare body kept once a listing is over.
    #[tokio::test]
    async fn page_bodies_are_freed_when_the_listing_ends() {
        let (_emu, client) = tenant_of_4500().await;
        for _ in 0..2 {
            let pages: Vec<_> = client
                .listed_pages::<crate::graph::model::Group>(crate::graph::groups::list_url(&client))
                .0
                .collect()
                .await;
            assert_eq!(pages.len(), 5);
            let groups: usize = pages.into_iter().map(|p| p.unwrap().len()).sum();
            assert_eq!(groups, 4_500);
            // The listing is over: its spares are freed.
            assert_eq!(client.spare_bodies(), 0);
        }
    }

    /// While a listing runs, the bodies it has parsed wait to be read into again, and each page
    /// handed back is the vector the next page is read into.
    #[tokio::test]
    async fn spare_bodies_wait_while_the_listing_runs() {
        let (_emu, client) = tenant_of_4500().await;
        let (pages, values) = client
            .listed_pages::<crate::graph::model::Group>(crate::graph::groups::list_url(&client));
        let mut pages = std::pin::pin!(pages);
        let mut spare = Vec::new();
        let mut vector = None;
        while let Some(p) = pages.next().await {
            let p = p.unwrap();
            assert_eq!(p.len(), 999.min(4_500 - 999 * spare.len()));
            spare.push(client.spare_bodies());
            if let Some(at) = vector {
                assert_eq!(
                    p.as_ptr(),
                    at,
                    "page {} has a vector of its own",
                    spare.len()
                );
            }
            vector = Some(p.as_ptr());
            values.give(p);
        }
        assert!(
            spare.iter().all(|&n| n <= crate::graph::SPARE_BODIES),
            "{spare:?}"
        );
        assert!(spare.iter().any(|&n| n > 0), "{spare:?}");
        // The listing has ended: its spares are gone with it.
        assert_eq!(client.spare_bodies(), 0);
    }

    #[test]
    fn the_table_grows_and_still_knows_every_id() {
        let mut s = SeenIds::default();
        let id = |i: u32| format!("{i:08x}-0000-4000-8000-000000000000");
        for i in 0..100_000 {
            assert!(s.insert(&id(i)), "{i}");
        }
        assert!(s.buckets() > FIRST_BUCKETS);
        assert!((0..100_000).step_by(7).all(|i| !s.insert(&id(i))));
        assert_eq!(s.len, 100_000);
    }

    /// Warming a full table reads ahead and changes nothing: what was seen is still seen, what
    /// was not is still new.
    #[test]
    fn warming_changes_nothing() {
        let mut s = SeenIds::default();
        let id = |i: u32| format!("{i:08x}-0000-4000-8000-{i:012x}");
        let n = (MAX_BUCKETS * 17) as u32;
        for i in 0..n {
            assert!(s.insert(&id(i)), "{i}");
        }
        assert_eq!(s.buckets(), MAX_BUCKETS);
        assert!(!s.spill.is_empty(), "some buckets are full");
        let page: Vec<String> = (n - 500..n + 500).map(id).chain(["a/b".into()]).collect();
        let parsed: Vec<Option<u128>> = page
            .iter()
            .map(|i| crate::graph::model::guid_bits(i))
            .collect();
        assert_eq!(parsed.iter().flatten().count(), 1000);
        s.warm(&parsed);
        let fresh: Vec<bool> = page.iter().map(|i| s.insert(i)).collect();
        assert!(fresh[..500].iter().all(|f| !f) && fresh[500..].iter().all(|f| *f));
        assert_eq!(s.len, n as usize + 500);
    }

    #[test]
    fn ids_are_seen_once_whatever_their_case() {
        let mut s = SeenIds::default();
        assert!(s.insert("0b1f5a6e-1111-4c1e-9e4f-000000000001"));
        assert!(!s.insert("0B1F5A6E-1111-4C1E-9E4F-000000000001"));
        assert!(s.insert("0b1f5a6e-1111-4c1e-9e4f-000000000002"));
        assert!(s.insert("a/b") && !s.insert("a/b"));
    }

    #[test]
    fn the_link_is_found_by_the_scan_as_the_parser_finds_it() {
        let cases: &[(&str, Option<Option<&str>>)] = &[
            (
                r#"{"@odata.context":"x","@odata.nextLink":"https://g/beta/groups?$skiptoken=a","value":[]}"#,
                Some(Some("https://g/beta/groups?$skiptoken=a")),
            ),
            (
                r#"{"value":[{"displayName":"\"@odata.nextLink\":\"https://evil/\"","n":[1,{"a":"]"}]}],"@odata.nextLink":"https:\/\/g\/next"}"#,
                Some(Some("https://g/next")),
            ),
            (r#" { "value" : [ ] } "#, Some(None)),
            (r#"{"@odata.nextLink":null,"value":[]}"#, Some(None)),
            (r#"{}"#, Some(None)),
            // Left to the full parse, which names the problem:
            (r#"{"@odata.nextLink":42,"value":[]}"#, None),
            (r#"{"value":[{"a":1}"#, None),
            (r#"{"value":[]} trailing"#, None),
            (r#"<html>bad gateway</html>"#, None),
            (r#""#, None),
        ];
        for (body, want) in cases {
            let got = top_level_next_link(body.as_bytes());
            assert_eq!(got, want.map(|l| l.map(String::from)), "{body}");
            if let Some(link) = got {
                let full: LinkOnly = serde_json::from_str(body).unwrap();
                assert_eq!(link, full.next_link, "the scan agrees with serde: {body}");
            }
        }
        // A second link is found by the consumer's parse of the whole page, which fails.
        let twice = r#"{"@odata.nextLink":"a","@odata.nextLink":"b","value":[]}"#;
        assert_eq!(
            top_level_next_link(twice.as_bytes()),
            Some(Some("a".into()))
        );
        let page = |body: &str| {
            let mut into = Vec::<serde_json::Value>::new();
            super::super::Json::Text(body).read(PageInto(&mut into))
        };
        assert!(page(twice).is_err());
        assert!(
            serde_json::from_str::<super::super::model::Page<serde_json::Value>>(twice).is_err()
        );
    }

    /// The tag search marks exactly the zero bytes among the filled ones: every byte value, at
    /// every place, beside zero and non-zero neighbours.
    #[test]
    fn tag_marks_are_exact() {
        let by_bytes = |w: u64, n: usize| -> u64 {
            (0..8)
                .filter(|&i| i < n && (w >> (8 * i)) as u8 == 0)
                .map(|i| 0x80u64 << (8 * i))
                .sum()
        };
        for at in 0..8 {
            for fill in [0u64, ONES, 0x0100_ff00_8001_0080] {
                for v in 0..=255u64 {
                    let w = (fill & !(0xff << (8 * at))) | (v << (8 * at));
                    for n in 0..=9 {
                        assert_eq!(zero_bytes(w) & first_bytes(n), by_bytes(w, n), "{w:x} {n}");
                    }
                }
            }
        }
    }

    #[test]
    fn ids_stay_seen_among_many() {
        // Sequential ids (not random): the hash must still spread them.
        let id = |n: u64| format!("00000000-0000-4000-8000-{n:012x}");
        let mut s = SeenIds::default();
        let n = 200_000u64;
        for i in 0..n {
            assert!(s.insert(&id(i)), "{i} is new");
        }
        let fullest = s.lens.iter().max().copied().unwrap();
        assert!(fullest < 16, "spread over the buckets: {fullest} in one");
        for i in (0..n).step_by(997) {
            assert!(!s.insert(&id(i)), "{i} was seen");
        }
        assert!(s.insert(&id(n)));
    }
}
