//! The report's rows written one at a time, as the pages arrive: ndjson and CSV always, JSON
//! when it goes to a file (`--out`). Memory then stays flat whatever the tenant's size. JSON is
//! written exactly as `serde_json::to_writer_pretty` writes the whole document, so a streamed
//! report and a buffered one are the same bytes.

use std::io::{self, Write};

use super::{CSV_COLUMNS, csv_start, opt_bool};
use crate::cli::OutputFormat;
use crate::doc::REPORT_SCHEMA_VERSION;
use crate::doc::TenantSection;
use crate::writeback::summary::{ReportRow, Summary, caveats};

/// Writes a report row by row; [`RowWriter::finish`] ends the document.
pub(crate) struct RowWriter<'a> {
    w: &'a mut dyn Write,
    format: OutputFormat,
    rows: u64,
    buf: Vec<u8>,
    /// ndjson and CSV: rows not yet written, written once they fill [`BATCH`], at the end, or
    /// when the writer is dropped (a listing that failed: the rows before the error are
    /// written, as they were row by row). One write per row through the output's layers cost
    /// a call and a copy a row (issue 33).
    pending: Vec<u8>,
    /// JSON: what the document describes, written last.
    meta: Option<&'a crate::doc::Meta>,
    /// NDJSON: the runs of bytes rows share.
    runs: Runs,
}

/// Rows written in one go (the size of the output's buffer, which then passes them on
/// without a copy).
const BATCH: usize = 64 * 1024;

/// `bytes` with `pad` spaces after every line break: a pretty-printed value nested `pad` deep.
/// (JSON strings hold no raw line breaks, so only the printer's own are indented.)
fn write_indented(w: &mut dyn Write, bytes: &[u8], pad: &[u8]) -> io::Result<()> {
    let mut rest = bytes;
    while let Some(i) = rest.iter().position(|b| *b == b'\n') {
        w.write_all(&rest[..=i])?;
        w.write_all(pad)?;
        rest = &rest[i + 1..];
    }
    w.write_all(rest)
}

const PAD2: &[u8] = b"  ";
const PAD4: &[u8] = b"    ";

impl<'a> RowWriter<'a> {
    /// Start the document: the CSV header, or JSON up to the opening of `groups` (the tenant
    /// section is needed then, and only then).
    pub(crate) fn start(
        w: &'a mut dyn Write,
        format: OutputFormat,
        tenant: Option<&TenantSection>,
        meta: Option<&'a crate::doc::Meta>,
    ) -> io::Result<Self> {
        let mut me = RowWriter {
            w,
            format,
            rows: 0,
            buf: Vec::with_capacity(1024),
            // Room for a batch and the row that ends it.
            pending: match format {
                OutputFormat::Csv | OutputFormat::Ndjson => Vec::with_capacity(2 * BATCH),
                _ => Vec::new(),
            },
            meta,
            runs: Runs::default(),
        };
        match format {
            OutputFormat::Csv => {
                csv_start(me.w)?;
                writeln!(me.w, "{}", CSV_COLUMNS.join(","))?;
            }
            OutputFormat::Json => {
                write!(
                    me.w,
                    "{{\n  \"schemaVersion\": {REPORT_SCHEMA_VERSION},\n  \"tenant\": "
                )?;
                me.pretty(&tenant, PAD2)?;
                write!(me.w, ",\n  \"groups\": [")?;
            }
            _ => {}
        }
        Ok(me)
    }

    fn pretty<T: serde::Serialize>(&mut self, v: &T, pad: &[u8]) -> io::Result<()> {
        self.buf.clear();
        serde_json::to_writer_pretty(&mut self.buf, v)?;
        write_indented(self.w, &self.buf, pad)
    }

