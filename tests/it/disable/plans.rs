//! Saved plans and the selection flags (issue 15, item 6): a plan re-applied reports what is
//! already done as such, an old plan is warned about, an `--exclude` id no group has is warned
//! about. One scenario per test.

use crate::support::Scenario;

#[tokio::test(flavor = "multi_thread")]
async fn a_plan_applied_again_reports_its_groups_as_already_disabled() {
    let s = Scenario::groups(80, 6).await;
    let plan = s.state.join("plan.json");
    let p = plan.to_str().unwrap();
    let saved = s.gwb(&["disable-existing-m365", "--plan-out", p]).await;
    assert_eq!(saved.code(), 0, "{}", saved.stderr());
    let first = s
        .gwb(&["disable-existing-m365", "--plan", p, "--yes", "-o", "json"])
        .await;
    assert_eq!(first.code(), 0, "{}", first.stderr());
    let changed = first.json()["summary"]["changed"].as_u64().unwrap();
    assert!(changed > 0);
    let again = s
        .gwb(&["disable-existing-m365", "--plan", p, "--yes", "-o", "json"])
        .await;
    assert_eq!(again.code(), 0, "{}", again.stderr());
    let v = again.json();
    assert_eq!(v["summary"]["changedSincePlan"], 0, "{v}");
    assert_eq!(v["summary"]["changed"], 0);
    let already = v["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|k| k["reason"] == "alreadyDisabled")
        .count() as u64;
    assert!(already >= changed, "{already} < {changed}");
    assert!(v["summary"]["alreadyDisabled"].as_u64().unwrap() >= changed);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_plan_older_than_a_week_is_applied_with_a_warning_naming_its_age() {
    let s = Scenario::groups(40, 6).await;
    let plan = s.state.join("plan.json");
    let p = plan.to_str().unwrap();
    let saved = s.gwb(&["disable-existing-m365", "--plan-out", p]).await;
    assert_eq!(saved.code(), 0, "{}", saved.stderr());
    let mut doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&plan).unwrap()).unwrap();
    doc["createdAt"] = "2020-01-01T00:00:00Z".into();
    std::fs::write(&plan, serde_json::to_string(&doc).unwrap()).unwrap();
    let run = s
        .gwb(&[
            "disable-existing-m365",
            "--plan",
            p,
            "--dry-run",
            "-o",
            "json",
        ])
        .await;
    assert_eq!(run.code(), 0, "{}", run.stderr());
    run.assert_stderr_has("days ago (2020-01-01T00:00:00Z)");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_fresh_plan_gets_no_age_warning() {
    let s = Scenario::groups(40, 6).await;
    let plan = s.state.join("plan.json");
    let p = plan.to_str().unwrap();
    assert_eq!(
        s.gwb(&["disable-existing-m365", "--plan-out", p])
            .await
            .code(),
        0
    );
    let run = s
        .gwb(&[
            "disable-existing-m365",
            "--plan",
            p,
            "--dry-run",
            "-o",
            "json",
        ])
        .await;
    assert_eq!(run.code(), 0, "{}", run.stderr());
    assert!(!run.stderr().contains("days ago"), "{}", run.stderr());
}

#[tokio::test(flavor = "multi_thread")]
async fn an_exclude_id_no_group_has_is_warned_about() {
    let s = Scenario::groups(40, 6).await;
    let absent = "0b1f5a6e-1111-4c1e-9e4f-00000000000f";
    let present = s.emu.shared().tenant().groups[0].id.clone();
    let run = s
        .gwb(&[
            "disable-existing-m365",
            "--dry-run",
            "--exclude",
            absent,
            "--exclude",
            &present,
            "-o",
            "json",
        ])
        .await;
    assert_eq!(run.code(), 0, "{}", run.stderr());
    let err = run.stderr();
    assert!(
        err.contains("match no group") && err.contains(absent),
        "{err}"
    );
    assert!(!err.contains(&present), "{err}");
}
