//! The Microsoft 365 groups activity report, for a review's "last activity" signal:
//! `GET /beta/reports/getOffice365GroupsActivityDetail(period='D180')?$format=application/json`
//! (`Reports.Read.All`), a collection of `office365GroupsActivityDetail` (`groupId`,
//! `lastActivityDate`, ...), 200 to a page with `@odata.nextLink` (the reference's pages for
//! the function and the resource).
//!
//! When the tenant conceals user, group and site names in its reports (Microsoft 365 admin
//! center, Settings, Org settings, Reports: on by default for many tenants), the report's group
//! names and ids are replaced by hashes: it can no longer be matched to groups, and gwb says so
//! instead of guessing.

use std::collections::HashMap;

use futures_util::StreamExt;
use serde::Deserialize;

use super::{GraphClient, GraphError};

/// The longest period the report covers: a group without activity in it has an empty
/// `lastActivityDate`.
pub(crate) const PERIOD_DAYS: u32 = 180;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Row {
    #[serde(default)]
    group_id: Option<String>,
    #[serde(default)]
    last_activity_date: Option<String>,
    #[serde(default)]
    is_deleted: Option<bool>,
}

/// What the report says of the tenant's groups.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Activity {
    /// Group id (lowercase) to its last activity date (`None`: none in the period).
    Read(HashMap<String, Option<String>>),
    /// The report's group ids are not ids: the tenant conceals names in its reports.
    Concealed,
}

/// Read the report over [`PERIOD_DAYS`].
pub(crate) async fn group_activity(client: &GraphClient) -> Result<Activity, GraphError> {
    let mut url = client.url(&format!(
        "reports/getOffice365GroupsActivityDetail(period='D{PERIOD_DAYS}')"
    ));
    url.query_pairs_mut()
        .append_pair("$format", "application/json");
    let mut pages = std::pin::pin!(client.pages::<Row>(url, Vec::new()));
    let mut by_id = HashMap::new();
    let mut rows = 0usize;
    while let Some(page) = pages.next().await {
        for r in page? {
            rows += 1;
            if r.is_deleted == Some(true) {
                continue;
            }
            if let Some(id) = r.group_id.filter(|id| super::model::is_guid(id)) {
                let date = r.last_activity_date.filter(|d| !d.trim().is_empty());
                by_id.insert(id.to_ascii_lowercase(), date);
            }
        }
    }
    // Rows whose ids are all hashes: concealed names (an empty report is simply empty).
    if rows > 0 && by_id.is_empty() {
        return Ok(Activity::Concealed);
    }
    Ok(Activity::Read(by_id))
}
