//! The report as a table for people: the name first (cut to the terminal's width), a plain
//! WRITTEN BACK yes/no, the kind, and what it is written back as; the id and the raw
//! `writebackConfiguration` behind `--wide`, the members with `--member-counts`. One line per
//! group at 80 columns. The summary counts what is shown, and fits 80 columns too.

use std::io::{self, Write};

use console::measure_text_width;

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

/// `COLUMNS`, for output that is not a terminal (0: unset).
static COLUMNS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// The width to fit output that is not a terminal to (`COLUMNS`, read by the binary's root).
pub fn set_columns(columns: Option<usize>) {
    COLUMNS.store(columns.unwrap_or(0), std::sync::atomic::Ordering::Relaxed);
}

/// The terminal's width, when stdout is one; else `COLUMNS`, when set.
pub(crate) fn terminal_width() -> Option<usize> {
    let term = console::Term::stdout();
    let columns = COLUMNS.load(std::sync::atomic::Ordering::Relaxed);
    term.is_term()
        .then(|| term.size_checked().map(|(_, cols)| usize::from(cols)))
        .flatten()
        .or((columns > 0).then_some(columns))
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

/// The kind as the table's KIND column says it: short, so the name keeps the width.
fn short_kind_label(kind: Kind) -> &'static str {
    match kind {
        Kind::Microsoft365 => "M365",
        Kind::Security => "security",
        Kind::MailEnabledSecurity => "mail sec",
        Kind::Distribution => "distrib",
    }
}

/// Every KIND cell the table can hold, for its fixed width.
fn kind_cells() -> Vec<String> {
    let kinds = [
        Kind::Microsoft365,
        Kind::Security,
        Kind::MailEnabledSecurity,
        Kind::Distribution,
    ];
    let suffixes = ["", " (AD)", " (moved)", " (ex-AD)", " (AD?)"];
    kinds
        .iter()
        .flat_map(|k| {
            suffixes
                .iter()
                .map(move |s| format!("{}{s}", short_kind_label(*k)))
        })
        .collect()
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
fn as_label(r: &ReportRow) -> &'static str {
    match (r.written_back, r.written_back_as) {
        (true, Some(t)) => type_label(t),
        (true, None) => "?",
        (false, _) => match r.reason {
            Reason::Disabled => "- (disabled)",
            Reason::DefaultDisabled => "- (off by default)",
            Reason::Unsupported => "- (not supported)",
            Reason::SyncedFromOnPremises => "- (from AD)",
            Reason::Enabled | Reason::DefaultEnabled | Reason::V1WritesAll => "-",
        },
    }
}

/// A column after the name: its title, whether it is right-aligned, and its width.
#[derive(Debug, Clone, Copy)]
struct Column {
    title: &'static str,
    right: bool,
    width: usize,
}

impl Column {
    /// A column whose cells are one of `labels` (or up to `widest` columns): as wide as its
    /// longest label or its title, never measured on the rows (a million rows stream).
    fn of(title: &'static str, right: bool, labels: &[&str], widest: usize) -> Column {
        let width = labels
            .iter()
            .map(|l| measure_text_width(l))
            .chain([widest, title.len()])
            .max()
            .unwrap_or(0);
        Column {
            title,
            right,
            width,
        }
    }
}

/// The columns after the name, in [`cells`] order.
fn columns(layout: TableLayout) -> Vec<Column> {
    let kinds = kind_cells();
    let kinds: Vec<&str> = kinds.iter().map(String::as_str).collect();
    let mut c = vec![
        Column::of("WRITTEN BACK", false, &["yes", "no"], 0),
        Column::of("KIND", false, &kinds, 0),
        Column::of(
            "AS",
            false,
            &[
                "distribution",
                "security",
                "mail security",
                "- (disabled)",
                "- (off by default)",
                "- (not supported)",
                "- (from AD)",
            ],
            0,
        ),
    ];
    if layout.members {
        c.push(Column::of("MEMBERS", true, &[], 7));
    }
    if layout.wide {
        c.extend([
            Column::of("ISENABLED", false, &["true", "false", "null"], 0),
            Column::of(
                "RAW TYPE",
                false,
                &[crate::graph::model::UNIVERSAL_MAIL_ENABLED_SECURITY],
                0,
            ),
            Column::of("ID", false, &[], 36),
        ]);
    }
    c
}

