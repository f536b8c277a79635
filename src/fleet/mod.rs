//! Fleet runs: one command over many `[[tenants]]` of the config file, `--parallel N` at once,
//! with one merged output and one exit code.
//!
//! Each tenant runs exactly as `gwb --tenant NAME <command>` would, in this process: its own
//! configuration (the entry's keys over the top level's, its policy over `[policy]`), client,
//! pacing, run lock, journal and state file (both named by the tenant). A tenant that fails
//! (sign-in, unreachable, 403, a bad entry) is recorded as failed; the others go on. Writes are
//! paced per tenant as always and, across the tenants of the process, against Graph's limit per
//! app across all tenants. What each tenant printed is merged as it finishes
//! ([`merge::Merged`]), so memory grows with the tenants in flight, not with the fleet.
//!
//! Selection is pure ([`select`]): `--tenant` names or `--all-tenants`, then `--shard K/N` (or
//! `--shards N` with Kubernetes' `JOB_COMPLETION_INDEX`) keeps the tenants at index i of the
//! sorted names with i mod N = K - 1, so shards are disjoint and cover the fleet.

pub(crate) mod digest;
pub(crate) mod merge;

use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt as _;
use tracing::Instrument as _;

use crate::cli::{Cli, Command, GlobalArgs};
use crate::error::{ExitStatus, UsageError};
use crate::graph::pace::Pacer;

/// Tenants at once without `--parallel`.
pub(crate) const DEFAULT_PARALLEL: usize = 4;
/// Graph's write limit per app across all tenants: 35,000 writes per 5 minutes, as the current
/// identity-and-access include of "Microsoft Graph service-specific throttling limits" gives it
/// (older text of that page said 70,000; the current figure wins, GRAPH.md section 6).
pub(crate) const FLEET_WRITE_LIMIT: u32 = 35_000;
pub(crate) const FLEET_WRITE_WINDOW: Duration = Duration::from_secs(300);

/// Whether the command line asks for a fleet run.
pub(crate) fn selected(g: &GlobalArgs) -> bool {
    g.tenant.len() > 1 || g.all_tenants || g.shard.is_some() || g.shards.is_some()
}

/// Shard `index` (1-based) of `count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Shard {
    pub index: usize,
    pub count: usize,
}

impl Shard {
    /// `--shard K/N`.
    pub(crate) fn parse(s: &str) -> Result<Shard, UsageError> {
        let bad = || {
            UsageError(format!(
                "--shard {s:?}: expected K/N with 1 <= K <= N, e.g. --shard 2/4 (nothing was done)"
            ))
        };
        let (k, n) = s.split_once('/').ok_or_else(bad)?;
        let (index, count) = (
            k.trim().parse::<usize>().map_err(|_| bad())?,
            n.trim().parse::<usize>().map_err(|_| bad())?,
        );
        if index == 0 || count == 0 || index > count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }

    /// `--shards N` in a Kubernetes Indexed Job: this pod's `JOB_COMPLETION_INDEX` (0-based).
    pub(crate) fn from_job_index(count: usize, index: Option<&str>) -> Result<Shard, UsageError> {
        if count == 0 {
            return Err(UsageError(
                "--shards 0: give the number of shards, 1 or more (nothing was done)".into(),
            ));
        }
        let Some(raw) = index else {
            return Err(UsageError(format!(
                "--shards {count}: JOB_COMPLETION_INDEX is not set; it is set in the pods of a Kubernetes Job with completionMode: Indexed (elsewhere, give --shard K/{count}; nothing was done)"
            )));
        };
        match raw.trim().parse::<usize>() {
            Ok(i) if i < count => Ok(Shard {
                index: i + 1,
                count,
            }),
            _ => Err(UsageError(format!(
                "--shards {count}: JOB_COMPLETION_INDEX is {raw:?}, not an index from 0 to {}; make the Job's completions equal --shards (nothing was done)",
                count - 1
            ))),
        }
    }

    pub(crate) fn holds(&self, sorted_index: usize) -> bool {
        sorted_index % self.count == self.index - 1
    }
}

