//! The precedence rules, the file format and the secret rules, each pinned.

use super::file::{TOP_LEVEL_KEYS, read_file};
use super::*;
use crate::graph::DEFAULT_GRAPH_ROOT;
use std::collections::HashMap;

#[test]
fn a_broken_config_file_never_echoes_its_lines() {
    for (name, text, expect) in [
        ("typo", "client_secrte = \"s3cr3t-typo\"\n", "client_secrte"),
        (
            "type",
            "client_secret = \"s3cr3t-ok\"\noutput = 5\n",
            "line 2",
        ),
        ("unterminated", "client_secret = \"s3cr3t-open\n", "line 1"),
        (
            "under-policy",
            "[policy]\nclient_secret = \"s3cr3t-policy\"\n",
            "client_secret",
        ),
        (
            "bool",
            "[policy]\nnew_m365_default = \"s3cr3t-b0123456789abcdefghijklmnop\"\n",
            "line 2",
        ),
        (
            "secret key",
            "[policy]\nclient_secret = 5\nnew_m365_default = \"s3cr3t\"\n",
            "client_secret",
        ),
    ] {
        let p = temp_file(&format!("secret-{name}"), text);
        let e = read_file(&p, true).unwrap_err().to_string();
        assert!(!e.contains("s3cr3t"), "{name}: {e}");
        assert!(e.contains(expect), "{name}: {e}");
        assert!(e.contains(&p.display().to_string()), "{name}: {e}");
    }
}

#[test]
fn config_errors_say_what_to_do() {
    // A value people type for a key that is not secret is shown.
    let p = temp_file("shown", "[policy]\nnew_m365_default = \"no\"\n");
    let e = read_file(&p, true).unwrap_err().to_string();
    assert!(e.contains("\"no\"") && e.contains("line 2"), "{e}");
    assert!(
        !e.contains("allowed keys"),
        "no key list for a wrong value: {e}"
    );
    // A top-level key after a table header belongs to the table: said, with the fix.
    let p = temp_file(
        "trap",
        "[policy]\nm365_writeback = \"disabled\"\nlock_dir = \"/tmp/l\"\n",
    );
    let e = read_file(&p, true).unwrap_err().to_string();
    assert!(
        e.contains("lock_dir is a top-level key: move it above [policy]"),
        "{e}"
    );
    // An unknown key: that table's keys only.
    let p = temp_file("unknown", "[policy]\nm365_writebak = \"disabled\"\n");
    let e = read_file(&p, true).unwrap_err().to_string();
    assert!(
        e.contains("m365_writebak") && e.contains("m365_writeback"),
        "{e}"
    );
    assert!(!e.contains("graph_url"), "only [policy]'s keys: {e}");
}

fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
    let m: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    move |k| m.get(k).cloned()
}

