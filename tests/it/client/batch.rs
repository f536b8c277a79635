//! `$batch` edge cases against wiremock: per-item throttling with its own Retry-After, failed
//! envelopes, missing, unknown and duplicate ids, and answers in any order.

use crate::support::GraphMock;
use std::sync::Mutex;
use std::time::Duration;

use gwb::graph::batch::{self, BatchOptions, ItemOutcome, SubRequest};
use reqwest::Method;
use serde_json::{Value, json};
use wiremock::{MockServer, Request, Respond, ResponseTemplate};

use crate::support::{catch_all, json_status};

fn patches(n: usize) -> Vec<SubRequest> {
    (0..n)
        .map(|key| SubRequest {
            key,
            method: Method::PATCH,
            url: format!("/groups/0b1f5a6e-1111-4c1e-9e4f-{key:012}"),
            body: Some(json!({"writebackConfiguration": {"isEnabled": false}})),
            headers: Vec::new(),
        })
        .collect()
}

/// Answers each batch by a script: a function of (call number, request ids) to the responses.
struct Scripted<F: Fn(usize, &[String]) -> ResponseTemplate + Send + Sync> {
    calls: Mutex<usize>,
    seen: Mutex<Vec<Vec<String>>>,
    f: F,
}

impl<F: Fn(usize, &[String]) -> ResponseTemplate + Send + Sync> Respond for Scripted<F> {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        let body: Value = serde_json::from_slice(&req.body).unwrap();
        let ids: Vec<String> = body["requests"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["id"].as_str().unwrap().to_string())
            .collect();
        assert!(ids.len() <= 20, "at most 20 per batch");
        for r in body["requests"].as_array().unwrap() {
            assert!(
                r["url"].as_str().unwrap().starts_with("/groups/"),
                "urls are relative to the version root"
            );
            assert_eq!(r["headers"]["Content-Type"], "application/json");
        }
        let mut n = self.calls.lock().unwrap();
        *n += 1;
        self.seen.lock().unwrap().push(ids.clone());
        (self.f)(*n, &ids)
    }
}

fn ok(responses: Vec<Value>) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({ "responses": responses }))
}

fn item(id: &str, status: u16) -> Value {
    json!({"id": id, "status": status, "headers": {}})
}

async fn run_batch(server: &MockServer, n: usize) -> (Vec<(usize, ItemOutcome)>, Vec<Duration>) {
    run_batch_with(server, n, gwb::graph::retry::RetryPolicy::default()).await
}

async fn run_batch_with(
    server: &MockServer,
    n: usize,
    policy: gwb::graph::retry::RetryPolicy,
) -> (Vec<(usize, ItemOutcome)>, Vec<Duration>) {
    let (c, waits) = crate::support::client_with(&server.uri(), policy);
    let mut results = Vec::new();
    let opts = BatchOptions {
        concurrency: 2,
        pacer: None,
        ..Default::default()
    };
    let reqs = patches(n);
    batch::run(
        &c,
        (0..n).collect(),
        |k| reqs[k].clone(),
        &opts,
        |_| Ok(()),
        |r, o| results.push((r.key, o)),
    )
    .await
    .unwrap();
    results.sort_by_key(|(k, _)| *k);
    let w = waits.lock().unwrap().clone();
    (results, w)
}

#[tokio::test]
async fn throttled_items_are_retried_after_their_own_retry_after_and_order_does_not_matter() {
    let server_mock = GraphMock::start().await;
    let server = &server_mock.server;
    let responder = Scripted {
        calls: Mutex::new(0),
        seen: Mutex::new(vec![]),
        f: |call, ids: &[String]| {
            let mut rs: Vec<Value> = ids
                .iter()
                .map(|id| {
                    if call == 1 && id == "1" {
                        // lower-case header name, fractional seconds
                        json!({"id": id, "status": 429, "headers": {"retry-after": "1.5"}, "body": {"error": {"code": "TooManyRequests", "message": "slow down"}}})
                    } else if call == 1 && id == "2" {
                        json!({"id": id, "status": 503, "headers": {"Retry-After": "3"}})
                    } else {
                        item(id, 204)
                    }
                })
                .collect();
            rs.reverse();
            ok(rs)
        },
    };
    server_mock
        .on("POST", "/beta/$batch")
        .expect(2)
        .with(responder)
        .await;
    catch_all(server).await;
    let (results, waits) = run_batch(server, 5).await;
    assert_eq!(results.len(), 5);
    assert!(
        results
            .iter()
            .all(|(_, o)| matches!(o, ItemOutcome::Ok { status: 204, .. })),
        "{results:?}"
    );
    assert_eq!(
        waits,
        vec![Duration::from_secs(3)],
        "the longest item Retry-After is honoured"
    );
}