/// The tenants a fleet run works on, sorted by name: `asked` (each must be in `inventory`), or
/// the whole inventory with `all` (or with a shard and nothing asked), then only `shard`'s.
pub(crate) fn select(
    inventory: &[String],
    asked: &[String],
    all: bool,
    shard: Option<Shard>,
) -> Result<Vec<String>, UsageError> {
    if all && !asked.is_empty() {
        return Err(UsageError(
            "give --tenant NAME (repeated) or --all-tenants, not both (nothing was done)".into(),
        ));
    }
    if inventory.is_empty() {
        return Err(UsageError(
            "the config file has no [[tenants]] entries to run; add one per tenant (name = \"...\", tenant_id = \"...\"), see docs/fleet.md (nothing was done)".into(),
        ));
    }
    let mut names: Vec<String> = if asked.is_empty() {
        inventory.to_vec()
    } else {
        let unknown: Vec<&str> = asked
            .iter()
            .filter(|a| !inventory.contains(a))
            .map(String::as_str)
            .collect();
        if !unknown.is_empty() {
            return Err(UsageError(format!(
                "--tenant {}: no [[tenants]] entry has that name; the names are: {} (nothing was done)",
                unknown.join(", "),
                inventory.join(", ")
            )));
        }
        asked.to_vec()
    };
    names.sort();
    names.dedup();
    if let Some(s) = shard {
        names = names
            .into_iter()
            .enumerate()
            .filter(|(i, _)| s.holds(*i))
            .map(|(_, n)| n)
            .collect();
    }
    Ok(names)
}

/// What one tenant's run came to.
pub(crate) struct Outcome {
    pub name: String,
    /// The token's tenant when it says, else the entry's `tenant_id`.
    pub tenant_id: Option<String>,
    /// The command's exit code, and the error that ended it (if one did).
    pub code: u8,
    pub error: Option<String>,
    /// What the command printed, in the fleet's format.
    pub data: Vec<u8>,
    /// `-o junit` and `-o html`: the tenant's suites and pages, as documents (the fleet
    /// renders one file of them); a check's counts, trend and expiries.
    pub docs: crate::change::Handed,
    /// The tenant's client, kept when a fleet digest's mail is sent through its sign-in.
    pub client: Option<crate::graph::GraphClient>,
}

impl Outcome {
    /// Compliant or drifted: the tenant's run did what it was asked.
    pub(crate) fn ok(&self) -> bool {
        self.error.is_none() && matches!(self.code, 0 | 3)
    }
}

/// The fleet's exit code: a signal's, else 4 if every tenant failed to sign in, else 1 if any
/// tenant failed, else 3 if any drifted, else 0.
pub(crate) fn exit_code(codes: &[u8]) -> u8 {
    if let Some(&s) = codes.iter().find(|&&c| c == 130 || c == 143) {
        return s;
    }
    if !codes.is_empty() && codes.iter().all(|&c| c == 4) {
        return 4;
    }
    if codes.iter().any(|&c| !matches!(c, 0 | 3)) {
        return 1;
    }
    if codes.contains(&3) { 3 } else { 0 }
}

pub(crate) fn status_of(code: u8) -> ExitStatus {
    match code {
        0 => ExitStatus::Ok,
        3 => ExitStatus::Drift,
        4 => ExitStatus::Auth,
        130 => ExitStatus::Interrupted,
        143 => ExitStatus::Terminated,
        _ => ExitStatus::Failure,
    }
}

