//! `gwb check [--fix]`: compare the tenant with `[policy]` and say what drifted.
//!
//! One pass over the groups, as `report` makes, and (only when the policy sets
//! `new_m365_default`) one read of the settings, at the same time. Exit 0 compliant, 3 drift.
//! `--fix` applies the same changes `disable-existing-m365` and `set-default` make, through
//! their code (journal, `--max-changes`, consent, run lock), then checks again, reading again
//! while Graph does not yet show what was just written (its reads lag writes).

use std::collections::HashSet;
use std::io::Write;
use std::path::Path;
use std::time::Duration;

use anyhow::Context as _;
use futures_util::{StreamExt, pin_mut};
use serde::Serialize;
use serde_json::json;

use super::Context;
use super::apply::{self, ItemFailure};
use super::report::{groups_url, read_settings};
use super::set_default::{self, SettingAction};
use crate::cli::{CheckArgs, OutputFormat};
use crate::output::{TenantSection, write_json};
use crate::writeback::plan::{Change, SkipReason, Skipped};
use crate::writeback::policy::{Drift, DriftTarget, Policy, PolicyChecker};
use crate::writeback::setting::SettingPlan;
use crate::writeback::tenant::tenant_default;
use crate::{ExitStatus, UsageError};

pub const SCHEMA_VERSION: u32 = 1;

/// The policy and the file it came from (for messages).
pub struct PolicySource<'a> {
    pub policy: &'a Policy,
    pub file: Option<&'a Path>,
}

/// The tenant compared with the policy once.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Comparison {
    pub compliant: bool,
    pub groups_checked: u64,
    /// Groups written back that the policy's `allow` list permits.
    pub allowed: u64,
    /// `null` when the policy does not check the tenant default.
    pub tenant_default: Option<TenantSection>,
    pub drift: Vec<Drift>,
    /// With `role_assignable_drift = "report"`: drift on role-assignable groups, which only an
    /// app with RoleManagement.ReadWrite.Directory can fix; listed, not counted, not fixed.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub needs_privileged_permission: Vec<Drift>,
}

/// What `--fix` did.
#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Fix {
    pub dry_run: bool,
    pub groups_planned: u64,
    pub groups_changed: Vec<String>,
    pub deleted_meanwhile: Vec<ItemFailure>,
    pub failed: Vec<ItemFailure>,
    /// Drifted groups left alone: read right before the write, they had changed since the
    /// check (someone else is managing them) or were already fixed.
    pub skipped: Vec<Skipped>,
    /// The tenant default's change.
    pub tenant_default: Option<SettingAction>,
    pub journals: Vec<String>,
    /// Changed by this run, but Graph did not show it yet when checked again.
    pub pending_read_back: Vec<String>,
    /// The signal that stopped the fix early, when one did (the tenant was not checked again).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interrupted: Option<&'static str>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct CheckDoc<'a> {
    schema_version: u32,
    policy: &'a Policy,
    before: &'a Comparison,
    fix: Option<&'a Fix>,
    /// After `--fix`: the tenant checked again.
    after: Option<&'a Comparison>,
}

/// Read the tenant and compare it with the policy.
pub async fn compare(ctx: &Context, policy: &Policy) -> anyhow::Result<Comparison> {
    let client = &ctx.client;
    let groups = async {
        let stream = client.group_pages(groups_url(client));
        pin_mut!(stream);
        let mut checker = PolicyChecker::new(policy);
        while let Some(page) = stream.next().await {
            for g in page.context("listing groups")? {
                checker.consider(&g)?;
            }
        }
        anyhow::Ok(checker)
    };
    let settings = async {
        if policy.new_m365_default.is_some() {
            read_settings(client).await.map(Some)
        } else {
            Ok(None)
        }
    };
    let (checker, settings) = tokio::join!(groups, settings);
    let mut checker = checker?;
    let settings = settings.map_err(|e| {
        let hint = if e.is_auth() {
            format!(
                "; the policy sets new_m365_default, which needs {}",
                crate::permissions::READ_SETTINGS
            )
        } else {
            String::new()
        };
        anyhow::Error::new(e).context(format!("reading the tenant default{hint}"))
    })?;
    let tenant = settings.map(|s| {
        let d = tenant_default(&s);
        checker.consider_default(
            d.new_unified_group_writeback_default,
            d.setting_id.as_deref(),
            d.source.describe(),
        );
        TenantSection::known(&d)
    });
    Ok(Comparison {
        compliant: checker.drift.is_empty(),
        groups_checked: checker.groups_checked,
        allowed: checker.allowed,
        tenant_default: tenant,
        drift: checker.drift,
        needs_privileged_permission: checker.privileged,
    })
}

