//! A local Microsoft Graph (beta) emulator for the demo, the tests and the benchmarks.
//!
//! A real HTTP server (axum) on a local address, serving a generated tenant with Graph's paging,
//! `$select`/`$filter`/`$top` rules, error bodies with request ids, whole-array settings updates,
//! `$batch` (at most 20 items, per-item status, shuffled order) and member counts. It requires a
//! bearer token (any non-empty one) and can add latency and inject faults at a given rate:
//! 429 with a fractional or HTTP-date `Retry-After`, 503, 504, a connection dropped mid-body, and
//! slow responses. Counters of what it served let tests assert request counts.

pub(crate) mod routes;
pub(crate) mod saved;
pub mod tenant;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, SystemTime};

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use bytes::Bytes;
use tokio::sync::oneshot;

use routes::{EmuBody, EmuRequest, EmuResponse, dispatch, fault_response, graph_error};
pub use tenant::{EmuGroup, Rng, Tenant, group_unified_template};

/// How the emulator behaves.
#[derive(Debug, Clone)]
pub struct EmulatorConfig {
    /// Added to every request.
    pub latency: Duration,
    /// Share of requests (and of `$batch` items) answered with an injected fault, 0 to 1.
    pub fault_rate: f64,
    /// Seed for fault decisions and batch shuffling.
    pub seed: u64,
    /// At most this many group writes per window, else 429 with the time until a slot frees
    /// (Graph: 3,000 per 150 s per app and tenant). `None`: unlimited.
    pub write_limit: Option<(u32, Duration)>,
    /// Serve `/directory/onPremisesSynchronization` as to a delegated Global Administrator.
    /// `false` (the default): 403, as Graph answers an app-only token.
    pub sync_features_readable: bool,
    /// The sync features say group writeback v2 is on (`groupWriteBackEnabled: true`); off, as
    /// by default, v1 runs alone and writes every Microsoft 365 group back.
    pub group_writeback_v2: bool,
    /// Graph's read-after-write lag for groups: for this long after a write, reads of the group
    /// still show its previous state. Zero: reads see writes at once.
    pub read_lag: Duration,
    /// Graph's read-after-write lag counted in reads: after a write, the next this many reads
    /// of the group still show its previous state. Takes precedence over `read_lag`.
    pub read_lag_reads: u32,
    /// Groups whose writes misbehave, by id (faults seen in the wild, for tests).
    pub write_quirks: BTreeMap<String, WriteQuirk>,
    /// A throttling storm: the first `n` `$batch` items are answered 429 with this
    /// `Retry-After` (seconds), however many attempts that takes a client.
    pub storm: Option<(u64, String)>,
    /// A `$batch` with a throttled item answers 424 Failed Dependency as a whole, the items'
    /// own answers in its body (Graph's "Throttling and batching"); the others were carried out.
    pub batch_424: bool,
    /// Store setting values `"true"`/`"false"` as `"True"`/`"False"`, as Graph is known to.
    pub capitalise_booleans: bool,
    /// For tests of streaming: a page of the group listing that starts at this offset or
    /// later is served only once the semaphore has a permit (the test adds one when it has
    /// seen what it waits for).
    pub hold_pages: Option<(usize, Arc<tokio::sync::Semaphore>)>,
    /// Only this bearer token is accepted; any other is answered 401, as Graph answers a token
    /// issued for another tenant or audience (a tenant that refuses the app's sign-in).
    pub only_token: Option<String>,
    /// Entra Cloud Sync's agents (service principals made from its application template) and
    /// their synchronization jobs, as `GET /servicePrincipals/{id}/synchronization/jobs` gives
    /// them. Empty: the tenant has no Cloud Sync.
    pub cloud_sync: Vec<CloudSyncAgent>,
    /// The app lacks `Synchronization.Read.All` / `Application.Read.All`: 403 on those reads.
    pub cloud_sync_forbidden: bool,
    /// `GET /admin/reportSettings` answers 403 (the app lacks `ReportSettings.Read.All`).
    pub report_settings_forbidden: bool,
    /// The app lacks `Group-OnPremisesSyncBehavior.ReadWrite.All`: 403 on
    /// `/groups/{id}/onPremisesSyncBehavior`.
    pub sync_behavior_forbidden: bool,
    /// How the Microsoft 365 groups activity report answers.
    pub activity_report: ActivityReport,
}

