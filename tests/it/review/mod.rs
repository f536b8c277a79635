//! The review workflow as people and their spreadsheets treat it: what the config's policy keeps
//! stays kept, a review or saved plan can only narrow what was planned, one group is one row,
//! names must still match, and a file saved by Excel (semicolons, CRLF, Windows-1252, sorted)
//! still reads. One scenario per test; every refusal changes nothing.

use serde_json::Value;

use crate::support::{Scenario, should_change, temp_dir};

/// The ids of the groups `disable-existing-m365` plans in the scenario's tenant, in order.
fn planned(s: &Scenario) -> Vec<String> {
    let t = s.emu.shared().tenant();
    t.groups
        .iter()
        .filter(|g| should_change(g))
        .map(|g| g.id.clone())
        .collect()
}

/// Save a review to a new file; its path and its records (header first).
async fn review(s: &Scenario, extra: &[&str]) -> (std::path::PathBuf, Vec<Vec<String>>) {
    let path = temp_dir("review").join("review.csv");
    let mut args = vec![
        "disable-existing-m365",
        "--plan-out",
        path.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let ran = s.gwb(&args).await;
    assert_eq!(ran.code(), 0, "{}", ran.stderr());
    (path.clone(), records(&std::fs::read(&path).unwrap(), b','))
}

fn records(bytes: &[u8], delimiter: u8) -> Vec<Vec<String>> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .from_reader(bytes)
        .records()
        .map(|r| r.unwrap().iter().map(str::to_string).collect())
        .collect()
}

/// Records as a spreadsheet saves them: `delimiter`, `eol`, every cell quoted where needed.
fn write(records: &[Vec<String>], delimiter: u8, eol: &str) -> Vec<u8> {
    let mut w = csv::WriterBuilder::new()
        .flexible(true)
        .delimiter(delimiter)
        .terminator(if eol == "\r\n" {
            csv::Terminator::CRLF
        } else {
            csv::Terminator::Any(b'\n')
        })
        .from_writer(Vec::new());
    for r in records {
        w.write_record(r).unwrap();
    }
    w.into_inner().unwrap()
}

fn col(records: &[Vec<String>], name: &str) -> usize {
    records[0].iter().position(|h| h == name).unwrap()
}

/// The row of group `id`.
fn row_of<'r>(records: &'r mut [Vec<String>], id: &str) -> &'r mut Vec<String> {
    let i = col(records, "id");
    records
        .iter_mut()
        .find(|r| r.get(i).is_some_and(|x| x == id))
        .unwrap()
}

fn is_enabled(s: &Scenario, id: &str) -> Option<bool> {
    s.emu
        .shared()
        .tenant()
        .group(id)
        .unwrap()
        .writeback
        .is_enabled
}

