//! One output for a fleet: each tenant's output, as it finishes, joined into the fleet's.
//!
//! - JSON: `{"schemaVersion", "kind": "gwb.fleet", "command", "tenants": [...], "summary",
//!   "meta"}` (`meta`: when, which command, which gwb).
//!   A tenant's entry is `{"name", "tenantId", "ok", "exitCode", ...its own document's
//!   fields}`, or `{"name", "tenantId", "ok": false, "exitCode", "error": {"message",
//!   "exitCode"}}` when it printed none. Entries come in the order the tenants finished.
//! - NDJSON: every line with `"tenant": NAME` first; a failed tenant is one line with `"ok":
//!   false` and its `error`.
//! - CSV: a `tenant` column first, the header once.
//! - table: a per-tenant summary, then each tenant's own table.
//! - JUnit: one `<testsuites>`, a tenant's suites named by it, a failed tenant an error.
//! - HTML: one page: the tenants with their results and a selector, then each tenant's own
//!   page content (charts, tables) in a section the selector shows.
//!
//! The table, JUnit and HTML put a summary first, so the details wait in an unlinked temporary file,
//! never in memory. `gwb merge` joins the JSON of several shards into one fleet document.

use std::fs::File;
use std::io::{self, Seek, Write};
use std::path::PathBuf;

use serde::Deserialize;
use serde_json::json;
use serde_json::value::RawValue;

use super::{Outcome, Shard, exit_code};
use crate::cli::{MergeArgs, OutputFormat};
use crate::error::{ExitStatus, UsageError};
use crate::output::junit::Suite;
use crate::output::safe;

pub(crate) use crate::doc::{FLEET_KIND, FLEET_SCHEMA_VERSION};

/// What the summary says about one tenant.
pub(crate) struct Line {
    pub name: String,
    pub tenant_id: Option<String>,
    pub code: u8,
    pub ok: bool,
    pub error: Option<String>,
    /// A check's counts, trend and exceptions' expiries (none for other commands).
    pub check: Option<crate::change::CheckNews>,
}

impl Line {
    /// The colour of its result: "ok", "drift" or "failed".
    pub(crate) fn class(&self) -> &'static str {
        match (self.ok, self.code) {
            (false, _) => "failed",
            (true, 3) => "drift",
            _ => "ok",
        }
    }

    /// The counts of its check, for JSON.
    fn counts(&self) -> Option<serde_json::Value> {
        self.check
            .as_ref()
            .and_then(|c| serde_json::to_value(&c.tally).ok())
    }
}

/// A tenant's piece of the output, in the spill file.
struct Chunk {
    name: String,
    start: u64,
    end: u64,
}

/// The fleet's output: each tenant's piece is spilled to an unlinked temporary file as it
/// finishes (memory holds the tenants in flight, not the fleet), then written in the order of
/// the tenants' names after what goes first (the summary, the index, the totals).
pub(crate) struct Merged<'a> {
    format: OutputFormat,
    command: &'static str,
    shard: Option<Shard>,
    out: &'a mut dyn Write,
    lines: Vec<Line>,
    /// The CSV header, from the first tenant that printed one.
    csv_header: Option<Vec<u8>>,
    spill: File,
    chunks: Vec<Chunk>,
    /// JUnit's totals: tests, failures, errors.
    junit: (usize, usize, usize),
}

