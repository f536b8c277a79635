//! Notifications: after `check`, tell Teams, Slack, a webhook or a mailbox what drifted, what is
//! new and what was resolved. The payloads are pure functions of the check's result (golden-
//! tested); delivery (`deliver`) posts them with a timeout and a few retries, to the configured
//! URL only (no redirects). A failed delivery never changes the check's exit code: it is an
//! error log line and an entry in the JSON output's `notifications`.
//!
//! Webhook URLs carry their secret in the URL itself: they come from an environment variable or
//! a file named in the config (`url_env`, `url_file`), are kept as secrets, and are never
//! printed or logged.

pub(crate) mod deliver;

use azure_core::credentials::Secret;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// Where a notification goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Kind {
    /// A Teams Workflows webhook ("Post to a channel when a webhook request is received"):
    /// an Adaptive Card. (Office 365 connectors are being retired.)
    Teams,
    /// A Slack incoming webhook: Block Kit text.
    Slack,
    /// Any receiver: the generic JSON document (schemaVersion 1).
    Webhook,
    /// Mail through Graph `POST /users/{sender}/sendMail` (Mail.Send).
    Email,
}

impl Kind {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Kind::Teams => "teams",
            Kind::Slack => "slack",
            Kind::Webhook => "webhook",
            Kind::Email => "email",
        }
    }
}

/// When a destination is told.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum On {
    /// New or resolved items, or an error (the default: a quiet night says nothing).
    #[default]
    Change,
    /// Every run with drift (and errors).
    Drift,
    /// Every run.
    Always,
}

/// One configured destination, resolved (the URL read from where the config says).
#[derive(Debug, Clone)]
pub(crate) struct Destination {
    pub kind: Kind,
    pub on: On,
    /// Teams, Slack, webhook: where to post (a secret).
    pub url: Option<Secret>,
    /// Email: recipients and the mailbox that sends.
    pub to: Vec<String>,
    pub sender: Option<String>,
    pub timeout: std::time::Duration,
}

/// What the run came to, for the notification.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Event {
    /// Something new drifted (or, with `on = "drift"`, drift remains).
    Drift,
    /// Only resolutions happened.
    Resolved,
    /// Nothing drifts and nothing changed (`on = "always"` only).
    Compliant,
    /// The run failed.
    Error,
}

/// The check's result as notifications carry it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Outcome {
    pub tenant: Tenant,
    pub compliant: bool,
    pub new: Vec<Value>,
    pub persisting: Vec<Value>,
    pub resolved: Vec<Value>,
    pub excepted: Vec<Value>,
    pub run: Run,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Tenant {
    pub id: Option<String>,
    pub graph_root: String,
    /// The config file's name for the tenant (`--tenant NAME`, a fleet run).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Run {
    pub id: String,
    pub started_at: String,
    pub command: String,
}

impl Run {
    /// This process's run of `command`.
    pub(crate) fn this(command: &str) -> Run {
        Run {
            id: crate::clock::this_run_id(),
            started_at: crate::clock::this_run_started(),
            command: command.into(),
        }
    }
}

impl Outcome {
    /// The news of a check that failed before it had a result.
    pub(crate) fn failed(tenant: Tenant, error: String) -> Outcome {
        Outcome {
            tenant,
            compliant: false,
            new: Vec::new(),
            persisting: Vec::new(),
            resolved: Vec::new(),
            excepted: Vec::new(),
            run: Run::this("check"),
            error: Some(error),
        }
    }

    /// The event this outcome is, for a destination told `on`; `None`: say nothing.
    pub(crate) fn event(&self, on: On) -> Option<Event> {
        let drift = !self.new.is_empty() || !self.persisting.is_empty();
        match (self.error.is_some(), on) {
            (true, _) => Some(Event::Error),
            _ if !self.new.is_empty() => Some(Event::Drift),
            (false, On::Change) if !self.resolved.is_empty() => Some(Event::Resolved),
            (false, On::Change) => None,
            (false, On::Drift) if drift => Some(Event::Drift),
            (false, On::Drift) => None,
            (false, On::Always) if drift => Some(Event::Drift),
            (false, On::Always) if !self.resolved.is_empty() => Some(Event::Resolved),
            (false, On::Always) => Some(Event::Compliant),
        }
    }
}

