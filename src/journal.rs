//! The append-only record of every change gwb makes, for audit and restore.
//!
//! JSON lines, one file per run. Before a batch is written, each group's before-state is appended
//! and the file is synced to disk; each outcome is appended after. So whenever the process dies,
//! the journal names every group that may have been changed, with the state to restore. It holds
//! group ids, names and writeback states, never a token or a secret.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use crate::clock::now_rfc3339;
use crate::graph::batch::ItemError;
use crate::graph::model::GroupId;
use crate::graph::model::{SettingValue, WritebackConfiguration};
use crate::writeback::plan::Change;

pub(crate) const JOURNAL_SCHEMA_VERSION: u32 = 1;

/// What became of one group's write, as the journal records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum GroupResult {
    Changed,
    DeletedMeanwhile,
    Failed,
    /// Graph accepted the write, but a read-back never showed it.
    NotApplied,
    /// Graph answered 404, not yet confirmed by a read.
    NotFound,
    /// Sent, but the run was stopped (Ctrl-C, SIGTERM) before its final answer.
    Interrupted,
    /// Not sent: read right before the write, the group was no longer one the command plans
    /// (not a cloud Microsoft 365 group).
    NotPlannable,
}

impl GroupResult {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            GroupResult::Changed => "changed",
            GroupResult::DeletedMeanwhile => "deletedMeanwhile",
            GroupResult::Failed => "failed",
            GroupResult::NotApplied => "notApplied",
            GroupResult::NotFound => "notFound",
            GroupResult::Interrupted => "interrupted",
            GroupResult::NotPlannable => "notPlannable",
        }
    }

    /// Whether the write went out (and so may have changed the group).
    pub(crate) fn was_sent(self) -> bool {
        !matches!(
            self,
            GroupResult::DeletedMeanwhile | GroupResult::NotPlannable
        )
    }
}

impl PartialEq<&str> for GroupResult {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

/// What became of a write of the Group.Unified setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) enum SettingResult {
    Updated,
    Created,
    Deleted,
    /// A create refused because the setting exists (someone else's, or our own lost create).
    Conflict,
    Failed,
}

/// One journal line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub(crate) enum Record {
    #[serde(rename_all = "camelCase")]
    Run {
        schema_version: u32,
        run_id: String,
        command: String,
        graph_root: String,
        /// The tenant the token was for (its `tid` claim), when the token says.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        tenant_id: Option<String>,
        started_at: String,
        gwb_version: String,
        /// A restore: the runs it undoes ("disable-existing-m365 of 2026-12-01T10:00:00Z"),
        /// so that undoing the restore can say what it redoes.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        undoes: Vec<String>,
    },
    /// Written (and synced) before the group is changed.
    #[serde(rename_all = "camelCase")]
    Before {
        group_id: String,
        display_name: Option<String>,
        before: WritebackConfiguration,
        after: WritebackConfiguration,
        at: String,
    },
    #[serde(rename_all = "camelCase")]
    Outcome {
        group_id: String,
        result: GroupResult,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        status: Option<u16>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        code: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        message: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        request_id: Option<String>,
        at: String,
    },
    /// `set-default`: written (and synced) before the Group.Unified setting is changed.
    /// `before` is the whole previous values array, or None when the setting did not exist.
    #[serde(rename_all = "camelCase")]
    SettingBefore {
        setting_id: Option<String>,
        template_id: String,
        before: Option<Vec<SettingValue>>,
        after: Vec<SettingValue>,
        at: String,
    },
    #[serde(rename_all = "camelCase")]
    SettingOutcome {
        /// The setting written (for a create, the new setting's id).
        setting_id: Option<String>,
        result: SettingResult,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        status: Option<u16>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        message: Option<String>,
        at: String,
    },
    #[serde(rename_all = "camelCase")]
    End {
        at: String,
        summary: serde_json::Value,
        /// The signal that stopped the run early (after its writes in flight finished).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        interrupted: Option<String>,
    },
}