#[tokio::test]
async fn a_failed_envelope_is_retried_whole() {
    let server_mock = GraphMock::start().await;
    let server = &server_mock.server;
    for status in [424u16, 503] {
        server_mock
            .at("/beta/$batch")
            .times(1)
            .priority(if status == 424 { 1 } else { 2 })
            .expect(1)
            .with(
                json_status(
                    status,
                    r#"{"error":{"code":"x","message":"envelope"}}"#.into(),
                )
                .insert_header("Retry-After", "0.25"),
            )
            .await;
    }
    let responder = Scripted {
        calls: Mutex::new(0),
        seen: Mutex::new(vec![]),
        f: |_, ids: &[String]| ok(ids.iter().map(|id| item(id, 204)).collect()),
    };
    server_mock
        .at("/beta/$batch")
        .expect(1)
        .with(responder)
        .await;
    catch_all(server).await;
    let (results, waits) = run_batch(server, 3).await;
    assert!(
        results
            .iter()
            .all(|(_, o)| matches!(o, ItemOutcome::Ok { .. }))
    );
    assert_eq!(waits, vec![Duration::from_millis(250); 2]);
}

#[tokio::test]
async fn missing_unknown_and_duplicate_ids() {
    let server_mock = GraphMock::start().await;
    let server = &server_mock.server;
    let responder = Scripted {
        calls: Mutex::new(0),
        seen: Mutex::new(vec![]),
        f: |call, ids: &[String]| {
            if call == 1 {
                // "2" is missing; "99" was never sent; "0" answers twice (the first counts).
                ok(vec![
                    item("0", 204),
                    item("0", 400),
                    item("1", 204),
                    item("99", 204),
                ])
            } else {
                assert_eq!(ids, ["2"], "only the unanswered item is sent again");
                ok(vec![item("2", 204)])
            }
        },
    };
    server_mock
        .at("/beta/$batch")
        .expect(2)
        .with(responder)
        .await;
    catch_all(server).await;
    let (results, _) = run_batch(server, 3).await;
    assert_eq!(results.len(), 3, "every item gets exactly one outcome");
    assert!(
        results
            .iter()
            .all(|(_, o)| matches!(o, ItemOutcome::Ok { .. })),
        "{results:?}"
    );
}

#[tokio::test]
async fn final_item_errors_keep_code_message_and_request_id() {
    let server_mock = GraphMock::start().await;
    let server = &server_mock.server;
    let responder = Scripted {
        calls: Mutex::new(0),
        seen: Mutex::new(vec![]),
        f: |_, ids: &[String]| {
            ok(ids
                .iter()
                .map(|id| match id.as_str() {
                    "0" => json!({"id": "0", "status": 403, "headers": {"Request-Id": "rid-403"}, "body": {"error": {"code": "Authorization_RequestDenied", "message": "Insufficient privileges to complete the operation."}}}),
                    "1" => json!({"id": "1", "status": 404, "headers": {}, "body": {"error": {"code": "Request_ResourceNotFound", "message": "gone", "innerError": {"request-id": "rid-404"}}}}),
                    _ => item(id, 204),
                })
                .collect())
        },
    };
    server_mock
        .at("/beta/$batch")
        .expect(2)
        .with(responder)
        .await;
    let (all, _) = run_batch(server, 25).await;
    assert_eq!(all.len(), 25);
    assert!(
        all[2..]
            .iter()
            .all(|(_, o)| matches!(o, ItemOutcome::Ok { .. }))
    );
    let results = &all[..2];
    match &results[0].1 {
        ItemOutcome::Failed(e) => {
            assert_eq!(
                (e.status, e.code.as_str(), e.request_id.as_deref()),
                (403, "Authorization_RequestDenied", Some("rid-403"))
            );
        }
        o => panic!("{o:?}"),
    }
    match &results[1].1 {
        ItemOutcome::Failed(e) => {
            assert_eq!((e.status, e.request_id.as_deref()), (404, Some("rid-404")))
        }
        o => panic!("{o:?}"),
    }
}

#[tokio::test]
async fn items_that_stay_throttled_are_retried_until_the_budget_is_spent() {
    // Issue 13: a 429 with Retry-After is waited out for as long as the budget lasts, not for a
    // count of attempts: 10 s of budget and Retry-After 1 make 10 waits, 11 rounds.
    let server_mock = GraphMock::start().await;
    let server = &server_mock.server;
    let responder = Scripted {
        calls: Mutex::new(0),
        seen: Mutex::new(vec![]),
        f: |_, ids: &[String]| {
            ok(ids
                .iter()
                .map(|id| json!({"id": id, "status": 429, "headers": {"Retry-After": "1"}}))
                .collect())
        },
    };
    server_mock
        .at("/beta/$batch")
        .expect(11)
        .with(responder)
        .await;
    let policy = gwb::graph::retry::RetryPolicy {
        budget: Duration::from_secs(10),
        ..Default::default()
    };
    let (results, waits) = run_batch_with(server, 2, policy).await;
    assert!(
        results.iter().all(
            |(_, o)| matches!(o, ItemOutcome::Failed(e) if e.status == 429 && e.message.contains("retry budget"))
        ),
        "{results:?}"
    );
    assert_eq!(waits, vec![Duration::from_secs(1); 10]);
}

