//! What a fleet's check tells once for all its tenants, after the merged output: each
//! exception's expiry, naming the tenants it applies to, and the digest to every `[[notify]]`
//! destination with scope "fleet" (one message per destination per run).

use std::collections::BTreeMap;

use super::merge::Line;
use crate::notify::{Digest, Expiring, TenantLine};

/// The expiries of the tenants' checks, each once, with the tenants it applies to (sorted).
fn expiries(lines: &[Line]) -> Vec<Expiring> {
    let mut by: BTreeMap<(String, String, String), Expiring> = BTreeMap::new();
    for l in lines {
        for x in l.check.iter().flat_map(|c| &c.expiries) {
            let key = (x.expires.clone(), x.exception.clone(), x.reason.clone());
            by.entry(key)
                .or_insert_with(|| Expiring {
                    expiry: x.clone(),
                    tenants: Vec::new(),
                })
                .tenants
                .push(l.name.clone());
        }
    }
    by.into_values().collect()
}

/// Say each expiry once: expired ones as warnings, expiring ones as notices.
pub(crate) fn say_expiries(lines: &[Line]) {
    for e in expiries(lines) {
        let line = crate::output::safe(&format!(
            "{} ({} {})",
            e.expiry.message(),
            if e.tenants.len() == 1 {
                "tenant"
            } else {
                "tenants"
            },
            e.tenants.join(", ")
        ))
        .into_owned();
        if e.expiry.in_days < 0 {
            tracing::warn!("{line}");
        } else {
            crate::output::notice(&line);
        }
    }
}

/// The digest of the fleet's check: every tenant's counts (sorted by name) and the exceptions
/// that expire soon.
pub(crate) fn digest(lines: &[Line]) -> Digest {
    let tenants = lines
        .iter()
        .map(|l| TenantLine {
            name: l.name.clone(),
            tenant_id: l.tenant_id.clone(),
            ok: l.ok,
            exit_code: l.code,
            counts: l
                .check
                .as_ref()
                .map(|c| c.tally.clone())
                .unwrap_or_default(),
            error: l.error.clone(),
        })
        .collect();
    let expiring = expiries(lines)
        .into_iter()
        .filter(|e| e.expiry.in_days >= 0)
        .collect();
    Digest {
        run: crate::notify::Run::this("check"),
        tenants,
        expiring,
    }
}

/// Send the digest to `destinations` (mail through `mail`, the client of the tenant the entry
/// names).
pub(crate) async fn send(
    destinations: &[crate::notify::Destination],
    lines: &[Line],
    mail: Option<&crate::graph::GraphClient>,
) {
    if destinations.is_empty() {
        return;
    }
    let d = digest(lines);
    let sleeper = crate::graph::retry::Sleeper::real();
    let via = crate::notify::deliver::Via {
        sleeper: mail.map_or(&sleeper, |c| c.sleeper()),
        mail,
    };
    let sent = crate::notify::deliver::send_all(destinations, &d, via).await;
    crate::notify::announce(&sent);
}
