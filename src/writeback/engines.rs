//! Who acts on a group's writeback flag: Entra Cloud Sync's jobs and Entra Connect's
//! writeback features as Graph shows them, and the verdict drawn from them (pure: the reads are
//! in `commands/read.rs`, the words in the renderers). GRAPH.md sections 1 and 6.

use serde::Serialize;

/// Entra Cloud Sync as the synchronization API shows it: each job of each Cloud Sync agent
/// (service principal), the group provisioning to AD ones marked.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CloudSync {
    pub readable: bool,
    pub jobs: Vec<CloudSyncJob>,
    /// Why they could not be read.
    pub error: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CloudSyncJob {
    pub service_principal_id: String,
    pub service_principal_name: Option<String>,
    pub job_id: String,
    pub template_id: Option<String>,
    /// The job provisions Entra groups to AD (template `AAD2ADGroupProvisioning`).
    pub group_provisioning_to_ad: bool,
    /// `status.code`: NotConfigured, NotRun, Active, Paused or Quarantine.
    pub status: Option<String>,
    /// `schedule.state`: Active, Disabled or Paused.
    pub schedule_state: Option<String>,
    pub last_run: Option<String>,
    pub last_run_state: Option<String>,
    pub quarantined: bool,
    pub quarantine_reason: Option<String>,
    pub quarantine_since: Option<String>,
    /// Whether the job's scoping filter has a clause on the groups' writeback flag
    /// (`isWritebackEnabled`); `null` for other jobs, or when the schema could not be read.
    pub scopes_on_writeback: Option<bool>,
}

impl CloudSync {
    /// One line for people: the group provisioning jobs and their state, or why not read.
    pub(crate) fn describe(&self) -> String {
        if !self.readable {
            return format!(
                "Cloud Sync: not readable: {}",
                self.error.as_deref().unwrap_or("")
            );
        }
        let groups: Vec<String> = self
            .jobs
            .iter()
            .filter(|j| j.group_provisioning_to_ad)
            .map(|j| {
                let mut s = format!(
                    "{} ({})",
                    j.service_principal_name
                        .as_deref()
                        .unwrap_or(&j.service_principal_id),
                    j.status.as_deref().unwrap_or("status unknown")
                );
                if j.quarantined {
                    s.push_str(&format!(
                        ", QUARANTINED: {}",
                        j.quarantine_reason.as_deref().unwrap_or("no reason given")
                    ));
                }
                if let Some(t) = &j.last_run {
                    s.push_str(&format!(", last run {t}"));
                }
                s
            })
            .collect();
        match groups.len() {
            0 => format!(
                "Cloud Sync: no group provisioning to AD job ({} Cloud Sync jobs in all)",
                self.jobs.len()
            ),
            _ => format!("Cloud Sync group provisioning to AD: {}", groups.join("; ")),
        }
    }
}

/// The warning of a security group with writeback enabled that only Connect's discontinued v2
/// acts on (see [`SecurityWriteback`]). One text for every such group: the table counts them
/// instead of listing each again (a tenant may have a hundred thousand).
pub(crate) const FLAG_ONLY_V2: &str = "writeback enabled, but no Cloud Sync job scopes on the flag: only Entra Connect's group writeback v2, discontinued on 30 June 2024, acts on it";
/// The same when Connect's v2 is off too.
pub(crate) const FLAG_NOTHING: &str = "writeback enabled, but nothing acts on the flag: no Cloud Sync job scopes on it and Entra Connect's group writeback v2 is off";

/// Who acts on the writeback flag of security groups, as far as gwb can tell: only Entra
/// Connect's group writeback v2 (discontinued on 30 June 2024) reads it, unless a Cloud Sync
/// group provisioning job scopes on it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SecurityWriteback {
    /// Entra Connect runs group writeback v1 without v2 (the sync features say
    /// `unifiedGroupWritebackEnabled: true`, `groupWriteBackEnabled: false`): every cloud
    /// Microsoft 365 group is written back whatever its flag. Not in the JSON here: each row says
    /// it (`reason: v1WritesAll`).
    #[serde(skip)]
    pub v1_alone: bool,
    /// How each enabled Cloud Sync group provisioning job scopes (its `scopesOnWriteback`):
    /// which security groups it may provision, and so write an AD SID back to.
    #[serde(skip)]
    pub group_job_scopes: Vec<Option<bool>>,
    pub acted_on_by: ActedOnBy,
    /// The Cloud Sync jobs whose scope uses the flag.
    pub cloud_sync_jobs: Vec<String>,
    pub explanation: String,
}

/// Who acts on security groups' writeback flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) enum ActedOnBy {
    /// An enabled Cloud Sync group provisioning job scopes on it.
    CloudSync,
    /// No Cloud Sync job does: only Connect's discontinued group writeback v2 reads it.
    ConnectSyncV2,
    /// As `ConnectSyncV2`, and Connect's v2 is off.
    Nothing,
    /// Cloud Sync, or a job's scope, could not be read.
    Unknown,
}

