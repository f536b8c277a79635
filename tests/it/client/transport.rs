//! The HTTP transport: no proxy for a loopback Graph root (the emulator), so the token stays here.

use crate::support::{emulator_with, gwb_command, plain_tenant, run, stderr};
use gwb::emulator::EmulatorConfig;

/// D18: the token never goes to a proxy for a loopback Graph root.
/// (Issue 12, item D18.)
#[tokio::test(flavor = "multi_thread")]
async fn no_proxy_for_a_loopback_graph_root() {
    let emu = emulator_with(plain_tenant(30, 82), EmulatorConfig::default()).await;
    let proxy = wiremock::MockServer::start().await;
    crate::support::catch_all(&proxy).await;
    let mut cmd = gwb_command();
    for var in ["HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"] {
        cmd.env(var, proxy.uri());
    }
    cmd.env_remove("NO_PROXY")
        .env_remove("no_proxy")
        .env("GWB_GRAPH_URL", emu.url())
        .env("GWB_ACCESS_TOKEN", crate::support::TOKEN)
        .args(["report", "-o", "json"]);
    let out = run(cmd).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(proxy.received_requests().await.unwrap().is_empty());
}