/// The commands a fleet runs; the others work on one tenant (or none).
fn check_command(command: &Command) -> Result<(), UsageError> {
    let one = |what: &str| {
        Err(UsageError(format!(
            "{what} works on one tenant: give one --tenant NAME (fleet runs: report, check, disable-existing-m365, set-default; nothing was done)"
        )))
    };
    match command {
        Command::Report(_) => Ok(()),
        // Every tenant would write the one journal file: each gets its own in the state directory.
        Command::SetDefault(a) if a.journal.is_some() => one("--journal PATH"),
        Command::SetDefault(_) => Ok(()),
        Command::Check(a) if a.state.is_some() => one("check --state PATH"),
        Command::Check(a) if a.notify_test => one("check --notify-test"),
        Command::Check(_) => Ok(()),
        Command::DisableExistingM365(a) if a.plan.is_some() || a.plan_out.is_some() => {
            one("a saved plan (--plan, --plan-out)")
        }
        Command::DisableExistingM365(a) if a.journal.is_some() => one("--journal PATH"),
        Command::DisableExistingM365(_) => Ok(()),
        other => one(&format!("gwb {}", other.name())),
    }
}

/// Run `cli`'s command on every selected tenant, merging what they print into `out`.
pub(crate) async fn run(cli: &Cli, out: &mut dyn Write) -> anyhow::Result<ExitStatus> {
    let g = &cli.global;
    check_command(&cli.command)?;
    if g.emulator {
        return Err(UsageError(
            "--emulator serves one sample tenant; a fleet run needs [[tenants]] in the config file (nothing was done)".into(),
        )
        .into());
    }
    let mut fleet_args = g.clone();
    fleet_args.tenant.clear();
    let cfg = crate::session::config_of(&fleet_args)?;
    if cfg.file.is_none() {
        return Err(UsageError(
            "a fleet run reads its tenants from the config file's [[tenants]], and no config file was read (give --config PATH or GWB_CONFIG; nothing was done)".into(),
        )
        .into());
    }
    let shard = match (&g.shard, g.shards) {
        (Some(s), _) => Some(Shard::parse(s)?),
        (None, Some(n)) => Some(Shard::from_job_index(
            n,
            crate::config::job_completion_index().as_deref(),
        )?),
        (None, None) => None,
    };
    let names = select(&cfg.tenant_names, &g.tenant, g.all_tenants, shard)?;
    let parallel = g.parallel.unwrap_or(DEFAULT_PARALLEL);
    if parallel == 0 {
        return Err(UsageError("--parallel 0: give 1 or more (nothing was done)".into()).into());
    }
    let limit = g.fleet_write_limit.unwrap_or(FLEET_WRITE_LIMIT);
    if limit == 0 {
        return Err(
            UsageError("--fleet-write-limit 0: give 1 or more (nothing was done)".into()).into(),
        );
    }
    let format = cfg.format();
    if names.is_empty() {
        tracing::warn!("this shard holds no tenants (more shards than tenants); nothing to do");
    }
    crate::output::hide_progress();
    // Ctrl-C and SIGTERM stop the fleet cleanly: no tenant starts after the first signal, the
    // tenants in flight stop sending writes and finish (at most interrupt::GRACE), and the
    // merged output says which tenants were not started. A second signal stops at once.
    crate::interrupt::listen()
        .map_err(|e| anyhow::anyhow!("cannot listen for Ctrl-C and SIGTERM: {e}"))?;
    let pacer = Arc::new(Pacer::new(limit, FLEET_WRITE_WINDOW));
    // The digests: [[notify]] destinations with scope "fleet" (a bad entry fails the tenants'
    // checks, which say why).
    let digests: Vec<crate::notify::Destination> = match (&cli.command, &cfg.notify) {
        (Command::Check(_), Ok(d)) => d
            .iter()
            .filter(|d| d.scope == crate::notify::Scope::Fleet)
            .cloned()
            .collect(),
        _ => Vec::new(),
    };
    let mut merged = merge::Merged::start(format, cli.command.name(), shard, out)?;
    let runs = names.iter().map(|name| {
        let mut args = g.clone();
        args.tenant = vec![name.clone()];
        (args.all_tenants, args.shard, args.shards) = (false, None, None);
        (args.output, args.out, args.no_pager) = (Some(format), None, true);
        args.metrics_file = g.metrics_file.as_deref().map(|p| per_tenant_path(p, name));
        // A token in the environment is one tenant's: never sent to several.
        args.fleet_member = names.len() > 1;
        let keep_client = digests.iter().any(|d| d.mail_tenant.as_ref() == Some(name));
        Job {
            name: name.clone(),
            args,
            keep_client,
        }
    });
    let (command, cores) = (
        cli.command.clone(),
        std::thread::available_parallelism().map_or(1, |n| n.get()),
    );
    let run_pacer = pacer.clone();
    let mut done = Workers::start(runs.collect(), parallel, cores, move |job: Job| {
        let (command, pacer) = (command.clone(), run_pacer.clone());
        async move { one(job.name, job.args, &command, pacer, job.keep_client).await }
    });
    let mut mail = None;
    while let Some(mut outcome) = done.next().await {
        if let Some(c) = outcome.client.take() {
            mail = Some(c);
        }
        merged.add(outcome)?;
    }
    let (code, lines) = merged.finish(pacer.admitted())?;
    if let Command::Check(a) = &cli.command {
        digest::say_expiries(&lines);
        // A dry run of --fix changes nothing, and tells no one (as a tenant's own run).
        if !a.apply.dry_run {
            digest::send(&digests, &lines, mail.as_ref()).await;
        }
    }
    Ok(status_of(code))
}

