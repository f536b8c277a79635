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

/// One test suite: a tenant checked against its policy. The document a JUnit file is made
/// of: `check -o junit` writes one, a fleet's one file a suite per tenant.
#[derive(Debug, Clone)]
pub(crate) struct Suite {
    pub name: String,
    pub tests: usize,
    pub failures: usize,
    /// 1 for a tenant whose run failed (its one test case is an error).
    pub errors: usize,
    skipped: usize,
    /// The test cases, as XML.
    cases: Vec<String>,
}

impl Suite {
    /// The check of one tenant: one test case per policy rule that is checked (failing when
    /// anything drifted from it) and one per drifted group (failing, with expected and
    /// actual); excepted groups as skipped test cases with their reason.
    pub(crate) fn of_check(name: &str, policy: &Policy, c: &Comparison) -> Suite {
        let (mut cases, mut failures) = junit_rule_cases(policy, c);
        failures += junit_group_cases(c, &mut cases);
        Suite {
            name: name.to_string(),
            tests: cases.len(),
            failures,
            errors: 0,
            skipped: c.excepted.len(),
            cases,
        }
    }

    /// A tenant whose run failed before it could be checked: one test case in error.
    pub(crate) fn of_error(name: &str, exit_code: u8, message: &str) -> Suite {
        Suite {
            name: name.to_string(),
            tests: 1,
            failures: 0,
            errors: 1,
            skipped: 0,
            cases: vec![format!(
                "    <testcase classname=\"gwb.fleet\" name=\"{n}\">\n      <error type=\"exit {exit_code}\" message=\"{m}\"/>\n    </testcase>",
                n = xml(name),
                m = xml(message)
            )],
        }
    }

    /// A suite of `tests` cases, `failures` of them failing (for tests of what holds suites).
    #[cfg(test)]
    pub(crate) fn counted(name: &str, tests: usize, failures: usize) -> Suite {
        Suite {
            name: name.to_string(),
            tests,
            failures,
            errors: 0,
            skipped: 0,
            cases: (0..tests)
                .map(|i| format!("    <testcase classname=\"gwb.policy\" name=\"rule {i}\"/>"))
                .collect(),
        }
    }

    /// The suite named `prefix` + its name (a fleet names each by its tenant).
    pub(crate) fn named(mut self, prefix: &str) -> Suite {
        self.name = format!("{prefix}{}", self.name);
        self
    }

    pub(crate) fn write(&self, out: &mut dyn Write) -> std::io::Result<()> {
        if self.errors > 0 {
            writeln!(
                out,
                "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\">",
                xml(&self.name),
                self.tests,
                self.failures,
                self.errors
            )?;
        } else {
            writeln!(
                out,
                "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" skipped=\"{}\" timestamp=\"{}\">",
                xml(&self.name),
                self.tests,
                self.failures,
                self.skipped,
                crate::clock::this_run_started()
            )?;
        }
        for case in &self.cases {
            writeln!(out, "{case}")?;
        }
        writeln!(out, "  </testsuite>")
    }
}

/// `check -o junit`: the tenant's one suite. CI systems (GitHub Actions, Azure DevOps,
/// GitLab) show it in their test tabs.
pub(crate) fn write_suite(out: &mut dyn Write, s: &Suite) -> std::io::Result<()> {
    writeln!(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>")?;
    writeln!(
        out,
        "<testsuites name=\"gwb check\" tests=\"{}\" failures=\"{}\">",
        s.tests, s.failures
    )?;
    s.write(out)?;
    close(out)
}

/// A fleet's one JUnit file opens with the fleet's totals (tests, failures, errors), summed
/// over its suites; the suites follow ([`Suite::write`]), then [`close`].
pub(crate) fn open_fleet(
    out: &mut dyn Write,
    title: &str,
    totals: (usize, usize, usize),
) -> std::io::Result<()> {
    let (tests, failures, errors) = totals;
    writeln!(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>")?;
    writeln!(
        out,
        "<testsuites name=\"{}\" tests=\"{tests}\" failures=\"{failures}\" errors=\"{errors}\">",
        xml(title)
    )
}

pub(crate) fn close(out: &mut dyn Write) -> std::io::Result<()> {
    writeln!(out, "</testsuites>")
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
