//! `gwb disable-existing-m365`: plan which Microsoft 365 groups stop being written back, then
//! (after consent) apply the plan through the shared apply path, journaled.

use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::apply::{self, Applied, Current, ItemFailure, same_state};
use super::pipeline::{self, ChangeSet, Consent, Journals, Options, Stage};
use super::{Context, Dirs};
use crate::cli::{ApplyArgs, DisableArgs, OutputFormat};
use crate::error::{ExitStatus, UsageError};
use crate::journal::{Journal, now_rfc3339};
use crate::output::{write_json, write_plan_table};
use crate::writeback::plan::{
    Change, DisablePlanner, PLAN_STALE_DAYS, PlanSummary, Selection, SkipReason, Skipped,
    age_in_days, is_guid, parse_cutoff, parse_exclude_file,
};

pub(crate) const PLAN_KIND: &str = "gwb.disable-existing-m365.plan";
pub(crate) const PLAN_SCHEMA_VERSION: u32 = 1;

/// A plan as printed by `--dry-run` and saved by `--plan-out`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PlanDoc {
    pub schema_version: u32,
    pub kind: String,
    /// The Graph root the plan was made against; a plan is applied only there.
    pub graph_root: String,
    /// The tenant the plan was made for (the token's `tid`), when the token said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant_id: Option<String>,
    pub created_at: String,
    pub changes: Vec<Change>,
    pub skipped: Vec<Skipped>,
    pub summary: PlanSummary,
    /// A saved plan's review (`--plan-out`): per group what an admin decides by, and the
    /// decision; a change whose entry says `keep` is not made. Absent from earlier plans.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub review: Vec<super::review::Entry>,
    /// With `review`: where its `lastActivityDate`s come from, or why there are none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub review_activity: Option<String>,
}

/// What a run did (stdout, `--output json`).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RunResult {
    pub run_id: Option<String>,
    pub journal: Option<String>,
    pub summary: RunSummary,
    pub changed: Vec<String>,
    pub deleted_meanwhile: Vec<ItemFailure>,
    pub failed: Vec<ItemFailure>,
    pub skipped: Vec<Skipped>,
    /// Interrupted runs: writes sent that got no final answer.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unconfirmed: Vec<String>,
}

#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RunSummary {
    pub planned: u64,
    pub changed: u64,
    pub already_disabled: u64,
    pub excluded: u64,
    pub created_on_or_after_cutoff: u64,
    pub synced_from_on_premises: u64,
    pub changed_since_plan: u64,
    /// `restore`: groups changed after gwb's run, left alone (without `--force`).
    pub changed_since_run: u64,
    pub deleted_meanwhile: u64,
    pub failed: u64,
    /// Interrupted runs: planned changes never sent.
    #[serde(skip_serializing_if = "is_zero")]
    pub not_sent: u64,
    /// Interrupted runs: writes sent that got no final answer (each may have been made).
    #[serde(skip_serializing_if = "is_zero")]
    pub unconfirmed: u64,
    /// The signal that stopped the run early (SIGINT, SIGTERM), when one did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interrupted: Option<&'static str>,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl RunSummary {
    /// Count what an apply did into the summary.
    pub(crate) fn add_applied(&mut self, applied: &Applied) {
        self.changed = applied.changed.len() as u64;
        self.deleted_meanwhile += applied.deleted.len() as u64;
        self.failed = applied.failed.len() as u64;
        self.not_sent = applied.not_sent;
        self.unconfirmed = applied.unconfirmed.len() as u64;
        self.interrupted = applied.signal.map(crate::interrupt::name);
    }
}

