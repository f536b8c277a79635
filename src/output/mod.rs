//! The only module that prints data. stdout carries data (table, json, ndjson, csv); logs and
//! messages go to stderr through tracing.
//!
//! The JSON shapes are a contract documented in the README; the table is for people and may
//! change.

// The one printer: the crate denies print_stdout and print_stderr everywhere else.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::io::{self, IsTerminal, Write};
use std::sync::atomic::{AtomicBool, Ordering};

use serde::Serialize;

pub(crate) mod check;
pub(crate) mod check_html;
pub(crate) mod html;
pub(crate) mod junit;
pub(crate) mod pager;
pub(crate) mod rows;
pub(crate) mod table;
pub(crate) use table::TableLayout;

use crate::cli::OutputFormat;
use crate::doc::TenantSection;
use crate::writeback::summary::{ReportRow, Summary, caveats};

/// Version of the JSON report schema; bumped only on incompatible changes.
pub(crate) const REPORT_SCHEMA_VERSION: u32 = 1;

static JSON_LOGS: AtomicBool = AtomicBool::new(false);
static QUIET: AtomicBool = AtomicBool::new(false);
static NO_BARS: AtomicBool = AtomicBool::new(false);

/// No progress bars or spinners from here on: a fleet run works on several tenants at once,
/// whose bars would draw over each other.
pub(crate) fn hide_progress() {
    NO_BARS.store(true, Ordering::Relaxed);
}

fn bars_hidden() -> bool {
    JSON_LOGS.load(Ordering::Relaxed)
        || QUIET.load(Ordering::Relaxed)
        || NO_BARS.load(Ordering::Relaxed)
        || !io::stderr().is_terminal()
}

/// How messages to people are written: as log events when logs are JSON (so stderr stays one
/// JSON object per line), and not at all with `--quiet`.
pub(crate) fn set_messages(json_logs: bool, quiet: bool) {
    JSON_LOGS.store(json_logs, Ordering::Relaxed);
    QUIET.store(quiet, Ordering::Relaxed);
}

/// A message for the person running gwb (the journal's path, a saved plan), on stderr.
pub(crate) fn notice(message: &str) {
    if JSON_LOGS.load(Ordering::Relaxed) {
        tracing::info!("{message}");
    } else if !QUIET.load(Ordering::Relaxed) {
        let _ = to_stderr(format!("gwb: {}\n", safe(message)).as_bytes());
    }
}

/// Lines for the person running gwb to copy (a config snippet), on stderr as they are, each
/// line made safe; as one log event when logs are JSON; not at all with `--quiet`.
pub(crate) fn block(text: &str) {
    if JSON_LOGS.load(Ordering::Relaxed) {
        tracing::info!("{text}");
    } else if !QUIET.load(Ordering::Relaxed) {
        let lines: Vec<String> = text.lines().map(|l| safe(l).into_owned()).collect();
        let _ = to_stderr(format!("{}\n", lines.join("\n")).as_bytes());
    }
}

/// What a run leaves to come back to: each journal it opened with the command that undoes it,
/// and each plan it saved with the command that applies it. Said last, on stderr, whatever the
/// output format, `--quiet` or the way the run ended ([`say_the_way_back`]).
enum WayBack {
    Journal { path: String, undo: String },
    Plan { apply: String },
}

static WAY_BACK: std::sync::Mutex<Vec<WayBack>> = std::sync::Mutex::new(Vec::new());

/// A journal was opened: `undo` is the command that undoes its run.
pub(crate) fn way_back_journal(path: &str, undo: String) {
    let mut w = WAY_BACK.lock().unwrap_or_else(|e| e.into_inner());
    w.push(WayBack::Journal {
        path: path.to_string(),
        undo,
    });
}

/// A plan was saved: `apply` is the command that applies it.
pub(crate) fn way_back_plan(apply: &str) {
    let mut w = WAY_BACK.lock().unwrap_or_else(|e| e.into_inner());
    w.push(WayBack::Plan {
        apply: apply.to_string(),
    });
}