fn temp_file(name: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("gwb-config-test-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join("config.toml");
    std::fs::write(&p, text).unwrap();
    p
}

#[test]
fn defaults_without_file() {
    let c = resolve(
        &GlobalArgs::default(),
        &env_of(&[("XDG_CONFIG_HOME", "/nonexistent-gwb")]),
    )
    .unwrap();
    assert_eq!(c.graph_url.value, DEFAULT_GRAPH_ROOT);
    assert_eq!(c.graph_url.source, Source::Default);
    assert!(c.auth.is_none());
    assert!(c.file.is_none());
}

#[test]
fn flags_beat_env_beat_file() {
    let p = temp_file(
        "prec",
        "graph_url = \"https://file.example\"\nauth = \"client-secret\"\n",
    );
    let ps = p.to_str().unwrap();
    let env = env_of(&[("GWB_CONFIG", ps), ("GWB_GRAPH_URL", "https://env.example")]);
    let c = resolve(&GlobalArgs::default(), &env).unwrap();
    assert_eq!(c.graph_url.value, "https://env.example");
    assert_eq!(c.auth.as_ref().unwrap().value, AuthKind::ClientSecret);
    assert_eq!(c.auth.unwrap().source, Source::File(p.clone()));

    let g = GlobalArgs {
        graph_url: Some("https://flag.example".into()),
        auth: Some(AuthKind::AccessToken),
        ..Default::default()
    };
    let c = resolve(&g, &env).unwrap();
    assert_eq!(c.graph_url.value, "https://flag.example");
    assert_eq!(c.graph_url.source, Source::Flag("--graph-url"));
    assert_eq!(c.auth.unwrap().value, AuthKind::AccessToken);

    let c = resolve(&GlobalArgs::default(), &env_of(&[("GWB_CONFIG", ps)])).unwrap();
    assert_eq!(c.graph_url.value, "https://file.example");
}

#[test]
fn unknown_key_names_file_and_key() {
    let p = temp_file("unknown", "graph_ulr = \"https://x\"\n");
    let e = resolve(
        &GlobalArgs {
            config: Some(p.clone()),
            ..Default::default()
        },
        &env_of(&[]),
    )
    .unwrap_err();
    let s = e.to_string();
    assert!(
        s.contains(p.to_str().unwrap()) && s.contains("graph_ulr"),
        "{s}"
    );
}

#[test]
fn missing_explicit_file_is_an_error() {
    let g = GlobalArgs {
        config: Some("/nonexistent/gwb.toml".into()),
        ..Default::default()
    };
    assert!(
        resolve(&g, &env_of(&[]))
            .unwrap_err()
            .to_string()
            .contains("/nonexistent/gwb.toml")
    );
}

#[test]
fn bad_values_are_named() {
    let e = resolve(&GlobalArgs::default(), &env_of(&[("GWB_AUTH", "password")]))
        .unwrap_err()
        .to_string();
    assert!(e.contains("GWB_AUTH") && e.contains("access-token"), "{e}");
    let e = resolve(
        &GlobalArgs::default(),
        &env_of(&[("GWB_GRAPH_URL", "http://graph.example.com")]),
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("GWB_GRAPH_URL") && e.contains("loopback"), "{e}");
    let e = resolve(
        &GlobalArgs::default(),
        &env_of(&[("GWB_GRAPH_URL", "https://graph.microsoft.com/v1.0")]),
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("/beta"), "{e}");
}

#[test]
fn auth_is_inferred_from_what_is_present() {
    let c = resolve(
        &GlobalArgs::default(),
        &env_of(&[("GWB_ACCESS_TOKEN", "t")]),
    )
    .unwrap();
    assert_eq!(c.auth.unwrap().value, AuthKind::AccessToken);
    let c = resolve(
        &GlobalArgs::default(),
        &env_of(&[("AZURE_CLIENT_SECRET", "s")]),
    )
    .unwrap();
    assert_eq!(c.auth.unwrap().value, AuthKind::ClientSecret);
    let c = resolve(
        &GlobalArgs::default(),
        &env_of(&[("AZURE_FEDERATED_TOKEN_FILE", "/var/run/secrets/token")]),
    )
    .unwrap();
    assert_eq!(c.auth.unwrap().value, AuthKind::WorkloadIdentity);
    assert_eq!(
        c.auth_inputs.federated_token_file.as_deref(),
        Some(Path::new("/var/run/secrets/token"))
    );
    let c = resolve(
        &GlobalArgs::default(),
        &env_of(&[(
            "IDENTITY_ENDPOINT",
            "http://localhost:40342/metadata/identity/oauth2/token",
        )]),
    )
    .unwrap();
    assert_eq!(c.auth.unwrap().value, AuthKind::ManagedIdentity);
    // Nothing present: no guess (the command says what to set).
    let c = resolve(&GlobalArgs::default(), &env_of(&[])).unwrap();
    assert!(c.auth.is_none());
    // Plain http is fine for loopback (the emulator).
    let c = resolve(
        &GlobalArgs::default(),
        &env_of(&[("GWB_GRAPH_URL", "http://127.0.0.1:8080")]),
    )
    .unwrap();
    assert_eq!(c.graph_url.value, "http://127.0.0.1:8080");
}

fn chmod(p: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
}

#[test]
fn secrets_come_from_files_and_shared_ones_are_warned_about() {
    // A secret file named by the environment: trailing newline dropped, source recorded.
    let cfg = temp_file("secretfile", "tenant_id = \"t\"\n");
    let dir = cfg.parent().unwrap();
    let secret = dir.join("secret");
    std::fs::write(&secret, "s3cr3t\n").unwrap();
    chmod(&secret, 0o600);
    let sp = secret.to_str().unwrap();
    let c = resolve(
        &GlobalArgs::default(),
        &env_of(&[
            ("GWB_CLIENT_SECRET_FILE", sp),
            ("XDG_CONFIG_HOME", "/nonexistent-gwb"),
        ]),
    )
    .unwrap();
    assert_eq!(
        c.auth_inputs.client_secret.as_ref().unwrap().secret(),
        "s3cr3t"
    );
    assert_eq!(c.auth.unwrap().value, AuthKind::ClientSecret);
    assert_eq!(
        c.origins["client_secret"].to_string(),
        format!("contents of {sp} (named by environment GWB_CLIENT_SECRET_FILE)")
    );
    assert!(c.warnings.is_empty(), "{:?}", c.warnings);
    chmod(&secret, 0o644);
    let c = resolve(
        &GlobalArgs::default(),
        &env_of(&[
            ("GWB_CLIENT_SECRET_FILE", sp),
            ("XDG_CONFIG_HOME", "/nonexistent-gwb"),
        ]),
    )
    .unwrap();
    assert_eq!(c.warnings.len(), 1);
    assert!(c.warnings[0].contains("mode 644") && c.warnings[0].contains("chmod 600"));

    // Both at one level: refused. The environment beats the config file.
    let e = resolve(
        &GlobalArgs::default(),
        &env_of(&[("GWB_CLIENT_SECRET_FILE", sp), ("AZURE_CLIENT_SECRET", "x")]),
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("AZURE_CLIENT_SECRET") && e.contains("set one"),
        "{e}"
    );
}

#[test]
fn secrets_in_the_config_file_inline_or_by_a_relative_path() {
    let cfg = temp_file("secretfile2", "tenant_id = \"t\"\n");
    let dir = cfg.parent().unwrap();
    let secret = dir.join("secret");
    std::fs::write(&secret, "s3cr3t\n").unwrap();
    chmod(&secret, 0o600);
    // In the config file, inline or by a path relative to the file.
    std::fs::write(&cfg, "client_secret_file = \"secret\"\n").unwrap();
    let cp = cfg.to_str().unwrap();
    let c = resolve(&GlobalArgs::default(), &env_of(&[("GWB_CONFIG", cp)])).unwrap();
    assert_eq!(
        c.auth_inputs.client_secret.as_ref().unwrap().secret(),
        "s3cr3t"
    );
    let c = resolve(
        &GlobalArgs::default(),
        &env_of(&[("GWB_CONFIG", cp), ("AZURE_CLIENT_SECRET", "from-env")]),
    )
    .unwrap();
    assert_eq!(
        c.auth_inputs.client_secret.as_ref().unwrap().secret(),
        "from-env"
    );
    assert_eq!(
        c.origins["client_secret"],
        Source::Env("AZURE_CLIENT_SECRET")
    );

    std::fs::write(&cfg, "client_secret = \"inline\"\n").unwrap();
    chmod(&cfg, 0o640);
    let c = resolve(&GlobalArgs::default(), &env_of(&[("GWB_CONFIG", cp)])).unwrap();
    assert_eq!(
        c.auth_inputs.client_secret.as_ref().unwrap().secret(),
        "inline"
    );
    assert!(
        c.warnings.len() == 1
            && c.warnings[0].contains(cp)
            && c.warnings[0].contains("client_secret"),
        "{:?}",
        c.warnings
    );
    chmod(&cfg, 0o600);
    let c = resolve(&GlobalArgs::default(), &env_of(&[("GWB_CONFIG", cp)])).unwrap();
    assert!(c.warnings.is_empty(), "{:?}", c.warnings);

    std::fs::write(
        &cfg,
        "client_secret = \"a\"\nclient_secret_file = \"secret\"\n",
    )
    .unwrap();
    assert!(resolve(&GlobalArgs::default(), &env_of(&[("GWB_CONFIG", cp)])).is_err());

    // A named file that cannot be read is an error naming the key and the path.
    let e = resolve(
        &GlobalArgs::default(),
        &env_of(&[("GWB_CLIENT_CERTIFICATE_PASSWORD_FILE", "/nonexistent/pw")]),
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("client_certificate_password") && e.contains("/nonexistent/pw"),
        "{e}"
    );
}

#[test]
fn a_certificate_path_chooses_certificate_sign_in() {
    let cfg = temp_file("cert", "client_certificate_path = \"app.pem\"\n");
    let cp = cfg.to_str().unwrap();
    let c = resolve(&GlobalArgs::default(), &env_of(&[("GWB_CONFIG", cp)])).unwrap();
    assert_eq!(c.auth.unwrap().value, AuthKind::ClientCertificate);
    assert_eq!(
        c.auth_inputs.client_certificate.as_deref(),
        Some(cfg.parent().unwrap().join("app.pem").as_path())
    );
    let c = resolve(
        &GlobalArgs::default(),
        &env_of(&[
            ("GWB_CONFIG", cp),
            ("AZURE_CLIENT_CERTIFICATE_PATH", "/etc/gwb/app.pfx"),
            ("AZURE_CLIENT_CERTIFICATE_PASSWORD", "pw"),
        ]),
    )
    .unwrap();
    assert_eq!(
        c.auth_inputs.client_certificate.as_deref(),
        Some(Path::new("/etc/gwb/app.pfx"))
    );
    assert_eq!(
        c.auth_inputs.client_certificate_password.unwrap().secret(),
        "pw"
    );
}

#[test]
fn each_cloud_sets_graph_root_sign_in_host_and_scope_together() {
    let want = [
        (
            "global",
            "https://graph.microsoft.com",
            "https://login.microsoftonline.com",
        ),
        (
            "usgov",
            "https://graph.microsoft.us",
            "https://login.microsoftonline.us",
        ),
        (
            "usgov-dod",
            "https://dod-graph.microsoft.us",
            "https://login.microsoftonline.us",
        ),
        (
            "china",
            "https://microsoftgraph.chinacloudapi.cn",
            "https://login.chinacloudapi.cn",
        ),
    ];
    for (name, graph, login) in want {
        let env = env_of(&[("XDG_CONFIG_HOME", "/nonexistent-gwb"), ("GWB_CLOUD", name)]);
        let c = resolve(&GlobalArgs::default(), &env).unwrap();
        assert_eq!(c.cloud.value.as_str(), name);
        assert_eq!(c.graph_url.value, graph, "{name}");
        assert_eq!(c.graph_url.source, Source::FromCloud(c.cloud.value));
        assert_eq!(c.authority_host.value, login, "{name}");
        assert_eq!(c.auth_inputs.authority_host, login);
        // The Graph root alone implies its cloud, and so the sign-in host.
        let env = env_of(&[
            ("XDG_CONFIG_HOME", "/nonexistent-gwb"),
            ("GWB_GRAPH_URL", graph),
        ]);
        let c = resolve(&GlobalArgs::default(), &env).unwrap();
        assert_eq!(c.cloud.value.as_str(), name);
        assert_eq!(c.cloud.source, Source::FromGraphUrl);
        assert_eq!(c.authority_host.value, login);
    }
}

#[test]
fn cloud_precedence_overrides_and_conflicts() {
    let p = temp_file("cloud", "cloud = \"usgov\"\n");
    let ps = p.to_str().unwrap();
    let c = resolve(&GlobalArgs::default(), &env_of(&[("GWB_CONFIG", ps)])).unwrap();
    assert_eq!(c.cloud.value, Cloud::Usgov);
    assert_eq!(c.cloud.source, Source::File(p.clone()));
    let env = env_of(&[("GWB_CONFIG", ps), ("GWB_CLOUD", "china")]);
    assert_eq!(
        resolve(&GlobalArgs::default(), &env).unwrap().cloud.value,
        Cloud::China
    );
    let g = GlobalArgs {
        cloud: Some(Cloud::UsgovDod),
        ..Default::default()
    };
    let c = resolve(&g, &env).unwrap();
    assert_eq!(c.cloud.value, Cloud::UsgovDod);
    assert_eq!(c.graph_url.value, "https://dod-graph.microsoft.us");

    // An explicit sign-in host wins over the cloud's; it must be https.
    let env = env_of(&[
        ("GWB_CONFIG", ps),
        ("AZURE_AUTHORITY_HOST", "https://login.example.test"),
    ]);
    let c = resolve(&GlobalArgs::default(), &env).unwrap();
    assert_eq!(c.authority_host.value, "https://login.example.test");
    let env = env_of(&[
        ("GWB_CONFIG", ps),
        ("AZURE_AUTHORITY_HOST", "http://login.example.test"),
    ]);
    let e = resolve(&GlobalArgs::default(), &env)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("AZURE_AUTHORITY_HOST") && e.contains("https"),
        "{e}"
    );

    // One cloud's Graph with another cloud set is refused: the token would be the wrong one.
    let env = env_of(&[
        ("GWB_CONFIG", ps),
        ("GWB_GRAPH_URL", "https://graph.microsoft.com"),
    ]);
    let e = resolve(&GlobalArgs::default(), &env)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("cloud = usgov") && e.contains("graph.microsoft.com"),
        "{e}"
    );
    // A Graph root that is no cloud's (a proxy, the emulator) is allowed with any cloud.
    let env = env_of(&[
        ("GWB_CONFIG", ps),
        ("GWB_GRAPH_URL", "http://127.0.0.1:8080"),
    ]);
    assert_eq!(
        resolve(&GlobalArgs::default(), &env).unwrap().cloud.value,
        Cloud::Usgov
    );
    let env = env_of(&[("GWB_CLOUD", "mars")]);
    let e = resolve(&GlobalArgs::default(), &env)
        .unwrap_err()
        .to_string();
    assert!(e.contains("GWB_CLOUD") && e.contains("usgov-dod"), "{e}");
}

