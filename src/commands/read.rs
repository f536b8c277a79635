//! The tenant reads more than one command makes: every group (with a spinner), Entra Connect's
//! writeback features, Cloud Sync's jobs. Commands share reads here, never each other.

use crate::graph::GraphClient;
use crate::writeback::engines::SyncFeatures;

/// Every group of the tenant, handed to `each`, with a spinner counting them on a terminal
/// ("reading groups… 12,000"): a listing of 30,000 groups is a quarter of a minute.
pub(crate) async fn each_group(
    client: &GraphClient,
    each: impl FnMut(&crate::graph::model::Group) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    each_group_when(client, std::future::ready(()), each).await
}

/// [`each_group`], waiting for `ready` before the second page's groups are handed on (see
/// `graph::groups::for_each_when`).
pub(crate) async fn each_group_when(
    client: &GraphClient,
    ready: impl std::future::Future<Output = ()>,
    mut each: impl FnMut(&crate::graph::model::Group) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let spin = crate::output::spinner("reading groups");
    let r = crate::graph::groups::for_each_when(client, ready, |g| {
        spin.inc();
        each(g)
    })
    .await;
    spin.finish_and_clear();
    r
}

/// Entra Connect's writeback features. Graph serves them to a delegated Global Administrator
/// only; an app-only token gets 403, which is expected and said, not an error.
pub(crate) async fn read_sync_features(client: &GraphClient) -> SyncFeatures {
    match crate::graph::sync::sync_features(client).await {
        Ok(features) => match features {
            Some(f) => SyncFeatures {
                readable: true,
                unified_group_writeback_enabled: f.unified_group_writeback_enabled,
                group_write_back_enabled: f.group_write_back_enabled,
                error: None,
            },
            None => SyncFeatures {
                readable: false,
                error: Some(
                    "the tenant has no on-premises synchronization configured (Entra Connect never ran)"
                        .into(),
                ),
                ..Default::default()
            },
        },
        Err(e) => {
            let why = if e.is_auth() {
                "Graph serves them only to a delegated Global Administrator (an app-only token cannot read them)"
                    .to_string()
            } else {
                e.to_string()
            };
            tracing::info!("cannot read the sync features: {e}");
            SyncFeatures {
                readable: false,
                error: Some(why),
                ..Default::default()
            }
        }
    }
}

/// Entra Cloud Sync's jobs (see `graph::sync`). Without `Application.Read.All` and
/// `Synchronization.Read.All` they cannot be read: said, and the report goes on.
pub(crate) async fn read_cloud_sync(client: &GraphClient) -> crate::writeback::engines::CloudSync {
    match crate::graph::sync::cloud_sync(client).await {
        Ok(agents) => cloud_sync_section(agents),
        Err(e) => {
            tracing::info!("cannot read Cloud Sync's jobs: {e}");
            crate::writeback::engines::CloudSync {
                readable: false,
                jobs: Vec::new(),
                error: Some(if e.is_auth() {
                    format!("needs {}", crate::permissions::READ_CLOUD_SYNC)
                } else {
                    e.to_string()
                }),
            }
        }
    }
}

/// Cloud Sync's agents and jobs as the output shows them.
pub(crate) fn cloud_sync_section(
    agents: Vec<crate::graph::sync::Agent>,
) -> crate::writeback::engines::CloudSync {
    crate::writeback::engines::CloudSync {
        readable: true,
        jobs: agents
            .into_iter()
            .flat_map(|a| {
                a.jobs.into_iter().map(move |j| {
                    let group_provisioning_to_ad = j.provisions_groups_to_ad();
                    let quarantined = j.quarantined();
                    let status = j.status.unwrap_or_default();
                    let last = status.last_execution.unwrap_or_default();
                    let quarantine = status.quarantine;
                    crate::writeback::engines::CloudSyncJob {
                        service_principal_id: a.id.clone(),
                        service_principal_name: a.display_name.clone(),
                        group_provisioning_to_ad,
                        scopes_on_writeback: j.scopes_on_writeback,
                        job_id: j.id,
                        template_id: j.template_id,
                        quarantined,
                        status: status.code,
                        schedule_state: j.schedule.and_then(|s| s.state),
                        last_run: last.time_ended,
                        last_run_state: last.state,
                        quarantine_reason: quarantine.as_ref().and_then(|q| q.reason.clone()),
                        quarantine_since: quarantine.and_then(|q| q.current_began),
                    }
                })
            })
            .collect(),
        error: None,
    }
}