/// `s` padded with spaces to `width` columns, as console's `pad_str` pads it (never cut), into
/// `out`: printable ASCII (nearly every cell) is measured by its length, the rest as console
/// measures it. A table of a million rows pads ten million cells.
fn pad_into(out: &mut String, s: &str, width: usize, right: bool) {
    let cols = if s.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        s.len()
    } else {
        measure_text_width(s)
    };
    let fill = width.saturating_sub(cols);
    if right {
        push_spaces(out, fill);
    }
    out.push_str(s);
    if !right {
        push_spaces(out, fill);
    }
}

/// `n` spaces onto `out`, copied a run at a time (pushed one char at a time, padding was 6% of
/// a streamed table's instructions, callgrind).
fn push_spaces(out: &mut String, mut n: usize) {
    const SPACES: &str = "                                                                ";
    while n > 0 {
        let run = n.min(SPACES.len());
        out.push_str(&SPACES[..run]);
        n -= run;
    }
}

/// A cell of the table: gwb's own words and the row's text are borrowed, not copied (a table
/// of a million rows streams ten million cells).
type Cell<'a> = std::borrow::Cow<'a, str>;

/// A row held until the column widths are measured.
type HeldRow = (String, Vec<Cell<'static>>);

/// One row's name (with ` [!]` when it needs attention) and its cells, in [`columns`] order.
fn cells<'a>(r: &'a ReportRow<'_>, layout: TableLayout) -> (Cell<'a>, Cells<'a>) {
    use crate::writeback::summary::SourceOfAuthority;
    let n = safe(r.display_name.as_deref().unwrap_or(""));
    let name = if r.warning.is_some() {
        Cell::Owned(format!("{n} [!]"))
    } else {
        n
    };
    let k = short_kind_label(r.kind);
    let mut c = Cells::default();
    c.extend([
        Cell::Borrowed(if r.written_back { "yes" } else { "no" }),
        match r.source_of_authority {
            SourceOfAuthority::OnPremises => format!("{k} (AD)").into(),
            SourceOfAuthority::MovedToCloud => format!("{k} (moved)").into(),
            SourceOfAuthority::FormerlySynced => format!("{k} (ex-AD)").into(),
            SourceOfAuthority::Unknown => format!("{k} (AD?)").into(),
            SourceOfAuthority::Cloud => k.into(),
        },
        as_label(r).into(),
    ]);
    if layout.members {
        c.push(
            r.member_count
                .map_or(Cell::Borrowed("-"), |n| n.to_string().into()),
        );
    }
    if layout.wide {
        c.push(super::show_bool(r.is_enabled).into());
        c.push(r.on_premises_group_type.as_deref().unwrap_or("null").into());
        c.push(Cell::Borrowed(&r.id));
    }
    (name, c)
}

/// A row's cells, on the stack: a streamed row allocates none of them.
#[derive(Default)]
struct Cells<'a> {
    /// Three columns always, one more with `--member-counts`, three more with `--wide`.
    items: [Cell<'a>; 7],
    len: usize,
}

impl<'a> Cells<'a> {
    fn push(&mut self, c: Cell<'a>) {
        self.items[self.len] = c;
        self.len += 1;
    }

    fn extend(&mut self, cells: impl IntoIterator<Item = Cell<'a>>) {
        for c in cells {
            self.push(c);
        }
    }

    fn as_slice(&self) -> &[Cell<'a>] {
        &self.items[..self.len]
    }
}

/// A row owned, to be held past the row it was read from (the first rows of a table only).
fn held(name: Cell<'_>, cells: &Cells<'_>) -> HeldRow {
    let own = |c: &Cell<'_>| -> Cell<'static> { Cell::Owned(c.to_string()) };
    (
        name.into_owned(),
        cells.as_slice().iter().map(own).collect(),
    )
}

