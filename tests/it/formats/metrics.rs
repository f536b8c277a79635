//! `--metrics-file` (issue 17, item 2), read back with a real Prometheus text-format parser.

use prometheus_parse::{Scrape, Value};

use crate::support::Scenario;

fn scrape(path: &std::path::Path) -> Scrape {
    let text = std::fs::read_to_string(path).unwrap();
    let lines = text.lines().map(|l| Ok(l.to_string()));
    Scrape::parse(lines).unwrap_or_else(|e| panic!("{e}\n{text}"))
}

fn value(s: &Scrape, name: &str, labels: &[(&str, &str)]) -> f64 {
    let sample = s
        .samples
        .iter()
        .find(|m| m.metric == name && labels.iter().all(|(k, v)| m.labels.get(k) == Some(*v)))
        .unwrap_or_else(|| panic!("no {name} {labels:?} in {:?}", s.samples));
    match sample.value {
        Value::Gauge(v) | Value::Counter(v) | Value::Untyped(v) => v,
        _ => panic!("{name} is not a number"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn report_writes_the_groups_and_the_run_for_the_textfile_collector() {
    let s = Scenario::groups(50, 31).await;
    let file = s.state.join("gwb.prom");
    let run = s
        .gwb(&[
            "--metrics-file",
            file.to_str().unwrap(),
            "report",
            "-o",
            "json",
        ])
        .await;
    assert_eq!(run.code(), 0, "{}", run.stderr());
    let m = scrape(&file);
    let total: f64 = m
        .samples
        .iter()
        .filter(|x| x.metric == "gwb_groups")
        .map(|x| match x.value {
            Value::Gauge(v) => v,
            _ => 0.0,
        })
        .sum();
    assert_eq!(total, 50.0);
    let wb = run.json()["summary"]["byKind"]["microsoft365"]["writtenBack"]
        .as_f64()
        .unwrap();
    assert_eq!(
        value(
            &m,
            "gwb_groups",
            &[("kind", "microsoft365"), ("written_back", "true")]
        ),
        wb
    );
    assert_eq!(
        value(&m, "gwb_last_run_success", &[("command", "report")]),
        1.0
    );
    assert!(value(&m, "gwb_graph_requests_total", &[("status", "200")]) >= 1.0);
    assert_eq!(value(&m, "gwb_graph_throttled_total", &[]), 0.0);
    assert!(
        m.samples.iter().all(|x| x.labels.get("tenant").is_some()),
        "a tenant label on every series"
    );
    assert_eq!(value(&m, "gwb_tenant_default_writeback", &[]), 1.0);
}

#[tokio::test(flavor = "multi_thread")]
async fn check_writes_drift_and_changes_and_a_failed_run_says_so() {
    let s = Scenario::groups(50, 31)
        .await
        .config("[policy]\nm365_writeback = \"disabled\"\n");
    let file = s.state.join("check.prom");
    let f = file.to_str().unwrap();
    let run = s
        .gwb(&["--metrics-file", f, "check", "--fix", "--yes", "-o", "json"])
        .await;
    let v = run.json();
    let m = scrape(&file);
    let found = v["before"]["drift"].as_array().unwrap().len() as f64;
    assert_eq!(value(&m, "gwb_drift_items", &[("state", "new")]), found);
    let changed = v["fix"]["changed"].as_array().unwrap().len() as f64;
    assert_eq!(
        value(&m, "gwb_changes_total", &[("result", "changed")]),
        changed
    );
    assert_eq!(
        value(&m, "gwb_last_run_success", &[("command", "check")]),
        if run.code() == 0 || run.code() == 3 {
            1.0
        } else {
            0.0
        }
    );
    // Graph gone: the file still says the run failed.
    let failed = s
        .gwb_with(
            &[("GWB_GRAPH_URL", "http://127.0.0.1:9")],
            &["--metrics-file", f, "check"],
        )
        .await;
    assert_eq!(failed.code(), 1);
    assert_eq!(
        value(
            &scrape(&file),
            "gwb_last_run_success",
            &[("command", "check")]
        ),
        0.0
    );
}

/// The textfile collector runs as its own user: the file is 0644 whatever gwb's umask, and it
/// holds only the run's own series.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread")]
async fn the_file_is_readable_by_the_collector_and_holds_only_this_run() {
    use std::os::unix::fs::PermissionsExt;
    let s = Scenario::groups(30, 32)
        .await
        .config("[policy]\nm365_writeback = \"disabled\"\n");
    let file = s.state.join("gwb.prom");
    let f = file.to_str().unwrap();
    let mut cmd = std::process::Command::new("sh");
    cmd.arg("-c")
        .arg("umask 077; exec \"$0\" \"$@\"")
        .arg(env!("CARGO_BIN_EXE_gwb"))
        .args(["--metrics-file", f, "report", "-o", "json"]);
    for (k, v) in crate::support::gwb_command().get_envs() {
        match v {
            Some(v) => cmd.env(k, v),
            None => cmd.env_remove(k),
        };
    }
    cmd.env("GWB_GRAPH_URL", s.emu.url())
        .env("GWB_ACCESS_TOKEN", crate::support::TOKEN);
    let out = crate::support::run(cmd).await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        crate::support::stderr(&out)
    );
    let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o644, "mode {mode:o}");
    assert!(
        scrape(&file)
            .samples
            .iter()
            .any(|m| m.metric == "gwb_groups")
    );
    let run = s.gwb(&["--metrics-file", f, "check", "-o", "json"]).await;
    assert_eq!(run.code(), 3, "{}", run.stderr());
    let m = scrape(&file);
    assert!(
        m.samples.iter().all(|x| x.metric != "gwb_groups"),
        "the report's series are gone"
    );
    assert_eq!(
        value(&m, "gwb_last_run_exit_code", &[("command", "check")]),
        3.0
    );
}

/// A run that fails before it reaches Graph (a config typo, no credential) still writes the
/// file, saying it failed: the dashboard never keeps the last good run's success.
#[tokio::test(flavor = "multi_thread")]
async fn a_run_that_never_reached_graph_says_it_failed() {
    let s = Scenario::groups(10, 33).await;
    let file = s.state.join("gwb.prom");
    let f = file.to_str().unwrap();
    let ok = s.gwb(&["--metrics-file", f, "report", "-o", "json"]).await;
    assert_eq!(ok.code(), 0, "{}", ok.stderr());
    assert_eq!(
        value(
            &scrape(&file),
            "gwb_last_run_success",
            &[("command", "report")]
        ),
        1.0
    );
    let typo = crate::support::temp_dir("typo").join("gwb.toml");
    std::fs::write(&typo, "grpah_url = \"https://graph.microsoft.com\"\n").unwrap();
    let broken = s
        .gwb_with(
            &[("GWB_CONFIG", typo.to_str().unwrap())],
            &["--metrics-file", f, "report"],
        )
        .await;
    assert_eq!(broken.code(), 2, "{}", broken.stderr());
    let m = scrape(&file);
    assert_eq!(
        value(&m, "gwb_last_run_success", &[("command", "report")]),
        0.0
    );
    assert_eq!(
        value(&m, "gwb_last_run_exit_code", &[("command", "report")]),
        2.0
    );
    assert!(value(&m, "gwb_last_run_timestamp_seconds", &[]) > 1.7e9);
    // No credential at all.
    let mut cmd = crate::support::gwb_command();
    cmd.env("XDG_STATE_HOME", &s.state)
        .args(["--metrics-file", f, "check"]);
    let out = crate::support::run(cmd).await;
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        crate::support::stderr(&out)
    );
    assert_eq!(
        value(
            &scrape(&file),
            "gwb_last_run_success",
            &[("command", "check")]
        ),
        0.0
    );
}