fn selection(args: &DisableArgs) -> anyhow::Result<Selection> {
    let mut exclude = HashSet::new();
    for id in &args.exclude {
        if !is_guid(id) {
            return Err(UsageError(format!("--exclude {id:?} is not a group id (a GUID)")).into());
        }
        exclude.insert(id.to_lowercase());
    }
    for path in &args.exclude_file {
        let text = std::fs::read_to_string(path)
            .map_err(|e| UsageError(format!("--exclude-file {}: {e}", path.display())))?;
        let ids = parse_exclude_file(&text)
            .map_err(|e| UsageError(format!("--exclude-file {}: {e}", path.display())))?;
        exclude.extend(ids);
    }
    let created_before = match &args.created_before {
        Some(d) => Some(parse_cutoff(d).map_err(|e| UsageError(format!("--created-before: {e}")))?),
        None => None,
    };
    Ok(Selection {
        exclude,
        created_before,
    })
}

/// Read every group and plan.
async fn plan_from_tenant(
    ctx: &Context,
    selection: Selection,
    signals: Option<&mut HashMap<String, super::review::Signals>>,
) -> anyhow::Result<PlanDoc> {
    let client = &ctx.client;
    let mut planner = DisablePlanner::new(selection);
    match signals {
        // A review plan: the listing also reads what an admin decides by, kept for the changes.
        Some(signals) => {
            let spin = crate::output::spinner("reading groups");
            crate::graph::groups::for_each_reviewed(client, |g| {
                spin.inc(1);
                let planned = planner.changes.len();
                planner.consider(&g.group)?;
                if planner.changes.len() > planned {
                    signals.insert(g.group.id.clone(), super::review::Signals::of(&g));
                }
                Ok(())
            })
            .await?;
            spin.finish_and_clear();
        }
        None => super::each_group(client, |g| Ok(planner.consider(&g)?)).await?,
    }
    let absent = planner.excluded_but_absent();
    // The vectors grew by doubling: give back what they do not use (a large allocation shrinks
    // in place), so the plan costs what it holds while it is applied.
    planner.changes.shrink_to_fit();
    planner.skipped.shrink_to_fit();
    if !absent.is_empty() {
        tracing::warn!(
            "{} --exclude ids match no group in the tenant (a typo, or a group deleted since): {}",
            absent.len(),
            absent.join(", ")
        );
    }
    Ok(PlanDoc {
        schema_version: PLAN_SCHEMA_VERSION,
        kind: PLAN_KIND.into(),
        graph_root: ctx.target.graph_root.clone(),
        tenant_id: ctx.target.tenant_id.clone(),
        created_at: now_rfc3339(),
        changes: planner.changes,
        skipped: planner.skipped,
        summary: planner.summary,
        review: Vec::new(),
        review_activity: None,
    })
}

/// Load a saved plan (JSON, or an edited review file) and check it belongs here; the groups a
/// review kept go to `kept`.
fn load_plan(
    path: &Path,
    target: &super::Target,
    kept: &mut Vec<(String, Option<String>)>,
) -> anyhow::Result<PlanDoc> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| UsageError(format!("--plan {}: {e}", path.display())))?;
    let plan: PlanDoc = if super::review::is_review(&text) {
        let r = super::review::read(path, &text)?;
        *kept = r.kept;
        PlanDoc {
            schema_version: PLAN_SCHEMA_VERSION,
            kind: PLAN_KIND.into(),
            graph_root: r.graph_root,
            tenant_id: r.tenant_id,
            created_at: r.created_at,
            summary: PlanSummary {
                changes: r.changes.len() as u64,
                ..Default::default()
            },
            changes: r.changes,
            skipped: Vec::new(),
            review: Vec::new(),
            review_activity: None,
        }
    } else {
        let mut plan = parse_plan(path, &text)?;
        *kept = super::review::apply_decisions(path, &plan.review, &mut plan.changes)?;
        plan
    };
    check_plan(path, target, plan)
}