impl<'a> Merged<'a> {
    pub(crate) fn start(
        format: OutputFormat,
        command: &'static str,
        shard: Option<Shard>,
        out: &'a mut dyn Write,
    ) -> anyhow::Result<Merged<'a>> {
        let spill = crate::files::unlinked_temp("the fleet's output, until it is sorted")?;
        Ok(Merged {
            format,
            command,
            shard,
            out,
            lines: Vec::new(),
            csv_header: None,
            spill,
            chunks: Vec::new(),
            junit: (0, 0, 0),
        })
    }

    /// A tenant's outcome: its output into the spill, its line into the summary.
    pub(crate) fn add(&mut self, o: Outcome) -> anyhow::Result<()> {
        let mut line = Line {
            ok: o.ok(),
            name: o.name,
            tenant_id: o.tenant_id,
            code: o.code,
            error: o.error,
            check: o.docs.check,
        };
        let start = self.spill.stream_position()?;
        match self.format {
            OutputFormat::Json => self.json(&mut line, &o.data)?,
            OutputFormat::Ndjson => self.ndjson(&line, &o.data)?,
            OutputFormat::Csv => self.csv(&line, &o.data)?,
            OutputFormat::Junit => self.junit(&line, o.docs.suites)?,
            OutputFormat::Html => self.html(&line, o.docs.pages)?,
            _ => self.table(&line, &o.data)?,
        }
        let end = self.spill.stream_position()?;
        self.chunks.push(Chunk {
            name: line.name.clone(),
            start,
            end,
        });
        self.lines.push(line);
        Ok(())
    }

    /// The summary (after the entries, or before the details), the tenants' pieces in the
    /// order of their names, and the fleet's exit code. The lines are handed back for what
    /// is told after the output (the digest, the exceptions' expiries).
    pub(crate) fn finish(mut self, writes: u64) -> anyhow::Result<(u8, Vec<Line>)> {
        self.lines.sort_by(|a, b| a.name.cmp(&b.name));
        self.chunks.sort_by(|a, b| a.name.cmp(&b.name));
        let codes: Vec<u8> = self.lines.iter().map(|l| l.code).collect();
        let code = exit_code(&codes);
        match self.format {
            OutputFormat::Json => {
                write!(
                    self.out,
                    "{{\"schemaVersion\":{FLEET_SCHEMA_VERSION},\"kind\":\"{FLEET_KIND}\",\"command\":\"{}\",\"tenants\":[",
                    self.command
                )?;
                self.copy_chunks(b",")?;
                let mut summary = summary(&self.lines, code, self.shard);
                summary["writes"] = json!(writes);
                let meta = fleet_meta(&format!("gwb {}", self.command));
                writeln!(self.out, "],\"summary\":{summary},\"meta\":{meta}}}")?;
            }
            OutputFormat::Ndjson => self.copy_chunks(b"")?,
            OutputFormat::Csv => {
                if let Some(header) = self.csv_header.take() {
                    if crate::output::csv_bom() {
                        self.out.write_all("\u{feff}".as_bytes())?;
                    }
                    self.out.write_all(b"tenant,")?;
                    self.out.write_all(&header)?;
                    self.out.write_all(b"\n")?;
                }
                self.copy_chunks(b"")?;
            }
            OutputFormat::Table => {
                summary_table(self.out, &self.lines, self.command, code)?;
                self.copy_chunks(b"")?;
            }
            OutputFormat::Html => {
                let n = self.lines.len();
                let meta = crate::output::html::Meta {
                    title: format!("Group writeback {}: {n} tenants", self.command),
                    tenant: match self.shard {
                        Some(s) => {
                            format!("shard {}/{} of the fleet; exit {code}", s.index, s.count)
                        }
                        None => format!("the fleet; exit {code}"),
                    },
                    command: format!("gwb {} (fleet run) -o html", self.command),
                };
                crate::output::html::head(self.out, &meta)?;
                let rows = index_rows(&self.lines);
                crate::output::html::fleet_index(self.out, &rows, self.command == "check")?;
                self.copy_chunks(b"")?;
                crate::output::html::foot(self.out)?;
            }
            OutputFormat::Junit => {
                let title = format!("gwb {} (fleet of {})", self.command, self.lines.len());
                crate::output::junit::open_fleet(self.out, &title, self.junit)?;
                self.copy_chunks(b"")?;
                crate::output::junit::close(self.out)?;
            }
        }
        self.out.flush()?;
        Ok((code, self.lines))
    }

    /// The tenants' pieces, in the order of their names, `between` each two.
    fn copy_chunks(&mut self, between: &[u8]) -> anyhow::Result<()> {
        for (i, c) in self.chunks.iter().enumerate() {
            if i > 0 {
                self.out.write_all(between)?;
            }
            self.spill.seek(io::SeekFrom::Start(c.start))?;
            io::copy(
                &mut io::Read::take(&mut self.spill, c.end - c.start),
                &mut self.out,
            )?;
        }
        Ok(())
    }

    /// A tenant's entry: the fleet's fields about it, then its own document's members, from
    /// the document (parsed, never edited as text).
    fn json(&mut self, line: &mut Line, data: &[u8]) -> anyhow::Result<()> {
        // A run that ended printed its whole document (gwb's own writer); one that failed may
        // have printed part of one, which is used only if it parses.
        let doc = serde_json::from_slice::<Members>(data).ok();
        if doc.is_none() && line.error.is_none() {
            line.ok = false;
            line.error = Some("the command printed no JSON document".into());
        }
        let mut head: Vec<(&str, serde_json::Value)> = Vec::new();
        if let Some(c) = line.counts() {
            head.push(("counts", c));
        }

        if !line.ok {
            head.push(("error", error_object(line)));
        }
        head.push(("exitCode", json!(line.code)));
        head.push(("name", json!(line.name)));
        head.push(("ok", json!(line.ok)));
        head.push(("tenantId", json!(line.tenant_id)));
        if let Some(c) = line.check.as_ref().filter(|c| !c.trend.is_empty()) {
            head.push(("trend", json!(c.trend)));
        }
        let head: Vec<(String, String)> = head
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Ok(write_object(&mut self.spill, &head, doc.as_ref())?)
    }

    /// Each of a tenant's NDJSON documents with `"tenant": NAME` first.
    fn ndjson(&mut self, line: &Line, data: &[u8]) -> anyhow::Result<()> {
        let tag = vec![("tenant".to_string(), json!(line.name).to_string())];
        for l in data.split(|&b| b == b'\n') {
            if let Ok(doc) = serde_json::from_slice::<Members>(l) {
                write_object(&mut self.spill, &tag, Some(&doc))?;
                self.spill.write_all(b"\n")?;
            }
        }
        if !line.ok {
            let e = json!({"tenant": line.name, "tenantId": line.tenant_id, "ok": false, "error": error_object(line)});
            writeln!(self.spill, "{e}")?;
        }
        Ok(())
    }

    fn csv(&mut self, line: &Line, data: &[u8]) -> anyhow::Result<()> {
        let data = data.strip_prefix("\u{feff}".as_bytes()).unwrap_or(data);
        for (i, record) in csv_records(data).enumerate() {
            if i == 0 {
                self.csv_header.get_or_insert_with(|| record.to_vec());
                continue;
            }
            self.spill.write_all(line.name.as_bytes())?;
            self.spill.write_all(b",")?;
            self.spill.write_all(record)?;
            self.spill.write_all(b"\n")?;
        }
        if let Some(e) = &line.error {
            tracing::warn!(tenant = %line.name, "no rows: {}", safe(e));
        }
        Ok(())
    }

    fn table(&mut self, line: &Line, data: &[u8]) -> anyhow::Result<()> {
        let id = line.tenant_id.as_deref().unwrap_or("id unknown");
        writeln!(self.spill, "\n== {} ({}) ==", line.name, safe(id))?;
        self.spill.write_all(data)?;
        if let Some(e) = &line.error {
            writeln!(self.spill, "error (exit {}): {}", line.code, safe(e))?;
        }
        Ok(())
    }

    /// A tenant's suites, from its documents, named by the tenant; a tenant that failed (or
    /// gave none) is one suite in error.
    fn junit(&mut self, line: &Line, suites: Vec<Suite>) -> anyhow::Result<()> {
        let suites = tenant_suites(line, suites);
        for s in &suites {
            self.junit.0 += s.tests;
            self.junit.1 += s.failures;
            self.junit.2 += s.errors;
            s.write(&mut self.spill)?;
        }
        Ok(())
    }

    /// A tenant's page, from its document, in a section of the fleet's page.
    fn html(&mut self, line: &Line, pages: Vec<crate::output::html::Page>) -> anyhow::Result<()> {
        let page = pages.first().filter(|_| line.error.is_none());
        let id = line.tenant_id.as_deref().unwrap_or("tenant id unknown");
        let headline = format!("{id}: {}", headline(line));
        crate::output::html::fleet_section(
            &mut self.spill,
            self.lines.len(),
            &line.name,
            &headline,
            page,
        )?;
        Ok(())
    }
}

