//! `disable-existing-m365` and `restore` against the emulator: the plan, the apply path, the
//! journal, crash recovery and restore.

mod compare_and_set;
mod files_written;
mod pipeline;
mod plans;
mod read_back;
mod role_assignable;
mod signals;

use std::time::Duration;

use gwb::emulator::{EmuGroup, EmulatorConfig, Tenant};
use serde_json::Value;

use crate::support::Scenario;
use crate::support::{
    gwb_command, plain_tenant, run, should_change, snapshot, stderr, stdout, temp_dir,
};

#[tokio::test(flavor = "multi_thread")]
async fn dry_run_lists_exactly_the_right_groups_and_writes_nothing() {
    let s = Scenario::with(Tenant::generate(700, 21), EmulatorConfig::default()).await;
    let emu = &s.emu;
    let out = s
        .gwb(&["disable-existing-m365", "--dry-run", "-o", "json"])
        .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v: Value = serde_json::from_str(&stdout(&out)).unwrap();
    let mut got: Vec<String> = v["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_string())
        .collect();
    let truth = emu.shared().tenant().groups.clone();
    let mut want: Vec<String> = truth
        .iter()
        .filter(|g| should_change(g))
        .map(|g| g.id.clone())
        .collect();
    got.sort();
    want.sort();
    assert!(!want.is_empty());
    assert_eq!(got, want);
    // before is the raw state, after only flips isEnabled and keeps the type.
    for c in v["changes"].as_array().unwrap() {
        let g = truth.iter().find(|g| g.id == c["id"]).unwrap();
        assert_eq!(c["before"]["isEnabled"].as_bool(), g.writeback.is_enabled);
        assert_eq!(c["after"]["isEnabled"], false);
        assert_eq!(
            c["after"]["onPremisesGroupType"].as_str(),
            g.writeback.on_premises_group_type.as_deref()
        );
    }
    assert!(
        v["skipped"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["reason"] == "alreadyDisabled")
    );
    assert_eq!(emu.shared().stat("patch_group_attempt"), 0);
    assert_eq!(emu.shared().stat("batch"), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn apply_changes_exactly_the_plan_and_a_second_run_writes_nothing() {
    let s = Scenario::with(plain_tenant(800, 22), EmulatorConfig::default()).await;
    let emu = &s.emu;
    let before = snapshot(&emu.shared().tenant());
    let truth = emu.shared().tenant().groups.clone();
    let dir = temp_dir("apply");
    let journal = dir.join("j.jsonl");
    let out = s
        .gwb(&[
            "disable-existing-m365",
            "--yes",
            "-o",
            "json",
            "--journal",
            journal.to_str().unwrap(),
        ])
        .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v: Value = serde_json::from_str(&stdout(&out)).unwrap();
    let planned = truth.iter().filter(|g| should_change(g)).count();
    assert_eq!(v["summary"]["changed"].as_u64().unwrap() as usize, planned);
    assert_eq!(v["summary"]["failed"], 0);
    let after = emu.shared().tenant().groups.clone();
    for g in &after {
        let was = &before[&g.id];
        if should_change(truth.iter().find(|t| t.id == g.id).unwrap()) {
            assert_eq!(g.writeback.is_enabled, Some(false), "{}", g.id);
            assert_eq!(
                g.writeback.on_premises_group_type, was.on_premises_group_type,
                "type kept for {}",
                g.id
            );
        } else {
            assert_eq!(&g.writeback, was, "untouched: {}", g.id);
        }
    }
    assert_eq!(
        emu.shared().stat("patch_group") as usize,
        planned,
        "one write per planned group"
    );
    assert!(emu.shared().stat("batch") as usize >= planned.div_ceil(20));
    // The journal names every change with its before-state.
    let j = gwb::journal::read(&journal).unwrap();
    assert_eq!(j.befores.len(), planned);
    assert!(j.finished);
    assert!(j.befores.iter().all(|c| c.before == before[c.id.as_str()]));
    assert!(
        !std::fs::read_to_string(&journal)
            .unwrap()
            .contains(crate::support::TOKEN)
    );

    let writes = emu.shared().stat("patch_group_attempt");
    let out = s
        .gwb(&["disable-existing-m365", "--yes", "-o", "json"])
        .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(v["summary"]["planned"], 0);
    assert_eq!(
        emu.shared().stat("patch_group_attempt"),
        writes,
        "the second run writes nothing"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn refused_and_deleted_groups_are_named_and_the_rest_is_done() {
    let s = Scenario::with(Tenant::generate(800, 24), EmulatorConfig::default()).await;
    let emu = &s.emu;
    let truth = emu.shared().tenant().groups.clone();
    let role: Vec<String> = truth
        .iter()
        .filter(|g| should_change(g) && g.is_assignable_to_role == Some(true))
        .map(|g| g.id.clone())
        .collect();
    assert!(!role.is_empty());
    // Plan first, then delete a planned group behind gwb's back: --plan re-reads and reports it.
    let dir = temp_dir("refused");
    let plan = dir.join("plan.json");
    let out = s
        .gwb(&[
            "disable-existing-m365",
            "--plan-out",
            plan.to_str().unwrap(),
        ])
        .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        emu.shared().stat("patch_group_attempt"),
        0,
        "--plan-out writes nothing"
    );
    let gone = truth
        .iter()
        .find(|g| should_change(g) && g.is_assignable_to_role.is_none())
        .unwrap()
        .id
        .clone();
    emu.shared().tenant().remove_group(&gone).unwrap();
    let out = s
        .gwb(&[
            "disable-existing-m365",
            "--plan",
            plan.to_str().unwrap(),
            "--yes",
            "-o",
            "json",
        ])
        .await;
    assert_eq!(
        out.status.code(),
        Some(1),
        "a refused group fails the run: {}",
        stderr(&out)
    );
    let v: Value = serde_json::from_str(&stdout(&out)).unwrap();
    let failed = crate::support::sorted_ids(&v["failed"]);
    let mut want = role.clone();
    want.sort();
    assert_eq!(failed, want);
    assert!(v["failed"][0]["requestId"].as_str().is_some());
    assert_eq!(v["failed"][0]["code"], "Authorization_RequestDenied");
    assert!(
        v["skipped"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["id"] == gone.as_str() && s["reason"] == "deletedMeanwhile")
    );
    let t = emu.shared().tenant();
    for g in truth
        .iter()
        .filter(|g| should_change(g) && g.is_assignable_to_role.is_none() && g.id != gone)
    {
        assert_eq!(
            t.group(&g.id).unwrap().writeback.is_enabled,
            Some(false),
            "the rest is done"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_group_deleted_between_plan_and_write_is_reported_not_failed() {
    let s = Scenario::with(plain_tenant(100, 25), EmulatorConfig::default()).await;
    let emu = &s.emu;
    let truth = emu.shared().tenant().groups.clone();
    let mut planner = gwb::writeback::plan::DisablePlanner::new(Default::default());
    for g in &truth {
        let json = g.to_json(&[
            "id",
            "displayName",
            "groupTypes",
            "securityEnabled",
            "mailEnabled",
            "onPremisesSyncEnabled",
            "isAssignableToRole",
            "proxyAddresses",
            "createdDateTime",
            "writebackConfiguration",
        ]);
        planner
            .consider(&serde_json::from_value(json).unwrap())
            .unwrap();
    }
    let gone = planner.changes[3].id.to_string();
    emu.shared().tenant().remove_group(&gone);
    let (client, _) = crate::support::client(&emu.url());
    let dir = temp_dir("deleted");
    let journal = gwb::journal::Journal::create(
        &dir.join("j.jsonl"),
        "r",
        "disable-existing-m365",
        "emulator",
        None,
    )
    .unwrap();
    let applied = crate::support::apply_as_disable(&client, &planner.changes, &journal).await;
    assert_eq!(applied.deleted.len(), 1);
    assert_eq!(applied.deleted[0].id, gone);
    assert!(applied.failed.is_empty());
    assert_eq!(applied.changed.len(), planner.changes.len() - 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn without_a_terminal_or_over_the_guard_nothing_is_written() {
    let s = Scenario::with(plain_tenant(300, 26), EmulatorConfig::default()).await;
    let emu = &s.emu;
    let out = s.gwb(&["disable-existing-m365"]).await;
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("--yes"), "{}", stderr(&out));
    let out = s
        .gwb(&["disable-existing-m365", "--yes", "--max-changes", "3"])
        .await;
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("--max-changes 3"), "{}", stderr(&out));
    for bad in [
        vec![
            "disable-existing-m365",
            "--yes",
            "--created-before",
            "2023-02-29",
        ],
        vec!["disable-existing-m365", "--yes", "--exclude", "not-a-guid"],
        vec![
            "disable-existing-m365",
            "--yes",
            "--exclude-file",
            "/nonexistent/ids.txt",
        ],
        vec![
            "disable-existing-m365",
            "--yes",
            "--plan",
            "/nonexistent/plan.json",
        ],
        vec![
            "disable-existing-m365",
            "--plan",
            "x.json",
            "--exclude",
            "0b1f5a6e-1111-4c1e-9e4f-000000000001",
        ],
    ] {
        let out = s.gwb(&bad).await;
        assert_eq!(out.status.code(), Some(2), "{bad:?}: {}", stderr(&out));
    }
    assert_eq!(emu.shared().stat("patch_group_attempt"), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn exclusions_and_the_creation_cutoff_are_honoured() {
    let s = Scenario::with(plain_tenant(400, 27), EmulatorConfig::default()).await;
    let emu = &s.emu;
    let truth = emu.shared().tenant().groups.clone();
    let candidates: Vec<&EmuGroup> = truth.iter().filter(|g| should_change(g)).collect();
    let dir = temp_dir("exclude");
    let file = dir.join("keep.txt");
    std::fs::write(
        &file,
        format!("# keep\n{}  # finance\n", candidates[1].id.to_uppercase()),
    )
    .unwrap();
    let out = s
        .gwb(&[
            "disable-existing-m365",
            "--dry-run",
            "-o",
            "json",
            "--exclude",
            &candidates[0].id,
            "--exclude-file",
            file.to_str().unwrap(),
            "--created-before",
            "2020-01-01",
        ])
        .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v: Value = serde_json::from_str(&stdout(&out)).unwrap();
    let got: Vec<&str> = v["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    let want: Vec<&str> = candidates[2..]
        .iter()
        .filter(|g| g.created_date_time.as_str() < "2020-01-01T00:00:00Z")
        .map(|g| g.id.as_str())
        .collect();
    assert_eq!(got, want);
    assert_eq!(v["summary"]["excluded"], 2);
    assert!(v["summary"]["createdOnOrAfterCutoff"].as_u64().unwrap() > 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stale_or_foreign_plan_is_caught() {
    let s = Scenario::with(plain_tenant(300, 28), EmulatorConfig::default()).await;
    let emu = &s.emu;
    let dir = temp_dir("stale");
    let plan = dir.join("plan.json");
    let out = s
        .gwb(&[
            "disable-existing-m365",
            "--plan-out",
            plan.to_str().unwrap(),
        ])
        .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(&plan).unwrap()).unwrap();
    let changed_id = doc["changes"][0]["id"].as_str().unwrap().to_string();
    // Someone changes a planned group by hand in the meantime.
    emu.shared()
        .tenant()
        .group_mut(&changed_id)
        .unwrap()
        .writeback
        .on_premises_group_type = Some("universalSecurityGroup".into());
    let writes_before = emu.shared().stat("patch_group_attempt");
    let out = s
        .gwb(&[
            "disable-existing-m365",
            "--plan",
            plan.to_str().unwrap(),
            "--yes",
            "-o",
            "json",
        ])
        .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(v["summary"]["changedSincePlan"], 1);
    assert!(
        v["skipped"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["id"] == changed_id.as_str() && s["reason"] == "changedSincePlan")
    );
    assert_eq!(
        emu.shared()
            .tenant()
            .group(&changed_id)
            .unwrap()
            .writeback
            .is_enabled,
        doc["changes"][0]["before"]["isEnabled"].as_bool()
    );
    assert_eq!(
        emu.shared().stat("patch_group_attempt") - writes_before,
        doc["changes"].as_array().unwrap().len() as u64 - 1
    );

    // A plan made against another Graph, or edited to do something else, is refused.
    let mut foreign = doc.clone();
    foreign["graphRoot"] = "https://graph.microsoft.us".into();
    std::fs::write(&plan, foreign.to_string()).unwrap();
    let out = s
        .gwb(&[
            "disable-existing-m365",
            "--plan",
            plan.to_str().unwrap(),
            "--yes",
        ])
        .await;
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let mut edited = doc.clone();
    edited["changes"][0]["after"]["isEnabled"] = true.into();
    std::fs::write(&plan, edited.to_string()).unwrap();
    let out = s
        .gwb(&[
            "disable-existing-m365",
            "--plan",
            plan.to_str().unwrap(),
            "--yes",
        ])
        .await;
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    std::fs::write(&plan, "{\"truncated\": ").unwrap();
    let out = s
        .gwb(&[
            "disable-existing-m365",
            "--plan",
            plan.to_str().unwrap(),
            "--yes",
        ])
        .await;
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
}

#[tokio::test(flavor = "multi_thread")]
async fn pacing_keeps_a_run_under_the_write_limit_without_being_slower_than_it() {
    // 60 writes per 0.4 s enforced by the emulator; gwb told the same limit.
    let cfg = EmulatorConfig {
        write_limit: Some((60, Duration::from_millis(400))),
        seed: 31,
        ..Default::default()
    };
    let s = Scenario::with(plain_tenant(1_000, 31), cfg).await;
    let emu = &s.emu;
    let planned = emu
        .shared()
        .tenant()
        .groups
        .iter()
        .filter(|g| should_change(g))
        .count() as f64;
    let started = std::time::Instant::now();
    let out = s
        .gwb(&[
            "disable-existing-m365",
            "--yes",
            "--write-limit",
            "60",
            "--write-window",
            "0.4",
        ])
        .await;
    let elapsed = started.elapsed().as_secs_f64();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    // That the pacer never admits more than the limit in any window is pinned exactly, on a
    // paused clock, by graph::pace's own test. Here, over a real network stack, a write's
    // arrival can lag its admission by more than the pacer's 2% margin on a loaded machine, so
    // the emulator may see a few 429s: they are retried and the run converges. Asserting zero
    // would make the outcome depend on the machine's load (issue 13, item 8).
    let throttled = emu.shared().stat("throttled_writes");
    eprintln!("writes throttled by the emulator: {throttled}");
    assert!(
        emu.shared()
            .tenant()
            .groups
            .iter()
            .all(|g| !should_change(g)),
        "every planned group was changed"
    );
    // The floor: the first 60 at once, then 60 per window.
    let floor = ((planned - 60.0) / 60.0).ceil() * 0.4;
    assert!(
        elapsed >= floor,
        "{elapsed} s is under the floor {floor} s: the limit was not respected"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn restore_refuses_corrupt_or_foreign_journals() {
    let s = Scenario::with(plain_tenant(50, 30), EmulatorConfig::default()).await;
    let emu = &s.emu;
    let dir = temp_dir("badjournal");
    let bad = dir.join("bad.jsonl");
    std::fs::write(&bad, "{\"type\":\"before\"}\n").unwrap();
    let out = s
        .gwb(&["restore", "--journal", bad.to_str().unwrap(), "--yes"])
        .await;
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let foreign = dir.join("foreign.jsonl");
    gwb::journal::Journal::create(
        &foreign,
        "r",
        "disable-existing-m365",
        "https://graph.microsoft.us",
        None,
    )
    .unwrap();
    let out = s
        .gwb(&["restore", "--journal", foreign.to_str().unwrap(), "--yes"])
        .await;
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("graph.microsoft.us"),
        "{}",
        stderr(&out)
    );
    let mut cmd = gwb_command();
    cmd.args(["restore"]);
    assert_eq!(
        run(cmd).await.status.code(),
        Some(2),
        "--journal is required"
    );
    assert_eq!(emu.shared().stat("requests"), 0);
}

/// On a terminal gwb asks; `script` gives it a real pseudo-terminal and types the answer.
async fn answer_on_a_terminal(url: &str, answer: &str) -> std::process::Output {
    answer_on_a_terminal_as(url, answer, "json").await
}

async fn answer_on_a_terminal_as(url: &str, answer: &str, format: &str) -> std::process::Output {
    let mut cmd = gwb_command();
    let line = format!(
        "{} disable-existing-m365 -o {format}",
        env!("CARGO_BIN_EXE_gwb")
    );
    cmd.env("GWB_GRAPH_URL", url)
        .env("GWB_ACCESS_TOKEN", "t")
        .args(["-qec", &line, "/dev/null"])
        .stdin(std::process::Stdio::piped());
    let mut script = std::process::Command::new("script");
    for (k, v) in cmd.get_envs() {
        match v {
            Some(v) => script.env(k, v),
            None => script.env_remove(k),
        };
    }
    script
        .args(cmd.get_args())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped());
    let answer = answer.to_string();
    tokio::task::spawn_blocking(move || {
        use std::io::Write;
        let mut child = script.spawn().expect("script(1) from util-linux runs");
        child
            .stdin
            .take()
            .unwrap()
            .write_all(answer.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn on_a_terminal_it_asks_and_no_means_nothing_changes() {
    let s = Scenario::with(plain_tenant(200, 32), EmulatorConfig::default()).await;
    let emu = &s.emu;
    let out = answer_on_a_terminal(&emu.url(), "n\n").await;
    let screen = String::from_utf8_lossy(&out.stdout).into_owned();
    // The prompt names the tenant (id and default domain from GET /organization) and the
    // Graph root, as `az` names the subscription.
    assert!(
        screen.contains(&format!(
            "Microsoft 365 groups in tenant c0a7e5f0-1d2b-4c3d-9e4f-00000000c0de (contoso.example) at {}? [y/N]",
            emu.url()
        )),
        "{screen}"
    );
    // What disabling does in AD is said once, before the question (issue 20).
    let note = screen.find("On premises: if Entra Connect has the documented delete rule");
    assert!(
        note.is_some_and(|n| n < screen.find("[y/N]").unwrap()),
        "{screen}"
    );
    assert_eq!(screen.matches("On premises:").count(), 1, "{screen}");
    assert_eq!(emu.shared().stat("organization"), 1);
    assert_eq!(out.status.code(), Some(2), "{screen}");
    assert_eq!(emu.shared().stat("patch_group_attempt"), 0);
    let out = answer_on_a_terminal(&emu.url(), "y\n").await;
    let screen = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(out.status.code(), Some(0), "{screen}");
    assert!(emu.shared().stat("patch_group") > 0);
}

/// What a terminal shows once the progress bars are gone: each line as it was last drawn
/// (the text after its last clear-line), without carriage returns.
fn settled_screen(raw: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(raw)
        .split('\n')
        .map(|l| {
            let l = l.trim_end_matches('\r');
            let l = l.rsplit("\x1b[2K").next().unwrap_or(l);
            l.rsplit('\r').next().unwrap_or(l).to_string()
        })
        .collect()
}

/// The on-premises note where an admin decides on a terminal, pinned whole (issue 20): before
/// the question, and under the summary of the run the admin said yes to.
#[tokio::test(flavor = "multi_thread")]
async fn golden_on_premises_notes_in_the_prompt_and_the_summary() {
    let s = Scenario::with(plain_tenant(30, 34), EmulatorConfig::default()).await;
    let emu = &s.emu;
    let out = answer_on_a_terminal_as(&emu.url(), "y\n", "table").await;
    assert_eq!(out.status.code(), Some(0));
    let lines = settled_screen(&out.stdout);
    let from = |prefix: &str| {
        lines
            .iter()
            .position(|l| l.starts_with(prefix))
            .unwrap_or_else(|| panic!("no line starts with {prefix:?}: {lines:#?}"))
    };
    let note = from("gwb: On premises:");
    let question = from("disable writeback on ");
    let mut prompt: Vec<String> = lines[note..=question].to_vec();
    // The answer's echo and the journal notice follow the question on its line.
    let last = prompt.last_mut().unwrap();
    let end = last.find("[y/N]").unwrap() + "[y/N]".len();
    last.truncate(end);
    crate::formats::golden::assert_golden("disable-prompt.txt", &(prompt.join("\n") + "\n"));
    let summary = &lines[from("Changed ")..];
    let summary = summary.join("\n").trim_end().to_string() + "\n";
    crate::formats::golden::assert_golden("disable-interactive-summary.txt", &summary);
}

/// A scheduled run (--yes) logs what disabling does in AD once, at info level, and the
/// summary it prints for people does not repeat it; a dry run's plan says it (issue 20).
#[tokio::test(flavor = "multi_thread")]
async fn the_on_premises_cost_is_said_once_where_the_decision_is_made() {
    let s = crate::support::Scenario::groups(60, 33).await;
    let plan = s
        .gwb(&["disable-existing-m365", "--dry-run", "-o", "table"])
        .await;
    assert_eq!(
        plan.stdout().matches("On premises:").count(),
        1,
        "{}",
        plan.stdout()
    );
    assert!(plan.stdout().contains("AD Recycle Bin"));
    let ran = s
        .gwb(&["-v", "disable-existing-m365", "--yes", "-o", "table"])
        .await;
    assert_eq!(ran.code(), 0, "{}", ran.stderr());
    assert_eq!(
        ran.stderr().matches("On premises:").count(),
        1,
        "{}",
        ran.stderr()
    );
    assert!(!ran.stdout().contains("On premises:"), "{}", ran.stdout());
    // Not a word of it without -v: info is below the default level of a scheduled run's log.
    let quiet = s.gwb(&["restore", "--last", "--yes", "-o", "json"]).await;
    assert_eq!(quiet.code(), 0, "{}", quiet.stderr());
    assert!(
        !quiet.stderr().contains("On premises:"),
        "{}",
        quiet.stderr()
    );
    assert!(!quiet.stdout().contains("On premises:"));
}

/// The slow ones (soak, crash and timeout tests): `cargo test -- --skip slow::` leaves them
/// out of the inner loop; CI runs them all.
mod slow {
    #[allow(unused_imports)]
    use super::*;

    #[tokio::test(flavor = "multi_thread")]
    async fn throttled_items_failed_envelopes_and_shuffled_answers_still_converge() {
        let cfg = EmulatorConfig {
            fault_rate: 0.2,
            seed: 23,
            ..Default::default()
        };
        let s = Scenario::with(plain_tenant(600, 23), cfg).await;
        let emu = &s.emu;
        let truth = emu.shared().tenant().groups.clone();
        let out = s
            .gwb(&["disable-existing-m365", "--yes", "-o", "json"])
            .await;
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let t = emu.shared().tenant();
        for g in truth.iter().filter(|g| should_change(g)) {
            assert_eq!(t.group(&g.id).unwrap().writeback.is_enabled, Some(false));
        }
        drop(t);
        assert!(
            emu.shared().stat("item_faults") > 0,
            "{:?}",
            emu.shared().stats()
        );
        assert!(
            emu.shared().stat("faults") > 0,
            "{:?}",
            emu.shared().stats()
        );
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn a_killed_run_then_a_rerun_converges_and_restore_returns_the_exact_prior_state() {
        // Slow enough to be killed mid-apply: 40 writes per 0.5 s, 10 ms per request.
        let cfg = EmulatorConfig {
            latency: Duration::from_millis(10),
            write_limit: Some((40, Duration::from_millis(500))),
            seed: 29,
            ..Default::default()
        };
        let s = Scenario::with(plain_tenant(1_000, 29), cfg).await;
        let emu = &s.emu;
        let original = snapshot(&emu.shared().tenant());
        let truth = emu.shared().tenant().groups.clone();
        let planned = truth.iter().filter(|g| should_change(g)).count();
        assert!(planned > 300);
        let dir = temp_dir("kill");
        let j1 = dir.join("first.jsonl");
        let j2 = dir.join("second.jsonl");
        let url = emu.url();
        let limit = ["--write-limit", "40", "--write-window", "0.5"];

        let mut cmd = gwb_command();
        cmd.env("GWB_GRAPH_URL", &url)
            .env("GWB_ACCESS_TOKEN", "t")
            .args([
                "disable-existing-m365",
                "--yes",
                "--journal",
                j1.to_str().unwrap(),
            ])
            .args(limit);
        cmd.stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        let mut child = cmd.spawn().unwrap();
        // Wait until it has written some groups, then kill it without warning.
        let shared = emu.shared().clone();
        tokio::time::timeout(Duration::from_secs(30), async {
            while shared.stat("patch_group") < 60 {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
        .await
        .expect("the run makes progress");
        child.kill().unwrap();
        child.wait().unwrap();
        let done = emu.shared().stat("patch_group") as usize;
        assert!(done < planned, "killed mid-run: {done} of {planned}");
        let journal = gwb::journal::read(&j1).unwrap();
        assert!(!journal.finished);
        // Every group that was changed is named in the journal with its before-state.
        let named: std::collections::HashSet<&str> =
            journal.befores.iter().map(|c| c.id.as_str()).collect();
        let changed_now: Vec<String> = emu
            .shared()
            .tenant()
            .groups
            .iter()
            .filter(|g| g.writeback != original[&g.id])
            .map(|g| g.id.clone())
            .collect();
        assert!(!changed_now.is_empty());
        for id in &changed_now {
            assert!(
                named.contains(id.as_str()),
                "{id} changed but not journaled"
            );
        }

        let out = s
            .gwb(&[
                "disable-existing-m365",
                "--yes",
                "-o",
                "json",
                "--journal",
                j2.to_str().unwrap(),
                "--write-limit",
                "40",
                "--write-window",
                "0.5",
            ])
            .await;
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let v: Value = serde_json::from_str(&stdout(&out)).unwrap();
        assert_eq!(
            v["summary"]["changed"].as_u64().unwrap() as usize + changed_now.len(),
            planned,
            "the rerun does only what is left"
        );
        for g in truth.iter().filter(|g| should_change(g)) {
            assert_eq!(
                emu.shared()
                    .tenant()
                    .group(&g.id)
                    .unwrap()
                    .writeback
                    .is_enabled,
                Some(false)
            );
        }

        let out = s
            .gwb(&[
                "restore",
                "--journal",
                j1.to_str().unwrap(),
                "--journal",
                j2.to_str().unwrap(),
                "--dry-run",
                "-o",
                "json",
            ])
            .await;
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let v: Value = serde_json::from_str(&stdout(&out)).unwrap();
        assert_eq!(v["changes"].as_array().unwrap().len(), planned);
        let out = s
            .gwb(&[
                "restore",
                "--journal",
                j1.to_str().unwrap(),
                "--journal",
                j2.to_str().unwrap(),
                "--yes",
                "-o",
                "json",
                "--write-limit",
                "40",
                "--write-window",
                "0.5",
            ])
            .await;
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        assert_eq!(
            snapshot(&emu.shared().tenant()),
            original,
            "restore returns every group to its exact prior state"
        );
        // And restoring again changes nothing.
        let writes = emu.shared().stat("patch_group_attempt");
        let out = s
            .gwb(&[
                "restore",
                "--journal",
                j1.to_str().unwrap(),
                "--journal",
                j2.to_str().unwrap(),
                "--yes",
            ])
            .await;
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        assert_eq!(emu.shared().stat("patch_group_attempt"), writes);
    }
}

/// The review workflow (issue 20): `--plan-out review.csv` writes one row per group with what
/// an admin decides by and a decision column; the admin keeps some; `--plan review.csv`
/// disables the rest, leaves the kept ones and those changed since the review alone, and prints
/// the kept ones as exceptions for check. A review for another Graph root is refused.
#[tokio::test(flavor = "multi_thread")]
async fn a_review_file_is_edited_then_applied_with_every_plan_protection() {
    let s = crate::support::Scenario::groups(120, 44).await;
    let dir = temp_dir("review");
    let review = dir.join("review.csv");
    let ran = s
        .gwb(&[
            "disable-existing-m365",
            "--plan-out",
            review.to_str().unwrap(),
        ])
        .await;
    assert_eq!(ran.code(), 0, "{}", ran.stderr());
    assert_eq!(
        s.count("patch_group_attempt"),
        0,
        "a review changes nothing"
    );
    let text = std::fs::read_to_string(&review).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    // The header first (a spreadsheet's filter row), the plan's own record last.
    assert!(lines[0].starts_with("decision,id,displayName,mail,visibility,isTeam,"));
    assert!(lines[0].ends_with(",roleAssignable,planRef,note"));
    let meta = lines.pop().unwrap();
    assert!(
        meta.starts_with("# gwb review plan,schemaVersion=2,graphRoot="),
        "{meta}"
    );
    assert!(meta.contains(",planId="), "{meta}");
    let rows: Vec<&str> = lines[1..].to_vec();
    let planned: Vec<String> = {
        let t = s.emu.shared().tenant();
        t.groups
            .iter()
            .filter(|g| should_change(g))
            .map(|g| g.id.clone())
            .collect()
    };
    assert_eq!(rows.len(), planned.len());
    // Every row carries the signals: the emulator's mail, visibility, Team and counts.
    {
        let t = s.emu.shared().tenant();
        let first_id = rows[0].split(',').nth(1).unwrap();
        let g = t.group(first_id).unwrap();
        let row = rows[0];
        assert!(row.starts_with("disable,"));
        assert!(row.contains(&format!(",{},", g.member_count)), "{row}");
        if let Some(mail) = &g.mail {
            assert!(row.contains(mail.as_str()), "{row}");
        }
        assert!(row.contains(",Private,"), "{row}");
    }
    assert!(s.count("owner_count") > 0 && s.count("member_count") > 0);
    // The admin keeps the first two; someone changes the third by hand meanwhile.
    let id = |i: usize| rows[i].split(',').nth(1).unwrap().to_string();
    let (kept_a, kept_b, changed) = (id(0), id(1), id(2));
    let edited = text
        .replacen(&format!("disable,{kept_a}"), &format!("keep,{kept_a}"), 1)
        .replacen(&format!("disable,{kept_b}"), &format!("KEEP,{kept_b}"), 1);
    std::fs::write(&review, &edited).unwrap();
    s.emu
        .shared()
        .tenant()
        .group_mut(&changed)
        .unwrap()
        .writeback
        .on_premises_group_type = Some("universalSecurityGroup".into());
    let before_kept = {
        let t = s.emu.shared().tenant();
        (
            t.group(&kept_a).unwrap().writeback.clone(),
            t.group(&kept_b).unwrap().writeback.clone(),
        )
    };
    let ran = s
        .gwb(&[
            "disable-existing-m365",
            "--plan",
            review.to_str().unwrap(),
            "--yes",
            "-o",
            "json",
        ])
        .await;
    assert_eq!(ran.code(), 0, "{}", ran.stderr());
    let v = ran.json();
    assert_eq!(v["summary"]["changedSincePlan"], 1);
    assert_eq!(v["changed"].as_array().unwrap().len(), planned.len() - 3);
    {
        let t = s.emu.shared().tenant();
        assert_eq!(t.group(&kept_a).unwrap().writeback, before_kept.0);
        assert_eq!(t.group(&kept_b).unwrap().writeback, before_kept.1);
        for p in &planned[..] {
            if ![&kept_a, &kept_b, &changed].contains(&p) {
                assert_eq!(t.group(p).unwrap().writeback.is_enabled, Some(false), "{p}");
            }
        }
    }
    // The kept groups, as exceptions to paste into [policy].
    ran.assert_stderr_has("[[policy.exception]]");
    ran.assert_stderr_has(&format!("id = \"{kept_a}\""));

    // A review saved long ago is applied only with a warning that says how old it is (each
    // group is still read again: the ones changed since are refused as above).
    let old = {
        let first = edited.lines().last().unwrap();
        let at = first.find("createdAt=").unwrap();
        let stamp_end = first[at..].find(',').map_or(first.len(), |e| at + e);
        edited.replacen(&first[at..stamp_end], "createdAt=2025-01-01T00:00:00Z", 1)
    };
    std::fs::write(&review, &old).unwrap();
    let ran = s
        .gwb(&[
            "disable-existing-m365",
            "--plan",
            review.to_str().unwrap(),
            "--dry-run",
        ])
        .await;
    assert_eq!(ran.code(), 0, "{}", ran.stderr());
    ran.assert_stderr_has("2025-01-01T00:00:00Z");
    ran.assert_stderr_has("days ago");

    // A review made against another Graph root is refused before anything is read.
    let elsewhere = edited.replacen("graphRoot=", "graphRoot=https://graph.microsoft.us#", 1);
    std::fs::write(&review, elsewhere).unwrap();
    let writes = s.count("patch_group_attempt");
    let ran = s
        .gwb(&[
            "disable-existing-m365",
            "--plan",
            review.to_str().unwrap(),
            "--yes",
        ])
        .await;
    assert_eq!(ran.code(), 2, "{}", ran.stderr());
    assert_eq!(s.count("patch_group_attempt"), writes);
    // A decision that is neither disable nor keep names its line.
    std::fs::write(&review, edited.replacen("disable,", "maybe,", 1)).unwrap();
    let ran = s
        .gwb(&[
            "disable-existing-m365",
            "--plan",
            review.to_str().unwrap(),
            "--yes",
        ])
        .await;
    assert_eq!(ran.code(), 2);
    ran.assert_stderr_has("maybe");
}

/// Last activity in a review (issue 20, item 2): from the Microsoft 365 groups activity report
/// (paged, 200 to a page) when the app may read it; with names concealed in the tenant's
/// reports, or without Reports.Read.All, the column stays empty and gwb says why.
#[tokio::test(flavor = "multi_thread")]
async fn a_review_carries_last_activity_or_says_why_it_cannot() {
    use gwb::emulator::{ActivityReport, EmulatorConfig};
    let mut tenant = crate::support::plain_tenant(600, 45);
    for g in tenant
        .groups
        .iter_mut()
        .filter(|g| should_change(g))
        .take(3)
    {
        g.is_assignable_to_role = Some(true);
    }
    // The emulator's report: the i-th Microsoft 365 group had no activity when i % 5 == 0.
    let quiet: std::collections::HashSet<String> = tenant
        .groups
        .iter()
        .filter(|g| g.is_unified())
        .enumerate()
        .filter(|(i, _)| i % 5 == 0)
        .map(|(_, g)| g.id.clone())
        .collect();
    assert!(
        tenant.groups.iter().filter(|g| g.is_unified()).count() > 200,
        "the report runs to a second page"
    );
    // lastActivityDate and roleAssignable, before the planRef and note at the end.
    let last_two = |row: &str| {
        let mut f = row.rsplit(',').skip(2);
        let role = f.next().unwrap().to_string();
        (f.next().unwrap().to_string(), role)
    };
    // GUID-shaped concealed ids (what a concealed id looks like is undocumented): told apart by
    // reportSettings, or without ReportSettings.Read.All by matching no listed group.
    for (mode, settings_forbidden, status) in [
        (ActivityReport::Plain, false, "read"),
        (ActivityReport::Concealed, false, "concealed"),
        (ActivityReport::Forbidden, false, "notPermitted"),
        (ActivityReport::ConcealedGuidLike, false, "concealed"),
        (ActivityReport::ConcealedGuidLike, true, "concealed"),
    ] {
        let s = crate::support::Scenario::with(
            tenant.clone(),
            EmulatorConfig {
                activity_report: mode,
                report_settings_forbidden: settings_forbidden,
                ..Default::default()
            },
        )
        .await;
        let review = temp_dir("activity").join("review.csv");
        let ran = s
            .gwb(&[
                "disable-existing-m365",
                "--plan-out",
                review.to_str().unwrap(),
            ])
            .await;
        assert_eq!(ran.code(), 0, "{mode:?}: {}", ran.stderr());
        let text = std::fs::read_to_string(&review).unwrap();
        let mut lines: Vec<&str> = text.lines().collect();
        let meta = lines.pop().unwrap();
        assert!(
            meta.contains(&format!(",lastActivity={status},")),
            "{mode:?}: {meta}"
        );
        assert!(lines[0].ends_with(",lastActivityDate,roleAssignable,planRef,note"));
        let rows: Vec<&str> = lines[1..].to_vec();
        assert!(!rows.is_empty());
        let dated = rows.iter().filter(|r| !last_two(r).0.is_empty()).count();
        match mode {
            ActivityReport::Plain => {
                assert_eq!(s.count("activity_report"), 2, "two pages");
                for r in &rows {
                    let id = r.split(',').nth(1).unwrap();
                    let (date, _) = last_two(r);
                    assert_eq!(date.is_empty(), quiet.contains(id), "{r}");
                    if !date.is_empty() {
                        assert!(date.starts_with("2026-"), "{r}");
                    }
                }
                assert!(dated > 0 && dated < rows.len());
                ran.assert_stderr_has("activity report over 180 days");
            }
            ActivityReport::Concealed => {
                assert_eq!(dated, 0);
                ran.assert_stderr_has("conceals user, group and site names");
                ran.assert_stderr_has("displayConcealedNames is true");
                assert_eq!(s.count("activity_report"), 0, "decided by reportSettings");
            }
            ActivityReport::ConcealedGuidLike if settings_forbidden => {
                assert_eq!(dated, 0);
                ran.assert_stderr_has("no data, not no activity");
                ran.assert_stderr_has("none of the report's rows names a group gwb listed");
                ran.assert_stderr_has("ReportSettings.Read.All");
            }
            ActivityReport::ConcealedGuidLike => {
                assert_eq!(dated, 0);
                ran.assert_stderr_has("displayConcealedNames is true");
            }
            ActivityReport::Forbidden => {
                assert_eq!(dated, 0);
                ran.assert_stderr_has("needs Reports.Read.All");
            }
        }
        // Role-assignable groups say so, and the flag survives the file.
        let flagged: Vec<&str> = rows
            .iter()
            .filter(|r| last_two(r).1 == "true")
            .copied()
            .collect();
        let role_assignable = {
            let t = s.emu.shared().tenant();
            rows.iter()
                .filter(|r| {
                    let id = r.split(',').nth(1).unwrap();
                    t.group(id).unwrap().is_assignable_to_role == Some(true)
                })
                .count()
        };
        assert_eq!(flagged.len(), role_assignable);
        assert_eq!(flagged.len(), 3);
    }
}

/// A JSON plan carries the same review: signals and a decision per group; `keep` keeps it.
#[tokio::test(flavor = "multi_thread")]
async fn a_json_plan_carries_the_review_and_its_decisions() {
    let s = crate::support::Scenario::groups(80, 45).await;
    let plan = temp_dir("json-review").join("plan.json");
    let p = plan.to_str().unwrap();
    let ran = s.gwb(&["disable-existing-m365", "--plan-out", p]).await;
    assert_eq!(ran.code(), 0, "{}", ran.stderr());
    let mut doc: Value = serde_json::from_str(&std::fs::read_to_string(&plan).unwrap()).unwrap();
    let review = doc["review"].as_array().unwrap().clone();
    assert_eq!(review.len(), doc["changes"].as_array().unwrap().len());
    let first = &review[0];
    assert_eq!(first["decision"], "disable");
    let id = first["id"].as_str().unwrap().to_string();
    let g = s.emu.shared().tenant().group(&id).unwrap().clone();
    assert_eq!(first["memberCount"], g.member_count);
    assert!(first["ownerCount"].as_u64().is_some());
    assert_eq!(first["visibility"], "Private");
    doc["review"][0]["decision"] = "keep".into();
    std::fs::write(&plan, serde_json::to_string_pretty(&doc).unwrap()).unwrap();
    let ran = s
        .gwb(&["disable-existing-m365", "--plan", p, "--yes", "-o", "json"])
        .await;
    assert_eq!(ran.code(), 0, "{}", ran.stderr());
    assert_eq!(
        s.emu.shared().tenant().group(&id).unwrap().writeback,
        g.writeback,
        "the kept group is left as it was"
    );
    assert_eq!(
        ran.json()["changed"].as_array().unwrap().len(),
        review.len() - 1
    );
    ran.assert_stderr_has(&format!("id = \"{id}\""));
}
