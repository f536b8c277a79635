//! The groups endpoints gwb uses, as typed requests: commands say what they want (list the
//! groups, read or patch one group's writeback, count members); the routes, methods and bodies
//! live here.

use reqwest::Method;
use serde_json::{Value, json};
use url::Url;

use super::GraphClient;
use super::batch::{self, BatchOptions, ItemError, ItemOutcome, Progress, SubRequest};
use super::paging::SpareValues;
use serde::de::DeserializeOwned;

use super::model::{
    GROUP_SELECT, Group, GroupId, Listed, REVIEW_SELECT, ReviewedGroup, WritebackConfiguration,
};

/// The listing of every group with the properties gwb needs, 999 per page.
pub(crate) fn list_url(client: &GraphClient) -> Url {
    list_url_selecting(client, GROUP_SELECT)
}

/// The listing of every group with `select`, 999 per page.
pub(crate) fn list_url_selecting(client: &GraphClient, select: &str) -> Url {
    let mut url = client.url("groups");
    url.query_pairs_mut()
        .append_pair("$select", select)
        .append_pair("$top", "999");
    url
}

/// Every group, page by page as Graph sends them (the next page is fetched while this one is
/// handled), each handed to `each`; the first error (Graph's, as "listing groups", or the
/// callback's) ends the listing. Graph's errors keep their type for the exit code.
///
/// `ready` is awaited (once) before the groups of the second page are handed on: a caller that
/// holds the first page's groups until something else is known never holds more than a page,
/// whatever the order the answers come in (`std::future::ready(())` for none).
pub(crate) async fn for_each_when(
    client: &GraphClient,
    ready: impl std::future::Future<Output = ()>,
    mut each: impl FnMut(&Group) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let (stream, spare) = client.listed_pages::<Group>(list_url_selecting(client, GROUP_SELECT));
    each_in_when(stream, &spare, Some(ready), &mut each).await
}

/// [`for_each_when`] with what a review plan reads of each group ([`REVIEW_SELECT`]).
pub(crate) async fn for_each_reviewed(
    client: &GraphClient,
    each: impl FnMut(&ReviewedGroup) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    for_each_of(client, REVIEW_SELECT, each).await
}

async fn for_each_of<T: DeserializeOwned + Listed + 'static>(
    client: &GraphClient,
    select: &str,
    mut each: impl FnMut(&T) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let (stream, spare) = client.listed_pages::<T>(list_url_selecting(client, select));
    each_in(stream, &spare, &mut each).await
}

/// The one page loop of group listings: each group of each page handed to `each`; the first
/// error (Graph's, as "listing groups", or the callback's) ends the listing, Graph's keeping
/// their type for the exit code. Each page is handed back through `spare`, its items in it,
/// for the next page to be read into (over them: see [`super::fast::page_into`]); an item
/// `each` needs past its call, it copies.
async fn each_in<T>(
    stream: impl futures_util::Stream<Item = Result<Vec<T>, super::GraphError>>,
    spare: &SpareValues<T>,
    each: &mut impl FnMut(&T) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    each_in_when(stream, spare, None::<std::future::Ready<()>>, each).await
}

/// [`each_in`], awaiting `ready` before the second page's items are handed on.
async fn each_in_when<T>(
    stream: impl futures_util::Stream<Item = Result<Vec<T>, super::GraphError>>,
    spare: &SpareValues<T>,
    ready: Option<impl std::future::Future<Output = ()>>,
    each: &mut impl FnMut(&T) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    futures_util::pin_mut!(stream);
    let mut ready = ready.map(Box::pin);
    let mut pages = 0u64;
    while let Some(page) = futures_util::StreamExt::next(&mut stream).await {
        let page = page.map_err(|e| anyhow::Error::new(e).context("listing groups"))?;
        if pages == 1
            && let Some(r) = ready.take()
        {
            r.await;
        }
        pages += 1;
        tracing::debug!(pages, groups = page.len(), "read a page of groups");
        for g in &page {
            each(g)?;
        }
        spare.give(page);
    }
    Ok(())
}

