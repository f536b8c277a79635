//! `check -o ndjson` and `-o csv` without `--fix`: each drift item is written as the listing
//! finds it, so memory does not grow with the tenant. What is kept is what the next run needs:
//! each item's id and name for the run state (about 100 bytes an item, for drift only).
//!
//! The lines are the same as the whole check prints (the drift as checked, in the listing's
//! order, the tenant default last, excepted items left out). Not streamed: `--fix` (its lines
//! are the drift left after fixing), and a check that notifies (the notification carries every
//! new and persisting item).

use std::collections::{HashMap, HashSet};
use std::io::Write;

use super::Memory;
use crate::change::Context;
use crate::cli::{CheckArgs, OutputFormat};
use crate::error::ExitStatus;
use crate::output::check::drift_row;
use crate::writeback::history::{Seen, key};
use crate::writeback::policy::{Drift, Exception, Policy, PolicyChecker, exception_in_force};

/// Whether this check streams its items.
pub(super) fn wanted(
    args: &CheckArgs,
    format: OutputFormat,
    notify: &[crate::notify::Destination],
) -> bool {
    !args.fix && matches!(format, OutputFormat::Ndjson | OutputFormat::Csv) && notify.is_empty()
}

/// Writes each drift item as found, and counts.
struct Items<'a> {
    out: &'a mut dyn Write,
    format: OutputFormat,
    exceptions: &'a [Exception],
    today: String,
    /// The last run's drift: each item's key and when it was first seen.
    previous: HashMap<String, Option<String>>,
    /// This run's time: a new item's `firstSeen`.
    at: String,
    /// This run's drift, as the run state keeps it.
    seen: Vec<Seen>,
    new: u64,
    persisting: u64,
    excepted: u64,
    /// Drift on role-assignable groups (counted, whether reported apart or not).
    privileged: u64,
}

impl Items<'_> {
    fn item(&mut self, d: Drift) -> std::io::Result<()> {
        if exception_in_force(self.exceptions, &d, &self.today).is_some() {
            self.excepted += 1;
            return Ok(());
        }
        if d.role_assignable {
            self.privileged += 1;
        }
        let mut d = d;
        match self.previous.get(&key(d.target, d.id.as_deref())) {
            Some(first) => {
                self.persisting += 1;
                d.first_seen = first.clone();
            }
            None => {
                self.new += 1;
                d.first_seen = Some(self.at.clone());
            }
        }
        if self.format == OutputFormat::Csv {
            crate::output::write_csv_line(self.out, drift_row(&d).iter().map(String::as_str))?;
        } else {
            serde_json::to_writer(&mut *self.out, &d)?;
            self.out.write_all(b"\n")?;
        }
        self.seen.push(Seen::of(&d));
        Ok(())
    }

    /// Every item the checker holds now.
    fn take(&mut self, checker: &mut PolicyChecker) -> std::io::Result<()> {
        for d in checker.drift.drain(..) {
            self.item(d)?;
        }
        // Role-assignable drift reported apart is not in these lines (as in the whole check).
        self.privileged += checker.privileged.len() as u64;
        checker.privileged.clear();
        Ok(())
    }
}

impl Items<'_> {
    /// What was found, logged and recorded for `--metrics-file`.
    fn record(&self, resolved: usize, groups_checked: u64) {
        tracing::info!(
            new = self.new,
            persisting = self.persisting,
            resolved,
            excepted = self.excepted,
            "checked {}",
            crate::output::table::groups(groups_checked)
        );
        crate::metrics::record("gwb_drift_items", &[("state", "new")], self.new as f64);
        crate::metrics::record(
            "gwb_drift_items",
            &[("state", "persisting")],
            self.persisting as f64,
        );
        crate::metrics::record(
            "gwb_drift_items",
            &[("state", "excepted")],
            self.excepted as f64,
        );
        crate::metrics::record("gwb_drift_items", &[("state", "resolved")], resolved as f64);
        crate::metrics::record(
            "gwb_groups_needing_privileged_permission",
            &[],
            self.privileged as f64,
        );
    }
}