/// A tenant's suites named by it; a tenant that failed (or gave none) is one suite in error.
fn tenant_suites(line: &Line, suites: Vec<Suite>) -> Vec<Suite> {
    match (&line.error, suites.is_empty()) {
        (None, false) => suites
            .into_iter()
            .map(|s| s.named(&format!("{}: ", line.name)))
            .collect(),
        _ => {
            let message = line
                .error
                .clone()
                .unwrap_or_else(|| "the command printed no JUnit report".into());
            vec![Suite::of_error(&line.name, line.code, &message)]
        }
    }
}

/// The HTML index's rows, in the order of `lines`.
fn index_rows(lines: &[Line]) -> Vec<crate::output::html::FleetRow> {
    lines
        .iter()
        .map(|l| crate::output::html::FleetRow {
            name: l.name.clone(),
            id: l.tenant_id.clone().unwrap_or_else(|| "-".into()),
            exit_code: l.code,
            class: l.class(),
            result: headline(l),
            tally: l.check.as_ref().map(|c| c.tally.clone()),
            trend: l
                .check
                .as_ref()
                .map(|c| c.trend.clone())
                .unwrap_or_default(),
        })
        .collect()
}

/// The fleet's table: a line per tenant (sorted by name) with its exit code and, for a check,
/// its counts and how long its oldest drift has lasted; then the totals.
fn summary_table(
    out: &mut dyn Write,
    lines: &[Line],
    command: &str,
    code: u8,
) -> anyhow::Result<()> {
    let name_w = lines.iter().map(|l| l.name.len()).max().unwrap_or(0).max(6);
    let counts = command == "check";
    // A check's counts take the room of the tenant id (in each tenant's heading below).
    let id_w = lines
        .iter()
        .map(|l| l.tenant_id.as_deref().map_or(1, str::len))
        .max()
        .unwrap_or(0)
        .max(9);
    let now = crate::clock::now_rfc3339();
    let head = if counts {
        format!(
            "{:name_w$}  EXIT  {:>4}  {:>7}  {:>8}  {:>8}  {:>6}  {:<9}  RESULT",
            "TENANT", "NEW", "PERSIST", "RESOLVED", "EXCEPTED", "FAILED", "OLDEST"
        )
    } else {
        format!("{:name_w$}  {:id_w$}  EXIT  RESULT", "TENANT", "TENANT ID")
    };
    writeln!(out, "{head}")?;
    let fixed = head.len() - "RESULT".len();
    // A long result (a failure's message) wraps under its column on a terminal.
    let indent = " ".repeat(fixed);
    for l in lines {
        let mut first = if counts {
            format!("{:name_w$}  {:>4}  ", l.name, l.code)
        } else {
            let id = safe(l.tenant_id.as_deref().unwrap_or("-")).into_owned();
            format!("{:name_w$}  {id:id_w$}  {:>4}  ", l.name, l.code)
        };
        if counts {
            match l.check.as_ref().map(|c| &c.tally) {
                Some(t) => {
                    let oldest = t
                        .oldest_first_seen
                        .as_deref()
                        .and_then(|f| crate::writeback::history::age(f, &now))
                        .unwrap_or_else(|| "-".into());
                    first.push_str(&format!(
                        "{:>4}  {:>7}  {:>8}  {:>8}  {:>6}  {:<9}  ",
                        t.new, t.persisting, t.resolved, t.excepted, t.failed, oldest
                    ));
                }
                None => first.push_str(&format!(
                    "{:>4}  {:>7}  {:>8}  {:>8}  {:>6}  {:<9}  ",
                    "-", "-", "-", "-", "-", "-"
                )),
            }
        }
        let result = safe(&headline(l)).into_owned();
        writeln!(
            out,
            "{}",
            crate::output::table::fitted(&result, &first, &indent)
        )?;
    }
    let failed = lines.iter().filter(|l| !l.ok).count();
    let drifted = lines.iter().filter(|l| l.ok && l.code == 3).count();
    writeln!(
        out,
        "\n{}: {} ok, {} drifted, {} failed; exit {code}",
        crate::output::table::count(lines.len() as u64, "tenant", "tenants"),
        lines.len() - failed - drifted,
        drifted,
        failed
    )?;
    Ok(())
}

