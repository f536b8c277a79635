//! `gwb restore --journal PATH...`: put every group a journal recorded back to its
//! before-state, through the same apply path (consent, batching, retries, journal).

mod setting;

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::change::apply::{self, Applied, Current, same_state};
use crate::change::pipeline::{self, ChangeSet, Journals, Options, Stage};
use crate::change::run::{Done, Written, finish_with, write_run_details};
use crate::change::undo::{RESTORE, redoing, run_words};
use crate::change::{Context, Dirs};
use crate::cli::{ApplyArgs, OutputFormat, RestoreArgs};
use crate::doc::{RunResult, RunSummary};
use crate::error::{ExitStatus, UsageError};
use crate::graph::model::GroupId;
use crate::journal::{self, GroupResult, JournalContents};
use crate::output::write_json;
use crate::writeback::plan::{Change, SkipReason, Skipped};

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct RestorePlan<'a> {
    journals: Vec<String>,
    summary: RestoreSummary,
    changes: &'a [Change],
    skipped: &'a [Skipped],
    /// A restore of a restore: what it would do, in words (the table says it).
    #[serde(skip)]
    redoes: Option<String>,
    meta: crate::doc::Meta,
    /// `--wide`: the table shows ids.
    #[serde(skip)]
    wide: bool,
}

impl crate::output::Render for RestorePlan<'_> {
    const FORMATS: &'static [OutputFormat] = &[OutputFormat::Table, OutputFormat::Json];

    fn table(&self, out: &mut dyn Write) -> std::io::Result<()> {
        let mut lines = vec![format!("Summary: {}", self.summary.line())];
        if let Some(q) = &self.redoes {
            lines.push(format!("This restores a restore: it would {q}."));
        }
        crate::output::write_plan_table(
            out,
            &format!(
                "Dry run: would restore {} to their recorded state (no writes made):",
                crate::output::table::groups(self.changes.len() as u64)
            ),
            self.changes,
            self.skipped,
            &lines,
            crate::output::TableLayout {
                width: crate::output::table::terminal_width(),
                wide: self.wide,
                members: false,
            },
        )
    }

    fn json(&self, out: &mut dyn Write) -> std::io::Result<()> {
        write_json(out, self)
    }
}

/// A restore in numbers, as `--dry-run` and the prompt say it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct RestoreSummary {
    to_restore: usize,
    already_in_recorded_state: usize,
    changed_since_run: usize,
    deleted_meanwhile: usize,
}

impl RestoreSummary {
    fn of(changes: &[Change], skipped: &[Skipped]) -> Self {
        let count = |r: SkipReason| skipped.iter().filter(|k| k.reason == r).count();
        RestoreSummary {
            to_restore: changes.len(),
            already_in_recorded_state: count(SkipReason::AlreadyInRecordedState),
            changed_since_run: count(SkipReason::ChangedSinceRun),
            deleted_meanwhile: count(SkipReason::DeletedMeanwhile),
        }
    }

    fn line(&self) -> String {
        format!(
            "{} to restore; {} already as recorded, {} changed since gwb's run (left alone without --force), {} deleted meanwhile",
            crate::output::table::groups(self.to_restore as u64),
            self.already_in_recorded_state,
            self.changed_since_run,
            self.deleted_meanwhile
        )
    }
}

/// One journal in the state directory, as `restore --list` shows it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct JournalEntry {
    path: String,
    command: Option<String>,
    started_at: Option<String>,
    tenant_id: Option<String>,
    graph_root: Option<String>,
    /// Groups with a before-state recorded.
    groups: usize,
    changed: usize,
    failed: usize,
    /// The run changed Group.Unified.
    setting: bool,
    /// `finished`, `interrupted` (no end record), or `unreadable`.
    state: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