#[tokio::test]
async fn a_storm_longer_than_the_attempt_limit_is_waited_out() {
    // Throttled 25 rounds (more than the 10 attempts), then answered: every item succeeds.
    let server_mock = GraphMock::start().await;
    let server = &server_mock.server;
    let responder = Scripted {
        calls: Mutex::new(0),
        seen: Mutex::new(vec![]),
        f: |n, ids: &[String]| {
            ok(ids
                .iter()
                .map(|id| {
                    if n <= 25 {
                        json!({"id": id, "status": 429, "headers": {"retry-after": "0.5"}})
                    } else {
                        item(id, 204)
                    }
                })
                .collect())
        },
    };
    server_mock
        .at("/beta/$batch")
        .expect(26)
        .with(responder)
        .await;
    let (results, waits) = run_batch(server, 3).await;
    assert!(
        results
            .iter()
            .all(|(_, o)| matches!(o, ItemOutcome::Ok { .. })),
        "{results:?}"
    );
    assert_eq!(waits, vec![Duration::from_millis(500); 25]);
}

#[tokio::test]
async fn a_424_envelope_is_read_item_by_item() {
    // Graph's "Throttling and batching": the batch answers 424, each request's own answer in
    // the body. The successes are kept (never sent again); only the throttled one is retried,
    // after its own Retry-After.
    let server_mock = GraphMock::start().await;
    let server = &server_mock.server;
    let responder = Scripted {
        calls: Mutex::new(0),
        seen: Mutex::new(vec![]),
        f: |n, ids: &[String]| {
            let items: Vec<Value> = ids
                .iter()
                .map(|id| {
                    if n == 1 && id == "1" {
                        json!({"id": id, "status": 429, "headers": {"Retry-After": "2.5"},
                            "body": {"error": {"code": "TooManyRequests", "message": "slow down"}}})
                    } else {
                        item(id, 204)
                    }
                })
                .collect();
            let status = if n == 1 { 424 } else { 200 };
            ResponseTemplate::new(status).set_body_json(json!({ "responses": items }))
        },
    };
    let seen = std::sync::Arc::new(Mutex::new(Vec::new()));
    server_mock
        .at("/beta/$batch")
        .expect(2)
        .with(ScriptedShared {
            inner: responder,
            seen: seen.clone(),
        })
        .await;
    let (results, waits) = run_batch(server, 3).await;
    assert!(
        results
            .iter()
            .all(|(_, o)| matches!(o, ItemOutcome::Ok { .. })),
        "{results:?}"
    );
    assert_eq!(waits, vec![Duration::from_millis(2500)]);
    let seen = seen.lock().unwrap().clone();
    assert_eq!(
        seen[1],
        vec!["1".to_string()],
        "only the throttled item again"
    );
}

/// A [`Scripted`] whose record of the ids sent is shared with the test.
struct ScriptedShared<F: Fn(usize, &[String]) -> ResponseTemplate + Send + Sync> {
    inner: Scripted<F>,
    seen: std::sync::Arc<Mutex<Vec<Vec<String>>>>,
}

impl<F: Fn(usize, &[String]) -> ResponseTemplate + Send + Sync> Respond for ScriptedShared<F> {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        let r = self.inner.respond(req);
        let last = self.inner.seen.lock().unwrap().last().cloned().unwrap();
        self.seen.lock().unwrap().push(last);
        r
    }
}

#[tokio::test]
async fn items_throttled_with_retry_after_zero_wait_a_quarter_second_a_round() {
    let server_mock = GraphMock::start().await;
    let server = &server_mock.server;
    let responder = Scripted {
        calls: Mutex::new(0),
        seen: Mutex::new(vec![]),
        f: |_, ids: &[String]| {
            ok(ids
                .iter()
                .map(|id| json!({"id": id, "status": 429, "headers": {"Retry-After": "0"}}))
                .collect())
        },
    };
    server_mock.at("/beta/$batch").with(responder).await;
    let policy = gwb::graph::retry::RetryPolicy {
        budget: Duration::from_secs(3),
        ..Default::default()
    };
    let (_, waits) = run_batch_with(server, 2, policy).await;
    assert!(!waits.is_empty());
    assert!(
        waits.iter().all(|w| *w >= Duration::from_millis(250)),
        "{waits:?}"
    );
    // 3 s of budget at a quarter second a round: a dozen rounds, not thousands.
    assert!(waits.len() <= 13, "{waits:?}");
}
