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

use crate::writeback::policy::Expiry;

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

/// What a destination is told about: each tenant, or the whole run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Scope {
    /// One message per tenant (the default).
    #[default]
    Tenant,
    /// One message per run over all its tenants: the digest (a run of one tenant sends a
    /// digest of one).
    Fleet,
}

/// One configured destination, resolved (the URL read from where the config says).
#[derive(Debug, Clone)]
pub(crate) struct Destination {
    pub kind: Kind,
    pub on: On,
    pub scope: Scope,
    /// A link to a report, `{tenant}` replaced by the tenant's name (or id; `fleet` in a
    /// digest's own link).
    pub report_url: Option<String>,
    /// Email with scope "fleet": the `[[tenants]]` entry whose sign-in sends the mail.
    pub mail_tenant: Option<String>,
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
    /// Only an exception's expiry is news (reminders 14, 7, 3 and 1 days before, and on the
    /// last day).
    Expiring,
}

impl Event {
    /// The colour a card shows: Adaptive Cards' name and a hex colour for Slack.
    fn colour(self) -> (&'static str, &'static str) {
        match self {
            Event::Error => ("Attention", "#cf222e"),
            Event::Drift | Event::Expiring => ("Warning", "#9a6700"),
            Event::Resolved | Event::Compliant => ("Good", "#1a7f37"),
        }
    }
}

/// The days before an exception's last day on which its expiry alone is news.
const REMINDER_DAYS: [i64; 5] = [14, 7, 3, 1, 0];

fn reminds(expiring: &[Expiry]) -> bool {
    expiring.iter().any(|x| REMINDER_DAYS.contains(&x.in_days))
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
    /// Exceptions in force about what the tenant has that expire within 14 days.
    pub expiring: Vec<Expiry>,
    pub run: Run,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The check's exit code (not in the payload: the digest carries it per tenant).
    #[serde(skip)]
    pub exit_code: u8,
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
    pub gwb_version: String,
}

impl Run {
    /// This process's run of `command`.
    pub(crate) fn this(command: &str) -> Run {
        Run {
            id: crate::clock::this_run_id(),
            started_at: crate::clock::this_run_started(),
            command: command.into(),
            gwb_version: env!("CARGO_PKG_VERSION").into(),
        }
    }
}

impl Tenant {
    /// The tenant as people read it: its name and id, as far as they are known.
    pub(crate) fn words(&self) -> String {
        match (&self.name, &self.id) {
            (Some(n), Some(id)) => format!("{n} ({id})"),
            (Some(n), None) => n.clone(),
            (None, Some(id)) => id.clone(),
            (None, None) => "(id unknown)".into(),
        }
    }

    /// The name a report link's `{tenant}` stands for.
    fn link_name(&self) -> &str {
        self.name
            .as_deref()
            .or(self.id.as_deref())
            .unwrap_or("tenant")
    }
}

