//! Entra Cloud Sync, as the synchronization API shows it (beta): its service principals are
//! made from the Cloud Sync application template, and each holds synchronization jobs; the job
//! that provisions Entra groups to AD (the replacement of Connect's group writeback v2 for
//! security groups) has the template `AAD2ADGroupProvisioning`.
//!
//! - Service principals: `GET /servicePrincipals?$filter=applicationTemplateId eq '{id}'`
//!   (`Application.Read.All`); the template id is the one Microsoft's "configure Cloud Sync
//!   with Microsoft Graph" article instantiates.
//! - Jobs: `GET /servicePrincipals/{id}/synchronization/jobs` (`Synchronization.Read.All`):
//!   `synchronizationJob` with `templateId`, `schedule.state`, and `status` (`code`,
//!   `lastExecution`, `quarantine`).
//!
//! Whether a job's scope uses the groups' writeback flag lives in its schema's scoping filters,
//! whose shape for this template the reference does not document: gwb does not read it.

use serde::{Deserialize, Serialize};

use super::{GraphClient, GraphError};

/// The Cloud Sync application template (Microsoft's "configure Cloud Sync using Microsoft
/// Graph" instantiates it for each AD forest).
pub(crate) const CLOUD_SYNC_APP_TEMPLATE: &str = "1a4721b3-e57f-4451-ae87-ef078703ec94";
/// The job template of Cloud Sync's group provisioning to Active Directory.
pub(crate) const GROUP_PROVISIONING_TO_AD: &str = "AAD2ADGroupProvisioning";

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Job {
    pub id: String,
    #[serde(default)]
    pub template_id: Option<String>,
    #[serde(default)]
    pub schedule: Option<Schedule>,
    #[serde(default)]
    pub status: Option<Status>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Schedule {
    #[serde(default)]
    pub state: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Status {
    #[serde(default)]
    pub code: Option<String>,
    #[serde(default)]
    pub last_execution: Option<Execution>,
    #[serde(default)]
    pub quarantine: Option<Quarantine>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Execution {
    #[serde(default)]
    pub time_ended: Option<String>,
    #[serde(default)]
    pub state: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Quarantine {
    #[serde(default)]
    pub current_began: Option<String>,
    #[serde(default)]
    pub reason: Option<String>,
}

/// A Cloud Sync service principal (one per AD forest) and its jobs.
#[derive(Debug, Clone)]
pub(crate) struct Agent {
    pub id: String,
    pub display_name: Option<String>,
    pub jobs: Vec<Job>,
}

#[derive(Deserialize)]
#[serde(bound(deserialize = "T: Deserialize<'de>"))]
struct List<T> {
    #[serde(default = "Vec::new")]
    value: Vec<T>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ServicePrincipal {
    id: String,
    #[serde(default)]
    display_name: Option<String>,
}

/// Every Cloud Sync service principal of the tenant with its synchronization jobs.
pub(crate) async fn cloud_sync(client: &GraphClient) -> Result<Vec<Agent>, GraphError> {
    let mut url = client.url("servicePrincipals");
    url.query_pairs_mut()
        .append_pair(
            "$filter",
            &format!("applicationTemplateId eq '{CLOUD_SYNC_APP_TEMPLATE}'"),
        )
        .append_pair("$select", "id,displayName,applicationTemplateId");
    let sps: List<ServicePrincipal> = client.get_json(url, &[]).await?;
    let mut agents = Vec::new();
    for sp in sps.value {
        // Only a GUID goes into a URL.
        if !super::model::is_guid(&sp.id) {
            continue;
        }
        let url = client.url(&format!("servicePrincipals/{}/synchronization/jobs", sp.id));
        let jobs: List<Job> = client.get_json(url, &[]).await?;
        agents.push(Agent {
            id: sp.id,
            display_name: sp.display_name,
            jobs: jobs.value,
        });
    }
    Ok(agents)
}
