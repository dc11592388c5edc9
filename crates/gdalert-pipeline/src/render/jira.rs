//! Jira Cloud: the fields of a new issue and the body of a comment, both in
//! Atlassian Document Format (ADF).
//!
//! ADF is a tree of typed nodes, so attacker text never becomes markup: it
//! is only ever the `text` of a text node (shown as code when a workload
//! wrote it), never a link, mention or macro. Links are gdalert's own
//! (console URLs), as `link` marks. Jira keeps a rich-text field within
//! 32,767 characters, so the document is built under [`DOC_MAX`] bytes of
//! JSON: longer values are cut first, then sections, each cut saying so.
//!
//! The client decides between creating and commenting; the payload holds
//! both (`issue`, `comment`) and the label (`label`) that finds the alert's
//! issue again: `gdalert-` and a digest of the alert's identity (its attack
//! sequence's when it is part of one, so an attack is one issue).

use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::text::{clean, clean_lines, defang, truncate};
use super::{facts, section_lines, shown_title, Custom, Escape};
use crate::alert::{Alert, AlertKind};
use crate::config::Jira;
use crate::lifecycle::Lifecycle;

/// Jira's summary field takes at most 255 characters on one line.
const SUMMARY_MAX: usize = 255;
/// The serialised document's budget, under Jira's 32,767 characters.
pub const DOC_MAX: usize = 30_000;
/// Longest link kept.
const LINK_MAX: usize = 2_000;

/// The label that finds an alert's issue: a digest of its identity, so no
/// finding text reaches a JQL query.
pub fn issue_label(alert: &Alert) -> String {
    let identity = alert.part_of.as_deref().unwrap_or(&alert.dedupe_key);
    let digest = Sha256::digest(identity.as_bytes());
    let hex: String = digest.iter().take(16).map(|b| format!("{b:02x}")).collect();
    format!("gdalert-{hex}")
}

/// Whether this alert says something is over: it comments on an issue, and
/// never opens one.
pub fn closes(alert: &Alert) -> bool {
    alert.kind == AlertKind::CoverageRestored
        || matches!(
            alert.verdict.lifecycle,
            Lifecycle::Resolved | Lifecycle::Archived
        )
}

fn text_node(text: &str) -> Option<Value> {
    // ADF refuses empty text nodes.
    (!text.is_empty()).then(|| json!({"type": "text", "text": text}))
}

fn paragraph(nodes: Vec<Value>) -> Value {
    json!({"type": "paragraph", "content": nodes})
}

fn plain(text: &str) -> Value {
    paragraph(text_node(text).into_iter().collect())
}

/// A document of `alert` within limits: `value_max` characters per value,
/// `section_max` per section (0 leaves sections out).
fn document(alert: &Alert, lead: &str, text: &str, value_max: usize, section_max: usize) -> Value {
    let mut content = Vec::new();
    if !lead.is_empty() {
        content.push(paragraph(vec![
            json!({"type": "text", "text": lead, "marks": [{"type": "strong"}]}),
        ]));
    }
    for block in text.split("\n\n").filter(|b| !b.trim().is_empty()) {
        content.push(plain(&truncate(block, value_max * 4)));
    }
    let items: Vec<Value> = facts(alert)
        .into_iter()
        .map(|f| {
            let value = truncate(&f.shown(), value_max);
            let mut nodes = vec![json!({"type": "text", "text": format!("{}: ", clean(&f.label)), "marks": [{"type": "strong"}]})];
            if let Some(mut node) = text_node(&value) {
                if f.attacker {
                    node["marks"] = json!([{"type": "code"}]);
                }
                nodes.push(node);
            }
            json!({"type": "listItem", "content": [paragraph(nodes)]})
        })
        .collect();
    if !items.is_empty() {
        content.push(json!({"type": "bulletList", "content": items}));
    }
    let mut left_out = 0;
    for section in &alert.sections {
        if section_max == 0 {
            left_out += 1;
            continue;
        }
        content.push(json!({"type": "heading", "attrs": {"level": 3}, "content": [{"type": "text", "text": truncate(&clean(&section.heading), 200)}]}));
        let lines = section_lines(section, section_max, value_max.min(500), str::to_string);
        let items: Vec<Value> = lines
            .iter()
            .filter_map(|l| text_node(l))
            .map(|node| json!({"type": "listItem", "content": [paragraph(vec![node])]}))
            .collect();
        if !items.is_empty() {
            content.push(json!({"type": "bulletList", "content": items}));
        }
    }
    if left_out > 0 {
        content.push(plain(&format!(
            "… {left_out} section(s) left out to fit Jira's size limit"
        )));
    }
    let links: Vec<Value> = alert
        .links
        .iter()
        // A console link carries resource names a workload may have chosen:
        // one too long to be a usable link is left out, not cut.
        .filter(|l| l.url.starts_with("https://") && l.url.len() <= LINK_MAX)
        .flat_map(|l| {
            [
                json!({"type": "text", "text": truncate(&clean(&l.label), 100), "marks": [{"type": "link", "attrs": {"href": l.url}}]}),
                json!({"type": "text", "text": "  "}),
            ]
        })
        .collect();
    if !links.is_empty() {
        content.push(paragraph(links));
    }
    json!({"type": "doc", "version": 1, "content": content})
}