/// `template` with `{tenant}` replaced by `name`, made safe inside a Markdown link.
fn link(template: &str, name: &str) -> String {
    template
        .replace("{tenant}", name)
        .replace(' ', "%20")
        .replace('(', "%28")
        .replace(')', "%29")
        .replace('<', "%3C")
        .replace('>', "%3E")
        .replace('|', "%7C")
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
            expiring: Vec::new(),
            run: Run::this("check"),
            error: Some(error),
            exit_code: 1,
        }
    }

    /// The event this outcome is, for a destination told `on`; `None`: say nothing.
    pub(crate) fn event(&self, on: On) -> Option<Event> {
        let drift = !self.new.is_empty() || !self.persisting.is_empty();
        match (self.error.is_some(), on) {
            (true, _) => Some(Event::Error),
            _ if !self.new.is_empty() => Some(Event::Drift),
            (false, On::Change) if !self.resolved.is_empty() => Some(Event::Resolved),
            (false, On::Drift) if drift => Some(Event::Drift),
            (false, On::Change | On::Drift) if reminds(&self.expiring) => Some(Event::Expiring),
            (false, On::Change | On::Drift) => None,
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
        "expiring": o.expiring,
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
    let tenant = o.tenant.words();
    match event {
        Event::Error => format!(
            "gwb check failed for tenant {tenant}: {}",
            esc(o.error.as_deref().unwrap_or(""))
        ),
        Event::Expiring => format!(
            "gwb check, tenant {tenant}: {} expiring soon",
            if o.expiring.len() == 1 {
                "an exception is".to_string()
            } else {
                format!("{} exceptions are", o.expiring.len())
            }
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
    if let Some(age) = oldest_age(o.persisting.iter().chain(&o.new)) {
        lines.push(format!("the oldest drift has lasted {age}"));
    }
    lines.extend(o.expiring.iter().map(|x| esc(&x.message())));
    lines
}

/// How long the oldest of `items` (by `firstSeen`) has drifted, when that is a day or more.
fn oldest_age<'v>(items: impl Iterator<Item = &'v Value>) -> Option<String> {
    let oldest = items.filter_map(|v| v["firstSeen"].as_str()).min()?;
    crate::writeback::history::age(oldest, &crate::clock::now_rfc3339()).filter(|a| a != "today")
}

/// A message as every kind renders it: a headline and lines (escaped for the kind when the
/// card was made), a footer, a colour by outcome, and a link to a report.
pub(crate) struct Card {
    event: Event,
    head: String,
    lines: Vec<String>,
    foot: String,
    link: Option<String>,
}

/// A tenant's check as a card; `esc` is applied to what came from Graph.
fn tenant_card(event: Event, o: &Outcome, esc: fn(&str) -> String, report: Option<&str>) -> Card {
    Card {
        event,
        head: headline(event, o, esc),
        lines: detail_lines(o, esc),
        foot: format!("Graph: {}, run {}", o.tenant.graph_root, o.run.id),
        link: report.map(|t| link(t, o.tenant.link_name())),
    }
}

/// A Teams Workflows message: one Adaptive Card, its headline coloured by outcome.
fn teams_card(c: &Card) -> Value {
    let mut body = vec![json!({
        "type": "TextBlock",
        "text": c.head,
        "weight": "Bolder",
        "color": c.event.colour().0,
        "wrap": true
    })];
    for l in &c.lines {
        body.push(json!({"type": "TextBlock", "text": l, "wrap": true, "spacing": "None"}));
    }
    body.push(json!({
        "type": "TextBlock",
        "text": c.foot,
        "isSubtle": true,
        "wrap": true
    }));
    let mut content = json!({
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": body
    });
    if let Some(url) = &c.link {
        content["actions"] =
            json!([{"type": "Action.OpenUrl", "title": "Open the report", "url": url}]);
    }
    json!({
        "type": "message",
        "attachments": [{
            "contentType": "application/vnd.microsoft.card.adaptive",
            "contentUrl": null,
            "content": content
        }]
    })
}

/// A Teams Workflows message for a tenant's check.
#[cfg(test)]
pub(crate) fn teams_body(event: Event, o: &Outcome, report: Option<&str>) -> Value {
    teams_card(&tenant_card(event, o, teams_escape, report))
}

/// Text for Slack: `&`, `<` and `>` escaped as Slack asks, so a group named `<!channel>`
/// pings no one and links nothing.
fn slack_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Defanged, then escaped for Slack.
fn slack_text(s: &str) -> String {
    slack_escape(&defang(s))
}

/// A Slack message: a text fallback and Block Kit sections in an attachment coloured by outcome.
fn slack_card(c: &Card) -> Value {
    let mut blocks = vec![
        json!({"type": "section", "text": {"type": "mrkdwn", "text": format!("*{}*", c.head)}}),
    ];
    if !c.lines.is_empty() {
        blocks.push(
            json!({"type": "section", "text": {"type": "mrkdwn", "text": c.lines.join("\n")}}),
        );
    }
    if let Some(url) = &c.link {
        blocks.push(json!({"type": "section", "text": {"type": "mrkdwn", "text": format!("<{url}|Open the report>")}}));
    }
    blocks.push(json!({"type": "context", "elements": [{"type": "mrkdwn", "text": c.foot}]}));
    json!({"text": c.head, "attachments": [{"color": c.event.colour().1, "blocks": blocks}]})
}

/// A Slack message for a tenant's check.
#[cfg(test)]
pub(crate) fn slack_body(event: Event, o: &Outcome, report: Option<&str>) -> Value {
    slack_card(&tenant_card(event, o, slack_text, report))
}

/// The mail: a subject and a plain-text body (`contentType: Text`, so no markup to escape; URLs
/// in names are broken so a mail reader links nothing).
fn mail_card(c: &Card, to: &[String]) -> Value {
    let mut text = vec![c.head.clone(), String::new()];
    text.extend(c.lines.iter().cloned());
    if let Some(url) = &c.link {
        text.push(String::new());
        text.push(format!("Report: {url}"));
    }
    text.push(String::new());
    text.push(c.foot.clone());
    json!({
        "message": {
            "subject": c.head,
            "body": {"contentType": "Text", "content": text.join("\n")},
            "toRecipients": to.iter().map(|a| json!({"emailAddress": {"address": a}})).collect::<Vec<_>>()
        },
        "saveToSentItems": false
    })
}

/// The mail for a tenant's check.
#[cfg(test)]
pub(crate) fn email_message(
    event: Event,
    o: &Outcome,
    to: &[String],
    report: Option<&str>,
) -> Value {
    mail_card(&tenant_card(event, o, defang, report), to)
}

/// What a destination is sent: a tenant's check ([`Outcome`]) or a fleet's [`Digest`].
pub(crate) trait News: Sync {
    /// The event this is, for a destination told `on`; `None`: say nothing.
    fn event(&self, on: On) -> Option<Event>;
    /// The generic webhook document.
    fn webhook(&self, event: Event) -> Value;
    /// The card, its text escaped with `esc`.
    fn card(&self, event: Event, esc: fn(&str) -> String, report: Option<&str>) -> Card;
}

impl News for Outcome {
    fn event(&self, on: On) -> Option<Event> {
        Outcome::event(self, on)
    }

    fn webhook(&self, event: Event) -> Value {
        webhook_body(event, self)
    }

    fn card(&self, event: Event, esc: fn(&str) -> String, report: Option<&str>) -> Card {
        tenant_card(event, self, esc, report)
    }
}

/// The body `d` is sent for `event` with `news`.
pub(crate) fn body(d: &Destination, event: Event, news: &dyn News) -> Value {
    let report = d.report_url.as_deref();
    match d.kind {
        Kind::Teams => teams_card(&news.card(event, teams_escape, report)),
        Kind::Slack => slack_card(&news.card(event, slack_text, report)),
        Kind::Webhook => news.webhook(event),
        Kind::Email => mail_card(&news.card(event, defang, report), &d.to),
    }
}

/// One tenant's line in a fleet digest.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct TenantLine {
    pub name: String,
    pub tenant_id: Option<String>,
    pub ok: bool,
    pub exit_code: u8,
    /// new, persisting, resolved, excepted, failed, oldestFirstSeen.
    #[serde(flatten)]
    pub counts: crate::doc::check::Tally,
    pub error: Option<String>,
}

impl TenantLine {
    /// A tenant's line from its check's outcome.
    pub(crate) fn of(o: &Outcome) -> TenantLine {
        TenantLine {
            name: o.tenant.name.clone().unwrap_or_else(|| o.tenant.words()),
            tenant_id: o.tenant.id.clone(),
            ok: o.error.is_none() && matches!(o.exit_code, 0 | 3),
            exit_code: o.exit_code,
            counts: crate::doc::check::Tally {
                new: o.new.len() as u64,
                persisting: o.persisting.len() as u64,
                resolved: o.resolved.len() as u64,
                excepted: o.excepted.len() as u64,
                failed: 0,
                oldest_first_seen: o
                    .new
                    .iter()
                    .chain(&o.persisting)
                    .filter_map(|v| v["firstSeen"].as_str())
                    .min()
                    .map(str::to_string),
            },
            error: o.error.clone(),
        }
    }

    fn drifts(&self) -> bool {
        self.counts.new + self.counts.persisting > 0
    }

    /// Worst first: failed, then the most new, then the most persisting; then by name.
    fn severity(&self) -> (bool, std::cmp::Reverse<u64>, std::cmp::Reverse<u64>) {
        (
            self.ok,
            std::cmp::Reverse(self.counts.new),
            std::cmp::Reverse(self.counts.persisting),
        )
    }

    /// The line people read; `esc` is applied to an error's text (it may quote Graph).
    fn words(&self, esc: fn(&str) -> String) -> String {
        let who = match &self.tenant_id {
            Some(id) if *id != self.name => format!("{} ({id})", self.name),
            _ => self.name.clone(),
        };
        if let Some(e) = &self.error {
            return format!(
                "{who}: FAILED (exit {}): {}",
                self.exit_code,
                esc(e.lines().next().unwrap_or(""))
            );
        }
        let mut w = format!(
            "{who}: {} new, {} persisting, {} resolved, {} excepted",
            self.counts.new, self.counts.persisting, self.counts.resolved, self.counts.excepted
        );
        if self.counts.failed > 0 {
            w.push_str(&format!(", {} failed", self.counts.failed));
        }
        if let Some(age) = self
            .counts
            .oldest_first_seen
            .as_deref()
            .and_then(|f| crate::writeback::history::age(f, &crate::clock::now_rfc3339()))
            .filter(|a| a != "today")
        {
            w.push_str(&format!("; oldest drift {age}"));
        }
        if self.ok && !self.drifts() {
            w.push_str("; compliant");
        }
        w
    }
}

/// An exception's expiry and the tenants it applies to.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Expiring {
    #[serde(flatten)]
    pub expiry: Expiry,
    pub tenants: Vec<String>,
}

