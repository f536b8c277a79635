//! A reader that goes away (`| head`) stops the output, not the command: the exit code stays.

use crate::support::{emulator, emulator_with, gwb_command, plain_tenant, run, stderr, temp_dir};
use gwb::emulator::EmulatorConfig;

/// B6: a reader that goes away stops the output, not the exit code.
/// (Issue 12, item B6.)
#[tokio::test(flavor = "multi_thread")]
async fn a_closed_stdout_keeps_the_exit_code() {
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

#[tokio::test(flavor = "multi_thread")]
async fn a_closed_stdout_pipe_is_not_an_error() {
    let emu = emulator(3_000, 7, 0.0).await;
    let url = emu.url();
    let status = tokio::task::spawn_blocking(move || {
        let mut cmd = gwb_command();
        cmd.env("GWB_GRAPH_URL", url)
            .env("GWB_ACCESS_TOKEN", "t")
            .args(["report", "-o", "csv"])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        let mut child = cmd.spawn().unwrap();
        drop(child.stdout.take()); // the reader goes away at once, like `| head -0`
        child.wait_with_output().unwrap()
    })
    .await
    .unwrap();
    assert_eq!(
        status.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );
}
