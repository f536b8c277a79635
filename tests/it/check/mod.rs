//! `gwb check`: exit codes against the emulator, `--fix` converging, the run lock.

mod fix_exit;
mod history;

use crate::support::GraphMock;
use gwb::emulator::{EmulatorConfig, Tenant};
use serde_json::Value;

use crate::support::{Scenario, gwb_command, plain_tenant, run, run_gwb, stderr, stdout, temp_dir};

fn policy_file(name: &str, policy: &str) -> String {
    let p = temp_dir(name).join("config.toml");
    std::fs::write(&p, format!("[policy]\n{policy}")).unwrap();
    p.to_str().unwrap().to_string()
}

/// Cloud groups of a kind that are effectively written back, by the emulator's own data.
fn written_back(t: &Tenant, m365: bool) -> Vec<String> {
    let mut ids: Vec<String> = t
        .groups
        .iter()
        .filter(|g| g.on_premises_sync_enabled != Some(true))
        .filter(|g| {
            let unified = g.group_types.iter().any(|t| t == "Unified");
            if m365 {
                unified && g.writeback.is_enabled != Some(false)
            } else {
                !unified
                    && g.security_enabled
                    && !g.mail_enabled
                    && g.writeback.is_enabled == Some(true)
            }
        })
        .map(|g| g.id.clone())
        .collect();
    ids.sort();
    ids
}

async fn check(url: &str, config: &str, extra: &[&str]) -> (Option<i32>, Value, String) {
    let mut args = vec!["--config", config, "check", "-o", "json"];
    args.extend_from_slice(extra);
    let out = run_gwb(url, &args).await;
    let v = serde_json::from_str(&stdout(&out)).unwrap_or(Value::Null);
    (out.status.code(), v, stderr(&out))
}

fn drift_ids(c: &Value) -> Vec<String> {
    let mut ids: Vec<String> = c["drift"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["target"] == "group")
        .map(|d| d["id"].as_str().unwrap().to_string())
        .collect();
    ids.sort();
    ids
}

