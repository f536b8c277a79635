//! `gwb check [--fix]`: compare the tenant with `[policy]` and say what drifted.
//!
//! One pass over the groups, as `report` makes, and (only when the policy sets
//! `new_m365_default`) one read of the settings, at the same time. Exit 0 compliant, 3 drift.
//! `--fix` applies the same changes `disable-existing-m365` and `set-default` make, through
//! their code (journal, `--max-changes`, consent, run lock), then checks again, reading again
//! while Graph does not yet show what was just written (its reads lag writes).

pub(crate) mod baseline;
mod stream;

use std::collections::HashSet;
use std::io::Write;
use std::path::Path;
use std::time::Duration;

use serde_json::json;

use crate::change::apply;
use crate::change::pipeline::{self, ChangeSet, Journals, Options, Stage};
use crate::change::setting::{self as set_default, SetDefaultPlan, SettingAction};

use crate::change::{Context, Dirs, run_state};
use crate::cli::{ApplyArgs, CheckArgs, OutputFormat};
use crate::doc::TenantSection;
use crate::doc::check::{Comparison, Fix, Shown};
use crate::error::{ExitStatus, UsageError};
use crate::output::write_json;
use crate::writeback::history::{Changes, RunRecord, Seen, classify};
use crate::writeback::plan::{Change, SkipReason, Unaddressable};
use crate::writeback::policy::{Drift, DriftTarget, Policy, PolicyChecker, apply_exceptions};
use crate::writeback::tenant::tenant_default;

/// The policy and the file it came from (for messages).
pub(crate) struct PolicySource<'a> {
    pub policy: &'a Policy,
    pub file: Option<&'a Path>,
    /// The config file gwb looked for, when none was read.
    pub looked_at: Option<&'a Path>,
    /// Where to send notifications (`[[notify]]`).
    pub notify: &'a [crate::notify::Destination],
}

/// Print the result (the run state is already saved) and return what there is to tell: the
/// result as notifications carry it, for a real run with destinations (a dry run of --fix
/// changes nothing, and tells no one). The caller sends it, after the output, so that a webhook
/// that never answers cannot take the output, or the exit code, with it.
async fn emit(
    ctx: &Context,
    out: &mut dyn Write,
    policy: &Policy,
    shown: &Shown<'_>,
    destinations: &[crate::notify::Destination],
    command: &str,
) -> std::io::Result<News> {
    record_metrics(shown, policy);
    let last = shown.after.unwrap_or(shown.before);
    let t = &ctx.target;
    let about = crate::output::About {
        tenant: match ctx.format {
            // The suite is named by the tenant's id and Graph root only.
            OutputFormat::Junit => {
                pipeline::describe_tenant(t.tenant_id.as_deref(), None, &t.graph_root)
            }
            OutputFormat::Html => pipeline::tenant_words(ctx).await,
            _ => String::new(),
        },
        command: command.to_string(),
    };
    let view = crate::output::check::CheckView {
        policy,
        shown: *shown,
        about,
        meta: ctx.meta("check"),
    };
    say_expiries(ctx, &shown.before.expiries);
    if let Some(docs) = &ctx.documents {
        docs.check(crate::change::CheckNews {
            tally: shown.tally(),
            trend: shown.trend.to_vec(),
            expiries: shown.before.expiries.clone(),
        });
    }
    match (&ctx.documents, ctx.format) {
        // A fleet renders one file from its tenants' documents.
        (Some(docs), OutputFormat::Junit) => docs.suite(view.suite()),
        (Some(docs), OutputFormat::Html) => docs.page(view.page()),
        _ => crate::output::render(&view, ctx.format, out)?,
    }
    out.flush()?;
    let dry = shown.fix.is_some_and(|f| f.dry_run);
    Ok((!dry && !destinations.is_empty()).then(|| outcome(ctx, Some(last), shown.changes)))
}

/// Exceptions that expired or expire soon, said once per run and naming the tenant; in a fleet,
/// handed to the fleet, which says each once for all the tenants it applies to.
pub(super) fn say_expiries(ctx: &Context, expiries: &[crate::writeback::policy::Expiry]) {
    if ctx.documents.is_some() {
        return;
    }
    let t = &ctx.target;
    let whose = match (&t.name, &t.tenant_id) {
        (Some(n), _) => format!(" (tenant {n})"),
        (None, Some(id)) => format!(" (tenant {id})"),
        (None, None) => String::new(),
    };
    for x in expiries {
        let line = crate::output::safe(&format!("{}{whose}", x.message())).into_owned();
        if x.in_days < 0 {
            tracing::warn!("{line}");
        } else {
            crate::output::notice(&line);
        }
    }
}