/// A JSON object's members in the order written, each value as written and borrowed from the
/// tenant's output (a large report is not copied): a tenant's document as the fleet composes it.
struct Members<'a>(Vec<(String, &'a RawValue)>);

impl<'de: 'a, 'a> Deserialize<'de> for Members<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Members<'a>, D::Error> {
        struct Visit<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> serde::de::Visitor<'de> for Visit<'a> {
            type Value = Members<'a>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Members<'a>, A::Error> {
                let mut members = Vec::new();
                while let Some(kv) = map.next_entry::<String, &'de RawValue>()? {
                    members.push(kv);
                }
                Ok(Members(members))
            }
        }
        d.deserialize_map(Visit(std::marker::PhantomData))
    }
}

/// One object: `head`'s members (key, JSON text), then `doc`'s.
fn write_object(
    out: &mut dyn Write,
    head: &[(String, String)],
    doc: Option<&Members<'_>>,
) -> io::Result<()> {
    let from_doc = doc
        .into_iter()
        .flat_map(|d| d.0.iter().map(|(k, v)| (k.as_str(), v.get())));
    let members = head
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .chain(from_doc);
    out.write_all(b"{")?;
    for (i, (k, v)) in members.enumerate() {
        if i > 0 {
            out.write_all(b",")?;
        }
        serde_json::to_writer(&mut *out, k)?;
        out.write_all(b":")?;
        out.write_all(v.as_bytes())?;
    }
    out.write_all(b"}")
}

/// What a fleet document says of its own run: when, which command, which gwb (each tenant's
/// entry says which tenant and Graph root in its own `meta`).
fn fleet_meta(command: &str) -> serde_json::Value {
    let meta = crate::doc::Meta::this_run(command);
    json!({
        "generatedAt": meta.generated_at,
        "command": meta.command,
        "gwbVersion": meta.gwb_version,
    })
}

/// A tenant's result in a few words: ok, drift, or how it failed.
fn headline(l: &Line) -> String {
    match (l.code, &l.error) {
        (0, None) => "ok".to_string(),
        (3, None) => match l.check.as_ref().map(|c| &c.tally) {
            Some(t) => format!("drift: {} new, {} persisting", t.new, t.persisting),
            None => "drift".to_string(),
        },
        (c, None) => format!("failed (exit {c})"),
        (c, Some(e)) => format!("failed (exit {c}): {}", e.lines().next().unwrap_or("")),
    }
}

fn error_object(line: &Line) -> serde_json::Value {
    json!({
        "message": line.error.clone().unwrap_or_else(|| format!("the command ended with exit code {}", line.code)),
        "exitCode": line.code,
    })
}