/// The run's last lines on stderr: for each journal it opened, its path and the command that
/// undoes it (and, after Ctrl-C or SIGTERM, that running the same command again finishes the
/// job); for each plan saved, the command that applies it. Plain lines, or one JSON record each
/// when logs are JSON; never silenced by `--quiet`, since the way back is what a person needs
/// most when something went wrong.
pub fn say_the_way_back(run_id: &str) {
    let taken = std::mem::take(&mut *WAY_BACK.lock().unwrap_or_else(|e| e.into_inner()));
    let interrupted = crate::interrupt::requested().map(crate::interrupt::name);
    let json = JSON_LOGS.load(Ordering::Relaxed);
    let mut text = String::new();
    for w in &taken {
        let record = match w {
            WayBack::Journal { path, undo } => {
                text.push_str(&format!(
                    "gwb: journal: {}\ngwb: undo with: {}\n",
                    safe(path),
                    safe(undo)
                ));
                if let Some(sig) = interrupted {
                    text.push_str(&format!(
                        "gwb: interrupted by {sig}: run the same command again to finish (it plans afresh and skips what is done)\n"
                    ));
                }
                serde_json::json!({"message": "the way back", "journal": path, "undo": undo,
                    "interrupted": interrupted})
            }
            WayBack::Plan { apply } => {
                text.push_str(&format!("gwb: apply it with: {}\n", safe(apply)));
                serde_json::json!({"message": "the way on", "apply": apply})
            }
        };
        if json {
            let mut record = record;
            record["timestamp"] = crate::clock::now_rfc3339().into();
            record["level"] = "INFO".into();
            record["span"] = serde_json::json!({"name": "gwb", "run_id": run_id});
            let _ = to_stderr(format!("{record}\n").as_bytes());
        }
    }
    if !json && !text.is_empty() {
        let _ = to_stderr(text.as_bytes());
    }
}

/// The emulator's start-up banner, always on stderr (its first line, "listening on URL", is
/// stable so scripts and tests can read the port).
pub(crate) fn banner(text: &str) {
    eprintln!("{text}");
}

/// The error that ended the run: always shown, as a JSON line when logs are JSON.
pub fn error_message(span: &tracing::Span, error: &str, exit_code: u8) {
    if JSON_LOGS.load(Ordering::Relaxed) {
        span.in_scope(|| tracing::error!(exit_code, "{error}"));
    } else {
        // The chain can quote Graph's own error text: never let it reach the terminal raw.
        eprintln!("gwb: error: {}", safe(error));
    }
}

/// Wraps stdout so that a reader who goes away (`gwb check -o ndjson | head -1`) stops the output
/// but not the command: after the first broken pipe every write is dropped and reported as
/// done, so the command finishes and its exit code (drift, a failed group) still tells the truth.
pub struct PipeTolerant<W: Write> {
    inner: W,
    closed: bool,
}

impl<W: Write> PipeTolerant<W> {
    pub fn new(inner: W) -> Self {
        PipeTolerant {
            inner,
            closed: false,
        }
    }

    fn absorb<T>(&mut self, r: io::Result<T>, done: T) -> io::Result<T> {
        match r {
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {
                if !self.closed {
                    tracing::debug!("stdout was closed by its reader; dropping further output");
                }
                self.closed = true;
                Ok(done)
            }
            other => other,
        }
    }
}

impl<W: Write> Write for PipeTolerant<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.closed {
            return Ok(buf.len());
        }
        let r = self.inner.write(buf);
        self.absorb(r, buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.closed {
            return Ok(());
        }
        let r = self.inner.flush();
        self.absorb(r, ())
    }
}

