//! JSON batching: up to 20 sub-requests per `POST /beta/$batch`, a bounded number of batches in
//! flight, every item's own status checked, and per-item retry.
//!
//! - The envelope is retried as a whole by the client's policy, here also on 500/502. An
//!   envelope answered 424 Failed Dependency (Graph's "Throttling and batching": a batch with a
//!   throttled request) carries each request's own answer: it is read like a 200, so the items
//!   that succeeded are kept and only the throttled ones are retried. Only a 424 whose body
//!   cannot be read sends the whole batch again.
//! - An item answered 429, 503, 504 or 424 is retried in a later round, after its own
//!   `Retry-After` (found in the item's headers whatever the name's case) or backoff. A 429 or
//!   503 with a Retry-After is retried for as long as the retry budget lasts, whatever the number
//!   of rounds; other retries stop at the policy's attempt limit, and fail with their last answer.
//!   A Retry-After beyond what is left of the budget fails the item at once.
//! - An item missing from the response is retried; an id we did not send is ignored with a
//!   warning, and a duplicate answer is ignored (the first counts).
//! - A writes pacer, when given, is asked for one permit per write before each batch is sent.
//! - `before_send` runs before each batch goes out (the journal writes and syncs there).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use futures_util::StreamExt;
use reqwest::Method;
use serde::Deserialize;
use serde_json::{Value, json};

use super::pace::Pacer;
use super::retry::parse_retry_after;
use super::{GraphClient, GraphError, parse_json};

/// Graph's limit.
pub(crate) const MAX_BATCH: usize = 20;

/// One sub-request. `url` is relative to the version root, e.g. `/groups/{id}`.
#[derive(Debug, Clone)]
pub struct SubRequest {
    /// The caller's handle; also the batch item id.
    pub key: usize,
    pub method: Method,
    pub url: String,
    pub body: Option<Value>,
    /// Request headers besides Content-Type (e.g. `ConsistencyLevel: eventual` for `$count`).
    pub headers: Vec<(&'static str, &'static str)>,
}

impl SubRequest {
    fn is_write(&self) -> bool {
        self.method != Method::GET
    }
}

/// What became of one sub-request.
#[derive(Debug, Clone, PartialEq)]
pub enum ItemOutcome {
    /// A 2xx, with its body (null for 204).
    Ok { status: u16, body: Value },
    /// A final error status (after retries for the retryable ones), or no answer at all.
    Failed(ItemError),
    /// The run was interrupted (Ctrl-C, SIGTERM) before this item got a final answer. `sent`:
    /// it went out at least once (its write may have been carried out); otherwise it was never
    /// sent.
    Stopped { sent: bool },
}

#[derive(Debug, Clone, PartialEq)]
pub struct ItemError {
    /// 0 when the item got no HTTP answer (the batch request itself failed).
    pub status: u16,
    pub code: String,
    pub message: String,
    pub request_id: Option<String>,
}

impl std::fmt::Display for ItemError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.status, self.code, self.message)?;
        if let Some(r) = &self.request_id {
            write!(f, " (request-id: {r})")?;
        }
        Ok(())
    }
}

#[derive(Clone)]
pub struct BatchOptions {
    /// Batches in flight at once.
    pub concurrency: usize,
    pub pacer: Option<Arc<Pacer>>,
    /// Asked before each batch and each retry round: true once the run should send nothing
    /// new (Ctrl-C). The caller decides what stopping means; Graph never reads a signal.
    pub stop: fn() -> bool,
}

impl Default for BatchOptions {
    fn default() -> Self {
        Self {
            concurrency: 4,
            pacer: None,
            stop: never,
        }
    }
}

/// The stop of a run that cannot be stopped early.
pub fn never() -> bool {
    false
}

/// How far a batched run got, shown by the caller (a bar on a terminal, or nothing): Graph
/// counts, it never draws.
pub trait Progress: Sync {
    /// `n` more items are done.
    fn advance(&self, n: u64);
    /// The run is over (a bar clears itself).
    fn done(&self) {}
}

/// No progress shown.
impl Progress for () {
    fn advance(&self, _: u64) {}
}

#[derive(Debug, Deserialize)]
struct BatchResponse {
    responses: Vec<BatchItem>,
}

#[derive(Debug, Deserialize)]
struct BatchItem {
    id: String,
    status: u16,
    #[serde(default)]
    headers: HashMap<String, Value>,
    #[serde(default)]
    body: Value,
}

fn item_retryable(status: u16) -> bool {
    matches!(status, 424 | 429 | 503 | 504)
}