    pub(crate) fn row(&mut self, r: &ReportRow) -> io::Result<()> {
        match self.format {
            OutputFormat::Json => {
                self.w.write_all(if self.rows == 0 {
                    b"\n    "
                } else {
                    b",\n    "
                })?;
                self.pretty(r, PAD4)?;
            }
            OutputFormat::Csv => push_csv_row(&mut self.pending, r),
            _ => {
                write_compact(&mut self.pending, r, &mut self.runs);
                self.pending.push(b'\n');
            }
        }
        self.rows += 1;
        if self.pending.len() >= BATCH {
            self.write_pending()?;
        }
        Ok(())
    }

    fn write_pending(&mut self) -> io::Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let r = self.w.write_all(&self.pending);
        self.pending.clear();
        r
    }

    /// End the document (JSON: the summary and the caveats) and flush.
    pub(crate) fn finish(mut self, summary: &Summary) -> io::Result<()> {
        self.write_pending()?;
        if self.format == OutputFormat::Json {
            self.w
                .write_all(if self.rows == 0 { b"]" } else { b"\n  ]" })?;
            write!(self.w, ",\n  \"summary\": ")?;
            self.pretty(summary, PAD2)?;
            write!(self.w, ",\n  \"caveats\": ")?;
            self.pretty(&caveats(), PAD2)?;
            if let Some(m) = self.meta {
                write!(self.w, ",\n  \"meta\": ")?;
                self.pretty(m, PAD2)?;
            }
            write!(self.w, "\n}}\n")?;
        }
        self.w.flush()
    }
}

impl Drop for RowWriter<'_> {
    fn drop(&mut self) {
        // The rows read before a failure are written (an error here has nowhere to go: the
        // failure that dropped the writer is the one reported).
        let _ = self.write_pending();
    }
}

/// Whether JSON escapes a byte of `s` (a control character, `"` or `\`), tested eight bytes at
/// a time (`graph::fast::first_escaped`, shared with the page reader): with this test byte by
/// byte, `text` was 7% of `report -o ndjson`'s CPU at a million rows (perf).
fn needs_escape(s: &[u8]) -> bool {
    crate::graph::fast::first_escaped(s).is_some()
}

/// Whether JSON escapes byte `b`: a control character, `"` or `\`.
fn escaped(b: u8) -> bool {
    b < 0x20 || b == b'"' || b == b'\\'
}

/// Byte runs of an NDJSON row that depend only on a few small fields (the kind, the flags, the
/// reason, the types Graph documents), each written once and then copied whole: a row's middle
/// is about 170 bytes of keys and words in one of a few dozen forms, and writing it field by
/// field was a quarter of the writer's instructions (callgrind, issue 33). Kept in 64 places
/// chosen by a hash of the run's key; a run whose key lost its place is written again.
#[derive(Default)]
pub(crate) struct Runs(Vec<(u64, Vec<u8>)>);

/// Places in [`Runs`] (a power of two).
const RUNS: usize = 64;

impl Runs {
    /// The run that `key` names onto `buf`: written by `write` when it is not kept, and kept.
    /// `None`: a form not kept (a type Graph does not document, a member count); written.
    fn put(&mut self, buf: &mut Vec<u8>, key: Option<u64>, write: impl FnOnce(&mut Vec<u8>)) {
        let Some(key) = key else {
            return write(buf);
        };
        if self.0.is_empty() {
            // No key is all ones (its top byte says which run it is).
            self.0.resize_with(RUNS, || (u64::MAX, Vec::new()));
        }
        let place =
            (key.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (64 - RUNS.trailing_zeros())) as usize;
        let (kept, run) = &mut self.0[place];
        if *kept != key {
            run.clear();
            write(run);
            *kept = key;
        }
        buf.extend_from_slice(run);
    }
}

/// Which of the types Graph documents `t` is (1 to 3), 0 for none; `None` for another.
fn documented_type(t: Option<&str>) -> Option<u8> {
    use crate::graph::model::{
        UNIVERSAL_DISTRIBUTION, UNIVERSAL_MAIL_ENABLED_SECURITY, UNIVERSAL_SECURITY,
    };
    match t {
        None => Some(0),
        Some(UNIVERSAL_DISTRIBUTION) => Some(1),
        Some(UNIVERSAL_SECURITY) => Some(2),
        Some(UNIVERSAL_MAIL_ENABLED_SECURITY) => Some(3),
        Some(_) => None,
    }
}

