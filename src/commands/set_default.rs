//! `gwb set-default <true|false>`: set `NewUnifiedGroupWritebackDefault` in Group.Unified
//! without touching the setting's other values.
//!
//! Read `/beta/settings`; if the value already holds, write nothing. Otherwise PATCH the whole
//! values array with that one entry changed (Graph's PATCH replaces the array), or, when the
//! tenant has no Group.Unified setting, create it from the template's 15 defaults with the
//! override. A create that loses a race (Graph's 400 "Another object with the same value for
//! property templateId already exists.") re-reads and updates. The previous array is journaled
//! (synced) before the write, so `gwb restore --journal PATH` puts it back exactly. Then read
//! back, waiting out Graph's read-after-write lag up to `--verify-timeout`.
//!
//! It does not prompt: one idempotent, reversible change, printed in full.

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use serde::Serialize;
use serde_json::json;

use super::Context;
use super::apply::open_journal;
use super::report::read_settings;
use crate::ExitStatus;
use crate::cli::{OutputFormat, SetDefaultArgs};
use crate::graph::model::{
    DirectorySetting, GROUP_UNIFIED_TEMPLATE_ID, SettingTemplate, SettingValue,
};
use crate::graph::{GraphClient, GraphError, settings};
use crate::journal::{Journal, JournalWriteError, SettingResult};
use crate::output::{TenantSection, tenant_default_line, write_json};
use crate::writeback::setting::{self, SettingPlan};
use crate::writeback::tenant::tenant_default;

/// Least permissions, for error messages.
pub const READ_PERMISSION: &str = crate::permissions::READ_SETTINGS;
pub const WRITE_PERMISSION: &str = crate::permissions::WRITE_SETTINGS;

/// Wrap a Graph error with what to do about it.
fn graph_error(e: GraphError, doing: &str, permission: &str) -> anyhow::Error {
    let hint = if e.is_auth() {
        format!("; gwb needs the {permission} permission for this")
    } else {
        String::new()
    };
    anyhow::Error::new(e).context(format!("{doing}{hint}"))
}

/// What `set-default` did, or would do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum SettingAction {
    Unchanged,
    Updated,
    Created,
    WouldUpdate,
    WouldCreate,
}

impl SettingAction {
    /// The dry-run (or nothing-to-do) action for a plan.
    pub fn planned(plan: &SettingPlan) -> SettingAction {
        match plan {
            SettingPlan::Unchanged { .. } => SettingAction::Unchanged,
            SettingPlan::Update { .. } => SettingAction::WouldUpdate,
            SettingPlan::Create { .. } => SettingAction::WouldCreate,
        }
    }

    /// The name in JSON (and in the check table).
    pub fn as_str(self) -> &'static str {
        match self {
            SettingAction::Unchanged => "unchanged",
            SettingAction::Updated => "updated",
            SettingAction::Created => "created",
            SettingAction::WouldUpdate => "wouldUpdate",
            SettingAction::WouldCreate => "wouldCreate",
        }
    }

    /// Whether the tenant was written.
    pub fn wrote(self) -> bool {
        matches!(self, SettingAction::Updated | SettingAction::Created)
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Outcome<'a> {
    pub action: SettingAction,
    dry_run: bool,
    target: bool,
    before: &'a TenantSection,
    setting_id: Option<String>,
    values_before: Option<Vec<SettingValue>>,
    values_after: Option<Vec<SettingValue>>,
    /// Whether a read-back showed the new value (null when nothing was written).
    verified: Option<bool>,
    /// Why the read-back failed, when it did (the write itself was made).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verification_error: Option<String>,
    journal: Option<String>,
}

async fn read(client: &GraphClient) -> anyhow::Result<Vec<DirectorySetting>> {
    read_settings(client).await.map_err(|e| {
        graph_error(
            e,
            "reading the tenant's directory settings",
            READ_PERMISSION,
        )
    })
}

async fn template_values(client: &GraphClient, target: bool) -> anyhow::Result<Vec<SettingValue>> {
    let t: SettingTemplate = settings::template(client, GROUP_UNIFIED_TEMPLATE_ID)
        .await
        .map_err(|e| {
            graph_error(
                e,
                "reading the Group.Unified settings template",
                READ_PERMISSION,
            )
        })?;
    if t.values.is_empty() {
        return Err(anyhow::anyhow!(
            "the Group.Unified settings template came back without values; nothing was changed"
        ));
    }
    Ok(setting::values_from_template(&t.values, target))
}

