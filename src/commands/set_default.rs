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
use std::time::Duration;

use serde::Serialize;
use serde_json::json;

use super::pipeline::{self, ChangeSet, Consent, Journals, Options, Stage};
use super::report::read_settings;
use super::{Context, Dirs};
use crate::cli::{OutputFormat, SetDefaultArgs};
use crate::error::ExitStatus;
use crate::graph::model::{
    DirectorySetting, GROUP_UNIFIED_TEMPLATE_ID, SettingTemplate, SettingValue,
};
use crate::graph::{GraphClient, GraphError, settings};
use crate::journal::{Journal, JournalWriteError, SettingResult};
use crate::output::{TenantSection, tenant_default_line, write_json};
use crate::writeback::setting::{self, RestoreDecision, RestoreMethod, SettingPlan};
use crate::writeback::tenant::tenant_default;

/// Least permissions, for error messages.
pub(crate) const READ_PERMISSION: &str = crate::permissions::READ_SETTINGS;
pub(crate) const WRITE_PERMISSION: &str = crate::permissions::WRITE_SETTINGS;

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
pub(crate) enum SettingAction {
    Unchanged,
    Updated,
    Created,
    WouldUpdate,
    WouldCreate,
}

impl SettingAction {
    /// The dry-run (or nothing-to-do) action for a plan.
    pub(crate) fn planned(plan: &SettingPlan) -> SettingAction {
        match plan {
            SettingPlan::Unchanged { .. } => SettingAction::Unchanged,
            SettingPlan::Update { .. } => SettingAction::WouldUpdate,
            SettingPlan::Create { .. } => SettingAction::WouldCreate,
        }
    }