/// The generic webhook document (a contract: schemaVersion 1, in the README).
pub(crate) fn webhook_body(event: Event, o: &Outcome) -> Value {
    let mut v = json!({
        "schemaVersion": 1,
        "event": event,
        "tenant": o.tenant,
        "compliant": o.compliant,
        "new": o.new,
        "persisting": o.persisting,
        "resolved": o.resolved,
        "excepted": o.excepted,
        "run": o.run,
    });
    if let Some(e) = &o.error {
        v["error"] = json!(e);
    }
    v
}

/// A name or message from Graph made harmless as text: a URL scheme's `://` is broken
/// (`https[:]//...`), so no chat client or mail reader turns it into a link. (Anyone who may
/// create a group chooses its name.)
fn defang(s: &str) -> String {
    s.replace("://", "[:]//")
}

/// Text from Graph for an Adaptive Card's Markdown, shown as written: line breaks become
/// spaces (so nothing starts a line: no heading, list marker or quote; every line the card
/// shows starts with gwb's own words), and every character that means something inside a line
/// (links and images, emphasis, code, strike-through, HTML-looking tags, headings' `#`) is
/// escaped with a backslash. A group named `[Sign in again](https://...)` links nothing.
fn teams_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in defang(s).chars() {
        match c {
            '\r' | '\n' => out.push(' '),
            '\\' | '`' | '*' | '_' | '[' | ']' | '(' | ')' | '~' | '<' | '>' | '!' | '#' | '|' => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

/// A line for people: what happened, in counts; `esc` is applied to what came from Graph.
fn headline(event: Event, o: &Outcome, esc: fn(&str) -> String) -> String {
    let id = o.tenant.id.as_deref().unwrap_or("(tenant id unknown)");
    let tenant = match &o.tenant.name {
        Some(name) => format!("{name} ({id})"),
        None => id.to_string(),
    };
    match event {
        Event::Error => format!(
            "gwb check failed for tenant {tenant}: {}",
            esc(o.error.as_deref().unwrap_or(""))
        ),
        _ => format!(
            "gwb check, tenant {tenant}: {} new, {} persisting, {} resolved, {} excepted{}",
            o.new.len(),
            o.persisting.len(),
            o.resolved.len(),
            o.excepted.len(),
            if o.compliant { "; compliant" } else { "" }
        ),
    }
}

/// The first few items of a list, as lines; `esc` is applied to what came from Graph.
fn first_items(items: &[Value], label: &str, esc: fn(&str) -> String) -> Vec<String> {
    const SHOWN: usize = 5;
    let name = |v: &Value| {
        let id = v["id"].as_str().unwrap_or("");
        match v["displayName"].as_str() {
            Some(n) => format!("{} ({})", esc(n), esc(id)),
            None => esc(v["target"].as_str().unwrap_or(id)),
        }
    };
    let mut lines: Vec<String> = items
        .iter()
        .take(SHOWN)
        .map(|v| format!("{label}: {}", name(v)))
        .collect();
    if items.len() > SHOWN {
        lines.push(format!("and {} more {label}", items.len() - SHOWN));
    }
    lines
}

fn detail_lines(o: &Outcome, esc: fn(&str) -> String) -> Vec<String> {
    let mut lines = first_items(&o.new, "new", esc);
    lines.extend(first_items(&o.resolved, "resolved", esc));
    lines
}

/// A Teams Workflows message: one Adaptive Card with the counts and the first few items.
pub(crate) fn teams_body(event: Event, o: &Outcome) -> Value {
    let mut body = vec![json!({
        "type": "TextBlock",
        "text": headline(event, o, teams_escape),
        "weight": "Bolder",
        "wrap": true
    })];
    for l in detail_lines(o, teams_escape) {
        body.push(json!({"type": "TextBlock", "text": l, "wrap": true, "spacing": "None"}));
    }
    body.push(json!({
        "type": "TextBlock",
        "text": format!("Graph: {}, run {}", o.tenant.graph_root, o.run.id),
        "isSubtle": true,
        "wrap": true
    }));
    json!({
        "type": "message",
        "attachments": [{
            "contentType": "application/vnd.microsoft.card.adaptive",
            "contentUrl": null,
            "content": {
                "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                "type": "AdaptiveCard",
                "version": "1.4",
                "body": body
            }
        }]
    })
}

/// Text for Slack: `&`, `<` and `>` escaped as Slack asks, so a group named `<!channel>`
/// pings no one and links nothing.
fn slack_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// A Slack message: a text fallback and Block Kit sections.
pub(crate) fn slack_body(event: Event, o: &Outcome) -> Value {
    let head = slack_escape(&headline(event, o, defang));
    let mut blocks =
        vec![json!({"type": "section", "text": {"type": "mrkdwn", "text": format!("*{head}*")}})];
    let details: Vec<String> = detail_lines(o, defang)
        .iter()
        .map(|l| slack_escape(l))
        .collect();
    if !details.is_empty() {
        blocks.push(
            json!({"type": "section", "text": {"type": "mrkdwn", "text": details.join("\n")}}),
        );
    }
    blocks.push(json!({"type": "context", "elements": [{"type": "mrkdwn", "text": format!("Graph: {}, run {}", o.tenant.graph_root, o.run.id)}]}));
    json!({"text": head, "blocks": blocks})
}

/// The mail: a subject and a plain-text body (`contentType: Text`, so no markup to escape; URLs
/// in names are broken so a mail reader links nothing).
pub(crate) fn email_message(event: Event, o: &Outcome, to: &[String]) -> Value {
    let mut text = vec![headline(event, o, defang), String::new()];
    text.extend(detail_lines(o, defang));
    text.push(String::new());
    text.push(format!("Graph: {}, run {}", o.tenant.graph_root, o.run.id));
    json!({
        "message": {
            "subject": headline(event, o, defang),
            "body": {"contentType": "Text", "content": text.join("\n")},
            "toRecipients": to.iter().map(|a| json!({"emailAddress": {"address": a}})).collect::<Vec<_>>()
        },
        "saveToSentItems": false
    })
}

/// What became of one notification (in the check's JSON output).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Delivery {
    pub kind: Kind,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event: Option<Event>,
    pub delivered: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Where and how a check's news goes: the destinations, the client that sends mail, what is
/// left of the run's `--deadline`, and the tenant (for the news of a run that failed).
pub(crate) struct Sending<'a> {
    pub destinations: &'a [Destination],
    pub client: &'a crate::graph::GraphClient,
    pub deadline: Option<std::time::Instant>,
    pub tenant: Tenant,
}

/// After `gwb check`: tell the destinations what it found (its `news`, built after the output
/// was printed), or that it failed (event "error"; the error itself stays the run's result).
/// The only place a check's notifications are sent from: the command returns its result and
/// never sends.
pub(crate) async fn after_check(
    to: Sending<'_>,
    checked: anyhow::Result<(crate::error::ExitStatus, Option<Outcome>)>,
) -> anyhow::Result<crate::error::ExitStatus> {
    if to.destinations.is_empty() {
        return checked.map(|(status, _)| status);
    }
    match checked {
        Ok((status, news)) => {
            if let Some(o) = news {
                send_in_time(&to, &o).await;
            }
            Ok(status)
        }
        Err(e) => {
            let o = Outcome::failed(
                to.tenant.clone(),
                crate::output::safe(&format!("{e:#}")).into_owned(),
            );
            send_in_time(&to, &o).await;
            Err(e)
        }
    }
}

/// What is kept back from the deadline for ending the run after the notifications.
const NOTIFY_MARGIN: std::time::Duration = std::time::Duration::from_secs(2);

/// Send `o` to `destinations`, given only what is left of the run's deadline less a margin: a
/// receiver that accepts and never answers cannot turn the check's exit code into a timeout.
async fn send_in_time(to: &Sending<'_>, o: &Outcome) {
    let left = to.deadline.map(|d| {
        d.saturating_duration_since(std::time::Instant::now())
            .saturating_sub(NOTIFY_MARGIN)
    });
    let send = deliver::send_all(to.destinations, o, to.client);
    let sent = match left {
        Some(left) => match tokio::time::timeout(left, send).await {
            Ok(sent) => sent,
            Err(_) => {
                tracing::error!(
                    "notifications were not all sent within what is left of --deadline ({} s); the check's result and exit code stand",
                    left.as_secs()
                );
                return;
            }
        },
        None => send.await,
    };
    // Failures are logged as errors where they happen; the rest is said for people.
    for d in sent.iter().filter(|d| d.delivered) {
        crate::output::notice(&format!("notified {}", d.kind.as_str()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(new: usize, resolved: usize, error: bool) -> Outcome {
        let item = |i: usize| json!({"target": "group", "id": format!("id-{i}"), "displayName": "<!channel> & co"});
        Outcome {
            tenant: Tenant {
                id: Some("t".into()),
                graph_root: "https://graph.microsoft.com".into(),
                name: None,
            },
            compliant: new == 0,
            new: (0..new).map(item).collect(),
            persisting: Vec::new(),
            resolved: (0..resolved).map(item).collect(),
            excepted: Vec::new(),
            run: Run {
                id: "r".into(),
                started_at: "s".into(),
                command: "check".into(),
            },
            error: error.then(|| "graph unreachable".into()),
        }
    }

    #[test]
    fn the_change_rule_speaks_on_news_only() {
        assert_eq!(outcome(1, 0, false).event(On::Change), Some(Event::Drift));
        assert_eq!(
            outcome(0, 2, false).event(On::Change),
            Some(Event::Resolved)
        );
        assert_eq!(outcome(0, 0, false).event(On::Change), None);
        assert_eq!(outcome(0, 0, true).event(On::Change), Some(Event::Error));
        let mut persisting = outcome(0, 0, false);
        persisting.persisting = vec![json!({})];
        assert_eq!(persisting.event(On::Change), None);
        assert_eq!(persisting.event(On::Drift), Some(Event::Drift));
        assert_eq!(
            outcome(0, 0, false).event(On::Always),
            Some(Event::Compliant)
        );
    }

    #[test]
    fn a_group_named_like_a_phishing_link_links_nothing_anywhere() {
        let mut o = outcome(1, 0, false);
        let bait = "[Sign in again](https://evil.example/login) **urgent** # <b>x</b>";
        o.new[0]["displayName"] = json!(bait);
        let teams = teams_body(Event::Drift, &o).to_string();
        assert!(!teams.contains("](http"), "{teams}");
        assert!(!teams.contains("https://evil"), "{teams}");
        assert!(
            teams.contains(r"\\[Sign in again\\]\\(https\\[:\\]//evil.example/login\\)"),
            "{teams}"
        );
        assert!(!teams.contains("**urgent"), "{teams}");
        let slack = slack_body(Event::Drift, &o).to_string();
        assert!(
            !slack.contains("https://evil") && !slack.contains("<b>"),
            "{slack}"
        );
        let mail = email_message(Event::Drift, &o, &[]).to_string();
        assert!(!mail.contains("https://evil"), "{mail}");
        // The machine-readable webhook carries the name as Graph has it.
        assert_eq!(
            webhook_body(Event::Drift, &o)["new"][0]["displayName"],
            bait
        );
    }

    #[test]
    fn slack_text_cannot_ping_or_link() {
        let body = slack_body(Event::Drift, &outcome(1, 0, false));
        let text = body.to_string();
        assert!(!text.contains("<!channel>"), "{text}");
        assert!(text.contains("&lt;!channel&gt; &amp; co"), "{text}");
    }

    #[test]
    fn the_mail_is_a_send_mail_body_with_every_recipient() {
        let to = vec!["a@contoso.com".to_string(), "b@contoso.com".to_string()];
        let m = email_message(Event::Error, &outcome(0, 0, true), &to);
        assert!(
            m["message"]["subject"]
                .as_str()
                .unwrap()
                .contains("gwb check failed")
        );
        assert_eq!(m["message"]["body"]["contentType"], "Text");
        assert_eq!(
            m["message"]["toRecipients"][1]["emailAddress"]["address"],
            "b@contoso.com"
        );
        assert_eq!(m["saveToSentItems"], false);
        let w = webhook_body(Event::Error, &outcome(0, 0, true));
        assert_eq!(w["event"], "error");
        assert_eq!(w["error"], "graph unreachable");
    }

    #[test]
    fn long_lists_show_the_first_five() {
        let lines = detail_lines(&outcome(8, 0, false), defang);
        assert_eq!(lines.len(), 6);
        assert_eq!(lines[5], "and 3 more new");
    }

    #[test]
    fn a_fleet_tenant_is_named_in_the_headline_and_the_payload() {
        let mut o = outcome(2, 0, false);
        o.tenant.name = Some("contoso".into());
        let head = headline(Event::Drift, &o, defang);
        assert!(head.contains("tenant contoso (t)"), "{head}");
        assert_eq!(serde_json::to_value(&o.tenant).unwrap()["name"], "contoso");
        o.tenant.name = None;
        assert!(
            serde_json::to_value(&o.tenant)
                .unwrap()
                .get("name")
                .is_none()
        );
    }
}
