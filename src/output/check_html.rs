//! `check -o html`, a renderer of the check's document (`doc::check`): compliant or not at a glance, the policy and what a fix did, then every
//! drift item (new, persisting, resolved, excepted) with what was expected and what was found.

use std::fmt::Write as _;

use super::html::{
    Cell, Column, ColumnKind, Grid, Meta, Page, cards, esc, facts, list, section, tenant_facts,
    thousands,
};
use crate::doc::check::{Comparison, Fix, Shown};
use crate::writeback::policy::{Drift, DriftTarget, Policy};

/// The policy's rules in words, as the config file's keys name them.
fn policy_facts(policy: &Policy) -> String {
    let v = serde_json::to_value(policy).unwrap_or_default();
    let rule = |k: &str| match v.get(k) {
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(serde_json::Value::Bool(b)) => b.to_string(),
        Some(other) => other.to_string(),
        None => "not checked".into(),
    };
    let mut pairs = vec![
        ("new_m365_default", rule("newM365Default")),
        ("m365_writeback", rule("m365Writeback")),
        ("security_writeback", rule("securityWriteback")),
        ("allow", super::table::groups(policy.allow.len() as u64)),
    ];
    if policy.security_writeback_needs_cloud_sync {
        pairs.push(("security_writeback_needs_cloud_sync", "true".into()));
    }
    if !policy.exceptions.is_empty() {
        pairs.push(("exceptions", format!("{}", policy.exceptions.len())));
    }
    facts(&pairs)
}

/// One drift item as a row: state, target, name, id, kind, expected, actual, note.
fn push(grid: &mut Grid, state: &str, d: &Drift, note: Option<&str>) {
    let age = super::check::drifted_for(d).map(|a| {
        format!(
            "drifting for {a} (first seen {})",
            d.first_seen.as_deref().unwrap_or("")
        )
    });
    let name = match d.target {
        DriftTarget::TenantDefault => Some("NewUnifiedGroupWritebackDefault"),
        DriftTarget::Group | DriftTarget::SyncEngine => d.display_name.as_deref(),
    };
    grid.push(&[
        Cell::Text(Some(state)),
        Cell::Text(Some(d.target.as_str())),
        Cell::Text(name),
        Cell::Text(d.id.as_deref()),
        Cell::Text(d.kind.map(super::table::kind_label)),
        Cell::Text(Some(&d.expected)),
        Cell::Text(Some(&d.actual)),
        Cell::Text(note.or(age.as_deref())),
    ]);
}

pub(crate) fn page(tenant: String, policy: &Policy, shown: &Shown<'_>, command: &str) -> Page {
    let last: &Comparison = shown.after.unwrap_or(shown.before);
    let mut page = Page::new(Meta {
        title: "Group writeback policy check".into(),
        tenant,
        command: format!("{command} -o html"),
    });
    page.html(section("Result", &result(shown, last)));
    page.html(section("Policy", &policy_facts(policy)));
    if let Some(t) = &last.tenant_default {
        page.html(section(
            "Tenant default for new Microsoft 365 groups",
            &tenant_facts(t),
        ));
    }
    if let Some(f) = shown.fix {
        page.html(section("Fix", &fix(f)));
    }
    page.html(section(
        "Drift",
        "<p>Each item with what the policy expects and what the tenant has. Excepted items are accepted by an exception in force and not counted.</p>",
    ));
    page.grid(drift_grid(shown, last));
    page
}

/// The verdict, the figures, and what new and resolved are counted against.
fn result(shown: &Shown<'_>, last: &Comparison) -> String {
    let drifted = last.drift.len();
    let mut top = if last.compliant {
        "<div class=\"verdict ok\">Compliant</div>".to_string()
    } else {
        format!(
            "<div class=\"verdict bad\">Not compliant: {} drifted from the policy</div>",
            esc(&format!(
                "{drifted} item{}",
                if drifted == 1 { "" } else { "s" }
            ))
        )
    };
    if shown.after.is_some() {
        top.push_str("<p>After the fix, the tenant was checked again: this is that check.</p>");
    }
    let mut figures = vec![(thousands(last.groups_checked), "groups checked")];
    if let Some(c) = shown.changes {
        figures.push((thousands(c.new.len() as u64), "new"));
        figures.push((thousands(c.persisting.len() as u64), "persisting"));
        figures.push((thousands(c.resolved.len() as u64), "resolved"));
    } else {
        figures.push((thousands(drifted as u64), "drifted"));
    }
    figures.push((thousands(last.excepted.len() as u64), "excepted"));
    if !last.needs_privileged_permission.is_empty() {
        figures.push((
            thousands(last.needs_privileged_permission.len() as u64),
            "need a privileged permission",
        ));
    }
    top.push_str(&cards(&figures));
    if shown.trend.len() > 1 {
        let _ = write!(
            top,
            "<p>Drift over the last {} runs: {}</p>",
            shown.trend.len(),
            super::html::trend_svg(shown.trend, 240, 40)
        );
    }
    if let Some(c) = shown.changes {
        let since = match &c.since {
            Some(at) => {
                format!("New, persisting and resolved are counted against the last check, at {at}.")
            }
            None => "This is the first check kept for this tenant: every drift item is new.".into(),
        };
        let _ = write!(top, "<p>{}</p>", esc(&since));
    }
    top
}