#[tokio::test(flavor = "multi_thread")]
async fn drift_is_listed_fixed_and_then_the_tenant_is_compliant() {
    let s = Scenario::with(plain_tenant(600, 5), EmulatorConfig::default()).await;
    let emu = &s.emu;
    let truth = emu.shared().tenant().clone();
    let m365 = written_back(&truth, true);
    let security = written_back(&truth, false);
    assert!(
        m365.len() > 2 && !security.is_empty(),
        "the sample has drift"
    );
    let allowed = m365[0].clone();
    let config = policy_file(
        "check-fix",
        &format!(
            "new_m365_default = false\nm365_writeback = \"disabled\"\nsecurity_writeback = \"disabled\"\nallow = [\"{allowed}\"]\n"
        ),
    );

    // Drift: exit 3, every written-back group but the allowed one, and the tenant default
    // (no Group.Unified setting: the template's true).
    let (code, v, err) = check(&emu.url(), &config, &[]).await;
    assert_eq!(code, Some(3), "{err}");
    let before = &v["before"];
    assert_eq!(before["compliant"], false);
    assert_eq!(before["allowed"], 1);
    assert_eq!(before["groupsChecked"], truth.groups.len() as u64);
    let mut want: Vec<String> = m365[1..].iter().chain(&security).cloned().collect();
    want.sort();
    assert_eq!(drift_ids(before), want);
    let default: Vec<&Value> = before["drift"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["target"] == "tenantDefault")
        .collect();
    assert_eq!(default.len(), 1);
    assert_eq!(default[0]["expected"], "false");
    assert!(v["after"].is_null() && v["fix"].is_null());
    assert_eq!(
        emu.shared().stat("patch_group"),
        0,
        "check alone writes nothing"
    );

    // --max-changes guards --fix as it guards disable-existing-m365.
    let (code, _, err) = check(
        &emu.url(),
        &config,
        &["--fix", "--yes", "--max-changes", "3"],
    )
    .await;
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("--max-changes 3"), "{err}");
    // --fix --dry-run: what would change, nothing written, still drift.
    let (code, v, err) = check(&emu.url(), &config, &["--fix", "--dry-run"]).await;
    assert_eq!(code, Some(3), "{err}");
    assert_eq!(v["fix"]["planned"], want.len() as u64);
    assert_eq!(
        v["fix"]["tenantDefault"], "wouldCreate",
        "no Group.Unified yet"
    );
    assert_eq!(emu.shared().tenant().groups, truth.groups, "dry run wrote");

    // --fix: converges, journaled, and the second check inside says compliant.
    let (code, v, err) = check(&emu.url(), &config, &["--fix", "--yes"]).await;
    assert_eq!(code, Some(0), "{err}");
    let mut changed: Vec<String> = v["fix"]["changed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect();
    changed.sort();
    assert_eq!(changed, want);
    assert_eq!(v["fix"]["tenantDefault"], "created");
    assert_eq!(v["after"]["compliant"], true);
    let journals = v["fix"]["journals"].as_array().unwrap();
    assert_eq!(journals.len(), 2, "groups and setting journaled");

    // A separate check: exit 0. The allowed group is still written back.
    let (code, v, err) = check(&emu.url(), &config, &[]).await;
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(v["before"]["compliant"], true);
    let now = emu.shared().tenant().clone();
    assert_eq!(written_back(&now, true), vec![allowed]);
    assert!(written_back(&now, false).is_empty());

    // And the journal takes it back, except what Graph will not hold: a security group's
    // invalid onPremisesGroupType, cleared by the fix, cannot be written again.
    let mut args = vec!["restore", "--yes", "-o", "json"];
    let group_journal = journals
        .iter()
        .map(|j| j.as_str().unwrap())
        .find(|j| j.contains("check-fix"))
        .unwrap();
    args.extend(["--journal", group_journal]);
    let invalid: Vec<String> = truth
        .groups
        .iter()
        .filter(|g| {
            security.contains(&g.id)
                && g.writeback
                    .on_premises_group_type
                    .as_deref()
                    .is_some_and(|t| t != "universalSecurityGroup")
        })
        .map(|g| g.id.clone())
        .collect();
    let out = s.gwb(&args).await;
    let want_code = if invalid.is_empty() { 0 } else { 1 };
    assert_eq!(out.status.code(), Some(want_code), "{}", stderr(&out));
    let r: Value = serde_json::from_str(&stdout(&out)).unwrap();
    let failed = crate::support::sorted_ids(&r["failed"]);
    let mut invalid_sorted = invalid.clone();
    invalid_sorted.sort();
    assert_eq!(failed, invalid_sorted);
    let restored = emu.shared().tenant().clone();
    assert_eq!(written_back(&restored, true), m365);
    let back: Vec<String> = security
        .iter()
        .filter(|id| !invalid.contains(id))
        .cloned()
        .collect();
    let now_security = written_back(&restored, false);
    assert!(back.iter().all(|id| now_security.contains(id)));
}

const M365_DISABLED: &str = "[policy]\nm365_writeback = \"disabled\"\n";

#[tokio::test(flavor = "multi_thread")]
async fn a_compliant_tenant_exits_0() {
    let s = Scenario::groups(200, 9).await;
    // A policy this tenant meets: every written-back Microsoft 365 group is allowed.
    let ids = written_back(&s.emu.shared().tenant(), true);
    let list: Vec<String> = ids.iter().map(|i| format!("\"{i}\"")).collect();
    let s = s.config(&format!("{M365_DISABLED}allow = [{}]\n", list.join(", ")));
    let run = s.gwb(&["check", "-o", "json"]).await;
    assert_eq!(run.code(), 0, "{}", run.stderr());
    let v = run.json();
    assert_eq!(v["before"]["allowed"], ids.len() as u64);
    assert!(
        v["before"]["tenantDefault"].is_null(),
        "not checked, not read"
    );
}