/// `--metrics-file PATH` in a fleet run: one file per tenant beside it, `gwb-contoso.prom` for
/// `gwb.prom` (node_exporter's textfile collector reads every `*.prom` of its directory).
pub(crate) fn per_tenant_path(p: &std::path::Path, name: &str) -> std::path::PathBuf {
    let stem = p
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let file = match p.extension() {
        Some(e) => format!("{stem}-{name}.{}", e.to_string_lossy()),
        None => format!("{stem}-{name}"),
    };
    p.with_file_name(file)
}

/// What one tenant's run is given, made before any tenant starts.
struct Job {
    name: String,
    args: GlobalArgs,
    keep_client: bool,
}

/// Runs of `J`s, at most `parallel` at once, spread over up to one thread per core, each
/// finished run's `O` handed back in the order they finish.
///
/// The fleet's tenants run here so that the tenants in flight parse and render on every core.
/// Polled inside the fleet's one future, they all shared one thread, and at `--parallel 32`
/// that thread was the fleet's bottleneck (BENCHMARKS.md, issue 33). A tenant's run is not
/// `Send` (it holds its writers and plans across awaits), so it cannot be a task of its own:
/// each worker is a blocking-pool thread that drives its share of the slots with
/// [`tokio::runtime::Handle::block_on`], taking the next job from one queue in order, while
/// I/O, timers and HTTP connections stay with the runtime. A thread per core, not per run: each
/// thread that allocates may get an allocator arena of its own, and a thread per tenant in
/// flight raised the peak memory of 100 tenants at `--parallel 32` from about 75 to 120 MB.
pub(crate) struct Workers<O> {
    outcomes: tokio::sync::mpsc::UnboundedReceiver<O>,
    threads: Vec<tokio::task::JoinHandle<()>>,
    /// Dropped with the `Workers` (the fleet stops early): each worker then drops its runs in
    /// flight and starts no more, as the fleet's own future did when it held them.
    _stop: Vec<tokio::sync::oneshot::Sender<()>>,
}

/// The slots of worker `i` of `count`, `parallel` in all, split as evenly as they go
/// (`--parallel 5` on two threads: 3 and 2).
fn slots(parallel: usize, count: usize, i: usize) -> usize {
    parallel / count + usize::from(i < parallel % count)
}

