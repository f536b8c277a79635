//! The Graph client against wiremock: paging, retries, the token rule, error mapping.

mod auth;
mod auth_refusals;
mod batch;
mod hostile;
mod paging_bounds;
mod reliability;
mod stalls;
mod throttling;
mod transport;

use std::time::{Duration, SystemTime};

use futures_util::{StreamExt, pin_mut};
use gwb::graph::model::Group;
use gwb::graph::retry::RetryPolicy;
use gwb::graph::{GraphClient, GraphError};
use reqwest::header::HeaderName;
use wiremock::ResponseTemplate;
use wiremock::matchers::{bearer_token, header, query_param, query_param_is_missing};

use crate::support::{GraphMock, TOKEN, client, client_with, fixture, json, json_status};

const PAGE2_TOKEN: &str = "RFNwdAIAAQAAACpHcm91cF8x";

async fn collect(
    client: &GraphClient,
    headers: Vec<(HeaderName, String)>,
) -> Result<Vec<Group>, GraphError> {
    let stream = client.pages::<Group>(client.url("groups?$top=999"), headers);
    pin_mut!(stream);
    let mut all = Vec::new();
    while let Some(page) = stream.next().await {
        all.extend(page?);
    }
    Ok(all)
}

#[tokio::test]
async fn pages_to_the_last_page_and_no_further() {
    let g = GraphMock::start().await;
    let base = g.uri();
    g.on("GET", "/beta/groups")
        .and(query_param_is_missing("$skiptoken"))
        .and(bearer_token(TOKEN))
        .and(header("ConsistencyLevel", "eventual"))
        .expect(1)
        .with(json(fixture("groups-page1.json", &base, "")))
        .await;
    // The nextLink is followed whole (its $select and $top too), with the header sent again.
    g.on("GET", "/beta/groups")
        .and(query_param("$skiptoken", PAGE2_TOKEN))
        .and(query_param("$top", "999"))
        .and(bearer_token(TOKEN))
        .and(header("ConsistencyLevel", "eventual"))
        .expect(1)
        .with(json(fixture("groups-page2.json", &base, "")))
        .await;
    let _g = g.strict().await;

    let (c, waits) = client(&base);
    let groups = collect(
        &c,
        vec![(
            HeaderName::from_static("consistencylevel"),
            "eventual".into(),
        )],
    )
    .await
    .unwrap();
    let ids: Vec<_> = groups
        .iter()
        .map(|g| g.id.chars().last().unwrap())
        .collect();
    assert_eq!(ids, ['1', '2', '3', '4']);
    assert!(waits.lock().unwrap().is_empty());
}

#[tokio::test]
async fn an_empty_page_with_a_next_link_is_not_the_end() {
    let g = GraphMock::start().await;
    let base = g.uri();
    g.at("/beta/groups")
        .and(query_param_is_missing("$skiptoken"))
        .expect(1)
        .with(json(
            r#"{"value":[],"@odata.nextLink":"{{BASE}}/beta/groups?$skiptoken=p2"}"#
                .replace("{{BASE}}", &base),
        ))
        .await;
    g.at("/beta/groups")
        .and(query_param("$skiptoken", "p2"))
        .expect(1)
        .with(json(fixture("groups-page2.json", &base, "")))
        .await;
    // Cloud Sync's jobs: not readable without Application.Read.All; the report carries on.
    g.at("/beta/servicePrincipals").status(403).await;
    let _g = g.strict().await;
    let (c, _) = client(&base);
    assert_eq!(collect(&c, vec![]).await.unwrap().len(), 2);
}

#[tokio::test]
async fn throttled_with_fractional_retry_after_waits_exactly_that() {
    let g = GraphMock::start().await;
    let base = g.uri();
    g.at("/beta/groups")
        .times(1)
        .priority(1)
        .expect(1)
        .with(
            json_status(429, fixture("error-429-throttled.json", &base, ""))
                .insert_header("Retry-After", "2.128"),
        )
        .await;
    g.at("/beta/groups")
        .expect(1)
        .with(json(fixture("groups-page2.json", &base, "")))
        .await;
    let _g = g.strict().await;
    let (c, waits) = client(&base);
    assert_eq!(collect(&c, vec![]).await.unwrap().len(), 2);
    assert_eq!(*waits.lock().unwrap(), vec![Duration::from_millis(2128)]);
}

