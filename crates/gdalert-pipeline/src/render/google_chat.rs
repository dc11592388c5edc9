//! Google Chat: a `cardsV2` card through a space's incoming webhook,
//! threaded by `thread.threadKey`.
//!
//! Card text widgets take a small HTML subset (`<b>`, `<br>`, `<a>`), so
//! every value is HTML-escaped and defanged; the header's title and subtitle
//! are plain text, with angle brackets replaced by look-alikes. The thread key is the alert's identity (its attack
//! sequence's, for a finding that is part of one), so an update,
//! escalation or resolved message lands under the first alert; the client
//! asks Chat to reply in that thread or start it. Chat refuses messages over
//! 32,000 bytes: the variable parts share what the card leaves under
//! [`MESSAGE_MAX`], each cut saying how much was left out.

use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::text::{clean, clean_lines, defang, html_escape, truncate};
use super::{facts, fit_message, section_lines, shown_title, Custom, Escape};
use crate::alert::Alert;

const VALUE_MAX: usize = 1000;
const TEXT_MAX: usize = 4000;
/// The serialised message's budget, under Chat's 32,000 bytes.
pub const MESSAGE_MAX: usize = 30_000;

/// Header text is shown as plain text; angle brackets become look-alikes
/// anyway, so a title is never read as markup or a mention (`<users/all>`)
/// whatever Chat does with it.
fn plain(text: &str) -> String {
    text.replace('<', "‹").replace('>', "›")
}

fn esc(text: &str, max: usize) -> String {
    html_escape(&truncate(&defang(&clean(text)), max))
}

/// The thread an alert's messages share: a digest of its identity (the
/// sequence's, when it is part of one), so no finding text reaches the URL
/// or the key.
pub fn thread_key(alert: &Alert) -> String {
    let identity = alert.part_of.as_deref().unwrap_or(&alert.dedupe_key);
    let digest = Sha256::digest(identity.as_bytes());
    let hex: String = digest.iter().take(16).map(|b| format!("{b:02x}")).collect();
    format!("gdalert-{hex}")
}

pub(super) fn render(alert: &Alert, custom: &Custom) -> Value {
    let title = plain(
        &custom
            .title(Escape::Plain)
            .unwrap_or_else(|| truncate(&shown_title(alert), 200)),
    );
    let text = custom.text(Escape::Html).unwrap_or_else(|| {
        let mut text = esc(&alert.meaning, TEXT_MAX);
        if let Some(d) = &alert.description {
            let lines = html_escape(&truncate(&defang(&clean_lines(d)), TEXT_MAX));
            text.push_str("<br><br>");
            text.push_str(&lines.replace('\n', "<br>"));
        }
        text
    });
    let facts = facts(alert);
    let sections: Vec<String> = alert
        .sections
        .iter()
        .map(|section| {
            let lines = section_lines(section, TEXT_MAX, 500, html_escape);
            format!(
                "<b>{}</b><br>{}",
                html_escape(&clean(&section.heading)),
                lines
                    .iter()
                    .map(|l| format!("• {l}"))
                    .collect::<Vec<_>>()
                    .join("<br>")
            )
        })
        .collect();
    fit_message(
        truncate(&text, TEXT_MAX),
        &facts,
        sections,
        html_escape,
        VALUE_MAX,
        MESSAGE_MAX,
        |pieces| message(alert, &title, &facts, pieces),
    )
}

/// The message, with `pieces` (text, fact values, sections) in their places.
fn message(alert: &Alert, title: &str, facts: &[super::Fact], pieces: &[String]) -> Value {
    let mut sections = vec![json!({"widgets": [{"textParagraph": {"text": pieces[0]}}]})];
    if !facts.is_empty() {
        let widgets: Vec<Value> = facts
            .iter()
            .zip(&pieces[1..])
            .map(|(f, v)| json!({"decoratedText": {"topLabel": f.label, "text": v, "wrapText": true}}))
            .collect();
        sections.push(json!({"header": "Details", "collapsible": true, "uncollapsibleWidgetsCount": 6, "widgets": widgets}));
    }
    for section in pieces.iter().skip(1 + facts.len()) {
        sections.push(json!({"widgets": [{"textParagraph": {"text": section}}]}));
    }
    if !alert.triage.is_empty() {
        let steps: Vec<String> = alert
            .triage
            .iter()
            .enumerate()
            .map(|(i, s)| format!("{}. {}", i + 1, html_escape(s)))
            .collect();
        sections.push(json!({"header": "First steps", "widgets": [{"textParagraph": {"text": steps.join("<br>")}}]}));
    }
    let buttons: Vec<Value> = alert
        .links
        .iter()
        .take(5)
        .map(|l| json!({"text": l.label, "onClick": {"openLink": {"url": l.url}}}))
        .collect();
    if !buttons.is_empty() {
        sections.push(json!({"widgets": [{"buttonList": {"buttons": buttons}}]}));
    }
    let subtitle = [
        Some(alert.band.as_str().to_string()),
        alert
            .account_name
            .clone()
            .or_else(|| Some(alert.account_id.clone()).filter(|a| !a.is_empty())),
        Some(alert.region.clone()).filter(|r| !r.is_empty()),
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<_>>()
    .join(" · ");
    json!({
        "cardsV2": [{
            "cardId": "gdalert",
            "card": {
                "header": {"title": title, "subtitle": plain(&truncate(&defang(&clean(&subtitle)), 200))},
                "sections": sections,
            }
        }],
        "thread": {"threadKey": thread_key(alert)},
    })
}
