//! The one code path that applies planned writeback changes, shared by
//! `disable-existing-m365` and `restore`: guard, consent, journal, batched PATCHes, outcomes.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::cli::ApplyArgs;
use crate::doc::ItemFailure;
use crate::error::UsageError;
use crate::graph::GraphClient;
use crate::graph::batch::{self, BatchOptions, ItemError, ItemOutcome};
use crate::graph::groups::GroupRead;
use crate::graph::model::guid_bits;
use crate::graph::model::{Group, GroupId, WritebackConfiguration};
use crate::graph::pace::Pacer;
use crate::journal::{GroupResult, Journal};
use crate::output;
use crate::writeback::plan::{Change, SkipReason, Skipped, Unaddressable};

impl ItemFailure {
    pub(crate) fn new(c: &Change, e: &ItemError) -> Self {
        ItemFailure {
            id: c.id.to_string(),
            display_name: c.display_name.clone(),
            status: e.status,
            code: e.code.clone(),
            message: e.message.clone(),
            request_id: e.request_id.clone(),
        }
    }
}

/// What applying a plan did.
#[derive(Debug, Default)]
pub struct Applied {
    /// Ids of the groups changed.
    pub changed: Vec<String>,
    pub deleted: Vec<ItemFailure>,
    pub failed: Vec<ItemFailure>,
    /// Left alone: read right before the write, they had changed, or needed no change.
    pub skipped: Vec<Skipped>,
    /// Interrupted (Ctrl-C, SIGTERM): the signal, when the run stopped early.
    pub signal: Option<i32>,
    /// Interrupted: writes sent at least once that got no final answer (journaled as
    /// `interrupted`; each may or may not have been carried out).
    pub unconfirmed: Vec<String>,
    /// Interrupted: planned changes never sent.
    pub not_sent: u64,
}

impl Applied {
    /// The exit code for what was applied: 4 when Graph refused gwb's token for an item (401),
    /// or refused every item it answered for lack of permission (403), as the README promises
    /// for authentication failures; 1 for any other failed item; else 0.
    pub(crate) fn exit_status(&self) -> crate::error::ExitStatus {
        exit_for_failures(&self.failed, !self.changed.is_empty())
    }
}

/// See [`Applied::exit_status`].
pub(crate) fn exit_for_failures(
    failed: &[ItemFailure],
    any_changed: bool,
) -> crate::error::ExitStatus {
    if failed.iter().any(|f| f.status == 401)
        || (!failed.is_empty() && !any_changed && failed.iter().all(|f| f.status == 403))
    {
        crate::error::ExitStatus::Auth
    } else if failed.is_empty() {
        crate::error::ExitStatus::Ok
    } else {
        crate::error::ExitStatus::Failure
    }
}

/// The seconds flags, checked when the command starts, before anything is read or created.
pub(crate) fn check_args(args: &ApplyArgs) -> Result<(), UsageError> {
    super::seconds("--write-window", args.write_window, false)?;
    super::verify_timeout(args.verify_timeout)?;
    Ok(())
}

fn pacer(args: &ApplyArgs) -> anyhow::Result<Arc<Pacer>> {
    let window = super::seconds("--write-window", args.write_window, false)?;
    Ok(Arc::new(Pacer::new(args.write_limit, window)))
}

/// Why Graph refuses a write to a role-assignable group, added to its 403.
pub(crate) const ROLE_ASSIGNABLE_403: &str = concat!(
    " (the group is role-assignable: Graph changes such groups only for an app that also holds ",
    "RoleManagement.ReadWrite.Directory", // crate::permissions::ROLE_ASSIGNABLE
    "; grant it, or see policy.role_assignable_drift for scheduled checks)"
);

/// How [`apply`] names a group it leaves alone, by why.
#[derive(Debug, Clone, Copy)]
pub struct SkipAs {
    /// Read right before the write, the group no longer holds the change's `before`: someone
    /// else changed it, and gwb does not overwrite what it cannot account for.
    pub changed: SkipReason,
    /// Read right before the write, the group already holds the change's `after`.
    pub already: SkipReason,
    /// Write only groups that are still cloud Microsoft 365 groups when read right before the
    /// write (what `disable-existing-m365` plans); any other is skipped as `notPlannable`,
    /// journaled, and fails the run (exit 1).
    pub only_cloud_m365: bool,
}

