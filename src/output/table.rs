//! The report as a table for people: the name first (cut to the terminal's width), a plain
//! WRITTEN BACK yes/no, the kind, and what it is written back as; the id and the raw
//! `writebackConfiguration` behind `--wide`, the members with `--member-counts`. One line per
//! group at 80 columns. The summary counts what is shown, and fits 80 columns too.

use std::io::{self, Write};

use console::{Alignment, measure_text_width, pad_str, truncate_str};

use super::safe;
use crate::writeback::summary::ReportRow;
use crate::writeback::{Kind, Reason};

/// How the table is drawn.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct TableLayout {
    /// The terminal's width, when output goes to one: names are cut to fit. `None` (piped, a
    /// file): nothing is cut.
    pub width: Option<usize>,
    /// `--wide`: the id and the raw isEnabled and onPremisesGroupType too.
    pub wide: bool,
    /// `--member-counts`: a MEMBERS column.
    pub members: bool,
}

/// The terminal's width, when stdout is one.
pub(crate) fn terminal_width() -> Option<usize> {
    let term = console::Term::stdout();
    term.is_term()
        .then(|| term.size_checked().map(|(_, cols)| usize::from(cols)))
        .flatten()
}

/// The kind as people say it.
pub(crate) fn kind_label(kind: Kind) -> &'static str {
    match kind {
        Kind::Microsoft365 => "Microsoft 365",
        Kind::Security => "security",
        Kind::MailEnabledSecurity => "mail security",
        Kind::Distribution => "distribution",
    }
}

/// An on-premises group type as people say it.
pub(crate) fn type_label(t: &str) -> &str {
    match t {
        crate::graph::model::UNIVERSAL_DISTRIBUTION => "distribution",
        crate::graph::model::UNIVERSAL_SECURITY => "security",
        crate::graph::model::UNIVERSAL_MAIL_ENABLED_SECURITY => "mail security",
        other => other,
    }
}

/// What a group is written back as, or why it is not.
fn as_label(r: &ReportRow) -> String {
    match (r.written_back, r.written_back_as) {
        (true, Some(t)) => type_label(t).to_string(),
        (true, None) => "?".into(),
        (false, _) => match r.reason {
            Reason::Disabled => "- (disabled)",
            Reason::DefaultDisabled => "- (off by default)",
            Reason::Unsupported => "- (not supported)",
            Reason::SyncedFromOnPremises => "- (from AD)",
            Reason::Enabled | Reason::DefaultEnabled => "-",
        }
        .into(),
    }
}

struct Column {
    title: &'static str,
    cells: Vec<String>,
    right: bool,
}

impl Column {
    fn width(&self) -> usize {
        self.cells
            .iter()
            .map(|c| measure_text_width(c))
            .chain([self.title.len()])
            .max()
            .unwrap_or(0)
    }
}

