//! Role-assignable groups: marked, named, and reported apart when the policy says so.

use crate::support::Scenario;
use crate::support::{json_of, should_change, stderr, stdout};
use gwb::emulator::EmulatorConfig;

/// Item 6: role-assignable groups are marked in the plan and in drift; a 403 on one names the
/// permission; `role_assignable_drift = "report"` gives a scheduled job an honest green run.
/// (Issue 13.)
#[tokio::test(flavor = "multi_thread")]
async fn role_assignable_groups_are_marked_named_and_can_be_reported_apart() {
    // The generated tenant has role-assignable Microsoft 365 groups, which the emulator refuses
    // to write without the privileged permission (403), as Graph does.
    let tenant = gwb::emulator::Tenant::generate(250, 1);
    let privileged: Vec<String> = privileged(&tenant).into_iter().collect();
    let s = Scenario::with(tenant, EmulatorConfig::default()).await;
    let emu = &s.emu;

    let plan = json_of(
        &*s.gwb(&["disable-existing-m365", "--dry-run", "-o", "json"])
            .await,
    );
    let marked: Vec<&str> = plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["roleAssignable"] == true)
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(marked.len(), privileged.len(), "{plan}");
    let table = s
        .gwb(&["disable-existing-m365", "--dry-run", "-o", "table"])
        .await;
    assert!(stdout(&table).contains("RoleManagement.ReadWrite.Directory"));

    let dir = crate::support::temp_dir("privileged");
    let strict = dir.join("strict.toml");
    std::fs::write(&strict, "[policy]\nm365_writeback = \"disabled\"\n").unwrap();
    let relaxed = dir.join("relaxed.toml");
    std::fs::write(
        &relaxed,
        "[policy]\nm365_writeback = \"disabled\"\nrole_assignable_drift = \"report\"\n",
    )
    .unwrap();
    let (strict, r) = (strict.to_str().unwrap(), relaxed.to_str().unwrap());

    // Strict: marked drift; --fix fails on them with the permission named.
    let out = s
        .gwb(&["--config", strict, "check", "--fix", "--yes", "-o", "json"])
        .await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let v = json_of(&out);
    let failed = v["fix"]["failed"].as_array().unwrap();
    assert_eq!(failed.len(), privileged.len(), "{v}");
    for f in failed {
        assert!(
            f["message"]
                .as_str()
                .unwrap()
                .contains("RoleManagement.ReadWrite.Directory"),
            "{f}"
        );
    }
    assert!(
        v["after"]["drift"]
            .as_array()
            .unwrap()
            .iter()
            .all(|d| d["roleAssignable"] == true),
        "{v}"
    );

    // Report: the same tenant is compliant, the groups listed apart, nothing tried.
    let writes = emu.shared().stat("patch_group_attempt");
    let out = s
        .gwb(&["--config", r, "check", "--fix", "--yes", "-o", "json"])
        .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v = json_of(&out);
    assert_eq!(v["before"]["compliant"], true, "{v}");
    assert_eq!(
        v["before"]["needsPrivilegedPermission"]
            .as_array()
            .unwrap()
            .len(),
        privileged.len()
    );
    assert_eq!(
        emu.shared().stat("patch_group_attempt"),
        writes,
        "nothing tried"
    );
}

/// `--skip-role-assignable` leaves role-assignable groups alone, lists and counts them, and so
/// a showcase run against the sample tenant (whose role-assignable groups Graph refuses to
/// write without the privileged permission) ends clean.
#[tokio::test(flavor = "multi_thread")]
async fn skip_role_assignable_leaves_them_listed_and_counted_and_the_run_ends_clean() {
    let tenant = gwb::emulator::Tenant::generate(250, 1);
    let privileged = privileged(&tenant);
    let s = Scenario::with(tenant, EmulatorConfig::default()).await;
    let run = s
        .gwb(&[
            "disable-existing-m365",
            "--yes",
            "--skip-role-assignable",
            "-o",
            "json",
        ])
        .await;
    assert_eq!(run.code(), 0, "{}", run.stderr());
    let v = run.json();
    assert_eq!(
        v["summary"]["roleAssignableSkipped"],
        privileged.len(),
        "{v}"
    );
    assert!(v["failed"].as_array().unwrap().is_empty(), "{v}");
    let skipped: std::collections::BTreeSet<String> = v["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|k| k["reason"] == "roleAssignable")
        .map(|k| k["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(skipped, privileged);
    let untouched = s
        .emu
        .shared()
        .tenant()
        .groups
        .iter()
        .filter(|g| privileged.contains(&g.id))
        .all(|g| g.writeback.is_enabled != Some(false));
    assert!(untouched, "no role-assignable group was written");
    // Without the flag, the same tenant's run fails on them (exit 1): the reason for the flag.
    let again = Scenario::with(
        gwb::emulator::Tenant::generate(250, 1),
        EmulatorConfig::default(),
    )
    .await;
    let plain = again
        .gwb(&["disable-existing-m365", "--yes", "-o", "json"])
        .await;
    assert_eq!(plain.code(), 1, "{}", plain.stderr());
}

/// The role-assignable groups a disable would change (the emulator refuses to write them
/// without the privileged permission, as Graph does).
fn privileged(tenant: &gwb::emulator::Tenant) -> std::collections::BTreeSet<String> {
    let ids: std::collections::BTreeSet<String> = tenant
        .groups
        .iter()
        .filter(|g| should_change(g) && g.is_assignable_to_role == Some(true))
        .map(|g| g.id.clone())
        .collect();
    assert!(!ids.is_empty(), "the sample has role-assignable groups");
    ids
}