/// Apply every change as compare-and-set: each window of up to `concurrency` batches is read
/// again just before it is written (while the window before it is being written), so neither
/// the write nor the journal rests on a state more than a few seconds old. A group is written only while it still holds the change's `before`;
/// the PATCH carries the complete `after` (isEnabled and onPremisesGroupType), which equals the
/// state just read except for what the change changes. (Sending only `isEnabled` would rely on
/// Graph merging a partial complex property, which its reference does not state.) Each
/// before-state is journaled and synced before its batch goes out; a journal record that cannot
/// be written stops the run before any further write. A 404 on a write is confirmed with a read
/// before the group is called deleted. Finally the changed groups are read back (waiting out
/// Graph's read lag up to `--verify-timeout`), and those that do not show the change are failed.
pub async fn apply(
    client: &GraphClient,
    changes: &[Change],
    unaddressable: &[Unaddressable],
    journal: &Journal,
    args: &ApplyArgs,
    skip_as: SkipAs,
) -> anyhow::Result<Applied> {
    let pacer = pacer(args)?;
    let verify_timeout = super::verify_timeout(args.verify_timeout)?;
    let concurrency = usize::from(args.concurrency).max(1);
    let mut run = Run {
        journal,
        skip_as,
        applied: Applied::default(),
        not_found: Vec::new(),
        bar: output::paced_bar(
            (changes.len() + unaddressable.len()) as u64,
            "writing",
            Some(output::Pace {
                limit: args.write_limit,
                window: super::seconds("--write-window", args.write_window, false)?,
            }),
        ),
    };
    run.fail_unaddressable(unaddressable)?;
    let valid: Vec<&Change> = changes.iter().collect();
    // A window is never more than the pacer admits at once.
    let window_size = (batch::MAX_BATCH * concurrency)
        .min(args.write_limit as usize)
        .max(1);
    let windows: Vec<&[&Change]> = valid.chunks(window_size).collect();
    let ids_of = |w: &[&Change]| -> Vec<GroupId> { w.iter().map(|c| c.id.clone()).collect() };
    let opts = BatchOptions {
        concurrency,
        pacer: Some(pacer),
        stop: stop_asked,
    };
    // The next window's states, read while this window is written.
    let mut prefetched: Option<HashMap<GroupId, Current>> = None;
    for (w, &window) in windows.iter().enumerate() {
        let current = match prefetched.take() {
            Some(c) => c,
            None if run.stopped(valid.len() - w * window_size) => break,
            None => read_current_quiet(client, &ids_of(window)).await?,
        };
        if run.stopped(valid.len() - w * window_size) {
            break;
        }
        let writes = run.still_as_planned(window, &current)?;
        // The next window is read while this one is written, so reading costs no round trip
        // of its own; the state it is written from is then at most one window's writes old (a
        // few seconds at Graph's 20 writes/s).
        let next_ids = windows.get(w + 1).map(|n| ids_of(n));
        let next_read = async {
            match &next_ids {
                Some(ids) => read_current_quiet(client, ids).await.map(Some),
                None => Ok(None),
            }
        };
        if writes.is_empty() {
            prefetched = next_read.await?;
            continue;
        }
        let (written, next) = tokio::join!(run.write(client, &writes, &opts), next_read);
        written?;
        prefetched = next?;
    }
    run.bar.finish_and_clear();
    let mut applied = run.applied;
    if let Some(sig) = crate::interrupt::requested() {
        // Stop now: no confirming reads. What was written is reported as written; a rerun
        // finishes the job and checks every group again.
        applied.signal = Some(sig);
        for (c, e) in run.not_found {
            applied.failed.push(ItemFailure::new(&c, &e));
        }
        return Ok(applied);
    }
    confirm_not_found(client, journal, run.not_found, &mut applied).await?;
    read_back(client, changes, journal, verify_timeout, &mut applied).await?;
    Ok(applied)
}

/// One apply in progress: what it has done so far, and where it records it.
struct Run<'a> {
    journal: &'a Journal,
    skip_as: SkipAs,
    applied: Applied,
    /// Writes answered 404, confirmed with a read at the end before they are called deleted.
    not_found: Vec<(Change, ItemError)>,
    bar: indicatif::ProgressBar,
}

