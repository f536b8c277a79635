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

/// One CSV line: the fields quoted as [`csv_field`] does, comma-separated, written at once.
pub(crate) fn write_csv_line<'f>(
    w: &mut dyn Write,
    fields: impl IntoIterator<Item = &'f str>,
) -> io::Result<()> {
    let mut line = Vec::with_capacity(256);
    push_csv_line(&mut line, fields);
    w.write_all(&line)
}

/// One CSV line, with its line break, appended to `buf`: no allocation per field (a
/// million-row report writes fifteen million of them).
pub(crate) fn push_csv_line<'f>(buf: &mut Vec<u8>, fields: impl IntoIterator<Item = &'f str>) {
    for (i, f) in fields.into_iter().enumerate() {
        if i > 0 {
            buf.push(b',');
        }
        push_csv_field(buf, f);
    }
    buf.push(b'\n');
}

/// RFC 4180 quoting: fields with a comma, quote, CR or LF are quoted, quotes doubled.
/// Null reads as an empty field.
pub(crate) fn csv_field(s: &str) -> String {
    let mut buf = Vec::with_capacity(s.len() + 2);
    push_csv_field(&mut buf, s);
    // Only whole UTF-8 strings and ASCII marks went in.
    String::from_utf8(buf).unwrap_or_default()
}

/// [`csv_field`], appended to `buf`.
fn push_csv_field(buf: &mut Vec<u8>, s: &str) {
    // A field a spreadsheet would run as a formula (a group named "=HYPERLINK(...)" by anyone
    // who may create groups) gets a leading apostrophe, as OWASP advises for CSV injection.
    // No id, kind, boolean, date or count starts with these, so only free text is touched.
    let formula = s.starts_with(['=', '+', '-', '@', '\t', '\r']);
    // The four are ASCII, so a byte test is exact in UTF-8; without early exit, the compiler
    // tests many bytes at once (a char pattern was a sixth of a CSV report's CPU, callgrind).
    let quoted = s
        .bytes()
        .fold(false, |q, b| q | matches!(b, b',' | b'"' | b'\n' | b'\r'));
    if quoted {
        buf.push(b'"');
    }
    if formula {
        buf.push(b'\'');
    }
    if quoted {
        for (i, part) in s.split('"').enumerate() {
            if i > 0 {
                buf.extend_from_slice(b"\"\"");
            }
            buf.extend_from_slice(part.as_bytes());
        }
        buf.push(b'"');
    } else {
        buf.extend_from_slice(s.as_bytes());
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
