//! Shared set-up: fixtures, a client with a recording sleeper, a catch-all mock, and the gwb
//! binary run with a clean environment.

use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use gwb::auth::StaticToken;
use gwb::emulator::{Emulator, EmulatorConfig, Tenant};
use gwb::graph::GraphClient;
use gwb::graph::retry::{RetryPolicy, Sleeper};
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, ResponseTemplate};

pub const TOKEN: &str = "test-token-4c1b9a7e";

pub fn fixture_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("wiremock-fixtures")
        .join(name)
}

/// A fixture with `{{BASE}}` (and `{{FOREIGN}}`) replaced by server URLs.
pub fn fixture(name: &str, base: &str, foreign: &str) -> String {
    std::fs::read_to_string(fixture_path(name))
        .unwrap_or_else(|e| panic!("fixture {name}: {e}"))
        .replace("{{BASE}}", base)
        .replace("{{FOREIGN}}", foreign)
}

pub fn json(body: String) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_raw(body, "application/json")
}

pub fn json_status(status: u16, body: String) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_raw(body, "application/json")
}

/// A lowest-priority mock that answers 599 and fails the test (on drop) if anything reaches it.
pub async fn catch_all(server: &MockServer) {
    Mock::given(any())
        .respond_with(ResponseTemplate::new(599))
        .with_priority(u8::MAX)
        .expect(0)
        .named("catch-all: an unexpected request")
        .mount(server)
        .await;
}

/// A client for `root` with the test token and a sleeper that records instead of sleeping.
pub fn client(root: &str) -> (GraphClient, Arc<Mutex<Vec<Duration>>>) {
    client_with(root, RetryPolicy::default())
}

pub fn client_with(root: &str, retry: RetryPolicy) -> (GraphClient, Arc<Mutex<Vec<Duration>>>) {
    let (sleeper, waits) = Sleeper::recording();
    let c = GraphClient::builder(root, Arc::new(StaticToken::new(TOKEN)))
        .sleeper(sleeper)
        .retry(retry)
        .build()
        .expect("client builds");
    (c, waits)
}

pub async fn emulator(groups: usize, seed: u64, fault_rate: f64) -> Emulator {
    let cfg = EmulatorConfig {
        fault_rate,
        seed,
        ..Default::default()
    };
    emulator_with(Tenant::generate(groups, seed), cfg).await
}

/// A generated tenant without role-assignable groups (which the emulator refuses to write).
pub fn plain_tenant(n: usize, seed: u64) -> Tenant {
    let mut t = Tenant::generate(n, seed);
    for g in &mut t.groups {
        g.is_assignable_to_role = None;
    }
    Tenant::new(t.groups, Vec::new())
}

/// The `id`s of a JSON array of objects (failed items, changes, drift), sorted.
pub fn sorted_ids(items: &serde_json::Value) -> Vec<String> {
    let mut ids: Vec<String> = items
        .as_array()
        .expect("an array")
        .iter()
        .filter_map(|i| i["id"].as_str().map(str::to_string))
        .collect();
    ids.sort();
    ids
}

/// GRAPH.md: cloud Microsoft 365 groups that are written back (isEnabled true or null), which
/// disable-existing-m365 changes.
pub fn should_change(g: &gwb::emulator::EmuGroup) -> bool {
    g.group_types.iter().any(|t| t == "Unified")
        && g.on_premises_sync_enabled != Some(true)
        && g.writeback.is_enabled != Some(false)
}

/// Every group's writeback configuration, by id.
pub fn snapshot(
    t: &Tenant,
) -> std::collections::HashMap<String, gwb::graph::model::WritebackConfiguration> {
    t.groups
        .iter()
        .map(|g| (g.id.clone(), g.writeback.clone()))
        .collect()
}

pub async fn emulator_with(tenant: Tenant, cfg: EmulatorConfig) -> Emulator {
    Emulator::start(tenant, cfg, "127.0.0.1:0".parse().unwrap())
        .await
        .expect("emulator starts")
}

