//! The ready-made job definitions under examples/: valid files, and gwb command lines that gwb
//! itself accepts.

use std::path::PathBuf;

use clap::Parser as _;
use gwb::cli::{Cli, Command};
use yaml_rust2::{Yaml, YamlLoader};

use crate::support::{emulator, gwb_command, run, stderr, temp_dir};

fn example(path: &str) -> (PathBuf, String) {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("examples")
        .join(path);
    let text = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    (p, text)
}

fn yaml(path: &str) -> Vec<Yaml> {
    let (_, text) = example(path);
    YamlLoader::load_from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Parse a gwb command line as gwb would; it must be `check --fix --yes` with a change guard.
fn assert_nightly_check(args: &[&str]) {
    let argv: Vec<&str> = std::iter::once("gwb").chain(args.iter().copied()).collect();
    let cli = Cli::try_parse_from(&argv).unwrap_or_else(|e| panic!("{argv:?}: {e}"));
    match cli.command {
        Command::Check(c) => {
            assert!(c.fix && c.apply.yes, "{argv:?}");
            assert!(c.apply.max_changes.is_some(), "a guard: {argv:?}");
        }
        other => panic!("{argv:?} is {other:?}"),
    }
}

/// A container's `args`, as the strings gwb gets.
fn container_args(container: &Yaml) -> Vec<&str> {
    container["args"]
        .as_vec()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect()
}

fn env_value<'a>(env: &'a Yaml, name: &str) -> Option<&'a str> {
    env.as_vec()?
        .iter()
        .find(|e| e["name"].as_str() == Some(name))?["value"]
        .as_str()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_kubernetes_cronjob_uses_workload_identity_and_a_policy_gwb_accepts() {
    let docs = yaml("kubernetes/gwb-check-cronjob.yaml");
    let kind = |k: &str| {
        docs.iter()
            .find(|d| d["kind"].as_str() == Some(k))
            .unwrap_or_else(|| panic!("no {k}"))
    };
    let sa = kind("ServiceAccount");
    let cron = kind("CronJob");
    assert_eq!(cron["apiVersion"].as_str(), Some("batch/v1"));
    assert!(
        cron["spec"]["schedule"]
            .as_str()
            .unwrap()
            .split(' ')
            .count()
            == 5
    );
    assert_eq!(cron["spec"]["concurrencyPolicy"].as_str(), Some("Forbid"));
    let pod = &cron["spec"]["jobTemplate"]["spec"]["template"];
    assert_eq!(
        pod["metadata"]["labels"]["azure.workload.identity/use"].as_str(),
        Some("true"),
        "the label is a string \"true\""
    );
    assert_eq!(
        pod["spec"]["serviceAccountName"].as_str(),
        sa["metadata"]["name"].as_str()
    );
    assert!(
        sa["metadata"]["annotations"]["azure.workload.identity/client-id"]
            .as_str()
            .is_some()
    );
    let container = &pod["spec"]["containers"][0];
    let args = container_args(container);
    assert_nightly_check(&args);
    let env = &container["env"];
    assert_eq!(env_value(env, "GWB_LOG_FORMAT"), Some("json"));
    let config_path = env_value(env, "GWB_CONFIG").unwrap();
    let mounts = container["volumeMounts"].as_vec().unwrap();
    assert!(
        mounts
            .iter()
            .any(|m| config_path.starts_with(m["mountPath"].as_str().unwrap())),
        "the config is mounted where GWB_CONFIG points"
    );

    // The ConfigMap's config.toml is a config gwb accepts, with a policy to check.
    let config = kind("ConfigMap")["data"]["config.toml"].as_str().unwrap();
    let path = temp_dir("k8s-example").join("config.toml");
    std::fs::write(&path, config).unwrap();
    let emu = emulator(50, 1, 0.0).await;
    let mut cmd = gwb_command();
    cmd.env("GWB_GRAPH_URL", emu.url())
        .env("GWB_ACCESS_TOKEN", crate::support::TOKEN)
        .args(["--config", path.to_str().unwrap(), "check", "-o", "json"]);
    let out = run(cmd).await;
    assert!(matches!(out.status.code(), Some(0 | 3)), "{}", stderr(&out));
}