impl Run<'_> {
    /// Groups Graph listed with an id that is not a GUID go into no URL: each fails
    /// (journaled), the rest carry on.
    fn fail_unaddressable(&mut self, unaddressable: &[Unaddressable]) -> anyhow::Result<()> {
        for c in unaddressable {
            let e = ItemError {
                status: 0,
                code: "invalidId".into(),
                message: "Graph listed this group with an id that is not a GUID; gwb will not put it in a request".into(),
                request_id: None,
            };
            output::item_failed(&c.id, &e.message);
            self.journal
                .record_outcome(&c.id, GroupResult::Failed, Some(&e))
                .map_err(|io| journal_stop(self.journal, &io))?;
            self.applied.failed.push(ItemFailure {
                id: c.id.clone(),
                display_name: c.display_name.clone(),
                status: e.status,
                code: e.code,
                message: e.message,
                request_id: None,
            });
            self.bar.inc(1);
        }
        Ok(())
    }

    /// Ctrl-C or SIGTERM arrived: count the `unsent` changes left and stop.
    fn stopped(&mut self, unsent: usize) -> bool {
        match crate::interrupt::requested() {
            Some(sig) => {
                self.applied.signal = Some(sig);
                self.applied.not_sent += unsent as u64;
                true
            }
            None => false,
        }
    }

    /// Compare-and-set: the changes of `window` whose group, as just read, still holds the
    /// planned before-state, each with the before-state as read. The others are skipped,
    /// counted as deleted, or failed.
    fn still_as_planned(
        &mut self,
        window: &[&Change],
        current: &HashMap<GroupId, Current>,
    ) -> anyhow::Result<Vec<Change>> {
        let mut writes = Vec::with_capacity(window.len());
        for &c in window {
            let skip = |reason| Skipped {
                id: c.id.to_string(),
                display_name: c.display_name.clone(),
                reason,
                note: None,
            };
            match current.get(&c.id) {
                Some(Current::Found(_, shape))
                    if self.skip_as.only_cloud_m365 && !shape.cloud_m365 =>
                {
                    tracing::warn!(
                        group = %c.id,
                        "the group is not a cloud Microsoft 365 group now; leaving it alone"
                    );
                    self.journal
                        .record_outcome(c.id.as_str(), GroupResult::NotPlannable, None)
                        .map_err(|io| journal_stop(self.journal, &io))?;
                    self.applied.skipped.push(skip(SkipReason::NotPlannable));
                }
                Some(Current::Found(now, _)) if same_state(now, &c.after) => {
                    self.applied.skipped.push(skip(self.skip_as.already));
                }
                Some(Current::Found(now, _)) if !same_state(now, &c.before) => {
                    tracing::warn!(
                        group = %c.id,
                        "the group changed since gwb read it; leaving it alone"
                    );
                    self.applied.skipped.push(skip(self.skip_as.changed));
                }
                Some(Current::Found(now, _)) => {
                    writes.push(Change {
                        before: now.clone(),
                        ..c.clone()
                    });
                    continue;
                }
                Some(Current::Deleted(e)) => self.applied.deleted.push(ItemFailure::new(c, e)),
                Some(Current::Unreadable(e)) => {
                    output::item_failed(
                        c.id.as_str(),
                        &format!("could not read the group before changing it: {e}"),
                    );
                    self.applied.failed.push(ItemFailure::new(c, e));
                }
                None => {
                    let e = ItemError {
                        status: 0,
                        code: "noAnswer".into(),
                        message: "no answer when reading the group before changing it".into(),
                        request_id: None,
                    };
                    self.applied.failed.push(ItemFailure::new(c, &e));
                }
            }
            self.bar.inc(1);
        }
        Ok(writes)
    }

    /// PATCH `writes` in `$batch`es. Each batch's before-states are journaled (and synced)
    /// before it is sent; a journal that cannot record an outcome sends nothing more.
    async fn write(
        &mut self,
        client: &GraphClient,
        writes: &[Change],
        opts: &BatchOptions,
    ) -> anyhow::Result<()> {
        // Permits are taken per batch right before it is sent (inside patch_writeback), not before
        // the read: Graph counts a write when it arrives, so a permit taken a read earlier
        // would let two windows' writes land within one of Graph's windows.
        let journal = self.journal;
        let journal_error: Mutex<Option<std::io::Error>> = Mutex::new(None);
        client
            .groups()
            .patch_writeback(
                writes.len(),
                |key| (&writes[key].id, &writes[key].after),
                opts,
                |keys| {
                    if let Some(e) = journal_error.lock().expect("lock").as_ref() {
                        return Err(std::io::Error::new(e.kind(), e.to_string()));
                    }
                    let cs: Vec<&Change> = keys.iter().map(|&k| &writes[k]).collect();
                    journal.record_before(&cs)
                },
                |key, outcome| {
                    let c = &writes[key];
                if let Some((result, err)) = self.outcome(c, &outcome)
                    && let Err(e) = journal.record_outcome(c.id.as_str(), result, err)
                {
                    journal_error.lock().expect("lock").get_or_insert(e);
                }
                self.bar.inc(1);
            },
        )
        .await
        .map_err(|e| {
            e.context(format!(
                "stopped before the next write; every group that may have been changed is in journal {} (undo with gwb restore --journal {})",
                journal.path().display(),
                journal.path().display()
            ))
        })?;
        match journal_error.into_inner().expect("lock") {
            Some(e) => Err(journal_stop(journal, &e)),
            None => Ok(()),
        }
    }

    /// Count one write's answer; what to journal for it (nothing for a write never sent).
    fn outcome<'o>(
        &mut self,
        c: &Change,
        outcome: &'o ItemOutcome,
    ) -> Option<(GroupResult, Option<&'o ItemError>)> {
        Some(match outcome {
            ItemOutcome::Ok { .. } => {
                self.applied.changed.push(c.id.to_string());
                (GroupResult::Changed, None)
            }
            ItemOutcome::Failed(e) if e.status == 404 => {
                self.not_found.push((c.clone(), e.clone()));
                (GroupResult::NotFound, Some(e))
            }
            ItemOutcome::Failed(e) => {
                output::item_failed(c.id.as_str(), &format!("failed: {e}"));
                let mut f = ItemFailure::new(c, e);
                if e.status == 403 && c.role_assignable {
                    f.message.push_str(ROLE_ASSIGNABLE_403);
                }
                self.applied.failed.push(f);
                (GroupResult::Failed, Some(e))
            }
            ItemOutcome::Stopped { sent: true } => {
                self.applied.unconfirmed.push(c.id.to_string());
                (GroupResult::Interrupted, None)
            }
            ItemOutcome::Stopped { sent: false } => {
                self.applied.not_sent += 1;
                return None;
            }
        })
    }
}

