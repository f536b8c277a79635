//! Posting notifications: to the configured URL only (redirects are not followed), with a
//! timeout per attempt and up to three attempts on 429, 5xx or no answer, waiting 1 then 2 s
//! (through the Graph client's sleeper, so tests do not wait). Errors never name the URL.

use std::time::Duration;

use serde_json::Value;

use super::{Delivery, Destination, Event, Kind, Outcome};
use crate::graph::GraphClient;

const ATTEMPTS: u32 = 3;

/// Send `outcome` to every destination whose `on` rule says so.
pub(crate) async fn send_all(
    destinations: &[Destination],
    outcome: &Outcome,
    graph: &GraphClient,
) -> Vec<Delivery> {
    let mut out = Vec::new();
    for d in destinations {
        let Some(event) = outcome.event(d.on) else {
            continue;
        };
        let result = send_one(d, event, outcome, graph).await;
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
    o: &Outcome,
    graph: &GraphClient,
) -> Result<(), String> {
    let body = match d.kind {
        Kind::Teams => super::teams_body(event, o),
        Kind::Slack => super::slack_body(event, o),
        Kind::Webhook => super::webhook_body(event, o),
        Kind::Email => {
            let sender = d.sender.as_deref().ok_or("no sender")?;
            let message = super::email_message(event, o, &d.to);
            return crate::graph::mail::send(graph, sender, &message)
                .await
                .map_err(|e| e.to_string());
        }
    };
    let url = d.url.as_ref().ok_or("no url")?;
    post(url.secret(), &body, d.timeout, graph).await
}

/// POST `body` to `url`, retrying as the module says.
async fn post(
    url: &str,
    body: &Value,
    timeout: Duration,
    graph: &GraphClient,
) -> Result<(), String> {
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
            graph
                .sleeper()
                .sleep(Duration::from_secs(u64::from(attempt)))
                .await;
        }
    }
    Err(format!("{last} (after {ATTEMPTS} attempts)"))
}
