//! One way out for every command's document: a command builds its document and calls
//! [`render`], which picks the renderer for the format.
//!
//! A new format is its name in `cli::OutputFormat`, a method here (whose default refuses it,
//! so no document has to know of it), and its renderer file, whatever the number of commands;
//! a document then offers it by adding the method and the format to its [`Render::FORMATS`].
//! Rows written while a listing is still being read (`rows.rs`, `check` without `--fix`) are
//! not documents: they stream, so that memory stays flat.

use std::io::{self, Write};

use crate::cli::OutputFormat;
use crate::error::UsageError;

/// What an HTML page or a JUnit suite says beyond the document: whose tenant, and the command
/// line that made it.
#[derive(Debug, Clone, Default)]
pub(crate) struct About {
    pub tenant: String,
    pub command: String,
}

/// A document, printable in each of its [`Render::FORMATS`].
pub(crate) trait Render {
    /// The formats the document prints in; [`require`] refuses any other before anything is
    /// read (a script asking for CSV must not get JSON it did not ask for).
    const FORMATS: &'static [OutputFormat];

    /// For people: may change from release to release.
    fn table(&self, out: &mut dyn Write) -> io::Result<()>;

    /// The JSON contract (README, `doc/`).
    fn json(&self, out: &mut dyn Write) -> io::Result<()>;

    fn ndjson(&self, _out: &mut dyn Write) -> io::Result<()> {
        Err(not_offered(OutputFormat::Ndjson))
    }

    fn csv(&self, _out: &mut dyn Write) -> io::Result<()> {
        Err(not_offered(OutputFormat::Csv))
    }

    fn junit(&self, _out: &mut dyn Write) -> io::Result<()> {
        Err(not_offered(OutputFormat::Junit))
    }

    fn html(&self, _out: &mut dyn Write) -> io::Result<()> {
        Err(not_offered(OutputFormat::Html))
    }
}

/// Print `doc` as `format`, then flush.
pub(crate) fn render<D: Render + ?Sized>(
    doc: &D,
    format: OutputFormat,
    out: &mut dyn Write,
) -> io::Result<()> {
    match format {
        OutputFormat::Table => doc.table(out)?,
        OutputFormat::Json => doc.json(out)?,
        OutputFormat::Ndjson => doc.ndjson(out)?,
        OutputFormat::Csv => doc.csv(out)?,
        OutputFormat::Junit => doc.junit(out)?,
        OutputFormat::Html => doc.html(out)?,
    }
    out.flush()
}

/// Refuse, before anything is read, a format that document `D` does not print.
pub(crate) fn require<D: Render>(format: OutputFormat, command: &str) -> Result<(), UsageError> {
    super::require_format(format, command, D::FORMATS)
}

/// A format a document does not offer: [`require`] refuses it first, so this is a bug.
fn not_offered(format: OutputFormat) -> io::Error {
    io::Error::other(format!(
        "this document has no {format:?} renderer (a command must call output::require first)"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Doc;

    impl Render for Doc {
        const FORMATS: &'static [OutputFormat] = &[OutputFormat::Table, OutputFormat::Json];
        fn table(&self, out: &mut dyn Write) -> io::Result<()> {
            writeln!(out, "a table")
        }
        fn json(&self, out: &mut dyn Write) -> io::Result<()> {
            writeln!(out, "{{}}")
        }
    }

    #[test]
    fn a_document_prints_in_its_formats_and_refuses_the_others() {
        let mut out = Vec::new();
        render(&Doc, OutputFormat::Table, &mut out).unwrap();
        render(&Doc, OutputFormat::Json, &mut out).unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), "a table\n{}\n");
        assert!(require::<Doc>(OutputFormat::Json, "x").is_ok());
        let e = require::<Doc>(OutputFormat::Csv, "x").unwrap_err();
        assert!(
            e.0.contains("x cannot print -o csv; use one of: table, json"),
            "{}",
            e.0
        );
        assert!(render(&Doc, OutputFormat::Csv, &mut Vec::new()).is_err());
    }
}