/// Who acts on the flag when no Cloud Sync job does.
const V2: &str = "Entra Connect Sync's group writeback v2 does, which was discontinued on 30 June 2024 (Microsoft points security groups to Cloud Sync's group provisioning to AD)";

impl SecurityWriteback {
    /// The verdict from what Graph shows. `none_confirmed`: the operator confirms the tenant has
    /// no Cloud Sync group provisioning (`[policy] cloud_sync_group_provisioning = "none"`);
    /// without it, finding no group provisioning job is "unknown", since gwb cannot be sure to
    /// find every Cloud Sync configuration (GRAPH.md section 6).
    pub(crate) fn judge(
        cloud: Option<&CloudSync>,
        features: Option<&SyncFeatures>,
        none_confirmed: bool,
    ) -> Self {
        let scopes: Vec<Option<bool>> = cloud
            .filter(|c| c.readable)
            .map(|c| {
                group_jobs(c)
                    .iter()
                    .map(|j| j.scopes_on_writeback)
                    .collect()
            })
            .unwrap_or_default();
        let verdict = |by: ActedOnBy, jobs, explanation: String| SecurityWriteback {
            v1_alone: features.is_some_and(SyncFeatures::v1_alone),
            group_job_scopes: scopes.clone(),
            acted_on_by: by,
            cloud_sync_jobs: jobs,
            explanation,
        };
        let Some(cloud) = cloud.filter(|c| c.readable) else {
            return verdict(
                ActedOnBy::Unknown,
                Vec::new(),
                format!(
                    "gwb cannot tell who acts on their writeback flag: Cloud Sync's jobs could not be read (needs Application.Read.All and Synchronization.Read.All); without a Cloud Sync job that scopes on it, only {V2}"
                ),
            );
        };
        let name = CloudSyncJob::name;
        let group_jobs = group_jobs(cloud);
        let scoping: Vec<&CloudSyncJob> = group_jobs
            .iter()
            .copied()
            .filter(|j| j.scopes_on_writeback == Some(true))
            .collect();
        if !scoping.is_empty() {
            let names: Vec<String> = scoping.iter().map(|j| name(j)).collect();
            return verdict(
                ActedOnBy::CloudSync,
                scoping.iter().map(|j| j.job_id.clone()).collect(),
                format!(
                    "Cloud Sync scopes on their writeback flag and provisions them to AD as universal groups: {}",
                    names.join("; ")
                ),
            );
        }
        if group_jobs.is_empty() && !none_confirmed {
            return verdict(
                ActedOnBy::Unknown,
                Vec::new(),
                format!(
                    "gwb cannot tell who acts on their writeback flag: no Cloud Sync group provisioning job was found among the configurations gwb can find ({} Cloud Sync jobs in all), and no Microsoft page gives the template of an Entra-to-AD configuration, so that proves nothing. If the tenant has no Cloud Sync group provisioning, say so with [policy] cloud_sync_group_provisioning = \"none\"; then only {V2}",
                    cloud.jobs.len()
                ),
            );
        }
        if let Some(j) = group_jobs.iter().find(|j| j.scopes_on_writeback.is_none()) {
            return verdict(
                ActedOnBy::Unknown,
                Vec::new(),
                format!(
                    "gwb cannot tell whether Cloud Sync acts on their writeback flag: the scope of {} could not be read, or uses attributes gwb does not recognize (the portal's \"selected security groups\" mode, or a custom filter, decides by its own list)",
                    name(j)
                ),
            );
        }
        no_scoping_job(&group_jobs, features, verdict)
    }
}

/// The groups-to-AD jobs of Cloud Sync whose schedule is not disabled.
fn group_jobs(cloud: &CloudSync) -> Vec<&CloudSyncJob> {
    cloud
        .jobs
        .iter()
        .filter(|j| j.group_provisioning_to_ad)
        .filter(|j| {
            !j.schedule_state
                .as_deref()
                .is_some_and(|s| s.eq_ignore_ascii_case("Disabled"))
        })
        .collect()
}

impl CloudSyncJob {
    /// The agent and job, as the verdict names them.
    fn name(&self) -> String {
        let mut n = format!(
            "{} ({})",
            self.service_principal_name
                .as_deref()
                .unwrap_or(&self.service_principal_id),
            self.job_id
        );
        if self.quarantined {
            n.push_str(", quarantined");
        }
        n
    }
}

