//! `--metrics-file PATH`: the run's figures in the Prometheus text format, written atomically
//! (temporary file, then rename) with mode 0644 whatever the umask, so node_exporter's textfile
//! collector, which runs as its own user, can read it (it holds counts, tenant names and a
//! tenant id: no secret). Commands record what they know (`record`), into their own run's
//! recorder (a fleet runs several tenants in one process); the session adds the run's own
//! figures and writes the file when the command ends, whether it succeeded or not. A run that
//! fails before it reaches a tenant (a config typo, a missing credential) writes it from the
//! program's exit path ([`write_unreached`]), so the last good run's success never lingers.
//! Every series has a `tenant` label, and `tenant_name` where a fleet entry is known.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicBool, Ordering};

/// A series' labels (besides `tenant`).
type Labels = Vec<(&'static str, String)>;

/// One series: name, labels, value.
pub(crate) type Series = (&'static str, Labels, f64);

tokio::task_local! {
    /// The recorder of the run in flight (one per tenant in a fleet).
    static RUN: RefCell<Vec<Series>>;
}

/// Whether some run of this process wrote a metrics file (then the exit path writes none).
static WRITTEN: AtomicBool = AtomicBool::new(false);

/// Run `fut` with a recorder of its own; what it recorded comes back with its output.
pub(crate) async fn recorded<T>(fut: impl std::future::Future<Output = T>) -> (T, Vec<Series>) {
    RUN.scope(RefCell::new(Vec::new()), async {
        let out = fut.await;
        (out, RUN.with(|r| r.take()))
    })
    .await
}

/// Record a value into the run's recorder (a later value of the same series replaces an
/// earlier one). Outside a run (no recorder) there is no metrics file to write it to.
pub(crate) fn record(name: &'static str, labels: &[(&'static str, &str)], value: f64) {
    let labels: Vec<(&'static str, String)> =
        labels.iter().map(|(k, v)| (*k, v.to_string())).collect();
    let _ = RUN.try_with(|r| {
        let mut r = r.borrow_mut();
        r.retain(|(n, l, _)| !(*n == name && *l == labels));
        r.push((name, labels, value));
    });
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
            "Drift items by state (check): new, persisting, resolved, excepted.",
        ),
        "gwb_drift_oldest_age_seconds" => (
            "gauge",
            "How long the oldest drift item has drifted, from the check that first saw it (0: nothing drifts; check).",
        ),
        "gwb_groups_needing_privileged_permission" => (
            "gauge",
            "Drifted role-assignable groups, which only an app with RoleManagement.ReadWrite.Directory can change (check).",
        ),
        "gwb_exception_expiry_timestamp_seconds" => (
            "gauge",
            "When the nearest policy exception in force stops being in force (Unix time; check).",
        ),
        "gwb_last_run_exit_code" => ("gauge", "The exit code the run ended with."),
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

/// Whose run: the `tenant` label (the tenant id, else the Graph root, else "unknown") and, in a
/// fleet or with `--tenant NAME`, the config file's name for it.
pub(crate) struct Whose<'a> {
    pub tenant: &'a str,
    pub name: Option<&'a str>,
}

/// The text for the run that just ended: what it `recorded`, and how it ended (`exit_code`;
/// success is 0 or 3, drift).
pub(crate) fn render(
    whose: &Whose,
    command: &str,
    exit_code: u8,
    duration: std::time::Duration,
    answers: &BTreeMap<u16, u64>,
    ended_unix: f64,
    recorded: Vec<Series>,
) -> String {
    let mut series = recorded;
    let success = exit_code == 0 || exit_code == 3;
    let cmd = vec![("command", command.to_string())];
    series.push(("gwb_last_run_timestamp_seconds", cmd.clone(), ended_unix));
    series.push((
        "gwb_last_run_success",
        cmd.clone(),
        f64::from(u8::from(success)),
    ));
    series.push(("gwb_last_run_exit_code", cmd.clone(), f64::from(exit_code)));
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
            let mut l = format!("tenant=\"{}\"", label(whose.tenant));
            if let Some(n) = whose.name {
                let _ = write!(l, ",tenant_name=\"{}\"", label(n));
            }
            for (k, v) in labels {
                let _ = write!(l, ",{k}=\"{}\"", label(&v));
            }
            let _ = writeln!(out, "{name}{{{l}}} {value}");
        }
    }
    out
}

/// Write `text` to `path` for the textfile collector (atomically, mode 0644), and remember that
/// this process wrote a metrics file.
pub(crate) fn write(path: &std::path::Path, text: &str) {
    WRITTEN.store(true, Ordering::Relaxed);
    if let Err(e) = crate::files::write_atomic_readable(path, text.as_bytes()) {
        tracing::warn!("cannot write --metrics-file {}: {e}", path.display());
    }
}

/// The exit path of a run that wrote no metrics file (it failed before it reached a tenant: a
/// config typo, a missing credential, a bad flag): the file says so, `gwb_last_run_success 0`
/// with the exit code and the duration, rather than keeping the last good run's success.
pub fn write_unreached(
    path: &std::path::Path,
    tenant_name: Option<&str>,
    command: &str,
    exit_code: u8,
    duration: std::time::Duration,
) {
    if !WRITTEN.load(Ordering::Relaxed) {
        write_failed(path, tenant_name, command, exit_code, duration);
    }
}

/// A run that never reached its tenant (a fleet entry that could not sign in, or any run
/// before it reached Graph): `gwb_last_run_success 0`, its exit code and duration.
pub(crate) fn write_failed(
    path: &std::path::Path,
    tenant_name: Option<&str>,
    command: &str,
    exit_code: u8,
    duration: std::time::Duration,
) {
    let whose = Whose {
        tenant: "unknown",
        name: tenant_name,
    };
    let text = render(
        &whose,
        command,
        exit_code,
        duration,
        &BTreeMap::new(),
        unix_now(),
        Vec::new(),
    );
    write(path, &text);
}

/// Now, as Unix time.
pub(crate) fn unix_now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// The Unix time at which an exception expiring on `date` (`YYYY-MM-DD`, in force through that
/// day, UTC) stops being in force: the next midnight.
pub(crate) fn end_of_day_unix(date: &str) -> Option<f64> {
    let t = azure_core::time::parse_rfc3339(&format!("{date}T00:00:00Z")).ok()?;
    Some((t.unix_timestamp() + 86_400) as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn each_run_records_into_its_own_recorder() {
        let (a, b) = tokio::join!(
            recorded(async { record("gwb_groups", &[("kind", "a")], 1.0) }),
            recorded(async { record("gwb_groups", &[("kind", "b")], 2.0) })
        );
        assert_eq!(a.1.len(), 1);
        assert_eq!(a.1[0].1[0].1, "a");
        assert_eq!(b.1[0].2, 2.0);
    }

    #[test]
    fn an_exception_stops_at_the_midnight_after_its_last_day() {
        assert_eq!(end_of_day_unix("1970-01-01"), Some(86_400.0));
        assert_eq!(end_of_day_unix("2026-13-01"), None);
    }
}
