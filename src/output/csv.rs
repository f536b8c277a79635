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
    let formula = matches!(
        s.as_bytes().first(),
        Some(b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r')
    );
    let quoted = needs_quotes(s.as_bytes());
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

/// Whether `b` holds a byte that makes a field quoted: a comma, a quote, CR or LF. All four are
/// ASCII, so a byte test is exact in UTF-8. Tested eight bytes at a time, as the NDJSON writer
/// tests for escapes: with the formula test on the first byte instead of a char pattern, a CSV
/// report at 100,000 groups runs 664 M instructions instead of 695 M (callgrind, issue 33).
fn needs_quotes(b: &[u8]) -> bool {
    use crate::graph::fast::{equal, first_marked};
    first_marked(
        b,
        |w| equal(w, b',') | equal(w, b'"') | equal(w, b'\n') | equal(w, b'\r'),
        |c| matches!(c, b',' | b'"' | b'\n' | b'\r'),
    )
    .is_some()
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

#[cfg(test)]
mod tests {
    use super::*;

    fn quoted_byte_by_byte(s: &[u8]) -> bool {
        s.iter().any(|c| matches!(c, b',' | b'"' | b'\n' | b'\r'))
    }

    #[test]
    fn every_byte_is_tested_for_quoting_at_every_place() {
        crate::graph::fast::agrees_at_every_place(needs_quotes, quoted_byte_by_byte);
        assert!(!needs_quotes(b""));
    }

    proptest::proptest! {
        #[test]
        fn the_word_test_agrees_with_the_byte_test(
            s in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..64),
        ) {
            proptest::prop_assert_eq!(needs_quotes(&s), quoted_byte_by_byte(&s));
        }

        /// A field is defused exactly when it starts with one of the six, and quoted exactly
        /// when it holds one of the four, whatever the text: read back, it is the text.
        #[test]
        fn a_field_reads_back_as_its_text(s in r#"[=+@\t\r,\n"a-zé東 -]{0,8}"#) {
            let formula = s.starts_with(['=', '+', '-', '@', '\t', '\r']);
            let quoted = quoted_byte_by_byte(s.as_bytes());
            let field = csv_field(&s);
            let body = if quoted {
                proptest::prop_assert!(field.starts_with('"') && field.ends_with('"'), "{:?}", field);
                field[1..field.len() - 1].replace("\"\"", "\"")
            } else {
                field.clone()
            };
            let want = if formula { format!("'{s}") } else { s.clone() };
            proptest::prop_assert_eq!(body, want, "{:?} as {:?}", s, field);
        }
    }
}
