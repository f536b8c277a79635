//! Restore puts back only what gwb changed: later changes are left alone unless forced, and lines
//! the run never wrote are ignored.

use crate::support::Scenario;
use crate::support::{json_of, plain_tenant, snapshot, stderr, temp_dir};
use gwb::emulator::EmulatorConfig;
use gwb::graph::model::WritebackConfiguration;
use serde_json::json;

use crate::support::ids_of;

/// Disable, then an admin re-enables one group; returns (emulator, journal, that group, the
/// state the admin set, the tenant before the disable).
async fn disabled_then_changed(
    seed: u64,
) -> (
    Scenario,
    std::path::PathBuf,
    String,
    WritebackConfiguration,
    std::collections::HashMap<String, WritebackConfiguration>,
) {
    let s = Scenario::with(plain_tenant(150, seed), EmulatorConfig::default()).await;
    let emu = &s.emu;
    let original = snapshot(&emu.shared().tenant());
    let j = temp_dir("restore-cas").join("j.jsonl");
    let out = s
        .gwb(&[
            "disable-existing-m365",
            "--yes",
            "-o",
            "json",
            "--journal",
            j.to_str().unwrap(),
        ])
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
    (s, j, touched, admins, original)
}

/// A3: restore is compare-and-set: a group changed after gwb's run is left alone and reported
/// (exit 1); `--force` puts it back too.
/// (Issue 12, item A3.)
#[tokio::test(flavor = "multi_thread")]
async fn restore_leaves_later_changes_alone_unless_forced() {
    let (s, j, touched, admins, original) = disabled_then_changed(74).await;
    let emu = &s.emu;
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
    let out = s
        .gwb(&["restore", "--journal", j.to_str().unwrap(), "--dry-run"])
        .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let out = s
        .gwb(&[
            "restore",
            "--journal",
            j.to_str().unwrap(),
            "--yes",
            "--force",
            "-o",
            "json",
        ])
        .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(snapshot(&emu.shared().tenant()), original);
}

/// D19: a before line for a group the run never wrote (no outcome, in a finished run) is
/// ignored, and said.
/// (Issue 12, item D19.)
#[tokio::test(flavor = "multi_thread")]
async fn restore_ignores_lines_the_run_never_wrote() {
    let s = Scenario::with(plain_tenant(150, 75), EmulatorConfig::default()).await;
    let emu = &s.emu;
    let j = temp_dir("d19").join("j.jsonl");
    let out = s
        .gwb(&[
            "disable-existing-m365",
            "--yes",
            "--journal",
            j.to_str().unwrap(),
        ])
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
