//! The README's walkthrough against the built-in emulator (issue 15, item 1): each `--emulator`
//! command sees what the one before it changed, `restore --last` undoes it, and
//! `--emulator-reset` starts afresh.

use std::path::Path;

use crate::support::{gwb_command, json_of, run, stderr, temp_dir};

async fn gwb(state: &Path, args: &[&str]) -> std::process::Output {
    let mut cmd = gwb_command();
    cmd.env("XDG_STATE_HOME", state)
        .env("GWB_LOCK_DIR", state.join("locks"))
        .arg("--emulator")
        .args(["--emulator-groups", "60"])
        .args(args);
    run(cmd).await
}

/// Microsoft 365 groups written back, as `report` counts them.
fn m365_written_back(report: &serde_json::Value) -> u64 {
    report["summary"]["byKind"]["microsoft365"]["writtenBack"]
        .as_u64()
        .unwrap_or_else(|| panic!("{}", report["summary"]))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_walkthrough_sees_its_own_changes_and_undoes_them() {
    let state = temp_dir("walkthrough");
    let before = json_of(&gwb(&state, &["report", "-o", "json"]).await);
    assert!(m365_written_back(&before) > 0);

    let disable = gwb(&state, &["disable-existing-m365", "--yes", "-o", "json"]).await;
    assert_eq!(disable.status.code(), Some(0), "{}", stderr(&disable));

    let after = gwb(&state, &["report", "-o", "json"]).await;
    assert!(
        stderr(&after).contains("as earlier --emulator commands left it"),
        "{}",
        stderr(&after)
    );
    assert_eq!(
        m365_written_back(&json_of(&after)),
        0,
        "the report shows the disable"
    );

    let undo = gwb(&state, &["restore", "--last", "--yes", "-o", "json"]).await;
    assert_eq!(undo.status.code(), Some(0), "{}", stderr(&undo));
    let restored = json_of(&gwb(&state, &["report", "-o", "json"]).await);
    assert_eq!(m365_written_back(&restored), m365_written_back(&before));
}

#[tokio::test(flavor = "multi_thread")]
async fn emulator_reset_starts_the_sample_tenant_afresh() {
    let state = temp_dir("walkthrough-reset");
    let before = json_of(&gwb(&state, &["report", "-o", "json"]).await);
    let set = gwb(&state, &["set-default", "false", "-o", "json"]).await;
    assert_eq!(set.status.code(), Some(0), "{}", stderr(&set));
    let kept = json_of(&gwb(&state, &["report", "-o", "json"]).await);
    assert_eq!(kept["tenant"]["newUnifiedGroupWritebackDefault"], false);
    let reset = json_of(&gwb(&state, &["--emulator-reset", "report", "-o", "json"]).await);
    assert_eq!(
        reset["tenant"]["newUnifiedGroupWritebackDefault"],
        before["tenant"]["newUnifiedGroupWritebackDefault"]
    );
}