/// The fleet's summary: counts, who failed and who drifted, the exit code, the shard.
fn summary(lines: &[Line], code: u8, shard: Option<Shard>) -> serde_json::Value {
    let names = |f: &dyn Fn(&Line) -> bool| {
        let mut v: Vec<&str> = lines
            .iter()
            .filter(|l| f(l))
            .map(|l| l.name.as_str())
            .collect();
        v.sort();
        v
    };
    let failed = names(&|l| !l.ok);
    let drifted = names(&|l| l.ok && l.code == 3);
    let mut s = json!({
        "tenants": lines.len(),
        "succeeded": lines.len() - failed.len(),
        "failed": failed.len(),
        "drifted": drifted.len(),
        "exitCode": code,
        "failedTenants": failed,
        "driftedTenants": drifted,
    });
    if let Some(sh) = shard {
        s["shard"] = json!({"index": sh.index, "count": sh.count});
    }
    s
}

/// CSV records: split at line ends outside quoted fields (a group name may hold a newline).
fn csv_records(data: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut start = 0;
    let mut quoted = false;
    let mut i = 0;
    std::iter::from_fn(move || {
        while i < data.len() {
            let b = data[i];
            i += 1;
            match b {
                b'"' => quoted = !quoted,
                b'\n' if !quoted => {
                    let r = &data[start..i - 1];
                    start = i;
                    return Some(r.strip_suffix(b"\r").unwrap_or(r));
                }
                _ => {}
            }
        }
        if start < data.len() {
            let r = &data[start..];
            start = data.len();
            return Some(r);
        }
        None
    })
}

/// A fleet document as `gwb merge` reads it: the entries kept as written.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct FleetDoc {
    schema_version: u32,
    kind: String,
    command: String,
    tenants: Vec<Box<RawValue>>,
    #[serde(default)]
    summary: Option<serde_json::Value>,
}

/// What `gwb merge` reads of an entry.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct EntryHead {
    name: String,
    #[serde(default)]
    tenant_id: Option<String>,
    ok: bool,
    exit_code: u8,
    #[serde(default)]
    error: Option<EntryError>,
    /// A check's counts and trend (fleet documents since gwb kept them).
    #[serde(default)]
    counts: Option<crate::doc::check::Tally>,
    #[serde(default)]
    trend: Vec<u64>,
}

#[derive(Deserialize)]
struct EntryError {
    message: String,
}

/// What `gwb merge` read: the documents, one line per tenant, and the merged exit code.
struct Read {
    docs: Vec<(PathBuf, FleetDoc)>,
    lines: Vec<Line>,
    coverage: Option<Coverage>,
    code: u8,
}

/// Read the fleet documents, refuse overlapping or mixed ones, and judge the shards' coverage.
fn read_all(args: &MergeArgs) -> anyhow::Result<Read> {
    let mut docs = Vec::new();
    for path in &args.files {
        docs.push((path.clone(), read_doc(path)?));
    }
    let command = docs[0].1.command.clone();
    if let Some((p, d)) = docs.iter().find(|(_, d)| d.command != command) {
        return Err(UsageError(format!(
            "{}: a fleet document of gwb {}, the first is of gwb {command}; merge the outputs of one command (nothing was done)",
            p.display(),
            d.command
        ))
        .into());
    }
    let mut lines = Vec::new();
    let mut seen = std::collections::BTreeMap::<String, PathBuf>::new();
    for (path, doc) in &docs {
        for raw in &doc.tenants {
            let head: EntryHead = serde_json::from_str(raw.get()).map_err(|e| {
                UsageError(format!(
                    "{}: a tenant entry without name, ok and exitCode ({e}); is it gwb's fleet output? (nothing was done)",
                    path.display()
                ))
            })?;
            if let Some(first) = seen.insert(head.name.clone(), path.clone()) {
                return Err(UsageError(format!(
                    "tenant {} is in both {} and {}: the shards overlap (give each shard's output once; nothing was done)",
                    safe(&head.name),
                    first.display(),
                    path.display()
                ))
                .into());
            }
            lines.push(Line {
                name: head.name,
                tenant_id: head.tenant_id,
                code: head.exit_code,
                ok: head.ok,
                error: head.error.map(|e| e.message),
                check: head.counts.map(|tally| crate::change::CheckNews {
                    tally,
                    trend: head.trend,
                    expiries: Vec::new(),
                }),
            });
        }
    }
    let coverage = shard_coverage(&docs);
    let codes: Vec<u8> = lines.iter().map(|l| l.code).collect();
    let mut code = exit_code(&codes);
    if let Some(c) = &coverage
        && let Some(problem) = c.problem()
    {
        if args.allow_missing {
            tracing::warn!("{problem} (--allow-missing: merged anyway)");
        } else {
            tracing::error!(
                "{problem}: the merged document lacks those tenants, so the run fails (exit 1); --allow-missing merges anyway"
            );
            if matches!(code, 0 | 3) {
                code = ExitStatus::Failure as u8;
            }
        }
    }
    Ok(Read {
        docs,
        lines,
        coverage,
        code,
    })
}

