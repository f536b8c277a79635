//! The one change pipeline every writing command goes through, in one order:
//!
//! 1. **lock**: one writing run per state directory (not for a dry run, which writes nothing);
//! 2. **plan**: the command reads the tenant (and its input files) and says what it would change;
//! 3. **guard**: `--max-changes`, checked before the dry-run stop, so a dry run says whether the
//!    real run would be refused;
//! 4. **the single dry-run stop**: `--dry-run` returns the plan here, and nowhere else;
//! 5. **consent**: on a terminal gwb asks; without one it needs `--yes`;
//! 6. **journal**: opened only now (an empty plan opens none), and with it the Ctrl-C listener;
//! 7. **writes and read-back**: the command's [`ChangeSet::write`];
//! 8. **summary**: the command renders the [`Stage`] it gets back.
//!
//! A writing command is a plan type that implements [`ChangeSet`] and a render of the stage:
//! see ARCHITECTURE.md.

use std::future::Future;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::{Context, Target};
use crate::clock::new_run_id;
use crate::error::UsageError;
use crate::graph::retry::Sleeper;
use crate::journal::Journal;
use crate::output;

/// What a writing command's plan tells the pipeline, and how it is carried out.
#[async_trait::async_trait(?Send)]
pub(crate) trait ChangeSet {
    /// What the writes did, for the summary.
    type Done;
    /// How many changes the plan makes (what `--max-changes` counts); 0 means nothing to do.
    fn change_count(&self) -> usize;
    /// The consent question, e.g. "disable writeback on 5 Microsoft 365 groups".
    fn question(&self) -> String;
    /// Said on stderr before asking (a summary of the plan); nothing by default.
    fn announce(&self) {}
    /// What the changes do to the groups' copies in on-premises AD, said once where the admin
    /// decides (see `writeback::onprem`); nothing by default.
    fn on_premises(&self) -> Option<&'static str> {
        None
    }
    /// Make the writes, journaled through `journals`, and read them back.
    async fn write(
        &mut self,
        ctx: &Context,
        journals: &mut Journals<'_>,
    ) -> anyhow::Result<Self::Done>;
}

/// Where a run through the pipeline stopped.
pub(crate) enum Stage<P: ChangeSet> {
    /// `--dry-run`: the plan; nothing was written.
    DryRun(P),
    /// The plan changes nothing: nothing was written, no journal was opened.
    NothingToDo(P),
    /// The writes were made: the plan and what they did.
    Done(P, P::Done),
}

/// How a command asks for consent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Consent {
    /// Ask on a terminal; without one, require `--yes` (`yes` says whether it was given).
    Ask { yes: bool },
    /// Never ask: one idempotent change that is printed in full and undone from its journal
    /// (`set-default`).
    NotAsked,
}

/// The pipeline's settings for one run.
pub(crate) struct Options<'a> {
    /// The command's name: the lock's and the journal file's.
    pub command: &'static str,
    pub dry_run: bool,
    pub consent: Consent,
    pub max_changes: Option<usize>,
    pub dirs: &'a super::Dirs,
    /// `--journal PATH` (or `--record`): the first journal opened goes there.
    pub journal: Option<&'a Path>,
}

impl<'a> Options<'a> {
    /// The one constructor: a run of `command` that writes (no dry run), asks consent (on a
    /// terminal; `--yes` otherwise) and has no `--max-changes`; the setters say what differs.
    pub(crate) fn new(command: &'static str, dirs: &'a super::Dirs) -> Self {
        Options {
            command,
            dry_run: false,
            consent: Consent::Ask { yes: false },
            max_changes: None,
            dirs,
            journal: None,
        }
    }

    /// The write flags every group-writing command shares: `--dry-run`, `--yes`,
    /// `--max-changes`.
    pub(crate) fn apply_flags(mut self, apply: &crate::cli::ApplyArgs) -> Self {
        self.dry_run = apply.dry_run;
        self.consent = Consent::Ask { yes: apply.yes };
        self.max_changes = apply.max_changes;
        self
    }

    /// `--journal PATH` (or `--record`): where the first journal goes.
    pub(crate) fn journal(mut self, path: Option<&'a Path>) -> Self {
        self.journal = path;
        self
    }

    /// A run that stops before the first write (`--dry-run`, or saving a plan with
    /// `--plan-out`).
    pub(crate) fn stop_before_writing(mut self, stop: bool) -> Self {
        self.dry_run |= stop;
        self
    }

    /// Never ask: one idempotent change printed in full and undone from its journal.
    pub(crate) fn not_asked(mut self) -> Self {
        self.consent = Consent::NotAsked;
        self
    }
}

