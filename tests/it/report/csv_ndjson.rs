//! The report as CSV (quoting, non-ASCII) and NDJSON, with filters.

use crate::support::Scenario;
use crate::support::{stderr, stdout};
use serde_json::Value;
use std::collections::HashMap;

use crate::support::expected;

/// A minimal RFC 4180 reader for checking gwb's CSV.
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let (mut row, mut field, mut quoted, mut chars) =
        (Vec::new(), String::new(), false, text.chars().peekable());
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') => quoted = true,
            (false, ',') => row.push(std::mem::take(&mut field)),
            (false, '\n') => {
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            (false, c) => field.push(c),
        }
    }
    rows
}

#[tokio::test(flavor = "multi_thread")]
async fn csv_quotes_commas_quotes_and_keeps_non_ascii() {
    let s = Scenario::generated(300, 3, 0.0).await;
    let emu = &s.emu;
    let out = s.gwb(&["report", "-o", "csv"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let rows = parse_csv(&stdout(&out));
    assert_eq!(rows[0][0..3], ["id", "displayName", "kind"]);
    assert_eq!(rows.len(), 301);
    assert!(
        rows.iter().all(|r| r.len() == rows[0].len()),
        "every row has every column"
    );
    let truth = emu.shared().tenant().groups.clone();
    let names: HashMap<&str, &str> = rows[1..]
        .iter()
        .map(|r| (r[0].as_str(), r[1].as_str()))
        .collect();
    let tricky = truth
        .iter()
        .filter(|g| g.display_name.contains([',', '"']) || !g.display_name.is_ascii())
        .count();
    assert!(tricky > 20, "the tenant has awkward names to test with");
    for g in &truth {
        assert_eq!(names[g.id.as_str()], g.display_name, "name survives CSV");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn ndjson_and_filters() {
    let s = Scenario::generated(500, 4, 0.0).await;
    let emu = &s.emu;
    let out = s
        .gwb(&[
            "report",
            "-o",
            "ndjson",
            "--kind",
            "security",
            "--written-back",
        ])
        .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let rows: Vec<Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let truth = emu.shared().tenant().groups.clone();
    let want = truth
        .iter()
        .filter(|g| {
            g.security_enabled && !g.mail_enabled && g.group_types.is_empty() && expected(g).0
        })
        .count();
    assert!(want > 0);
    assert_eq!(rows.len(), want);
    assert!(
        rows.iter()
            .all(|r| r["kind"] == "security" && r["writtenBack"] == true)
    );

    // JSON with a filter: the summary still counts the whole tenant.
    let out = s
        .gwb(&["report", "-o", "json", "--kind", "distribution"])
        .await;
    let v: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(v["summary"]["totalGroups"], 500);
    assert_eq!(
        v["summary"]["shownGroups"].as_u64().unwrap() as usize,
        v["groups"].as_array().unwrap().len()
    );
    assert!(
        v["groups"]
            .as_array()
            .unwrap()
            .iter()
            .all(|g| g["kind"] == "distribution")
    );
}
