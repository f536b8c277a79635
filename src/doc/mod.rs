//! The documents: plain, serialisable data that commands return and renderers print (the
//! JSON contract lives in their field names and schema versions). Nothing here reads a tenant,
//! writes a file or prints.

pub(crate) mod check;
pub(crate) mod plan;
pub(crate) mod run;
pub(crate) mod setting;
pub(crate) mod tenant;

pub(crate) use run::{ItemFailure, RunResult, RunSummary};
pub(crate) use tenant::TenantSection;

/// Version of the JSON report schema; bumped only on incompatible changes.
pub(crate) const REPORT_SCHEMA_VERSION: u32 = 1;

/// The fleet document (`--all-tenants ... -o json`, and what `gwb merge` reads and writes): its
/// kind and schema version. Each tenant's entry carries that tenant's own document.
pub(crate) const FLEET_KIND: &str = "gwb.fleet";
pub(crate) const FLEET_SCHEMA_VERSION: u32 = 1;
