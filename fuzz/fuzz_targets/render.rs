//! Every destination kind renders any event. The input is an event when it
//! reads as one; otherwise it is attacker text written into every field a
//! workload controls of a real finding. Invariants: no panic, and each
//! receiver's limits hold after escaping.
#![no_main]

use std::collections::BTreeMap;
use std::sync::OnceLock;

use gdalert_pipeline::alert::{enrich, EnrichOptions};
use gdalert_pipeline::{render, Config, Lifecycle, Payload};
use libfuzzer_sys::fuzz_target;
use serde_json::{json, Value};

const ROUTES: &str = include_str!("../../tests/fixtures/routes/all-destinations.toml");

const FINDING: &str = include_str!("../../tests/fixtures/events/runtime-fargate-c2-high.json");

fn config() -> &'static Config {
    static CONFIG: OnceLock<Config> = OnceLock::new();
    CONFIG.get_or_init(|| {
        Config::load("routes.toml", ROUTES, &BTreeMap::new()).unwrap_or_else(|e| panic!("{e}"))
    })
}

fn hostile(text: &str) -> String {
    let mut event: Value = serde_json::from_str(FINDING).unwrap_or_else(|e| panic!("{e}"));
    let process = &mut event["detail"]["service"]["runtimeDetails"]["process"];
    process["name"] = json!(text);
    process["executablePath"] = json!(text);
    process["lineage"] = json!([{"name": text, "executablePath": text}]);
    event["detail"]["service"]["runtimeDetails"]["context"] =
        json!({"commandLineExample": text, "scriptPath": text, "toolName": text});
    event["detail"]["service"]["action"] = json!({"dnsRequestAction": {"domain": text}});
    event["detail"]["description"] = json!(text);
    event["detail"]["title"] = json!(text);
    event.to_string()
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let owned;
    let input = match gdalert_pipeline::read(text) {
        Ok(input) => input,
        Err(_) => {
            owned = hostile(text);
            match gdalert_pipeline::read(&owned) {
                Ok(input) => input,
                Err(e) => panic!("a finding with hostile text is still an event: {e}"),
            }
        }
    };
    let options = EnrichOptions::default();
    for lifecycle in [Lifecycle::New, Lifecycle::Update] {
        let alert = enrich(&input.event, lifecycle, &options);
        for destination in config().destinations.values() {
            let payload = render(&alert, destination).unwrap_or_else(|e| panic!("{e}"));
            check(&destination.name, &payload);
        }
    }
});

fn check(name: &str, payload: &Payload) {
    match (name, payload) {
        ("slack", Payload::Json { body }) => {
            let blocks = body["blocks"].as_array().map_or(0, Vec::len);
            assert!(blocks <= 50, "slack: {blocks} blocks");
            let mut texts = Vec::new();
            strings(body, &mut texts);
            for t in texts {
                assert!(t.chars().count() <= 3000, "slack: a text of {}", t.chars().count());
            }
        }
        ("teams", Payload::Json { body }) => {
            let size = body.to_string().len();
            assert!(size <= 28 * 1024, "teams: card of {size} bytes");
        }
        ("pagerduty", Payload::Json { body }) => {
            if let Some(summary) = body["payload"]["summary"].as_str() {
                assert!(summary.chars().count() <= 1024);
            }
            assert!(body.to_string().len() <= 512 * 1024);
        }
        ("eventbridge", Payload::Json { body }) => {
            assert!(body.to_string().len() <= 256 * 1024);
        }
        ("sns", Payload::Sns { subject, message, attributes }) => {
            assert!(subject.is_ascii() && subject.len() < 100 && !subject.contains('\n'));
            let total = subject.len()
                + message.len()
                + attributes.iter().map(|(k, v)| k.len() + v.len() + 6).sum::<usize>();
            assert!(total <= 256 * 1024, "sns: {total} bytes");
        }
        ("email", Payload::Email { subject, .. }) => {
            assert!(!subject.contains('\n') && !subject.contains('\r'));
        }
        _ => {}
    }
}

fn strings(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::String(s) => out.push(s.clone()),
        Value::Array(items) => items.iter().for_each(|v| strings(v, out)),
        Value::Object(map) => map.values().for_each(|v| strings(v, out)),
        _ => {}
    }
}