/// What a check leaves to tell the `[[notify]]` destinations, if anything.
pub(crate) type News = Option<crate::notify::Outcome>;

/// `--metrics-file`: the drift by state, the groups that need the privileged permission, the
/// nearest exception expiry, the tenant default, and what a fix changed.
fn record_metrics(shown: &Shown, policy: &Policy) {
    let last = shown.after.unwrap_or(shown.before);
    if let Some(c) = shown.changes {
        crate::metrics::record("gwb_drift_items", &[("state", "new")], c.new.len() as f64);
        crate::metrics::record(
            "gwb_drift_items",
            &[("state", "persisting")],
            c.persisting.len() as f64,
        );
        crate::metrics::record(
            "gwb_drift_items",
            &[("state", "resolved")],
            c.resolved.len() as f64,
        );
        record_oldest(c.oldest());
    }
    let privileged = last.drift.iter().filter(|d| d.role_assignable).count()
        + last.needs_privileged_permission.len();
    crate::metrics::record(
        "gwb_groups_needing_privileged_permission",
        &[],
        privileged as f64,
    );
    record_exception_expiry(policy, &crate::clock::now_rfc3339()[..10]);
    crate::metrics::record(
        "gwb_drift_items",
        &[("state", "excepted")],
        last.excepted.len() as f64,
    );
    crate::metrics::record_tenant_default(
        last.tenant_default
            .as_ref()
            .and_then(|t| t.new_unified_group_writeback_default),
    );
    if let Some(f) = shown.fix.filter(|f| !f.dry_run) {
        crate::metrics::record_changes(f.groups_changed.len(), f.failed.len());
    }
}

/// `gwb_drift_oldest_age_seconds`: how long the oldest drift item has drifted (0: none drifts).
fn record_oldest(oldest: Option<&str>) {
    let now = crate::clock::now_rfc3339();
    let age = oldest
        .and_then(|f| crate::writeback::history::age_seconds(f, &now))
        .unwrap_or(0);
    crate::metrics::record("gwb_drift_oldest_age_seconds", &[], age as f64);
}

/// `gwb_exception_expiry_timestamp_seconds`: when the nearest exception in force on `today`
/// stops being in force (none recorded when no exception in force expires).
fn record_exception_expiry(policy: &Policy, today: &str) {
    let nearest = policy
        .exceptions
        .iter()
        .filter_map(|e| e.expires.as_deref())
        .filter(|x| *x >= today)
        .min();
    if let Some(at) = nearest.and_then(crate::metrics::end_of_day_unix) {
        crate::metrics::record("gwb_exception_expiry_timestamp_seconds", &[], at);
    }
}

/// The run state: the last run's drift and the history of runs, and where this run's goes
/// (`None`: not kept).
struct Memory {
    path: Option<std::path::PathBuf>,
    previous: Option<run_state::State>,
}

impl Memory {
    fn open(args: &CheckArgs, dirs: &Dirs, target: &crate::change::Target) -> Memory {
        let path = run_state::path(args.state.as_deref(), dirs.state.as_deref(), target);
        let previous = path.as_deref().and_then(|p| run_state::load(p, target));
        Memory { path, previous }
    }

    /// Classify this run's drift against the last run's: `found` is what the run found, `now`
    /// what is left after it. Each item gets its `firstSeen`.
    fn changes(&self, found: &[Drift], now: &[Drift]) -> Changes {
        let previous = self
            .previous
            .as_ref()
            .map(|s| (s.checked_at.as_str(), s.drift.as_slice()));
        classify(previous, found, now, &crate::clock::this_run_started())
    }

    /// Keep what drifts `now` (as `changes` dated it) for the next run, and this run in the
    /// history. A dry run of --fix keeps nothing: it changes nothing.
    fn keep(&self, target: &crate::change::Target, now: &[Drift], ran: Ran<'_>) {
        if self.path.is_none() {
            return;
        }
        let mut kept = now.to_vec();
        ran.changes.stamp(&mut kept);
        let seen = kept.iter().map(Seen::of).collect();
        self.keep_seen(target, seen, ran.record(now.len() as u64));
    }

