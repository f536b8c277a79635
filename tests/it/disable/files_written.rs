//! The files a writing run leaves (plans, locks, journals) are never written through links or over
//! other files, and a journal that cannot be written stops the run.

use crate::support::Scenario;
use crate::support::{gwb_command, plain_tenant, run, snapshot, stderr, temp_dir};
use gwb::emulator::EmulatorConfig;

/// D14, D15: --plan-out never overwrites a file or writes through a symlink (without --force),
/// and plans are private; a symlinked run lock is refused, its target untouched.
/// (Issue 12, items D14 and D15.)
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread")]
async fn plans_and_locks_are_never_written_through_links_or_over_files() {
    use std::os::unix::fs::PermissionsExt;
    let s = Scenario::with(plain_tenant(60, 80), EmulatorConfig::default()).await;
    let emu = &s.emu;
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
        let s = &s;
        async move {
            let refs: Vec<&str> = a.iter().map(String::as_str).collect();
            s.gwb(&refs).await
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

/// D13: a journal that cannot be written stops the run before its next write (exit 1), and the
/// journal it leaves still restores every group that was changed. The fault is real: the file
/// size limit (RLIMIT_FSIZE) makes the journal's appends fail part-way, as a full disk does.
/// (Issue 12, item D13.)
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread")]
async fn a_journal_that_cannot_be_written_stops_the_run_and_still_restores() {
    let s = Scenario::with(plain_tenant(400, 83), EmulatorConfig::default()).await;
    let emu = &s.emu;
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
    let out = s
        .gwb(&[
            "restore",
            "--journal",
            j.to_str().unwrap(),
            "--yes",
            "-o",
            "json",
        ])
        .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(snapshot(&emu.shared().tenant()), original);
}
