//! SNS: an ASCII subject under 100 characters, the plain-text body, and
//! message attributes that subscription filter policies can select on.

use std::collections::BTreeMap;

use super::text::sns_subject;
use super::{email, Custom, Escape, Payload};
use crate::alert::Alert;

/// SNS counts 256 KiB of UTF-8 bytes for the message, subject and
/// attributes together; the message gets what the others leave.
const PUBLISH_MAX: usize = 256 * 1024;
/// Filter policies compare whole values; names of AWS resources fit in 256.
const ATTRIBUTE_MAX: usize = 256;

pub(super) fn render(alert: &Alert, custom: &Custom) -> Payload {
    let subject = sns_subject(
        &custom
            .title(Escape::Plain)
            .unwrap_or_else(|| alert.title.clone()),
    );
    let text = match email::render(alert, custom) {
        Payload::Email { text, .. } => text,
        _ => String::new(),
    };
    // Attribute values may not be empty; "none" keeps filter policies simple.
    let value = |v: Option<&str>| {
        super::text::truncate(
            &super::text::clean(v.filter(|s| !s.is_empty()).unwrap_or("none")),
            ATTRIBUTE_MAX,
        )
    };
    let mut attributes = BTreeMap::from([
        ("severity".to_string(), alert.band.as_str().to_string()),
        (
            "type".to_string(),
            value(alert.finding_type.as_deref().or(Some(kind_name(alert)))),
        ),
        ("account".to_string(), value(Some(&alert.account_id))),
        ("region".to_string(), value(Some(&alert.region))),
        (
            "lifecycle".to_string(),
            alert.verdict.lifecycle.as_str().to_string(),
        ),
    ]);
    // Where it happened, each under its own name and only when known: a
    // filter policy on `cluster` must never see an instance id.
    let place = [
        ("cluster", alert.resource.cluster.as_deref()),
        ("instance", alert.resource.instance.as_deref()),
    ];
    for (name, v) in place {
        if let Some(v) = v.filter(|v| !v.is_empty()) {
            attributes.insert(name.to_string(), value(Some(v)));
        }
    }
    // Attribute names and values count, and their data type ("String").
    let others = subject.len()
        + attributes
            .iter()
            .map(|(k, v)| k.len() + v.len() + "String".len())
            .sum::<usize>();
    // A margin for what SNS counts that we cannot see (the JSON framing).
    let message = super::text::truncate_bytes(&text, PUBLISH_MAX.saturating_sub(others + 1024));
    Payload::Sns {
        subject,
        message,
        attributes,
    }
}

fn kind_name(alert: &Alert) -> &'static str {
    match alert.kind {
        crate::alert::AlertKind::Finding => "finding",
        crate::alert::AlertKind::CoverageLost => "coverage-lost",
        crate::alert::AlertKind::CoverageRestored => "coverage-restored",
        crate::alert::AlertKind::Digest => "digest",
        crate::alert::AlertKind::CoverageReport => "coverage-report",
        crate::alert::AlertKind::Other => "other",
    }
}
