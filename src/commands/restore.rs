//! `gwb restore --journal PATH...`: put every group a journal recorded back to its
//! before-state, through the same apply path (consent, batching, retries, journal).

use std::collections::HashMap;
use std::io::Write;
use std::path::Path;

use serde::Serialize;

use super::Context;
use super::apply::{self, Applied, Current, same_state};
use super::disable::{RunSummary, Written, finish};
use super::pipeline::{self, ChangeSet, Consent, Journals, Options, Stage};
use crate::cli::{ApplyArgs, OutputFormat, RestoreArgs};
use crate::error::{ExitStatus, UsageError};
use crate::journal::{self, JournalContents};
use crate::output::{write_json, write_plan_table};
use crate::writeback::plan::{Change, SkipReason, Skipped, is_guid};

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct RestorePlan<'a> {
    journals: Vec<String>,
    changes: &'a [Change],
    skipped: &'a [Skipped],
}

/// Read the journals, check they belong to this Graph root and tenant, oldest run first.
fn read_journals(
    paths: &[std::path::PathBuf],
    target: &super::Target,
) -> anyhow::Result<Vec<JournalContents>> {
    let mut journals: Vec<JournalContents> = Vec::new();
    for p in paths {
        let j = journal::read(p).map_err(|e| UsageError(e.to_string()))?;
        target.check(
            &format!("journal {}", p.display()),
            &j.graph_root,
            j.tenant_id.as_deref(),
        )?;
        if !j.finished {
            tracing::warn!(
                "journal {} has no end record: that run was interrupted; every group it may have changed is restored",
                p.display()
            );
        }
        journals.push(j);
    }
    journals.sort_by(|a, b| a.started_at.cmp(&b.started_at));
    Ok(journals)
}

/// The groups a journal's run changed or may have changed: those with an outcome that says a
/// write was sent, and, in a run that did not finish, those whose write was in flight (a
/// before-state with no outcome). A before-state in a finished run without an outcome was never
/// written by gwb (an edited journal): it is ignored, and said.
fn restorable(j: JournalContents) -> (Vec<Change>, Vec<String>) {
    let mut keep = Vec::new();
    let mut ignored = Vec::new();
    for c in j.befores {
        let sent = match j.outcomes.get(&c.id) {
            Some(result) => result.was_sent(),
            None => !j.finished,
        };
        if sent {
            keep.push(c);
        } else if !j.outcomes.contains_key(&c.id) {
            ignored.push(c.id);
        }
    }
    (keep, ignored)
}