/// The error that ends a run whose journal cannot be written.
fn journal_stop(journal: &Journal, e: &std::io::Error) -> anyhow::Error {
    anyhow::Error::new(crate::journal::JournalWriteError {
        path: journal.path().to_path_buf(),
        detail: e.to_string(),
    })
}

/// A 404 on a write is a deletion only if a read says so too: a 404 with another cause (a
/// segment Graph did not recognise, a replica behind) on a group that exists is a failure.
async fn confirm_not_found(
    client: &GraphClient,
    journal: &Journal,
    not_found: Vec<(Change, ItemError)>,
    applied: &mut Applied,
) -> anyhow::Result<()> {
    if not_found.is_empty() {
        return Ok(());
    }
    let ids: Vec<GroupId> = not_found.iter().map(|(c, _)| c.id.clone()).collect();
    let current = read_current_quiet(client, &ids).await?;
    for (c, e) in not_found {
        let (result, failure) = match current.get(&c.id) {
            Some(Current::Deleted(_)) => {
                applied.deleted.push(ItemFailure::new(&c, &e));
                (GroupResult::DeletedMeanwhile, None)
            }
            _ => {
                let e = ItemError {
                    message: format!(
                        "{} (Graph answered 404 to the write, but the group can still be read: not deleted, not changed)",
                        e.message
                    ),
                    ..e
                };
                output::item_failed(c.id.as_str(), &e.message);
                applied.failed.push(ItemFailure::new(&c, &e));
                (GroupResult::Failed, Some(e))
            }
        };
        journal
            .record_outcome(c.id.as_str(), result, failure.as_ref())
            .map_err(|io| journal_stop(journal, &io))?;
    }
    Ok(())
}

