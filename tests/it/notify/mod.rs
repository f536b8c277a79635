//! Notifications (issue 16, item 3) against wiremock receivers: the `on = "change"` rule across
//! runs, each kind's payload (golden files), retries, a receiver that hangs, and the webhook URL
//! (a secret) never printed or logged.

use std::time::Duration;

use serde_json::Value;
use wiremock::ResponseTemplate;

use crate::support::{GraphMock, Scenario};

const POLICY: &str = "[policy]\nm365_writeback = \"disabled\"\n";

/// A scenario whose config sends `kind` notifications to `server` (URL from GWB_HOOK_URL).
async fn with_receiver(kind: &str, extra: &str) -> (Scenario, GraphMock) {
    let server = GraphMock::start().await;
    let s = Scenario::groups(40, 21).await.config(&format!(
        "[[notify]]\nkind = \"{kind}\"\nurl_env = \"GWB_HOOK_URL\"\n{extra}\n{POLICY}"
    ));
    (s, server)
}

fn hook(server: &GraphMock) -> String {
    format!("{}/hooks/s3cr3t-sig", server.uri())
}

async fn posts(server: &GraphMock) -> Vec<Value> {
    server
        .server
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .map(|r| serde_json::from_slice(&r.body).unwrap())
        .collect()
}

async fn check(s: &Scenario, server: &GraphMock, args: &[&str]) -> crate::support::Ran {
    let url = hook(server);
    let mut all = vec!["check", "-o", "json"];
    all.extend_from_slice(args);
    s.gwb_with(&[("GWB_HOOK_URL", url.as_str())], &all).await
}