/// What `--fix` did, or would do.
fn fix(f: &Fix) -> String {
    let mut lines = vec![if f.dry_run {
        format!(
            "Dry run: --fix would disable writeback on {} (no writes made).",
            super::table::groups(f.groups_planned)
        )
    } else {
        format!(
            "Changed {} of {}; {} deleted meanwhile, {} failed, {} skipped; tenant default: {}.",
            f.groups_changed.len(),
            super::table::groups(f.groups_planned),
            f.deleted_meanwhile.len(),
            f.failed.len(),
            f.skipped.len(),
            f.tenant_default
                .map(|a| a.as_str())
                .unwrap_or("not touched")
        )
    }];
    lines.extend(f.failed.iter().map(|e| format!("FAILED: {}", e.line())));
    lines.extend(
        f.journals
            .iter()
            .map(|j| format!("Journal: {j} (undo with gwb restore --journal {j})")),
    );
    if !f.pending_read_back.is_empty() {
        lines.push(format!(
            "{} {} not show in Graph's reads yet (they lag writes).",
            super::table::count(f.pending_read_back.len() as u64, "change", "changes"),
            super::table::agree(f.pending_read_back.len() as u64, "does", "do")
        ));
    }
    let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
    list(&refs, "fix")
}

/// Every drift item: new, persisting, resolved (or drifted), excepted, and those only a
/// privileged app may change.
fn drift_grid(shown: &Shown<'_>, last: &Comparison) -> Grid {
    let mut grid = Grid::new(vec![
        Column::new("state", "State", ColumnKind::Choice),
        Column::new("target", "Target", ColumnKind::Choice).width("7em"),
        Column::new("displayName", "Name", ColumnKind::Text)
            .searched()
            .width("18em"),
        Column::new("id", "Id", ColumnKind::Text)
            .searched()
            .mono()
            .width("21em"),
        Column::new("kind", "Kind", ColumnKind::Choice),
        Column::new("expected", "Expected", ColumnKind::Text).width("11em"),
        Column::new("actual", "Actual", ColumnKind::Text).width("11em"),
        Column::new("note", "Note", ColumnKind::Text).width("22em"),
    ]);
    match shown.changes {
        Some(c) => {
            for d in &c.new {
                push(&mut grid, "new", d, None);
            }
            for d in &c.persisting {
                push(&mut grid, "persisting", d, None);
            }
            for s in &c.resolved {
                let name = match s.target {
                    DriftTarget::TenantDefault => Some("NewUnifiedGroupWritebackDefault"),
                    DriftTarget::Group | DriftTarget::SyncEngine => s.display_name.as_deref(),
                };
                grid.push(&[
                    Cell::Text(Some("resolved")),
                    Cell::Text(Some(s.target.as_str())),
                    Cell::Text(name),
                    Cell::Text(s.id.as_deref()),
                    Cell::Text(None),
                    Cell::Text(None),
                    Cell::Text(None),
                    Cell::Text(Some("drifted at the last check, not now")),
                ]);
            }
        }
        None => {
            for d in &last.drift {
                push(&mut grid, "drifted", d, None);
            }
        }
    }
    for x in &last.excepted {
        let mut note = format!("excepted: {}", x.reason);
        if let Some(o) = &x.owner {
            let _ = write!(note, "; owner {o}");
        }
        if let Some(e) = &x.expires {
            let _ = write!(note, "; until {e}");
        }
        push(&mut grid, "excepted", &x.drift, Some(&note));
    }
    for d in &last.needs_privileged_permission {
        push(
            &mut grid,
            "needs privileged permission",
            d,
            Some(
                "role-assignable: only an app with RoleManagement.ReadWrite.Directory can change it",
            ),
        );
    }
    grid
}
