//! The groups endpoints gwb uses, as typed requests: commands say what they want (list the
//! groups, read or patch one group's writeback, count members); the routes, methods and bodies
//! live here.

use reqwest::Method;
use serde_json::json;
use url::Url;

use super::GraphClient;
use super::batch::SubRequest;
use super::model::{GROUP_SELECT, WritebackConfiguration};

/// The listing of every group with the properties gwb needs, 999 per page.
pub fn list_url(client: &GraphClient) -> Url {
    let mut url = client.url("groups");
    url.query_pairs_mut()
        .append_pair("$select", GROUP_SELECT)
        .append_pair("$top", "999");
    url
}

/// `$batch` item: read one group (its writeback and kind).
pub fn get(key: usize, id: &str) -> SubRequest {
    SubRequest {
        key,
        method: Method::GET,
        url: format!("/groups/{id}?$select={GROUP_SELECT}"),
        body: None,
        headers: Vec::new(),
    }
}

/// `$batch` item: set one group's `writebackConfiguration` to `to` (both fields, as read just
/// before: see `commands::apply` for why).
pub fn patch_writeback(key: usize, id: &str, to: &WritebackConfiguration) -> SubRequest {
    SubRequest {
        key,
        method: Method::PATCH,
        url: format!("/groups/{id}"),
        body: Some(json!({"writebackConfiguration": {
            "isEnabled": to.is_enabled,
            "onPremisesGroupType": to.on_premises_group_type,
        }})),
        headers: Vec::new(),
    }
}

/// `$batch` item: count one group's members (`ConsistencyLevel: eventual` is required).
pub fn member_count(key: usize, id: &str) -> SubRequest {
    SubRequest {
        key,
        method: Method::GET,
        url: format!("/groups/{id}/members/$count"),
        body: None,
        headers: vec![("ConsistencyLevel", "eventual")],
    }
}
