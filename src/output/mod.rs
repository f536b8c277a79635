//! The only module that prints. stdout carries data (table, json, ndjson, csv, html, junit);
//! logs and messages go to stderr through tracing.
//!
//! Two halves: the terminal (`terminal.rs`: notices, the way back, bars, spinners, the prompt;
//! `pager.rs`), and one renderer per format and document: `table.rs` and `report.rs` (the
//! report for people and spreadsheets), `rows.rs` (report rows as they are read), `check.rs`
//! (the check's table, JSON and CSV), `junit.rs`, `html.rs` and `check_html.rs`, with `csv.rs`
//! and `json.rs` underneath, `plan.rs` (the plan table of disable and restore). Renderers read documents (`doc/`) and
//! the pure core's types; they never read a tenant. `render.rs` is the way in: a command hands
//! its document (an `output::Render`) to `render(doc, format, out)`.
//!
//! The JSON shapes are a contract documented in docs/output.md; the table is for people and may
//! change.

// The one printer: the crate denies print_stdout and print_stderr everywhere else.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::io::{self, Write};

pub(crate) mod check;
pub(crate) mod check_html;
pub(crate) mod csv;
pub(crate) mod history;
pub(crate) mod html;
pub(crate) mod json;
pub(crate) mod junit;
pub(crate) mod pager;
pub(crate) mod plan;
pub(crate) mod render;
pub(crate) mod report;
pub(crate) mod rows;
pub(crate) mod table;
pub(crate) mod terminal;

pub(crate) use csv::*;
pub(crate) use json::*;
pub(crate) use plan::write_plan_table;
pub(crate) use render::{About, Render, render, require};
pub(crate) use report::*;
pub(crate) use table::TableLayout;
pub use table::set_columns;
pub(crate) use terminal::*;
pub use terminal::{PipeTolerant, error_message, say_the_way_back};

use crate::cli::OutputFormat;

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
        // A formula that also needs quoting: the apostrophe inside the quotes.
        assert_eq!(csv_field("=\"x\",1"), "\"'=\"\"x\"\",1\"");
        assert_eq!(csv_field("\rx"), "\"'\rx\"");
        assert_eq!(csv_field(""), "");
        assert_eq!(csv_field("\"\""), "\"\"\"\"\"\"");
        // Every ASCII character inside text, and a long field with it last: quoted exactly when
        // it is one of the four.
        for b in 0..=0x7fu8 {
            let c = char::from(b);
            let quoted = matches!(c, ',' | '"' | '\n' | '\r');
            for text in [format!("a{c}b"), format!("{}{c}", "x".repeat(40))] {
                assert_eq!(csv_field(&text).starts_with('"'), quoted, "{text:?}");
            }
        }
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
        // Every ASCII character, alone and among printable text: escaped exactly when it is a
        // control character, and printable text is passed through unchanged.
        for b in 0..=0x7fu8 {
            let c = char::from(b);
            for text in [c.to_string(), format!("Team {c} name")] {
                let shown = safe(&text);
                let escaped = format!("\\u{{{b:x}}}");
                assert_eq!(shown.contains(&escaped), c.is_control(), "{text:?}");
                assert_eq!(
                    matches!(shown, std::borrow::Cow::Borrowed(_)),
                    !c.is_control(),
                    "{text:?}"
                );
            }
        }
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
