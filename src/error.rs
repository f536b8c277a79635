//! The exit codes and the one error every layer may raise for a bad call: a leaf, imported by
//! all and importing nothing of the crate. Which error ends with which code is decided at the
//! top, in `exit.rs`, where the error types of every layer may be named.

/// gwb's exit codes (documented in docs/exit-codes.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    /// Everything asked for was done.
    Ok = 0,
    /// The operation failed or partly failed.
    Failure = 1,
    /// Usage or configuration error: nothing was changed.
    Usage = 2,
    /// `gwb check`: the tenant has drifted from the policy.
    Drift = 3,
    /// Authentication or authorisation failed (token, 401, 403).
    Auth = 4,
    /// Another writing run holds the lock for this tenant: nothing was done (a scheduler can
    /// tell skipped from broken).
    Locked = 5,
    /// A writing run stopped by SIGINT (Ctrl-C) after finishing its writes in flight.
    Interrupted = 130,
    /// A writing run stopped by SIGTERM after finishing its writes in flight.
    Terminated = 143,
}

impl ExitStatus {
    /// The status for a run stopped by `signal`.
    pub(crate) fn for_signal(signal: i32) -> ExitStatus {
        if signal == 15 {
            ExitStatus::Terminated
        } else {
            ExitStatus::Interrupted
        }
    }
}

/// A mistake in how gwb was called (exit 2).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);
