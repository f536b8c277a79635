//! What a restore undoes and redoes, as journals record it: a restore is journaled under the
//! command `restore` with the runs it undid, so restoring a restore is said to redo them, never
//! done silently.

use crate::journal::JournalContents;

/// The command name a restore's journal carries (for group and setting restores alike).
pub(crate) const RESTORE: &str = "restore";

/// A run as a restore's journal records it undone: "disable-existing-m365 of 2026-12-01T…".
pub(crate) fn run_words(j: &JournalContents) -> String {
    // To the second: what a person reads (the journal keeps the exact instant).
    let at = match j.started_at.get(..19) {
        Some(s) if j.started_at.len() > 19 => format!("{s}Z"),
        _ => j.started_at.clone(),
    };
    format!("{} of {at}", j.command)
}

/// What restoring `journals` redoes: the runs that the restores among them undid.
pub(crate) fn redoing(journals: &[JournalContents]) -> Vec<String> {
    journals
        .iter()
        .filter(|j| j.command == RESTORE)
        .flat_map(|j| {
            if j.undoes.is_empty() {
                vec![format!("change that the restore of {} undid", j.started_at)]
            } else {
                j.undoes.clone()
            }
        })
        .collect()
}
