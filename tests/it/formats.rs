//! Every output format a command lists, or a usage error (issue 15, item 4): CSV for plans and
//! drift, which a change board asks for; a format a command cannot print is refused before
//! anything is read, never answered with JSON.

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
    assert!(run.stderr().contains("add --dry-run"), "{}", run.stderr());
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
    assert!(
        run.stderr().contains("restore cannot print -o csv"),
        "{}",
        run.stderr()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn config_show_refuses_ndjson() {
    let s = Scenario::groups(1, 8).await;
    let run = s.gwb(&["config", "show", "-o", "ndjson"]).await;
    assert_eq!(run.code(), 2, "{}", run.stderr());
    assert!(
        run.stderr().contains("config show cannot print -o ndjson"),
        "{}",
        run.stderr()
    );
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