    /// The name in JSON (and in the check table).
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            SettingAction::Unchanged => "unchanged",
            SettingAction::Updated => "updated",
            SettingAction::Created => "created",
            SettingAction::WouldUpdate => "wouldUpdate",
            SettingAction::WouldCreate => "wouldCreate",
        }
    }

    /// Whether the tenant was written.
    pub(crate) fn wrote(self) -> bool {
        matches!(self, SettingAction::Updated | SettingAction::Created)
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Outcome {
    pub action: SettingAction,
    dry_run: bool,
    target: bool,
    before: TenantSection,
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
    pipeline::read_back(client.sleeper(), timeout, || async {
        let settings = read(client).await?;
        let holds = setting::holds(&settings, target);
        Ok((holds, usize::from(!holds)))
    })
    .await
    .map_err(|e| format!("{e:#}"))
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
pub(crate) async fn plan_change(
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

/// A `set-default` plan: the value wanted, the tenant section as read, and the change.
pub(crate) struct SetDefaultPlan {
    pub target: bool,
    pub before: TenantSection,
    pub plan: SettingPlan,
    pub verify_timeout: Duration,
}

impl SetDefaultPlan {
    /// Read the settings and plan setting the default to `target`.
    pub async fn read(
        client: &GraphClient,
        target: bool,
        verify_timeout: Duration,
    ) -> anyhow::Result<Self> {
        let (before, plan) = plan_change(client, target).await?;
        Ok(SetDefaultPlan {
            target,
            before,
            plan,
            verify_timeout,
        })
    }

    /// The action a dry run (or a plan with nothing to do) reports.
    pub(crate) fn planned(&self) -> SettingAction {
        SettingAction::planned(&self.plan)
    }
}

#[async_trait::async_trait(?Send)]
impl ChangeSet for SetDefaultPlan {
    type Done = Outcome;

    fn change_count(&self) -> usize {
        usize::from(!matches!(self.plan, SettingPlan::Unchanged { .. }))
    }

    fn question(&self) -> String {
        format!("set NewUnifiedGroupWritebackDefault to {}", self.target)
    }

    async fn write(
        &mut self,
        ctx: &Context,
        journals: &mut Journals<'_>,
    ) -> anyhow::Result<Outcome> {
        let journal = journals.open("set-default")?;
        apply_plan(
            &ctx.client,
            &journal,
            self.plan.clone(),
            self.target,
            &self.before,
            self.verify_timeout,
        )
        .await
    }
}

pub async fn run(
    ctx: &Context,
    args: &SetDefaultArgs,
    dirs: &Dirs,
    out: &mut dyn Write,
) -> anyhow::Result<ExitStatus> {
    let timeout = super::verify_timeout(args.verify_timeout)?;
    crate::output::require_format(
        ctx.format,
        "set-default",
        &[OutputFormat::Table, OutputFormat::Json],
    )?;
    let opts = Options {
        command: "set-default",
        dry_run: args.dry_run,
        consent: Consent::NotAsked,
        max_changes: None,
        dirs,
        journal: args.journal.as_deref(),
    };
    let stage = pipeline::run(
        ctx,
        opts,
        SetDefaultPlan::read(&ctx.client, args.value, timeout),
    )
    .await?;
    let doc = match stage {
        Stage::DryRun(p) | Stage::NothingToDo(p) => outcome(
            p.planned(),
            args.dry_run,
            p.target,
            &p.before,
            &p.plan,
            None,
            None,
        ),
        Stage::Done(_, doc) => doc,
    };
    print(out, ctx.format, &doc)?;
    // The write was made and is reported; a read-back that failed means it is not verified.
    Ok(if doc.verification_error.is_some() {
        ExitStatus::Failure
    } else {
        ExitStatus::Ok
    })
}

/// What a create that met Graph's templateId conflict came to.
enum AfterConflict {
    /// Group.Unified exists with exactly the values gwb sent: gwb's own create, whose first
    /// answer was lost (the id).
    Ours(String),
    /// Someone else created it meanwhile; theirs was updated instead (or already held the
    /// value).
    Theirs {
        written: String,
        updated: SettingAction,
    },
}

/// Graph refused gwb's create because Group.Unified exists: read it, and either take it as
/// gwb's own create (its first answer was lost) or update the one someone else created.
async fn after_conflict(
    client: &GraphClient,
    journal: &Journal,
    plan: &mut SettingPlan,
    target: bool,
    e: GraphError,
) -> anyhow::Result<AfterConflict> {
    let attempted = match &*plan {
        SettingPlan::Create { values } => values.clone(),
        _ => Vec::new(),
    };
    let settings = read(client).await?;
    let existing = crate::writeback::tenant::find_group_unified(&settings);
    if let Some(s) = existing.filter(|s| setting::same_values(&s.values, &attempted)) {
        // Record it as ours, so restore can remove it.
        tracing::warn!(
            "Group.Unified exists with exactly the values gwb sent; taking it as gwb's own create (its first answer was lost)"
        );
        journal.record_setting_outcome(Some(&s.id), SettingResult::Created, None)?;
        return Ok(AfterConflict::Ours(s.id.clone()));
    }
    // Someone else created Group.Unified between our read and our create: update theirs.
    tracing::warn!("Group.Unified was created by someone else meanwhile; updating it instead");
    journal.record_setting_outcome(None, SettingResult::Conflict, Some((400, e.to_string())))?;
    *plan = setting::plan(&settings, target)?;
    let updated = match plan {
        SettingPlan::Unchanged { .. } => SettingAction::Unchanged,
        SettingPlan::Update { .. } => SettingAction::Updated,
        SettingPlan::Create { .. } => {
            return Err(anyhow::anyhow!(
                "Graph refused to create Group.Unified because it exists, but it is not among the tenant's settings; nothing was changed, try again in a minute"
            ));
        }
    };
    let written = write(client, journal, plan)
        .await?
        .map_err(|e| graph_error(e, "updating Group.Unified", WRITE_PERMISSION))?;
    Ok(AfterConflict::Theirs { written, updated })
}

/// Write a planned change (not `Unchanged`), journaled, and read it back.
pub(crate) async fn apply_plan(
    client: &GraphClient,
    journal: &Journal,
    mut plan: SettingPlan,
    target: bool,
    before: &TenantSection,
    verify_timeout: Duration,
) -> anyhow::Result<Outcome> {
    let mut action = match plan {
        SettingPlan::Create { .. } => SettingAction::Created,
        _ => SettingAction::Updated,
    };
    let written = match write(client, journal, &plan).await? {
        Ok(id) => id,
        Err(e) if is_template_conflict(&e) => {
            match after_conflict(client, journal, &mut plan, target, e).await? {
                AfterConflict::Ours(id) => {
                    let (ok, why) = verified(client, target, verify_timeout).await;
                    journal
                        .finish(json!({"result": "created", "settingId": id, "verified": ok}))?;
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
                AfterConflict::Theirs { written, updated } => {
                    action = updated;
                    written
                }
            }
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

fn outcome(
    action: SettingAction,
    dry_run: bool,
    target: bool,
    before: &TenantSection,
    plan: &SettingPlan,
    verified: Option<bool>,
    journal: Option<String>,
) -> Outcome {
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
        before: before.clone(),
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
    writeln!(out, "{}", tenant_default_line(&doc.before))?;
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
        crate::output::write_undo_line(out, j)?;
    }
    Ok(())
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

impl RestoreOutcome {
    fn nothing(action: RestoreAction, setting_id: Option<String>) -> Self {
        RestoreOutcome {
            action,
            method: RestoreMethod::None,
            setting_id,
            values_now: None,
            values_restored: None,
            journal: None,
        }
    }
}

/// A plan to restore Group.Unified: the journal's record and what to do about it now.
struct SettingRestore {
    template_id: String,
    decision: RestoreDecision,
    /// The setting's id now, when it exists.
    current_id: Option<String>,
    /// The runs restored, recorded in this restore's journal.
    undoes: Vec<String>,
    /// What this restore redoes, when it restores a restore.
    redoing: Vec<String>,
}

impl SettingRestore {
    /// Read Group.Unified and decide, compare-and-set, what restoring `rec` comes to.
    async fn read(
        client: &GraphClient,
        rec: crate::journal::SettingRecord,
        force: bool,
    ) -> anyhow::Result<Self> {
        let settings = read(client).await?;
        if let Some(p) = crate::writeback::tenant::group_unified_problem(&settings) {
            return Err(anyhow::anyhow!("{p}; nothing was changed"));
        }
        let current = crate::writeback::tenant::find_group_unified(&settings);
        let decision = setting::restore_decision(
            rec.before.as_deref(),
            &rec.after,
            rec.deleted,
            current,
            force,
        );
        Ok(SettingRestore {
            template_id: rec.template_id,
            decision,
            current_id: current.map(|c| c.id.clone()),
            undoes: Vec::new(),
            redoing: Vec::new(),
        })
    }

    /// The outcome of a run that wrote nothing, and its exit code.
    fn unwritten(&self, dry_run: bool) -> (RestoreOutcome, ExitStatus) {
        match &self.decision {
            RestoreDecision::Write {
                method,
                id,
                now,
                restored,
            } => {
                let doc = RestoreOutcome {
                    action: if dry_run {
                        RestoreAction::WouldRestore
                    } else {
                        RestoreAction::AlreadyInRecordedState
                    },
                    method: *method,
                    setting_id: id.clone(),
                    values_now: now.clone(),
                    values_restored: (*method != RestoreMethod::Delete).then(|| restored.clone()),
                    journal: None,
                };
                (doc, ExitStatus::Ok)
            }
            RestoreDecision::AlreadyRecorded => (
                RestoreOutcome::nothing(
                    RestoreAction::AlreadyInRecordedState,
                    self.current_id.clone(),
                ),
                ExitStatus::Ok,
            ),
            RestoreDecision::DeletedSinceRun => {
                crate::output::notice(
                    "Group.Unified was deleted after gwb's run; left alone (add --force to create it again with the recorded values)",
                );
                (
                    RestoreOutcome::nothing(RestoreAction::ChangedSinceRun, None),
                    ExitStatus::Failure,
                )
            }
            RestoreDecision::ChangedSinceRun {
                setting: c,
                now,
                written,
            } => {
                crate::output::notice(&format!(
                    "NewUnifiedGroupWritebackDefault in Group.Unified ({}) was changed after gwb's run (gwb wrote {}, it now holds {}); left alone. Add --force to put back the recorded value anyway",
                    c.id,
                    written.as_deref().unwrap_or("no entry"),
                    now.as_deref().unwrap_or("no entry")
                ));
                let mut doc =
                    RestoreOutcome::nothing(RestoreAction::ChangedSinceRun, Some(c.id.clone()));
                doc.values_now = Some(c.values.clone());
                (doc, ExitStatus::Failure)
            }
        }
    }
}

#[async_trait::async_trait(?Send)]
impl ChangeSet for SettingRestore {
    type Done = RestoreOutcome;

    fn change_count(&self) -> usize {
        usize::from(matches!(self.decision, RestoreDecision::Write { .. }))
    }

    fn question(&self) -> String {
        let method = match &self.decision {
            RestoreDecision::Write { method, .. } => *method,
            _ => RestoreMethod::None,
        };
        match self.redoing.as_slice() {
            [] => format!("restore the Group.Unified directory setting ({method})"),
            runs => format!(
                "restore the Group.Unified directory setting ({method}), redoing the {}",
                runs.join(" and the ")
            ),
        }
    }

    async fn write(
        &mut self,
        ctx: &Context,
        journals: &mut Journals<'_>,
    ) -> anyhow::Result<RestoreOutcome> {
        let RestoreDecision::Write {
            method,
            id,
            now,
            restored,
        } = &self.decision
        else {
            // The pipeline writes only plans with changes (change_count() is 0 otherwise).
            return Ok(self.unwritten(false).0);
        };
        let (method, id) = (*method, id.clone());
        let client = &ctx.client;
        journals.undoing(self.undoes.clone());
        let journal = journals.open(super::restore::RESTORE)?;
        journal.record_setting_before(
            id.as_deref(),
            &self.template_id,
            now.as_deref(),
            restored,
        )?;
        let r = match (method, &id) {
            (RestoreMethod::Patch, Some(id)) => settings::update(client, id, restored).await,
            (RestoreMethod::Delete, Some(id)) => settings::delete(client, id).await,
            _ => settings::create(client, &self.template_id, restored).await,
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
        let (mut doc, _) = self.unwritten(false);
        doc.action = RestoreAction::Restored;
        if created.is_some() {
            doc.setting_id = created;
        }
        doc.journal = Some(journal.path().display().to_string());
        Ok(doc)
    }
}

/// `gwb restore` of `set-default` journals: put Group.Unified back to the earliest recorded
/// state (see [`setting::restore_decision`]), through the change pipeline.
pub(crate) async fn restore(
    ctx: &Context,
    args: &crate::cli::RestoreArgs,
    journals: Vec<crate::journal::JournalContents>,
    dirs: &Dirs,
    out: &mut dyn Write,
) -> anyhow::Result<ExitStatus> {
    let undoes: Vec<String> = journals.iter().map(super::restore::run_words).collect();
    let redoing = super::restore::redoing(&journals);
    let Some(rec) = journals.into_iter().find_map(|j| j.setting) else {
        crate::output::notice("the journals record no change to Group.Unified; nothing to restore");
        let doc = RestoreOutcome::nothing(RestoreAction::AlreadyInRecordedState, None);
        write_json_or_line(out, ctx.format, &doc)?;
        return Ok(ExitStatus::Ok);
    };
    let opts = Options {
        command: "restore",
        dry_run: args.apply.dry_run,
        consent: Consent::Ask {
            yes: args.apply.yes,
        },
        max_changes: args.apply.max_changes,
        dirs,
        journal: args.record.as_deref(),
    };
    let plan = async {
        let mut plan = SettingRestore::read(&ctx.client, rec, args.force).await?;
        plan.undoes = undoes;
        plan.redoing = redoing;
        Ok(plan)
    };
    let (doc, status) = match pipeline::run(ctx, opts, plan).await? {
        Stage::DryRun(p) => p.unwritten(true),
        Stage::NothingToDo(p) => p.unwritten(false),
        Stage::Done(_, doc) => (doc, ExitStatus::Ok),
    };
    write_json_or_line(out, ctx.format, &doc)?;
    Ok(status)
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
        _ => {
            writeln!(out, "Restored Group.Unified: {what}.")?;
            crate::output::write_undo_line(out, doc.journal.as_deref().unwrap_or(""))
        }
    }
}