/// A fresh directory for journals and plans.
pub fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!(
        "gwb-it-{}-{}-{name}",
        std::process::id(),
        fastrand::u64(..)
    ));
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// The gwb binary with an environment cleaned of anything that could change its behaviour.
pub fn gwb_command() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_gwb"));
    for (k, _) in std::env::vars() {
        if k.starts_with("GWB_") || k.starts_with("AZURE_") || k == "COLUMNS" {
            cmd.env_remove(k);
        }
    }
    // No developer's Azure CLI either: with nothing configured gwb would sign in through it.
    if let Some(path) = std::env::var_os("PATH") {
        let kept: Vec<PathBuf> = std::env::split_paths(&path)
            .filter(|d| !d.join("az").exists())
            .collect();
        cmd.env("PATH", std::env::join_paths(kept).unwrap());
    }
    // No developer's own config file, and journals in a scratch state directory.
    cmd.env(
        "XDG_CONFIG_HOME",
        std::env::temp_dir().join("gwb-tests-no-config"),
    );
    // A state directory of its own for every command: `cargo test` runs the tests as threads of
    // one process, and a shared state directory would make concurrent tests wait on each
    // other's run lock.
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    cmd.env(
        "XDG_STATE_HOME",
        std::env::temp_dir().join(format!("gwb-tests-state-{}-{n}", std::process::id())),
    );
    // And a lock directory of its own: the lock is per tenant and Graph root, shared by every
    // user of the machine, so tests against the same emulator URL would otherwise meet.
    cmd.env(
        "GWB_LOCK_DIR",
        std::env::temp_dir().join(format!("gwb-tests-locks-{}-{n}", std::process::id())),
    );
    cmd
}

/// Run gwb against `graph_url` with the test token, off the async runtime so in-process
/// servers keep serving.
pub async fn run_gwb(graph_url: &str, args: &[&str]) -> Output {
    let mut cmd = gwb_command();
    cmd.env("GWB_GRAPH_URL", graph_url)
        .env("GWB_ACCESS_TOKEN", TOKEN)
        .args(args);
    run(cmd).await
}

pub async fn run(mut cmd: Command) -> Output {
    tokio::task::spawn_blocking(move || cmd.output().expect("gwb runs"))
        .await
        .unwrap()
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).expect("stdout is UTF-8")
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// stdout parsed as JSON, with stdout and stderr in the message when it is not.
pub fn json_of(out: &Output) -> serde_json::Value {
    serde_json::from_str(&stdout(out))
        .unwrap_or_else(|e| panic!("{e}: {}\n{}", stdout(out), stderr(out)))
}

/// [`run_gwb`], failing the test instead of hanging if gwb does not end within two minutes.
pub async fn bounded(graph_url: &str, args: &[&str]) -> Output {
    tokio::time::timeout(Duration::from_secs(120), run_gwb(graph_url, args))
        .await
        .expect("gwb ends by itself")
}

/// A `$batch` responder that answers every item it is sent with `status` (and `Retry-After`
/// when given) and a Graph error body, echoing the ids.
pub struct EveryItem {
    pub status: u16,
    pub retry_after: Option<&'static str>,
    pub code: &'static str,
}

impl wiremock::Respond for EveryItem {
    fn respond(&self, req: &wiremock::Request) -> ResponseTemplate {
        let body: serde_json::Value = serde_json::from_slice(&req.body).unwrap();
        let headers = match self.retry_after {
            Some(ra) => serde_json::json!({ "Retry-After": ra }),
            None => serde_json::json!({}),
        };
        let responses: Vec<serde_json::Value> = body["requests"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                serde_json::json!({"id": r["id"], "status": self.status, "headers": headers,
                    "body": {"error": {"code": self.code, "message": "refused by the test"}}})
            })
            .collect();
        ResponseTemplate::new(200).set_body_json(serde_json::json!({ "responses": responses }))
    }
}

/// A test as a specification: a seeded tenant served by the emulator, one state directory and
/// optionally a config file for every gwb run of the scenario, and what a run printed.
///
/// ```ignore
/// let s = Scenario::tenant(plain_tenant(40, 3)).await;
/// let run = s.gwb(&["disable-existing-m365", "--yes", "-o", "json"]).await;
/// assert_eq!(run.code(), 0);
/// ```
pub struct Scenario {
    pub emu: Emulator,
    pub state: PathBuf,
    config: Option<PathBuf>,
}

impl Scenario {
    /// `n` generated groups of seed `seed`, none role-assignable, and no Group.Unified setting.
    pub async fn groups(n: usize, seed: u64) -> Scenario {
        Scenario::tenant(plain_tenant(n, seed)).await
    }

    pub async fn tenant(tenant: Tenant) -> Scenario {
        Scenario::with(tenant, EmulatorConfig::default()).await
    }

