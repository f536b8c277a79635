//! The Group.Unified write: set `NewUnifiedGroupWritebackDefault` without touching the
//! setting's other values (for `gwb set-default` and `gwb check --fix`).
//!
//! Read `/beta/settings`; if the value already holds, write nothing. Otherwise PATCH the whole
//! values array with that one entry changed (Graph's PATCH replaces the array), or, when the
//! tenant has no Group.Unified setting, create it from the template's 15 defaults with the
//! override. A create that loses a race (Graph's 400 "Another object with the same value for
//! property templateId already exists.") re-reads and updates. The previous array is journaled
//! (synced) before the write, so `gwb restore --journal PATH` puts it back exactly. Then read
//! back, waiting out Graph's read-after-write lag up to `--verify-timeout`.
//!
//! It does not prompt: one idempotent, reversible change, printed in full. Its restore is in
//! `commands/restore/setting.rs`, built from the pieces here.

use std::time::Duration;

use serde_json::json;

use super::Context;
use super::pipeline::{self, ChangeSet, Journals};
use crate::doc::TenantSection;
pub(crate) use crate::doc::setting::{Outcome, SettingAction};
use crate::graph::model::{
    DirectorySetting, GROUP_UNIFIED_TEMPLATE_ID, SettingTemplate, SettingValue,
};
use crate::graph::{GraphClient, GraphError, settings};
use crate::journal::{Journal, JournalWriteError, SettingResult};
use crate::writeback::setting::{self, SettingPlan};
use crate::writeback::tenant::tenant_default;

/// Least permissions, for error messages.
pub(crate) const READ_PERMISSION: &str = crate::permissions::READ_SETTINGS;
pub(crate) const WRITE_PERMISSION: &str = crate::permissions::WRITE_SETTINGS;

/// Wrap a Graph error with what to do about it.
pub(crate) fn graph_error(e: GraphError, doing: &str, permission: &str) -> anyhow::Error {
    let hint = if e.is_auth() {
        format!("; gwb needs the {permission} permission for this")
    } else {
        String::new()
    };
    anyhow::Error::new(e).context(format!("{doing}{hint}"))
}

pub(crate) async fn read(client: &GraphClient) -> anyhow::Result<Vec<DirectorySetting>> {
    settings::list(client).await.map_err(|e| {
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
pub(crate) fn journal_io(journal: &Journal) -> impl Fn(std::io::Error) -> JournalWriteError + '_ {
    move |e| JournalWriteError {
        path: journal.path().to_path_buf(),
        detail: e.to_string(),
    }
}

pub(crate) fn record<T>(
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

pub(crate) fn outcome(
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
        meta: None,
    }
}
