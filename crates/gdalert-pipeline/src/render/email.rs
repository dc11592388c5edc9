//! Email: subject, plain text and HTML. HTML is escaped and defanged (mail
//! clients auto-link URLs); the subject is one clean line.

use super::text::{clean, clean_lines, defang, html_escape, truncate};
use super::{facts, section_lines, shown_title, Custom, Escape, Payload};
use crate::alert::Alert;

const VALUE_MAX: usize = 4000;
/// Characters of one section's list.
const SECTION_MAX: usize = 20_000;

pub(super) fn render(alert: &Alert, custom: &Custom) -> Payload {
    let subject = custom
        .title(Escape::Plain)
        .unwrap_or_else(|| format!("[gdalert] {}", shown_title(alert)));
    let subject = truncate(&clean(&subject), 200);
    let facts = facts(alert);

    let mut text = format!("{}\n\n", shown_title(alert));
    match custom.text(Escape::Plain) {
        Some(custom) => text.push_str(&custom),
        None => text.push_str(&clean(&alert.meaning)),
    }
    text.push_str("\n\n");
    if let Some(d) = &alert.description {
        text.push_str(&format!(
            "{}\n\n",
            truncate(&defang(&clean_lines(d)), VALUE_MAX)
        ));
    }
    for f in &facts {
        let value = f.shown();
        text.push_str(&format!("{}: {}\n", f.label, truncate(&value, VALUE_MAX)));
    }
    for section in &alert.sections {
        text.push_str(&format!("\n{}:\n", clean(&section.heading)));
        for line in section_lines(section, SECTION_MAX, VALUE_MAX, str::to_string) {
            text.push_str(&format!("- {line}\n"));
        }
    }
    if !alert.triage.is_empty() {
        text.push_str("\nFirst steps:\n");
        for (i, step) in alert.triage.iter().enumerate() {
            text.push_str(&format!("{}. {step}\n", i + 1));
        }
    }
    if !alert.links.is_empty() {
        text.push('\n');
        for link in &alert.links {
            text.push_str(&format!("{}: {}\n", link.label, link.url));
        }
    }
    text.push_str(&format!("\n-- gdalert, event {}\n", clean(&alert.event_id)));

    let mut html = String::from("<!DOCTYPE html><html><body style=\"font-family:sans-serif\">");
    html.push_str(&format!("<h2>{}</h2>", html_escape(&shown_title(alert))));
    match custom.text(Escape::Html) {
        Some(custom) => html.push_str(&format!("<p>{custom}</p>")),
        None => html.push_str(&format!("<p>{}</p>", html_escape(&clean(&alert.meaning)))),
    }
    if let Some(d) = &alert.description {
        let lines = html_escape(&truncate(&defang(&clean_lines(d)), VALUE_MAX));
        html.push_str(&format!("<p><em>{}</em></p>", lines.replace('\n', "<br>")));
    }
    html.push_str("<table cellpadding=\"4\">");
    for f in &facts {
        let shown = html_escape(&truncate(&f.shown(), VALUE_MAX));
        let value = if f.attacker {
            format!("<code>{shown}</code>")
        } else {
            shown
        };
        html.push_str(&format!(
            "<tr><th align=\"left\">{}</th><td>{value}</td></tr>",
            html_escape(&f.label)
        ));
    }
    html.push_str("</table>");
    for section in &alert.sections {
        html.push_str(&format!(
            "<h3>{}</h3><ul>",
            html_escape(&clean(&section.heading))
        ));
        for line in section_lines(section, SECTION_MAX, VALUE_MAX, html_escape) {
            html.push_str(&format!("<li>{line}</li>"));
        }
        html.push_str("</ul>");
    }
    if !alert.triage.is_empty() {
        html.push_str("<h3>First steps</h3><ol>");
        for step in &alert.triage {
            html.push_str(&format!("<li>{}</li>", html_escape(step)));
        }
        html.push_str("</ol>");
    }
    if !alert.links.is_empty() {
        html.push_str("<p>");
        for link in &alert.links {
            html.push_str(&format!(
                "<a href=\"{}\">{}</a> ",
                html_escape(&link.url),
                html_escape(&link.label)
            ));
        }
        html.push_str("</p>");
    }
    html.push_str("</body></html>");
    Payload::Email {
        subject,
        text,
        html,
    }
}
