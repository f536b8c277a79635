//! The report's renderers for people and spreadsheets: the table with its summary and tenant
//! lines, the CSV columns, and the whole-document JSON; rows that stream are in `rows.rs`.

use std::io::{self, Write};

use super::rows;
use super::safe;
use super::table::{self, TableLayout};
use crate::cli::OutputFormat;
use crate::doc::TenantSection;
use crate::writeback::summary::{ReportRow, Summary, caveats};

/// The summary under the table, in lines that fit 80 columns. With a filter (`--kind`,
/// `--written-back`) it counts what is shown (`shown`: a summary of the rows shown), and says of
/// how many.
pub(crate) fn write_summary(w: &mut dyn Write, shown: &Summary, s: &Summary) -> io::Result<()> {
    let filtered = s.shown_groups != s.total_groups;
    let c = if filtered { shown } else { s };
    if filtered {
        writeln!(
            w,
            "Summary: {} shown of {} read; {} written back",
            table::groups(s.shown_groups),
            s.total_groups,
            c.written_back
        )?;
    } else {
        writeln!(
            w,
            "Summary: {}, {} written back",
            table::groups(s.total_groups),
            c.written_back
        )?;
    }
    for (k, n) in c.by_kind.iter().filter(|(_, n)| n.total > 0) {
        writeln!(
            w,
            "  {:<14} {:>16}, {:>7} written back, {:>7} from AD",
            table::kind_label(*k),
            table::groups(n.total),
            n.written_back,
            n.synced_from_on_premises
        )?;
    }
    let as_: Vec<String> = c
        .written_back_as
        .iter()
        .filter(|(_, n)| **n > 0)
        .map(|(t, n)| format!("{} {n}", table::type_label(t)))
        .collect();
    if !as_.is_empty() {
        writeln!(w, "  written back as: {}", as_.join(", "))?;
    }
    if c.warnings > 0 {
        writeln!(
            w,
            "  {} {} attention (marked [!], listed above)",
            table::groups(c.warnings),
            if c.warnings == 1 { "needs" } else { "need" }
        )?;
    }
    Ok(())
}

/// The tenant default in words, the same in `report` and `set-default`: value and source.
pub(crate) fn tenant_default_line(tenant: &TenantSection) -> String {
    let line = match tenant.new_unified_group_writeback_default {
        Some(v) => format!(
            "Tenant default for new Microsoft 365 groups: NewUnifiedGroupWritebackDefault = {v} ({})",
            tenant.source_description
        ),
        None => format!(
            "Tenant default for new Microsoft 365 groups: unknown, {}: {}",
            tenant.source_description,
            tenant.error.as_deref().unwrap_or("")
        ),
    };
    let line = match &tenant.problem {
        Some(p) => format!("{line}\n  ! {p}"),
        None => line,
    };
    safe_lines(&line)
}

/// [`safe`] line by line: the line breaks gwb itself puts in are kept.
pub(crate) fn safe_lines(s: &str) -> String {
    s.split('\n')
        .map(|l| safe(l).into_owned())
        .collect::<Vec<_>>()
        .join("\n")
}

/// The whole JSON report as one value: what [`rows::RowWriter`] writes piece by piece (its
/// test compares the two byte for byte).
#[cfg(test)]
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ReportDoc<'a> {
    pub schema_version: u32,
    pub tenant: &'a TenantSection,
    pub groups: &'a [ReportRow<'a>],
    pub summary: &'a Summary,
    pub caveats: Vec<&'static str>,
}

/// A whole report, from rows kept in memory (the table, `--member-counts`, JSON to stdout,
/// HTML); see [`rows::RowWriter`] for the rows written as they are read.
pub(crate) struct ReportView<'a> {
    pub tenant: &'a TenantSection,
    pub rows: &'a [ReportRow<'a>],
    pub summary: &'a Summary,
    pub layout: TableLayout,
    /// The HTML page shows member counts (`--member-counts`).
    pub member_counts: bool,
    pub about: super::About,
    pub meta: crate::doc::Meta,
}

impl ReportView<'_> {
    /// The report's HTML page, as a document (a fleet page holds many).
    pub(crate) fn page(&self) -> super::html::Page {
        let meta = super::html::Meta {
            title: "Group writeback report".into(),
            tenant: self.about.tenant.clone(),
            command: self.about.command.clone(),
        };
        super::html::report_page(
            meta,
            self.tenant,
            self.rows,
            self.summary,
            self.member_counts,
        )
    }

    /// JSON, NDJSON and CSV are written row by row, as when streaming.
    fn rows(&self, w: &mut dyn Write, format: OutputFormat) -> io::Result<()> {
        let mut rw = rows::RowWriter::start(w, format, Some(self.tenant), Some(&self.meta))?;
        for r in self.rows {
            rw.row(r)?;
        }
        rw.finish(self.summary)
    }
}