#[tokio::test]
async fn throttled_with_an_http_date_waits_until_then() {
    let g = GraphMock::start().await;
    let base = g.uri();
    let when = SystemTime::now() + Duration::from_secs(90);
    g.at("/beta/groups")
        .times(1)
        .priority(1)
        .with(
            json_status(429, fixture("error-429-throttled.json", &base, ""))
                .insert_header("retry-after", httpdate::fmt_http_date(when).as_str()),
        )
        .await;
    g.at("/beta/groups")
        .expect(1)
        .with(json(fixture("groups-page2.json", &base, "")))
        .await;
    let _g = g.strict().await;
    let (c, waits) = client(&base);
    collect(&c, vec![]).await.unwrap();
    let w = waits.lock().unwrap().clone();
    assert_eq!(w.len(), 1);
    // HTTP dates have one-second resolution, and the wait is counted from when the answer is
    // read: never more than 90 s, and far more than backoff would be (a generous floor, so a
    // machine that stalls this test for a while cannot fail it).
    assert!(
        w[0] > Duration::from_secs(60) && w[0] <= Duration::from_secs(90),
        "{w:?}"
    );
}

#[tokio::test]
async fn service_unavailable_then_success_backs_off() {
    let g = GraphMock::start().await;
    let base = g.uri();
    for status in [503u16, 504] {
        g.at("/beta/groups")
            .times(1)
            .priority(if status == 503 { 1 } else { 2 })
            .expect(1)
            .with(json_status(
                status,
                fixture("error-503-unavailable.json", &base, ""),
            ))
            .await;
    }
    g.at("/beta/groups")
        .expect(1)
        .with(json(fixture("groups-page2.json", &base, "")))
        .await;
    let _g = g.strict().await;
    let policy = RetryPolicy {
        base_delay: Duration::from_millis(100),
        ..RetryPolicy::default()
    };
    let (c, waits) = client_with(&base, policy);
    assert_eq!(collect(&c, vec![]).await.unwrap().len(), 2);
    let w = waits.lock().unwrap().clone();
    assert_eq!(w.len(), 2, "{w:?}");
    assert!(
        w[0] >= Duration::from_millis(50) && w[0] <= Duration::from_millis(100),
        "{w:?}"
    );
    assert!(
        w[1] >= Duration::from_millis(100) && w[1] <= Duration::from_millis(200),
        "{w:?}"
    );
}

#[tokio::test]
async fn retries_stop_at_the_attempt_limit_with_the_last_error() {
    let g = GraphMock::start().await;
    let base = g.uri();
    g.at("/beta/groups")
        .expect(4)
        .with(json_status(
            503,
            fixture("error-503-unavailable.json", &base, ""),
        ))
        .await;
    let policy = RetryPolicy {
        max_attempts: 4,
        ..RetryPolicy::default()
    };
    let (c, waits) = client_with(&base, policy);
    let e = collect(&c, vec![]).await.unwrap_err();
    let s = e.to_string();
    assert!(
        matches!(e, GraphError::RetriesExhausted { attempts: 4, .. }),
        "{s}"
    );
    assert!(
        s.contains("serviceNotAvailable") && s.contains("a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d"),
        "{s}"
    );
    assert_eq!(waits.lock().unwrap().len(), 3);
}

#[tokio::test]
async fn a_retry_after_beyond_the_budget_gives_up_without_sleeping() {
    let g = GraphMock::start().await;
    let base = g.uri();
    g.at("/beta/groups")
        .expect(1)
        .with(
            json_status(429, fixture("error-429-throttled.json", &base, ""))
                .insert_header("Retry-After", "3600"),
        )
        .await;
    let (c, waits) = client(&base);
    let e = collect(&c, vec![]).await.unwrap_err();
    assert!(
        matches!(e, GraphError::RetriesExhausted { attempts: 1, .. }),
        "{e}"
    );
    assert!(waits.lock().unwrap().is_empty());
}

