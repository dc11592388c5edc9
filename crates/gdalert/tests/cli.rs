//! The `gdalert patterns` interface, run as a real process.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is the failure report

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn gdalert(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gdalert"))
        .args(args)
        .current_dir(root())
        .output()
        .unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn sorted_json_files(dir: &str) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(root().join(dir))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".json"))
        .collect();
    names.sort();
    names
}

#[test]
fn shipped_patterns_validate() {
    let o = gdalert(&["patterns", "validate"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        stdout(&o).trim(),
        format!(
            "{} pattern file(s) valid",
            sorted_json_files("patterns").len()
        )
    );
}

#[test]
fn validate_names_file_line_pointer_and_reason() {
    let dir = std::env::temp_dir().join(format!("gdalert-validate-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("broken.json");
    std::fs::write(
        &bad,
        "{\n  \"detail\": {\n    \"state\": [{\"anything-but\": {\"prefix\": \"\"}}]\n  }\n}\n",
    )
    .unwrap();
    let o = gdalert(&["patterns", "validate", dir.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(err.contains("broken.json:3:"), "{err}");
    assert!(err.contains("/detail/state/0/anything-but/prefix"), "{err}");
    assert!(
        err.contains("Reason: Null prefix/suffix not allowed"),
        "{err}"
    );
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn validate_names_a_bad_operator_before_a_missing_bracket_as_eventbridge_does() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("half.json"),
        "{\n  \"detail\": {\n    \"count\": [{\"numeric\": [\">\", 1e309]}],\n    \"type\": [\"x\"\n  }\n}\n",
    )
    .unwrap();
    let o = gdalert(&["patterns", "validate", dir.path().to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(err.contains("half.json:3:"), "{err}");
    assert!(err.contains("/detail/count/0/numeric/1"), "{err}");
    assert!(
        err.contains("Reason: Cannot compare number : 1e309"),
        "{err}"
    );
}

#[test]
fn test_prints_true_false_and_rejects_like_test_event_pattern() {
    let event = "tests/fixtures/events/runtime-fargate-c2-high.json";
    let o = gdalert(&[
        "patterns",
        "test",
        "--pattern",
        "patterns/runtime-command-and-control.json",
        "--event",
        event,
    ]);
    assert_eq!((o.status.code(), stdout(&o).trim()), (Some(0), "true"));
    let o = gdalert(&[
        "patterns",
        "test",
        "--pattern",
        "patterns/runtime-crypto-mining.json",
        "--event",
        event,
    ]);
    assert_eq!((o.status.code(), stdout(&o).trim()), (Some(0), "false"));
    let o = gdalert(&[
        "patterns",
        "test",
        "--pattern",
        r#"{"source": []}"#,
        "--event",
        event,
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("Empty arrays are not allowed"),
        "{}",
        stderr(&o)
    );
    let o = gdalert(&[
        "patterns",
        "test",
        "--pattern",
        r#"{"source": ["x"]}"#,
        "--event",
        r#"{"testEvent": "value"}"#,
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("Parameter Event is not valid"),
        "{}",
        stderr(&o)
    );
    assert!(stdout(&o).is_empty());
}

#[test]
fn match_lists_matching_pattern_files_per_event() {
    let o = gdalert(&[
        "patterns",
        "match",
        "tests/fixtures/events/runtime-protection-unhealthy-eks.real.json",
        "tests/fixtures/events/eks-auditlog-malicious-ip-caller.real.json",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(
        out.contains("runtime-protection-unhealthy-eks.real.json: runtime-protection-unhealthy\n"),
        "{out}"
    );
    assert!(
        out.contains("eks-auditlog-malicious-ip-caller.real.json: (no pattern)\n"),
        "{out}"
    );
}

#[test]
fn conformance_closing_line_and_exit_code() {
    let corpus = std::env::var("GDALERT_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|_| root().join("../shared"));
    let file = corpus.join("conformance/eventbridge-patterns.jsonl");
    let o = gdalert(&["patterns", "conformance", file.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stdout(&o));
    assert_eq!(stdout(&o).lines().last(), Some("176 passed, 0 failed"));

    let dir = std::env::temp_dir().join(format!("gdalert-conf-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let wrong = dir.join("wrong.jsonl");
    let case = r#"{"name":"deliberately-wrong","pattern":{"source":["a"]},"event":{"id":"1","account":"1","source":"a","time":"t","region":"r","detail-type":"d"},"expected":"no_match"}"#;
    std::fs::write(&wrong, format!("{case}\n")).unwrap();
    let o = gdalert(&["patterns", "conformance", wrong.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    let out = stdout(&o);
    assert!(
        out.contains("FAIL deliberately-wrong: expected no_match, got match"),
        "{out}"
    );
    assert_eq!(out.lines().last(), Some("0 passed, 1 failed"));
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn embedded_defaults_are_the_shipped_files() {
    // The binary carries patterns/ and the sample events; a file added to
    // either folder must be added to crates/gdalert-shipped/src/lib.rs too.
    let o = gdalert(&["patterns", "match", "--patterns", "patterns"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let lines = stdout(&o).lines().count();
    assert_eq!(
        lines,
        sorted_json_files("tests/fixtures/events").len(),
        "embedded sample list is out of date"
    );
    let source = std::fs::read_to_string(root().join("crates/gdalert-shipped/src/lib.rs")).unwrap();
    for f in sorted_json_files("patterns")
        .iter()
        .chain(sorted_json_files("tests/fixtures/events").iter())
    {
        assert!(
            source.contains(&format!("\"{f}\"")),
            "{f} is not embedded in crates/gdalert-shipped/src/lib.rs"
        );
    }
}

#[test]
fn match_reads_directories_and_json_lines_and_goes_on_past_a_bad_file() {
    // Regression: one non-UTF-8 file ended `patterns match` with nothing matched.
    let dir = tempfile::tempdir().unwrap();
    let finding = std::fs::read_to_string(
        root().join("tests/fixtures/events/runtime-protection-unhealthy-eks.real.json"),
    )
    .unwrap();
    let one_line: serde_json::Value = serde_json::from_str(&finding).unwrap();
    std::fs::write(dir.path().join("a-binary.json"), b"{\"x\": \"\xff\"}").unwrap();
    std::fs::write(
        dir.path().join("b-lines.jsonl"),
        format!("{one_line}\nnot json\n{one_line}\n"),
    )
    .unwrap();
    let o = gdalert(&["patterns", "match", dir.path().to_str().unwrap()]);
    let out = stdout(&o);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{out}{err}");
    assert!(err.contains("a-binary.json:1: skipped, not UTF-8"), "{err}");
    assert!(err.contains("b-lines.jsonl:2: "), "{err}");
    assert_eq!(
        out.matches(": runtime-protection-unhealthy\n").count(),
        2,
        "{out}"
    );
}

#[test]
fn a_pretty_printed_file_with_one_mistake_gets_one_error_at_its_line() {
    // Regression: a multi-line document that was not JSON was read as JSON
    // Lines, one error per line.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("broken.json");
    std::fs::write(&file, "{\n  \"id\": \"1\",\n  \"source\": oops\n}\n").unwrap();
    let o = gdalert(&["patterns", "match", file.to_str().unwrap()]);
    let err = stderr(&o);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("line 3"), "{err}");
}