/// Every group as the listing's pages give it, without the check that each is listed once
/// (which keeps 16 bytes per group): for reads that only look groups up by id, where a group
/// listed twice is looked up twice, harmlessly. Paging loops are still caught by the repeated
/// link and `--max-pages`.
pub(crate) async fn for_each_listed(
    client: &GraphClient,
    mut each: impl FnMut(&Group) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let (stream, spare) =
        client.pages_recycling::<Group>(list_url(client), Vec::new(), Group::read_page);
    each_in(stream, &spare, &mut each).await
}

/// The groups endpoints as a handler (`client.groups()`): the `$batch`ing of reads and writes
/// and the parsing of their answers live here; callers name groups by [`GroupId`] and get
/// typed answers, and never build a sub-request or call `batch::run`.
pub(crate) struct Groups<'c> {
    client: &'c GraphClient,
}

impl GraphClient {
    pub(crate) fn groups(&self) -> Groups<'_> {
        Groups { client: self }
    }
}

/// One group as a batched read found it.
#[derive(Debug)]
pub(crate) enum GroupRead {
    /// The group, with a readable `writebackConfiguration`.
    Found(Box<Group>),
    /// Graph answered 404.
    Deleted(ItemError),
    /// Any other failure, an answer without a readable writeback, or a stopped run.
    Unreadable(ItemError),
}

impl Groups<'_> {
    /// Read each of `ids` (its writeback and kind), 20 to a `$batch`, telling `progress`; the
    /// answer for each, by its index in `ids`.
    pub(crate) async fn read_writeback(
        &self,
        ids: &[GroupId],
        opts: &BatchOptions,
        progress: &dyn Progress,
    ) -> anyhow::Result<Vec<(usize, GroupRead)>> {
        let mut out = Vec::with_capacity(ids.len());
        batch::run(
            self.client,
            (0..ids.len()).collect(),
            |key| get(key, &ids[key]),
            opts,
            |_| Ok(()),
            |req, outcome| {
                out.push((req.key, GroupRead::of(outcome)));
                progress.advance(1);
            },
        )
        .await?;
        progress.done();
        Ok(out)
    }

    /// PATCH the writeback of `count` groups (`target(k)` names the k-th and its new state),
    /// 20 to a `$batch`. `before_send` sees the keys of each batch just before it goes (where
    /// the journal records them); an error from it sends nothing more. `on_result` gets each
    /// answer.
    pub(crate) async fn patch_writeback<'t>(
        &self,
        count: usize,
        target: impl Fn(usize) -> (&'t GroupId, &'t WritebackConfiguration) + Sync,
        opts: &BatchOptions,
        before_send: impl Fn(&[usize]) -> std::io::Result<()> + Sync,
        mut on_result: impl FnMut(usize, ItemOutcome),
    ) -> anyhow::Result<()> {
        batch::run(
            self.client,
            (0..count).collect(),
            |key| {
                let (id, to) = target(key);
                patch_writeback(key, id, to)
            },
            opts,
            |chunk| before_send(&chunk.iter().map(|r| r.key).collect::<Vec<_>>()),
            |req, outcome| on_result(req.key, outcome),
        )
        .await
    }
}

impl GroupRead {
    fn of(outcome: ItemOutcome) -> GroupRead {
        match outcome {
            ItemOutcome::Ok { body, .. } => match serde_json::from_value::<Group>(body) {
                Ok(g) if g.writeback_configuration.is_some() => GroupRead::Found(Box::new(g)),
                Ok(_) | Err(_) => GroupRead::Unreadable(ItemError {
                    status: 200,
                    code: "malformedGroup".into(),
                    message: "the group came back without a readable writebackConfiguration".into(),
                    request_id: None,
                }),
            },
            ItemOutcome::Failed(e) if e.status == 404 => GroupRead::Deleted(e),
            ItemOutcome::Failed(e) => GroupRead::Unreadable(e),
            ItemOutcome::Stopped { .. } => GroupRead::Unreadable(ItemError {
                status: 0,
                code: "interrupted".into(),
                message: "not read: the run was interrupted".into(),
                request_id: None,
            }),
        }
    }
}

/// `$batch` item: read one group (its writeback and kind).
pub(crate) fn get(key: usize, id: &GroupId) -> SubRequest {
    SubRequest {
        key,
        method: Method::GET,
        url: format!("/groups/{id}?$select={GROUP_SELECT}"),
        body: None,
        headers: Vec::new(),
    }
}