fn item_error(status: u16, headers: &HashMap<String, Value>, body: &Value) -> ItemError {
    let err = &body["error"];
    let header_rid = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("request-id"))
        .and_then(|(_, v)| v.as_str().map(str::to_string));
    ItemError {
        status,
        code: err["code"].as_str().unwrap_or("unknown").to_string(),
        message: err["message"].as_str().unwrap_or("").to_string(),
        request_id: header_rid
            .or_else(|| err["innerError"]["request-id"].as_str().map(str::to_string)),
    }
}

/// Result of one batch: per key, a final outcome or a retry request with its wait.
enum Round {
    Final(ItemOutcome),
    Retry(Option<Duration>, ItemError),
}

/// Run the sub-requests `make(key)` for every key in `keys` (unique) as `$batch`es. Sub-requests are
/// built only when their batch is about to go out, so memory stays flat in the number of items.
/// `on_result` is called once per item with its final outcome. `before_send` is called with each
/// batch's items before it is sent; an error there stops the run before that batch (nothing
/// unrecorded is ever written).
// Long on purpose: the batch scheduler (rounds, concurrency, pacing permits, per-item retry,
// the stop on a signal) is one state machine; split, its invariants would span functions.
pub async fn run<M, B, R>(
    client: &GraphClient,
    keys: Vec<usize>,
    make: M,
    opts: &BatchOptions,
    before_send: B,
    mut on_result: R,
) -> anyhow::Result<()>
where
    M: Fn(usize) -> SubRequest + Sync,
    B: Fn(&[SubRequest]) -> std::io::Result<()> + Sync,
    R: FnMut(&SubRequest, ItemOutcome),
{
    let policy = client.retry_policy().clone();
    let mut pending = keys;
    let mut attempt: u32 = 0;
    // The waits between rounds, against the policy's budget.
    let mut waited = Duration::ZERO;
    while !pending.is_empty() {
        attempt += 1;
        let mut retry = Vec::new();
        let mut wait = Duration::ZERO;
        {
            let mut results = futures_util::stream::iter(pending.chunks(MAX_BATCH).map(|keys| {
                let (make, before_send) = (&make, &before_send);
                async move {
                    let chunk: Vec<SubRequest> = keys.iter().map(|&k| make(k)).collect();
                    let outcome = send_paced(client, opts, &chunk, before_send).await?;
                    anyhow::Ok((chunk, outcome))
                }
            }))
            .buffer_unordered(opts.concurrency.max(1));

            while let Some(r) = results.next().await {
                let (chunk, outcome) = r?;
                let Some(mut outcome) = outcome else {
                    for req in &chunk {
                        on_result(req, ItemOutcome::Stopped { sent: attempt > 1 });
                    }
                    continue;
                };
                for req in chunk {
                    match outcome.remove(&req.key) {
                        Some(Round::Final(o)) => on_result(&req, o),
                        // Throttling with a Retry-After is waited out for as long as the budget
                        // allows, whatever the number of rounds; other retries get at most
                        // max_attempts.
                        Some(Round::Retry(ra, e))
                            if policy.allows_another(attempt, Some(e.status), ra.is_some()) =>
                        {
                            match next_round(&policy, attempt, waited, ra, e) {
                                Ok(w) => {
                                    wait = wait.max(w);
                                    retry.push(req.key);
                                }
                                Err(e) => on_result(&req, ItemOutcome::Failed(e)),
                            }
                        }
                        Some(Round::Retry(_, e)) => on_result(&req, ItemOutcome::Failed(e)),
                        None => unreachable!("send_batch answers every key once"),
                    }
                }
            }
        }
        if !retry.is_empty() && (opts.stop)() {
            // No further rounds: each item went out at least once.
            for &k in &retry {
                on_result(&make(k), ItemOutcome::Stopped { sent: true });
            }
            return Ok(());
        }
        if !retry.is_empty() {
            // At least a quarter second a round, slept and charged, so `Retry-After: 0` neither
            // hammers a throttling Graph nor goes on for ever.
            let wait = super::retry::RetryPolicy::charge(wait);
            tracing::warn!(
                items = retry.len(),
                attempt,
                wait_ms = wait.as_millis() as u64,
                "retrying batch items"
            );
            client.sleeper().sleep(wait).await;
            waited += wait;
        }
        pending = retry;
    }
    Ok(())
}

