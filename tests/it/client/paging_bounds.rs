//! Paging that never ends is bounded, and a group listed twice is counted once.

use crate::support::{GraphMock, json_of, stderr, stdout};
use serde_json::json;

use crate::support::ids_of;

/// A groups listing that never ends: every page links to a new page. With `fresh`, every page
/// holds new groups; without, every page holds the same two groups.
struct Endless {
    base: String,
    served: std::sync::atomic::AtomicU64,
    fresh: bool,
}

impl wiremock::Respond for Endless {
    fn respond(&self, _: &wiremock::Request) -> wiremock::ResponseTemplate {
        let n = self
            .served
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let group = |i: u64| {
            json!({"id": format!("0b1f5a6e-1111-4c1e-9e4f-{i:012x}"), "displayName": "g",
                "groupTypes": ["Unified"], "securityEnabled": false, "mailEnabled": true,
                "writebackConfiguration": {"isEnabled": false, "onPremisesGroupType": null}})
        };
        let ids = if self.fresh {
            [2 * n, 2 * n + 1]
        } else {
            [0, 1]
        };
        wiremock::ResponseTemplate::new(200).set_body_json(json!({
            "value": [group(ids[0]), group(ids[1])],
            "@odata.nextLink": format!("{}/beta/groups?$skiptoken=T{n}", self.base),
        }))
    }
}

async fn endless(fresh: bool) -> GraphMock {
    let g = GraphMock::start().await;
    g.on("GET", "/beta/groups")
        .with(Endless {
            base: g.uri(),
            served: Default::default(),
            fresh,
        })
        .await;
    g.at("/beta/settings")
        .with(crate::support::json(r#"{"value":[]}"#.into()))
        .await;
    g.at("/beta/directory/onPremisesSynchronization")
        .status(403)
        .await;
    // Cloud Sync's jobs: an app without Application.Read.All (the report carries on).
    g.at("/beta/servicePrincipals").status(403).await;
    g
}

/// C10: a listing that never ends is stopped: new groups under new links by the page cap,
/// the same groups under new links as a loop.
/// (Issue 12, item C10.)
#[tokio::test(flavor = "multi_thread")]
async fn endless_paging_is_bounded() {
    let g = endless(true).await;
    let out = g.gwb(&["report", "-o", "json", "--max-pages", "40"]).await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("paging did not end"),
        "{}",
        stderr(&out)
    );
    assert!(stderr(&out).contains("--max-pages"), "{}", stderr(&out));
    let listed = g
        .server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.url.path() == "/beta/groups")
        .count();
    assert!(listed <= 41, "{listed} pages requested");
    assert!(stdout(&out).is_empty(), "no partial report");

    let g = endless(false).await;
    let out = g
        .gwb(&["disable-existing-m365", "--dry-run", "-o", "json"])
        .await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("only groups already listed"),
        "{}",
        stderr(&out)
    );
}

/// E20: a group listed on two pages is planned and counted once, with a warning.
/// (Issue 12, item E20.)
#[tokio::test(flavor = "multi_thread")]
async fn a_group_listed_twice_is_counted_once() {
    use wiremock::matchers::{query_param_contains, query_param_is_missing};
    let g = GraphMock::start().await;
    let group = |i: u32| {
        json!({"id": format!("0b1f5a6e-1111-4c1e-9e4f-00000000000{i}"), "displayName": format!("G{i}"),
            "groupTypes": ["Unified"], "securityEnabled": false, "mailEnabled": true,
            "createdDateTime": "2021-01-01T00:00:00Z",
            "writebackConfiguration": {"isEnabled": true, "onPremisesGroupType": null}})
    };
    g.on("GET", "/beta/groups")
        .and(query_param_is_missing("$skiptoken"))
        .with(crate::support::json(
            json!({"value": [group(1), group(2)],
                "@odata.nextLink": format!("{}/beta/groups?$skiptoken=P2", g.uri())})
            .to_string(),
        ))
        .await;
    g.on("GET", "/beta/groups")
        .and(query_param_contains("$skiptoken", "P2"))
        .with(crate::support::json(
            json!({"value": [group(2), group(3)]}).to_string(),
        ))
        .await;
    let g = g.strict().await;
    let out = g
        .gwb(&["disable-existing-m365", "--dry-run", "-o", "json"])
        .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v = json_of(&out);
    assert_eq!(ids_of(&v["changes"]).len(), 3, "{v}");
    assert_eq!(v["summary"]["changes"], 3);
    assert!(stderr(&out).contains("a second time"), "{}", stderr(&out));
}