impl super::Render for ReportView<'_> {
    const FORMATS: &'static [OutputFormat] = &[
        OutputFormat::Table,
        OutputFormat::Json,
        OutputFormat::Ndjson,
        OutputFormat::Csv,
        OutputFormat::Html,
    ];

    fn table(&self, w: &mut dyn Write) -> io::Result<()> {
        write_table(w, self.tenant, self.rows, self.summary, self.layout)
    }

    fn json(&self, w: &mut dyn Write) -> io::Result<()> {
        self.rows(w, OutputFormat::Json)
    }

    fn ndjson(&self, w: &mut dyn Write) -> io::Result<()> {
        self.rows(w, OutputFormat::Ndjson)
    }

    fn csv(&self, w: &mut dyn Write) -> io::Result<()> {
        self.rows(w, OutputFormat::Csv)
    }

    fn html(&self, w: &mut dyn Write) -> io::Result<()> {
        self.page().write(w)
    }
}

pub(crate) const CSV_COLUMNS: &[&str] = &[
    "id",
    "displayName",
    "kind",
    "syncedFromOnPremises",
    "isEnabled",
    "onPremisesGroupType",
    "writtenBack",
    "writtenBackAs",
    "reason",
    "warning",
    "isAssignableToRole",
    "createdDateTime",
    "memberCount",
    "sourceOfAuthority",
    "isCloudManaged",
];

pub(crate) fn opt_bool(b: Option<bool>) -> &'static str {
    match b {
        Some(true) => "true",
        Some(false) => "false",
        None => "",
    }
}

pub(crate) fn show_bool(b: Option<bool>) -> &'static str {
    match b {
        Some(true) => "true",
        Some(false) => "false",
        None => "null",
    }
}

pub(crate) fn write_table(
    w: &mut dyn Write,
    tenant: &TenantSection,
    rows: &[ReportRow],
    s: &Summary,
    layout: TableLayout,
) -> io::Result<()> {
    table::write_groups(w, rows, layout)?;
    let mut shown = Summary::default();
    for r in rows {
        shown.add(r, true);
    }
    write_table_tail(w, tenant, &shown, s, layout)
}

/// What follows the table's rows: the summary, the tenant default, the sync features and the
/// caveats. `shown` summarises the rows shown, `s` every group read.
pub(crate) fn write_table_tail(
    w: &mut dyn Write,
    tenant: &TenantSection,
    shown: &Summary,
    s: &Summary,
    layout: TableLayout,
) -> io::Result<()> {
    writeln!(w)?;
    write_summary(w, shown, s)?;
    // Prose wraps to the terminal; in a file or a pipe each line stays whole (for grep).
    let width = layout.width.map_or(usize::MAX, |w| w.max(40));
    let mut prose = |text: &str, first: &str, indent: &str| -> io::Result<()> {
        for l in table::wrap(text, width, first, indent) {
            writeln!(w, "{l}")?;
        }
        Ok(())
    };
    prose(&tenant_default_line(tenant), "", "  ")?;
    if let Some(c) = &tenant.cloud_sync {
        prose(&c.describe(), "", "  ")?;
    }
    if let Some(line) = security_writeback_line(tenant, s) {
        prose(&line, "", "  ")?;
    }
    if let Some(line) = source_of_authority_line(s) {
        prose(&line, "", "  ")?;
    }
    if let Some(f) = &tenant.sync_features {
        let b = |v: Option<bool>| v.map(|v| v.to_string()).unwrap_or_else(|| "unknown".into());
        let line = if f.readable {
            format!(
                "Sync features (Entra Connect): unifiedGroupWritebackEnabled = {}, groupWriteBackEnabled = {}",
                b(f.unified_group_writeback_enabled),
                b(f.group_write_back_enabled)
            )
        } else {
            format!(
                "Sync features (Entra Connect): not readable: {}",
                f.error.as_deref().unwrap_or("")
            )
        };
        prose(&line, "", "  ")?;
    }
    prose("Caveats:", "", "")?;
    for c in caveats() {
        prose(c, "  - ", "    ")?;
    }
    Ok(())
}

/// Groups that came from AD and are synced no more, when there are any: their source of
/// authority moved to the cloud, or they are about to be taken over by AD again.
pub(crate) fn source_of_authority_line(s: &Summary) -> Option<String> {
    if s.moved_to_cloud + s.formerly_synced == 0 {
        return None;
    }
    let mut line = format!(
        "Groups from AD no longer synced: {} moved to the cloud (onPremisesSyncBehavior.isCloudManaged: they are cloud groups now, shown as \"moved from AD\"), {} formerly synced (\"ex-AD\")",
        s.moved_to_cloud, s.formerly_synced
    );
    match &s.is_cloud_managed_error {
        Some(e) => line.push_str(&format!("; isCloudManaged could not be read: {e}")),
        None if s.formerly_synced > 0 => line.push_str(
            "; isCloudManaged is false for those: AD takes them over at the next sync if they are still in its scope",
        ),
        None => {}
    }
    Some(line)
}

/// Security groups with writeback enabled and who acts on the flag, when there are any.
pub(crate) fn security_writeback_line(tenant: &TenantSection, s: &Summary) -> Option<String> {
    let v = tenant.security_writeback.as_ref()?;
    let n = s
        .by_kind
        .get(&crate::writeback::Kind::Security)
        .map_or(0, |c| c.written_back);
    (n > 0).then(|| {
        format!(
            "Security groups with writeback enabled: {n}; {}",
            v.explanation
        )
    })
}