/// `gwb merge FILE...`: the fleet documents of several shards (or runs) as one, with one
/// summary and the fleet's exit code. A tenant in two files is an error (shards overlap).
/// JSON is the fleet document; a check's documents also render as a table, CSV, JUnit and
/// HTML, each tenant's from its own document, as a fleet run renders them.
pub(crate) fn run(
    args: &MergeArgs,
    format: Option<OutputFormat>,
    out: &mut dyn Write,
) -> anyhow::Result<ExitStatus> {
    let format = format.unwrap_or(OutputFormat::Json);
    if format == OutputFormat::Ndjson {
        return Err(UsageError(
            "gwb merge prints -o json (the fleet document), and for check also -o table, csv, junit or html; not ndjson (nothing was done)".into(),
        )
        .into());
    }
    let read = read_all(args)?;
    if format != OutputFormat::Json {
        return render_checks(read, format, out);
    }
    let Read {
        docs,
        lines,
        coverage,
        code,
    } = read;
    let command = docs[0].1.command.clone();
    write!(
        out,
        "{{\"schemaVersion\":{FLEET_SCHEMA_VERSION},\"kind\":\"{FLEET_KIND}\",\"command\":{},\"tenants\":[",
        json!(command)
    )?;
    let mut first = true;
    for (_, doc) in &docs {
        for raw in &doc.tenants {
            if !first {
                out.write_all(b",")?;
            }
            first = false;
            out.write_all(raw.get().as_bytes())?;
        }
    }
    let mut s = summary(&lines, code, None);
    s["mergedFrom"] = json!(docs.len());
    if let Some(c) = &coverage {
        s["missingShards"] = json!(c.missing);
        if !c.counts_disagree.is_empty() {
            s["shardCounts"] = json!(c.counts_disagree);
        }
    }
    writeln!(
        out,
        "],\"summary\":{s},\"meta\":{}}}",
        fleet_meta("gwb merge")
    )?;
    out.flush()?;
    Ok(super::status_of(code))
}

/// A tenant entry of a check's fleet document, read back as its document.
#[derive(Deserialize)]
struct CheckEntry {
    #[serde(flatten)]
    doc: crate::doc::check::CheckRead,
    #[serde(default)]
    meta: crate::doc::Meta,
}

/// Merged check documents as a table, CSV, JUnit or HTML: each tenant's entry is read back as
/// its check document and rendered as that tenant's run renders it, then joined as a fleet run
/// joins its tenants.
fn render_checks(
    read: Read,
    format: OutputFormat,
    out: &mut dyn Write,
) -> anyhow::Result<ExitStatus> {
    let command = read.docs[0].1.command.clone();
    if command != "check" {
        let name = match format {
            OutputFormat::Table => "table",
            OutputFormat::Csv => "csv",
            OutputFormat::Junit => "junit",
            _ => "html",
        };
        return Err(UsageError(format!(
            "gwb merge renders -o {name} from check's fleet documents; these are of gwb {command}, which merges to -o json only (nothing was done)"
        ))
        .into());
    }
    let mut merged = Merged::start(format, "check", None, out)?;
    let entries = read.docs.iter().flat_map(|(_, d)| &d.tenants);
    for (raw, line) in entries.zip(read.lines) {
        let mut o = Outcome {
            name: line.name.clone(),
            tenant_id: line.tenant_id.clone(),
            code: line.code,
            error: line.error.clone(),
            data: Vec::new(),
            docs: crate::change::Handed {
                check: line.check,
                ..Default::default()
            },
            client: None,
        };
        if line.error.is_none()
            && let Ok(entry) = serde_json::from_str::<CheckEntry>(raw.get())
        {
            render_entry(&mut o, entry, format)?;
        }
        merged.add(o)?;
    }
    merged.finish(0)?;
    // The tenants' codes, and a shard missing from the merge (read.code), as -o json exits.
    Ok(super::status_of(read.code))
}

/// One tenant's check document rendered into its outcome, as its own run would hand it in.
fn render_entry(o: &mut Outcome, entry: CheckEntry, format: OutputFormat) -> anyhow::Result<()> {
    let policy: crate::writeback::policy::Policy = entry.doc.policy.into();
    let trend = o
        .docs
        .check
        .as_ref()
        .map(|c| c.trend.clone())
        .unwrap_or_default();
    let shown = crate::doc::check::Shown {
        before: &entry.doc.before,
        fix: entry.doc.fix.as_ref(),
        after: entry.doc.after.as_ref(),
        changes: entry.doc.changes.as_ref(),
        trend: &trend,
    };
    let view = crate::output::check::CheckView {
        policy: &policy,
        shown,
        about: crate::output::About {
            tenant: o.name.clone(),
            command: entry.meta.command.clone(),
        },
        meta: entry.meta,
    };
    match format {
        OutputFormat::Junit => o.docs.suites.push(view.suite()),
        OutputFormat::Html => o.docs.pages.push(view.page()),
        _ => crate::output::render(&view, format, &mut o.data)?,
    }
    Ok(())
}

