//! The invariants of ARCHITECTURE.md, checked on the real dependency graph
//! (`cargo metadata`): dependencies point inward, and the pure crates reach
//! no AWS SDK, HTTP stack or Lambda runtime, however indirectly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use serde_json::Value;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Package name → names of its normal (non-dev, non-build) dependencies.
fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let out = std::process::Command::new(env!("CARGO"))
        .args(["metadata", "--format-version", "1"])
        .current_dir(root())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta: Value = serde_json::from_slice(&out.stdout).unwrap();
    let name_of: BTreeMap<&str, &str> = meta["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["id"].as_str().unwrap(), p["name"].as_str().unwrap()))
        .collect();
    let mut graph = BTreeMap::new();
    for node in meta["resolve"]["nodes"].as_array().unwrap() {
        let name = name_of[node["id"].as_str().unwrap()].to_string();
        let deps: BTreeSet<String> = node["deps"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|d| {
                d["dep_kinds"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|k| k["kind"].is_null())
            })
            .map(|d| name_of[d["pkg"].as_str().unwrap()].to_string())
            .collect();
        graph.entry(name).or_insert_with(BTreeSet::new).extend(deps);
    }
    graph
}

/// Everything `krate` links, directly or not.
fn reach(graph: &BTreeMap<String, BTreeSet<String>>, krate: &str) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    let mut todo = vec![krate.to_string()];
    while let Some(next) = todo.pop() {
        for dep in graph.get(&next).into_iter().flatten() {
            if seen.insert(dep.clone()) {
                todo.push(dep.clone());
            }
        }
    }
    seen
}

const AWS: &[&str] = &[
    "aws-config",
    "aws-smithy-runtime",
    "aws-sdk-dynamodb",
    "aws-sdk-sns",
];
const HTTP: &[&str] = &["reqwest", "hyper", "lettre", "axum"];
const LAMBDA: &[&str] = &["lambda_runtime"];
const SQLITE: &[&str] = &["rusqlite"];

/// (crate, what it must never link), as ARCHITECTURE.md lists them.
fn rules() -> Vec<(&'static str, Vec<&'static str>)> {
    let all = |groups: &[&[&'static str]]| groups.concat();
    vec![
        (
            "gdalert-event",
            all(&[
                AWS,
                HTTP,
                LAMBDA,
                SQLITE,
                &["gdalert-pattern", "gdalert-pipeline"],
            ]),
        ),
        (
            "gdalert-pattern",
            all(&[
                AWS,
                HTTP,
                LAMBDA,
                SQLITE,
                &["gdalert-event", "gdalert-pipeline"],
            ]),
        ),
        ("gdalert-pipeline", all(&[AWS, HTTP, LAMBDA, SQLITE])),
        ("gdalert-store-sqlite", all(&[AWS, HTTP, LAMBDA])),
        ("gdalert-delivery", all(&[AWS, LAMBDA, SQLITE])),
        ("gdalert-aws", all(&[LAMBDA, SQLITE])),
        ("gdalert-shipped", all(&[AWS, HTTP, LAMBDA, SQLITE])),
    ]
}

#[test]
fn dependencies_point_inward() {
    let graph = graph();
    // The walk works: the functions' shared crate does reach the Lambda runtime and the SDK.
    let lambda = reach(&graph, "gdalert-lambda");
    assert!(
        lambda.contains("lambda_runtime") && lambda.contains("aws-config"),
        "{lambda:?}"
    );
    let mut broken = Vec::new();
    for (krate, forbidden) in rules() {
        assert!(graph.contains_key(krate), "{krate} is not in the workspace");
        let linked = reach(&graph, krate);
        for f in forbidden {
            if linked.contains(f) {
                broken.push(format!("{krate} links {f}"));
            }
        }
    }
    assert!(
        broken.is_empty(),
        "ARCHITECTURE.md invariants broken: {broken:?}"
    );
}

#[test]
fn function_mains_only_wire() {
    for function in ["finding-alerts", "coverage-alerts", "digest"] {
        let path = root().join("functions").join(function).join("src/main.rs");
        let text = std::fs::read_to_string(&path).unwrap();
        let code: Vec<&str> = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with("//"))
            .collect();
        assert!(
            code.len() <= 12,
            "{}: main.rs grew to {} lines; handling belongs in gdalert-lambda",
            path.display(),
            code.len()
        );
        assert_eq!(
            code.iter().filter(|l| l.contains("fn ")).count(),
            1,
            "{}: only `main` belongs here",
            path.display()
        );
    }
}
