//! Compare-and-set: a group changed after the listing, gone (404), or listed with an id that is
//! not a GUID is left alone or failed, never written blindly.

use crate::support::Scenario;
use crate::support::{json_of, plain_tenant, should_change, stderr, temp_dir};
use gwb::emulator::{EmulatorConfig, Tenant, WriteQuirk};
use gwb::graph::model::WritebackConfiguration;

use crate::support::{ids_of, quirks, to_change};

/// A2: a group whose writeback changed between gwb's listing and its write is not reverted, and
/// the journal holds no stale before-state for it.
/// (Issue 12, item A2.)
#[tokio::test(flavor = "multi_thread")]
async fn a_group_changed_after_the_listing_is_left_alone() {
    use gwb::writeback::plan::{DisablePlanner, Selection, SkipReason};
    let s = Scenario::with(plain_tenant(120, 73), EmulatorConfig::default()).await;
    let emu = &s.emu;
    let mut planner = DisablePlanner::new(Selection::default());
    for g in emu.shared().tenant().groups.clone() {
        let group = serde_json::from_value(g.to_json(&[
            "id",
            "displayName",
            "groupTypes",
            "securityEnabled",
            "mailEnabled",
            "onPremisesSyncEnabled",
            "isAssignableToRole",
            "proxyAddresses",
            "createdDateTime",
            "writebackConfiguration",
        ]))
        .unwrap();
        planner.consider(&group).unwrap();
    }
    assert!(planner.changes.len() > 3);
    // An admin changes the type of one planned group after the listing.
    let moved = planner.changes[1].id.to_string();
    let admins = WritebackConfiguration {
        is_enabled: Some(true),
        on_premises_group_type: Some("universalMailEnabledSecurityGroup".into()),
    };
    assert_ne!(planner.changes[1].before, admins);
    emu.shared().tenant().group_mut(&moved).unwrap().writeback = admins.clone();

    let (client, _) = crate::support::client(&emu.url());
    let j = temp_dir("a2").join("j.jsonl");
    let journal =
        gwb::journal::Journal::create(&j, "r", "disable-existing-m365", "emulator", None).unwrap();
    let applied = crate::support::apply_as_disable(&client, &planner.changes, &journal).await;
    assert_eq!(
        emu.shared().tenant().group(&moved).unwrap().writeback,
        admins,
        "the admin's change stands"
    );
    assert!(
        applied
            .skipped
            .iter()
            .any(|s| s.id == moved && s.reason == SkipReason::ChangedSincePlan)
    );
    assert_eq!(applied.changed.len(), planner.changes.len() - 1);
    let read = gwb::journal::read(&j).unwrap();
    assert!(
        read.befores.iter().all(|b| b.id != moved.as_str()),
        "no stale journal entry"
    );
}

/// E22: a 404 to a write for a group that still exists is a failure, not "deleted meanwhile".
/// (Issue 12, item E22.)
#[tokio::test(flavor = "multi_thread")]
async fn a_404_for_a_group_that_exists_is_a_failure() {
    let tenant = plain_tenant(100, 76);
    let odd = to_change(&tenant, 1);
    let cfg = EmulatorConfig {
        write_quirks: quirks(&odd, WriteQuirk::NotFound),
        ..Default::default()
    };
    let s = Scenario::with(tenant, cfg).await;
    let _emu = &s.emu;
    let out = s
        .gwb(&["disable-existing-m365", "--yes", "-o", "json"])
        .await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let v = json_of(&out);
    assert_eq!(ids_of(&v["failed"]), odd, "{v}");
    assert_eq!(v["summary"]["deletedMeanwhile"], 0);
    assert!(v["deletedMeanwhile"].as_array().unwrap().is_empty());
}

/// E23: one group id that is not a GUID fails that group only; the rest are changed (exit 1).
/// (Issue 12, item E23.)
#[tokio::test(flavor = "multi_thread")]
async fn a_group_id_that_is_not_a_guid_fails_only_that_group() {
    let mut t = plain_tenant(80, 77);
    let i = t.groups.iter().position(should_change).unwrap();
    t.groups[i].id = "a/b".into();
    let s = Scenario::with(Tenant::new(t.groups, Vec::new()), EmulatorConfig::default()).await;
    let emu = &s.emu;
    // report --member-counts counts the others and marks that one.
    let out = s.gwb(&["report", "--member-counts", "-o", "json"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v = json_of(&out);
    let rows = v["groups"].as_array().unwrap();
    let odd = rows.iter().find(|r| r["id"] == "a/b").unwrap();
    assert!(
        odd["warning"].as_str().unwrap().contains("not a GUID"),
        "{odd}"
    );
    assert!(rows.iter().any(|r| r["memberCount"].is_u64()));

    // A saved plan leaves it out (and says so), so the plan can still be applied.
    let plan = crate::support::temp_dir("not-a-guid").join("plan.json");
    let out = s
        .gwb(&[
            "disable-existing-m365",
            "--plan-out",
            plan.to_str().unwrap(),
        ])
        .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stderr(&out).contains("not a GUID"), "{}", stderr(&out));
    let saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&plan).unwrap()).unwrap();
    let planned = saved["changes"].as_array().unwrap();
    assert!(!planned.is_empty() && planned.iter().all(|c| c["id"] != "a/b"));

    let out = s
        .gwb(&["disable-existing-m365", "--yes", "-o", "json"])
        .await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let v = json_of(&out);
    assert_eq!(ids_of(&v["failed"]), ["a/b"]);
    assert_eq!(v["failed"][0]["code"], "invalidId");
    let should = emu
        .shared()
        .tenant()
        .groups
        .iter()
        .filter(|g| g.id != "a/b" && g.is_unified() && g.on_premises_sync_enabled != Some(true))
        .all(|g| g.writeback.is_enabled == Some(false));
    assert!(should, "every other group was disabled");
}
