//! Posting notifications: to the configured URL only (redirects are not followed), with a
//! timeout per attempt and up to three attempts on 429, 5xx or no answer, waiting 1 then 2 s
//! (through the Graph client's sleeper, so tests do not wait). Errors never name the URL.

use std::time::Duration;

use serde_json::Value;

use super::{Delivery, Destination, Event, Kind, News};
use crate::graph::GraphClient;
use crate::graph::retry::Sleeper;

/// How a message travels: the sleeper that paces retries, and the client that sends mail
/// (none: mail cannot be sent, said as a failed delivery).
#[derive(Clone, Copy)]
pub(crate) struct Via<'a> {
    pub sleeper: &'a Sleeper,
    pub mail: Option<&'a GraphClient>,
}

impl<'a> Via<'a> {
    /// Through a tenant's own client.
    pub(crate) fn client(c: &'a GraphClient) -> Via<'a> {
        Via {
            sleeper: c.sleeper(),
            mail: Some(c),
        }
    }
}

const ATTEMPTS: u32 = 3;

/// Send `news` to every destination whose `on` rule says so.
pub(crate) async fn send_all(
    destinations: &[Destination],
    news: &dyn News,
    via: Via<'_>,
) -> Vec<Delivery> {
    let mut out = Vec::new();
    for d in destinations {
        let Some(event) = news.event(d.on) else {
            continue;
        };
        let result = send_one(d, event, news, via).await;
        if let Err(e) = &result {
            tracing::error!(
                kind = d.kind.as_str(),
                "the {} notification was not delivered: {}; the check's result and exit code stand",
                d.kind.as_str(),
                crate::output::safe(e)
            );
        }
        out.push(Delivery {
            kind: d.kind,
            event: Some(event),
            delivered: result.is_ok(),
            error: result.err(),
        });
    }
    out
}

async fn send_one(
    d: &Destination,
    event: Event,
    news: &dyn News,
    via: Via<'_>,
) -> Result<(), String> {
    let body = super::body(d, event, news);
    if d.kind == Kind::Email {
        let sender = d.sender.as_deref().ok_or("no sender")?;
        let graph = via.mail.ok_or(
            "no signed-in tenant to send the mail through (give the entry tenant = \"NAME\")",
        )?;
        return crate::graph::mail::send(graph, sender, &body)
            .await
            .map_err(|e| e.to_string());
    }
    let url = d.url.as_ref().ok_or("no url")?;
    post(url.secret(), &body, d.timeout, via.sleeper).await
}

/// POST `body` to `url`, retrying as the module says.
async fn post(url: &str, body: &Value, timeout: Duration, sleeper: &Sleeper) -> Result<(), String> {
    let parsed = url::Url::parse(url).map_err(|_| "the URL does not parse".to_string())?;
    let mut builder = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(timeout)
        .user_agent(concat!("gwb/", env!("CARGO_PKG_VERSION")));
    if crate::graph::is_loopback(&parsed) {
        builder = builder.no_proxy();
    }
    let http = builder.build().map_err(|e| e.without_url().to_string())?;
    let mut last = String::new();
    for attempt in 1..=ATTEMPTS {
        match http.post(parsed.clone()).json(body).send().await {
            Ok(r) if r.status().is_success() => return Ok(()),
            Ok(r) => {
                let status = r.status();
                last = format!("the receiver answered {status}");
                if !(status.as_u16() == 429 || status.is_server_error()) {
                    return Err(last);
                }
            }
            Err(e) => last = e.without_url().to_string(),
        }
        if attempt < ATTEMPTS {
            tracing::info!(
                attempt,
                "notification not delivered yet ({last}); trying again"
            );
            sleeper.sleep(Duration::from_secs(u64::from(attempt))).await;
        }
    }
    Err(format!("{last} (after {ATTEMPTS} attempts)"))
}
