//! Fleet runs (issue 19): many `[[tenants]]` in one run, each against its own emulator, with
//! one merged output and one exit code. Every tenant here is an emulator of its own (its own
//! Graph root, so its own run lock, state file and journals), and one config file names them.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use gwb::emulator::{Emulator, EmulatorConfig};
use serde_json::Value;

use crate::support::*;

mod digest;

/// A fleet: `n` tenants named `t00`, `t01`, ..., each an emulator with a few groups.
pub struct Fleet {
    pub emus: Vec<Emulator>,
    pub dir: PathBuf,
    config: PathBuf,
}

/// How a tenant of the fleet is set up.
#[derive(Clone, Copy, PartialEq)]
pub enum Kind {
    Healthy,
    /// Its graph_url points where nothing listens.
    Unreachable,
    /// Its emulator accepts only another token: Graph refuses the sign-in (401).
    RefusesSignIn,
}

impl Fleet {
    pub async fn new(n: usize, groups: usize, kinds: &[(usize, Kind)], extra: &str) -> Fleet {
        let dir = temp_dir("fleet");
        std::fs::write(dir.join("token"), TOKEN).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let p = std::fs::Permissions::from_mode(0o600);
            std::fs::set_permissions(dir.join("token"), p).unwrap();
        }
        let mut toml = format!(
            "auth = \"access-token\"\naccess_token_file = \"{}\"\n{extra}\n",
            dir.join("token").display()
        );
        let mut emus = Vec::new();
        for i in 0..n {
            let kind = kinds
                .iter()
                .find(|(k, _)| *k == i)
                .map_or(Kind::Healthy, |(_, k)| *k);
            let cfg = EmulatorConfig {
                only_token: (kind == Kind::RefusesSignIn).then(|| "another-tenants-token".into()),
                ..Default::default()
            };
            let emu = emulator_with(plain_tenant(groups, 100 + i as u64), cfg).await;
            let url = if kind == Kind::Unreachable {
                // A port that was just free: nothing listens there.
                let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
                format!("http://{}", l.local_addr().unwrap())
            } else {
                emu.url()
            };
            toml.push_str(&format!(
                "\n[[tenants]]\nname = \"t{i:02}\"\ngraph_url = \"{url}\"\n"
            ));
            emus.push(emu);
        }
        let config = dir.join("gwb.toml");
        std::fs::write(&config, toml).unwrap();
        Fleet { emus, dir, config }
    }

    pub async fn gwb(&self, args: &[&str]) -> Ran {
        self.gwb_with(&[], args).await
    }

    async fn gwb_with(&self, env: &[(&str, &str)], args: &[&str]) -> Ran {
        let mut cmd = gwb_command();
        cmd.env("GWB_CONFIG", &self.config)
            .env("XDG_STATE_HOME", self.dir.join("state"))
            .env("GWB_LOCK_DIR", self.dir.join("locks"))
            // The unreachable tenant gives up after a short retry budget.
            .env("GWB_RETRY_BUDGET", "3")
            .args(args);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let out = tokio::time::timeout(Duration::from_secs(300), run(cmd))
            .await
            .expect("gwb ends by itself");
        Ran(out)
    }

    fn state_files(&self) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(self.dir.join("state/gwb"))
            .map(|d| {
                d.filter_map(|e| e.ok())
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        v.sort();
        v
    }
}

fn entries(doc: &Value) -> BTreeMap<String, Value> {
    doc["tenants"]
        .as_array()
        .expect("tenants")
        .iter()
        .map(|t| (t["name"].as_str().unwrap().to_string(), t.clone()))
        .collect()
}

const POLICY: &str = "[policy]\nnew_m365_default = false\nm365_writeback = \"disabled\"\n";

