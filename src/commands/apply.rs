//! The one code path that applies planned writeback changes, shared by
//! `disable-existing-m365` and `restore`: guard, consent, journal, batched PATCHes, outcomes.

use std::collections::HashMap;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use reqwest::Method;
use serde::Serialize;
use serde_json::json;

use crate::UsageError;
use crate::cli::ApplyArgs;
use crate::graph::GraphClient;
use crate::graph::batch::{self, BatchOptions, ItemError, ItemOutcome, SubRequest};
use crate::graph::model::{Group, WritebackConfiguration};
use crate::graph::pace::Pacer;
use crate::journal::{Journal, new_run_id};
use crate::output;
use crate::writeback::plan::{Change, is_guid};

/// A group that could not be changed, or was gone.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ItemFailure {
    pub id: String,
    pub display_name: Option<String>,
    pub status: u16,
    pub code: String,
    pub message: String,
    pub request_id: Option<String>,
}

impl ItemFailure {
    /// The failure as one line for people, with Graph's text made safe to print.
    pub fn line(&self) -> String {
        let text = format!(
            "{} {}: {} {}: {}{}",
            self.id,
            self.display_name.as_deref().unwrap_or(""),
            self.status,
            self.code,
            self.message,
            self.request_id
                .as_deref()
                .map(|r| format!(" (request-id: {r})"))
                .unwrap_or_default()
        );
        output::safe(&text).into_owned()
    }

