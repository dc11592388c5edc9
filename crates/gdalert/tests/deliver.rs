//! `gdalert replay --deliver` uses the real senders: a sample finding goes
//! to a Slack webhook on a loopback receiver, once.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::process::Command;

use gdalert_testkit::{JiraSite, Receiver, Reply};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

async fn replay(args: Vec<String>) -> std::process::Output {
    tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_gdalert"))
            .args(&args)
            .current_dir(root())
            .env("GDALERT_ALLOW_LOOPBACK_HTTP", "true")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("AWS_REGION", "us-east-1")
            .output()
            .unwrap()
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn replay_deliver_posts_to_a_real_webhook_once() {
    let slack = Receiver::start(vec![Reply::Status(200, "ok")]).await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("routes.toml"),
        r#"
[destinations.chat]
kind = "slack"
webhook_url_secret = "/gdalert/slack"

[[routes]]
name = "runtime"
match = '{"detail-type": ["GuardDuty Finding"]}'
destinations = ["chat"]
"#,
    )
    .unwrap();
    let secrets = dir.path().join("secrets.toml");
    std::fs::write(
        &secrets,
        format!("\"/gdalert/slack\" = \"{}/services/T/B/X\"\n", slack.base),
    )
    .unwrap();
    let state = dir.path().join("state.db");
    let args: Vec<String> = [
        "replay",
        "--deliver",
        "--patterns",
        dir.path().to_str().unwrap(),
        "--secrets-file",
        secrets.to_str().unwrap(),
        "--store",
        state.to_str().unwrap(),
        "tests/fixtures/events/runtime-fargate-c2-high.json",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let out = replay(args.clone()).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(slack.seen().len(), 1);
    assert!(slack.seen()[0].body["blocks"].is_array());
    // Same file, same state: nothing is posted again.
    let again = replay(args).await;
    assert!(
        again.status.success(),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    assert_eq!(slack.seen().len(), 1);
}

#[tokio::test]
async fn replay_deliver_reports_a_failed_destination_and_exits_non_zero() {
    let slack = Receiver::start(vec![Reply::Status(404, "no_service")]).await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("routes.toml"),
        "[destinations.chat]\nkind = \"slack\"\nwebhook_url_secret = \"/gdalert/slack\"\n\n[[routes]]\nname = \"all\"\ndestinations = [\"chat\"]\n",
    )
    .unwrap();
    let secrets = dir.path().join("secrets.toml");
    std::fs::write(
        &secrets,
        format!("\"/gdalert/slack\" = \"{}/x\"\n", slack.base),
    )
    .unwrap();
    let args: Vec<String> = [
        "replay",
        "--deliver",
        "--fresh",
        "--format",
        "json",
        "--patterns",
        dir.path().to_str().unwrap(),
        "--secrets-file",
        secrets.to_str().unwrap(),
        "tests/fixtures/events/runtime-fargate-c2-high.json",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let out = replay(args).await;
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains(r#""decision":"failed""#), "{stdout}");
    assert!(stdout.contains("configuration"), "{stdout}");
    assert!(
        !stdout.contains(&slack.base),
        "the webhook URL leaked: {stdout}"
    );
}

#[tokio::test]
async fn replay_deliver_opens_a_jira_issue_and_a_google_chat_thread_and_retries_post_nothing_twice()
{
    let chat = Receiver::start(vec![Reply::Status(
        200,
        r#"{"name":"spaces/AAA/messages/BBB.CCC"}"#,
    )])
    .await;
    let jira = JiraSite::start("soc-bot@example.com", "jira-api-token-value").await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("routes.toml"),
        format!(
            r#"
[destinations.chat]
kind = "google_chat"
webhook_url_secret = "/gdalert/chat"

[destinations.tickets]
kind = "jira"
site = "{}"
email = "soc-bot@example.com"
api_token_secret = "/gdalert/jira"
project = "SEC"

[[routes]]
name = "runtime"
match = '{{"detail-type": ["GuardDuty Finding"]}}'
destinations = ["chat", "tickets"]
"#,
            jira.base
        ),
    )
    .unwrap();
    let secrets = dir.path().join("secrets.toml");
    std::fs::write(
        &secrets,
        format!(
            "\"/gdalert/chat\" = \"{}/v1/spaces/AAA/messages?key=K&token=T\"\n\"/gdalert/jira\" = \"jira-api-token-value\"\n",
            chat.base
        ),
    )
    .unwrap();
    let state = dir.path().join("state.db");
    let args: Vec<String> = [
        "replay",
        "--deliver",
        "--patterns",
        dir.path().to_str().unwrap(),
        "--secrets-file",
        secrets.to_str().unwrap(),
        "--store",
        state.to_str().unwrap(),
        "tests/fixtures/events/runtime-fargate-c2-high.json",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    for _ in 0..2 {
        let out = replay(args.clone()).await;
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let all = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(!all.contains("jira-api-token-value"), "{all}");
    }
    let seen = chat.seen();
    assert_eq!(seen.len(), 1, "one Chat message for two runs");
    assert!(seen[0].body["cardsV2"].is_array());
    assert!(seen[0].body["thread"]["threadKey"]
        .as_str()
        .unwrap()
        .starts_with("gdalert-"));
    let issues = jira.issues();
    assert_eq!(issues.len(), 1, "one Jira issue for two runs");
    assert!(issues[0].comments.is_empty());
}

#[tokio::test]
async fn replay_deliver_refuses_a_destination_the_url_policy_forbids_before_sending_anything() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("routes.toml"),
        "[destinations.tickets]\nkind = \"jira\"\nsite = \"https://jira.evil.example\"\nemail = \"a@example.com\"\napi_token_secret = \"/gdalert/jira\"\nproject = \"SEC\"\n\n[[routes]]\nname = \"all\"\ndestinations = [\"tickets\"]\n",
    )
    .unwrap();
    let args: Vec<String> = [
        "replay",
        "--deliver",
        "--fresh",
        "--patterns",
        dir.path().to_str().unwrap(),
        "tests/fixtures/events/runtime-fargate-c2-high.json",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let out = replay(args).await;
    assert_ne!(out.status.code(), Some(0));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("destination \"tickets\" (jira): host jira.evil.example is not allowed for jira webhooks (allowed: *.atlassian.net)"),
        "{stderr}"
    );
}

#[tokio::test]
async fn patterns_test_aws_reports_a_disagreement_with_the_service() {
    // The local AWS API server does not implement TestEventPattern (it
    // answers `false` to everything), which makes it a reliable dissenter:
    // a pattern our engine matches must be reported as a disagreement.
    let moto = gdalert_testkit::moto_url();
    let pattern = r#"{"source": ["aws.guardduty"]}"#;
    let event = root().join("tests/fixtures/events/runtime-fargate-c2-high.json");
    let out = tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_gdalert"))
            .args(["patterns", "test", "--aws", "--pattern", pattern, "--event"])
            .arg(event)
            .env("AWS_ENDPOINT_URL", moto)
            .env("AWS_REGION", "us-east-1")
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "true");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("DISAGREEMENT"), "{stderr}");
    assert_eq!(out.status.code(), Some(1));
}
