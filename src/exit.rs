//! The exit code of every error gwb can end with, stated once, at the top: here the error
//! types of every layer may be named, so no layer below has to import the others to be mapped.
//!
//! | error | exit |
//! |---|---|
//! | [`UsageError`], [`crate::config::ConfigError`], [`crate::auth::AuthError`] (a bad flag, file, plan, journal, credential setting; nothing was changed) | 2 |
//! | [`crate::journal::JournalError`] (a journal that cannot be read for restore) | 2 |
//! | [`crate::graph::GraphError`] with 401 or 403, or no token | 4 |
//! | [`crate::graph::GraphError::InvalidBase`] (an unusable Graph root) | 2 |
//! | [`crate::lock::LockError::Held`] (another run holds the lock for this tenant; nothing was done) | 5 |
//! | [`crate::lock::LockError`], otherwise (the lock cannot be taken) | 1 |
//! | [`crate::journal::JournalWriteError`] (a record could not be written; no further writes) | 1 |
//! | [`crate::writeback::setting::Unsafe`] (settings too ambiguous to write from) | 1 |
//! | anything else (Graph errors after retries, malformed answers, deadlines) | 1 |
//!
//! Commands that finish return their own status instead: 0, 1 (a group failed), 3 (drift),
//! 4 (items refused for authentication), 130/143 (stopped by a signal).

use crate::config::ConfigError;
use crate::error::{ExitStatus, UsageError};
use crate::{auth, graph, journal, lock, writeback};

/// The exit code for an error that ended a command (the table in this module's doc).
pub fn for_error(e: &anyhow::Error) -> ExitStatus {
    for cause in e.chain() {
        if cause.downcast_ref::<ConfigError>().is_some()
            || cause.downcast_ref::<UsageError>().is_some()
            || cause.downcast_ref::<auth::AuthError>().is_some()
            || cause.downcast_ref::<journal::JournalError>().is_some()
        {
            return ExitStatus::Usage;
        }
        if let Some(l) = cause.downcast_ref::<lock::LockError>() {
            return match l {
                lock::LockError::Held { .. } => ExitStatus::Locked,
                _ => ExitStatus::Failure,
            };
        }
        if cause.downcast_ref::<journal::JournalWriteError>().is_some()
            || cause.downcast_ref::<writeback::setting::Unsafe>().is_some()
        {
            return ExitStatus::Failure;
        }
        if let Some(g) = cause.downcast_ref::<graph::GraphError>() {
            if g.is_auth() {
                return ExitStatus::Auth;
            }
            if matches!(g, graph::GraphError::InvalidBase { .. }) {
                return ExitStatus::Usage;
            }
        }
    }
    ExitStatus::Failure
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_type_has_its_stated_exit_code() {
        let code = |e: anyhow::Error| for_error(&e);
        assert_eq!(code(UsageError("x".into()).into()), ExitStatus::Usage);
        assert_eq!(
            code(
                crate::journal::JournalError::Corrupt {
                    path: "j".into(),
                    line: 2,
                    detail: "x".into()
                }
                .into()
            ),
            ExitStatus::Usage
        );
        assert_eq!(
            code(
                crate::lock::LockError::Held {
                    path: "l".into(),
                    holder: "pid 1".into()
                }
                .into()
            ),
            ExitStatus::Locked
        );
        assert_eq!(
            code(
                crate::journal::JournalWriteError {
                    path: "j".into(),
                    detail: "disk full".into()
                }
                .into()
            ),
            ExitStatus::Failure
        );
        assert_eq!(
            code(crate::writeback::setting::Unsafe("two".into()).into()),
            ExitStatus::Failure
        );
        let refused = crate::graph::GraphError::Api {
            method: "GET".into(),
            path: "/beta/groups".into(),
            status: 401,
            code: "InvalidAuthenticationToken".into(),
            message: "expired".into(),
            request_id: None,
        };
        assert_eq!(
            code(anyhow::Error::new(refused).context("listing groups")),
            ExitStatus::Auth
        );
        assert_eq!(code(anyhow::anyhow!("anything else")), ExitStatus::Failure);
    }
}
