//! The documents: plain, serialisable data that commands return and renderers print (the
//! JSON contract lives in their field names and schema versions). Nothing here reads a tenant,
//! writes a file or prints.

pub(crate) mod check;
pub(crate) mod history;
pub(crate) mod plan;
pub(crate) mod run;
pub(crate) mod setting;
pub(crate) mod tenant;

pub(crate) use run::{ItemFailure, RunResult, RunSummary};

use serde::{Deserialize, Serialize};

/// What a document describes, so that an archived one can be read alone: whose tenant, from
/// which Graph root, when, by which command and which gwb. Additive: no schema version changed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Meta {
    /// The tenant's id, when the token says (`null` otherwise).
    #[serde(default)]
    pub tenant_id: Option<String>,
    /// The config's `[[tenants]]` name, for a tenant of a fleet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant_name: Option<String>,
    /// The Graph root read (`emulator` for the built-in one).
    #[serde(default)]
    pub graph_root: String,
    /// When the run started (RFC 3339, UTC).
    #[serde(default)]
    pub generated_at: String,
    /// The command, as `gwb report`.
    #[serde(default)]
    pub command: String,
    #[serde(default)]
    pub gwb_version: String,
}

impl Meta {
    /// This run of gwb, for `command` (as `gwb check`).
    pub(crate) fn this_run(command: &str) -> Meta {
        Meta {
            generated_at: crate::clock::this_run_started(),
            command: command.to_string(),
            gwb_version: env!("CARGO_PKG_VERSION").to_string(),
            ..Meta::default()
        }
    }
}

/// A document with its [`Meta`] last, as printed.
#[derive(Serialize)]
pub(crate) struct WithMeta<'a, T: Serialize> {
    #[serde(flatten)]
    pub doc: &'a T,
    pub meta: &'a Meta,
}
pub(crate) use tenant::TenantSection;

/// Version of the JSON report schema; bumped only on incompatible changes.
pub(crate) const REPORT_SCHEMA_VERSION: u32 = 1;

/// The fleet document (`--all-tenants ... -o json`, and what `gwb merge` reads and writes): its
/// kind and schema version. Each tenant's entry carries that tenant's own document.
pub(crate) const FLEET_KIND: &str = "gwb.fleet";
pub(crate) const FLEET_SCHEMA_VERSION: u32 = 1;