#[test]
fn the_example_config_documents_every_key_and_parses_uncommented() {
    let text = include_str!("../../config.example.toml");
    // Every commented-out `key = value` line, uncommented, must be a valid config.
    let uncommented: String = text
        .lines()
        .filter_map(|l| {
            let l = l.trim_start_matches('#').trim();
            if l.starts_with('[') && l.ends_with(']') && !l.contains(' ') {
                return Some(format!("{l}\n"));
            }
            let key = l.split('=').next()?.trim();
            (l.contains(" = ") && !key.contains(' ')).then(|| format!("{l}\n"))
        })
        .collect();
    let parsed: FileConfig =
        toml::from_str(&uncommented).unwrap_or_else(|e| panic!("{e}\n{uncommented}"));
    assert!(parsed.cloud.is_some() && parsed.graph_url.is_some());
    assert!(parsed.authority_host.is_some() && parsed.auth.is_some());
    assert!(parsed.output.is_some() && parsed.tenant_id.is_some() && parsed.client_id.is_some());
    assert!(parsed.client_secret.is_some() && parsed.client_secret_file.is_some());
    assert!(parsed.client_certificate_path.is_some());
    assert!(parsed.client_certificate_password.is_some());
    assert!(parsed.client_certificate_password_file.is_some());
    // TOP_LEVEL_KEYS, which says a top-level key after a table header belongs above it,
    // names every top-level key.
    let listed: Vec<&str> = TOP_LEVEL_KEYS.to_vec();
    let top: Vec<&str> = uncommented
        .lines()
        .take_while(|l| !l.starts_with('['))
        .filter_map(|l| l.split(" = ").next())
        .collect();
    for key in &top {
        assert!(listed.contains(key), "{key} missing from TOP_LEVEL_KEYS");
    }
    let policy = parsed.policy.expect("the example documents [policy]");
    assert!(policy.new_m365_default.is_some() && !policy.allow.is_empty());
    assert!(
        policy.m365_writeback != crate::writeback::policy::Rule::Any
            && policy.security_writeback != crate::writeback::policy::Rule::Any
    );
}