/// Read the changed groups back; wait out Graph's read lag (reading again while some do not
/// show the change yet, up to `timeout`), then fail those that still do not: a 2xx is not proof
/// that a change took.
async fn read_back(
    client: &GraphClient,
    changes: &[Change],
    journal: &Journal,
    timeout: Duration,
    applied: &mut Applied,
) -> anyhow::Result<()> {
    if applied.changed.is_empty() {
        return Ok(());
    }
    // Memory stays small at a million groups: the changes are found by index, the groups still
    // waiting are indices, and each read keeps only the states of groups that do not show
    // their change yet (normally none).
    // (id's 128 bits, index), sorted: 20 bytes a change. Every id applied is a GUID.
    let mut index: Vec<(u128, u32)> = changes
        .iter()
        .enumerate()
        .filter_map(|(i, c)| Some((guid_bits(c.id.as_str())?, u32::try_from(i).ok()?)))
        .collect();
    index.sort_unstable();
    let find = |id: &str| -> Option<usize> {
        let bits = guid_bits(id)?;
        let k = index.binary_search_by_key(&bits, |e| e.0).ok()?;
        Some(index[k].1 as usize)
    };
    let shows = |cur: &Current, id: &GroupId| {
        matches!(cur, Current::Found(now, _)
            if find(id.as_str()).is_some_and(|i| same_state(now, &changes[i].after)))
    };
    let waiting: Vec<u32> = applied
        .changed
        .iter()
        .filter_map(|id| find(id).and_then(|i| u32::try_from(i).ok()))
        .collect();
    // Each read asks only for the groups that did not show the change on the read before: by
    // id (20 per `$batch`) for a few, by paging the whole listing (999 per request) for many,
    // whichever costs Graph fewer requests and resource units.
    let waiting = std::cell::RefCell::new(waiting);
    let last: HashMap<GroupId, Current> =
        super::pipeline::read_back(client.sleeper(), timeout, || async {
            let now: Vec<u32> = waiting.borrow().clone();
            let lagging = if now.len() <= READ_BY_ID_AT_MOST {
                let ids: Vec<GroupId> = now
                    .iter()
                    .map(|&i| changes[i as usize].id.clone())
                    .collect();
                let mut all = read_current_quiet(client, &ids).await?;
                all.retain(|id, cur| !shows(cur, id));
                all
            } else {
                // Which changes are waiting, and which of them the listing had: a flag each.
                let mut wanted = vec![false; changes.len()];
                for &i in &now {
                    wanted[i as usize] = true;
                }
                let mut listed = vec![false; changes.len()];
                let mut lagging: HashMap<GroupId, Current> = HashMap::new();
                crate::graph::groups::for_each_listed(client, |g| {
                    if let Some(i) = find(&g.id).filter(|&i| wanted[i] && !listed[i]) {
                        listed[i] = true;
                        let cur = current_of(g);
                        let id = &changes[i].id;
                        if !shows(&cur, id) {
                            lagging.insert(id.clone(), cur);
                        }
                    }
                    Ok(())
                })
                .await?;
                for &i in &now {
                    if !listed[i as usize] {
                        lagging.insert(changes[i as usize].id.clone(), not_listed());
                    }
                }
                lagging
            };
            let mut w = waiting.borrow_mut();
            w.retain(|&i| lagging.contains_key(&changes[i as usize].id));
            Ok((lagging, w.len()))
        })
        .await?;
    let pending: Vec<String> = waiting
        .into_inner()
        .into_iter()
        .map(|i| changes[i as usize].id.to_string())
        .collect();
    if pending.is_empty() {
        return Ok(());
    }
    let not_shown = NotShown {
        changes,
        find: &find,
        last: &last,
        timeout,
    };
    not_shown.record(&pending, journal, applied)
}

/// The changes Graph accepted that never showed in a read-back, and what the last read saw.
struct NotShown<'a> {
    changes: &'a [Change],
    find: &'a dyn Fn(&str) -> Option<usize>,
    last: &'a HashMap<GroupId, Current>,
    timeout: Duration,
}

impl NotShown<'_> {
    /// Each `pending` change failed as `notApplied`: said, journaled, counted.
    fn record(
        &self,
        pending: &[String],
        journal: &Journal,
        applied: &mut Applied,
    ) -> anyhow::Result<()> {
        let NotShown {
            changes,
            find,
            last,
            timeout,
        } = *self;
        let pending_set: std::collections::HashSet<&str> =
            pending.iter().map(String::as_str).collect();
        applied
            .changed
            .retain(|id| !pending_set.contains(id.as_str()));
        for id in pending {
            let Some(c) = find(id).map(|i| &changes[i]) else {
                continue;
            };
            let shows = match last.get(&c.id) {
                Some(Current::Found(now, _)) => format!(
                    "isEnabled={} type={}",
                    now.is_enabled.map_or("null".into(), |b| b.to_string()),
                    now.on_premises_group_type.as_deref().unwrap_or("null")
                ),
                Some(Current::Deleted(_)) => "no group (deleted)".into(),
                Some(Current::Unreadable(e)) => format!("an unreadable answer ({e})"),
                None => "nothing".into(),
            };
            let e = ItemError {
                status: 0,
                code: "notApplied".into(),
                message: format!(
                    "Graph accepted the write, but after {} s of reading back the group shows {shows}; the change did not take (or Graph's reads still lag: check again with gwb report)",
                    timeout.as_secs_f64()
                ),
                request_id: None,
            };
            output::item_failed(c.id.as_str(), &e.message);
            journal
                .record_outcome(c.id.as_str(), GroupResult::NotApplied, Some(&e))
                .map_err(|io| journal_stop(journal, &io))?;
            applied.failed.push(ItemFailure::new(c, &e));
        }
        Ok(())
    }
}

