//! Mail through Graph, for notifications: `POST /users/{sender}/sendMail` (application permission
//! Mail.Send, which an application access policy should restrict to the sending mailbox).

use reqwest::Method;
use serde_json::Value;

use super::{GraphClient, GraphError};

/// Send `message` (a sendMail body) from `sender` (a UPN or object id).
pub(crate) async fn send(
    client: &GraphClient,
    sender: &str,
    message: &Value,
) -> Result<(), GraphError> {
    let mut url = client.url("users");
    url.path_segments_mut()
        .map_err(|()| GraphError::InvalidBase {
            url: client.url("").to_string(),
            reason: "the Graph root cannot take a path".into(),
        })?
        .push(sender)
        .push("sendMail");
    client
        .send(Method::POST, url, &[], Some(message))
        .await
        .map(|_| ())
}