    pub async fn with(tenant: Tenant, cfg: EmulatorConfig) -> Scenario {
        Scenario {
            emu: emulator_with(tenant, cfg).await,
            state: temp_dir("scenario-state"),
            config: None,
        }
    }

    /// A config file holding `toml` (e.g. a `[policy]` table) for every run.
    pub fn config(mut self, toml: &str) -> Scenario {
        let path = temp_dir("scenario-config").join("gwb.toml");
        std::fs::write(&path, toml).unwrap();
        self.config = Some(path);
        self
    }

    /// Run gwb against the scenario's tenant (bounded: a hang fails the test).
    pub async fn gwb(&self, args: &[&str]) -> Ran {
        self.gwb_with(&[], args).await
    }

    /// [`Scenario::gwb`] with extra environment variables (set last: they win).
    pub async fn gwb_with(&self, env: &[(&str, &str)], args: &[&str]) -> Ran {
        gwb_in(
            &self.emu.url(),
            &self.state,
            self.config.as_deref(),
            env,
            args,
        )
        .await
    }

    /// A generated tenant (`Tenant::generate`), `fault_rate` of its requests failing.
    pub async fn generated(groups: usize, seed: u64, fault_rate: f64) -> Scenario {
        Scenario {
            emu: emulator(groups, seed, fault_rate).await,
            state: temp_dir("scenario-state"),
            config: None,
        }
    }

    /// The config file every run of the scenario reads, if any.
    pub fn config_path(&self) -> Option<&std::path::Path> {
        self.config.as_deref()
    }

    /// The scenario's lock directory (every run of the scenario shares it).
    pub fn lock_dir(&self) -> PathBuf {
        self.state.join("locks")
    }

    /// The lock gwb takes for the scenario's tenant.
    pub fn lock_key(&self) -> String {
        gwb::lock::LockKey {
            graph_root: &self.emu.url(),
            tenant_id: None,
        }
        .file_name()
    }

    /// The number of requests of a kind the emulator counted (`patch_group_attempt`, `batch`).
    pub fn count(&self, label: &str) -> u64 {
        self.emu.shared().stat(label)
    }

    /// The journals written in the scenario's state directory.
    pub fn journals(&self) -> Vec<PathBuf> {
        let dir = self.state.join("gwb");
        let mut found: Vec<PathBuf> = std::fs::read_dir(&dir)
            .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
            .unwrap_or_default();
        found.retain(|p| p.extension().is_some_and(|e| e == "jsonl"));
        found.sort();
        found
    }
}

