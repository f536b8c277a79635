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

/// The lines of the README's "A typical session": each `gwb --emulator ...` command and the
/// pieces of output its comment quotes (separated by `...`).
fn typical_session() -> Vec<(Vec<String>, Vec<String>)> {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let section = readme
        .split("\n## A typical session\n")
        .nth(1)
        .expect("the README keeps the heading ## A typical session");
    let block = section
        .split("```sh\n")
        .nth(1)
        .and_then(|b| b.split("\n```").next())
        .expect("a sh block in the section");
    block
        .lines()
        .map(|line| {
            let (command, comment) = line.split_once(" # ").expect("each line quotes its output");
            let words: Vec<String> = command.split_whitespace().map(String::from).collect();
            assert!(
                words.len() > 2 && words[0] == "gwb" && words[1] == "--emulator",
                "a line is one gwb --emulator command: {line}"
            );
            assert!(
                !command.contains(['|', '\\', '$', '<', '>', '&', ';', '"', '\'']),
                "no shell: {line}"
            );
            let quoted = comment
                .split("...")
                .map(str::trim)
                .filter(|q| !q.is_empty())
                .map(String::from)
                .collect();
            (words[1..].to_vec(), quoted)
        })
        .collect()
}

/// The README's typical session works verbatim: run with the binary under test (never one on
/// PATH) from a fresh state and config directory, each line exits 0 (`check` 0 or 3) and prints
/// what its comment quotes, in order. Output is the table a terminal gets (GWB_OUTPUT=table:
/// the test's stdout is a pipe, which would otherwise get JSON).
#[tokio::test(flavor = "multi_thread")]
async fn the_readme_typical_session_works_as_written() {
    let session = typical_session();
    assert!(session.len() >= 5, "{session:?}");
    let home = temp_dir("typical-session");
    for (args, quoted) in session {
        let mut cmd = gwb_command();
        cmd.env("XDG_STATE_HOME", home.join("state"))
            .env("XDG_CONFIG_HOME", home.join("config"))
            .env("GWB_LOCK_DIR", home.join("locks"))
            .env("GWB_OUTPUT", "table")
            .args(&args);
        let out = run(cmd).await;
        let printed = format!("{}{}", String::from_utf8_lossy(&out.stdout), stderr(&out));
        let code = out.status.code();
        let ok = if args.iter().any(|a| a == "check") {
            matches!(code, Some(0 | 3))
        } else {
            code == Some(0)
        };
        assert!(ok, "gwb {}: exit {code:?}\n{printed}", args.join(" "));
        let mut at = 0;
        for q in &quoted {
            let found = printed[at..].find(q.as_str()).unwrap_or_else(|| {
                panic!(
                    "gwb {} does not print {q:?} (in order):\n{printed}",
                    args.join(" ")
                )
            });
            at += found + q.len();
        }
    }
}
