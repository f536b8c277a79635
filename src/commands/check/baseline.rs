//! `gwb config init --from-tenant`: the tenant as it stands, written as a starting policy under
//! which `gwb check` is compliant today. The peers admins know do the same (a DSC export, a
//! CIPP template from a tenant, `terraform import`): start from what is, then tighten.

use std::fmt::Write as _;
use std::path::Path;

use crate::change::Context;
use crate::doc::check::Comparison;
use crate::error::{ExitStatus, UsageError};
use crate::graph::model::GroupId;
use crate::writeback::policy::{Drift, DriftTarget, Policy, Rule};

/// An allow list longer than this is said to be hard to review.
const LONG_ALLOW: usize = 200;

/// Read the tenant under the strictest policy, then write the policy that accepts what it found.
pub(crate) async fn write(
    ctx: &Context,
    path: Option<&Path>,
    force: bool,
) -> anyhow::Result<ExitStatus> {
    if let Some(name) = ctx.target.name.as_deref() {
        return write_tenant(ctx, path, name, force).await;
    }
    let path = path.ok_or_else(|| {
        UsageError(
            "no default config path (neither XDG_CONFIG_HOME nor HOME is set): give --path".into(),
        )
    })?;
    // Refused before the tenant is read: never over a file without --force.
    if path.exists() && !force {
        return Err(UsageError(format!(
            "{}: a config file is already there: edit it, or add --force to replace it; nothing was written",
            path.display()
        ))
        .into());
    }
    let found = super::compare(ctx, &strictest()).await?;
    let tenant = crate::change::pipeline::tenant_words(ctx).await;
    let baseline = Baseline::of(&found);
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| UsageError(format!("cannot create {}: {e}", dir.display())))?;
    }
    let text = baseline.toml(&tenant, &crate::clock::now_rfc3339());
    crate::files::write_new(path, text.as_bytes(), force)
        .map_err(|e| UsageError(format!("{}: {e}; nothing was written", path.display())))?;
    baseline.warn();
    crate::output::notice(&format!(
        "wrote {}: a baseline of {tenant}: {} written back today {} allowed, and gwb check is compliant under it. The policy binds disable-existing-m365 too: it leaves those groups alone (trim allow, or add --ignore-policy, to disable them)",
        path.display(),
        crate::output::table::groups(baseline.allow.len() as u64),
        crate::output::table::agree(baseline.allow.len() as u64, "is", "are")
    ));
    Ok(ExitStatus::Ok)
}

/// `--tenant NAME`: the baseline as that `[[tenants]]` entry's `[tenants.policy]`, written into
/// the config file that holds the entry (checked to parse before it replaces the file).
async fn write_tenant(
    ctx: &Context,
    path: Option<&Path>,
    name: &str,
    force: bool,
) -> anyhow::Result<ExitStatus> {
    let path = path.ok_or_else(|| {
        UsageError("--tenant needs the config file that holds its entry: give --config".into())
    })?;
    let text = std::fs::read_to_string(path)
        .map_err(|e| UsageError(format!("{}: {e}; nothing was written", path.display())))?;
    let refused = |e: String| UsageError(format!("{}: {e}; nothing was written", path.display()));
    // Refused before the tenant is read, as a whole file is.
    with_tenant_policy(&text, name, "[tenants.policy]\n", force).map_err(refused)?;
    let found = super::compare(ctx, &strictest()).await?;
    let tenant = crate::change::pipeline::tenant_words(ctx).await;
    let baseline = Baseline::of(&found);
    let table = baseline.table("tenants.policy", &tenant, &crate::clock::now_rfc3339());
    let new = with_tenant_policy(&text, name, &table, force).map_err(refused)?;
    toml::from_str::<toml::Table>(&new).map_err(|e| {
        refused(format!(
            "the file would not parse after the edit ({})",
            e.message()
        ))
    })?;
    crate::files::write_atomic(path, new.as_bytes())
        .map_err(|e| refused(format!("cannot replace it: {e}")))?;
    baseline.warn();
    crate::output::notice(&format!(
        "wrote [tenants.policy] of {name:?} in {}: a baseline of {tenant}: {} written back today {} allowed, and gwb --tenant {name} check is compliant under it. It binds disable-existing-m365 too (trim allow, or add --ignore-policy)",
        path.display(),
        crate::output::table::groups(baseline.allow.len() as u64),
        crate::output::table::agree(baseline.allow.len() as u64, "is", "are")
    ));
    Ok(ExitStatus::Ok)
}