/// How `GET /reports/getOffice365GroupsActivityDetail(period=...)` answers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ActivityReport {
    /// Every Microsoft 365 group, with its id and a last activity date (none for every fifth).
    #[default]
    Plain,
    /// The tenant conceals names in its reports: ids and names are hashes.
    Concealed,
    /// As `Concealed`, with the hashes shaped like GUIDs (what a concealed id looks like is
    /// undocumented; third-party posts show both): only `reportSettings` tells.
    ConcealedGuidLike,
    /// The app lacks `Reports.Read.All`: 403.
    Forbidden,
}

/// A group provisioning job's `synchronizationSchema` whose scope is the groups' writeback
/// flag (attribute value filtering on `isWritebackEnabled`).
pub fn schema_scoped_on_writeback() -> serde_json::Value {
    serde_json::json!({"synchronizationRules": [{"objectMappings": [{
        "enabled": true,
        "name": "Provision Azure Active Directory Groups",
        "sourceObjectName": "Group",
        "targetObjectName": "group",
        "scope": {"groups": [{"name": "Writeback enabled", "clauses": [{
            "operatorName": "IsTrue",
            "sourceOperandName": "isWritebackEnabled",
            "targetOperand": {"values": []}
        }]}]}
    }]}]})
}

/// The sample's Cloud Sync, for `--emulator` and `gwb emulator`: one agent (its service
/// principal named after the AD domain, as the portal names it) with a user/group job from AD
/// and a group provisioning job to AD that scopes on the writeback flag. As Microsoft's pages
/// show them (and gwb must find them): the agent's principal carries Cloud Sync's id only in
/// `servicePrincipalNames` (applicationTemplateId null), and the group job's `templateId`
/// differs from its id's `AAD2ADGroupProvisioning.` prefix.
pub fn sample_cloud_sync() -> Vec<CloudSyncAgent> {
    const GROUP_JOB: &str = "AAD2ADGroupProvisioning.3c1e0f5a4b2d4e6f8a9b0c1d2e3f4a5b.sample";
    vec![CloudSyncAgent {
        id: "3c1e0f5a-4b2d-4e6f-8a9b-0c1d2e3f4a5b".into(),
        display_name: "contoso.example".into(),
        jobs: vec![
            serde_json::json!({
                "id": "AD2AADProvisioning.3c1e0f5a4b2d4e6f8a9b0c1d2e3f4a5b.sample",
                "templateId": "AD2AADProvisioning",
                "schedule": {"interval": "PT2M", "state": "Active"},
                "status": {"code": "Active", "quarantine": null,
                    "lastExecution": {"timeEnded": "2026-11-28T23:58:00Z", "state": "Succeeded"}}
            }),
            serde_json::json!({
                "id": GROUP_JOB,
                "templateId": "GroupProvisioningToAD",
                "schedule": {"interval": "PT20M", "state": "Active"},
                "status": {"code": "Active", "quarantine": null,
                    "lastExecution": {"timeEnded": "2026-11-28T23:40:00Z", "state": "Succeeded"}}
            }),
        ],
        schemas: [(GROUP_JOB.to_string(), schema_scoped_on_writeback())].into(),
        by_app_id: false,
        by_service_principal_names: true,
    }]
}

/// A Cloud Sync agent: its service principal and its jobs (`synchronizationJob` JSON).
#[derive(Debug, Clone)]
pub struct CloudSyncAgent {
    pub id: String,
    pub display_name: String,
    pub jobs: Vec<serde_json::Value>,
    /// Job id to its `synchronizationSchema`; a job not listed has one group mapping without
    /// a scoping filter (every group in scope). A `null` schema is answered 404: a schema that
    /// cannot be read.
    pub schemas: BTreeMap<String, serde_json::Value>,
    /// The agent's service principal is the one whose `appId` is Cloud Sync's id, with
    /// `applicationTemplateId: null` (as Microsoft's schema article shows one, older text), not
    /// one made from the template.
    pub by_app_id: bool,
    /// The agent's service principal carries Cloud Sync's id only in `servicePrincipalNames`,
    /// with `applicationTemplateId: null` and an `appId` of its own (the schema article's
    /// current text): found by `servicePrincipalNames/any(x:x eq ...)` alone.
    pub by_service_principal_names: bool,
}

