//! The only code in gwb that speaks HTTP to Graph.
//!
//! One [`GraphClient`] with an injectable root URL. It enforces the token rule (the bearer token
//! goes only to the configured origin, over https or plain http to a loopback address), applies
//! the retry policy of [`retry`], reads bodies with a size bound, and logs every request once.

pub mod batch;
pub mod error;
pub(crate) mod fast;
pub(crate) mod groups;
pub(crate) mod mail;
pub mod model;
pub(crate) mod organization;
pub(crate) mod pace;
pub(crate) mod paging;
pub(crate) mod reports;
pub mod retry;
pub(crate) mod settings;
pub(crate) mod sync;

use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use azure_core::credentials::TokenCredential;
use bytes::{Bytes, BytesMut};
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use url::Url;

pub use error::GraphError;
use retry::{RetryPolicy, Sleeper, is_retryable_status, parse_retry_after};

pub(crate) use crate::cloud::DEFAULT_GRAPH_ROOT;

/// Larger than any Graph page (999 groups is about 1 MB) by a wide margin, small enough that a
/// runaway proxy cannot exhaust memory.
pub(crate) const DEFAULT_MAX_BODY: usize = 64 * 1024 * 1024;

/// A successful (2xx) response, body read in full.
#[derive(Debug)]
pub struct GraphResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
    pub request_id: Option<String>,
}

/// The Graph client. Cheap to clone (shares the connection pool).
#[derive(Clone)]
pub struct GraphClient {
    inner: Arc<Inner>,
}

/// Builds a fresh credential (with an empty token cache), for one renewal after a 401.
pub(crate) type Renew = Arc<dyn Fn() -> Result<Arc<dyn TokenCredential>, String> + Send + Sync>;

struct Inner {
    http: Arc<reqwest::Client>,
    beta: Url,
    origin: url::Origin,
    credential: std::sync::RwLock<Arc<dyn TokenCredential>>,
    renew: Option<Renew>,
    scope: String,
    retry: RetryPolicy,
    sleeper: Sleeper,
    max_body: usize,
    max_pages: u64,
    /// The write budget this client shares with the other tenants of a fleet run (Graph's
    /// limit per app across all tenants); writes are paced against it as well as their own.
    shared_pacer: Option<Arc<pace::Pacer>>,
    /// Whether any request of this client got an HTTP answer.
    reached: std::sync::atomic::AtomicBool,
    /// Answers by HTTP status, for `--metrics-file` (`gwb_graph_requests_total`).
    answers: std::sync::Mutex<std::collections::BTreeMap<u16, u64>>,
    /// Page bodies handed back once parsed ([`GraphClient::recycle`]), read into again.
    bodies: std::sync::Mutex<Vec<BytesMut>>,
}

/// Page bodies kept for reuse: a listing has three in flight (arriving, queued, parsed), so two
/// spare ones always suffice.
const SPARE_BODIES: usize = 2;

/// More pages than any tenant has: 20,000 pages of 999 is 20 million groups.
pub(crate) const DEFAULT_MAX_PAGES: u64 = 20_000;

impl std::fmt::Debug for GraphClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GraphClient")
            .field("beta", &self.inner.beta.as_str())
            .field("scope", &self.inner.scope)
            .finish_non_exhaustive()
    }
}

/// Builds a [`GraphClient`]; tests swap the sleeper and the retry policy.
pub struct GraphClientBuilder {
    root: String,
    credential: Arc<dyn TokenCredential>,
    renew: Option<Renew>,
    retry: RetryPolicy,
    sleeper: Sleeper,
    max_body: usize,
    max_pages: u64,
    timeout: Duration,
    read_timeout: Duration,
    shared_pacer: Option<Arc<pace::Pacer>>,
    share_transport: bool,
}

/// What an HTTP client is built from: whether the root is loopback (no proxy), and the request
/// and read timeouts.
type HttpKey = (bool, Duration, Duration);

