//! The emulator: the quick start, the `gwb emulator` subcommand for one tenant and a fleet, and
//! the flags that show each documented case.

use crate::support::{gwb_command, run, run_gwb, stderr, stdout, temp_dir};
use serde_json::Value;

#[tokio::test(flavor = "multi_thread")]
async fn built_in_emulator_quick_start() {
    let mut cmd = gwb_command();
    cmd.args(["--emulator", "report", "-o", "json"]);
    let out = run(cmd).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(v["groups"].as_array().unwrap().len(), 250);
    assert!(stderr(&out).contains("built-in emulator"));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_emulator_subcommand_serves_until_terminated() {
    use std::io::{BufRead, BufReader};
    let mut cmd = gwb_command();
    cmd.args([
        "emulator",
        "--listen",
        "127.0.0.1:0",
        "--groups",
        "1234",
        "--seed",
        "9",
    ])
    .stderr(std::process::Stdio::piped())
    .stdout(std::process::Stdio::null());
    let mut child = cmd.spawn().unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    let url = first
        .strip_prefix("gwb emulator: listening on ")
        .expect(&first)
        .to_string();
    let out = run_gwb(&url, &["report", "-o", "json"]).await;
    let pid = child.id();
    // SIGTERM, as a service manager would send.
    std::process::Command::new("kill")
        .arg(pid.to_string())
        .status()
        .unwrap();
    let status = tokio::task::spawn_blocking(move || child.wait().unwrap())
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(v["groups"].as_array().unwrap().len(), 1234);
    assert!(
        status.success(),
        "the emulator stops cleanly on SIGTERM: {status:?}"
    );
}

/// `gwb emulator --tenants N --fleet-config PATH`: a fleet to try fleet runs on, with the
/// config file that names it.
#[tokio::test(flavor = "multi_thread")]
async fn the_emulator_serves_a_fleet_and_writes_its_config() {
    use std::io::{BufRead, BufReader};
    let dir = temp_dir("emulator-fleet");
    let config = dir.join("fleet.toml");
    let mut cmd = gwb_command();
    cmd.args([
        "emulator",
        "--listen",
        "127.0.0.1:0",
        "--groups",
        "30",
        "--tenants",
        "3",
    ])
    .arg("--fleet-config")
    .arg(&config)
    .stderr(std::process::Stdio::piped())
    .stdout(std::process::Stdio::null());
    let mut child = cmd.spawn().unwrap();
    let _guard = crate::support::HangGuard::new(child.id(), 120);
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    assert!(first.starts_with("gwb emulator: listening on "), "{first}");
    // The config is written before the line that names it.
    let named = lines
        .by_ref()
        .map(|l| l.unwrap())
        .find(|l| l.starts_with("fleet config: "))
        .expect("the config is named");
    assert!(named.contains(config.to_str().unwrap()));
    let mut gwb = gwb_command();
    gwb.env("GWB_CONFIG", &config)
        .args(["--all-tenants", "check", "-o", "json"]);
    let out = run(gwb).await;
    std::process::Command::new("kill")
        .arg(child.id().to_string())
        .status()
        .unwrap();
    let _ = tokio::task::spawn_blocking(move || child.wait()).await;
    assert_eq!(
        out.status.code(),
        Some(3),
        "the sample policy finds drift: {}",
        stderr(&out)
    );
    let v: Value = serde_json::from_str(&stdout(&out)).unwrap();
    let mut names: Vec<&str> = v["tenants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["tenant-01", "tenant-02", "tenant-03"]);
    assert_eq!(v["summary"]["drifted"], 3);
    // Three tenants, three different generated tenants.
    let firsts: std::collections::BTreeSet<String> = v["tenants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["before"]["drift"][0]["id"].to_string())
        .collect();
    assert_eq!(firsts.len(), 3);
}

/// `gwb emulator` flags show each documented case without a tenant: v1 alone (the default with
/// --delegated-admin) or v2 on (--group-writeback-v2), concealed usage reports
/// (--concealed-reports), and the sample's Cloud Sync found as Microsoft's pages show it.
#[tokio::test(flavor = "multi_thread")]
async fn the_emulator_flags_show_each_documented_case() {
    use std::io::{BufRead, BufReader};
    for v2 in [false, true] {
        let mut cmd = gwb_command();
        cmd.args([
            "emulator",
            "--listen",
            "127.0.0.1:0",
            "--groups",
            "60",
            "--delegated-admin",
            "--concealed-reports",
        ]);
        if v2 {
            cmd.arg("--group-writeback-v2");
        }
        cmd.stderr(std::process::Stdio::piped())
            .stdout(std::process::Stdio::null());
        let mut child = cmd.spawn().unwrap();
        let _guard = crate::support::HangGuard::new(child.id(), 120);
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let first = lines.next().unwrap().unwrap();
        let url = first
            .strip_prefix("gwb emulator: listening on ")
            .expect(&first)
            .to_string();
        let report = run_gwb(&url, &["report", "-o", "json"]).await;
        let review = crate::support::temp_dir("emulator-flags").join("r.csv");
        let plan = run_gwb(
            &url,
            &[
                "disable-existing-m365",
                "--plan-out",
                review.to_str().unwrap(),
            ],
        )
        .await;
        std::process::Command::new("kill")
            .arg(child.id().to_string())
            .status()
            .unwrap();
        let _ = tokio::task::spawn_blocking(move || child.wait()).await;
        assert_eq!(report.status.code(), Some(0), "{}", stderr(&report));
        let v: Value = serde_json::from_str(&stdout(&report)).unwrap();
        assert_eq!(v["tenant"]["syncFeatures"]["groupWriteBackEnabled"], v2);
        assert_eq!(v["tenant"]["securityWriteback"]["actedOnBy"], "cloudSync");
        let disabled_m365: Vec<&Value> = v["groups"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|g| {
                g["kind"] == "microsoft365"
                    && g["isEnabled"] == false
                    && g["sourceOfAuthority"] == "cloud"
            })
            .collect();
        assert!(!disabled_m365.is_empty());
        for g in disabled_m365 {
            assert_eq!(g["writtenBack"], !v2, "{g}");
        }
        assert_eq!(plan.status.code(), Some(0), "{}", stderr(&plan));
        let text = std::fs::read_to_string(&review).unwrap();
        assert!(text.contains(",lastActivity=concealed,"), "{text}");
    }
}