#[test]
fn limits_come_from_flags_then_environment_then_defaults() {
    let c = resolve(&GlobalArgs::default(), &env_of(&[])).unwrap();
    assert_eq!(c.limits.deadline.value.as_secs(), 86_400);
    assert_eq!(c.limits.deadline.source, Source::Default);
    let env = env_of(&[("GWB_DEADLINE", "60"), ("GWB_MAX_PAGES", "7")]);
    let c = resolve(&GlobalArgs::default(), &env).unwrap();
    assert_eq!(c.limits.deadline.value.as_secs(), 60);
    assert_eq!(c.limits.deadline.source, Source::Env("GWB_DEADLINE"));
    assert_eq!(c.limits.max_pages.value, 7);
    let g = GlobalArgs {
        deadline: Some(5.0),
        ..Default::default()
    };
    let c = resolve(&g, &env).unwrap();
    assert_eq!(c.limits.deadline.value.as_secs(), 5);
    assert_eq!(c.limits.deadline.source, Source::Flag("--deadline"));
}

#[test]
fn a_bad_limit_names_where_it_came_from() {
    let e = resolve(
        &GlobalArgs::default(),
        &env_of(&[("GWB_READ_TIMEOUT", "soon")]),
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("GWB_READ_TIMEOUT") && e.contains("soon"), "{e}");
    let e = resolve(&GlobalArgs::default(), &env_of(&[("GWB_DEADLINE", "-1")]))
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("GWB_DEADLINE: GWB_DEADLINE must be"), "{e}");
    let g = GlobalArgs {
        retry_budget: Some(0.0),
        ..Default::default()
    };
    let e = resolve(&g, &env_of(&[])).unwrap_err().to_string();
    assert!(e.contains("--retry-budget must be"), "{e}");
}