/// An HTTP client: no redirects followed, gwb's user agent, the timeouts of `key`.
fn http_client(key: HttpKey, root: &str) -> Result<reqwest::Client, GraphError> {
    let (loopback, timeout, read_timeout) = key;
    let mut http = reqwest::Client::builder();
    if loopback {
        // The emulator on this machine: a proxy from HTTP_PROXY/ALL_PROXY would receive the
        // bearer token (and could not reach loopback anyway).
        http = http.no_proxy();
    }
    if Url::parse(root).is_ok_and(|u| u.scheme() == "http") {
        // A plain-HTTP root (the emulator) never does TLS: its requests stay on its origin
        // (redirects and foreign nextLinks are refused), so it loads no root certificates.
        // Loading them was 15% of a 100-tenant emulated fleet's CPU (BENCHMARKS.md).
        http = http.tls_certs_only(std::iter::empty());
    }
    http
        // Never follow a redirect: the next hop would get the Authorization header decision
        // made by reqwest, not by us. A 3xx is reported instead.
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("gwb/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(Duration::from_secs(30).min(timeout))
        .read_timeout(read_timeout)
        .timeout(timeout)
        .build()
        .map_err(|e| GraphError::InvalidBase {
            url: root.to_string(),
            reason: format!("cannot build an HTTP client: {e}"),
        })
}

/// The HTTP client of `key` for `root`'s origin, shared by the clients that ask for it while
/// any of them is alive: the tenants of a fleet run on one Graph root share its TLS set-up
/// (loading the system's root certificates is most of a small tenant's CPU) and its
/// connections. When the last of them ends, its idle connections close with it, so memory
/// follows the tenants in flight. Each tenant's GraphClient, credential and counters stay its own.
fn shared_http(key: HttpKey, root: &Url) -> Result<Arc<reqwest::Client>, GraphError> {
    type Shared = Vec<((HttpKey, String), std::sync::Weak<reqwest::Client>)>;
    static SHARED: std::sync::Mutex<Shared> = std::sync::Mutex::new(Vec::new());
    let origin = root.origin().ascii_serialization();
    let mut shared = SHARED.lock().unwrap_or_else(|p| p.into_inner());
    shared.retain(|(_, w)| w.strong_count() > 0);
    if let Some(c) = shared
        .iter()
        .find(|((k, o), _)| *k == key && *o == origin)
        .and_then(|(_, w)| w.upgrade())
    {
        return Ok(c);
    }
    let c = Arc::new(http_client(key, root.as_str())?);
    shared.push(((key, origin), Arc::downgrade(&c)));
    Ok(c)
}

impl GraphClientBuilder {
    /// Share the HTTP transport (TLS set-up, connections) with the other clients of this
    /// process that share it: the tenants of a fleet run.
    pub fn share_transport(mut self) -> Self {
        self.share_transport = true;
        self
    }

    /// Pace this client's writes also against `pacer`, shared by the tenants of a fleet run.
    pub fn shared_pacer(mut self, pacer: Arc<pace::Pacer>) -> Self {
        self.shared_pacer = Some(pacer);
        self
    }
    /// How to get a fresh credential when Graph answers 401 (a token revoked or expired early):
    /// one renewal and one retry per request. Without it, a 401 is final.
    pub fn renew_with(mut self, renew: Renew) -> Self {
        self.renew = Some(renew);
        self
    }
    pub fn retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }
    pub fn sleeper(mut self, sleeper: Sleeper) -> Self {
        self.sleeper = sleeper;
        self
    }
    pub fn max_body(mut self, bytes: usize) -> Self {
        self.max_body = bytes;
        self
    }
    /// The longest one attempt may take, answer and body included.
    pub(crate) fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }
    /// The longest wait for the next bytes of an answer: a server that accepts the connection
    /// and then says nothing is given up on after this, not after the whole `timeout`.
    pub(crate) fn read_timeout(mut self, timeout: Duration) -> Self {
        self.read_timeout = timeout;
        self
    }
    /// At most this many pages per listing (a chain of nextLinks that never ends is an error).
    pub(crate) fn max_pages(mut self, pages: u64) -> Self {
        self.max_pages = pages.max(1);
        self
    }

    pub fn build(self) -> Result<GraphClient, GraphError> {
        let root = validate_root(&self.root)?;
        let origin = root.origin();
        let mut beta = root.clone();
        let path = format!("{}/beta/", root.path().trim_end_matches('/'));
        beta.set_path(&path);
        let scope = format!("{}/.default", root.origin().ascii_serialization());
        let key = (is_loopback(&root), self.timeout, self.read_timeout);
        let http = match self.share_transport {
            true => shared_http(key, &root)?,
            false => Arc::new(http_client(key, &self.root)?),
        };
        Ok(GraphClient {
            inner: Arc::new(Inner {
                http,
                beta,
                origin,
                credential: std::sync::RwLock::new(self.credential),
                renew: self.renew,
                scope,
                retry: self.retry,
                sleeper: self.sleeper,
                max_body: self.max_body,
                max_pages: self.max_pages,
                shared_pacer: self.shared_pacer,
                reached: std::sync::atomic::AtomicBool::new(false),
                answers: std::sync::Mutex::new(std::collections::BTreeMap::new()),
                bodies: std::sync::Mutex::new(Vec::new()),
            }),
        })
    }
}

/// Check a configured Graph root: https anywhere, plain http only to a loopback address (the
/// emulator), no credentials, query or fragment.
pub(crate) fn validate_root(root: &str) -> Result<Url, GraphError> {
    let bad = |reason: &str| GraphError::InvalidBase {
        url: root.to_string(),
        reason: reason.to_string(),
    };
    let url =
        Url::parse(root).map_err(|e| bad(&format!("{e}; expected e.g. {DEFAULT_GRAPH_ROOT}")))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad("it must not carry a user name or password"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(bad("it must not carry a query or fragment"));
    }
    match url.scheme() {
        "https" => {}
        "http" if is_loopback(&url) => {}
        "http" => {
            return Err(bad(
                "plain http is allowed only to a loopback address (the emulator); use https",
            ));
        }
        _ => return Err(bad("the scheme must be https")),
    }
    if url.path().trim_end_matches('/').ends_with("/beta")
        || url.path().trim_end_matches('/').ends_with("/v1.0")
    {
        return Err(bad(
            "give the Graph root without a version (gwb appends /beta), e.g. https://graph.microsoft.com",
        ));
    }
    Ok(url)
}

