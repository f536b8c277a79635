//! gwb's promise, held under hostile answers, faults and bad files (issue 12): it changes exactly
//! what it says, records it before it writes, can put it back, and tells the truth in its exit
//! code. Each test names the item of the issue it pins; each failed on the code before the fix.

use std::collections::BTreeMap;

use gwb::emulator::{EmulatorConfig, Tenant, WriteQuirk};
use gwb::graph::model::WritebackConfiguration;
use serde_json::{Value, json};

use crate::support::{
    bounded, emulator_with, gwb_command, json_of, plain_tenant, run, run_gwb, should_change,
    snapshot, stderr, stdout, temp_dir,
};

/// The ids of `n` groups the disable would change.
fn to_change(t: &Tenant, n: usize) -> Vec<String> {
    t.groups
        .iter()
        .filter(|g| should_change(g) && g.is_assignable_to_role != Some(true))
        .take(n)
        .map(|g| g.id.clone())
        .collect()
}

fn quirks(ids: &[String], q: WriteQuirk) -> BTreeMap<String, WriteQuirk> {
    ids.iter().map(|i| (i.clone(), q)).collect()
}

fn ids_of(v: &Value) -> Vec<String> {
    let mut ids: Vec<String> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_str().or(x["id"].as_str()).unwrap().to_string())
        .collect();
    ids.sort();
    ids
}

/// A4: a 2xx whose change never shows is a failure, not "changed", and the exit code says so.
#[tokio::test(flavor = "multi_thread")]
async fn a4_writes_that_did_not_take_are_reported_failed() {
    a4_with(200, 71).await;
}

/// A4 with more than 200 changes: the read-back pages the listing instead of reading by id,
/// and keeps only the groups that do not show their change.
#[tokio::test(flavor = "multi_thread")]
async fn a4_a_read_back_by_listing_finds_the_writes_that_did_not_take() {
    a4_with(1_500, 74).await;
}

async fn a4_with(groups: usize, seed: u64) {
    let tenant = plain_tenant(groups, seed);
    let mut ignored = to_change(&tenant, 3);
    ignored.sort();
    let cfg = EmulatorConfig {
        write_quirks: quirks(&ignored, WriteQuirk::Ignored),
        ..Default::default()
    };
    let emu = emulator_with(tenant, cfg).await;
    let dir = temp_dir("a4");
    let j = dir.join("j.jsonl");
    let out = run_gwb(
        &emu.url(),
        &[
            "disable-existing-m365",
            "--yes",
            "-o",
            "json",
            "--verify-timeout",
            "0",
            "--journal",
            j.to_str().unwrap(),
        ],
    )
    .await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let v = json_of(&out);
    assert_eq!(ids_of(&v["failed"]), ignored, "{v}");
    for f in v["failed"].as_array().unwrap() {
        assert_eq!(f["code"], "notApplied");
    }
    let changed = ids_of(&v["changed"]);
    assert!(ignored.iter().all(|i| !changed.contains(i)));
    if groups > 1_000 {
        assert!(
            changed.len() > 200,
            "read back by listing: {}",
            changed.len()
        );
        assert_eq!(
            emu.shared().stat("list_groups"),
            2 * groups.div_ceil(999) as u64
        );
    }
    assert_eq!(emu.shared().stat("ignored_write"), 3);
    let journal = gwb::journal::read(&j).unwrap();
    for i in &ignored {
        assert_eq!(journal.outcomes[i], "notApplied");
    }
}

/// B5: `check --fix` exits non-zero while its own after-state is not compliant.
#[tokio::test(flavor = "multi_thread")]
async fn b5_check_fix_exit_code_follows_the_after_state() {
    let tenant = plain_tenant(200, 72);
    let ignored = to_change(&tenant, 2);
    let cfg = EmulatorConfig {
        write_quirks: quirks(&ignored, WriteQuirk::Ignored),
        ..Default::default()
    };
    let emu = emulator_with(tenant, cfg).await;
    let config = temp_dir("b5").join("config.toml");
    std::fs::write(&config, "[policy]\nm365_writeback = \"disabled\"\n").unwrap();
    let out = run_gwb(
        &emu.url(),
        &[
            "--config",
            config.to_str().unwrap(),
            "check",
            "--fix",
            "--yes",
            "--verify-timeout",
            "0",
            "-o",
            "json",
        ],
    )
    .await;
    let v = json_of(&out);
    assert_eq!(v["after"]["compliant"], false, "{v}");
    assert_ne!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(out.status.code(), Some(1));
}

