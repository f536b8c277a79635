//! The one change pipeline, the same for every writing command: lock, plan, guard
//! (`--max-changes`), the single dry-run stop, consent, journal, writes, read-back, summary.
//! One scenario per test.

use crate::support::{Scenario, snapshot};

const POLICY: &str = "[policy]\nm365_writeback = \"disabled\"\n";

#[tokio::test(flavor = "multi_thread")]
async fn a_dry_run_over_max_changes_shows_the_plan_and_warns_the_real_run_would_refuse() {
    let s = Scenario::groups(60, 4).await;
    let run = s
        .gwb(&[
            "disable-existing-m365",
            "--dry-run",
            "--max-changes",
            "1",
            "-o",
            "json",
        ])
        .await;
    assert_eq!(run.code(), 0, "{}", run.stderr());
    assert!(run.json()["changes"].as_array().unwrap().len() > 1);
    assert!(
        run.stderr().contains("the real run would refuse this plan")
            && run.stderr().contains("more than --max-changes 1"),
        "{}",
        run.stderr()
    );
    assert_eq!(s.count("batch"), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_real_run_over_max_changes_is_refused_before_consent() {
    let s = Scenario::groups(60, 4).await;
    let run = s
        .gwb(&["disable-existing-m365", "--yes", "--max-changes", "1"])
        .await;
    assert_eq!(run.code(), 2, "{}", run.stderr());
    run.assert_stderr_has("more than --max-changes 1");
    assert!(s.journals().is_empty());
    assert_eq!(s.count("batch"), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn check_fix_dry_run_over_max_changes_warns() {
    let s = Scenario::groups(60, 4).await.config(POLICY);
    let run = s
        .gwb(&[
            "check",
            "--fix",
            "--dry-run",
            "--max-changes",
            "1",
            "-o",
            "json",
        ])
        .await;
    assert_eq!(run.code(), 3, "drift, shown: {}", run.stderr());
    run.assert_stderr_has("more than --max-changes 1");
    assert_eq!(s.count("batch"), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn restore_dry_run_over_max_changes_warns() {
    let s = Scenario::groups(60, 4).await;
    let first = s
        .gwb(&["disable-existing-m365", "--yes", "-o", "json"])
        .await;
    assert_eq!(first.code(), 0, "{}", first.stderr());
    let journal = first.json()["journal"].as_str().unwrap().to_string();
    let run = s
        .gwb(&[
            "restore",
            "--journal",
            &journal,
            "--dry-run",
            "--max-changes",
            "1",
            "-o",
            "json",
        ])
        .await;
    assert_eq!(run.code(), 0, "{}", run.stderr());
    assert!(run.json()["changes"].as_array().unwrap().len() > 1);
    run.assert_stderr_has("more than --max-changes 1");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_journal_in_a_missing_directory_is_refused_before_anything_is_read() {
    let s = Scenario::groups(20, 4).await;
    let missing = s.state.join("no-such-dir").join("run.jsonl");
    let run = s
        .gwb(&[
            "disable-existing-m365",
            "--yes",
            "--journal",
            missing.to_str().unwrap(),
        ])
        .await;
    assert_eq!(run.code(), 2, "{}", run.stderr());
    run.assert_stderr_has("does not exist");
    assert!(
        !missing.parent().unwrap().exists(),
        "no directory was created"
    );
    assert_eq!(s.count("requests"), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn without_consent_nothing_is_written_and_no_journal_is_opened() {
    let s = Scenario::groups(60, 4).await;
    let before = snapshot(&s.emu.shared().tenant());
    let run = s.gwb(&["disable-existing-m365"]).await;
    assert_eq!(run.code(), 2, "{}", run.stderr());
    run.assert_stderr_has("refusing without --yes");
    assert!(s.journals().is_empty(), "{:?}", s.journals());
    assert_eq!(
        run.stdout(),
        "",
        "no result is printed for a run that did not start"
    );
    assert_eq!(s.count("batch"), 0);
    assert_eq!(snapshot(&s.emu.shared().tenant()), before);
}

#[tokio::test(flavor = "multi_thread")]
async fn check_fix_without_consent_writes_nothing() {
    let s = Scenario::groups(60, 4).await.config(POLICY);
    let run = s.gwb(&["check", "--fix"]).await;
    assert_eq!(run.code(), 2, "{}", run.stderr());
    run.assert_stderr_has("refusing without --yes");
    assert!(s.journals().is_empty(), "{:?}", s.journals());
    assert_eq!(s.count("batch"), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_plan_with_nothing_to_change_opens_no_journal() {
    let s = Scenario::groups(60, 4).await;
    let first = s
        .gwb(&["disable-existing-m365", "--yes", "-o", "json"])
        .await;
    assert_eq!(first.code(), 0, "{}", first.stderr());
    assert_eq!(s.journals().len(), 1);
    let again = s
        .gwb(&["disable-existing-m365", "--yes", "-o", "json"])
        .await;
    assert_eq!(again.code(), 0, "{}", again.stderr());
    assert_eq!(again.json()["summary"]["planned"], 0);
    assert!(again.json()["journal"].is_null());
    assert_eq!(s.journals().len(), 1, "no second journal");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_dry_run_takes_no_lock_and_a_write_run_waits_for_none() {
    let s = Scenario::groups(60, 4).await;
    let url = s.emu.url();
    let key = gwb::lock::LockKey {
        graph_root: &url,
        tenant_id: None,
    };
    let _held = gwb::lock::RunLock::acquire(&s.lock_dir(), key, "test").unwrap();
    assert!(s.lock_dir().join(s.lock_key()).exists());
    let dry = s
        .gwb(&["disable-existing-m365", "--dry-run", "-o", "json"])
        .await;
    assert_eq!(
        dry.code(),
        0,
        "a dry run writes nothing, so it needs no lock: {}",
        dry.stderr()
    );
    let set = s.gwb(&["set-default", "false", "--dry-run"]).await;
    assert_eq!(set.code(), 0, "{}", set.stderr());
    let write = s.gwb(&["disable-existing-m365", "--yes"]).await;
    assert_eq!(write.code(), 5, "skipped, not broken: {}", write.stderr());
    write.assert_stderr_has("holds the lock");
    assert_eq!(
        s.count("batch"),
        0,
        "refused before reading or writing anything"
    );
}