#[test]
fn the_github_workflow_federates_and_runs_gwb_nightly() {
    let docs = yaml("github-actions/gwb-check.yml");
    let w = &docs[0];
    assert!(
        w["on"]["schedule"][0]["cron"].as_str().is_some(),
        "a nightly schedule"
    );
    assert_eq!(w["permissions"]["id-token"].as_str(), Some("write"));
    let job = &w["jobs"]["check"];
    let env = &job["env"];
    assert_eq!(env["GWB_LOG_FORMAT"].as_str(), Some("json"));
    assert!(env["AZURE_FEDERATED_TOKEN_FILE"].as_str().is_some());
    let runs: Vec<&str> = job["steps"]
        .as_vec()
        .unwrap()
        .iter()
        .filter_map(|s| s["run"].as_str())
        .collect();
    let line = runs
        .iter()
        .flat_map(|r| r.lines())
        .find(|l| l.trim_start().starts_with("gwb "))
        .expect("a step runs gwb");
    let args: Vec<&str> = line
        .split('>')
        .next()
        .unwrap()
        .split_whitespace()
        .skip(1)
        .collect();
    assert_nightly_check(&args);
    assert!(
        runs.iter().any(|r| r.contains("AZURE_FEDERATED_TOKEN_FILE")
            && r.contains("api://AzureADTokenExchange")),
        "the OIDC token is written where gwb reads it"
    );
}

#[test]
fn the_systemd_units_are_valid() {
    let (service_path, service) = example("systemd/gwb-check.service");
    let (_, timer) = example("systemd/gwb-check.timer");
    // Structure, checked everywhere.
    let exec = service
        .lines()
        .find_map(|l| l.strip_prefix("ExecStart="))
        .expect("ExecStart");
    let args: Vec<&str> = exec.split_whitespace().skip(1).collect();
    assert_nightly_check(&args);
    for key in [
        "[Service]",
        "Type=oneshot",
        "Environment=GWB_LOG_FORMAT=json",
        "StateDirectory=gwb",
    ] {
        assert!(service.lines().any(|l| l == key), "{key}");
    }
    for key in ["[Timer]", "[Install]", "WantedBy=timers.target"] {
        assert!(timer.lines().any(|l| l == key), "{key}");
    }
    assert!(timer.lines().any(|l| l.starts_with("OnCalendar=")));

    // systemd's own check, where systemd-analyze exists: the units as installed, with the
    // binary path pointing at the gwb just built (verify wants an executable there).
    let have = std::process::Command::new("systemd-analyze")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !have {
        eprintln!("systemd-analyze not found: structural check only");
        return;
    }
    let dir = temp_dir("systemd-verify");
    let installed = service.replace("/usr/local/bin/gwb", env!("CARGO_BIN_EXE_gwb"));
    std::fs::write(dir.join("gwb-check.service"), installed).unwrap();
    std::fs::write(dir.join("gwb-check.timer"), &timer).unwrap();
    let out = std::process::Command::new("systemd-analyze")
        .args(["verify", "--man=no"])
        .arg(dir.join("gwb-check.service"))
        .arg(dir.join("gwb-check.timer"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}: {}",
        service_path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn the_dockerfile_builds_in_stages_and_runs_gwb_as_a_non_root_user() {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/Dockerfile")).unwrap();
    let instructions: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    let froms: Vec<&&str> = instructions
        .iter()
        .filter(|l| l.starts_with("FROM "))
        .collect();
    assert_eq!(
        froms.len(),
        2,
        "a build stage and a runtime stage: {froms:?}"
    );
    assert!(
        froms[0].ends_with(" AS build") && froms[1].contains("-slim"),
        "{froms:?}"
    );
    assert!(
        instructions
            .iter()
            .any(|l| l.starts_with("COPY --from=build") && l.ends_with("/usr/local/bin/gwb")),
        "only the binary is copied into the runtime image"
    );
    assert!(
        text.contains("cargo build --release --locked"),
        "a locked build"
    );
    let user = instructions
        .iter()
        .rev()
        .find(|l| l.starts_with("USER "))
        .expect("a USER");
    assert!(!user.contains("root") && !user.contains(" 0"), "{user}");
    assert_eq!(
        instructions.iter().find(|l| l.starts_with("ENTRYPOINT")),
        Some(&r#"ENTRYPOINT ["gwb"]"#)
    );
    // The Rust image is the one rust-version in Cargo.toml names, so the build is the tested one.
    let manifest =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml")).unwrap();
    let msrv = manifest
        .lines()
        .find_map(|l| l.strip_prefix("rust-version = "))
        .unwrap()
        .trim_matches('"');
    assert!(
        froms[0].contains(&format!("rust:{msrv}")),
        "{froms:?} vs {msrv}"
    );
}

#[test]
fn the_job_examples_use_the_image_not_placeholders_of_someone_elses() {
    let k8s = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/kubernetes/gwb-check-cronjob.yaml"
    ))
    .unwrap();
    let gha = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/github-actions/gwb-check.yml"
    ))
    .unwrap();
    for text in [&k8s, &gha] {
        assert!(!text.contains("example.com"), "no example.com placeholders");
        assert!(
            !text.contains("github.com/example"),
            "no example repository"
        );
        assert!(
            text.contains("gwb:0.1.0"),
            "the image built from the Dockerfile"
        );
    }
    // The federated credential's subject in the sign-in guide is the one this workflow's token
    // has.
    assert!(gha.contains("environment: tenant"));
    let guide =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/sign-in.md")).unwrap();
    assert!(guide.contains("repo:<org>/<repo>:environment:tenant"));
}

