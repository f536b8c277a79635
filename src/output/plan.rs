//! A disable plan (`disable-existing-m365 --dry-run`), from its document (`doc::plan`).

use std::io::{self, Write};

use crate::cli::OutputFormat;
use crate::doc::plan::PlanDoc;
use crate::writeback::plan::Change;

impl super::Render for PlanDoc {
    const FORMATS: &'static [OutputFormat] = &[
        OutputFormat::Table,
        OutputFormat::Json,
        OutputFormat::Ndjson,
        OutputFormat::Csv,
    ];

    fn table(&self, out: &mut dyn Write) -> io::Result<()> {
        let s = &self.summary;
        super::write_plan_table(
            out,
            &format!(
                "Dry run: would disable writeback on {} (no writes made):",
                super::table::count(
                    self.changes.len() as u64,
                    "Microsoft 365 group",
                    "Microsoft 365 groups"
                )
            ),
            &self.changes,
            &self.skipped,
            &[format!(
                "Summary: {}; {} already disabled, {} excluded, {} created on or after the cutoff, {} synced from AD, {} of other kinds",
                super::table::count(self.changes.len() as u64, "change", "changes"),
                s.already_disabled,
                s.excluded,
                s.created_on_or_after_cutoff,
                s.synced_from_on_premises,
                super::table::groups(s.other_kinds)
            )],
            super::TableLayout {
                width: super::table::terminal_width(),
                wide: self.wide,
                members: false,
            },
        )
    }

    fn json(&self, out: &mut dyn Write) -> io::Result<()> {
        super::write_json(out, self)
    }

    fn ndjson(&self, out: &mut dyn Write) -> io::Result<()> {
        for c in &self.changes {
            serde_json::to_writer(&mut *out, c)?;
            writeln!(out)?;
        }
        Ok(())
    }

    fn csv(&self, out: &mut dyn Write) -> io::Result<()> {
        super::write_csv_rows(out, CHANGE_COLUMNS, self.changes.iter().map(change_row))
    }
}

/// The columns of a plan as CSV: one change a row, what a change board reviews.
pub(crate) const CHANGE_COLUMNS: [&str; 7] = [
    "id",
    "displayName",
    "beforeIsEnabled",
    "beforeOnPremisesGroupType",
    "afterIsEnabled",
    "afterOnPremisesGroupType",
    "roleAssignable",
];

pub(crate) fn change_row(c: &Change) -> [String; 7] {
    let b = |v: Option<bool>| v.map_or(String::new(), |b| b.to_string());
    [
        c.id.to_string(),
        c.display_name.clone().unwrap_or_default(),
        b(c.before.is_enabled),
        c.before
            .on_premises_group_type
            .as_deref()
            .unwrap_or_default()
            .to_string(),
        b(c.after.is_enabled),
        c.after
            .on_premises_group_type
            .as_deref()
            .unwrap_or_default()
            .to_string(),
        c.role_assignable.to_string(),
    ]
}
