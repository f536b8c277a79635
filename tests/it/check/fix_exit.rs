//! The exit code of `check --fix` follows the state checked after the fix.

use crate::support::{emulator_with, json_of, plain_tenant, run_gwb, stderr, temp_dir};
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