/// A flag that may be null, as a key's byte.
fn tri(b: Option<bool>) -> u8 {
    match b {
        None => 0,
        Some(false) => 1,
        Some(true) => 2,
    }
}

/// The pieces of an NDJSON row, as serde_json writes them.
mod json {
    use super::{escaped, needs_escape};

    /// `s` between quotes, as it is: for text with nothing to escape.
    fn quoted(buf: &mut Vec<u8>, s: &str) {
        buf.push(b'"');
        buf.extend_from_slice(s.as_bytes());
        buf.push(b'"');
    }
    pub(super) fn text(buf: &mut Vec<u8>, s: &str) {
        if needs_escape(s.as_bytes()) {
            // Writing a string into a Vec cannot fail.
            let _ = serde_json::to_writer(&mut *buf, s);
        } else {
            quoted(buf, s);
        }
    }
    /// `s` as [`text`] writes it; `plain`: the page reader found nothing in it to escape
    /// ([`crate::graph::model::Plain`]), so it is copied without looking.
    pub(super) fn marked(buf: &mut Vec<u8>, s: &str, plain: bool) {
        if plain {
            debug_assert!(!needs_escape(s.as_bytes()), "marked plain: {s:?}");
            quoted(buf, s);
        } else {
            text(buf, s);
        }
    }
    /// gwb's own words (kinds, reasons, types): nothing in them to escape.
    pub(super) fn word(buf: &mut Vec<u8>, s: &str) {
        debug_assert!(!s.bytes().any(escaped));
        quoted(buf, s);
    }
    /// `v` as `write` writes it, or null.
    pub(super) fn or_null<T>(buf: &mut Vec<u8>, v: Option<T>, write: impl FnOnce(&mut Vec<u8>, T)) {
        match v {
            Some(v) => write(buf, v),
            None => buf.extend_from_slice(b"null"),
        }
    }
    pub(super) fn flag(buf: &mut Vec<u8>, b: bool) {
        buf.extend_from_slice(if b { b"true" } else { b"false" });
    }
    /// A key of [`Runs`]: the run's number in the top byte, then a byte per field it holds.
    pub(super) fn key(run: u8, fields: [u8; 7]) -> u64 {
        let [a, b, c, d, e, f, g] = fields;
        u64::from_be_bytes([run, a, b, c, d, e, f, g])
    }
}