impl JournalEntry {
    /// A journal as `--list` shows it, or why it could not be read.
    fn new(path: &Path, read: Result<JournalContents, String>) -> Self {
        match read {
            Ok(j) => JournalEntry {
                path: path.display().to_string(),
                command: Some(j.command.clone()),
                started_at: Some(j.started_at.clone()),
                tenant_id: j.tenant_id.clone(),
                graph_root: Some(j.graph_root.clone()),
                groups: j.befores.len(),
                changed: j
                    .outcomes
                    .values()
                    .filter(|r| **r == GroupResult::Changed)
                    .count(),
                failed: j
                    .outcomes
                    .values()
                    .filter(|r| matches!(r, GroupResult::Failed | GroupResult::NotApplied))
                    .count(),
                setting: j.setting.is_some(),
                state: if j.finished {
                    "finished"
                } else {
                    "interrupted"
                },
                error: None,
            },
            Err(e) => JournalEntry {
                path: path.display().to_string(),
                command: None,
                started_at: None,
                tenant_id: None,
                graph_root: None,
                groups: 0,
                changed: 0,
                failed: 0,
                setting: false,
                state: "unreadable",
                error: Some(e),
            },
        }
    }
}

/// The journals (`*.jsonl`) in `dir`, newest first; unreadable ones are listed as such.
fn journals_in(dir: &Path) -> Vec<(PathBuf, Result<JournalContents, String>)> {
    let mut found: Vec<(PathBuf, Result<JournalContents, String>)> = std::fs::read_dir(dir)
        .map(|d| {
            d.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|e| e == "jsonl"))
                .map(|p| {
                    let read = journal::read(&p).map_err(|e| e.to_string());
                    (p, read)
                })
                .collect()
        })
        .unwrap_or_default();
    let started = |r: &Result<JournalContents, String>| {
        r.as_ref().map(|j| j.started_at.clone()).unwrap_or_default()
    };
    found.sort_by(|a, b| started(&b.1).cmp(&started(&a.1)).then(b.0.cmp(&a.0)));
    found
}

/// `gwb restore --list`: what each journal in the state directory recorded. Reads no tenant.
pub(crate) fn list(
    state_dir: Option<&Path>,
    format: OutputFormat,
    way_back: &crate::change::WayBack,
    out: &mut dyn Write,
) -> anyhow::Result<ExitStatus> {
    crate::output::require::<JournalList>(format, "restore --list")?;
    let dir = state_dir.ok_or_else(|| {
        UsageError("no state directory (neither XDG_STATE_HOME nor HOME is set)".into())
    })?;
    let entries: Vec<JournalEntry> = journals_in(dir)
        .into_iter()
        .map(|(path, read)| JournalEntry::new(&path, read))
        .collect();
    let list = JournalList {
        dir,
        entries,
        way_back,
    };
    crate::output::render(&list, format, out)?;
    Ok(ExitStatus::Ok)
}

/// `restore --list` as printed: the journals of a state directory.
struct JournalList<'a> {
    dir: &'a Path,
    entries: Vec<JournalEntry>,
    way_back: &'a crate::change::WayBack,
}