/// Run gwb against `graph_url` with the test token, one state and lock directory for every
/// run of a test, the config file if any and `env` last (bounded: a hang fails the test).
async fn gwb_in(
    graph_url: &str,
    state: &std::path::Path,
    config: Option<&std::path::Path>,
    env: &[(&str, &str)],
    args: &[&str],
) -> Ran {
    let mut cmd = gwb_command();
    cmd.env("GWB_GRAPH_URL", graph_url)
        .env("GWB_ACCESS_TOKEN", TOKEN)
        .env("XDG_STATE_HOME", state)
        .env("GWB_LOCK_DIR", state.join("locks"))
        .args(args);
    if let Some(c) = config {
        cmd.env("GWB_CONFIG", c);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = tokio::time::timeout(Duration::from_secs(120), run(cmd))
        .await
        .expect("gwb ends by itself");
    Ran(out)
}

/// What one gwb run printed, and how it exited (and, through `Deref`, the process output).
pub struct Ran(pub Output);

impl std::ops::Deref for Ran {
    type Target = Output;
    fn deref(&self) -> &Output {
        &self.0
    }
}

impl Ran {
    pub fn code(&self) -> i32 {
        self.0.status.code().expect("gwb exits with a code")
    }
    pub fn json(&self) -> serde_json::Value {
        json_of(&self.0)
    }
    pub fn stdout(&self) -> String {
        stdout(&self.0)
    }
    pub fn stderr(&self) -> String {
        stderr(&self.0)
    }
    /// Fail the test, showing stderr, unless stderr contains `needle`.
    #[track_caller]
    pub fn assert_stderr_has(&self, needle: &str) {
        let err = self.stderr();
        assert!(err.contains(needle), "stderr lacks {needle:?}:\n{err}");
    }
}

/// Kills process `pid` if it is still running after `secs` and the guard was not dropped: a
/// hang guard for tests that read a child's output, so a hang fails the test instead of
/// stalling the suite. Dropping the guard (the test went on) stands it down, so it never
/// signals a process id that has since been reused.
pub struct HangGuard(Option<std::sync::mpsc::Sender<()>>);

impl HangGuard {
    pub fn new(pid: u32, secs: u64) -> HangGuard {
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        std::thread::spawn(move || {
            if let Err(std::sync::mpsc::RecvTimeoutError::Timeout) =
                rx.recv_timeout(Duration::from_secs(secs))
            {
                let _ = std::process::Command::new("kill")
                    .args(["-9", &pid.to_string()])
                    .status();
            }
        });
        HangGuard(Some(tx))
    }
}

impl Drop for HangGuard {
    fn drop(&mut self) {
        if let Some(tx) = self.0.take() {
            let _ = tx.send(());
        }
    }
}

/// Apply `changes` through gwb's one apply path as `disable-existing-m365` does (compare-and-
/// set, cloud Microsoft 365 groups only), journaled in `journal`, with no read-back wait.
pub async fn apply_as_disable(
    client: &GraphClient,
    changes: &[gwb::writeback::plan::Change],
    journal: &gwb::journal::Journal,
) -> gwb::change::apply::Applied {
    use gwb::writeback::plan::SkipReason;
    let args = gwb::cli::ApplyArgs {
        dry_run: false,
        yes: true,
        max_changes: None,
        concurrency: 2,
        write_limit: 3000,
        write_window: 150.0,
        verify_timeout: 0.0,
    };
    gwb::change::apply::apply(
        client,
        changes,
        &[],
        journal,
        &args,
        gwb::change::apply::SkipAs {
            changed: SkipReason::ChangedSincePlan,
            already: SkipReason::AlreadyDisabled,
            only_cloud_m365: true,
        },
    )
    .await
    .unwrap()
}

// Shared by the tests of several features (moved here when the tests were grouped by feature).
use std::collections::BTreeMap;

use gwb::emulator::{EmuGroup, WriteQuirk};
use serde_json::Value;

/// The ids of `n` groups the disable would change.
pub(crate) fn to_change(t: &Tenant, n: usize) -> Vec<String> {
    t.groups
        .iter()
        .filter(|g| should_change(g) && g.is_assignable_to_role != Some(true))
        .take(n)
        .map(|g| g.id.clone())
        .collect()
}

pub(crate) fn quirks(ids: &[String], q: WriteQuirk) -> BTreeMap<String, WriteQuirk> {
    ids.iter().map(|i| (i.clone(), q)).collect()
}

pub(crate) fn ids_of(v: &Value) -> Vec<String> {
    let mut ids: Vec<String> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_str().or(x["id"].as_str()).unwrap().to_string())
        .collect();
    ids.sort();
    ids
}

pub(crate) const GU: &str = gwb::graph::model::GROUP_UNIFIED_TEMPLATE_ID;

/// GRAPH.md's table, written out again on the emulator's raw data.
pub(crate) fn expected(g: &EmuGroup) -> (bool, Option<String>) {
    if g.on_premises_sync_enabled == Some(true) {
        return (false, None);
    }
    let unified = g.group_types.iter().any(|t| t == "Unified");
    let plain_security = g.security_enabled && !g.mail_enabled && g.proxy_addresses.is_empty();
    let wb = &g.writeback;
    if unified {
        if wb.is_enabled == Some(false) {
            (false, None)
        } else {
            let t: String = wb
                .on_premises_group_type
                .as_deref()
                .unwrap_or("universalDistributionGroup")
                .into();
            (true, Some(t))
        }
    } else if plain_security && wb.is_enabled == Some(true) {
        (true, Some("universalSecurityGroup".into()))
    } else {
        (false, None)
    }
}

/// A wiremock Graph for tests that need answers the emulator does not give: each answer one
/// chained line, and [`GraphMock::strict`] mounts the catch-all that fails the test on any
/// request nobody expected.
///
/// ```ignore
/// let g = GraphMock::start().await;
/// g.on("GET", "/beta/settings").once().priority(1).json(json!({"value": []})).await;
/// g.on("PATCH", "/beta/settings/ID").expect(1).status(204).await;
/// let g = g.strict().await;
/// ```
pub struct GraphMock {
    pub server: MockServer,
    /// One state directory for every gwb run against this Graph.
    state: PathBuf,
}

