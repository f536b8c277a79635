//! gwb against Graph as Microsoft documents it (issue 13): 424 batches, throttling storms, lost
//! answers and casing in directory settings, fast failure when Graph cannot be reached.

use gwb::emulator::EmulatorConfig;

use crate::support::{
    bounded, emulator_with, json_of, plain_tenant, run_gwb, should_change, snapshot, stderr, stdout,
};

/// Items 1 and 2: a storm of item-level 429s, longer than the attempt limit, with every batch
/// that holds a throttled item answered 424. The run waits it out; no write that succeeded is
/// sent again; disable and restore both end exact.
#[tokio::test(flavor = "multi_thread")]
async fn a_storm_of_424_batches_is_waited_out_and_successes_are_not_resent() {
    let tenant = plain_tenant(200, 91);
    let original = snapshot(&tenant);
    let planned = tenant.groups.iter().filter(|g| should_change(g)).count() as u64;
    let cfg = EmulatorConfig {
        // 500 throttled items: with 2 batches in flight, some items are throttled in more
        // rounds than the 10-attempt limit.
        storm: Some((500, "0.02".into())),
        batch_424: true,
        seed: 91,
        ..Default::default()
    };
    let emu = emulator_with(tenant, cfg).await;
    let j = crate::support::temp_dir("storm").join("j.jsonl");
    let out = bounded(
        &emu.url(),
        &[
            "disable-existing-m365",
            "--yes",
            "-o",
            "json",
            "--concurrency",
            "2",
            "--journal",
            j.to_str().unwrap(),
        ],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v = json_of(&out);
    assert_eq!(v["summary"]["changed"], planned, "{v}");
    let stats = emu.shared().stats();
    assert_eq!(stats["storm_items"], 500, "{stats:?}");
    assert!(stats["batch_424"] > 0, "{stats:?}");
    assert_eq!(
        stats["patch_group_attempt"], planned,
        "a write that succeeded inside a 424 batch was sent again: {stats:?}"
    );
    let out = bounded(
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

/// Item 7: the permission hints say what Microsoft's reference says: Group.Read.All reads the
/// tenant-wide settings too; nothing about "older tenants".
#[tokio::test(flavor = "multi_thread")]
async fn permission_hints_follow_the_reference() {
    use wiremock::matchers::{method, path};
    let server = wiremock::MockServer::start().await;
    let denied = r#"{"error":{"code":"Authorization_RequestDenied","message":"Insufficient privileges to complete the operation."}}"#;
    wiremock::Mock::given(method("GET"))
        .and(path("/beta/groups"))
        .respond_with(crate::support::json_status(403, denied.into()))
        .mount(&server)
        .await;
    wiremock::Mock::given(method("GET"))
        .and(path("/beta/settings"))
        .respond_with(crate::support::json_status(403, denied.into()))
        .mount(&server)
        .await;
    wiremock::Mock::given(method("GET"))
        .and(path("/beta/directory/onPremisesSynchronization"))
        .respond_with(wiremock::ResponseTemplate::new(403))
        .mount(&server)
        .await;
    let out = run_gwb(&server.uri(), &["report", "-o", "json"]).await;
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("Group.Read.All (which also reads the tenant default)"),
        "{err}"
    );
    assert!(!err.contains("plus GroupSettings.Read.All"), "{err}");
    let out = run_gwb(&server.uri(), &["set-default", "false", "-o", "json"]).await;
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(4), "{err}");
    assert!(err.contains("Group.Read.All"), "{err}");
    assert!(!err.contains("older tenants"), "{err}");
}

/// Item 4: SIGTERM or Ctrl-C mid-run: no new writes, the ones in flight finish and are recorded,
/// the summary so far and the journal are printed, exit 143 or 130; the journal restores the
/// tenant exactly.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread")]
async fn a_signal_mid_run_stops_cleanly_and_the_journal_restores_exactly() {
    for (signal, name, code) in [("-TERM", "SIGTERM", 143), ("-INT", "SIGINT", 130)] {
        let tenant = plain_tenant(400, 92);
        let original = snapshot(&tenant);
        let emu = emulator_with(tenant, EmulatorConfig::default()).await;
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
        let out = bounded(
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
        assert_eq!(snapshot(&emu.shared().tenant()), original, "{name}");
    }
}

/// Item 6: role-assignable groups are marked in the plan and in drift; a 403 on one names the
/// permission; `role_assignable_drift = "report"` gives a scheduled job an honest green run.
#[tokio::test(flavor = "multi_thread")]
async fn role_assignable_groups_are_marked_named_and_can_be_reported_apart() {
    // The generated tenant has role-assignable Microsoft 365 groups, which the emulator refuses
    // to write without the privileged permission (403), as Graph does.
    let tenant = gwb::emulator::Tenant::generate(250, 1);
    let privileged: Vec<String> = tenant
        .groups
        .iter()
        .filter(|g| should_change(g) && g.is_assignable_to_role == Some(true))
        .map(|g| g.id.clone())
        .collect();
    assert!(!privileged.is_empty());
    let emu = emulator_with(tenant, EmulatorConfig::default()).await;

    let plan = json_of(
        &run_gwb(
            &emu.url(),
            &["disable-existing-m365", "--dry-run", "-o", "json"],
        )
        .await,
    );
    let marked: Vec<&str> = plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["roleAssignable"] == true)
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(marked.len(), privileged.len(), "{plan}");
    let table = run_gwb(
        &emu.url(),
        &["disable-existing-m365", "--dry-run", "-o", "table"],
    )
    .await;
    assert!(stdout(&table).contains("RoleManagement.ReadWrite.Directory"));

    let dir = crate::support::temp_dir("privileged");
    let strict = dir.join("strict.toml");
    std::fs::write(&strict, "[policy]\nm365_writeback = \"disabled\"\n").unwrap();
    let relaxed = dir.join("relaxed.toml");
    std::fs::write(
        &relaxed,
        "[policy]\nm365_writeback = \"disabled\"\nrole_assignable_drift = \"report\"\n",
    )
    .unwrap();
    let (s, r) = (strict.to_str().unwrap(), relaxed.to_str().unwrap());

    // Strict: marked drift; --fix fails on them with the permission named.
    let out = run_gwb(
        &emu.url(),
        &["--config", s, "check", "--fix", "--yes", "-o", "json"],
    )
    .await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let v = json_of(&out);
    let failed = v["fix"]["failed"].as_array().unwrap();
    assert_eq!(failed.len(), privileged.len(), "{v}");
    for f in failed {
        assert!(
            f["message"]
                .as_str()
                .unwrap()
                .contains("RoleManagement.ReadWrite.Directory"),
            "{f}"
        );
    }
    assert!(
        v["after"]["drift"]
            .as_array()
            .unwrap()
            .iter()
            .all(|d| d["roleAssignable"] == true),
        "{v}"
    );

    // Report: the same tenant is compliant, the groups listed apart, nothing tried.
    let writes = emu.shared().stat("patch_group_attempt");
    let out = run_gwb(
        &emu.url(),
        &["--config", r, "check", "--fix", "--yes", "-o", "json"],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v = json_of(&out);
    assert_eq!(v["before"]["compliant"], true, "{v}");
    assert_eq!(
        v["before"]["needsPrivilegedPermission"]
            .as_array()
            .unwrap()
            .len(),
        privileged.len()
    );
    assert_eq!(
        emu.shared().stat("patch_group_attempt"),
        writes,
        "nothing tried"
    );
}

/// The slow ones (soak, crash and timeout tests): `cargo test -- --skip slow::` leaves them
/// out of the inner loop; CI runs them all.
mod slow {
    #[allow(unused_imports)]
    use super::*;

    /// Item 5: Graph that cannot be reached at all fails fast, naming the host.
    #[tokio::test(flavor = "multi_thread")]
    async fn an_unreachable_graph_fails_fast_with_the_host() {
        // Port 1 on loopback: nothing listens there, the connection is refused at once.
        let out = bounded("http://127.0.0.1:1", &["report", "-o", "json"]).await;
        assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
        let err = stderr(&out);
        assert!(err.contains("cannot reach http://127.0.0.1:1"), "{err}");
        assert!(err.contains("graph_url"), "{err}");
        // Report reads three things at once; each is tried at most 3 times (2 retry lines), a
        // second or two apart, instead of 10 times with backoff up to a minute.
        for p in ["/beta/groups", "/beta/settings"] {
            let retries = err
                .lines()
                .filter(|l| l.contains("trying again") && l.contains(&format!("GET {p}:")))
                .count();
            assert!(retries <= 2, "{p}: {retries} retry lines: {err}");
        }
    }
}

/// A second signal stops at once (the process exits from the signal handler, not through
/// main): the way back is still the last thing on stderr.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread")]
async fn a_second_signal_stops_at_once_and_still_says_the_way_back() {
    let tenant = plain_tenant(200, 93);
    // Slow answers: the writes in flight when the first signal comes take a while, so the
    // second one finds the run still finishing them.
    let emu = emulator_with(
        tenant,
        EmulatorConfig {
            latency: std::time::Duration::from_millis(3000),
            ..Default::default()
        },
    )
    .await;
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