fn parse_plan(path: &Path, text: &str) -> anyhow::Result<PlanDoc> {
    let plan: PlanDoc = serde_json::from_str(text).map_err(|e| {
        UsageError(format!(
            "--plan {}: not a gwb plan ({e}); nothing was changed",
            path.display()
        ))
    })?;
    if plan.kind != PLAN_KIND || plan.schema_version != PLAN_SCHEMA_VERSION {
        return Err(UsageError(format!(
            "--plan {}: a {:?} plan of schema {}, not a {PLAN_KIND} plan of schema {PLAN_SCHEMA_VERSION}",
            path.display(),
            plan.kind,
            plan.schema_version
        ))
        .into());
    }
    Ok(plan)
}

/// A loaded plan is used only for its tenant and Graph root, and only if every change just
/// disables writeback; an old plan is warned about.
fn check_plan(path: &Path, target: &super::Target, plan: PlanDoc) -> anyhow::Result<PlanDoc> {
    target.check(
        &format!("--plan {}", path.display()),
        &plan.graph_root,
        plan.tenant_id.as_deref(),
    )?;
    if let Some(days) = age_in_days(&plan.created_at, &now_rfc3339())
        && days > PLAN_STALE_DAYS
    {
        tracing::warn!(
            "--plan {}: the plan was made {days} days ago ({}); every group is read again and only those still as planned are changed, but the tenant may have changed in ways the plan cannot show (new groups, changed exclusions): consider planning afresh",
            path.display(),
            plan.created_at
        );
    }
    for c in &plan.changes {
        if !is_guid(&c.id) {
            return Err(UsageError(format!(
                "--plan {}: {:?} is not a group id",
                path.display(),
                c.id
            ))
            .into());
        }
        if c.after.is_enabled != Some(false)
            || c.after.on_premises_group_type != c.before.on_premises_group_type
        {
            return Err(UsageError(format!(
                "--plan {}: the change for {} does not only disable writeback; the file was edited",
                path.display(),
                c.id
            ))
            .into());
        }
    }
    Ok(plan)
}

/// Re-read the planned groups; keep those still in their planned before-state.
async fn recheck(
    ctx: &Context,
    plan: &mut PlanDoc,
    summary: &mut RunSummary,
) -> anyhow::Result<()> {
    let ids: Vec<String> = plan.changes.iter().map(|c| c.id.clone()).collect();
    let current = apply::read_current(&ctx.client, &ids).await?;
    let mut keep = Vec::new();
    for c in std::mem::take(&mut plan.changes) {
        let skip = |reason| Skipped {
            id: c.id.clone(),
            display_name: c.display_name.clone(),
            reason,
        };
        match current.get(&c.id) {
            Some(Current::Found(g)) if same_state(g, &c.before) => keep.push(c),
            // Already as the plan wants it (a rerun, or someone did it): not a change of mind.
            Some(Current::Found(g)) if same_state(g, &c.after) => {
                summary.already_disabled += 1;
                plan.skipped.push(skip(SkipReason::AlreadyDisabled));
            }
            Some(Current::Found(_)) => {
                summary.changed_since_plan += 1;
                plan.skipped.push(skip(SkipReason::ChangedSincePlan));
            }
            Some(Current::Deleted(_)) => {
                summary.deleted_meanwhile += 1;
                plan.skipped.push(skip(SkipReason::DeletedMeanwhile));
            }
            Some(Current::Unreadable(e)) => {
                return Err(anyhow::anyhow!(
                    "could not re-read group {} before changing it: {e}",
                    c.id
                ));
            }
            None => return Err(anyhow::anyhow!("no answer when re-reading group {}", c.id)),
        }
    }
    plan.changes = keep;
    Ok(())
}

/// A disable plan as the pipeline carries it: the plan document, the summary so far, and the
/// flags the writes follow.
struct DisableRun {
    plan: PlanDoc,
    summary: RunSummary,
    args: ApplyArgs,
    /// A review plan's signals, by group id (`--plan-out review.csv`).
    signals: HashMap<String, super::review::Signals>,
    /// The groups an applied review kept (id, name).
    kept: Vec<(String, Option<String>)>,
}

/// What the writes did, and the journal that recorded them.
pub(crate) struct Written {
    pub applied: Applied,
    pub journal: Journal,
}