/// Send one batch once the pacers allow its writes, after `before_send` recorded it; `None`
/// when the run was asked to stop (nothing new goes out; the batches already sent finish).
async fn send_paced<B>(
    client: &GraphClient,
    opts: &BatchOptions,
    chunk: &[SubRequest],
    before_send: &B,
) -> anyhow::Result<Option<HashMap<usize, Round>>>
where
    B: Fn(&[SubRequest]) -> std::io::Result<()> + Sync,
{
    if (opts.stop)() {
        return Ok(None);
    }
    before_send(chunk)
        .map_err(|e| anyhow::anyhow!("cannot record the batch before sending it: {e}"))?;
    let writes = chunk.iter().filter(|r| r.is_write()).count() as u32;
    if writes > 0 {
        if let Some(p) = &opts.pacer {
            p.acquire(writes).await;
        }
        client.shared_write_permit(writes).await;
    }
    Ok(Some(send_batch(client, chunk).await))
}

/// How long to wait before retrying an item Graph asked to retry, or its failure now: never
/// sleep past the budget (a Retry-After of a day, or a date in 2100, would hold the run lock
/// for that long), give up at once and say why.
fn next_round(
    policy: &super::retry::RetryPolicy,
    attempt: u32,
    waited: Duration,
    retry_after: Option<Duration>,
    e: ItemError,
) -> Result<Duration, ItemError> {
    let w = retry_after.unwrap_or_else(|| policy.backoff(attempt - 1));
    if waited + w <= policy.budget {
        return Ok(w);
    }
    let left = policy.budget.saturating_sub(waited);
    let e = ItemError {
        message: format!(
            "Graph asked to wait {:.1} s before retrying (Retry-After), more than the {:.1} s left of the retry budget ({} s); gave up at once: {}",
            w.as_secs_f64(),
            left.as_secs_f64(),
            policy.budget.as_secs(),
            e.message
        ),
        ..e
    };
    tracing::warn!("{}", e.message);
    Err(e)
}

/// Send one batch (with the client's envelope retry) and classify every item.
// Long on purpose: one match over every answer a `$batch` envelope can get (2xx, 424, throttled,
// malformed), each item classified in one place.
async fn send_batch(client: &GraphClient, chunk: &[SubRequest]) -> HashMap<usize, Round> {
    let requests: Vec<Value> = chunk
        .iter()
        .map(|r| {
            let mut v = json!({"id": r.key.to_string(), "method": r.method.as_str(), "url": r.url});
            let mut headers = serde_json::Map::new();
            if let Some(b) = &r.body {
                v["body"] = b.clone();
                headers.insert("Content-Type".into(), json!("application/json"));
            }
            for (name, value) in &r.headers {
                headers.insert((*name).into(), json!(value));
            }
            if !headers.is_empty() {
                v["headers"] = Value::Object(headers);
            }
            v
        })
        .collect();
    let body = json!({ "requests": requests });
    let url = client.url("$batch");
    let no_answer = |e: &GraphError| {
        Round::Final(ItemOutcome::Failed(ItemError {
            status: e.status().unwrap_or(0),
            code: "batchFailed".into(),
            message: format!("the $batch request failed: {e}"),
            request_id: None,
        }))
    };
    let parsed = match client
        .send_retrying(
            Method::POST,
            url.clone(),
            &[],
            Some(&body),
            &[500, 502],
            &[424],
        )
        .await
    {
        // 424 Failed Dependency: Graph's throttling page says a batch with a throttled request
        // may answer so as a whole, with every request's own answer in the body. Those answers
        // are read like any batch's: successes kept, throttled items retried after their own
        // Retry-After. Only a 424 whose body cannot be read makes the whole batch go again.
        Ok(resp) if resp.status.as_u16() == 424 => {
            match parse_json::<BatchResponse>(&resp, "POST", url.path()) {
                Ok(r) => {
                    tracing::info!(
                        items = chunk.len(),
                        "the batch answered 424 (a request in it was throttled); reading each item's own answer"
                    );
                    Ok(r)
                }
                Err(e) => {
                    tracing::warn!(
                        "the batch answered 424 with a body gwb cannot read; sending the whole batch again: {e}"
                    );
                    let ra = super::header_str(&resp.headers, "retry-after")
                        .and_then(|v| parse_retry_after(&v, SystemTime::now()));
                    return chunk
                        .iter()
                        .map(|r| {
                            (
                                r.key,
                                Round::Retry(
                                    ra,
                                    ItemError {
                                        status: 424,
                                        code: "failedDependency".into(),
                                        message: format!(
                                            "the $batch answered 424 with an unreadable body: {e}"
                                        ),
                                        request_id: resp.request_id.clone(),
                                    },
                                ),
                            )
                        })
                        .collect();
                }
            }
        }
        Ok(resp) => parse_json::<BatchResponse>(&resp, "POST", url.path()),
        Err(e) => Err(e),
    };
    let resp = match parsed {
        Ok(r) => r,
        Err(e) => {
            tracing::warn!("batch of {} items failed: {e}", chunk.len());
            return chunk.iter().map(|r| (r.key, no_answer(&e))).collect();
        }
    };
    let keys: Vec<usize> = chunk.iter().map(|r| r.key).collect();
    classify(&keys, resp)
}