/// Run a writing command's plan through lock, guard, dry-run stop, consent and journal.
pub async fn run<P, F>(ctx: &Context, opts: Options<'_>, plan: F) -> anyhow::Result<Stage<P>>
where
    P: ChangeSet,
    F: Future<Output = anyhow::Result<P>>,
{
    let _lock = if opts.dry_run {
        None
    } else {
        let key = ctx.target.lock_key();
        Some(crate::lock::RunLock::acquire(
            &opts.dirs.lock,
            key,
            opts.command,
        )?)
    };
    if let Some(p) = opts.journal {
        check_journal_dir(p)?;
    }
    let mut plan = plan.await?;
    match guard(opts.max_changes, plan.change_count()) {
        // A dry run shows the plan, and says that the real run would refuse it.
        Err(e) if opts.dry_run => tracing::warn!("the real run would refuse this plan: {}", e.0),
        other => other?,
    }
    if opts.dry_run {
        return Ok(Stage::DryRun(plan));
    }
    if plan.change_count() == 0 {
        return Ok(Stage::NothingToDo(plan));
    }
    if let Consent::Ask { yes } = opts.consent {
        if ctx.format == crate::cli::OutputFormat::Table || !yes {
            plan.announce();
        }
        // Asked on a terminal: said before the question. Scheduled (--yes): logged once.
        match plan.on_premises() {
            Some(note) if yes => tracing::info!("{note}"),
            Some(note) => output::notice(note),
            None => {}
        }
        consent(ctx, yes, &plan.question()).await?;
    }
    let mut journals = Journals {
        explicit: opts.journal,
        state_dir: opts.dirs.state.as_deref(),
        target: &ctx.target,
        way_back: &ctx.way_back,
        opened: Vec::new(),
        undoes: Vec::new(),
    };
    let done = plan.write(ctx, &mut journals).await?;
    Ok(Stage::Done(plan, done))
}

/// A plan's on-premises note (its [`ChangeSet::on_premises`]) under what a person reads in a
/// table: a dry run's plan, or the summary of a run confirmed at the prompt. A `--yes` run
/// logged it once instead (pass `yes`); data formats carry no prose.
/// A dry run as the group-writing commands show it: the header naming the target (in a
/// table), the plan (`print`), then what the writes would do on-premises.
pub(crate) async fn show_dry_run(
    ctx: &Context,
    out: &mut dyn std::io::Write,
    on_premises: Option<&str>,
    print: impl FnOnce(&mut dyn std::io::Write) -> std::io::Result<()>,
) -> std::io::Result<()> {
    if ctx.format == crate::cli::OutputFormat::Table {
        let header = plan_header(ctx).await;
        writeln!(out, "{}", crate::output::table::fitted(&header, "", "  "))?;
    }
    print(out)?;
    note_on_premises(out, ctx.format, false, on_premises)
}

pub(crate) fn note_on_premises(
    out: &mut dyn std::io::Write,
    format: crate::cli::OutputFormat,
    yes: bool,
    note: Option<&str>,
) -> std::io::Result<()> {
    match note {
        Some(note) if format == crate::cli::OutputFormat::Table && !yes => {
            writeln!(out, "{}", crate::output::table::fitted(note, "", ""))
        }
        _ => Ok(()),
    }
}

/// Refuse a plan over `--max-changes` before anything is written (the journal included).
pub(crate) fn guard(max_changes: Option<usize>, n: usize) -> Result<(), UsageError> {
    match max_changes {
        Some(max) if n > max => Err(UsageError(format!(
            "the plan has {n} changes, more than --max-changes {max}; nothing was changed (review the plan with --dry-run, then raise the limit)"
        ))),
        _ => Ok(()),
    }
}

/// `--journal PATH` goes into a directory that exists: gwb creates the state directory, never
/// one named by hand (a typo there should fail, not scatter journals).
fn check_journal_dir(path: &Path) -> Result<(), UsageError> {
    match path.parent().filter(|d| !d.as_os_str().is_empty()) {
        Some(dir) if !dir.is_dir() => Err(UsageError(format!(
            "--journal {}: the directory {} does not exist; create it, or choose another path (nothing was changed)",
            path.display(),
            dir.display()
        ))),
        _ => Ok(()),
    }
}

/// Ask on a terminal, naming the tenant; without one, require `--yes`.
async fn consent(ctx: &Context, yes: bool, question: &str) -> anyhow::Result<()> {
    if yes {
        return Ok(());
    }
    if !(std::io::stdin().is_terminal() && std::io::stderr().is_terminal()) {
        return Err(UsageError(format!(
            "{question}: refusing without --yes, because no terminal is attached to ask; nothing was changed"
        ))
        .into());
    }
    let tenant = tenant_words(ctx).await;
    if output::ask(&format!("{question} in {tenant}? [y/N] "))? {
        Ok(())
    } else {
        Err(UsageError("not confirmed; nothing was changed".into()).into())
    }
}

/// The tenant in words, as a prompt names it: its id (from the token, else from Graph), its
/// default domain when Graph says (one `GET /organization`), and the Graph root.
pub(crate) async fn tenant_words(ctx: &Context) -> String {
    let who = crate::graph::organization::who(&ctx.client).await;
    let id = ctx
        .target
        .tenant_id
        .clone()
        .or_else(|| who.as_ref().map(|w| w.0.clone()));
    let domain = who.and_then(|w| w.1);
    describe_tenant(id.as_deref(), domain.as_deref(), &ctx.target.graph_root)
}

/// "tenant ID (DOMAIN) at ROOT", with what is not known said as such.
pub(crate) fn describe_tenant(id: Option<&str>, domain: Option<&str>, root: &str) -> String {
    let id = output::safe(id.unwrap_or("(id unknown: the token does not say)")).into_owned();
    match domain {
        Some(d) => format!("tenant {id} ({}) at {root}", output::safe(d)),
        None => format!("tenant {id} at {root}"),
    }
}

/// The first line of a plan shown for review (a table, for people): which tenant, with its
/// default domain when Graph gives it, and which Graph root it is for.
pub(crate) async fn plan_header(ctx: &Context) -> String {
    format!("For {}:", tenant_words(ctx).await)
}

/// The journals a run opens: the first at `--journal PATH` when given, the others (and that
/// one otherwise) as new files in the state directory.
pub(crate) struct Journals<'a> {
    explicit: Option<&'a Path>,
    state_dir: Option<&'a Path>,
    target: &'a Target,
    way_back: &'a super::WayBack,
    opened: Vec<PathBuf>,
    /// A restore: the runs the journals opened from here on undo.
    undoes: Vec<String>,
}

