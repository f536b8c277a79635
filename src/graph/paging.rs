//! Follow `@odata.nextLink` as a stream of pages.
//!
//! The whole nextLink is followed as given (it carries the opaque `$skiptoken` and the other
//! query parameters); request headers such as `ConsistencyLevel` are sent again on every page,
//! because Graph does not carry them over. Paging stops at the first page without a nextLink,
//! and no request is made after it. A nextLink to another origin is refused before any token is
//! attached (see [`GraphClient::send`]); one that repeats an earlier link is a loop and an error.

use std::collections::HashSet;

use futures_util::Stream;
use reqwest::Method;
use reqwest::header::HeaderName;
use serde::de::DeserializeOwned;
use url::Url;

use super::model::Page;
use super::{GraphClient, GraphError, parse_json};

impl GraphClient {
    /// Stream the pages of a collection starting at `first`. Each item is one page's values;
    /// the raw body is dropped as soon as it is parsed.
    pub fn pages<T: DeserializeOwned>(
        &self,
        first: Url,
        headers: Vec<(HeaderName, String)>,
    ) -> impl Stream<Item = Result<Vec<T>, GraphError>> + '_ {
        struct State {
            next: Option<Url>,
            seen: HashSet<String>,
            headers: Vec<(HeaderName, String)>,
        }
        let state = State {
            next: Some(first),
            seen: HashSet::new(),
            headers,
        };
        futures_util::stream::try_unfold(state, move |mut st| async move {
            let Some(url) = st.next.take() else {
                return Ok(None);
            };
            if !st.seen.insert(url.as_str().to_string()) {
                return Err(GraphError::PagingLoop {
                    url: url.to_string(),
                });
            }
            let hdrs: Vec<(HeaderName, &str)> = st
                .headers
                .iter()
                .map(|(n, v)| (n.clone(), v.as_str()))
                .collect();
            let resp = self.send(Method::GET, url.clone(), &hdrs, None).await?;
            let page: Page<T> = parse_json(&resp, "GET", url.path())?;
            if let Some(link) = page.next_link {
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
                st.next = Some(next);
            }
            Ok(Some((page.value, st)))
        })
    }
}
