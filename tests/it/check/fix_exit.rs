//! The exit code of `check --fix` follows the state checked after the fix.

use crate::support::Scenario;
use crate::support::{json_of, plain_tenant, stderr, temp_dir};
use gwb::emulator::{EmulatorConfig, WriteQuirk};

use crate::support::{quirks, to_change};

/// B5: `check --fix` exits non-zero while its own after-state is not compliant.
/// (Issue 12, item B5.)
#[tokio::test(flavor = "multi_thread")]
async fn check_fix_exit_code_follows_the_after_state() {
    let tenant = plain_tenant(200, 72);
    let ignored = to_change(&tenant, 2);
    let cfg = EmulatorConfig {
        write_quirks: quirks(&ignored, WriteQuirk::Ignored),
        ..Default::default()
    };
    let s = Scenario::with(tenant, cfg).await;
    let _emu = &s.emu;
    let config = temp_dir("b5").join("config.toml");
    std::fs::write(&config, "[policy]\nm365_writeback = \"disabled\"\n").unwrap();
    let out = s
        .gwb(&[
            "--config",
            config.to_str().unwrap(),
            "check",
            "--fix",
            "--yes",
            "--verify-timeout",
            "0",
            "-o",
            "json",
        ])
        .await;
    let v = json_of(&out);
    assert_eq!(v["after"]["compliant"], false, "{v}");
    assert_ne!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(out.status.code(), Some(1));
}

/// A drifted group Graph lists with an id that is not a GUID cannot be fixed: `check --fix`
/// fails it (`invalidId`, exit 1) and fixes the rest; it is never silently left as planned.
#[tokio::test(flavor = "multi_thread")]
async fn check_fix_fails_a_group_whose_id_is_not_a_guid_and_fixes_the_rest() {
    let mut t = plain_tenant(60, 31);
    let i = t
        .groups
        .iter()
        .position(crate::support::should_change)
        .unwrap();
    t.groups[i].id = "a/b".into();
    let s = crate::support::Scenario::tenant(t)
        .await
        .config("[policy]\nm365_writeback = \"disabled\"\n");
    let run = s
        .gwb(&[
            "check",
            "--fix",
            "--yes",
            "--verify-timeout",
            "0",
            "-o",
            "json",
        ])
        .await;
    assert_eq!(run.code(), 1, "{}", run.stderr());
    let v = run.json();
    let failed = v["fix"]["failed"].as_array().unwrap();
    assert_eq!(failed.len(), 1, "{v}");
    assert_eq!(
        (failed[0]["id"].as_str(), failed[0]["code"].as_str()),
        (Some("a/b"), Some("invalidId"))
    );
    let after: Vec<&str> = v["after"]["drift"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|d| d["id"].as_str())
        .collect();
    assert_eq!(after, ["a/b"], "every other group was fixed: {v}");
    let journal = gwb::journal::read(&s.journals()[0]).unwrap();
    assert_eq!(journal.outcomes["a/b"], "failed");
    assert!(journal.befores.iter().all(|c| c.id != "a/b"));
}
