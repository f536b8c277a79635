//! Every output format a command lists, or a usage error (issue 15, item 4): CSV for plans and
//! drift, which a change board asks for; a format a command cannot print is refused before
//! anything is read, never answered with JSON.

mod browser;
mod closed_stdout;
pub(crate) mod golden;
mod metrics;
mod terminal_safety;

use crate::support::Scenario;

#[tokio::test(flavor = "multi_thread")]
async fn a_dry_run_prints_its_plan_as_csv_one_change_a_row() {
    let s = Scenario::groups(60, 8).await;
    let json = s
        .gwb(&["disable-existing-m365", "--dry-run", "-o", "json"])
        .await;
    let changes = json.json()["changes"].as_array().unwrap().clone();
    let run = s
        .gwb(&["disable-existing-m365", "--dry-run", "-o", "csv"])
        .await;
    assert_eq!(run.code(), 0, "{}", run.stderr());
    let out = run.stdout();
    let mut lines = out.lines();
    assert_eq!(
        lines.next(),
        Some(
            "id,displayName,beforeIsEnabled,beforeOnPremisesGroupType,afterIsEnabled,afterOnPremisesGroupType,roleAssignable"
        )
    );
    let rows: Vec<&str> = lines.collect();
    assert_eq!(rows.len(), changes.len());
    for (row, c) in rows.iter().zip(&changes) {
        assert!(row.starts_with(c["id"].as_str().unwrap()), "{row}");
        assert!(row.contains(",false,"), "after isEnabled false: {row}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn check_prints_drift_as_csv() {
    let s = Scenario::groups(60, 8)
        .await
        .config("[policy]\nm365_writeback = \"disabled\"\n");
    let json = s.gwb(&["check", "-o", "json"]).await;
    let drift = json.json()["before"]["drift"].as_array().unwrap().len();
    assert!(drift > 0);
    let run = s.gwb(&["check", "-o", "csv"]).await;
    assert_eq!(run.code(), 3, "drift: {}", run.stderr());
    let out = run.stdout();
    assert!(
        out.starts_with("target,id,displayName,kind,expected,actual,roleAssignable\n"),
        "{out}"
    );
    assert_eq!(out.lines().count(), drift + 1);
    assert!(
        out.lines().skip(1).all(|l| l.starts_with("group,")),
        "{out}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn set_default_refuses_csv_before_reading_anything() {
    let s = Scenario::groups(10, 8).await;
    let run = s.gwb(&["set-default", "false", "-o", "csv"]).await;
    assert_eq!(run.code(), 2, "{}", run.stderr());
    assert!(
        run.stderr()
            .contains("set-default cannot print -o csv; use one of: table, json"),
        "{}",
        run.stderr()
    );
    assert_eq!(run.stdout(), "");
    assert_eq!(s.count("requests"), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_apply_refuses_ndjson_and_points_at_the_dry_run() {
    let s = Scenario::groups(10, 8).await;
    let run = s
        .gwb(&["disable-existing-m365", "--yes", "-o", "ndjson"])
        .await;
    assert_eq!(run.code(), 2, "{}", run.stderr());
    run.assert_stderr_has("add --dry-run");
    assert_eq!(s.count("requests"), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn restore_refuses_csv() {
    let s = Scenario::groups(10, 8).await;
    let journal = s.state.join("none.jsonl");
    let run = s
        .gwb(&[
            "restore",
            "--journal",
            journal.to_str().unwrap(),
            "-o",
            "csv",
        ])
        .await;
    assert_eq!(run.code(), 2, "{}", run.stderr());
    run.assert_stderr_has("restore cannot print -o csv");
}

#[tokio::test(flavor = "multi_thread")]
async fn config_show_refuses_ndjson() {
    let s = Scenario::groups(1, 8).await;
    let run = s.gwb(&["config", "show", "-o", "ndjson"]).await;
    assert_eq!(run.code(), 2, "{}", run.stderr());
    run.assert_stderr_has("config show cannot print -o ndjson");
}

#[tokio::test(flavor = "multi_thread")]
async fn csv_bom_starts_csv_with_a_byte_order_mark_for_excel() {
    let s = Scenario::groups(10, 8).await;
    let plain = s.gwb(&["report", "-o", "csv"]).await;
    assert!(plain.stdout().starts_with("id,"), "no BOM unless asked");
    let bom = s.gwb(&["--csv-bom", "report", "-o", "csv"]).await;
    assert!(
        bom.stdout().starts_with("\u{feff}id,"),
        "{:?}",
        &bom.stdout()[..8]
    );
    let plan = s
        .gwb(&[
            "disable-existing-m365",
            "--dry-run",
            "-o",
            "csv",
            "--csv-bom",
        ])
        .await;
    assert!(plan.stdout().starts_with("\u{feff}id,displayName"));
}

#[tokio::test(flavor = "multi_thread")]
async fn check_json_speaks_as_every_other_command_schema_2() {
    let s = Scenario::groups(40, 8)
        .await
        .config("[policy]\nm365_writeback = \"disabled\"\nnew_m365_default = false\n");
    let run = s.gwb(&["check", "--fix", "--yes", "-o", "json"]).await;
    let v = run.json();
    assert_eq!(v["schemaVersion"], 2);
    assert!(
        v["fix"]["planned"].is_u64() && v["fix"]["changed"].is_array(),
        "{v}"
    );
    assert!(v["fix"].get("groupsChanged").is_none());
    assert_eq!(v["policy"]["m365Writeback"], "disabled", "{v}");
    assert_eq!(v["policy"]["newM365Default"], false);
    assert!(v["policy"].get("m365_writeback").is_none());
}

#[tokio::test(flavor = "multi_thread")]
async fn check_as_junit_is_well_formed_with_a_case_per_rule_and_per_drifted_group() {
    let s = Scenario::groups(40, 8)
        .await
        .config("[policy]\nm365_writeback = \"disabled\"\nsecurity_writeback = \"disabled\"\n");
    // A name that would break hand-made XML, with a control character XML 1.0 cannot carry.
    let hostile = {
        let mut t = s.emu.shared().tenant();
        let g = t
            .groups
            .iter_mut()
            .find(|g| {
                g.group_types.iter().any(|k| k == "Unified")
                    && g.on_premises_sync_enabled != Some(true)
                    && g.writeback.is_enabled != Some(false)
            })
            .unwrap();
        g.display_name = "</testcase><x a=\"1\">&amp; \u{1}bell".into();
        g.id.clone()
    };
    let json = s.gwb(&["check", "-o", "json"]).await.json();
    let drift = json["before"]["drift"].as_array().unwrap().len();
    let run = s.gwb(&["check", "-o", "junit"]).await;
    assert_eq!(run.code(), 3, "the exit code is check's: {}", run.stderr());
    let text = run.stdout();
    let doc = roxmltree::Document::parse(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    let suites = doc.root_element();
    assert_eq!(suites.tag_name().name(), "testsuites");
    let suite = suites
        .children()
        .find(|n| n.has_tag_name("testsuite"))
        .unwrap();
    let cases: Vec<_> = suite
        .children()
        .filter(|n| n.has_tag_name("testcase"))
        .collect();
    let rules: Vec<_> = cases
        .iter()
        .filter(|c| c.attribute("classname") == Some("gwb.policy"))
        .collect();
    assert_eq!(rules.len(), 2, "one case per rule checked");
    let groups: Vec<_> = cases
        .iter()
        .filter(|c| c.attribute("classname") == Some("gwb.group"))
        .collect();
    assert_eq!(groups.len(), drift, "one case per drifted group");
    assert!(
        groups
            .iter()
            .all(|c| c.children().any(|n| n.has_tag_name("failure")))
    );
    let failures: usize = suite.attribute("failures").unwrap().parse().unwrap();
    assert_eq!(
        failures,
        drift + rules.iter().filter(|r| r.has_children()).count()
    );
    let name = groups
        .iter()
        .find_map(|c| c.attribute("name").filter(|n| n.contains(&hostile)))
        .expect("the hostile group is a case");
    assert!(
        name.starts_with("</testcase><x a=\"1\">&amp; \u{fffd}bell"),
        "{name}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn report_refuses_junit() {
    let s = Scenario::groups(3, 8).await;
    let run = s.gwb(&["report", "-o", "junit"]).await;
    assert_eq!(run.code(), 2, "{}", run.stderr());
    run.assert_stderr_has("report cannot print -o junit");
}

/// `--out FILE` (issue 17 and 18): the data in FILE, whole, in the format its extension names;
/// a run that fails leaves the file that was there as it was, and no temporary file beside it.
#[tokio::test(flavor = "multi_thread")]
async fn out_writes_the_whole_file_or_leaves_the_old_one() {
    let s = Scenario::groups(1_200, 4).await;
    let dir = crate::support::temp_dir("out");
    let path = dir.join("groups.csv");
    let p = path.to_str().unwrap();
    let run = s.gwb(&["report", "--out", p]).await;
    assert_eq!(run.code(), 0, "{}", run.stderr());
    assert_eq!(run.stdout(), "", "the data went to the file");
    let csv = std::fs::read_to_string(&path).unwrap();
    assert!(csv.starts_with("id,displayName,"), "CSV by extension");
    assert_eq!(csv.lines().count(), 1_201);
    // -o wins over the extension.
    let run = s.gwb(&["report", "-o", "ndjson", "--out", p]).await;
    assert_eq!(run.code(), 0, "{}", run.stderr());
    assert!(std::fs::read_to_string(&path).unwrap().starts_with("{\""));

    // A run that fails after the first page (the second is over --max-pages).
    std::fs::write(&path, "the last good report\n").unwrap();
    let run = s.gwb(&["report", "--max-pages", "1", "--out", p]).await;
    assert_eq!(run.code(), 1, "{}", run.stderr());
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        "the last good report\n"
    );
    let left: Vec<_> = std::fs::read_dir(&dir).unwrap().collect();
    assert_eq!(left.len(), 1, "no temporary file is left: {left:?}");

    // A directory that does not exist: a usage error, and nothing read.
    let requests = s.count("requests");
    let missing = dir.join("no-such-dir").join("r.json");
    let run = s.gwb(&["report", "--out", missing.to_str().unwrap()]).await;
    assert_eq!(run.code(), 2, "{}", run.stderr());
    run.assert_stderr_has("--out");
    assert_eq!(
        s.count("requests"),
        requests,
        "the refused run read nothing"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn html_is_for_report_and_check_only() {
    let s = Scenario::groups(10, 4).await;
    let run = s
        .gwb(&["disable-existing-m365", "--dry-run", "-o", "html"])
        .await;
    assert_eq!(run.code(), 2, "{}", run.stderr());
    run.assert_stderr_has("cannot print -o html");
    let run = s.gwb(&["report", "-o", "html"]).await;
    assert_eq!(run.code(), 0, "{}", run.stderr());
    assert!(run.stdout().starts_with("<!DOCTYPE html>"));
    assert!(!run.stdout().contains("\"memberCount\""));
    let run = s.gwb(&["report", "--member-counts", "-o", "html"]).await;
    assert_eq!(run.code(), 0, "{}", run.stderr());
    assert!(
        run.stdout()
            .contains("\"key\":\"memberCount\",\"label\":\"Members\""),
        "a Members column with --member-counts"
    );
}

/// The HTML check after `--fix`: the fix's outcome and the check made again, on the page.
#[tokio::test(flavor = "multi_thread")]
async fn check_fix_as_html_shows_what_the_fix_did() {
    let s = Scenario::groups(60, 9)
        .await
        .config("[policy]\nm365_writeback = \"disabled\"\n");
    let run = s.gwb(&["check", "--fix", "--yes", "-o", "html"]).await;
    assert_eq!(run.code(), 0, "fixed and compliant: {}", run.stderr());
    let page = run.stdout();
    assert!(
        page.contains("<div class=\"verdict ok\">Compliant</div>"),
        "{page}"
    );
    assert!(page.contains("After the fix, the tenant was checked again"));
    assert!(page.contains("<h2>Fix</h2>"));
    assert!(page.contains("Journal: "), "the undo is on the page");
    // Every item this run found was new and is now resolved.
    let data = page
        .split("<script type=\"application/json\" id=\"grid-1\">")
        .nth(1)
        .and_then(|r| r.split("</script>").next())
        .expect("the drift table's data");
    let v: serde_json::Value = serde_json::from_str(data).unwrap();
    let states = &v["columns"][0]["values"];
    assert!(
        states.as_array().unwrap().iter().any(|s| s == "resolved"),
        "{states}"
    );
}

/// A filtered HTML report says the table shows part of what was read.
#[tokio::test(flavor = "multi_thread")]
async fn a_filtered_html_report_says_so() {
    let s = Scenario::groups(60, 9).await;
    let run = s.gwb(&["report", "--kind", "m365", "-o", "html"]).await;
    assert_eq!(run.code(), 0, "{}", run.stderr());
    let page = run.stdout();
    assert!(page.contains("of the 60 groups read"), "{page}");
    assert!(
        page.contains("gwb report --kind microsoft365 -o html"),
        "the header names the filter by its full value"
    );
}

/// Every document says what it describes: `meta` with the tenant, the Graph root, when, the
/// command and gwb's version (report, check, a plan, a run's result, set-default's outcome).
#[tokio::test(flavor = "multi_thread")]
async fn every_json_document_carries_meta() {
    let s = crate::support::Scenario::groups(30, 12)
        .await
        .config("[policy]\nm365_writeback = \"disabled\"\n");
    for (args, command) in [
        (vec!["report", "-o", "json"], "gwb report"),
        (vec!["check", "-o", "json"], "gwb check"),
        (
            vec!["disable-existing-m365", "--dry-run", "-o", "json"],
            "gwb disable-existing-m365",
        ),
        (
            vec!["disable-existing-m365", "--yes", "-o", "json"],
            "gwb disable-existing-m365",
        ),
        (
            vec!["set-default", "false", "--dry-run", "-o", "json"],
            "gwb set-default",
        ),
    ] {
        let run = s.gwb(&args).await;
        assert!(matches!(run.code(), 0 | 3), "{args:?}: {}", run.stderr());
        let meta = &run.json()["meta"];
        assert_eq!(meta["command"], command, "{args:?}: {meta}");
        assert_eq!(meta["graphRoot"], s.emu.url(), "{meta}");
        assert_eq!(meta["gwbVersion"], env!("CARGO_PKG_VERSION"));
        let at = meta["generatedAt"].as_str().unwrap();
        assert!(
            at.len() >= 20 && at.ends_with('Z') && at.contains('T'),
            "{at}"
        );
        assert!(meta.get("tenantId").is_some(), "{meta}");
    }
}
