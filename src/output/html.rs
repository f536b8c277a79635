//! `-o html`: one self-contained page for people who would rather look than read JSON (a
//! change board, a security lead, an auditor).
//!
//! - Nothing is fetched when the page is viewed: the style and the script are inline, the charts
//!   are inline SVG drawn here, and a Content Security Policy `<meta>` allows only that style
//!   and that script (by hash), so the page cannot reach the network even if text in it tried.
//! - Every value from Graph is escaped: in the HTML by [`esc`], in the data blocks by [`json`]
//!   (no `<` survives, so no `</script>` can end a block); the script sets text with
//!   `textContent` only. Control and bidirectional characters are shown as escapes, as in the
//!   table ([`super::safe`]).
//! - Large tables are JSON blocks that `page.js` draws as the person scrolls (only the rows in
//!   view are in the DOM), so 100,000 groups filter, search and sort at once.

use std::fmt::Write as _;
use std::io::{self, Write};

use super::safe;

const CSS: &str = include_str!("html/page.css");
const JS: &str = include_str!("html/page.js");

/// Text for HTML (element content and quoted attributes), made safe as for the terminal too.
pub(crate) fn esc(s: &str) -> String {
    super::markup(&safe(s))
}

/// A value as JSON that may sit inside a `<script type="application/json">` block: `<`, `>`
/// and `&` as `\u` escapes, so no text can close the block or open a comment.
fn json<T: serde::Serialize + ?Sized>(v: &T) -> String {
    let s = serde_json::to_string(v).unwrap_or_else(|_| "null".into());
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out
}

/// 100000 as "100,000": figures people read at a glance.
pub(crate) fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The CSP source for an inline element's text: `'sha256-…'`.
fn csp_hash(text: &str) -> String {
    let digest = openssl::sha::sha256(text.as_bytes());
    format!("'sha256-{}'", openssl::base64::encode_block(&digest))
}

/// The policy: nothing from anywhere (no fetch, image, font, frame or form), except the page's
/// own style and script, matched by hash.
pub(crate) fn content_security_policy() -> String {
    format!(
        "default-src 'none'; style-src {}; script-src {}; img-src data:; base-uri 'none'; form-action 'none'",
        csp_hash(CSS),
        csp_hash(JS)
    )
}