/// A2: a group whose writeback changed between gwb's listing and its write is not reverted, and
/// the journal holds no stale before-state for it.
#[tokio::test(flavor = "multi_thread")]
async fn a2_a_group_changed_after_the_listing_is_left_alone() {
    use gwb::writeback::plan::{DisablePlanner, Selection, SkipReason};
    let emu = emulator_with(plain_tenant(120, 73), EmulatorConfig::default()).await;
    let mut planner = DisablePlanner::new(Selection::default());
    for g in emu.shared().tenant().groups.clone() {
        let group = serde_json::from_value(g.to_json(&[
            "id",
            "displayName",
            "groupTypes",
            "securityEnabled",
            "mailEnabled",
            "onPremisesSyncEnabled",
            "isAssignableToRole",
            "proxyAddresses",
            "createdDateTime",
            "writebackConfiguration",
        ]))
        .unwrap();
        planner.consider(&group).unwrap();
    }
    assert!(planner.changes.len() > 3);
    // An admin changes the type of one planned group after the listing.
    let moved = planner.changes[1].id.clone();
    let admins = WritebackConfiguration {
        is_enabled: Some(true),
        on_premises_group_type: Some("universalMailEnabledSecurityGroup".into()),
    };
    assert_ne!(planner.changes[1].before, admins);
    emu.shared().tenant().group_mut(&moved).unwrap().writeback = admins.clone();

    let (client, _) = crate::support::client(&emu.url());
    let j = temp_dir("a2").join("j.jsonl");
    let journal =
        gwb::journal::Journal::create(&j, "r", "disable-existing-m365", "emulator", None).unwrap();
    let applied = crate::support::apply_as_disable(&client, &planner.changes, &journal).await;
    assert_eq!(
        emu.shared().tenant().group(&moved).unwrap().writeback,
        admins,
        "the admin's change stands"
    );
    assert!(
        applied
            .skipped
            .iter()
            .any(|s| s.id == moved && s.reason == SkipReason::ChangedSincePlan)
    );
    assert_eq!(applied.changed.len(), planner.changes.len() - 1);
    let read = gwb::journal::read(&j).unwrap();
    assert!(
        read.befores.iter().all(|b| b.id != moved),
        "no stale journal entry"
    );
}

