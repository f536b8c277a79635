//! The built gwb binary against the in-process emulator, checked against an independent
//! statement of GRAPH.md's effective-writeback table.

use std::collections::HashMap;

use gwb::emulator::EmuGroup;
use gwb::graph::model::{DirectorySetting, GROUP_UNIFIED_TEMPLATE_ID, SettingValue};
use serde_json::Value;

use crate::support::{emulator, gwb_command, run, run_gwb, stderr, stdout, temp_dir};

/// GRAPH.md's table, written out again on the emulator's raw data.
fn expected(g: &EmuGroup) -> (bool, Option<String>) {
    if g.on_premises_sync_enabled == Some(true) {
        return (false, None);
    }
    let unified = g.group_types.iter().any(|t| t == "Unified");
    let plain_security = g.security_enabled && !g.mail_enabled && g.proxy_addresses.is_empty();
    let wb = &g.writeback;
    if unified {
        if wb.is_enabled == Some(false) {
            (false, None)
        } else {
            let t: String = wb
                .on_premises_group_type
                .as_deref()
                .unwrap_or("universalDistributionGroup")
                .into();
            (true, Some(t))
        }
    } else if plain_security && wb.is_enabled == Some(true) {
        (true, Some("universalSecurityGroup".into()))
    } else {
        (false, None)
    }
}