/// Text from Graph or a file, made safe to print for people: control characters (C0, C1, DEL)
/// are shown as `\u{..}` escapes instead of reaching the terminal, so a group name cannot move
/// the cursor, rewrite a line or fake a summary; bidirectional overrides and isolates are escaped
/// the same way, so text cannot be shown reversed. JSON output escapes them by itself.
pub(crate) fn safe(s: &str) -> std::borrow::Cow<'_, str> {
    fn bad(c: char) -> bool {
        c.is_control()
            || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' | '\u{061C}')
    }
    if !s.chars().any(bad) {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if bad(c) {
            out.push_str(&format!("\\u{{{:x}}}", c as u32));
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

/// The summary under the table, in lines that fit 80 columns. With a filter (`--kind`,
/// `--written-back`) it counts what is shown (`shown`: a summary of the rows shown), and says of
/// how many.
fn write_summary(w: &mut dyn Write, shown: &Summary, s: &Summary) -> io::Result<()> {
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
            "  {} need attention (marked [!], listed above)",
            table::groups(c.warnings)
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
fn safe_lines(s: &str) -> String {
    s.split('\n')
        .map(|l| safe(l).into_owned())
        .collect::<Vec<_>>()
        .join("\n")
}

/// The whole JSON report as one value: what [`rows::RowWriter`] writes piece by piece (its
/// test compares the two byte for byte).
#[cfg(test)]
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ReportDoc<'a> {
    schema_version: u32,
    tenant: &'a TenantSection,
    groups: &'a [ReportRow],
    summary: &'a Summary,
    caveats: Vec<&'static str>,
}

/// Print a whole report, from rows kept in memory (the table, `--member-counts`, JSON to
/// stdout); see [`rows::RowWriter`] for the rows written as they are read.
pub(crate) fn write_report(
    w: &mut dyn Write,
    format: OutputFormat,
    tenant: &TenantSection,
    rows: &[ReportRow],
    summary: &Summary,
    layout: TableLayout,
) -> io::Result<()> {
    match format {
        OutputFormat::Table => {
            write_table(w, tenant, rows, summary, layout)?;
            w.flush()
        }
        // JUnit is check's; report refuses it before reading (require_format). HTML has a
        // header about the run, so report writes it with `html::write_report`.
        OutputFormat::Junit | OutputFormat::Html => Err(io::Error::other(
            "report prints JUnit never, and HTML through html::write_report",
        )),
        f => {
            let mut rw = rows::RowWriter::start(w, f, Some(tenant))?;
            for r in rows {
                rw.row(r)?;
            }
            rw.finish(summary)
        }
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

/// The last lines of every run that wrote: where its journal is, and the one command that undoes
/// it (as [`way_back_journal`] recorded it, with the flags that chose the target).
pub(crate) fn write_undo_line(out: &mut dyn Write, journal: &str) -> io::Result<()> {
    let undo = WAY_BACK
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
        .find_map(|w| match w {
            WayBack::Journal { path, undo } if path == journal => Some(undo.clone()),
            _ => None,
        })
        .unwrap_or_else(|| format!("gwb restore --journal {journal}"));
    writeln!(out, "Journal: {journal}")?;
    writeln!(out, "Undo with: {undo}")
}

/// CSV rows: a header, then one line per row, every field quoted as [`csv_field`] does.
pub(crate) fn write_csv_rows<const N: usize>(
    w: &mut dyn Write,
    header: [&str; N],
    rows: impl Iterator<Item = [String; N]>,
) -> io::Result<()> {
    csv_start(w)?;
    writeln!(w, "{}", header.join(","))?;
    for r in rows {
        write_csv_line(w, r.iter().map(String::as_str))?;
    }
    w.flush()
}

/// One CSV line: the fields quoted as [`csv_field`] does, comma-separated.
pub(crate) fn write_csv_line<'f>(
    w: &mut dyn Write,
    fields: impl IntoIterator<Item = &'f str>,
) -> io::Result<()> {
    for (i, f) in fields.into_iter().enumerate() {
        if i > 0 {
            w.write_all(b",")?;
        }
        w.write_all(csv_field(f).as_bytes())?;
    }
    w.write_all(b"\n")
}

/// The five characters markup gives meaning to, as entities: for HTML text and attributes and
/// for XML (`&#39;` is valid in both).
pub(crate) fn markup(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The formats `command` can print; any other is a usage error before anything is read (a
/// script asking for CSV must not get JSON it did not ask for).
pub(crate) fn require_format(
    format: OutputFormat,
    command: &str,
    allowed: &[OutputFormat],
) -> Result<(), crate::error::UsageError> {
    if allowed.contains(&format) {
        return Ok(());
    }
    let name = |f: &OutputFormat| {
        clap::ValueEnum::to_possible_value(f)
            .map(|p| p.get_name().to_string())
            .unwrap_or_default()
    };
    let list: Vec<String> = allowed.iter().map(name).collect();
    Err(crate::error::UsageError(format!(
        "{command} cannot print -o {}; use one of: {} (nothing was done)",
        name(&format),
        list.join(", ")
    )))
}

/// RFC 4180 quoting: fields with a comma, quote, CR or LF are quoted, quotes doubled.
/// Null reads as an empty field.
pub(crate) fn csv_field(s: &str) -> String {
    // A field a spreadsheet would run as a formula (a group named "=HYPERLINK(...)" by anyone
    // who may create groups) gets a leading apostrophe, as OWASP advises for CSV injection.
    // No id, kind, boolean, date or count starts with these, so only free text is touched.
    let s = if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_string()
    };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

pub(crate) fn show_bool(b: Option<bool>) -> &'static str {
    match b {
        Some(true) => "true",
        Some(false) => "false",
        None => "null",
    }
}

fn write_table(
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

/// `--csv-bom`: CSV starts with a UTF-8 byte order mark, so Excel reads `Équipe Zürich 東京` as
/// written.
static CSV_BOM: AtomicBool = AtomicBool::new(false);

pub(crate) fn set_csv_bom(on: bool) {
    CSV_BOM.store(on, Ordering::Relaxed);
}

/// Whether CSV starts with a byte order mark (`--csv-bom`).
pub(crate) fn csv_bom() -> bool {
    CSV_BOM.load(Ordering::Relaxed)
}

/// The start of every CSV document: the BOM, when asked for.
pub(crate) fn csv_start(w: &mut dyn Write) -> io::Result<()> {
    if CSV_BOM.load(Ordering::Relaxed) {
        w.write_all("\u{feff}".as_bytes())?;
    }
    Ok(())
}

/// The progress bar on screen, if any: log lines and notices are written with it suspended, so
/// a line printed during a bar never leaves a stale bar behind.
static ACTIVE_BAR: std::sync::Mutex<Option<indicatif::ProgressBar>> = std::sync::Mutex::new(None);

/// Write `text` to stderr, with the bar on screen (if any) lifted off first and drawn again
/// after.
fn to_stderr(text: &[u8]) -> io::Result<()> {
    let bar = ACTIVE_BAR.lock().ok().and_then(|b| b.clone());
    match bar {
        Some(b) if !b.is_finished() && !b.is_hidden() => b.suspend(|| io::stderr().write_all(text)),
        _ => io::stderr().write_all(text),
    }
}

/// The writer tracing logs through (see [`to_stderr`]).
pub(crate) struct LogWriter;

impl Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        to_stderr(buf)?;
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        io::stderr().flush()
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for LogWriter {
    type Writer = LogWriter;
    fn make_writer(&'a self) -> LogWriter {
        LogWriter
    }
}

/// How fast a bar can go: a paced write run cannot beat `limit` writes per `window`, whatever
/// its first seconds looked like.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Pace {
    pub limit: u32,
    pub window: std::time::Duration,
}

/// The bar's look: fits the terminal (the bar takes what the text leaves), a whole number per
/// second, and an ETA no sooner than pacing allows.
pub(crate) fn bar_style(pace: Option<Pace>) -> indicatif::ProgressStyle {
    indicatif::ProgressStyle::with_template(
        "{msg:>8} {wide_bar} {human_pos}/{human_len} groups, {rate}, eta {paced_eta}",
    )
    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
    .progress_chars("=> ")
    .with_key(
        "rate",
        |s: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
            let _ = write!(w, "{:.0}/s", s.per_sec());
        },
    )
    .with_key(
        "paced_eta",
        move |s: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
            let remaining = s.len().unwrap_or(0).saturating_sub(s.pos());
            let floor = pace.map_or(std::time::Duration::ZERO, |p| {
                p.window
                    .mul_f64(remaining as f64 / f64::from(p.limit.max(1)))
            });
            let eta = s.eta().max(floor);
            let _ = write!(w, "{}", indicatif::HumanDuration(eta));
        },
    )
}

/// A progress bar on stderr when it is a terminal; hidden otherwise (logs and pipes stay clean).
pub(crate) fn progress_bar(len: u64, what: &'static str) -> indicatif::ProgressBar {
    paced_bar(len, what, None)
}

/// A bar shows how far Graph's batches got (they only count).
impl crate::graph::batch::Progress for indicatif::ProgressBar {
    fn advance(&self, n: u64) {
        self.inc(n);
    }
    fn done(&self) {
        self.finish_and_clear();
    }
}

/// [`progress_bar`] for writes that `pace` limits.
pub(crate) fn paced_bar(
    len: u64,
    what: &'static str,
    pace: Option<Pace>,
) -> indicatif::ProgressBar {
    if bars_hidden() || len == 0 {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(len);
    bar.set_style(bar_style(pace));
    bar.set_message(what);
    if let Ok(mut active) = ACTIVE_BAR.lock() {
        *active = Some(bar.clone());
    }
    bar
}

/// A spinner with the count so far ("reading groups… 12,000"), while a listing of unknown
/// length is read; hidden where bars are.
pub(crate) fn spinner(what: &'static str) -> indicatif::ProgressBar {
    if bars_hidden() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new_spinner();
    bar.set_style(
        indicatif::ProgressStyle::with_template("{spinner} {msg}… {human_pos}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
    );
    bar.set_message(what);
    bar.enable_steady_tick(std::time::Duration::from_millis(120));
    if let Ok(mut active) = ACTIVE_BAR.lock() {
        *active = Some(bar.clone());
    }
    bar
}

/// An item that failed, logged once: in JSON logs as an error line for machines; in text logs
/// only at -v, since the summary lists every failure for people (printing it twice buries it).
pub(crate) fn item_failed(group: &str, message: &str) {
    if JSON_LOGS.load(Ordering::Relaxed) {
        tracing::error!(group = %safe(group), "{}", safe(message));
    } else {
        tracing::info!(group = %safe(group), "{}", safe(message));
    }
}

/// Ask a yes/no question on the terminal (stderr), default no.
pub(crate) fn ask(question: &str) -> io::Result<bool> {
    let mut err = io::stderr();
    write!(err, "{question}")?;
    err.flush()?;
    let mut answer = String::new();
    io::stdin().read_line(&mut answer)?;
    Ok(matches!(
        answer.trim().to_ascii_lowercase().as_str(),
        "y" | "yes"
    ))
}

/// Any serialisable document as pretty JSON.
pub(crate) fn write_json<T: Serialize>(w: &mut dyn Write, doc: &T) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *w, doc)?;
    writeln!(w)?;
    w.flush()
}

/// A bulk-change plan for people: one line per change, the skips counted, then the summary.
pub(crate) fn write_plan_table(
    w: &mut dyn Write,
    title: &str,
    changes: &[crate::writeback::plan::Change],
    skipped: &[crate::writeback::plan::Skipped],
    summary_lines: &[String],
) -> io::Result<()> {
    let show = |wb: &crate::graph::model::WritebackConfiguration| {
        format!(
            "isEnabled={} type={}",
            show_bool(wb.is_enabled),
            safe(wb.on_premises_group_type.as_deref().unwrap_or("null"))
        )
    };
    writeln!(w, "{title}")?;
    for c in changes {
        writeln!(
            w,
            "  {}  {}  ->  {}  {}",
            c.id,
            show(&c.before),
            show(&c.after),
            safe(c.display_name.as_deref().unwrap_or(""))
        )?;
        if c.role_assignable {
            writeln!(
                w,
                "      (role-assignable: Graph changes it only for an app that also holds RoleManagement.ReadWrite.Directory)"
            )?;
        }
    }
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
        writeln!(w, "{l}")?;
    }
    w.flush()
}

impl crate::doc::ItemFailure {
    /// The failure as one line for people, with Graph's text made safe to print.
    pub(crate) fn line(&self) -> String {
        let text = format!(
            "{} {}: {} {}: {}{}",
            self.id,
            self.display_name.as_deref().unwrap_or(""),
            self.status,
            self.code,
            self.message,
            self.request_id
                .as_deref()
                .map(|r| format!(" (request-id: {r})"))
                .unwrap_or_default()
        );
        safe(&text).into_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draw(pace: Option<Pace>, pos: u64, len: u64) -> String {
        let term = indicatif::InMemoryTerm::new(4, 80);
        let bar = indicatif::ProgressBar::with_draw_target(
            Some(len),
            indicatif::ProgressDrawTarget::term_like(Box::new(term.clone())),
        );
        bar.set_style(bar_style(pace));
        bar.set_message("writing");
        bar.set_position(pos);
        bar.tick();
        term.contents()
    }

    #[test]
    fn the_bar_fits_80_columns_with_a_whole_rate_and_a_paced_eta() {
        let pace = Pace {
            limit: 3_000,
            window: std::time::Duration::from_secs(150),
        };
        let screen = draw(Some(pace), 4_000, 10_000);
        let line = screen
            .lines()
            .find(|l| l.contains("writing"))
            .expect(&screen);
        assert!(console::measure_text_width(line) <= 80, "{line}");
        assert!(line.contains("4,000/10,000 groups"), "{line}");
        assert!(line.contains("/s,"), "{line}");
        let rate = line
            .split("groups, ")
            .nth(1)
            .unwrap()
            .split("/s")
            .next()
            .unwrap();
        assert!(!rate.contains('.'), "a whole number per second: {line}");
        // 6,000 writes left at 3,000 per 150 s: at least 300 s, whatever the start looked like.
        assert!(line.contains("eta 5 minutes"), "{line}");
        let unpaced = draw(None, 4_000, 10_000);
        assert!(!unpaced.contains("eta 5 minutes"), "{unpaced}");
    }

    #[test]
    fn csv_quoting() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a, b"), "\"a, b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("two\nlines"), "\"two\nlines\"");
        assert_eq!(csv_field("Équipe 東京"), "Équipe 東京");
        // Formulas are defused; quoting still applies after.
        assert_eq!(csv_field("=1+1"), "'=1+1");
        assert_eq!(
            csv_field("=HYPERLINK(\"http://x\",\"y\")"),
            "\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\""
        );
        assert_eq!(csv_field("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(csv_field("-2"), "'-2");
        assert_eq!(csv_field("a=b"), "a=b");
    }

    #[test]
    fn control_and_bidi_characters_are_escaped_for_people() {
        assert_eq!(safe("Équipe 東京"), "Équipe 東京");
        assert_eq!(
            safe("Innocent\n  Summary: 0 changes\r"),
            "Innocent\\u{a}  Summary: 0 changes\\u{d}"
        );
        assert_eq!(safe("a\u{1b}[2Jb\u{7}"), "a\\u{1b}[2Jb\\u{7}");
        assert_eq!(safe("x\u{9b}31m\u{7f}"), "x\\u{9b}31m\\u{7f}");
        assert_eq!(safe("abc\u{202e}fed"), "abc\\u{202e}fed");
        assert_eq!(safe("\u{2067}x\u{2069}"), "\\u{2067}x\\u{2069}");
    }

    #[test]
    fn a_closed_pipe_stops_output_but_not_the_command() {
        struct Closed(usize);
        impl Write for Closed {
            fn write(&mut self, _: &[u8]) -> io::Result<usize> {
                self.0 += 1;
                Err(io::Error::from(io::ErrorKind::BrokenPipe))
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let mut w = PipeTolerant::new(Closed(0));
        assert!(writeln!(w, "first").is_ok());
        assert!(w.closed);
        assert!(writeln!(w, "second").is_ok());
        assert_eq!(w.inner.0, 1, "nothing is written after the pipe closed");
        struct Full;
        impl Write for Full {
            fn write(&mut self, _: &[u8]) -> io::Result<usize> {
                Err(io::Error::other("disk full"))
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        assert!(
            writeln!(PipeTolerant::new(Full), "x").is_err(),
            "other errors still surface"
        );
    }
}
