//! `gwb config show` names where each value came from and never prints a secret; a config file
//! with a secret that others can read is warned about.

use crate::support::{gwb_command, run, stderr, stdout};
use serde_json::Value;

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
