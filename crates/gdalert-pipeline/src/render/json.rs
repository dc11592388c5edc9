//! Machine-readable outputs: the generic webhook document and the EventBridge
//! entry for downstream automation. Values are kept as data (JSON escaping is
//! serde's job), with invisible characters stripped so what a tool logs is
//! what a human reads.

use serde_json::{json, Value};

use super::text::clean;
use crate::alert::Alert;

/// Version of the webhook document; bump on breaking changes.
pub const WEBHOOK_SCHEMA_VERSION: &str = "gdalert.alert/v1";

/// EventBridge entries may be 256 KB in all.
const DETAIL_MAX_BYTES: usize = 200_000;

fn cleaned(value: Value) -> Value {
    match value {
        Value::String(s) => Value::String(strip_invisible(&s)),
        Value::Array(items) => Value::Array(items.into_iter().map(cleaned).collect()),
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| (strip_invisible(&k), cleaned(v)))
                .collect(),
        ),
        other => other,
    }
}

/// Like [`clean`] but keeps newlines and tabs as they are: JSON carries them safely.
fn strip_invisible(text: &str) -> String {
    if text.chars().all(|c| !c.is_control() && (c as u32) < 0x80) {
        return text.to_string();
    }
    text.split('\n').map(clean).collect::<Vec<_>>().join("\n")
}

fn alert_value(alert: &Alert) -> Value {
    let mut value = cleaned(serde_json::to_value(alert).unwrap_or(Value::Null));
    // Keep the document bounded: trim the longest strings until it fits.
    let mut size = value.to_string().len();
    while size > DETAIL_MAX_BYTES {
        if !shrink_longest(&mut value) {
            break;
        }
        size = value.to_string().len();
    }
    value
}

fn shrink_longest(value: &mut Value) -> bool {
    fn longest(value: &mut Value) -> Option<&mut String> {
        match value {
            Value::String(s) => Some(s),
            Value::Array(items) => items.iter_mut().filter_map(longest).max_by_key(|s| s.len()),
            Value::Object(map) => map.values_mut().filter_map(longest).max_by_key(|s| s.len()),
            _ => None,
        }
    }
    match longest(value) {
        Some(s) if s.chars().count() > 64 => {
            let keep = s.chars().count() / 2;
            *s = super::text::truncate(s, keep);
            true
        }
        _ => false,
    }
}

/// The generic webhook body.
pub(super) fn webhook(alert: &Alert) -> Value {
    json!({"version": WEBHOOK_SCHEMA_VERSION, "alert": alert_value(alert)})
}

/// A `PutEvents` entry with source `gdalert`.
pub(super) fn eventbridge(alert: &Alert, bus: Option<&str>) -> Value {
    let detail = json!({"version": WEBHOOK_SCHEMA_VERSION, "alert": alert_value(alert)});
    let mut entry = json!({
        "Source": "gdalert",
        "DetailType": "gdalert Alert",
        "Detail": detail.to_string(),
        "Resources": Vec::<String>::new(),
    });
    if let Some(bus) = bus {
        entry["EventBusName"] = Value::String(bus.to_string());
    }
    entry
}
