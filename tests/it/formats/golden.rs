//! Golden files: what people and scripts see, pinned whole (issue 14, step 1: today's behaviour
//! fixed before the code is moved around).
//!
//! Each output is compared with `tests/it/golden/<name>`. What changes from run to run is
//! scrubbed first: ports, run ids, timestamps, request ids, temporary paths. After an intended
//! change, rewrite the files with `GWB_BLESS=1 cargo test golden` and review the diff.

use std::path::PathBuf;

use gwb::emulator::{EmulatorConfig, Tenant};

use crate::support::Scenario;
use crate::support::{emulator_with, gwb_command, run, run_gwb, stderr, stdout, temp_dir};

fn golden_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("it")
        .join("golden")
}

/// Replace what differs between runs with stable placeholders.
pub(crate) fn scrub(text: &str) -> String {
    let rules: [(&str, &str); 8] = [
        (r"(127\.0\.0\.1|localhost):\d+", "127.0.0.1:PORT"),
        (r"\d{8}T\d{6}Z-[0-9a-f]{6}", "RUNID"),
        (
            r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})",
            "TIMESTAMP",
        ),
        (r"[0-9a-f]{8}-0000-4000-8000-[0-9a-f]{12}", "REQUEST-ID"),
        (r"/tmp/gwb-it-[^/\s]+", "TMP"),
        (r"gwb-tests-state-[0-9-]+", "STATE"),
        (r#"/[^\s"]*/gwb-tests-locks-[0-9-]+"#, "LOCKS"),
        (r"pid \d+", "pid PID"),
    ];
    let mut out = text.to_string();
    for (pattern, with) in rules {
        out = regex::Regex::new(pattern)
            .unwrap()
            .replace_all(&out, with)
            .into_owned();
    }
    out
}

