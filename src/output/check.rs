//! `check` as a table for people, or as JSON, NDJSON and CSV: renderers of the check's
//! document (`doc::check`).

use std::io::Write;

use crate::cli::OutputFormat;
use crate::doc::check::{CheckDoc, Comparison, SCHEMA_VERSION, Shown};
use crate::writeback::history::Changes;
use crate::writeback::policy::{Drift, DriftTarget, Policy};

/// The columns of drift as CSV.
pub(crate) const DRIFT_COLUMNS: [&str; 7] = [
    "target",
    "id",
    "displayName",
    "kind",
    "expected",
    "actual",
    "roleAssignable",
];

/// One drift item as a CSV row.
pub(crate) fn drift_row(d: &Drift) -> [String; 7] {
    [
        d.target.as_str().to_string(),
        d.id.clone().unwrap_or_default(),
        d.display_name.clone().unwrap_or_default(),
        d.kind.map(|k| k.as_str().to_string()).unwrap_or_default(),
        d.expected.clone(),
        d.actual.clone(),
        d.role_assignable.to_string(),
    ]
}

/// The check as printed: its result, the policy it was checked against, and what an HTML
/// page or a JUnit suite says of the run.
pub(crate) struct CheckView<'a> {
    pub policy: &'a Policy,
    pub shown: Shown<'a>,
    pub about: super::About,
    pub meta: crate::doc::Meta,
}

impl CheckView<'_> {
    /// The state as last checked (after a fix, the check after it).
    pub(crate) fn last(&self) -> &Comparison {
        self.shown.after.unwrap_or(self.shown.before)
    }

    /// The check's HTML page, as a document (a fleet page holds many).
    pub(crate) fn page(&self) -> super::html::Page {
        super::check_html::page(
            self.about.tenant.clone(),
            self.policy,
            &self.shown,
            &self.about.command,
        )
    }

    /// The check's JUnit suite, named by `about.tenant`.
    pub(crate) fn suite(&self) -> super::junit::Suite {
        super::junit::Suite::of_check(&self.about.tenant, self.policy, self.last())
    }
}

impl super::Render for CheckView<'_> {
    const FORMATS: &'static [OutputFormat] = &[
        OutputFormat::Table,
        OutputFormat::Json,
        OutputFormat::Ndjson,
        OutputFormat::Csv,
        OutputFormat::Junit,
        OutputFormat::Html,
    ];

    fn table(&self, out: &mut dyn Write) -> std::io::Result<()> {
        write_table(out, &self.shown)
    }

    fn json(&self, out: &mut dyn Write) -> std::io::Result<()> {
        let Shown {
            before,
            fix,
            after,
            changes,
            ..
        } = self.shown;
        let doc = CheckDoc {
            schema_version: SCHEMA_VERSION,
            policy: self.policy,
            before,
            fix,
            after,
            changes,
            meta: &self.meta,
        };
        super::write_json(out, &doc)
    }

    /// One drift item per line: the state as last checked.
    fn ndjson(&self, out: &mut dyn Write) -> std::io::Result<()> {
        for d in &self.last().drift {
            serde_json::to_writer(&mut *out, d)?;
            writeln!(out)?;
        }
        Ok(())
    }

    /// One drift item per row: the state as last checked.
    fn csv(&self, out: &mut dyn Write) -> std::io::Result<()> {
        let drift = &self.last().drift;
        super::write_csv_rows(out, DRIFT_COLUMNS, drift.iter().map(drift_row))
    }

    fn junit(&self, out: &mut dyn Write) -> std::io::Result<()> {
        super::junit::write_suite(out, &self.suite())
    }

    fn html(&self, out: &mut dyn Write) -> std::io::Result<()> {
        self.page().write(out)
    }
}

/// The check for people: the comparison, what a fix did, the check after it, and the drift
/// against the last check.
fn write_table(out: &mut dyn Write, shown: &Shown) -> std::io::Result<()> {
    let Shown {
        before,
        fix,
        after,
        changes,
        ..
    } = *shown;
    write_comparison(out, "Policy check", before)?;
    if let Some(f) = fix {
        if f.dry_run {
            writeln!(
                out,
                "Dry run: --fix would disable writeback on {}{} (no writes made)",
                super::table::groups(f.groups_planned),
                if f.tenant_default.is_some() {
                    " and set the tenant default"
                } else {
                    ""
                }
            )?;
        } else {
            writeln!(
                out,
                "Fix: changed {} of {}; {} deleted meanwhile, {} failed; tenant default: {}",
                f.groups_changed.len(),
                super::table::groups(f.groups_planned),
                f.deleted_meanwhile.len(),
                f.failed.len(),
                f.tenant_default
                    .map(|a| a.as_str())
                    .unwrap_or("not touched")
            )?;
            for e in &f.failed {
                writeln!(
                    out,
                    "{}",
                    super::table::fitted(&e.line(), "  FAILED: ", "      ")
                )?;
            }
            for j in &f.journals {
                super::write_undo_line(out, j)?;
            }
            if let Some(sig) = f.signal.map(crate::interrupt::name) {
                writeln!(
                    out,
                    "Interrupted by {sig}: run gwb check --fix again to finish, or undo with gwb restore --journal {}",
                    f.journals.first().map(String::as_str).unwrap_or("PATH")
                )?;
            }
            if !f.pending_read_back.is_empty() {
                writeln!(
                    out,
                    "{} made {} not show in Graph's reads yet (reads lag writes); check again in a minute",
                    super::table::count(f.pending_read_back.len() as u64, "change", "changes"),
                    super::table::agree(f.pending_read_back.len() as u64, "does", "do")
                )?;
            }
        }
    }
    if let Some(a) = after {
        write_comparison(out, "Checked again", a)?;
    }
    if let Some(c) = changes {
        write_changes(out, c)?;
    }
    out.flush()
}