#[async_trait::async_trait(?Send)]
impl ChangeSet for DisableRun {
    type Done = Written;

    fn change_count(&self) -> usize {
        self.plan.changes.len()
    }

    fn question(&self) -> String {
        format!(
            "disable writeback on {} Microsoft 365 groups",
            self.plan.changes.len()
        )
    }

    fn announce(&self) {
        print_plan_summary(&self.plan);
    }

    fn on_premises(&self) -> Option<&'static str> {
        (!self.plan.changes.is_empty()).then_some(crate::writeback::onprem::DISABLE)
    }

    async fn write(
        &mut self,
        ctx: &Context,
        journals: &mut Journals<'_>,
    ) -> anyhow::Result<Written> {
        let journal = journals.open("disable-existing-m365")?;
        let mut applied = apply::apply(
            &ctx.client,
            &self.plan.changes,
            &journal,
            &self.args,
            apply::SkipAs {
                changed: SkipReason::ChangedSincePlan,
                already: SkipReason::AlreadyDisabled,
            },
        )
        .await?;
        let summary = &mut self.summary;
        summary.add_applied(&applied);
        for s in &applied.skipped {
            match s.reason {
                SkipReason::AlreadyDisabled => summary.already_disabled += 1,
                _ => summary.changed_since_plan += 1,
            }
        }
        self.plan.skipped.append(&mut applied.skipped);
        journal.finish_as(serde_json::to_value(&*summary)?, summary.interrupted)?;
        Ok(Written { applied, journal })
    }
}

/// Plan from the tenant or a saved plan (re-read), and count what was skipped.
async fn plan(ctx: &Context, args: &DisableArgs) -> anyhow::Result<DisableRun> {
    let mut summary = RunSummary::default();
    let mut kept = Vec::new();
    let mut signals = HashMap::new();
    let mut plan = match &args.plan {
        Some(path) => {
            let mut plan = load_plan(path, &ctx.target, &mut kept)?;
            recheck(ctx, &mut plan, &mut summary).await?;
            plan
        }
        None => {
            // A saved plan is the review step: it carries what an admin decides by.
            let review = args.plan_out.is_some();
            plan_from_tenant(ctx, selection(args)?, review.then_some(&mut signals)).await?
        }
    };
    summary.planned = plan.changes.len() as u64;
    summary.already_disabled += plan.summary.already_disabled;
    summary.excluded = plan.summary.excluded;
    summary.created_on_or_after_cutoff = plan.summary.created_on_or_after_cutoff;
    summary.synced_from_on_premises = plan.summary.synced_from_on_premises;
    plan.summary.changes = plan.changes.len() as u64;
    plan.summary.already_disabled = summary.already_disabled;
    Ok(DisableRun {
        plan,
        summary,
        args: args.apply.clone(),
        signals,
        kept,
    })
}

/// `--plan-out` to a `.csv` file: a review plan (see `review`).
fn is_review_path(p: &Path) -> bool {
    p.extension().is_some_and(|e| e.eq_ignore_ascii_case("csv"))
}

