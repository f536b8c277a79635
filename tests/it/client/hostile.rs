//! Hostile and broken answers: each a clear error and a documented exit code, never a panic,
//! never a hang, and never the token sent anywhere but the Graph origin.

use crate::support::GraphMock;
use std::time::Duration;

use wiremock::{MockServer, ResponseTemplate};

use crate::support::{TOKEN, gwb_command, json, run, stderr, stdout};

/// Run `gwb report` against `server` (with `args`), at most 60 s.
async fn report(server: &MockServer, args: &[&str]) -> std::process::Output {
    let mut cmd = gwb_command();
    cmd.env("GWB_GRAPH_URL", server.uri())
        .env("GWB_ACCESS_TOKEN", TOKEN)
        .args(args);
    tokio::time::timeout(Duration::from_secs(60), run(cmd))
        .await
        .expect("gwb does not hang")
}

async fn settings_ok(g: &GraphMock) {
    g.at("/beta/settings")
        .with(json(r#"{"value":[]}"#.into()))
        .await;
    g.at("/beta/directory/onPremisesSynchronization")
        .status(403)
        .await;
}

fn assert_clear_failure(out: &std::process::Output, want: &str, case: &str) {
    let err = stderr(out);
    assert_eq!(out.status.code(), Some(1), "{case}: {err}");
    assert!(err.contains("gwb: error:"), "{case}: {err}");
    assert!(err.contains(want), "{case}: wanted {want:?} in {err}");
    assert!(!err.contains("panicked"), "{case}: {err}");
    assert!(stdout(out).is_empty(), "{case}: no partial report");
    assert!(!err.contains(TOKEN), "{case}");
}

#[tokio::test(flavor = "multi_thread")]
async fn broken_group_pages_are_clear_errors() {
    // (case, status, content type, body, what the error must say)
    let cases: Vec<(&str, u16, &str, String, &str)> = vec![
        ("empty 200", 200, "application/json", String::new(), "malformed response"),
        (
            "truncated JSON",
            200,
            "application/json",
            r#"{"value":[{"id":"0b1f5a6e-1111"#.into(),
            "malformed response",
        ),
        (
            "HTML from a proxy",
            200,
            "text/html",
            "<html><body>Sign in to the proxy</body></html>".into(),
            "malformed response",
        ),
        (
            "value is not an array",
            200,
            "application/json",
            r#"{"value":{"id":"x"}}"#.into(),
            "malformed response",
        ),
        (
            "wrong type in a field",
            200,
            "application/json",
            r#"{"value":[{"id":"0b1f5a6e-1111-4c1e-9e4f-000000000001","groupTypes":[],"securityEnabled":"yes","mailEnabled":false,"writebackConfiguration":null}]}"#.into(),
            "malformed response",
        ),
        (
            "nextLink is a number",
            200,
            "application/json",
            r#"{"value":[],"@odata.nextLink":42}"#.into(),
            "malformed response",
        ),
        (
            "a group without an id",
            200,
            "application/json",
            r#"{"value":[{"displayName":"no id","writebackConfiguration":null}]}"#.into(),
            "malformed response",
        ),
        (
            "writebackConfiguration missing",
            200,
            "application/json",
            r#"{"value":[{"id":"0b1f5a6e-1111-4c1e-9e4f-000000000001","groupTypes":["Unified"]}]}"#.into(),
            "no writebackConfiguration",
        ),
        (
            "a 502 HTML page from a gateway",
            502,
            "text/html",
            "<html>Bad Gateway</html>".into(),
            "502",
        ),
    ];
    for (case, status, ctype, body, want) in cases {
        let server_mock = GraphMock::start().await;
        let server = &server_mock.server;
        settings_ok(&server_mock).await;
        server_mock
            .at("/beta/groups")
            .with(ResponseTemplate::new(status).set_body_raw(body.clone(), ctype))
            .await;
        let out = report(server, &["report", "-o", "json"]).await;
        assert_clear_failure(&out, want, case);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_body_far_larger_than_any_page_is_not_read() {
    let server_mock = GraphMock::start().await;
    let server = &server_mock.server;
    settings_ok(&server_mock).await;
    // 80 MiB: more than the 64 MiB bound.
    let huge = format!("{{\"value\":[],\"pad\":\"{}\"}}", "x".repeat(80 << 20));
    server_mock.at("/beta/groups").with(json(huge)).await;
    let out = report(server, &["report", "-o", "json"]).await;
    assert_clear_failure(&out, "far larger than any Graph page", "huge body");
}

#[tokio::test(flavor = "multi_thread")]
async fn redirects_and_foreign_next_links_never_get_the_token() {
    let foreign_mock = GraphMock::start().await;
    let foreign = &foreign_mock.server;
    foreign_mock
        .any()
        .expect(0)
        .named("the foreign host is never asked")
        .with(ResponseTemplate::new(200))
        .await;
    for status in [301, 302, 303, 307, 308] {
        let server_mock = GraphMock::start().await;
        let server = &server_mock.server;
        settings_ok(&server_mock).await;
        server_mock
            .at("/beta/groups")
            .with(ResponseTemplate::new(status).insert_header(
                "Location",
                format!("{}/beta/groups", foreign.uri()).as_str(),
            ))
            .await;
        let out = report(server, &["report", "-o", "json"]).await;
        assert_clear_failure(&out, "redirect", &format!("{status}"));
    }
    // A nextLink to another port of the same host (another origin), and to plain http where
    // the root is https, are refused before any request.
    let server_mock = GraphMock::start().await;
    let server = &server_mock.server;
    settings_ok(&server_mock).await;
    let page = format!(
        r#"{{"value":[],"@odata.nextLink":"{}/beta/groups?$skiptoken=x"}}"#,
        foreign.uri()
    );
    server_mock.at("/beta/groups").with(json(page)).await;
    let out = report(server, &["report", "-o", "json"]).await;
    assert_clear_failure(&out, &foreign.uri(), "foreign nextLink");

    let c = gwb::graph::GraphClient::builder(
        "https://graph.microsoft.com",
        std::sync::Arc::new(gwb::auth::StaticToken::new(TOKEN)),
    )
    .build()
    .unwrap();
    for other in [
        "http://graph.microsoft.com/beta/groups?$skiptoken=x",
        "https://graph.microsoft.com:8443/beta/groups",
        "https://graph.microsoft.com.evil.example/beta/groups",
        "https://evil.example/beta/groups",
    ] {
        assert!(!c.is_same_origin(&other.parse().unwrap()), "{other}");
    }
    assert!(
        c.is_same_origin(
            &"https://graph.microsoft.com/beta/groups?$skiptoken=x"
                .parse()
                .unwrap()
        )
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_broken_batch_answer_fails_the_items_not_the_run() {
    // The groups list is fine; every $batch answer is garbage. Each planned group is reported
    // as failed (exit 1), none is reported changed, and the journal records them.
    let server_mock = GraphMock::start().await;
    let server = &server_mock.server;
    settings_ok(&server_mock).await;
    for (skiptoken, page) in [(false, "groups-page1.json"), (true, "groups-page2.json")] {
        let groups = server_mock.at("/beta/groups");
        let groups = if skiptoken {
            groups.and(wiremock::matchers::query_param_contains("$skiptoken", "R"))
        } else {
            groups.and(wiremock::matchers::query_param_is_missing("$skiptoken"))
        };
        groups
            .with(json(crate::support::fixture(page, &server.uri(), "")))
            .await;
    }
    server_mock
        .on("POST", "/beta/$batch")
        .with(ResponseTemplate::new(200).set_body_raw("{\"responses\":7}", "application/json"))
        .await;
    let dir = crate::support::temp_dir("hostile-batch");
    let j = dir.join("j.jsonl");
    let out = report(
        server,
        &[
            "disable-existing-m365",
            "--yes",
            "-o",
            "json",
            "--journal",
            j.to_str().unwrap(),
        ],
    )
    .await;
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}\n{}", stdout(&out));
    assert!(!err.contains("panicked"), "{err}");
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let failed = v["failed"].as_array().unwrap();
    assert!(!failed.is_empty(), "{v}");
    assert_eq!(v["changed"].as_array().unwrap().len(), 0);
    // The groups are read again right before they are written; a batch answer that cannot be
    // read means no group is known to be unchanged, so none is written (or journaled as sent).
    let journal = gwb::journal::read(&j).unwrap();
    assert_eq!(journal.befores.len(), 0, "nothing was sent");
    assert!(
        failed
            .iter()
            .all(|f| f["message"].as_str().unwrap().contains("$batch")),
        "{v}"
    );
}