impl Journals<'_> {
    /// The journals opened from here on record that they undo `runs` (a restore).
    pub(crate) fn undoing(&mut self, runs: Vec<String>) {
        self.undoes = runs;
    }

    /// Open a journal for `command`'s writes. From here Ctrl-C and SIGTERM stop the run
    /// cleanly (see `interrupt`).
    pub(crate) fn open(&mut self, command: &str) -> anyhow::Result<Journal> {
        let run_id = new_run_id();
        let path: PathBuf = match (self.explicit.take(), self.state_dir) {
            (Some(p), _) => p.to_path_buf(),
            (None, Some(d)) => d.join(format!("{}-{run_id}.jsonl", self.target.file_stem(command))),
            (None, None) => {
                return Err(UsageError(
                    "no state directory for the journal (neither XDG_STATE_HOME nor HOME is set): give --journal PATH".into(),
                )
                .into());
            }
        };
        crate::interrupt::listen()
            .map_err(|e| anyhow::anyhow!("cannot listen for Ctrl-C and SIGTERM: {e}"))?;
        let j = Journal::create_undoing(
            &path,
            &run_id,
            command,
            &self.target.graph_root,
            self.target.tenant_id.as_deref(),
            &self.undoes,
        )
        .map_err(|e| UsageError(format!("cannot create journal {}: {e}", path.display())))?;
        output::notice(&format!("journal {}", path.display()));
        output::way_back_journal(&path.display().to_string(), self.way_back.undo(&path));
        self.opened.push(path);
        Ok(j)
    }

    /// The journals opened so far, as paths to print.
    pub(crate) fn opened(&self) -> Vec<String> {
        self.opened
            .iter()
            .map(|p| p.display().to_string())
            .collect()
    }
}

/// The one read-back loop: Graph's reads lag its writes (about 10 s, GRAPH.md), so a change it
/// accepted is read again until it shows or `timeout` has passed, waiting 1, 2, 4, 8, 8, ...
/// seconds between reads (through the client's sleeper, so tests do not wait). `read` returns
/// what it read and how many changes do not show yet; the last read is returned.
pub(crate) async fn read_back<T, F, Fut>(
    sleeper: &Sleeper,
    timeout: Duration,
    mut read: F,
) -> anyhow::Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = anyhow::Result<(T, usize)>>,
{
    let (mut waited, mut step) = (Duration::ZERO, Duration::from_secs(1));
    loop {
        let (last, pending) = read().await?;
        if pending == 0 || waited >= timeout {
            return Ok(last);
        }
        tracing::info!(
            pending,
            waited_s = waited.as_secs_f64(),
            "Graph does not show every change yet (its reads lag writes); reading again"
        );
        let wait = step.min(timeout - waited);
        sleeper.sleep(wait).await;
        waited += wait;
        step = (step * 2).min(Duration::from_secs(8));
    }
}