/// Graph's answer to a second create of Group.Unified: 400 `Request_BadRequest`, worded
/// "Another object with the same value for property templateId already exists." or "A
/// conflicting object with one or more of the specified property values is present in the
/// directory." (both seen).
fn is_template_conflict(e: &GraphError) -> bool {
    matches!(e, GraphError::Api { status: 400, code, message, .. }
        if (code.is_empty() || code.eq_ignore_ascii_case("Request_BadRequest"))
            && (message.contains("same value for property templateId")
                || message.contains("conflicting object with one or more of the specified property values")))
}

/// Write the plan; returns the id of the setting written.
/// The outer error: the journal could not record the change (nothing more is written); the inner
/// one: Graph's answer to the write.
async fn write(
    client: &GraphClient,
    journal: &Journal,
    plan: &SettingPlan,
) -> Result<Result<String, GraphError>, JournalWriteError> {
    Ok(match plan {
        SettingPlan::Unchanged { setting_id, .. } => Ok(setting_id.clone()),
        SettingPlan::Update {
            setting_id,
            before,
            after,
            ..
        } => {
            journal
                .record_setting_before(
                    Some(setting_id),
                    GROUP_UNIFIED_TEMPLATE_ID,
                    Some(before),
                    after,
                )
                .map_err(journal_io(journal))?;
            let r = settings::update(client, setting_id, after).await;
            record(journal, Some(setting_id), SettingResult::Updated, &r)?;
            r.map(|_| setting_id.clone())
        }
        SettingPlan::Create { values } => {
            journal
                .record_setting_before(None, GROUP_UNIFIED_TEMPLATE_ID, None, values)
                .map_err(journal_io(journal))?;
            let r = settings::create(client, GROUP_UNIFIED_TEMPLATE_ID, values).await;
            let created = r.as_ref().ok().and_then(settings::created_id);
            // A templateId conflict is recorded by the caller, once it knows whose setting it is.
            if !matches!(&r, Err(e) if is_template_conflict(e)) {
                record(journal, created.as_deref(), SettingResult::Created, &r)?;
            }
            r.map(|_| created.unwrap_or_default())
        }
    })
}

/// A journal record that could not be written: exit 1, and nothing more is written.
fn journal_io(journal: &Journal) -> impl Fn(std::io::Error) -> JournalWriteError + '_ {
    move |e| JournalWriteError {
        path: journal.path().to_path_buf(),
        detail: e.to_string(),
    }
}

fn record<T>(
    journal: &Journal,
    id: Option<&str>,
    ok: SettingResult,
    r: &Result<T, GraphError>,
) -> Result<(), JournalWriteError> {
    let res = match r {
        Ok(_) => journal.record_setting_outcome(id, ok, None),
        Err(e) => journal.record_setting_outcome(
            id,
            SettingResult::Failed,
            Some((e.status().unwrap_or(0), e.to_string())),
        ),
    };
    res.map_err(|e| JournalWriteError {
        path: journal.path().to_path_buf(),
        detail: format!("the setting was written but its outcome could not be recorded: {e}"),
    })
}

/// Read back until the setting holds `target` or `timeout` has passed. A read that fails is not
/// a failed write: it is returned as the reason the change could not be verified, so the caller
/// still reports the write it made.
async fn verify(client: &GraphClient, target: bool, timeout: Duration) -> Result<bool, String> {
    let mut waited = Duration::ZERO;
    let mut step = Duration::from_secs(2);
    loop {
        let settings = read(client).await.map_err(|e| format!("{e:#}"))?;
        if setting::holds(&settings, target) {
            return Ok(true);
        }
        if waited >= timeout {
            return Ok(false);
        }
        let wait = step.min(timeout - waited);
        tracing::info!(
            waited_s = waited.as_secs_f64(),
            "the setting does not show the new value yet (Graph's reads lag writes); reading again"
        );
        client.sleeper().sleep(wait).await;
        waited += wait;
        step = (step * 2).min(Duration::from_secs(8));
    }
}