#[tokio::test]
async fn a_next_link_to_another_origin_is_refused_and_gets_no_token() {
    let g = GraphMock::start().await;
    let foreign_mock = GraphMock::start().await;
    let foreign = &foreign_mock.server;
    foreign_mock
        .any()
        .expect(0)
        .with(ResponseTemplate::new(200))
        .await;
    g.at("/beta/groups")
        .expect(1)
        .with(json(fixture(
            "groups-foreign-nextlink.json",
            &g.uri(),
            &foreign.uri(),
        )))
        .await;
    let g = g.strict().await;
    let (c, _) = client(&g.uri());
    let e = collect(&c, vec![]).await.unwrap_err();
    assert!(matches!(e, GraphError::ForeignOrigin { .. }), "{e}");
    assert!(e.to_string().contains(&foreign.uri()), "{e}");
}

#[tokio::test]
async fn a_redirect_is_not_followed() {
    let g = GraphMock::start().await;
    let foreign_mock = GraphMock::start().await;
    let foreign = &foreign_mock.server;
    foreign_mock
        .any()
        .expect(0)
        .with(ResponseTemplate::new(200))
        .await;
    g.at("/beta/groups")
        .expect(1)
        .with(
            ResponseTemplate::new(302)
                .insert_header("Location", format!("{}/steal", foreign.uri()).as_str()),
        )
        .await;
    let g = g.strict().await;
    let (c, _) = client(&g.uri());
    let e = collect(&c, vec![]).await.unwrap_err();
    assert!(matches!(e, GraphError::Redirect { status: 302, .. }), "{e}");
}

#[tokio::test]
async fn a_repeating_next_link_is_a_loop_not_a_hang() {
    let g = GraphMock::start().await;
    let base = g.uri();
    g.at("/beta/groups")
        .expect(2)
        .with(json(fixture("groups-self-nextlink.json", &base, "")))
        .await;
    let (c, _) = client(&base);
    let e = collect(&c, vec![]).await.unwrap_err();
    assert!(matches!(e, GraphError::PagingLoop { .. }), "{e}");
}