/// Compare `actual` (scrubbed) with the golden file `name`, or rewrite it under `GWB_BLESS=1`.
pub(crate) fn assert_golden(name: &str, actual: &str) {
    let actual = scrub(actual);
    let path = golden_dir().join(name);
    if std::env::var_os("GWB_BLESS").is_some() {
        std::fs::create_dir_all(golden_dir()).unwrap();
        std::fs::write(&path, &actual).unwrap();
        return;
    }
    let want = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "golden file {}: {e}; create it with GWB_BLESS=1 cargo test golden",
            path.display()
        )
    });
    if want != actual {
        let first = want
            .lines()
            .zip(actual.lines())
            .position(|(a, b)| a != b)
            .unwrap_or_else(|| want.lines().count().min(actual.lines().count()));
        panic!(
            "{name} differs from its golden file at line {}:\n  golden: {:?}\n  actual: {:?}\n--- whole output ---\n{actual}\n(after an intended change: GWB_BLESS=1 cargo test golden, and review the diff)",
            first + 1,
            want.lines().nth(first).unwrap_or("<end>"),
            actual.lines().nth(first).unwrap_or("<end>"),
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn help_of_every_command() {
    let commands: [&[&str]; 10] = [
        &[],
        &["report"],
        &["disable-existing-m365"],
        &["set-default"],
        &["restore"],
        &["check"],
        &["config"],
        &["config", "show"],
        &["emulator"],
        &["completions"],
    ];
    for sub in commands {
        let mut cmd = gwb_command();
        cmd.args(sub).arg("--help");
        let out = run(cmd).await;
        assert_eq!(out.status.code(), Some(0), "{sub:?}: {}", stderr(&out));
        let name = if sub.is_empty() {
            "help.txt".to_string()
        } else {
            format!("help-{}.txt", sub.join("-"))
        };
        assert_golden(&name, &stdout(&out));
    }
}

/// A small tenant of every kind, the same on every run.
async fn sample() -> gwb::emulator::Emulator {
    emulator_with(Tenant::generate(40, 7), EmulatorConfig::default()).await
}

/// One command against `url`, its stdout pinned; `code` is the exit code it must have.
async fn pin(url: &str, name: &str, args: &[&str], code: i32) {
    let out = run_gwb(url, args).await;
    assert_eq!(out.status.code(), Some(code), "{name}: {}", stderr(&out));
    assert_golden(name, &stdout(&out));
}

#[tokio::test(flavor = "multi_thread")]
async fn report_as_table_and_json() {
    let emu = sample().await;
    pin(
        &emu.url(),
        "report.table.txt",
        &["report", "-o", "table"],
        0,
    )
    .await;
    pin(&emu.url(), "report.json", &["report", "-o", "json"], 0).await;
    pin(&emu.url(), "report.csv", &["report", "-o", "csv"], 0).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn disable_dry_run_apply_and_restore() {
    let emu = sample().await;
    let url = emu.url();
    pin(
        &url,
        "disable-dry-run.table.txt",
        &["disable-existing-m365", "--dry-run", "-o", "table"],
        0,
    )
    .await;
    pin(
        &url,
        "disable-dry-run.json",
        &["disable-existing-m365", "--dry-run", "-o", "json"],
        0,
    )
    .await;
    let dir = temp_dir("golden-apply");
    let j = dir.join("disable.jsonl");
    // One batch at a time: the emulator's (seeded) answer order is then the same every run.
    pin(
        &url,
        "disable-apply.json",
        &[
            "disable-existing-m365",
            "--yes",
            "--concurrency",
            "1",
            "-o",
            "json",
            "--journal",
            j.to_str().unwrap(),
        ],
        0,
    )
    .await;
    pin(
        &url,
        "restore-dry-run.table.txt",
        &[
            "restore",
            "--journal",
            j.to_str().unwrap(),
            "--dry-run",
            "-o",
            "table",
        ],
        0,
    )
    .await;
    let r = dir.join("restore.jsonl");
    pin(
        &url,
        "restore.table.txt",
        &[
            "restore",
            "--journal",
            j.to_str().unwrap(),
            "--yes",
            "--concurrency",
            "1",
            "-o",
            "table",
            "--record",
            r.to_str().unwrap(),
        ],
        0,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn disable_apply_as_a_table() {
    let emu = sample().await;
    let j = temp_dir("golden-apply-table").join("j.jsonl");
    pin(
        &emu.url(),
        "disable-apply.table.txt",
        &[
            "disable-existing-m365",
            "--yes",
            "--concurrency",
            "1",
            "-o",
            "table",
            "--journal",
            j.to_str().unwrap(),
        ],
        0,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn check_as_table_and_json() {
    let emu = sample().await;
    let config = temp_dir("golden-check").join("config.toml");
    std::fs::write(
        &config,
        "[policy]\nnew_m365_default = false\nm365_writeback = \"disabled\"\nsecurity_writeback = \"disabled\"\n",
    )
    .unwrap();
    let c = config.to_str().unwrap();
    pin(
        &emu.url(),
        "check.table.txt",
        &["--config", c, "check", "-o", "table"],
        3,
    )
    .await;
    pin(
        &emu.url(),
        "check.json",
        &["--config", c, "check", "-o", "json"],
        3,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn set_default_as_table_and_json() {
    let emu = sample().await;
    let dir = temp_dir("golden-setdef");
    pin(
        &emu.url(),
        "set-default-dry-run.table.txt",
        &["set-default", "false", "--dry-run", "-o", "table"],
        0,
    )
    .await;
    let j = dir.join("j.jsonl");
    pin(
        &emu.url(),
        "set-default.json",
        &[
            "set-default",
            "false",
            "-o",
            "json",
            "--journal",
            j.to_str().unwrap(),
        ],
        0,
    )
    .await;
    pin(
        &emu.url(),
        "set-default-unchanged.table.txt",
        &["set-default", "false", "-o", "table"],
        0,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn config_show_as_table_and_json() {
    let dir = temp_dir("golden-config");
    let config = dir.join("config.toml");
    std::fs::write(
        &config,
        "cloud = \"usgov\"\nauth = \"client-secret\"\ntenant_id = \"contoso.onmicrosoft.com\"\nclient_id = \"00000000-0000-0000-0000-0000000000c1\"\n\n[policy]\nm365_writeback = \"disabled\"\n",
    )
    .unwrap();
    for (format, name) in [
        ("table", "config-show.table.txt"),
        ("json", "config-show.json"),
    ] {
        let mut cmd = gwb_command();
        cmd.env("AZURE_CLIENT_SECRET", "s3cr3t-never-shown")
            .env("XDG_STATE_HOME", dir.join("state"))
            .args([
                "--config",
                config.to_str().unwrap(),
                "config",
                "show",
                "-o",
                format,
            ]);
        let out = run(cmd).await;
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        assert!(!stdout(&out).contains("s3cr3t"));
        assert_golden(name, &stdout(&out).replace(dir.to_str().unwrap(), "DIR"));
    }
}

/// Issue 30, step 0: every output format of every command pinned before the code is moved.

#[tokio::test(flavor = "multi_thread")]
async fn help_of_merge_and_man() {
    for sub in [["merge"], ["man"]] {
        let mut cmd = gwb_command();
        cmd.args(sub).arg("--help");
        let out = run(cmd).await;
        assert_eq!(out.status.code(), Some(0), "{sub:?}: {}", stderr(&out));
        assert_golden(&format!("help-{}.txt", sub[0]), &stdout(&out));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn report_as_ndjson_and_html() {
    let emu = sample().await;
    pin(&emu.url(), "report.ndjson", &["report", "-o", "ndjson"], 0).await;
    pin(&emu.url(), "report.html", &["report", "-o", "html"], 0).await;
}

/// The policy the check goldens use.
fn check_config(name: &str) -> String {
    let config = temp_dir(name).join("config.toml");
    std::fs::write(
        &config,
        "[policy]\nnew_m365_default = false\nm365_writeback = \"disabled\"\nsecurity_writeback = \"disabled\"\n",
    )
    .unwrap();
    config.to_str().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn check_as_junit_ndjson_and_html() {
    let emu = sample().await;
    let c = check_config("golden-check-formats");
    pin(
        &emu.url(),
        "check.junit.xml",
        &["--config", &c, "check", "-o", "junit"],
        3,
    )
    .await;
    pin(
        &emu.url(),
        "check.ndjson",
        &["--config", &c, "check", "-o", "ndjson"],
        3,
    )
    .await;
    pin(
        &emu.url(),
        "check.html",
        &["--config", &c, "check", "-o", "html"],
        3,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn check_fix_as_json() {
    let s = Scenario::with(
        crate::support::plain_tenant(40, 7),
        EmulatorConfig::default(),
    )
    .await;
    let emu = &s.emu;
    let c = check_config("golden-check-fix");
    pin(
        &emu.url(),
        "check-fix.json",
        &[
            "--config",
            &c,
            "check",
            "--fix",
            "--yes",
            "--concurrency",
            "1",
            "-o",
            "json",
        ],
        0,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn restore_list_and_the_set_default_restore() {
    let emu = sample().await;
    let url = emu.url();
    let state = temp_dir("golden-list");
    let gwb = |args: Vec<&str>| {
        let mut cmd = gwb_command();
        cmd.env("GWB_GRAPH_URL", &url)
            .env("GWB_ACCESS_TOKEN", crate::support::TOKEN)
            .env("XDG_STATE_HOME", &state)
            .args(args);
        run(cmd)
    };
    let set = gwb(vec!["set-default", "false", "-o", "json"]).await;
    assert_eq!(set.status.code(), Some(0), "{}", stderr(&set));
    let undo = gwb(vec!["restore", "--last", "--yes", "-o", "json"]).await;
    assert_eq!(undo.status.code(), Some(0), "{}", stderr(&undo));
    let here = state.to_str().unwrap().to_string();
    assert_golden(
        "set-default-restore.json",
        &stdout(&undo).replace(&here, "STATE"),
    );
    // The table shows the start to the second, without a zone.
    let started = regex::Regex::new(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}  ").unwrap();
    for (format, name) in [
        ("json", "restore-list.json"),
        ("table", "restore-list.table.txt"),
    ] {
        let list = gwb(vec!["restore", "--list", "-o", format]).await;
        assert_eq!(list.status.code(), Some(0), "{}", stderr(&list));
        let text = stdout(&list).replace(&here, "STATE");
        let text = started.replace_all(&text, "STARTED-AT           ");
        assert_golden(name, &text);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_review_csv() {
    let s = Scenario::with(
        crate::support::plain_tenant(40, 7),
        EmulatorConfig::default(),
    )
    .await;
    let _emu = &s.emu;
    let review = temp_dir("golden-review").join("review.csv");
    let out = s
        .gwb(&[
            "disable-existing-m365",
            "--plan-out",
            review.to_str().unwrap(),
        ])
        .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    // The plan id is random, and each row's planRef is made from it.
    let text = std::fs::read_to_string(&review).unwrap();
    let text = regex::Regex::new(r"planId=[0-9a-f]{16}")
        .unwrap()
        .replace_all(&text, "planId=PLANID");
    let text = regex::Regex::new(r",r[0-9a-f]{12},")
        .unwrap()
        .replace_all(&text, ",PLANREF,");
    assert_golden("review.csv", &text);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_fleet_in_every_format_and_merged() {
    let dir = temp_dir("golden-fleet");
    let token = dir.join("token");
    std::fs::write(&token, crate::support::TOKEN).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&token, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let mut emus = Vec::new();
    let mut toml = format!(
        "auth = \"access-token\"\naccess_token_file = \"{}\"\n[policy]\nm365_writeback = \"disabled\"\n",
        token.display()
    );
    for i in 0..3 {
        let emu = emulator_with(Tenant::generate(12, 20 + i), EmulatorConfig::default()).await;
        toml.push_str(&format!(
            "\n[[tenants]]\nname = \"t{i}\"\ngraph_url = \"{}\"\n",
            emu.url()
        ));
        emus.push(emu);
    }
    let config = dir.join("gwb.toml");
    std::fs::write(&config, toml).unwrap();
    let c = config.to_str().unwrap().to_string();
    let d = dir.to_str().unwrap().to_string();
    let gwb = |args: Vec<String>| {
        let mut cmd = gwb_command();
        cmd.env("XDG_STATE_HOME", dir.join("state")).args(args);
        run(cmd)
    };
    let args = |rest: &[&str]| -> Vec<String> {
        ["--config", &c, "--parallel", "1"]
            .iter()
            .chain(rest)
            .map(|s| s.to_string())
            .collect()
    };
    for (rest, name, code) in [
        (
            vec!["--all-tenants", "check", "-o", "json"],
            "fleet-check.json",
            3,
        ),
        (
            vec!["--all-tenants", "report", "-o", "table"],
            "fleet-report.table.txt",
            0,
        ),
        (
            vec!["--all-tenants", "check", "-o", "junit"],
            "fleet-check.junit.xml",
            3,
        ),
        (
            vec!["--all-tenants", "check", "-o", "ndjson"],
            "fleet-check.ndjson",
            3,
        ),
        (
            vec!["--all-tenants", "report", "-o", "csv"],
            "fleet-report.csv",
            0,
        ),
        (
            vec!["--all-tenants", "check", "-o", "html"],
            "fleet-check.html",
            3,
        ),
    ] {
        let out = gwb(args(&rest)).await;
        assert_eq!(out.status.code(), Some(code), "{name}: {}", stderr(&out));
        assert_golden(name, &stdout(&out).replace(&d, "DIR"));
    }
    let mut files = Vec::new();
    for k in 1..=2 {
        let path = dir.join(format!("shard-{k}.json"));
        let shard = format!("{k}/2");
        let out = gwb(args(&[
            "--shard",
            &shard,
            "report",
            "--out",
            path.to_str().unwrap(),
        ]))
        .await;
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        files.push(path.to_str().unwrap().to_string());
    }
    let mut merge = vec!["merge".to_string()];
    merge.extend(files);
    let out = gwb(merge).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_golden("fleet-merge.json", &stdout(&out).replace(&d, "DIR"));

    // A sharded check, merged into every format from its documents.
    let mut merge = vec!["merge".to_string()];
    for k in 1..=2 {
        let path = dir.join(format!("check-shard-{k}.json"));
        let shard = format!("{k}/2");
        let out = gwb(args(&[
            "--shard",
            &shard,
            "check",
            "--out",
            path.to_str().unwrap(),
        ]))
        .await;
        assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
        merge.push(path.to_str().unwrap().to_string());
    }
    for (format, name) in [
        ("table", "fleet-merge-check.table.txt"),
        ("csv", "fleet-merge-check.csv"),
        ("junit", "fleet-merge-check.junit.xml"),
        ("html", "fleet-merge-check.html"),
    ] {
        let mut a = vec!["-o".to_string(), format.to_string()];
        a.extend(merge.iter().cloned());
        let out = gwb(a).await;
        assert_eq!(out.status.code(), Some(3), "{format}: {}", stderr(&out));
        let text = stdout(&out);
        if format == "junit" {
            let doc = roxmltree::Document::parse(&text).expect("well-formed XML");
            let suites: Vec<&str> = doc
                .root_element()
                .children()
                .filter(|n| n.has_tag_name("testsuite"))
                .filter_map(|n| n.attribute("name"))
                .collect();
            assert_eq!(suites.len(), 3, "a suite per tenant: {suites:?}");
            assert!(suites[0].starts_with("t0: ") && suites[2].starts_with("t2: "));
            assert!(doc.root_element().attribute("failures").unwrap() != "0");
        }
        assert_golden(name, &text.replace(&d, "DIR"));
    }
    // A shard missing from the merge fails it in every format, drift or not.
    let out = gwb(vec![
        "-o".into(),
        "table".into(),
        "merge".into(),
        merge[1].clone(),
    ])
    .await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("2/2"), "{}", stderr(&out));
    // Report documents merge to JSON only: said, not guessed.
    let mut a = vec!["-o".to_string(), "html".to_string(), "merge".to_string()];
    a.extend(files_again(&dir));
    let out = gwb(a).await;
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("merges to -o json only"),
        "{}",
        stderr(&out)
    );
}

/// The report shards' files of [`a_fleet_in_every_format_and_merged`].
fn files_again(dir: &std::path::Path) -> Vec<String> {
    (1..=2)
        .map(|k| {
            dir.join(format!("shard-{k}.json"))
                .to_str()
                .unwrap()
                .to_string()
        })
        .collect()
}

/// What people approve fits an 80-column terminal (COLUMNS=80 stands in for one): the plan
/// table with its names cut in the middle, the report table, and check's drift lines wrapped.
#[tokio::test(flavor = "multi_thread")]
async fn tables_at_80_columns() {
    // restore --list's STARTED column is a time without a zone.
    let started = regex::Regex::new(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}  ").unwrap();
    let emu = sample().await;
    let dir = temp_dir("golden-80");
    let config = dir.join("gwb.toml");
    std::fs::write(
        &config,
        "[policy]\nm365_writeback = \"disabled\"\nsecurity_writeback = \"disabled\"\n",
    )
    .unwrap();
    let c = config.to_str().unwrap();
    for (name, args, code) in [
        (
            "disable-dry-run.80.txt",
            vec!["disable-existing-m365", "--dry-run", "-o", "table"],
            0,
        ),
        ("report.80.txt", vec!["report", "-o", "table"], 0),
        (
            "check.80.txt",
            vec!["--config", c, "check", "-o", "table"],
            3,
        ),
        (
            "disable-apply.80.txt",
            vec!["disable-existing-m365", "--yes", "-o", "table"],
            0,
        ),
        (
            "restore-list.80.txt",
            vec!["restore", "--list", "-o", "table"],
            0,
        ),
    ] {
        let mut cmd = gwb_command();
        cmd.env("GWB_GRAPH_URL", emu.url())
            .env("GWB_ACCESS_TOKEN", crate::support::TOKEN)
            .env("COLUMNS", "80")
            .env("XDG_STATE_HOME", dir.join("state"))
            .args(&args);
        let out = run(cmd).await;
        assert_eq!(out.status.code(), Some(code), "{name}: {}", stderr(&out));
        let text = stdout(&out);
        // A line wider than 80 ends in a word nothing can break (a URL, a journal's path,
        // kept on the line of the command it belongs to so that it can be pasted).
        let over: Vec<&str> = text
            .lines()
            .filter(|l| console::measure_text_width(l) > 80)
            .filter(|l| l.split_whitespace().last().is_none_or(|w| w.len() < 40))
            .collect();
        assert!(
            over.is_empty(),
            "{name}: lines over 80 columns: {over:#?}\n{text}"
        );
        assert_golden(name, &started.replace_all(&text, "STARTED-AT           "));
    }
}