/// An open journal being written.
#[derive(Debug)]
pub struct Journal {
    path: PathBuf,
    run_id: String,
    file: Mutex<Appender>,
}

/// The file and whether its last append may have stopped mid-line.
#[derive(Debug)]
struct Appender {
    file: File,
    torn: bool,
}

/// A journal record that could not be written and synced: the run stops before its next write
/// (exit 1), because a change that is not recorded could not be undone.
#[derive(Debug, thiserror::Error)]
#[error(
    "cannot write journal {path}: {detail}; gwb sent no further writes. Free the space or fix the file system, then check the journal with gwb restore --journal {path} --dry-run"
)]
pub(crate) struct JournalWriteError {
    pub path: PathBuf,
    pub detail: String,
}

impl Journal {
    /// Create a new journal at `path` (never overwriting one), readable by its owner only, and
    /// write its run header.
    pub fn create(
        path: &Path,
        run_id: &str,
        command: &str,
        graph_root: &str,
        tenant_id: Option<&str>,
    ) -> std::io::Result<Journal> {
        Self::create_undoing(path, run_id, command, graph_root, tenant_id, &[])
    }

    /// [`Journal::create`] for a restore, recording the runs it undoes.
    pub(crate) fn create_undoing(
        path: &Path,
        run_id: &str,
        command: &str,
        graph_root: &str,
        tenant_id: Option<&str>,
        undoes: &[String],
    ) -> std::io::Result<Journal> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        let mut opts = OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        let file = opts.open(path)?;
        let j = Journal {
            path: path.to_path_buf(),
            run_id: run_id.to_string(),
            file: Mutex::new(Appender { file, torn: false }),
        };
        j.append(
            &[Record::Run {
                schema_version: JOURNAL_SCHEMA_VERSION,
                run_id: run_id.into(),
                command: command.into(),
                graph_root: graph_root.into(),
                tenant_id: tenant_id.map(str::to_string),
                started_at: now_rfc3339(),
                gwb_version: env!("CARGO_PKG_VERSION").into(),
                undoes: undoes.to_vec(),
            }],
            true,
        )?;
        Ok(j)
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    pub(crate) fn run_id(&self) -> &str {
        &self.run_id
    }

    fn append(&self, records: &[Record], sync: bool) -> std::io::Result<()> {
        let mut buf = Vec::with_capacity(records.len() * 200 + 1);
        let mut a = self.file.lock().expect("journal lock poisoned");
        // After a failed append the file may end mid-record: start on a fresh line, so the
        // torn record stays one unreadable line and the next one reads.
        if a.torn {
            buf.push(b'\n');
        }
        for r in records {
            serde_json::to_writer(&mut buf, r).map_err(std::io::Error::other)?;
            buf.push(b'\n');
        }
        let r = a
            .file
            .write_all(&buf)
            .and_then(|()| if sync { a.file.sync_data() } else { Ok(()) });
        a.torn = r.is_err();
        r
    }

    /// Record the before-states of changes about to be sent, and sync them to disk.
    pub(crate) fn record_before(&self, changes: &[&Change]) -> std::io::Result<()> {
        let at = now_rfc3339();
        let records: Vec<Record> = changes
            .iter()
            .map(|c| Record::Before {
                group_id: c.id.to_string(),
                display_name: c.display_name.clone(),
                before: c.before.clone(),
                after: c.after.clone(),
                at: at.clone(),
            })
            .collect();
        self.append(&records, true)
    }

    pub(crate) fn record_outcome(
        &self,
        group_id: &str,
        result: GroupResult,
        error: Option<&ItemError>,
    ) -> std::io::Result<()> {
        self.append(
            &[Record::Outcome {
                group_id: group_id.into(),
                result,
                status: error.map(|e| e.status),
                code: error.map(|e| e.code.clone()),
                message: error.map(|e| e.message.clone()),
                request_id: error.and_then(|e| e.request_id.clone()),
                at: now_rfc3339(),
            }],
            false,
        )
    }

