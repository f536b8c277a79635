//! Entra Cloud Sync, as the synchronization API shows it (beta): its service principals are
//! made from the Cloud Sync application template, and each holds synchronization jobs; the job
//! that provisions Entra groups to AD (the replacement of Connect's group writeback v2 for
//! security groups) has the template `AAD2ADGroupProvisioning`.
//!
//! - Service principals (`Application.Read.All`), found every way Microsoft's pages show them
//!   (GRAPH.md section 6): `applicationTemplateId eq` the Cloud Sync template (the "configure
//!   Cloud Sync using Microsoft Graph" article instantiates it), `appId eq` it and
//!   `servicePrincipalNames/any(x:x eq ...)` it (the Cloud Sync schema article, "Microsoft Entra
//!   Cloud Sync attributes", shows an agent's principal with `applicationTemplateId: null` and the
//!   id in `appId` (older text) or in `servicePrincipalNames` (current text)), and
//!   `applicationTemplateId eq` [`THIRD_PARTY_AAD2AD_TEMPLATE`]. No Microsoft page gives the
//!   template of an Entra-to-AD configuration, so finding no group provisioning job proves
//!   nothing (see `writeback::engines::SecurityWriteback::judge`).
//! - Jobs: `GET /servicePrincipals/{id}/synchronization/jobs` (`Synchronization.Read.All`),
//!   paged like any collection: `synchronizationJob` with `templateId`, `schedule.state`, and
//!   `status` (`code`, compared without regard to case, `lastExecution`, `quarantine`).
//!
//! - Schema: `GET /servicePrincipals/{id}/synchronization/jobs/{jobId}/schema`
//!   (`synchronizationSchema`): `synchronizationRules[].objectMappings[]`, each with `enabled`,
//!   `sourceObjectName` and `scope`, a `filter` whose `groups` (OR'd) hold `clauses` (AND'd), each
//!   `{operatorName, sourceOperandName, targetOperand: {values}}` (the objectMapping, filter and
//!   filterClause reference pages).
//!
//! Whether a job scopes on the groups' writeback flag: Cloud Sync's tutorial on provisioning
//! groups to AD names the flag's source attribute `isWritebackEnabled` and says to filter on
//! it with attribute value filtering, that is, a scoping clause on that attribute. The
//! reference does not publish this template's schema; gwb looks for a clause on that attribute
//! (case-insensitive) in the scope of an enabled mapping of `Group` objects, and says "unknown"
//! when the schema cannot be read.

use serde::{Deserialize, Serialize};

use super::{GraphClient, GraphError};

/// The Cloud Sync application template (Microsoft's "configure Cloud Sync using Microsoft
/// Graph" instantiates it for each AD forest).
pub(crate) const CLOUD_SYNC_APP_TEMPLATE: &str = "1a4721b3-e57f-4451-ae87-ef078703ec94";
/// A template id for Entra-to-AD (group provisioning) configurations that a **third-party**
/// script uses; no Microsoft page gives one. Looked up too, never relied on.
pub(crate) const THIRD_PARTY_AAD2AD_TEMPLATE: &str = "fb81332f-3eca-4ecf-a939-4278e501d330";
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
    /// Read from the job's schema, not the job: whether its scope uses the writeback flag;
    /// `None` when it is no group provisioning job or its schema could not be read.
    #[serde(skip)]
    pub scopes_on_writeback: Option<bool>,
}

impl Job {
    /// The job provisions Entra groups to AD: its `templateId` is `AAD2ADGroupProvisioning`,
    /// or its id starts with `AAD2ADGroupProvisioning.` (Microsoft's own example shows a job
    /// whose `templateId` differs from its id's prefix).
    pub(crate) fn provisions_groups_to_ad(&self) -> bool {
        let prefix = format!("{}.", GROUP_PROVISIONING_TO_AD.to_ascii_lowercase());
        self.template_id
            .as_deref()
            .is_some_and(|t| t.eq_ignore_ascii_case(GROUP_PROVISIONING_TO_AD))
            || self.id.to_ascii_lowercase().starts_with(&prefix)
    }

