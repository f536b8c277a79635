//! Config and help (issue 15, item 8): `config init`, the path looked at, examples in every
//! `--help`, a man page per subcommand, `--kind m365`, `completions pwsh`.

use crate::support::{Scenario, gwb_command, run, stderr, stdout, temp_dir};

#[tokio::test(flavor = "multi_thread")]
async fn config_init_writes_a_starting_file_once_and_config_show_reads_it() {
    let dir = temp_dir("config-init");
    let path = dir.join("gwb").join("config.toml");
    let mut cmd = gwb_command();
    cmd.env("XDG_CONFIG_HOME", &dir).args(["config", "init"]);
    let out = run(cmd).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stderr(&out).contains(&path.display().to_string()));
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("# new_m365_default") && text.contains("[policy]"));
    let mut again = gwb_command();
    again.env("XDG_CONFIG_HOME", &dir).args(["config", "init"]);
    let out = run(again).await;
    assert_eq!(out.status.code(), Some(2), "never over an existing file");
    assert!(stderr(&out).contains("--force"), "{}", stderr(&out));
    let mut show = gwb_command();
    show.env("XDG_CONFIG_HOME", &dir)
        .args(["config", "show", "-o", "json"]);
    let out = run(show).await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "the file it wrote is valid: {}",
        stderr(&out)
    );
    assert!(stdout(&out).contains(&path.display().to_string()));
}

#[tokio::test(flavor = "multi_thread")]
async fn without_a_config_file_gwb_names_the_path_it_looked_at() {
    let s = Scenario::groups(5, 2).await;
    let dir = temp_dir("no-config");
    let mut cmd = gwb_command();
    cmd.env("XDG_CONFIG_HOME", &dir)
        .env("GWB_GRAPH_URL", s.emu.url())
        .env("GWB_ACCESS_TOKEN", crate::support::TOKEN)
        .args(["check"]);
    let out = run(cmd).await;
    assert_eq!(out.status.code(), Some(2));
    let want = dir.join("gwb").join("config.toml");
    let err = stderr(&out);
    assert!(
        err.contains(&format!("none at {}", want.display())) && err.contains("gwb config init"),
        "{err}"
    );
    let mut show = gwb_command();
    show.env("XDG_CONFIG_HOME", &dir)
        .args(["config", "show", "-o", "table"]);
    let out = run(show).await;
    assert!(
        stdout(&out).contains(&format!("(none: looked for {})", want.display())),
        "{}",
        stdout(&out)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn every_subcommand_help_has_examples() {
    for sub in [
        "report",
        "disable-existing-m365",
        "set-default",
        "restore",
        "check",
        "config",
        "emulator",
        "completions",
        "man",
    ] {
        let mut cmd = gwb_command();
        cmd.args([sub, "--help"]);
        let out = run(cmd).await;
        let text = stdout(&out);
        let examples = text
            .split("Examples:")
            .nth(1)
            .unwrap_or_else(|| panic!("{sub}: {text}"));
        assert!(examples.contains("gwb "), "{sub}: {examples}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn man_writes_one_page_per_subcommand() {
    let dir = temp_dir("man");
    let mut cmd = gwb_command();
    cmd.args(["man", "--dir", dir.to_str().unwrap()]);
    let out = run(cmd).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    for page in [
        "gwb.1",
        "gwb-report.1",
        "gwb-check.1",
        "gwb-disable-existing-m365.1",
    ] {
        let text =
            std::fs::read_to_string(dir.join(page)).unwrap_or_else(|e| panic!("{page}: {e}"));
        assert!(text.contains(".TH"), "{page} is roff");
    }
    assert!(
        std::fs::read_to_string(dir.join("gwb-report.1"))
            .unwrap()
            .contains("gwb\\-report")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn kind_aliases_and_pwsh_are_accepted() {
    let s = Scenario::groups(30, 2).await;
    let long = s
        .gwb(&["report", "--kind", "microsoft365", "-o", "json"])
        .await;
    let short = s.gwb(&["report", "--kind", "m365", "-o", "json"]).await;
    assert_eq!(short.code(), 0, "{}", short.stderr());
    assert_eq!(long.json()["groups"], short.json()["groups"]);
    let mut cmd = gwb_command();
    cmd.args(["completions", "pwsh"]);
    let out = run(cmd).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).contains("Register-ArgumentCompleter"));
}

/// `-h` shows a command's own options and the five global ones people use; `--help` all.
#[test]
fn short_help_keeps_to_the_command_and_five_global_options() {
    let help = |flag: &str| {
        let out = crate::support::gwb_command()
            .args(["check", flag])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0));
        String::from_utf8(out.stdout).unwrap()
    };
    let short = help("-h");
    for own in [
        "--fix",
        "--max-changes",
        "--config",
        "--tenant",
        "--output",
        "--out",
        "--verbose",
    ] {
        assert!(short.contains(own), "-h lacks {own}:\n{short}");
    }
    for rare in [
        "--read-timeout",
        "--emulator-seed",
        "--csv-bom",
        "--fleet-write-limit",
    ] {
        assert!(!short.contains(rare), "-h shows {rare}:\n{short}");
    }
    let long = help("--help");
    assert!(long.contains("--read-timeout") && long.contains("--emulator-seed"));
    assert!(
        short.lines().count() * 3 < long.lines().count(),
        "-h is a summary"
    );
}