    /// Record the Group.Unified setting's state before it is written, and sync it to disk.
    pub(crate) fn record_setting_before(
        &self,
        setting_id: Option<&str>,
        template_id: &str,
        before: Option<&[SettingValue]>,
        after: &[SettingValue],
    ) -> std::io::Result<()> {
        self.append(
            &[Record::SettingBefore {
                setting_id: setting_id.map(str::to_string),
                template_id: template_id.into(),
                before: before.map(<[SettingValue]>::to_vec),
                after: after.to_vec(),
                at: now_rfc3339(),
            }],
            true,
        )
    }

    pub(crate) fn record_setting_outcome(
        &self,
        setting_id: Option<&str>,
        result: SettingResult,
        error: Option<(u16, String)>,
    ) -> std::io::Result<()> {
        let (status, message) = match error {
            Some((s, m)) => (Some(s), Some(m)),
            None => (None, None),
        };
        self.append(
            &[Record::SettingOutcome {
                setting_id: setting_id.map(str::to_string),
                result,
                status,
                message,
                at: now_rfc3339(),
            }],
            true,
        )
    }

    pub(crate) fn finish(&self, summary: serde_json::Value) -> std::io::Result<()> {
        self.finish_as(summary, None)
    }

    /// The end record; `interrupted` names the signal that stopped the run early.
    pub(crate) fn finish_as(
        &self,
        summary: serde_json::Value,
        interrupted: Option<&str>,
    ) -> std::io::Result<()> {
        self.append(
            &[Record::End {
                at: now_rfc3339(),
                summary,
                interrupted: interrupted.map(str::to_string),
            }],
            true,
        )
    }
}

#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    #[error("cannot read journal {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "journal {path}, line {line}: {detail}; the file is not a gwb journal or was edited (nothing was changed)"
    )]
    Corrupt {
        path: PathBuf,
        line: usize,
        detail: String,
    },
}

/// What a `set-default` journal says about the Group.Unified setting.
#[derive(Debug, Clone, PartialEq)]
pub struct SettingRecord {
    /// The setting's id before the run, or None when it did not exist.
    pub setting_id: Option<String>,
    pub template_id: String,
    /// The whole values array before the run, or None when the setting did not exist.
    pub before: Option<Vec<SettingValue>>,
    /// What the run wrote (last record).
    pub after: Vec<SettingValue>,
    /// The id of the setting the run created, when it created one.
    pub created_id: Option<String>,
    /// The run deleted the setting (the restore of a run that had created it): absent is the
    /// state the run left.
    pub deleted: bool,
}

/// What a journal says.
#[derive(Debug, Clone)]
pub struct JournalContents {
    pub path: PathBuf,
    pub run_id: String,
    pub command: String,
    pub graph_root: String,
    pub tenant_id: Option<String>,
    pub started_at: String,
    /// A restore's journal: the runs it undid (see [`Record::Run`]).
    pub undoes: Vec<String>,
    /// Every group that may have been changed, with its before-state, in journal order (first
    /// record per group).
    pub befores: Vec<Change>,
    /// The last recorded outcome per group.
    pub outcomes: HashMap<String, GroupResult>,
    /// `set-default`: the setting's state before the run's first write, if it wrote one.
    pub setting: Option<SettingRecord>,
    /// True when a record was cut off: the last line (the run was killed while writing it), or
    /// one torn record mid-file (an append that failed).
    pub truncated_tail: bool,
    pub finished: bool,
}

