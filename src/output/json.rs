//! JSON documents (NDJSON lines are written by each renderer, one document a line).

use std::io::{self, Write};

use serde::Serialize;

/// Any serialisable document as pretty JSON.
///
/// Buffered here: serde_json writes a document in many pieces of a few bytes each, and every
/// piece written straight to `w` went through its layers (the pager, the pipe guard, a fleet
/// tenant's buffer) one call at a time. At 100 tenants of 2,000 groups that was a quarter of a
/// fleet check's CPU (BENCHMARKS.md, issue 33).
pub(crate) fn write_json<T: Serialize>(w: &mut dyn Write, doc: &T) -> io::Result<()> {
    let mut buffered = io::BufWriter::with_capacity(64 * 1024, &mut *w);
    serde_json::to_writer_pretty(&mut buffered, doc)?;
    buffered.write_all(b"\n")?;
    buffered.flush()?;
    drop(buffered);
    w.flush()
}