/// Parse a fleet command line as gwb would: a sharded check --fix with a guard, a per-pod
/// share of the cross-tenant write budget and several tenants at once.
fn assert_fleet_check(args: &[&str], shards: usize) -> Cli {
    let argv: Vec<&str> = std::iter::once("gwb").chain(args.iter().copied()).collect();
    let cli = Cli::try_parse_from(&argv).unwrap_or_else(|e| panic!("{argv:?}: {e}"));
    let g = &cli.global;
    assert!(
        g.shards == Some(shards)
            || g.shard
                .as_deref()
                .is_some_and(|s| s.ends_with(&format!("/{shards}"))),
        "{argv:?}"
    );
    assert!(g.parallel.is_some_and(|p| p > 1), "{argv:?}");
    assert_eq!(
        g.fleet_write_limit,
        // Graph: 35,000 writes per 5 minutes per app across all tenants (GRAPH.md section 6).
        Some(35_000 / shards as u32),
        "each shard gets its share of the per-app budget: {argv:?}"
    );
    assert!(
        g.out.is_some(),
        "each shard writes its own document: {argv:?}"
    );
    match &cli.command {
        Command::Check(c) => assert!(c.fix && c.apply.yes && c.apply.max_changes.is_some()),
        other => panic!("{argv:?} is {other:?}"),
    }
    cli
}