impl<O: Send + 'static> Workers<O> {
    /// Start `run` on each of `jobs` on up to `threads` threads (never more than `parallel`).
    pub(crate) fn start<J, F, Fut>(jobs: Vec<J>, parallel: usize, threads: usize, run: F) -> Self
    where
        J: Send + 'static,
        F: Fn(J) -> Fut + Clone + Send + 'static,
        Fut: std::future::Future<Output = O>,
    {
        let count = threads.min(parallel).max(1);
        let queue = Arc::new(std::sync::Mutex::new(std::collections::VecDeque::from(
            jobs,
        )));
        let (tx, outcomes) = tokio::sync::mpsc::unbounded_channel();
        let (mut handles, mut stops) = (Vec::new(), Vec::new());
        for i in 0..count {
            let slots = slots(parallel, count, i);
            let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
            let (queue, tx, run) = (queue.clone(), tx.clone(), run.clone());
            let handle = tokio::runtime::Handle::current();
            // The caller's span (the fleet's run id) stays the parent of the runs' log lines.
            let parent = tracing::Span::current();
            handles.push(tokio::task::spawn_blocking(move || {
                parent.in_scope(|| {
                    handle.block_on(async move {
                        let next = std::iter::from_fn(|| queue.lock().expect("queue").pop_front());
                        let runs = futures_util::stream::iter(next)
                            .map(run)
                            .buffer_unordered(slots)
                            .for_each(|outcome| {
                                // No receiver: the caller has stopped, and `stopped` ends this.
                                let _ = tx.send(outcome);
                                std::future::ready(())
                            });
                        tokio::select! {
                            () = runs => {}
                            _ = stopped => {}
                        }
                    })
                })
            }));
            stops.push(stop);
        }
        Workers {
            outcomes,
            threads: handles,
            _stop: stops,
        }
    }

    /// The next run to finish; `None` when all have. A run that panicked panics here, once the
    /// other workers are done, as it did when the fleet polled it.
    pub(crate) async fn next(&mut self) -> Option<O> {
        if let Some(outcome) = self.outcomes.recv().await {
            return Some(outcome);
        }
        for thread in self.threads.drain(..) {
            if let Err(e) = thread.await {
                match e.try_into_panic() {
                    Ok(panic) => std::panic::resume_unwind(panic),
                    Err(e) => panic!("a fleet worker was cancelled: {e}"),
                }
            }
        }
        None
    }
}