#[test]
fn log_settings_read_their_environment_here() {
    let (s, e) = logging(
        &GlobalArgs::default(),
        &env_of(&[("GWB_LOG_FORMAT", "json"), ("NO_COLOR", "1")]),
    );
    assert!(e.is_none());
    assert_eq!(s.format, crate::cli::LogFormat::Json);
    assert!(s.no_color_env);
    let g = GlobalArgs {
        log_format: Some(crate::cli::LogFormat::Text),
        ..Default::default()
    };
    let (s, _) = logging(&g, &env_of(&[("GWB_LOG_FORMAT", "json"), ("NO_COLOR", "")]));
    assert_eq!(s.format, crate::cli::LogFormat::Text, "the flag wins");
    assert!(!s.no_color_env, "an empty NO_COLOR is unset");
    let (s, e) = logging(
        &GlobalArgs::default(),
        &env_of(&[("GWB_LOG_FORMAT", "xml")]),
    );
    assert_eq!(s.format, crate::cli::LogFormat::Text);
    assert!(e.unwrap().to_string().contains("GWB_LOG_FORMAT"));
}

#[cfg(unix)]
#[test]
fn with_nothing_configured_an_installed_azure_cli_is_used() {
    use std::os::unix::fs::PermissionsExt;
    let bin = temp_file("az-bin", "").parent().unwrap().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let az = bin.join("az");
    std::fs::write(&az, "#!/bin/sh\n").unwrap();
    std::fs::set_permissions(&az, std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = format!("/nonexistent:{}", bin.display());
    let c = resolve(&GlobalArgs::default(), &env_of(&[("PATH", &path)])).unwrap();
    let auth = c.auth.unwrap();
    assert_eq!(auth.value, AuthKind::AzureCli);
    assert!(matches!(auth.source, Source::Inferred(why) if why.contains("Azure CLI")));
    // Anything configured comes first, and without az nothing is guessed.
    let c = resolve(
        &GlobalArgs::default(),
        &env_of(&[("PATH", &path), ("GWB_ACCESS_TOKEN", "t")]),
    )
    .unwrap();
    assert_eq!(c.auth.unwrap().value, AuthKind::AccessToken);
    let c = resolve(&GlobalArgs::default(), &env_of(&[("PATH", "/nonexistent")])).unwrap();
    assert!(c.auth.is_none());
}

const FLEET: &str = r#"
client_id = "multi-tenant-app"
auth = "client-certificate"
client_certificate_path = "/etc/gwb/app.pem"
tenant_id = "top.onmicrosoft.com"

[policy]
new_m365_default = false
m365_writeback = "disabled"

[[tenants]]
name = "contoso"
tenant_id = "contoso.onmicrosoft.com"

[[tenants]]
name = "fabrikam-gov"
tenant_id = "fabrikam.onmicrosoft.us"
cloud = "usgov"
[tenants.policy]
new_m365_default = "any"
"#;

/// The configuration from the file at `p`, for inventory entry `name` (`None`: the top level).
fn for_tenant(p: &Path, name: Option<&str>) -> Result<Config, ConfigError> {
    resolve(
        &GlobalArgs {
            config: Some(p.to_path_buf()),
            tenant: name.map(String::from).into_iter().collect(),
            ..Default::default()
        },
        &env_of(&[]),
    )
}

#[test]
fn a_tenant_of_the_inventory_overlays_the_top_level() {
    let p = temp_file("fleet", FLEET);
    let pick = |name: Option<&str>| for_tenant(&p, name).unwrap();
    let top = pick(None);
    assert_eq!(
        top.auth_inputs.tenant_id.as_deref(),
        Some("top.onmicrosoft.com")
    );
    assert_eq!(top.policy.new_m365_default, Some(false));

    let contoso = pick(Some("contoso"));
    assert_eq!(
        contoso.auth_inputs.tenant_id.as_deref(),
        Some("contoso.onmicrosoft.com")
    );
    assert_eq!(
        contoso.auth_inputs.client_id.as_deref(),
        Some("multi-tenant-app")
    );
    assert_eq!(
        contoso.policy.new_m365_default,
        Some(false),
        "the top-level policy"
    );
    assert_eq!(contoso.cloud.value, crate::cloud::Cloud::Global);

    let gov = pick(Some("fabrikam-gov"));
    assert_eq!(gov.cloud.value, crate::cloud::Cloud::Usgov);
    assert!(
        gov.graph_url.value.contains("graph.microsoft.us"),
        "{}",
        gov.graph_url.value
    );
    assert_eq!(
        gov.policy.new_m365_default, None,
        "\"any\": not checked for this tenant"
    );
    assert_eq!(
        gov.policy.m365_writeback,
        crate::writeback::policy::Rule::Disabled,
        "the keys it does not set stay the top level's"
    );
}

#[test]
fn a_bad_or_unknown_tenant_is_an_error_that_names_it() {
    let p = temp_file("fleet-unknown", FLEET);
    let e = for_tenant(&p, Some("nope")).unwrap_err().to_string();
    assert!(
        e.contains("nope") && e.contains("contoso, fabrikam-gov"),
        "{e}"
    );
    for (name, text, expect) in [
        (
            "unsafe",
            "[[tenants]]\nname = \"../x\"\n",
            "cannot name files",
        ),
        (
            "twice",
            "[[tenants]]\nname = \"a\"\n[[tenants]]\nname = \"A\"\n",
            "used twice",
        ),
        (
            "typo",
            "[[tenants]]\nname = \"a\"\ntenantid = \"x\"\n",
            "tenantid",
        ),
    ] {
        let p = temp_file(&format!("fleet-{name}"), text);
        let e = read_file(&p, true).unwrap_err().to_string();
        assert!(e.contains(expect), "{name}: {e}");
    }
    // --tenant without a config file.
    let e = resolve(
        &GlobalArgs {
            tenant: vec!["contoso".into()],
            ..Default::default()
        },
        &env_of(&[("XDG_CONFIG_HOME", "/nonexistent-gwb")]),
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("no config file was read"), "{e}");
}

#[test]
fn an_access_token_file_per_tenant() {
    let dir = std::env::temp_dir().join(format!("gwb-config-test-{}-tokens", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("a.token"), "token-of-a\n").unwrap();
    std::fs::write(dir.join("b.token"), "token-of-b\n").unwrap();
    let p = dir.join("config.toml");
    std::fs::write(
        &p,
        "access_token_file = \"a.token\"\n\n[[tenants]]\nname = \"b\"\naccess_token_file = \"b.token\"\n",
    )
    .unwrap();
    let pick = |name: Option<&str>| for_tenant(&p, name).unwrap();
    let token = |c: &Config| {
        c.auth_inputs
            .access_token
            .as_ref()
            .map(|t| t.secret().to_string())
    };
    let top = pick(None);
    assert_eq!(
        token(&top).as_deref(),
        Some("token-of-a"),
        "relative to the file, newline cut"
    );
    assert_eq!(
        top.auth.as_ref().map(|a| a.value),
        Some(crate::auth::AuthKind::AccessToken)
    );
    assert_eq!(token(&pick(Some("b"))).as_deref(), Some("token-of-b"));
}

/// A tenant entry names its tenant: AZURE_TENANT_ID (set in every pod by the workload identity
/// webhook) or a GWB_GRAPH_URL left in a shell must not send its run to another tenant. Keys the
/// entry leaves unset still come from the environment.
#[test]
fn a_tenant_entry_beats_the_environment_for_the_keys_it_sets() {
    let p = temp_file("fleet-env", FLEET);
    let env = env_of(&[
        ("AZURE_TENANT_ID", "webhook-tenant"),
        ("AZURE_CLIENT_ID", "env-client"),
        ("GWB_GRAPH_URL", "https://graph.example.com"),
    ]);
    let global = |name: &str| GlobalArgs {
        config: Some(p.clone()),
        tenant: vec![name.to_string()],
        ..Default::default()
    };
    let fab = resolve(&global("fabrikam-gov"), &env).unwrap();
    assert_eq!(
        fab.auth_inputs.tenant_id.as_deref(),
        Some("fabrikam.onmicrosoft.us")
    );
    // Its cloud sets the Graph root: the environment's does not apply to it.
    assert_eq!(fab.graph_url.value, "https://graph.microsoft.us");
    assert_eq!(fab.auth_inputs.client_id.as_deref(), Some("env-client"));
    // Without --tenant, the environment wins over the file's top level as always.
    let top = resolve(
        &GlobalArgs {
            config: Some(p.clone()),
            ..Default::default()
        },
        &env,
    )
    .unwrap();
    assert_eq!(top.auth_inputs.tenant_id.as_deref(), Some("webhook-tenant"));
    assert_eq!(top.graph_url.value, "https://graph.example.com");
}

/// `[tenants.policy]` takes every `[policy]` key: role_assignable_drift replaces the top
/// level's, and the tenant's exceptions join the top level's. A broken one names its tenant.
#[test]
fn a_tenant_policy_sets_role_assignable_drift_and_adds_exceptions() {
    let text = r#"
[policy]
m365_writeback = "disabled"
[[policy.exception]]
target = "tenantDefault"
reason = "decided for every tenant"

[[tenants]]
name = "a"
[tenants.policy]
role_assignable_drift = "report"
[[tenants.policy.exception]]
id = "11111111-2222-3333-4444-555555555555"
reason = "the HR group stays written back"
owner = "hr@contoso.com"
expires = "2099-01-31"

[[tenants]]
name = "b"
"#;
    let p = temp_file("fleet-policy", text);
    let a = for_tenant(&p, Some("a")).unwrap().policy;
    let b = for_tenant(&p, Some("b")).unwrap().policy;
    assert_eq!(
        a.role_assignable_drift,
        crate::writeback::policy::PrivilegedDrift::Report
    );
    assert_eq!(
        b.role_assignable_drift,
        crate::writeback::policy::PrivilegedDrift::Fail
    );
    assert_eq!(a.exceptions.len(), 2);
    assert_eq!(
        a.exceptions[1].id.as_deref(),
        Some("11111111-2222-3333-4444-555555555555")
    );
    assert_eq!(b.exceptions.len(), 1);

    let broken = temp_file(
        "fleet-policy-broken",
        "[[tenants]]\nname = \"c\"\n[[tenants.policy.exception]]\nid = \"11111111-2222-3333-4444-555555555555\"\n",
    );
    let e = for_tenant(&broken, Some("c")).unwrap_err().to_string();
    assert!(
        e.contains("[[tenants]] c") && e.contains("exception"),
        "{e}"
    );
}

#[test]
fn a_webhook_url_file_others_may_read_is_warned_about_and_a_broken_notify_breaks_nothing_else() {
    let dir = temp_file("urlfile", "").parent().unwrap().to_path_buf();
    let hook = dir.join("hook.url");
    std::fs::write(&hook, "https://example.webhook.office.com/s3cr3t-sig\n").unwrap();
    chmod(&hook, 0o640);
    let cfg = dir.join("config.toml");
    std::fs::write(
        &cfg,
        format!(
            "[[notify]]\nkind = \"teams\"\nurl_file = \"{}\"\n\n[[notify]]\nkind = \"slack\"\nurl_env = \"GWB_UNSET_HOOK\"\n",
            hook.display()
        ),
    )
    .unwrap();
    let global = GlobalArgs {
        config: Some(cfg.clone()),
        ..Default::default()
    };
    // Resolving succeeds: only check needs the destinations.
    let c = resolve(&global, &env_of(&[])).unwrap();
    assert!(
        c.warnings
            .iter()
            .any(|w| w.contains("hook.url holds a webhook URL") && w.contains("mode 640")),
        "{:?}",
        c.warnings
    );
    assert!(c.warnings.iter().all(|w| !w.contains("s3cr3t")));
    let e = c.notify.unwrap_err().to_string();
    assert!(e.contains("url_env GWB_UNSET_HOOK is not set"), "{e}");
    chmod(&hook, 0o600);
    let c = resolve(
        &global,
        &env_of(&[("GWB_UNSET_HOOK", "https://hooks.slack.com/x")]),
    )
    .unwrap();
    assert!(c.warnings.is_empty(), "{:?}", c.warnings);
    assert_eq!(c.notify.unwrap().len(), 2);
}

/// One exception per group or target at one level: two are a usage error naming both (an
/// expired one and an open-ended one used to resolve silently to the open-ended one). A
/// tenant's exception for a target replaces the top level's for that tenant.
#[test]
fn one_exception_per_target_at_each_level_and_a_tenants_own_replaces_the_top_levels() {
    let g = "11111111-2222-3333-4444-555555555555";
    let top = format!(
        "[policy]\nm365_writeback = \"disabled\"\n\n[[policy.exception]]\nid = \"{g}\"\nreason = \"old\"\nexpires = \"2020-01-01\"\n\n[[policy.exception]]\nid = \"{}\"\nreason = \"forever\"\n",
        g.to_uppercase()
    );
    let p = temp_file("two-exceptions", &top);
    let e = for_tenant(&p, None).unwrap_err().to_string();
    assert!(
        e.contains("line 4: [[policy.exception]] number 1 and line 9: number 2 both cover group"),
        "{e}"
    );
    let tenant = "[[tenants]]\nname = \"c\"\n[[tenants.policy.exception]]\ntarget = \"tenantDefault\"\nreason = \"a\"\n[[tenants.policy.exception]]\ntarget = \"tenantDefault\"\nreason = \"b\"\n";
    let e = for_tenant(&temp_file("two-tenant-exceptions", tenant), Some("c"))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("[[tenants]] c")
            && e.contains("number 1 and number 2 both cover target tenantDefault"),
        "{e}"
    );
    let replaced = format!(
        "[policy]\nm365_writeback = \"disabled\"\n[[policy.exception]]\nid = \"{g}\"\nreason = \"everywhere\"\nexpires = \"2020-01-01\"\n\n[[tenants]]\nname = \"a\"\n[[tenants.policy.exception]]\nid = \"{g}\"\nreason = \"only here, longer\"\nexpires = \"2099-01-01\"\n\n[[tenants]]\nname = \"b\"\n"
    );
    let p = temp_file("replaced-exception", &replaced);
    let a = for_tenant(&p, Some("a")).unwrap().policy;
    assert_eq!(a.exceptions.len(), 1);
    assert_eq!(a.exceptions[0].reason, "only here, longer");
    let b = for_tenant(&p, Some("b")).unwrap().policy;
    assert_eq!(b.exceptions[0].reason, "everywhere");
}
