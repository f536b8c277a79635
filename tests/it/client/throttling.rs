//! Throttling: a Retry-After inside a batch is honoured within the budget, never slept for a day,
//! and a storm of 424s is waited out without sending successes again.

use crate::support::Scenario;
use crate::support::{GraphMock, json_of, plain_tenant, should_change, snapshot, stderr};
use gwb::emulator::EmulatorConfig;
use serde_json::{Value, json};

/// C11: a per-item Retry-After beyond the retry budget is given up at once, never slept.
/// (Issue 12, item C11.)
#[tokio::test(flavor = "multi_thread")]
async fn an_absurd_retry_after_inside_a_batch_is_not_slept() {
    for retry_after in ["999999", "86400", "Fri, 31 Dec 2100 23:59:59 GMT"] {
        let g = GraphMock::start().await;
        let groups: Vec<Value> = (1..=3)
            .map(|i| {
                json!({"id": format!("0b1f5a6e-1111-4c1e-9e4f-00000000000{i}"),
                    "displayName": format!("G{i}"), "groupTypes": ["Unified"],
                    "securityEnabled": false, "mailEnabled": true,
                    "createdDateTime": "2021-01-01T00:00:00Z",
                    "writebackConfiguration": {"isEnabled": true, "onPremisesGroupType": null}})
            })
            .collect();
        g.on("GET", "/beta/groups")
            .with(crate::support::json(json!({ "value": groups }).to_string()))
            .await;
        g.at("/beta/settings")
            .with(crate::support::json(r#"{"value":[]}"#.into()))
            .await;
        g.at("/beta/directory/onPremisesSynchronization")
            .status(403)
            .await;
        // Cloud Sync's jobs: an app without Application.Read.All (the report carries on).
        g.at("/beta/servicePrincipals").status(403).await;
        g.on("POST", "/beta/$batch")
            .with(crate::support::EveryItem {
                status: 429,
                retry_after: Some(retry_after),
                code: "TooManyRequests",
            })
            .await;
        for args in [
            vec!["disable-existing-m365", "--yes", "-o", "json"],
            vec!["report", "--member-counts", "-o", "json"],
        ] {
            let out = g.gwb(&args).await;
            assert!(
                stderr(&out).contains("Retry-After") && stderr(&out).contains("retry budget"),
                "{retry_after} {args:?}: {}",
                stderr(&out)
            );
            if args[0] == "disable-existing-m365" {
                assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
                assert_eq!(json_of(&out)["failed"].as_array().unwrap().len(), 3);
            }
        }
    }
}

/// Items 1 and 2: a storm of item-level 429s, longer than the attempt limit, with every batch
/// that holds a throttled item answered 424. The run waits it out; no write that succeeded is
/// sent again; disable and restore both end exact.
/// (Issue 13.)
#[tokio::test(flavor = "multi_thread")]
async fn a_storm_of_424_batches_is_waited_out_and_successes_are_not_resent() {
    let tenant = plain_tenant(200, 91);
    let original = snapshot(&tenant);
    let planned = tenant.groups.iter().filter(|g| should_change(g)).count() as u64;
    let cfg = EmulatorConfig {
        // 500 throttled items: with 2 batches in flight, some items are throttled in more
        // rounds than the 10-attempt limit.
        storm: Some((500, "0.02".into())),
        batch_424: true,
        seed: 91,
        ..Default::default()
    };
    let s = Scenario::with(tenant, cfg).await;
    let emu = &s.emu;
    let j = crate::support::temp_dir("storm").join("j.jsonl");
    let out = s
        .gwb(&[
            "disable-existing-m365",
            "--yes",
            "-o",
            "json",
            "--concurrency",
            "2",
            "--journal",
            j.to_str().unwrap(),
        ])
        .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v = json_of(&out);
    assert_eq!(v["summary"]["changed"], planned, "{v}");
    let stats = emu.shared().stats();
    assert_eq!(stats["storm_items"], 500, "{stats:?}");
    assert!(stats["batch_424"] > 0, "{stats:?}");
    assert_eq!(
        stats["patch_group_attempt"], planned,
        "a write that succeeded inside a 424 batch was sent again: {stats:?}"
    );
    let out = s
        .gwb(&[
            "restore",
            "--journal",
            j.to_str().unwrap(),
            "--yes",
            "-o",
            "json",
        ])
        .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(snapshot(&emu.shared().tenant()), original);
}
