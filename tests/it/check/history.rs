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

/// The state file a run without `--tenant` keeps in the scenario's state directory.
fn state_file(s: &Scenario) -> std::path::PathBuf {
    let mut found = Vec::new();
    let mut dirs = vec![s.state.clone()];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                dirs.push(p);
            } else if e.file_name().to_string_lossy().starts_with("check-") {
                found.push(p);
            }
        }
    }
    assert_eq!(found.len(), 1, "{found:?}");
    found.pop().unwrap()
}

/// Whole days from `rfc3339` (a date at midnight UTC) to now.
fn days_since(date: &str) -> i64 {
    let (y, m, d): (i64, i64, i64) = (
        date[..4].parse().unwrap(),
        date[5..7].parse().unwrap(),
        date[8..10].parse().unwrap(),
    );
    // Days from the civil date (Howard Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (m + if m > 2 { -3 } else { 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let then = era * 146_097 + doe - 719_468;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    now / 86_400 - then
}

/// Issue 32, item 3: each drift item's `firstSeen` is kept while it persists, shown as an age,
/// and the oldest is a metric.
#[tokio::test(flavor = "multi_thread")]
async fn first_seen_is_kept_across_runs_and_shown_as_an_age() {
    let s = Scenario::groups(60, 14).await.config(POLICY);
    let first = s.gwb(&["check", "-o", "json"]).await.json();
    let new = first["changes"]["new"].as_array().unwrap();
    let at = new[0]["firstSeen"].as_str().unwrap().to_string();
    assert!(new.iter().all(|d| d["firstSeen"] == at.as_str()), "{first}");
    assert_eq!(first["before"]["drift"][0]["firstSeen"], at.as_str());
    // The oldest item was first seen long ago (as if the job had run since 2020).
    let path = state_file(&s);
    let mut state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(state["schemaVersion"], 2);
    let old_id = state["drift"][0]["id"].as_str().unwrap().to_string();
    state["drift"][0]["firstSeen"] = "2020-01-01T00:00:00Z".into();
    std::fs::write(&path, state.to_string()).unwrap();

    let metrics = s.state.join("gwb.prom");
    let m = metrics.to_str().unwrap();
    let second = s.gwb(&["--metrics-file", m, "check", "-o", "json"]).await;
    let v = second.json();
    let persisting = v["changes"]["persisting"].as_array().unwrap();
    let old = persisting
        .iter()
        .find(|d| d["id"] == old_id.as_str())
        .unwrap();
    assert_eq!(old["firstSeen"], "2020-01-01T00:00:00Z");
    assert!(
        persisting
            .iter()
            .filter(|d| d["id"] != old_id.as_str())
            .all(|d| d["firstSeen"] == at.as_str()),
        "the others keep the first run's time: {v}"
    );
    let prom = std::fs::read_to_string(&metrics).unwrap();
    let age: f64 = prom
        .lines()
        .find_map(|l| l.strip_prefix("gwb_drift_oldest_age_seconds"))
        .and_then(|rest| rest.split_whitespace().last())
        .expect("the metric is there")
        .parse()
        .unwrap();
    let days = days_since("2020-01-01");
    assert!(
        (age / 86_400.0).floor() as i64 >= days - 1 && (age / 86_400.0) < (days + 1) as f64,
        "{age} s for {days} days"
    );

    let table = s.gwb(&["check", "-o", "table"]).await.stdout();
    let shown = table
        .lines()
        .find(|l| l.contains(&old_id))
        .expect("the old item is listed");
    assert!(
        shown.contains(&format!("(drifted for {days} days)"))
            || shown.contains(&format!("(drifted for {} days)", days - 1)),
        "{shown}"
    );
    let others = table.lines().filter(|l| l.contains("drifted for")).count();
    assert_eq!(others, 1, "items first seen today show no age: {table}");
}

