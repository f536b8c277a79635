//! `gwb disable-existing-m365`: plan which Microsoft 365 groups stop being written back, then
//! (after consent) apply the plan through the shared apply path, journaled.

use std::collections::{HashMap, HashSet};
use std::io::{IsTerminal as _, Write};
use std::path::Path;

use crate::change::apply::{self, Applied, Current, same_state};
use crate::change::pipeline::{self, ChangeSet, Journals, Options, Stage};
use crate::change::run::{Done, Written, finish_with, write_run_details};
use crate::change::{Context, Dirs};
use crate::cli::{ApplyArgs, DisableArgs};
use crate::clock::now_rfc3339;
use crate::doc::plan::{PLAN_KIND, PLAN_SCHEMA_VERSION, PlanDoc};
use crate::doc::{RunResult, RunSummary};
use crate::error::{ExitStatus, UsageError};
use crate::graph::model::GroupId;
use crate::writeback::plan::{
    Change, DisablePlanner, PLAN_STALE_DAYS, PlanSummary, Selection, SkipReason, Skipped,
    Unaddressable, age_in_days, parse_cutoff, parse_exclude_file,
};
use crate::writeback::policy::Policy;

fn selection(args: &DisableArgs) -> anyhow::Result<Selection> {
    let mut exclude = HashSet::new();
    for id in &args.exclude {
        let Some(id) = GroupId::parse_lowercase(id) else {
            return Err(UsageError(format!("--exclude {id:?} is not a group id (a GUID)")).into());
        };
        exclude.insert(id);
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
        skip_role_assignable: args.skip_role_assignable,
    })
}