/// The policy the tenant is read under: everything checked, nothing allowed.
fn strictest() -> Policy {
    Policy {
        new_m365_default: Some(false),
        m365_writeback: Rule::Disabled,
        security_writeback: Rule::Disabled,
        ..Default::default()
    }
}

/// What the tenant is today, as a policy.
#[derive(Debug, Default)]
struct Baseline {
    /// `NewUnifiedGroupWritebackDefault` as read; `None` when it could not be told.
    new_m365_default: Option<bool>,
    /// The groups written back today: id, name, kind.
    allow: Vec<(GroupId, String, &'static str)>,
    /// What no allow entry can accept, said as warnings (and in the file).
    cannot_allow: Vec<String>,
}

impl Baseline {
    /// What a person should know of the list: what it cannot accept, and when it is long.
    fn warn(&self) {
        for w in &self.cannot_allow {
            tracing::warn!("{}", crate::output::safe(w));
        }
        if self.allow.len() > LONG_ALLOW {
            tracing::warn!(
                "{} groups are written back today and all are in allow: a list that long is hard to review; consider disabling writeback on those nobody needs in AD, then trimming allow",
                self.allow.len()
            );
        }
    }

    fn of(c: &Comparison) -> Baseline {
        let mut b = Baseline {
            new_m365_default: c
                .tenant_default
                .as_ref()
                .filter(|t| t.problem.is_none())
                .and_then(|t| t.new_unified_group_writeback_default),
            ..Default::default()
        };
        let groups = c
            .drift
            .iter()
            .chain(&c.needs_privileged_permission)
            .filter(|d| d.target == DriftTarget::Group);
        for d in groups {
            b.add(d);
        }
        for d in c
            .drift
            .iter()
            .filter(|d| d.target == DriftTarget::SyncEngine)
        {
            b.cannot_allow.push(format!(
                "the sync engine: {} (no allow entry can accept this; a [[policy.exception]] with target = \"syncEngine\" can)",
                d.actual
            ));
        }
        b.allow
            .sort_by(|x, y| (&x.1, x.0.as_str()).cmp(&(&y.1, y.0.as_str())));
        b
    }

    fn add(&mut self, d: &Drift) {
        let name = d.display_name.clone().unwrap_or_default();
        match d.id.as_deref().and_then(GroupId::parse) {
            Some(id) => {
                let kind = d.kind.map_or("group", |k| k.as_str());
                self.allow.push((id, name, kind));
            }
            None => self.cannot_allow.push(format!(
                "group {:?} ({name}) is written back, but Graph lists it with an id that is not a GUID: no allow entry can name it",
                d.id.as_deref().unwrap_or("")
            )),
        }
    }

    /// The config file: a header that says what it is and what it binds, the policy, and a
    /// commented exception to copy.
    fn toml(&self, tenant: &str, at: &str) -> String {
        let mut t = String::new();
        let _ = writeln!(
            t,
            "# gwb configuration: a baseline of {}, written by `gwb config init --from-tenant` at {at}.",
            one_line(tenant)
        );
        t.push_str(concat!(
            "# Under this policy `gwb check` is compliant today: every group written back now is in\n",
            "# allow. Tighten it from here: remove a group from allow once its writeback is disabled.\n",
            "#\n",
            "# The policy binds disable-existing-m365 too: it leaves every group in allow alone. To\n",
            "# disable writeback on them, trim allow first (or run it with --ignore-policy).\n",
            "# Every other key (sign-in, clouds, notifications): `gwb config init --path FILE` writes\n",
            "# them all, commented, to copy from.\n\n",
        ));
        t.push_str(&self.table("policy", tenant, at));
        t
    }

