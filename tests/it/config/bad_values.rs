//! Values no one means (huge seconds, unknown flags, broken config) are usage errors (exit 2) that
//! create nothing and send nothing.

use crate::support::Scenario;
use crate::support::{gwb_command, plain_tenant, run, run_gwb, stderr, temp_dir};
use gwb::emulator::EmulatorConfig;

/// B9: huge seconds are a usage error, checked before anything is created.
/// (Issue 12, item B9.)
#[tokio::test(flavor = "multi_thread")]
async fn huge_seconds_are_usage_errors_that_create_nothing() {
    let s = Scenario::with(plain_tenant(60, 79), EmulatorConfig::default()).await;
    let emu = &s.emu;
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
        let out = s.gwb(&args).await;
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

#[tokio::test(flavor = "multi_thread")]
async fn usage_and_configuration_errors_exit_2_and_send_nothing() {
    let s = Scenario::generated(10, 6, 0.0).await;
    let emu = &s.emu;
    // No credentials at all.
    let mut cmd = gwb_command();
    cmd.env("GWB_GRAPH_URL", emu.url()).args(["report"]);
    let out = run(cmd).await;
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("no credentials"), "{}", stderr(&out));
    // Plain http to a non-loopback host is refused before anything is sent.
    let out = run_gwb("http://graph.example.com", &["report"]).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("loopback"), "{}", stderr(&out));
    // A bad flag value.
    let out = s.gwb(&["report", "--kind", "bogus"]).await;
    assert_eq!(out.status.code(), Some(2));
    // --emulator-groups without --emulator.
    let out = s.gwb(&["report", "--emulator-groups", "5"]).await;
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    // A config file with an unknown key.
    let dir = std::env::temp_dir().join(format!("gwb-e2e-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cfg = dir.join("bad.toml");
    std::fs::write(&cfg, "graph_ulr = \"https://graph.microsoft.com\"\n").unwrap();
    let out = s.gwb(&["--config", cfg.to_str().unwrap(), "report"]).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("graph_ulr"), "{}", stderr(&out));
    assert_eq!(emu.shared().stat("requests"), 0, "no request was made");
}
