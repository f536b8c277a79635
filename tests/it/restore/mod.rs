//! Undo that is easy to find (issue 15, item 5): `restore --last`, `restore --list`, the same
//! undo line after every writing command, restore's own words. One scenario per test.

mod later_changes;
mod setting;

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
    // restore --list's footer carries the same flags.
    let config = s.config_path().unwrap().display().to_string();
    let list = s.gwb(&["restore", "--list", "-o", "table"]).await;
    assert!(
        list.stdout().contains(&format!(
            "Undo one with: gwb --config {config} restore --journal PATH"
        )),
        "{}",
        list.stdout()
    );
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

#[tokio::test(flavor = "multi_thread")]
async fn undoing_twice_never_silently_redoes_and_a_redo_says_so() {
    let s = Scenario::groups(50, 13).await;
    let before = snapshot(&s.emu.shared().tenant());
    let run = s
        .gwb(&["disable-existing-m365", "--yes", "-o", "json"])
        .await;
    assert_eq!(run.code(), 0, "{}", run.stderr());
    let disabled = snapshot(&s.emu.shared().tenant());
    let undo = s.gwb(&["restore", "--last", "--yes", "-o", "json"]).await;
    assert_eq!(undo.code(), 0, "{}", undo.stderr());
    assert_eq!(snapshot(&s.emu.shared().tenant()), before);
    // restore --last again: the restore's own journal is skipped, so it comes to nothing.
    let again = s.gwb(&["restore", "--last", "--yes", "-o", "json"]).await;
    assert_eq!(again.code(), 0, "{}", again.stderr());
    again.assert_stderr_has("skipped 1 newer restore journals");
    again.assert_stderr_has("--include-restores");
    assert_eq!(snapshot(&s.emu.shared().tenant()), before, "nothing redone");
    let list = s.gwb(&["restore", "--list", "-o", "json"]).await;
    assert_eq!(list.json()["journals"][0]["command"], "restore");
    // Asked for, the redo is worded as the disable it is, with the disable's note.
    let dry = s
        .gwb(&[
            "restore",
            "--last",
            "--include-restores",
            "--dry-run",
            "-o",
            "table",
        ])
        .await;
    assert_eq!(dry.code(), 0, "{}", dry.stderr());
    let out = dry.stdout();
    assert!(
        out.contains("it would turn writeback off on ")
            && out.contains("groups, redoing the disable-existing-m365 of 20"),
        "{out}"
    );
    assert!(out.contains("each group disabled here is deleted"), "{out}");
    let redo = s
        .gwb(&[
            "restore",
            "--last",
            "--include-restores",
            "--yes",
            "-o",
            "table",
        ])
        .await;
    assert_eq!(redo.code(), 0, "{}", redo.stderr());
    redo.assert_stderr_has("this restores a restore: it redoes the disable-existing-m365 of");
    assert_eq!(snapshot(&s.emu.shared().tenant()), disabled);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_undo_of_a_restore_that_deleted_the_setting_creates_it_again() {
    let s = Scenario::groups(5, 14).await;
    let set = s.gwb(&["set-default", "false", "-o", "json"]).await;
    assert_eq!(set.code(), 0, "{}", set.stderr());
    let first = set.json()["journal"].as_str().unwrap().to_string();
    let undo = s
        .gwb(&["restore", "--journal", &first, "--yes", "-o", "json"])
        .await;
    assert_eq!(undo.code(), 0, "{}", undo.stderr());
    assert_eq!(undo.json()["method"], "delete", "{}", undo.stdout());
    assert!(s.emu.shared().tenant().settings.is_empty());
    let second = undo.json()["journal"].as_str().unwrap().to_string();
    assert!(second.contains("/restore-"), "named as a restore: {second}");
    // Its printed undo line works: absent is what gwb's own restore left.
    let redo = s
        .gwb(&["restore", "--journal", &second, "--yes", "-o", "json"])
        .await;
    assert_eq!(redo.code(), 0, "{}", redo.stderr());
    assert_eq!(redo.json()["method"], "create", "{}", redo.stdout());
    let report = s.gwb(&["report", "-o", "json"]).await;
    assert_eq!(
        report.json()["tenant"]["newUnifiedGroupWritebackDefault"],
        false,
        "{}",
        report.stdout()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_journal_cut_in_the_middle_is_refused_and_nothing_is_written() {
    let s = Scenario::groups(30, 15).await;
    let j = crate::support::temp_dir("cut").join("j.jsonl");
    let run = s
        .gwb(&[
            "disable-existing-m365",
            "--yes",
            "--journal",
            j.to_str().unwrap(),
        ])
        .await;
    assert_eq!(run.code(), 0, "{}", run.stderr());
    // A bad copy: the third group's before-state cut mid-line, the rest intact.
    let text = std::fs::read_to_string(&j).unwrap();
    let cut: Vec<String> = text
        .lines()
        .enumerate()
        .map(|(i, l)| {
            if i == 3 {
                l[..50].to_string()
            } else {
                l.to_string()
            }
        })
        .collect();
    std::fs::write(&j, cut.join("\n") + "\n").unwrap();
    let writes = s.count("patch_group_attempt");
    let undo = s
        .gwb(&["restore", "--journal", j.to_str().unwrap(), "--yes"])
        .await;
    assert_eq!(undo.code(), 2, "{}", undo.stderr());
    undo.assert_stderr_has("after the torn record on line 4");
    assert_eq!(s.count("patch_group_attempt"), writes, "nothing written");
}

/// The last stderr lines of a run: how to undo it, in every format, even with `-q`.
#[tokio::test(flavor = "multi_thread")]
async fn every_writing_run_ends_with_the_way_back_on_stderr() {
    let s = Scenario::groups(30, 16).await;
    let run = s
        .gwb(&["disable-existing-m365", "--yes", "-o", "json", "-q"])
        .await;
    assert_eq!(run.code(), 0, "{}", run.stderr());
    let journal = run.json()["journal"].as_str().unwrap().to_string();
    let err = run.stderr();
    assert_eq!(
        err.lines().collect::<Vec<_>>(),
        vec![
            format!("gwb: journal: {journal}"),
            format!("gwb: undo with: gwb restore --journal {journal}"),
        ],
        "only the way back, even with -q"
    );
    let run = s
        .gwb(&["restore", "--last", "--yes", "--log-format", "json"])
        .await;
    assert_eq!(run.code(), 0, "{}", run.stderr());
    let last: serde_json::Value =
        serde_json::from_str(run.stderr().lines().last().unwrap()).unwrap();
    let undo = last["undo"].as_str().unwrap();
    assert!(undo.starts_with("gwb restore --journal "), "{last}");
    assert_eq!(
        undo.trim_start_matches("gwb restore --journal "),
        last["journal"]
    );
    let plan = crate::support::temp_dir("way-on").join("plan.json");
    let run = s
        .gwb(&[
            "disable-existing-m365",
            "--plan-out",
            plan.to_str().unwrap(),
            "-q",
        ])
        .await;
    assert_eq!(run.code(), 0, "{}", run.stderr());
    assert_eq!(
        run.stderr().trim_end(),
        format!(
            "gwb: apply it with: gwb disable-existing-m365 --plan {}",
            plan.display()
        )
    );
}

/// Pasted as printed, the undo line reaches the same target: here the built-in emulator,
/// whose tenant lives in the state directory between runs.
#[tokio::test(flavor = "multi_thread")]
async fn the_printed_undo_line_works_when_pasted() {
    let state = crate::support::temp_dir("paste");
    let gwb = |args: Vec<String>| {
        let mut cmd = crate::support::gwb_command();
        cmd.env("XDG_STATE_HOME", &state).args(args);
        crate::support::run(cmd)
    };
    let words = |s: &str| s.split(' ').map(String::from).collect::<Vec<_>>();
    let out = gwb(words(
        "--emulator --emulator-groups 40 --emulator-reset disable-existing-m365 --yes -o json",
    ))
    .await;
    let v = crate::support::json_of(&out);
    let changed = v["summary"]["changed"].as_u64().unwrap();
    assert!(changed > 0, "{v}");
    let err = crate::support::stderr(&out);
    let undo = err
        .lines()
        .find_map(|l| l.strip_prefix("gwb: undo with: "))
        .unwrap_or_else(|| panic!("{err}"));
    assert!(
        undo.starts_with("gwb --emulator --emulator-groups 40 restore --journal "),
        "{undo}"
    );
    // Without --emulator the journal is refused, and the message says what to add.
    let journal = undo.rsplit(' ').next().unwrap();
    let mut cmd = crate::support::gwb_command();
    cmd.env("XDG_STATE_HOME", &state)
        .env("GWB_GRAPH_URL", "http://127.0.0.1:9")
        .env("GWB_ACCESS_TOKEN", crate::support::TOKEN)
        .args(["restore", "--journal", journal, "--yes"]);
    let refused = crate::support::run(cmd).await;
    assert_eq!(refused.status.code(), Some(2));
    assert!(
        crate::support::stderr(&refused).contains("add --emulator"),
        "{}",
        crate::support::stderr(&refused)
    );
    let mut pasted = words(undo);
    pasted.remove(0);
    pasted.extend(words("--yes -o json"));
    let out = gwb(pasted).await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        crate::support::stderr(&out)
    );
    assert_eq!(crate::support::json_of(&out)["summary"]["changed"], changed);
}