/// Read a journal. A cut-off last line (a run killed mid-write) is tolerated; anything else
/// unreadable is an error.
pub fn read(path: &Path) -> Result<JournalContents, JournalError> {
    let io = |source| JournalError::Io {
        path: path.to_path_buf(),
        source,
    };
    let f = File::open(path).map_err(io)?;
    let lines: Vec<String> = BufReader::new(f)
        .lines()
        .collect::<Result<_, _>>()
        .map_err(io)?;
    let text_ends_with_newline = std::fs::read(path).map_err(io)?.last() == Some(&b'\n');
    let corrupt = |line: usize, detail: String| JournalError::Corrupt {
        path: path.to_path_buf(),
        line,
        detail,
    };
    let mut contents = Contents::default();
    let mut truncated_tail = false;
    // The line (0-based) of a record torn by a failed append, once one is met.
    let mut torn_at: Option<usize> = None;
    for (i, line) in lines.iter().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let rec: Record = match serde_json::from_str(line) {
            Ok(r) => r,
            Err(e) if i + 1 == lines.len() && !text_ends_with_newline => {
                tracing::warn!(
                    "journal {}: ignoring a cut-off last line ({e})",
                    path.display()
                );
                truncated_tail = true;
                continue;
            }
            // One record torn by a failed append (a full disk): gwb's writer stops sending
            // after it, so only the outcomes of the writes already in flight can follow it
            // (each on a fresh line), and never an end record. Only a line that begins like a
            // gwb record and ends early, only one per journal; checked record by record below.
            Err(e)
                if i > 0 && torn_at.is_none() && e.is_eof() && line.starts_with("{\"type\":\"") =>
            {
                tracing::warn!(
                    "journal {}, line {}: ignoring a torn record (an append that failed: {e})",
                    path.display(),
                    i + 1
                );
                torn_at = Some(i);
                continue;
            }
            Err(e) => return Err(corrupt(i + 1, e.to_string())),
        };
        if let Some(t) = torn_at {
            after_torn(&contents, &rec).map_err(|detail| {
                corrupt(
                    i + 1,
                    format!(
                        "{detail} after the torn record on line {}: gwb's own writer leaves a torn record followed only by the outcomes of writes in flight, so this journal was damaged (a disk error, a bad copy); restore from an intact copy, or restore the groups by hand",
                        t + 1
                    ),
                )
            })?;
        }
        contents
            .add(i, rec)
            .map_err(|detail| corrupt(i + 1, detail))?;
    }
    let Some((run_id, command, graph_root, tenant_id, started_at)) = contents.header else {
        return Err(corrupt(1, "empty journal".into()));
    };
    Ok(JournalContents {
        path: path.to_path_buf(),
        run_id,
        command,
        graph_root,
        tenant_id,
        started_at,
        undoes: contents.undoes,
        befores: contents.befores,
        outcomes: contents.outcomes,
        setting: contents.setting,
        truncated_tail: truncated_tail || torn_at.is_some(),
        finished: contents.finished,
    })
}

/// Whether `rec` may follow a torn record: only the outcome of a write in flight (a group
/// whose before-state was recorded, with no outcome yet) can, as gwb's writer stops sending at
/// the first record it cannot append. The reason, when it may not.
fn after_torn(contents: &Contents, rec: &Record) -> Result<(), String> {
    match rec {
        Record::Outcome { group_id, .. }
            if contents.seen.contains(group_id) && !contents.outcomes.contains_key(group_id) =>
        {
            Ok(())
        }
        Record::Outcome { group_id, .. } => Err(format!(
            "an outcome for {group_id:?}, which was not a write in flight"
        )),
        Record::End { .. } => Err("an end record".into()),
        Record::Before { .. } => Err("a before-state".into()),
        Record::SettingBefore { .. } | Record::SettingOutcome { .. } => {
            Err("a setting record".into())
        }
        Record::Run { .. } => Err("a run header".into()),
    }
}

/// The run header's fields: run id, command, Graph root, tenant, start time.
type Header = (String, String, String, Option<String>, String);

/// A journal's records, gathered line by line.
#[derive(Default)]
struct Contents {
    header: Option<Header>,
    undoes: Vec<String>,
    befores: Vec<Change>,
    seen: std::collections::HashSet<String>,
    outcomes: HashMap<String, GroupResult>,
    setting: Option<SettingRecord>,
    finished: bool,
}

