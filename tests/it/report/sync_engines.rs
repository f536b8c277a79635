//! Entra Connect's sync features and the member limit: shown when Graph serves them, said why
//! not when it does not.

use crate::support::Scenario;
use crate::support::{stderr, stdout};
use serde_json::Value;

#[tokio::test(flavor = "multi_thread")]
async fn member_counts_flag_groups_the_sync_rule_skips_and_sync_features_say_why_not() {
    let s = Scenario::generated(1_500, 8, 0.0).await;
    let emu = &s.emu;
    let truth = emu.shared().tenant().clone();
    let out = s.gwb(&["report", "--member-counts", "-o", "json"]).await;
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
    let out = s.gwb(&["report", "-o", "csv"]).await;
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
    let s = Scenario::with(gwb::emulator::Tenant::generate(20, 1), cfg).await;
    let out = s.gwb(&["report", "-o", "json"]).await;
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
    let out = s.gwb(&["report", "-o", "table"]).await;
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
    let s = Scenario::with(gwb::emulator::Tenant::generate(20, 1), cfg).await;
    let out = s.gwb(&["report", "-o", "json"]).await;
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