/// A fleet's digest: one message per destination per run, every tenant's counts.
#[derive(Debug, Clone)]
pub(crate) struct Digest {
    pub run: Run,
    /// Sorted by name.
    pub tenants: Vec<TenantLine>,
    /// Exceptions in force that expire within 14 days, with the tenants they apply to.
    pub expiring: Vec<Expiring>,
}

/// The most tenants a card lists (the rest are counted).
const CARD_ROWS: usize = 15;

impl Digest {
    fn totals(&self) -> Value {
        let sum = |f: fn(&TenantLine) -> u64| self.tenants.iter().map(f).sum::<u64>();
        json!({
            "tenants": self.tenants.len(),
            "ok": self.tenants.iter().filter(|t| t.ok && !t.drifts()).count(),
            "drifted": self.tenants.iter().filter(|t| t.ok && t.drifts()).count(),
            "failedTenants": self.tenants.iter().filter(|t| !t.ok).count(),
            "new": sum(|t| t.counts.new),
            "persisting": sum(|t| t.counts.persisting),
            "resolved": sum(|t| t.counts.resolved),
            "excepted": sum(|t| t.counts.excepted),
            "failed": sum(|t| t.counts.failed),
        })
    }
}

impl News for Digest {
    fn event(&self, on: On) -> Option<Event> {
        let any = |f: fn(&TenantLine) -> bool| self.tenants.iter().any(f);
        let expiring: Vec<Expiry> = self.expiring.iter().map(|e| e.expiry.clone()).collect();
        if any(|t| !t.ok) {
            return Some(Event::Error);
        }
        if any(|t| t.counts.new > 0) {
            return Some(Event::Drift);
        }
        match on {
            On::Change if any(|t| t.counts.resolved > 0) => Some(Event::Resolved),
            On::Drift if any(TenantLine::drifts) => Some(Event::Drift),
            On::Change | On::Drift if reminds(&expiring) => Some(Event::Expiring),
            On::Change | On::Drift => None,
            On::Always if any(TenantLine::drifts) => Some(Event::Drift),
            On::Always if any(|t| t.counts.resolved > 0) => Some(Event::Resolved),
            On::Always => Some(Event::Compliant),
        }
    }

