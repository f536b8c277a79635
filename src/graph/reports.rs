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
    /// The report's group ids are not ids: the tenant conceals names in its reports. Why gwb
    /// concludes so.
    Concealed(&'static str),
}

/// Whether the tenant conceals user, group and site names in its usage reports:
/// `GET /beta/admin/reportSettings` (`ReportSettings.Read.All`), `displayConcealedNames` (the
/// adminReportSettings resource page; true is the default since September 2021).
pub(crate) async fn names_concealed(client: &GraphClient) -> Result<Option<bool>, GraphError> {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Settings {
        #[serde(default)]
        display_concealed_names: Option<bool>,
    }
    let s: Settings = client
        .get_json(client.url("admin/reportSettings"), &[])
        .await?;
    Ok(s.display_concealed_names)
}

/// Read the report over [`PERIOD_DAYS`]. `matches` says whether a report row's id is one of the
/// groups gwb listed: rows none of whose ids does are concealed ones, whatever they look like
/// (what a concealed id looks like is undocumented).
pub(crate) async fn group_activity(
    client: &GraphClient,
    matches: &dyn Fn(&str) -> bool,
) -> Result<Activity, GraphError> {
    let mut url = client.url(&format!(
        "reports/getOffice365GroupsActivityDetail(period='D{PERIOD_DAYS}')"
    ));
    url.query_pairs_mut()
        .append_pair("$format", "application/json");
    let mut pages = std::pin::pin!(client.pages::<Row>(url, Vec::new()));
    let mut by_id = HashMap::new();
    let (mut rows, mut matched) = (0usize, 0usize);
    while let Some(page) = pages.next().await {
        for r in page? {
            rows += 1;
            if r.is_deleted == Some(true) {
                continue;
            }
            if let Some(id) = r.group_id.filter(|id| super::model::is_guid(id)) {
                matched += usize::from(matches(&id));
                let date = r.last_activity_date.filter(|d| !d.trim().is_empty());
                by_id.insert(id.to_ascii_lowercase(), date);
            }
        }
    }
    // Rows, but none of them a group gwb listed: concealed ids, whatever their shape (an
    // empty report is simply empty).
    if rows > 0 && matched == 0 {
        return Ok(Activity::Concealed(
            "none of the report's rows names a group gwb listed",
        ));
    }
    Ok(Activity::Read(by_id))
}