/// `r` as `serde_json::to_writer` writes it, byte for byte, without its per-key escaping: the
/// keys are constants, a string the page reader marked plain is copied as it is, another is
/// looked through and copied as it is when nothing in it needs escaping (nearly all); the
/// runs between the texts come from `runs`. At a million rows this was a tenth of
/// `report -o ndjson`'s CPU (BENCHMARKS.md).
fn write_compact(buf: &mut Vec<u8>, r: &ReportRow, runs: &mut Runs) {
    use crate::graph::model::Plain;
    use json::{flag, key, marked, or_null, text, word};
    buf.extend_from_slice(b"{\"id\":");
    marked(buf, &r.id, r.plain.has(Plain::ID));
    buf.extend_from_slice(b",\"displayName\":");
    or_null(buf, r.display_name.as_deref(), |buf, s| {
        marked(buf, s, r.plain.has(Plain::DISPLAY_NAME));
    });
    // From the kind to the warning's key.
    let middle = documented_type(r.on_premises_group_type.as_deref())
        .zip(documented_type(r.written_back_as))
        .map(|(t, w)| {
            key(
                1,
                [
                    r.kind as u8,
                    u8::from(r.synced_from_on_premises),
                    tri(r.is_enabled),
                    t,
                    u8::from(r.written_back),
                    w,
                    r.reason as u8,
                ],
            )
        });
    runs.put(buf, middle, |buf| {
        buf.extend_from_slice(b",\"kind\":");
        word(buf, r.kind.as_str());
        buf.extend_from_slice(b",\"syncedFromOnPremises\":");
        flag(buf, r.synced_from_on_premises);
        buf.extend_from_slice(b",\"isEnabled\":");
        or_null(buf, r.is_enabled, flag);
        buf.extend_from_slice(b",\"onPremisesGroupType\":");
        or_null(buf, r.on_premises_group_type.as_deref(), text);
        buf.extend_from_slice(b",\"writtenBack\":");
        flag(buf, r.written_back);
        buf.extend_from_slice(b",\"writtenBackAs\":");
        or_null(buf, r.written_back_as, word);
        buf.extend_from_slice(b",\"reason\":");
        word(buf, r.reason.as_str());
        buf.extend_from_slice(b",\"warning\":");
    });
    or_null(buf, r.warning.as_deref(), text);
    buf.extend_from_slice(match r.is_assignable_to_role {
        None => b",\"isAssignableToRole\":null,\"createdDateTime\":",
        Some(true) => b",\"isAssignableToRole\":true,\"createdDateTime\":",
        Some(false) => b",\"isAssignableToRole\":false,\"createdDateTime\":",
    });
    or_null(buf, r.created_date_time.as_deref(), |buf, s| {
        marked(buf, s, r.plain.has(Plain::CREATED));
    });
    // From the member count to the end.
    let end = r.member_count.is_none().then(|| {
        key(
            2,
            [
                r.source_of_authority as u8,
                tri(r.is_cloud_managed),
                0,
                0,
                0,
                0,
                0,
            ],
        )
    });
    runs.put(buf, end, |buf| {
        buf.extend_from_slice(b",\"memberCount\":");
        or_null(buf, r.member_count, |buf, n| {
            // Writing into a Vec cannot fail.
            let _ = write!(buf, "{n}");
        });
        buf.extend_from_slice(b",\"sourceOfAuthority\":");
        word(buf, r.source_of_authority.as_str());
        buf.extend_from_slice(b",\"isCloudManaged\":");
        or_null(buf, r.is_cloud_managed, flag);
        buf.push(b'}');
    });
}

