//! Microsoft Teams: an Adaptive Card 1.4 in the Workflows webhook envelope.
//!
//! Card text is markdown; every value is escaped for it and defanged. Teams
//! refuses cards over about 28 KB: the values are escaped first, then the
//! room the card leaves is shared among them (small values whole, long ones
//! cut, each saying how much was left out), so the serialised card stays
//! under [`CARD_MAX`] bytes whatever the finding holds.

use serde_json::{json, Value};

use super::text::{clean, clean_lines, defang, teams_escape, truncate};
use super::{facts, fit_message, section_lines, shown_title, Custom, Escape};
use crate::alert::{Alert, AlertKind, Band};

const VALUE_MAX: usize = 1000;
const TEXT_MAX: usize = 4000;
/// The serialised card's budget, under Teams' limit of about 28 KB.
pub const CARD_MAX: usize = 26 * 1024;

fn colour(alert: &Alert) -> &'static str {
    match (alert.kind, alert.band) {
        (AlertKind::CoverageRestored, _) => "Good",
        (AlertKind::CoverageLost, _) | (_, Band::Medium) => "Warning",
        (_, Band::High | Band::Critical) => "Attention",
        _ => "Default",
    }
}

fn esc(text: &str, max: usize) -> String {
    teams_escape(&truncate(&defang(&clean(text)), max))
}

pub(super) fn render(alert: &Alert, custom: &Custom) -> Value {
    let title = custom
        .title(Escape::Teams)
        .unwrap_or_else(|| teams_escape(&truncate(&shown_title(alert), 200)));
    let text = custom.text(Escape::Teams).unwrap_or_else(|| {
        let mut text = esc(&alert.meaning, TEXT_MAX);
        if let Some(d) = &alert.description {
            // One paragraph per line: Teams' markdown joins single breaks.
            let lines = teams_escape(&truncate(&defang(&clean_lines(d)), TEXT_MAX));
            text.push_str("\n\n");
            text.push_str(&lines.replace('\n', "\n\n").replace("\n\n\n\n", "\n\n"));
        }
        text
    });
    let facts = facts(alert);
    // One text block per section: its heading, then a line per item (Teams'
    // markdown joins single line breaks, hence the blank lines).
    let sections: Vec<String> = alert
        .sections
        .iter()
        .map(|section| {
            let lines: Vec<String> = section_lines(section, TEXT_MAX, 500, teams_escape)
                .into_iter()
                .map(|line| format!("\\- {line}"))
                .collect();
            format!(
                "**{}**\n\n{}",
                teams_escape(&clean(&section.heading)),
                lines.join("\n\n")
            )
        })
        .collect();
    fit_message(
        truncate(&text, TEXT_MAX),
        &facts,
        sections,
        teams_escape,
        VALUE_MAX,
        CARD_MAX,
        |pieces| card(alert, &title, &facts, pieces),
    )
}

/// The card, with `pieces` (text, fact values, sections) in their places.
fn card(alert: &Alert, title: &str, facts: &[super::Fact], pieces: &[String]) -> Value {
    let mut body = vec![
        json!({"type": "TextBlock", "text": title, "weight": "Bolder", "size": "Large", "wrap": true, "color": colour(alert)}),
        json!({"type": "TextBlock", "text": pieces[0], "wrap": true}),
        json!({"type": "FactSet", "facts": facts.iter().zip(&pieces[1..]).map(|(f, v)| json!({"title": teams_escape(&f.label), "value": v})).collect::<Vec<_>>()}),
    ];
    for section in pieces.iter().skip(1 + facts.len()) {
        body.push(json!({"type": "TextBlock", "text": section, "wrap": true}));
    }
    if !alert.triage.is_empty() {
        let steps: Vec<String> = alert
            .triage
            .iter()
            .enumerate()
            .map(|(i, s)| format!("{}\\. {}", i + 1, teams_escape(s)))
            .collect();
        body.push(json!({"type": "TextBlock", "text": format!("**First steps**\n\n{}", steps.join("\n\n")), "wrap": true}));
    }
    let actions: Vec<Value> = alert
        .links
        .iter()
        .take(5)
        .map(|l| json!({"type": "Action.OpenUrl", "title": l.label, "url": l.url}))
        .collect();
    json!({
        "type": "message",
        "attachments": [{
            "contentType": "application/vnd.microsoft.card.adaptive",
            "contentUrl": null,
            "content": {
                "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                "type": "AdaptiveCard",
                "version": "1.4",
                "msteams": {"width": "Full"},
                "body": body,
                "actions": actions,
            }
        }]
    })
}