/// How a write to one group misbehaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteQuirk {
    /// Answered 204 as if done, but nothing changes: a write that did not take.
    Ignored,
    /// Answered 404 `Request_ResourceNotFound`, though the group exists and stays as it was.
    NotFound,
}

impl Default for EmulatorConfig {
    fn default() -> Self {
        Self {
            latency: Duration::ZERO,
            fault_rate: 0.0,
            seed: 1,
            write_limit: None,
            sync_features_readable: false,
            group_writeback_v2: false,
            read_lag: Duration::ZERO,
            read_lag_reads: 0,
            write_quirks: BTreeMap::new(),
            storm: None,
            batch_424: false,
            capitalise_booleans: false,
            hold_pages: None,
            only_token: None,
            cloud_sync: Vec::new(),
            cloud_sync_forbidden: false,
            report_settings_forbidden: false,
            sync_behavior_forbidden: false,
            activity_report: ActivityReport::Plain,
        }
    }
}

/// An injected fault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Fault {
    Throttle {
        retry_after: String,
    },
    Unavailable,
    GatewayTimeout,
    /// Headers sent, then the connection is cut mid-body.
    Drop,
    /// The answer comes, late.
    Slow,
    /// The request is carried out, then the connection is cut before the answer is complete:
    /// the client cannot know whether its write happened.
    LostAnswer,
}

/// State shared by every request.
pub struct Shared {
    tenant: Mutex<Tenant>,
    stats: Mutex<BTreeMap<String, u64>>,
    rng: Mutex<Rng>,
    cfg: EmulatorConfig,
    base_url: OnceLock<String>,
    seq: AtomicU64,
    writes: Mutex<std::collections::VecDeque<std::time::Instant>>,
    /// Storm items served so far.
    stormed: AtomicU64,
}

impl Shared {
    /// Admit one write under the write limit, or say how long until one would be admitted.
    fn admit_write(&self) -> Result<(), Duration> {
        let Some((limit, window)) = self.cfg.write_limit else {
            return Ok(());
        };
        let now = std::time::Instant::now();
        let mut w = self.writes.lock().expect("writes lock");
        while w.front().is_some_and(|t| now.duration_since(*t) >= window) {
            w.pop_front();
        }
        if w.len() < limit as usize {
            w.push_back(now);
            Ok(())
        } else {
            let oldest = *w.front().expect("non-empty at the limit");
            Err(window.saturating_sub(now.duration_since(oldest)))
        }
    }

