//! A review file as a spreadsheet leaves it: read back whatever Excel, LibreOffice or Numbers
//! saved. They change a CSV file in known ways: European-locale Excel separates cells with `;`,
//! Excel on Windows saves text as Windows-1252 rather than UTF-8, lines end in CRLF, a sort
//! moves the header and the plan's `#` row anywhere. This module turns such bytes into records
//! with their line numbers; what the records mean is `review`'s business.

/// The text of a file, and whether it had to be decoded as Windows-1252 (it was not UTF-8).
pub(crate) struct Text {
    pub text: String,
    /// Decoded from Windows-1252: the display columns may differ from Graph's names where a
    /// character has no Windows-1252 form (see [`as_saved`]).
    pub lossy: bool,
}

/// Decode `bytes`: UTF-8 (a byte order mark dropped), else Windows-1252, the encoding Excel on
/// Windows saves "CSV (Comma delimited)" in. Group ids are ASCII either way.
pub(crate) fn decode(bytes: &[u8]) -> Text {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    match std::str::from_utf8(bytes) {
        Ok(s) => Text {
            text: s.to_string(),
            lossy: false,
        },
        Err(_) => Text {
            text: bytes.iter().map(|&b| cp1252(b)).collect(),
            lossy: true,
        },
    }
}

/// Windows-1252's characters for 0x80 to 0x9F (U+FFFD where it has none); every other byte is
/// the Latin-1 code point of its value.
const C1: [char; 32] = [
    '\u{20AC}', '\u{FFFD}', '\u{201A}', '\u{0192}', '\u{201E}', '\u{2026}', '\u{2020}', '\u{2021}',
    '\u{02C6}', '\u{2030}', '\u{0160}', '\u{2039}', '\u{0152}', '\u{FFFD}', '\u{017D}', '\u{FFFD}',
    '\u{FFFD}', '\u{2018}', '\u{2019}', '\u{201C}', '\u{201D}', '\u{2022}', '\u{2013}', '\u{2014}',
    '\u{02DC}', '\u{2122}', '\u{0161}', '\u{203A}', '\u{0153}', '\u{FFFD}', '\u{017E}', '\u{0178}',
];

fn cp1252(b: u8) -> char {
    match b {
        0x80..=0x9F => C1[usize::from(b - 0x80)],
        _ => char::from(b),
    }
}

/// Whether `c` has a Windows-1252 form.
fn in_cp1252(c: char) -> bool {
    (c as u32) < 0x80 || ((c as u32) >= 0xA0 && (c as u32) <= 0xFF) || C1.contains(&c)
}

/// A name as a Windows-1252 file can hold it: characters it has no form for become `?` (what
/// Excel writes for them), and whether every character had a form (then the comparison with the
/// file is exact; otherwise Excel may have chosen a "best fit" letter instead, and a mismatch
/// proves nothing).
pub(crate) fn as_saved(name: &str) -> (String, bool) {
    let mut exact = true;
    let mapped = name
        .chars()
        .map(|c| {
            if in_cp1252(c) && c != '\u{FFFD}' {
                c
            } else {
                exact = false;
                '?'
            }
        })
        .collect();
    (mapped, exact)
}

/// The cell separator of `text`: the one of `,`, `;` and tab that its first line has most of
/// outside quotes (a comma on a tie).
pub(crate) fn delimiter(text: &str) -> u8 {
    let first = text
        .lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or_default();
    let mut counts = [0usize; 3];
    let mut quoted = false;
    for c in first.chars() {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => counts[0] += 1,
            ';' if !quoted => counts[1] += 1,
            '\t' if !quoted => counts[2] += 1,
            _ => {}
        }
    }
    let best = (0..3)
        .max_by_key(|&i| (counts[i], usize::from(i == 0)))
        .unwrap_or(0);
    [b',', b';', b'\t'][best]
}

/// The name of a delimiter, for messages.
pub(crate) fn delimiter_name(d: u8) -> &'static str {
    match d {
        b';' => "semicolons",
        b'\t' => "tabs",
        _ => "commas",
    }
}

/// A record's cells, with the line it starts on.
pub(crate) type Record = (usize, Vec<String>);

/// The records of `text` separated by `delimiter`, each with the line it starts on; an
/// unreadable record is the error, with its line.
pub(crate) fn records(text: &str, delimiter: u8) -> Result<Vec<Record>, (usize, String)> {
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut out = Vec::new();
    let mut record = csv::StringRecord::new();
    // Lines are counted here from each record's first byte: the reader's own count is one short
    // after a CRLF (it starts the next record on the CRLF's LF).
    let bytes = text.as_bytes();
    let (mut counted_to, mut line) = (0usize, 1usize);
    let mut line_at = |byte: usize| {
        let mut start = byte.min(bytes.len());
        while start < bytes.len() && matches!(bytes[start], b'\r' | b'\n') {
            start += 1;
        }
        if start > counted_to {
            line += bytes[counted_to..start]
                .iter()
                .filter(|&&b| b == b'\n')
                .count();
            counted_to = start;
        }
        line
    };
    loop {
        match reader.read_record(&mut record) {
            Ok(false) => return Ok(out),
            Ok(true) => {
                let line = line_at(record.position().map_or(0, |p| p.byte() as usize));
                out.push((line, record.iter().map(str::to_string).collect()));
            }
            Err(e) => {
                let line = line_at(e.position().map_or(0, |p| p.byte() as usize));
                return Err((line, e.to_string()));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf8_with_or_without_a_bom_and_windows_1252_decode() {
        let t = decode("\u{feff}Équipe,Zürich".as_bytes());
        assert_eq!((t.text.as_str(), t.lossy), ("Équipe,Zürich", false));
        // "Équipe – Zürich €" as Excel on Windows saves it.
        let t = decode(b"\xC9quipe \x96 Z\xFCrich \x80");
        assert_eq!((t.text.as_str(), t.lossy), ("Équipe – Zürich €", true));
    }

    #[test]
    fn a_name_is_mapped_as_a_windows_1252_file_holds_it() {
        assert_eq!(
            as_saved("Équipe – Zürich"),
            ("Équipe – Zürich".into(), true)
        );
        assert_eq!(as_saved("東京 Łódź"), ("?? ?ód?".into(), false));
    }

    #[test]
    fn the_delimiter_is_what_the_first_line_has_most_of_outside_quotes() {
        assert_eq!(delimiter("decision,id,\"a;b;c\"\n"), b',');
        assert_eq!(delimiter("\n\ndecision;id;displayName\n"), b';');
        assert_eq!(delimiter("decision\tid\tdisplayName,x\n"), b'\t');
        assert_eq!(delimiter("one cell\n"), b',');
    }

    #[test]
    fn records_carry_their_first_line_through_quoted_newlines_and_crlf() {
        for eol in ["\r\n", "\n"] {
            let text = "a;b|\"x|y\";z||c;d|".replace('|', eol);
            let r = records(&text, b';').unwrap();
            assert_eq!(r[0], (1, vec!["a".to_string(), "b".to_string()]));
            assert_eq!(r[1], (2, vec![format!("x{eol}y"), "z".to_string()]));
            assert_eq!(r[2].0, 5, "after a blank line");
        }
    }
}