pub async fn run(
    ctx: &Context,
    args: &CheckArgs,
    source: PolicySource<'_>,
    state_dir: Option<&Path>,
    out: &mut dyn Write,
) -> anyhow::Result<ExitStatus> {
    apply::check_args(&args.apply)?;
    let timeout = super::verify_timeout(args.apply.verify_timeout)?;
    if !args.fix && (args.apply.dry_run || args.apply.yes || args.apply.max_changes.is_some()) {
        return Err(UsageError(
            "--dry-run, --yes and --max-changes apply to --fix only; add --fix, or leave them out"
                .into(),
        )
        .into());
    }
    let policy = source.policy;
    if policy.is_empty() {
        let file = source
            .file
            .map(|p| p.display().to_string())
            .unwrap_or_else(|| "the config file (none was read)".into());
        return Err(UsageError(format!(
            "no policy to check in {file}: add a [policy] table with new_m365_default, m365_writeback or security_writeback (see config.example.toml)"
        ))
        .into());
    }
    let writes = args.fix && !args.apply.dry_run;
    let _lock = if writes {
        Some(crate::lock::RunLock::acquire(state_dir, "check --fix")?)
    } else {
        None
    };
    let before = compare(ctx, policy).await?;
    if before.compliant || !args.fix {
        print(out, ctx.format, policy, &before, None, None)?;
        return Ok(if before.compliant {
            ExitStatus::Ok
        } else {
            ExitStatus::Drift
        });
    }

    let changes: Vec<Change> = before
        .drift
        .iter()
        .filter_map(|d| d.change.clone())
        .collect();
    let default_target = before
        .drift
        .iter()
        .any(|d| d.target == DriftTarget::TenantDefault)
        .then_some(policy.new_m365_default)
        .flatten();
    let mut fix = Fix {
        dry_run: args.apply.dry_run,
        groups_planned: changes.len() as u64,
        ..Default::default()
    };
    apply::check_guard(
        &args.apply,
        changes.len() + usize::from(default_target.is_some()),
    )?;
    if args.apply.dry_run {
        if let Some(target) = default_target {
            let (_, plan) = set_default::plan_change(&ctx.client, target).await?;
            fix.tenant_default = Some(SettingAction::planned(&plan));
        }
        print(out, ctx.format, policy, &before, Some(&fix), None)?;
        return Ok(ExitStatus::Drift);
    }
    let mut question = Vec::new();
    if !changes.is_empty() {
        question.push(format!("disable writeback on {} groups", changes.len()));
    }
    if let Some(t) = default_target {
        question.push(format!("set NewUnifiedGroupWritebackDefault to {t}"));
    }
    apply::consent(&args.apply, &question.join(" and "))?;

    let client = &ctx.client;
    if !changes.is_empty() {
        let journal = apply::open_journal(None, state_dir, "check-fix", &ctx.target)?;
        fix.journals.push(journal.path().display().to_string());
        let applied = apply::apply(
            client,
            &changes,
            &journal,
            &args.apply,
            apply::SkipAs {
                changed: SkipReason::ChangedSincePlan,
                already: SkipReason::AlreadyDisabled,
            },
        )
        .await?;
        let interrupted = applied.signal.map(crate::interrupt::name);
        journal.finish_as(
            json!({
                "planned": changes.len(),
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
        fix.interrupted = interrupted;
        if let Some(signal) = applied.signal {
            // Stop here: no setting change, no second check. Say what was done and how on.
            print(out, ctx.format, policy, &before, Some(&fix), None)?;
            return Ok(ExitStatus::for_signal(signal));
        }
    }
    if let Some(target) = default_target {
        let (section, plan) = set_default::plan_change(client, target).await?;
        if matches!(plan, SettingPlan::Unchanged { .. }) {
            fix.tenant_default = Some(SettingAction::Unchanged);
        } else {
            let journal = apply::open_journal(None, state_dir, "set-default", &ctx.target)?;
            fix.journals.push(journal.path().display().to_string());
            let outcome =
                set_default::apply_plan(client, &journal, plan, target, &section, timeout).await?;
            fix.tenant_default = Some(outcome.action);
        }
    }

    // Check again; what this run changed may not show yet (Graph's reads lag its writes).
    let changed: HashSet<&str> = fix.groups_changed.iter().map(String::as_str).collect();
    let (mut waited, mut step) = (Duration::ZERO, Duration::from_secs(1));
    let after = loop {
        let after = compare(ctx, policy).await?;
        let pending: Vec<String> = after
            .drift
            .iter()
            .filter(|d| {
                d.target == DriftTarget::TenantDefault
                    && fix.tenant_default.is_some_and(|a| a.wrote())
                    || d.id.as_deref().is_some_and(|id| changed.contains(id))
            })
            .map(|d| match d.target.as_str() {
                "tenantDefault" => "tenantDefault".to_string(),
                _ => d.id.clone().unwrap_or_default(),
            })
            .collect();
        if pending.is_empty() || waited >= timeout {
            fix.pending_read_back = pending;
            break after;
        }
        tracing::info!(
            pending = pending.len(),
            "Graph does not show every change yet; reading again"
        );
        let wait = step.min(timeout - waited);
        client.sleeper().sleep(wait).await;
        waited += wait;
        step = (step * 2).min(Duration::from_secs(8));
    };
    if !fix.pending_read_back.is_empty() {
        tracing::warn!(
            "{} changes were accepted by Graph but do not show yet after {} s; run gwb check again in a minute",
            fix.pending_read_back.len(),
            args.apply.verify_timeout
        );
    }
    print(out, ctx.format, policy, &before, Some(&fix), Some(&after))?;
    // The exit code follows the state checked last: a change Graph accepted but that does not
    // show after --verify-timeout is not a success (it may never have taken), and drift left is
    // drift, whatever this run did.
    let failed = apply::exit_for_failures(&fix.failed, !fix.groups_changed.is_empty());
    Ok(if failed != ExitStatus::Ok {
        failed
    } else if !fix.pending_read_back.is_empty() {
        ExitStatus::Failure
    } else if !after.compliant {
        ExitStatus::Drift
    } else {
        ExitStatus::Ok
    })
}

fn print(
    out: &mut dyn Write,
    format: OutputFormat,
    policy: &Policy,
    before: &Comparison,
    fix: Option<&Fix>,
    after: Option<&Comparison>,
) -> std::io::Result<()> {
    let doc = CheckDoc {
        schema_version: SCHEMA_VERSION,
        policy,
        before,
        fix,
        after,
    };
    match format {
        OutputFormat::Table => {}
        OutputFormat::Ndjson => {
            // One drift item per line: the state as last checked.
            for d in &after.unwrap_or(before).drift {
                serde_json::to_writer(&mut *out, d)?;
                writeln!(out)?;
            }
            return out.flush();
        }
        _ => return write_json(out, &doc),
    }
    write_comparison(out, "Policy check", before)?;
    if let Some(f) = fix {
        if f.dry_run {
            writeln!(
                out,
                "Dry run: --fix would disable writeback on {} groups{} (no writes made)",
                f.groups_planned,
                if f.tenant_default.is_some() {
                    " and set the tenant default"
                } else {
                    ""
                }
            )?;
        } else {
            writeln!(
                out,
                "Fix: changed {} of {} groups; {} deleted meanwhile, {} failed; tenant default: {}",
                f.groups_changed.len(),
                f.groups_planned,
                f.deleted_meanwhile.len(),
                f.failed.len(),
                f.tenant_default
                    .map(|a| a.as_str())
                    .unwrap_or("not touched")
            )?;
            for e in &f.failed {
                writeln!(out, "  FAILED: {}", e.line())?;
            }
            for j in &f.journals {
                writeln!(out, "Journal: {j}")?;
            }
            if let Some(sig) = f.interrupted {
                writeln!(
                    out,
                    "Interrupted by {sig}: run gwb check --fix again to finish, or undo with gwb restore --journal {}",
                    f.journals.first().map(String::as_str).unwrap_or("PATH")
                )?;
            }
            if !f.pending_read_back.is_empty() {
                writeln!(
                    out,
                    "{} changes made do not show in Graph's reads yet (they lag writes); check again in a minute",
                    f.pending_read_back.len()
                )?;
            }
        }
    }
    if let Some(a) = after {
        write_comparison(out, "Checked again", a)?;
    }
    out.flush()
}

fn write_comparison(out: &mut dyn Write, title: &str, c: &Comparison) -> std::io::Result<()> {
    if !c.needs_privileged_permission.is_empty() {
        writeln!(
            out,
            "{title}: {} role-assignable groups are written back; fixing them needs RoleManagement.ReadWrite.Directory (reported apart, not counted: policy.role_assignable_drift = \"report\"):",
            c.needs_privileged_permission.len()
        )?;
        for d in &c.needs_privileged_permission {
            writeln!(
                out,
                "  group {} \"{}\": {}",
                crate::output::safe(d.id.as_deref().unwrap_or("")),
                crate::output::safe(d.display_name.as_deref().unwrap_or("")),
                d.actual
            )?;
        }
    }
    if c.compliant {
        writeln!(
            out,
            "{title}: compliant ({} groups checked, {} allowed by policy.allow)",
            c.groups_checked, c.allowed
        )?;
        return Ok(());
    }
    writeln!(
        out,
        "{title}: {} drifted ({} groups checked, {} allowed by policy.allow)",
        c.drift.len(),
        c.groups_checked,
        c.allowed
    )?;
    for d in &c.drift {
        let what = match (d.target.as_str(), &d.kind) {
            ("group", Some(k)) => format!(
                "group {} \"{}\" ({})",
                crate::output::safe(d.id.as_deref().unwrap_or("")),
                crate::output::safe(d.display_name.as_deref().unwrap_or("")),
                k.as_str()
            ),
            _ => "tenant default NewUnifiedGroupWritebackDefault".to_string(),
        };
        let what = if d.role_assignable {
            format!("{what} [role-assignable: fixing needs RoleManagement.ReadWrite.Directory]")
        } else {
            what
        };
        writeln!(
            out,
            "  {what}: expected {}, actual {}",
            d.expected, d.actual
        )?;
    }
    Ok(())
}