    /// The tenant, for reading ground truth or arranging a test.
    pub fn tenant(&self) -> MutexGuard<'_, Tenant> {
        self.tenant.lock().expect("emulator tenant lock poisoned")
    }

    /// How many times `label` happened (`requests`, `list_groups`, `patch_group`, `batch`,
    /// `batch_item`, `faults`, `unauthorized`, ...).
    pub fn stat(&self, label: &str) -> u64 {
        self.stats
            .lock()
            .expect("stats lock")
            .get(label)
            .copied()
            .unwrap_or(0)
    }

    pub fn stats(&self) -> BTreeMap<String, u64> {
        self.stats.lock().expect("stats lock").clone()
    }

    fn count(&self, label: &str) {
        *self
            .stats
            .lock()
            .expect("stats lock")
            .entry(label.to_string())
            .or_default() += 1;
    }

    fn base_url(&self) -> &str {
        self.base_url
            .get()
            .map(String::as_str)
            .unwrap_or("http://127.0.0.1")
    }

    pub(crate) fn read_lag(&self) -> Duration {
        self.cfg.read_lag
    }

    pub(crate) fn read_lag_reads(&self) -> u32 {
        self.cfg.read_lag_reads
    }

    /// The storm's 429 for the next `$batch` item, while the storm lasts.
    pub(crate) fn storm_fault(&self) -> Option<Fault> {
        let (n, retry_after) = self.cfg.storm.as_ref()?;
        if self.stormed.fetch_add(1, Ordering::SeqCst) >= *n {
            return None;
        }
        self.count("storm_items");
        Some(Fault::Throttle {
            retry_after: retry_after.clone(),
        })
    }

    pub(crate) fn batch_424(&self) -> bool {
        self.cfg.batch_424
    }

    pub(crate) fn capitalise_booleans(&self) -> bool {
        self.cfg.capitalise_booleans
    }

    pub(crate) fn write_quirk(&self, id: &str) -> Option<WriteQuirk> {
        self.cfg.write_quirks.get(&id.to_ascii_lowercase()).copied()
    }

    pub(crate) fn sync_features_readable(&self) -> bool {
        self.cfg.sync_features_readable
    }

    fn next_request_id(&self) -> String {
        let n = self.seq.fetch_add(1, Ordering::Relaxed);
        format!("{:08x}-0000-4000-8000-{:012x}", self.cfg.seed as u32, n)
    }

    fn new_uuid(&self) -> String {
        self.rng.lock().expect("rng lock").uuid()
    }

    fn shuffle<T>(&self, items: &mut [T]) {
        let mut rng = self.rng.lock().expect("rng lock");
        for i in (1..items.len()).rev() {
            let j = rng.below(i as u64 + 1) as usize;
            items.swap(i, j);
        }
    }

    fn roll_fault(&self, connection_level: bool) -> Option<Fault> {
        if self.cfg.fault_rate <= 0.0 {
            return None;
        }
        let mut rng = self.rng.lock().expect("rng lock");
        if !rng.chance(self.cfg.fault_rate) {
            return None;
        }
        let kinds = if connection_level { 7 } else { 4 };
        Some(match rng.below(kinds) {
            0 => Fault::Throttle {
                retry_after: format!("0.{:03}", 10 + rng.below(90)),
            },
            1 => {
                // An HTTP date one second ahead: exercises the date form of Retry-After.
                let when = SystemTime::now() + Duration::from_secs(1);
                Fault::Throttle {
                    retry_after: httpdate::fmt_http_date(when),
                }
            }
            2 => Fault::Unavailable,
            3 => Fault::GatewayTimeout,
            4 => Fault::Drop,
            5 => Fault::Slow,
            _ => Fault::LostAnswer,
        })
    }

    /// A fault for one `$batch` item (status-level only).
    fn item_fault(&self) -> Option<Fault> {
        let f = self.roll_fault(false);
        if f.is_some() {
            self.count("item_faults");
        }
        f
    }
}

/// A running emulator. Dropping it stops the server.
pub struct Emulator {
    shared: Arc<Shared>,
    addr: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Emulator {
    /// Start serving `tenant` on `listen` (port 0 picks a free port).
    pub async fn start(
        tenant: Tenant,
        cfg: EmulatorConfig,
        listen: SocketAddr,
    ) -> std::io::Result<Emulator> {
        let listener = tokio::net::TcpListener::bind(listen).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            tenant: Mutex::new(tenant),
            stats: Mutex::new(BTreeMap::new()),
            rng: Mutex::new(Rng::new(cfg.seed.wrapping_add(0xFA17))),
            cfg,
            base_url: OnceLock::new(),
            seq: AtomicU64::new(1),
            writes: Mutex::new(std::collections::VecDeque::new()),
            stormed: AtomicU64::new(0),
        });
        let _ = shared.base_url.set(format!("http://{addr}"));
        let app = axum::Router::new()
            .fallback(handle)
            .with_state(shared.clone());
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = rx.await;
                })
                .await;
        });
        Ok(Emulator {
            shared,
            addr,
            shutdown: Some(tx),
            task: Some(task),
        })
    }

    /// The Graph root to give gwb, e.g. `http://127.0.0.1:41234`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    /// Stop serving and wait for the server to finish.
    pub(crate) async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

const MAX_REQUEST_BODY: usize = 8 * 1024 * 1024;