/// For a group in several journals, the earliest run's before-state wins, and what the latest
/// run wrote is what must still hold for gwb to put it back.
fn recorded_states(journals: Vec<JournalContents>) -> anyhow::Result<Vec<Change>> {
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut out: Vec<Change> = Vec::new();
    for j in journals {
        let path = j.path.clone();
        let (keep, ignored) = restorable(j);
        if !ignored.is_empty() {
            tracing::warn!(
                "journal {}: ignoring {} before-state lines of groups the run never wrote (no outcome in a finished run; the file was edited?): {}",
                path.display(),
                ignored.len(),
                ignored
                    .iter()
                    .map(|i| crate::output::safe(i).into_owned())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
        for c in keep {
            if !is_guid(&c.id) {
                return Err(UsageError(format!(
                    "journal {}: {:?} is not a group id",
                    path.display(),
                    c.id
                ))
                .into());
            }
            match index.get(&c.id) {
                Some(&i) => out[i].after = c.after,
                None => {
                    index.insert(c.id.clone(), out.len());
                    out.push(c);
                }
            }
        }
    }
    Ok(out)
}

/// A restore of groups as the pipeline carries it.
struct GroupRestore {
    changes: Vec<Change>,
    skipped: Vec<Skipped>,
    summary: RunSummary,
    args: ApplyArgs,
}

impl GroupRestore {
    /// Read the recorded groups now, and plan compare-and-set: put back only what still holds
    /// what gwb wrote (everything with `force`).
    async fn read(
        ctx: &Context,
        recorded: Vec<Change>,
        force: bool,
        args: &ApplyArgs,
    ) -> anyhow::Result<Self> {
        let ids: Vec<String> = recorded.iter().map(|c| c.id.clone()).collect();
        let current = apply::read_current(&ctx.client, &ids).await?;
        let mut plan = GroupRestore {
            changes: Vec::new(),
            skipped: Vec::new(),
            summary: RunSummary::default(),
            args: args.clone(),
        };
        let mut unreadable = Vec::new();
        for r in recorded {
            let skip = |reason| Skipped {
                id: r.id.clone(),
                display_name: r.display_name.clone(),
                reason,
            };
            match current.get(&r.id) {
                Some(Current::Found(now)) if same_state(now, &r.before) => {
                    plan.skipped.push(skip(SkipReason::AlreadyInRecordedState));
                }
                Some(Current::Found(now)) if same_state(now, &r.after) || force => {
                    plan.changes.push(Change {
                        role_assignable: false,
                        id: r.id.clone(),
                        display_name: r.display_name.clone(),
                        before: now.clone(),
                        after: r.before.clone(),
                    });
                }
                Some(Current::Found(_)) => {
                    plan.summary.changed_since_run += 1;
                    plan.skipped.push(skip(SkipReason::ChangedSinceRun));
                }
                Some(Current::Deleted(_)) => {
                    plan.summary.deleted_meanwhile += 1;
                    plan.skipped.push(skip(SkipReason::DeletedMeanwhile));
                }
                Some(Current::Unreadable(e)) => unreadable.push(format!("{}: {e}", r.id)),
                None => unreadable.push(format!("{}: no answer", r.id)),
            }
        }
        if !unreadable.is_empty() {
            return Err(anyhow::anyhow!(
                "could not read {} groups before restoring them; nothing was changed: {}",
                unreadable.len(),
                unreadable.join("; ")
            ));
        }
        plan.summary.planned = plan.changes.len() as u64;
        Ok(plan)
    }
}

#[async_trait::async_trait(?Send)]
impl ChangeSet for GroupRestore {
    type Done = Written;

    fn change_count(&self) -> usize {
        self.changes.len()
    }

    fn question(&self) -> String {
        format!(
            "restore the writeback configuration of {} groups",
            self.changes.len()
        )
    }

    async fn write(
        &mut self,
        ctx: &Context,
        journals: &mut Journals<'_>,
    ) -> anyhow::Result<Written> {
        let journal = journals.open("restore")?;
        let mut applied = apply::apply(
            &ctx.client,
            &self.changes,
            &journal,
            &self.args,
            apply::SkipAs {
                changed: SkipReason::ChangedSinceRun,
                already: SkipReason::AlreadyInRecordedState,
            },
        )
        .await?;
        self.summary.changed_since_run += applied
            .skipped
            .iter()
            .filter(|k| k.reason == SkipReason::ChangedSinceRun)
            .count() as u64;
        self.skipped.append(&mut applied.skipped);
        for f in &mut applied.failed {
            if f.status == 400
                && self
                    .changes
                    .iter()
                    .any(|c| c.id == f.id && c.after.is_enabled.is_none())
            {
                f.message.push_str(
                    " (the recorded state has isEnabled null, which Graph may refuse to write back; set isEnabled to true or false by hand if this persists)",
                );
            }
        }
        self.summary.add_applied(&applied);
        journal.finish_as(
            serde_json::to_value(&self.summary)?,
            self.summary.interrupted,
        )?;
        Ok(Written { applied, journal })
    }
}

pub async fn run(
    ctx: &Context,
    args: &RestoreArgs,
    state_dir: Option<&Path>,
    out: &mut dyn Write,
) -> anyhow::Result<ExitStatus> {
    apply::check_args(&args.apply)?;
    crate::output::require_format(
        ctx.format,
        "restore",
        &[OutputFormat::Table, OutputFormat::Json],
    )?;
    let journals = read_journals(&args.journals, &ctx.target)?;
    let settings = journals
        .iter()
        .filter(|j| j.command == "set-default")
        .count();
    if settings > 0 {
        if settings < journals.len() {
            return Err(UsageError(
                "restore set-default journals on their own, not together with journals of group changes; nothing was changed".into(),
            )
            .into());
        }
        return super::set_default::restore(ctx, args, journals, state_dir, out).await;
    }
    let recorded = recorded_states(journals)?;
    let opts = Options {
        command: "restore",
        dry_run: args.apply.dry_run,
        consent: Consent::Ask {
            yes: args.apply.yes,
        },
        max_changes: args.apply.max_changes,
        state_dir,
        journal: args.record.as_deref(),
    };
    let plan = GroupRestore::read(ctx, recorded, args.force, &args.apply);
    match pipeline::run(ctx, opts, plan).await? {
        Stage::DryRun(p) => {
            print_plan(out, ctx.format, &args.journals, &p.changes, &p.skipped)?;
            Ok(ExitStatus::Ok)
        }
        Stage::NothingToDo(p) => finish(
            out,
            ctx.format,
            None,
            p.summary,
            Applied::default(),
            p.skipped,
        ),
        Stage::Done(p, w) => finish(
            out,
            ctx.format,
            Some(&w.journal),
            p.summary,
            w.applied,
            p.skipped,
        ),
    }
}

fn print_plan(
    out: &mut dyn Write,
    format: OutputFormat,
    journals: &[std::path::PathBuf],
    changes: &[Change],
    skipped: &[Skipped],
) -> std::io::Result<()> {
    match format {
        OutputFormat::Table => write_plan_table(
            out,
            &format!(
                "Dry run: would restore {} groups to their recorded state (no writes made):",
                changes.len()
            ),
            changes,
            skipped,
            &[],
        ),
        _ => write_json(
            out,
            &RestorePlan {
                journals: journals.iter().map(|p| p.display().to_string()).collect(),
                changes,
                skipped,
            },
        ),
    }
}
