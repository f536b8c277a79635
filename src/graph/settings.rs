//! The directory-settings endpoints gwb uses, typed: list, template, update, create, delete.
//! Graph's PATCH of a setting replaces its whole values array; the callers decide what array
//! to send (`writeback::setting`), this module only sends it.

use futures_util::{StreamExt, pin_mut};
use reqwest::Method;
use serde_json::json;

use super::model::{DirectorySetting, SettingId, SettingTemplate, SettingValue};
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
    let id = checked(id, "PATCH")?;
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
    let id = checked(id, "DELETE")?;
    let url = client.url(&format!("settings/{id}"));
    client.send(Method::DELETE, url, &[], None).await
}

/// `id` as a [`SettingId`], or the refusal to put it in a URL (nothing is sent).
fn checked(id: &str, method: &str) -> Result<SettingId, GraphError> {
    SettingId::parse(id).ok_or_else(|| GraphError::Malformed {
        method: method.into(),
        path: "/settings".into(),
        detail: format!(
            "{id:?} is not a directory setting id (a GUID); refusing to use it in a request"
        ),
        request_id: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Port 9 on loopback: were a request sent, it would fail as unreachable, not as malformed.
    fn client() -> GraphClient {
        GraphClient::builder(
            "http://127.0.0.1:9",
            std::sync::Arc::new(crate::auth::StaticToken::new("t")),
        )
        .build()
        .unwrap()
    }

    #[tokio::test]
    async fn a_setting_id_that_is_not_a_guid_never_goes_into_a_url() {
        for id in [
            "x/../../users",
            "",
            "62375ab9-6b52-47ed-826b-58e47e0e304b/../x",
        ] {
            let e = update(&client(), id, &[]).await.unwrap_err();
            assert!(
                matches!(&e, GraphError::Malformed { detail, .. } if detail.contains("not a directory setting id")),
                "{e}"
            );
            let e = delete(&client(), id).await.unwrap_err();
            assert!(matches!(e, GraphError::Malformed { .. }), "{e}");
        }
    }
}