/// Issue 32, item 4: each run is recorded; `gwb history` lists them newest first, in JSON, CSV
/// and the table; a state of version 1 is read and migrated.
#[tokio::test(flavor = "multi_thread")]
async fn history_lists_the_runs_newest_first_and_migrates_a_version_1_state() {
    let s = Scenario::groups(60, 14).await.config(POLICY);
    assert_eq!(s.gwb(&["check", "-o", "json"]).await.code(), 3);
    // The state as gwb 0.1 wrote it: schema 1, no firstSeen, no runs.
    let path = state_file(&s);
    let mut state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let drifted = state["drift"].as_array().unwrap().len() as u64;
    state["schemaVersion"] = 1.into();
    state.as_object_mut().unwrap().remove("runs");
    state["checkedAt"] = "2026-01-05T02:00:00Z".into();
    for d in state["drift"].as_array_mut().unwrap() {
        d.as_object_mut().unwrap().remove("firstSeen");
    }
    std::fs::write(&path, state.to_string()).unwrap();

    // Someone puts one group right; the next two runs see it resolved, then quiet.
    let fixed = state["drift"][0]["id"].as_str().unwrap().to_string();
    s.emu
        .shared()
        .tenant()
        .group_mut(&fixed)
        .unwrap()
        .writeback
        .is_enabled = Some(false);
    let second = s.gwb(&["check", "-o", "json"]).await.json();
    assert!(
        second["changes"]["persisting"]
            .as_array()
            .unwrap()
            .iter()
            .all(|d| d["firstSeen"] == "2026-01-05T02:00:00Z"),
        "migrated items date from the old state's run: {second}"
    );
    assert_eq!(s.gwb(&["check", "-o", "json"]).await.code(), 3);

    let h = s.gwb(&["history", "-o", "json"]).await;
    assert_eq!(h.code(), 0, "{}", h.stderr());
    let v = h.json();
    assert_eq!(v["kind"], "gwb.history");
    let runs = v["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 2, "the version 1 state kept no runs: {v}");
    let counts = |r: &serde_json::Value| {
        ["new", "persisting", "resolved", "excepted", "drift"].map(|k| r[k].as_u64().unwrap())
    };
    assert_eq!(
        counts(&runs[0]),
        [0, drifted - 1, 0, 0, drifted - 1],
        "newest first"
    );
    assert_eq!(counts(&runs[1]), [0, drifted - 1, 1, 0, drifted - 1]);
    assert_eq!(runs[0]["exitCode"], 3);
    assert_eq!(runs[0]["command"], "gwb check");
    assert!(runs[0]["at"].as_str().unwrap() > runs[1]["at"].as_str().unwrap());
    assert_eq!(
        v["currentDrift"].as_array().unwrap().len() as u64,
        drifted - 1
    );

    let csv = s.gwb(&["history", "-o", "csv"]).await.stdout();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "tenant,tenantId,at,command,exitCode,new,persisting,resolved,excepted,drift,error"
    );
    assert_eq!(lines.len(), 3);
    assert!(lines[2].ends_with(&format!(
        ",gwb check,3,0,{},1,0,{},",
        drifted - 1,
        drifted - 1
    )));

    let table = s
        .gwb(&["history", "-o", "table", "--last", "1"])
        .await
        .stdout();
    assert!(table.contains("1 run kept"), "{table}");
    assert!(
        table.contains("oldest first seen 2026-01-05T02:00:00Z"),
        "{table}"
    );
}