pub(crate) fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
    }
}

impl GraphClient {
    pub fn builder(
        root: impl Into<String>,
        credential: Arc<dyn TokenCredential>,
    ) -> GraphClientBuilder {
        GraphClientBuilder {
            root: root.into(),
            credential,
            renew: None,
            retry: RetryPolicy::default(),
            sleeper: Sleeper::real(),
            max_body: DEFAULT_MAX_BODY,
            max_pages: DEFAULT_MAX_PAGES,
            shared_pacer: None,
            share_transport: false,
            timeout: Duration::from_secs(120),
            read_timeout: Duration::from_secs(30),
        }
    }

    /// `{root}/beta/{path_and_query}`; `path_and_query` has no leading slash, e.g. `groups?$top=5`.
    pub fn url(&self, path_and_query: &str) -> Url {
        self.inner
            .beta
            .join(path_and_query.trim_start_matches('/'))
            .expect("a relative Graph path always joins onto the beta root")
    }

    /// At most this many pages per listing.
    pub(crate) fn max_pages(&self) -> u64 {
        self.inner.max_pages
    }

    /// The base of every request, `{root}/beta/`.
    pub(crate) fn beta_root(&self) -> &Url {
        &self.inner.beta
    }

    /// Whether `url` is on the configured Graph origin (scheme, host and port).
    pub fn is_same_origin(&self, url: &Url) -> bool {
        url.origin() == self.inner.origin
    }

    /// The tenant the current token is for: its `tid` claim, when the token is a JWT that
    /// carries one (Entra's tokens do; the emulator's and hand-made ones may not). `None` also
    /// when no token can be had: the first real request then reports why.
    /// Wait until `n` writes fit the budget shared with the other tenants of a fleet run (at
    /// once outside one).
    pub(crate) async fn shared_write_permit(&self, n: u32) {
        if let Some(p) = &self.inner.shared_pacer {
            p.acquire(n).await;
        }
    }

    pub(crate) async fn token_tenant(&self) -> Option<String> {
        let token = self.token().await.ok()?;
        tenant_of_token(token.token.secret())
    }

    /// A token for Graph from the current credential (which caches and renews it).
    async fn token(&self) -> azure_core::Result<azure_core::credentials::AccessToken> {
        let credential = self
            .inner
            .credential
            .read()
            .expect("credential lock")
            .clone();
        credential
            .get_token(&[self.inner.scope.as_str()], None)
            .await
    }

    /// GET and parse JSON.
    pub async fn get_json<T: DeserializeOwned>(
        &self,
        url: Url,
        headers: &[(HeaderName, &str)],
    ) -> Result<T, GraphError> {
        let resp = self.send(Method::GET, url.clone(), headers, None).await?;
        parse_json(&resp, "GET", url.path())
    }

    /// Send one request with the retry policy. Only 2xx comes back as `Ok`.
    pub async fn send(
        &self,
        method: Method,
        url: Url,
        headers: &[(HeaderName, &str)],
        json_body: Option<&serde_json::Value>,
    ) -> Result<GraphResponse, GraphError> {
        self.send_retrying(method, url, headers, json_body, &[], &[])
            .await
    }

    /// The retry policy and the sleeper, for callers that retry parts of a response themselves
    /// (`$batch` items).
    pub(crate) fn retry_policy(&self) -> &RetryPolicy {
        &self.inner.retry
    }

    /// How many answers of each HTTP status this client got (`$batch` envelopes count once).
    pub(crate) fn answers(&self) -> std::collections::BTreeMap<u16, u64> {
        self.inner
            .answers
            .lock()
            .map(|a| a.clone())
            .unwrap_or_default()
    }

    pub fn sleeper(&self) -> &Sleeper {
        &self.inner.sleeper
    }

