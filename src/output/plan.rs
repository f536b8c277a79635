//! A bulk-change plan for people (`disable-existing-m365 --dry-run`, `restore --dry-run`): the
//! table both print, and the disable plan's renderers from its document (`doc::plan`).

use std::io::{self, Write};

use super::{TableLayout, safe};
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
        write_plan_table(
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

/// A bulk-change plan for people: a table of the changes (NAME, NOW, CHANGE; the id with
/// `--wide`), fitted to the terminal, the skips counted, then the summary.
pub(crate) fn write_plan_table(
    w: &mut dyn Write,
    title: &str,
    changes: &[crate::writeback::plan::Change],
    skipped: &[crate::writeback::plan::Skipped],
    summary_lines: &[String],
    layout: TableLayout,
) -> io::Result<()> {
    writeln!(w, "{title}")?;
    plan_rows(w, changes, layout)?;
    let mut by_reason: std::collections::BTreeMap<String, u64> = Default::default();
    for s in skipped {
        *by_reason
            .entry(
                serde_json::to_value(s.reason)
                    .ok()
                    .and_then(|v| v.as_str().map(String::from))
                    .unwrap_or_default(),
            )
            .or_default() += 1;
    }
    for (r, n) in by_reason {
        writeln!(w, "  skipped ({r}): {n}")?;
    }
    // Skipped for a reason of their own (the policy entry that keeps them): listed one by one.
    for s in skipped {
        if let Some(note) = &s.note {
            writeln!(
                w,
                "    {}  {}: {}",
                s.id,
                safe(s.display_name.as_deref().unwrap_or("")),
                safe(note)
            )?;
        }
    }
    for l in summary_lines {
        writeln!(w, "{}", super::table::fitted_to(layout.width, l, "", "  "))?;
    }
    w.flush()
}

/// A writeback state in words: on, off or unset (isEnabled null: written back for a Microsoft
/// 365 group, not for a security group), and the type when set.
fn state_words(wb: &crate::graph::model::WritebackConfiguration) -> String {
    let on = match wb.is_enabled {
        Some(true) => "on",
        Some(false) => "off",
        None => "unset",
    };
    match wb.on_premises_group_type.as_deref() {
        Some(t) => format!("{on}, {}", safe(super::table::type_label(t))),
        None => on.to_string(),
    }
}

/// The changes as a table: the name (marked `[role]` for a role-assignable group), the state
/// now, the change (the type said again only when it changes), and the id with `--wide`. On
/// a terminal the name gets the width the other columns leave, cut in the middle.
fn plan_rows(
    w: &mut dyn Write,
    changes: &[crate::writeback::plan::Change],
    layout: TableLayout,
) -> io::Result<()> {
    use console::{Alignment, measure_text_width, pad_str};
    if changes.is_empty() {
        return Ok(());
    }
    let rows: Vec<[String; 4]> = changes
        .iter()
        .map(|c| {
            let name = safe(c.display_name.as_deref().unwrap_or("")).into_owned();
            let name = if c.role_assignable {
                format!("{name} [role]")
            } else {
                name
            };
            let after = match (
                &c.before.on_premises_group_type,
                &c.after.on_premises_group_type,
            ) {
                (b, a) if b == a => state_words(&crate::graph::model::WritebackConfiguration {
                    on_premises_group_type: None,
                    ..c.after.clone()
                }),
                // check --fix drops a type the group's kind cannot have: said, not hidden.
                (Some(_), None) => format!("{}, no type", state_words(&c.after)),
                _ => state_words(&c.after),
            };
            [
                name,
                state_words(&c.before),
                format!("-> {after}"),
                c.id.to_string(),
            ]
        })
        .collect();
    let widest = |i: usize, title: &str| {
        rows.iter()
            .map(|r| measure_text_width(&r[i]))
            .chain([title.len()])
            .max()
            .unwrap_or(0)
    };
    let (now_w, change_w) = (widest(1, "NOW"), widest(2, "CHANGE"));
    let id_w = if layout.wide { 2 + widest(3, "ID") } else { 0 };
    let name_w = match layout.width {
        Some(width) => width
            .saturating_sub(2 + 2 + now_w + 2 + change_w + id_w)
            .clamp(12, widest(0, "NAME").max(12)),
        None => widest(0, "NAME"),
    };
    let line = |cells: [&str; 4]| {
        let mut l = format!(
            "  {}  {}  {}",
            pad_str(
                &super::table::truncate_middle(cells[0], name_w),
                name_w,
                Alignment::Left,
                None
            ),
            pad_str(cells[1], now_w, Alignment::Left, None),
            if layout.wide {
                pad_str(cells[2], change_w, Alignment::Left, None)
            } else {
                cells[2].into()
            },
        );
        if layout.wide {
            l.push_str("  ");
            l.push_str(cells[3]);
        }
        l.trim_end().to_string()
    };
    writeln!(w, "{}", line(["NAME", "NOW", "CHANGE", "ID"]))?;
    for r in &rows {
        writeln!(w, "{}", line([&r[0], &r[1], &r[2], &r[3]]))?;
    }
    if changes.iter().any(|c| c.role_assignable) {
        writeln!(
            w,
            "{}",
            super::table::fitted_to(
                layout.width,
                "[role]: role-assignable; Graph changes it only for an app that also holds RoleManagement.ReadWrite.Directory",
                "  ",
                "    "
            )
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod plan_table {
    use super::*;
    use crate::output::table::truncate_middle;

    #[test]
    fn a_long_name_is_cut_in_the_middle_to_its_width() {
        assert_eq!(
            truncate_middle("Finance Team 00016", 40),
            "Finance Team 00016"
        );
        let cut = truncate_middle("Équipe Engineering Zürich 東京 00011", 16);
        assert!(console::measure_text_width(&cut) <= 16, "{cut}");
        assert!(
            cut.starts_with("Équipe") && cut.ends_with("00011") && cut.contains('…'),
            "{cut}"
        );
    }

    #[test]
    fn the_plan_fits_its_terminal_and_says_the_type_once() {
        use crate::graph::model::WritebackConfiguration as Wb;
        let change = |name: &str, role: bool| crate::writeback::plan::Change {
            id: "0b1f5a6e-1111-4c1e-9e4f-00000000000a".into(),
            display_name: Some(name.into()),
            before: Wb {
                is_enabled: None,
                on_premises_group_type: Some("universalSecurityGroup".into()),
            },
            after: Wb {
                is_enabled: Some(false),
                on_premises_group_type: Some("universalSecurityGroup".into()),
            },
            role_assignable: role,
        };
        let changes = [
            change(&"A very long group name ".repeat(6), false),
            change("HR 00004", true),
        ];
        let mut cleared = change("Mail 00009", false);
        cleared.after.on_premises_group_type = None;
        let mut out = Vec::new();
        let layout = TableLayout {
            width: Some(80),
            wide: false,
            members: false,
        };
        let changes = [changes[0].clone(), changes[1].clone(), cleared];
        write_plan_table(&mut out, "Plan:", &changes, &[], &[], layout).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.lines().all(|l| console::measure_text_width(l) <= 80),
            "{text}"
        );
        assert!(
            text.contains("unset, security") && text.contains("-> off\n"),
            "{text}"
        );
        assert!(
            text.contains("HR 00004 [role]") && text.contains("RoleManagement.ReadWrite.Directory")
        );
        assert!(!text.contains("0b1f5a6e"), "ids only with --wide");
        assert!(
            text.contains("-> off, no type"),
            "a dropped type is said: {text}"
        );
    }
}