#[test]
fn the_kubernetes_indexed_job_shards_the_fleet_gwb_accepts() {
    let docs = yaml("kubernetes/gwb-fleet-indexed-cronjob.yaml");
    let kind = |k: &str| {
        docs.iter()
            .find(|d| d["kind"].as_str() == Some(k))
            .unwrap_or_else(|| panic!("no {k}"))
    };
    let job = &kind("CronJob")["spec"]["jobTemplate"]["spec"];
    assert_eq!(job["completionMode"].as_str(), Some("Indexed"));
    let completions = job["completions"].as_i64().unwrap() as usize;
    let pod = &job["template"];
    assert_eq!(
        pod["metadata"]["labels"]["azure.workload.identity/use"].as_str(),
        Some("true")
    );
    let container = &pod["spec"]["containers"][0];
    let args = container_args(container);
    let cli = assert_fleet_check(&args, completions);
    assert_eq!(
        cli.global.shards,
        Some(completions),
        "--shards equals completions"
    );
    // $(JOB_COMPLETION_INDEX) in args is expanded only for a variable of the container's env.
    let env = &container["env"];
    let index = env
        .as_vec()
        .unwrap()
        .iter()
        .find(|e| e["name"].as_str() == Some("JOB_COMPLETION_INDEX"))
        .expect("JOB_COMPLETION_INDEX in env");
    assert!(
        index["valueFrom"]["fieldRef"]["fieldPath"]
            .as_str()
            .unwrap()
            .contains("batch.kubernetes.io/job-completion-index")
    );
    assert!(args.iter().any(|a| a.contains("$(JOB_COMPLETION_INDEX)")));
    // The shards share the state volume across nodes.
    assert_eq!(
        kind("PersistentVolumeClaim")["spec"]["accessModes"][0].as_str(),
        Some("ReadWriteMany")
    );

    // The inventory is one gwb reads, and the pods' shards cover it.
    let config = kind("ConfigMap")["data"]["config.toml"].as_str().unwrap();
    let dir = temp_dir("k8s-fleet");
    let path = dir.join("config.toml");
    std::fs::write(&path, config).unwrap();
    let mut cmd = gwb_command();
    cmd.env("GWB_CONFIG", &path)
        .args(["config", "show", "-o", "json"]);
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let shown: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let tenants = shown["settings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["key"] == "tenants")
        .expect("the inventory is listed")["value"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(tenants, "contoso, fabrikam, northwind");
}

#[test]
fn the_github_actions_matrix_runs_every_shard_then_merges_them() {
    let docs = yaml("github-actions/gwb-fleet.yml");
    let w = &docs[0];
    assert_eq!(w["permissions"]["id-token"].as_str(), Some("write"));
    let shard = &w["jobs"]["shard"];
    assert_eq!(shard["strategy"]["fail-fast"].as_bool(), Some(false));
    let matrix: Vec<i64> = shard["strategy"]["matrix"]["shard"]
        .as_vec()
        .unwrap()
        .iter()
        .map(|v| v.as_i64().unwrap())
        .collect();
    let n = matrix.len();
    assert_eq!(matrix, (1..=n as i64).collect::<Vec<_>>(), "shards 1..N");
    let gwb_line = |job: &Yaml| -> String {
        job["steps"]
            .as_vec()
            .unwrap()
            .iter()
            .filter_map(|s| s["run"].as_str())
            .flat_map(|r| r.lines())
            .find(|l| l.trim_start().starts_with("gwb "))
            .expect("a step runs gwb")
            .trim()
            .to_string()
    };
    for k in &matrix {
        let line = gwb_line(shard).replace("${{ matrix.shard }}", &k.to_string());
        let args: Vec<&str> = line.split_whitespace().skip(1).collect();
        let cli = assert_fleet_check(&args, n);
        assert_eq!(cli.global.shard, Some(format!("{k}/{n}")));
    }
    let merge = &w["jobs"]["merge"];
    assert_eq!(merge["needs"].as_str(), Some("shard"));
    assert_eq!(
        merge["if"].as_str(),
        Some("always()"),
        "merge even when a shard drifted"
    );
    let line = gwb_line(merge);
    let args: Vec<&str> = line.split('>').next().unwrap().split_whitespace().collect();
    let cli = Cli::try_parse_from(&args).unwrap();
    match cli.command {
        Command::Merge(m) => assert_eq!(m.files.len(), n, "every shard's document"),
        other => panic!("{other:?}"),
    }
    let text = example("github-actions/gwb-fleet.yml").1;
    assert!(text.contains("gwb:0.1.0") && !text.contains("example.com"));
}