/// The group rows, and then the warnings ([!]) of the groups that have one.
pub(crate) fn write_groups(
    w: &mut dyn Write,
    rows: &[ReportRow],
    layout: TableLayout,
) -> io::Result<()> {
    let name = |r: &ReportRow| {
        let n = safe(r.display_name.as_deref().unwrap_or("")).into_owned();
        if r.warning.is_some() {
            format!("{n} [!]")
        } else {
            n
        }
    };
    let mut fixed = vec![
        Column {
            title: "WRITTEN BACK",
            cells: rows
                .iter()
                .map(|r| if r.written_back { "yes" } else { "no" }.into())
                .collect(),
            right: false,
        },
        Column {
            title: "KIND",
            cells: rows
                .iter()
                .map(|r| {
                    let k = kind_label(r.kind);
                    if r.synced_from_on_premises {
                        format!("{k} (AD)")
                    } else {
                        k.to_string()
                    }
                })
                .collect(),
            right: false,
        },
        Column {
            title: "AS",
            cells: rows.iter().map(as_label).collect(),
            right: false,
        },
    ];
    if layout.members {
        fixed.push(Column {
            title: "MEMBERS",
            cells: rows
                .iter()
                .map(|r| {
                    r.member_count
                        .map(|n| n.to_string())
                        .unwrap_or_else(|| "-".into())
                })
                .collect(),
            right: true,
        });
    }
    if layout.wide {
        fixed.push(Column {
            title: "ISENABLED",
            cells: rows
                .iter()
                .map(|r| super::show_bool(r.is_enabled).to_string())
                .collect(),
            right: false,
        });
        fixed.push(Column {
            title: "RAW TYPE",
            cells: rows
                .iter()
                .map(|r| {
                    r.on_premises_group_type
                        .clone()
                        .unwrap_or_else(|| "null".into())
                })
                .collect(),
            right: false,
        });
        fixed.push(Column {
            title: "ID",
            cells: rows.iter().map(|r| r.id.clone()).collect(),
            right: false,
        });
    }
    let widths: Vec<usize> = fixed.iter().map(Column::width).collect();
    let names: Vec<String> = rows.iter().map(name).collect();
    let longest = names
        .iter()
        .map(|n| measure_text_width(n))
        .chain(["NAME".len()])
        .max()
        .unwrap_or(4);
    let others: usize = widths.iter().map(|w| w + 2).sum();
    let name_width = match layout.width {
        Some(cols) => longest.min(cols.saturating_sub(others).max(12)),
        None => longest,
    };
    let line = |w: &mut dyn Write, name: &str, cells: Vec<&str>| -> io::Result<()> {
        let mut out = pad_str(
            &truncate_str(name, name_width, "…"),
            name_width,
            Alignment::Left,
            None,
        )
        .into_owned();
        for ((cell, width), col) in cells.iter().zip(&widths).zip(&fixed) {
            let align = if col.right {
                Alignment::Right
            } else {
                Alignment::Left
            };
            out.push_str("  ");
            out.push_str(&pad_str(cell, *width, align, None));
        }
        writeln!(w, "{}", out.trim_end())
    };
    line(w, "NAME", fixed.iter().map(|c| c.title).collect())?;
    for (i, n) in names.iter().enumerate() {
        line(w, n, fixed.iter().map(|c| c.cells[i].as_str()).collect())?;
    }
    let warned: Vec<&ReportRow> = rows.iter().filter(|r| r.warning.is_some()).collect();
    if !warned.is_empty() {
        writeln!(w)?;
        writeln!(w, "Needs attention [!]:")?;
        for r in warned {
            writeln!(
                w,
                "  {} ({}): {}",
                safe(r.display_name.as_deref().unwrap_or("")),
                r.id,
                safe(r.warning.as_deref().unwrap_or(""))
            )?;
        }
    }
    Ok(())
}

/// "1 group", "2 groups".
pub(crate) fn groups(n: u64) -> String {
    if n == 1 {
        "1 group".into()
    } else {
        format!("{n} groups")
    }
}

/// `text` in lines of at most `width` columns, broken at spaces (a word longer than a line
/// stays whole); lines after the first start with `indent`.
pub(crate) fn wrap(text: &str, width: usize, first: &str, indent: &str) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = first.to_string();
    let mut empty = true;
    for word in text.split(' ').filter(|w| !w.is_empty()) {
        let need = measure_text_width(word) + usize::from(!empty);
        if !empty && measure_text_width(&line) + need > width {
            lines.push(std::mem::replace(&mut line, indent.to_string()));
            empty = true;
        }
        if !empty {
            line.push(' ');
        }
        line.push_str(word);
        empty = false;
    }
    lines.push(line);
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrapped_lines_fit_and_keep_every_word() {
        let text = "Entra Connect's default sync rule skips Microsoft 365 groups over 50,000 members and security groups over 250,000.";
        let lines = wrap(text, 40, "  - ", "    ");
        assert!(
            lines.iter().all(|l| measure_text_width(l) <= 40),
            "{lines:?}"
        );
        assert!(lines[0].starts_with("  - Entra") && lines[1].starts_with("    "));
        let words: Vec<&str> = lines.iter().flat_map(|l| l.split_whitespace()).collect();
        assert_eq!(words.join(" "), format!("- {text}"));
    }

    #[test]
    fn one_group_is_singular() {
        assert_eq!(groups(1), "1 group");
        assert_eq!(groups(0), "0 groups");
        assert_eq!(groups(2), "2 groups");
    }
}
