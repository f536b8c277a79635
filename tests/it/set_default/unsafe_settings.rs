//! Settings gwb cannot be sure of (values not read, two Group.Unified settings) are reported and
//! never written; a write whose read-back fails is still reported.

use crate::support::{GraphMock, json_of, stderr, stdout, temp_dir};
use serde_json::{Value, json};

use crate::support::GU;

/// A wiremock Graph whose `/settings` answers `settings` (and whose groups list is empty).
async fn settings_server(settings: Value) -> GraphMock {
    let g = GraphMock::start().await;
    g.on("GET", "/beta/settings")
        .json(json!({ "value": settings }))
        .await;
    g.on("GET", "/beta/groups")
        .with(crate::support::json(r#"{"value":[]}"#.into()))
        .await;
    g.on("GET", "/beta/directory/onPremisesSynchronization")
        .status(403)
        .await;
    g.on("GET", "/beta/servicePrincipals").status(403).await;
    // Any write reaches the catch-all and fails the test.
    g.strict().await
}

/// A1: a Group.Unified whose values are absent or null is never written from.
/// (Issue 12, item A1.)
#[tokio::test(flavor = "multi_thread")]
async fn a_setting_whose_values_were_not_read_is_never_written() {
    for setting in [
        json!({"id": "8f1c2d3e-0000-4000-8000-00000000abcd", "templateId": GU, "values": null}),
        json!({"id": "8f1c2d3e-0000-4000-8000-00000000abcd", "templateId": GU}),
    ] {
        let g = settings_server(json!([setting])).await;
        for value in ["false", "true"] {
            let out = g.gwb(&["set-default", value, "-o", "json"]).await;
            assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
            assert!(
                stderr(&out).contains("without its values"),
                "{}",
                stderr(&out)
            );
        }
        let out = g.gwb(&["report", "-o", "json"]).await;
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let v = json_of(&out);
        assert_eq!(v["tenant"]["newUnifiedGroupWritebackDefault"], Value::Null);
        assert_eq!(v["tenant"]["source"], "valuesUnreadable");
        assert!(v["tenant"]["problem"].is_string(), "{v}");
    }
}

/// E21: two Group.Unified settings, or two entries for the key: warned, reported, never written
/// (and never called "unchanged" while one entry says otherwise).
/// (Issue 12, item E21.)
#[tokio::test(flavor = "multi_thread")]
async fn ambiguous_settings_are_reported_and_never_written() {
    let entry = |v: &str| json!({"name": "NewUnifiedGroupWritebackDefault", "value": v});
    let two_settings = json!([
        {"id": "8f1c2d3e-0000-4000-8000-000000000001", "templateId": GU, "values": [entry("true")]},
        {"id": "8f1c2d3e-0000-4000-8000-000000000002", "templateId": GU, "values": [entry("false")]},
    ]);
    let two_entries = json!([
        {"id": "8f1c2d3e-0000-4000-8000-000000000001", "templateId": GU,
         "values": [entry("true"), {"name": "AllowToAddGuests", "value": "false"}, entry("false")]},
    ]);
    for (case, settings, want) in [
        ("two settings", two_settings, "2 Group.Unified"),
        (
            "two entries",
            two_entries,
            "2 NewUnifiedGroupWritebackDefault entries",
        ),
    ] {
        let g = settings_server(settings).await;
        let out = g.gwb(&["set-default", "true", "-o", "json"]).await;
        assert_eq!(out.status.code(), Some(1), "{case}: {}", stderr(&out));
        assert!(stderr(&out).contains(want), "{case}: {}", stderr(&out));
        assert!(!stdout(&out).contains("unchanged"), "{case}");
        let out = g.gwb(&["report", "-o", "json"]).await;
        let v = json_of(&out);
        assert!(
            v["tenant"]["problem"].as_str().unwrap().contains(want),
            "{case}: {v}"
        );
        assert!(stderr(&out).contains(want), "{case}: warned");
    }
}

/// B8: the write succeeded, the read-back failed: the write is reported, and the exit is 1.
/// (Issue 12, item B8.)
#[tokio::test(flavor = "multi_thread")]
async fn a_failed_read_back_still_reports_the_write() {
    let g = GraphMock::start().await;
    let id = "8f1c2d3e-0000-4000-8000-00000000abcd";
    g.on("GET", "/beta/settings")
        .once()
        .priority(1)
        .json(json!({"value": [{"id": id, "templateId": GU, "values": [
                {"name": "NewUnifiedGroupWritebackDefault", "value": "true"},
                {"name": "AllowToAddGuests", "value": "false"}]}]}))
        .await;
    g.on("GET", "/beta/settings").priority(2).with(crate::support::json_status(
            403,
            r#"{"error":{"code":"Authorization_RequestDenied","message":"Insufficient privileges to complete the operation."}}"#.into(),
        )).await;
    g.on("PATCH", format!("/beta/settings/{id}"))
        .expect(1)
        .status(204)
        .await;
    let g = g.strict().await;
    let j = temp_dir("b8").join("j.jsonl");
    let out = g
        .gwb(&[
            "set-default",
            "false",
            "-o",
            "json",
            "--journal",
            j.to_str().unwrap(),
        ])
        .await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let v = json_of(&out);
    assert_eq!(v["action"], "updated", "{v}");
    assert_eq!(v["verified"], false);
    assert!(
        v["verificationError"].as_str().unwrap().contains("403"),
        "{v}"
    );
    assert!(gwb::journal::read(&j).unwrap().finished);
}