    /// `status.code` is Quarantine (compared without regard to case), or a quarantine is set.
    pub(crate) fn quarantined(&self) -> bool {
        self.status.as_ref().is_some_and(|s| {
            s.quarantine.is_some()
                || s.code
                    .as_deref()
                    .is_some_and(|c| c.eq_ignore_ascii_case("Quarantine"))
        })
    }
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

/// The source attribute of the groups' writeback flag in Cloud Sync's schema.
pub(crate) const WRITEBACK_ATTRIBUTE: &str = "isWritebackEnabled";

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Schema {
    #[serde(default, deserialize_with = "null_as_empty")]
    pub synchronization_rules: Vec<Rule>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Rule {
    #[serde(default, deserialize_with = "null_as_empty")]
    pub object_mappings: Vec<ObjectMapping>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ObjectMapping {
    #[serde(default)]
    pub enabled: Option<bool>,
    #[serde(default)]
    pub source_object_name: Option<String>,
    #[serde(default)]
    pub scope: Option<Filter>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Filter {
    #[serde(default, deserialize_with = "null_as_empty")]
    pub groups: Vec<FilterGroup>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct FilterGroup {
    #[serde(default, deserialize_with = "null_as_empty")]
    pub clauses: Vec<FilterClause>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct FilterClause {
    #[serde(default)]
    pub source_operand_name: Option<String>,
}

fn null_as_empty<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(Option::<Vec<T>>::deserialize(d)?.unwrap_or_default())
}

/// The attributes of the default scoping clause that always applies to group provisioning
/// (`securityEnabled IS TRUE AND dirSyncEnabled IS FALSE AND mailEnabled IS FALSE`, GRAPH.md
/// section 6): a scope made only of these (and the writeback flag) is one gwb understands.
const DEFAULT_CLAUSE_ATTRIBUTES: [&str; 3] = ["securityEnabled", "dirSyncEnabled", "mailEnabled"];

impl Schema {
    /// Whether an enabled mapping of groups scopes on the writeback flag: `Some(true)` when a
    /// clause is on it (matched without regard to case), `Some(false)` when every clause is one
    /// of the default clause's, `None` when a clause is on anything else: the portal's "selected
    /// security groups" mode, or a filter gwb does not recognize, decides by its own list, and
    /// the template's schema is not published, so gwb says "unknown" rather than "no".
    pub(crate) fn scopes_on_writeback(&self) -> Option<bool> {
        let clauses: Vec<&FilterClause> = self
            .synchronization_rules
            .iter()
            .flat_map(|r| &r.object_mappings)
            .filter(|m| m.enabled != Some(false))
            .filter(|m| {
                m.source_object_name
                    .as_deref()
                    .is_some_and(|n| n.eq_ignore_ascii_case("group"))
            })
            .filter_map(|m| m.scope.as_ref())
            .flat_map(|f| &f.groups)
            .flat_map(|g| &g.clauses)
            .collect();
        let on = |c: &FilterClause, name: &str| {
            c.source_operand_name
                .as_deref()
                .is_some_and(|n| n.eq_ignore_ascii_case(name))
        };
        if clauses.iter().any(|c| on(c, WRITEBACK_ATTRIBUTE)) {
            return Some(true);
        }
        clauses
            .iter()
            .all(|c| DEFAULT_CLAUSE_ATTRIBUTES.iter().any(|a| on(c, a)))
            .then_some(false)
    }
}

/// Whether a job id may go into a URL path: Graph's are `{template}.{hex}.{hex}`.
fn is_job_id(id: &str) -> bool {
    id.as_bytes().first().is_some_and(u8::is_ascii_alphanumeric)
        && id.len() <= 200
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-' || b == b'_')
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

/// The Cloud Sync service principals: those made from its template (`applicationTemplateId`,
/// which supports `$filter eq` per the servicePrincipal reference), and the one whose `appId`
/// is that id, as Microsoft's Cloud Sync schema article shows an agent's service principal
/// (`applicationTemplateId: null`). Both lists are paged; a principal on both counts once.
async fn service_principals(client: &GraphClient) -> Result<Vec<ServicePrincipal>, GraphError> {
    let filters = [
        format!("applicationTemplateId eq '{CLOUD_SYNC_APP_TEMPLATE}'"),
        format!("appId eq '{CLOUD_SYNC_APP_TEMPLATE}'"),
        format!("servicePrincipalNames/any(x:x eq '{CLOUD_SYNC_APP_TEMPLATE}')"),
        format!("applicationTemplateId eq '{THIRD_PARTY_AAD2AD_TEMPLATE}'"),
    ];
    let lists = futures_util::future::join_all(filters.iter().map(|f| async move {
        let mut url = client.url("servicePrincipals");
        url.query_pairs_mut()
            .append_pair("$filter", f)
            .append_pair("$select", "id,displayName,appId,applicationTemplateId");
        (f, all_pages::<ServicePrincipal>(client, url).await)
    }))
    .await;
    let mut found: Vec<ServicePrincipal> = Vec::new();
    for (filter, list) in lists {
        let list = match list {
            Ok(l) => l,
            // A filter this tenant's Graph does not take is one way fewer to find them, not a
            // failure: the others still count (a missing permission is, for all of them).
            Err(e) if e.status() == Some(400) => {
                tracing::info!("cannot look Cloud Sync up by {filter}: {e}");
                continue;
            }
            Err(e) => return Err(e),
        };
        for sp in list {
            if !found.iter().any(|f| f.id.eq_ignore_ascii_case(&sp.id)) {
                found.push(sp);
            }
        }
    }
    Ok(found)
}

/// Every item of a paged collection.
async fn all_pages<T: serde::de::DeserializeOwned + 'static>(
    client: &GraphClient,
    url: url::Url,
) -> Result<Vec<T>, GraphError> {
    use futures_util::StreamExt;
    let mut pages = std::pin::pin!(client.pages::<T>(url, Vec::new()));
    let mut all = Vec::new();
    while let Some(page) = pages.next().await {
        all.extend(page?);
    }
    Ok(all)
}

/// Every Cloud Sync service principal of the tenant with its synchronization jobs.
pub(crate) async fn cloud_sync(client: &GraphClient) -> Result<Vec<Agent>, GraphError> {
    let mut agents = Vec::new();
    for sp in service_principals(client).await? {
        // Only a GUID goes into a URL.
        if !super::model::is_guid(&sp.id) {
            continue;
        }
        let url = client.url(&format!("servicePrincipals/{}/synchronization/jobs", sp.id));
        let mut jobs = List {
            value: all_pages::<Job>(client, url).await?,
        };
        for j in &mut jobs.value {
            if !j.provisions_groups_to_ad() || !is_job_id(&j.id) {
                continue;
            }
            let url = client.url(&format!(
                "servicePrincipals/{}/synchronization/jobs/{}/schema",
                sp.id, j.id
            ));
            // A schema that cannot be read leaves the question open; the jobs still show.
            match client.get_json::<Schema>(url, &[]).await {
                Ok(schema) => j.scopes_on_writeback = schema.scopes_on_writeback(),
                Err(e) => {
                    tracing::info!("cannot read the schema of Cloud Sync job {}: {e}", j.id);
                }
            }
        }
        agents.push(Agent {
            id: sp.id,
            display_name: sp.display_name,
            jobs: jobs.value,
        });
    }
    Ok(agents)
}

/// Entra Connect's writeback features (`features` of `onPremisesDirectorySynchronization`).
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SyncFeatures {
    pub unified_group_writeback_enabled: Option<bool>,
    pub group_write_back_enabled: Option<bool>,
}

/// `GET /beta/directory/onPremisesSynchronization`: the features, or `None` when the tenant has
/// no synchronization configured. Graph serves it to a delegated Global Administrator only.
pub(crate) async fn sync_features(
    client: &GraphClient,
) -> Result<Option<SyncFeatures>, GraphError> {
    #[derive(serde::Deserialize)]
    struct Sync {
        #[serde(default)]
        value: Vec<Item>,
    }
    #[derive(serde::Deserialize)]
    struct Item {
        #[serde(default)]
        features: Option<SyncFeatures>,
    }
    let url = client.url("directory/onPremisesSynchronization");
    let s: Sync = client.get_json(url, &[]).await?;
    Ok(s.value.into_iter().find_map(|i| i.features))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schema(v: serde_json::Value) -> Schema {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn a_clause_on_the_writeback_flag_in_an_enabled_group_mapping_scopes_on_it() {
        let mapping = |enabled: bool, source: &str, attr: &str| {
            serde_json::json!({"synchronizationRules": [{"objectMappings": [{
                "enabled": enabled, "sourceObjectName": source,
                "scope": {"groups": [{"name": "g", "clauses": [
                    {"operatorName": "IsTrue", "sourceOperandName": attr, "targetOperand": {"values": []}}
                ]}]}
            }]}]})
        };
        let yes = Some(true);
        let no = Some(false);
        assert_eq!(
            schema(mapping(true, "Group", "isWritebackEnabled")).scopes_on_writeback(),
            yes
        );
        assert_eq!(
            schema(mapping(true, "group", "ISWRITEBACKENABLED")).scopes_on_writeback(),
            yes
        );
        assert_eq!(
            schema(mapping(false, "Group", "isWritebackEnabled")).scopes_on_writeback(),
            no
        );
        assert_eq!(
            schema(mapping(true, "User", "isWritebackEnabled")).scopes_on_writeback(),
            no
        );
        // The default clause's attributes are understood: no.
        assert_eq!(
            schema(mapping(true, "Group", "mailEnabled")).scopes_on_writeback(),
            no
        );
        assert_eq!(
            schema(mapping(true, "Group", "SecurityEnabled")).scopes_on_writeback(),
            no
        );
        // Anything else (a "selected groups" list, a custom filter): unknown, not no.
        assert_eq!(
            schema(mapping(true, "Group", "displayName")).scopes_on_writeback(),
            None
        );
        assert_eq!(
            schema(mapping(true, "Group", "objectId")).scopes_on_writeback(),
            None
        );
        // No scope, null arrays, no rules: nothing scopes on the flag.
        assert_eq!(
            schema(
                serde_json::json!({"synchronizationRules": [{"objectMappings": [
                    {"enabled": true, "sourceObjectName": "Group", "scope": null}
                ]}]})
            )
            .scopes_on_writeback(),
            no
        );
        assert_eq!(
            schema(serde_json::json!({"synchronizationRules": null})).scopes_on_writeback(),
            no
        );
    }

    #[test]
    fn only_plain_job_ids_go_into_a_url() {
        assert!(is_job_id("AAD2ADGroupProvisioning.5a0c0f0e1111.bbbb"));
        assert!(!is_job_id("../../users"));
        assert!(!is_job_id("a/b"));
        assert!(!is_job_id(""));
        assert!(!is_job_id("a?b"));
        assert!(!is_job_id(".."));
    }
}
