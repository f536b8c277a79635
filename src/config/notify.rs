//! `[[notify]]` entries resolved: each webhook URL read from the environment variable or file
//! the entry names (never from the file itself, never from a flag: it is a secret), checked to
//! be https (http only to this machine, for tests), never echoed in an error.

use std::time::Duration;

use azure_core::credentials::Secret;

use super::file::NotifyEntry;
use super::{ConfigError, Layers};
use crate::notify::{Destination, Kind, Scope};

/// The destinations, or the first that cannot be resolved (kept, not raised: only `check` and
/// `--notify-test` need them); and warnings about secret files others may read.
pub(super) fn resolve(layers: &Layers) -> (Result<Vec<Destination>, ConfigError>, Vec<String>) {
    let mut warnings = Vec::new();
    let destinations = layers
        .file
        .notify
        .iter()
        .enumerate()
        .map(|(i, e)| one(layers, i + 1, e, &mut warnings))
        .collect();
    (destinations, warnings)
}

fn one(
    layers: &Layers,
    n: usize,
    e: &NotifyEntry,
    warnings: &mut Vec<String>,
) -> Result<Destination, ConfigError> {
    let bad = |detail: String| ConfigError::File {
        path: layers.file_path.clone().unwrap_or_default(),
        detail: format!("[[notify]] number {n}: {detail}"),
    };
    let kind = e.kind.ok_or_else(|| {
        bad("kind is required: \"teams\", \"slack\", \"webhook\" or \"email\"".into())
    })?;
    let timeout =
        crate::config::seconds("timeout_seconds", e.timeout_seconds.unwrap_or(10.0), false)
            .map_err(|u| bad(u.0))?;
    let url = match kind {
        Kind::Email => {
            if e.url_env.is_some() || e.url_file.is_some() {
                return Err(bad("email takes to and sender, not a URL".into()));
            }
            if e.to.is_empty() || e.sender.as_deref().is_none_or(|s| s.trim().is_empty()) {
                return Err(bad(
                    "email needs to = [addresses] and sender (the mailbox that sends)".into(),
                ));
            }
            None
        }
        _ => Some(url(layers, e, &bad, warnings)?),
    };
    let scope = e.scope.unwrap_or_default();
    if let Some(t) = &e.tenant {
        if kind != Kind::Email || scope != Scope::Fleet {
            return Err(bad(
                "tenant names the tenant whose sign-in sends a fleet digest's mail: it goes with kind = \"email\" and scope = \"fleet\" only".into(),
            ));
        }
        if !layers.tenant_names.contains(t) {
            return Err(bad(format!(
                "tenant = {t:?}: no [[tenants]] entry has that name"
            )));
        }
    } else if kind == Kind::Email && scope == Scope::Fleet {
        return Err(bad(
            "email with scope = \"fleet\" needs tenant = \"NAME\": the [[tenants]] entry whose sign-in sends the digest (its app needs Mail.Send, and the sender's mailbox is in that tenant)".into(),
        ));
    }
    if let Some(r) = &e.report_url {
        let ok = url::Url::parse(&r.replace("{tenant}", "t"))
            .is_ok_and(|u| matches!(u.scheme(), "https" | "http"));
        if !ok {
            return Err(bad(format!(
                "report_url {r:?} is not an http(s) URL (write {{tenant}} where the tenant's name goes)"
            )));
        }
    }
    Ok(Destination {
        kind,
        scope,
        report_url: e.report_url.clone(),
        mail_tenant: e.tenant.clone(),
        on: e.on.unwrap_or_default(),
        url,
        to: e.to.clone(),
        sender: e.sender.clone(),
        timeout: Duration::max(timeout, Duration::from_millis(100)),
    })
}

fn url(
    layers: &Layers,
    e: &NotifyEntry,
    bad: &dyn Fn(String) -> ConfigError,
    warnings: &mut Vec<String>,
) -> Result<Secret, ConfigError> {
    let value = match (&e.url_env, &e.url_file) {
        (Some(var), None) => layers
            .env(var)
            .ok_or_else(|| bad(format!("url_env {var} is not set (or empty)")))?,
        (None, Some(p)) => {
            let path = layers.relative_to_file(p.clone());
            // Like every other secret file: the URL carries the webhook's secret.
            warnings.extend(super::secrets::shared_secret_warning(
                &path,
                "a webhook URL",
            ));
            std::fs::read_to_string(&path)
                .map_err(|err| bad(format!("url_file {}: {err}", path.display())))?
                .trim()
                .to_string()
        }
        _ => {
            return Err(bad(
                "give the webhook URL with url_env (a variable's name) or url_file (a file's path), one of them; never the URL itself".into(),
            ));
        }
    };
    let ok = url::Url::parse(&value).is_ok_and(|u| {
        u.scheme() == "https" || (u.scheme() == "http" && crate::graph::is_loopback(&u))
    });
    if !ok {
        // Never the value: it is a secret.
        return Err(bad("the webhook URL is not an https URL".into()));
    }
    Ok(Secret::new(value))
}