    /// [`send`](Self::send), also retrying the statuses in `also_retry` (a `$batch` envelope
    /// answered 500 or 502 is retried as a whole), and returning the statuses in `accept` as
    /// answers (a `$batch` answered 424 carries its items' own answers).
    // Long on purpose: the retry policy of retry.rs as one loop (attempt, classify, wait, charge
    // the budget), so each rule it documents can be read in order in one place.
    pub(crate) async fn send_retrying(
        &self,
        method: Method,
        url: Url,
        headers: &[(HeaderName, &str)],
        json_body: Option<&serde_json::Value>,
        also_retry: &[u16],
        accept: &[u16],
    ) -> Result<GraphResponse, GraphError> {
        if !self.is_same_origin(&url) {
            return Err(GraphError::ForeignOrigin {
                url: url.to_string(),
                origin: self.inner.origin.ascii_serialization(),
            });
        }
        let body =
            json_body.map(|b| Bytes::from(serde_json::to_vec(b).expect("JSON values serialise")));
        let policy = &self.inner.retry;
        let mut waited = Duration::ZERO;
        // The budget counts the time attempts took too, not only the waits between them: a
        // server that times out every attempt must not keep a run going for hours.
        let mut spent_in_attempts = Duration::ZERO;
        let mut timeouts_in_a_row: u32 = 0;
        let mut unreachable: u32 = 0;
        // What the budget is charged: each wait, but at least a quarter second, so a storm of
        // Retry-After: 0 cannot go round for ever.
        let mut charged = Duration::ZERO;
        let mut attempt: u32 = 0;
        let mut renewed = false;
        loop {
            let started = Instant::now();
            let outcome = self
                .attempt(&method, &url, headers, body.clone(), also_retry, accept)
                .await;
            spent_in_attempts += started.elapsed();
            if !matches!(outcome, Err(Attempt::TimedOut(_))) {
                timeouts_in_a_row = 0;
            }
            let (err, retry_after) = match outcome {
                Ok(resp) => return Ok(resp),
                Err(Attempt::Unreachable(e))
                    if !self
                        .inner
                        .reached
                        .load(std::sync::atomic::Ordering::Relaxed) =>
                {
                    unreachable += 1;
                    self.wait_unreachable(unreachable, e, &method, &url).await?;
                    continue;
                }
                Err(Attempt::Unreachable(e)) => (e, None),
                Err(Attempt::TimedOut(e)) => {
                    timeouts_in_a_row += 1;
                    if timeouts_in_a_row >= MAX_TIMEOUTS_IN_A_ROW {
                        return Err(GraphError::Stalled {
                            method: method.to_string(),
                            path: url.path().to_string(),
                            attempts: timeouts_in_a_row,
                            last: Box::new(e),
                        });
                    }
                    (e, None)
                }
                Err(Attempt::Final(e)) if e.status() == Some(401) && !renewed => {
                    renewed = true;
                    self.renew_after_401(e, &method, &url)?;
                    continue;
                }
                Err(Attempt::Final(e)) => return Err(e),
                Err(Attempt::Retryable(e, ra)) => (e, ra),
            };
            attempt += 1;
            let spent = charged + spent_in_attempts;
            let (wait, err) = next_wait(policy, attempt, err, retry_after, spent, waited)?;
            tracing::warn!(
                method = %method,
                path = url.path(),
                attempt,
                wait_ms = wait.as_millis() as u64,
                from_retry_after = retry_after.is_some(),
                "retrying: {err}"
            );
            self.inner.sleeper.sleep(wait).await;
            waited += wait;
            charged += RetryPolicy::charge(wait);
        }
    }

    /// Graph was never reached and a connection failed (the `unreachable`th time): wait a
    /// little (a second, then two) before trying again, or give up with what was tried.
    async fn wait_unreachable(
        &self,
        unreachable: u32,
        e: GraphError,
        method: &Method,
        url: &Url,
    ) -> Result<(), GraphError> {
        if unreachable >= MAX_UNREACHABLE_AT_START {
            return Err(GraphError::Unreachable {
                host: self.inner.origin.ascii_serialization(),
                attempts: unreachable,
                last: Box::new(e),
            });
        }
        let wait = Duration::from_secs(u64::from(unreachable));
        tracing::warn!(
            method = %method,
            path = url.path(),
            attempt = unreachable,
            wait_ms = wait.as_millis() as u64,
            "cannot connect to graph; trying again: {e}"
        );
        self.inner.sleeper.sleep(wait).await;
        Ok(())
    }

    /// The first 401 of a request: a fresh credential for the kinds that sign in (then the
    /// request is sent again, once), or the 401 as it came.
    fn renew_after_401(&self, e: GraphError, method: &Method, url: &Url) -> Result<(), GraphError> {
        let Some(renew) = &self.inner.renew else {
            return Err(e);
        };
        tracing::warn!(
            method = %method,
            path = url.path(),
            "Graph answered 401; getting a fresh token and retrying once: {e}"
        );
        match renew() {
            Ok(fresh) => {
                *self.inner.credential.write().expect("credential lock") = fresh;
                Ok(())
            }
            Err(why) => {
                tracing::error!("could not renew the credential: {why}");
                Err(e)
            }
        }
    }

    /// The request, with the bearer token in a header marked sensitive (never logged).
    async fn request(
        &self,
        method: &Method,
        url: &Url,
        headers: &[(HeaderName, &str)],
        body: Option<Bytes>,
    ) -> Result<reqwest::RequestBuilder, Attempt> {
        let token = self
            .token()
            .await
            .map_err(|e| Attempt::Final(GraphError::Token(crate::auth::explain(&e.to_string()))))?;
        let mut auth =
            HeaderValue::from_str(&format!("Bearer {}", token.token.secret())).map_err(|_| {
                Attempt::Final(GraphError::Token(
                    "the token holds characters not allowed in a header".into(),
                ))
            })?;
        auth.set_sensitive(true);
        let mut req = self
            .inner
            .http
            .request(method.clone(), url.clone())
            .header(AUTHORIZATION, auth);
        for (name, value) in headers {
            req = req.header(name, *value);
        }
        if let Some(body) = body {
            req = req.header(CONTENT_TYPE, "application/json").body(body);
        }
        Ok(req)
    }