    /// [`keep`](Self::keep) from the items as the state keeps them (a streamed check keeps only
    /// these).
    fn keep_seen(&self, target: &crate::change::Target, seen: Vec<Seen>, run: RunRecord) {
        let Some(path) = &self.path else { return };
        let earlier = self
            .previous
            .as_ref()
            .map_or(&[][..], |s| s.runs.as_slice());
        run_state::save(path, target, seen, run, earlier);
    }
}

impl Memory {
    /// The drift count of the last runs before this one and `now`, oldest first (at most 30;
    /// runs that failed, whose drift is unknown, left out).
    fn trend(&self, now: usize) -> Vec<u64> {
        let runs: Vec<u64> = self
            .previous
            .as_ref()
            .map_or(&[][..], |s| s.runs.as_slice())
            .iter()
            .filter(|r| r.error.is_none())
            .map(|r| r.drift)
            .collect();
        let from = runs.len().saturating_sub(29);
        runs[from..].iter().copied().chain([now as u64]).collect()
    }

    /// A check that failed before it had a result: recorded in the history of a tenant checked
    /// before (its drift and `since` stay the last result's). A usage error (exit 2: nothing
    /// was read) and a dry run are not runs to remember.
    fn keep_failure(&self, target: &crate::change::Target, args: &CheckArgs, e: &anyhow::Error) {
        let code = crate::exit::for_error(e) as u8;
        let (Some(path), Some(_)) = (&self.path, &self.previous) else {
            return;
        };
        if code == ExitStatus::Usage as u8 || args.apply.dry_run {
            return;
        }
        let command = if args.fix {
            "gwb check --fix"
        } else {
            "gwb check"
        };
        let message = crate::output::safe(&format!("{e:#}")).into_owned();
        run_state::append_failure(path, target, RunRecord::failed(command, code, message));
    }
}

/// A run as the history records it.
struct Ran<'a> {
    command: &'a str,
    status: ExitStatus,
    changes: &'a Changes,
    excepted: usize,
}

impl Ran<'_> {
    fn record(&self, drift: u64) -> RunRecord {
        RunRecord {
            at: crate::clock::this_run_started(),
            command: self.command.to_string(),
            exit_code: self.status as u8,
            new: self.changes.new.len() as u64,
            persisting: self.changes.persisting.len() as u64,
            resolved: self.changes.resolved.len() as u64,
            excepted: self.excepted as u64,
            drift,
            error: None,
        }
    }
}

/// The directory settings, when the policy checks the tenant default (`None` otherwise).
async fn policy_settings(
    client: &crate::graph::GraphClient,
    policy: &Policy,
) -> anyhow::Result<Option<Vec<crate::graph::model::DirectorySetting>>> {
    if policy.new_m365_default.is_none() {
        return Ok(None);
    }
    crate::graph::settings::list(client)
        .await
        .map(Some)
        .map_err(settings_error)
}

/// Compare the tenant default in `settings` with the policy; its section for the output.
fn check_default(
    checker: &mut PolicyChecker,
    settings: &[crate::graph::model::DirectorySetting],
) -> TenantSection {
    let d = tenant_default(settings);
    checker.consider_default(
        d.new_unified_group_writeback_default,
        d.setting_id.as_deref(),
        d.source.describe(),
    );
    TenantSection::known(&d)
}

/// A failed read of the directory settings, with the permission the policy needs for it.
fn settings_error(e: crate::graph::GraphError) -> anyhow::Error {
    read_error(
        e,
        "the tenant default",
        "new_m365_default",
        crate::permissions::READ_SETTINGS,
    )
}

/// A failed read of `what`, which the policy's `key` needs; a missing permission is named.
fn read_error(
    e: crate::graph::GraphError,
    what: &str,
    key: &str,
    permission: &str,
) -> anyhow::Error {
    let hint = if e.is_auth() {
        format!("; the policy sets {key}, which needs {permission}")
    } else {
        String::new()
    };
    anyhow::Error::new(e).context(format!("reading {what}{hint}"))
}

