//! JSON documents (NDJSON lines are written by each renderer, one document a line).

use std::io::{self, Write};

use serde::Serialize;

/// Any serialisable document as pretty JSON.
pub(crate) fn write_json<T: Serialize>(w: &mut dyn Write, doc: &T) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *w, doc)?;
    writeln!(w)?;
    w.flush()
}
