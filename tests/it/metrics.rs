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