// Long on purpose: the request pipeline of the emulator (auth, body cap, faults, latency,
// throttling) in the order Graph applies it.
async fn handle(State(shared): State<Arc<Shared>>, req: axum::extract::Request) -> Response {
    // The emulator's own counters, for benchmarks and automation tests: no token, no faults,
    // not counted.
    if req.uri().path() == "/_emulator/stats" {
        return to_http(EmuResponse {
            status: 200,
            headers: Vec::new(),
            body: EmuBody::Json(serde_json::json!(shared.stats())),
        });
    }
    shared.count("requests");
    if let Some((from, gate)) = &shared.cfg.hold_pages
        && req.uri().path() == "/beta/groups"
        && routes::listing_offset(req.uri().query()) >= *from
    {
        // Counted before it waits, so a test knows the page was asked for.
        shared.count("held_pages");
        let _ = gate.acquire().await;
    }
    if !shared.cfg.latency.is_zero() {
        tokio::time::sleep(shared.cfg.latency).await;
    }
    let mut lose_answer = false;
    match shared.roll_fault(true) {
        None => {}
        Some(Fault::LostAnswer) => {
            shared.count("faults");
            shared.count("lost_answers");
            lose_answer = true;
        }
        Some(Fault::Slow) => {
            shared.count("faults");
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
        Some(Fault::Drop) => {
            shared.count("faults");
            return dropped_response();
        }
        Some(f) => {
            shared.count("faults");
            return to_http(fault_response(&shared, f));
        }
    }
    let (parts, body) = req.into_parts();
    let bearer = parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .is_some_and(|t| !t.trim().is_empty());
    if !bearer {
        shared.count("unauthorized");
        return to_http(graph_error(
            &shared,
            401,
            "InvalidAuthenticationToken",
            "Access token is empty.",
        ));
    }
    if let Some(only) = &shared.cfg.only_token {
        let given = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        if given != Some(only.as_str()) {
            shared.count("unauthorized");
            return to_http(graph_error(
                &shared,
                401,
                "InvalidAuthenticationToken",
                "Access token validation failure. Invalid audience.",
            ));
        }
    }
    let Some(path) = parts.uri.path().strip_prefix("/beta/") else {
        return to_http(graph_error(
            &shared,
            400,
            "BadRequest",
            "Invalid version: only /beta is served by this emulator.",
        ));
    };
    let path = percent_decode(path);
    let body = match axum::body::to_bytes(body, MAX_REQUEST_BODY).await {
        Ok(b) => b,
        Err(_) => {
            return to_http(graph_error(
                &shared,
                413,
                "RequestEntityTooLarge",
                "Request body too large.",
            ));
        }
    };
    let headers: Vec<(String, String)> = parts
        .headers
        .iter()
        .filter(|(n, _)| *n != header::AUTHORIZATION)
        .map(|(n, v)| {
            (
                n.as_str().to_lowercase(),
                v.to_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    let query = parts.uri.query().unwrap_or("");
    let mut resp = dispatch(
        &shared,
        &EmuRequest {
            method: parts.method.as_str(),
            path: &path,
            query,
            headers: &headers,
            body: &body,
        },
    );
    // Graph puts a request-id on every response, not only on errors.
    if !resp.headers.iter().any(|(k, _)| k == "request-id") {
        resp.headers
            .push(("request-id".into(), shared.next_request_id()));
    }
    if lose_answer {
        if parts.method != axum::http::Method::GET {
            shared.count("lost_write_answers");
        }
        return dropped_response();
    }
    to_http(resp)
}

fn percent_decode(s: &str) -> String {
    url::form_urlencoded::parse(format!("p={}", s.replace('+', "%2B")).as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

fn to_http(r: EmuResponse) -> Response {
    let mut builder = Response::builder()
        .status(StatusCode::from_u16(r.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR));
    for (k, v) in &r.headers {
        if let Ok(v) = HeaderValue::from_str(v) {
            builder = builder.header(k.as_str(), v);
        }
    }
    let body = match r.body {
        EmuBody::Empty => Body::empty(),
        EmuBody::Json(v) => {
            builder = builder.header(
                header::CONTENT_TYPE,
                "application/json;odata.metadata=minimal",
            );
            Body::from(serde_json::to_vec(&v).expect("JSON values serialise"))
        }
        EmuBody::RawJson(b) => {
            builder = builder.header(
                header::CONTENT_TYPE,
                "application/json;odata.metadata=minimal",
            );
            Body::from(b)
        }
        EmuBody::Text(t) => Body::from(t),
    };
    builder.body(body).expect("valid response")
}

/// Headers and the start of a body, then an error: hyper aborts the connection mid-response.
fn dropped_response() -> Response {
    let chunks: Vec<Result<Bytes, std::io::Error>> = vec![
        Ok(Bytes::from_static(b"{\"value\":[{\"id\":")),
        Err(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "emulated dropped connection",
        )),
    ];
    Response::builder()
        .status(200)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from_stream(futures_util::stream::iter(chunks)))
        .expect("valid response")
}
