//! The directory-settings endpoints gwb uses, typed: list, template, update, create, delete.
//! Graph's PATCH of a setting replaces its whole values array; the callers decide what array
//! to send (`writeback::setting`), this module only sends it.

use futures_util::{StreamExt, pin_mut};
use reqwest::Method;
use serde_json::json;

use super::model::{DirectorySetting, SettingTemplate, SettingValue};
use super::{GraphClient, GraphError, GraphResponse};

/// Every directory setting (one page in practice; nextLinks are followed anyway).
pub(crate) async fn list(client: &GraphClient) -> Result<Vec<DirectorySetting>, GraphError> {
    let stream = client.pages::<DirectorySetting>(client.url("settings"), Vec::new());
    pin_mut!(stream);
    let mut all = Vec::new();
    while let Some(page) = stream.next().await {
        all.extend(page?);
    }
    Ok(all)
}

/// A directory setting template, with its values and defaults.
pub(crate) async fn template(
    client: &GraphClient,
    id: &str,
) -> Result<SettingTemplate, GraphError> {
    let url = client.url(&format!("directorySettingTemplates/{id}"));
    client.get_json(url, &[]).await
}

/// Replace setting `id`'s values with `values` (the whole array).
pub(crate) async fn update(
    client: &GraphClient,
    id: &str,
    values: &[SettingValue],
) -> Result<GraphResponse, GraphError> {
    let url = client.url(&format!("settings/{id}"));
    client.shared_write_permit(1).await;
    client
        .send(Method::PATCH, url, &[], Some(&json!({ "values": values })))
        .await
}

/// Create a setting from `template_id` with `values`; the answer's body is the new setting.
pub async fn create(
    client: &GraphClient,
    template_id: &str,
    values: &[SettingValue],
) -> Result<GraphResponse, GraphError> {
    let body = json!({"templateId": template_id, "values": values});
    client.shared_write_permit(1).await;
    client
        .send(Method::POST, client.url("settings"), &[], Some(&body))
        .await
}

/// The id of the setting a create answered with, when its body says.
pub(crate) fn created_id(resp: &GraphResponse) -> Option<String> {
    serde_json::from_slice::<DirectorySetting>(&resp.body)
        .ok()
        .map(|s| s.id)
}

/// Delete setting `id`.
pub(crate) async fn delete(client: &GraphClient, id: &str) -> Result<GraphResponse, GraphError> {
    let url = client.url(&format!("settings/{id}"));
    client.send(Method::DELETE, url, &[], None).await
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