pub async fn run(
    ctx: &Context,
    args: &DisableArgs,
    dirs: &Dirs,
    out: &mut dyn Write,
) -> anyhow::Result<ExitStatus> {
    apply::check_args(&args.apply)?;
    use OutputFormat::{Csv, Json, Ndjson, Table};
    if args.apply.dry_run {
        crate::output::require_format(
            ctx.format,
            "disable-existing-m365 --dry-run",
            &[Table, Json, Ndjson, Csv],
        )?;
    } else if args.plan_out.is_none() {
        crate::output::require_format(
            ctx.format,
            "disable-existing-m365 (add --dry-run for ndjson or csv)",
            &[Table, Json],
        )?;
    }
    // `--plan-out` is a dry run whose plan is saved rather than printed.
    let opts = Options {
        command: "disable-existing-m365",
        dry_run: args.apply.dry_run || args.plan_out.is_some(),
        consent: Consent::Ask {
            yes: args.apply.yes,
        },
        max_changes: args.apply.max_changes,
        dirs,
        journal: args.journal.as_deref(),
    };
    let stage = pipeline::run(ctx, opts, plan(ctx, args)).await?;
    let kept = match &stage {
        Stage::DryRun(r) | Stage::NothingToDo(r) | Stage::Done(r, _) => &r.kept,
    };
    // The groups a review kept: printed as exceptions, for gwb check to accept them.
    if let (false, Some(file)) = (kept.is_empty(), &args.plan) {
        crate::output::block(&super::review::exception_snippet(kept, file));
    }
    match stage {
        Stage::DryRun(run) => match &args.plan_out {
            Some(path) => save_review(ctx, path, run, args.force).await,
            None => {
                if ctx.format == OutputFormat::Table {
                    writeln!(out, "{}", pipeline::plan_header(ctx).await)?;
                }
                print_plan(out, ctx.format, &run.plan)?;
                pipeline::note_on_premises(out, ctx.format, false, run.on_premises())?;
                Ok(ExitStatus::Ok)
            }
        },
        Stage::NothingToDo(run) => finish(
            out,
            ctx.format,
            None,
            run.summary,
            Applied::default(),
            run.plan.skipped,
        ),
        Stage::Done(run, w) => {
            // Said at the prompt and again with what was done; a scheduled run (--yes) logged it.
            let note = run.on_premises();
            let status = finish(
                out,
                ctx.format,
                Some(&w.journal),
                run.summary,
                w.applied,
                run.plan.skipped,
            )?;
            pipeline::note_on_premises(out, ctx.format, args.apply.yes, note)?;
            Ok(status)
        }
    }
}

/// `--plan-out`: the plan with its review (member and owner counts read now), as JSON, or
/// as a review spreadsheet for a `.csv` name.
async fn save_review(
    ctx: &Context,
    path: &Path,
    mut run: DisableRun,
    force: bool,
) -> anyhow::Result<ExitStatus> {
    let (counts, activity) = tokio::join!(
        super::review::counts(&ctx.client, &run.plan.changes),
        super::review::last_activity(&ctx.client)
    );
    let counts = counts?;
    run.plan.review = super::review::entries(&run.plan.changes, &run.signals, &counts, &activity);
    run.plan.review_activity = Some(activity.note.clone());
    crate::output::notice(&activity.note);
    if !is_review_path(path) {
        return save_plan(path, &run.plan, force);
    }
    let meta = super::review::Meta {
        graph_root: &run.plan.graph_root,
        tenant_id: run.plan.tenant_id.as_deref(),
        created_at: &run.plan.created_at,
        last_activity: activity.status,
    };
    let text = super::review::render(&meta, &run.plan.changes, &run.plan.review);
    super::review::save(path, &text, force)?;
    crate::output::notice(&format!(
        "saved a review of {} groups to {}; nothing was changed. Set decision to keep for the groups AD still needs, then apply it with: gwb disable-existing-m365 --plan {}",
        run.plan.changes.len(),
        path.display(),
        path.display()
    ));
    Ok(ExitStatus::Ok)
}

/// `--plan-out`: save the plan (a new file; `--force` replaces one atomically).
fn save_plan(path: &Path, plan: &PlanDoc, force: bool) -> anyhow::Result<ExitStatus> {
    let text = serde_json::to_string_pretty(plan)? + "\n";
    crate::files::write_new(path, text.as_bytes(), force).map_err(|e| {
        let hint = if e.kind() == std::io::ErrorKind::AlreadyExists {
            " (a file or symlink is already there: choose a new name, or add --force to replace it)"
        } else {
            ""
        };
        UsageError(format!(
            "--plan-out {}: {e}{hint}; nothing was saved",
            path.display()
        ))
    })?;
    crate::output::notice(&format!(
        "saved a plan of {} changes to {}; nothing was changed. Apply it with: gwb disable-existing-m365 --plan {}",
        plan.changes.len(),
        path.display(),
        path.display()
    ));
    Ok(ExitStatus::Ok)
}

