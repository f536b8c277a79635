//! Refusals of sign-in and permission: exit 4, the permission the reference names, and never the
//! token or a secret in the output, at any log level.

use crate::support::Scenario;
use crate::support::{GraphMock, gwb_command, json_of, run, stderr, stdout};
use serde_json::{Value, json};

/// B7: every batch item answered 401 is an authentication failure: exit 4, as documented.
/// (Issue 12, item B7.)
#[tokio::test(flavor = "multi_thread")]
async fn every_item_answered_401_is_exit_4() {
    let g = GraphMock::start().await;
    let groups: Vec<Value> = (1..=3)
        .map(|i| {
            json!({"id": format!("0b1f5a6e-1111-4c1e-9e4f-00000000000{i}"),
                "displayName": format!("G{i}"), "groupTypes": ["Unified"],
                "securityEnabled": false, "mailEnabled": true,
                "createdDateTime": "2021-01-01T00:00:00Z",
                "writebackConfiguration": {"isEnabled": null, "onPremisesGroupType": null}})
        })
        .collect();
    g.on("GET", "/beta/groups")
        .with(crate::support::json(json!({ "value": groups }).to_string()))
        .await;
    g.on("POST", "/beta/$batch")
        .with(crate::support::EveryItem {
            status: 401,
            retry_after: None,
            code: "InvalidAuthenticationToken",
        })
        .await;
    let g = g.strict().await;
    let out = g
        .gwb(&["disable-existing-m365", "--yes", "-o", "json"])
        .await;
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    let v = json_of(&out);
    assert_eq!(v["failed"].as_array().unwrap().len(), 3, "{v}");
    assert!(v["changed"].as_array().unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn authorisation_failures_exit_4_and_never_print_the_token() {
    let g = GraphMock::start().await;
    g.any()
        .with(crate::support::json_status(
            403,
            crate::support::fixture("error-403-denied.json", &g.uri(), ""),
        ))
        .await;
    let out = g.gwb(&["-vvv", "report", "-o", "json"]).await;
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

/// Item 7: the permission hints say what Microsoft's reference says: Group.Read.All reads the
/// tenant-wide settings too; nothing about "older tenants".
/// (Issue 13.)
#[tokio::test(flavor = "multi_thread")]
async fn permission_hints_follow_the_reference() {
    let g = GraphMock::start().await;
    let denied = r#"{"error":{"code":"Authorization_RequestDenied","message":"Insufficient privileges to complete the operation."}}"#;
    g.on("GET", "/beta/groups")
        .with(crate::support::json_status(403, denied.into()))
        .await;
    g.on("GET", "/beta/settings")
        .with(crate::support::json_status(403, denied.into()))
        .await;
    g.on("GET", "/beta/directory/onPremisesSynchronization")
        .status(403)
        .await;
    let out = g.gwb(&["report", "-o", "json"]).await;
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("Group.Read.All (which also reads the tenant default)"),
        "{err}"
    );
    assert!(!err.contains("plus GroupSettings.Read.All"), "{err}");
    let out = g.gwb(&["set-default", "false", "-o", "json"]).await;
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(4), "{err}");
    assert!(err.contains("Group.Read.All"), "{err}");
    assert!(!err.contains("older tenants"), "{err}");
}

mod slow {
    #[allow(unused_imports)]
    use super::*;

    #[tokio::test(flavor = "multi_thread")]
    async fn no_secret_appears_at_the_most_verbose_log_level() {
        // Sign-in that fails (nothing listens at the sign-in host) after the credential has used
        // every secret it was given; the run logs at trace level throughout.
        let s = Scenario::generated(5, 1, 0.0).await;
        let emu = &s.emu;
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