/// [`verify`], as the outcome records it: whether the value shows, and why it could not be read.
async fn verified(client: &GraphClient, target: bool, timeout: Duration) -> (bool, Option<String>) {
    match verify(client, target, timeout).await {
        Ok(ok) => (ok, None),
        Err(e) => {
            tracing::error!(
                "the change was written, but reading it back failed: {}",
                crate::output::safe(&e)
            );
            (false, Some(e))
        }
    }
}

/// Read the settings and plan setting the default to `target`: the tenant section before, and
/// the change (a create carries the template's full values array).
pub async fn plan_change(
    client: &GraphClient,
    target: bool,
) -> anyhow::Result<(TenantSection, SettingPlan)> {
    let settings = read(client).await?;
    let before = TenantSection::known(&tenant_default(&settings));
    let mut plan = setting::plan(&settings, target)?;
    if let SettingPlan::Create { values } = &mut plan {
        *values = template_values(client, target).await?;
    }
    Ok((before, plan))
}

pub async fn run(
    ctx: &Context,
    args: &SetDefaultArgs,
    state_dir: Option<&Path>,
    out: &mut dyn Write,
) -> anyhow::Result<ExitStatus> {
    let timeout = super::verify_timeout(args.verify_timeout)?;
    let _lock = if args.dry_run {
        None
    } else {
        Some(crate::lock::RunLock::acquire(state_dir, "set-default")?)
    };
    let client = &ctx.client;
    let target = args.value;
    let (before, plan) = plan_change(client, target).await?;

    if args.dry_run || matches!(plan, SettingPlan::Unchanged { .. }) {
        let action = SettingAction::planned(&plan);
        let doc = outcome(action, args.dry_run, target, &before, &plan, None, None);
        print(out, ctx.format, &doc)?;
        return Ok(ExitStatus::Ok);
    }

    let journal = open_journal(
        args.journal.as_deref(),
        state_dir,
        "set-default",
        &ctx.target,
    )?;
    let doc = apply_plan(client, &journal, plan, target, &before, timeout).await?;
    print(out, ctx.format, &doc)?;
    // The write was made and is reported; a read-back that failed means it is not verified.
    Ok(if doc.verification_error.is_some() {
        ExitStatus::Failure
    } else {
        ExitStatus::Ok
    })
}

/// Write a planned change (not `Unchanged`), journaled, and read it back.
pub async fn apply_plan<'a>(
    client: &GraphClient,
    journal: &Journal,
    mut plan: SettingPlan,
    target: bool,
    before: &'a TenantSection,
    verify_timeout: Duration,
) -> anyhow::Result<Outcome<'a>> {
    let mut action = match plan {
        SettingPlan::Create { .. } => SettingAction::Created,
        _ => SettingAction::Updated,
    };
    let written = match write(client, journal, &plan).await? {
        Ok(id) => id,
        Err(e) if is_template_conflict(&e) => {
            let attempted = match &plan {
                SettingPlan::Create { values } => values.clone(),
                _ => Vec::new(),
            };
            let settings = read(client).await?;
            let existing = crate::writeback::tenant::find_group_unified(&settings);
            if let Some(s) = existing.filter(|s| setting::same_values(&s.values, &attempted)) {
                // Exactly what we tried to create: most likely our own create, retried after
                // its answer was lost. Record it as ours, so restore can remove it.
                tracing::warn!(
                    "Group.Unified exists with exactly the values gwb sent; taking it as gwb's own create (its first answer was lost)"
                );
                journal.record_setting_outcome(Some(&s.id), SettingResult::Created, None)?;
                let id = s.id.clone();
                let (ok, why) = verified(client, target, verify_timeout).await;
                journal.finish(json!({"result": "created", "settingId": id, "verified": ok}))?;
                let mut doc = outcome(
                    SettingAction::Created,
                    false,
                    target,
                    before,
                    &plan,
                    Some(ok),
                    Some(journal.path().display().to_string()),
                );
                doc.setting_id = Some(id);
                doc.verification_error = why;
                return Ok(doc);
            }
            // Someone else created Group.Unified between our read and our create: update theirs.
            tracing::warn!(
                "Group.Unified was created by someone else meanwhile; updating it instead"
            );
            journal.record_setting_outcome(
                None,
                SettingResult::Conflict,
                Some((400, e.to_string())),
            )?;
            plan = setting::plan(&settings, target)?;
            action = match plan {
                SettingPlan::Unchanged { .. } => SettingAction::Unchanged,
                SettingPlan::Update { .. } => SettingAction::Updated,
                SettingPlan::Create { .. } => {
                    return Err(anyhow::anyhow!(
                        "Graph refused to create Group.Unified because it exists, but it is not among the tenant's settings; nothing was changed, try again in a minute"
                    ));
                }
            };
            write(client, journal, &plan)
                .await?
                .map_err(|e| graph_error(e, "updating Group.Unified", WRITE_PERMISSION))?
        }
        Err(e) => {
            let _ = journal.finish(json!({"result": "failed"}));
            return Err(graph_error(e, "writing Group.Unified", WRITE_PERMISSION));
        }
    };
    let mut verification_error = None;
    let verified = if action == SettingAction::Unchanged {
        None
    } else {
        let (ok, why) = verified(client, target, verify_timeout).await;
        verification_error = why;
        if !ok && verification_error.is_none() {
            tracing::warn!(
                "Graph accepted the change, but after {} s of reading back the setting still does not show NewUnifiedGroupWritebackDefault = {target}; Graph's reads can lag writes: check with `gwb report` in a minute",
                verify_timeout.as_secs_f64()
            );
        }
        Some(ok)
    };
    journal.finish(json!({"result": action, "settingId": written, "verified": verified}))?;
    let mut doc = outcome(
        action,
        false,
        target,
        before,
        &plan,
        verified,
        Some(journal.path().display().to_string()),
    );
    if doc.setting_id.is_none() && !written.is_empty() {
        doc.setting_id = Some(written);
    }
    doc.verification_error = verification_error;
    Ok(doc)
}

