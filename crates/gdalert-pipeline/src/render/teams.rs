//! Microsoft Teams: an Adaptive Card 1.4 in the Workflows webhook envelope.
//!
//! Card text is markdown; every value is escaped for it and defanged. Teams
//! refuses cards over about 28 KB, so long values are cut to keep well under.

use serde_json::{json, Value};

use super::text::{clean, defang, teams_escape, truncate};
use super::{facts, shown_title, Custom, Escape};
use crate::alert::{Alert, AlertKind, Band};

const VALUE_MAX: usize = 1000;
const TEXT_MAX: usize = 4000;

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
            text.push_str("\n\n");
            text.push_str(&esc(d, TEXT_MAX));
        }
        text
    });
    let mut body = vec![
        json!({"type": "TextBlock", "text": title, "weight": "Bolder", "size": "Large", "wrap": true, "color": colour(alert)}),
        json!({"type": "TextBlock", "text": truncate(&text, TEXT_MAX), "wrap": true}),
        json!({"type": "FactSet", "facts": facts(alert).into_iter().map(|f| json!({"title": teams_escape(&f.label), "value": esc(&f.value, VALUE_MAX)})).collect::<Vec<_>>()}),
    ];
    if !alert.held_titles.is_empty() {
        let list: Vec<String> = alert
            .held_titles
            .iter()
            .map(|t| format!("\\- {}", esc(t, 200)))
            .collect();
        body.push(json!({"type": "TextBlock", "text": list.join("\n\n"), "wrap": true}));
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
