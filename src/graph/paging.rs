//! Follow `@odata.nextLink` as a stream of pages.
//!
//! The whole nextLink is followed as given (it carries the opaque `$skiptoken` and the other
//! query parameters); request headers such as `ConsistencyLevel` are sent again on every page,
//! because Graph does not carry them over. Paging stops at the first page without a nextLink,
//! and no request is made after it. A nextLink to another origin is refused before any token is
//! attached (see [`GraphClient::send`]); one that repeats an earlier link is a loop and an error.

use std::collections::HashSet;

use tracing::Instrument as _;

use futures_util::Stream;
use reqwest::Method;
use reqwest::header::HeaderName;
use serde::de::DeserializeOwned;
use url::Url;

use super::model::Page;
use super::{GraphClient, GraphError, GraphResponse, parse_json};

/// Only the link of a page: found without building the page's values, so the next page can be
/// requested while this one is being parsed.
#[derive(serde::Deserialize)]
struct LinkOnly {
    #[serde(rename = "@odata.nextLink", default)]
    next_link: Option<String>,
}

/// Aborts the page fetcher when the stream is dropped (a consumer that stops early).
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
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
    pub fn pages<T: DeserializeOwned>(
        &self,
        first: Url,
        headers: Vec<(HeaderName, String)>,
    ) -> impl Stream<Item = Result<Vec<T>, GraphError>> + 'static {
        let (tx, rx) = tokio::sync::mpsc::channel::<Result<(Url, GraphResponse), GraphError>>(1);
        let client = self.clone();
        let fetcher = tokio::spawn(
            async move {
                let mut next = Some(first);
                let mut seen = HashSet::new();
                while let Some(url) = next.take() {
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
        futures_util::stream::unfold((rx, AbortOnDrop(fetcher)), |(mut rx, guard)| async move {
            let item = rx.recv().await?;
            let page = item.and_then(|(url, resp)| {
                parse_json::<Page<T>>(&resp, "GET", url.path()).map(|p| p.value)
            });
            Some((page, (rx, guard)))
        })
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
        let link: LinkOnly = parse_json(&resp, "GET", url.path())?;
        let Some(link) = link.next_link else {
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
