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
struct Line {
    name: String,
    tenant_id: Option<String>,
    code: u8,
    ok: bool,
    error: Option<String>,
}

/// The fleet's output, written as tenants finish.
pub(crate) struct Merged<'a> {
    format: OutputFormat,
    command: &'static str,
    shard: Option<Shard>,
    out: &'a mut dyn Write,
    lines: Vec<Line>,
    csv_header: bool,
    /// The table's and JUnit's details, until the summary that goes first is known.
    spill: Option<File>,
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
        if format == OutputFormat::Json {
            write!(
                out,
                "{{\"schemaVersion\":{FLEET_SCHEMA_VERSION},\"kind\":\"{FLEET_KIND}\",\"command\":\"{command}\",\"tenants\":["
            )?;
        }
        let spill = match format {
            OutputFormat::Table | OutputFormat::Junit | OutputFormat::Html => Some(
                crate::files::unlinked_temp("the fleet's table, JUnit or HTML output")?,
            ),
            _ => None,
        };
        if format == OutputFormat::Csv && crate::output::csv_bom() {
            out.write_all("\u{feff}".as_bytes())?;
        }
        Ok(Merged {
            format,
            command,
            shard,
            out,
            lines: Vec::new(),
            csv_header: false,
            spill,
            junit: (0, 0, 0),
        })
    }

    /// A tenant's outcome: its output into the fleet's, its line into the summary.
    pub(crate) fn add(&mut self, o: Outcome) -> anyhow::Result<()> {
        let mut line = Line {
            ok: o.ok(),
            name: o.name,
            tenant_id: o.tenant_id,
            code: o.code,
            error: o.error,
        };
        match self.format {
            OutputFormat::Json => self.json(&mut line, &o.data)?,
            OutputFormat::Ndjson => self.ndjson(&line, &o.data)?,
            OutputFormat::Csv => self.csv(&line, &o.data)?,
            OutputFormat::Junit => self.junit(&line, o.docs.suites)?,
            OutputFormat::Html => self.html(&line, o.docs.pages)?,
            _ => self.table(&line, &o.data)?,
        }
        self.lines.push(line);
        Ok(())
    }

    /// The summary (after the entries, or before the details) and the fleet's exit code.
    pub(crate) fn finish(mut self, writes: u64) -> anyhow::Result<u8> {
        let codes: Vec<u8> = self.lines.iter().map(|l| l.code).collect();
        let code = exit_code(&codes);
        match self.format {
            OutputFormat::Json => {
                let mut summary = summary(&self.lines, code, self.shard);
                summary["writes"] = json!(writes);
                let meta = fleet_meta(&format!("gwb {}", self.command));
                writeln!(self.out, "],\"summary\":{summary},\"meta\":{meta}}}")?;
            }
            OutputFormat::Table => {
                self.summary_table(code)?;
                self.copy_spill()?;
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
                let mut rows: Vec<(String, String, String, bool)> = self
                    .lines
                    .iter()
                    .map(|l| {
                        let id = l.tenant_id.clone().unwrap_or_else(|| "-".into());
                        (l.name.clone(), id, headline(l), l.ok)
                    })
                    .collect();
                rows.sort();
                crate::output::html::fleet_index(self.out, &rows)?;
                self.copy_spill()?;
                crate::output::html::foot(self.out)?;
            }
            OutputFormat::Junit => {
                let title = format!("gwb {} (fleet of {})", self.command, self.lines.len());
                crate::output::junit::open_fleet(self.out, &title, self.junit)?;
                self.copy_spill()?;
                crate::output::junit::close(self.out)?;
            }
            _ => {}
        }
        self.out.flush()?;
        Ok(code)
    }

    /// A tenant's entry: the fleet's fields about it, then its own document's members, from
    /// the document (parsed, never edited as text).
    fn json(&mut self, line: &mut Line, data: &[u8]) -> anyhow::Result<()> {
        if !self.lines.is_empty() {
            self.out.write_all(b",")?;
        }
        // A run that ended printed its whole document (gwb's own writer); one that failed may
        // have printed part of one, which is used only if it parses.
        let doc = serde_json::from_slice::<Members>(data).ok();
        if doc.is_none() && line.error.is_none() {
            line.ok = false;
            line.error = Some("the command printed no JSON document".into());
        }
        let mut head: Vec<(&str, serde_json::Value)> = Vec::new();
        if !line.ok {
            head.push(("error", error_object(line)));
        }
        head.push(("exitCode", json!(line.code)));
        head.push(("name", json!(line.name)));
        head.push(("ok", json!(line.ok)));
        head.push(("tenantId", json!(line.tenant_id)));
        let head: Vec<(String, String)> = head
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Ok(write_object(self.out, &head, doc.as_ref())?)
    }

    /// Each of a tenant's NDJSON documents with `"tenant": NAME` first.
    fn ndjson(&mut self, line: &Line, data: &[u8]) -> anyhow::Result<()> {
        let tag = vec![("tenant".to_string(), json!(line.name).to_string())];
        for l in data.split(|&b| b == b'\n') {
            if let Ok(doc) = serde_json::from_slice::<Members>(l) {
                write_object(self.out, &tag, Some(&doc))?;
                self.out.write_all(b"\n")?;
            }
        }
        if !line.ok {
            let e = json!({"tenant": line.name, "tenantId": line.tenant_id, "ok": false, "error": error_object(line)});
            writeln!(self.out, "{e}")?;
        }
        Ok(())
    }

    fn csv(&mut self, line: &Line, data: &[u8]) -> anyhow::Result<()> {
        let data = data.strip_prefix("\u{feff}".as_bytes()).unwrap_or(data);
        for (i, record) in csv_records(data).enumerate() {
            if i == 0 {
                if self.csv_header {
                    continue;
                }
                self.csv_header = true;
                self.out.write_all(b"tenant,")?;
            } else {
                self.out.write_all(line.name.as_bytes())?;
                self.out.write_all(b",")?;
            }
            self.out.write_all(record)?;
            self.out.write_all(b"\n")?;
        }
        if let Some(e) = &line.error {
            tracing::warn!(tenant = %line.name, "no rows: {}", safe(e));
        }
        Ok(())
    }

    fn table(&mut self, line: &Line, data: &[u8]) -> anyhow::Result<()> {
        let spill = self.spill.as_mut().expect("the table spills");
        let id = line.tenant_id.as_deref().unwrap_or("id unknown");
        writeln!(spill, "\n== {} ({}) ==", line.name, safe(id))?;
        spill.write_all(data)?;
        if let Some(e) = &line.error {
            writeln!(spill, "error (exit {}): {}", line.code, safe(e))?;
        }
        Ok(())
    }

    /// A tenant's suites, from its documents, named by the tenant; a tenant that failed (or
    /// gave none) is one suite in error. Written to the spill: the totals go first.
    fn junit(&mut self, line: &Line, suites: Vec<Suite>) -> anyhow::Result<()> {
        let spill = self.spill.as_mut().expect("JUnit spills");
        let suites = match (&line.error, suites.is_empty()) {
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
        };
        for s in &suites {
            self.junit.0 += s.tests;
            self.junit.1 += s.failures;
            self.junit.2 += s.errors;
            s.write(spill)?;
        }
        Ok(())
    }

    /// A tenant's page, from its document, in a section of the fleet's page.
    fn html(&mut self, line: &Line, pages: Vec<crate::output::html::Page>) -> anyhow::Result<()> {
        let spill = self.spill.as_mut().expect("the page spills");
        let page = pages.first().filter(|_| line.error.is_none());
        let id = line.tenant_id.as_deref().unwrap_or("tenant id unknown");
        let headline = format!("{id}: {}", headline(line));
        crate::output::html::fleet_section(spill, self.lines.len(), &line.name, &headline, page)?;
        Ok(())
    }

    fn summary_table(&mut self, code: u8) -> anyhow::Result<()> {
        let mut lines: Vec<&Line> = self.lines.iter().collect();
        lines.sort_by(|a, b| a.name.cmp(&b.name));
        let name_w = lines.iter().map(|l| l.name.len()).max().unwrap_or(0).max(6);
        let id_w = lines
            .iter()
            .map(|l| l.tenant_id.as_deref().map_or(1, str::len))
            .max()
            .unwrap_or(0)
            .max(9);
        writeln!(
            self.out,
            "{:name_w$}  {:id_w$}  RESULT",
            "TENANT", "TENANT ID"
        )?;
        // A long result (a failure's message) wraps under its column on a terminal.
        let indent = " ".repeat(name_w + 2 + id_w + 2);
        for l in &lines {
            let first = format!(
                "{:name_w$}  {:id_w$}  ",
                l.name,
                safe(l.tenant_id.as_deref().unwrap_or("-"))
            );
            let result = safe(&headline(l)).into_owned();
            writeln!(
                self.out,
                "{}",
                crate::output::table::fitted(&result, &first, &indent)
            )?;
        }
        let failed = lines.iter().filter(|l| !l.ok).count();
        let drifted = lines.iter().filter(|l| l.ok && l.code == 3).count();
        writeln!(
            self.out,
            "\n{}: {} ok, {} drifted, {} failed; exit {code}",
            crate::output::table::count(lines.len() as u64, "tenant", "tenants"),
            lines.len() - failed - drifted,
            drifted,
            failed
        )?;
        Ok(())
    }

    fn copy_spill(&mut self) -> anyhow::Result<()> {
        if let Some(mut f) = self.spill.take() {
            f.rewind()?;
            io::copy(&mut f, &mut self.out)?;
        }
        Ok(())
    }
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
        (3, None) => "drift (exit 3)".to_string(),
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
}

