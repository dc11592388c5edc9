//! Slack incoming-webhook payload (Block Kit), with fallback text.
//!
//! Limits honoured (Slack's): header 150 chars, section text 3000, at most 10
//! fields of 2000 each per section, 50 blocks, 10 context elements. Finding
//! text is shown as inline code: escaped, defanged, backticks replaced.

use serde_json::{json, Value};

use super::text::{
    clean, clean_lines, defang, slack_code, slack_escape, truncate, truncate_escaped,
};
use super::{facts, section_lines, shown_title, Custom, Escape};
use crate::alert::{Alert, AlertKind, Band};

const HEADER_MAX: usize = 150;
const SECTION_MAX: usize = 3000;
const FIELD_MAX: usize = 2000;
const FIELDS_PER_SECTION: usize = 10;
const MAX_BLOCKS: usize = 50;

fn emoji(alert: &Alert) -> &'static str {
    match (alert.kind, alert.band) {
        (AlertKind::CoverageRestored, _) => ":large_green_circle:",
        (AlertKind::CoverageLost | AlertKind::CoverageReport, _) => ":warning:",
        (AlertKind::Digest, _) => ":card_index_dividers:",
        (_, Band::Critical) => ":red_circle:",
        (_, Band::High) => ":large_orange_circle:",
        (_, Band::Medium) => ":large_yellow_circle:",
        _ => ":white_circle:",
    }
}

pub(super) fn render(alert: &Alert, custom: &Custom) -> Value {
    let title_plain = truncate(&shown_title(alert), HEADER_MAX - 4);
    let mut blocks = vec![json!({
        "type": "header",
        // plain_text never renders mentions or links; still strip the invisible.
        "text": {"type": "plain_text", "text": title_plain, "emoji": false}
    })];
    let meaning = match custom.text(Escape::Slack) {
        Some(text) => text,
        None => {
            let mut text = format!("{} {}", emoji(alert), slack_escape(&clean(&alert.meaning)));
            if let Some(description) = &alert.description {
                text.push_str(&format!(
                    "\n{}",
                    slack_escape(&defang(&clean_lines(description)))
                ));
            }
            text
        }
    };
    blocks.push(json!({"type": "section", "text": {"type": "mrkdwn", "text": truncate_escaped(&meaning, SECTION_MAX)}}));

    let fields: Vec<Value> = facts(alert)
        .into_iter()
        .map(|f| {
            // Escaped first, then cut: Slack's limits count the text as sent.
            let label = truncate_escaped(&slack_escape(&clean(&f.label)), 100);
            let room = FIELD_MAX - label.chars().count() - 3;
            let value = if f.attacker {
                slack_code(&f.value, room)
            } else {
                truncate_escaped(&slack_escape(&clean(&f.value)), room)
            };
            json!({"type": "mrkdwn", "text": format!("*{label}*\n{value}")})
        })
        .collect();
    for chunk in fields.chunks(FIELDS_PER_SECTION) {
        blocks.push(json!({"type": "section", "fields": chunk}));
    }
    for section in &alert.sections {
        let heading = truncate_escaped(&slack_escape(&clean(&section.heading)), 100);
        let room = SECTION_MAX - heading.chars().count() - 4;
        let lines: Vec<String> = section_lines(section, room, 500, slack_escape)
            .into_iter()
            .map(|line| format!("• {line}"))
            .collect();
        blocks.push(json!({"type": "section", "text": {"type": "mrkdwn", "text": truncate_escaped(&format!("*{heading}*\n{}", lines.join("\n")), SECTION_MAX)}}));
    }
    if !alert.triage.is_empty() {
        let steps: Vec<String> = alert
            .triage
            .iter()
            .enumerate()
            .map(|(i, s)| format!("{}. {}", i + 1, slack_escape(s)))
            .collect();
        blocks.push(json!({"type": "section", "text": {"type": "mrkdwn", "text": truncate_escaped(&format!("*First steps*\n{}", steps.join("\n")), SECTION_MAX)}}));
    }
    if !alert.links.is_empty() {
        let elements: Vec<Value> = alert
            .links
            .iter()
            .take(5)
            .map(|l| json!({"type": "button", "text": {"type": "plain_text", "text": l.label}, "url": l.url}))
            .collect();
        blocks.push(json!({"type": "actions", "elements": elements}));
    }
    blocks.push(json!({"type": "context", "elements": [
        {"type": "mrkdwn", "text": slack_escape(&format!("gdalert · {} · event {}", alert.verdict.lifecycle.as_str(), clean(&alert.event_id)))}
    ]}));
    if blocks.len() > MAX_BLOCKS {
        let cut = blocks.len() - MAX_BLOCKS + 1;
        blocks.truncate(MAX_BLOCKS - 1);
        blocks.push(json!({"type": "context", "elements": [{"type": "mrkdwn", "text": format!("…{cut} more blocks")}]}));
    }
    let fallback = match custom.title(Escape::Slack) {
        Some(title) => title,
        None => slack_escape(&title_plain),
    };
    json!({
        "text": truncate_escaped(&fallback, 3000),
        "blocks": blocks,
        "unfurl_links": false,
        "unfurl_media": false,
    })
}
