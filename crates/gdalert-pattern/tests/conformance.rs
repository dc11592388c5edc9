//! The engine against AWS's own answers.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is the failure report

use std::path::PathBuf;

use gdalert_pattern::conformance::{run, Report};

fn corpus(file: &str) -> (String, String) {
    let dir = std::env::var_os("GDALERT_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared"));
    let path = dir.join("conformance").join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "cannot read {} (set GDALERT_SHARED to the shared/ folder): {e}",
            path.display()
        )
    });
    (text, path.display().to_string())
}

fn assert_all_pass(file: &str, expected_cases: usize) {
    let (text, source) = corpus(file);
    let mut report = Report::default();
    run(&text, &source, &mut report);
    let failures: Vec<String> = report
        .failed
        .iter()
        .map(|(n, why)| format!("{n}: {why}"))
        .collect();
    assert!(
        failures.is_empty(),
        "{}\n{}",
        report.summary(),
        failures.join("\n")
    );
    assert!(report.skipped.is_empty(), "skipped: {:?}", report.skipped);
    assert_eq!(report.passed, expected_cases, "{}", report.summary());
}

#[test]
fn aws_verified_corpus_passes_in_full() {
    assert_all_pass("eventbridge-patterns.jsonl", 176);
}

#[test]
fn event_ruler_probes_pass_in_full() {
    assert_all_pass("eventbridge-patterns-event-ruler-probes.jsonl", 99);
}