/// One tenant's run, as `gwb --tenant NAME` would do it, its log lines carrying the tenant.
async fn one(
    name: String,
    args: GlobalArgs,
    command: &Command,
    pacer: Arc<Pacer>,
    keep_client: bool,
) -> Outcome {
    let span = tracing::error_span!("tenant", tenant = %name);
    async move {
        let mut data = Vec::new();
        if let Some(sig) = crate::interrupt::requested() {
            return Outcome {
                tenant_id: None,
                code: ExitStatus::for_signal(sig) as u8,
                error: Some(format!(
                    "not started: the fleet run was stopped by {}",
                    crate::interrupt::name(sig)
                )),
                name,
                data,
                docs: Default::default(),
                client: None,
            };
        }
        let mut tenant_id = None;
        let mut opened = false;
        let mut client = None;
        // Every tenant hands in its documents: suites and pages for JUnit and HTML, and a
        // check's counts for the summary and the digest.
        let docs = crate::change::Documents::default();
        let started = std::time::Instant::now();
        let result = async {
            let mut s = crate::session::Session::open_for(&args, command, Some(pacer)).await?;
            s.ctx.documents = Some(docs.clone());
            opened = true;
            if keep_client {
                client = Some(s.ctx.client.clone());
            }
            tenant_id = s
                .ctx
                .target
                .tenant_id
                .clone()
                .or_else(|| s.cfg.auth_inputs.tenant_id.clone());
            crate::dispatch::on_tenant(&s, command, &mut data).await
        }
        .await;
        let (code, error) = match result {
            Ok(status) => (status as u8, None),
            Err(e) => {
                let code = crate::exit::for_error(&e) as u8;
                let message = format!("{e:#}");
                tracing::error!(exit_code = code, "{}", crate::output::safe(&message));
                (code, Some(message))
            }
        };
        if error.is_none() {
            tracing::info!(exit_code = code, "tenant done");
        }
        // An entry that never reached its tenant (no credential, a bad key) still says so in
        // its metrics file; a session that opened wrote its own.
        if let (false, Some(path)) = (opened, &args.metrics_file) {
            crate::metrics::write_failed(
                path,
                Some(&name),
                command.name(),
                code,
                started.elapsed(),
            );
        }
        Outcome {
            name,
            tenant_id,
            code,
            error,
            data,
            docs: docs.take(),
            client,
        }
    }
    .instrument(span)
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn shards_are_disjoint_and_cover_the_fleet() {
        let inventory: Vec<String> = (0..23).map(|i| format!("t{i:02}")).collect();
        for count in 1..=7 {
            let mut seen = Vec::new();
            for index in 1..=count {
                let got = select(&inventory, &[], false, Some(Shard { index, count })).unwrap();
                seen.extend(got);
            }
            seen.sort();
            assert_eq!(seen, inventory, "{count} shards");
        }
    }

    #[test]
    fn a_shard_is_stable_whatever_order_the_file_lists_the_tenants_in() {
        let a = names(&["c", "a", "d", "b"]);
        let b = names(&["b", "d", "a", "c"]);
        let s = Some(Shard::parse("2/2").unwrap());
        assert_eq!(select(&a, &[], true, s).unwrap(), names(&["b", "d"]));
        assert_eq!(select(&b, &[], true, s).unwrap(), names(&["b", "d"]));
    }

    #[test]
    fn asked_names_must_exist_and_exclude_all_tenants() {
        let inv = names(&["a", "b"]);
        let e = select(&inv, &names(&["a", "zz"]), false, None).unwrap_err();
        assert!(e.0.contains("zz") && e.0.contains("a, b"), "{}", e.0);
        assert!(select(&inv, &names(&["a"]), true, None).is_err());
        assert!(select(&[], &[], true, None).is_err());
        assert_eq!(
            select(&inv, &names(&["b", "a", "b"]), false, None).unwrap(),
            names(&["a", "b"])
        );
    }

    #[test]
    fn shard_flags_are_checked() {
        assert_eq!(Shard::parse("1/3").unwrap(), Shard { index: 1, count: 3 });
        for bad in ["0/3", "4/3", "3", "a/b", "1/0", ""] {
            assert!(Shard::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(
            Shard::from_job_index(4, Some("0")).unwrap(),
            Shard { index: 1, count: 4 }
        );
        assert_eq!(
            Shard::from_job_index(4, Some("3")).unwrap(),
            Shard { index: 4, count: 4 }
        );
        assert!(Shard::from_job_index(4, Some("4")).is_err());
        assert!(Shard::from_job_index(4, None).is_err());
        assert!(Shard::from_job_index(0, Some("0")).is_err());
    }

    #[test]
    fn the_fleet_exit_code() {
        assert_eq!(exit_code(&[]), 0);
        assert_eq!(exit_code(&[0, 0]), 0);
        assert_eq!(exit_code(&[0, 3]), 3);
        assert_eq!(exit_code(&[3, 1, 0]), 1);
        assert_eq!(exit_code(&[4, 0]), 1);
        assert_eq!(exit_code(&[4, 4]), 4);
        assert_eq!(exit_code(&[4, 2]), 1);
        assert_eq!(exit_code(&[0, 143, 1]), 143);
    }

    #[test]
    fn metrics_files_are_named_by_tenant() {
        let p = std::path::Path::new("/var/lib/node_exporter/gwb.prom");
        assert_eq!(
            per_tenant_path(p, "contoso"),
            std::path::Path::new("/var/lib/node_exporter/gwb-contoso.prom")
        );
    }

    #[test]
    fn the_slots_are_split_evenly_and_add_up_to_parallel() {
        for parallel in 1..=40 {
            for count in 1..=parallel.min(4) {
                let each: Vec<usize> = (0..count).map(|i| slots(parallel, count, i)).collect();
                assert_eq!(
                    each.iter().sum::<usize>(),
                    parallel,
                    "{parallel} over {count}"
                );
                let (lo, hi) = (each.iter().min().unwrap(), each.iter().max().unwrap());
                assert!(
                    *lo >= 1 && hi - lo <= 1,
                    "{parallel} over {count}: {each:?}"
                );
            }
        }
    }

    /// What the test jobs share: how many run now, the most that ever ran at once, the threads
    /// they ran on, and a gate each waits at until the test lets one through.
    #[derive(Clone)]
    struct Watch {
        now: Arc<std::sync::atomic::AtomicUsize>,
        most: Arc<std::sync::atomic::AtomicUsize>,
        threads: Arc<std::sync::Mutex<std::collections::HashSet<std::thread::ThreadId>>>,
        gate: Arc<tokio::sync::Semaphore>,
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn every_job_runs_once_on_both_threads_never_more_than_parallel_at_once() {
        use std::sync::atomic::Ordering::SeqCst;
        let watch = Watch {
            now: Default::default(),
            most: Default::default(),
            threads: Default::default(),
            gate: Arc::new(tokio::sync::Semaphore::new(0)),
        };
        let (started, mut starts) = tokio::sync::mpsc::unbounded_channel();
        let w = watch.clone();
        let mut workers = Workers::start((0..20).collect(), 3, 2, move |id: usize| {
            let (w, started) = (w.clone(), started.clone());
            async move {
                let now = w.now.fetch_add(1, SeqCst) + 1;
                w.most.fetch_max(now, SeqCst);
                w.threads
                    .lock()
                    .unwrap()
                    .insert(std::thread::current().id());
                started.send(id).unwrap();
                w.gate.acquire().await.unwrap().forget();
                w.now.fetch_sub(1, SeqCst);
                id
            }
        });
        // Three start with the gate shut (the slots fill); after that, each start lets one
        // run end, which frees the slot for the next.
        for k in 1..=20 {
            starts.recv().await.unwrap();
            if k >= 3 {
                watch.gate.add_permits(1);
            }
        }
        watch.gate.add_permits(2);
        let mut done = Vec::new();
        while let Some(id) = workers.next().await {
            done.push(id);
        }
        done.sort_unstable();
        assert_eq!(done, (0..20).collect::<Vec<_>>());
        assert_eq!(
            watch.most.load(SeqCst),
            3,
            "never more than --parallel at once"
        );
        // Two slots on one thread, one on the other: the third start had to be on the second.
        assert_eq!(watch.threads.lock().unwrap().len(), 2);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_run_that_panics_panics_the_caller_after_the_others_finish() {
        use futures_util::FutureExt as _;
        let finished = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let f = finished.clone();
        let mut workers = Workers::start((0..6).collect(), 2, 2, move |id: usize| {
            let f = f.clone();
            async move {
                assert_ne!(id, 2, "job 2 fails");
                f.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                id
            }
        });
        let drained =
            std::panic::AssertUnwindSafe(async { while workers.next().await.is_some() {} })
                .catch_unwind()
                .await;
        assert!(drained.is_err(), "the panic reaches the caller");
        // The other worker took every job left in the queue.
        assert_eq!(finished.load(std::sync::atomic::Ordering::SeqCst), 5);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn dropping_the_workers_drops_the_runs_in_flight_and_starts_no_more() {
        /// Says when the run holding it is dropped.
        struct Dropped(usize, std::sync::mpsc::Sender<usize>);
        impl Drop for Dropped {
            fn drop(&mut self) {
                let _ = self.1.send(self.0);
            }
        }
        let (started, mut starts) = tokio::sync::mpsc::unbounded_channel();
        let (dropped, drops) = std::sync::mpsc::channel();
        let workers = Workers::start((0..5).collect(), 2, 2, move |id: usize| {
            let (started, dropped) = (started.clone(), dropped.clone());
            async move {
                let _guard = Dropped(id, dropped);
                started.send(id).unwrap();
                std::future::pending::<usize>().await
            }
        });
        let first = [starts.recv().await.unwrap(), starts.recv().await.unwrap()];
        drop(workers);
        // Each run in flight is dropped on its thread (the receiver waits for both).
        let mut gone = [drops.recv().unwrap(), drops.recv().unwrap()];
        gone.sort_unstable();
        let mut first = first;
        first.sort_unstable();
        assert_eq!(gone, first);
        // No run started after the drop: every sender of `started` is gone with the workers.
        assert_eq!(starts.recv().await, None);
    }
}
