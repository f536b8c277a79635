//! Logs for machines and the everyday conveniences: JSON logs, --quiet, completions, the man
//! page, --version, colour.

use serde_json::Value;

use crate::support::Scenario;
use crate::support::{TOKEN, gwb_command, run, stderr, stdout};

fn cmd(args: &[&str]) -> std::process::Command {
    let mut c = gwb_command();
    c.args(args);
    c
}

#[tokio::test(flavor = "multi_thread")]
async fn an_error_is_a_json_line_too_and_quiet_is_quiet() {
    let out = run(cmd(&["--log-format", "json", "report"])).await;
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    let last = err.lines().last().unwrap_or_default();
    let line: Value = serde_json::from_str(last).unwrap_or_else(|e| panic!("{e}: {err}"));
    assert_eq!(line["level"], "ERROR");
    assert_eq!(line["exit_code"], 2);
    assert!(line["message"].as_str().unwrap().contains("no credentials"));

    // --quiet: a dry run that would print notices and warnings prints nothing on stderr.
    let s = Scenario::generated(300, 3, 0.0).await;
    let _emu = &s.emu;
    let out = s
        .gwb(&["-q", "disable-existing-m365", "--dry-run", "-o", "json"])
        .await;
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(stderr(&out), "");
    assert!(!stdout(&out).is_empty());
}

#[tokio::test]
async fn completions_man_page_and_version() {
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let out = run(cmd(&["completions", shell])).await;
        assert_eq!(out.status.code(), Some(0), "{shell}");
        let s = stdout(&out);
        assert!(
            s.contains("disable-existing-m365") && s.contains("set-default"),
            "{shell}"
        );
    }
    let out = run(cmd(&["completions", "tcsh"])).await;
    assert_eq!(out.status.code(), Some(2));

    let out = run(cmd(&["man"])).await;
    assert_eq!(out.status.code(), Some(0));
    let man = stdout(&out);
    assert!(man.starts_with(".ie") || man.contains(".TH gwb"), "{man}");
    assert!(
        man.contains("check") && man.contains("\\-\\-log\\-format"),
        "{man}"
    );

    let out = run(cmd(&["--version"])).await;
    let v = stdout(&out);
    assert!(
        v.starts_with(&format!("gwb {} (git ", env!("CARGO_PKG_VERSION"))),
        "{v}"
    );
    let rev = v
        .trim()
        .rsplit("(git ")
        .next()
        .unwrap()
        .trim_end_matches(')');
    assert!(
        rev == "unknown"
            || rev
                .trim_end_matches("-modified")
                .chars()
                .all(|c| c.is_ascii_hexdigit()),
        "{v}"
    );
}

#[test]
fn colour_follows_the_flag_and_no_color() {
    use gwb::LogSettings;
    use gwb::cli::{ColorChoice, LogFormat};
    let s = |color, no_color_env| LogSettings {
        verbose: 0,
        quiet: false,
        format: LogFormat::Text,
        color,
        no_color_env,
    };
    assert!(s(ColorChoice::Auto, false).ansi(true));
    assert!(!s(ColorChoice::Auto, true).ansi(true), "NO_COLOR");
    assert!(!s(ColorChoice::Auto, false).ansi(false), "not a terminal");
    assert!(s(ColorChoice::Always, true).ansi(false));
    assert!(!s(ColorChoice::Never, false).ansi(true));
    // JSON logs say what the run did by default; text logs only warn.
    let mut json = s(ColorChoice::Auto, false);
    json.format = LogFormat::Json;
    assert!(json.filter().contains("gwb::graph=debug"));
    assert_eq!(s(ColorChoice::Auto, false).filter(), "warn,gwb=warn");
    json.quiet = true;
    assert_eq!(json.filter(), "warn,gwb=error");
}

/// The slow ones (soak, crash and timeout tests): `cargo test -- --skip slow::` leaves them
/// out of the inner loop; CI runs them all.
mod slow {
    #[allow(unused_imports)]
    use super::*;

    #[tokio::test(flavor = "multi_thread")]
    async fn json_logs_are_one_object_per_line_with_run_id_and_every_request() {
        // Faults, so retries and throttling show up in the log too.
        let s = Scenario::generated(5_000, 4, 0.3).await;
        let _emu = &s.emu;
        let out = s
            .gwb(&["--log-format", "json", "report", "-o", "json"])
            .await;
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let err = stderr(&out);
        let lines: Vec<Value> = err
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
            .collect();
        let run_ids: std::collections::HashSet<&str> = lines
            .iter()
            .filter_map(|l| l["span"]["run_id"].as_str())
            .collect();
        assert_eq!(run_ids.len(), 1, "one run id on every line: {err}");
        assert!(
            lines.iter().all(|l| l["span"]["run_id"].is_string()),
            "{err}"
        );
        let requests: Vec<&Value> = lines
            .iter()
            .filter(|l| l["message"] == "graph request")
            .collect();
        // 5,000 groups: 6 pages at least, plus the settings, each with a request id.
        assert!(requests.len() >= 4, "{err}");
        for r in &requests {
            assert_eq!(r["method"], "GET");
            assert!(r["path"].as_str().unwrap().starts_with("/beta/"), "{r}");
            assert!(r["status"].is_u64() && r["duration_ms"].is_u64(), "{r}");
            assert!(!r["request_id"].as_str().unwrap().is_empty(), "{r}");
        }
        assert!(
            lines.iter().any(
                |l| l["message"].as_str().unwrap_or("").starts_with("retrying")
                    && l["attempt"].is_u64()
            ),
            "retries are logged: {err}"
        );
        assert!(!err.contains(TOKEN), "the token never appears");
        assert!(!stdout(&out).contains(TOKEN));
    }
}