/// A checker for `policy`. With `security_writeback_needs_cloud_sync` (and security groups not
/// already `disabled`), Cloud Sync is read first: whether a job scopes on the writeback flag
/// decides whether a security group with writeback enabled drifts. When that cannot be told,
/// the check fails rather than guess either way.
pub(crate) async fn policy_checker<'p>(
    client: &crate::graph::GraphClient,
    policy: &'p Policy,
) -> anyhow::Result<(
    PolicyChecker<'p>,
    Option<crate::writeback::engines::SecurityWriteback>,
)> {
    let mut checker = PolicyChecker::new(policy);
    if !policy.security_writeback_needs_cloud_sync
        || policy.security_writeback != crate::writeback::policy::Rule::Any
    {
        return Ok((checker, None));
    }
    let agents = crate::graph::sync::cloud_sync(client).await.map_err(|e| {
        read_error(
            e,
            "Entra Cloud Sync's jobs",
            "security_writeback_needs_cloud_sync",
            crate::permissions::READ_CLOUD_SYNC,
        )
    })?;
    let cloud = super::read::cloud_sync_section(agents);
    let none_confirmed = policy.cloud_sync_group_provisioning
        == Some(crate::writeback::policy::GroupProvisioning::None);
    let verdict =
        crate::writeback::engines::SecurityWriteback::judge(Some(&cloud), None, none_confirmed);
    use crate::writeback::engines::ActedOnBy;
    match verdict.acted_on_by {
        ActedOnBy::CloudSync => {}
        ActedOnBy::Unknown => anyhow::bail!(
            "cannot check security_writeback_needs_cloud_sync: {}",
            verdict.explanation
        ),
        ActedOnBy::ConnectSyncV2 | ActedOnBy::Nothing => checker.security_flag_unused = true,
    }
    tracing::info!("security groups' writeback flag: {}", verdict.explanation);
    Ok((checker, Some(verdict)))
}

/// With `m365_writeback = "disabled"`: when Entra Connect's sync features are readable (a
/// delegated Global Administrator) and say writeback v1 runs alone, one tenant-level drift item
/// (`syncEngine`): v1 writes every Microsoft 365 group back whatever its flag, so per-group
/// changes cannot meet the policy until v2 is on. `--fix` does not try; an exception with
/// `target = "syncEngine"` accepts it. Unreadable features (the usual case for an app) are no
/// drift: which version runs is unknown, and the on-premises note says the flag needs v2.
async fn sync_engine(client: &crate::graph::GraphClient, policy: &Policy) -> Option<Drift> {
    if policy.m365_writeback == crate::writeback::policy::Rule::Any {
        return None;
    }
    let features = super::read::read_sync_features(client).await;
    features
        .v1_alone()
        .then(crate::writeback::policy::v1_alone_drift)
}

/// Read the tenant and compare it with the policy.
pub(crate) async fn compare(ctx: &Context, policy: &Policy) -> anyhow::Result<Comparison> {
    let client = &ctx.client;
    let (checker, verdict) = policy_checker(client, policy).await?;
    let groups = async {
        let mut checker = checker;
        super::read::each_group(client, |g| Ok(checker.consider(g)?)).await?;
        anyhow::Ok(checker)
    };
    let settings = policy_settings(client, policy);
    let (checker, settings, engine) = tokio::join!(groups, settings, sync_engine(client, policy));
    let mut checker = checker?;
    let tenant = settings?.map(|s| check_default(&mut checker, &s));
    checker.drift.extend(engine);
    let today = &crate::clock::now_rfc3339()[..10];
    let e = apply_exceptions(
        std::mem::take(&mut checker.drift),
        &policy.exceptions,
        today,
    );
    let expiries = e
        .expired
        .into_iter()
        .chain(e.expiring)
        .filter(|x| checker.applies(x))
        .collect();
    Ok(Comparison {
        compliant: e.drift.is_empty(),
        groups_checked: checker.groups_checked,
        allowed: checker.allowed,
        tenant_default: tenant,
        drift: e.drift,
        needs_privileged_permission: checker.privileged,
        excepted: e.excepted,
        security_writeback: verdict,
        expiries,
    })
}

/// `check --fix` as the pipeline carries it: the comparison, the changes that put the drift
/// right, and the flags the writes follow.
struct FixRun<'p> {
    policy: &'p Policy,
    before: Comparison,
    changes: Vec<Change>,
    /// Drifted groups Graph listed with an id that is not a GUID: the write fails them.
    unaddressable: Vec<Unaddressable>,
    /// The tenant default to set, when it drifted.
    default_target: Option<bool>,
    /// What setting it would do (planned for a dry run only; the real run reads it again right
    /// before writing).
    default_planned: Option<SettingAction>,
    args: ApplyArgs,
    timeout: Duration,
}