/// The series a nightly check adds: resolved drift, groups that need the privileged permission,
/// the nearest exception expiry; and the fleet entry's name on every series.
#[tokio::test(flavor = "multi_thread")]
async fn check_counts_resolved_privileged_and_the_nearest_expiry_by_tenant_name() {
    let mut tenant = gwb::emulator::Tenant::generate(60, 34);
    let privileged: Vec<String> = tenant
        .groups
        .iter_mut()
        .filter(|g| crate::support::should_change(g))
        .take(2)
        .map(|g| {
            g.is_assignable_to_role = Some(true);
            g.id.clone()
        })
        .collect();
    let excepted = tenant
        .groups
        .iter()
        .filter(|g| crate::support::should_change(g))
        .nth(2)
        .unwrap()
        .id
        .clone();
    let s = Scenario::tenant(gwb::emulator::Tenant::new(tenant.groups, Vec::new())).await;
    let config = format!(
        "[policy]\nm365_writeback = \"disabled\"\n\n[[policy.exception]]\nid = \"{excepted}\"\nreason = \"r\"\nexpires = \"2099-03-01\"\n\n[[policy.exception]]\nid = \"{}\"\nreason = \"r\"\nexpires = \"2099-06-01\"\n\n[[tenants]]\nname = \"contoso\"\ngraph_url = \"{}\"\n",
        privileged[0],
        s.emu.url()
    );
    let s = s.config(&config);
    let file = s.state.join("gwb.prom");
    let f = file.to_str().unwrap();
    let first = s
        .gwb(&[
            "--tenant",
            "contoso",
            "--metrics-file",
            f,
            "check",
            "-o",
            "json",
        ])
        .await;
    assert_eq!(first.code(), 3, "{}", first.stderr());
    let m = scrape(&file);
    assert!(
        m.samples
            .iter()
            .all(|x| x.labels.get("tenant_name") == Some("contoso")),
        "{:?}",
        m.samples
    );
    // One role-assignable group is excepted; the other needs the privileged permission.
    assert_eq!(
        value(&m, "gwb_groups_needing_privileged_permission", &[]),
        1.0
    );
    let expiry = value(&m, "gwb_exception_expiry_timestamp_seconds", &[]);
    assert_eq!(
        expiry, 4_076_092_800.0,
        "2099-03-02T00:00:00Z: the midnight after its last day"
    );
    assert_eq!(value(&m, "gwb_drift_items", &[("state", "resolved")]), 0.0);
    let found = first.json()["before"]["drift"].as_array().unwrap().len() as f64;
    // Fixed (the role-assignable one fails without the permission): what it fixed is resolved.
    let fixed = s
        .gwb(&[
            "--tenant",
            "contoso",
            "--metrics-file",
            f,
            "check",
            "--fix",
            "--yes",
            "-o",
            "json",
        ])
        .await;
    let resolved = fixed.json()["changes"]["resolved"]
        .as_array()
        .unwrap()
        .len() as f64;
    assert!(resolved > 0.0 && resolved < found, "{resolved} of {found}");
    assert_eq!(
        value(&scrape(&file), "gwb_drift_items", &[("state", "resolved")]),
        resolved
    );
}
