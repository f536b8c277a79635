//! Bad input from people: each a usage error (exit 2) that names the problem, with nothing
//! written to the tenant and no journal left behind.

use crate::support::{emulator, gwb_command, run, stderr, temp_dir};

#[tokio::test(flavor = "multi_thread")]
async fn bad_input_is_exit_2_names_the_problem_and_writes_nothing() {
    let emu = emulator(300, 41, 0.0).await;
    let dir = temp_dir("bad-input");
    let state = dir.join("state");
    let file = |name: &str, text: &str| {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p.to_str().unwrap().to_string()
    };
    // A valid journal header, then a line that is not JSON, then more records: corrupt in the
    // middle (only a cut-off *last* line is a crash's doing and tolerated).
    let header = r#"{"type":"run","schemaVersion":1,"runId":"r1","command":"disable-existing-m365","graphRoot":"emulator","startedAt":"2026-11-22T00:00:00Z","gwbVersion":"0.1.0"}"#;
    let middle = file(
        "middle.jsonl",
        &format!("{header}\nthis is not json\n{header}\n"),
    );
    let empty = file("empty.jsonl", "");
    let truncated_plan = file(
        "truncated-plan.json",
        r#"{"schemaVersion": 1, "kind": "gwb.disable"#,
    );
    let other_kind = file(
        "other.json",
        r#"{"schemaVersion":1,"kind":"something.else","graphRoot":"emulator","createdAt":"x","changes":[],"skipped":[],"summary":{"changes":0,"alreadyDisabled":0,"excluded":0,"createdOnOrAfterCutoff":0,"syncedFromOnPremises":0,"otherKinds":0}}"#,
    );
    let exclude = file("exclude.txt", "not-a-guid\n");

    let cases: Vec<(&str, Vec<&str>, &str)> = vec![
        (
            "impossible date",
            vec![
                "disable-existing-m365",
                "--dry-run",
                "--created-before",
                "2026-02-30",
            ],
            "not a real date",
        ),
        (
            "month 13",
            vec!["disable-existing-m365", "--created-before", "2026-13-01"],
            "not a real date",
        ),
        (
            "not a date",
            vec!["disable-existing-m365", "--created-before", "yesterday"],
            "is not a date",
        ),
        (
            "bad exclude id",
            vec!["disable-existing-m365", "--exclude", "Sales Team"],
            "not a group id",
        ),
        (
            "bad exclude file",
            vec!["disable-existing-m365", "--exclude-file", &exclude],
            "exclude.txt",
        ),
        (
            "plan with selection flags",
            vec![
                "disable-existing-m365",
                "--plan",
                &truncated_plan,
                "--exclude",
                "0b1f5a6e-1111-4c1e-9e4f-000000000001",
            ],
            "cannot be used with",
        ),
        (
            "truncated plan",
            vec!["disable-existing-m365", "--plan", &truncated_plan, "--yes"],
            "not a gwb plan",
        ),
        (
            "plan of another kind",
            vec!["disable-existing-m365", "--plan", &other_kind, "--yes"],
            "something.else",
        ),
        (
            "journal corrupt in the middle",
            vec!["restore", "--journal", &middle, "--yes"],
            "line 2",
        ),
        (
            "empty journal",
            vec!["restore", "--journal", &empty, "--yes"],
            "empty.jsonl",
        ),
        (
            "missing journal",
            vec!["restore", "--journal", "/nonexistent/j.jsonl", "--yes"],
            "/nonexistent/j.jsonl",
        ),
        ("not a boolean", vec!["set-default", "maybe"], "maybe"),
        (
            "negative verify timeout",
            vec!["set-default", "false", "--verify-timeout=-1"],
            "verify-timeout",
        ),
        (
            "write window zero",
            vec!["disable-existing-m365", "--yes", "--write-window", "0"],
            "write-window",
        ),
        ("check flags without --fix", vec!["check", "--yes"], "--fix"),
        (
            "emulator flags without --emulator",
            vec!["--emulator-groups", "5", "report"],
            "--emulator",
        ),
    ];
    for (case, args, want) in cases {
        let mut cmd = gwb_command();
        cmd.env("GWB_GRAPH_URL", emu.url())
            .env("GWB_ACCESS_TOKEN", "t")
            .env("XDG_STATE_HOME", &state)
            .args(&args);
        let out = run(cmd).await;
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{case}: {err}");
        assert!(err.contains(want), "{case}: wanted {want:?} in {err}");
        assert!(!err.contains("panicked"), "{case}: {err}");
    }
    for w in [
        "patch_group_attempt",
        "batch",
        "create_setting_attempt",
        "patch_setting_attempt",
    ] {
        assert_eq!(emu.shared().stat(w), 0, "{w}: nothing was written");
    }
    let journals = std::fs::read_dir(state.join("gwb"))
        .map(|d| {
            d.filter_map(Result::ok)
                .filter(|e| e.path().extension().is_some_and(|x| x == "jsonl"))
                .count()
        })
        .unwrap_or(0);
    assert_eq!(journals, 0, "no journal left behind");
}