/// `check --fix` disables writeback too, so its plan says the on-premises cost like
/// disable-existing-m365's (issue 20); a plain check, which changes nothing, does not, and a
/// scheduled fix (--yes) keeps it out of its output.
#[tokio::test(flavor = "multi_thread")]
async fn check_fix_says_the_on_premises_cost_under_its_plan() {
    let s = Scenario::groups(60, 9).await.config(M365_DISABLED);
    let plan = s.gwb(&["check", "--fix", "--dry-run", "-o", "table"]).await;
    assert_eq!(plan.code(), 3, "{}", plan.stderr());
    assert_eq!(
        plan.stdout().matches("On premises:").count(),
        1,
        "{}",
        plan.stdout()
    );
    let plain = s.gwb(&["check", "-o", "table"]).await;
    assert_eq!(plain.code(), 3);
    assert!(
        !plain.stdout().contains("On premises:"),
        "{}",
        plain.stdout()
    );
    let fixed = s.gwb(&["check", "--fix", "--yes", "-o", "table"]).await;
    assert_eq!(fixed.code(), 0, "{}", fixed.stderr());
    assert!(
        !fixed.stdout().contains("On premises:"),
        "{}",
        fixed.stdout()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn graph_failing_on_every_request_exits_1_not_0_or_3() {
    let server_mock = GraphMock::start().await;
    let server = &server_mock.server;
    server_mock
        .any()
        .with(wiremock::ResponseTemplate::new(500).set_body_string("{}"))
        .await;
    let config = policy_file("check-500", "m365_writeback = \"disabled\"\n");
    let (code, _, err) = check(&server.uri(), &config, &[]).await;
    assert_eq!(code, Some(1), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn not_allowed_to_read_the_groups_exits_4_naming_the_permission() {
    let denied_mock = GraphMock::start().await;
    let denied = &denied_mock.server;
    denied_mock
        .any()
        .with(crate::support::json_status(
            403,
            crate::support::fixture("error-403-denied.json", &denied.uri(), ""),
        ))
        .await;
    let config = policy_file("check-403", "m365_writeback = \"disabled\"\n");
    let (code, _, err) = check(&denied.uri(), &config, &[]).await;
    assert_eq!(code, Some(4), "{err}");
    assert!(err.contains("Group.Read.All"), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn no_policy_is_a_usage_error_naming_what_to_add() {
    let s = Scenario::groups(20, 9).await.config("");
    let run = s.gwb(&["check", "-o", "json"]).await;
    assert_eq!(run.code(), 2, "{}", run.stderr());
    run.assert_stderr_has("[policy]");
    assert_eq!(s.count("requests"), 0, "nothing was read");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_name_where_an_id_belongs_is_a_usage_error_naming_the_key() {
    let s = Scenario::groups(20, 9)
        .await
        .config(&format!("{M365_DISABLED}allow = [\"Finance\"]\n"));
    let run = s.gwb(&["check", "-o", "json"]).await;
    assert_eq!(run.code(), 2, "{}", run.stderr());
    let err = run.stderr();
    assert!(
        err.contains("policy.allow") && err.contains("Finance"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_second_mutating_run_is_refused_while_the_first_holds_the_lock() {
    // The first run holds the lock for as long as the test wants: its Graph accepts the
    // connection and never answers. No race with the machine's speed.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let silent_url = format!("http://{}", silent.local_addr().unwrap());
    let held = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let keep = held.clone();
    tokio::spawn(async move {
        while let Ok((sock, _)) = silent.accept().await {
            keep.lock().unwrap().push(sock);
        }
    });
    let s = Scenario::with(plain_tenant(300, 2), EmulatorConfig::default()).await;
    let emu = &s.emu;
    let state = temp_dir("lock-state");
    let spawn = |url: &str, args: &[&str]| {
        let mut cmd = gwb_command();
        cmd.env("XDG_STATE_HOME", &state)
            .env("GWB_LOCK_DIR", state.join("locks"))
            .env("GWB_GRAPH_URL", url)
            .env("GWB_ACCESS_TOKEN", crate::support::TOKEN)
            .args(args);
        cmd
    };
    let mut first = spawn(
        &silent_url,
        &[
            "disable-existing-m365",
            "--yes",
            "-o",
            "json",
            "--read-timeout",
            "600",
        ],
    )
    .stdout(std::process::Stdio::null())
    .stderr(std::process::Stdio::null())
    .spawn()
    .unwrap();
    // Wait until the first run has taken the lock (it writes who it is into the file).
    let key = gwb::lock::LockKey {
        graph_root: &silent_url,
        tenant_id: None,
    };
    let lock = state.join("locks").join(key.file_name());
    let mut taken = false;
    for _ in 0..1_500 {
        if std::fs::read_to_string(&lock).is_ok_and(|s| s.contains("disable-existing-m365")) {
            taken = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(taken, "the first run took the lock");
    // The same tenant and Graph root: refused before any request, with its own exit code.
    let second = run(spawn(&silent_url, &["set-default", "false", "-o", "json"])).await;
    assert_eq!(second.status.code(), Some(5), "{}", stderr(&second));
    let err = stderr(&second);
    assert!(
        err.contains("another gwb run holds the lock for this tenant")
            && err.contains(&format!("pid {}", first.id())),
        "{err}"
    );
    // Another tenant (here another Graph root) does not wait.
    let other = run(spawn(&emu.url(), &["set-default", "false", "-o", "json"])).await;
    assert_eq!(other.status.code(), Some(0), "{}", stderr(&other));
    assert_eq!(emu.shared().stat("create_setting_attempt"), 1);
    // A read-only run is not held up by the lock.
    let report = run(spawn(&emu.url(), &["report", "-o", "json"])).await;
    assert_eq!(report.status.code(), Some(0), "{}", stderr(&report));
    // The first run ends, however it ends (here: killed), and the lock is free again.
    first.kill().unwrap();
    tokio::task::spawn_blocking(move || first.wait().unwrap())
        .await
        .unwrap();
    assert!(
        gwb::lock::RunLock::acquire(&state.join("locks"), key, "test").is_ok(),
        "the lock of a killed run is free"
    );
}

/// The slow ones (soak, crash and timeout tests): `cargo test -- --skip slow::` leaves them
/// out of the inner loop; CI runs them all.
mod slow {
    #[allow(unused_imports)]
    use super::*;

    #[tokio::test(flavor = "multi_thread")]
    async fn fix_waits_out_graphs_read_lag_and_says_when_it_could_not() {
        let config = policy_file("check-lag", "m365_writeback = \"disabled\"\n");
        for (timeout, want_pending) in [("10", false), ("0", true)] {
            // Graph's lag counted in reads, not wall-clock time: the first two reads of a group
            // after its write still show the old state, however fast or slow the machine is.
            let cfg = EmulatorConfig {
                read_lag_reads: 2,
                ..Default::default()
            };
            let s = Scenario::with(plain_tenant(300, 47), cfg).await;
            let emu = &s.emu;
            let drifted = written_back(&emu.shared().tenant(), true);
            assert!(!drifted.is_empty());
            let (code, v, err) = check(
                &emu.url(),
                &config,
                &["--fix", "--yes", "--verify-timeout", timeout],
            )
            .await;
            // Graph took every write, but only a patient check sees them; the exit code follows
            // what was seen last (issue 12, B5): changes that do not show are not a success.
            assert_eq!(code, Some(if want_pending { 1 } else { 0 }), "{err}");
            let changed = v["fix"]["changed"].as_array().unwrap().len();
            let failed = v["fix"]["failed"].as_array().unwrap();
            if want_pending {
                // Nothing shows at once, and no time to wait: every write is unconfirmed, reported
                // as failed (notApplied), never as changed.
                assert_eq!(changed, 0);
                assert_eq!(failed.len(), drifted.len(), "{v}");
                assert!(failed.iter().all(|f| f["code"] == "notApplied"), "{v}");
                // Said once, in the result (not again as a log line on stderr).
                assert!(
                    failed
                        .iter()
                        .all(|f| f["message"].as_str().unwrap().contains("did not take")),
                    "{v}"
                );
                assert!(!err.contains("did not take"), "{err}");
                assert_eq!(v["after"]["compliant"], false);
            } else {
                assert_eq!(changed, drifted.len());
                assert!(failed.is_empty(), "{v}");
                assert_eq!(v["after"]["compliant"], true);
                // Each group read before its write, then read back more than once while Graph lagged.
                let stats = emu.shared().stats();
                assert!(
                    stats["get_group"] > 2 * stats["patch_group"],
                    "read again while lagging: {stats:?}"
                );
            }
            // The writes happened: the emulator's truth is compliant.
            assert!(written_back(&emu.shared().tenant(), true).is_empty());
        }
    }
}

/// `--tenant NAME` (issue 19, first part): the inventory entry's policy overlays the top
/// level's for that run.
#[tokio::test(flavor = "multi_thread")]
async fn a_tenant_of_the_inventory_checks_its_own_policy() {
    let s = crate::support::Scenario::groups(80, 12).await.config(
        "[policy]\nm365_writeback = \"disabled\"\n\n[[tenants]]\nname = \"contoso\"\n\n[[tenants]]\nname = \"lenient\"\n[tenants.policy]\nm365_writeback = \"any\"\nsecurity_writeback = \"disabled\"\nnew_m365_default = \"any\"\n",
    );
    let strict = s.gwb(&["--tenant", "contoso", "check", "-o", "json"]).await;
    assert_eq!(strict.code(), 3, "{}", strict.stderr());
    assert_eq!(strict.json()["policy"]["m365Writeback"], "disabled");
    let other = s.gwb(&["--tenant", "lenient", "check", "-o", "json"]).await;
    let doc = other.json();
    assert_eq!(doc["policy"]["m365Writeback"], "any");
    assert_eq!(doc["policy"]["securityWriteback"], "disabled");
    assert!(
        doc["before"]["drift"]
            .as_array()
            .unwrap()
            .iter()
            .all(|d| d["kind"] != "microsoft365"),
        "Microsoft 365 groups are not checked for this tenant"
    );
    let unknown = s.gwb(&["--tenant", "nope", "report"]).await;
    assert_eq!(unknown.code(), 2);
    unknown.assert_stderr_has("contoso, lenient");
    // config show names the inventory and the tenant chosen.
    let shown = s
        .gwb(&["--tenant", "lenient", "config", "show", "-o", "json"])
        .await;
    let settings = shown.json()["settings"].clone();
    let value = |k: &str| {
        settings
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["key"] == k)
            .map(|e| e["value"].clone())
    };
    assert_eq!(value("tenant"), Some("lenient".into()));
    assert_eq!(value("tenants"), Some("contoso, lenient".into()));
}

/// `security_writeback_needs_cloud_sync` (issue 20, item 4): a security group with writeback
/// enabled drifts unless a Cloud Sync job scopes on the flag; when gwb cannot tell, the check
/// fails instead of guessing.
#[tokio::test(flavor = "multi_thread")]
async fn security_writeback_needs_a_cloud_sync_job_that_scopes_on_the_flag() {
    use gwb::emulator::CloudSyncAgent;
    const JOB: &str = "AAD2ADGroupProvisioning.5a0c0f0e11114222833344445555666.bbbb";
    let tenant = plain_tenant(300, 5);
    let security = written_back(&tenant, false);
    assert!(
        !security.is_empty(),
        "the sample has enabled security groups"
    );
    let config = policy_file(
        "needs-cloud-sync",
        "security_writeback_needs_cloud_sync = true\n",
    );
    let agent = |schema: serde_json::Value| CloudSyncAgent {
        id: "5a0c0f0e-1111-4222-8333-444455556666".into(),
        display_name: "contoso.com".into(),
        jobs: vec![serde_json::json!({
            "id": JOB, "templateId": "AAD2ADGroupProvisioning",
            "schedule": {"state": "Active"}, "status": {"code": "Active"}
        })],
        schemas: [(JOB.to_string(), schema)].into(),
        by_app_id: false,
        by_service_principal_names: false,
    };
    let scoped = gwb::emulator::schema_scoped_on_writeback();
    let unscoped = serde_json::json!({"synchronizationRules": [{"objectMappings": [{
        "enabled": true, "sourceObjectName": "Group", "scope": null
    }]}]});

    // A job that scopes on the flag: compliant.
    let s = Scenario::with(
        tenant.clone(),
        EmulatorConfig {
            cloud_sync: vec![agent(scoped)],
            ..Default::default()
        },
    )
    .await;
    let emu = &s.emu;
    let (code, v, err) = check(&emu.url(), &config, &[]).await;
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(v["before"]["securityWriteback"]["actedOnBy"], "cloudSync");

    // A job that provisions by its own scope: every enabled security group drifts, and --fix
    // disables them.
    let s = Scenario::with(
        tenant.clone(),
        EmulatorConfig {
            cloud_sync: vec![agent(unscoped)],
            ..Default::default()
        },
    )
    .await;
    let emu = &s.emu;
    let (code, v, err) = check(&emu.url(), &config, &[]).await;
    assert_eq!(code, Some(3), "{err}");
    assert_eq!(drift_ids(&v["before"]), security);
    assert_eq!(
        v["before"]["drift"][0]["expected"],
        "not written back: no Cloud Sync job scopes on the writeback flag"
    );
    assert_eq!(
        v["before"]["securityWriteback"]["actedOnBy"],
        "connectSyncV2"
    );
    let (code, v, err) = check(&emu.url(), &config, &["--fix", "--yes"]).await;
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(v["after"]["compliant"], true);
    assert_eq!(
        written_back(&emu.shared().tenant(), false),
        Vec::<String>::new()
    );

    // Without the permission: exit 4, naming it; nothing written.
    let s = Scenario::with(
        tenant.clone(),
        EmulatorConfig {
            cloud_sync_forbidden: true,
            ..Default::default()
        },
    )
    .await;
    let emu = &s.emu;
    let (code, _, err) = check(&emu.url(), &config, &["--fix", "--yes"]).await;
    assert_eq!(code, Some(4), "{err}");
    assert!(err.contains("Synchronization.Read.All"), "{err}");
    // Signed in as a person, a role is needed too: the hint names it.
    assert!(err.contains("Hybrid Identity Administrator"), "{err}");
    assert_eq!(emu.shared().stat("patch_group"), 0);

    // A job whose scope cannot be read: exit 1, not a guess either way.
    let s = Scenario::with(
        tenant.clone(),
        EmulatorConfig {
            cloud_sync: vec![agent(serde_json::Value::Null)],
            ..Default::default()
        },
    )
    .await;
    let emu = &s.emu;
    let (code, _, err) = check(&emu.url(), &config, &[]).await;
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("could not be read"), "{err}");

    // A scope on attributes gwb does not recognize (a "selected security groups" list, a custom
    // filter): unknown, exit 1, never a confident "no job scopes on the flag".
    let listed = serde_json::json!({"synchronizationRules": [{"objectMappings": [{
        "enabled": true, "sourceObjectName": "Group",
        "scope": {"groups": [{"name": "selected", "clauses": [{
            "operatorName": "EQUALS", "sourceOperandName": "objectId",
            "targetOperand": {"values": ["5a0c0f0e-0000-4000-8000-000000000001"]}
        }]}]}
    }]}]});
    let s = Scenario::with(
        tenant.clone(),
        EmulatorConfig {
            cloud_sync: vec![agent(listed)],
            ..Default::default()
        },
    )
    .await;
    let emu = &s.emu;
    let (code, _, err) = check(&emu.url(), &config, &[]).await;
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("does not recognize"), "{err}");

    // No group provisioning job found at all: that proves nothing (gwb cannot be sure to find
    // every Cloud Sync configuration), so exit 1 with the reason; once the operator confirms
    // the tenant has none, the rule judges as above.
    let s = Scenario::with(tenant.clone(), EmulatorConfig::default()).await;
    let emu = &s.emu;
    let (code, _, err) = check(&emu.url(), &config, &[]).await;
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains("was found among the configurations gwb can find")
            && err.contains("cloud_sync_group_provisioning"),
        "{err}"
    );
    let confirmed = policy_file(
        "needs-cloud-sync-none",
        "security_writeback_needs_cloud_sync = true\ncloud_sync_group_provisioning = \"none\"\n",
    );
    let (code, v, err) = check(&emu.url(), &confirmed, &[]).await;
    assert_eq!(code, Some(3), "{err}");
    assert_eq!(drift_ids(&v["before"]), security);
}

/// Entra Connect running group writeback v1 alone writes every Microsoft 365 group back,
/// whatever its flag: under `m365_writeback = "disabled"` that is one tenant-level drift item
/// (`syncEngine`) that per-group changes cannot fix, `--fix` leaves it (exit 3), and an
/// exception with `target = "syncEngine"` accepts it. With v2 on there is no such item.
#[tokio::test(flavor = "multi_thread")]
async fn v1_alone_is_one_sync_engine_drift_that_fix_cannot_meet() {
    let tenant = plain_tenant(60, 7);
    let config = policy_file("v1-alone", "m365_writeback = \"disabled\"\n");
    let engine = |v: &Value| -> Vec<Value> {
        v["drift"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|d| d["target"] == "syncEngine")
            .cloned()
            .collect()
    };
    let s = Scenario::with(
        tenant.clone(),
        EmulatorConfig {
            sync_features_readable: true,
            ..Default::default()
        },
    )
    .await;
    let emu = &s.emu;
    let (code, v, err) = check(&emu.url(), &config, &[]).await;
    assert_eq!(code, Some(3), "{err}");
    let items = engine(&v["before"]);
    assert_eq!(items.len(), 1, "{v}");
    assert!(items[0]["actual"].as_str().unwrap().contains("v1 alone"));
    // --fix disables the groups (what takes effect once v2 is on) but cannot meet the policy.
    let (code, v, err) = check(&emu.url(), &config, &["--fix", "--yes"]).await;
    assert_eq!(code, Some(3), "{err}");
    assert_eq!(drift_ids(&v["after"]), Vec::<String>::new());
    assert_eq!(engine(&v["after"]).len(), 1);
    // Accepted as an exception: compliant.
    let accepted = policy_file(
        "v1-alone-excepted",
        "m365_writeback = \"disabled\"\n\n[[policy.exception]]\ntarget = \"syncEngine\"\nreason = \"v2 is enabled at the next maintenance window\"\n",
    );
    let (code, v, err) = check(&emu.url(), &accepted, &[]).await;
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(v["before"]["excepted"][0]["target"], "syncEngine");
    // v2 on: the flag counts, nothing drifts at the engine.
    let s = Scenario::with(
        tenant,
        EmulatorConfig {
            sync_features_readable: true,
            group_writeback_v2: true,
            ..Default::default()
        },
    )
    .await;
    let emu = &s.emu;
    let (_, v, err) = check(&emu.url(), &config, &[]).await;
    assert!(engine(&v["before"]).is_empty(), "{err}");
}
