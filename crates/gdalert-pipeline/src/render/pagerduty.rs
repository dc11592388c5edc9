//! PagerDuty Events API v2: `trigger` for findings and lost coverage,
//! `resolve` when coverage returns, with a stable `dedup_key` so re-sends and
//! the resolve land on the same incident. The routing key is a secret: the
//! sender adds it; it never appears in a rendered payload.

use serde_json::{json, Value};

use super::text::{clean, truncate};
use super::{facts, section_lines, Custom, Escape};
use crate::alert::{Alert, AlertKind, Band};
use crate::lifecycle::Lifecycle;

const SUMMARY_MAX: usize = 1024;
/// Characters of one section's list in `custom_details` (PagerDuty takes 512 KB in all).
const SECTION_MAX: usize = 8000;

pub(super) fn render(alert: &Alert, custom: &Custom) -> Value {
    if alert.kind == AlertKind::CoverageRestored || alert.verdict.lifecycle == Lifecycle::Archived {
        // Its own key only: archiving one signal never resolves the sequence's incident.
        let dedup_key = truncate(&alert.dedupe_key, 255);
        return json!({"event_action": "resolve", "dedup_key": dedup_key});
    }
    // A finding that is a signal of an attack sequence joins the sequence's
    // incident (one page for the attack) rather than opening its own.
    let dedup_key = truncate(alert.part_of.as_deref().unwrap_or(&alert.dedupe_key), 255);
    let severity = match (alert.kind, alert.band) {
        (_, Band::Critical) => "critical",
        (_, Band::High) => "error",
        (AlertKind::CoverageLost, _) | (_, Band::Medium) => "warning",
        _ => "info",
    };
    let summary = custom
        .title(Escape::Plain)
        .unwrap_or_else(|| super::shown_title(alert));
    // Attacker text is defanged as everywhere else; a label that repeats
    // (three coverage issues) keeps every value, as a list.
    let mut details = serde_json::Map::new();
    for f in facts(alert) {
        let value = Value::String(truncate(&f.shown(), 2000));
        match details.get_mut(&f.label) {
            Some(Value::Array(values)) => values.push(value),
            Some(first) => *first = Value::Array(vec![first.take(), value]),
            None => {
                details.insert(f.label, value);
            }
        }
    }
    for section in &alert.sections {
        let lines = section_lines(section, SECTION_MAX, 500, str::to_string);
        details.insert(clean(&section.heading), json!(lines));
    }
    let source = alert.place();
    json!({
        "event_action": "trigger",
        "dedup_key": dedup_key,
        "payload": {
            "summary": truncate(&summary, SUMMARY_MAX),
            "source": truncate(&clean(&source), 255),
            "severity": severity,
            "timestamp": alert.updated_at.map(|t| t.to_rfc3339()),
            "component": alert.resource.service.as_deref().or(alert.resource.workload.as_deref()).map(clean),
            "group": alert.account_name.clone().unwrap_or_else(|| alert.account_id.clone()),
            "class": alert.finding_type.clone().unwrap_or_else(|| alert.verdict.lifecycle.as_str().to_string()),
            "custom_details": details,
        },
        "links": alert.links.iter().map(|l| json!({"href": l.url, "text": l.label})).collect::<Vec<_>>(),
        "client": "gdalert",
    })
}