/// Each sent key's round, from a parsed batch response: a final outcome, or a retry (throttled,
/// or no answer at all). Answers for ids that were not sent, and second answers for one id, are
/// ignored.
fn classify(keys: &[usize], resp: BatchResponse) -> HashMap<usize, Round> {
    let mut out: HashMap<usize, Round> = HashMap::with_capacity(keys.len());
    for item in resp.responses {
        let Some(key) = item.id.parse::<usize>().ok().filter(|k| keys.contains(k)) else {
            tracing::warn!(id = %item.id, "ignoring a batch response for an id that was not sent");
            continue;
        };
        if out.contains_key(&key) {
            tracing::warn!(id = %item.id, "ignoring a duplicate batch response");
            continue;
        }
        let round = if (200..300).contains(&item.status) {
            Round::Final(ItemOutcome::Ok {
                status: item.status,
                body: item.body,
            })
        } else if item_retryable(item.status) {
            let ra = item
                .headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case("retry-after"))
                .and_then(|(_, v)| match v {
                    Value::String(s) => parse_retry_after(s, SystemTime::now()),
                    Value::Number(n) => n
                        .as_f64()
                        .and_then(|f| parse_retry_after(&f.to_string(), SystemTime::now())),
                    _ => None,
                });
            Round::Retry(ra, item_error(item.status, &item.headers, &item.body))
        } else {
            Round::Final(ItemOutcome::Failed(item_error(
                item.status,
                &item.headers,
                &item.body,
            )))
        };
        out.insert(key, round);
    }
    for &key in keys {
        out.entry(key).or_insert_with(|| {
            Round::Retry(
                None,
                ItemError {
                    status: 0,
                    code: "missingFromBatchResponse".into(),
                    message: "the $batch response had no answer for this item".into(),
                    request_id: None,
                },
            )
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn answer(id: String, status: u16) -> BatchItem {
        BatchItem {
            id,
            status,
            headers: HashMap::new(),
            body: Value::Null,
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        /// Whatever comes back (missing, duplicate, unknown or garbage ids, any status), every
        /// key sent gets exactly one round, decided by the first answer for it.
        #[test]
        fn every_sent_item_gets_exactly_one_round(
            n in 1usize..=20,
            answers in proptest::collection::vec((0usize..40, 100u16..600, any::<bool>()), 0..50),
        ) {
            let keys: Vec<usize> = (0..n).collect();
            let items: Vec<BatchItem> = answers
                .iter()
                .map(|&(id, status, garbage)| {
                    answer(if garbage { format!("x{id}") } else { id.to_string() }, status)
                })
                .collect();
            let first: HashMap<usize, u16> = answers.iter().rev()
                .filter(|(id, _, garbage)| !garbage && *id < n)
                .map(|&(id, status, _)| (id, status))
                .collect();
            let out = classify(&keys, BatchResponse { responses: items });
            prop_assert_eq!(out.len(), n);
            for k in &keys {
                match (out.get(k).unwrap(), first.get(k)) {
                    (Round::Final(ItemOutcome::Ok { status, .. }), Some(s)) => {
                        prop_assert!((200..300).contains(s));
                        prop_assert_eq!(status, s);
                    }
                    (Round::Final(ItemOutcome::Failed(e)), Some(s)) => {
                        prop_assert_eq!(e.status, *s);
                        prop_assert!(!(200..300).contains(s) && !item_retryable(*s));
                    }
                    (Round::Retry(_, e), Some(s)) => {
                        prop_assert!(item_retryable(*s));
                        prop_assert_eq!(e.status, *s);
                    }
                    (Round::Retry(None, e), None) => {
                        prop_assert_eq!(e.code.as_str(), "missingFromBatchResponse");
                    }
                    (Round::Final(ItemOutcome::Stopped { .. }), _) => {
                        prop_assert!(false, "classify never stops an item")
                    }
                    (_, None) => prop_assert!(false, "an unanswered item must be retried"),
                }
            }
        }

        /// A batch envelope of any shape parses or is an error; it never panics.
        #[test]
        fn any_envelope_parses_or_errors(text in ".{0,200}") {
            let _ = serde_json::from_str::<BatchResponse>(&text);
        }
    }
}