/// The group rows, then the warnings ([!]) of the groups that have one, written as rows come:
/// the column widths are measured on the first `measure` rows (all of them, for a table kept
/// whole), and later rows are written at once in those widths (a longer name than any measured
/// pushes its line's other columns right, and is never cut off the page unless a terminal's
/// width says so). Only the groups that need attention are kept, for the list at the end.
pub(crate) struct TableWriter<'a> {
    w: &'a mut dyn Write,
    layout: TableLayout,
    measure: usize,
    pending: Vec<HeldRow>,
    /// Set once the header is written: the name's width and the other columns.
    widths: Option<(usize, Vec<Column>)>,
    warned: Vec<String>,
    /// The line being written, reused.
    line: String,
    /// Rows whose only warning is the tenant-wide one about security groups' flag
    /// ([`crate::writeback::engines::FLAG_ONLY_V2`], [`crate::writeback::engines::FLAG_NOTHING`]): counted, said once.
    shared: [u64; 2],
}

impl<'a> TableWriter<'a> {
    pub(crate) fn new(w: &'a mut dyn Write, layout: TableLayout, measure: usize) -> Self {
        TableWriter {
            w,
            layout,
            measure,
            pending: Vec::new(),
            widths: None,
            warned: Vec::new(),
            line: String::new(),
            shared: [0; 2],
        }
    }

    pub(crate) fn row(&mut self, r: &ReportRow) -> io::Result<()> {
        let shared = [
            crate::writeback::engines::FLAG_ONLY_V2,
            crate::writeback::engines::FLAG_NOTHING,
        ]
        .into_iter()
        .position(|w| r.warning.as_deref() == Some(w));
        if let Some(i) = shared {
            self.shared[i] += 1;
        } else if r.warning.is_some() {
            self.warned.push(format!(
                "{} ({}): {}",
                safe(r.display_name.as_deref().unwrap_or("")),
                r.id,
                safe(r.warning.as_deref().unwrap_or(""))
            ));
        }
        let (name, row) = cells(r, self.layout);
        if self.widths.is_some() {
            return self.line(&name, row.as_slice());
        }
        self.pending.push(held(name, &row));
        if self.pending.len() >= self.measure {
            self.start()?;
        }
        Ok(())
    }

    /// Measure the rows held, write the header and them.
    fn start(&mut self) -> io::Result<()> {
        // Fixed widths from the labels a column can hold; the name gets the rest.
        let cols = columns(self.layout);
        let longest = self
            .pending
            .iter()
            .map(|(n, _)| measure_text_width(n))
            .chain(["NAME".len()])
            .max()
            .unwrap_or(4);
        let others: usize = cols.iter().map(|c| c.width + 2).sum();
        let name_width = match self.layout.width {
            Some(cols) => longest.min(cols.saturating_sub(others).max(12)),
            None => longest,
        };
        let titles: Vec<Cell<'_>> = cols.iter().map(|c| c.title.into()).collect();
        self.widths = Some((name_width, cols));
        self.line("NAME", &titles)?;
        for (name, c) in std::mem::take(&mut self.pending) {
            self.line(&name, &c)?;
        }
        Ok(())
    }

