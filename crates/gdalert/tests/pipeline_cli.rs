//! `gdalert replay | render | samples | test | validate`, run as real processes.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is the failure report

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn gdalert_in(dir: &Path, args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_gdalert"))
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let input = stdin.unwrap_or("").to_string();
    let mut pipe = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || {
        let _ = pipe.write_all(input.as_bytes());
    });
    let output = child.wait_with_output().unwrap();
    writer.join().unwrap();
    output
}

fn gdalert(args: &[&str]) -> Output {
    gdalert_in(&root(), args, None)
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn decisions(o: &Output) -> Vec<String> {
    text(&o.stdout)
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["decision"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect()
}

#[test]
fn replaying_the_same_findings_twice_sends_nothing_the_second_time() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("state.db");
    let store = store.to_str().unwrap();
    let first = gdalert(&[
        "replay",
        "--store",
        store,
        "--format",
        "json",
        "tests/fixtures/events",
    ]);
    assert!(first.status.success(), "{}", text(&first.stderr));
    let sent = decisions(&first).iter().filter(|d| *d == "sent").count();
    // Directory order is name order, so each Healthy comes before its Unhealthy here:
    // 1 attack sequence, 1 malware scan, 4 runtime findings, 1 GuardDuty
    // sample finding and 2 opened coverage incidents.
    assert_eq!(sent, 9, "{}", text(&first.stdout));
    let second = gdalert(&[
        "replay",
        "--store",
        store,
        "--format",
        "json",
        "tests/fixtures/events",
    ]);
    assert!(second.status.success());
    assert_eq!(
        decisions(&second).iter().filter(|d| *d == "sent").count(),
        0,
        "{}",
        text(&second.stdout)
    );
    assert!(
        text(&second.stderr).contains("0 sent"),
        "{}",
        text(&second.stderr)
    );
}

#[test]
fn the_default_run_needs_no_arguments_and_no_files() {
    let dir = tempfile::tempdir().unwrap();
    // An empty directory: no patterns/, so the built-in configuration and samples are used.
    let o = gdalert_in(dir.path(), &["replay", "--fresh"], None);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let out = text(&o.stdout);
    assert!(
        out.contains("High Execution:Runtime/ReverseShell in platform-eks/web"),
        "{out}"
    );
    assert!(out.contains("Runtime protection restored"), "{out}");
    assert!(
        text(&o.stderr).contains("built-in patterns/routes.toml"),
        "{}",
        text(&o.stderr)
    );
}

#[test]
fn malformed_input_is_reported_with_its_line_and_the_rest_still_runs() {
    let good =
        std::fs::read_to_string(root().join("tests/fixtures/events/runtime-fargate-c2-high.json"))
            .unwrap();
    let good: serde_json::Value = serde_json::from_str(&good).unwrap();
    let mut no_detail_type = good.clone();
    no_detail_type
        .as_object_mut()
        .unwrap()
        .remove("detail-type");
    let lines = format!("{good}\n{{not json\n{no_detail_type}\n");
    let o = gdalert_in(
        &root(),
        &["replay", "--fresh", "--format", "json", "-"],
        Some(&lines),
    );
    assert_eq!(o.status.code(), Some(1), "invalid input must fail the run");
    let err = text(&o.stderr);
    assert!(err.contains("stdin:2: skipped"), "{err}");
    assert!(
        err.contains("stdin:3: skipped") && err.contains("detail-type"),
        "{err}"
    );
    assert!(err.contains("2 invalid"), "{err}");
    assert_eq!(
        decisions(&o),
        vec!["sent", "dry_run"],
        "the good event is still handled (the console, and the alert topic rendered)"
    );
}

#[test]
fn samples_cover_every_runtime_type_and_replay_with_an_opt_in_route() {
    let o = gdalert(&["samples"]);
    assert!(o.status.success());
    let samples = text(&o.stdout);
    assert_eq!(samples.lines().count(), 46 * 3 + 6);
    let dir = tempfile::tempdir().unwrap();
    let patterns = dir.path().join("patterns");
    std::fs::create_dir(&patterns).unwrap();
    std::fs::write(
        patterns.join("routes.toml"),
        "[destinations.out]\nkind = \"stdout\"\n\n[[routes]]\nname = \"all-runtime\"\nmatch = '{\"detail\": {\"type\": [{\"wildcard\": \"*:Runtime/*\"}]}}'\ndestinations = [\"out\"]\nsamples = true\ngroup_window = \"0s\"\n\n[settings]\nstorm_threshold = 1000\n",
    )
    .unwrap();
    let o = gdalert_in(
        dir.path(),
        &["replay", "--fresh", "--format", "json", "-"],
        Some(&samples),
    );
    assert!(o.status.success(), "{}", text(&o.stderr));
    let sent = decisions(&o).iter().filter(|d| *d == "sent").count();
    assert_eq!(sent, 46 * 3, "{}", text(&o.stderr));
}

#[test]
fn route_fixtures_pass_and_a_wrong_expectation_fails() {
    let o = gdalert(&["test"]);
    assert!(o.status.success(), "{}", text(&o.stdout));
    assert!(
        text(&o.stdout).ends_with("14 passed, 0 failed\n"),
        "{}",
        text(&o.stdout)
    );

    let dir = tempfile::tempdir().unwrap();
    let event = root().join("tests/fixtures/events/runtime-fargate-c2-high.json");
    let fixture = dir.path().join("wrong.toml");
    std::fs::write(
        &fixture,
        format!("[[case]]\nname = \"expects the wrong route\"\n[[case.step]]\nevent = {:?}\nexpect = [\"runtime/console: sent\"]\n", event.to_str().unwrap()),
    )
    .unwrap();
    let o = gdalert(&["test", fixture.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    let out = text(&o.stdout);
    assert!(
        out.contains("FAIL") && out.contains("runtime-high-critical/console: sent"),
        "{out}"
    );
    assert!(out.ends_with("0 passed, 1 failed\n"), "{out}");
}

#[test]
fn validate_catches_each_listed_mistake_with_a_location() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        root().join("patterns/runtime-findings.json"),
        dir.path().join("runtime-findings.json"),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("routes.toml"),
        r#"[destinations.chat]
kind = "slack"
webhook_url_secret = "https://hooks.slack.com/services/T0/B0/secret"

[destinations.out]
kind = "stdout"

[[routes]]
name = "everything"
destinations = ["out"]

[[routes]]
name = "runtime"
match = "runtime-findings.json"
destinations = ["pager"]
group_by = ["$..[?(@.x"]
repeat_interval = "soon"
"#,
    )
    .unwrap();
    let o = gdalert(&["validate", "--patterns", dir.path().to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    let err = text(&o.stderr);
    let file = dir.path().join("routes.toml").display().to_string();
    for (at, what) in [
        ("3:22", "inline secret in `webhook_url_secret`"),
        ("13:8", "route \"runtime\" is unreachable"),
        ("15:17", "unknown destination \"pager\""),
        ("16:13", "bad JSONPath"),
        ("17:19", "bad duration \"soon\""),
    ] {
        let needle = format!("{file}:{at}: {what}");
        assert!(err.contains(&needle), "missing {needle:?} in:\n{err}");
    }
    assert!(err.contains("5 problem(s) found"), "{err}");
}

#[test]
fn render_prints_the_exact_payload_for_a_destination() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("routes.toml"),
        "[destinations.chat]\nkind = \"slack\"\nwebhook_url_secret = \"/gdalert/slack\"\n\n[[routes]]\nname = \"all\"\ndestinations = [\"chat\"]\n",
    )
    .unwrap();
    let o = gdalert(&[
        "render",
        "tests/fixtures/events/runtime-eks-reverse-shell-high.json",
        "--destination",
        "chat",
        "--patterns",
        dir.path().to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let body: serde_json::Value = serde_json::from_str(&text(&o.stdout)).unwrap();
    assert_eq!(body["blocks"][0]["type"], "header");
    assert_eq!(body["unfurl_links"], false);
    let o = gdalert(&[
        "render",
        "tests/fixtures/events/runtime-eks-reverse-shell-high.json",
        "--destination",
        "nope",
        "--patterns",
        dir.path().to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("no destination \"nope\""));
}

#[test]
fn render_and_validate_cover_jira_and_google_chat() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        root().join("patterns/runtime-findings.json"),
        dir.path().join("runtime-findings.json"),
    )
    .unwrap();
    let routes = dir.path().join("routes.toml");
    let good = "[destinations.tickets]\nkind = \"jira\"\nsite = \"https://acme.atlassian.net\"\nemail = \"bot@acme.example\"\napi_token_secret = \"/gdalert/jira\"\nproject = \"SEC\"\n\n[destinations.space]\nkind = \"google_chat\"\nwebhook_url_secret = \"/gdalert/chat\"\n\n[[routes]]\nname = \"all\"\ndestinations = [\"tickets\", \"space\"]\n";
    std::fs::write(&routes, good).unwrap();
    let patterns = dir.path().to_str().unwrap();
    let event = "tests/fixtures/events/runtime-eks-reverse-shell-high.json";
    let o = gdalert(&[
        "render",
        event,
        "--destination",
        "tickets",
        "--patterns",
        patterns,
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let body: serde_json::Value = serde_json::from_str(&text(&o.stdout)).unwrap();
    assert_eq!(body["opens"], true, "{body}");
    assert_eq!(body["issue"]["fields"]["project"]["key"], "SEC", "{body}");
    assert_eq!(
        body["issue"]["fields"]["priority"]["name"], "High",
        "{body}"
    );
    assert_eq!(
        body["issue"]["fields"]["description"]["type"], "doc",
        "{body}"
    );
    assert!(
        body["label"].as_str().unwrap().starts_with("gdalert-"),
        "{body}"
    );
    let o = gdalert(&[
        "render",
        event,
        "--destination",
        "space",
        "--patterns",
        patterns,
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let body: serde_json::Value = serde_json::from_str(&text(&o.stdout)).unwrap();
    assert!(
        body["cardsV2"][0]["card"]["header"]["title"]
            .as_str()
            .unwrap()
            .contains("ReverseShell"),
        "{body}"
    );
    let o = gdalert(&["validate", "--patterns", patterns]);
    assert!(o.status.success(), "{}", text(&o.stderr));

    let bad = good
        .replace(
            "https://acme.atlassian.net",
            "https://acme.atlassian.net/jira",
        )
        .replace(
            "webhook_url_secret = \"/gdalert/chat\"",
            "webhook_url = \"https://chat.googleapis.com/v1/spaces/X/messages?key=K&token=T\"",
        );
    std::fs::write(&routes, bad).unwrap();
    let o = gdalert(&["validate", "--patterns", patterns]);
    assert_eq!(o.status.code(), Some(1));
    let err = text(&o.stderr);
    let file = routes.display().to_string();
    for (at, what) in [
        ("3:8", "destination \"tickets\": site \"https://acme.atlassian.net/jira\" is not a Jira Cloud site"),
        ("10:15", "inline secret `webhook_url` in destination \"space\""),
    ] {
        let needle = format!("{file}:{at}: {what}");
        assert!(err.contains(&needle), "missing {needle:?} in:\n{err}");
    }
    assert!(
        !err.contains("token=T"),
        "the inline URL is repeated: {err}"
    );
}

#[test]
fn replay_flush_sends_the_digest_of_what_a_group_held() {
    // Regression: --flush used a far-future instant at which every record had
    // expired, so grouped alerts vanished from the replay.
    let first: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("tests/fixtures/events/runtime-fargate-c2-high.json"))
            .unwrap(),
    )
    .unwrap();
    let mut second = first.clone();
    second["id"] = serde_json::json!("held-by-the-group");
    second["detail"]["id"] = serde_json::json!("another-finding-same-group");
    let lines = format!("{first}\n{second}\n");
    let run = |flush: bool| {
        let mut args = vec!["replay", "--fresh", "--format", "json", "-"];
        if flush {
            args.push("--flush");
        }
        let o = gdalert_in(&root(), &args, Some(&lines));
        assert!(o.status.success(), "{}", text(&o.stderr));
        text(&o.stdout)
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
            .collect::<Vec<_>>()
    };
    let without = run(false);
    assert!(without.iter().any(|r| r["decision"] == "grouped"));
    assert!(!without.iter().any(|r| r["route"] == "digest"));
    let with = run(true);
    let digest: Vec<_> = with.iter().filter(|r| r["route"] == "digest").collect();
    // One per destination (by name): the alert topic's is rendered, the console gets it.
    let decisions: Vec<&str> = digest
        .iter()
        .filter_map(|r| r["decision"].as_str())
        .collect();
    assert_eq!(decisions, ["dry_run", "sent"], "{with:?}");
}

#[test]
fn a_reader_that_goes_away_ends_the_output_quietly() {
    // Regression: `gdalert render ... | head` panicked with "failed printing
    // to stdout: Broken pipe".
    let event = root().join("tests/fixtures/events/runtime-fargate-c2-high.json");
    let event = event.to_str().unwrap();
    for args in [
        vec!["render", event, "--destination", "console"],
        vec!["validate"],
        vec!["patterns", "match", event],
        vec!["samples"],
    ] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_gdalert"))
            .args(&args)
            .current_dir(root())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // The reader is gone before the first write.
        drop(child.stdout.take());
        let output = child.wait_with_output().unwrap();
        let err = text(&output.stderr);
        assert!(!err.contains("panicked"), "{args:?}: {err}");
        assert!(
            output.status.success(),
            "{args:?}: {:?} {err}",
            output.status
        );
    }
}

#[test]
fn one_unreadable_file_or_line_does_not_stop_a_replay() {
    // Regression: one non-UTF-8 file in a directory, or one bad byte in a
    // JSON Lines file, ended the replay with exit 2 and nothing processed.
    let dir = tempfile::tempdir().unwrap();
    let good =
        std::fs::read(root().join("tests/fixtures/events/runtime-fargate-c2-high.json")).unwrap();
    std::fs::write(dir.path().join("a-good.json"), &good).unwrap();
    std::fs::write(dir.path().join("b-binary.json"), [0xff, 0xfe, 0x00, 0x7b]).unwrap();
    let other = std::fs::read_to_string(
        root().join("tests/fixtures/events/runtime-eks-reverse-shell-high.json"),
    )
    .unwrap();
    let one_line: serde_json::Value = serde_json::from_str(&other).unwrap();
    let mut jsonl = one_line.to_string().into_bytes();
    jsonl.extend_from_slice(b"\n{\"detail-type\": \"GuardDuty Finding\", \"x\": \"\xff\"}\n");
    std::fs::write(dir.path().join("c-lines.jsonl"), jsonl).unwrap();
    let o = gdalert(&[
        "replay",
        "--fresh",
        "--format",
        "json",
        dir.path().to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    let err = text(&o.stderr);
    assert!(err.contains("b-binary.json:1: skipped, not UTF-8"), "{err}");
    assert!(err.contains("c-lines.jsonl:2: skipped, not UTF-8"), "{err}");
    assert!(err.contains("2 invalid"), "{err}");
    assert_eq!(
        decisions(&o).iter().filter(|d| *d == "sent").count(),
        2,
        "both good events are still handled"
    );
}

#[test]
fn findings_pasted_from_the_console_or_an_sdk_are_converted_and_said_so() {
    // Regression: PascalCase (`Id`, `Type`) was "missing field `id`", and a
    // bare finding was "missing field `detail-type`".
    fn pascal(v: &serde_json::Value) -> serde_json::Value {
        match v {
            serde_json::Value::Object(m) => serde_json::Value::Object(
                m.iter()
                    .map(|(k, v)| {
                        let mut c = k.chars();
                        let first = c.next().unwrap().to_uppercase().chain(c).collect();
                        (first, pascal(v))
                    })
                    .collect(),
            ),
            serde_json::Value::Array(a) => serde_json::Value::Array(a.iter().map(pascal).collect()),
            other => other.clone(),
        }
    }
    let event: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string("../../tests/fixtures/events/runtime-fargate-c2-high.json")
            .unwrap(),
    )
    .unwrap();
    let finding = &event["detail"];
    let dir = tempfile::tempdir().unwrap();
    let export = dir.path().join("get-findings.json");
    std::fs::write(
        &export,
        serde_json::json!({"Findings": [pascal(finding)]}).to_string(),
    )
    .unwrap();
    let bare = dir.path().join("bare.json");
    std::fs::write(&bare, finding.to_string()).unwrap();
    for file in [&export, &bare] {
        let o = gdalert(&[
            "replay",
            "--fresh",
            "--format",
            "json",
            file.to_str().unwrap(),
        ]);
        let err = text(&o.stderr);
        assert!(o.status.success(), "{err}");
        assert_eq!(
            err.matches("wrapped in the EventBridge envelope").count(),
            1,
            "{err}"
        );
        assert!(
            decisions(&o).contains(&"sent".to_string()),
            "{}",
            text(&o.stdout)
        );
        let row: serde_json::Value =
            serde_json::from_str(text(&o.stdout).lines().next().unwrap()).unwrap();
        assert_eq!(row["type"], "Backdoor:Runtime/C&CActivity.B", "{row}");
        assert_eq!(row["band"], "High", "{row}");
    }
    let o = gdalert(&["render", bare.to_str().unwrap(), "--destination", "console"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(text(&o.stdout).contains("Backdoor:Runtime/C&CActivity.B"));
}

#[test]
fn a_silence_previews_saves_mutes_replays_lists_and_expires_with_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("state.db");
    let store = store.to_str().unwrap();
    let events = root().join("tests/fixtures/events");
    let c2 = events.join("runtime-fargate-c2-high.json");
    let pattern = r#"{"detail": {"resource": {"ecsClusterDetails": {"name": ["payments-prod"]}}}}"#;
    let add = |extra: &[&str]| {
        let mut args = vec![
            "silence",
            "add",
            "--match",
            pattern,
            "--owner",
            "alice",
            "--reason",
            "pentest of payments-prod",
            "--ticket",
            "SEC-7",
            "--store",
            store,
        ];
        args.extend_from_slice(extra);
        gdalert(&args)
    };
    // Preview against history: what it would have muted, by type; nothing saved.
    let o = add(&["--for", "7d", "--preview", events.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let out = text(&o.stdout);
    assert!(
        out.contains("muted   High Backdoor:Runtime/C&CActivity.B payments-prod"),
        "{out}"
    );
    assert!(
        out.contains("muted   High Execution:ECS/MaliciousFile payments-prod"),
        "{out}"
    );
    assert!(out.contains("would have muted 3;"), "{out}");
    assert!(out.contains("not saved"), "{out}");
    // A broad mute says what it would still let through.
    let o = gdalert(&[
        "silence",
        "add",
        "--match",
        r#"{"source": ["aws.guardduty"]}"#,
        "--owner",
        "alice",
        "--reason",
        "everything",
        "--for",
        "1d",
        "--store",
        store,
        "--preview",
        events.to_str().unwrap(),
    ]);
    let out = text(&o.stdout);
    assert!(
        out.contains("passes  Critical AttackSequence:ECS/CompromisedCluster payments-prod"),
        "{out}"
    );
    assert!(out.contains("1 matched but would still be sent"), "{out}");
    let o = gdalert(&["silence", "list", "--store", store]);
    assert!(
        text(&o.stdout).contains("no silences in force"),
        "{}",
        text(&o.stdout)
    );

    // No expiry, or one too far: refused with what to do.
    let o = add(&[]);
    assert!(!o.status.success());
    assert!(text(&o.stderr).contains("--for"), "{}", text(&o.stderr));
    let o = add(&["--for", "120d"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o.stderr).contains("at most 90 days"),
        "{}",
        text(&o.stderr)
    );

    let o = add(&["--for", "4h"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let id = text(&o.stdout)
        .split_whitespace()
        .nth(1)
        .unwrap()
        .to_string();
    let o = gdalert(&["silence", "list", "--store", store]);
    let listed = text(&o.stdout);
    assert!(
        listed.contains(&id) && listed.contains("owner alice") && listed.contains("SEC-7"),
        "{listed}"
    );

    // The pipeline honours it (a replay on the wall clock: now).
    let replay = || {
        gdalert(&[
            "replay",
            "--store",
            store,
            "--clock",
            "wall",
            "--format",
            "json",
            c2.to_str().unwrap(),
        ])
    };
    let o = replay();
    assert_eq!(
        decisions(&o),
        ["suppressed", "suppressed"],
        "{}",
        text(&o.stdout)
    );
    assert!(text(&o.stdout).contains(&format!("muted by silence {id}")));

    let o = gdalert(&["silence", "expire", &id, "--by", "bob", "--store", store]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let o = gdalert(&["silence", "show", &id, "--store", store]);
    assert!(
        text(&o.stdout).contains("\"expired_by\": \"bob\""),
        "{}",
        text(&o.stdout)
    );
    let o = replay();
    assert_eq!(decisions(&o), ["sent", "dry_run"], "{}", text(&o.stdout));

    // Scoped to one destination: checked against the routes file, and the
    // preview says where it mutes.
    let o = add(&["--for", "4h", "--destination", "pager-typo"]);
    assert!(!o.status.success());
    assert!(
        text(&o.stderr).contains("no destination \"pager-typo\"")
            && text(&o.stderr).contains("alerts-topic"),
        "{}",
        text(&o.stderr)
    );
    let o = add(&[
        "--for",
        "4h",
        "--destination",
        "alerts-topic",
        "--preview",
        c2.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(
        text(&o.stdout).contains("route runtime-high-critical→alerts-topic"),
        "{}",
        text(&o.stdout)
    );
}

#[test]
fn replay_compare_shows_which_alerts_a_routes_change_moves_drops_or_adds() {
    let dir = tempfile::tempdir().unwrap();
    let shipped = std::fs::read_to_string(root().join("patterns/routes.toml")).unwrap();
    let a = dir.path().join("a.toml");
    std::fs::write(&a, &shipped).unwrap();
    // B: the high route lets findings through to the broad one too, and
    // GuardDuty's sample findings are no longer delivered.
    let b = dir.path().join("b.toml");
    std::fs::write(
        &b,
        shipped
            .replace(
                "name = \"runtime-high-critical\"",
                "name = \"runtime-high-critical\"\ncontinue = true",
            )
            .replace("samples = true", "samples = false"),
    )
    .unwrap();
    let o = gdalert(&[
        "replay",
        "--compare",
        a.to_str().unwrap(),
        b.to_str().unwrap(),
        "tests/fixtures/events",
    ]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let out = text(&o.stdout);
    assert!(
        out.contains("disappears Low Execution:Runtime/NewBinaryExecuted"),
        "{out}"
    );
    assert!(
        out.contains("moves      High Backdoor:Runtime/C&CActivity.B payments-prod"),
        "{out}"
    );
    assert!(
        out.contains(
            "B: runtime → alerts-topic, runtime → console, runtime-high-critical → alerts-topic"
        ),
        "{out}"
    );
    assert!(
        out.trim_end()
            .ends_with("13 event(s): 9 unchanged, 3 move, 0 appear, 1 disappear"),
        "{out}"
    );
    // Nothing changes when nothing changed.
    let o = gdalert(&[
        "replay",
        "--compare",
        a.to_str().unwrap(),
        a.to_str().unwrap(),
        "tests/fixtures/events",
    ]);
    assert!(
        text(&o.stdout).contains("13 event(s): 13 unchanged"),
        "{}",
        text(&o.stdout)
    );
}

#[test]
fn coverage_report_from_a_saved_list_coverage_answer_groups_by_account_and_cluster_and_remembers() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("state.db");
    let store = store.to_str().unwrap();
    let from = root().join("tests/fixtures/coverage/list-coverage.json");
    let from = from.to_str().unwrap();
    let o = gdalert(&["coverage", "report", "--from", from, "--store", store]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let out = text(&o.stdout);
    // The console destination shows it; the topic is shown, not sent.
    assert!(
        out.contains("Runtime coverage: 2 resource(s) not monitored"),
        "{out}"
    );
    assert!(
        out.contains("Account 111122223333 · ECS cluster payments-prod"),
        "{out}"
    );
    assert!(out.contains("sidecar image could not be pulled"), "{out}");
    assert!(
        out.contains("Account 444455556666 · EKS cluster platform-eks"),
        "{out}"
    );
    assert!(
        !out.contains("i-0123456789abcdef0"),
        "a healthy instance is not listed: {out}"
    );
    assert!(out.contains("coverage -> console: sent"), "{out}");
    assert!(out.contains("coverage -> alerts-topic: dry_run"), "{out}");
    assert!(
        out.contains("3 resource(s) assessed, 2 not monitored"),
        "{out}"
    );

    // A dry run remembers nothing: the same report again.
    let o = gdalert(&["coverage", "report", "--from", from, "--store", store]);
    assert!(text(&o.stdout).contains("2 resource(s) not monitored"));

    // Not a ListCoverage answer: says so.
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, "{\"findings\": []}").unwrap();
    let o = gdalert(&["coverage", "report", "--from", bad.to_str().unwrap()]);
    assert!(!o.status.success());
    assert!(
        text(&o.stderr).contains("`resources` list"),
        "{}",
        text(&o.stderr)
    );
}