fn read_doc(path: &std::path::Path) -> Result<FleetDoc, UsageError> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        UsageError(format!(
            "{}: cannot read it ({e}); give the JSON files that the shards wrote (nothing was done)",
            path.display()
        ))
    })?;
    let doc: FleetDoc = serde_json::from_str(&text).map_err(|e| {
        UsageError(format!(
            "{}: not a gwb fleet document ({e}); give the -o json output of fleet runs (--all-tenants, --shard) (nothing was done)",
            path.display()
        ))
    })?;
    if doc.kind != FLEET_KIND || doc.schema_version != FLEET_SCHEMA_VERSION {
        return Err(UsageError(format!(
            "{}: kind {:?}, schemaVersion {}; gwb merge reads {FLEET_KIND} version {FLEET_SCHEMA_VERSION} (nothing was done)",
            path.display(),
            doc.kind,
            doc.schema_version
        )));
    }
    Ok(doc)
}

/// Which shards the merged outputs cover, when they are shards' (each records its `K/N`).
#[derive(Debug, PartialEq)]
struct Coverage {
    /// The shards of the count that have no output (`K/N`).
    missing: Vec<String>,
    /// The counts the outputs name, when they disagree (shards of different runs).
    counts_disagree: Vec<u64>,
}

impl Coverage {
    fn problem(&self) -> Option<String> {
        if !self.counts_disagree.is_empty() {
            return Some(format!(
                "the shards disagree on how many shards there are ({:?}): outputs of different runs?",
                self.counts_disagree
            ));
        }
        (!self.missing.is_empty()).then(|| {
            format!(
                "the merged shards do not cover the fleet: no output for shard {}",
                self.missing.join(", ")
            )
        })
    }
}