pub(super) async fn run(
    ctx: &Context,
    policy: &Policy,
    memory: &Memory,
    out: &mut dyn Write,
) -> anyhow::Result<ExitStatus> {
    let client = &ctx.client;
    let today = crate::clock::now_rfc3339()[..10].to_string();
    let mut items = Items {
        out,
        format: ctx.format,
        exceptions: &policy.exceptions,
        today,
        previous: memory
            .previous
            .as_ref()
            .map(|s| {
                s.drift
                    .iter()
                    .map(|d| (d.key(), d.first_seen.clone()))
                    .collect()
            })
            .unwrap_or_default(),
        at: crate::clock::this_run_started(),
        seen: Vec::new(),
        new: 0,
        persisting: 0,
        excepted: 0,
        privileged: 0,
    };
    if ctx.format == OutputFormat::Csv {
        crate::output::csv_start(items.out)?;
        writeln!(
            items.out,
            "{}",
            crate::output::check::DRIFT_COLUMNS.join(",")
        )?;
    }
    let (checker, _) = super::policy_checker(client, policy).await?;
    let settings = super::policy_settings(client, policy);
    let groups = async {
        let mut checker = checker;
        super::super::read::each_group(client, |g| {
            checker.consider(g)?;
            items.take(&mut checker)?;
            Ok(())
        })
        .await?;
        anyhow::Ok(checker)
    };
    let (checker, settings) = tokio::join!(groups, settings);
    let mut checker = checker?;
    if let Some(s) = settings? {
        let tenant = super::check_default(&mut checker, &s);
        items.take(&mut checker)?;
        crate::metrics::record_tenant_default(tenant.new_unified_group_writeback_default);
    }
    items.out.flush()?;
    let found: HashSet<String> = items.seen.iter().map(Seen::key).collect();
    let resolved = items
        .previous
        .keys()
        .filter(|k| !found.contains(*k))
        .count();
    items.record(resolved, checker.groups_checked);
    super::record_oldest(
        items
            .seen
            .iter()
            .filter_map(|s| s.first_seen.as_deref())
            .min(),
    );
    super::record_exception_expiry(policy, &items.today);
    // The exceptions that expired, or expire soon, about what the listing held.
    let e =
        crate::writeback::policy::apply_exceptions(Vec::new(), &policy.exceptions, &items.today);
    let expiries: Vec<_> = e
        .expired
        .into_iter()
        .chain(e.expiring)
        .filter(|x| checker.applies(x))
        .collect();
    super::say_expiries(ctx, &expiries);
    Ok(items.keep(ctx, memory, resolved as u64, expiries))
}

impl Items<'_> {
    /// The run's exit code; the run kept in the state and its history, and handed to a fleet.
    fn keep(
        self,
        ctx: &Context,
        memory: &Memory,
        resolved: u64,
        expiries: Vec<crate::writeback::policy::Expiry>,
    ) -> ExitStatus {
        let status = if self.seen.is_empty() {
            ExitStatus::Ok
        } else {
            ExitStatus::Drift
        };
        let run = crate::writeback::history::RunRecord {
            at: self.at.clone(),
            command: "gwb check".into(),
            exit_code: status as u8,
            new: self.new,
            persisting: self.persisting,
            resolved,
            excepted: self.excepted,
            drift: self.seen.len() as u64,
            error: None,
        };
        if let Some(docs) = &ctx.documents {
            docs.check(crate::change::CheckNews {
                tally: crate::doc::check::Tally {
                    new: self.new,
                    persisting: self.persisting,
                    resolved,
                    excepted: self.excepted,
                    failed: 0,
                    oldest_first_seen: self.seen.iter().filter_map(|s| s.first_seen.clone()).min(),
                },
                trend: memory.trend(self.seen.len()),
                expiries,
            });
        }
        memory.keep_seen(&ctx.target, self.seen, run);
        status
    }
}