fn print_plan_summary(plan: &PlanDoc) {
    let s = &plan.summary;
    let privileged = plan.changes.iter().filter(|c| c.role_assignable).count();
    if privileged > 0 {
        crate::output::notice(&format!(
            "{privileged} of the groups to disable are role-assignable: Graph changes them only for an app that also holds RoleManagement.ReadWrite.Directory"
        ));
    }
    crate::output::notice(&format!(
        "{} Microsoft 365 groups to disable; skipped: {} already disabled, {} excluded, {} created on or after the cutoff, {} synced from AD",
        plan.changes.len(),
        s.already_disabled,
        s.excluded,
        s.created_on_or_after_cutoff,
        s.synced_from_on_premises
    ));
}

fn print_plan(out: &mut dyn Write, format: OutputFormat, plan: &PlanDoc) -> std::io::Result<()> {
    match format {
        OutputFormat::Table => {
            let s = &plan.summary;
            write_plan_table(
                out,
                &format!(
                    "Dry run: would disable writeback on {} Microsoft 365 groups (no writes made):",
                    plan.changes.len()
                ),
                &plan.changes,
                &plan.skipped,
                &[format!(
                    "Summary: {} changes; {} already disabled, {} excluded, {} created on or after the cutoff, {} synced from AD, {} groups of other kinds",
                    plan.changes.len(),
                    s.already_disabled,
                    s.excluded,
                    s.created_on_or_after_cutoff,
                    s.synced_from_on_premises,
                    s.other_kinds
                )],
            )
        }
        OutputFormat::Ndjson => {
            for c in &plan.changes {
                serde_json::to_writer(&mut *out, c)?;
                writeln!(out)?;
            }
            out.flush()
        }
        OutputFormat::Csv => {
            crate::output::write_csv_rows(out, CHANGE_COLUMNS, plan.changes.iter().map(change_row))
        }
        // Refused before anything is read (require_format): JUnit and HTML are for reports.
        OutputFormat::Json | OutputFormat::Junit | OutputFormat::Html => write_json(out, plan),
    }
}

/// The columns of a plan as CSV: one change a row, what a change board reviews.
pub(crate) const CHANGE_COLUMNS: [&str; 7] = [
    "id",
    "displayName",
    "beforeIsEnabled",
    "beforeOnPremisesGroupType",
    "afterIsEnabled",
    "afterOnPremisesGroupType",
    "roleAssignable",
];

pub(crate) fn change_row(c: &Change) -> [String; 7] {
    let b = |v: Option<bool>| v.map_or(String::new(), |b| b.to_string());
    [
        c.id.clone(),
        c.display_name.clone().unwrap_or_default(),
        b(c.before.is_enabled),
        c.before
            .on_premises_group_type
            .as_deref()
            .unwrap_or_default()
            .to_string(),
        b(c.after.is_enabled),
        c.after
            .on_premises_group_type
            .as_deref()
            .unwrap_or_default()
            .to_string(),
        c.role_assignable.to_string(),
    ]
}

/// Print the result and choose the exit code ([`Applied::exit_status`]).
fn finish(
    out: &mut dyn Write,
    format: OutputFormat,
    journal: Option<&crate::journal::Journal>,
    summary: RunSummary,
    applied: Applied,
    skipped: Vec<Skipped>,
) -> anyhow::Result<ExitStatus> {
    let done = Done {
        journal,
        summary,
        applied,
        skipped,
    };
    finish_with(out, format, done, write_run_table)
}

/// What a run that writes groups did, to print.
pub(crate) struct Done<'j> {
    pub journal: Option<&'j crate::journal::Journal>,
    pub summary: RunSummary,
    pub applied: Applied,
    pub skipped: Vec<Skipped>,
}