/// `$batch` item: set one group's `writebackConfiguration` to `to` (both fields, as read just
/// before: see `commands::apply` for why).
pub(crate) fn patch_writeback(key: usize, id: &GroupId, to: &WritebackConfiguration) -> SubRequest {
    SubRequest {
        key,
        method: Method::PATCH,
        url: format!("/groups/{id}"),
        body: Some(json!({"writebackConfiguration": {
            "isEnabled": to.is_enabled,
            "onPremisesGroupType": to.on_premises_group_type,
        }})),
        headers: Vec::new(),
    }
}

/// `$batch` item: count one group's members (`ConsistencyLevel: eventual` is required).
pub(crate) fn member_count(key: usize, id: &GroupId) -> SubRequest {
    SubRequest {
        key,
        method: Method::GET,
        url: format!("/groups/{id}/members/$count"),
        body: None,
        headers: vec![("ConsistencyLevel", "eventual")],
    }
}

/// `$batch` item: count one group's owners (`ConsistencyLevel: eventual`, as for members).
pub(crate) fn owner_count(key: usize, id: &GroupId) -> SubRequest {
    SubRequest {
        key,
        method: Method::GET,
        url: format!("/groups/{id}/owners/$count"),
        body: None,
        headers: vec![("ConsistencyLevel", "eventual")],
    }
}

/// Run `$count` requests (`make` builds the one for each key) 20 to a `$batch`, telling
/// `progress` as they come; each key's count, or why there is none (a failed item, an
/// answer that is not a count, an interrupted run).
pub(crate) async fn counts(
    client: &GraphClient,
    keys: Vec<usize>,
    make: impl Fn(usize) -> SubRequest + Sync,
    progress: &dyn Progress,
) -> anyhow::Result<Vec<(usize, Result<u64, String>)>> {
    let read = reads(client, keys, make, parse_count, progress).await?;
    Ok(read
        .into_iter()
        .map(|(k, r)| (k, r.map_err(|e| e.to_string())))
        .collect())
}

/// Why a batched read gave nothing.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum ReadError {
    /// Graph answered the item with an error (its status says whether a permission is missing).
    Failed(super::batch::ItemError),
    /// The answer was not of the expected shape.
    Unexpected(String),
    Interrupted,
}

impl std::fmt::Display for ReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReadError::Failed(e) => write!(f, "{e}"),
            ReadError::Unexpected(body) => write!(f, "unexpected answer: {body}"),
            ReadError::Interrupted => write!(f, "not read: interrupted"),
        }
    }
}

impl ReadError {
    pub(crate) fn is_auth(&self) -> bool {
        matches!(self, ReadError::Failed(e) if matches!(e.status, 401 | 403))
    }
}

/// Run read requests (`make` builds the one for each key) 20 to a `$batch`, telling
/// `progress` as they come; each key's answer as `parse` reads it, or why there is none.
pub(crate) async fn reads<T>(
    client: &GraphClient,
    keys: Vec<usize>,
    make: impl Fn(usize) -> SubRequest + Sync,
    parse: impl Fn(&Value) -> Option<T>,
    progress: &dyn Progress,
) -> anyhow::Result<Vec<(usize, Result<T, ReadError>)>> {
    let mut outcomes = Vec::with_capacity(keys.len());
    batch::run(
        client,
        keys,
        make,
        &BatchOptions::default(),
        |_| Ok(()),
        |req, outcome| {
            progress.advance(1);
            let read = match outcome {
                ItemOutcome::Ok { body, .. } => {
                    parse(&body).ok_or_else(|| ReadError::Unexpected(body.to_string()))
                }
                ItemOutcome::Failed(e) => Err(ReadError::Failed(e)),
                ItemOutcome::Stopped { .. } => Err(ReadError::Interrupted),
            };
            outcomes.push((req.key, read));
        },
    )
    .await?;
    progress.done();
    Ok(outcomes)
}

