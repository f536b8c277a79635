//! `gwb restore` of a `set-default` journal: put Group.Unified back to the earliest recorded
//! state, compare-and-set, through the change pipeline (the write's pieces are in
//! `change/setting.rs`).

use std::io::Write;

use serde::Serialize;
use serde_json::json;

use crate::change::pipeline::{self, ChangeSet, Journals, Options, Stage};
use crate::change::setting::{WRITE_PERMISSION, graph_error, read, record};
use crate::change::{Context, Dirs};
use crate::cli::OutputFormat;
use crate::error::ExitStatus;
use crate::graph::model::SettingValue;
use crate::graph::{GraphClient, settings};
use crate::journal::SettingResult;
use crate::output::write_json;
use crate::writeback::setting::{self, RestoreDecision, RestoreMethod};

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
    #[serde(skip_serializing_if = "Option::is_none")]
    meta: Option<crate::doc::Meta>,
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
            meta: None,
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
                    meta: None,
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
        let journal = journals.open(crate::change::undo::RESTORE)?;
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
    let undoes: Vec<String> = journals
        .iter()
        .map(crate::change::undo::run_words)
        .collect();
    let redoing = crate::change::undo::redoing(&journals);
    let Some(rec) = journals.into_iter().find_map(|j| j.setting) else {
        crate::output::notice("the journals record no change to Group.Unified; nothing to restore");
        let doc = RestoreOutcome::nothing(RestoreAction::AlreadyInRecordedState, None);
        crate::output::render(&doc, ctx.format, out)?;
        return Ok(ExitStatus::Ok);
    };
    let opts = Options::new("restore", dirs)
        .apply_flags(&args.apply)
        .journal(args.record.as_deref());
    let plan = async {
        let mut plan = SettingRestore::read(&ctx.client, rec, args.force).await?;
        plan.undoes = undoes;
        plan.redoing = redoing;
        Ok(plan)
    };
    let (mut doc, status) = match pipeline::run(ctx, opts, plan).await? {
        Stage::DryRun(p) => p.unwritten(true),
        Stage::NothingToDo(p) => p.unwritten(false),
        Stage::Done(_, doc) => (doc, ExitStatus::Ok),
    };
    doc.meta = Some(ctx.meta("restore"));
    crate::output::render(&doc, ctx.format, out)?;
    Ok(status)
}

impl crate::output::Render for RestoreOutcome {
    const FORMATS: &'static [OutputFormat] = &[OutputFormat::Table, OutputFormat::Json];

    fn json(&self, out: &mut dyn Write) -> std::io::Result<()> {
        write_json(out, self)
    }

    fn table(&self, out: &mut dyn Write) -> std::io::Result<()> {
        let what = match self.method {
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
        match self.action {
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
            RestoreAction::WouldRestore => {
                writeln!(out, "Dry run: would {what}; no change was made.")
            }
            _ => {
                writeln!(out, "Restored Group.Unified: {what}.")?;
                crate::output::write_undo_line(out, self.journal.as_deref().unwrap_or(""))
            }
        }
    }
}