/// The verdict when every group job's scope is known and none scopes on the flag: Entra
/// Connect's v2 (as far as can be read) or nothing.
fn no_scoping_job(
    group_jobs: &[&CloudSyncJob],
    features: Option<&SyncFeatures>,
    verdict: impl Fn(ActedOnBy, Vec<String>, String) -> SecurityWriteback,
) -> SecurityWriteback {
    let others = if group_jobs.is_empty() {
        String::new()
    } else {
        format!(
            " ({} provisions groups to AD by its own scope, whatever their flag)",
            group_jobs
                .iter()
                .map(|j| j.name())
                .collect::<Vec<_>>()
                .join("; ")
        )
    };
    match features
        .filter(|f| f.readable)
        .and_then(|f| f.group_write_back_enabled)
    {
        Some(false) => verdict(
            ActedOnBy::Nothing,
            Vec::new(),
            format!(
                "nothing acts on their writeback flag: no Cloud Sync job scopes on it{others}, and Entra Connect's group writeback v2 is off"
            ),
        ),
        on => verdict(
            ActedOnBy::ConnectSyncV2,
            Vec::new(),
            format!(
                "no Cloud Sync job scopes on their writeback flag{others}, so only {V2}{}",
                if on == Some(true) {
                    "; v2 is still on in this tenant"
                } else {
                    "; whether v2 is still on could not be read"
                }
            ),
        ),
    }
}

/// `GET /beta/directory/onPremisesSynchronization`: whether Entra Connect writes groups back at
/// all. Readable only with a delegated token of a Global Administrator.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SyncFeatures {
    pub readable: bool,
    /// Writeback of Microsoft 365 groups (v1).
    pub unified_group_writeback_enabled: Option<bool>,
    /// Group writeback of further group kinds (v2, retired for security groups in 2024).
    pub group_write_back_enabled: Option<bool>,
    /// Why they could not be read.
    pub error: Option<String>,
}

impl SyncFeatures {
    /// Group writeback v1 runs without v2, as far as the features show it. The mapping rests on
    /// the onPremisesDirectorySynchronizationFeature resource page: `unifiedGroupWritebackEnabled`
    /// "Microsoft 365 Group write-back is enabled" (v1, Microsoft 365 groups as distribution
    /// groups), `groupWriteBackEnabled` "object-level group writeback feature for additional
    /// group types" (v2's two additions: the per-group flag, and group types beyond Microsoft
    /// 365). No page names `GroupWritebackV2` for it in so many words; unreadable features are
    /// "unknown", never v1.
    pub(crate) fn v1_alone(&self) -> bool {
        self.readable
            && self.unified_group_writeback_enabled == Some(true)
            && self.group_write_back_enabled == Some(false)
    }
}

#[cfg(test)]
mod security_writeback_tests {
    use super::*;

    fn job(scopes: Option<bool>, schedule: &str) -> CloudSyncJob {
        CloudSyncJob {
            service_principal_id: "sp".into(),
            service_principal_name: Some("contoso.com".into()),
            job_id: "AAD2ADGroupProvisioning.1.2".into(),
            group_provisioning_to_ad: true,
            schedule_state: Some(schedule.into()),
            scopes_on_writeback: scopes,
            ..Default::default()
        }
    }

    fn cloud(jobs: Vec<CloudSyncJob>) -> CloudSync {
        CloudSync {
            readable: true,
            jobs,
            error: None,
        }
    }

    fn v2(on: Option<bool>) -> SyncFeatures {
        SyncFeatures {
            readable: on.is_some(),
            group_write_back_enabled: on,
            ..Default::default()
        }
    }

    #[test]
    fn who_acts_on_the_flag() {
        let judge =
            |c: &CloudSync, f: &SyncFeatures| SecurityWriteback::judge(Some(c), Some(f), true);
        assert_eq!(
            judge(&cloud(vec![job(Some(true), "Active")]), &v2(None)).acted_on_by,
            ActedOnBy::CloudSync
        );
        // A disabled job provisions nothing.
        assert_eq!(
            judge(&cloud(vec![job(Some(true), "Disabled")]), &v2(Some(false))).acted_on_by,
            ActedOnBy::Nothing
        );
        assert_eq!(
            judge(&cloud(vec![job(None, "Active")]), &v2(Some(true))).acted_on_by,
            ActedOnBy::Unknown
        );
        let v = judge(&cloud(vec![job(Some(false), "Active")]), &v2(Some(true)));
        assert_eq!(v.acted_on_by, ActedOnBy::ConnectSyncV2);
        assert!(
            v.explanation.contains("by its own scope"),
            "{}",
            v.explanation
        );
        assert!(v.explanation.contains("still on"), "{}", v.explanation);
        let v = judge(&cloud(vec![]), &v2(None));
        assert_eq!(v.acted_on_by, ActedOnBy::ConnectSyncV2);
        assert!(
            v.explanation.contains("could not be read"),
            "{}",
            v.explanation
        );
        let unreadable = CloudSync {
            readable: false,
            jobs: vec![],
            error: Some("403".into()),
        };
        assert_eq!(
            judge(&unreadable, &v2(Some(false))).acted_on_by,
            ActedOnBy::Unknown
        );
    }
}
