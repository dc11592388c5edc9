//! Renderers: one pure function per destination kind, from [`Alert`] to the
//! exact payload the destination receives.
//!
//! All renderers read the alert through [`facts`], so every output shows the
//! same context, and each applies its own escaper (see [`text`]) to every
//! value. Template overrides (minijinja) go through the same escaper: the
//! formatter escapes every value a template prints, and `|safe` is ignored,
//! so an override cannot forget it.

pub mod text;

mod console;
pub(crate) mod email;
pub mod google_chat;
pub mod jira;
mod json;
mod pagerduty;
mod slack;
mod sns;
mod teams;

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use crate::alert::{Alert, AlertKind, Item, Section};
use crate::config::{Destination, KindSettings, Templates};
use crate::lifecycle::Lifecycle;

pub use json::WEBHOOK_SCHEMA_VERSION;

/// What a destination receives.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "format", rename_all = "snake_case")]
pub enum Payload {
    /// A JSON body (Slack, Teams, Google Chat, PagerDuty, Jira, webhook, EventBridge entry).
    Json { body: Value },
    /// An email.
    Email {
        subject: String,
        text: String,
        html: String,
    },
    /// An SNS publish.
    Sns {
        subject: String,
        message: String,
        attributes: BTreeMap<String, String>,
    },
    /// Text for a terminal or a file.
    Text { text: String },
}

/// A template could not be rendered.
#[derive(Debug, Clone, thiserror::Error)]
#[error("template for destination {destination:?} failed: {reason}")]
pub struct RenderError {
    pub destination: String,
    pub reason: String,
}

/// Renders `alert` for `destination`.
pub fn render(alert: &Alert, destination: &Destination) -> Result<Payload, RenderError> {
    render_noting(alert, destination).map(|rendered| rendered.payload)
}

/// A payload, and the template overrides that failed while it was rendered
/// (the built-in text stood in for each; the caller logs and counts them).
#[derive(Debug, Clone)]
pub struct Rendered {
    pub payload: Payload,
    pub template_errors: Vec<String>,
}

/// Renders `alert` for `destination`, saying which overrides failed.
pub fn render_noting(alert: &Alert, destination: &Destination) -> Result<Rendered, RenderError> {
    let custom = Custom::new(alert, destination)?;
    let payload = match &destination.settings {
        KindSettings::Slack(_) => Payload::Json {
            body: slack::render(alert, &custom),
        },
        KindSettings::Teams(_) => Payload::Json {
            body: teams::render(alert, &custom),
        },
        KindSettings::GoogleChat(_) => Payload::Json {
            body: google_chat::render(alert, &custom),
        },
        KindSettings::Pagerduty(_) => Payload::Json {
            body: pagerduty::render(alert, &custom),
        },
        KindSettings::Webhook(_) => Payload::Json {
            body: json::webhook(alert),
        },
        KindSettings::Eventbridge(settings) => Payload::Json {
            body: json::eventbridge(alert, settings.event_bus.as_deref()),
        },
        KindSettings::Jira(settings) => Payload::Json {
            body: jira::render(alert, settings, &custom),
        },
        KindSettings::Email(_) => email::render(alert, &custom),
        KindSettings::Sns(_) => sns::render(alert, &custom),
        KindSettings::Stdout | KindSettings::File(_) => Payload::Text {
            text: console::render(alert, &custom),
        },
    };
    Ok(Rendered {
        payload,
        template_errors: custom.failures.take(),
    })
}

/// A JSON message whose variable parts share the room its fixed parts
/// leave under `max_bytes`: the text, each fact's value (escaped, at most
/// `value_max` characters) and the sections, in that order, handed to
/// `build` (Teams' card, Google Chat's message). Small parts stay whole;
/// long ones are cut, each saying how much was left out.
fn fit_message(
    text: String,
    facts: &[Fact],
    sections: Vec<String>,
    escape: impl Fn(&str) -> String,
    value_max: usize,
    max_bytes: usize,
    build: impl Fn(&[String]) -> Value,
) -> Value {
    let mut pieces = vec![text];
    pieces.extend(
        facts
            .iter()
            .map(|f| escape(&text::truncate(&f.shown(), value_max))),
    );
    pieces.extend(sections);
    let empty = vec![String::new(); pieces.len()];
    let overhead = build(&empty).to_string().len();
    build(&text::fit_json_bytes(
        pieces,
        max_bytes.saturating_sub(overhead),
    ))
}

/// One line of context.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fact {
    pub label: String,
    pub value: String,
    /// Written by whoever runs code in the workload: show as code, defanged.
    pub attacker: bool,
}

impl Fact {
    /// The value as every plain or markup output shows it (before that
    /// output's own escaping): cleaned, and defanged when a workload wrote
    /// it. What AWS wrote (finding types, ARNs, regions) is shown as AWS
    /// wrote it, the same everywhere (`BitcoinTool.B`, not `BitcoinTool[.]B`).
    pub fn shown(&self) -> String {
        let cleaned = text::clean(&self.value);
        if self.attacker {
            text::defang(&cleaned)
        } else {
            cleaned
        }
    }
}