impl GraphMock {
    pub async fn start() -> GraphMock {
        GraphMock {
            server: MockServer::start().await,
            state: temp_dir("graph-mock-state"),
        }
    }

    /// Run gwb against this Graph (bounded: a hang fails the test).
    pub async fn gwb(&self, args: &[&str]) -> Ran {
        self.gwb_with(&[], args).await
    }

    /// [`GraphMock::gwb`] with extra environment variables (set last: they win).
    pub async fn gwb_with(&self, env: &[(&str, &str)], args: &[&str]) -> Ran {
        gwb_in(&self.uri(), &self.state, None, env, args).await
    }

    pub fn uri(&self) -> String {
        self.server.uri()
    }

    /// An answer to `method` on `path` (the whole path, `/beta/...`), to be given.
    pub fn on(&self, method: &str, path: impl Into<String>) -> Answer<'_> {
        let given = Mock::given(wiremock::matchers::method(method))
            .and(wiremock::matchers::path(path.into()));
        Answer::new(self, given)
    }

    /// An answer to any method on `path`.
    pub fn at(&self, path: impl Into<String>) -> Answer<'_> {
        Answer::new(self, Mock::given(wiremock::matchers::path(path.into())))
    }

    /// An answer to `method` on any path (a sign-in host's token endpoint).
    pub fn method(&self, method: &str) -> Answer<'_> {
        Answer::new(self, Mock::given(wiremock::matchers::method(method)))
    }

    /// An answer to every request (a host that must never be asked: `.expect(0)`).
    pub fn any(&self) -> Answer<'_> {
        Answer::new(self, Mock::given(wiremock::matchers::any()))
    }

    /// Every request nobody expected now fails the test.
    pub async fn strict(self) -> GraphMock {
        catch_all(&self.server).await;
        self
    }
}

/// One answer of a [`GraphMock`]: how often, how sure, and what.
pub struct Answer<'m> {
    mock: &'m GraphMock,
    given: wiremock::MockBuilder,
    up_to: Option<u64>,
    expect: Option<u64>,
    priority: Option<u8>,
    name: Option<String>,
}

impl<'m> Answer<'m> {
    fn new(mock: &'m GraphMock, given: wiremock::MockBuilder) -> Self {
        Answer {
            mock,
            given,
            up_to: None,
            expect: None,
            priority: None,
            name: None,
        }
    }

    /// Only for requests that also match `m` (a query parameter, a header, the token).
    pub fn and(mut self, m: impl wiremock::Match + 'static) -> Self {
        self.given = self.given.and(m);
        self
    }

    /// Given once; the next request goes to the next answer by priority.
    pub fn once(self) -> Self {
        self.times(1)
    }

    /// Given at most `n` times.
    pub fn times(mut self, n: u64) -> Self {
        self.up_to = Some(n);
        self
    }

    /// The test fails unless it is asked for exactly `n` times.
    pub fn expect(mut self, n: u64) -> Self {
        self.expect = Some(n);
        self
    }

    /// What a failed expectation calls it.
    pub fn named(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Answers with a lower number are tried first (wiremock's priority).
    pub fn priority(mut self, p: u8) -> Self {
        self.priority = Some(p);
        self
    }

    /// A 200 with this JSON body.
    pub async fn json(self, body: Value) {
        self.with(ResponseTemplate::new(200).set_body_json(body))
            .await
    }

    /// An empty answer with this status (204 for a PATCH Graph accepted).
    pub async fn status(self, status: u16) {
        self.with(ResponseTemplate::new(status)).await
    }

    /// A Graph error: `status`, with Graph's error body (`code`, `message`, and the request id
    /// `r-STATUS`, which gwb must carry into its message).
    pub async fn error(self, status: u16, code: &str, message: &str) {
        let body = serde_json::json!({"error": {
            "code": code, "message": message,
            "innerError": {"request-id": format!("r-{status}")}}});
        self.with(ResponseTemplate::new(status).set_body_json(body))
            .await
    }

    /// Any other answer.
    pub async fn with(self, template: impl wiremock::Respond + 'static) {
        let mut mock = self.given.respond_with(template);
        if let Some(n) = self.up_to {
            mock = mock.up_to_n_times(n);
        }
        if let Some(n) = self.expect {
            mock = mock.expect(n);
        }
        if let Some(p) = self.priority {
            mock = mock.with_priority(p);
        }
        if let Some(name) = self.name {
            mock = mock.named(name);
        }
        mock.mount(&self.mock.server).await;
    }
}
