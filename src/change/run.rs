//! What a run that writes groups did: the result document (`--output json`), its exit code, and
//! the lines every group-writing command prints after its own summary. Shared by disable and
//! restore through the change layer, never by one command importing the other.

use std::io::Write;

use serde::Serialize;

use super::apply::{Applied, ItemFailure};
use crate::cli::OutputFormat;
use crate::error::ExitStatus;
use crate::journal::Journal;
use crate::output::write_json;
use crate::writeback::plan::{SkipReason, Skipped};

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
    /// Groups the config's policy keeps (`[policy] allow`, an exception in force).
    pub excluded_by_policy: u64,
    pub changed_since_plan: u64,
    /// `--plan`: groups that, read again, are no longer cloud Microsoft 365 groups (left
    /// alone; the run fails, exit 1).
    pub not_plannable: u64,
    /// `--plan REVIEW.csv`: rows whose displayName is not the group's name now.
    pub renamed_since_review: u64,
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

/// What the writes did, and the journal that recorded them.
pub(crate) struct Written {
    pub applied: Applied,
    pub journal: Journal,
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
        (None, ExitStatus::Ok) if summary.changed_since_run > 0 || summary.not_plannable > 0 => {
            ExitStatus::Failure
        }
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
    for k in result
        .skipped
        .iter()
        .filter(|k| k.reason == SkipReason::NotPlannable)
    {
        writeln!(
            out,
            "  NOT CHANGED: {} {}: not a cloud Microsoft 365 group now, so not one this command may change",
            k.id,
            crate::output::safe(k.display_name.as_deref().unwrap_or(""))
        )?;
    }
    if s.excluded_by_policy > 0 {
        writeln!(
            out,
            "  {} groups kept by the config's policy were left alone",
            s.excluded_by_policy
        )?;
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