    /// One request and its answer, classified: the send, the read timeout and the request
    /// timeout, the body cap, and the mapping of every failure to a [`GraphError`].
    // Long on purpose: one match over what can happen to a single HTTP exchange.
    async fn attempt(
        &self,
        method: &Method,
        url: &Url,
        headers: &[(HeaderName, &str)],
        body: Option<Bytes>,
        also_retry: &[u16],
        accept: &[u16],
    ) -> Result<GraphResponse, Attempt> {
        let path = url.path().to_string();
        let m = method.as_str();
        let req = self.request(method, url, headers, body).await?;
        let started = Instant::now();
        let resp = match req.send().await {
            Ok(r) => r,
            Err(e) => {
                tracing::debug!(method = m, path, error = %e, "request failed");
                return Err(transport_attempt(m, &path, &e));
            }
        };
        // Graph (or something speaking HTTP at its address) answered: from now on a connection
        // failure is a blip mid-run, not a wrong URL.
        self.inner
            .reached
            .store(true, std::sync::atomic::Ordering::Relaxed);
        let status = resp.status();
        if let Ok(mut a) = self.inner.answers.lock() {
            *a.entry(status.as_u16()).or_default() += 1;
        }
        let resp_headers = resp.headers().clone();
        let request_id = header_str(&resp_headers, "request-id");
        if let Some(pct) = header_str(&resp_headers, "x-ms-throttle-limit-percentage") {
            tracing::info!(method = m, path, throttle_limit_percentage = %pct, "graph reports throttling pressure");
        }
        if status.is_redirection() {
            let location = header_str(&resp_headers, "location")
                .unwrap_or_else(|| "(no Location header)".into());
            tracing::debug!(
                method = m,
                path,
                status = status.as_u16(),
                "redirect refused"
            );
            return Err(Attempt::Final(GraphError::Redirect {
                method: m.to_string(),
                path,
                status: status.as_u16(),
                location,
            }));
        }
        let body = match read_bounded(resp, self.inner.max_body, self.spare_body()).await {
            Ok(b) => b,
            Err(ReadError::TooLarge) => {
                return Err(Attempt::Final(GraphError::BodyTooLarge {
                    method: m.to_string(),
                    path,
                    limit: self.inner.max_body,
                }));
            }
            Err(ReadError::Transport(e)) => {
                return Err(transport_attempt(m, &path, &e));
            }
        };
        tracing::debug!(
            method = m,
            path,
            status = status.as_u16(),
            duration_ms = started.elapsed().as_millis() as u64,
            request_id = request_id.as_deref().unwrap_or(""),
            "graph request"
        );
        if status.is_success() || accept.contains(&status.as_u16()) {
            return Ok(GraphResponse {
                status,
                headers: resp_headers,
                body,
                request_id,
            });
        }
        let err = error::api_error(m, &path, status.as_u16(), request_id, &body);
        if is_retryable_status(status.as_u16()) || also_retry.contains(&status.as_u16()) {
            let ra = header_str(&resp_headers, "retry-after")
                .and_then(|v| parse_retry_after(&v, SystemTime::now()));
            if status.as_u16() == 429 {
                let scope = header_str(&resp_headers, "x-ms-throttle-scope");
                tracing::info!(
                    method = m,
                    path,
                    throttle_scope = scope.as_deref().unwrap_or(""),
                    "throttled by graph"
                );
            }
            return Err(Attempt::Retryable(err, ra));
        }
        Err(Attempt::Final(err))
    }
}

/// How long to wait before the next attempt after `attempt` failed with `err`, or the error
/// that ends the retries. Slept, not only charged: `Retry-After: 0` (or a few milliseconds)
/// waits a quarter second, so a throttling Graph is never asked again at once, round after
/// round. Throttling that says how long to wait is waited out for as long as the budget allows
/// (`spent` so far), whatever the number of attempts (Graph's guidance: keep honouring
/// Retry-After); other failures get at most max_attempts.
fn next_wait(
    policy: &RetryPolicy,
    attempt: u32,
    err: GraphError,
    retry_after: Option<Duration>,
    spent: Duration,
    waited: Duration,
) -> Result<(Duration, GraphError), GraphError> {
    let wait = retry_after
        .map(RetryPolicy::charge)
        .unwrap_or_else(|| policy.backoff(attempt - 1));
    let over_count = !policy.allows_another(attempt, err.status(), retry_after.is_some());
    if over_count || spent + wait > policy.budget {
        return Err(GraphError::RetriesExhausted {
            attempts: attempt,
            waited_secs: waited.as_secs_f64(),
            last: Box::new(err),
        });
    }
    Ok((wait, err))
}

enum Attempt {
    Retryable(GraphError, Option<Duration>),
    /// No (complete) answer within the read or request timeout: the server stalled.
    TimedOut(GraphError),
    /// No connection at all (refused, no such host, TLS handshake failed).
    Unreachable(GraphError),
    Final(GraphError),
}

