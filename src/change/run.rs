//! What a run that writes groups did: the result document (`--output json`), its exit code, and
//! the lines every group-writing command prints after its own summary. Shared by disable and
//! restore through the change layer, never by one command importing the other.

use std::io::Write;

use super::apply::Applied;
use crate::cli::OutputFormat;
use crate::doc::{RunResult, RunSummary};
use crate::error::ExitStatus;
use crate::journal::Journal;
use crate::output::write_json;
use crate::writeback::plan::{SkipReason, Skipped};

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
    /// What the result describes ([`crate::doc::Meta`]).
    pub meta: crate::doc::Meta,
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
    let done_meta = done.meta;
    let (result, status) = run_result(done.journal, done.summary, done.applied, done.skipped);
    crate::metrics::record_changes(result.changed.len(), result.failed.len());
    crate::output::render(
        &Printed {
            result: &result,
            meta: &done_meta,
            table,
        },
        format,
        out,
    )?;
    Ok(status)
}

/// A writing run's result as printed: the JSON contract, or a table in the command's words.
pub(crate) struct Printed<'a> {
    pub result: &'a RunResult,
    pub meta: &'a crate::doc::Meta,
    pub table: fn(&mut dyn Write, &RunResult) -> std::io::Result<()>,
}

impl crate::output::Render for Printed<'_> {
    const FORMATS: &'static [OutputFormat] = &[OutputFormat::Table, OutputFormat::Json];

    fn table(&self, out: &mut dyn Write) -> std::io::Result<()> {
        (self.table)(out, self.result)
    }

    fn json(&self, out: &mut dyn Write) -> std::io::Result<()> {
        write_json(
            out,
            &crate::doc::WithMeta {
                doc: self.result,
                meta: self.meta,
            },
        )
    }
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
        writeln!(
            out,
            "{}",
            crate::output::table::fitted(&f.line(), "  FAILED: ", "      ")
        )?;
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
            "  {} kept by the config's policy {} left alone",
            crate::output::table::groups(s.excluded_by_policy),
            if s.excluded_by_policy == 1 {
                "was"
            } else {
                "were"
            }
        )?;
    }
    if s.role_assignable_skipped > 0 {
        writeln!(
            out,
            "  {} {} left alone (--skip-role-assignable)",
            crate::output::table::count(
                s.role_assignable_skipped,
                "role-assignable group",
                "role-assignable groups"
            ),
            if s.role_assignable_skipped == 1 {
                "was"
            } else {
                "were"
            }
        )?;
    }
    if s.changed_since_run > 0 {
        writeln!(
            out,
            "  {} changed after gwb's run {} left alone (restore them too with --force):",
            crate::output::table::groups(s.changed_since_run),
            crate::output::table::agree(s.changed_since_run, "was", "were")
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
