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
        .args(["report", "-o", format])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
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
    assert_eq!(std::fs::read_to_string(&path).unwrap(), stdout.stdout());
}
