//! Ctrl-C and SIGTERM during a writing run: stop sending, let the writes in flight finish,
//! record and report, exit 130 or 143.
//!
//! The first signal sets a flag that the apply path reads before each window and each batch:
//! nothing new is sent, the batches in flight finish (their outcomes are journaled), and the
//! command prints what it did so far with the journal's path. If that takes longer than
//! [`GRACE`], or a second signal arrives, gwb stops at once, as a kill would: the journal,
//! synced before every batch, still names every group that may have been changed.
//!
//! A leaf: it says what happens through `tracing`, and the way back is printed by a hook the top
//! installs ([`on_hard_stop`]); Graph's batches learn of the stop through a token in their
//! options, not from here.

use std::sync::atomic::{AtomicI32, Ordering};
use std::time::Duration;

/// How long the writes in flight may take to finish after the first signal.
pub(crate) const GRACE: Duration = Duration::from_secs(10);

static SIGNAL: AtomicI32 = AtomicI32::new(0);

/// The signal that asked the run to stop (2 for SIGINT, 15 for SIGTERM), if one did.
pub(crate) fn requested() -> Option<i32> {
    match SIGNAL.load(Ordering::SeqCst) {
        0 => None,
        s => Some(s),
    }
}

/// The signal's name, for messages and the journal.
pub fn name(signal: i32) -> &'static str {
    match signal {
        2 => "SIGINT",
        15 => "SIGTERM",
        _ => "a signal",
    }
}

type Hook = Box<dyn Fn() + Send + Sync>;
static ON_HARD_STOP: std::sync::OnceLock<Hook> = std::sync::OnceLock::new();

/// What to do just before a second signal ends the process at once (the top installs the
/// printing of the way back; this leaf prints nothing itself). The first hook installed stays.
pub fn on_hard_stop(hook: impl Fn() + Send + Sync + 'static) {
    let _ = ON_HARD_STOP.set(Box::new(hook));
}

static LISTENING: std::sync::OnceLock<()> = std::sync::OnceLock::new();

/// From now on, SIGINT and SIGTERM stop this run cleanly. Called when a writing run opens its
/// journal, after consent: until then (planning, the `[y/N]` prompt) Ctrl-C ends gwb at once,
/// as it should, since nothing has been written. Idempotent.
pub(crate) fn listen() -> std::io::Result<()> {
    if LISTENING.get().is_some() {
        return Ok(());
    }
    let r = start();
    if r.is_ok() {
        let _ = LISTENING.set(());
    }
    r
}

fn start() -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut int = signal(SignalKind::interrupt())?;
        let mut term = signal(SignalKind::terminate())?;
        tokio::spawn(async move {
            let first = tokio::select! {
                _ = int.recv() => 2,
                _ = term.recv() => 15,
            };
            SIGNAL.store(first, Ordering::SeqCst);
            tracing::warn!(
                "{}: sending no more writes; finishing those in flight (at most {} s). Press Ctrl-C again to stop at once",
                name(first),
                GRACE.as_secs()
            );
            tokio::select! {
                _ = int.recv() => {}
                _ = term.recv() => {}
                _ = tokio::time::sleep(GRACE) => {}
            }
            tracing::warn!(
                "stopped at once; the journal names every group that may have been changed"
            );
            // The process ends here, not through main: the way back is said now, by whatever
            // the top installed.
            if let Some(say) = ON_HARD_STOP.get() {
                say();
            }
            std::process::exit(128 + first);
        });
        Ok(())
    }
    #[cfg(not(unix))]
    {
        tokio::spawn(async {
            if tokio::signal::ctrl_c().await.is_ok() {
                SIGNAL.store(2, Ordering::SeqCst);
            }
        });
        Ok(())
    }
}