    /// The policy as the table `name` (`policy`, or `tenants.policy` inside a fleet's
    /// `[[tenants]]` entry), with the commented exception template.
    fn table(&self, name: &str, tenant: &str, at: &str) -> String {
        let mut t = String::new();
        if name != "policy" {
            let _ = writeln!(
                t,
                "# A baseline of {}, written by `gwb config init --from-tenant` at {at}: gwb check is\n# compliant under it today; it binds disable-existing-m365 too (trim allow, or --ignore-policy).",
                one_line(tenant)
            );
        }
        let _ = writeln!(t, "[{name}]");
        match self.new_m365_default {
            Some(v) => {
                let _ = writeln!(
                    t,
                    "# NewUnifiedGroupWritebackDefault as read: new Microsoft 365 groups are {}written back.\nnew_m365_default = {v}",
                    if v { "" } else { "not " }
                );
            }
            None => t.push_str(
                "# NewUnifiedGroupWritebackDefault could not be told (see gwb report); not checked.\n# new_m365_default = false\n",
            ),
        }
        t.push_str("m365_writeback = \"disabled\"\nsecurity_writeback = \"disabled\"\n");
        for w in &self.cannot_allow {
            let _ = writeln!(t, "# Not accepted by allow: {}", one_line(w));
        }
        let _ = writeln!(
            t,
            "# {} written back today (id, then name and kind):",
            crate::output::table::groups(self.allow.len() as u64)
        );
        if self.allow.is_empty() {
            t.push_str("allow = []\n");
        } else {
            t.push_str("allow = [\n");
            for (id, name, kind) in &self.allow {
                let _ = writeln!(t, "  \"{id}\", # {} ({kind})", one_line(name));
            }
            t.push_str("]\n");
        }
        t.push_str(concat!(
            "\n# An accepted exception: a group (or target = \"tenantDefault\" or \"syncEngine\") that may\n",
            "# stay as it is, with why, who owns it and until when (gwb check warns before it expires).\n",
        ));
        let _ = writeln!(t, "# [[{name}.exception]]");
        t.push_str(concat!(
            "# id = \"00000000-0000-0000-0000-000000000000\"\n",
            "# reason = \"why it stays written back\"\n",
            "# owner = \"someone@example.com\"\n",
            "# expires = \"YYYY-MM-DD\"\n",
        ));
        t
    }
}

/// Text on one line: a name with a line break must not end a TOML comment early.
fn one_line(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// `text` (a config file) with `table` as the `[tenants.policy]` of its `[[tenants]]` entry
/// named `name`: added after the entry's keys, or, with `force`, in place of the one it has.
fn with_tenant_policy(text: &str, name: &str, table: &str, force: bool) -> Result<String, String> {
    let lines: Vec<&str> = text.lines().collect();
    let header = |l: &str| {
        let l = l.split('#').next().unwrap_or("").trim();
        l.starts_with('[').then(|| l.replace(' ', ""))
    };
    // The entry: from its [[tenants]] line to the next header outside it.
    let mut entry: Option<(usize, usize)> = None;
    let mut i = 0;
    while i < lines.len() {
        if header(lines[i]).as_deref() == Some("[[tenants]]") {
            let end = (i + 1..lines.len())
                .find(|&j| {
                    header(lines[j]).is_some_and(|h| {
                        !(h.starts_with("[tenants.") || h.starts_with("[[tenants."))
                    })
                })
                .unwrap_or(lines.len());
            let named = lines[i + 1..end].iter().any(|l| {
                let l = l.split('#').next().unwrap_or("");
                l.split_once('=')
                    .is_some_and(|(k, v)| k.trim() == "name" && v.trim().trim_matches('"') == name)
            });
            if named {
                entry = Some((i, end));
                break;
            }
            i = end;
        } else {
            i += 1;
        }
    }
    let (start, end) = entry.ok_or_else(|| {
        format!("no [[tenants]] entry named {name:?} in the config file; add one (name = \"{name}\") first")
    })?;
    // Its policy, if it has one: [tenants.policy] and its exceptions.
    let policy =
        (start + 1..end).find(|&j| header(lines[j]).as_deref() == Some("[tenants.policy]"));
    let (cut_from, cut_to) = match policy {
        Some(_) if !force => {
            return Err(format!(
                "the [[tenants]] entry {name:?} has a [tenants.policy] already: edit it, or add --force to replace it"
            ));
        }
        Some(p) => (p, end),
        None => {
            // After the entry's own keys, before any sub-table it has.
            let first_sub = (start + 1..end)
                .find(|&j| header(lines[j]).is_some())
                .unwrap_or(end);
            (first_sub, first_sub)
        }
    };
    let mut out: Vec<String> = lines[..cut_from].iter().map(|l| l.to_string()).collect();
    if out.last().is_some_and(|l| !l.trim().is_empty()) {
        out.push(String::new());
    }
    out.push(table.trim_end().to_string());
    if cut_to < lines.len() {
        out.push(String::new());
    }
    out.extend(lines[cut_to..].iter().map(|l| l.to_string()));
    Ok(out.join("\n") + "\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    const FLEET: &str = "auth = \"access-token\"\n\n[[tenants]]\nname = \"a\"\ngraph_url = \"http://127.0.0.1:1\"\n\n[[tenants]]\nname = \"b\" # the second\ntenant_id = \"x\"\n[tenants.policy]\nm365_writeback = \"any\"\n\n[[notify]]\nkind = \"webhook\"\n";

    #[test]
    fn a_tenants_policy_goes_into_its_own_entry_and_replaces_one_only_with_force() {
        let table = "[tenants.policy]\nallow = []\n";
        let added = with_tenant_policy(FLEET, "a", table, false).unwrap();
        let parsed: toml::Table = toml::from_str(&added).unwrap();
        let tenants = parsed["tenants"].as_array().unwrap();
        assert!(
            tenants[0]["policy"]["allow"].as_array().unwrap().is_empty(),
            "{added}"
        );
        assert_eq!(tenants[1]["policy"]["m365_writeback"].as_str(), Some("any"));
        assert!(parsed["notify"].is_array(), "what follows is kept: {added}");

        let e = with_tenant_policy(FLEET, "b", table, false).unwrap_err();
        assert!(
            e.contains("has a [tenants.policy] already") && e.contains("--force"),
            "{e}"
        );
        let replaced = with_tenant_policy(FLEET, "b", table, true).unwrap();
        let parsed: toml::Table = toml::from_str(&replaced).unwrap();
        let b = &parsed["tenants"].as_array().unwrap()[1];
        assert!(b["policy"].get("m365_writeback").is_none(), "{replaced}");
        assert_eq!(b["tenant_id"].as_str(), Some("x"));
        assert!(parsed["notify"].is_array(), "{replaced}");

        let e = with_tenant_policy(FLEET, "c", table, false).unwrap_err();
        assert!(e.contains("no [[tenants]] entry named \"c\""), "{e}");
    }

    const A: &str = "0b1f5a6e-1111-4c1e-9e4f-00000000000a";

    #[test]
    fn the_file_is_a_policy_that_names_each_group_and_reads_back() {
        let b = Baseline {
            new_m365_default: Some(true),
            allow: vec![(A.into(), "Finance \"core\"\nteam".into(), "microsoft365")],
            cannot_allow: vec!["the sync engine: v1".into()],
        };
        let text = b.toml("tenant t at emulator", "2026-12-02T00:00:00Z");
        assert!(text.contains(&format!(
            "  \"{A}\", # Finance \"core\" team (microsoft365)\n"
        )));
        assert!(text.contains("# Not accepted by allow: the sync engine: v1"));
        #[derive(serde::Deserialize)]
        struct File {
            policy: Policy,
        }
        let read: File = toml::from_str(&text).expect("the baseline is a config file");
        assert_eq!(read.policy.new_m365_default, Some(true));
        assert_eq!(read.policy.allow, [A]);
        assert_eq!(read.policy.m365_writeback, Rule::Disabled);
        assert!(
            read.policy.exceptions.is_empty(),
            "the exception is a commented template"
        );
    }
}