#[tokio::test(flavor = "multi_thread")]
async fn drift_then_nothing_then_resolved_then_error() {
    let (s, server) = with_receiver("webhook", "").await;
    server
        .on("POST", "/hooks/s3cr3t-sig")
        .with(ResponseTemplate::new(202))
        .await;
    let first = check(&s, &server, &[]).await;
    assert_eq!(first.code(), 3, "{}", first.stderr());
    let sent = posts(&server).await;
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0]["schemaVersion"], 1);
    assert_eq!(sent[0]["event"], "drift");
    assert_eq!(sent[0]["compliant"], false);
    let drift = first.json()["before"]["drift"].as_array().unwrap().len();
    assert_eq!(sent[0]["new"].as_array().unwrap().len(), drift);
    // Sent after the output: what became of it is said on stderr.
    first.assert_stderr_has("gwb: notified webhook");

    // Unchanged: on = "change" says nothing.
    let second = check(&s, &server, &[]).await;
    assert_eq!(second.code(), 3);
    assert_eq!(posts(&server).await.len(), 1);
    assert!(!second.stderr().contains("notified"), "{}", second.stderr());

    // Fixed: found nothing new, resolved everything.
    let fixed = check(&s, &server, &["--fix", "--yes"]).await;
    let sent = posts(&server).await;
    assert_eq!(sent.len(), 2, "{}", fixed.stderr());
    assert_eq!(sent[1]["event"], "resolved");
    assert_eq!(sent[1]["resolved"].as_array().unwrap().len(), drift);

    // A failing run (Graph gone) is an error event; the exit code is the run's own.
    let url = hook(&server);
    let failed = s
        .gwb_with(
            &[
                ("GWB_HOOK_URL", url.as_str()),
                // Port 9 (discard) is closed on a test machine: a Graph that cannot be reached.
                ("GWB_GRAPH_URL", "http://127.0.0.1:9"),
            ],
            &["check", "-o", "json"],
        )
        .await;
    assert_eq!(failed.code(), 1, "{}", failed.stderr());
    let sent = posts(&server).await;
    assert_eq!(sent.len(), 3);
    assert_eq!(sent[2]["event"], "error");
    assert!(
        sent[2]["error"].as_str().unwrap().contains("127.0.0.1"),
        "{}",
        sent[2]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn each_kind_posts_its_own_payload() {
    for kind in ["webhook", "teams", "slack"] {
        let (s, server) = with_receiver(kind, "").await;
        server.method("POST").with(ResponseTemplate::new(200)).await;
        let run = check(&s, &server, &[]).await;
        assert_eq!(run.code(), 3, "{kind}: {}", run.stderr());
        let sent = posts(&server).await;
        assert_eq!(sent.len(), 1, "{kind}");
        let text = serde_json::to_string_pretty(&sent[0]).unwrap() + "\n";
        crate::formats::golden::assert_golden(&format!("notify-{kind}.json"), &text);
        match kind {
            "teams" => {
                assert_eq!(sent[0]["type"], "message");
                let a = &sent[0]["attachments"][0];
                assert_eq!(a["contentType"], "application/vnd.microsoft.card.adaptive");
                assert_eq!(a["content"]["type"], "AdaptiveCard");
                assert_eq!(
                    a["content"]["body"][0]["color"], "Warning",
                    "drift is amber"
                );
            }
            "slack" => {
                assert!(sent[0]["text"].as_str().unwrap().contains("new"));
                let a = &sent[0]["attachments"][0];
                assert_eq!(a["color"], "#9a6700", "drift is amber");
                assert_eq!(a["blocks"][0]["type"], "section");
            }
            _ => assert_eq!(sent[0]["event"], "drift"),
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_receiver_answering_500_then_200_gets_it_the_second_time() {
    let (s, server) = with_receiver("webhook", "").await;
    server
        .method("POST")
        .times(1)
        .with(ResponseTemplate::new(500))
        .await;
    server.method("POST").with(ResponseTemplate::new(200)).await;
    let run = check(&s, &server, &[]).await;
    assert_eq!(
        run.code(),
        3,
        "drift decides the exit code: {}",
        run.stderr()
    );
    assert_eq!(posts(&server).await.len(), 2);
    run.assert_stderr_has("gwb: notified webhook");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refusing_receiver_never_changes_the_exit_code_and_the_url_is_never_shown() {
    let (s, server) = with_receiver("webhook", "").await;
    server.method("POST").with(ResponseTemplate::new(403)).await;
    let url = hook(&server);
    let run = s
        .gwb_with(
            &[("GWB_HOOK_URL", url.as_str())],
            &["-vvv", "check", "-o", "json"],
        )
        .await;
    assert_eq!(run.code(), 3, "{}", run.stderr());
    assert!(
        run.json()["before"]["drift"].is_array(),
        "the output is whole"
    );
    run.assert_stderr_has("the webhook notification was not delivered");
    run.assert_stderr_has("403");
    assert_eq!(posts(&server).await.len(), 1, "a 403 is not retried");
    for text in [run.stdout(), run.stderr()] {
        assert!(!text.contains("s3cr3t-sig"), "the webhook URL leaked");
    }
    run.assert_stderr_has("not delivered");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bad_or_missing_url_is_a_usage_error_that_does_not_echo_it() {
    let (s, server) = with_receiver("teams", "").await;
    let run = s
        .gwb_with(&[("GWB_HOOK_URL", "ftp://s3cr3t-sig.example")], &["check"])
        .await;
    assert_eq!(run.code(), 2, "{}", run.stderr());
    assert!(run.stderr().contains("not an https URL") && !run.stderr().contains("s3cr3t"));
    let missing = s.gwb(&["check"]).await;
    assert_eq!(missing.code(), 2);
    missing.assert_stderr_has("url_env GWB_HOOK_URL is not set");
    // A notification setting breaks only notifying: every other command runs, and config show
    // says what is wrong.
    for args in [
        vec!["report", "-o", "json"],
        vec!["restore", "--list", "-o", "json"],
    ] {
        let run = s.gwb(&args).await;
        assert_eq!(run.code(), 0, "{args:?}: {}", run.stderr());
    }
    let show = s.gwb(&["config", "show", "-o", "json"]).await;
    assert_eq!(show.code(), 0, "{}", show.stderr());
    let warnings = show.json()["warnings"].to_string();
    assert!(
        warnings.contains("url_env GWB_HOOK_URL is not set") && warnings.contains("gwb check"),
        "{warnings}"
    );
    drop(server);
}

#[tokio::test(flavor = "multi_thread")]
async fn notify_test_sends_a_sample_to_every_destination() {
    let (s, server) = with_receiver("slack", "on = \"drift\"").await;
    server.method("POST").with(ResponseTemplate::new(200)).await;
    let url = hook(&server);
    let run = s
        .gwb_with(
            &[("GWB_HOOK_URL", url.as_str())],
            &["check", "--notify-test", "-o", "json"],
        )
        .await;
    assert_eq!(run.code(), 0, "{}", run.stderr());
    assert_eq!(run.json()["notifications"][0]["delivered"], true);
    let sent = posts(&server).await;
    assert!(
        sent[0]["text"].as_str().unwrap().contains("1 new"),
        "{}",
        sent[0]
    );
    assert_eq!(s.count("requests"), 0, "the test checks nothing");
}

mod slow {
    use super::*;

    #[tokio::test(flavor = "multi_thread")]
    async fn a_receiver_that_hangs_is_given_up_on_in_bounded_time() {
        let (s, server) = with_receiver("webhook", "timeout_seconds = 0.3").await;
        server
            .method("POST")
            .with(ResponseTemplate::new(200).set_delay(Duration::from_secs(30)))
            .await;
        let run = tokio::time::timeout(Duration::from_secs(60), check(&s, &server, &[]))
            .await
            .expect("bounded");
        assert_eq!(run.code(), 3, "{}", run.stderr());
        assert!(run.json()["before"]["drift"].is_array());
        run.assert_stderr_has("after 3 attempts");
    }

    /// A receiver that accepts and never answers cannot take the check's output or exit code
    /// with it: the document is written first, and the notifications get only what is left of
    /// --deadline (less a margin). Before, three attempts of timeout_seconds outlived the
    /// deadline: exit 1 with nothing on stdout.
    #[tokio::test(flavor = "multi_thread")]
    async fn a_hanging_receiver_never_outlives_the_deadline_or_the_result() {
        let (s, server) = with_receiver("webhook", "timeout_seconds = 5").await;
        server
            .method("POST")
            .with(ResponseTemplate::new(200).set_delay(Duration::from_secs(60)))
            .await;
        let run = tokio::time::timeout(
            Duration::from_secs(60),
            check(&s, &server, &["--deadline", "8"]),
        )
        .await
        .expect("bounded");
        assert_eq!(run.code(), 3, "{}", run.stderr());
        assert!(
            run.json()["before"]["drift"]
                .as_array()
                .is_some_and(|d| !d.is_empty())
        );
        run.assert_stderr_has("within what is left of --deadline");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn email_goes_through_graph_send_mail() {
    let s = Scenario::groups(40, 21).await.config(&format!(
        "[[notify]]\nkind = \"email\"\nto = [\"secops@contoso.com\"]\nsender = \"gwb@contoso.com\"\n{POLICY}"
    ));
    let run = s.gwb(&["check", "-o", "json"]).await;
    assert_eq!(run.code(), 3, "{}", run.stderr());
    run.assert_stderr_has("gwb: notified email");
    assert_eq!(s.count("send_mail"), 1);
}

/// Anyone who may create a Microsoft 365 group chooses its name: one named like a phishing link
/// reaches the channel as text, not as a link, in Teams and Slack alike.
#[tokio::test(flavor = "multi_thread")]
async fn a_group_named_like_a_phishing_link_posts_no_link() {
    let bait = "[Sign in again](https://evil.example/login) *now*";
    for kind in ["teams", "slack"] {
        let (s, server) = with_receiver(kind, "").await;
        server.method("POST").with(ResponseTemplate::new(200)).await;
        {
            let mut t = s.emu.shared().tenant();
            let g = t
                .groups
                .iter_mut()
                .find(|g| crate::support::should_change(g))
                .unwrap();
            g.display_name = bait.into();
        }
        let run = check(&s, &server, &[]).await;
        assert_eq!(run.code(), 3, "{}", run.stderr());
        let sent = posts(&server).await;
        assert_eq!(sent.len(), 1, "{kind}");
        let text = sent[0].to_string();
        assert!(
            text.contains("Sign in again"),
            "{kind}: the name is shown: {text}"
        );
        // No URL a client would link, and no link syntax: Markdown's for Teams, `<url|text>`
        // for Slack.
        assert!(!text.contains("https://evil"), "{kind}: {text}");
        let link = if kind == "teams" { "](http" } else { "<http" };
        assert!(!text.contains(link), "{kind}: {text}");
    }
}