/// The smallest cut of the document that fits [`DOC_MAX`].
fn fitted(alert: &Alert, lead: &str, text: &str) -> Value {
    let cuts = [(1000, 4000), (300, 1500), (100, 500), (40, 0)];
    let mut doc = Value::Null;
    for (value_max, section_max) in cuts {
        doc = document(alert, lead, text, value_max, section_max);
        if doc.to_string().len() <= DOC_MAX {
            break;
        }
    }
    doc
}

pub(super) fn render(alert: &Alert, settings: &Jira, custom: &Custom) -> Value {
    let title = custom
        .title(Escape::Plain)
        .unwrap_or_else(|| shown_title(alert));
    // One line: clean() already shows line breaks as `\n`.
    let summary = truncate(&clean(&title), SUMMARY_MAX);
    let text = custom.text(Escape::Plain).unwrap_or_else(|| {
        let mut text = defang(&clean(&alert.meaning));
        if let Some(d) = &alert.description {
            text.push_str("\n\n");
            text.push_str(&defang(&clean_lines(d)));
        }
        text
    });
    let label = issue_label(alert);
    let mut labels: Vec<String> = settings.labels.clone();
    labels.extend(["gdalert".to_string(), label.clone()]);
    let mut fields = json!({
        "project": {"key": settings.project},
        "issuetype": {"name": settings.issue_type},
        "summary": summary,
        "labels": labels,
        "description": fitted(alert, "", &text),
    });
    if let Some(priority) = settings.priorities.get(&alert.band) {
        fields["priority"] = json!({"name": priority});
    }
    let lead = match alert.verdict.lifecycle {
        Lifecycle::Update => "Seen again".to_string(),
        Lifecycle::Escalation => "Escalated".to_string(),
        Lifecycle::Resolved => "Resolved".to_string(),
        Lifecycle::Archived => "Archived in GuardDuty".to_string(),
        _ if alert.kind == AlertKind::CoverageRestored => "Coverage restored".to_string(),
        _ => "Related alert".to_string(),
    };
    let lead = format!("{lead}: {}", truncate(&summary, 200));
    json!({
        "label": label,
        "closes": closes(alert),
        // A first alert: when its issue already exists, a retry created it.
        "opens": matches!(alert.verdict.lifecycle, Lifecycle::New | Lifecycle::Sample),
        "issue": {"fields": fields},
        "comment": {"body": fitted(alert, &lead, &text)},
    })
}

/// Why `node` is not an ADF document Jira would take, if it is not: the
/// subset this renderer writes (paragraphs, headings, bullet lists, text
/// with strong, code and link marks), non-empty text nodes. The loopback
/// Jira site answers 400 with it, as Jira does.
pub fn adf_problem(node: &Value) -> Option<String> {
    if node["type"] != "doc" || node["version"] != 1 {
        return Some("the root must be {type: doc, version: 1}".into());
    }
    block_problems(&node["content"])
}

fn block_problems(content: &Value) -> Option<String> {
    let nodes = content.as_array()?;
    for n in nodes {
        let problem = match n["type"].as_str() {
            Some("paragraph") | Some("heading") => inline_problems(&n["content"]),
            Some("bulletList") => n["content"].as_array().and_then(|items| {
                items.iter().find_map(|i| {
                    if i["type"] != "listItem" {
                        Some("a bulletList holds listItems only".to_string())
                    } else {
                        block_problems(&i["content"])
                    }
                })
            }),
            other => Some(format!("unknown block node {other:?}")),
        };
        if problem.is_some() {
            return problem;
        }
    }
    None
}

fn inline_problems(content: &Value) -> Option<String> {
    let nodes = content.as_array()?;
    for n in nodes {
        if n["type"] != "text" {
            return Some(format!("unknown inline node {}", n["type"]));
        }
        match n["text"].as_str() {
            Some("") | None => return Some("a text node needs non-empty text".into()),
            Some(_) => {}
        }
        for mark in n["marks"].as_array().into_iter().flatten() {
            match mark["type"].as_str() {
                Some("strong") | Some("code") => {}
                Some("link") if mark["attrs"]["href"].is_string() => {}
                other => return Some(format!("unknown mark {other:?}")),
            }
        }
    }
    None
}