/// The shards `docs` cover, or `None` when none of them is a shard's output.
fn shard_coverage(docs: &[(PathBuf, FleetDoc)]) -> Option<Coverage> {
    let shards: Vec<(u64, u64)> = docs
        .iter()
        .filter_map(|(_, d)| {
            let s = d.summary.as_ref()?.get("shard")?;
            Some((s["index"].as_u64()?, s["count"].as_u64()?))
        })
        .collect();
    let &(_, count) = shards.first()?;
    let mut counts: Vec<u64> = shards.iter().map(|(_, n)| *n).collect();
    counts.sort_unstable();
    counts.dedup();
    if shards.len() < docs.len() {
        // Some outputs are whole-fleet runs, some shards': they cannot be counted together.
        counts.push(0);
    }
    let missing = (1..=count)
        .filter(|i| !shards.iter().any(|(k, n)| k == i && *n == count))
        .map(|i| format!("{i}/{count}"))
        .collect();
    Some(Coverage {
        missing,
        counts_disagree: if counts.len() > 1 { counts } else { Vec::new() },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(name: &str, code: u8, error: Option<&str>, data: &str) -> Outcome {
        Outcome {
            name: name.into(),
            tenant_id: Some(format!("{name}-id")),
            code,
            error: error.map(String::from),
            data: data.as_bytes().to_vec(),
            docs: Default::default(),
            client: None,
        }
    }

    fn merged(format: OutputFormat, outcomes: Vec<Outcome>) -> (String, u8) {
        let mut out = Vec::new();
        let mut m = Merged::start(format, "check", None, &mut out).unwrap();
        for o in outcomes {
            m.add(o).unwrap();
        }
        let (code, _) = m.finish(0).unwrap();
        (String::from_utf8(out).unwrap(), code)
    }

    #[test]
    fn json_entries_carry_the_tenant_documents_fields_and_failures_their_error() {
        let (text, code) = merged(
            OutputFormat::Json,
            vec![
                outcome(
                    "a",
                    3,
                    None,
                    "{\n  \"schemaVersion\": 1,\n  \"drift\": []\n}\n",
                ),
                outcome("b", 4, Some("Graph refused the token (401)"), ""),
            ],
        );
        assert_eq!(code, 1);
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["kind"], FLEET_KIND);
        assert_eq!(v["tenants"][0]["name"], "a");
        assert_eq!(v["tenants"][0]["ok"], true);
        assert_eq!(v["tenants"][0]["exitCode"], 3);
        assert_eq!(v["tenants"][0]["drift"], json!([]));
        assert_eq!(v["tenants"][1]["ok"], false);
        assert_eq!(v["tenants"][1]["error"]["exitCode"], 4);
        assert_eq!(v["summary"]["failedTenants"], json!(["b"]));
        assert_eq!(v["summary"]["driftedTenants"], json!(["a"]));
        assert_eq!(v["summary"]["exitCode"], 1);
    }

    #[test]
    fn ndjson_lines_name_their_tenant() {
        let (text, _) = merged(
            OutputFormat::Ndjson,
            vec![
                outcome("a", 0, None, "{\"id\":\"1\"}\n{\"id\":\"2\"}\n"),
                outcome("b", 1, Some("unreachable"), ""),
            ],
        );
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 3);
        assert_eq!(lines[0], json!({"tenant": "a", "id": "1"}));
        assert_eq!(lines[2]["tenant"], "b");
        assert_eq!(lines[2]["error"]["message"], "unreachable");
    }

    #[test]
    fn csv_has_a_tenant_column_and_one_header_even_with_newlines_in_fields() {
        let (text, _) = merged(
            OutputFormat::Csv,
            vec![
                outcome("a", 0, None, "id,displayName\n1,\"two\nlines\"\n"),
                outcome("b", 0, None, "id,displayName\n2,plain\n"),
            ],
        );
        assert_eq!(
            text,
            "tenant,id,displayName\na,1,\"two\nlines\"\nb,2,plain\n"
        );
    }

    #[test]
    fn the_table_summarises_first_then_shows_each_tenant() {
        let (text, code) = merged(
            OutputFormat::Table,
            vec![
                outcome("b", 0, None, "B'S TABLE\n"),
                outcome("a", 3, None, "A'S TABLE\n"),
            ],
        );
        assert_eq!(code, 3);
        let summary = text
            .find("2 tenants: 1 ok, 1 drifted, 0 failed; exit 3")
            .unwrap();
        let (a, b) = (
            text.find("== a (a-id) ==").unwrap(),
            text.find("== b").unwrap(),
        );
        assert!(text.find("  drift").unwrap() < summary);
        assert!(
            summary < a && a < b && b < text.find("B'S TABLE").unwrap(),
            "the sections come in the order of the names, whatever order they finished in"
        );
    }

    #[test]
    fn every_format_orders_the_tenants_by_name_and_json_carries_their_counts() {
        let tally = |new| crate::change::CheckNews {
            tally: crate::doc::check::Tally {
                new,
                persisting: 2,
                ..Default::default()
            },
            ..Default::default()
        };
        let with = |name: &str, new| Outcome {
            docs: crate::change::Handed {
                check: Some(tally(new)),
                ..Default::default()
            },
            ..outcome(name, 3, None, "{\"drift\": []}")
        };
        let (text, _) = merged(
            OutputFormat::Json,
            vec![with("c", 1), with("a", 5), with("b", 0)],
        );
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        let names: Vec<&str> = v["tenants"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["a", "b", "c"]);
        assert_eq!(v["tenants"][0]["counts"]["new"], 5);
        assert_eq!(v["tenants"][0]["counts"]["persisting"], 2);
        let (text, _) = merged(
            OutputFormat::Ndjson,
            vec![
                outcome("z", 0, None, "{\"id\":1}\n"),
                outcome("m", 0, None, "{\"id\":2}\n"),
            ],
        );
        assert!(
            text.find("\"m\"").unwrap() < text.find("\"z\"").unwrap(),
            "{text}"
        );
        let (text, _) = merged(OutputFormat::Table, vec![with("zeta", 1), with("alpha", 7)]);
        let row = text.lines().find(|l| l.starts_with("alpha")).unwrap();
        let cells: Vec<&str> = row.split_whitespace().collect();
        assert_eq!(&cells[..4], ["alpha", "3", "7", "2"], "{text}");
    }

    #[test]
    fn junit_sums_the_suites_and_counts_a_failed_tenant_as_an_error() {
        // The tenants hand in their suites as documents; nothing is parsed from text.
        let a = Outcome {
            docs: crate::change::Handed {
                suites: vec![Suite::counted("tenant x", 2, 1)],
                pages: Vec::new(),
                check: None,
            },
            ..outcome("a", 3, None, "")
        };
        let (text, _) = merged(
            OutputFormat::Junit,
            vec![a, outcome("b", 1, Some("<unreachable & gone>"), "")],
        );
        let doc = roxmltree::Document::parse(&text).expect("well-formed XML");
        let root = doc.root_element();
        assert_eq!(
            (
                root.attribute("tests"),
                root.attribute("failures"),
                root.attribute("errors")
            ),
            (Some("3"), Some("1"), Some("1"))
        );
        assert_eq!(root.children().filter(|n| n.is_element()).count(), 2);
        assert!(text.contains("<testsuite name=\"a: tenant x\""));
        assert!(text.contains("message=\"&lt;unreachable &amp; gone&gt;\""));
    }
}
