//! Machine-readable outputs: the generic webhook document and the EventBridge
//! entry for downstream automation. Values are kept as data (JSON escaping is
//! serde's job), with invisible characters stripped so what a tool logs is
//! what a human reads.

use serde_json::{json, Value};

use super::text::{clean, fit_json_bytes, json_len};
use crate::alert::{Alert, HELD_BACK};

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
    // v1 documents carried a digest's held-back titles as `held_titles`;
    // they now live in `sections` and are still given under the old name.
    let held: Vec<&str> = alert
        .sections
        .iter()
        .filter(|s| s.heading == HELD_BACK)
        .flat_map(|s| s.items.iter().map(|i| i.text.as_str()))
        .collect();
    if let Value::Object(map) = &mut value {
        map.insert("held_titles".into(), cleaned(json!(held)));
    }
    let size = value.to_string().len();
    if size <= DETAIL_MAX_BYTES {
        return value;
    }
    // Keep the document bounded in one pass: the room left by everything but
    // the strings is shared among the strings (short ones whole, long ones
    // cut, each saying how much it lost). It used to halve the longest string
    // and re-serialise until it fit: minutes for a multi-megabyte finding.
    let mut leaves = Vec::new();
    strings(&mut value, &mut leaves);
    let strings_size: usize = leaves.iter().map(|s| json_len(s)).sum();
    let budget = DETAIL_MAX_BYTES.saturating_sub(size - strings_size);
    let pieces = leaves.iter().map(|s| (**s).clone()).collect();
    for (leaf, fitted) in leaves.into_iter().zip(fit_json_bytes(pieces, budget)) {
        *leaf = fitted;
    }
    value
}

/// Every string value in `value`, in document order.
fn strings<'a>(value: &'a mut Value, out: &mut Vec<&'a mut String>) {
    match value {
        Value::String(s) => out.push(s),
        Value::Array(items) => items.iter_mut().for_each(|v| strings(v, out)),
        Value::Object(map) => map.values_mut().for_each(|v| strings(v, out)),
        _ => {}
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_multi_megabyte_alert_fits_the_entry_in_one_pass() {
        // Regression: a 2.6 MB event took over ten minutes to render here.
        let mut alert = Alert::summary("e", "t".into(), "m".into());
        alert.description = Some("d&\"\\".repeat(500_000));
        alert.sections = vec![crate::alert::Section::of(
            HELD_BACK,
            (0..400)
                .map(|i| crate::alert::Item {
                    lead: String::new(),
                    text: format!("{i}{}", "x".repeat(4000)),
                })
                .collect(),
        )];
        alert.meaning = "short meaning stays whole".into();
        let value = alert_value(&alert);
        let size = value.to_string().len();
        assert!(size <= DETAIL_MAX_BYTES, "{size}");
        assert_eq!(value["meaning"], "short meaning stays whole");
        let description = value["description"].as_str().unwrap_or_default();
        assert!(
            description.ends_with("more characters)"),
            "{description:.80}"
        );
    }
}
