//! `events/`: the payloads the README's local invoke uses. They are the
//! output of `gdalert samples --invoke-events`, one folder per function
//! binary, and each event is one the deployed rules send to that function.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn files(dir: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for function in std::fs::read_dir(dir).unwrap() {
        let function = function.unwrap().path();
        for event in std::fs::read_dir(&function).unwrap() {
            let event = event.unwrap().path();
            let key = event.strip_prefix(dir).unwrap().display().to_string();
            out.insert(key, std::fs::read_to_string(&event).unwrap());
        }
    }
    out
}

#[test]
fn events_dir_is_what_gdalert_samples_writes() {
    let dir = tempfile::tempdir().unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_gdalert"))
        .args(["samples", "--invoke-events"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let generated = files(dir.path());
    let committed = files(&root().join("events"));
    assert_eq!(
        generated.keys().collect::<Vec<_>>(),
        committed.keys().collect::<Vec<_>>(),
        "events/ is out of date: run `cargo run -p gdalert -- samples --invoke-events events`"
    );
    for (name, text) in &generated {
        assert_eq!(
            &committed[name], text,
            "events/{name} is out of date: run `cargo run -p gdalert -- samples --invoke-events events`"
        );
    }
}

#[test]
fn each_event_is_one_the_deployed_rules_send_to_its_function() {
    let template = std::fs::read_to_string(root().join("infra/template.yaml")).unwrap();
    let rules: toml::Table =
        toml::from_str(&std::fs::read_to_string(root().join("patterns/rules.toml")).unwrap())
            .unwrap();
    let rules: Vec<(String, gdalert_pattern::Rule)> = rules["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let file = r["pattern"].as_str().unwrap();
            let text = std::fs::read_to_string(root().join("patterns").join(file)).unwrap();
            (
                r["function"].as_str().unwrap().to_string(),
                gdalert_pattern::compile(&text).unwrap(),
            )
        })
        .collect();
    for (name, text) in files(&root().join("events")) {
        let function = name.split('/').next().unwrap();
        assert!(
            template.contains(&format!("Binary: {function}")),
            "events/{name}: no function binary {function} in infra/template.yaml"
        );
        if function == "alert-digest" {
            continue; // invoked by the schedule, not by a rule
        }
        let node = gdalert_pattern::parse_event(&text).unwrap();
        let fed: Vec<&str> = rules
            .iter()
            .filter(|(_, rule)| {
                let mut set = gdalert_pattern::PatternSetBuilder::new();
                set.add("r", rule.clone());
                !set.build().matches(&node).is_empty()
            })
            .map(|(f, _)| f.as_str())
            .collect();
        assert!(
            !fed.is_empty() && fed.iter().all(|f| *f == function),
            "events/{name}: the rules send it to {fed:?}"
        );
    }
}