/// `$batch` item: a group's `onPremisesSyncBehavior` (beta; needs
/// `Group-OnPremisesSyncBehavior.ReadWrite.All`, the only permission the reference lists).
pub(crate) fn sync_behavior(key: usize, id: &GroupId) -> SubRequest {
    SubRequest {
        key,
        method: Method::GET,
        url: format!("/groups/{id}/onPremisesSyncBehavior"),
        body: None,
        headers: Vec::new(),
    }
}

/// `isCloudManaged` from an `onPremisesSyncBehavior` answer: the resource itself, or, as the
/// reference's own example shows it, wrapped in `value`.
pub(crate) fn parse_cloud_managed(body: &Value) -> Option<bool> {
    body.get("isCloudManaged")
        .or_else(|| body.get("value").and_then(|v| v.get("isCloudManaged")))
        .and_then(Value::as_bool)
}

/// A `$count` answer inside `$batch`: the text/plain integer, which may arrive as a JSON
/// number, a string, or base64 of the text (how Graph carries non-JSON bodies in a batch).
pub(crate) fn parse_count(body: &Value) -> Option<u64> {
    match body {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok().or_else(|| {
            let bytes = azure_core::base64::decode(s.trim()).ok()?;
            std::str::from_utf8(&bytes).ok()?.trim().parse().ok()
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The second page is handed on only once `ready` is done, and the first before it: a
    /// caller holding the first page's items until then holds at most a page.
    #[tokio::test]
    async fn the_second_page_waits_for_ready() {
        let pages: Vec<Result<Vec<u32>, super::super::GraphError>> =
            vec![Ok(vec![1, 2]), Ok(vec![3]), Ok(vec![4])];
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let seen = std::sync::Mutex::new(Vec::new());
        let ready = async {
            // When ready is first polled, exactly the first page has been handed on.
            assert_eq!(*seen.lock().unwrap(), vec![1, 2]);
            rx.await.unwrap();
        };
        let mut each = |&n: &u32| {
            seen.lock().unwrap().push(n);
            Ok(())
        };
        let spare = SpareValues::default();
        let listing = each_in_when(
            futures_util::stream::iter(pages),
            &spare,
            Some(ready),
            &mut each,
        );
        let release = async {
            tokio::task::yield_now().await;
            assert_eq!(*seen.lock().unwrap(), vec![1, 2], "page 2 waits");
            tx.send(()).unwrap();
        };
        let (r, ()) = tokio::join!(listing, release);
        r.unwrap();
        assert_eq!(*seen.lock().unwrap(), vec![1, 2, 3, 4]);
    }

    #[test]
    fn is_cloud_managed_reads_bare_or_wrapped() {
        use serde_json::json;
        assert_eq!(
            parse_cloud_managed(&json!({"id": "x", "isCloudManaged": true})),
            Some(true)
        );
        assert_eq!(
            parse_cloud_managed(&json!({"value": {"id": "x", "isCloudManaged": false}})),
            Some(false)
        );
        assert_eq!(
            parse_cloud_managed(&json!({"isCloudManaged": "true"})),
            None
        );
        assert_eq!(parse_cloud_managed(&json!({})), None);
    }

    #[test]
    fn counts_arrive_as_numbers_strings_or_base64() {
        assert_eq!(parse_count(&serde_json::json!(1234)), Some(1234));
        assert_eq!(parse_count(&serde_json::json!("51000")), Some(51_000));
        assert_eq!(parse_count(&serde_json::json!("NTEwMDA=")), Some(51_000));
        assert_eq!(parse_count(&serde_json::json!("not a count")), None);
        assert_eq!(parse_count(&serde_json::json!(-1)), None);
        assert_eq!(parse_count(&serde_json::json!({"value": 1})), None);
    }

    proptest! {
        /// `$count` answers: never a panic; every non-negative integer reads back in all three
        /// forms.
        #[test]
        fn member_counts_parse(n in any::<u64>(), junk in ".{0,20}") {
            prop_assert_eq!(parse_count(&serde_json::json!(n)), Some(n));
            prop_assert_eq!(parse_count(&serde_json::json!(n.to_string())), Some(n));
            let b64 = azure_core::base64::encode(n.to_string());
            prop_assert_eq!(parse_count(&serde_json::json!(b64)), Some(n));
            let _ = parse_count(&serde_json::json!(junk));
        }
    }
}