#[tokio::test(flavor = "multi_thread")]
async fn fifty_tenants_in_one_report_one_unreachable_and_one_refusing_sign_in() {
    let f = Fleet::new(
        50,
        6,
        &[(7, Kind::Unreachable), (31, Kind::RefusesSignIn)],
        "",
    )
    .await;
    let ran = f
        .gwb(&["--all-tenants", "--parallel", "8", "report", "-o", "json"])
        .await;
    assert_eq!(ran.code(), 1, "{}", ran.stderr());
    let doc = ran.json();
    assert_eq!(doc["kind"], "gwb.fleet");
    assert_eq!(doc["command"], "report");
    let e = entries(&doc);
    assert_eq!(e.len(), 50);
    for (name, t) in &e {
        let i: usize = name[1..].parse().unwrap();
        match i {
            7 => {
                assert_eq!(t["ok"], false);
                assert_eq!(t["error"]["exitCode"], 1);
                assert!(
                    t["error"]["message"]
                        .as_str()
                        .unwrap()
                        .contains("cannot reach")
                );
            }
            31 => {
                assert_eq!(t["ok"], false);
                assert_eq!(t["error"]["exitCode"], 4, "{t}");
            }
            _ => {
                assert_eq!(t["ok"], true, "{name}: {t}");
                assert_eq!(t["exitCode"], 0);
                // The tenant's own document, from its own emulator.
                let ids = sorted_ids(&t["groups"]);
                let mut want: Vec<String> = f.emus[i]
                    .shared()
                    .tenant()
                    .groups
                    .iter()
                    .map(|g| g.id.clone())
                    .collect();
                want.sort();
                assert_eq!(ids, want, "{name}");
            }
        }
    }
    let s = &doc["summary"];
    assert_eq!(
        (s["tenants"].as_u64(), s["failed"].as_u64()),
        (Some(50), Some(2))
    );
    assert_eq!(s["failedTenants"], serde_json::json!(["t07", "t31"]));
    assert_eq!(s["exitCode"], 1);
    // Every reachable tenant was read, the failures did not stop them.
    assert!(
        f.emus
            .iter()
            .enumerate()
            .all(|(i, e)| matches!(i, 7 | 31) || e.shared().stat("list_groups") > 0)
    );
    assert!(f.emus[31].shared().stat("unauthorized") > 0);
    ran.assert_stderr_has("tenant");
}

