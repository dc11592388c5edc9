//! End to end through the Lambda Runtime API: the built `finding-alerts`
//! binary serves events from a local Runtime API, with its AWS clients on
//! the local AWS API server and its Slack webhook on a loopback receiver.
//! A sample finding in → an SNS message in the SQS queue and a Slack
//! payload at the receiver; the same event again (a retry) → nothing new.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use gdalert_aws::{AwsClients, DynamoStore};
use gdalert_testkit::aws::{receive, topic_with_queue};
use gdalert_testkit::{fixture, moto_url, sdk_config, unique, Receiver, Reply, RuntimeApi};
use serde_json::Value;

struct Function(Child);

impl Drop for Function {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn lambda_env(cmd: &mut Command, runtime_api: &str) {
    cmd.env("AWS_LAMBDA_RUNTIME_API", runtime_api)
        .env("AWS_LAMBDA_FUNCTION_NAME", "finding-alerts")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/finding-alerts")
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "test")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_ENDPOINT_URL", moto_url())
        .env_remove("AWS_PROFILE");
}

async fn within<T>(what: &str, f: impl std::future::Future<Output = T>) -> T {
    // A guard against a hung test, not a speed check.
    tokio::time::timeout(Duration::from_secs(120), f)
        .await
        .unwrap_or_else(|_| panic!("{what}: no answer within 120 s"))
}

#[tokio::test]
async fn a_sample_finding_reaches_sns_and_slack_once() {
    let config = sdk_config(&moto_url()).await;
    let aws = AwsClients::from_config(&config);
    let sqs = aws_sdk_sqs::Client::new(&config);

    let table = unique("gdalert-e2e");
    DynamoStore::new(aws.dynamodb.clone(), &table)
        .create_table()
        .await
        .unwrap();
    let (topic, queue_url) = topic_with_queue(&aws.sns, &sqs, "e2e").await;
    let slack = Receiver::start(vec![Reply::Status(200, "ok")]).await;
    let secret = aws
        .secrets_manager
        .create_secret()
        .name(unique("gdalert/slack"))
        .secret_string(format!("{}/services/T0/B0/X", slack.base))
        .send()
        .await
        .unwrap()
        .arn()
        .unwrap()
        .to_string();

    let dir = tempfile::tempdir().unwrap();
    let routes = dir.path().join("routes.toml");
    std::fs::write(
        &routes,
        format!(
            r#"
[destinations.topic]
kind = "sns"
topic_arn = "${{GDALERT_E2E_TOPIC}}"

[destinations.chat]
kind = "slack"
webhook_url_secret = "{secret}"

[[routes]]
name = "runtime"
match = "runtime-findings.json"
destinations = ["topic", "chat"]
"#
        ),
    )
    .unwrap();

    let api = RuntimeApi::start().await;
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_finding-alerts"));
    lambda_env(&mut cmd, &api.address);
    cmd.env("GDALERT_STATE_TABLE", &table)
        .env("GDALERT_ROUTES_FILE", &routes)
        .env("GDALERT_E2E_TOPIC", &topic)
        .env("GDALERT_ALLOW_LOOPBACK_HTTP", "true")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let _function = Function(cmd.spawn().unwrap());

    let event: Value = serde_json::from_str(&fixture("runtime-fargate-c2-high.json")).unwrap();
    api.invoke("req-1", event.clone());
    let answers = within("first invocation", api.answers(1)).await;
    let first = answers[0]
        .result
        .as_ref()
        .unwrap_or_else(|e| panic!("function failed: {e}"));
    assert_eq!(first["lifecycle"], "new", "{first}");

    let bodies = receive(&sqs, &queue_url).await;
    assert_eq!(bodies.len(), 1, "{bodies:?}");
    let envelope: Value = serde_json::from_str(&bodies[0]).unwrap();
    assert_eq!(
        envelope["MessageAttributes"]["type"]["Value"],
        "Backdoor:Runtime/C&CActivity.B"
    );
    let posts = slack.seen();
    assert_eq!(posts.len(), 1);
    assert_eq!(posts[0].path, "/services/T0/B0/X");
    assert!(posts[0].body["blocks"].is_array(), "{}", posts[0].body);

    // EventBridge delivers the same event again: nothing is posted twice.
    api.invoke("req-2", event);
    let answers = within("retried invocation", api.answers(2)).await;
    assert!(answers[1].result.is_ok(), "{:?}", answers[1]);
    assert!(receive(&sqs, &queue_url).await.is_empty());
    assert_eq!(slack.seen().len(), 1);

    // A malformed event: a non-retryable error for the dead-letter queue.
    api.invoke(
        "req-3",
        serde_json::json!({"detail-type": "GuardDuty Finding", "detail": 7}),
    );
    let answers = within("malformed invocation", api.answers(3)).await;
    let error = answers[2].result.as_ref().unwrap_err();
    assert_eq!(error["errorType"], "gdalert.NotRetryable", "{error}");
}

#[tokio::test]
async fn a_missing_variable_stops_init_and_names_it() {
    let api = RuntimeApi::start().await;
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_finding-alerts"));
    lambda_env(&mut cmd, &api.address);
    cmd.env_remove("GDALERT_STATE_TABLE")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let output = within(
        "init failure",
        tokio::task::spawn_blocking(move || cmd.output().unwrap()),
    )
    .await
    .unwrap();
    assert!(!output.status.success());
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(text.contains("GDALERT_STATE_TABLE"), "{text}");
}