/// An unsigned token carrying a `tid` claim, as Entra's do (the emulator takes any token).
fn token_for(tenant: &str) -> String {
    let part = |v: serde_json::Value| {
        azure_core::base64::encode_url_safe(v.to_string())
            .trim_end_matches('=')
            .to_string()
    };
    format!(
        "{}.{}.c2ln",
        part(serde_json::json!({"alg": "RS256", "typ": "JWT"})),
        part(serde_json::json!({"tid": tenant, "aud": "https://graph.microsoft.com"}))
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn a_plan_or_journal_of_another_tenant_is_refused() {
    const A: &str = "aaaaaaaa-0000-4000-8000-000000000001";
    const B: &str = "bbbbbbbb-0000-4000-8000-000000000002";
    let emu = crate::support::emulator_with(
        crate::support::plain_tenant(200, 43),
        gwb::emulator::EmulatorConfig::default(),
    )
    .await;
    let dir = temp_dir("other-tenant");
    let plan = dir.join("plan.json");
    let journal = dir.join("j.jsonl");
    let gwb = |tenant: &str, args: &[&str]| {
        let mut cmd = gwb_command();
        cmd.env("GWB_GRAPH_URL", emu.url())
            .env("GWB_ACCESS_TOKEN", token_for(tenant))
            .env("XDG_STATE_HOME", dir.join("state"))
            .args(args);
        cmd
    };
    let p = plan.to_str().unwrap();
    let out = run(gwb(A, &["disable-existing-m365", "--plan-out", p])).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&plan).unwrap()).unwrap();
    assert_eq!(saved["tenantId"], A);

    // The saved plan's review counted members and owners in batches; the refused run sends none.
    let batches = emu.shared().stat("batch");
    let out = run(gwb(B, &["disable-existing-m365", "--plan", p, "--yes"])).await;
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains(A) && err.contains(B), "{err}");
    assert_eq!(emu.shared().stat("batch"), batches, "nothing written");
    assert_eq!(
        emu.shared().stat("patch_group_attempt"),
        0,
        "nothing written"
    );

    let j = journal.to_str().unwrap();
    let out = run(gwb(
        A,
        &[
            "disable-existing-m365",
            "--plan",
            p,
            "--yes",
            "--journal",
            j,
        ],
    ))
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        gwb::journal::read(&journal).unwrap().tenant_id.as_deref(),
        Some(A)
    );
    let written = emu.shared().stat("patch_group");
    assert!(written > 0);

    let out = run(gwb(B, &["restore", "--journal", j, "--yes"])).await;
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("signed in to tenant"), "{err}");
    assert_eq!(
        emu.shared().stat("patch_group"),
        written,
        "nothing restored"
    );
}