/// Attempts that could not connect, before any request of the run got an answer, after which
/// gwb gives up: on the first request that is a wrong URL, proxy or firewall, not a blip.
pub(crate) const MAX_UNREACHABLE_AT_START: u32 = 3;

/// Timed-out attempts in a row after which a request is given up: a server that accepted the
/// connection and then went silent (or trickles a byte a second) rarely recovers, and each
/// attempt costs a whole timeout.
pub(crate) const MAX_TIMEOUTS_IN_A_ROW: u32 = 3;

fn transport_attempt(method: &str, path: &str, e: &reqwest::Error) -> Attempt {
    let err = transport(method, path, e);
    if e.is_timeout() {
        Attempt::TimedOut(err)
    } else if e.is_connect() {
        Attempt::Unreachable(err)
    } else {
        Attempt::Retryable(err, None)
    }
}

enum ReadError {
    TooLarge,
    Transport(reqwest::Error),
}

async fn read_bounded(
    mut resp: reqwest::Response,
    limit: usize,
    spare: Option<BytesMut>,
) -> Result<Bytes, ReadError> {
    if resp.content_length().is_some_and(|n| n > limit as u64) {
        return Err(ReadError::TooLarge);
    }
    // Sized once from the length Graph announces (a page of groups is about 400 KB): growing
    // by doubling copies the body several times and churns the allocator. A spare body (an
    // earlier page's) is read into again.
    let announced = resp.content_length().map_or(0, |n| n as usize);
    let mut buf = spare.unwrap_or_default();
    buf.clear();
    buf.reserve(announced.min(limit));
    while let Some(chunk) = resp.chunk().await.map_err(ReadError::Transport)? {
        if buf.len() + chunk.len() > limit {
            return Err(ReadError::TooLarge);
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(buf.freeze())
}

fn transport(method: &str, path: &str, e: &reqwest::Error) -> GraphError {
    // reqwest's Display hides the cause ("error sending request"); walk the chain once.
    let mut detail = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        detail.push_str(": ");
        detail.push_str(&s.to_string());
        source = s.source();
    }
    GraphError::Transport {
        method: method.to_string(),
        path: path.to_string(),
        detail,
    }
}

/// A header as a string, looked up case-insensitively (HeaderMap names are lowercase).
pub(crate) fn header_str(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

/// Parse a 2xx body as JSON, mapping failure to a [`GraphError::Malformed`] with an excerpt.
/// The `tid` claim of a JWT, read without checking the signature: it is compared with what a
/// plan or journal recorded, never trusted for access (Graph checks the token).
pub(crate) fn tenant_of_token(jwt: &str) -> Option<String> {
    let payload = jwt.split('.').nth(1)?;
    let bytes = azure_core::base64::decode_url_safe(payload.trim_end_matches('=')).ok()?;
    let claims: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    claims["tid"]
        .as_str()
        .filter(|t| crate::graph::model::is_guid(t))
        .map(str::to_ascii_lowercase)
}

impl GraphClient {
    /// Hand back a page's body once it is parsed, to read the next page into: pages of about
    /// 400 KB that vary in size left the allocator holding freed ones it could not reuse, 6 MB
    /// of a million-group report's peak (BENCHMARKS.md, issue 33). A body still shared, or one
    /// more than the spares kept, is freed; the spares are freed when the listing ends.
    pub(crate) fn recycle(&self, body: Bytes) {
        if let Ok(mut b) = body.try_into_mut() {
            b.clear();
            let mut spare = self
                .inner
                .bodies
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if spare.len() < SPARE_BODIES {
                spare.push(b);
            }
        }
    }

    /// Free the spare bodies (a listing has ended).
    pub(crate) fn drop_spares(&self) {
        self.inner
            .bodies
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clear();
    }

    /// A body handed back by [`GraphClient::recycle`], if one is spare.
    fn spare_body(&self) -> Option<BytesMut> {
        self.inner
            .bodies
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .pop()
    }

    #[cfg(test)]
    pub(crate) fn spare_bodies(&self) -> usize {
        self.inner
            .bodies
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .len()
    }
}

pub(crate) fn parse_json<T: DeserializeOwned>(
    resp: &GraphResponse,
    method: &str,
    path: &str,
) -> Result<T, GraphError> {
    parse_json_by(resp, method, path, |json| {
        json.read(std::marker::PhantomData::<T>)
    })
}

/// A body as [`parse_json_by`] hands it to its reader: text when it is UTF-8, else bytes.
pub(crate) enum Json<'a> {
    Text(&'a str),
    Bytes(&'a [u8]),
}

impl Json<'_> {
    /// The body read by `seed`, as `serde_json::from_str` (or `from_slice`) reads a value:
    /// nothing but white space may follow it.
    pub(crate) fn read<S, V>(self, seed: S) -> serde_json::Result<V>
    where
        S: for<'de> serde::de::DeserializeSeed<'de, Value = V>,
    {
        match self {
            Json::Text(text) => {
                let mut de = serde_json::Deserializer::from_str(text);
                let v = seed.deserialize(&mut de)?;
                de.end().map(|()| v)
            }
            Json::Bytes(bytes) => {
                let mut de = serde_json::Deserializer::from_slice(bytes);
                let v = seed.deserialize(&mut de)?;
                de.end().map(|()| v)
            }
        }
    }
}

/// [`parse_json`] with the reader given: `read` is called with the body, and again with the
/// body repaired when it held a lone surrogate (see below), so it must start afresh each time.
pub(crate) fn parse_json_by<T>(
    resp: &GraphResponse,
    method: &str,
    path: &str,
    mut read: impl FnMut(Json<'_>) -> serde_json::Result<T>,
) -> Result<T, GraphError> {
    let malformed = |e: serde_json::Error| GraphError::Malformed {
        method: method.to_string(),
        path: path.to_string(),
        detail: format!("{e}; body starts: {}", error::excerpt(&resp.body)),
        request_id: resp.request_id.clone(),
    };
    // UTF-8 checked once over the whole body, then parsed as text: serde_json's byte reader
    // checks each string on its own, which was 7% of a million-group listing's CPU, and std's
    // check of the whole body 4% (perf; simdutf8 checks 32 bytes at a time where the processor
    // can). A body that is not UTF-8 is parsed as bytes, for the same error as before.
    let parsed = match simdutf8::basic::from_utf8(&resp.body) {
        Ok(text) => read(Json::Text(text)),
        Err(_) => read(Json::Bytes(&resp.body)),
    };
    match parsed {
        Ok(v) => Ok(v),
        // One bad name is one bad row: a string with invalid UTF-16 (a lone surrogate escape,
        // which JSON allows and Rust strings cannot hold) is read with U+FFFD in its place.
        Err(e) => match lossy::surrogates_replaced(&resp.body) {
            Some(fixed) => {
                let v = read(Json::Bytes(&fixed)).map_err(malformed)?;
                let who = lossy::objects_with_replacements(&fixed);
                tracing::warn!(
                    "Graph's answer to {method} {path} held invalid UTF-16 (a lone surrogate) in {}: read with U+FFFD in its place",
                    if who.is_empty() {
                        "a string".to_string()
                    } else {
                        format!("group {}", who.join(", group "))
                    }
                );
                Ok(v)
            }
            None => Err(malformed(e)),
        },
    }
}

/// Invalid UTF-16 in Graph's JSON, made readable.
mod lossy {
    /// `body` with every `\u` escape of a lone surrogate (a high one not followed by a low one,
    /// or a low one alone) replaced by `\uFFFD`; `None` when it has none.
    pub(super) fn surrogates_replaced(body: &[u8]) -> Option<Vec<u8>> {
        let hex = |b: &[u8]| -> Option<u32> {
            u32::from_str_radix(std::str::from_utf8(b.get(..4)?).ok()?, 16).ok()
        };
        let escape_at = |i: usize| -> Option<u32> {
            (body.get(i) == Some(&b'\\') && body.get(i + 1) == Some(&b'u'))
                .then(|| hex(&body[i + 2..]))
                .flatten()
        };
        let mut out = Vec::with_capacity(body.len());
        let (mut i, mut replaced) = (0, false);
        while i < body.len() {
            if body[i] != b'\\' {
                out.push(body[i]);
                i += 1;
                continue;
            }
            match escape_at(i) {
                Some(0xD800..=0xDBFF) if matches!(escape_at(i + 6), Some(0xDC00..=0xDFFF)) => {
                    out.extend_from_slice(&body[i..i + 12]);
                    i += 12;
                }
                Some(0xD800..=0xDFFF) => {
                    out.extend_from_slice(b"\\uFFFD");
                    replaced = true;
                    i += 6;
                }
                _ => {
                    // Any other escape: the backslash and the character it escapes.
                    out.extend_from_slice(&body[i..(i + 2).min(body.len())]);
                    i += 2;
                }
            }
        }
        replaced.then_some(out)
    }

    /// The ids of the objects in `body` with a string holding U+FFFD: the groups to name.
    pub(super) fn objects_with_replacements(body: &[u8]) -> Vec<String> {
        fn walk(v: &serde_json::Value, out: &mut Vec<String>) {
            match v {
                serde_json::Value::Object(m) => {
                    let bad = m
                        .values()
                        .any(|x| x.as_str().is_some_and(|s| s.contains('\u{fffd}')));
                    if let (true, Some(id)) = (bad, m.get("id").and_then(|i| i.as_str())) {
                        // For a log line: nothing but printable ASCII (Graph's ids are GUIDs).
                        out.push(id.chars().filter(char::is_ascii_graphic).collect());
                    }
                    m.values().for_each(|x| walk(x, out));
                }
                serde_json::Value::Array(a) => a.iter().for_each(|x| walk(x, out)),
                _ => {}
            }
        }
        let mut out = Vec::new();
        if let Ok(v) = serde_json::from_slice::<serde_json::Value>(body) {
            walk(&v, &mut out);
        }
        out
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn lone_surrogates_become_replacement_characters_and_pairs_stay() {
            let body = br#"{"value":[{"id":"g1","displayName":"Bad \ud800 name"},{"id":"g2","displayName":"ok \ud83d\ude00 \\ud800 \udc00"}]}"#;
            let fixed = surrogates_replaced(body).unwrap();
            let v: serde_json::Value = serde_json::from_slice(&fixed).unwrap();
            assert_eq!(v["value"][0]["displayName"], "Bad \u{fffd} name");
            // A valid pair stays; an escaped backslash before `u` is no escape; a lone low
            // surrogate is replaced.
            assert_eq!(
                v["value"][1]["displayName"],
                "ok \u{1f600} \\ud800 \u{fffd}"
            );
            assert_eq!(objects_with_replacements(&fixed), vec!["g1", "g2"]);
            assert_eq!(surrogates_replaced(br#"{"a":"\u00e9 \n"}"#), None);
        }
    }
}

#[cfg(test)]
mod token_tests {
    use super::tenant_of_token;

    fn jwt(payload: &str) -> String {
        format!(
            "eyJhbGciOiJSUzI1NiJ9.{}.sig",
            azure_core::base64::encode_url_safe(payload).trim_end_matches('=')
        )
    }

    #[test]
    fn the_tenant_comes_from_the_tid_claim_only() {
        let t = "72F988BF-86F1-41AF-91AB-2D7CD011DB47";
        assert_eq!(
            tenant_of_token(&jwt(&format!(r#"{{"tid":"{t}","oid":"x"}}"#))).as_deref(),
            Some("72f988bf-86f1-41af-91ab-2d7cd011db47")
        );
        assert_eq!(tenant_of_token(&jwt(r#"{"oid":"x"}"#)), None);
        assert_eq!(tenant_of_token(&jwt(r#"{"tid":"contoso"}"#)), None);
        assert_eq!(tenant_of_token("an-opaque-token"), None);
        assert_eq!(tenant_of_token("a.!!!.c"), None);
    }
}

#[cfg(test)]
mod transport_tests {
    use super::*;

    fn client(root: &str) -> GraphClient {
        GraphClient::builder(root, Arc::new(crate::auth::StaticToken::new("t")))
            .share_transport()
            .build()
            .unwrap()
    }

    #[test]
    fn tenants_on_one_root_share_the_transport_only_while_one_of_them_lives() {
        let a = client("http://127.0.0.1:1");
        let b = client("http://127.0.0.1:1");
        assert!(Arc::ptr_eq(&a.inner.http, &b.inner.http));
        let other = client("http://127.0.0.1:2");
        assert!(!Arc::ptr_eq(&a.inner.http, &other.inner.http));
        let weak = Arc::downgrade(&a.inner.http);
        drop((a, b));
        // The last user gone, its connections close with it.
        assert_eq!(weak.strong_count(), 0);
        let unshared = GraphClient::builder(
            "http://127.0.0.1:2",
            Arc::new(crate::auth::StaticToken::new("t")),
        )
        .build()
        .unwrap();
        assert!(!Arc::ptr_eq(&other.inner.http, &unshared.inner.http));
    }
}

#[cfg(test)]
mod utf8_tests {
    use super::*;

    fn response(body: Vec<u8>) -> GraphResponse {
        GraphResponse {
            status: StatusCode::OK,
            headers: HeaderMap::new(),
            body: body.into(),
            request_id: None,
        }
    }

    /// A body is read as text when it is UTF-8 and refused as malformed when it is not,
    /// whatever byte breaks it and wherever it is: the check over the whole body agrees with
    /// serde's own reading of the bytes, and with std's definition of UTF-8.
    #[test]
    fn a_body_is_read_only_when_it_is_utf8() {
        let text = r#"{"value":[{"id":"a","displayName":"Équipe données 数据 😀"}],"n":"#;
        // Long enough that the check runs over whole blocks as well as the tail.
        let padding = "x".repeat(100);
        let good = format!(r#"{text}"{padding}"}}"#);
        let read = |b: Vec<u8>| parse_json::<serde_json::Value>(&response(b), "GET", "/groups");
        assert!(read(good.clone().into_bytes()).is_ok());
        let bad: [&[u8]; 9] = [
            b"\x80",
            b"\xc0\x80",
            b"\xc3",
            b"\xed\xa0\x80",
            b"\xf4\x90\x80\x80",
            b"\xf5",
            b"\xff",
            b"\xe6\x95",
            b"\xf0\x9f\x98",
        ];
        for (at, _) in good.char_indices() {
            for b in bad {
                let mut body = good.as_bytes()[..at].to_vec();
                body.extend_from_slice(b);
                body.extend_from_slice(&good.as_bytes()[at..]);
                assert!(std::str::from_utf8(&body).is_err());
                let got = read(body.clone());
                assert!(
                    matches!(got, Err(GraphError::Malformed { .. })),
                    "{:?}: {got:?}",
                    String::from_utf8_lossy(&body)
                );
                assert!(serde_json::from_slice::<serde_json::Value>(&body).is_err());
            }
        }
    }
}
