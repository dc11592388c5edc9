//! A readable block for a terminal or a file. Terminal escapes in finding
//! text are shown, never interpreted.

use super::text::{clean, truncate};
use super::{facts, section_lines, Custom, Escape};
use crate::alert::Alert;

const VALUE_MAX: usize = 500;
const SECTION_MAX: usize = 4000;

pub(super) fn render(alert: &Alert, custom: &Custom) -> String {
    let mut out = String::new();
    let title = custom
        .title(Escape::Plain)
        .unwrap_or_else(|| clean(&alert.title));
    out.push_str(&format!("  {title}\n"));
    let meaning = custom
        .text(Escape::Plain)
        .unwrap_or_else(|| clean(&alert.meaning));
    if !meaning.is_empty() {
        out.push_str(&format!("  {meaning}\n"));
    }
    for f in facts(alert) {
        out.push_str(&format!(
            "    {:<13} {}\n",
            f.label,
            truncate(&clean(&f.value), VALUE_MAX)
        ));
    }
    for section in &alert.sections {
        out.push_str(&format!("    {}:\n", clean(&section.heading)));
        for line in section_lines(section, SECTION_MAX, VALUE_MAX, clean) {
            out.push_str(&format!("      - {line}\n"));
        }
    }
    for (i, step) in alert.triage.iter().enumerate() {
        out.push_str(&format!("    {}. {step}\n", i + 1));
    }
    for link in alert.links.iter().take(2) {
        out.push_str(&format!("    {:<13} {}\n", link.label, link.url));
    }
    out
}