impl FixRun<'_> {
    /// The drifted groups the fix writes (or fails, for an id that is not a GUID).
    fn groups(&self) -> usize {
        self.changes.len() + self.unaddressable.len()
    }

    /// What the fix did (or, for a dry run, would do), before any write.
    fn fix(&self) -> Fix {
        Fix {
            dry_run: self.args.dry_run,
            groups_planned: (self.changes.len() + self.unaddressable.len()) as u64,
            tenant_default: self.default_planned,
            ..Default::default()
        }
    }
}

async fn plan_fix<'p>(
    ctx: &Context,
    policy: &'p Policy,
    args: &ApplyArgs,
    timeout: Duration,
) -> anyhow::Result<FixRun<'p>> {
    let before = compare(ctx, policy).await?;
    let changes: Vec<Change> = before
        .drift
        .iter()
        .filter_map(|d| d.change.clone())
        .collect();
    let unaddressable: Vec<Unaddressable> = before
        .drift
        .iter()
        .filter_map(|d| d.unaddressable())
        .collect();
    let default_target = before
        .drift
        .iter()
        .any(|d| d.target == DriftTarget::TenantDefault)
        .then_some(policy.new_m365_default)
        .flatten();
    let default_planned = match default_target {
        Some(target) if args.dry_run => {
            let (_, plan) = set_default::plan_change(&ctx.client, target).await?;
            Some(SettingAction::planned(&plan))
        }
        _ => None,
    };
    Ok(FixRun {
        policy,
        before,
        changes,
        unaddressable,
        default_target,
        default_planned,
        args: args.clone(),
        timeout,
    })
}

#[async_trait::async_trait(?Send)]
impl ChangeSet for FixRun<'_> {
    /// What the fix did, and the tenant checked again (none when interrupted).
    type Done = (Fix, Option<Comparison>);

    fn change_count(&self) -> usize {
        self.groups() + usize::from(self.default_target.is_some())
    }

    fn question(&self) -> String {
        let mut question = Vec::new();
        if self.groups() > 0 {
            question.push(format!(
                "disable writeback on {}",
                crate::output::table::groups(self.groups() as u64)
            ));
        }
        if let Some(t) = self.default_target {
            question.push(format!("set NewUnifiedGroupWritebackDefault to {t}"));
        }
        question.join(" and ")
    }

    fn on_premises(&self) -> Option<&'static str> {
        (self.groups() > 0).then_some(crate::writeback::onprem::DISABLE)
    }

    async fn write(
        &mut self,
        ctx: &Context,
        journals: &mut Journals<'_>,
    ) -> anyhow::Result<(Fix, Option<Comparison>)> {
        let mut fix = self.fix();
        if self.groups() > 0 {
            let journal = journals.open("check-fix")?;
            let applied = apply::apply(
                &ctx.client,
                &self.changes,
                &self.unaddressable,
                &journal,
                &self.args,
                apply::SkipAs {
                    changed: SkipReason::ChangedSincePlan,
                    already: SkipReason::AlreadyDisabled,
                    only_cloud_m365: false,
                },
            )
            .await?;
            let interrupted = applied.signal.map(crate::interrupt::name);
            journal.finish_as(
                json!({
                    "planned": self.groups(),
                    "changed": applied.changed.len(),
                    "deletedMeanwhile": applied.deleted.len(),
                    "failed": applied.failed.len(),
                    "notSent": applied.not_sent,
                    "unconfirmed": applied.unconfirmed.len(),
                }),
                interrupted,
            )?;
            fix.groups_changed = applied.changed;
            fix.deleted_meanwhile = applied.deleted;
            fix.failed = applied.failed;
            fix.skipped = applied.skipped;
            fix.signal = applied.signal;
            if applied.signal.is_some() {
                // Stop here: no setting change, no second check.
                fix.journals = journals.opened();
                return Ok((fix, None));
            }
        }
        if let Some(target) = self.default_target {
            // Read right before the write: the comparison may be minutes old (consent).
            let mut plan = SetDefaultPlan::read(&ctx.client, target, self.timeout).await?;
            fix.tenant_default = Some(if plan.change_count() == 0 {
                SettingAction::Unchanged
            } else {
                plan.write(ctx, journals).await?.action
            });
        }
        fix.journals = journals.opened();
        let after = self.check_again(ctx, &mut fix).await?;
        Ok((fix, Some(after)))
    }
}