    /// The digest document (a contract: schemaVersion 1, event "fleet", in docs/).
    fn webhook(&self, event: Event) -> Value {
        json!({
            "schemaVersion": 1,
            "event": "fleet",
            "reason": event,
            "run": self.run,
            "tenants": self.tenants,
            "totals": self.totals(),
            "expiring": self.expiring,
        })
    }

    fn card(&self, event: Event, esc: fn(&str) -> String, report: Option<&str>) -> Card {
        let n = self.tenants.len();
        let failed = self.tenants.iter().filter(|t| !t.ok).count();
        let drifted = self.tenants.iter().filter(|t| t.ok && t.drifts()).count();
        let new: u64 = self.tenants.iter().map(|t| t.counts.new).sum();
        let head = format!(
            "gwb {}, {}: {drifted} drifted ({new} new), {failed} failed",
            self.run.command,
            crate::output::table::count(n as u64, "tenant", "tenants")
        );
        let mut order: Vec<&TenantLine> = self.tenants.iter().collect();
        order.sort_by(|a, b| a.severity().cmp(&b.severity()).then(a.name.cmp(&b.name)));
        let mut lines: Vec<String> = order
            .iter()
            .take(CARD_ROWS)
            .map(|t| esc(&t.words(|s| s.to_string())))
            .collect();
        if n > CARD_ROWS {
            lines.push(format!(
                "and {} more",
                crate::output::table::count((n - CARD_ROWS) as u64, "tenant", "tenants")
            ));
        }
        for e in &self.expiring {
            lines.push(esc(&format!(
                "{}; tenants {}",
                e.expiry.message(),
                e.tenants.join(", ")
            )));
        }
        Card {
            event,
            head,
            lines,
            foot: format!("run {}, gwb {}", self.run.id, self.run.gwb_version),
            link: report.map(|t| link(t, "fleet")),
        }
    }
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
    /// A tenant of a fleet: the fleet sends the digests (scope "fleet") once for all.
    pub in_fleet: bool,
}