fn outcome<'a>(
    action: SettingAction,
    dry_run: bool,
    target: bool,
    before: &'a TenantSection,
    plan: &SettingPlan,
    verified: Option<bool>,
    journal: Option<String>,
) -> Outcome<'a> {
    let (setting_id, values_before, values_after) = match plan {
        SettingPlan::Unchanged { setting_id, .. } => (Some(setting_id.clone()), None, None),
        SettingPlan::Update {
            setting_id,
            before,
            after,
            ..
        } => (
            Some(setting_id.clone()),
            Some(before.clone()),
            Some(after.clone()),
        ),
        SettingPlan::Create { values } => (None, None, Some(values.clone())),
    };
    Outcome {
        action,
        dry_run,
        target,
        before,
        setting_id,
        values_before,
        values_after,
        verified,
        verification_error: None,
        journal,
    }
}

fn print(out: &mut dyn Write, format: OutputFormat, doc: &Outcome) -> std::io::Result<()> {
    if format != OutputFormat::Table {
        return write_json(out, doc);
    }
    writeln!(out, "{}", tenant_default_line(doc.before))?;
    let t = doc.target;
    match doc.action {
        SettingAction::Unchanged => writeln!(
            out,
            "Nothing to do: NewUnifiedGroupWritebackDefault is already {t}; no change was made."
        )?,
        SettingAction::WouldUpdate | SettingAction::Updated => {
            let raw_before = doc
                .values_before
                .as_ref()
                .and_then(|v| {
                    v.iter().find(|x| {
                        x.name
                            .eq_ignore_ascii_case("NewUnifiedGroupWritebackDefault")
                    })
                })
                .and_then(|x| x.value.clone())
                .unwrap_or_else(|| "(no entry)".into());
            let verb = if doc.dry_run {
                "Would change"
            } else {
                "Changed"
            };
            writeln!(
                out,
                "{verb} NewUnifiedGroupWritebackDefault in Group.Unified ({}): {raw_before} -> {t}; the other {} values are kept as they are.",
                doc.setting_id.as_deref().unwrap_or("?"),
                doc.values_after
                    .as_ref()
                    .map_or(0, |v| v.len().saturating_sub(1))
            )?;
        }
        _ => {
            let verb = if doc.dry_run {
                "Would create"
            } else {
                "Created"
            };
            let values = doc.values_after.as_deref().unwrap_or(&[]);
            writeln!(
                out,
                "{verb} Group.Unified from the template with these {} values:",
                values.len()
            )?;
            for v in values {
                writeln!(out, "  {} = {:?}", v.name, v.value.as_deref().unwrap_or(""))?;
            }
        }
    }
    match doc.verified {
        Some(false) if doc.verification_error.is_some() => writeln!(
            out,
            "Read back: FAILED, the change was written but could not be read back: {}",
            crate::output::safe(doc.verification_error.as_deref().unwrap_or(""))
        )?,
        Some(true) => writeln!(out, "Read back: the tenant now shows {t}.")?,
        Some(false) => writeln!(
            out,
            "Read back: NOT yet showing {t} (Graph's reads lag writes); check again with `gwb report`."
        )?,
        None => {}
    }
    if doc.dry_run {
        writeln!(out, "Dry run: no change was made.")?;
    }
    if let Some(j) = &doc.journal {
        writeln!(out, "Journal: {j} (undo with: gwb restore --journal {j})")?;
    }
    Ok(())
}

