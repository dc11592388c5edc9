//! Any text as a routes file (after `${VAR}` expansion). Invariants: no
//! panic; a file that loads also validates its routes against an event.
#![no_main]

use std::collections::BTreeMap;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let expanded = match gdalert_pipeline::config::expand_variables(text, |name| {
        (name.len() % 2 == 0).then(|| format!("v\"al'ue\n{name}"))
    }) {
        Ok(expanded) => expanded,
        Err(_) => return,
    };
    let patterns = BTreeMap::from([(
        "p.json".to_string(),
        r#"{"source": ["aws.guardduty"]}"#.to_string(),
    )]);
    if let Ok(config) = gdalert_pipeline::Config::load("routes.toml", &expanded, &patterns) {
        let _ = config.destinations.len();
    }
});
