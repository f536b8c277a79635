//! The fleet's voice (issue 32): one digest per destination per run, tenants in order with
//! their counts, each exception's expiry said once for the tenants that have its group, cards
//! coloured and linked, and the fleet's history.

use serde_json::Value;
use wiremock::ResponseTemplate;

use super::{Fleet, Kind};
use crate::support::GraphMock;

const POLICY: &str = "[policy]\nm365_writeback = \"disabled\"\n";

/// Destinations: a digest webhook (`/fleet`), a per-tenant webhook (`/tenant`) and a Teams
/// digest with a report link (`/teams`), all at `receiver`.
fn notify(extra_fleet: &str) -> String {
    format!(
        "[[notify]]\nkind = \"webhook\"\nscope = \"fleet\"\nurl_env = \"HOOK_FLEET\"\n{extra_fleet}\n\
         [[notify]]\nkind = \"webhook\"\nurl_env = \"HOOK_TENANT\"\n\n\
         [[notify]]\nkind = \"teams\"\nscope = \"fleet\"\nurl_env = \"HOOK_TEAMS\"\nreport_url = \"https://reports.example/gwb/{{tenant}}.html\"\n"
    )
}

async fn receiver() -> GraphMock {
    let r = GraphMock::start().await;
    r.method("POST").with(ResponseTemplate::new(200)).await;
    r
}

async fn posts_to(r: &GraphMock, path: &str) -> Vec<Value> {
    r.server
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .filter(|q| q.url.path() == path)
        .map(|q| serde_json::from_slice(&q.body).unwrap())
        .collect()
}