#[tokio::test]
async fn graph_errors_keep_status_code_message_and_request_id() {
    let g = GraphMock::start().await;
    let base = g.uri();
    g.at("/beta/groups")
        .expect(1)
        .with(
            json_status(404, fixture("error-404-not-found.json", &base, ""))
                .insert_header("request-id", "7d1a4c2e-8f3b-4a6d-9c5e-2b1f0a9e8d7c"),
        )
        .await;
    let (c, waits) = client(&base);
    let e = collect(&c, vec![]).await.unwrap_err();
    match &e {
        GraphError::Api {
            status,
            code,
            request_id,
            message,
            ..
        } => {
            assert_eq!(*status, 404);
            assert_eq!(code, "Request_ResourceNotFound");
            assert!(message.contains("does not exist"));
            assert_eq!(
                request_id.as_deref(),
                Some("7d1a4c2e-8f3b-4a6d-9c5e-2b1f0a9e8d7c")
            );
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(waits.lock().unwrap().is_empty(), "a 404 is not retried");
}

#[tokio::test]
async fn malformed_and_oversized_bodies_are_clear_errors() {
    let g = GraphMock::start().await;
    let base = g.uri();
    g.at("/beta/groups")
        .and(query_param("case", "html"))
        .with(ResponseTemplate::new(200).set_body_raw("<html>proxy login</html>", "text/html"))
        .await;
    g.at("/beta/groups")
        .and(query_param("case", "big"))
        .with(json(format!(
            "{{\"value\":[],\"pad\":\"{}\"}}",
            "x".repeat(10_000)
        )))
        .await;
    let (sleeper, _) = gwb::graph::retry::Sleeper::recording();
    let c = GraphClient::builder(
        base.clone(),
        std::sync::Arc::new(gwb::auth::StaticToken::new(TOKEN)),
    )
    .sleeper(sleeper)
    .max_body(4_096)
    .build()
    .unwrap();
    let e = c
        .get_json::<serde_json::Value>(c.url("groups?case=html"), &[])
        .await
        .unwrap_err();
    assert!(
        matches!(e, GraphError::Malformed { .. }) && e.to_string().contains("proxy login"),
        "{e}"
    );
    let e = c
        .get_json::<serde_json::Value>(c.url("groups?case=big"), &[])
        .await
        .unwrap_err();
    assert!(matches!(e, GraphError::BodyTooLarge { .. }), "{e}");
}

#[tokio::test]
async fn a_v1_shaped_group_fails_the_report_instead_of_reading_as_null() {
    let g = GraphMock::start().await;
    let base = g.uri();
    g.at("/beta/groups")
        .expect(1)
        .with(json(fixture("groups-v1-shaped.json", &base, "")))
        .await;
    g.at("/beta/settings")
        .with(json(fixture("settings-empty.json", &base, "")))
        .await;
    g.at("/beta/directory/onPremisesSynchronization")
        .with(crate::support::json_status(
            403,
            fixture("error-403-denied.json", &base, ""),
        ))
        .await;
    // Cloud Sync's jobs: not readable without Application.Read.All; the report carries on.
    g.at("/beta/servicePrincipals").status(403).await;
    let _g = g.strict().await;
    let (c, _) = client(&base);
    let ctx = gwb::change::Context {
        client: c,
        format: gwb::cli::OutputFormat::Json,
        out_is_file: false,
        way_back: Default::default(),
        deadline: None,
        no_cloud_sync_group_provisioning: false,
        documents: None,
        target: gwb::change::Target {
            name: None,
            graph_root: base.clone(),
            tenant_id: None,
        },
    };
    let mut out = Vec::new();
    let e = gwb::commands::report::run(&ctx, &Default::default(), &mut out)
        .await
        .unwrap_err();
    let s = format!("{e:#}");
    assert!(
        s.contains("0b1f5a6e-1111-4c1e-9e4f-000000000001") && s.contains("writebackConfiguration"),
        "{s}"
    );
    assert!(out.is_empty(), "nothing is printed for a failed report");
}

#[tokio::test]
async fn report_sends_select_and_top_and_reads_the_fixture_tenant() {
    let g = GraphMock::start().await;
    let base = g.uri();
    g.at("/beta/groups").and(query_param_is_missing("$skiptoken")).and(query_param("$top", "999")).and(query_param(
            "$select",
            "id,displayName,groupTypes,securityEnabled,mailEnabled,onPremisesSyncEnabled,onPremisesSecurityIdentifier,isAssignableToRole,proxyAddresses,createdDateTime,writebackConfiguration",
        )).expect(1).with(json(fixture("groups-page1.json", &base, ""))).await;
    g.at("/beta/groups")
        .and(query_param("$skiptoken", PAGE2_TOKEN))
        .expect(1)
        .with(json(fixture("groups-page2.json", &base, "")))
        .await;
    g.at("/beta/settings")
        .expect(1)
        .with(json(fixture("settings-group-unified.json", &base, "")))
        .await;
    g.at("/beta/directory/onPremisesSynchronization")
        .expect(1)
        .with(json(fixture(
            "directory-onpremises-synchronization.json",
            &base,
            "",
        )))
        .await;
    // Cloud Sync's jobs: not readable without Application.Read.All; the report carries on.
    g.at("/beta/servicePrincipals").status(403).await;
    let _g = g.strict().await;
    let (c, _) = client(&base);
    let ctx = gwb::change::Context {
        client: c,
        format: gwb::cli::OutputFormat::Json,
        out_is_file: false,
        way_back: Default::default(),
        deadline: None,
        no_cloud_sync_group_provisioning: false,
        documents: None,
        target: gwb::change::Target {
            name: None,
            graph_root: base.clone(),
            tenant_id: None,
        },
    };
    let mut out = Vec::new();
    gwb::commands::report::run(&ctx, &Default::default(), &mut out)
        .await
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    let f = &v["tenant"]["syncFeatures"];
    assert_eq!(f["readable"], true);
    assert_eq!(f["unifiedGroupWritebackEnabled"], true);
    assert_eq!(f["groupWriteBackEnabled"], true);
    assert_eq!(v["tenant"]["newUnifiedGroupWritebackDefault"], false);
    assert_eq!(v["tenant"]["rawValue"], "False");
    assert_eq!(v["tenant"]["source"], "setting");
    let g = v["groups"].as_array().unwrap();
    let got: Vec<(bool, serde_json::Value)> = g
        .iter()
        .map(|g| {
            (
                g["writtenBack"].as_bool().unwrap(),
                g["writtenBackAs"].clone(),
            )
        })
        .collect();
    use serde_json::json;
    assert_eq!(
        got,
        vec![
            (true, json!("universalDistributionGroup")), // M365, isEnabled null
            (true, json!("universalSecurityGroup")),     // security, enabled
            (false, json!(null)),                        // M365, disabled
            (false, json!(null)),                        // synced from AD
        ]
    );
    assert_eq!(g[0]["isEnabled"], serde_json::Value::Null);
    assert_eq!(g[3]["syncedFromOnPremises"], true);
    assert_eq!(v["summary"]["totalGroups"], 4);
}

#[tokio::test]
async fn report_without_settings_permission_still_reports_groups() {
    let g = GraphMock::start().await;
    let base = g.uri();
    g.at("/beta/groups")
        .with(json(fixture("groups-page2.json", &base, "")))
        .await;
    g.at("/beta/settings")
        .expect(1)
        .with(json_status(
            403,
            fixture("error-403-denied.json", &base, ""),
        ))
        .await;
    let (c, _) = client(&base);
    let ctx = gwb::change::Context {
        client: c,
        format: gwb::cli::OutputFormat::Json,
        out_is_file: false,
        way_back: Default::default(),
        deadline: None,
        no_cloud_sync_group_provisioning: false,
        documents: None,
        target: gwb::change::Target {
            name: None,
            graph_root: base.clone(),
            tenant_id: None,
        },
    };
    let mut out = Vec::new();
    gwb::commands::report::run(&ctx, &Default::default(), &mut out)
        .await
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(
        v["tenant"]["newUnifiedGroupWritebackDefault"],
        serde_json::Value::Null
    );
    assert_eq!(v["tenant"]["source"], "unreadable");
    assert!(
        v["tenant"]["error"]
            .as_str()
            .unwrap()
            .contains("5e6f7a8b-9c0d-4e1f-a2b3-c4d5e6f7a8b9")
    );
    assert_eq!(v["groups"].as_array().unwrap().len(), 2);
}

/// Paging fetches one page ahead of its consumer (the next request overlaps the parsing of this
/// page), and stops fetching when the consumer drops the stream.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paging_prefetches_one_page_and_stops_when_dropped() {
    let emu = crate::support::emulator(5_000, 1, 0.0).await;
    let (c, _) = client(&emu.url());
    let mut first = c.url("groups");
    first
        .query_pairs_mut()
        .append_pair("$select", gwb::graph::model::GROUP_SELECT)
        .append_pair("$top", "100");
    let listed = || emu.shared().stat("list_groups");
    let settle = || tokio::time::sleep(Duration::from_millis(300));

    let mut stream = Box::pin(c.pages::<Group>(first, Vec::new()));
    let page = stream.next().await.unwrap().unwrap();
    assert_eq!(page.len(), 100);
    // Without being asked, the fetcher reads ahead: page 2 queued, page 3 fetched and waiting
    // for room. Waited for by count, not by a fixed pause (a loaded machine is slower).
    for _ in 0..3_000 {
        if listed() >= 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    settle().await;
    // ...but only by that bounded amount, not the 50 pages of the tenant. A pause can only
    // hide extra requests on a slow machine, never invent them.
    let ahead = listed();
    assert_eq!(ahead, 3, "{ahead} pages requested");
    drop(stream);
    settle().await;
    assert_eq!(listed(), ahead, "no request after the stream was dropped");
}

/// A 401 gets one fresh credential and one retry; a second 401 is final (exit 4 territory).
#[tokio::test]
async fn a_401_gets_one_fresh_token_and_one_retry() {
    use gwb::auth::StaticToken;
    use wiremock::matchers::header;
    let g = GraphMock::start().await;
    g.method("GET")
        .and(header("authorization", "Bearer fresh"))
        .with(json(fixture("groups-empty-last-page.json", &g.uri(), "")))
        .await;
    g.method("GET").with(json_status(
            401,
            r#"{"error":{"code":"InvalidAuthenticationToken","message":"Lifetime validation failed, the token is expired."}}"#.into(),
        )).await;
    let renewals = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let build = |fresh: &'static str| {
        let n = renewals.clone();
        GraphClient::builder(g.uri(), std::sync::Arc::new(StaticToken::new("stale")))
            .renew_with(std::sync::Arc::new(move || {
                n.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                Ok(std::sync::Arc::new(StaticToken::new(fresh)) as _)
            }))
            .build()
            .unwrap()
    };
    let c = build("fresh");
    let page: gwb::graph::model::Page<Group> = c.get_json(c.url("groups"), &[]).await.unwrap();
    assert!(page.value.is_empty());
    assert_eq!(renewals.load(std::sync::atomic::Ordering::SeqCst), 1);
    // The fresh token is kept for later requests: no second renewal.
    c.get_json::<gwb::graph::model::Page<Group>>(c.url("groups"), &[])
        .await
        .unwrap();
    assert_eq!(renewals.load(std::sync::atomic::Ordering::SeqCst), 1);

    // A renewed token that is refused too: one retry only, then Graph's error.
    let c = build("also-stale");
    let e = c
        .get_json::<gwb::graph::model::Page<Group>>(c.url("groups"), &[])
        .await
        .unwrap_err();
    assert_eq!(e.status(), Some(401));
    assert!(e.is_auth());
    assert!(e.to_string().contains("token is expired"), "{e}");
    assert_eq!(renewals.load(std::sync::atomic::Ordering::SeqCst), 2);
    let requests = g.server.received_requests().await.unwrap().len();
    assert_eq!(requests, 2 + 1 + 2, "two, one, then two requests");
}

/// `Retry-After: 0` forever: every wait is slept for at least a quarter second (no hammering of
/// a throttling Graph), and the budget ends the request. The recording sleeper shows the waits;
/// nothing here depends on the clock.
#[tokio::test]
async fn retry_after_zero_still_waits_a_quarter_second_every_time() {
    let g = GraphMock::start().await;
    let base = g.uri();
    g.at("/beta/groups")
        .with(
            json_status(429, fixture("error-429-throttled.json", &base, ""))
                .insert_header("Retry-After", "0"),
        )
        .await;
    let (c, waits) = client_with(
        &base,
        RetryPolicy {
            budget: Duration::from_secs(5),
            ..Default::default()
        },
    );
    assert!(collect(&c, vec![]).await.is_err());
    let waits = waits.lock().unwrap().clone();
    assert!(waits.len() >= 10, "{waits:?}");
    assert!(
        waits.iter().all(|w| *w >= Duration::from_millis(250)),
        "{waits:?}"
    );
    // 5 s of budget at a quarter second a wait: about 20 requests, not thousands.
    let sent = g.server.received_requests().await.unwrap().len();
    assert!(sent <= 21, "{sent} requests");
}

/// One group name holding a lone UTF-16 surrogate (`\ud800`, which JSON allows and a Rust
/// string cannot hold) is one odd name, not a failed run: read with U+FFFD in its place.
#[tokio::test]
async fn a_name_with_invalid_utf16_is_read_lossily_not_a_failed_page() {
    let g = GraphMock::start().await;
    let base = g.uri();
    let body = r#"{"value":[{"id":"0b1f5a6e-1111-4c1e-9e4f-000000000001","displayName":"Bad \ud800 name","groupTypes":["Unified"],"securityEnabled":false,"mailEnabled":true,"writebackConfiguration":{"isEnabled":null,"onPremisesGroupType":null}},{"id":"0b1f5a6e-1111-4c1e-9e4f-000000000002","displayName":"Fine","groupTypes":[],"securityEnabled":true,"mailEnabled":false,"writebackConfiguration":{"isEnabled":true,"onPremisesGroupType":null}}]}"#;
    assert!(
        serde_json::from_str::<serde_json::Value>(body).is_err(),
        "serde refuses it"
    );
    g.at("/beta/groups")
        .expect(1)
        .with(json(body.to_string()))
        .await;
    let _g = g.strict().await;
    let (c, _) = client(&base);
    let groups = collect(&c, vec![]).await.unwrap();
    assert_eq!(groups.len(), 2);
    assert_eq!(groups[0].display_name.as_deref(), Some("Bad \u{fffd} name"));
    assert_eq!(groups[1].display_name.as_deref(), Some("Fine"));
}