/// Read back by id up to this many changes; by listing beyond.
const READ_BY_ID_AT_MOST: usize = 200;

/// A listed group's state, as a read-back sees it.
fn current_of(g: &Group) -> Current {
    match g.writeback() {
        Some(w) => Current::Found(w, Shape::of(g)),
        None => Current::Unreadable(ItemError {
            status: 200,
            code: "malformedGroup".into(),
            message: "the group came back without writebackConfiguration".into(),
            request_id: None,
        }),
    }
}

/// A group the listing did not have.
fn not_listed() -> Current {
    Current::Deleted(ItemError {
        status: 404,
        code: "Request_ResourceNotFound".into(),
        message: "not in the group listing".into(),
        request_id: None,
    })
}

/// The current state of a group, read again before changing it.
#[derive(Debug, Clone)]
pub(crate) enum Current {
    /// The group's current `writebackConfiguration`, and what else a write depends on (only
    /// that is kept: memory stays small).
    Found(WritebackConfiguration, Shape),
    Deleted(ItemError),
    Unreadable(ItemError),
}

/// What a write depends on besides the writeback state: whether the group is still one that
/// `disable-existing-m365` plans, and its name now (a review's names are compared with it).
#[derive(Debug, Clone, Default)]
pub(crate) struct Shape {
    /// A Microsoft 365 group mastered in the cloud (`groupTypes`, `securityEnabled`,
    /// `mailEnabled` and `onPremisesSyncEnabled` as read now).
    pub cloud_m365: bool,
    pub display_name: Option<String>,
}

impl Shape {
    fn of(g: &Group) -> Shape {
        use crate::writeback::{Kind, classify, is_synced_from_on_premises};
        Shape {
            cloud_m365: classify(g) == Kind::Microsoft365 && !is_synced_from_on_premises(g),
            display_name: g.display_name.clone(),
        }
    }
}

/// Read the current state of `ids` (20 per `$batch`), with a progress bar.
pub(crate) async fn read_current(
    client: &GraphClient,
    ids: &[GroupId],
) -> anyhow::Result<HashMap<GroupId, Current>> {
    read_current_with(client, ids, true).await
}

/// [`read_current`] without a progress bar (inside another operation's bar).
async fn read_current_quiet(
    client: &GraphClient,
    ids: &[GroupId],
) -> anyhow::Result<HashMap<GroupId, Current>> {
    read_current_with(client, ids, false).await
}

async fn read_current_with(
    client: &GraphClient,
    ids: &[GroupId],
    show: bool,
) -> anyhow::Result<HashMap<GroupId, Current>> {
    let opts = BatchOptions {
        concurrency: 4,
        pacer: None,
        stop: stop_asked,
    };
    let bar = if show {
        output::progress_bar(ids.len() as u64, "reading")
    } else {
        indicatif::ProgressBar::hidden()
    };
    let read = client.groups().read_writeback(ids, &opts, &bar).await?;
    Ok(read
        .into_iter()
        .map(|(key, r)| {
            let cur = match r {
                GroupRead::Found(g) => {
                    Current::Found(g.writeback().unwrap_or_default(), Shape::of(&g))
                }
                GroupRead::Deleted(e) => Current::Deleted(e),
                GroupRead::Unreadable(e) => Current::Unreadable(e),
            };
            (ids[key].clone(), cur)
        })
        .collect())
}

/// Compare writeback states the way Graph stores them.
pub(crate) fn same_state(a: &WritebackConfiguration, b: &WritebackConfiguration) -> bool {
    a.is_enabled == b.is_enabled
        && a.on_premises_group_type
            .as_deref()
            .map(str::to_ascii_lowercase)
            == b.on_premises_group_type
                .as_deref()
                .map(str::to_ascii_lowercase)
}

/// The stop a writing run's batches ask about: Ctrl-C or SIGTERM came.
fn stop_asked() -> bool {
    crate::interrupt::requested().is_some()
}