impl FixRun<'_> {
    /// Check again; what this run changed may not show yet (Graph's reads lag its writes).
    async fn check_again(&self, ctx: &Context, fix: &mut Fix) -> anyhow::Result<Comparison> {
        let changed: HashSet<&str> = fix.groups_changed.iter().map(String::as_str).collect();
        let setting_written = fix.tenant_default.is_some_and(|a| a.wrote());
        let (after, pending) = pipeline::read_back(ctx.client.sleeper(), self.timeout, || async {
            let after = compare(ctx, self.policy).await?;
            let pending: Vec<String> = after
                .drift
                .iter()
                .filter_map(|d| match (d.target, d.id.as_deref()) {
                    (DriftTarget::TenantDefault, _) if setting_written => {
                        Some("tenantDefault".to_string())
                    }
                    (_, Some(id)) if changed.contains(id) => Some(id.to_string()),
                    _ => None,
                })
                .collect();
            let n = pending.len();
            Ok(((after, pending), n))
        })
        .await?;
        if !pending.is_empty() {
            tracing::warn!(
                "{} accepted by Graph {} not show yet after {} s; run gwb check again in a minute",
                crate::output::table::count(pending.len() as u64, "change", "changes"),
                crate::output::table::agree(pending.len() as u64, "does", "do"),
                self.timeout.as_secs_f64()
            );
        }
        fix.pending_read_back = pending;
        Ok(after)
    }
}

/// `gwb check`: the exit code and what there is to tell (sent by the dispatcher through
/// `notify::after_check`, never from here).
pub async fn run(
    ctx: &Context,
    args: &CheckArgs,
    source: PolicySource<'_>,
    dirs: &Dirs,
    out: &mut dyn Write,
) -> anyhow::Result<(ExitStatus, News)> {
    if args.notify_test {
        return Ok((notify_test(ctx, source.notify, out).await?, None));
    }
    let memory = Memory::open(args, dirs, &ctx.target);
    let result = run_inner(ctx, args, source, &memory, dirs, out).await;
    if let Err(e) = &result {
        memory.keep_failure(&ctx.target, args, e);
    }
    result
}

/// The check's result as notifications carry it (`None`: the run failed before it had one).
fn outcome(
    ctx: &Context,
    last: Option<&Comparison>,
    changes: Option<&Changes>,
) -> crate::notify::Outcome {
    let values = |items: &[Drift]| -> Vec<serde_json::Value> {
        items
            .iter()
            .filter_map(|d| serde_json::to_value(d).ok())
            .collect()
    };
    crate::notify::Outcome {
        tenant: ctx.target.as_notified(),
        compliant: last.is_some_and(|c| c.compliant),
        new: changes.map(|c| values(&c.new)).unwrap_or_default(),
        persisting: changes.map(|c| values(&c.persisting)).unwrap_or_default(),
        resolved: changes
            .map(|c| {
                c.resolved
                    .iter()
                    .filter_map(|s| serde_json::to_value(s).ok())
                    .collect()
            })
            .unwrap_or_default(),
        excepted: last
            .map(|c| {
                c.excepted
                    .iter()
                    .filter_map(|x| serde_json::to_value(x).ok())
                    .collect()
            })
            .unwrap_or_default(),
        expiring: last
            .map(|c| {
                c.expiries
                    .iter()
                    .filter(|x| x.in_days >= 0)
                    .cloned()
                    .collect()
            })
            .unwrap_or_default(),
        run: crate::notify::Run::this("check"),
        error: None,
        exit_code: 0,
    }
}

