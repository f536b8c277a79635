//! Undo that is easy to find (issue 15, item 5): `restore --last`, `restore --list`, the same
//! undo line after every writing command, restore's own words. One scenario per test.

use crate::support::{Scenario, snapshot};

#[tokio::test(flavor = "multi_thread")]
async fn restore_last_undoes_the_newest_run() {
    let s = Scenario::groups(50, 12).await;
    let before = snapshot(&s.emu.shared().tenant());
    let run = s
        .gwb(&["disable-existing-m365", "--yes", "-o", "json"])
        .await;
    assert_eq!(run.code(), 0, "{}", run.stderr());
    assert_ne!(snapshot(&s.emu.shared().tenant()), before);
    let undo = s.gwb(&["restore", "--last", "--yes", "-o", "json"]).await;
    assert_eq!(undo.code(), 0, "{}", undo.stderr());
    assert!(
        undo.stderr()
            .contains(run.json()["journal"].as_str().unwrap()),
        "names the journal it chose: {}",
        undo.stderr()
    );
    assert_eq!(snapshot(&s.emu.shared().tenant()), before);
}

#[tokio::test(flavor = "multi_thread")]
async fn restore_last_without_a_journal_says_how_to_list_them() {
    let s = Scenario::groups(5, 12).await;
    let run = s.gwb(&["restore", "--last", "--yes"]).await;
    assert_eq!(run.code(), 2, "{}", run.stderr());
    run.assert_stderr_has("gwb restore --list");
}

#[tokio::test(flavor = "multi_thread")]
async fn restore_list_shows_each_journal_with_its_counts_and_reads_no_tenant() {
    let s = Scenario::groups(50, 12).await;
    let run = s
        .gwb(&["disable-existing-m365", "--yes", "-o", "json"])
        .await;
    let changed = run.json()["summary"]["changed"].as_u64().unwrap();
    let set = s.gwb(&["set-default", "false", "-o", "json"]).await;
    assert_eq!(set.code(), 0, "{}", set.stderr());
    let requests = s.count("requests");
    let list = s.gwb(&["restore", "--list", "-o", "json"]).await;
    assert_eq!(list.code(), 0, "{}", list.stderr());
    assert_eq!(s.count("requests"), requests, "no request to Graph");
    let v = list.json();
    let journals = v["journals"].as_array().unwrap();
    assert_eq!(journals.len(), 2, "{v}");
    assert_eq!(journals[0]["command"], "set-default", "newest first");
    assert_eq!(journals[0]["setting"], true);
    assert_eq!(journals[1]["command"], "disable-existing-m365");
    assert_eq!(journals[1]["changed"], changed);
    assert_eq!(journals[1]["state"], "finished");
    let table = s.gwb(&["restore", "--list", "-o", "table"]).await;
    assert!(table.stdout().starts_with("STARTED "), "{}", table.stdout());
    assert!(table.stdout().contains("disable-existing-m365"));
}

#[tokio::test(flavor = "multi_thread")]
async fn every_writing_command_ends_with_the_same_undo_line() {
    let s = Scenario::groups(30, 12)
        .await
        .config("[policy]\nsecurity_writeback = \"disabled\"\nnew_m365_default = false\n");
    for args in [
        vec!["disable-existing-m365", "--yes", "-o", "table"],
        vec!["set-default", "false", "-o", "table"],
        vec!["set-default", "true", "-o", "table"],
    ] {
        let run = s.gwb(&args).await;
        assert_eq!(run.code(), 0, "{args:?}: {}", run.stderr());
        let out = run.stdout();
        // The flags that chose the target come along (here the scenario's config file).
        let config = s.config_path().unwrap().display().to_string();
        let undo = out
            .lines()
            .find(|l| {
                l.starts_with(&format!(
                    "Undo with: gwb --config {config} restore --journal "
                ))
            })
            .unwrap_or_else(|| panic!("{args:?}: {out}"));
        let path = undo.rsplit(" --journal ").next().unwrap();
        assert!(std::path::Path::new(path).exists(), "{path}");
        // And the same, last, on stderr.
        let err = run.stderr();
        assert!(
            err.trim_end().ends_with(&format!(
                "gwb: undo with: gwb --config {config} restore --journal {path}"
            )),
            "{args:?}: {err}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn after_false_then_true_restoring_the_first_set_default_advises_nothing_useless() {
    let s = Scenario::groups(5, 12).await;
    let first = s.gwb(&["set-default", "false", "-o", "json"]).await;
    assert_eq!(first.code(), 0, "{}", first.stderr());
    let journal = first.json()["journal"].as_str().unwrap().to_string();
    assert_eq!(
        s.gwb(&["set-default", "true", "-o", "json"]).await.code(),
        0
    );
    let undo = s
        .gwb(&["restore", "--journal", &journal, "--yes", "-o", "json"])
        .await;
    assert_eq!(undo.code(), 0, "{}", undo.stderr());
    assert_eq!(undo.json()["action"], "alreadyInRecordedState");
    assert!(!undo.stderr().contains("--force"), "{}", undo.stderr());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_restore_dry_run_has_a_summary() {
    let s = Scenario::groups(50, 12).await;
    let run = s
        .gwb(&["disable-existing-m365", "--yes", "-o", "json"])
        .await;
    let journal = run.json()["journal"].as_str().unwrap().to_string();
    let changed = run.json()["summary"]["changed"].as_u64().unwrap();
    let dry = s
        .gwb(&["restore", "--journal", &journal, "--dry-run", "-o", "json"])
        .await;
    assert_eq!(dry.code(), 0, "{}", dry.stderr());
    let v = dry.json();
    assert_eq!(v["summary"]["toRestore"], changed, "{v}");
    assert_eq!(v["summary"]["alreadyInRecordedState"], 0);
}
