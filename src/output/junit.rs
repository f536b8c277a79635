//! JUnit XML (`check -o junit`): drift in CI systems' test tabs (GitHub Actions, Azure
//! DevOps, GitLab). A renderer of the check's document (`doc::check`).

use std::io::Write;

use crate::doc::check::Comparison;
use crate::writeback::policy::{Drift, DriftTarget, Policy};

/// Text for XML: the five entities escaped, and the control characters XML 1.0 cannot carry
/// (even as entities) replaced, so any group name makes a well-formed file.
fn xml(s: &str) -> String {
    let carried: String = s
        .chars()
        .map(|c| match c {
            '\t' | '\n' | '\r' => c,
            c if (c as u32) < 0x20 || c == '\u{fffe}' || c == '\u{ffff}' => '\u{fffd}',
            c => c,
        })
        .collect();
    super::markup(&carried)
}

/// `check -o junit`: one test suite for the tenant; one test case per policy rule that is
/// checked (failing when anything drifted from it) and one per drifted group (failing, with
/// expected and actual); excepted groups as skipped test cases with their reason. CI systems
/// (GitHub Actions, Azure DevOps, GitLab) show it in their test tabs.
pub(crate) fn write_check(
    out: &mut dyn Write,
    suite: &str,
    policy: &Policy,
    c: &Comparison,
) -> std::io::Result<()> {
    let (mut cases, mut failures) = junit_rule_cases(policy, c);
    failures += junit_group_cases(c, &mut cases);
    writeln!(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>")?;
    writeln!(
        out,
        "<testsuites name=\"gwb check\" tests=\"{}\" failures=\"{failures}\">",
        cases.len()
    )?;
    writeln!(
        out,
        "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{failures}\" skipped=\"{}\" timestamp=\"{}\">",
        xml(suite),
        cases.len(),
        c.excepted.len(),
        crate::clock::this_run_started()
    )?;
    for case in &cases {
        writeln!(out, "{case}")?;
    }
    writeln!(out, "  </testsuite>")?;
    writeln!(out, "</testsuites>")?;
    out.flush()
}

/// One JUnit test case per policy rule checked (failing when anything drifted from it), and
/// how many failed.
fn junit_rule_cases(policy: &Policy, c: &Comparison) -> (Vec<String>, usize) {
    use crate::writeback::Kind;
    use crate::writeback::policy::Rule;
    let mut cases: Vec<String> = Vec::new();
    let mut failures = 0usize;
    let mut rule = |name: String, failed: Vec<&Drift>| {
        let body = if failed.is_empty() {
            String::new()
        } else {
            failures += 1;
            format!(
                "\n      <failure type=\"drift\" message=\"{} drifted\">{}</failure>\n    ",
                failed.len(),
                xml(&failed
                    .iter()
                    .map(|d| format!(
                        "{} {}: expected {}, actual {}",
                        d.id.as_deref().unwrap_or(""),
                        d.display_name.as_deref().unwrap_or(""),
                        d.expected,
                        d.actual
                    ))
                    .collect::<Vec<_>>()
                    .join("\n"))
            )
        };
        cases.push(format!(
            "    <testcase classname=\"gwb.policy\" name=\"{}\">{body}</testcase>",
            xml(&name)
        ));
    };
    let of_kind = |k: Kind| {
        c.drift
            .iter()
            .filter(|d| d.kind == Some(k))
            .collect::<Vec<_>>()
    };
    if policy.m365_writeback != Rule::Any {
        let mut d = of_kind(Kind::Microsoft365);
        d.extend(
            c.drift
                .iter()
                .filter(|d| d.target == DriftTarget::SyncEngine),
        );
        rule("m365_writeback = disabled".into(), d);
    }
    if policy.security_writeback != Rule::Any {
        rule(
            "security_writeback = disabled".into(),
            of_kind(Kind::Security),
        );
    } else if policy.security_writeback_needs_cloud_sync {
        rule(
            "security_writeback_needs_cloud_sync = true".into(),
            of_kind(Kind::Security),
        );
    }
    if let Some(want) = policy.new_m365_default {
        let d: Vec<&Drift> = c
            .drift
            .iter()
            .filter(|d| d.target == DriftTarget::TenantDefault)
            .collect();
        rule(format!("new_m365_default = {want}"), d);
    }
    (cases, failures)
}

/// One JUnit test case per drifted group (failing) and per excepted item (skipped), added to
/// `cases`; how many failed.
fn junit_group_cases(c: &Comparison, cases: &mut Vec<String>) -> usize {
    let mut failures = 0;
    for d in c.drift.iter().filter(|d| d.target == DriftTarget::Group) {
        failures += 1;
        cases.push(format!(
            "    <testcase classname=\"gwb.group\" name=\"{} ({})\">\n      <failure type=\"drift\" message=\"expected {}, actual {}\">expected: {}\nactual: {}</failure>\n    </testcase>",
            xml(d.display_name.as_deref().unwrap_or("")),
            xml(d.id.as_deref().unwrap_or("")),
            xml(&d.expected),
            xml(&d.actual),
            xml(&d.expected),
            xml(&d.actual)
        ));
    }
    for x in &c.excepted {
        cases.push(format!(
            "    <testcase classname=\"gwb.group\" name=\"{} ({})\">\n      <skipped message=\"excepted: {}{}\"/>\n    </testcase>",
            xml(x.drift.display_name.as_deref().unwrap_or("")),
            xml(x.drift.id.as_deref().unwrap_or(x.drift.target.as_str())),
            xml(&x.reason),
            xml(&x.expires.as_deref().map(|e| format!(", until {e}")).unwrap_or_default())
        ));
    }
    failures
}