/// Issue 32, item 4: a run killed while writing its state leaves a stray temporary file at
/// most; the history and the next run read the last whole state.
#[tokio::test(flavor = "multi_thread")]
async fn the_history_survives_a_torn_temporary_file() {
    let s = Scenario::groups(30, 14).await.config(POLICY);
    assert_eq!(s.gwb(&["check", "-o", "json"]).await.code(), 3);
    let path = state_file(&s);
    let kept = std::fs::read_to_string(&path).unwrap();
    // What a run killed mid-write leaves: half a state in a temporary file beside it.
    let torn = path.with_file_name(format!(
        ".{}.tmp-1234",
        path.file_name().unwrap().to_string_lossy()
    ));
    std::fs::write(&torn, &kept[..kept.len() / 2]).unwrap();
    let h = s.gwb(&["history", "-o", "json"]).await;
    assert_eq!(h.code(), 0, "{}", h.stderr());
    assert_eq!(h.json()["runs"].as_array().unwrap().len(), 1);
    let next = s.gwb(&["check", "-o", "json"]).await;
    assert!(
        !next.stderr().contains("starting afresh"),
        "{}",
        next.stderr()
    );
    let h = s.gwb(&["history", "-o", "json"]).await.json();
    assert_eq!(h["runs"].as_array().unwrap().len(), 2);
}

/// A check that fails before it has a result is a run of the history too (exit code and why),
/// and leaves the drift and its dates as the last result left them.
#[tokio::test(flavor = "multi_thread")]
async fn a_failed_check_is_recorded_and_leaves_the_drift_alone() {
    use serde_json::json;
    let dir = crate::support::temp_dir("failed-check");
    let config = dir.join("gwb.toml");
    std::fs::write(&config, POLICY).unwrap();
    let state = dir.join("check.json");
    let (c, p) = (config.to_str().unwrap(), state.to_str().unwrap());
    let g = crate::support::GraphMock::start().await;
    let group = json!({"id": "0b1f5a6e-1111-4c1e-9e4f-000000000001", "displayName": "G1",
        "groupTypes": ["Unified"], "securityEnabled": false, "mailEnabled": true,
        "createdDateTime": "2021-01-01T00:00:00Z",
        "writebackConfiguration": {"isEnabled": true, "onPremisesGroupType": null}});
    // The first night Graph answers; the second it refuses the listing.
    g.on("GET", "/beta/groups")
        .once()
        .priority(1)
        .with(crate::support::json(json!({"value": [group]}).to_string()))
        .await;
    g.on("GET", "/beta/groups")
        .priority(2)
        .with(crate::support::json_status(
            403,
            json!({"error": {"code": "Authorization_RequestDenied", "message": "Insufficient privileges"}}).to_string(),
        ))
        .await;
    let first = g
        .gwb(&["--config", c, "check", "--state", p, "-o", "json"])
        .await;
    assert_eq!(
        first.status.code(),
        Some(3),
        "{}",
        crate::support::stderr(&first)
    );
    let before: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&state).unwrap()).unwrap();
    let failed = g
        .gwb(&["--config", c, "check", "--state", p, "-o", "json"])
        .await;
    let code = failed.status.code().unwrap();
    assert!(
        !matches!(code, 0 | 2 | 3),
        "{code}: {}",
        crate::support::stderr(&failed)
    );

    let h = g.gwb(&["history", "--state", p, "-o", "json"]).await;
    let h = crate::support::json_of(&h);
    let runs = h["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 2, "{h}");
    assert_eq!(runs[0]["exitCode"], code);
    assert!(
        runs[0]["error"].as_str().unwrap().contains("403")
            || runs[0]["error"].as_str().unwrap().contains("Insufficient"),
        "{h}"
    );
    assert!(runs[1]["error"].is_null());
    let after: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&state).unwrap()).unwrap();
    assert_eq!(after["drift"], before["drift"]);
    assert_eq!(
        after["checkedAt"], before["checkedAt"],
        "`since` stays the last result's"
    );
    let table = g
        .gwb(&["history", "--state", p, "-o", "table"])
        .await
        .stdout();
    assert!(table.contains("failed: "), "{table}");
    // A usage error is not a run: nothing was read.
    let usage = g
        .gwb(&["--config", c, "check", "--state", p, "--dry-run"])
        .await;
    assert_eq!(usage.status.code(), Some(2));
    let h = g.gwb(&["history", "--state", p, "-o", "json"]).await.json();
    assert_eq!(h["runs"].as_array().unwrap().len(), 2);
}