impl Contents {
    /// Take the record on line `i` (0-based); a record out of place is the reason it is not.
    fn add(&mut self, i: usize, rec: Record) -> Result<(), String> {
        match rec {
            Record::Run {
                schema_version,
                run_id,
                command,
                graph_root,
                tenant_id,
                started_at,
                undoes,
                ..
            } => {
                if i != 0 || self.header.is_some() {
                    return Err("a second run header".into());
                }
                if schema_version != JOURNAL_SCHEMA_VERSION {
                    return Err(format!(
                        "journal schema version {schema_version} is not {JOURNAL_SCHEMA_VERSION}"
                    ));
                }
                self.header = Some((run_id, command, graph_root, tenant_id, started_at));
                self.undoes = undoes;
            }
            _ if self.header.is_none() => return Err("the first line is not a run header".into()),
            Record::Before {
                group_id,
                display_name,
                before,
                after,
                ..
            } => {
                // Only a GUID goes back into a request: a tampered id stops the read here,
                // naming its line.
                let Some(id) = GroupId::parse(&group_id) else {
                    return Err(format!("{group_id:?} is not a group id (a GUID)"));
                };
                if self.seen.insert(group_id) {
                    self.befores.push(Change {
                        role_assignable: false,
                        id,
                        display_name,
                        before,
                        after,
                    });
                }
            }
            Record::Outcome {
                group_id, result, ..
            } => {
                self.outcomes.insert(group_id, result);
            }
            Record::SettingBefore {
                setting_id,
                template_id,
                before,
                after,
                ..
            } => match &mut self.setting {
                // The first before-state is the original; later ones are the run's own retries.
                Some(s) => s.after = after,
                None => {
                    self.setting = Some(SettingRecord {
                        setting_id,
                        template_id,
                        before,
                        after,
                        created_id: None,
                        deleted: false,
                    })
                }
            },
            Record::SettingOutcome {
                setting_id, result, ..
            } => match result {
                SettingResult::Created => {
                    if let Some(s) = &mut self.setting {
                        s.created_id = setting_id;
                    }
                }
                // A create refused because the setting appeared meanwhile wrote nothing: the
                // next before-state (the setting someone else created) is the original.
                SettingResult::Conflict => self.setting = None,
                SettingResult::Deleted => {
                    if let Some(s) = &mut self.setting {
                        s.deleted = true;
                    }
                }
                _ => {}
            },
            Record::End { .. } => self.finished = true,
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmp(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "gwb-journal-test-{}-{}",
            std::process::id(),
            fastrand::u32(..)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        dir.join(name)
    }

    const A: &str = "0b1f5a6e-1111-4c1e-9e4f-00000000000a";
    const B: &str = "0b1f5a6e-1111-4c1e-9e4f-00000000000b";

    fn change(id: &str, en: Option<bool>) -> Change {
        Change {
            role_assignable: false,
            id: id.into(),
            display_name: Some(format!("G {id}")),
            before: WritebackConfiguration {
                is_enabled: en,
                on_premises_group_type: None,
            },
            after: WritebackConfiguration {
                is_enabled: Some(false),
                on_premises_group_type: None,
            },
        }
    }

    #[test]
    fn round_trip_and_first_before_wins() {
        let p = tmp("j.jsonl");
        let j = Journal::create(
            &p,
            "run1",
            "disable-existing-m365",
            "https://graph.microsoft.com",
            None,
        )
        .unwrap();
        j.record_before(&[&change(A, None), &change(B, Some(true))])
            .unwrap();
        j.record_outcome(A, GroupResult::Changed, None).unwrap();
        j.record_before(&[&change(A, Some(false))]).unwrap();
        j.finish(serde_json::json!({"changed": 1})).unwrap();
        let c = read(&p).unwrap();
        assert_eq!(c.run_id, "run1");
        assert_eq!(c.befores.len(), 2);
        assert_eq!(
            c.befores[0].before.is_enabled, None,
            "the first before-state is the original"
        );
        assert_eq!(c.outcomes[A], "changed");
        assert!(c.finished && !c.truncated_tail);
        // Never overwrites an existing journal.
        assert!(Journal::create(&p, "run2", "x", "y", None).is_err());
    }

    #[test]
    fn a_cut_off_last_line_is_tolerated_but_corruption_is_not() {
        let p = tmp("cut.jsonl");
        let j = Journal::create(
            &p,
            "run1",
            "disable-existing-m365",
            "https://graph.microsoft.com",
            None,
        )
        .unwrap();
        j.record_before(&[&change(A, None)]).unwrap();
        drop(j);
        let mut f = OpenOptions::new().append(true).open(&p).unwrap();
        f.write_all(format!("{{\"type\":\"before\",\"groupId\":\"{B}\",\"disp").as_bytes())
            .unwrap();
        let c = read(&p).unwrap();
        assert!(c.truncated_tail);
        assert_eq!(c.befores.len(), 1);

        let q = tmp("bad.jsonl");
        let text = std::fs::read_to_string(&p).unwrap();
        let bogus = text.replace(
            &format!("\"type\":\"before\",\"groupId\":\"{A}\""),
            "\"type\":\"bogus\"",
        );
        std::fs::write(&q, bogus + "\n").unwrap();
        let e = read(&q).unwrap_err().to_string();
        assert!(e.contains("line 2"), "{e}");
        // A tampered id never reaches a request: the read stops, naming the line.
        let tampered = text
            .lines()
            .take(2)
            .collect::<Vec<_>>()
            .join("\n")
            .replace(A, "x/../../users");
        std::fs::write(&q, tampered + "\n").unwrap();
        let e = read(&q).unwrap_err().to_string();
        assert!(
            e.contains("line 2") && e.contains("\"x/../../users\" is not a group id"),
            "{e}"
        );
        std::fs::write(&q, "not json\n").unwrap();
        assert!(read(&q).is_err());
    }
}

#[cfg(test)]
mod torn {
    use super::*;

    const G1: &str = "0b1f5a6e-1111-4c1e-9e4f-000000000001";
    const G2: &str = "0b1f5a6e-1111-4c1e-9e4f-000000000002";
    const G3: &str = "0b1f5a6e-1111-4c1e-9e4f-000000000003";

    fn change(id: &str) -> Change {
        Change {
            role_assignable: false,
            id: id.into(),
            display_name: Some("g".into()),
            before: WritebackConfiguration::default(),
            after: WritebackConfiguration {
                is_enabled: Some(false),
                on_premises_group_type: None,
            },
        }
    }

    /// What gwb's writer leaves when an append fails mid-record (a full disk): the befores of
    /// a batch, half of G1's outcome, then G2's outcome (a write in flight) on a fresh line.
    fn failed_append() -> (PathBuf, Journal) {
        let dir = std::env::temp_dir().join(format!(
            "gwb-journal-torn-{}-{}",
            std::process::id(),
            fastrand::u32(..)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("j.jsonl");
        let j = Journal::create(&p, "r", "disable-existing-m365", "emulator", None).unwrap();
        j.record_before(&[&change(G1), &change(G2)]).unwrap();
        {
            let mut a = j.file.lock().unwrap();
            a.file
                .write_all(br#"{"type":"outcome","groupId":"0b1f5a6e-1111-4c1e-9e4f-0000"#)
                .unwrap();
            a.torn = true;
        }
        j.record_outcome(G2, GroupResult::Changed, None).unwrap();
        (p, j)
    }

    #[test]
    fn a_failed_append_leaves_one_torn_line_and_the_writes_in_flight_read() {
        let (p, _j) = failed_append();
        let text = std::fs::read_to_string(&p).unwrap();
        assert!(
            text.lines().all(|l| l.matches("\"type\"").count() == 1),
            "every record on its own line:\n{text}"
        );
        let c = read(&p).unwrap();
        assert!(!c.finished && c.truncated_tail);
        assert_eq!(c.outcomes[G2], "changed");
        assert_eq!(
            c.befores.len(),
            2,
            "G1 stays restorable: its write was in flight"
        );
    }

    #[test]
    fn a_torn_record_followed_by_anything_but_writes_in_flight_is_refused() {
        // An end record, a further before-state, or an outcome of a group never in flight
        // after the torn line: not what gwb's writer leaves, so the journal was damaged.
        let (p, j) = failed_append();
        j.finish(serde_json::json!({})).unwrap();
        let e = read(&p).unwrap_err().to_string();
        assert!(
            e.contains("line 6") && e.contains("an end record") && e.contains("line 4"),
            "{e}"
        );

        let (p, j) = failed_append();
        j.record_before(&[&change(G3)]).unwrap();
        let e = read(&p).unwrap_err().to_string();
        assert!(e.contains("a before-state"), "{e}");

        let (p, j) = failed_append();
        j.record_outcome(G3, GroupResult::Changed, None).unwrap();
        assert!(read(&p).is_err(), "G3 was never in flight");

        // Two torn records are not one failed append.
        let (p, _j) = failed_append();
        let text = std::fs::read_to_string(&p).unwrap();
        std::fs::write(&p, format!("{text}{{\"type\":\"outc\n")).unwrap();
        assert!(read(&p).is_err());
    }

    #[test]
    fn a_record_cut_in_the_middle_of_a_finished_journal_is_refused() {
        // A disk error or a bad copy: the third group's before-state cut mid-line, the run's
        // later records intact. Restoring the other two and calling it done would leave the
        // third changed: refused, naming the line.
        let dir = std::env::temp_dir().join(format!("gwb-journal-mid-{}", fastrand::u32(..)));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("j.jsonl");
        let j = Journal::create(&p, "r", "disable-existing-m365", "emulator", None).unwrap();
        j.record_before(&[&change(G1), &change(G2), &change(G3)])
            .unwrap();
        for g in [G1, G2, G3] {
            j.record_outcome(g, GroupResult::Changed, None).unwrap();
        }
        j.finish(serde_json::json!({})).unwrap();
        let text = std::fs::read_to_string(&p).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        let cut = format!("{}\n", &lines[3][..40]);
        let damaged: String = lines
            .iter()
            .enumerate()
            .map(|(i, l)| {
                if i == 3 {
                    cut.clone()
                } else {
                    format!("{l}\n")
                }
            })
            .collect();
        std::fs::write(&p, damaged).unwrap();
        let e = read(&p).unwrap_err().to_string();
        assert!(e.contains("torn record on line 4"), "{e}");
    }
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// Any bytes at all as a journal: read or refused, never a panic; a journal with a
        /// line cut anywhere in its last record still reads.
        #[test]
        fn any_journal_bytes_read_or_refuse(bytes in proptest::collection::vec(any::<u8>(), 0..400), cut in 0usize..200) {
            let dir = std::env::temp_dir().join(format!("gwb-journal-prop-{}", std::process::id()));
            std::fs::create_dir_all(&dir).unwrap();
            let p = dir.join("j.jsonl");
            std::fs::write(&p, &bytes).unwrap();
            let _ = super::read(&p);

            let header = r#"{"type":"run","schemaVersion":1,"runId":"r","command":"disable-existing-m365","graphRoot":"emulator","startedAt":"2026-11-22T00:00:00Z","gwbVersion":"0.1.0"}"#;
            let before = r#"{"type":"before","groupId":"0b1f5a6e-1111-4c1e-9e4f-000000000001","displayName":"g","before":{"isEnabled":null,"onPremisesGroupType":null},"after":{"isEnabled":false,"onPremisesGroupType":null},"at":"2026-11-22T00:00:01Z"}"#;
            let cut = cut.min(before.len() - 1);
            std::fs::write(&p, format!("{header}\n{}", &before[..cut])).unwrap();
            let j = super::read(&p);
            prop_assert!(j.is_ok(), "{:?}", j.err());
        }
    }
}