/// How a set-default journal is restored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
enum RestoreMethod {
    Patch,
    Create,
    Delete,
    None,
}

impl std::fmt::Display for RestoreMethod {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            RestoreMethod::Patch => "patch",
            RestoreMethod::Create => "create",
            RestoreMethod::Delete => "delete",
            RestoreMethod::None => "none",
        })
    }
}

/// What restoring a set-default journal did, or would do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
enum RestoreAction {
    AlreadyInRecordedState,
    Restored,
    WouldRestore,
    /// Left alone: changed after gwb's run (exit 1).
    ChangedSinceRun,
}

/// How to restore: method, setting id, values now, values to write.
type RestoreStep = (
    RestoreMethod,
    Option<String>,
    Option<Vec<SettingValue>>,
    Vec<SettingValue>,
);

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct RestoreOutcome {
    action: RestoreAction,
    method: RestoreMethod,
    setting_id: Option<String>,
    values_now: Option<Vec<SettingValue>>,
    values_restored: Option<Vec<SettingValue>>,
    journal: Option<String>,
}

/// `gwb restore` of `set-default` journals: put Group.Unified back to the earliest recorded
/// state: the same values array (PATCH, or POST if it was deleted meanwhile), or no setting at
/// all when gwb created it (DELETE, only if nobody has changed it since).
pub async fn restore(
    ctx: &Context,
    args: &crate::cli::RestoreArgs,
    journals: Vec<crate::journal::JournalContents>,
    state_dir: Option<&Path>,
    out: &mut dyn Write,
) -> anyhow::Result<ExitStatus> {
    let client = &ctx.client;
    let Some(rec) = journals.into_iter().find_map(|j| j.setting) else {
        let doc = RestoreOutcome {
            action: RestoreAction::AlreadyInRecordedState,
            method: RestoreMethod::None,
            setting_id: None,
            values_now: None,
            values_restored: None,
            journal: None,
        };
        crate::output::notice("the journals record no change to Group.Unified; nothing to restore");
        write_json_or_line(out, ctx.format, &doc)?;
        return Ok(ExitStatus::Ok);
    };
    let settings = read(client).await?;
    if let Some(p) = crate::writeback::tenant::group_unified_problem(&settings) {
        return Err(anyhow::anyhow!("{p}; nothing was changed"));
    }
    let current = crate::writeback::tenant::find_group_unified(&settings).cloned();
    // Compare-and-set, one value: gwb changed NewUnifiedGroupWritebackDefault only, so only that
    // entry is put back, and only while it still holds what gwb wrote; every other value is
    // kept as it is now (an admin may have changed it since).
    let key_before = rec.before.as_deref().map(key_entry);
    let key_written = key_entry(&rec.after);
    let step: Option<RestoreStep> = match (&rec.before, &current) {
        (Some(_), Some(c)) => {
            let now = key_entry(&c.values);
            let original = key_before.clone().flatten();
            if same_entry(&now, &original) {
                None
            } else if same_entry(&now, &key_written) || args.force {
                Some((
                    RestoreMethod::Patch,
                    Some(c.id.clone()),
                    Some(c.values.clone()),
                    with_entry(&c.values, original.as_ref()),
                ))
            } else {
                return changed_since(ctx, out, &now, &key_written, c);
            }
        }
        // Deleted after gwb's run: someone else's change. Re-create it only when forced.
        (Some(b), None) if args.force => Some((RestoreMethod::Create, None, None, b.clone())),
        (Some(_), None) => {
            let doc = RestoreOutcome {
                action: RestoreAction::ChangedSinceRun,
                method: RestoreMethod::None,
                setting_id: None,
                values_now: None,
                values_restored: None,
                journal: None,
            };
            crate::output::notice(
                "Group.Unified was deleted after gwb's run; left alone (add --force to create it again with the recorded values)",
            );
            write_json_or_line(out, ctx.format, &doc)?;
            return Ok(ExitStatus::Failure);
        }
        (None, None) => None,
        (None, Some(c)) if setting::same_values(&c.values, &rec.after) => Some((
            RestoreMethod::Delete,
            Some(c.id.clone()),
            Some(c.values.clone()),
            Vec::new(),
        )),
        // gwb created it, and other values were changed since: put back only the effect gwb
        // had, the template default for the key, keeping the rest.
        (None, Some(c)) => {
            let now = key_entry(&c.values);
            if !(same_entry(&now, &key_written) || args.force) {
                return changed_since(ctx, out, &now, &key_written, c);
            }
            let template = Some(setting::bool_value(
                crate::writeback::tenant::TEMPLATE_DEFAULT,
            ));
            if same_entry(&now, &template) {
                None
            } else {
                Some((
                    RestoreMethod::Patch,
                    Some(c.id.clone()),
                    Some(c.values.clone()),
                    with_entry(&c.values, template.as_ref()),
                ))
            }
        }
    };
    let Some((method, id, now, restored)) = step else {
        let doc = RestoreOutcome {
            action: RestoreAction::AlreadyInRecordedState,
            method: RestoreMethod::None,
            setting_id: current.map(|c| c.id),
            values_now: None,
            values_restored: None,
            journal: None,
        };
        write_json_or_line(out, ctx.format, &doc)?;
        return Ok(ExitStatus::Ok);
    };
    let mut doc = RestoreOutcome {
        action: RestoreAction::WouldRestore,
        method,
        setting_id: id.clone(),
        values_now: now.clone(),
        values_restored: (method != RestoreMethod::Delete).then(|| restored.clone()),
        journal: None,
    };
    if args.apply.dry_run {
        write_json_or_line(out, ctx.format, &doc)?;
        return Ok(ExitStatus::Ok);
    }
    super::apply::consent(
        &args.apply,
        &format!("restore the Group.Unified directory setting ({method})"),
    )?;
    let journal = open_journal(
        args.record.as_deref(),
        state_dir,
        "set-default",
        &ctx.target,
    )?;
    journal.record_setting_before(id.as_deref(), &rec.template_id, now.as_deref(), &restored)?;
    let r = match (method, &id) {
        (RestoreMethod::Patch, Some(id)) => settings::update(client, id, &restored).await,
        (RestoreMethod::Delete, Some(id)) => settings::delete(client, id).await,
        _ => settings::create(client, &rec.template_id, &restored).await,
    };
    // A DELETE whose answer was lost and whose retry meets 404: the setting is gone, as asked.
    let r = match r {
        Err(e) if method == RestoreMethod::Delete && e.status() == Some(404) => {
            tracing::info!(
                "Group.Unified was already gone when the delete was retried (its first answer was lost): restored"
            );
            Ok(None)
        }
        other => other.map(Some),
    };
    let created = match (&r, method) {
        (Ok(Some(resp)), RestoreMethod::Create) => settings::created_id(resp),
        _ => None,
    };
    let result = match method {
        RestoreMethod::Create => SettingResult::Created,
        RestoreMethod::Delete => SettingResult::Deleted,
        _ => SettingResult::Updated,
    };
    record(&journal, created.as_deref().or(id.as_deref()), result, &r)?;
    if let Err(e) = r {
        let _ = journal.finish(json!({"result": "failed"}));
        return Err(graph_error(e, "restoring Group.Unified", WRITE_PERMISSION));
    }
    journal.finish(json!({"result": "restored", "method": method}))?;
    doc.action = RestoreAction::Restored;
    if created.is_some() {
        doc.setting_id = created;
    }
    doc.journal = Some(journal.path().display().to_string());
    write_json_or_line(out, ctx.format, &doc)?;
    Ok(ExitStatus::Ok)
}