fn check_against_tenant(report: &Value, truth: &[EmuGroup]) {
    let groups = report["groups"].as_array().expect("groups array");
    assert_eq!(groups.len(), truth.len());
    let by_id: HashMap<&str, &Value> = groups
        .iter()
        .map(|g| (g["id"].as_str().unwrap(), g))
        .collect();
    assert_eq!(by_id.len(), truth.len(), "every group exactly once");
    let mut written = 0;
    for g in truth {
        let row = by_id[g.id.as_str()];
        let (wb, as_) = expected(g);
        assert_eq!(row["writtenBack"].as_bool(), Some(wb), "{}: {row}", g.id);
        assert_eq!(
            row["writtenBackAs"].as_str().map(str::to_string),
            as_,
            "{}: {row}",
            g.id
        );
        // Raw values are passed through untouched; null stays null.
        assert_eq!(
            row["isEnabled"].as_bool(),
            g.writeback.is_enabled,
            "{}",
            g.id
        );
        assert_eq!(
            row["onPremisesGroupType"].as_str(),
            g.writeback.on_premises_group_type.as_deref()
        );
        assert_eq!(row["displayName"].as_str(), Some(g.display_name.as_str()));
        written += usize::from(wb);
    }
    assert_eq!(
        report["summary"]["writtenBack"].as_u64(),
        Some(written as u64)
    );
    assert_eq!(
        report["summary"]["totalGroups"].as_u64(),
        Some(truth.len() as u64)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn report_json_2345_groups_in_three_list_requests() {
    let emu = emulator(2_345, 1, 0.0).await;
    let out = run_gwb(&emu.url(), &["report", "--output", "json"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let report: Value = serde_json::from_str(&stdout(&out)).unwrap();
    let truth = emu.shared().tenant().groups.clone();
    check_against_tenant(&report, &truth);
    assert_eq!(
        emu.shared().stat("list_groups"),
        3,
        "ceil(2345/999) list requests"
    );
    assert_eq!(emu.shared().stat("list_settings"), 1);
    assert_eq!(emu.shared().stat("sync_features"), 1);
    // Cloud Sync's agents: none in this tenant (asked by template, by appId, by
    // servicePrincipalNames and by the third-party template), so no jobs.
    assert_eq!(emu.shared().stat("service_principals"), 4);
    assert_eq!(emu.shared().stat("requests"), 9, "nothing else was asked");
    assert_eq!(emu.shared().stat("unauthorized"), 0);
    assert_eq!(report["tenant"]["newUnifiedGroupWritebackDefault"], true);
    assert_eq!(report["tenant"]["source"], "templateDefaultNoSetting");
    assert_eq!(report["schemaVersion"], 1);
    // Every kind shows up in the summary.
    for k in [
        "microsoft365",
        "security",
        "mailEnabledSecurity",
        "distribution",
    ] {
        assert!(
            report["summary"]["byKind"][k]["total"].as_u64().unwrap() > 0,
            "{k}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn report_under_ten_percent_faults_matches_the_table() {
    // Fault decisions are one deterministic sequence per seed, whatever the request order; with
    // seed 21 two of the first four draws are dropped connections, so this run is never
    // accidentally fault-free.
    let emu = emulator(2_345, 21, 0.10).await;
    let out = run_gwb(&emu.url(), &["report", "--output", "json"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let report: Value = serde_json::from_str(&stdout(&out)).unwrap();
    let truth = emu.shared().tenant().groups.clone();
    check_against_tenant(&report, &truth);
    assert!(
        emu.shared().stat("faults") >= 1,
        "{:?}",
        emu.shared().stats()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn report_is_identical_under_injected_faults() {
    let clean = emulator(2_345, 1, 0.0).await;
    let faulty = emulator(2_345, 1, 0.25).await;
    let a = run_gwb(&clean.url(), &["report", "-o", "json"]).await;
    let b = run_gwb(&faulty.url(), &["report", "-o", "json"]).await;
    assert_eq!(a.status.code(), Some(0), "{}", stderr(&a));
    assert_eq!(b.status.code(), Some(0), "{}", stderr(&b));
    assert_eq!(
        stdout(&a),
        stdout(&b),
        "faults change nothing in the result"
    );
    let faults = faulty.shared().stat("faults");
    assert!(
        faults >= 1,
        "the faulty emulator injected faults: {:?}",
        faulty.shared().stats()
    );
    assert!(faulty.shared().stat("requests") > clean.shared().stat("requests"));
    assert!(
        stderr(&b).contains("retrying"),
        "each retry is logged: {}",
        stderr(&b)
    );
}

/// A minimal RFC 4180 reader for checking gwb's CSV.
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let (mut row, mut field, mut quoted, mut chars) =
        (Vec::new(), String::new(), false, text.chars().peekable());
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') => quoted = true,
            (false, ',') => row.push(std::mem::take(&mut field)),
            (false, '\n') => {
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            (false, c) => field.push(c),
        }
    }
    rows
}

#[tokio::test(flavor = "multi_thread")]
async fn csv_quotes_commas_quotes_and_keeps_non_ascii() {
    let emu = emulator(300, 3, 0.0).await;
    let out = run_gwb(&emu.url(), &["report", "-o", "csv"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let rows = parse_csv(&stdout(&out));
    assert_eq!(rows[0][0..3], ["id", "displayName", "kind"]);
    assert_eq!(rows.len(), 301);
    assert!(
        rows.iter().all(|r| r.len() == rows[0].len()),
        "every row has every column"
    );
    let truth = emu.shared().tenant().groups.clone();
    let names: HashMap<&str, &str> = rows[1..]
        .iter()
        .map(|r| (r[0].as_str(), r[1].as_str()))
        .collect();
    let tricky = truth
        .iter()
        .filter(|g| g.display_name.contains([',', '"']) || !g.display_name.is_ascii())
        .count();
    assert!(tricky > 20, "the tenant has awkward names to test with");
    for g in &truth {
        assert_eq!(names[g.id.as_str()], g.display_name, "name survives CSV");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn ndjson_and_filters() {
    let emu = emulator(500, 4, 0.0).await;
    let out = run_gwb(
        &emu.url(),
        &[
            "report",
            "-o",
            "ndjson",
            "--kind",
            "security",
            "--written-back",
        ],
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let rows: Vec<Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let truth = emu.shared().tenant().groups.clone();
    let want = truth
        .iter()
        .filter(|g| {
            g.security_enabled && !g.mail_enabled && g.group_types.is_empty() && expected(g).0
        })
        .count();
    assert!(want > 0);
    assert_eq!(rows.len(), want);
    assert!(
        rows.iter()
            .all(|r| r["kind"] == "security" && r["writtenBack"] == true)
    );

    // JSON with a filter: the summary still counts the whole tenant.
    let out = run_gwb(
        &emu.url(),
        &["report", "-o", "json", "--kind", "distribution"],
    )
    .await;
    let v: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(v["summary"]["totalGroups"], 500);
    assert_eq!(
        v["summary"]["shownGroups"].as_u64().unwrap() as usize,
        v["groups"].as_array().unwrap().len()
    );
    assert!(
        v["groups"]
            .as_array()
            .unwrap()
            .iter()
            .all(|g| g["kind"] == "distribution")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn tenant_default_comes_from_group_unified_case_insensitively() {
    let emu = emulator(10, 5, 0.0).await;
    emu.shared().tenant().settings.push(DirectorySetting {
        values_unread: false,
        id: "setting-1".into(),
        display_name: None,
        template_id: Some(GROUP_UNIFIED_TEMPLATE_ID.into()),
        values: vec![
            SettingValue {
                name: "EnableGroupCreation".into(),
                value: Some("true".into()),
            },
            SettingValue {
                name: "NewUnifiedGroupWritebackDefault".into(),
                value: Some("FALSE".into()),
            },
        ],
    });
    let out = run_gwb(&emu.url(), &["report", "-o", "json"]).await;
    let v: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(v["tenant"]["newUnifiedGroupWritebackDefault"], false);
    assert_eq!(v["tenant"]["source"], "setting");
    assert_eq!(v["tenant"]["settingId"], "setting-1");
    let table = run_gwb(&emu.url(), &["report", "-o", "table"]).await;
    assert!(
        stdout(&table).contains("NewUnifiedGroupWritebackDefault = false (set in the tenant's Group.Unified directory setting)"),
        "{}",
        stdout(&table)
    );
}

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
async fn usage_and_configuration_errors_exit_2_and_send_nothing() {
    let emu = emulator(10, 6, 0.0).await;
    // No credentials at all.
    let mut cmd = gwb_command();
    cmd.env("GWB_GRAPH_URL", emu.url()).args(["report"]);
    let out = run(cmd).await;
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("no credentials"), "{}", stderr(&out));
    // Plain http to a non-loopback host is refused before anything is sent.
    let out = run_gwb("http://graph.example.com", &["report"]).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("loopback"), "{}", stderr(&out));
    // A bad flag value.
    let out = run_gwb(&emu.url(), &["report", "--kind", "bogus"]).await;
    assert_eq!(out.status.code(), Some(2));
    // --emulator-groups without --emulator.
    let out = run_gwb(&emu.url(), &["report", "--emulator-groups", "5"]).await;
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    // A config file with an unknown key.
    let dir = std::env::temp_dir().join(format!("gwb-e2e-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cfg = dir.join("bad.toml");
    std::fs::write(&cfg, "graph_ulr = \"https://graph.microsoft.com\"\n").unwrap();
    let out = run_gwb(&emu.url(), &["--config", cfg.to_str().unwrap(), "report"]).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("graph_ulr"), "{}", stderr(&out));
    assert_eq!(emu.shared().stat("requests"), 0, "no request was made");
}

#[tokio::test(flavor = "multi_thread")]
async fn authorisation_failures_exit_4_and_never_print_the_token() {
    let server = wiremock::MockServer::start().await;
    wiremock::Mock::given(wiremock::matchers::any())
        .respond_with(crate::support::json_status(
            403,
            crate::support::fixture("error-403-denied.json", &server.uri(), ""),
        ))
        .mount(&server)
        .await;
    let out = run_gwb(&server.uri(), &["-vvv", "report", "-o", "json"]).await;
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("Authorization_RequestDenied")
            && err.contains("5e6f7a8b-9c0d-4e1f-a2b3-c4d5e6f7a8b9"),
        "{err}"
    );
    assert!(
        err.contains("needs Group.Read.All"),
        "the error names the permission: {err}"
    );
    assert!(
        !err.contains(crate::support::TOKEN) && !stdout(&out).contains(crate::support::TOKEN),
        "token leaked at trace level"
    );
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

#[tokio::test]
async fn config_show_names_sources_and_never_prints_a_secret() {
    let mut cmd = gwb_command();
    cmd.env("GWB_CLOUD", "usgov")
        .env("GWB_ACCESS_TOKEN", "tok-should-never-appear-7f3a")
        .env("AZURE_CLIENT_SECRET", "secret-should-never-appear-9b2c")
        .env("AZURE_TENANT_ID", "contoso.onmicrosoft.us")
        .args(["-vvv", "config", "show", "-o", "json"]);
    let out = run(cmd).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let (so, se) = (stdout(&out), stderr(&out));
    for s in ["tok-should-never-appear", "secret-should-never-appear"] {
        assert!(
            !so.contains(s) && !se.contains(s),
            "{s} leaked:\n{so}\n{se}"
        );
    }
    let v: Value = serde_json::from_str(&so).unwrap();
    let get = |k: &str| {
        v["settings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["key"] == k)
            .cloned()
            .unwrap()
    };
    assert_eq!(get("cloud")["source"], "environment GWB_CLOUD");
    assert_eq!(get("graph_url")["value"], "https://graph.microsoft.us");
    assert_eq!(
        get("authority_host")["value"],
        "https://login.microsoftonline.us"
    );
    assert_eq!(
        get("token_scope")["value"],
        "https://graph.microsoft.us/.default"
    );
    assert_eq!(get("client_secret")["value"], "<redacted>");
    assert_eq!(
        get("client_secret")["source"],
        "environment AZURE_CLIENT_SECRET"
    );
    assert_eq!(get("auth")["value"], "access-token");
}

#[tokio::test]
async fn a_config_file_holding_a_secret_that_others_can_read_is_warned_about() {
    use std::os::unix::fs::PermissionsExt;
    let dir = crate::support::temp_dir("shared-secret");
    let cfg = dir.join("config.toml");
    std::fs::write(
        &cfg,
        "tenant_id = \"contoso.onmicrosoft.com\"\nclient_id = \"c1\"\nclient_secret = \"inline-secret-never-printed-3a9b\"\n[policy]\nm365_writeback = \"disabled\"\n",
    )
    .unwrap();
    std::fs::set_permissions(&cfg, std::fs::Permissions::from_mode(0o644)).unwrap();
    let mut cmd = gwb_command();
    cmd.args([
        "--config",
        cfg.to_str().unwrap(),
        "-vvv",
        "config",
        "show",
        "-o",
        "json",
    ]);
    let out = run(cmd).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let (so, se) = (stdout(&out), stderr(&out));
    assert!(!so.contains("inline-secret") && !se.contains("inline-secret"));
    assert!(se.contains("WARN") && se.contains("chmod 600"), "{se}");
    let v: Value = serde_json::from_str(&so).unwrap();
    assert!(
        v["warnings"][0].as_str().unwrap().contains("mode 644"),
        "{v}"
    );
    let secret = v["settings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["key"] == "client_secret")
        .unwrap();
    assert_eq!(secret["value"], "<redacted>");
    assert_eq!(secret["source"], format!("file {}", cfg.display()));
    let auth = v["settings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["key"] == "auth")
        .unwrap();
    assert_eq!(auth["value"], "client-secret");
    let policy = v["settings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["key"] == "policy")
        .unwrap();
    let p: Value = serde_json::from_str(policy["value"].as_str().unwrap()).unwrap();
    assert_eq!(p["m365_writeback"], "disabled");
    assert_eq!(p["security_writeback"], "any");
}

#[tokio::test(flavor = "multi_thread")]
async fn member_counts_flag_groups_the_sync_rule_skips_and_sync_features_say_why_not() {
    let emu = emulator(1_500, 8, 0.0).await;
    let truth = emu.shared().tenant().clone();
    let out = run_gwb(&emu.url(), &["report", "--member-counts", "-o", "json"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v: Value = serde_json::from_str(&stdout(&out)).unwrap();
    let mut over = 0;
    let mut counted = 0;
    for row in v["groups"].as_array().unwrap() {
        let id = row["id"].as_str().unwrap();
        let g = truth.group(id).unwrap();
        if row["writtenBack"] == true {
            counted += 1;
            assert_eq!(row["memberCount"], g.member_count, "{id}");
            let limit = match row["kind"].as_str().unwrap() {
                "microsoft365" => 50_000,
                _ => 250_000,
            };
            let flagged = row["warning"]
                .as_str()
                .is_some_and(|w| w.contains("default sync rule"));
            assert_eq!(flagged, g.member_count > limit, "{id}: {row}");
            over += u64::from(flagged);
        } else {
            assert!(
                row["memberCount"].is_null(),
                "only written-back groups are counted"
            );
        }
    }
    assert!(over > 0, "the sample has oversized written-back groups");
    assert_eq!(v["summary"]["overMemberLimit"], over);
    // 20 counts per $batch.
    assert_eq!(
        emu.shared().stat("batch"),
        (counted as u64).div_ceil(20),
        "{:?}",
        emu.shared().stats()
    );
    // App-only (the emulator's default): the sync features are not readable, and the report
    // says why instead of failing.
    let f = &v["tenant"]["syncFeatures"];
    assert_eq!(f["readable"], false);
    assert!(
        f["error"]
            .as_str()
            .unwrap()
            .contains("Global Administrator"),
        "{f}"
    );

    // Without --member-counts, no count is asked for.
    let before = emu.shared().stat("batch");
    let out = run_gwb(&emu.url(), &["report", "-o", "csv"]).await;
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(emu.shared().stat("batch"), before);
    assert!(
        stdout(&out)
            .lines()
            .next()
            .unwrap()
            .ends_with(",memberCount,sourceOfAuthority,isCloudManaged"),
        "the columns added since are appended, so scripts that read by position keep working"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn sync_features_are_shown_to_a_delegated_global_administrator() {
    let cfg = gwb::emulator::EmulatorConfig {
        sync_features_readable: true,
        ..Default::default()
    };
    let emu = crate::support::emulator_with(gwb::emulator::Tenant::generate(20, 1), cfg).await;
    let out = run_gwb(&emu.url(), &["report", "-o", "json"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v: Value = serde_json::from_str(&stdout(&out)).unwrap();
    let f = &v["tenant"]["syncFeatures"];
    assert_eq!(f["readable"], true);
    assert_eq!(f["unifiedGroupWritebackEnabled"], true);
    assert_eq!(f["groupWriteBackEnabled"], false);
    // v1 alone writes every cloud Microsoft 365 group back, whatever its flag: rows say so
    // (isEnabled stays raw), and none is called not written back.
    let rows = v["groups"].as_array().unwrap();
    let m365: Vec<&Value> = rows
        .iter()
        .filter(|g| g["kind"] == "microsoft365" && g["sourceOfAuthority"] == "cloud")
        .collect();
    assert!(
        m365.iter().any(|g| g["isEnabled"] == false),
        "the sample has disabled ones"
    );
    for g in &m365 {
        assert_eq!(g["writtenBack"], true, "{g}");
        assert_eq!(g["reason"], "v1WritesAll", "{g}");
    }
    let out = run_gwb(&emu.url(), &["report", "-o", "table"]).await;
    assert!(
        stdout(&out).contains("unifiedGroupWritebackEnabled = true"),
        "{}",
        stdout(&out)
    );
    // With v2 on, the flag counts again.
    let cfg = gwb::emulator::EmulatorConfig {
        sync_features_readable: true,
        group_writeback_v2: true,
        ..Default::default()
    };
    let emu = crate::support::emulator_with(gwb::emulator::Tenant::generate(20, 1), cfg).await;
    let out = run_gwb(&emu.url(), &["report", "-o", "json"]).await;
    let v: Value = serde_json::from_str(&stdout(&out)).unwrap();
    let disabled = v["groups"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|g| g["kind"] == "microsoft365" && g["isEnabled"] == false)
        .collect::<Vec<_>>();
    assert!(!disabled.is_empty());
    assert!(
        disabled
            .iter()
            .all(|g| g["writtenBack"] == false && g["reason"] == "disabled")
    );
}

/// The slow ones (soak, crash and timeout tests): `cargo test -- --skip slow::` leaves them
/// out of the inner loop; CI runs them all.
mod slow {
    #[allow(unused_imports)]
    use super::*;

    #[tokio::test(flavor = "multi_thread")]
    async fn no_secret_appears_at_the_most_verbose_log_level() {
        // Sign-in that fails (nothing listens at the sign-in host) after the credential has used
        // every secret it was given; the run logs at trace level throughout.
        let emu = emulator(5, 1, 0.0).await;
        let dir = crate::support::temp_dir("redaction");
        let secret_file = dir.join("secret");
        std::fs::write(&secret_file, "file-secret-should-never-appear-5d1e\n").unwrap();
        for (auth, extra) in [
            (
                "client-secret",
                ("AZURE_CLIENT_SECRET", "env-secret-should-never-appear-4c0d"),
            ),
            (
                "client-secret",
                ("GWB_CLIENT_SECRET_FILE", secret_file.to_str().unwrap()),
            ),
            (
                "access-token",
                ("GWB_ACCESS_TOKEN", "token-should-never-appear-8e2f"),
            ),
        ] {
            let mut cmd = gwb_command();
            cmd.env_remove("GWB_ACCESS_TOKEN")
                .env("GWB_GRAPH_URL", emu.url())
                .env("GWB_AUTH", auth)
                .env("AZURE_TENANT_ID", "contoso.onmicrosoft.com")
                .env("AZURE_CLIENT_ID", "00000000-0000-0000-0000-0000000000c1")
                .env("AZURE_AUTHORITY_HOST", "https://127.0.0.1:9")
                .env(extra.0, extra.1)
                .args(["-vvv", "report", "-o", "json"]);
            let out = run(cmd).await;
            let (so, se) = (stdout(&out), stderr(&out));
            if auth == "client-secret" {
                assert_eq!(out.status.code(), Some(4), "{se}");
                assert!(se.contains("could not get an access token"), "{se}");
            } else {
                // The emulator takes any token: the run succeeds, having sent it on every request.
                assert_eq!(out.status.code(), Some(0), "{se}");
            }
            assert!(
                se.contains("TRACE") || se.contains("DEBUG"),
                "verbose logging was on"
            );
            for s in [
                "should-never-appear",
                "env-secret",
                "file-secret",
                "token-should",
            ] {
                assert!(
                    !so.contains(s) && !se.contains(s),
                    "{s} leaked with {extra:?}:\n{se}"
                );
            }
        }
    }
}

/// Cloud Sync in the report (issue 20): each agent's jobs from the synchronization API, the
/// group provisioning to AD ones marked, a quarantine said; without the permission, said, and
/// the report goes on.
#[tokio::test(flavor = "multi_thread")]
async fn the_report_shows_cloud_sync_jobs_and_a_quarantine() {
    use gwb::emulator::{CloudSyncAgent, EmulatorConfig};
    let agents = vec![
        CloudSyncAgent {
            id: "5a0c0f0e-1111-4222-8333-444455556666".into(),
            display_name: "contoso.com".into(),
            jobs: vec![
                serde_json::json!({
                    "id": "AD2AADProvisioning.5a0c0f0e11114222833344445555666.aaaa",
                    "templateId": "AD2AADProvisioning",
                    "schedule": {"interval": "PT2M", "state": "Active"},
                    "status": {"code": "Active", "lastExecution": {"timeEnded": "2026-11-29T01:00:00Z", "state": "Succeeded"}}
                }),
                serde_json::json!({
                    "id": "AAD2ADGroupProvisioning.5a0c0f0e11114222833344445555666.bbbb",
                    "templateId": "AAD2ADGroupProvisioning",
                    "schedule": {"interval": "PT20M", "state": "Active"},
                    "status": {
                        "code": "Quarantine",
                        "lastExecution": {"timeEnded": "2026-11-29T00:40:00Z", "state": "Failed"},
                        "quarantine": {"currentBegan": "2026-11-28T22:00:00Z", "reason": "EncounteredQuarantineException"}
                    }
                }),
            ],
            // Contoso's group job scopes on the writeback flag (attribute value filtering).
            schemas: [(
                "AAD2ADGroupProvisioning.5a0c0f0e11114222833344445555666.bbbb".to_string(),
                gwb::emulator::schema_scoped_on_writeback(),
            )]
            .into(),
            by_app_id: false,
            by_service_principal_names: false,
        },
        CloudSyncAgent {
            id: "6b1d1f1f-2222-4333-8444-555566667777".into(),
            display_name: "fabrikam.local".into(),
            jobs: vec![serde_json::json!({
                "id": "AAD2ADGroupProvisioning.6b1d1f1f22224333844455556666777.cccc",
                "templateId": "AAD2ADGroupProvisioning",
                "schedule": {"state": "Active"},
                "status": {"code": "Active", "lastExecution": {"timeEnded": "2026-11-29T01:05:00Z", "state": "Succeeded"}}
            })],
            // Fabrikam's has the default schema: no scoping filter; its service principal is
            // found by appId, not by template.
            schemas: Default::default(),
            by_app_id: true,
            by_service_principal_names: false,
        },
    ];
    let s = crate::support::Scenario::with(
        crate::support::plain_tenant(20, 3),
        EmulatorConfig {
            cloud_sync: agents,
            ..Default::default()
        },
    )
    .await;
    let ran = s.gwb(&["report", "-o", "json"]).await;
    assert_eq!(ran.code(), 0, "{}", ran.stderr());
    let c = ran.json()["tenant"]["cloudSync"].clone();
    assert_eq!(c["readable"], true);
    let jobs = c["jobs"].as_array().unwrap();
    assert_eq!(jobs.len(), 3);
    let group_jobs: Vec<&Value> = jobs
        .iter()
        .filter(|j| j["groupProvisioningToAd"] == true)
        .collect();
    assert_eq!(group_jobs.len(), 2);
    let q = group_jobs
        .iter()
        .find(|j| j["servicePrincipalName"] == "contoso.com")
        .unwrap();
    assert_eq!(q["quarantined"], true);
    assert_eq!(q["quarantineReason"], "EncounteredQuarantineException");
    assert_eq!(q["lastRunState"], "Failed");
    assert_eq!(q["scopesOnWriteback"], true);
    let f = group_jobs
        .iter()
        .find(|j| j["servicePrincipalName"] == "fabrikam.local")
        .unwrap();
    assert_eq!(f["scopesOnWriteback"], false);
    let other = jobs
        .iter()
        .find(|j| j["templateId"] == "AD2AADProvisioning");
    assert_eq!(other.unwrap()["scopesOnWriteback"], Value::Null);
    // The emulator pages jobs one to a page: contoso's two jobs take two reads (the second
    // holds its group job, which a single read would miss), fabrikam's one.
    assert_eq!(s.count("sync_jobs"), 3, "every page of each agent's jobs");
    assert_eq!(s.count("sync_schemas"), 2, "one schema read per group job");
    let v = ran.json()["tenant"]["securityWriteback"].clone();
    assert_eq!(v["actedOnBy"], "cloudSync", "{v}");
    assert_eq!(
        v["cloudSyncJobs"],
        serde_json::json!(["AAD2ADGroupProvisioning.5a0c0f0e11114222833344445555666.bbbb"])
    );
    assert!(v["explanation"].as_str().unwrap().contains("quarantined"));
    // A Cloud Sync job scopes on the flag: no security group is flagged for it.
    assert!(
        !ran.stdout()
            .contains("no Cloud Sync job scopes on the flag"),
        "{}",
        ran.stdout()
    );
    let table = s.gwb(&["report", "-o", "table", "--no-pager"]).await;
    assert!(
        table
            .stdout()
            .contains("QUARANTINED: EncounteredQuarantineException"),
        "{}",
        table.stdout()
    );

    let denied = crate::support::Scenario::with(
        crate::support::plain_tenant(20, 3),
        EmulatorConfig {
            cloud_sync_forbidden: true,
            ..Default::default()
        },
    )
    .await;
    let ran = denied.gwb(&["report", "-o", "json"]).await;
    assert_eq!(ran.code(), 0, "the report goes on: {}", ran.stderr());
    let c = ran.json()["tenant"]["cloudSync"].clone();
    assert_eq!(c["readable"], false);
    assert!(
        c["error"]
            .as_str()
            .unwrap()
            .contains("Synchronization.Read.All")
    );
    assert_eq!(ran.json()["groups"].as_array().unwrap().len(), 20);
    assert_eq!(
        ran.json()["tenant"]["securityWriteback"]["actedOnBy"],
        "unknown"
    );
}

/// A tenant without Cloud Sync: no job scopes on the writeback flag, so only Connect's
/// discontinued v2 acts on security groups' flag, and the table says so with their number.
#[tokio::test(flavor = "multi_thread")]
async fn without_cloud_sync_only_connect_v2_acts_on_security_groups_flag() {
    let mut tenant = crate::support::plain_tenant(20, 3);
    // Two cloud security groups with writeback enabled, whatever the generator made.
    let mut made = 0;
    for g in &mut tenant.groups {
        g.writeback.is_enabled = match g.writeback.is_enabled {
            Some(true) if g.group_types.is_empty() && g.security_enabled => Some(false),
            v => v,
        };
    }
    for g in &mut tenant.groups {
        if made < 2
            && g.group_types.is_empty()
            && g.security_enabled
            && !g.mail_enabled
            && g.proxy_addresses.is_empty()
            && g.on_premises_sync_enabled != Some(true)
        {
            g.writeback.is_enabled = Some(true);
            made += 1;
        }
    }
    assert_eq!(made, 2, "the tenant has cloud security groups");
    let s = crate::support::Scenario::with(tenant, Default::default()).await;
    // Finding no group provisioning job proves nothing (gwb cannot be sure to find every Cloud
    // Sync configuration): unknown, and no group is flagged.
    let ran = s.gwb(&["report", "-o", "json"]).await;
    assert_eq!(ran.code(), 0, "{}", ran.stderr());
    let j = ran.json();
    assert_eq!(j["tenant"]["securityWriteback"]["actedOnBy"], "unknown");
    assert!(
        j["tenant"]["securityWriteback"]["explanation"]
            .as_str()
            .unwrap()
            .contains("not found")
            || j["tenant"]["securityWriteback"]["explanation"]
                .as_str()
                .unwrap()
                .contains("was found among the configurations gwb can find"),
        "{j}"
    );
    assert!(
        !ran.stdout()
            .contains("only Entra Connect's group writeback v2")
    );
    // The operator confirms the tenant has none: then only Connect's v2 reads the flag.
    let s = s.config("[policy]\ncloud_sync_group_provisioning = \"none\"\n");
    let ran = s.gwb(&["report", "-o", "json"]).await;
    assert_eq!(ran.code(), 0, "{}", ran.stderr());
    let j = ran.json();
    assert_eq!(j["tenant"]["cloudSync"]["readable"], true);
    assert_eq!(j["tenant"]["cloudSync"]["jobs"], serde_json::json!([]));
    assert_eq!(
        j["tenant"]["securityWriteback"]["actedOnBy"],
        "connectSyncV2"
    );
    let enabled = j["groups"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|g| g["kind"] == "security" && g["writtenBack"] == true)
        .count();
    assert_eq!(enabled, 2);
    // Each of them is flagged where it is listed, and counts as needing attention.
    let flagged: Vec<&Value> = j["groups"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|g| {
            g["warning"]
                .as_str()
                .is_some_and(|w| w.contains("only Entra Connect's group writeback v2"))
        })
        .collect();
    assert_eq!(flagged.len(), 2);
    assert!(flagged.iter().all(|g| g["kind"] == "security"));
    // Streamed output says the same (the verdict is read before the groups).
    let ndjson = s.gwb(&["report", "-o", "ndjson"]).await;
    assert_eq!(
        ndjson
            .stdout()
            .matches("only Entra Connect's group writeback v2")
            .count(),
        2
    );
    let table = s.gwb(&["report", "-o", "table", "--no-pager"]).await;
    assert!(
        table.stdout().contains(
            "Security groups with writeback enabled: 2; no Cloud Sync job scopes on their writeback flag"
        ),
        "{}",
        table.stdout()
    );
    // The table says the shared warning once with its count, not once per group (a tenant
    // may have a hundred thousand such groups); the rows carry [!].
    assert!(
        table.stdout().contains(
            "  2 security groups marked [!] above: writeback enabled, but no Cloud Sync job"
        ),
        "{}",
        table.stdout()
    );
    assert_eq!(
        table
            .stdout()
            .matches("only Entra Connect's group writeback v2, discontinued")
            .count(),
        1,
        "{}",
        table.stdout()
    );
}

/// Groups whose source of authority moved from AD to the cloud (issue 20, item 3): they keep
/// their SID and lose onPremisesSyncEnabled, so gwb reads their onPremisesSyncBehavior and
/// shows them as their own kind of row, not as cloud groups and not as AD-mastered ones.
#[tokio::test(flavor = "multi_thread")]
async fn groups_moved_from_ad_are_their_own_kind_of_row() {
    use gwb::emulator::EmulatorConfig;
    let mut tenant = crate::support::plain_tenant(40, 3);
    let sid = |i: usize| Some(format!("S-1-5-21-1-2-3-{}", 9000 + i));
    // Three cloud groups that came from AD: two moved (isCloudManaged true), one rolled back.
    let picked: Vec<usize> = (0..tenant.groups.len())
        .filter(|&i| tenant.groups[i].on_premises_sync_enabled != Some(true))
        .take(3)
        .collect();
    for (n, &i) in picked.iter().enumerate() {
        let g = &mut tenant.groups[i];
        g.on_premises_security_identifier = sid(i);
        g.cloud_managed = Some(n < 2);
    }
    let moved: Vec<String> = picked[..2]
        .iter()
        .map(|&i| tenant.groups[i].id.clone())
        .collect();
    let rolled_back = tenant.groups[picked[2]].id.clone();
    let synced = tenant
        .groups
        .iter()
        .filter(|g| g.on_premises_sync_enabled == Some(true))
        .count();
    assert!(synced > 0, "the sample has groups synced from AD");

    let s = crate::support::Scenario::with(tenant.clone(), Default::default()).await;
    for format in ["json", "ndjson"] {
        let ran = s.gwb(&["report", "-o", format]).await;
        assert_eq!(ran.code(), 0, "{}", ran.stderr());
        let rows: Vec<Value> = if format == "json" {
            ran.json()["groups"].as_array().unwrap().clone()
        } else {
            ran.stdout()
                .lines()
                .map(|l| serde_json::from_str(l).unwrap())
                .filter(|v: &Value| v.get("id").is_some())
                .collect()
        };
        assert_eq!(rows.len(), 40, "{format}: every group once");
        let of = |id: &str| rows.iter().find(|r| r["id"] == id).unwrap().clone();
        for id in &moved {
            assert_eq!(of(id)["sourceOfAuthority"], "movedToCloud", "{format}");
            assert_eq!(of(id)["isCloudManaged"], true);
            assert_eq!(of(id)["syncedFromOnPremises"], false);
        }
        assert_eq!(of(&rolled_back)["sourceOfAuthority"], "formerlySynced");
        assert_eq!(of(&rolled_back)["isCloudManaged"], false);
        let on_prem = rows
            .iter()
            .filter(|r| r["sourceOfAuthority"] == "onPremises")
            .count();
        assert_eq!(on_prem, synced);
        assert!(
            rows.iter()
                .filter(|r| r["sourceOfAuthority"] == "cloud")
                .all(|r| r["isCloudManaged"].is_null())
        );
    }
    assert_eq!(
        s.count("sync_behavior"),
        6,
        "read for the three groups from AD only, once per run"
    );
    let j = s.gwb(&["report", "-o", "json"]).await.json();
    assert_eq!(j["summary"]["movedToCloud"], 2);
    assert_eq!(j["summary"]["formerlySynced"], 1);
    let table = s.gwb(&["report", "-o", "table", "--no-pager"]).await;
    let out = table.stdout();
    assert!(out.contains("(moved from AD)"), "{out}");
    assert!(out.contains("(ex-AD)"), "{out}");
    assert!(
        out.contains("Groups from AD no longer synced: 2 moved to the cloud"),
        "{out}"
    );

    // Without Group-OnPremisesSyncBehavior.ReadWrite.All: said once, the rows stay
    // formerlySynced, and the report goes on.
    let denied = crate::support::Scenario::with(
        tenant,
        EmulatorConfig {
            sync_behavior_forbidden: true,
            ..Default::default()
        },
    )
    .await;
    let ran = denied.gwb(&["report", "-o", "json"]).await;
    assert_eq!(ran.code(), 0, "{}", ran.stderr());
    let j = ran.json();
    assert_eq!(j["summary"]["movedToCloud"], 0);
    assert_eq!(j["summary"]["formerlySynced"], 3);
    assert!(
        j["summary"]["isCloudManagedError"]
            .as_str()
            .unwrap()
            .contains("Group-OnPremisesSyncBehavior.ReadWrite.All")
    );
    for id in &moved {
        let r = j["groups"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["id"] == *id)
            .unwrap();
        assert_eq!(r["sourceOfAuthority"], "formerlySynced");
        assert!(r["isCloudManaged"].is_null());
    }
}

/// Cloud Sync as Microsoft's pages show it: an agent whose service principal carries Cloud
/// Sync's id only in `servicePrincipalNames` ("Microsoft Entra Cloud Sync attributes", current
/// text: `applicationTemplateId: null`), and a group provisioning job whose `templateId` differs
/// from its id's `AAD2ADGroupProvisioning.` prefix (the synchronizationJob example). Both are
/// found; a status code in another case still reads as a quarantine.
#[tokio::test(flavor = "multi_thread")]
async fn cloud_sync_is_found_by_service_principal_names_and_job_id_prefix() {
    use gwb::emulator::{CloudSyncAgent, EmulatorConfig};
    const JOB: &str = "AAD2ADGroupProvisioning.7c2e2f2f33334444955566667777888.dddd";
    let agents = vec![CloudSyncAgent {
        id: "7c2e2f2f-3333-4444-9555-666677778888".into(),
        display_name: "northwind.local".into(),
        jobs: vec![serde_json::json!({
            "id": JOB,
            "templateId": "GroupProvisioningToAD",
            "schedule": {"state": "Active"},
            "status": {"code": "quarantine", "lastExecution": {"state": "Failed"}}
        })],
        schemas: [(JOB.to_string(), gwb::emulator::schema_scoped_on_writeback())].into(),
        by_app_id: false,
        by_service_principal_names: true,
    }];
    let s = crate::support::Scenario::with(
        crate::support::plain_tenant(20, 3),
        EmulatorConfig {
            cloud_sync: agents,
            ..Default::default()
        },
    )
    .await;
    let ran = s.gwb(&["report", "-o", "json"]).await;
    assert_eq!(ran.code(), 0, "{}", ran.stderr());
    let j = ran.json();
    let jobs = j["tenant"]["cloudSync"]["jobs"].as_array().unwrap().clone();
    assert_eq!(jobs.len(), 1, "{j}");
    assert_eq!(jobs[0]["groupProvisioningToAd"], true);
    assert_eq!(jobs[0]["quarantined"], true);
    assert_eq!(jobs[0]["scopesOnWriteback"], true);
    assert_eq!(j["tenant"]["securityWriteback"]["actedOnBy"], "cloudSync");
    assert_eq!(
        s.count("service_principals"),
        4,
        "every way of finding them is asked"
    );
}

/// A cloud security group with an AD SID, not cloud-managed, in scope of a Cloud Sync group
/// provisioning job: Cloud Sync may have written that SID back (it does for the users it
/// provisions; for groups it is undocumented), so gwb calls its source "unknown" and says why,
/// not "formerlySynced". Without such a job the same group is formerlySynced.
#[tokio::test(flavor = "multi_thread")]
async fn a_sid_that_cloud_sync_may_have_written_is_no_proof_of_ad() {
    use gwb::emulator::{CloudSyncAgent, EmulatorConfig};
    let mut tenant = crate::support::plain_tenant(40, 3);
    let i = (0..tenant.groups.len())
        .find(|&i| {
            let g = &tenant.groups[i];
            g.on_premises_sync_enabled != Some(true)
                && g.group_types.is_empty()
                && g.security_enabled
                && !g.mail_enabled
                && g.proxy_addresses.is_empty()
        })
        .expect("a cloud security group");
    tenant.groups[i].on_premises_security_identifier = Some("S-1-5-21-1-2-3-9100".into());
    tenant.groups[i].cloud_managed = Some(false);
    let id = tenant.groups[i].id.clone();
    const JOB: &str = "AAD2ADGroupProvisioning.5a0c0f0e11114222833344445555666.bbbb";
    let agent = CloudSyncAgent {
        id: "5a0c0f0e-1111-4222-8333-444455556666".into(),
        display_name: "contoso.com".into(),
        jobs: vec![serde_json::json!({
            "id": JOB, "templateId": "AAD2ADGroupProvisioning",
            "schedule": {"state": "Active"}, "status": {"code": "Active"}
        })],
        // The default schema: no scoping filter, every cloud security group in scope.
        schemas: Default::default(),
        by_app_id: false,
        by_service_principal_names: false,
    };
    for (cloud_sync, want) in [(vec![agent], "unknown"), (Vec::new(), "formerlySynced")] {
        let s = crate::support::Scenario::with(
            tenant.clone(),
            EmulatorConfig {
                cloud_sync,
                ..Default::default()
            },
        )
        .await;
        for format in ["json", "ndjson"] {
            let ran = s.gwb(&["report", "-o", format]).await;
            assert_eq!(ran.code(), 0, "{}", ran.stderr());
            let row: Value = if format == "json" {
                ran.json()["groups"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|r| r["id"] == id)
                    .unwrap()
                    .clone()
            } else {
                ran.stdout()
                    .lines()
                    .map(|l| serde_json::from_str::<Value>(l).unwrap())
                    .find(|r| r["id"] == id)
                    .unwrap()
            };
            assert_eq!(row["sourceOfAuthority"], want, "{format}: {row}");
            assert_eq!(row["isCloudManaged"], false);
            if want == "unknown" {
                assert!(
                    row["warning"]
                        .as_str()
                        .unwrap()
                        .contains("may have written that SID back"),
                    "{row}"
                );
            }
        }
    }
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