fn fact(facts: &mut Vec<Fact>, label: impl Into<String>, value: Option<String>, attacker: bool) {
    if let Some(value) = value.filter(|v| !v.is_empty()) {
        facts.push(Fact {
            label: label.into(),
            value,
            attacker,
        });
    }
}

/// The alert's title, cleaned and defanged, except the finding type in it
/// (`Backdoor:Runtime/C&CActivity.B` is a name, not a link).
pub fn shown_title(alert: &Alert) -> String {
    let title = text::clean(&alert.title);
    match alert
        .finding_type
        .as_deref()
        .and_then(|t| title.find(t).map(|at| (at, t.len())))
    {
        Some((at, len)) => format!("{}{}", &title[..at + len], text::defang(&title[at + len..])),
        None => text::defang(&title),
    }
}

/// `1h 5m`, for outages.
pub fn duration_text(secs: u64) -> String {
    humantime::format_duration(std::time::Duration::from_secs(secs)).to_string()
}

/// The context every renderer shows, in order.
pub fn facts(alert: &Alert) -> Vec<Fact> {
    let mut f = Vec::new();
    if let Some(sev) = alert.severity {
        fact(
            &mut f,
            "Severity",
            Some(format!("{} ({sev:.1})", alert.band.as_str())),
            false,
        );
    }
    fact(&mut f, "Type", alert.finding_type.clone(), false);
    if !alert.account_id.is_empty() {
        let account = match &alert.account_name {
            Some(name) => format!("{name} ({})", alert.account_id),
            None => alert.account_id.clone(),
        };
        fact(&mut f, "Account", Some(account), false);
    }
    fact(&mut f, "Region", Some(alert.region.clone()), false);
    let lifecycle = match alert.verdict.lifecycle {
        Lifecycle::Update | Lifecycle::Escalation => Some(format!(
            "{} (seen {} times)",
            alert.verdict.lifecycle.as_str(),
            alert.count.unwrap_or(1)
        )),
        Lifecycle::New | Lifecycle::Opened | Lifecycle::Other | Lifecycle::Digest => None,
        other => Some(other.as_str().to_string()),
    };
    fact(&mut f, "Status", lifecycle, false);
    let r = &alert.resource;
    fact(&mut f, "Platform", r.platform.clone(), false);
    fact(&mut f, "Cluster", r.cluster.clone(), true);
    fact(&mut f, "Service", r.service.clone(), true);
    fact(&mut f, "Task", r.task.clone(), true);
    fact(&mut f, "Namespace", r.namespace.clone(), true);
    fact(&mut f, "Workload", r.workload.clone(), true);
    fact(&mut f, "Container", r.container.clone(), true);
    fact(&mut f, "Image", r.image.clone(), true);
    fact(&mut f, "Instance", r.instance.clone(), true);
    if let Some(p) = &r.process {
        let process = match (&p.name, &p.executable_path) {
            (Some(n), Some(path)) => Some(format!("{n} ({path})")),
            (Some(n), None) => Some(n.clone()),
            (None, path) => path.clone(),
        };
        fact(&mut f, "Process", process, true);
        fact(&mut f, "Command line", p.command_line.clone(), true);
        fact(&mut f, "User", p.user.clone(), true);
        fact(&mut f, "SHA-256", p.executable_sha256.clone(), false);
        if !p.lineage.is_empty() {
            fact(&mut f, "Parents", Some(p.lineage.join(" ← ")), true);
        }
    }
    fact(&mut f, "Remote", r.remote.clone(), true);
    for (label, value) in &r.context {
        fact(&mut f, label.clone(), Some(value.clone()), true);
    }
    for issue in &alert.coverage_issues {
        let text = if issue.detail.is_empty() {
            issue.kind.clone()
        } else {
            format!("{}: {}", issue.kind, issue.detail)
        };
        fact(&mut f, "Issue", Some(text), true);
    }
    if let Some(secs) = alert.verdict.outage_secs {
        fact(&mut f, "Outage", Some(duration_text(secs)), false);
    }
    if alert.kind == AlertKind::Finding {
        fact(&mut f, "Count", alert.count.map(|c| c.to_string()), false);
        fact(
            &mut f,
            "First seen",
            alert
                .first_seen
                .map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string()),
            false,
        );
        fact(
            &mut f,
            "Last seen",
            alert
                .last_seen
                .map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string()),
            false,
        );
    }
    if alert.verdict.suppressed_since_last > 0 && alert.kind != AlertKind::Digest {
        fact(
            &mut f,
            "Held back",
            Some(format!(
                "{} similar alert(s) since the last message",
                alert.verdict.suppressed_since_last
            )),
            false,
        );
    }
    fact(&mut f, "Tactic", alert.tactic.clone(), false);
    if alert.verdict.dedupe_unavailable {
        fact(
            &mut f,
            "Note",
            Some("dedupe unavailable: this may repeat an earlier alert".into()),
            false,
        );
    }
    f
}