#[derive(Deserialize)]
struct EntryError {
    message: String,
}

/// `gwb merge FILE...`: the fleet documents of several shards (or runs) as one, with one
/// summary and the fleet's exit code. A tenant in two files is an error (shards overlap).
pub(crate) fn run(
    args: &MergeArgs,
    format: Option<OutputFormat>,
    out: &mut dyn Write,
) -> anyhow::Result<ExitStatus> {
    if !matches!(format, None | Some(OutputFormat::Json)) {
        return Err(UsageError(
            "gwb merge prints JSON, the fleet document (-o json); nothing was done".into(),
        )
        .into());
    }
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
        }
    }

    fn merged(format: OutputFormat, outcomes: Vec<Outcome>) -> (String, u8) {
        let mut out = Vec::new();
        let mut m = Merged::start(format, "check", None, &mut out).unwrap();
        for o in outcomes {
            m.add(o).unwrap();
        }
        let code = m.finish(0).unwrap();
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
        assert!(text.find("drift (exit 3)").unwrap() < summary);
        assert!(summary < a && summary < b && b < text.find("B'S TABLE").unwrap());
    }

    #[test]
    fn junit_sums_the_suites_and_counts_a_failed_tenant_as_an_error() {
        // The tenants hand in their suites as documents; nothing is parsed from text.
        let a = Outcome {
            docs: crate::change::Handed {
                suites: vec![Suite::counted("tenant x", 2, 1)],
                pages: Vec::new(),
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