/// Read every group and plan.
async fn plan_from_tenant(
    ctx: &Context,
    selection: Selection,
    signals: Option<&mut HashMap<String, crate::change::review::Signals>>,
) -> anyhow::Result<(PlanDoc, Vec<Unaddressable>)> {
    let client = &ctx.client;
    let mut planner = DisablePlanner::new(selection);
    match signals {
        // A review plan: the listing also reads what an admin decides by, kept for the changes.
        Some(signals) => {
            let spin = crate::output::spinner("reading groups");
            crate::graph::groups::for_each_reviewed(client, |g| {
                spin.inc();
                let planned = planner.changes.len();
                planner.consider(&g.group)?;
                if planner.changes.len() > planned {
                    signals.insert(g.group.id.clone(), crate::change::review::Signals::of(g));
                }
                Ok(())
            })
            .await?;
            spin.finish_and_clear();
        }
        None => super::read::each_group(client, |g| Ok(planner.consider(g)?)).await?,
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
    if !planner.unaddressable.is_empty() {
        tracing::warn!(
            "{} to disable {} listed by Graph with an id that is not a GUID; gwb puts no such id in a request, so a run fails them (invalidId) and a saved plan leaves them out: {}",
            crate::output::table::groups(planner.unaddressable.len() as u64),
            crate::output::table::agree(planner.unaddressable.len() as u64, "was", "were"),
            planner
                .unaddressable
                .iter()
                .map(|u| crate::output::safe(&u.id).into_owned())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    let plan = PlanDoc {
        wide: false,
        meta: Some(ctx.meta("disable-existing-m365")),
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
        excluded_by_policy_ids: Vec::new(),
        plan_id: None,
        plan_refs: Vec::new(),
    };
    Ok((plan, planner.unaddressable))
}

/// A saved plan as loaded: the plan, the groups a review kept, and what a review file says
/// of its rows.
struct Loaded {
    plan: PlanDoc,
    kept: Vec<(GroupId, Option<String>)>,
    /// A review file: each group's line, and whether its names were decoded lossily.
    rows: Option<(HashMap<String, usize>, bool)>,
}

/// Load a saved plan (JSON, or an edited review file) and check it belongs here, names each
/// group once, plans only what it was saved with, and disables no group the policy keeps
/// (unless `ignore_policy`).
fn load_plan(
    path: &Path,
    target: &crate::change::Target,
    policy: &Policy,
    ignore_policy: bool,
) -> anyhow::Result<Loaded> {
    let bytes =
        std::fs::read(path).map_err(|e| UsageError(format!("--plan {}: {e}", path.display())))?;
    let mut loaded = if crate::change::review::is_review(&bytes) {
        let r = crate::change::review::read(path, &bytes)?;
        let plan = PlanDoc {
            wide: false,
            meta: None,
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
            excluded_by_policy_ids: Vec::new(),
            plan_id: r.plan_id,
            plan_refs: Vec::new(),
        };
        Loaded {
            plan,
            kept: r.kept,
            rows: Some((r.lines, r.lossy)),
        }
    } else {
        let text = String::from_utf8(bytes).map_err(|_| {
            UsageError(format!(
                "--plan {}: not a gwb plan (not UTF-8 text); nothing was changed",
                path.display()
            ))
        })?;
        let mut plan = parse_plan(path, &text)?;
        only_narrowed(path, &plan)?;
        let kept = crate::change::review::apply_decisions(path, &plan.review, &mut plan.changes)?;
        Loaded {
            plan,
            kept,
            rows: None,
        }
    };
    loaded.plan = check_plan(path, target, loaded.plan)?;
    let today = &now_rfc3339()[..10];
    for c in &loaded.plan.changes {
        let Some(why) = policy.keeps(&c.id, today) else {
            continue;
        };
        if ignore_policy {
            continue;
        }
        let at = match &loaded.rows {
            Some((lines, _)) => format!(
                "line {}: ",
                lines
                    .get(&c.id.as_str().to_ascii_lowercase())
                    .copied()
                    .unwrap_or(0)
            ),
            None => String::new(),
        };
        return Err(UsageError(format!(
            "--plan {}: {at}group {} ({}) is kept by the policy ({why}), but the plan disables it; set its decision to keep, or add --ignore-policy to disable it anyway; nothing was changed",
            path.display(),
            c.id,
            crate::output::safe(c.display_name.as_deref().unwrap_or(""))
        ))
        .into());
    }
    Ok(loaded)
}

/// A JSON plan names each group once, and (when saved with an id) only groups it planned.
fn only_narrowed(path: &Path, plan: &PlanDoc) -> Result<(), UsageError> {
    let bad = |what: String| {
        UsageError(format!(
            "--plan {}: {what}; nothing was changed",
            path.display()
        ))
    };
    let mut seen: HashMap<GroupId, usize> = HashMap::new();
    for (i, c) in plan.changes.iter().enumerate() {
        if let Some(first) = seen.insert(c.id.clone(), i) {
            return Err(bad(format!(
                "group {} is in changes[{first}] and again in changes[{i}]: one group, one change",
                c.id
            )));
        }
    }
    let mut reviewed = std::collections::HashSet::new();
    for e in &plan.review {
        if !reviewed.insert(e.id.to_ascii_lowercase()) {
            return Err(bad(format!(
                "group {} is in the review twice: one group, one entry",
                e.id
            )));
        }
    }
    match &plan.plan_id {
        Some(plan_id) => {
            let refs: std::collections::HashSet<&str> =
                plan.plan_refs.iter().map(String::as_str).collect();
            for c in &plan.changes {
                if !refs.contains(crate::change::review::plan_ref(plan_id, &c.id).as_str()) {
                    return Err(bad(format!(
                        "group {} was not in the plan as it was saved (no planRef for it): a plan can only be narrowed; remove the change, or plan again",
                        c.id
                    )));
                }
            }
        }
        None => tracing::warn!(
            "--plan {}: a plan saved without a planId (by an earlier gwb, or a --dry-run document): its changes cannot be checked against what was planned; each group is still read again and changed only if it is a cloud Microsoft 365 group as planned",
            path.display()
        ),
    }
    Ok(())
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
fn check_plan(
    path: &Path,
    target: &crate::change::Target,
    plan: PlanDoc,
) -> anyhow::Result<PlanDoc> {
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

/// A review row whose name is not the group's name now: (id, the row's name, the name now).
type Renamed = (String, Option<String>, Option<String>);

/// Re-read the planned groups; keep those still in their planned before-state and still cloud
/// Microsoft 365 groups. With `names` (a review file: whether it was decoded lossily), the
/// rows whose name no longer matches are returned, and the count of those that cannot be told.
async fn recheck(
    ctx: &Context,
    plan: &mut PlanDoc,
    summary: &mut RunSummary,
    names: Option<bool>,
) -> anyhow::Result<(Vec<Renamed>, usize)> {
    let ids: Vec<GroupId> = plan.changes.iter().map(|c| c.id.clone()).collect();
    let current = apply::read_current(&ctx.client, &ids).await?;
    let mut keep = Vec::new();
    let (mut renamed, mut unverifiable) = (Vec::new(), 0);
    for c in std::mem::take(&mut plan.changes) {
        let skip = |reason| Skipped {
            id: c.id.to_string(),
            display_name: c.display_name.clone(),
            reason,
            note: None,
        };
        if let (Some(lossy), Some(Current::Found(_, shape))) = (names, current.get(&c.id)) {
            match crate::change::review::name_matches(
                c.display_name.as_deref(),
                shape.display_name.as_deref(),
                lossy,
            ) {
                Some(true) => {}
                Some(false) => renamed.push((
                    c.id.to_string(),
                    c.display_name.clone(),
                    shape.display_name.clone(),
                )),
                None => unverifiable += 1,
            }
        }
        match current.get(&c.id) {
            // A pasted row, or a group converted since: never written by a disable.
            Some(Current::Found(_, shape)) if !shape.cloud_m365 => {
                tracing::warn!(
                    group = %c.id,
                    "the plan names a group that is not a cloud Microsoft 365 group now; leaving it alone"
                );
                summary.not_plannable += 1;
                plan.skipped.push(Skipped {
                    note: Some(
                        "not a cloud Microsoft 365 group now (groupTypes, securityEnabled, mailEnabled or onPremisesSyncEnabled): disable-existing-m365 does not plan it".into(),
                    ),
                    ..skip(SkipReason::NotPlannable)
                });
            }
            Some(Current::Found(g, _)) if same_state(g, &c.before) => keep.push(c),
            // Already as the plan wants it (a rerun, or someone did it): not a change of mind.
            Some(Current::Found(g, _)) if same_state(g, &c.after) => {
                summary.already_disabled += 1;
                plan.skipped.push(skip(SkipReason::AlreadyDisabled));
            }
            Some(Current::Found(..)) => {
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
    Ok((renamed, unverifiable))
}

/// A disable plan as the pipeline carries it: the plan document, the summary so far, and the
/// flags the writes follow.
struct DisableRun {
    plan: PlanDoc,
    summary: RunSummary,
    args: ApplyArgs,
    /// A review plan's signals, by group id (`--plan-out review.csv`).
    signals: HashMap<String, crate::change::review::Signals>,
    /// The groups an applied review kept (id, name).
    kept: Vec<(GroupId, Option<String>)>,
    /// Groups to disable that Graph listed with an id that is not a GUID: the write fails them.
    unaddressable: Vec<Unaddressable>,
    /// The groups the policy keeps, left out of the plan, with why: a review lists them as
    /// rows pre-filled `keep`.
    held: Vec<(Change, String)>,
}

#[async_trait::async_trait(?Send)]
impl ChangeSet for DisableRun {
    type Done = Written;

    fn change_count(&self) -> usize {
        self.plan.changes.len() + self.unaddressable.len()
    }

    fn question(&self) -> String {
        format!(
            "disable writeback on {} Microsoft 365 groups",
            self.change_count()
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
        // Groups a saved plan named that are not plannable now: recorded, never written.
        for k in self
            .plan
            .skipped
            .iter()
            .filter(|k| k.reason == SkipReason::NotPlannable)
        {
            journal.record_outcome(&k.id, crate::journal::GroupResult::NotPlannable, None)?;
        }
        let mut applied = apply::apply(
            &ctx.client,
            &self.plan.changes,
            &self.unaddressable,
            &journal,
            &self.args,
            apply::SkipAs {
                changed: SkipReason::ChangedSincePlan,
                already: SkipReason::AlreadyDisabled,
                only_cloud_m365: true,
            },
        )
        .await?;
        let summary = &mut self.summary;
        summary.add_applied(&applied);
        for s in &applied.skipped {
            match s.reason {
                SkipReason::AlreadyDisabled => summary.already_disabled += 1,
                SkipReason::NotPlannable => summary.not_plannable += 1,
                _ => summary.changed_since_plan += 1,
            }
        }
        self.plan.skipped.append(&mut applied.skipped);
        journal.finish_as(serde_json::to_value(&*summary)?, summary.interrupted)?;
        Ok(Written { applied, journal })
    }
}

/// Plan from the tenant or a saved plan (re-read), and count what was skipped.
async fn plan(ctx: &Context, args: &DisableArgs, policy: &Policy) -> anyhow::Result<DisableRun> {
    let mut summary = RunSummary::default();
    let mut kept = Vec::new();
    let mut signals = HashMap::new();
    let mut held = Vec::new();
    let mut unaddressable = Vec::new();
    let mut plan = match &args.plan {
        Some(path) => {
            let loaded = load_plan(path, &ctx.target, policy, args.ignore_policy)?;
            let mut plan = loaded.plan;
            kept = loaded.kept;
            let names = loaded.rows.as_ref().map(|(_, lossy)| *lossy);
            let compared = plan.changes.len();
            let (renamed, unverifiable) = recheck(ctx, &mut plan, &mut summary, names).await?;
            if let Some((lines, _)) = &loaded.rows {
                summary.renamed_since_review = renamed.len() as u64;
                names_checked(path, args, lines, &renamed, unverifiable, compared)?;
            }
            plan
        }
        None => {
            // A saved plan is the review step: it carries what an admin decides by.
            let review = args.plan_out.is_some();
            let (mut plan, bad_ids) =
                plan_from_tenant(ctx, selection(args)?, review.then_some(&mut signals)).await?;
            held = hold_for_policy(&mut plan, policy, args.ignore_policy);
            unaddressable = bad_ids;
            plan
        }
    };
    summary.excluded_by_policy = plan.summary.excluded_by_policy;
    summary.role_assignable_skipped = plan.summary.role_assignable_skipped;
    summary.planned = (plan.changes.len() + unaddressable.len()) as u64;
    summary.already_disabled += plan.summary.already_disabled;
    summary.excluded = plan.summary.excluded;
    summary.created_on_or_after_cutoff = plan.summary.created_on_or_after_cutoff;
    summary.synced_from_on_premises = plan.summary.synced_from_on_premises;
    plan.summary.changes = summary.planned;
    plan.summary.already_disabled = summary.already_disabled;
    Ok(DisableRun {
        plan,
        summary,
        args: args.apply.clone(),
        signals,
        kept,
        held,
        unaddressable,
    })
}

/// Take the groups the policy keeps out of the plan (listed in `skipped` with why, and in
/// `excludedByPolicyIds`); with `--ignore-policy` they stay, and a warning says how many.
fn hold_for_policy(plan: &mut PlanDoc, policy: &Policy, ignore: bool) -> Vec<(Change, String)> {
    let today = &now_rfc3339()[..10];
    let (mut changes, mut held) = (Vec::with_capacity(plan.changes.len()), Vec::new());
    for c in std::mem::take(&mut plan.changes) {
        match policy.keeps(&c.id, today) {
            Some(why) => held.push((c, why)),
            None => changes.push(c),
        }
    }
    if ignore {
        if !held.is_empty() {
            tracing::warn!(
                "--ignore-policy: the plan includes {} that the config's policy keeps written back ([policy] allow, [[policy.exception]])",
                crate::output::table::groups(held.len() as u64)
            );
        }
        changes.extend(held.into_iter().map(|(c, _)| c));
        plan.changes = changes;
        return Vec::new();
    }
    plan.changes = changes;
    plan.summary.excluded_by_policy = held.len() as u64;
    for (c, why) in &held {
        plan.excluded_by_policy_ids.push(c.id.to_string());
        plan.skipped.push(Skipped {
            id: c.id.to_string(),
            display_name: c.display_name.clone(),
            reason: SkipReason::ExcludedByPolicy,
            note: Some(why.clone()),
        });
    }
    if plan.changes.is_empty() && !held.is_empty() {
        crate::output::notice(&format!(
            "{} kept by the policy; --ignore-policy to include them",
            crate::output::table::groups(held.len() as u64)
        ));
    }
    held
}

/// Rows of a review whose name is not the group's name now: shown side by side (before the
/// question, on a terminal); refused when no one is asked, unless `--accept-renamed`.
fn names_checked(
    path: &Path,
    args: &DisableArgs,
    lines: &HashMap<String, usize>,
    renamed: &[Renamed],
    unverifiable: usize,
    rows: usize,
) -> Result<(), UsageError> {
    if unverifiable > 0 {
        tracing::warn!(
            "--plan {}: {unverifiable} names could not be compared: the file is not UTF-8 and those groups' names have characters Windows-1252 cannot hold",
            path.display()
        );
    }
    if renamed.is_empty() {
        return Ok(());
    }
    let safe = |n: &Option<String>| crate::output::safe(n.as_deref().unwrap_or("")).into_owned();
    let mut text = format!(
        "--plan {}: {} rows name a group by a name it no longer has (renamed since the review, or rows misaligned):",
        path.display(),
        renamed.len()
    );
    for (id, row, now) in renamed {
        let line = lines.get(&id.to_ascii_lowercase()).copied().unwrap_or(0);
        text.push_str(&format!(
            "\n  line {line}: {id}  review: {:?}  now: {:?}",
            safe(row),
            safe(now)
        ));
    }
    crate::output::block(&text);
    let resorted = renamed.len() >= 2 && renamed.len() * 2 >= rows.max(1);
    if resorted {
        crate::output::notice(&format!(
            "--plan {}: most rows' names do not match their ids: the file looks re-sorted (one column sorted on its own moves names away from their ids). Save the review again with --plan-out rather than apply this one",
            path.display()
        ));
    }
    let unattended =
        args.apply.yes || !(std::io::stdin().is_terminal() && std::io::stderr().is_terminal());
    if unattended && !args.accept_renamed && !args.apply.dry_run {
        return Err(UsageError(format!(
            "--plan {}: {} rows name a group by another name than it has now, and no one is asked to confirm them; check the names above, then add --accept-renamed (nothing was changed)",
            path.display(),
            renamed.len()
        )));
    }
    if unattended && !args.accept_renamed {
        tracing::warn!(
            "the real run would refuse this review without --accept-renamed: {} rows' names do not match",
            renamed.len()
        );
    }
    Ok(())
}

/// `--plan-out` to a `.csv` file: a review plan (see `review`).
fn is_review_path(p: &Path) -> bool {
    p.extension().is_some_and(|e| e.eq_ignore_ascii_case("csv"))
}

/// `disable-existing-m365` with no `[policy]` (the benchmark's way in).
pub async fn run(
    ctx: &Context,
    args: &DisableArgs,
    dirs: &Dirs,
    out: &mut dyn Write,
) -> anyhow::Result<ExitStatus> {
    run_with(ctx, args, &Policy::default(), dirs, out).await
}

/// `disable-existing-m365` bound by the config's `policy`: the groups it keeps are left out.
pub(crate) async fn run_with(
    ctx: &Context,
    args: &DisableArgs,
    policy: &Policy,
    dirs: &Dirs,
    out: &mut dyn Write,
) -> anyhow::Result<ExitStatus> {
    apply::check_args(&args.apply)?;
    if args.apply.dry_run {
        crate::output::require::<PlanDoc>(ctx.format, "disable-existing-m365 --dry-run")?;
    } else if args.plan_out.is_none() {
        crate::output::require::<crate::change::run::Printed>(
            ctx.format,
            "disable-existing-m365 (add --dry-run for ndjson or csv)",
        )?;
    }
    // `--plan-out` is a dry run whose plan is saved rather than printed.
    let opts = Options::new("disable-existing-m365", dirs)
        .apply_flags(&args.apply)
        .stop_before_writing(args.plan_out.is_some())
        .journal(args.journal.as_deref());
    let stage = pipeline::run(ctx, opts, plan(ctx, args, policy)).await?;
    let kept = match &stage {
        Stage::DryRun(r) | Stage::NothingToDo(r) | Stage::Done(r, _) => &r.kept,
    };
    // The groups a review kept: printed as exceptions, for gwb check to accept them (but for
    // those the config already allows or excepts).
    let today = &now_rfc3339()[..10];
    let kept: Vec<(GroupId, Option<String>)> = kept
        .iter()
        .filter(|(id, _)| policy.keeps(id, today).is_none())
        .cloned()
        .collect();
    if let (false, Some(file)) = (kept.is_empty(), &args.plan) {
        crate::output::block(&crate::change::review::exception_snippet(&kept, file));
    }
    match stage {
        Stage::DryRun(mut run) => match &args.plan_out {
            Some(path) => save_review(ctx, path, run, args.force).await,
            None => {
                run.plan.wide = args.wide;
                let print = |out: &mut dyn Write| crate::output::render(&run.plan, ctx.format, out);
                pipeline::show_dry_run(ctx, out, run.on_premises(), print).await?;
                Ok(ExitStatus::Ok)
            }
        },
        Stage::NothingToDo(run) => finish(
            out,
            ctx,
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
                ctx,
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
    // The review's rows: the changes, then the groups the policy keeps, pre-filled keep.
    let held = std::mem::take(&mut run.held);
    let mut rows = run.plan.changes.clone();
    rows.extend(held.iter().map(|(c, _)| c.clone()));
    let planned: HashSet<String> = rows
        .iter()
        .map(|c| c.id.as_str().to_ascii_lowercase())
        .collect();
    let (counts, activity) = tokio::join!(
        crate::change::review::counts(&ctx.client, &rows),
        crate::change::review::last_activity(&ctx.client, &planned)
    );
    let counts = counts?;
    let mut review = crate::change::review::entries(&rows, &run.signals, &counts, &activity);
    for (e, (_, why)) in review[run.plan.changes.len()..].iter_mut().zip(&held) {
        e.decision = "keep".into();
        e.note = Some(format!("kept by the policy: {why}"));
    }
    let plan_id = crate::change::review::new_plan_id();
    run.plan.plan_refs = rows
        .iter()
        .map(|c| crate::change::review::plan_ref(&plan_id, &c.id))
        .collect();
    run.plan.plan_id = Some(plan_id.clone());
    run.plan.review = review;
    run.plan.review_activity = Some(activity.note.clone());
    crate::output::notice(&activity.note);
    if !is_review_path(path) {
        return save_plan(ctx, path, &run.plan, force);
    }
    let meta = crate::change::review::Meta {
        graph_root: &run.plan.graph_root,
        tenant_id: run.plan.tenant_id.as_deref(),
        created_at: &run.plan.created_at,
        last_activity: activity.status,
        plan_id: &plan_id,
    };
    let text = crate::change::review::render(&meta, &rows, &run.plan.review);
    crate::change::review::save(path, &text, force)?;
    crate::output::notice(&format!(
        "saved a review of {} to {}{}; nothing was changed. Set decision to keep for the groups AD still needs, then apply it",
        crate::output::table::groups(run.plan.changes.len() as u64),
        path.display(),
        match held.len() {
            0 => String::new(),
            n => format!(" (and {n} rows the policy keeps, pre-filled keep)"),
        }
    ));
    crate::output::way_back_plan(&ctx.way_back.apply_plan(path));
    Ok(ExitStatus::Ok)
}

/// `--plan-out`: save the plan (a new file; `--force` replaces one atomically).
fn save_plan(
    ctx: &Context,
    path: &Path,
    plan: &PlanDoc,
    force: bool,
) -> anyhow::Result<ExitStatus> {
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
        "saved a plan of {} to {}; nothing was changed",
        crate::output::table::count(plan.changes.len() as u64, "change", "changes"),
        path.display(),
    ));
    crate::output::way_back_plan(&ctx.way_back.apply_plan(path));
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
    if s.excluded_by_policy > 0 {
        crate::output::notice(&format!(
            "{} kept by the config's policy ([policy] allow, [[policy.exception]]) {} left out; --ignore-policy to include them",
            crate::output::table::groups(s.excluded_by_policy),
            crate::output::table::agree(s.excluded_by_policy, "is", "are")
        ));
    }
    if s.role_assignable_skipped > 0 {
        crate::output::notice(&format!(
            "{} role-assignable groups are left out (--skip-role-assignable)",
            s.role_assignable_skipped
        ));
    }
}

/// Print the result and choose the exit code ([`Applied::exit_status`]).
fn finish(
    out: &mut dyn Write,
    ctx: &Context,
    journal: Option<&crate::journal::Journal>,
    summary: RunSummary,
    applied: Applied,
    skipped: Vec<Skipped>,
) -> anyhow::Result<ExitStatus> {
    let done = Done {
        meta: ctx.meta("disable-existing-m365"),
        journal,
        summary,
        applied,
        skipped,
    };
    finish_with(out, ctx.format, done, write_run_table)
}

/// The result as people read it: one summary line, then what failed or was left alone.
fn write_run_table(out: &mut dyn Write, result: &RunResult) -> std::io::Result<()> {
    let s = &result.summary;
    let line = format!(
        "Changed {} of {}; {} deleted meanwhile, {} failed; skipped: {} already disabled, {} excluded, {} created on or after the cutoff, {} synced from AD, {} changed since the plan",
        s.changed,
        crate::output::table::count(s.planned, "planned group", "planned groups"),
        s.deleted_meanwhile,
        s.failed,
        s.already_disabled,
        s.excluded,
        s.created_on_or_after_cutoff,
        s.synced_from_on_premises,
        s.changed_since_plan
    );
    writeln!(out, "{}", crate::output::table::fitted(&line, "", "  "))?;
    write_run_details(out, result)
}
