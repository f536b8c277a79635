//! The report's rows written one at a time, as the pages arrive: ndjson and CSV always, JSON
//! when it goes to a file (`--out`). Memory then stays flat whatever the tenant's size. JSON is
//! written exactly as `serde_json::to_writer_pretty` writes the whole document, so a streamed
//! report and a buffered one are the same bytes.

use std::io::{self, Write};

use super::{CSV_COLUMNS, csv_start, opt_bool};
use crate::cli::OutputFormat;
use crate::doc::REPORT_SCHEMA_VERSION;
use crate::doc::TenantSection;
use crate::writeback::summary::{ReportRow, Summary, caveats};

/// Writes a report row by row; [`RowWriter::finish`] ends the document.
pub(crate) struct RowWriter<'a> {
    w: &'a mut dyn Write,
    format: OutputFormat,
    rows: u64,
    buf: Vec<u8>,
    /// JSON: what the document describes, written last.
    meta: Option<&'a crate::doc::Meta>,
}

/// `bytes` with `pad` spaces after every line break: a pretty-printed value nested `pad` deep.
/// (JSON strings hold no raw line breaks, so only the printer's own are indented.)
fn write_indented(w: &mut dyn Write, bytes: &[u8], pad: &[u8]) -> io::Result<()> {
    let mut rest = bytes;
    while let Some(i) = rest.iter().position(|b| *b == b'\n') {
        w.write_all(&rest[..=i])?;
        w.write_all(pad)?;
        rest = &rest[i + 1..];
    }
    w.write_all(rest)
}

const PAD2: &[u8] = b"  ";
const PAD4: &[u8] = b"    ";

impl<'a> RowWriter<'a> {
    /// Start the document: the CSV header, or JSON up to the opening of `groups` (the tenant
    /// section is needed then, and only then).
    pub(crate) fn start(
        w: &'a mut dyn Write,
        format: OutputFormat,
        tenant: Option<&TenantSection>,
        meta: Option<&'a crate::doc::Meta>,
    ) -> io::Result<Self> {
        let mut me = RowWriter {
            w,
            format,
            rows: 0,
            buf: Vec::with_capacity(1024),
            meta,
        };
        match format {
            OutputFormat::Csv => {
                csv_start(me.w)?;
                writeln!(me.w, "{}", CSV_COLUMNS.join(","))?;
            }
            OutputFormat::Json => {
                write!(
                    me.w,
                    "{{\n  \"schemaVersion\": {REPORT_SCHEMA_VERSION},\n  \"tenant\": "
                )?;
                me.pretty(&tenant, PAD2)?;
                write!(me.w, ",\n  \"groups\": [")?;
            }
            _ => {}
        }
        Ok(me)
    }

    fn pretty<T: serde::Serialize>(&mut self, v: &T, pad: &[u8]) -> io::Result<()> {
        self.buf.clear();
        serde_json::to_writer_pretty(&mut self.buf, v)?;
        write_indented(self.w, &self.buf, pad)
    }

    pub(crate) fn row(&mut self, r: &ReportRow) -> io::Result<()> {
        match self.format {
            OutputFormat::Json => {
                self.w.write_all(if self.rows == 0 {
                    b"\n    "
                } else {
                    b",\n    "
                })?;
                self.pretty(r, PAD4)?;
            }
            OutputFormat::Csv => write_csv_row(self.w, r)?,
            _ => {
                // Into the reused buffer first: serde_json writes a row in dozens of small
                // pieces, each a call through the output's layers otherwise.
                self.buf.clear();
                serde_json::to_writer(&mut self.buf, r)?;
                self.buf.push(b'\n');
                self.w.write_all(&self.buf)?;
            }
        }
        self.rows += 1;
        Ok(())
    }

    /// End the document (JSON: the summary and the caveats) and flush.
    pub(crate) fn finish(mut self, summary: &Summary) -> io::Result<()> {
        if self.format == OutputFormat::Json {
            self.w
                .write_all(if self.rows == 0 { b"]" } else { b"\n  ]" })?;
            write!(self.w, ",\n  \"summary\": ")?;
            self.pretty(summary, PAD2)?;
            write!(self.w, ",\n  \"caveats\": ")?;
            self.pretty(&caveats(), PAD2)?;
            if let Some(m) = self.meta {
                write!(self.w, ",\n  \"meta\": ")?;
                self.pretty(m, PAD2)?;
            }
            write!(self.w, "\n}}\n")?;
        }
        self.w.flush()
    }
}

fn write_csv_row(w: &mut dyn Write, r: &ReportRow) -> io::Result<()> {
    let members = r.member_count.map(|c| c.to_string()).unwrap_or_default();
    let fields: [&str; 15] = [
        &r.id,
        r.display_name.as_deref().unwrap_or(""),
        r.kind.as_str(),
        if r.synced_from_on_premises {
            "true"
        } else {
            "false"
        },
        opt_bool(r.is_enabled),
        r.on_premises_group_type.as_deref().unwrap_or(""),
        if r.written_back { "true" } else { "false" },
        r.written_back_as.unwrap_or(""),
        r.reason.as_str(),
        r.warning.as_deref().unwrap_or(""),
        opt_bool(r.is_assignable_to_role),
        r.created_date_time.as_deref().unwrap_or(""),
        &members,
        r.source_of_authority.as_str(),
        opt_bool(r.is_cloud_managed),
    ];
    super::write_csv_line(w, fields)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::writeback::{Kind, Reason};

    fn row(id: &str, name: &str) -> ReportRow {
        ReportRow {
            id: id.into(),
            display_name: Some(name.into()),
            kind: Kind::Microsoft365,
            synced_from_on_premises: false,
            is_enabled: None,
            on_premises_group_type: Some("universalDistributionGroup".into()),
            written_back: true,
            written_back_as: Some("universalDistributionGroup"),
            reason: Reason::DefaultEnabled,
            warning: None,
            is_assignable_to_role: Some(false),
            created_date_time: None,
            member_count: Some(3),
            source_of_authority: crate::writeback::summary::SourceOfAuthority::Cloud,
            is_cloud_managed: None,
            cloud_sync_scope: false,
        }
    }

    #[test]
    fn streamed_json_is_the_same_bytes_as_the_whole_document() {
        let rows = vec![row("a", "One \"quoted\"\nname </script>"), row("b", "Two")];
        let mut summary = Summary::default();
        for r in &rows {
            summary.add(r, true);
        }
        let tenant = TenantSection::unreadable("no permission".into());
        for rows in [&rows[..], &[][..]] {
            let mut want = serde_json::to_vec_pretty(&super::super::ReportDoc {
                schema_version: REPORT_SCHEMA_VERSION,
                tenant: &tenant,
                groups: rows,
                summary: &summary,
                caveats: caveats(),
            })
            .unwrap();
            want.push(b'\n');
            let mut got = Vec::new();
            let mut w =
                RowWriter::start(&mut got, OutputFormat::Json, Some(&tenant), None).unwrap();
            for r in rows {
                w.row(r).unwrap();
            }
            w.finish(&summary).unwrap();
            assert_eq!(
                String::from_utf8(got).unwrap(),
                String::from_utf8(want).unwrap()
            );
        }
    }
}
