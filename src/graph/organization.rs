//! The tenant's own record (`GET /organization`): its id and its default domain, so a prompt
//! can name the tenant as `az` names the subscription. Readable with Organization.Read.All (or
//! any directory read permission); without one, gwb names the tenant by id only.

use serde::Deserialize;

use super::GraphClient;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Organization {
    id: String,
    #[serde(default)]
    verified_domains: Vec<VerifiedDomain>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct VerifiedDomain {
    name: String,
    #[serde(default)]
    is_default: bool,
}

#[derive(Debug, Deserialize)]
struct Page {
    value: Vec<Organization>,
}

/// The tenant's id and default domain, or `None` when Graph does not say (no permission, an
/// error): naming the tenant is a courtesy, never a reason to stop.
pub(crate) async fn who(client: &GraphClient) -> Option<(String, Option<String>)> {
    let mut url = client.url("organization");
    url.query_pairs_mut()
        .append_pair("$select", "id,verifiedDomains");
    match client.get_json::<Page>(url, &[]).await {
        Ok(page) => page.value.into_iter().next().map(|o| {
            let domain = o
                .verified_domains
                .into_iter()
                .find(|d| d.is_default)
                .map(|d| d.name);
            (o.id, domain)
        }),
        Err(e) => {
            tracing::debug!("the tenant's organization record is not readable: {e}");
            None
        }
    }
}