impl Item {
    /// The line as every output shows it (before its own escaping): the lead
    /// as AWS wrote it, the text cleaned and defanged.
    pub fn shown(&self) -> String {
        let text = text::defang(&text::clean(&self.text));
        match (self.lead.is_empty(), text.is_empty()) {
            (true, _) => text,
            (false, true) => text::clean(&self.lead),
            (false, false) => format!("{}: {text}", text::clean(&self.lead)),
        }
    }
}

/// A section's lines for one output: each item shown, escaped by `escape`,
/// cut to `item_max` characters, as many as fit in `budget` characters; when
/// some are left out (here or when the alert was built) the last line says
/// how many. Every renderer lists sections through this, so each keeps
/// within its receiver's limit and none drops items silently.
pub fn section_lines(
    section: &Section,
    budget: usize,
    item_max: usize,
    escape: impl Fn(&str) -> String,
) -> Vec<String> {
    /// Room kept for the "… N more" line.
    const MORE_LINE: usize = 40;
    let mut lines = Vec::new();
    let mut used = 0;
    for item in &section.items {
        let line = text::truncate_escaped(&escape(&item.shown()), item_max);
        let len = line.chars().count() + 1;
        if used + len + MORE_LINE > budget {
            break;
        }
        used += len;
        lines.push(line);
    }
    let left_out = section.items.len() - lines.len() + section.left_out;
    if left_out > 0 {
        lines.push(format!("… and {left_out} more not shown"));
    }
    lines
}

/// A destination's template overrides, bound to one alert.
#[derive(Debug, Clone, Default)]
pub struct Custom {
    templates: Templates,
    context: Option<Value>,
    /// Render-time failures of the overrides, in order.
    failures: std::cell::RefCell<Vec<String>>,
}

/// How values printed by a template are escaped.
#[derive(Debug, Clone, Copy)]
pub enum Escape {
    Slack,
    Teams,
    Html,
    Plain,
}

impl Escape {
    fn apply(self, text: &str) -> String {
        let cleaned = text::clean(text);
        match self {
            Escape::Slack => text::slack_escape(&text::defang(&cleaned)),
            Escape::Teams => text::teams_escape(&text::defang(&cleaned)),
            Escape::Html => text::html_escape(&text::defang(&cleaned)),
            // Plain text is auto-linked by mail and SMS clients too: defanged
            // like the built-in text.
            Escape::Plain => text::defang(&cleaned),
        }
    }
}

impl Custom {
    fn new(alert: &Alert, destination: &Destination) -> Result<Custom, RenderError> {
        let templates = destination.templates.clone();
        if templates.title.is_none() && templates.text.is_none() {
            return Ok(Custom::default());
        }
        let context = serde_json::to_value(alert).map_err(|e| RenderError {
            destination: destination.name.clone(),
            reason: e.to_string(),
        })?;
        // Check the templates compile now, so a broken override fails loudly
        // at the first alert rather than silently rendering nothing.
        for template in [&templates.title, &templates.text].into_iter().flatten() {
            minijinja::Environment::new()
                .template_from_str(template)
                .map_err(|e| RenderError {
                    destination: destination.name.clone(),
                    reason: e.to_string(),
                })?;
        }
        Ok(Custom {
            templates,
            context: Some(context),
            failures: Default::default(),
        })
    }

    fn run(&self, template: &str, escape: Escape) -> Option<String> {
        let mut env = minijinja::Environment::new();
        env.set_formatter(move |out, _state, value| {
            // Every printed value is escaped, `|safe` or not.
            let shown = match value.as_str() {
                Some(s) => escape.apply(s),
                None if value.is_none() || value.is_undefined() => String::new(),
                None => escape.apply(&value.to_string()),
            };
            out.write_str(&shown).map_err(minijinja::Error::from)
        });
        let context = minijinja::Value::from(minijinja::value::Serde(self.context.as_ref()?));
        match env.render_str(template, minijinja::context! { alert => context }) {
            Ok(text) => Some(text),
            Err(e) => {
                // The built-in text is used instead; the failure is not
                // silent: it is logged here and reported to the caller.
                tracing::error!(error = %e, "template override failed at render time; the built-in text was used");
                self.failures.borrow_mut().push(e.to_string());
                None
            }
        }
    }

    /// The overridden headline, escaped for `escape`, if a template gives one.
    pub fn title(&self, escape: Escape) -> Option<String> {
        self.run(self.templates.title.as_deref()?, escape)
    }

    /// The overridden main text, escaped for `escape`, if a template gives one.
    pub fn text(&self, escape: Escape) -> Option<String> {
        self.run(self.templates.text.as_deref()?, escape)
    }
}
