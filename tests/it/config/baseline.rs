//! `gwb config init --from-tenant`: the tenant as it stands, as a policy `check` accepts today.

use crate::support::{Scenario, temp_dir};

/// The baseline is a config file under which `check` is compliant (exit 0) on the tenant it
/// was read from, every group written back today allowed; it binds the bulk disable too; and
/// it is never written over a file without --force.
#[tokio::test(flavor = "multi_thread")]
async fn a_baseline_from_the_tenant_is_compliant_today_and_binds_the_bulk_disable() {
    let s = Scenario::groups(80, 44).await;
    let file = temp_dir("baseline").join("gwb.toml");
    let path = file.to_str().unwrap();
    let run = s
        .gwb(&["config", "init", "--from-tenant", "--path", path])
        .await;
    assert_eq!(run.code(), 0, "{}", run.stderr());
    run.assert_stderr_has("binds disable-existing-m365");
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.contains("m365_writeback = \"disabled\""), "{text}");
    assert!(text.contains("# [[policy.exception]]"), "{text}");

    // Without a policy check refuses to run; under the baseline it is compliant.
    let strict = s
        .gwb_with(&[("GWB_CONFIG", "/dev/null")], &["check", "-o", "json"])
        .await;
    assert_eq!(strict.code(), 2, "no policy at all is a usage error");
    let checked = s
        .gwb_with(&[("GWB_CONFIG", path)], &["check", "-o", "json"])
        .await;
    assert_eq!(checked.code(), 0, "{}", checked.stderr());
    let v = checked.json();
    let allowed = v["before"]["allowed"].as_u64().unwrap();
    assert!(allowed > 0, "{v}");
    assert_eq!(v["before"]["drift"].as_array().unwrap().len(), 0, "{v}");
    assert_eq!(
        text.matches("\", # ").count() as u64,
        allowed,
        "one allow line per group written back"
    );

    // The bulk disable leaves every allowed group alone.
    let plan = s
        .gwb_with(
            &[("GWB_CONFIG", path)],
            &["disable-existing-m365", "--dry-run", "-o", "json"],
        )
        .await;
    assert_eq!(plan.code(), 0, "{}", plan.stderr());
    let p = plan.json();
    assert_eq!(p["changes"].as_array().unwrap().len(), 0, "{p}");
    assert!(
        p["summary"]["excludedByPolicy"].as_u64().unwrap() > 0,
        "{p}"
    );

    // Never over a file without --force; with it, written again.
    std::fs::write(&file, "# mine\n").unwrap();
    let again = s
        .gwb(&["config", "init", "--from-tenant", "--path", path])
        .await;
    assert_eq!(again.code(), 2);
    again.assert_stderr_has("add --force");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "# mine\n");
    let forced = s
        .gwb(&["config", "init", "--from-tenant", "--path", path, "--force"])
        .await;
    assert_eq!(forced.code(), 0, "{}", forced.stderr());
    assert!(std::fs::read_to_string(&file).unwrap().contains("[policy]"));
}

/// In a fleet, `--tenant NAME` writes the baseline as that entry's `[tenants.policy]`, in the
/// config file that holds it; `check` on that tenant is then compliant.
#[tokio::test(flavor = "multi_thread")]
async fn a_fleet_tenants_baseline_is_its_tenants_policy() {
    let s = Scenario::groups(60, 45).await;
    let dir = temp_dir("baseline-fleet");
    let token = dir.join("token");
    std::fs::write(&token, crate::support::TOKEN).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&token, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let config = dir.join("gwb.toml");
    std::fs::write(
        &config,
        format!(
            "auth = \"access-token\"\naccess_token_file = \"{}\"\n\n[[tenants]]\nname = \"t1\"\ngraph_url = \"{}\"\n",
            token.display(),
            s.emu.url()
        ),
    )
    .unwrap();
    let c = config.to_str().unwrap();
    let init = [
        "--config",
        c,
        "--tenant",
        "t1",
        "config",
        "init",
        "--from-tenant",
    ];
    let run = s.gwb(&init).await;
    assert_eq!(run.code(), 0, "{}", run.stderr());
    let text = std::fs::read_to_string(&config).unwrap();
    assert!(
        text.contains("[tenants.policy]") && text.contains("m365_writeback = \"disabled\""),
        "{text}"
    );
    let checked = s
        .gwb(&["--config", c, "--tenant", "t1", "check", "-o", "json"])
        .await;
    assert_eq!(checked.code(), 0, "{}", checked.stderr());
    assert!(checked.json()["before"]["allowed"].as_u64().unwrap() > 0);
    // A second time: refused without --force, the file as it was.
    let again = s.gwb(&init).await;
    assert_eq!(again.code(), 2);
    again.assert_stderr_has("has a [tenants.policy] already");
    assert_eq!(std::fs::read_to_string(&config).unwrap(), text);
}