impl crate::output::Render for JournalList<'_> {
    const FORMATS: &'static [OutputFormat] = &[OutputFormat::Table, OutputFormat::Json];

    fn json(&self, out: &mut dyn Write) -> std::io::Result<()> {
        write_json(
            out,
            &serde_json::json!({ "stateDir": self.dir.display().to_string(), "journals": self.entries }),
        )
    }

    fn table(&self, out: &mut dyn Write) -> std::io::Result<()> {
        if self.entries.is_empty() {
            return writeln!(out, "No journals in {}.", self.dir.display());
        }
        let width = crate::output::table::terminal_width();
        let header = format!(
            "{:<20} {:<21} {:>6} {:>7} {:>6}  {:<11}",
            "STARTED", "COMMAND", "GROUPS", "CHANGED", "FAILED", "STATE"
        );
        match width {
            Some(w) if header.len() + 5 > w => writeln!(out, "{}\n    PATH", header.trim_end())?,
            _ => writeln!(out, "{header} PATH")?,
        }
        for e in &self.entries {
            let command = match (&e.command, e.setting) {
                (Some(c), true) => format!("{c} (setting)"),
                (Some(c), false) => c.clone(),
                (None, _) => "?".into(),
            };
            let row = format!(
                "{:<20} {:<21} {:>6} {:>7} {:>6}  {:<11}",
                e.started_at
                    .as_deref()
                    .unwrap_or("?")
                    .get(..19)
                    .unwrap_or("?"),
                command,
                e.groups,
                e.changed,
                e.failed,
                e.state,
            );
            // On a terminal too narrow for the path after the row, the path gets a line of
            // its own (whole, so it can be copied).
            match width {
                Some(w) if row.len() + 1 + e.path.len() > w => {
                    writeln!(out, "{}\n    {}", row.trim_end(), e.path)?
                }
                _ => writeln!(out, "{row} {}", e.path)?,
            }
        }
        // With the flags that chose the target, so that pasted it reaches the same tenant.
        writeln!(
            out,
            "Undo one with: {} (or --last for the newest)",
            self.way_back.command(&["restore", "--journal", "PATH"])
        )?;
        Ok(())
    }
}