/// How long `d` has drifted, when a check saw it on an earlier day ("31 days").
pub(crate) fn drifted_for(d: &Drift) -> Option<String> {
    let first = d.first_seen.as_deref()?;
    crate::writeback::history::age(first, &crate::clock::now_rfc3339()).filter(|a| a != "today")
}

/// New, persisting and resolved drift since the last check, as people read it.
fn write_changes(out: &mut dyn Write, c: &Changes) -> std::io::Result<()> {
    let since = match &c.since {
        Some(at) => format!("Since the last check ({at})"),
        None => {
            // Everything is new: the comparison above listed it once already.
            let line = format!(
                "First check (no earlier state): {} drifted; the next check says what is new, persisting and resolved",
                c.new.len()
            );
            return writeln!(out, "{}", super::table::fitted(&line, "", "  "));
        }
    };
    writeln!(
        out,
        "{since}: {} new, {} persisting, {} resolved",
        c.new.len(),
        c.persisting.len(),
        c.resolved.len()
    )?;
    let name = |id: Option<&str>, target: DriftTarget, display: Option<&str>| match target {
        DriftTarget::TenantDefault => "tenant default NewUnifiedGroupWritebackDefault".to_string(),
        DriftTarget::SyncEngine => "Entra Connect's group writeback engine".to_string(),
        DriftTarget::Group => format!(
            "group {} \"{}\"",
            super::safe(id.unwrap_or("")),
            super::safe(display.unwrap_or(""))
        ),
    };
    let fit = |text: String, first: &str| super::table::fitted(&text, first, "    ");
    for d in &c.new {
        let n = name(d.id.as_deref(), d.target, d.display_name.as_deref());
        writeln!(out, "{}", fit(n, "  new: "))?;
    }
    for s in &c.resolved {
        let n = name(s.id.as_deref(), s.target, s.display_name.as_deref());
        writeln!(out, "{}", fit(n, "  resolved: "))?;
    }
    Ok(())
}

fn write_comparison(out: &mut dyn Write, title: &str, c: &Comparison) -> std::io::Result<()> {
    if !c.needs_privileged_permission.is_empty() {
        writeln!(
            out,
            "{title}: {} role-assignable groups are written back; fixing them needs RoleManagement.ReadWrite.Directory (reported apart, not counted: policy.role_assignable_drift = \"report\"):",
            c.needs_privileged_permission.len()
        )?;
        for d in &c.needs_privileged_permission {
            let line = format!(
                "group {} \"{}\": {}",
                super::safe(d.id.as_deref().unwrap_or("")),
                super::safe(d.display_name.as_deref().unwrap_or("")),
                d.actual
            );
            writeln!(out, "{}", super::table::fitted(&line, "  ", "    "))?;
        }
    }
    if !c.excepted.is_empty() {
        writeln!(
            out,
            "{title}: {} accepted by [[policy.exception]] (not counted):",
            c.excepted.len()
        )?;
        for x in &c.excepted {
            writeln!(
                out,
                "  {} \"{}\": {}{}{}",
                super::safe(x.drift.id.as_deref().unwrap_or(x.drift.target.as_str())),
                super::safe(x.drift.display_name.as_deref().unwrap_or("")),
                super::safe(&x.reason),
                x.owner
                    .as_deref()
                    .map(|o| format!(" (owner {})", super::safe(o)))
                    .unwrap_or_default(),
                x.expires
                    .as_deref()
                    .map(|d| format!(", until {d}"))
                    .unwrap_or_default(),
            )?;
        }
    }
    if c.compliant {
        writeln!(
            out,
            "{title}: compliant ({} checked, {} allowed by policy.allow)",
            super::table::groups(c.groups_checked),
            c.allowed
        )?;
        return Ok(());
    }
    writeln!(
        out,
        "{title}: {} drifted ({} checked, {} allowed by policy.allow)",
        c.drift.len(),
        super::table::groups(c.groups_checked),
        c.allowed
    )?;
    for d in &c.drift {
        let what = match (d.target.as_str(), &d.kind) {
            ("group", Some(k)) => format!(
                "group {} \"{}\" ({})",
                super::safe(d.id.as_deref().unwrap_or("")),
                super::safe(d.display_name.as_deref().unwrap_or("")),
                k.as_str()
            ),
            _ => "tenant default NewUnifiedGroupWritebackDefault".to_string(),
        };
        let what = if d.role_assignable {
            format!("{what} [role-assignable: fixing needs RoleManagement.ReadWrite.Directory]")
        } else {
            what
        };
        let mut line = format!("{what}: expected {}, actual {}", d.expected, d.actual);
        if let Some(age) = drifted_for(d) {
            line.push_str(&format!(" (drifted for {age})"));
        }
        writeln!(out, "{}", super::table::fitted(&line, "  ", "    "))?;
    }
    Ok(())
}