/// `check --notify-test`: a sample to every destination, whatever its `on` rule.
async fn notify_test(
    ctx: &Context,
    destinations: &[crate::notify::Destination],
    out: &mut dyn Write,
) -> anyhow::Result<ExitStatus> {
    if destinations.is_empty() {
        return Err(UsageError(
            "--notify-test: no [[notify]] destination in the config file (see config.example.toml)"
                .into(),
        )
        .into());
    }
    let mut o = outcome(ctx, None, None);
    o.new = vec![serde_json::json!({
        "target": "group", "id": "00000000-0000-0000-0000-000000000000",
        "displayName": "gwb notification test (no real drift)",
        "expected": "not written back", "actual": "written back"
    })];
    let always: Vec<crate::notify::Destination> = destinations
        .iter()
        .cloned()
        .map(|mut d| {
            d.on = crate::notify::On::Always;
            d
        })
        .collect();
    // A digest destination (scope "fleet") gets a digest, as its receiver expects.
    let (tenant, fleet): (Vec<_>, Vec<_>) = always
        .into_iter()
        .partition(|d| d.scope == crate::notify::Scope::Tenant);
    let via = crate::notify::deliver::Via::client(&ctx.client);
    let mut sent = crate::notify::deliver::send_all(&tenant, &o, via).await;
    let digest = crate::notify::Digest::of_one(&o);
    sent.extend(crate::notify::deliver::send_all(&fleet, &digest, via).await);
    if ctx.format == OutputFormat::Table {
        for d in &sent {
            writeln!(
                out,
                "{}: {}",
                d.kind.as_str(),
                match &d.error {
                    None => "delivered".to_string(),
                    Some(e) => format!("NOT delivered: {}", crate::output::safe(e)),
                }
            )?;
        }
    } else {
        write_json(out, &serde_json::json!({ "notifications": sent }))?;
    }
    Ok(if sent.iter().all(|d| d.delivered) {
        ExitStatus::Ok
    } else {
        ExitStatus::Failure
    })
}

async fn run_inner(
    ctx: &Context,
    args: &CheckArgs,
    source: PolicySource<'_>,
    memory: &Memory,
    dirs: &Dirs,
    out: &mut dyn Write,
) -> anyhow::Result<(ExitStatus, News)> {
    apply::check_args(&args.apply)?;
    let timeout = crate::change::verify_timeout(args.apply.verify_timeout)?;
    refuse_bad_use(args, &source)?;
    let policy = source.policy;
    if stream::wanted(args, ctx.format, source.notify) {
        return Ok((stream::run(ctx, policy, memory, out).await?, None));
    }
    if !args.fix {
        let mut before = compare(ctx, policy).await?;
        let changes = memory.changes(&before.drift, &before.drift);
        changes.stamp(&mut before.drift);
        let status = drift_status(&before);
        let ran = Ran {
            command: "gwb check",
            status,
            changes: &changes,
            excepted: before.excepted.len(),
        };
        memory.keep(&ctx.target, &before.drift, ran);
        let trend = memory.trend(before.drift.len());
        let shown = Shown {
            before: &before,
            fix: None,
            after: None,
            changes: Some(&changes),
            trend: &trend,
        };
        let news = emit(ctx, out, policy, &shown, source.notify, "gwb check").await?;
        return Ok((status, news));
    }
    let fixing = Fixing {
        args,
        source: &source,
        memory,
        dirs,
        timeout,
    };
    run_fix(ctx, fixing, out).await
}

/// Exit 3 when the state checked drifted from the policy.
fn drift_status(c: &Comparison) -> ExitStatus {
    if c.compliant {
        ExitStatus::Ok
    } else {
        ExitStatus::Drift
    }
}

/// Flags that need --fix without it, or no policy to check: exit 2, nothing read.
fn refuse_bad_use(args: &CheckArgs, source: &PolicySource<'_>) -> Result<(), UsageError> {
    if !args.fix && (args.apply.dry_run || args.apply.yes || args.apply.max_changes.is_some()) {
        return Err(UsageError(
            "--dry-run, --yes and --max-changes apply to --fix only; add --fix, or leave them out"
                .into(),
        ));
    }
    if source.policy.is_empty() {
        let file = match (source.file, source.looked_at) {
            (Some(p), _) => p.display().to_string(),
            (None, Some(p)) => format!(
                "a config file: none at {} (write one with gwb config init)",
                p.display()
            ),
            (None, None) => "a config file (none was read)".into(),
        };
        return Err(UsageError(format!(
            "no policy to check in {file}: add a [policy] table with new_m365_default, m365_writeback or security_writeback (see config.example.toml)"
        )));
    }
    Ok(())
}

/// What `check --fix` runs with.
struct Fixing<'a> {
    args: &'a CheckArgs,
    source: &'a PolicySource<'a>,
    memory: &'a Memory,
    dirs: &'a Dirs,
    timeout: std::time::Duration,
}