/// A column of a [`Grid`].
pub(crate) struct Column {
    pub key: &'static str,
    pub label: &'static str,
    pub kind: ColumnKind,
    /// Searched by the search box.
    pub search: bool,
    /// A fixed CSS grid track (`12em`): every row is its own grid, so tracks must not follow
    /// their content.
    pub width: &'static str,
    pub mono: bool,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum ColumnKind {
    Text,
    Number,
    /// A few distinct values: stored once, filterable with a select.
    Choice,
    /// Text whose presence is a filter (a checkbox with this label).
    Flag(&'static str),
}

impl Column {
    pub(crate) fn new(key: &'static str, label: &'static str, kind: ColumnKind) -> Self {
        Column {
            key,
            label,
            kind,
            search: false,
            width: "9em",
            mono: false,
        }
    }
    pub(crate) fn searched(mut self) -> Self {
        self.search = true;
        self
    }
    pub(crate) fn width(mut self, w: &'static str) -> Self {
        self.width = w;
        self
    }
    pub(crate) fn mono(mut self) -> Self {
        self.mono = true;
        self
    }
}

/// A cell of a [`Grid`] row.
pub(crate) enum Cell<'a> {
    Text(Option<&'a str>),
    Number(Option<u64>),
}

/// A table the page draws on demand. Rows are added one at a time and kept as JSON text (each
/// choice stored as its index), about 100 bytes a group.
pub(crate) struct Grid {
    columns: Vec<Column>,
    choices: Vec<Vec<String>>,
    rows: String,
    count: usize,
    /// The column whose presence marks a row as needing attention.
    attention: Option<usize>,
}

impl Grid {
    pub(crate) fn new(columns: Vec<Column>) -> Self {
        let attention = columns
            .iter()
            .position(|c| matches!(c.kind, ColumnKind::Flag(_)));
        Grid {
            choices: vec![Vec::new(); columns.len()],
            columns,
            rows: String::new(),
            count: 0,
            attention,
        }
    }

    pub(crate) fn push(&mut self, cells: &[Cell]) {
        self.rows
            .push_str(if self.count == 0 { "[" } else { ",\n[" });
        for (i, cell) in cells.iter().enumerate() {
            if i > 0 {
                self.rows.push(',');
            }
            let col = &self.columns[i];
            match cell {
                Cell::Text(None) | Cell::Number(None) => self.rows.push_str("null"),
                Cell::Number(Some(n)) => {
                    let _ = write!(self.rows, "{n}");
                }
                Cell::Text(Some(t)) if col.kind == ColumnKind::Choice => {
                    let t = safe(t);
                    let list = &mut self.choices[i];
                    let k = match list.iter().position(|v| *v == t) {
                        Some(k) => k,
                        None => {
                            list.push(t.into_owned());
                            list.len() - 1
                        }
                    };
                    let _ = write!(self.rows, "{k}");
                }
                Cell::Text(Some(t)) => self.rows.push_str(&json(safe(t).as_ref())),
            }
        }
        self.rows.push(']');
        self.count += 1;
    }

    fn write_data(&self, w: &mut dyn Write) -> io::Result<()> {
        let cols: Vec<serde_json::Value> = self
            .columns
            .iter()
            .zip(&self.choices)
            .map(|(c, values)| {
                let mut v = serde_json::json!({
                    "key": c.key, "label": c.label, "width": c.width, "search": c.search,
                    "type": match c.kind { ColumnKind::Number => "num", _ => "text" },
                });
                if c.mono {
                    v["cls"] = "mono".into();
                }
                match c.kind {
                    ColumnKind::Choice => {
                        v["values"] = serde_json::json!(values);
                        v["filter"] = "select".into();
                    }
                    ColumnKind::Flag(label) => {
                        v["filter"] = "flag".into();
                        v["flagLabel"] = label.into();
                    }
                    _ => {}
                }
                v
            })
            .collect();
        write!(w, "{{\"columns\":{},", json(&cols))?;
        if let Some(a) = self.attention {
            write!(w, "\"attention\":{a},")?;
        }
        // Row text went through `json` cell by cell.
        write!(w, "\"rows\":[")?;
        w.write_all(self.rows.as_bytes())?;
        write!(w, "]}}")
    }
}

/// What the page's header says about the run.
pub(crate) struct Meta {
    pub title: String,
    pub tenant: String,
    /// The command as run, e.g. `gwb report --kind microsoft365`.
    pub command: String,
}

enum Part {
    Html(String),
    Grid(Grid),
}

/// A page being put together: sections of HTML made here (every value through [`esc`]) and
/// grids, in order.
pub(crate) struct Page {
    meta: Meta,
    parts: Vec<Part>,
}

impl Page {
    pub(crate) fn new(meta: Meta) -> Self {
        Page {
            meta,
            parts: Vec::new(),
        }
    }

    /// HTML made by this module's helpers (values escaped).
    pub(crate) fn html(&mut self, html: String) {
        self.parts.push(Part::Html(html));
    }

    pub(crate) fn grid(&mut self, grid: Grid) {
        self.parts.push(Part::Grid(grid));
    }

    pub(crate) fn write(self, w: &mut dyn Write) -> io::Result<()> {
        head(w, &self.meta)?;
        self.write_content(w, "")?;
        foot(w)
    }

    /// The page's content, between its title block and its footer; its grids' ids start
    /// with `prefix` (a fleet page holds many tenants' pages).
    fn write_content(&self, w: &mut dyn Write, prefix: &str) -> io::Result<()> {
        let mut grids = 0;
        for part in &self.parts {
            match part {
                Part::Html(h) => w.write_all(h.as_bytes())?,
                Part::Grid(g) => {
                    grids += 1;
                    writeln!(
                        w,
                        "<div class=\"gridbox\" data-grid=\"{prefix}grid-{grids}\"></div>\n\
                         <script type=\"application/json\" id=\"{prefix}grid-{grids}\">"
                    )?;
                    g.write_data(w)?;
                    writeln!(w, "</script>")?;
                }
            }
        }
        Ok(())
    }
}

/// The page's head and title block, up to its content.
pub(crate) fn head(w: &mut dyn Write, m: &Meta) -> io::Result<()> {
    write!(
        w,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"{csp}\">\n\
         <meta name=\"referrer\" content=\"no-referrer\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"generator\" content=\"gwb {version}\">\n\
         <title>{title}</title>\n<style>{CSS}</style>\n</head>\n<body>\n\
         <h1>{title}</h1>\n<p class=\"sub\">{tenant}</p>\n<dl class=\"meta\">\
         <dt>Generated</dt><dd>{when}</dd><dt>Command</dt><dd><code>{command}</code></dd>\
         <dt>gwb version</dt><dd>{version}</dd></dl>\n",
        csp = content_security_policy(),
        version = env!("CARGO_PKG_VERSION"),
        title = esc(&m.title),
        tenant = esc(&m.tenant),
        when = esc(&crate::clock::this_run_started()),
        command = esc(&m.command),
    )
}

/// The page's footer and its one script.
pub(crate) fn foot(w: &mut dyn Write) -> io::Result<()> {
    write!(
        w,
        "<footer>Made by gwb {} from Microsoft Graph beta. The page fetches nothing; its data is the moment above.</footer>\n\
         <script>{JS}</script>\n</body>\n</html>\n",
        env!("CARGO_PKG_VERSION")
    )?;
    w.flush()
}

/// One tenant of a fleet page: the content of the page gwb made for it (between its title
/// block and its footer), its tables' ids made the tenant's own, in a section the tenant
/// selector shows and hides; or what went wrong.
pub(crate) fn fleet_section(
    w: &mut dyn Write,
    index: usize,
    name: &str,
    headline: &str,
    page: Option<&Page>,
) -> io::Result<()> {
    writeln!(
        w,
        "<section class=\"tenant\" data-tenant=\"{}\">\n<h2>{}</h2>\n<p class=\"sub\">{}</p>",
        esc(name),
        esc(name),
        esc(headline)
    )?;
    if let Some(p) = page {
        p.write_content(w, &format!("t{index}-"))?;
    }
    writeln!(w, "</section>")
}

/// A small line chart of `points` (oldest first), `width` by `height` pixels, as inline SVG:
/// the drift count over the last runs. The last point is marked and labelled.
pub(crate) fn trend_svg(points: &[u64], width: u32, height: u32) -> String {
    let top = points.iter().copied().max().unwrap_or(0).max(1) as f64;
    let (w, h) = (f64::from(width), f64::from(height));
    let step = if points.len() > 1 {
        (w - 8.0) / (points.len() - 1) as f64
    } else {
        0.0
    };
    let xy: Vec<(f64, f64)> = points
        .iter()
        .enumerate()
        .map(|(i, &p)| (4.0 + step * i as f64, h - 4.0 - (h - 8.0) * p as f64 / top))
        .collect();
    let line: Vec<String> = xy.iter().map(|(x, y)| format!("{x:.1},{y:.1}")).collect();
    let (lx, ly) = xy.last().copied().unwrap_or((4.0, h - 4.0));
    let summary = format!(
        "drift over the last {} runs: {}",
        points.len(),
        points
            .iter()
            .map(u64::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    );
    format!(
        "<svg class=\"trend\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" role=\"img\" aria-label=\"{}\"><title>{}</title><polyline points=\"{}\"/><circle cx=\"{lx:.1}\" cy=\"{ly:.1}\" r=\"3\"/></svg>",
        esc(&summary),
        esc(&summary),
        line.join(" ")
    )
}

/// One tenant's row in a fleet page's index.
pub(crate) struct FleetRow {
    pub name: String,
    pub id: String,
    pub exit_code: u8,
    /// "ok", "drift" or "failed": the row's colour (green, amber, red).
    pub class: &'static str,
    pub result: String,
    /// A check's counts (none for other commands, or a tenant that failed).
    pub tally: Option<crate::doc::check::Tally>,
    pub trend: Vec<u64>,
}

/// The fleet page's tenant list and selector: each tenant's name, id, exit code, counts and
/// result (drift amber, failures red), the drift's trend, and a select that shows one tenant's
/// section at a time (all of them with "every tenant").
pub(crate) fn fleet_index(w: &mut dyn Write, rows: &[FleetRow], counts: bool) -> io::Result<()> {
    let mut options = String::from("<option value=\"\">every tenant</option>");
    let mut table = String::new();
    let now = crate::clock::now_rfc3339();
    for r in rows {
        options.push_str(&format!("<option value=\"{0}\">{0}</option>", esc(&r.name)));
        let _ = write!(
            table,
            "<tr class=\"{}\"><td>{}</td><td class=\"mono\">{}</td><td class=\"num\">{}</td>",
            r.class,
            esc(&r.name),
            esc(&r.id),
            r.exit_code
        );
        if counts {
            match &r.tally {
                Some(t) => {
                    let since = t
                        .oldest_first_seen
                        .as_deref()
                        .and_then(|f| crate::writeback::history::age(f, &now))
                        .unwrap_or_else(|| "-".into());
                    let _ = write!(
                        table,
                        "<td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td>{}</td>",
                        t.new,
                        t.persisting,
                        t.resolved,
                        t.excepted,
                        t.failed,
                        esc(&since)
                    );
                }
                None => table.push_str(&"<td class=\"num\">-</td>".repeat(5)),
            }
            if r.tally.is_none() {
                table.push_str("<td>-</td>");
            }
            let trend = if r.trend.len() > 1 {
                trend_svg(&r.trend, 120, 24)
            } else {
                String::new()
            };
            let _ = write!(table, "<td>{trend}</td>");
        }
        let _ = write!(table, "<td class=\"result\">{}</td></tr>", esc(&r.result));
    }
    let head = if counts {
        "<th>Tenant</th><th>Tenant id</th><th>Exit</th><th>New</th><th>Persisting</th><th>Resolved</th><th>Excepted</th><th>Failed</th><th>Oldest drift</th><th>Trend</th><th>Result</th>"
    } else {
        "<th>Tenant</th><th>Tenant id</th><th>Exit</th><th>Result</th>"
    };
    writeln!(
        w,
        "<h2>Tenants</h2>\n<table class=\"tenants\"><thead><tr>{head}</tr></thead><tbody>{table}</tbody></table>\n\
         <p class=\"controls\"><label>Show <select id=\"tenant-select\">{options}</select></label></p>"
    )
}

/// `<h2>` and a paragraph-free block around `inner`.
pub(crate) fn section(title: &str, inner: &str) -> String {
    format!("<h2>{}</h2>\n{inner}\n", esc(title))
}

/// A definition list of label / value pairs (values escaped here).
pub(crate) fn facts(pairs: &[(&str, String)]) -> String {
    let mut s = String::from("<dl class=\"meta\">");
    for (k, v) in pairs {
        let _ = write!(s, "<dt>{}</dt><dd>{}</dd>", esc(k), esc(v));
    }
    s.push_str("</dl>");
    s
}

/// Figures in boxes: (number, what it counts).
pub(crate) fn cards(items: &[(String, &str)]) -> String {
    let mut s = String::from("<div class=\"cards\">");
    for (n, what) in items {
        let _ = write!(
            s,
            "<div class=\"card\"><b>{}</b><span>{}</span></div>",
            esc(n),
            esc(what)
        );
    }
    s.push_str("</div>");
    s
}

/// A bulleted list.
pub(crate) fn list(items: &[&str], class: &str) -> String {
    let mut s = format!("<ul class=\"{}\">", esc(class));
    for i in items {
        let _ = write!(s, "<li>{}</li>", esc(i));
    }
    s.push_str("</ul>");
    s
}

/// One bar of a chart: label, then (value, CSS class) segments stacked left to right.
pub(crate) struct Bar<'a> {
    pub label: &'a str,
    pub segments: Vec<(u64, &'static str)>,
}

/// A horizontal bar chart as inline SVG, each bar's segments stacked and labelled with their
/// numbers; `legend` names the classes. Drawn here: no script, no network.
pub(crate) fn bar_chart(caption: &str, bars: &[Bar], legend: &[(&str, &'static str)]) -> String {
    const LABEL: u64 = 170;
    const WIDTH: u64 = 260;
    const ROW: u64 = 26;
    let max = bars
        .iter()
        .map(|b| b.segments.iter().map(|s| s.0).sum::<u64>())
        .max()
        .unwrap_or(0)
        .max(1);
    let height = ROW * bars.len() as u64 + 30;
    let total_w = LABEL + WIDTH + 120;
    let mut desc = Vec::new();
    let mut s = String::new();
    for (i, b) in bars.iter().enumerate() {
        let y = i as u64 * ROW;
        let _ = write!(s, "<text x=\"0\" y=\"{}\">{}</text>", y + 17, esc(b.label));
        let mut x = LABEL;
        let mut parts = Vec::new();
        for (v, class) in &b.segments {
            let w = v * WIDTH / max;
            if w > 0 {
                let _ = write!(
                    s,
                    "<rect class=\"{class}\" x=\"{x}\" y=\"{}\" width=\"{w}\" height=\"18\"/>",
                    y + 4
                );
            }
            x += w;
            parts.push(thousands(*v));
        }
        let _ = write!(
            s,
            "<text x=\"{}\" y=\"{}\">{}</text>",
            x + 6,
            y + 17,
            esc(&parts.join(" / "))
        );
        desc.push(format!("{}: {}", b.label, parts.join(" / ")));
    }
    let mut lx = LABEL;
    let ly = ROW * bars.len() as u64 + 10;
    for (name, class) in legend {
        let _ = write!(
            s,
            "<rect class=\"{class}\" x=\"{lx}\" y=\"{ly}\" width=\"12\" height=\"12\"/><text x=\"{}\" y=\"{}\">{}</text>",
            lx + 16,
            ly + 11,
            esc(name)
        );
        lx += 16 + 8 * name.len() as u64 + 16;
    }
    format!(
        "<figure><figcaption>{cap}</figcaption><svg xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" aria-label=\"{label}\" width=\"{total_w}\" height=\"{height}\" viewBox=\"0 0 {total_w} {height}\"><title>{label}</title>{s}</svg></figure>",
        cap = esc(caption),
        label = esc(&format!("{caption}: {}", desc.join("; "))),
    )
}

/// The tenant default and the sync features, as facts.
pub(crate) fn tenant_facts(tenant: &crate::doc::TenantSection) -> String {
    let mut pairs = vec![(
        "NewUnifiedGroupWritebackDefault",
        match tenant.new_unified_group_writeback_default {
            Some(v) => v.to_string(),
            None => "unknown".into(),
        },
    )];
    pairs.push(("Where it comes from", tenant.source_description.clone()));
    if let Some(id) = &tenant.setting_id {
        pairs.push(("Group.Unified setting", id.clone()));
    }
    if let Some(e) = &tenant.error {
        pairs.push(("Could not read it", e.clone()));
    }
    if let Some(p) = &tenant.problem {
        pairs.push(("Needs attention", p.clone()));
    }
    if let Some(c) = &tenant.cloud_sync {
        pairs.push(("Cloud Sync", c.describe()));
    }
    if let Some(v) = &tenant.security_writeback {
        pairs.push(("Security groups' writeback flag", v.explanation.clone()));
    }
    if let Some(f) = &tenant.sync_features {
        let b = |v: Option<bool>| v.map_or_else(|| "unknown".to_string(), |v| v.to_string());
        if f.readable {
            pairs.push((
                "Sync: unifiedGroupWritebackEnabled",
                b(f.unified_group_writeback_enabled),
            ));
            pairs.push(("Sync: groupWriteBackEnabled", b(f.group_write_back_enabled)));
        } else {
            pairs.push((
                "Sync features (Entra Connect)",
                format!("not readable: {}", f.error.as_deref().unwrap_or("")),
            ));
        }
    }
    facts(&pairs)
}

/// `report -o html`: the header, the tenant default, figures and charts, the caveats, then
/// every group shown in a table that filters, searches and sorts.
pub(crate) fn report_page(
    meta: Meta,
    tenant: &crate::doc::TenantSection,
    rows: &[crate::writeback::summary::ReportRow],
    summary: &crate::writeback::summary::Summary,
    member_counts: bool,
) -> Page {
    let mut page = Page::new(meta);
    page.html(section(
        "Tenant default for new Microsoft 365 groups",
        &tenant_facts(tenant),
    ));
    page.html(section(
        "Caveats",
        &list(&crate::writeback::summary::caveats(), "caveats"),
    ));
    page.html(section(
        "Groups",
        &groups_figures(tenant, summary, member_counts),
    ));
    page.html(section(
        "Every group",
        "<p>Filter, search and sort in the page; rows marked ! need attention (see the Attention column).</p>",
    ));
    page.grid(groups_grid(rows, member_counts));
    page
}

/// The report's figures, its lines on security writeback and sources of authority, and its
/// two charts.
fn groups_figures(
    tenant: &crate::doc::TenantSection,
    summary: &crate::writeback::summary::Summary,
    member_counts: bool,
) -> String {
    use super::table::{kind_label, type_label};
    let mut figures = vec![
        (thousands(summary.total_groups), "groups read"),
        (thousands(summary.written_back), "written back"),
        (thousands(summary.warnings), "need attention"),
    ];
    if member_counts {
        figures.push((
            summary.over_member_limit.to_string(),
            "over the sync member limit",
        ));
    }
    let mut html = cards(&figures);
    if summary.shown_groups != summary.total_groups {
        let _ = write!(
            html,
            "<p>The table shows {} of the {} groups read (the command's filters); the figures and charts count them all.</p>",
            thousands(summary.shown_groups),
            thousands(summary.total_groups)
        );
    }
    for line in [
        super::security_writeback_line(tenant, summary),
        super::source_of_authority_line(summary),
    ]
    .into_iter()
    .flatten()
    {
        let _ = write!(html, "<p>{}</p>", esc(&line));
    }
    let kinds: Vec<Bar> = summary
        .by_kind
        .iter()
        .map(|(k, c)| Bar {
            label: kind_label(*k),
            segments: vec![
                (c.written_back, "wb"),
                (c.total.saturating_sub(c.written_back), "nwb"),
            ],
        })
        .collect();
    let types: Vec<Bar> = summary
        .written_back_as
        .iter()
        .map(|(t, n)| Bar {
            label: type_label(t),
            segments: vec![(*n, "wb")],
        })
        .collect();
    let _ = write!(
        html,
        "<div class=\"charts\">{}{}</div>",
        bar_chart(
            "Written back, by kind",
            &kinds,
            &[("written back", "wb"), ("not written back", "nwb")]
        ),
        bar_chart("Written back as (on-premises type)", &types, &[])
    );
    html
}

/// Every group shown, one row each.
fn groups_grid(rows: &[crate::writeback::summary::ReportRow], member_counts: bool) -> Grid {
    use super::table::{kind_label, type_label};
    let mut columns = vec![
        Column::new("displayName", "Name", ColumnKind::Text)
            .searched()
            .width("20em"),
        Column::new("id", "Id", ColumnKind::Text)
            .searched()
            .mono()
            .width("21em"),
        Column::new("kind", "Kind", ColumnKind::Choice),
        Column::new("sourceOfAuthority", "Source", ColumnKind::Choice),
        Column::new("writtenBack", "Written back", ColumnKind::Choice),
        Column::new("writtenBackAs", "As", ColumnKind::Choice),
        Column::new("isEnabled", "isEnabled", ColumnKind::Choice).width("6em"),
        Column::new(
            "onPremisesGroupType",
            "onPremisesGroupType",
            ColumnKind::Choice,
        )
        .width("15em"),
        Column::new("reason", "Reason", ColumnKind::Choice),
        Column::new("warning", "Attention", ColumnKind::Flag("needs attention")).width("22em"),
    ];
    if member_counts {
        columns.push(Column::new("memberCount", "Members", ColumnKind::Number).width("6em"));
    }
    columns.push(Column::new("createdDateTime", "Created", ColumnKind::Text).width("7em"));
    let mut grid = Grid::new(columns);
    for r in rows {
        let yes_no = if r.written_back { "yes" } else { "no" };
        let mut cells = vec![
            Cell::Text(r.display_name.as_deref()),
            Cell::Text(Some(&r.id)),
            Cell::Text(Some(kind_label(r.kind))),
            Cell::Text(Some(r.source_of_authority.as_str())),
            Cell::Text(Some(yes_no)),
            Cell::Text(r.written_back_as.map(type_label)),
            Cell::Text(Some(super::show_bool(r.is_enabled))),
            Cell::Text(r.on_premises_group_type.as_deref()),
            Cell::Text(Some(r.reason.as_str())),
            Cell::Text(r.warning.as_deref()),
        ];
        if member_counts {
            cells.push(Cell::Number(r.member_count));
        }
        cells.push(Cell::Text(
            r.created_date_time
                .as_deref()
                .map(|d| d.get(..10).unwrap_or(d)),
        ));
        grid.push(&cells);
    }
    grid
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_text_is_escaped_in_html_and_in_data_blocks() {
        assert_eq!(
            esc("<img src=x onerror=alert(1)>"),
            "&lt;img src=x onerror=alert(1)&gt;"
        );
        assert_eq!(esc("a\"b'c&d"), "a&quot;b&#39;c&amp;d");
        assert_eq!(esc("abc\u{202e}fed"), "abc\\u{202e}fed");
        let j = json("</script><script>alert(1)</script><!--");
        assert!(!j.contains('<') && !j.contains('>'), "{j}");
        let back: String = serde_json::from_str(&j).unwrap();
        assert_eq!(back, "</script><script>alert(1)</script><!--");
    }

    #[test]
    fn the_policy_allows_only_the_pages_own_style_and_script() {
        let csp = content_security_policy();
        assert!(csp.starts_with("default-src 'none';"), "{csp}");
        assert!(csp.contains(&csp_hash(JS)) && csp.contains(&csp_hash(CSS)));
        assert!(!csp.contains("unsafe"), "{csp}");
        // The hash of "" is well known: the encoding is the one browsers compare.
        assert_eq!(
            csp_hash(""),
            "'sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU='"
        );
    }

    #[test]
    fn figures_have_thousands_separators() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_000), "1,000");
        assert_eq!(thousands(100_000), "100,000");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }

    #[test]
    fn grid_rows_store_each_choice_once() {
        let mut g = Grid::new(vec![
            Column::new("name", "Name", ColumnKind::Text),
            Column::new("kind", "Kind", ColumnKind::Choice),
            Column::new("n", "N", ColumnKind::Number),
        ]);
        g.push(&[
            Cell::Text(Some("a<b")),
            Cell::Text(Some("security")),
            Cell::Number(Some(3)),
        ]);
        g.push(&[
            Cell::Text(None),
            Cell::Text(Some("security")),
            Cell::Number(None),
        ]);
        g.push(&[
            Cell::Text(Some("c")),
            Cell::Text(Some("distribution")),
            Cell::Number(Some(0)),
        ]);
        let mut out = Vec::new();
        g.write_data(&mut out).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(
            v["rows"],
            serde_json::json!([["a<b", 0, 3], [null, 0, null], ["c", 1, 0]])
        );
        assert_eq!(
            v["columns"][1]["values"],
            serde_json::json!(["security", "distribution"])
        );
        assert!(!String::from_utf8(out).unwrap().contains('<'));
    }
}
