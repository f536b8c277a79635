//! Cloud Sync in the report: its jobs and quarantines, who acts on security groups' writeback
//! flag, groups moved from AD, and what a SID does and does not prove.

use serde_json::Value;

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
    assert!(out.contains(" (moved)  "), "{out}");
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