/// The key's entry in a values array: `None` when absent, `Some(value)` when present.
fn key_entry(values: &[SettingValue]) -> Option<String> {
    values
        .iter()
        .find(|v| {
            v.name
                .trim()
                .eq_ignore_ascii_case(crate::graph::model::NEW_UNIFIED_GROUP_WRITEBACK_DEFAULT)
        })
        .map(|v| v.value.clone().unwrap_or_default())
}

/// Two entries mean the same (booleans case-insensitively, as Graph stores them).
fn same_entry(a: &Option<String>, b: &Option<String>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => match (
            crate::writeback::tenant::parse_bool(a),
            crate::writeback::tenant::parse_bool(b),
        ) {
            (Some(x), Some(y)) => x == y,
            _ => a == b,
        },
        (None, None) => true,
        _ => false,
    }
}

/// `values` with the key's entry set to `entry` exactly (removed when `None`), the rest as is.
fn with_entry(values: &[SettingValue], entry: Option<&String>) -> Vec<SettingValue> {
    let is_key = |v: &SettingValue| {
        v.name
            .trim()
            .eq_ignore_ascii_case(crate::graph::model::NEW_UNIFIED_GROUP_WRITEBACK_DEFAULT)
    };
    match entry {
        None => values.iter().filter(|v| !is_key(v)).cloned().collect(),
        Some(e) if values.iter().any(is_key) => values
            .iter()
            .map(|v| {
                if is_key(v) {
                    SettingValue {
                        name: v.name.clone(),
                        value: Some(e.clone()),
                    }
                } else {
                    v.clone()
                }
            })
            .collect(),
        Some(e) => {
            let mut out = values.to_vec();
            out.push(SettingValue {
                name: crate::graph::model::NEW_UNIFIED_GROUP_WRITEBACK_DEFAULT.into(),
                value: Some(e.clone()),
            });
            out
        }
    }
}