#[tokio::test(flavor = "multi_thread")]
async fn every_tenant_refusing_sign_in_exits_4() {
    let f = Fleet::new(
        3,
        3,
        &[
            (0, Kind::RefusesSignIn),
            (1, Kind::RefusesSignIn),
            (2, Kind::RefusesSignIn),
        ],
        "",
    )
    .await;
    let ran = f.gwb(&["--all-tenants", "report", "-o", "json"]).await;
    assert_eq!(ran.code(), 4, "{}", ran.stderr());
    assert_eq!(ran.json()["summary"]["failed"], 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn check_exits_3_on_drift_and_a_tenant_policy_overlays_the_top_level() {
    // t01's policy accepts any writeback and the template default (true, no setting), so only
    // t00 and t02 drift.
    let f = Fleet::new(3, 8, &[], POLICY).await;
    let mut toml = std::fs::read_to_string(&f.config).unwrap();
    let at = toml.find("name = \"t01\"").unwrap();
    let at = at + toml[at..].find("graph_url").unwrap();
    let at = at + toml[at..].find('\n').unwrap() + 1;
    toml.insert_str(
        at,
        "[tenants.policy]\nnew_m365_default = true\nm365_writeback = \"any\"\n",
    );
    std::fs::write(&f.config, toml).unwrap();
    let ran = f.gwb(&["--all-tenants", "check", "-o", "json"]).await;
    assert_eq!(ran.code(), 3, "{}", ran.stderr());
    let doc = ran.json();
    let e = entries(&doc);
    assert_eq!(e["t01"]["exitCode"], 0, "{}", e["t01"]);
    assert_eq!(e["t00"]["exitCode"], 3);
    assert_eq!(
        doc["summary"]["driftedTenants"],
        serde_json::json!(["t00", "t02"])
    );
    // check's memory is kept per tenant, named by it.
    let files = f.state_files();
    for t in ["t00", "t01", "t02"] {
        assert!(
            files
                .iter()
                .any(|n| n.starts_with(&format!("check-{t}-")) && n.ends_with(".json")),
            "{t}: {files:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn ndjson_and_csv_name_each_rows_tenant() {
    let f = Fleet::new(3, 5, &[], "").await;
    let ran = f
        .gwb(&[
            "--tenant", "t00", "--tenant", "t02", "report", "-o", "ndjson",
        ])
        .await;
    assert_eq!(ran.code(), 0, "{}", ran.stderr());
    let mut per: BTreeMap<String, usize> = BTreeMap::new();
    for line in ran.stdout().lines() {
        let v: Value = serde_json::from_str(line).unwrap();
        *per.entry(v["tenant"].as_str().unwrap().to_string())
            .or_default() += 1;
        assert!(v["id"].is_string());
    }
    assert_eq!(per, BTreeMap::from([("t00".into(), 5), ("t02".into(), 5)]));

    let ran = f.gwb(&["--all-tenants", "report", "-o", "csv"]).await;
    assert_eq!(ran.code(), 0);
    let text = ran.stdout();
    let mut lines = text.lines();
    assert!(lines.next().unwrap().starts_with("tenant,id,displayName,"));
    assert_eq!(lines.clone().count(), 15);
    assert!(lines.all(|l| ["t00,", "t01,", "t02,"].iter().any(|p| l.starts_with(p))));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_table_summarises_each_tenant_then_shows_its_details() {
    let f = Fleet::new(2, 4, &[(1, Kind::Unreachable)], "").await;
    let ran = f.gwb(&["--all-tenants", "report", "-o", "table"]).await;
    assert_eq!(ran.code(), 1);
    let text = ran.stdout();
    let summary = text
        .find("2 tenants: 1 ok, 0 drifted, 1 failed; exit 1")
        .expect(&text);
    let details = text.find("== t00").expect(&text);
    assert!(summary < details);
    assert!(text.contains("t01") && text.contains("failed (exit 1)"));
}

#[tokio::test(flavor = "multi_thread")]
async fn shards_are_disjoint_cover_the_fleet_and_merge_into_one_document() {
    let f = Fleet::new(7, 3, &[(4, Kind::RefusesSignIn)], "").await;
    let mut files = Vec::new();
    let mut seen = Vec::new();
    for k in 1..=3 {
        let path = f.dir.join(format!("shard-{k}.json"));
        let shard = format!("{k}/3");
        let ran = f
            .gwb(&["--shard", &shard, "report", "--out", path.to_str().unwrap()])
            .await;
        let doc: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(doc["summary"]["shard"]["index"], k);
        let names: Vec<String> = entries(&doc).into_keys().collect();
        // The stable rule: index in the sorted names, mod 3.
        let want: Vec<String> = (0..7)
            .filter(|i| i % 3 == k - 1)
            .map(|i| format!("t{i:02}"))
            .collect();
        assert_eq!(names, want);
        assert_eq!(
            ran.code(),
            if names.contains(&"t04".to_string()) {
                1
            } else {
                0
            }
        );
        seen.extend(names);
        files.push(path);
    }
    seen.sort();
    assert_eq!(seen, (0..7).map(|i| format!("t{i:02}")).collect::<Vec<_>>());

    // A Kubernetes Indexed Job's pod: --shards 3 with JOB_COMPLETION_INDEX 1 is shard 2/3.
    let ran = f
        .gwb_with(
            &[("JOB_COMPLETION_INDEX", "1")],
            &["--shards", "3", "report", "-o", "json"],
        )
        .await;
    assert_eq!(
        entries(&ran.json()).into_keys().collect::<Vec<_>>(),
        vec!["t01", "t04"]
    );
    let ran = f.gwb(&["--shards", "3", "report", "-o", "json"]).await;
    assert_eq!(ran.code(), 2);
    ran.assert_stderr_has("JOB_COMPLETION_INDEX");

    let mut args = vec!["merge"];
    args.extend(files.iter().map(|p| p.to_str().unwrap()));
    let merged = f.gwb(&args).await;
    assert_eq!(merged.code(), 1, "{}", merged.stderr());
    let doc = merged.json();
    assert_eq!(entries(&doc).len(), 7);
    assert_eq!(doc["summary"]["failedTenants"], serde_json::json!(["t04"]));
    assert_eq!(doc["summary"]["mergedFrom"], 3);

    // The same shard twice is an overlap: refused.
    let twice = f
        .gwb(&[
            "merge",
            files[0].to_str().unwrap(),
            files[0].to_str().unwrap(),
        ])
        .await;
    assert_eq!(twice.code(), 2);
    twice.assert_stderr_has("overlap");

    // A shard that crashed and wrote nothing: the merge knows what it misses, and fails.
    let (one, three) = (files[0].to_str().unwrap(), files[2].to_str().unwrap());
    let partial = f.gwb(&["merge", one, three]).await;
    assert_eq!(partial.code(), 1, "{}", partial.stderr());
    partial.assert_stderr_has("no output for shard 2/3");
    assert_eq!(
        partial.json()["summary"]["missingShards"],
        serde_json::json!(["2/3"])
    );
    let allowed = f.gwb(&["merge", "--allow-missing", one, three]).await;
    assert_eq!(allowed.code(), 0, "{}", allowed.stderr());
    assert_eq!(
        allowed.json()["summary"]["missingShards"],
        serde_json::json!(["2/3"])
    );
    // Shards of another count: outputs of different runs.
    let other = f.dir.join("shard-of-4.json");
    let ran = f
        .gwb(&["--shard", "4/4", "report", "--out", other.to_str().unwrap()])
        .await;
    assert!(ran.code() <= 1, "{}", ran.stderr());
    let mixed = f
        .gwb(&["merge", other.to_str().unwrap(), files[1].to_str().unwrap()])
        .await;
    assert_eq!(mixed.code(), 1, "{}", mixed.stderr());
    mixed.assert_stderr_has("disagree on how many shards");
    // A shard with no tenants still writes its document, which counts for the merge.
    let empty = f.dir.join("shard-8.json");
    let ran = f
        .gwb(&["--shard", "8/8", "report", "--out", empty.to_str().unwrap()])
        .await;
    assert_eq!(ran.code(), 0, "{}", ran.stderr());
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(&empty).unwrap()).unwrap();
    assert_eq!(doc["summary"]["shard"]["index"], 8);
    assert_eq!(doc["tenants"], serde_json::json!([]));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_fleet_disable_journals_each_tenant_and_each_journal_restores_it_exactly() {
    let f = Fleet::new(4, 12, &[], "").await;
    let before: Vec<_> = f
        .emus
        .iter()
        .map(|e| e.shared().tenant().groups.clone())
        .collect();
    let should: Vec<usize> = before
        .iter()
        .map(|gs| gs.iter().filter(|g| should_change(g)).count())
        .collect();
    assert!(should.iter().all(|&n| n > 0), "{should:?}");
    let ran = f
        .gwb(&[
            "--all-tenants",
            "--parallel",
            "2",
            "disable-existing-m365",
            "--yes",
            "-o",
            "json",
        ])
        .await;
    assert_eq!(ran.code(), 0, "{}", ran.stderr());
    let doc = ran.json();
    // Every write went through the budget shared across tenants.
    assert_eq!(
        doc["summary"]["writes"],
        should.iter().sum::<usize>() as u64
    );
    for (i, emu) in f.emus.iter().enumerate() {
        assert!(
            emu.shared()
                .tenant()
                .groups
                .iter()
                .all(|g| !should_change(g)),
            "t{i:02} still has groups to change"
        );
    }
    // One journal per tenant, named by it.
    let journals: Vec<String> = f
        .state_files()
        .into_iter()
        .filter(|n| n.ends_with(".jsonl"))
        .collect();
    assert_eq!(journals.len(), 4, "{journals:?}");
    for i in 0..4 {
        let prefix = format!("disable-existing-m365-t{i:02}-");
        assert!(
            journals.iter().any(|j| j.starts_with(&prefix)),
            "{journals:?}"
        );
    }
    // Each tenant's newest journal restores that tenant, and only it.
    for i in [2, 0] {
        let name = format!("t{i:02}");
        let ran = f
            .gwb(&[
                "--tenant", &name, "restore", "--last", "--yes", "-o", "json",
            ])
            .await;
        assert_eq!(ran.code(), 0, "{}", ran.stderr());
        assert_eq!(f.emus[i].shared().tenant().groups, before[i], "{name}");
    }
    for i in [1, 3] {
        assert!(
            f.emus[i]
                .shared()
                .tenant()
                .groups
                .iter()
                .all(|g| !should_change(g))
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_fleet_requests_are_refused_before_anything_runs() {
    let f = Fleet::new(2, 3, &[], "").await;
    for (args, needle) in [
        (
            vec!["--tenant", "t00", "--tenant", "nope", "report"],
            "nope",
        ),
        (
            vec!["--all-tenants", "--tenant", "t00", "report"],
            "not both",
        ),
        (
            vec!["--all-tenants", "--parallel", "0", "report"],
            "--parallel",
        ),
        (vec!["--shard", "4/3", "report"], "--shard"),
        (vec!["--all-tenants", "restore", "--last"], "one tenant"),
        (
            vec![
                "--all-tenants",
                "set-default",
                "false",
                "--journal",
                "/tmp/j",
            ],
            "--journal",
        ),
        (
            vec![
                "--all-tenants",
                "disable-existing-m365",
                "--journal",
                "/tmp/j",
            ],
            "--journal",
        ),
    ] {
        let ran = f.gwb(&args).await;
        assert_eq!(ran.code(), 2, "{args:?}: {}", ran.stderr());
        ran.assert_stderr_has(needle);
    }
    assert!(f.emus.iter().all(|e| e.shared().stat("list_groups") == 0));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_fleet_sets_every_tenants_default_and_journals_each() {
    let f = Fleet::new(3, 4, &[(2, Kind::Unreachable)], "").await;
    let ran = f
        .gwb(&["--all-tenants", "set-default", "false", "-o", "json"])
        .await;
    assert_eq!(ran.code(), 1, "t02 is unreachable: {}", ran.stderr());
    let e = entries(&ran.json());
    assert_eq!(e["t00"]["ok"], true, "{}", e["t00"]);
    assert_eq!(e["t02"]["ok"], false);
    for i in [0, 1] {
        let t = f.emus[i].shared().tenant();
        let value = t
            .settings
            .iter()
            .flat_map(|s| s.values.iter())
            .find(|v| v.name == "NewUnifiedGroupWritebackDefault")
            .and_then(|v| v.value.clone());
        assert_eq!(value.as_deref(), Some("false"), "t{i:02}");
    }
    let journals = f.state_files();
    assert!(
        journals.iter().any(|j| j.starts_with("set-default-t00-")),
        "{journals:?}"
    );
    assert!(
        journals.iter().any(|j| j.starts_with("set-default-t01-")),
        "{journals:?}"
    );
}

/// Two entries on one Graph root with tokens that do not say their tenant (opaque access
/// tokens): each writing run locks by its entry's name, so neither waits for the other.
#[tokio::test(flavor = "multi_thread")]
async fn tenants_on_one_root_with_opaque_tokens_do_not_share_a_lock() {
    let f = Fleet::new(1, 10, &[], "").await;
    let url = f.emus[0].url();
    let mut toml = std::fs::read_to_string(&f.config).unwrap();
    toml.push_str(&format!(
        "\n[[tenants]]\nname = \"same-root\"\ngraph_url = \"{url}\"\n"
    ));
    std::fs::write(&f.config, toml).unwrap();
    // Another run holds the lock that a token without a tenant id takes at this root.
    let _held = gwb::lock::RunLock::acquire(
        &f.dir.join("locks"),
        gwb::lock::LockKey {
            graph_root: &url,
            tenant_id: None,
        },
        "report",
    )
    .expect("the test takes the lock");
    let ran = f
        .gwb(&[
            "--all-tenants",
            "--parallel",
            "2",
            "disable-existing-m365",
            "--yes",
            "-o",
            "json",
        ])
        .await;
    // Both ran: neither was refused with the lock's exit 5.
    let e = entries(&ran.json());
    assert_eq!(e.len(), 2);
    assert!(e.values().all(|t| t["exitCode"] == 0), "{e:?}");
}

/// SIGTERM during a fleet run (a Kubernetes pod evicted, a deadline): the tenant in flight
/// sends no writes and reports itself stopped, no further tenant starts, and the merged
/// document says so, with exit 143. Driven by the emulator's held page and the notice gwb
/// prints once it has seen the signal, never by the clock.
#[tokio::test(flavor = "multi_thread")]
async fn sigterm_stops_the_fleet_and_says_which_tenants_did_not_start() {
    use std::io::{BufRead, BufReader, Read};
    let gate = std::sync::Arc::new(tokio::sync::Semaphore::new(0));
    let f = Fleet::new(2, 12, &[], "").await;
    // t00's listing waits at its second page until the test lets it go.
    let held = emulator_with(
        plain_tenant(2_500, 41),
        EmulatorConfig {
            hold_pages: Some((999, gate.clone())),
            ..Default::default()
        },
    )
    .await;
    let toml = std::fs::read_to_string(&f.config)
        .unwrap()
        .replace(&f.emus[0].url(), &held.url());
    std::fs::write(&f.config, toml).unwrap();
    let before = held.shared().tenant().groups.clone();

    let mut cmd = gwb_command();
    cmd.env("GWB_CONFIG", &f.config)
        .env("XDG_STATE_HOME", f.dir.join("state"))
        .env("GWB_LOCK_DIR", f.dir.join("locks"))
        .args([
            "--all-tenants",
            "--parallel",
            "1",
            "disable-existing-m365",
            "--yes",
            "-o",
            "json",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let _guard = HangGuard::new(child.id(), 120);
    // Wait (bounded by the guard) until t00 asks for its held page.
    while held.shared().stat("held_pages") < 1 {
        if let Some(status) = child.try_wait().unwrap() {
            let mut err = String::new();
            child
                .stderr
                .take()
                .unwrap()
                .read_to_string(&mut err)
                .unwrap();
            panic!("gwb ended before the held page: {status:?}: {err}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (seen, rest) = tokio::task::spawn_blocking(move || {
        let mut lines = BufReader::new(stderr);
        let mut seen = Vec::new();
        loop {
            let mut l = String::new();
            if lines.read_line(&mut l).unwrap_or(0) == 0 {
                break;
            }
            let done = l.contains("SIGTERM");
            seen.push(l);
            if done {
                break;
            }
        }
        (seen, lines)
    })
    .await
    .unwrap();
    assert!(
        seen.last().is_some_and(|l| l.contains("SIGTERM")),
        "{seen:?}"
    );
    gate.add_permits(1_000);
    let mut stdout = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut stdout)
        .unwrap();
    let status = tokio::task::spawn_blocking(move || {
        let mut rest = rest;
        let mut tail = String::new();
        let _ = rest.read_to_string(&mut tail);
        (child.wait().unwrap(), tail)
    })
    .await
    .unwrap();
    assert_eq!(status.0.code(), Some(143), "{}", status.1);
    let doc: Value = serde_json::from_str(&stdout).expect(&stdout);
    let e = entries(&doc);
    assert_eq!(e["t00"]["exitCode"], 143, "{}", e["t00"]);
    assert_eq!(e["t01"]["ok"], false);
    assert!(
        e["t01"]["error"]["message"]
            .as_str()
            .unwrap()
            .contains("not started"),
        "{}",
        e["t01"]
    );
    assert_eq!(doc["summary"]["exitCode"], 143);
    // Nothing was written anywhere.
    assert_eq!(held.shared().tenant().groups, before);
    assert_eq!(f.emus[1].shared().stat("list_groups"), 0);
    assert_eq!(held.shared().stat("batch"), 0);
}

/// A tenant's own `[tenants.policy]` binds the fleet's bulk disable of that tenant, and each
/// tenant's journal ends the run with its own way back (`--tenant NAME`).
#[tokio::test(flavor = "multi_thread")]
async fn a_tenants_own_policy_keeps_its_groups_in_a_fleet_disable() {
    let f = Fleet::new(2, 12, &[], "").await;
    let kept = f.emus[1]
        .shared()
        .tenant()
        .groups
        .iter()
        .find(|g| should_change(g))
        .unwrap()
        .id
        .clone();
    // The file's last [[tenants]] entry is t01: its policy table follows it.
    let mut toml = std::fs::read_to_string(&f.config).unwrap();
    toml.push_str(&format!("\n[tenants.policy]\nallow = [\"{kept}\"]\n"));
    std::fs::write(&f.config, toml).unwrap();
    let ran = f
        .gwb(&[
            "--all-tenants",
            "disable-existing-m365",
            "--yes",
            "-o",
            "json",
        ])
        .await;
    assert_eq!(ran.code(), 0, "{}", ran.stderr());
    let by = entries(&ran.json());
    assert_eq!(by["t01"]["summary"]["excludedByPolicy"], 1, "{by:?}");
    assert_eq!(by["t00"]["summary"]["excludedByPolicy"], 0);
    assert!(should_change(
        f.emus[1].shared().tenant().group(&kept).unwrap()
    ));
    assert!(
        f.emus[0]
            .shared()
            .tenant()
            .groups
            .iter()
            .all(|g| !should_change(g))
    );
    for name in ["t00", "t01"] {
        ran.assert_stderr_has(&format!(
            "gwb: undo with: gwb --config {} --tenant {name} restore --journal ",
            f.config.display()
        ));
    }
}

/// A token left in the shell from a one-tenant session is one tenant's: a run over several
/// tenants sends it to none of them. The entry without a credential of its own fails alone,
/// saying what it lacks, and its metrics file says it failed; the other tenant runs.
#[tokio::test(flavor = "multi_thread")]
async fn a_token_from_the_environment_never_crosses_tenants() {
    let dir = temp_dir("fleet-token");
    let own = dir.join("t00.token");
    std::fs::write(&own, TOKEN).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&own, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let a = emulator_with(plain_tenant(12, 200), EmulatorConfig::default()).await;
    let b = emulator_with(plain_tenant(12, 201), EmulatorConfig::default()).await;
    let config = dir.join("gwb.toml");
    std::fs::write(
        &config,
        format!(
            "[[tenants]]\nname = \"t00\"\ngraph_url = \"{}\"\nauth = \"access-token\"\naccess_token_file = \"{}\"\n\n[[tenants]]\nname = \"t01\"\ngraph_url = \"{}\"\n",
            a.url(),
            own.display(),
            b.url()
        ),
    )
    .unwrap();
    let prom = dir.join("gwb.prom");
    let mut cmd = gwb_command();
    cmd.env("GWB_CONFIG", &config)
        .env("XDG_STATE_HOME", dir.join("state"))
        .env("GWB_ACCESS_TOKEN", "t00s-token-left-in-the-shell")
        .args([
            "--all-tenants",
            "--metrics-file",
            prom.to_str().unwrap(),
            "report",
            "-o",
            "json",
        ]);
    let out = run(cmd).await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let by = entries(&json_of(&out));
    assert_eq!(by["t00"]["ok"], true, "{by:?}");
    assert_eq!(by["t01"]["ok"], false);
    let error = by["t01"]["error"]["message"].as_str().unwrap();
    assert!(
        error.contains("no credential of its own") && error.contains("GWB_ACCESS_TOKEN"),
        "{error}"
    );
    assert_eq!(b.shared().stat("requests"), 0, "t01's Graph got no request");
    let m = std::fs::read_to_string(dir.join("gwb-t01.prom")).unwrap();
    assert!(
        m.contains(
            "gwb_last_run_success{tenant=\"unknown\",tenant_name=\"t01\",command=\"report\"} 0"
        ),
        "{m}"
    );
    assert!(!stderr(&out).contains("t00s-token-left-in-the-shell"));
}
