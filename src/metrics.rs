//! `--metrics-file PATH`: the run's figures in the Prometheus text format, written atomically
//! (temporary file, then rename) for node_exporter's textfile collector. Commands record what
//! they know (`record`); the session adds the run's own figures and writes the file when the
//! command ends, whether it succeeded or not. Every series has a `tenant` label.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;

/// A series' labels (besides `tenant`).
type Labels = Vec<(&'static str, String)>;

/// One series: name, labels, value.
type Series = (&'static str, Labels, f64);

static RECORDED: Mutex<Vec<Series>> = Mutex::new(Vec::new());

/// Record a value (a later value of the same series replaces an earlier one).
pub(crate) fn record(name: &'static str, labels: &[(&'static str, &str)], value: f64) {
    let labels: Vec<(&'static str, String)> =
        labels.iter().map(|(k, v)| (*k, v.to_string())).collect();
    if let Ok(mut r) = RECORDED.lock() {
        r.retain(|(n, l, _)| !(*n == name && *l == labels));
        r.push((name, labels, value));
    }
}

/// `gwb_changes_total`: what a writing run changed and failed to change.
pub(crate) fn record_changes(changed: usize, failed: usize) {
    record(
        "gwb_changes_total",
        &[("result", "changed")],
        changed as f64,
    );
    record("gwb_changes_total", &[("result", "failed")], failed as f64);
}

/// `gwb_tenant_default_writeback`, when the default was read.
pub(crate) fn record_tenant_default(value: Option<bool>) {
    if let Some(v) = value {
        record("gwb_tenant_default_writeback", &[], f64::from(u8::from(v)));
    }
}

/// What each metric is, for `# HELP` and `# TYPE`.
fn describe(name: &str) -> (&'static str, &'static str) {
    match name {
        "gwb_groups" => (
            "gauge",
            "Groups by kind and whether they are written back (report).",
        ),
        "gwb_tenant_default_writeback" => (
            "gauge",
            "NewUnifiedGroupWritebackDefault: 1 new Microsoft 365 groups are written back, 0 not.",
        ),
        "gwb_drift_items" => (
            "gauge",
            "Drift items by state (check): new, persisting, excepted.",
        ),
        "gwb_changes_total" => ("counter", "Group changes this run made, by result."),
        "gwb_last_run_timestamp_seconds" => ("gauge", "When the run ended (Unix time)."),
        "gwb_last_run_success" => (
            "gauge",
            "1 when the run ended with exit 0 or 3 (drift), else 0.",
        ),
        "gwb_run_duration_seconds" => ("gauge", "How long the run took."),
        "gwb_graph_requests_total" => ("counter", "Answers from Graph by HTTP status."),
        "gwb_graph_throttled_total" => ("counter", "Answers from Graph that were 429 (throttled)."),
        _ => ("gauge", "gwb"),
    }
}

/// A label value as the text format wants it: backslash, quote and newline escaped.
fn label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// The text for the run that just ended.
pub(crate) fn render(
    tenant: &str,
    command: &str,
    success: bool,
    duration: std::time::Duration,
    answers: &BTreeMap<u16, u64>,
    ended_unix: f64,
) -> String {
    let mut series: Vec<Series> = RECORDED.lock().map(|r| r.clone()).unwrap_or_default();
    let cmd = vec![("command", command.to_string())];
    series.push(("gwb_last_run_timestamp_seconds", cmd.clone(), ended_unix));
    series.push((
        "gwb_last_run_success",
        cmd.clone(),
        f64::from(u8::from(success)),
    ));
    series.push(("gwb_run_duration_seconds", cmd, duration.as_secs_f64()));
    for (status, n) in answers {
        series.push((
            "gwb_graph_requests_total",
            vec![("status", status.to_string())],
            *n as f64,
        ));
    }
    series.push((
        "gwb_graph_throttled_total",
        Vec::new(),
        answers.get(&429).copied().unwrap_or(0) as f64,
    ));
    let mut by_name: BTreeMap<&'static str, Vec<(Labels, f64)>> = BTreeMap::new();
    for (name, labels, value) in series {
        by_name.entry(name).or_default().push((labels, value));
    }
    let mut out = String::new();
    for (name, rows) in by_name {
        let (kind, help) = describe(name);
        let _ = writeln!(out, "# HELP {name} {help}");
        let _ = writeln!(out, "# TYPE {name} {kind}");
        for (labels, value) in rows {
            let mut l = format!("tenant=\"{}\"", label(tenant));
            for (k, v) in labels {
                let _ = write!(l, ",{k}=\"{}\"", label(&v));
            }
            let _ = writeln!(out, "{name}{{{l}}} {value}");
        }
    }
    out
}