async fn check(f: &Fleet, r: &GraphMock, args: &[&str]) -> crate::support::Ran {
    let base = r.uri();
    let (a, b, c) = (
        format!("{base}/fleet"),
        format!("{base}/tenant"),
        format!("{base}/teams"),
    );
    let mut all = vec!["--all-tenants", "--parallel", "3", "check"];
    all.extend_from_slice(args);
    f.gwb_with(
        &[
            ("HOOK_FLEET", a.as_str()),
            ("HOOK_TENANT", b.as_str()),
            ("HOOK_TEAMS", c.as_str()),
        ],
        &all,
    )
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn one_digest_per_destination_per_run_with_every_tenant_in_order() {
    let extra = format!("{}\n{POLICY}", notify(""));
    let f = Fleet::new(3, 30, &[(1, Kind::Unreachable)], &extra).await;
    let r = receiver().await;
    let run = check(&f, &r, &["-o", "json"]).await;
    assert_eq!(run.code(), 1, "{}", run.stderr());

    let digests = posts_to(&r, "/fleet").await;
    assert_eq!(digests.len(), 1, "one message per destination per run");
    let d = &digests[0];
    assert_eq!(d["schemaVersion"], 1);
    assert_eq!(d["event"], "fleet");
    assert_eq!(d["run"]["command"], "check");
    let names: Vec<&str> = d["tenants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["t00", "t01", "t02"], "sorted by name");
    let t0 = &d["tenants"][0];
    assert_eq!(t0["ok"], true);
    assert_eq!(t0["exitCode"], 3);
    assert!(t0["new"].as_u64().unwrap() > 0, "counts are numbers: {t0}");
    for k in ["persisting", "resolved", "excepted", "failed"] {
        assert!(t0[k].is_u64(), "{k}: {t0}");
    }
    assert_eq!(t0["error"], Value::Null);
    let t1 = &d["tenants"][1];
    assert_eq!(t1["ok"], false);
    assert!(t1["error"].is_string(), "{t1}");
    assert_eq!(d["totals"]["tenants"], 3);
    assert_eq!(d["totals"]["failedTenants"], 1);
    assert_eq!(
        d["totals"]["new"].as_u64().unwrap(),
        t0["new"].as_u64().unwrap() + d["tenants"][2]["new"].as_u64().unwrap()
    );
    assert_eq!(d["expiring"], serde_json::json!([]));

    // The per-tenant destination still hears from each tenant that was checked; never a digest.
    let each = posts_to(&r, "/tenant").await;
    assert_eq!(each.len(), 3, "one per tenant");
    assert!(
        each.iter()
            .all(|p| p["event"] != "fleet" && p["tenant"]["name"].is_string())
    );
    let errors: Vec<&Value> = each.iter().filter(|p| p["event"] == "error").collect();
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0]["tenant"]["name"], "t01");

    // The Teams digest: worst first, coloured by outcome, linked to the report.
    let teams = posts_to(&r, "/teams").await;
    assert_eq!(teams.len(), 1);
    let card = &teams[0]["attachments"][0]["content"];
    assert_eq!(card["body"][0]["color"], "Attention", "a tenant failed");
    let first_row = card["body"][1]["text"].as_str().unwrap();
    assert!(
        first_row.starts_with("t01"),
        "the failed tenant first: {first_row}"
    );
    assert_eq!(
        card["actions"][0]["url"],
        "https://reports.example/gwb/fleet.html"
    );

    // The fleet's own JSON: in name order, each with its counts.
    let v = run.json();
    let entries = v["tenants"].as_array().unwrap();
    let names: Vec<&str> = entries
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["t00", "t01", "t02"]);
    assert_eq!(entries[0]["counts"]["new"], t0["new"]);

    // Nothing new the next night: `on = "change"` keeps the digest quiet.
    let again = check(&f, &r, &["-o", "json"]).await;
    assert_eq!(again.code(), 1);
    assert_eq!(
        posts_to(&r, "/fleet").await.len(),
        2,
        "a failed tenant is news every run (event error)"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_dry_run_of_the_fix_sends_no_digest() {
    let extra = format!("{}\n{POLICY}", notify("on = \"always\""));
    let f = Fleet::new(2, 30, &[], &extra).await;
    let r = receiver().await;
    let run = check(&f, &r, &["--fix", "--dry-run", "-o", "json"]).await;
    assert_eq!(run.code(), 3, "{}", run.stderr());
    let sent = r.server.received_requests().await.unwrap_or_default();
    assert!(
        sent.is_empty(),
        "a dry run tells no one: {} posts",
        sent.len()
    );
    // The same fleet, checked for real, is told (on = "always").
    assert_eq!(check(&f, &r, &["-o", "json"]).await.code(), 3);
    assert_eq!(posts_to(&r, "/fleet").await.len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_expiring_exception_is_said_once_for_the_tenants_that_have_its_group() {
    let extra = format!("{}\n{POLICY}", notify("on = \"change\""));
    let f = Fleet::new(2, 30, &[], &extra).await;
    let r = receiver().await;
    let first = check(&f, &r, &["-o", "json"]).await;
    assert_eq!(first.code(), 3, "{}", first.stderr());
    let v = first.json();
    let drifted = v["tenants"][0]["before"]["drift"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let today = &v["meta"]["generatedAt"].as_str().unwrap()[..10];
    // The exception is in the top-level policy, so every tenant has it; only t00 has the group.
    let mut toml = std::fs::read_to_string(&f.config).unwrap();
    toml = toml.replacen(
        POLICY,
        &format!(
            "{POLICY}\n[[policy.exception]]\nid = \"{drifted}\"\nreason = \"HR share until migration\"\nexpires = \"{today}\"\n"
        ),
        1,
    );
    std::fs::write(&f.config, toml).unwrap();
    let second = check(&f, &r, &["-o", "table"]).await;
    assert_eq!(second.code(), 3, "{}", second.stderr());
    let err = second.stderr();
    let said: Vec<&str> = err
        .lines()
        .filter(|l| l.contains("HR share until migration"))
        .collect();
    assert_eq!(said.len(), 1, "once per run: {err}");
    assert!(said[0].contains("(tenant t00)"), "{}", said[0]);
    assert!(
        !said[0].contains("t01"),
        "t01 has no such group: {}",
        said[0]
    );

    // The excepted item is resolved; the digest also carries the expiry.
    let digests = posts_to(&r, "/fleet").await;
    assert_eq!(digests.len(), 2, "{digests:?}");
    let d = &digests[1];
    assert_eq!(d["reason"], "resolved");
    assert_eq!(d["expiring"][0]["exception"], drifted.as_str());
    assert_eq!(d["expiring"][0]["inDays"], 0);
    assert_eq!(d["expiring"][0]["tenants"], serde_json::json!(["t00"]));
    let teams = posts_to(&r, "/teams").await;
    let text = teams.last().unwrap().to_string();
    assert!(text.contains("HR share until migration"), "{text}");
    // Nothing else changes the next run, but an exception's last day is news on its own.
    assert_eq!(check(&f, &r, &["-o", "json"]).await.code(), 3);
    let digests = posts_to(&r, "/fleet").await;
    assert_eq!(digests.len(), 3);
    assert_eq!(digests[2]["reason"], "expiring");

    // The table of the fleet: counts per tenant, in order.
    let out = second.stdout();
    let t00 = out.lines().find(|l| l.starts_with("t00")).unwrap();
    assert!(t00.contains("drift"), "{out}");
    assert!(out.find("== t00").unwrap() < out.find("== t01").unwrap());

    // The history of every tenant, two runs each, newest first.
    let h = f.gwb(&["--all-tenants", "history", "-o", "json"]).await;
    assert_eq!(h.code(), 0, "{}", h.stderr());
    let hv = h.json();
    let tenants = hv["tenants"].as_array().unwrap();
    assert_eq!(tenants.len(), 2);
    assert_eq!(tenants[0]["name"], "t00");
    assert_eq!(tenants[0]["runs"].as_array().unwrap().len(), 3);
    assert_eq!(tenants[0]["runs"][0]["excepted"], 1, "newest first");
    assert_eq!(tenants[0]["runs"][2]["excepted"], 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_email_digest_is_one_mail_through_the_tenant_the_entry_names() {
    let extra = format!(
        "[[notify]]\nkind = \"email\"\nscope = \"fleet\"\nto = [\"msp-noc@contoso.com\"]\nsender = \"gwb@contoso.com\"\ntenant = \"t01\"\n\n{POLICY}"
    );
    let f = Fleet::new(3, 30, &[], &extra).await;
    let run = f.gwb(&["--all-tenants", "check", "-o", "json"]).await;
    assert_eq!(run.code(), 3, "{}", run.stderr());
    let sent: Vec<u64> = f
        .emus
        .iter()
        .map(|e| e.shared().stat("send_mail"))
        .collect();
    assert_eq!(sent, [0, 1, 0], "one mail, through t01's sign-in");
    run.assert_stderr_has("gwb: notified email");

    // Without the tenant that sends it, the entry is refused, naming the fix.
    let bad = Fleet::new(
        1,
        10,
        &[],
        &format!(
            "[[notify]]\nkind = \"email\"\nscope = \"fleet\"\nto = [\"a@contoso.com\"]\nsender = \"gwb@contoso.com\"\n\n{POLICY}"
        ),
    )
    .await;
    let refused = bad.gwb(&["--tenant", "t00", "check"]).await;
    assert_eq!(refused.code(), 2, "{}", refused.stderr());
    refused.assert_stderr_has("needs tenant = \"NAME\"");
}
