//! Writes that Graph accepted but that never show in a read-back are failures, found by id or by
//! listing, whichever costs Graph less.

use crate::support::Scenario;
use crate::support::{json_of, plain_tenant, stderr, temp_dir};
use gwb::emulator::{EmulatorConfig, WriteQuirk};

use crate::support::{ids_of, quirks, to_change};

async fn a4_with(groups: usize, seed: u64) {
    let tenant = plain_tenant(groups, seed);
    let mut ignored = to_change(&tenant, 3);
    ignored.sort();
    let cfg = EmulatorConfig {
        write_quirks: quirks(&ignored, WriteQuirk::Ignored),
        ..Default::default()
    };
    let s = Scenario::with(tenant, cfg).await;
    let emu = &s.emu;
    let dir = temp_dir("a4");
    let j = dir.join("j.jsonl");
    let out = s
        .gwb(&[
            "disable-existing-m365",
            "--yes",
            "-o",
            "json",
            "--verify-timeout",
            "0",
            "--journal",
            j.to_str().unwrap(),
        ])
        .await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let v = json_of(&out);
    assert_eq!(ids_of(&v["failed"]), ignored, "{v}");
    for f in v["failed"].as_array().unwrap() {
        assert_eq!(f["code"], "notApplied");
    }
    let changed = ids_of(&v["changed"]);
    assert!(ignored.iter().all(|i| !changed.contains(i)));
    if groups > 1_000 {
        assert!(
            changed.len() > 200,
            "read back by listing: {}",
            changed.len()
        );
        assert_eq!(
            emu.shared().stat("list_groups"),
            2 * groups.div_ceil(999) as u64
        );
    }
    assert_eq!(emu.shared().stat("ignored_write"), 3);
    let journal = gwb::journal::read(&j).unwrap();
    for i in &ignored {
        assert_eq!(journal.outcomes[i], "notApplied");
    }
}

/// A4: a 2xx whose change never shows is a failure, not "changed", and the exit code says so.
/// (Issue 12, item A4.)
#[tokio::test(flavor = "multi_thread")]
async fn writes_that_did_not_take_are_reported_failed() {
    a4_with(200, 71).await;
}

/// A4 with more than 200 changes: the read-back pages the listing instead of reading by id,
/// and keeps only the groups that do not show their change.
/// (Issue 12, item A4.)
#[tokio::test(flavor = "multi_thread")]
async fn a_read_back_by_listing_finds_the_writes_that_did_not_take() {
    a4_with(1_500, 74).await;
}