#[tokio::test(flavor = "multi_thread")]
async fn the_policy_keeps_its_groups_out_of_the_bulk_disable_and_its_review() {
    let s = Scenario::groups(60, 71).await;
    let ids = planned(&s);
    assert!(ids.len() >= 5, "{ids:?}");
    let (allowed, excepted, expired) = (ids[0].clone(), ids[1].clone(), ids[2].clone());
    let s = s.config(&format!(
        r#"[policy]
m365_writeback = "disabled"
allow = ["{}"]

[[policy.exception]]
id = "{excepted}"
reason = "HR file shares"
owner = "ana@contoso.example"
expires = "2099-12-31"

[[policy.exception]]
id = "{expired}"
reason = "migration"
expires = "2020-01-01"
"#,
        allowed.to_uppercase()
    ));

    // The dry run leaves them out, says why, and counts them.
    let dry = s
        .gwb(&["disable-existing-m365", "--dry-run", "-o", "json"])
        .await;
    assert_eq!(dry.code(), 0, "{}", dry.stderr());
    let v = dry.json();
    assert_eq!(v["summary"]["excludedByPolicy"], 2, "{v}");
    let mut held: Vec<&str> = v["excludedByPolicyIds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i.as_str().unwrap())
        .collect();
    held.sort();
    let mut want = vec![allowed.as_str(), excepted.as_str()];
    want.sort();
    assert_eq!(held, want);
    let changes = crate::support::sorted_ids(&v["changes"]);
    assert!(!changes.contains(&allowed) && !changes.contains(&excepted));
    assert!(
        changes.contains(&expired),
        "an expired exception keeps nothing"
    );
    let note = |id: &str| {
        v["skipped"]
            .as_array()
            .unwrap()
            .iter()
            .find(|k| k["id"] == id)
            .map(|k| {
                (
                    k["reason"].clone(),
                    k["note"].as_str().unwrap_or("").to_string(),
                )
            })
            .unwrap()
    };
    assert_eq!(note(&allowed).0, "excludedByPolicy");
    assert_eq!(note(&allowed).1, "in [policy] allow");
    assert!(note(&excepted).1.contains("HR file shares"), "{v}");

    // The review lists them pre-filled keep, with why in the note column.
    let (path, mut recs) = review(&s, &[]).await;
    let (decision, notes) = (col(&recs, "decision"), col(&recs, "note"));
    for id in [&allowed, &excepted] {
        let r = row_of(&mut recs, id);
        assert_eq!(r[decision], "keep");
        assert!(r[notes].starts_with("kept by the policy: "), "{r:?}");
    }
    assert_eq!(row_of(&mut recs, &expired)[decision], "disable");

    // A policy-kept row flipped to disable is refused, naming its line; nothing is written.
    row_of(&mut recs, &allowed)[decision] = "disable".into();
    std::fs::write(&path, write(&recs, b',', "\n")).unwrap();
    let p = path.to_str().unwrap();
    let ran = s
        .gwb(&["disable-existing-m365", "--plan", p, "--yes"])
        .await;
    assert_eq!(ran.code(), 2, "{}", ran.stderr());
    ran.assert_stderr_has("kept by the policy (in [policy] allow)");
    ran.assert_stderr_has("--ignore-policy");
    ran.assert_stderr_has("line ");
    assert_eq!(s.count("patch_group_attempt"), 0);

    // With --ignore-policy the admin's decision is carried out; the kept snippet leaves out the
    // group the config already excepts.
    let ran = s
        .gwb(&[
            "disable-existing-m365",
            "--plan",
            p,
            "--yes",
            "--ignore-policy",
            "-o",
            "json",
        ])
        .await;
    assert_eq!(ran.code(), 0, "{}", ran.stderr());
    assert_eq!(is_enabled(&s, &allowed), Some(false));
    assert_ne!(is_enabled(&s, &excepted), Some(false));
    assert!(
        !ran.stderr().contains("[[policy.exception]]"),
        "{}",
        ran.stderr()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bulk_run_never_disables_what_the_policy_keeps_unless_told() {
    let s = Scenario::groups(60, 72).await;
    let ids = planned(&s);
    let allow: Vec<String> = ids.iter().map(|i| format!("\"{i}\"")).collect();
    // Every candidate allowed: the run says so and writes nothing.
    let all = Scenario::groups(60, 72)
        .await
        .config(&format!("[policy]\nallow = [{}]\n", allow.join(", ")));
    let ran = all.gwb(&["disable-existing-m365", "--yes"]).await;
    assert_eq!(ran.code(), 0, "{}", ran.stderr());
    ran.assert_stderr_has(&format!(
        "{} groups kept by the policy; --ignore-policy to include them",
        ids.len()
    ));
    assert_eq!(all.count("patch_group_attempt"), 0);

    // Two kept: the run disables the rest and counts them.
    let s = s.config(&format!(
        "[policy]\nallow = [\"{}\"]\n[[policy.exception]]\nid = \"{}\"\nreason = \"payroll\"\n",
        ids[0], ids[1]
    ));
    let ran = s
        .gwb(&["disable-existing-m365", "--yes", "-o", "json"])
        .await;
    assert_eq!(ran.code(), 0, "{}", ran.stderr());
    assert_eq!(ran.json()["summary"]["excludedByPolicy"], 2);
    assert_ne!(is_enabled(&s, &ids[0]), Some(false));
    assert_ne!(is_enabled(&s, &ids[1]), Some(false));
    assert_eq!(is_enabled(&s, &ids[2]), Some(false));
    // --ignore-policy includes them, with a warning that says how many.
    let ran = s
        .gwb(&["disable-existing-m365", "--yes", "--ignore-policy"])
        .await;
    assert_eq!(ran.code(), 0, "{}", ran.stderr());
    ran.assert_stderr_has("includes 2 groups that the config's policy keeps");
    assert_eq!(is_enabled(&s, &ids[0]), Some(false));
}

/// A cloud security group that is written back: what a pasted row would name.
fn security_group(s: &Scenario) -> String {
    let mut t = s.emu.shared().tenant();
    let g = t
        .groups
        .iter_mut()
        .find(|g| !g.is_unified() && g.on_premises_sync_enabled != Some(true))
        .unwrap();
    g.security_enabled = true;
    g.mail_enabled = false;
    g.writeback.is_enabled = Some(true);
    g.id.clone()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_review_or_a_plan_can_only_narrow_what_was_planned() {
    let s = Scenario::groups(60, 73).await;
    let security = security_group(&s);
    let (path, recs) = review(&s, &[]).await;
    let p = path.to_str().unwrap();
    // A row pasted in for a security group, its other cells (and planRef) copied from a row.
    let mut pasted = recs.clone();
    let mut row = pasted[1].clone();
    row[col(&recs, "id")] = security.clone();
    pasted.insert(2, row);
    std::fs::write(&path, write(&pasted, b',', "\n")).unwrap();
    let ran = s
        .gwb(&["disable-existing-m365", "--plan", p, "--yes"])
        .await;
    assert_eq!(ran.code(), 2, "{}", ran.stderr());
    ran.assert_stderr_has(&format!("line 3: group {security} was not in the plan"));
    // A JSON plan with a change added by hand: the same.
    let json = temp_dir("narrow").join("plan.json");
    let ran = s
        .gwb(&[
            "disable-existing-m365",
            "--plan-out",
            json.to_str().unwrap(),
        ])
        .await;
    assert_eq!(ran.code(), 0, "{}", ran.stderr());
    let mut doc: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let mut change = doc["changes"][0].clone();
    change["id"] = security.clone().into();
    doc["changes"].as_array_mut().unwrap().push(change);
    std::fs::write(&json, doc.to_string()).unwrap();
    let ran = s
        .gwb(&[
            "disable-existing-m365",
            "--plan",
            json.to_str().unwrap(),
            "--yes",
        ])
        .await;
    assert_eq!(ran.code(), 2, "{}", ran.stderr());
    ran.assert_stderr_has(&format!("group {security} was not in the plan"));
    assert_eq!(s.count("patch_group_attempt"), 0, "nothing was written");
    assert_eq!(is_enabled(&s, &security), Some(true));

    // A planned group that became a security group since the review: read again, left alone,
    // journaled, and the run fails.
    let converted = recs[1][col(&recs, "id")].clone();
    {
        let mut t = s.emu.shared().tenant();
        let g = t.group_mut(&converted).unwrap();
        g.group_types.clear();
        g.security_enabled = true;
        g.mail_enabled = false;
    }
    std::fs::write(&path, write(&recs, b',', "\n")).unwrap();
    let ran = s
        .gwb(&["disable-existing-m365", "--plan", p, "--yes", "-o", "json"])
        .await;
    assert_eq!(ran.code(), 1, "{}", ran.stderr());
    let v = ran.json();
    assert_eq!(v["summary"]["notPlannable"], 1, "{v}");
    assert_ne!(is_enabled(&s, &converted), Some(false));
    assert_eq!(v["changed"].as_array().unwrap().len(), recs.len() - 3);
    let journal = std::fs::read_to_string(v["journal"].as_str().unwrap()).unwrap();
    assert!(
        journal.contains(&format!(
            r#""groupId":"{converted}","result":"notPlannable""#
        )),
        "{journal}"
    );
}

/// The check at write time: a change whose group is not a cloud Microsoft 365 group when read
/// right before the write is not sent, and is journaled.
#[tokio::test(flavor = "multi_thread")]
async fn a_group_converted_before_its_write_is_skipped_as_not_plannable() {
    use gwb::graph::model::WritebackConfiguration;
    use gwb::writeback::plan::{Change, SkipReason};
    let s = Scenario::groups(40, 74).await;
    let ids = planned(&s);
    let changes: Vec<Change> = {
        let t = s.emu.shared().tenant();
        ids.iter()
            .map(|id| {
                let g = t.group(id).unwrap();
                Change {
                    id: gwb::graph::model::GroupId::parse(id).unwrap(),
                    display_name: Some(g.display_name.clone()),
                    before: g.writeback.clone(),
                    after: WritebackConfiguration {
                        is_enabled: Some(false),
                        on_premises_group_type: g.writeback.on_premises_group_type.clone(),
                    },
                    role_assignable: false,
                }
            })
            .collect()
    };
    s.emu
        .shared()
        .tenant()
        .group_mut(&ids[0])
        .unwrap()
        .on_premises_sync_enabled = Some(true);
    let (client, _) = crate::support::client(&s.emu.url());
    let path = temp_dir("converted").join("j.jsonl");
    let journal =
        gwb::journal::Journal::create(&path, "r", "disable-existing-m365", "emulator", None)
            .unwrap();
    let applied = crate::support::apply_as_disable(&client, &changes, &journal).await;
    let skipped: Vec<_> = applied
        .skipped
        .iter()
        .filter(|k| k.reason == SkipReason::NotPlannable)
        .map(|k| k.id.clone())
        .collect();
    assert_eq!(skipped, vec![ids[0].clone()]);
    assert_eq!(applied.changed.len(), ids.len() - 1);
    assert_ne!(is_enabled(&s, &ids[0]), Some(false));
    let read = gwb::journal::read(&path).unwrap();
    assert_eq!(read.outcomes[&ids[0]], "notPlannable");
}

#[tokio::test(flavor = "multi_thread")]
async fn one_group_in_two_rows_is_refused_naming_both_lines() {
    let s = Scenario::groups(60, 75).await;
    let (path, recs) = review(&s, &[]).await;
    let p = path.to_str().unwrap();
    let decision = col(&recs, "decision");
    // Two reviewers' files joined: the group once kept and once disabled.
    for copy in ["keep", "disable"] {
        let mut twice = recs.clone();
        let mut row = twice[1].clone();
        row[decision] = copy.into();
        twice.push(row);
        std::fs::write(&path, write(&twice, b',', "\n")).unwrap();
        let ran = s
            .gwb(&["disable-existing-m365", "--plan", p, "--yes"])
            .await;
        assert_eq!(ran.code(), 2, "{}", ran.stderr());
        let id = &recs[1][col(&recs, "id")];
        ran.assert_stderr_has(&format!(
            "group {id} is in line 2 and again in line {}",
            twice.len()
        ));
        assert!(!ran.stderr().contains("[[policy.exception]]"));
    }
    assert_eq!(s.count("patch_group_attempt"), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_renamed_group_is_shown_and_a_resorted_file_is_refused_unattended() {
    let s = Scenario::groups(60, 76).await;
    let (path, recs) = review(&s, &[]).await;
    let p = path.to_str().unwrap();
    let (id, name) = (col(&recs, "id"), col(&recs, "displayName"));
    let renamed = recs[1][id].clone();
    s.emu
        .shared()
        .tenant()
        .group_mut(&renamed)
        .unwrap()
        .display_name = "Renamed since".into();
    let ran = s
        .gwb(&["disable-existing-m365", "--plan", p, "--yes"])
        .await;
    assert_eq!(ran.code(), 2, "{}", ran.stderr());
    ran.assert_stderr_has(&format!(
        "line 2: {renamed}  review: {:?}  now: \"Renamed since\"",
        recs[1][name]
    ));
    ran.assert_stderr_has("--accept-renamed");
    assert_eq!(s.count("patch_group_attempt"), 0);

    // One column sorted on its own: names no longer belong to their ids.
    let mut misaligned = recs.clone();
    let last = misaligned.len() - 1;
    let mut names: Vec<String> = misaligned[1..last]
        .iter()
        .map(|r| r[name].clone())
        .collect();
    names.sort();
    names.reverse();
    for (r, n) in misaligned[1..last].iter_mut().zip(names) {
        r[name] = n;
    }
    std::fs::write(&path, write(&misaligned, b',', "\n")).unwrap();
    let ran = s
        .gwb(&["disable-existing-m365", "--plan", p, "--yes"])
        .await;
    assert_eq!(ran.code(), 2, "{}", ran.stderr());
    ran.assert_stderr_has("the file looks re-sorted");
    assert_eq!(s.count("patch_group_attempt"), 0);

    // Accepted: applied, and counted.
    std::fs::write(&path, write(&recs, b',', "\n")).unwrap();
    let ran = s
        .gwb(&[
            "disable-existing-m365",
            "--plan",
            p,
            "--yes",
            "--accept-renamed",
            "-o",
            "json",
        ])
        .await;
    assert_eq!(ran.code(), 0, "{}", ran.stderr());
    assert_eq!(ran.json()["summary"]["renamedSinceReview"], 1);
    assert_eq!(is_enabled(&s, &renamed), Some(false));
}

/// Windows-1252 as Excel on Windows writes it: `?` for what it cannot hold.
fn cp1252(text: &str) -> Vec<u8> {
    text.chars()
        .map(|c| match c {
            '–' => 0x96,
            '€' => 0x80,
            c if (c as u32) < 0x80 || (0xA0..=0xFF).contains(&(c as u32)) => c as u32 as u8,
            _ => b'?',
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_review_saved_by_a_european_excel_and_sorted_still_applies_exactly() {
    let s = Scenario::groups(60, 77).await;
    let ids = planned(&s);
    let names = [
        "Équipe Zürich – Ventes",
        "東京 office",
        "Sales; EMEA \"core\"",
    ];
    {
        let mut t = s.emu.shared().tenant();
        for (id, n) in ids.iter().zip(names) {
            t.group_mut(id).unwrap().display_name = n.into();
        }
    }
    let (path, mut recs) = review(&s, &[]).await;
    let p = path.to_str().unwrap();
    let kept = ids[3].clone();
    let decision = col(&recs, "decision");
    row_of(&mut recs, &kept)[decision] = "keep".into();
    // Sorted by name without "my data has headers": the header and the plan's record move too.
    let name = col(&recs, "displayName");
    recs.sort_by(|a, b| b.get(name).cmp(&a.get(name)));
    assert_ne!(recs[0][0], "decision", "the header moved");
    let saved = cp1252(&String::from_utf8(write(&recs, b';', "\r\n")).unwrap());
    assert!(std::str::from_utf8(&saved).is_err(), "not UTF-8");
    std::fs::write(&path, &saved).unwrap();
    let ran = s
        .gwb(&["disable-existing-m365", "--plan", p, "--yes", "-o", "json"])
        .await;
    assert_eq!(ran.code(), 0, "{}", ran.stderr());
    ran.assert_stderr_has("read as Windows-1252");
    ran.assert_stderr_has("the header row is on line");
    let v = ran.json();
    assert_eq!(v["summary"]["renamedSinceReview"], 0, "{v}");
    for id in &ids {
        let want = if *id == kept { None } else { Some(false) };
        assert_eq!(
            is_enabled(&s, id).filter(|e| !e),
            want,
            "{id} {:?}",
            s.emu.shared().tenant().group(id).unwrap().display_name
        );
    }
}
