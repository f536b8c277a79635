//! The nightly job remembers (issue 16, items 1, 2 and 4): new, persisting and resolved drift
//! across runs; accepted exceptions; --fix resolving in the same run. One scenario per test.

use crate::support::Scenario;

const POLICY: &str = "[policy]\nm365_writeback = \"disabled\"\n";

fn ids(v: &serde_json::Value) -> Vec<String> {
    let mut ids: Vec<String> = v
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|d| d["id"].as_str().map(str::to_string))
        .collect();
    ids.sort();
    ids
}

#[tokio::test(flavor = "multi_thread")]
async fn three_runs_say_what_is_new_persisting_and_resolved() {
    let s = Scenario::groups(60, 14).await.config(POLICY);
    let first = s.gwb(&["check", "-o", "json"]).await;
    assert_eq!(first.code(), 3, "{}", first.stderr());
    let v = first.json();
    let drift = ids(&v["before"]["drift"]);
    assert!(drift.len() >= 2);
    assert_eq!(
        ids(&v["changes"]["new"]),
        drift,
        "the first run counts everything as new"
    );
    assert!(v["changes"]["since"].is_null());

    // Someone puts one group right, and writes another one back.
    let fixed = drift[0].clone();
    let added = {
        let mut t = s.emu.shared().tenant();
        t.group_mut(&fixed).unwrap().writeback.is_enabled = Some(false);
        let g = t
            .groups
            .iter_mut()
            .find(|g| {
                g.group_types.iter().any(|k| k == "Unified")
                    && g.on_premises_sync_enabled != Some(true)
                    && g.writeback.is_enabled == Some(false)
                    && g.id != fixed
            })
            .unwrap();
        g.writeback.is_enabled = Some(true);
        g.id.clone()
    };
    let second = s.gwb(&["check", "-o", "json"]).await;
    let v = second.json();
    assert!(v["changes"]["since"].is_string(), "{v}");
    assert_eq!(ids(&v["changes"]["new"]), vec![added.clone()]);
    assert_eq!(ids(&v["changes"]["resolved"]), vec![fixed.clone()]);
    assert_eq!(
        v["changes"]["persisting"].as_array().unwrap().len(),
        drift.len() - 1
    );

    // Nothing changed: everything persists, nothing is new.
    let third = s.gwb(&["check", "-o", "table"]).await;
    let table = third.stdout();
    assert!(
        table.contains(&format!("0 new, {} persisting, 0 resolved", drift.len())),
        "{table}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_fix_resolves_what_it_found_in_the_same_run() {
    let s = Scenario::groups(60, 14).await.config(POLICY);
    let run = s.gwb(&["check", "--fix", "--yes", "-o", "json"]).await;
    let v = run.json();
    let found = ids(&v["before"]["drift"]);
    let fixed: Vec<String> = v["fix"]["changed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|id| id.as_str().unwrap().to_string())
        .collect();
    assert!(!fixed.is_empty());
    assert_eq!(ids(&v["changes"]["new"]), found, "found N new");
    let resolved = ids(&v["changes"]["resolved"]);
    assert!(fixed.iter().all(|id| resolved.contains(id)), "fixed N: {v}");
    let next = s.gwb(&["check", "-o", "json"]).await;
    let n = next.json();
    assert!(n["changes"]["new"].as_array().unwrap().is_empty(), "{n}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_corrupt_state_file_is_a_warning_and_a_fresh_start() {
    let s = Scenario::groups(30, 14).await.config(POLICY);
    let state = s.state.join("check.json");
    std::fs::write(&state, "{\"schemaVersion\": 1, \"kind\": \"gwb.check.sta").unwrap();
    let run = s
        .gwb(&["check", "--state", state.to_str().unwrap(), "-o", "json"])
        .await;
    assert_eq!(run.code(), 3, "{}", run.stderr());
    run.assert_stderr_has("starting afresh");
    let v = run.json();
    assert_eq!(ids(&v["changes"]["new"]), ids(&v["before"]["drift"]));
    // It was replaced whole: the next run reads it.
    let again = s
        .gwb(&["check", "--state", state.to_str().unwrap(), "-o", "json"])
        .await;
    assert!(
        !again.stderr().contains("starting afresh"),
        "{}",
        again.stderr()
    );
    assert!(
        again.json()["changes"]["new"]
            .as_array()
            .unwrap()
            .is_empty()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_exception_in_force_is_listed_not_counted_and_an_expired_one_counts_again() {
    let s = Scenario::groups(60, 14).await.config(POLICY);
    let drift = ids(&s.gwb(&["check", "-o", "json"]).await.json()["before"]["drift"]);
    let keep = &drift[0];
    let lapsed = &drift[1];
    let s = s.config(&format!(
        "{POLICY}\n[[policy.exception]]\nid = \"{keep}\"\nreason = \"HR share until migration\"\nowner = \"alice@contoso.com\"\nexpires = \"2099-12-31\"\n\n[[policy.exception]]\nid = \"{lapsed}\"\nreason = \"old migration\"\nexpires = \"2001-01-01\"\n"
    ));
    let run = s.gwb(&["check", "-o", "json"]).await;
    let v = run.json();
    let now = ids(&v["before"]["drift"]);
    assert!(!now.contains(keep), "excepted items are not drift");
    assert!(
        now.contains(lapsed),
        "an expired exception counts as drift again"
    );
    let excepted = v["before"]["excepted"].as_array().unwrap();
    assert_eq!(excepted.len(), 1);
    assert_eq!(excepted[0]["id"], keep.as_str());
    assert_eq!(excepted[0]["reason"], "HR share until migration");
    assert_eq!(excepted[0]["owner"], "alice@contoso.com");
    assert_eq!(excepted[0]["expires"], "2099-12-31");
    assert!(
        run.stderr().contains("expired on 2001-01-01") && run.stderr().contains(lapsed.as_str()),
        "{}",
        run.stderr()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_exception_without_a_reason_is_a_usage_error_naming_its_line() {
    let s = Scenario::groups(5, 14).await.config(&format!(
        "{POLICY}\n[[policy.exception]]\nid = \"0b1f5a6e-1111-4c1e-9e4f-000000000001\"\nreason = \"ok\"\n\n[[policy.exception]]\nid = \"0b1f5a6e-1111-4c1e-9e4f-000000000002\"\nowner = \"bob\"\n"
    ));
    let run = s.gwb(&["check", "-o", "json"]).await;
    assert_eq!(run.code(), 2, "{}", run.stderr());
    let err = run.stderr();
    assert!(
        err.contains("line 8: [[policy.exception]] number 2: reason is required"),
        "{err}"
    );
    assert_eq!(s.count("requests"), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_check_killed_mid_run_leaves_the_last_state_whole() {
    let s = Scenario::groups(30, 14).await.config(POLICY);
    let state = s.state.join("check.json");
    let p = state.to_str().unwrap();
    assert_eq!(
        s.gwb(&["check", "--state", p, "-o", "json"]).await.code(),
        3
    );
    let kept = std::fs::read_to_string(&state).unwrap();
    // The next run hangs on a Graph that accepts the connection and never answers, and is
    // killed there (SIGKILL): no timing involved, it cannot get further.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", silent.local_addr().unwrap());
    let (connected, mut accepted) = tokio::sync::mpsc::channel(4);
    let hold = tokio::spawn(async move {
        let mut socks = Vec::new();
        while let Ok((sock, _)) = silent.accept().await {
            socks.push(sock);
            let _ = connected.send(()).await;
        }
    });
    let mut cmd = crate::support::gwb_command();
    cmd.env("GWB_GRAPH_URL", &url)
        .env("GWB_ACCESS_TOKEN", crate::support::TOKEN)
        .env("GWB_CONFIG", s.config_path().unwrap())
        .args(["--read-timeout", "600", "check", "--state", p])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    let mut child = cmd.spawn().unwrap();
    // Killed once it is waiting on Graph (the listener accepted its connection).
    tokio::time::timeout(std::time::Duration::from_secs(60), accepted.recv())
        .await
        .expect("gwb connects")
        .unwrap();
    assert!(child.try_wait().unwrap().is_none(), "still running");
    child.kill().unwrap();
    let _ = child.wait();
    hold.abort();
    assert_eq!(
        std::fs::read_to_string(&state).unwrap(),
        kept,
        "the state is as the last run left it"
    );
    let next = s.gwb(&["check", "--state", p, "-o", "json"]).await;
    assert!(
        !next.stderr().contains("starting afresh"),
        "{}",
        next.stderr()
    );
    assert!(next.json()["changes"]["new"].as_array().unwrap().is_empty());
}
