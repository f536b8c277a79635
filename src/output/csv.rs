//! CSV, as spreadsheets read it: quoting, the optional byte-order mark, rows.

use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, Ordering};

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

/// `--csv-bom`: CSV starts with a UTF-8 byte order mark, so Excel reads `Équipe Zürich 東京` as
/// written.
pub(crate) static CSV_BOM: AtomicBool = AtomicBool::new(false);

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