    fn new(c: &Change, e: &ItemError) -> Self {
        ItemFailure {
            id: c.id.clone(),
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
}

impl Applied {
    /// The exit code for what was applied: 4 when Graph refused gwb's token for an item (401),
    /// or refused every item it answered for lack of permission (403), as the README promises
    /// for authentication failures; 1 for any other failed item; else 0.
    pub fn exit_status(&self) -> crate::ExitStatus {
        exit_for_failures(&self.failed, !self.changed.is_empty())
    }
}

/// See [`Applied::exit_status`].
pub fn exit_for_failures(failed: &[ItemFailure], any_changed: bool) -> crate::ExitStatus {
    if failed.iter().any(|f| f.status == 401)
        || (!failed.is_empty() && !any_changed && failed.iter().all(|f| f.status == 403))
    {
        crate::ExitStatus::Auth
    } else if failed.is_empty() {
        crate::ExitStatus::Ok
    } else {
        crate::ExitStatus::Failure
    }
}

/// Refuse a plan over `--max-changes`, or pacing flags that make no sense, before anything is
/// written (the journal included).
pub fn check_guard(args: &ApplyArgs, n: usize) -> Result<(), UsageError> {
    super::seconds("--write-window", args.write_window, false)?;
    match args.max_changes {
        Some(max) if n > max => Err(UsageError(format!(
            "the plan has {n} changes, more than --max-changes {max}; nothing was changed (review the plan with --dry-run, then raise the limit)"
        ))),
        _ => Ok(()),
    }
}

/// Ask on a terminal; without one, require `--yes`.
pub fn consent(args: &ApplyArgs, question: &str) -> anyhow::Result<()> {
    if args.yes {
        return Ok(());
    }
    if !(std::io::stdin().is_terminal() && std::io::stderr().is_terminal()) {
        return Err(UsageError(format!(
            "{question}: refusing without --yes, because no terminal is attached to ask; nothing was changed"
        ))
        .into());
    }
    if output::ask(&format!("{question}? [y/N] "))? {
        Ok(())
    } else {
        Err(UsageError("not confirmed; nothing was changed".into()).into())
    }
}

/// The journal for a run: `explicit`, else a new file in the state directory.
pub fn open_journal(
    explicit: Option<&Path>,
    state_dir: Option<&Path>,
    command: &str,
    target: &super::Target,
) -> anyhow::Result<Journal> {
    let run_id = new_run_id();
    let path: PathBuf = match (explicit, state_dir) {
        (Some(p), _) => p.to_path_buf(),
        (None, Some(d)) => d.join(format!("{command}-{run_id}.jsonl")),
        (None, None) => {
            return Err(UsageError(
                "no state directory for the journal (neither XDG_STATE_HOME nor HOME is set): give --journal PATH".into(),
            )
            .into());
        }
    };
    let j = Journal::create(
        &path,
        &run_id,
        command,
        &target.graph_root,
        target.tenant_id.as_deref(),
    )
    .map_err(|e| UsageError(format!("cannot create journal {}: {e}", path.display())))?;
    output::notice(&format!("journal {}", path.display()));
    Ok(j)
}

fn pacer(args: &ApplyArgs) -> anyhow::Result<Arc<Pacer>> {
    let window = super::seconds("--write-window", args.write_window, false)?;
    Ok(Arc::new(Pacer::new(args.write_limit, window)))
}

/// PATCH every change's `after` state, journaling each before-state first.
pub async fn apply(
    client: &GraphClient,
    changes: &[Change],
    journal: &Journal,
    args: &ApplyArgs,
) -> anyhow::Result<Applied> {
    for c in changes {
        if !is_guid(&c.id) {
            return Err(UsageError(format!(
                "{:?} is not a group id; refusing to use it in a request",
                c.id
            ))
            .into());
        }
    }
    let opts = BatchOptions {
        concurrency: usize::from(args.concurrency),
        pacer: Some(pacer(args)?),
    };
    let make = |key: usize| {
        let c = &changes[key];
        SubRequest {
            key,
            method: Method::PATCH,
            url: format!("/groups/{}", c.id),
            body: Some(json!({"writebackConfiguration": {
                "isEnabled": c.after.is_enabled,
                "onPremisesGroupType": c.after.on_premises_group_type,
            }})),
            headers: Vec::new(),
        }
    };
    let bar = output::progress_bar(changes.len() as u64, "writing");
    let mut applied = Applied::default();
    let journal_error: Mutex<Option<std::io::Error>> = Mutex::new(None);
    batch::run(
        client,
        (0..changes.len()).collect(),
        make,
        &opts,
        |chunk| {
            let cs: Vec<&Change> = chunk.iter().map(|r| &changes[r.key]).collect();
            journal.record_before(&cs)
        },
        |req, outcome| {
            let c = &changes[req.key];
            let (result, err) = match &outcome {
                ItemOutcome::Ok { .. } => {
                    applied.changed.push(c.id.clone());
                    ("changed", None)
                }
                ItemOutcome::Failed(e) if e.status == 404 => {
                    applied.deleted.push(ItemFailure::new(c, e));
                    ("deletedMeanwhile", Some(e))
                }
                ItemOutcome::Failed(e) => {
                    tracing::error!(group = %c.id, "failed: {e}");
                    applied.failed.push(ItemFailure::new(c, e));
                    ("failed", Some(e))
                }
            };
            if let Err(e) = journal.record_outcome(&c.id, result, err) {
                journal_error.lock().expect("lock").get_or_insert(e);
            }
            bar.inc(1);
        },
    )
    .await?;
    bar.finish_and_clear();
    if let Some(e) = journal_error.into_inner().expect("lock") {
        // Before-states were all synced; only an outcome line is missing.
        tracing::error!(
            "could not record every outcome in journal {}: {e}",
            journal.path().display()
        );
    }
    Ok(applied)
}

/// The current state of a group, read again before changing it.
#[derive(Debug, Clone)]
pub enum Current {
    /// The group's current `writebackConfiguration` (only that is kept: memory stays small).
    Found(WritebackConfiguration),
    Deleted(ItemError),
    Unreadable(ItemError),
}

/// Read the current state of `ids` (20 per `$batch`).
pub async fn read_current(
    client: &GraphClient,
    ids: &[String],
) -> anyhow::Result<HashMap<String, Current>> {
    for id in ids {
        if !is_guid(id) {
            return Err(UsageError(format!(
                "{id:?} is not a group id; refusing to use it in a request"
            ))
            .into());
        }
    }
    let make = |key: usize| SubRequest {
        key,
        method: Method::GET,
        url: format!(
            "/groups/{}?$select={}",
            ids[key],
            crate::graph::model::GROUP_SELECT
        ),
        body: None,
        headers: Vec::new(),
    };
    let opts = BatchOptions {
        concurrency: 4,
        pacer: None,
    };
    let mut out = HashMap::with_capacity(ids.len());
    let bar = output::progress_bar(ids.len() as u64, "reading");
    batch::run(
        client,
        (0..ids.len()).collect(),
        make,
        &opts,
        |_| Ok(()),
        |req, outcome| {
            let id = ids[req.key].clone();
            let cur = match outcome {
                ItemOutcome::Ok { body, .. } => match serde_json::from_value::<Group>(body) {
                    Ok(g) if g.writeback_configuration.is_some() => {
                        Current::Found(g.writeback().unwrap_or_default())
                    }
                    Ok(_) | Err(_) => Current::Unreadable(ItemError {
                        status: 200,
                        code: "malformedGroup".into(),
                        message: "the group came back without a readable writebackConfiguration"
                            .into(),
                        request_id: None,
                    }),
                },
                ItemOutcome::Failed(e) if e.status == 404 => Current::Deleted(e),
                ItemOutcome::Failed(e) => Current::Unreadable(e),
            };
            out.insert(id, cur);
            bar.inc(1);
        },
    )
    .await?;
    bar.finish_and_clear();
    Ok(out)
}

/// Compare writeback states the way Graph stores them.
pub fn same_state(a: &WritebackConfiguration, b: &WritebackConfiguration) -> bool {
    a.is_enabled == b.is_enabled
        && a.on_premises_group_type
            .as_deref()
            .map(str::to_ascii_lowercase)
            == b.on_premises_group_type
                .as_deref()
                .map(str::to_ascii_lowercase)
}