/// Print a group-writing run's result (JSON, or `table` for people), record its metrics, and
/// choose its exit code: the same for disable and restore, but for the table's words.
pub(crate) fn finish_with(
    out: &mut dyn Write,
    format: OutputFormat,
    done: Done,
    table: fn(&mut dyn Write, &RunResult) -> std::io::Result<()>,
) -> anyhow::Result<ExitStatus> {
    let (result, status) = run_result(done.journal, done.summary, done.applied, done.skipped);
    crate::metrics::record_changes(result.changed.len(), result.failed.len());
    match format {
        OutputFormat::Table => table(out, &result)?,
        _ => write_json(out, &result)?,
    }
    Ok(status)
}

/// What a run did, as printed, and its exit code ([`Applied::exit_status`]).
pub(crate) fn run_result(
    journal: Option<&crate::journal::Journal>,
    summary: RunSummary,
    applied: Applied,
    skipped: Vec<Skipped>,
) -> (RunResult, ExitStatus) {
    // Groups left alone because someone changed them after gwb's run: not done, say so.
    let status = match (applied.signal, applied.exit_status()) {
        (Some(signal), _) => ExitStatus::for_signal(signal),
        (None, ExitStatus::Ok) if summary.changed_since_run > 0 => ExitStatus::Failure,
        (None, s) => s,
    };
    let result = RunResult {
        run_id: journal.map(|j| j.run_id().to_string()),
        journal: journal.map(|j| j.path().display().to_string()),
        summary,
        changed: applied.changed,
        deleted_meanwhile: applied.deleted,
        failed: applied.failed,
        skipped,
        unconfirmed: applied.unconfirmed,
    };
    (result, status)
}

/// The result as people read it: one summary line, then what failed or was left alone.
fn write_run_table(out: &mut dyn Write, result: &RunResult) -> std::io::Result<()> {
    let s = &result.summary;
    writeln!(
        out,
        "Changed {} of {} planned groups; {} deleted meanwhile, {} failed; skipped: {} already disabled, {} excluded, {} created on or after the cutoff, {} synced from AD, {} changed since the plan",
        s.changed,
        s.planned,
        s.deleted_meanwhile,
        s.failed,
        s.already_disabled,
        s.excluded,
        s.created_on_or_after_cutoff,
        s.synced_from_on_premises,
        s.changed_since_plan
    )?;
    write_run_details(out, result)
}

/// What failed or was left alone, an interruption, and how to undo the run: the same for every
/// command that writes groups.
pub(crate) fn write_run_details(out: &mut dyn Write, result: &RunResult) -> std::io::Result<()> {
    let s = &result.summary;
    for f in &result.deleted_meanwhile {
        writeln!(
            out,
            "  deleted meanwhile: {} {}",
            f.id,
            crate::output::safe(f.display_name.as_deref().unwrap_or(""))
        )?;
    }
    for f in &result.failed {
        writeln!(out, "  FAILED: {}", f.line())?;
    }
    if s.changed_since_run > 0 {
        writeln!(
            out,
            "  {} groups were changed after gwb's run and were left alone (restore them too with --force):",
            s.changed_since_run
        )?;
        for k in result
            .skipped
            .iter()
            .filter(|k| k.reason == SkipReason::ChangedSinceRun)
        {
            writeln!(
                out,
                "    {} {}",
                k.id,
                crate::output::safe(k.display_name.as_deref().unwrap_or(""))
            )?;
        }
    }
    if let Some(sig) = s.interrupted {
        writeln!(
            out,
            "Interrupted by {sig}: {} planned changes were not sent, {} writes got no answer.",
            s.not_sent, s.unconfirmed
        )?;
        if result.journal.is_some() {
            writeln!(
                out,
                "  To finish, run the same command again (it plans afresh and skips what is done)."
            )?;
        }
    }
    if let Some(j) = &result.journal {
        crate::output::write_undo_line(out, j)?;
    }
    out.flush()
}
