//! Ctrl-C and SIGTERM in a writing run: stop cleanly, journal what was sent, and on a second
//! signal stop at once, still saying the way back.

use crate::support::Scenario;
use crate::support::{json_of, plain_tenant, snapshot, stderr};
use gwb::emulator::EmulatorConfig;

/// Item 4: SIGTERM or Ctrl-C mid-run: no new writes, the ones in flight finish and are recorded,
/// the summary so far and the journal are printed, exit 143 or 130; the journal restores the
/// tenant exactly.
/// (Issue 13.)
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread")]
async fn a_signal_mid_run_stops_cleanly_and_the_journal_restores_exactly() {
    for (signal, name, code) in [("-TERM", "SIGTERM", 143), ("-INT", "SIGINT", 130)] {
        let tenant = plain_tenant(400, 92);
        let original = snapshot(&tenant);
        let s = Scenario::with(tenant, EmulatorConfig::default()).await;
        let emu = &s.emu;
        let j = crate::support::temp_dir("signal").join("j.jsonl");
        let mut cmd = crate::support::gwb_command();
        // Paced at 20 writes per half second: the run takes seconds, and the signal is sent
        // as soon as the first outcome is journaled, so it always lands mid-run.
        cmd.env("GWB_GRAPH_URL", emu.url())
            .env("GWB_ACCESS_TOKEN", crate::support::TOKEN)
            .args([
                "disable-existing-m365",
                "--yes",
                "-o",
                "json",
                "--write-limit",
                "20",
                "--write-window",
                "0.5",
                "--journal",
                j.to_str().unwrap(),
            ])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        let child = cmd.spawn().unwrap();
        let pid = child.id().to_string();
        let mut seen = false;
        for _ in 0..1_500 {
            if std::fs::read_to_string(&j).is_ok_and(|t| t.contains(r#""type":"outcome""#)) {
                seen = true;
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        assert!(seen, "the run started writing");
        let killed = std::process::Command::new("kill")
            .args([signal, &pid])
            .status()
            .unwrap();
        assert!(killed.success());
        let out = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
            .await
            .unwrap();
        assert_eq!(out.status.code(), Some(code), "{}", stderr(&out));
        let v = json_of(&out);
        assert_eq!(v["summary"]["interrupted"], name, "{v}");
        assert!(v["summary"]["notSent"].as_u64().unwrap() > 0, "{v}");
        assert!(v["journal"].as_str().unwrap().ends_with("j.jsonl"));
        // With JSON on stdout, stderr still ends with the way back and the way on.
        let err = stderr(&out);
        let tail: Vec<&str> = err.lines().rev().take(3).collect();
        assert_eq!(
            tail,
            vec![
                format!("gwb: interrupted by {name}: run the same command again to finish (it plans afresh and skips what is done)").as_str(),
                format!("gwb: undo with: gwb restore --journal {}", j.display()).as_str(),
                format!("gwb: journal: {}", j.display()).as_str(),
            ],
            "{err}"
        );
        let journal = gwb::journal::read(&j).unwrap();
        assert!(journal.finished, "an end record");
        assert!(
            std::fs::read_to_string(&j)
                .unwrap()
                .contains(&format!(r#""interrupted":"{name}""#))
        );
        // Every group that differs is journaled with an outcome, and restore is exact.
        let now = snapshot(&emu.shared().tenant());
        for (id, wb) in &original {
            if &now[id] != wb {
                assert!(
                    journal.outcomes.contains_key(id),
                    "{id} changed, no outcome"
                );
            }
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
        assert_eq!(snapshot(&emu.shared().tenant()), original, "{name}");
    }
}

/// A second signal stops at once (the process exits from the signal handler, not through
/// main): the way back is still the last thing on stderr.
/// (Issue 13.)
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread")]
async fn a_second_signal_stops_at_once_and_still_says_the_way_back() {
    let tenant = plain_tenant(200, 93);
    // Slow answers: the writes in flight when the first signal comes take a while, so the
    // second one finds the run still finishing them.
    let s = Scenario::with(
        tenant,
        EmulatorConfig {
            latency: std::time::Duration::from_millis(3000),
            ..Default::default()
        },
    )
    .await;
    let emu = &s.emu;
    let j = crate::support::temp_dir("second-signal").join("j.jsonl");
    let mut cmd = crate::support::gwb_command();
    cmd.env("GWB_GRAPH_URL", emu.url())
        .env("GWB_ACCESS_TOKEN", crate::support::TOKEN)
        .args([
            "disable-existing-m365",
            "--yes",
            "-o",
            "json",
            "--concurrency",
            "1",
            "--journal",
            j.to_str().unwrap(),
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let child = cmd.spawn().unwrap();
    let _guard = crate::support::HangGuard::new(child.id(), 120);
    let pid = child.id().to_string();
    let mut seen = false;
    for _ in 0..3_000 {
        if std::fs::read_to_string(&j).is_ok_and(|t| t.contains(r#""type":"before""#)) {
            seen = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(seen, "the run started writing");
    let kill = || {
        let killed = std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap();
        assert!(killed.success());
    };
    // The first signal; the second only once gwb has said it is finishing the writes in flight
    // (so the two are never taken for one).
    kill();
    let mut child = child;
    let stderr_pipe = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    let reader = std::thread::spawn(move || {
        use std::io::BufRead;
        let mut all = String::new();
        for line in std::io::BufReader::new(stderr_pipe)
            .lines()
            .map_while(Result::ok)
        {
            if line.contains("sending no more writes") {
                let _ = tx.send(line.clone());
            }
            all.push_str(&line);
            all.push('\n');
        }
        all
    });
    let said =
        tokio::task::spawn_blocking(move || rx.recv_timeout(std::time::Duration::from_secs(60)))
            .await
            .unwrap();
    assert!(
        said.is_ok(),
        "gwb said it is finishing the writes in flight"
    );
    kill();
    let status = tokio::task::spawn_blocking(move || child.wait().unwrap())
        .await
        .unwrap();
    let err = tokio::task::spawn_blocking(move || reader.join().unwrap())
        .await
        .unwrap();
    assert_eq!(status.code(), Some(143), "{err}");
    assert!(err.contains("stopped at once"), "the hard stop: {err}");
    assert!(
        err.trim_end().ends_with(&format!(
            "gwb: undo with: gwb restore --journal {}\ngwb: interrupted by SIGTERM: run the same command again to finish (it plans afresh and skips what is done)",
            j.display()
        )),
        "{err}"
    );
}