    fn line(&mut self, name: &str, cells: &[Cell<'_>]) -> io::Result<()> {
        let Some((name_width, cols)) = &self.widths else {
            return Ok(());
        };
        let name = if self.layout.width.is_some() {
            std::borrow::Cow::Owned(truncate_middle(name, *name_width))
        } else {
            name.into()
        };
        let out = &mut self.line;
        out.clear();
        pad_into(out, &name, *name_width, false);
        for (cell, col) in cells.iter().zip(cols) {
            out.push_str("  ");
            pad_into(out, cell, col.width, col.right);
        }
        let end = out.trim_end().len();
        out.truncate(end);
        out.push('\n');
        self.w.write_all(out.as_bytes())
    }

    /// The rows still held, then the list of groups that need attention.
    pub(crate) fn finish(mut self) -> io::Result<()> {
        if self.widths.is_none() {
            self.start()?;
        }
        if !self.warned.is_empty() || self.shared.iter().any(|&n| n > 0) {
            writeln!(self.w)?;
            writeln!(self.w, "Needs attention [!]:")?;
            for (n, text) in self.shared.iter().zip([
                crate::writeback::engines::FLAG_ONLY_V2,
                crate::writeback::engines::FLAG_NOTHING,
            ]) {
                if *n == 0 {
                    continue;
                }
                let l = format!("{n} security groups marked [!] above: {text}");
                match self.layout.width {
                    Some(w) => {
                        for part in wrap(&l, w.max(40), "  ", "    ") {
                            writeln!(self.w, "{part}")?;
                        }
                    }
                    None => writeln!(self.w, "  {l}")?,
                }
            }
            // Wrapped to a terminal; in a file or a pipe each stays one line (for grep).
            for l in &self.warned {
                match self.layout.width {
                    Some(w) => {
                        for part in wrap(l, w.max(40), "  ", "    ") {
                            writeln!(self.w, "{part}")?;
                        }
                    }
                    None => writeln!(self.w, "  {l}")?,
                }
            }
        }
        Ok(())
    }
}

/// A whole table from rows in memory, measured on all of them.
pub(crate) fn write_groups(
    w: &mut dyn Write,
    rows: &[ReportRow],
    layout: TableLayout,
) -> io::Result<()> {
    let mut t = TableWriter::new(w, layout, usize::MAX);
    for r in rows {
        t.row(r)?;
    }
    t.finish()
}

/// "1 group", "2 groups".
pub(crate) fn groups(n: u64) -> String {
    count(n, "group", "groups")
}

/// The verb form that agrees with `n`: `one` for 1, else `many` ("is"/"are").
pub(crate) fn agree<'a>(n: impl Into<u64>, one: &'a str, many: &'a str) -> &'a str {
    if n.into() == 1 { one } else { many }
}

/// `n` and the noun that goes with it: "1 change", "2 changes", "0 changes".
pub(crate) fn count(n: impl Into<u64>, one: &str, many: &str) -> String {
    match n.into() {
        1 => format!("1 {one}"),
        n => format!("{n} {many}"),
    }
}

/// `text` after `first`, as one line, or, on a terminal of known width, wrapped to it with the
/// lines after the first starting with `indent`: prose people read before they approve (the
/// on-premises note, FAILED lines, drift lines) is never broken mid-word by the terminal.
pub(crate) fn fitted(text: &str, first: &str, indent: &str) -> String {
    fitted_to(terminal_width(), text, first, indent)
}

/// [`fitted`] at `width`.
pub(crate) fn fitted_to(width: Option<usize>, text: &str, first: &str, indent: &str) -> String {
    match width {
        Some(w) if w >= 40 => wrap(text, w, first, indent).join("\n"),
        _ => format!("{first}{text}"),
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

/// `s` in at most `width` columns, cut in the middle ("Finance…Staff"), so that both the
/// start and the end of a name (often a number) stay.
pub(crate) fn truncate_middle(s: &str, width: usize) -> String {
    use console::measure_text_width;
    if measure_text_width(s) <= width || width < 5 {
        return s.to_string();
    }
    let chars: Vec<char> = s.chars().collect();
    let keep = width - 1;
    let (head, tail) = (keep - keep / 2, keep / 2);
    let mut out: String = chars[..head].iter().collect();
    out.push('…');
    out.extend(&chars[chars.len() - tail..]);
    // Wide characters may still overflow: cut from the front of the tail until it fits.
    while measure_text_width(&out) > width && out.chars().count() > 1 {
        let mut cs: Vec<char> = out.chars().collect();
        cs.remove(head.min(cs.len() - 1) + 1);
        out = cs.into_iter().collect();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_are_padded_as_console_pads_them() {
        use console::{Alignment, pad_str};
        for (s, w) in [
            ("abc", 6),
            ("abcdef", 3),
            ("Équipe 東京", 14),
            ("東京", 1),
            ("", 4),
            ("tab\there", 12),
            // Wider than one run of spaces, and at its edges.
            ("x", 150),
            ("abc", 67),
            ("", 64),
            ("a", 65),
        ] {
            for right in [false, true] {
                let mut got = String::from("|");
                pad_into(&mut got, s, w, right);
                let align = if right {
                    Alignment::Right
                } else {
                    Alignment::Left
                };
                assert_eq!(got, format!("|{}", pad_str(s, w, align, None)), "{s:?} {w}");
            }
        }
    }

    #[test]
    fn prose_is_wrapped_only_at_a_known_width() {
        let text = "the group is role-assignable: Graph changes such groups only for an app that also holds RoleManagement.ReadWrite.Directory";
        assert_eq!(
            fitted_to(None, text, "  FAILED: ", "    "),
            format!("  FAILED: {text}")
        );
        let at80 = fitted_to(Some(80), text, "  FAILED: ", "    ");
        assert!(at80.lines().count() > 1, "{at80}");
        assert!(at80.lines().all(|l| measure_text_width(l) <= 80), "{at80}");
        assert!(
            at80.lines().skip(1).all(|l| l.starts_with("    ")),
            "{at80}"
        );
        assert_eq!(
            at80.split_whitespace().collect::<Vec<_>>(),
            format!("FAILED: {text}")
                .split_whitespace()
                .collect::<Vec<_>>(),
            "every word kept, none broken"
        );
    }

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
        assert_eq!(count(1_u64, "change", "changes"), "1 change");
        assert_eq!(count(0_u64, "tenant", "tenants"), "0 tenants");
    }

    fn row(name: &str) -> ReportRow<'_> {
        ReportRow {
            id: "0b1f5a6e-1111-4c1e-9e4f-000000000001".into(),
            display_name: Some(name.into()),
            kind: Kind::Security,
            synced_from_on_premises: false,
            is_enabled: Some(false),
            on_premises_group_type: None,
            written_back: false,
            written_back_as: None,
            reason: Reason::Disabled,
            warning: None,
            is_assignable_to_role: None,
            created_date_time: None,
            member_count: None,
            source_of_authority: crate::writeback::summary::SourceOfAuthority::Cloud,
            is_cloud_managed: None,
            cloud_sync_scope: false,
            plain: Default::default(),
        }
    }

    #[test]
    fn every_layout_has_a_cell_for_each_column() {
        for (wide, members) in [(false, false), (true, false), (false, true), (true, true)] {
            let layout = TableLayout {
                width: None,
                wide,
                members,
            };
            let mut r = row("Name");
            r.member_count = Some(12);
            let (name, c) = cells(&r, layout);
            assert_eq!(name, "Name");
            assert_eq!(c.as_slice().len(), columns(layout).len(), "{layout:?}");
            if wide && members {
                let held = held(name, &c);
                assert_eq!(held.1.len(), 7);
                assert_eq!(held.1[3], "12");
                assert_eq!(held.1[6], r.id);
            }
        }
    }

    #[test]
    fn a_streamed_table_is_measured_on_its_first_rows_and_cuts_nothing_in_a_pipe() {
        let mut out = Vec::new();
        let mut t = TableWriter::new(&mut out, TableLayout::default(), 2);
        t.row(&row("Short")).unwrap();
        // Nothing is written until the rows to measure are in.
        t.row(&row("Shorter")).unwrap();
        t.row(&row("A much longer name than any measured")).unwrap();
        t.finish().unwrap();
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 4, "{text}");
        assert!(lines[0].starts_with("NAME     WRITTEN BACK"), "{text}");
        assert!(lines[1].starts_with("Short    no"), "{text}");
        assert!(
            lines[3].starts_with("A much longer name than any measured  no"),
            "whole, the other columns pushed right: {text}"
        );
    }

    #[test]
    fn a_table_kept_whole_is_measured_on_every_row() {
        let mut out = Vec::new();
        let rows = [row("Short"), row("A much longer name")];
        write_groups(&mut out, &rows, TableLayout::default()).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.starts_with("NAME                WRITTEN BACK"),
            "{text}"
        );
    }
}