impl Digest {
    /// The digest of a run of one tenant.
    pub(crate) fn of_one(o: &Outcome) -> Digest {
        let line = TenantLine::of(o);
        Digest {
            run: o.run.clone(),
            expiring: o
                .expiring
                .iter()
                .map(|x| Expiring {
                    expiry: x.clone(),
                    tenants: vec![line.name.clone()],
                })
                .collect(),
            tenants: vec![line],
        }
    }
}

/// After `gwb check`: tell the destinations what it found (its `news`, built after the output
/// was printed), or that it failed (event "error"; the error itself stays the run's result).
/// The only place a check's notifications are sent from: the command returns its result and
/// never sends. Destinations with scope "fleet" get a digest of this one tenant, unless the
/// run is a fleet's (which sends one digest for all its tenants).
pub(crate) async fn after_check(
    to: Sending<'_>,
    checked: anyhow::Result<(crate::error::ExitStatus, Option<Outcome>)>,
) -> anyhow::Result<crate::error::ExitStatus> {
    if to.destinations.is_empty() {
        return checked.map(|(status, _)| status);
    }
    let (status, outcome) = match checked {
        Ok((status, news)) => match news {
            Some(mut o) => {
                o.exit_code = status as u8;
                (Ok(status), o)
            }
            None => return Ok(status),
        },
        Err(e) => {
            let o = Outcome::failed(
                to.tenant.clone(),
                crate::output::safe(&format!("{e:#}")).into_owned(),
            );
            (Err(e), o)
        }
    };
    let (tenant, fleet): (Vec<Destination>, Vec<Destination>) = to
        .destinations
        .iter()
        .cloned()
        .partition(|d| d.scope == Scope::Tenant);
    send_in_time(&to, &tenant, &outcome).await;
    if !to.in_fleet && !fleet.is_empty() {
        send_in_time(&to, &fleet, &Digest::of_one(&outcome)).await;
    }
    status
}

/// What is kept back from the deadline for ending the run after the notifications.
const NOTIFY_MARGIN: std::time::Duration = std::time::Duration::from_secs(2);

/// Send `news` to `destinations`, given only what is left of the run's deadline less a margin:
/// a receiver that accepts and never answers cannot turn the check's exit code into a timeout.
async fn send_in_time(to: &Sending<'_>, destinations: &[Destination], news: &dyn News) {
    if destinations.is_empty() {
        return;
    }
    let left = to.deadline.map(|d| {
        d.saturating_duration_since(std::time::Instant::now())
            .saturating_sub(NOTIFY_MARGIN)
    });
    let send = deliver::send_all(destinations, news, deliver::Via::client(to.client));
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
    announce(&sent);
}

/// Failures are logged as errors where they happen; the rest is said for people.
pub(crate) fn announce(sent: &[Delivery]) {
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
            expiring: Vec::new(),
            run: Run {
                id: "r".into(),
                started_at: "s".into(),
                command: "check".into(),
                gwb_version: "0".into(),
            },
            error: error.then(|| "graph unreachable".into()),
            exit_code: if error { 1 } else { 3 },
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
        let teams = teams_body(Event::Drift, &o, None).to_string();
        assert!(!teams.contains("](http"), "{teams}");
        assert!(!teams.contains("https://evil"), "{teams}");
        assert!(
            teams.contains(r"\\[Sign in again\\]\\(https\\[:\\]//evil.example/login\\)"),
            "{teams}"
        );
        assert!(!teams.contains("**urgent"), "{teams}");
        let slack = slack_body(Event::Drift, &o, None).to_string();
        assert!(
            !slack.contains("https://evil") && !slack.contains("<b>"),
            "{slack}"
        );
        let mail = email_message(Event::Drift, &o, &[], None).to_string();
        assert!(!mail.contains("https://evil"), "{mail}");
        // The machine-readable webhook carries the name as Graph has it.
        assert_eq!(
            webhook_body(Event::Drift, &o)["new"][0]["displayName"],
            bait
        );
    }

    #[test]
    fn slack_text_cannot_ping_or_link() {
        let body = slack_body(Event::Drift, &outcome(1, 0, false), None);
        let text = body.to_string();
        assert!(!text.contains("<!channel>"), "{text}");
        assert!(text.contains("&lt;!channel&gt; &amp; co"), "{text}");
    }

    #[test]
    fn the_mail_is_a_send_mail_body_with_every_recipient() {
        let to = vec!["a@contoso.com".to_string(), "b@contoso.com".to_string()];
        let m = email_message(Event::Error, &outcome(0, 0, true), &to, None);
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