/// `--last`: the newest readable journal in the state directory made against this Graph root
/// and tenant; a restore's own journal only with `include_restores` (undoing an undo redoes the
/// change, which `--last` must never do by accident).
fn last_journal(
    state_dir: Option<&Path>,
    target: &crate::change::Target,
    include_restores: bool,
) -> anyhow::Result<PathBuf> {
    let dir = state_dir.ok_or_else(|| {
        UsageError("--last: no state directory (neither XDG_STATE_HOME nor HOME is set); give --journal PATH".into())
    })?;
    let mut skipped = Vec::new();
    let newest = journals_in(dir).into_iter().find_map(|(p, read)| {
        let j = read.ok()?;
        if !target.matches(&j.graph_root, j.tenant_id.as_deref()) {
            return None;
        }
        if j.command == RESTORE && !include_restores {
            skipped.push(p);
            return None;
        }
        Some((p, j))
    });
    if !skipped.is_empty() {
        crate::output::notice(&format!(
            "--last: skipped {} newer restore journals ({}): undoing a restore redoes the change it undid; add --include-restores to mean that",
            skipped.len(),
            skipped
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    match newest {
        Some((p, j)) => {
            crate::output::notice(&format!(
                "--last: the newest journal here is {} ({}, started {})",
                p.display(),
                j.command,
                j.started_at
            ));
            Ok(p)
        }
        None => Err(UsageError(format!(
            "--last: no journal in {} was made against {} for this tenant; list them with gwb restore --list",
            dir.display(),
            target.graph_root
        ))
        .into()),
    }
}

/// Read the journals, check they belong to this Graph root and tenant, oldest run first.
fn read_journals(
    paths: &[std::path::PathBuf],
    target: &crate::change::Target,
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
        let sent = match j.outcomes.get(c.id.as_str()) {
            Some(result) => result.was_sent(),
            None => !j.finished,
        };
        if sent {
            keep.push(c);
        } else if !j.outcomes.contains_key(c.id.as_str()) {
            ignored.push(c.id.to_string());
        }
    }
    (keep, ignored)
}

/// For a group in several journals, the earliest run's before-state wins, and what the latest
/// run wrote is what must still hold for gwb to put it back.
fn recorded_states(journals: Vec<JournalContents>) -> anyhow::Result<Vec<Change>> {
    let mut index: HashMap<GroupId, usize> = HashMap::new();
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
        // Every id was checked to be a GUID when the journal was read (a tampered one is
        // refused there, naming its line).
        for c in keep {
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
    /// The runs restored ([`run_words`]), recorded in this restore's journal.
    undoes: Vec<String>,
    /// The runs this restore redoes, when it restores a restore ([`redoing`]).
    redoing: Vec<String>,
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
        let ids: Vec<GroupId> = recorded.iter().map(|c| c.id.clone()).collect();
        let current = apply::read_current(&ctx.client, &ids).await?;
        let mut plan = GroupRestore {
            changes: Vec::new(),
            skipped: Vec::new(),
            summary: RunSummary::default(),
            args: args.clone(),
            undoes: Vec::new(),
            redoing: Vec::new(),
        };
        let mut unreadable = Vec::new();
        for r in recorded {
            let skip = |reason| Skipped {
                id: r.id.to_string(),
                display_name: r.display_name.clone(),
                reason,
                note: None,
            };
            match current.get(&r.id) {
                Some(Current::Found(now, _)) if same_state(now, &r.before) => {
                    plan.skipped.push(skip(SkipReason::AlreadyInRecordedState));
                }
                Some(Current::Found(now, _)) if same_state(now, &r.after) || force => {
                    plan.changes.push(Change {
                        role_assignable: false,
                        id: r.id.clone(),
                        display_name: r.display_name.clone(),
                        before: now.clone(),
                        after: r.before.clone(),
                    });
                }
                Some(Current::Found(..)) => {
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
                "could not read {} before restoring; nothing was changed: {}",
                crate::output::table::groups(unreadable.len() as u64),
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

    /// Worded by what the writes do: turning writeback off is a disable, whatever the command.
    fn question(&self) -> String {
        let (off, _) = directions(&self.changes);
        let redo = match self.redoing.as_slice() {
            [] => String::new(),
            runs => format!(", redoing the {}", runs.join(" and the ")),
        };
        match off {
            0 => format!(
                "restore the writeback configuration of {}",
                crate::output::table::groups(self.changes.len() as u64)
            ),
            off if off == self.changes.len() => {
                format!("turn writeback off on {off} groups{redo}")
            }
            off => format!(
                "restore the writeback configuration of {} (turning writeback off on {off} of them{redo})",
                crate::output::table::groups(self.changes.len() as u64)
            ),
        }
    }

    fn announce(&self) {
        crate::output::notice(&RestoreSummary::of(&self.changes, &self.skipped).line());
        if !self.redoing.is_empty() {
            crate::output::notice(&format!(
                "this restores a restore: it redoes the {}",
                self.redoing.join(" and the ")
            ));
        }
    }

    /// A restore that turns writeback off deletes AD copies like any disable; one that turns it
    /// on again brings them back only as the restore note says.
    fn on_premises(&self) -> Option<&'static str> {
        match directions(&self.changes) {
            (0, 0) => None,
            (0, _) => Some(crate::writeback::onprem::RESTORE),
            _ => Some(crate::writeback::onprem::DISABLE),
        }
    }

    async fn write(
        &mut self,
        ctx: &Context,
        journals: &mut Journals<'_>,
    ) -> anyhow::Result<Written> {
        journals.undoing(self.undoes.clone());
        let journal = journals.open(RESTORE)?;
        let mut applied = apply::apply(
            &ctx.client,
            &self.changes,
            // Every journaled id is a GUID (checked when the journal was read).
            &[],
            &journal,
            &self.args,
            apply::SkipAs {
                changed: SkipReason::ChangedSinceRun,
                already: SkipReason::AlreadyInRecordedState,
                only_cloud_m365: false,
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
                    .any(|c| c.id.is(&f.id) && c.after.is_enabled.is_none())
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
    dirs: &Dirs,
    out: &mut dyn Write,
) -> anyhow::Result<ExitStatus> {
    apply::check_args(&args.apply)?;
    crate::output::require::<RestorePlan>(ctx.format, "restore")?;
    let paths = if args.last {
        vec![last_journal(
            dirs.state.as_deref(),
            &ctx.target,
            args.include_restores,
        )?]
    } else {
        args.journals.clone()
    };
    let journals = read_journals(&paths, &ctx.target)?;
    // A set-default run's journal, or a restore's that wrote the setting.
    let settings = journals
        .iter()
        .filter(|j| j.command == "set-default" || j.setting.is_some())
        .count();
    if settings > 0 {
        if settings < journals.len() {
            return Err(UsageError(
                "restore set-default journals on their own, not together with journals of group changes; nothing was changed".into(),
            )
            .into());
        }
        return setting::restore(ctx, args, journals, dirs, out).await;
    }
    let undoes: Vec<String> = journals.iter().map(run_words).collect();
    let redoing = redoing(&journals);
    let recorded = recorded_states(journals)?;
    let opts = Options::new("restore", dirs)
        .apply_flags(&args.apply)
        .journal(args.record.as_deref());
    let plan = async {
        let mut plan = GroupRestore::read(ctx, recorded, args.force, &args.apply).await?;
        plan.undoes = undoes;
        plan.redoing = redoing;
        Ok(plan)
    };
    match pipeline::run(ctx, opts, plan).await? {
        Stage::DryRun(p) => {
            let print = |out: &mut dyn Write| {
                crate::output::render(
                    &plan_doc(&paths, &p, ctx.meta("restore"), args.wide),
                    ctx.format,
                    out,
                )
            };
            pipeline::show_dry_run(ctx, out, p.on_premises(), print).await?;
            Ok(ExitStatus::Ok)
        }
        Stage::NothingToDo(p) => finish(out, ctx, None, p.summary, Applied::default(), p.skipped),
        Stage::Done(p, w) => {
            // Said at the prompt and again with what was done; a scheduled run (--yes) logged it.
            let note = p.on_premises();
            let status = finish(out, ctx, Some(&w.journal), p.summary, w.applied, p.skipped)?;
            pipeline::note_on_premises(out, ctx.format, args.apply.yes, note)?;
            Ok(status)
        }
    }
}

fn plan_doc<'p>(
    journals: &[PathBuf],
    plan: &'p GroupRestore,
    meta: crate::doc::Meta,
    wide: bool,
) -> RestorePlan<'p> {
    RestorePlan {
        journals: journals.iter().map(|p| p.display().to_string()).collect(),
        summary: RestoreSummary::of(&plan.changes, &plan.skipped),
        changes: &plan.changes,
        skipped: &plan.skipped,
        redoes: (!plan.redoing.is_empty()).then(|| plan.question()),
        meta,
        wide,
    }
}

/// What a group restore did, in restore's own words.
fn write_restore_table(out: &mut dyn Write, result: &RunResult) -> std::io::Result<()> {
    let s = &result.summary;
    let already = result
        .skipped
        .iter()
        .filter(|k| k.reason == SkipReason::AlreadyInRecordedState)
        .count();
    let line = format!(
        "Restored {} of {}; {} already as recorded, {} changed since gwb's run, {} deleted meanwhile, {} failed",
        s.changed,
        crate::output::table::groups(s.planned),
        already,
        s.changed_since_run,
        s.deleted_meanwhile,
        s.failed
    );
    writeln!(out, "{}", crate::output::table::fitted(&line, "", "  "))?;
    write_run_details(out, result)
}

/// Print a restore's result and choose its exit code.
fn finish(
    out: &mut dyn Write,
    ctx: &Context,
    journal: Option<&crate::journal::Journal>,
    summary: RunSummary,
    applied: Applied,
    skipped: Vec<Skipped>,
) -> anyhow::Result<ExitStatus> {
    let done = Done {
        meta: ctx.meta("restore"),
        journal,
        summary,
        applied,
        skipped,
    };
    finish_with(out, ctx.format, done, write_restore_table)
}

/// How many changes turn a group's writeback off (to `isEnabled: false`), and how many turn it
/// on again (from `false`): what the AD side of a restore depends on.
fn directions(changes: &[Change]) -> (usize, usize) {
    let off = changes
        .iter()
        .filter(|c| c.before.is_enabled != Some(false) && c.after.is_enabled == Some(false))
        .count();
    let on = changes
        .iter()
        .filter(|c| c.before.is_enabled == Some(false) && c.after.is_enabled != Some(false))
        .count();
    (off, on)
}