/// `check --fix`: plan the fix, run it through the change pipeline, check again, and print.
async fn run_fix(
    ctx: &Context,
    f: Fixing<'_>,
    out: &mut dyn Write,
) -> anyhow::Result<(ExitStatus, News)> {
    let Fixing {
        args,
        source,
        memory,
        dirs,
        timeout,
    } = f;
    let policy = source.policy;
    let command = if args.apply.dry_run {
        "gwb check --fix --dry-run"
    } else {
        "gwb check --fix"
    };
    let opts = Options::new("check --fix", dirs).apply_flags(&args.apply);
    let plan = plan_fix(ctx, policy, &args.apply, timeout);
    match pipeline::run(ctx, opts, plan).await? {
        Stage::DryRun(mut run) if run.change_count() > 0 => {
            if ctx.format == OutputFormat::Table {
                let header = pipeline::plan_header(ctx).await;
                writeln!(out, "{}", crate::output::table::fitted(&header, "", "  "))?;
            }
            let changes = memory.changes(&run.before.drift, &run.before.drift);
            changes.stamp(&mut run.before.drift);
            let fix = run.fix();
            let trend = memory.trend(run.before.drift.len());
            let shown = Shown {
                before: &run.before,
                fix: Some(&fix),
                after: None,
                changes: Some(&changes),
                trend: &trend,
            };
            let news = emit(ctx, out, policy, &shown, source.notify, command).await?;
            pipeline::note_on_premises(out, ctx.format, false, run.on_premises())?;
            Ok((ExitStatus::Drift, news))
        }
        Stage::DryRun(mut run) | Stage::NothingToDo(mut run) => {
            let changes = memory.changes(&run.before.drift, &run.before.drift);
            changes.stamp(&mut run.before.drift);
            let status = drift_status(&run.before);
            if !args.apply.dry_run {
                let ran = Ran {
                    command,
                    status,
                    changes: &changes,
                    excepted: run.before.excepted.len(),
                };
                memory.keep(&ctx.target, &run.before.drift, ran);
            }
            let trend = memory.trend(run.before.drift.len());
            let shown = Shown {
                before: &run.before,
                fix: None,
                after: None,
                changes: Some(&changes),
                trend: &trend,
            };
            let news = emit(ctx, out, policy, &shown, source.notify, command).await?;
            Ok((status, news))
        }
        Stage::Done(mut run, (fix, mut after)) => {
            // What this run fixed is resolved in this run (an interrupted fix keeps the drift
            // it found: the next run sees what is left).
            let (changes, status) =
                remember_fix(ctx, memory, &mut run.before, &fix, &mut after, command);
            let trend = memory.trend(after.as_ref().unwrap_or(&run.before).drift.len());
            let shown = Shown {
                before: &run.before,
                fix: Some(&fix),
                after: after.as_ref(),
                changes: Some(&changes),
                trend: &trend,
            };
            let news = emit(ctx, out, policy, &shown, source.notify, command).await?;
            // Said at the prompt and again with what was done; a scheduled run (--yes) logged it.
            pipeline::note_on_premises(out, ctx.format, args.apply.yes, run.on_premises())?;
            Ok((status, news))
        }
    }
}

/// After a fix: the drift against the last run (dated), the exit code, and the run kept.
fn remember_fix(
    ctx: &Context,
    memory: &Memory,
    before: &mut Comparison,
    fix: &Fix,
    after: &mut Option<Comparison>,
    command: &str,
) -> (Changes, ExitStatus) {
    let now = after.as_ref().map_or(&before.drift, |a| &a.drift);
    let changes = memory.changes(&before.drift, now);
    changes.stamp(&mut before.drift);
    if let Some(a) = after.as_mut() {
        changes.stamp(&mut a.drift);
    }
    let status = match (fix.signal, &*after) {
        (Some(signal), _) => ExitStatus::for_signal(signal),
        (None, Some(after)) => fix_status(fix, after),
        (None, None) => ExitStatus::Failure,
    };
    let last = after.as_ref().unwrap_or(before);
    let ran = Ran {
        command,
        status,
        changes: &changes,
        excepted: last.excepted.len(),
    };
    memory.keep(&ctx.target, &last.drift, ran);
    (changes, status)
}

/// The exit code follows the state checked last: a change Graph accepted but that does not
/// show after --verify-timeout is not a success (it may never have taken), and drift left is
/// drift, whatever this run did.
fn fix_status(fix: &Fix, after: &Comparison) -> ExitStatus {
    let failed = apply::exit_for_failures(&fix.failed, !fix.groups_changed.is_empty());
    if failed != ExitStatus::Ok {
        failed
    } else if !fix.pending_read_back.is_empty() {
        ExitStatus::Failure
    } else if !after.compliant {
        ExitStatus::Drift
    } else {
        ExitStatus::Ok
    }
}