/// The key no longer holds what gwb wrote: someone changed it after gwb's run. Left alone,
/// reported, exit 1.
fn changed_since(
    ctx: &Context,
    out: &mut dyn Write,
    now: &Option<String>,
    written: &Option<String>,
    c: &DirectorySetting,
) -> anyhow::Result<ExitStatus> {
    crate::output::notice(&format!(
        "NewUnifiedGroupWritebackDefault in Group.Unified ({}) was changed after gwb's run (gwb wrote {}, it now holds {}); left alone. Add --force to put back the recorded value anyway",
        c.id,
        written.as_deref().unwrap_or("no entry"),
        now.as_deref().unwrap_or("no entry")
    ));
    let doc = RestoreOutcome {
        action: RestoreAction::ChangedSinceRun,
        method: RestoreMethod::None,
        setting_id: Some(c.id.clone()),
        values_now: Some(c.values.clone()),
        values_restored: None,
        journal: None,
    };
    write_json_or_line(out, ctx.format, &doc)?;
    Ok(ExitStatus::Failure)
}

fn write_json_or_line(
    out: &mut dyn Write,
    format: OutputFormat,
    doc: &RestoreOutcome,
) -> std::io::Result<()> {
    if format != OutputFormat::Table {
        return write_json(out, doc);
    }
    let what = match doc.method {
        RestoreMethod::Patch => {
            "put NewUnifiedGroupWritebackDefault back to its recorded value, every other value kept as it is now (PATCH)"
        }
        RestoreMethod::Create => {
            "create Group.Unified again with the recorded values (it was deleted meanwhile)"
        }
        RestoreMethod::Delete => {
            "delete Group.Unified, which gwb had created (the template defaults apply again)"
        }
        _ => "nothing to do",
    };
    match doc.action {
        RestoreAction::ChangedSinceRun => writeln!(
            out,
            "Group.Unified was changed after gwb's run; left alone, no change was made (add --force to restore it anyway)."
        ),
        RestoreAction::AlreadyInRecordedState => {
            writeln!(
                out,
                "Group.Unified is already in its recorded state; no change was made."
            )
        }
        RestoreAction::WouldRestore => writeln!(out, "Dry run: would {what}; no change was made."),
        _ => writeln!(
            out,
            "Restored Group.Unified: {what}. Journal: {}",
            doc.journal.as_deref().unwrap_or("")
        ),
    }
}
