//! Issue 18: rows are written as pages arrive, so memory does not grow with the tenant.
//!
//! The proof does not depend on timing: the emulator holds back the last page of the listing
//! until the test has read rows from gwb's stdout. A gwb that kept every row until the end
//! would print nothing before that page, and the test would fail (bounded by a generous hang
//! guard, never by a race).

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::sync::Arc;

use gwb::emulator::EmulatorConfig;

use crate::support::*;

/// Start `report -o FORMAT` against a 2,500-group tenant whose third page is held back; read
/// `want` lines from stdout, then let the page go; return every line and the exit code.
async fn rows_before_the_last_page(format: &str, want: usize) -> (Vec<String>, i32) {
    lines_before_the_last_page(&["report", "-o", format], None, want).await
}

/// Run gwb with `args` (and `config`, a config file's text) against a 2,500-group tenant whose
/// third page is held back; read `want` lines from stdout, then let the page go; return every
/// line and the exit code.
async fn lines_before_the_last_page(
    args: &[&str],
    config: Option<&str>,
    want: usize,
) -> (Vec<String>, i32) {
    let gate = Arc::new(tokio::sync::Semaphore::new(0));
    let emu = emulator_with(
        plain_tenant(2_500, 5),
        EmulatorConfig {
            hold_pages: Some((1_998, gate.clone())),
            ..Default::default()
        },
    )
    .await;
    let mut cmd = gwb_command();
    cmd.env("GWB_GRAPH_URL", emu.url())
        .env("GWB_ACCESS_TOKEN", TOKEN)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(text) = config {
        let path = temp_dir("stream-config").join("gwb.toml");
        std::fs::write(&path, text).unwrap();
        cmd.env("GWB_CONFIG", path);
    }
    let mut child = cmd.spawn().expect("gwb starts");
    let stdout = child.stdout.take().unwrap();
    // Not a timing assertion: a gwb that never prints is killed, its stdout closes, and the
    // assertions below fail.
    let guard = HangGuard::new(child.id(), 120);
    let (early, reader) = tokio::task::spawn_blocking(move || {
        let mut reader = BufReader::new(stdout);
        let mut early = Vec::new();
        for _ in 0..want {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                break;
            }
            early.push(line);
        }
        (early, reader)
    })
    .await
    .unwrap();
    assert_eq!(
        early.len(),
        want,
        "{want} lines printed while the last page was still held back"
    );
    gate.add_permits(1);
    let mut rest = tokio::task::spawn_blocking(move || {
        reader
            .lines()
            .map(|l| l.unwrap() + "\n")
            .collect::<Vec<_>>()
    })
    .await
    .unwrap();
    let status = tokio::task::spawn_blocking(move || child.wait().unwrap())
        .await
        .unwrap();
    drop(guard);
    let mut all = early;
    all.append(&mut rest);
    (all, status.code().unwrap_or(-1))
}

#[tokio::test(flavor = "multi_thread")]
async fn ndjson_rows_are_printed_while_the_listing_is_still_being_read() {
    let (lines, code) = rows_before_the_last_page("ndjson", 1_000).await;
    assert_eq!(code, 0);
    assert_eq!(lines.len(), 2_500, "every group, once");
    for l in &lines {
        let v: serde_json::Value = serde_json::from_str(l).expect("each line is whole JSON");
        assert!(v["id"].is_string());
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn csv_rows_are_printed_while_the_listing_is_still_being_read() {
    let (lines, code) = rows_before_the_last_page("csv", 1_001).await;
    assert_eq!(code, 0);
    assert!(lines[0].starts_with("id,displayName,"));
    assert_eq!(lines.len(), 2_501, "the header and every group");
}

/// The table through a pipe streams as well: its columns are measured on the first page.
#[tokio::test(flavor = "multi_thread")]
async fn the_table_is_printed_while_the_listing_is_still_being_read() {
    let (lines, code) = rows_before_the_last_page("table", 500).await;
    assert_eq!(code, 0);
    assert!(lines[0].starts_with("NAME "), "{}", lines[0]);
    assert!(
        lines.iter().any(|l| l.starts_with("Summary: 2500 groups")),
        "the summary counts every group"
    );
}

/// JSON to a file streams too (the file appears whole at the end); it is the same document as
/// JSON kept whole for stdout.
#[tokio::test(flavor = "multi_thread")]
async fn json_to_a_file_is_the_same_document_as_json_to_stdout() {
    let s = Scenario::groups(2_100, 6).await;
    let dir = temp_dir("stream-json");
    let path = dir.join("report.json");
    let file = s.gwb(&["report", "--out", path.to_str().unwrap()]).await;
    assert_eq!(file.code(), 0, "{}", file.stderr());
    let stdout = s.gwb(&["report", "-o", "json"]).await;
    assert_eq!(stdout.code(), 0, "{}", stdout.stderr());
    // Byte for byte, but for the time each run started.
    let timeless = |s: &str| {
        regex::Regex::new(r#""generatedAt": "[^"]*""#)
            .unwrap()
            .replace(s, "\"generatedAt\": \"T\"")
            .into_owned()
    };
    assert_eq!(
        timeless(&std::fs::read_to_string(&path).unwrap()),
        timeless(&stdout.stdout())
    );
}

/// check's drift items stream too (without --fix): printed as the listing finds them, the
/// same lines as the whole check prints, and remembered for the next run.
#[tokio::test(flavor = "multi_thread")]
async fn check_drift_lines_are_printed_while_the_listing_is_still_being_read() {
    let policy = "[policy]\nm365_writeback = \"disabled\"\nsecurity_writeback = \"disabled\"\n";
    let (lines, code) =
        lines_before_the_last_page(&["check", "-o", "ndjson"], Some(policy), 300).await;
    assert_eq!(code, 3, "drift");
    assert!(lines.len() > 300);
    for l in &lines {
        let d: serde_json::Value = serde_json::from_str(l).expect("whole JSON lines");
        assert_eq!(d["target"], "group");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_streamed_check_prints_what_the_whole_check_prints_and_keeps_its_state() {
    let s = Scenario::groups(2_100, 7).await.config(
        "[policy]\nnew_m365_default = false\nm365_writeback = \"disabled\"\n\n[[policy.exception]]\ntarget = \"tenantDefault\"\nreason = \"decided by the board\"\n",
    );
    let streamed = s.gwb(&["check", "-o", "ndjson"]).await;
    assert_eq!(streamed.code(), 3, "{}", streamed.stderr());
    let whole = s.gwb(&["check", "-o", "json"]).await;
    let doc = whole.json();
    let expected: Vec<String> = doc["before"]["drift"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| serde_json::to_string(d).unwrap())
        .collect();
    let got: Vec<String> = streamed
        .stdout()
        .lines()
        .map(|l| {
            serde_json::to_string(&serde_json::from_str::<serde_json::Value>(l).unwrap()).unwrap()
        })
        .collect();
    assert!(!got.is_empty());
    assert_eq!(got, expected, "the same items, in the same order");
    // The excepted tenant default is not a line; the streamed run kept its state, so the
    // whole check that followed found every item persisting.
    assert_eq!(doc["before"]["excepted"].as_array().unwrap().len(), 1);
    assert_eq!(doc["changes"]["new"].as_array().unwrap().len(), 0);
    assert_eq!(
        doc["changes"]["persisting"].as_array().unwrap().len(),
        expected.len()
    );
    // CSV streams the same items.
    let csv = s.gwb(&["check", "-o", "csv"]).await;
    assert_eq!(csv.stdout().lines().count(), expected.len() + 1);
}
