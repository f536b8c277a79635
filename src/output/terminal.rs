//! The terminal side of the printer: notices and blocks on stderr (or as log events), the way
//! back said last, progress bars and spinners, the consent prompt, and the writer that keeps a
//! closed pipe from being an error. Everything here goes to stderr; data goes to stdout through
//! the renderers.

use std::io::{self, IsTerminal, Write};
use std::sync::atomic::{AtomicBool, Ordering};

pub(crate) static JSON_LOGS: AtomicBool = AtomicBool::new(false);

pub(crate) static QUIET: AtomicBool = AtomicBool::new(false);

pub(crate) static NO_BARS: AtomicBool = AtomicBool::new(false);

/// No progress bars or spinners from here on: a fleet run works on several tenants at once,
/// whose bars would draw over each other.
pub(crate) fn hide_progress() {
    NO_BARS.store(true, Ordering::Relaxed);
}

pub(crate) fn bars_hidden() -> bool {
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
        // On a terminal, wrapped to its width; to a file or a pipe, one line (for grep).
        let term = console::Term::stderr();
        let width = term
            .is_term()
            .then(|| term.size_checked().map(|(_, cols)| usize::from(cols)))
            .flatten();
        let text = super::table::fitted_to(width, &safe(message), "gwb: ", "  ");
        let _ = to_stderr(format!("{text}\n").as_bytes());
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
pub(crate) enum WayBack {
    Journal { path: String, undo: String },
    Plan { apply: String },
}

pub(crate) static WAY_BACK: std::sync::Mutex<Vec<WayBack>> = std::sync::Mutex::new(Vec::new());

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
        // The chain can quote Graph's own error text: never let it reach the terminal raw. A
        // cause of several lines (the sign-in SDK's) reads as indented lines.
        let lines: Vec<String> = error
            .lines()
            .map(|l| safe(l.trim_end()).into_owned())
            .filter(|l| !l.is_empty())
            .collect();
        eprintln!("gwb: error: {}", lines.join("\n  "));
    }
}

/// Wraps stdout so that a reader who goes away (`gwb check -o ndjson | head -1`) stops the output
/// but not the command: after the first broken pipe every write is dropped and reported as
/// done, so the command finishes and its exit code (drift, a failed group) still tells the truth.
pub struct PipeTolerant<W: Write> {
    pub(super) inner: W,
    pub(super) closed: bool,
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
    // Printable ASCII (nearly every name) is tested a byte at a time, which the compiler does
    // many bytes at once; only other text is decoded into chars.
    if s.bytes().all(|b| (0x20..0x7f).contains(&b)) || !s.chars().any(bad) {
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

/// The progress bar on screen, if any: log lines and notices are written with it suspended, so
/// a line printed during a bar never leaves a stale bar behind.
pub(crate) static ACTIVE_BAR: std::sync::Mutex<Option<indicatif::ProgressBar>> =
    std::sync::Mutex::new(None);

/// Write `text` to stderr, with the bar on screen (if any) lifted off first and drawn again
/// after.
pub(crate) fn to_stderr(text: &[u8]) -> io::Result<()> {
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
pub(crate) fn spinner(what: &'static str) -> Spinner {
    if bars_hidden() {
        return Spinner(None);
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
    Spinner((!bar.is_hidden()).then_some(bar))
}

/// A counting spinner, or nothing when it is hidden (stderr not a terminal: every scheduled
/// run): a hidden bar still reads the clock on every count, 2% of a million-group report's
/// CPU (perf, issue 33), so a hidden spinner is not counted at all.
pub(crate) struct Spinner(Option<indicatif::ProgressBar>);

impl Spinner {
    /// One more item read.
    pub(crate) fn inc(&self) {
        if let Some(bar) = &self.0 {
            bar.inc(1);
        }
    }

    pub(crate) fn finish_and_clear(&self) {
        if let Some(bar) = &self.0 {
            bar.finish_and_clear();
        }
    }
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
