//! `gwb report`: every group's raw and effective writeback state, the tenant default, who acts on
//! the flag; as a table, JSON, NDJSON, CSV and HTML, streamed as the pages arrive.

mod cloud_sync;
mod csv_ndjson;
mod effective_state;
mod screens;
mod streaming;
mod sync_engines;
mod tenant_default;
