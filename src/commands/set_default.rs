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

use crate::change::pipeline::{self, Options, Stage};
use crate::change::setting::{Outcome, SetDefaultPlan, SettingAction, outcome};
use crate::change::{Context, Dirs};
use crate::cli::{OutputFormat, SetDefaultArgs};
use crate::error::ExitStatus;
use crate::output::{tenant_default_line, write_json};

pub async fn run(
    ctx: &Context,
    args: &SetDefaultArgs,
    dirs: &Dirs,
    out: &mut dyn Write,
) -> anyhow::Result<ExitStatus> {
    let timeout = crate::change::verify_timeout(args.verify_timeout)?;
    crate::output::require::<Outcome>(ctx.format, "set-default")?;
    let opts = Options::new("set-default", dirs)
        .not_asked()
        .stop_before_writing(args.dry_run)
        .journal(args.journal.as_deref());
    let stage = pipeline::run(
        ctx,
        opts,
        SetDefaultPlan::read(&ctx.client, args.value, timeout),
    )
    .await?;
    let mut doc = match stage {
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
    doc.meta = Some(ctx.meta("set-default"));
    crate::output::render(&doc, ctx.format, out)?;
    // The write was made and is reported; a read-back that failed means it is not verified.
    Ok(if doc.verification_error.is_some() {
        ExitStatus::Failure
    } else {
        ExitStatus::Ok
    })
}

impl crate::output::Render for Outcome {
    const FORMATS: &'static [OutputFormat] = &[OutputFormat::Table, OutputFormat::Json];

    fn json(&self, out: &mut dyn Write) -> std::io::Result<()> {
        write_json(out, self)
    }

    fn table(&self, out: &mut dyn Write) -> std::io::Result<()> {
        writeln!(out, "{}", tenant_default_line(&self.before))?;
        let t = self.target;
        match self.action {
            SettingAction::Unchanged => writeln!(
                out,
                "Nothing to do: NewUnifiedGroupWritebackDefault is already {t}; no change was made."
            )?,
            SettingAction::WouldUpdate | SettingAction::Updated => {
                let raw_before = self
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
                let verb = if self.dry_run {
                    "Would change"
                } else {
                    "Changed"
                };
                let others = self
                    .values_after
                    .as_ref()
                    .map_or(0, |v| v.len().saturating_sub(1));
                writeln!(
                    out,
                    "{verb} NewUnifiedGroupWritebackDefault in Group.Unified ({}): {raw_before} -> {t}; the other {} kept as {} are.",
                    self.setting_id.as_deref().unwrap_or("?"),
                    crate::output::table::count(others as u64, "value is", "values are"),
                    crate::output::table::agree(others as u64, "it", "they"),
                )?;
            }
            _ => {
                let verb = if self.dry_run {
                    "Would create"
                } else {
                    "Created"
                };
                let values = self.values_after.as_deref().unwrap_or(&[]);
                writeln!(
                    out,
                    "{verb} Group.Unified from the template with these {}:",
                    crate::output::table::count(values.len() as u64, "value", "values")
                )?;
                for v in values {
                    writeln!(out, "  {} = {:?}", v.name, v.value.as_deref().unwrap_or(""))?;
                }
            }
        }
        match self.verified {
            Some(false) if self.verification_error.is_some() => writeln!(
                out,
                "Read back: FAILED, the change was written but could not be read back: {}",
                crate::output::safe(self.verification_error.as_deref().unwrap_or(""))
            )?,
            Some(true) => writeln!(out, "Read back: the tenant now shows {t}.")?,
            Some(false) => writeln!(
                out,
                "Read back: NOT yet showing {t} (Graph's reads lag writes); check again with `gwb report`."
            )?,
            None => {}
        }
        if self.dry_run {
            writeln!(out, "Dry run: no change was made.")?;
        }
        if let Some(j) = &self.journal {
            crate::output::write_undo_line(out, j)?;
        }
        Ok(())
    }
}
