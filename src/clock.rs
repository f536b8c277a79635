//! The run's clock: its id and start, and the time as RFC 3339. A leaf: the journal, the lock,
//! the printer and the HTML page all stamp times, and none of them should import another for it.

use azure_core::time::{OffsetDateTime, to_rfc3339};

/// Now, as RFC 3339 (UTC).
pub fn now_rfc3339() -> String {
    to_rfc3339(&OffsetDateTime::now_utc())
}

/// This process's run id (the one every log line carries), made once.
pub fn this_run_id() -> String {
    static RUN_ID: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    RUN_ID.get_or_init(new_run_id).clone()
}

/// When this process started its run, as RFC 3339.
pub fn this_run_started() -> String {
    static STARTED: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    STARTED.get_or_init(now_rfc3339).clone()
}

/// A short id for a run: UTC time plus randomness, sortable by start.
pub fn new_run_id() -> String {
    let now = OffsetDateTime::now_utc();
    format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}Z-{:06x}",
        now.year(),
        u8::from(now.month()),
        now.day(),
        now.hour(),
        now.minute(),
        now.second(),
        fastrand::u32(..0x100_0000)
    )
}