fn push_csv_row(buf: &mut Vec<u8>, r: &ReportRow) {
    let members = r.member_count.map(|c| c.to_string()).unwrap_or_default();
    let fields: [&str; 15] = [
        &r.id,
        r.display_name.as_deref().unwrap_or(""),
        r.kind.as_str(),
        if r.synced_from_on_premises {
            "true"
        } else {
            "false"
        },
        opt_bool(r.is_enabled),
        r.on_premises_group_type.as_deref().unwrap_or(""),
        if r.written_back { "true" } else { "false" },
        r.written_back_as.unwrap_or(""),
        r.reason.as_str(),
        r.warning.as_deref().unwrap_or(""),
        opt_bool(r.is_assignable_to_role),
        r.created_date_time.as_deref().unwrap_or(""),
        &members,
        r.source_of_authority.as_str(),
        opt_bool(r.is_cloud_managed),
    ];
    super::csv::push_csv_line(buf, fields)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::writeback::{Kind, Reason};
    use proptest::prelude::*;

    fn escaped_byte_by_byte(s: &[u8]) -> bool {
        s.iter().any(|&b| escaped(b))
    }

    #[test]
    fn every_byte_is_tested_for_escaping_at_every_place() {
        crate::graph::fast::agrees_at_every_place(needs_escape, escaped_byte_by_byte);
        assert!(!needs_escape(b""));
    }

    proptest! {
        #[test]
        fn the_word_test_agrees_with_the_byte_test(s in proptest::collection::vec(any::<u8>(), 0..64)) {
            prop_assert_eq!(needs_escape(&s), escaped_byte_by_byte(&s));
        }
    }

    fn row(id: &str, name: &str) -> ReportRow<'static> {
        ReportRow {
            id: id.to_string().into(),
            display_name: Some(name.to_string().into()),
            kind: Kind::Microsoft365,
            synced_from_on_premises: false,
            is_enabled: None,
            on_premises_group_type: Some("universalDistributionGroup".into()),
            written_back: true,
            written_back_as: Some("universalDistributionGroup"),
            reason: Reason::DefaultEnabled,
            warning: None,
            is_assignable_to_role: Some(false),
            created_date_time: None,
            member_count: Some(3),
            source_of_authority: crate::writeback::summary::SourceOfAuthority::Cloud,
            is_cloud_managed: None,
            cloud_sync_scope: false,
            plain: Default::default(),
        }
    }

    /// The hand-written NDJSON row is serde's, byte for byte, for every kind of value: each
    /// field set and unset, strings that need escaping (quotes, backslashes, control
    /// characters) and strings that do not (non-ASCII, HTML, U+2028).
    #[test]
    fn compact_rows_are_serdes_bytes() {
        use crate::writeback::summary::SourceOfAuthority;
        let names = [
            "plain",
            "One \"quoted\"\nname </script>",
            "back\\slash\ttab\u{1}\u{1f}\u{7f}",
            "Ünïcödé – 日本 \u{2028} 😀",
            "",
        ];
        let mut rows = Vec::new();
        for (i, name) in names.iter().enumerate() {
            let mut r = row(&format!("id-{i}\""), name);
            rows.push(r.clone());
            r.display_name = None;
            r.on_premises_group_type = None;
            r.written_back_as = None;
            r.warning = Some(format!("warn {name}"));
            r.is_enabled = Some(i % 2 == 0);
            r.is_assignable_to_role = None;
            r.created_date_time = Some("2024-01-02T03:04:05Z".into());
            r.member_count = if i % 2 == 0 { None } else { Some(u64::MAX) };
            r.source_of_authority = SourceOfAuthority::Unknown;
            r.is_cloud_managed = Some(true);
            r.synced_from_on_premises = true;
            r.written_back = false;
            r.kind = Kind::MailEnabledSecurity;
            r.reason = Reason::V1WritesAll;
            rows.push(r);
        }
        for r in &rows {
            let mut got = Vec::new();
            write_compact(&mut got, r, &mut Runs::default());
            let want = serde_json::to_vec(r).unwrap();
            assert_eq!(
                String::from_utf8(got).unwrap(),
                String::from_utf8(want).unwrap()
            );
        }
    }

    /// Rows in every form the shared runs can take, one after another through one writer's
    /// runs (each form written, then found kept, or pushed out by another and written again),
    /// are serde's bytes: every kind, flag, reason, type and source, with and without a member
    /// count, and with a type Graph does not document.
    #[test]
    fn rows_in_every_form_are_serdes_bytes_whatever_came_before() {
        use crate::graph::model::{
            UNIVERSAL_DISTRIBUTION, UNIVERSAL_MAIL_ENABLED_SECURITY, UNIVERSAL_SECURITY,
        };
        use crate::writeback::summary::SourceOfAuthority;
        let kinds = [
            Kind::Microsoft365,
            Kind::Security,
            Kind::MailEnabledSecurity,
            Kind::Distribution,
        ];
        let reasons = [
            Reason::Enabled,
            Reason::DefaultEnabled,
            Reason::Disabled,
            Reason::DefaultDisabled,
            Reason::Unsupported,
            Reason::SyncedFromOnPremises,
            Reason::V1WritesAll,
        ];
        let types = [
            None,
            Some(UNIVERSAL_DISTRIBUTION),
            Some(UNIVERSAL_SECURITY),
            Some(UNIVERSAL_MAIL_ENABLED_SECURITY),
            Some("somethingNew"),
        ];
        // (Written back as: only the first four.)
        let sources = [
            SourceOfAuthority::Cloud,
            SourceOfAuthority::OnPremises,
            SourceOfAuthority::MovedToCloud,
            SourceOfAuthority::FormerlySynced,
            SourceOfAuthority::Unknown,
        ];
        let tris = [None, Some(false), Some(true)];
        // A form as the index of each field's value: kind, reason, type, written back as,
        // isEnabled, written back, synced (the middle run's fields), then source,
        // isCloudManaged, member count (the end run's) and assignable (in neither).
        let row_of = |f: &[usize]| {
            let mut r = row("e99ff867-dbf6-42c9-b82f-f84cb27281e9", "name");
            r.kind = kinds[f[0]];
            r.reason = reasons[f[1]];
            r.on_premises_group_type = types[f[2]].map(Into::into);
            r.written_back_as = types[f[3]];
            r.is_enabled = tris[f[4]];
            r.written_back = f[5] == 1;
            r.synced_from_on_premises = f[6] == 1;
            r.source_of_authority = sources[f[7]];
            r.is_cloud_managed = tris[f[8]];
            r.member_count = (f[9] == 1).then_some(12);
            r.is_assignable_to_role = tris[f[10]];
            r
        };
        let mut runs = Runs::default();
        // Every form of one run's fields (the others fixed), and for each field an order of
        // them where the forms that differ in it alone come one after another: a run kept for
        // one must not be taken for the next.
        let mut check = |sizes: [usize; 11]| {
            let mut forms: Vec<Vec<usize>> = vec![vec![]];
            for n in sizes {
                forms = forms
                    .into_iter()
                    .flat_map(|f| (0..n).map(move |v| [f.as_slice(), &[v]].concat()))
                    .collect();
            }
            for last in (0..sizes.len()).filter(|&i| sizes[i] > 1) {
                forms.sort_by_key(|f| {
                    let mut k = f.clone();
                    let v = k.remove(last);
                    k.push(v);
                    k
                });
                for f in &forms {
                    let r = row_of(f);
                    let mut got = Vec::new();
                    write_compact(&mut got, &r, &mut runs);
                    assert_eq!(
                        String::from_utf8(got).unwrap(),
                        serde_json::to_string(&r).unwrap()
                    );
                }
            }
        };
        check([4, 7, 5, 4, 3, 2, 2, 1, 1, 1, 1]);
        check([1, 1, 1, 1, 1, 1, 1, 5, 3, 2, 3]);
    }

    /// Rows of groups the page reader read are serde's bytes: a string it marked plain is
    /// copied as it is, and one it read with an escape is escaped, whatever the group read
    /// into before held.
    #[test]
    fn rows_of_read_pages_are_serdes_bytes() {
        use crate::graph::model::{Group, Plain};
        let names = [
            "plain name",
            r#"a \"quoted\" name\\"#,
            r#"tab\there\u0001"#,
            "Ünïcödé – 日本",
            r#"\u0041"#,
        ];
        let group = |i: usize, name: &str| {
            format!(
                r#"{{"id":"id-{i}","displayName":"{name}","createdDateTime":"2024-01-0{i}T00:00:00Z","writebackConfiguration":null}}"#
            )
        };
        // The names in turn, then in reverse order over the same groups.
        let mut read: Vec<Group> = Vec::new();
        for order in [names.to_vec(), names.iter().rev().copied().collect()] {
            let page = order
                .iter()
                .enumerate()
                .map(|(i, n)| group(i, n))
                .collect::<Vec<_>>()
                .join(",");
            assert!(crate::graph::fast::page_into(
                &format!(r#"{{"value":[{page}]}}"#),
                &mut read
            ));
            let rows: Vec<ReportRow> = read
                .iter()
                .map(|g| ReportRow::from_group(g).unwrap())
                .collect();
            let mut out = Vec::new();
            let mut w = RowWriter::start(&mut out, OutputFormat::Ndjson, None, None).unwrap();
            for r in &rows {
                w.row(r).unwrap();
            }
            w.finish(&Summary::default()).unwrap();
            let want: String = rows
                .iter()
                .map(|r| serde_json::to_string(r).unwrap() + "\n")
                .collect();
            assert_eq!(String::from_utf8(out).unwrap(), want);
            // Marked where nothing is escaped on the page: the writer did not look at those.
            let marked: Vec<bool> = read
                .iter()
                .map(|g| g.plain.has(Plain::DISPLAY_NAME))
                .collect();
            let plain: Vec<bool> = order.iter().map(|n| !n.contains('\\')).collect();
            assert_eq!(marked, plain);
        }
    }

    #[test]
    fn streamed_json_is_the_same_bytes_as_the_whole_document() {
        let rows = vec![row("a", "One \"quoted\"\nname </script>"), row("b", "Two")];
        let mut summary = Summary::default();
        for r in &rows {
            summary.add(r, true);
        }
        let tenant = TenantSection::unreadable("no permission".into());
        for rows in [&rows[..], &[][..]] {
            let mut want = serde_json::to_vec_pretty(&super::super::ReportDoc {
                schema_version: REPORT_SCHEMA_VERSION,
                tenant: &tenant,
                groups: rows,
                summary: &summary,
                caveats: caveats(),
            })
            .unwrap();
            want.push(b'\n');
            let mut got = Vec::new();
            let mut w =
                RowWriter::start(&mut got, OutputFormat::Json, Some(&tenant), None).unwrap();
            for r in rows {
                w.row(r).unwrap();
            }
            w.finish(&summary).unwrap();
            assert_eq!(
                String::from_utf8(got).unwrap(),
                String::from_utf8(want).unwrap()
            );
        }
    }

    /// ndjson and CSV rows go out in batches: a full batch at once, the rest at the end, and,
    /// when the writer is dropped without an end (a listing that failed), the rows read before.
    #[test]
    fn rows_go_out_in_batches_and_none_is_lost_when_the_run_fails() {
        for format in [OutputFormat::Ndjson, OutputFormat::Csv] {
            let line = |r: &ReportRow| {
                let mut b = Vec::new();
                match format {
                    OutputFormat::Csv => push_csv_row(&mut b, r),
                    _ => {
                        write_compact(&mut b, r, &mut Runs::default());
                        b.push(b'\n');
                    }
                }
                b
            };
            let rows: Vec<ReportRow> = (0..2_000)
                .map(|i| row(&format!("id-{i}"), &format!("name {i}")))
                .collect();
            let per_batch = BATCH.div_ceil(line(&rows[0]).len());
            let mut out = Vec::new();
            let header = {
                let w = RowWriter::start(&mut out, format, None, None).unwrap();
                drop(w);
                out.len()
            };
            out.clear();
            let mut w = RowWriter::start(&mut out, format, None, None).unwrap();
            for r in &rows[..per_batch - 1] {
                w.row(r).unwrap();
            }
            drop(w);
            let want: Vec<u8> = rows[..per_batch - 1].iter().flat_map(line).collect();
            assert_eq!(
                out[header..],
                want,
                "rows held are written when the writer is dropped"
            );

            let mut out = Vec::new();
            let mut w = RowWriter::start(&mut out, format, None, None).unwrap();
            for r in &rows {
                w.row(r).unwrap();
            }
            w.finish(&Summary::default()).unwrap();
            let want: Vec<u8> = rows.iter().flat_map(line).collect();
            assert_eq!(out[header..], want, "every row, once, in order");
        }
    }

    /// A full batch is written at once, before the end.
    #[test]
    fn a_full_batch_is_written_before_the_end() {
        let mut out = Vec::new();
        let mut w = RowWriter::start(&mut out, OutputFormat::Ndjson, None, None).unwrap();
        let r = row("id", "name");
        let mut line = Vec::new();
        write_compact(&mut line, &r, &mut Runs::default());
        line.push(b'\n');
        for _ in 0..=BATCH / line.len() {
            w.row(&r).unwrap();
        }
        // Not ended, and not dropped (which would write what it holds).
        std::mem::forget(w);
        assert!(out.len() >= BATCH, "a full batch went out before the end");
        assert_eq!(out, line.repeat(out.len() / line.len()), "whole rows");
    }
}
