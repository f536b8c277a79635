//! `gwb history` as people and scripts read it: a table per tenant (with the drift's trend as a
//! line of block characters), JSON, CSV.

use std::io::{self, Write};

use serde::Serialize;

use crate::cli::OutputFormat;
use crate::doc::history::{HistoryDoc, KIND, SCHEMA_VERSION, TenantHistory};

/// Block characters from low to high, for a trend in a terminal.
const BLOCKS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/// `points` (oldest first) as one block character each, scaled to the highest.
pub(crate) fn sparkline(points: &[u64]) -> String {
    let top = points.iter().copied().max().unwrap_or(0);
    points
        .iter()
        .map(|&p| match top {
            0 => BLOCKS[0],
            _ => BLOCKS[((p * 7).div_ceil(top)) as usize],
        })
        .collect()
}

/// The runs a trend draws: the drift count of the last `n`, oldest first.
pub(crate) fn trend(t: &TenantHistory, n: usize) -> Vec<u64> {
    let done = t.runs.iter().filter(|r| r.error.is_none());
    let mut points: Vec<u64> = done.take(n).map(|r| r.drift).collect();
    points.reverse();
    points
}

const COLUMNS: [&str; 11] = [
    "tenant",
    "tenantId",
    "at",
    "command",
    "exitCode",
    "new",
    "persisting",
    "resolved",
    "excepted",
    "drift",
    "error",
];

impl super::Render for HistoryDoc {
    const FORMATS: &'static [OutputFormat] =
        &[OutputFormat::Table, OutputFormat::Json, OutputFormat::Csv];

    fn table(&self, out: &mut dyn Write) -> io::Result<()> {
        for (i, t) in self.tenants.iter().enumerate() {
            if i > 0 {
                writeln!(out)?;
            }
            tenant_table(out, t)?;
        }
        Ok(())
    }

    fn json(&self, out: &mut dyn Write) -> io::Result<()> {
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct One<'a> {
            schema_version: u32,
            kind: &'static str,
            #[serde(flatten)]
            tenant: &'a TenantHistory,
            meta: &'a crate::doc::Meta,
        }
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct Several<'a> {
            schema_version: u32,
            kind: &'static str,
            tenants: &'a [TenantHistory],
            meta: &'a crate::doc::Meta,
        }
        match (self.several, self.tenants.first()) {
            (false, Some(t)) => super::write_json(
                out,
                &One {
                    schema_version: SCHEMA_VERSION,
                    kind: KIND,
                    tenant: t,
                    meta: &self.meta,
                },
            ),
            _ => super::write_json(
                out,
                &Several {
                    schema_version: SCHEMA_VERSION,
                    kind: KIND,
                    tenants: &self.tenants,
                    meta: &self.meta,
                },
            ),
        }
    }

    fn csv(&self, out: &mut dyn Write) -> io::Result<()> {
        super::csv_start(out)?;
        writeln!(out, "{}", COLUMNS.join(","))?;
        for t in &self.tenants {
            for r in &t.runs {
                let n = |v: u64| v.to_string();
                let row = [
                    t.name.clone().unwrap_or_default(),
                    t.tenant_id.clone().unwrap_or_default(),
                    r.at.clone(),
                    r.command.clone(),
                    r.exit_code.to_string(),
                    n(r.new),
                    n(r.persisting),
                    n(r.resolved),
                    n(r.excepted),
                    n(r.drift),
                    r.error.clone().unwrap_or_default(),
                ];
                super::write_csv_line(out, row.iter().map(String::as_str))?;
            }
        }
        out.flush()
    }
}

/// An RFC 3339 time to the second.
fn short_time(at: &str) -> String {
    at.get(..19)
        .map(|s| format!("{s}Z"))
        .unwrap_or_else(|| at.to_string())
}

fn tenant_table(out: &mut dyn Write, t: &TenantHistory) -> io::Result<()> {
    let who = match (&t.name, &t.tenant_id) {
        (Some(n), Some(id)) => format!("{} ({})", super::safe(n), super::safe(id)),
        (Some(n), None) => super::safe(n).into_owned(),
        (None, Some(id)) => format!("tenant {}", super::safe(id)),
        (None, None) => "this tenant".to_string(),
    };
    if t.runs.is_empty() {
        let line = format!(
            "{who}: no check has been recorded yet (gwb check records each run in the state directory)"
        );
        return writeln!(out, "{}", super::table::fitted(&line, "", "  "));
    }
    let head = format!(
        "{who}: {} kept, newest first",
        super::table::count(t.runs.len() as u64, "run", "runs")
    );
    writeln!(out, "{}", super::table::fitted(&head, "", "  "))?;
    let points = trend(t, 30);
    writeln!(
        out,
        "Drift over the last {}: {} (now {})",
        super::table::count(points.len() as u64, "run", "runs"),
        sparkline(&points),
        points.last().copied().unwrap_or(0)
    )?;
    writeln!(
        out,
        "{:<20}  {:>4}  {:>5}  {:>5}  {:>10}  {:>8}  {:>8}  COMMAND",
        "AT", "EXIT", "DRIFT", "NEW", "PERSISTING", "RESOLVED", "EXCEPTED"
    )?;
    for r in &t.runs {
        if let Some(e) = &r.error {
            let line = format!(
                "{:<20}  {:>4}  failed: {}",
                short_time(&r.at),
                r.exit_code,
                super::safe(e.lines().next().unwrap_or(""))
            );
            writeln!(out, "{}", super::table::fitted(&line, "", "        "))?;
            continue;
        }
        writeln!(
            out,
            "{:<20}  {:>4}  {:>5}  {:>5}  {:>10}  {:>8}  {:>8}  {}",
            short_time(&r.at),
            r.exit_code,
            r.drift,
            r.new,
            r.persisting,
            r.resolved,
            r.excepted,
            super::safe(&r.command)
        )?;
    }
    let oldest = t
        .current_drift
        .iter()
        .filter_map(|s| s.first_seen.as_deref())
        .min();
    if let Some(first) = oldest {
        let age = match crate::writeback::history::age(first, &crate::clock::now_rfc3339()) {
            Some(a) if a == "today" => a,
            Some(a) => format!("{a} ago"),
            None => "when, unknown".into(),
        };
        let line = format!(
            "Drifting now: {}; the oldest first seen {first} ({age})",
            super::table::count(t.current_drift.len() as u64, "item", "items")
        );
        writeln!(out, "{}", super::table::fitted(&line, "", "  "))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sparkline_scales_to_the_highest_point() {
        assert_eq!(sparkline(&[0, 7, 14]), "▁▅█");
        assert_eq!(sparkline(&[0, 0]), "▁▁");
        assert_eq!(sparkline(&[1, 100]), "▂█");
        assert_eq!(sparkline(&[]), "");
    }
}