/// Disable, then an admin re-enables one group; returns (emulator, journal, that group, the
/// state the admin set, the tenant before the disable).
async fn disabled_then_changed(
    seed: u64,
) -> (
    gwb::emulator::Emulator,
    std::path::PathBuf,
    String,
    WritebackConfiguration,
    std::collections::HashMap<String, WritebackConfiguration>,
) {
    let emu = emulator_with(plain_tenant(150, seed), EmulatorConfig::default()).await;
    let original = snapshot(&emu.shared().tenant());
    let j = temp_dir("restore-cas").join("j.jsonl");
    let out = run_gwb(
        &emu.url(),
        &[
            "disable-existing-m365",
            "--yes",
            "-o",
            "json",
            "--journal",
            j.to_str().unwrap(),
        ],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let changed = ids_of(&json_of(&out)["changed"]);
    let touched = changed[0].clone();
    let admins = WritebackConfiguration {
        is_enabled: Some(true),
        on_premises_group_type: Some("universalSecurityGroup".into()),
    };
    assert_ne!(original[&touched], admins);
    emu.shared().tenant().group_mut(&touched).unwrap().writeback = admins.clone();
    (emu, j, touched, admins, original)
}

/// A3: restore is compare-and-set: a group changed after gwb's run is left alone and reported
/// (exit 1); `--force` puts it back too.
#[tokio::test(flavor = "multi_thread")]
async fn a3_restore_leaves_later_changes_alone_unless_forced() {
    let (emu, j, touched, admins, original) = disabled_then_changed(74).await;
    let out = run_gwb(
        &emu.url(),
        &[
            "restore",
            "--journal",
            j.to_str().unwrap(),
            "--yes",
            "-o",
            "json",
        ],
    )
    .await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let v = json_of(&out);
    assert_eq!(v["summary"]["changedSinceRun"], 1, "{v}");
    assert!(
        v["skipped"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["id"] == touched.as_str() && s["reason"] == "changedSinceRun")
    );
    let now = snapshot(&emu.shared().tenant());
    assert_eq!(now[&touched], admins, "the later change stands");
    for (id, wb) in &original {
        if id != &touched {
            assert_eq!(&now[id], wb, "{id} restored");
        }
    }
    // The table says what was left alone and how to include it.
    let out = run_gwb(
        &emu.url(),
        &["restore", "--journal", j.to_str().unwrap(), "--dry-run"],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let out = run_gwb(
        &emu.url(),
        &[
            "restore",
            "--journal",
            j.to_str().unwrap(),
            "--yes",
            "--force",
            "-o",
            "json",
        ],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(snapshot(&emu.shared().tenant()), original);
}

/// D19: a before line for a group the run never wrote (no outcome, in a finished run) is
/// ignored, and said.
#[tokio::test(flavor = "multi_thread")]
async fn d19_restore_ignores_lines_the_run_never_wrote() {
    let emu = emulator_with(plain_tenant(150, 75), EmulatorConfig::default()).await;
    let j = temp_dir("d19").join("j.jsonl");
    let out = run_gwb(
        &emu.url(),
        &[
            "disable-existing-m365",
            "--yes",
            "--journal",
            j.to_str().unwrap(),
        ],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    // A security group that is not written back, and a forged line that would enable it.
    let victim = emu
        .shared()
        .tenant()
        .groups
        .iter()
        .find(|g| !g.is_unified() && g.security_enabled && g.writeback.is_enabled != Some(true))
        .map(|g| (g.id.clone(), g.writeback.clone()))
        .unwrap();
    let forged = json!({"type":"before","groupId":victim.0,"displayName":"forged",
        "before":{"isEnabled":true,"onPremisesGroupType":"universalSecurityGroup"},
        "after":victim.1,"at":"2026-11-29T00:00:00Z"});
    let mut text = std::fs::read_to_string(&j).unwrap();
    text.push_str(&format!("{forged}\n"));
    std::fs::write(&j, text).unwrap();
    let out = run_gwb(
        &emu.url(),
        &[
            "restore",
            "--journal",
            j.to_str().unwrap(),
            "--yes",
            "-o",
            "json",
        ],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        emu.shared().tenant().group(&victim.0).unwrap().writeback,
        victim.1,
        "the forged line changed nothing"
    );
    assert!(
        stderr(&out).contains("ignoring 1 before-state") && stderr(&out).contains(&victim.0),
        "{}",
        stderr(&out)
    );
}

/// E22: a 404 to a write for a group that still exists is a failure, not "deleted meanwhile".
#[tokio::test(flavor = "multi_thread")]
async fn e22_a_404_for_a_group_that_exists_is_a_failure() {
    let tenant = plain_tenant(100, 76);
    let odd = to_change(&tenant, 1);
    let cfg = EmulatorConfig {
        write_quirks: quirks(&odd, WriteQuirk::NotFound),
        ..Default::default()
    };
    let emu = emulator_with(tenant, cfg).await;
    let out = run_gwb(
        &emu.url(),
        &["disable-existing-m365", "--yes", "-o", "json"],
    )
    .await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let v = json_of(&out);
    assert_eq!(ids_of(&v["failed"]), odd, "{v}");
    assert_eq!(v["summary"]["deletedMeanwhile"], 0);
    assert!(v["deletedMeanwhile"].as_array().unwrap().is_empty());
}

/// E23: one group id that is not a GUID fails that group only; the rest are changed (exit 1).
#[tokio::test(flavor = "multi_thread")]
async fn e23_a_group_id_that_is_not_a_guid_fails_only_that_group() {
    let mut t = plain_tenant(80, 77);
    let i = t.groups.iter().position(should_change).unwrap();
    t.groups[i].id = "a/b".into();
    let emu = emulator_with(Tenant::new(t.groups, Vec::new()), EmulatorConfig::default()).await;
    // report --member-counts counts the others and marks that one.
    let out = run_gwb(&emu.url(), &["report", "--member-counts", "-o", "json"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v = json_of(&out);
    let rows = v["groups"].as_array().unwrap();
    let odd = rows.iter().find(|r| r["id"] == "a/b").unwrap();
    assert!(
        odd["warning"].as_str().unwrap().contains("not a GUID"),
        "{odd}"
    );
    assert!(rows.iter().any(|r| r["memberCount"].is_u64()));

    let out = run_gwb(
        &emu.url(),
        &["disable-existing-m365", "--yes", "-o", "json"],
    )
    .await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let v = json_of(&out);
    assert_eq!(ids_of(&v["failed"]), ["a/b"]);
    assert_eq!(v["failed"][0]["code"], "invalidId");
    let should = emu
        .shared()
        .tenant()
        .groups
        .iter()
        .filter(|g| g.id != "a/b" && g.is_unified() && g.on_premises_sync_enabled != Some(true))
        .all(|g| g.writeback.is_enabled == Some(false));
    assert!(should, "every other group was disabled");
}

/// B6: a reader that goes away stops the output, not the exit code.
#[tokio::test(flavor = "multi_thread")]
async fn b6_a_closed_stdout_keeps_the_exit_code() {
    let emu = emulator_with(plain_tenant(200, 78), EmulatorConfig::default()).await;
    let config = temp_dir("b6").join("config.toml");
    std::fs::write(&config, "[policy]\nm365_writeback = \"disabled\"\n").unwrap();
    // The pipe's reading end is closed before gwb starts: every write meets a broken pipe.
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let mut cmd = gwb_command();
    cmd.env("GWB_GRAPH_URL", emu.url())
        .env("GWB_ACCESS_TOKEN", crate::support::TOKEN)
        .args([
            "--config",
            config.to_str().unwrap(),
            "check",
            "-o",
            "ndjson",
        ])
        .stdout(writer);
    let out = run(cmd).await;
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(!stderr(&out).contains("error"), "{}", stderr(&out));
}

/// B9: huge seconds are a usage error, checked before anything is created.
#[tokio::test(flavor = "multi_thread")]
async fn b9_huge_seconds_are_usage_errors_that_create_nothing() {
    let emu = emulator_with(plain_tenant(60, 79), EmulatorConfig::default()).await;
    let dir = temp_dir("b9");
    let j = dir.join("j.jsonl");
    let config = dir.join("config.toml");
    std::fs::write(&config, "[policy]\nm365_writeback = \"disabled\"\n").unwrap();
    let (jp, cp) = (j.to_str().unwrap(), config.to_str().unwrap());
    for args in [
        vec![
            "disable-existing-m365",
            "--yes",
            "--write-window",
            "1e20",
            "--journal",
            jp,
        ],
        vec![
            "disable-existing-m365",
            "--yes",
            "--verify-timeout",
            "1e20",
            "--journal",
            jp,
        ],
        vec![
            "--config",
            cp,
            "check",
            "--fix",
            "--yes",
            "--verify-timeout",
            "1e20",
        ],
        vec![
            "--config",
            cp,
            "check",
            "--fix",
            "--yes",
            "--write-window",
            "1e300",
        ],
        vec![
            "set-default",
            "false",
            "--verify-timeout",
            "1e20",
            "--journal",
            jp,
        ],
        vec!["restore", "--journal", jp, "--yes", "--write-window", "inf"],
    ] {
        let out = run_gwb(&emu.url(), &args).await;
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(
            stderr(&out).contains("seconds"),
            "{args:?}: {}",
            stderr(&out)
        );
        assert!(!stderr(&out).contains("panicked"), "{}", stderr(&out));
        assert!(!j.exists(), "{args:?} created the journal");
    }
    assert_eq!(emu.shared().stat("patch_group_attempt"), 0);
}

/// D14, D15: --plan-out never overwrites a file or writes through a symlink (without --force),
/// and plans are private; a symlinked run lock is refused, its target untouched.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread")]
async fn d14_d15_plans_and_locks_are_never_written_through_links_or_over_files() {
    use std::os::unix::fs::PermissionsExt;
    let emu = emulator_with(plain_tenant(60, 80), EmulatorConfig::default()).await;
    let dir = temp_dir("d14");
    let journal = dir.join("journal.jsonl");
    std::fs::write(&journal, "precious undo record\n").unwrap();
    let plan = dir.join("plan.json");
    let plan_out = |p: &std::path::Path, force: bool| {
        let mut a = vec![
            "disable-existing-m365".to_string(),
            "--plan-out".into(),
            p.display().to_string(),
        ];
        if force {
            a.push("--force".into());
        }
        a
    };
    let run_args = |a: Vec<String>| {
        let url = emu.url();
        async move {
            let refs: Vec<&str> = a.iter().map(String::as_str).collect();
            run_gwb(&url, &refs).await
        }
    };
    // Over an existing file: refused, the file intact.
    let out = run_args(plan_out(&journal, false)).await;
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("--force"), "{}", stderr(&out));
    assert_eq!(
        std::fs::read_to_string(&journal).unwrap(),
        "precious undo record\n"
    );
    // Through a symlink: refused, even when the link dangles.
    let link = dir.join("link.json");
    std::os::unix::fs::symlink(&journal, &link).unwrap();
    let out = run_args(plan_out(&link, false)).await;
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    // With --force the link itself is replaced, never its target.
    let out = run_args(plan_out(&link, true)).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        std::fs::read_to_string(&journal).unwrap(),
        "precious undo record\n"
    );
    // A new plan is private.
    let out = run_args(plan_out(&plan, false)).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let mode = std::fs::metadata(&plan).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);

    // The run lock as a symlink to a file: refused, the file not truncated.
    let state = dir.join("state");
    let locks = dir.join("locks");
    std::fs::create_dir_all(&locks).unwrap();
    let url = emu.url();
    let key = gwb::lock::LockKey {
        graph_root: &url,
        tenant_id: None,
    };
    std::os::unix::fs::symlink(&journal, locks.join(key.file_name())).unwrap();
    let mut cmd = gwb_command();
    cmd.env("XDG_STATE_HOME", &state)
        .env("GWB_LOCK_DIR", &locks)
        .env("GWB_GRAPH_URL", emu.url())
        .env("GWB_ACCESS_TOKEN", crate::support::TOKEN)
        .args(["disable-existing-m365", "--yes"]);
    let out = run(cmd).await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("symbolic link"), "{}", stderr(&out));
    assert_eq!(
        std::fs::read_to_string(&journal).unwrap(),
        "precious undo record\n"
    );
    assert_eq!(emu.shared().stat("patch_group_attempt"), 0);
}

/// D17: names from Graph cannot move the cursor or fake lines in what people read.
#[tokio::test(flavor = "multi_thread")]
async fn d17_control_characters_never_reach_the_terminal() {
    let mut t = plain_tenant(40, 81);
    let i = t.groups.iter().position(should_change).unwrap();
    t.groups[i].display_name =
        "Innocent\n  Summary: 0 changes; nothing will be written\r\u{1b}[2K\u{7}\u{202e}".into();
    let emu = emulator_with(Tenant::new(t.groups, Vec::new()), EmulatorConfig::default()).await;
    for args in [
        vec!["disable-existing-m365", "--dry-run", "-o", "table"],
        vec!["report", "-o", "table"],
    ] {
        let out = run_gwb(&emu.url(), &args).await;
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let text = stdout(&out);
        assert!(
            !text.contains(['\r', '\u{1b}', '\u{7}', '\u{202e}']),
            "{args:?}: {text:?}"
        );
        assert!(
            !text.lines().any(|l| l.starts_with("  Summary: 0 changes")),
            "{args:?}: a fake summary line:\n{text}"
        );
        assert!(text.contains("Innocent\\u{a}  Summary"), "{args:?}: {text}");
    }
}

/// D18: the token never goes to a proxy for a loopback Graph root.
#[tokio::test(flavor = "multi_thread")]
async fn d18_no_proxy_for_a_loopback_graph_root() {
    let emu = emulator_with(plain_tenant(30, 82), EmulatorConfig::default()).await;
    let proxy = wiremock::MockServer::start().await;
    crate::support::catch_all(&proxy).await;
    let mut cmd = gwb_command();
    for var in ["HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"] {
        cmd.env(var, proxy.uri());
    }
    cmd.env_remove("NO_PROXY")
        .env_remove("no_proxy")
        .env("GWB_GRAPH_URL", emu.url())
        .env("GWB_ACCESS_TOKEN", crate::support::TOKEN)
        .args(["report", "-o", "json"]);
    let out = run(cmd).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(proxy.received_requests().await.unwrap().is_empty());
}

/// D13: a journal that cannot be written stops the run before its next write (exit 1), and the
/// journal it leaves still restores every group that was changed. The fault is real: the file
/// size limit (RLIMIT_FSIZE) makes the journal's appends fail part-way, as a full disk does.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread")]
async fn d13_a_journal_that_cannot_be_written_stops_the_run_and_still_restores() {
    let emu = emulator_with(plain_tenant(400, 83), EmulatorConfig::default()).await;
    let original = snapshot(&emu.shared().tenant());
    let planned = original.len();
    let dir = temp_dir("d13");
    let j = dir.join("j.jsonl");
    let mut cmd = std::process::Command::new("sh");
    cmd.arg("-c")
        // SIGXFSZ ignored: the write fails with EFBIG instead of killing the process.
        .arg("trap '' XFSZ; ulimit -f 16; exec \"$0\" \"$@\"")
        .arg(env!("CARGO_BIN_EXE_gwb"))
        .args([
            "disable-existing-m365",
            "--yes",
            "--concurrency",
            "1",
            "-o",
            "json",
            "--journal",
            j.to_str().unwrap(),
        ]);
    let base = gwb_command();
    for (k, v) in base.get_envs() {
        match v {
            Some(v) => cmd.env(k, v),
            None => cmd.env_remove(k),
        };
    }
    cmd.env("GWB_GRAPH_URL", emu.url())
        .env("GWB_ACCESS_TOKEN", crate::support::TOKEN);
    let out = run(cmd).await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("cannot write journal"),
        "{}",
        stderr(&out)
    );
    let size = std::fs::metadata(&j).unwrap().len();
    assert!(size <= 16 * 1024, "the limit held: {size}");
    let journal = gwb::journal::read(&j).expect("a journal with a torn record still reads");
    let now = snapshot(&emu.shared().tenant());
    let differs: Vec<&String> = original
        .keys()
        .filter(|id| now[*id] != original[*id])
        .collect();
    assert!(
        !differs.is_empty() && differs.len() < planned,
        "stopped part-way"
    );
    let recorded: std::collections::HashSet<&str> =
        journal.befores.iter().map(|c| c.id.as_str()).collect();
    for id in &differs {
        assert!(
            recorded.contains(id.as_str()),
            "{id} changed but not journaled"
        );
    }
    let out = run_gwb(
        &emu.url(),
        &[
            "restore",
            "--journal",
            j.to_str().unwrap(),
            "--yes",
            "-o",
            "json",
        ],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(snapshot(&emu.shared().tenant()), original);
}

/// B7: every batch item answered 401 is an authentication failure: exit 4, as documented.
#[tokio::test(flavor = "multi_thread")]
async fn b7_every_item_answered_401_is_exit_4() {
    use wiremock::matchers::{method, path};
    let server = wiremock::MockServer::start().await;
    let groups: Vec<Value> = (1..=3)
        .map(|i| {
            json!({"id": format!("0b1f5a6e-1111-4c1e-9e4f-00000000000{i}"),
                "displayName": format!("G{i}"), "groupTypes": ["Unified"],
                "securityEnabled": false, "mailEnabled": true,
                "createdDateTime": "2021-01-01T00:00:00Z",
                "writebackConfiguration": {"isEnabled": null, "onPremisesGroupType": null}})
        })
        .collect();
    wiremock::Mock::given(method("GET"))
        .and(path("/beta/groups"))
        .respond_with(crate::support::json(json!({ "value": groups }).to_string()))
        .mount(&server)
        .await;
    wiremock::Mock::given(method("POST"))
        .and(path("/beta/$batch"))
        .respond_with(crate::support::EveryItem {
            status: 401,
            retry_after: None,
            code: "InvalidAuthenticationToken",
        })
        .mount(&server)
        .await;
    crate::support::catch_all(&server).await;
    let out = run_gwb(
        &server.uri(),
        &["disable-existing-m365", "--yes", "-o", "json"],
    )
    .await;
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    let v = json_of(&out);
    assert_eq!(v["failed"].as_array().unwrap().len(), 3, "{v}");
    assert!(v["changed"].as_array().unwrap().is_empty());
}

const GU: &str = gwb::graph::model::GROUP_UNIFIED_TEMPLATE_ID;

/// A wiremock Graph whose `/settings` answers `settings` (and whose groups list is empty).
async fn settings_server(settings: Value) -> wiremock::MockServer {
    use wiremock::matchers::{method, path};
    let server = wiremock::MockServer::start().await;
    wiremock::Mock::given(method("GET"))
        .and(path("/beta/settings"))
        .respond_with(crate::support::json(
            json!({ "value": settings }).to_string(),
        ))
        .mount(&server)
        .await;
    wiremock::Mock::given(method("GET"))
        .and(path("/beta/groups"))
        .respond_with(crate::support::json(r#"{"value":[]}"#.into()))
        .mount(&server)
        .await;
    wiremock::Mock::given(method("GET"))
        .and(path("/beta/directory/onPremisesSynchronization"))
        .respond_with(wiremock::ResponseTemplate::new(403))
        .mount(&server)
        .await;
    wiremock::Mock::given(method("GET"))
        .and(path("/beta/servicePrincipals"))
        .respond_with(wiremock::ResponseTemplate::new(403))
        .mount(&server)
        .await;
    // Any write reaches the catch-all and fails the test.
    crate::support::catch_all(&server).await;
    server
}

/// A1: a Group.Unified whose values are absent or null is never written from.
#[tokio::test(flavor = "multi_thread")]
async fn a1_a_setting_whose_values_were_not_read_is_never_written() {
    for setting in [
        json!({"id": "8f1c2d3e-0000-4000-8000-00000000abcd", "templateId": GU, "values": null}),
        json!({"id": "8f1c2d3e-0000-4000-8000-00000000abcd", "templateId": GU}),
    ] {
        let server = settings_server(json!([setting])).await;
        for value in ["false", "true"] {
            let out = run_gwb(&server.uri(), &["set-default", value, "-o", "json"]).await;
            assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
            assert!(
                stderr(&out).contains("without its values"),
                "{}",
                stderr(&out)
            );
        }
        let out = run_gwb(&server.uri(), &["report", "-o", "json"]).await;
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let v = json_of(&out);
        assert_eq!(v["tenant"]["newUnifiedGroupWritebackDefault"], Value::Null);
        assert_eq!(v["tenant"]["source"], "valuesUnreadable");
        assert!(v["tenant"]["problem"].is_string(), "{v}");
    }
}

/// E21: two Group.Unified settings, or two entries for the key: warned, reported, never written
/// (and never called "unchanged" while one entry says otherwise).
#[tokio::test(flavor = "multi_thread")]
async fn e21_ambiguous_settings_are_reported_and_never_written() {
    let entry = |v: &str| json!({"name": "NewUnifiedGroupWritebackDefault", "value": v});
    let two_settings = json!([
        {"id": "8f1c2d3e-0000-4000-8000-000000000001", "templateId": GU, "values": [entry("true")]},
        {"id": "8f1c2d3e-0000-4000-8000-000000000002", "templateId": GU, "values": [entry("false")]},
    ]);
    let two_entries = json!([
        {"id": "8f1c2d3e-0000-4000-8000-000000000001", "templateId": GU,
         "values": [entry("true"), {"name": "AllowToAddGuests", "value": "false"}, entry("false")]},
    ]);
    for (case, settings, want) in [
        ("two settings", two_settings, "2 Group.Unified"),
        (
            "two entries",
            two_entries,
            "2 NewUnifiedGroupWritebackDefault entries",
        ),
    ] {
        let server = settings_server(settings).await;
        let out = run_gwb(&server.uri(), &["set-default", "true", "-o", "json"]).await;
        assert_eq!(out.status.code(), Some(1), "{case}: {}", stderr(&out));
        assert!(stderr(&out).contains(want), "{case}: {}", stderr(&out));
        assert!(!stdout(&out).contains("unchanged"), "{case}");
        let out = run_gwb(&server.uri(), &["report", "-o", "json"]).await;
        let v = json_of(&out);
        assert!(
            v["tenant"]["problem"].as_str().unwrap().contains(want),
            "{case}: {v}"
        );
        assert!(stderr(&out).contains(want), "{case}: warned");
    }
}

/// B8: the write succeeded, the read-back failed: the write is reported, and the exit is 1.
#[tokio::test(flavor = "multi_thread")]
async fn b8_a_failed_read_back_still_reports_the_write() {
    use wiremock::matchers::{method, path};
    let server = wiremock::MockServer::start().await;
    let id = "8f1c2d3e-0000-4000-8000-00000000abcd";
    wiremock::Mock::given(method("GET"))
        .and(path("/beta/settings"))
        .respond_with(crate::support::json(
            json!({"value": [{"id": id, "templateId": GU, "values": [
                {"name": "NewUnifiedGroupWritebackDefault", "value": "true"},
                {"name": "AllowToAddGuests", "value": "false"}]}]})
            .to_string(),
        ))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    wiremock::Mock::given(method("GET"))
        .and(path("/beta/settings"))
        .respond_with(crate::support::json_status(
            403,
            r#"{"error":{"code":"Authorization_RequestDenied","message":"Insufficient privileges to complete the operation."}}"#.into(),
        ))
        .with_priority(2)
        .mount(&server)
        .await;
    wiremock::Mock::given(method("PATCH"))
        .and(path(format!("/beta/settings/{id}")))
        .respond_with(wiremock::ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    crate::support::catch_all(&server).await;
    let j = temp_dir("b8").join("j.jsonl");
    let out = run_gwb(
        &server.uri(),
        &[
            "set-default",
            "false",
            "-o",
            "json",
            "--journal",
            j.to_str().unwrap(),
        ],
    )
    .await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let v = json_of(&out);
    assert_eq!(v["action"], "updated", "{v}");
    assert_eq!(v["verified"], false);
    assert!(
        v["verificationError"].as_str().unwrap().contains("403"),
        "{v}"
    );
    assert!(gwb::journal::read(&j).unwrap().finished);
}

/// A3 (the tenant default): restore puts back only NewUnifiedGroupWritebackDefault, keeps the
/// values an admin changed since, and leaves the key alone if it was changed after gwb's run.
#[tokio::test(flavor = "multi_thread")]
async fn a3_setting_restore_puts_back_only_the_value_gwb_changed() {
    use gwb::graph::model::{DirectorySetting, SettingValue};
    let sv = |n: &str, v: &str| SettingValue {
        name: n.into(),
        value: Some(v.into()),
    };
    let unified = |emu: &gwb::emulator::Emulator| {
        emu.shared()
            .tenant()
            .settings
            .iter()
            .find(|s| s.template_id.as_deref() == Some(GU))
            .unwrap()
            .values
            .clone()
    };
    let set_value = |emu: &gwb::emulator::Emulator, name: &str, value: &str| {
        let mut t = emu.shared().tenant();
        let s = t
            .settings
            .iter_mut()
            .find(|s| s.template_id.as_deref() == Some(GU))
            .unwrap();
        s.values.iter_mut().find(|v| v.name == name).unwrap().value = Some(value.into());
    };
    let start = |values: Vec<SettingValue>| async move {
        let setting = DirectorySetting {
            id: "8f1c2d3e-0000-4000-8000-00000000abcd".into(),
            display_name: None,
            template_id: Some(GU.into()),
            values,
            values_unread: false,
        };
        emulator_with(
            Tenant::new(Tenant::generate(10, 1).groups, vec![setting]),
            EmulatorConfig::default(),
        )
        .await
    };

    // Another value changed since: the key goes back, the other change stays.
    let original = vec![
        sv("AllowToAddGuests", "True"),
        sv("NewUnifiedGroupWritebackDefault", "True"),
    ];
    let emu = start(original.clone()).await;
    let j = temp_dir("a3s").join("j.jsonl");
    let jp = j.to_str().unwrap();
    let out = run_gwb(
        &emu.url(),
        &["set-default", "false", "--journal", jp, "-o", "json"],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    set_value(&emu, "AllowToAddGuests", "false");
    let out = run_gwb(
        &emu.url(),
        &["restore", "--journal", jp, "--yes", "-o", "json"],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        unified(&emu),
        vec![
            sv("AllowToAddGuests", "false"),
            sv("NewUnifiedGroupWritebackDefault", "True")
        ],
        "only the key was put back"
    );

    // The key itself changed since: left alone (exit 1) unless --force.
    let emu = start(original.clone()).await;
    let j = temp_dir("a3s2").join("j.jsonl");
    let jp = j.to_str().unwrap();
    let out = run_gwb(
        &emu.url(),
        &["set-default", "false", "--journal", jp, "-o", "json"],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    set_value(&emu, "NewUnifiedGroupWritebackDefault", "maybe");
    let out = run_gwb(
        &emu.url(),
        &["restore", "--journal", jp, "--yes", "-o", "json"],
    )
    .await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(json_of(&out)["action"], "changedSinceRun");
    assert_eq!(unified(&emu)[1].value.as_deref(), Some("maybe"));
    let out = run_gwb(
        &emu.url(),
        &["restore", "--journal", jp, "--yes", "--force", "-o", "json"],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(unified(&emu), original);
}

/// A groups listing that never ends: every page links to a new page. With `fresh`, every page
/// holds new groups; without, every page holds the same two groups.
struct Endless {
    base: String,
    served: std::sync::atomic::AtomicU64,
    fresh: bool,
}

impl wiremock::Respond for Endless {
    fn respond(&self, _: &wiremock::Request) -> wiremock::ResponseTemplate {
        let n = self
            .served
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let group = |i: u64| {
            json!({"id": format!("0b1f5a6e-1111-4c1e-9e4f-{i:012x}"), "displayName": "g",
                "groupTypes": ["Unified"], "securityEnabled": false, "mailEnabled": true,
                "writebackConfiguration": {"isEnabled": false, "onPremisesGroupType": null}})
        };
        let ids = if self.fresh {
            [2 * n, 2 * n + 1]
        } else {
            [0, 1]
        };
        wiremock::ResponseTemplate::new(200).set_body_json(json!({
            "value": [group(ids[0]), group(ids[1])],
            "@odata.nextLink": format!("{}/beta/groups?$skiptoken=T{n}", self.base),
        }))
    }
}

async fn endless(fresh: bool) -> wiremock::MockServer {
    use wiremock::matchers::{method, path};
    let server = wiremock::MockServer::start().await;
    wiremock::Mock::given(method("GET"))
        .and(path("/beta/groups"))
        .respond_with(Endless {
            base: server.uri(),
            served: Default::default(),
            fresh,
        })
        .mount(&server)
        .await;
    wiremock::Mock::given(path("/beta/settings"))
        .respond_with(crate::support::json(r#"{"value":[]}"#.into()))
        .mount(&server)
        .await;
    wiremock::Mock::given(path("/beta/directory/onPremisesSynchronization"))
        .respond_with(wiremock::ResponseTemplate::new(403))
        .mount(&server)
        .await;
    // Cloud Sync's jobs: an app without Application.Read.All (the report carries on).
    wiremock::Mock::given(path("/beta/servicePrincipals"))
        .respond_with(wiremock::ResponseTemplate::new(403))
        .mount(&server)
        .await;
    server
}

/// C10: a listing that never ends is stopped: new groups under new links by the page cap,
/// the same groups under new links as a loop.
#[tokio::test(flavor = "multi_thread")]
async fn c10_endless_paging_is_bounded() {
    let server = endless(true).await;
    let out = bounded(
        &server.uri(),
        &["report", "-o", "json", "--max-pages", "40"],
    )
    .await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("paging did not end"),
        "{}",
        stderr(&out)
    );
    assert!(stderr(&out).contains("--max-pages"), "{}", stderr(&out));
    let listed = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.url.path() == "/beta/groups")
        .count();
    assert!(listed <= 41, "{listed} pages requested");
    assert!(stdout(&out).is_empty(), "no partial report");

    let server = endless(false).await;
    let out = bounded(
        &server.uri(),
        &["disable-existing-m365", "--dry-run", "-o", "json"],
    )
    .await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("only groups already listed"),
        "{}",
        stderr(&out)
    );
}

/// E20: a group listed on two pages is planned and counted once, with a warning.
#[tokio::test(flavor = "multi_thread")]
async fn e20_a_group_listed_twice_is_counted_once() {
    use wiremock::matchers::{method, path, query_param_contains, query_param_is_missing};
    let server = wiremock::MockServer::start().await;
    let group = |i: u32| {
        json!({"id": format!("0b1f5a6e-1111-4c1e-9e4f-00000000000{i}"), "displayName": format!("G{i}"),
            "groupTypes": ["Unified"], "securityEnabled": false, "mailEnabled": true,
            "createdDateTime": "2021-01-01T00:00:00Z",
            "writebackConfiguration": {"isEnabled": true, "onPremisesGroupType": null}})
    };
    wiremock::Mock::given(method("GET"))
        .and(path("/beta/groups"))
        .and(query_param_is_missing("$skiptoken"))
        .respond_with(crate::support::json(
            json!({"value": [group(1), group(2)],
                "@odata.nextLink": format!("{}/beta/groups?$skiptoken=P2", server.uri())})
            .to_string(),
        ))
        .mount(&server)
        .await;
    wiremock::Mock::given(method("GET"))
        .and(path("/beta/groups"))
        .and(query_param_contains("$skiptoken", "P2"))
        .respond_with(crate::support::json(
            json!({"value": [group(2), group(3)]}).to_string(),
        ))
        .mount(&server)
        .await;
    crate::support::catch_all(&server).await;
    let out = run_gwb(
        &server.uri(),
        &["disable-existing-m365", "--dry-run", "-o", "json"],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v = json_of(&out);
    assert_eq!(ids_of(&v["changes"]).len(), 3, "{v}");
    assert_eq!(v["summary"]["changes"], 3);
    assert!(stderr(&out).contains("a second time"), "{}", stderr(&out));
}

/// C11: a per-item Retry-After beyond the retry budget is given up at once, never slept.
#[tokio::test(flavor = "multi_thread")]
async fn c11_an_absurd_retry_after_inside_a_batch_is_not_slept() {
    use wiremock::matchers::{method, path};
    for retry_after in ["999999", "86400", "Fri, 31 Dec 2100 23:59:59 GMT"] {
        let server = wiremock::MockServer::start().await;
        let groups: Vec<Value> = (1..=3)
            .map(|i| {
                json!({"id": format!("0b1f5a6e-1111-4c1e-9e4f-00000000000{i}"),
                    "displayName": format!("G{i}"), "groupTypes": ["Unified"],
                    "securityEnabled": false, "mailEnabled": true,
                    "createdDateTime": "2021-01-01T00:00:00Z",
                    "writebackConfiguration": {"isEnabled": true, "onPremisesGroupType": null}})
            })
            .collect();
        wiremock::Mock::given(method("GET"))
            .and(path("/beta/groups"))
            .respond_with(crate::support::json(json!({ "value": groups }).to_string()))
            .mount(&server)
            .await;
        wiremock::Mock::given(path("/beta/settings"))
            .respond_with(crate::support::json(r#"{"value":[]}"#.into()))
            .mount(&server)
            .await;
        wiremock::Mock::given(path("/beta/directory/onPremisesSynchronization"))
            .respond_with(wiremock::ResponseTemplate::new(403))
            .mount(&server)
            .await;
        // Cloud Sync's jobs: an app without Application.Read.All (the report carries on).
        wiremock::Mock::given(path("/beta/servicePrincipals"))
            .respond_with(wiremock::ResponseTemplate::new(403))
            .mount(&server)
            .await;
        wiremock::Mock::given(method("POST"))
            .and(path("/beta/$batch"))
            .respond_with(crate::support::EveryItem {
                status: 429,
                retry_after: Some(retry_after),
                code: "TooManyRequests",
            })
            .mount(&server)
            .await;
        for args in [
            vec!["disable-existing-m365", "--yes", "-o", "json"],
            vec!["report", "--member-counts", "-o", "json"],
        ] {
            let out = bounded(&server.uri(), &args).await;
            assert!(
                stderr(&out).contains("Retry-After") && stderr(&out).contains("retry budget"),
                "{retry_after} {args:?}: {}",
                stderr(&out)
            );
            if args[0] == "disable-existing-m365" {
                assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
                assert_eq!(json_of(&out)["failed"].as_array().unwrap().len(), 3);
            }
        }
    }
}

/// A server that accepts connections and then says nothing (`trickle`: sends a status line and
/// headers, then one byte of body every 50 ms, for ever).
async fn stalling_server(trickle: bool) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let _ = sock.read(&mut buf).await;
                if trickle {
                    let _ = sock
                        .write_all(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 100000\r\n\r\n")
                        .await;
                    for _ in 0..2_000 {
                        if sock.write_all(b" ").await.is_err() {
                            return;
                        }
                        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    }
                } else {
                    // Hold the connection open, silent, until the client goes away.
                    let _ = sock.read(&mut buf).await;
                }
            });
        }
    });
    format!("http://{addr}")
}

/// The slow ones (soak, crash and timeout tests): `cargo test -- --skip slow::` leaves them
/// out of the inner loop; CI runs them all.
mod slow {
    #[allow(unused_imports)]
    use super::*;

    /// C12: a silent or trickling server, or a run past its deadline, ends with a message that
    /// names the stall, in bounded time.
    #[tokio::test(flavor = "multi_thread")]
    async fn c12_silent_and_trickling_servers_and_the_deadline_end_the_run() {
        let silent = stalling_server(false).await;
        let out = bounded(
            &silent,
            &[
                "report",
                "-o",
                "json",
                "--read-timeout",
                "0.2",
                "--request-timeout",
                "5",
            ],
        )
        .await;
        assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
        assert!(
            stderr(&out).contains("stopped answering"),
            "{}",
            stderr(&out)
        );

        let trickle = stalling_server(true).await;
        let out = bounded(
            &trickle,
            &[
                "report",
                "-o",
                "json",
                "--read-timeout",
                "5",
                "--request-timeout",
                "0.3",
            ],
        )
        .await;
        assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
        assert!(
            stderr(&out).contains("stopped answering"),
            "{}",
            stderr(&out)
        );

        let out = bounded(&silent, &["report", "-o", "json", "--deadline", "0.5"]).await;
        assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
        assert!(
            stderr(&out).contains("deadline of 0.5 s"),
            "{}",
            stderr(&out)
        );

        let out = bounded(&silent, &["report", "--deadline", "1e20"]).await;
        assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    }
}
