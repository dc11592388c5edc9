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
        // What the template's LoggingConfig (LogFormat JSON) makes Lambda set.
        .env("AWS_LAMBDA_LOG_FORMAT", "JSON")
        .env("AWS_LAMBDA_LOG_LEVEL", "INFO")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_ENDPOINT_URL", moto_url())
        .env_remove("AWS_PROFILE");
}

/// The function binary as `cargo lambda watch` runs it on a laptop: no state
/// table, a SQLite file in `state`, no AWS reachable (every client points
/// at a closed port), plus `env`.
fn local_function(api: &RuntimeApi, state: &std::path::Path, env: &[(&str, &str)]) -> Function {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_finding-alerts"));
    lambda_env(&mut cmd, &api.address);
    cmd.env_remove("GDALERT_STATE_TABLE")
        .env("GDALERT_STATE", format!("sqlite:{}", state.display()))
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
        .env(
            "GDALERT_TOPIC_ARN",
            "arn:aws:sns:us-east-1:123456789012:gdalert",
        )
        .envs(env.iter().copied())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    Function(cmd.spawn().unwrap())
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
    assert!(
        !text.contains("Missing {"),
        "a readable message, not a Debug form: {text}"
    );
    // The Runtime API hears it too (so `cargo lambda invoke` prints it).
    let answers = within("init error report", api.answers(1)).await;
    assert_eq!(answers[0].request_id, "init");
    let error = answers[0].result.as_ref().unwrap_err();
    assert_eq!(error["errorType"], "gdalert.InitError", "{error}");
    let message = error["errorMessage"].as_str().unwrap_or_default();
    assert!(message.contains("GDALERT_STATE_TABLE"), "{message}");
}

/// Runs the function with `GDALERT_STATE_TABLE=table`, DynamoDB at
/// `dynamodb` (other AWS services on the local AWS API server) and a routes
/// file sending to the log; invokes it once with a finding. Returns the
/// answer and everything the function printed.
async fn invoke_with_state(table: &str, dynamodb: &str) -> (Result<Value, Value>, String) {
    let dir = tempfile::tempdir().unwrap();
    let routes = dir.path().join("routes.toml");
    std::fs::write(
        &routes,
        "[destinations.log]\nkind = \"stdout\"\n\n[[routes]]\nname = \"all\"\ndestinations = [\"log\"]\n",
    )
    .unwrap();
    let api = RuntimeApi::start().await;
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_finding-alerts"));
    lambda_env(&mut cmd, &api.address);
    cmd.env("GDALERT_STATE_TABLE", table)
        .env("GDALERT_ROUTES_FILE", &routes)
        .env("AWS_ENDPOINT_URL_DYNAMODB", dynamodb)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let child = cmd.spawn().unwrap();
    let event: Value = serde_json::from_str(&fixture("runtime-fargate-c2-high.json")).unwrap();
    api.invoke("req-state", event);
    // Lambda's timeout is 60 s: a silent store must not use it up.
    let answers = tokio::time::timeout(Duration::from_secs(30), api.answers(1))
        .await
        .expect("no answer within 30 s: the handler hangs on a silent state store");
    let mut child = child;
    let _ = child.kill();
    let output = child.wait_with_output().unwrap();
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (answers[0].result.clone(), printed)
}

fn assert_failed_open_loudly(answer: &Result<Value, Value>, printed: &str) {
    let answer = answer
        .as_ref()
        .unwrap_or_else(|e| panic!("the alert must go out without the store: {e}"));
    assert_eq!(answer["deliveries"][0]["decision"], "sent", "{answer}");
    let error_line = printed
        .lines()
        .find(|l| l.contains("state store unavailable"))
        .unwrap_or_else(|| panic!("no log line names the store failure:\n{printed}"));
    assert!(error_line.contains("\"level\":\"ERROR\""), "{error_line}");
    assert!(
        error_line.contains("req-state"),
        "the invocation's request id is on its log lines: {error_line}"
    );
    assert!(
        printed
            .lines()
            .any(|l| l.contains("\"StoreUnavailable\":1")),
        "no StoreUnavailable metric:\n{printed}"
    );
}

#[tokio::test]
async fn a_silent_state_store_fails_open_within_seconds_and_says_so() {
    let silent = gdalert_testkit::silent_listener();
    let (answer, printed) = invoke_with_state("gdalert-state", &silent).await;
    assert_failed_open_loudly(&answer, &printed);
}

#[tokio::test]
async fn a_missing_state_table_is_logged_at_error_and_counted() {
    let (answer, printed) = invoke_with_state(&unique("no-such-table"), &moto_url()).await;
    assert_failed_open_loudly(&answer, &printed);
    assert!(
        printed.contains("ResourceNotFound"),
        "the cause is named:\n{printed}"
    );
    let error_line = printed
        .lines()
        .find(|l| l.contains("state store unavailable"))
        .unwrap_or_default();
    assert!(
        !error_line.contains("ServiceError") && !error_line.contains("Error {"),
        "one line, not the SDK's debug form: {error_line}"
    );
}

#[tokio::test]
async fn with_no_aws_account_a_local_store_prints_the_alert_then_the_dedupe() {
    // `cargo lambda watch` + `cargo lambda invoke` on a laptop: no table, no
    // AWS. The state is a SQLite file; remote destinations are shown, not sent.
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("function-state.db");
    let api = RuntimeApi::start().await;
    let _function = local_function(&api, &state, &[]);
    let event: Value =
        serde_json::from_str(&fixture("runtime-eks-reverse-shell-high.json")).unwrap();
    api.invoke("local-1", event.clone());
    let answers = within("first local invocation", api.answers(1)).await;
    let first = answers[0]
        .result
        .as_ref()
        .unwrap_or_else(|e| panic!("function failed: {e}"));
    assert_eq!(first["lifecycle"], "new", "{first}");
    assert_eq!(first["deliveries"][0]["decision"], "sent", "{first}");
    api.invoke("local-2", event);
    let answers = within("second local invocation", api.answers(2)).await;
    let second = answers[1]
        .result
        .as_ref()
        .unwrap_or_else(|e| panic!("function failed: {e}"));
    assert_eq!(
        second["deliveries"][0]["decision"], "already_delivered",
        "{second}"
    );
    assert!(state.exists());
}

#[tokio::test]
async fn an_event_serde_cannot_read_still_alerts_through_the_function_binary() {
    // Regression: nesting deeper than 128 or a number like 1e400 in a field
    // gdalert does not use sent a delivered, matched finding to the
    // dead-letter queue as "not valid JSON".
    let dir = tempfile::tempdir().unwrap();
    let api = RuntimeApi::start().await;
    let _function = local_function(&api, &dir.path().join("s.db"), &[]);
    let text = fixture("runtime-eks-reverse-shell-high.json");
    let deep = format!("{}\"x\"{}", "[".repeat(200), "]".repeat(200));
    let extra = format!(r#""agentExtras":{{"deep":{deep},"score":1e400}},"#);
    let hostile = text.replacen(r#""service": {"#, &format!(r#""service": {{{extra}"#), 1);
    assert_ne!(hostile, text, "the fixture has a service object");
    assert!(serde_json::from_str::<Value>(&hostile).is_err());
    api.invoke_text("odd-1", &hostile);
    let answers = within("invocation", api.answers(1)).await;
    let answer = answers[0]
        .result
        .as_ref()
        .unwrap_or_else(|e| panic!("function failed: {e}"));
    assert_eq!(answer["lifecycle"], "new", "{answer}");
    assert_eq!(answer["deliveries"][0]["decision"], "sent", "{answer}");
}

#[tokio::test]
async fn a_slow_receiver_is_cut_off_before_the_invocation_deadline_and_the_retry_is_left_to_send() {
    // Regression: a route's timeout (30 s here) could outlast the function's
    // remaining time; Lambda then killed the invocation with nothing recorded.
    let dir = tempfile::tempdir().unwrap();
    let hook = Receiver::start(vec![Reply::Hang]).await;
    let routes = dir.path().join("routes.toml");
    std::fs::write(
        &routes,
        format!(
            "[destinations.hook]\nkind = \"webhook\"\nurl = \"{}/hook\"\ntimeout = \"30s\"\n\n[[routes]]\nname = \"all\"\nmatch = \"runtime-findings.json\"\ndestinations = [\"hook\"]\n",
            hook.base
        ),
    )
    .unwrap();
    let api = RuntimeApi::start().await;
    let routes = routes.display().to_string();
    let _function = local_function(
        &api,
        &dir.path().join("s.db"),
        &[
            ("GDALERT_DELIVER", "true"),
            ("GDALERT_ROUTES_FILE", &routes),
            ("GDALERT_ALLOW_LOOPBACK_HTTP", "true"),
        ],
    );
    let started = std::time::Instant::now();
    api.invoke_within(
        "short-1",
        &fixture("runtime-fargate-c2-high.json"),
        Duration::from_secs(6),
    );
    let answers = within("short invocation", api.answers(1)).await;
    let took = started.elapsed();
    let error = answers[0].result.as_ref().unwrap_err();
    assert_eq!(error["errorType"], "gdalert.Retryable", "{error}");
    // 6 s less the 3 s kept to record the outcome; never the route's 30 s.
    assert!(
        took >= Duration::from_secs(2) && took < Duration::from_secs(6),
        "answered after {took:?}"
    );
    assert!(
        error["errorMessage"]
            .as_str()
            .unwrap_or_default()
            .contains("hook"),
        "{error}"
    );
}

#[tokio::test]
async fn a_silence_in_the_dynamodb_table_mutes_the_function_without_a_redeploy_until_it_ends() {
    let config = sdk_config(&moto_url()).await;
    let aws = AwsClients::from_config(&config);
    let table = unique("gdalert-silence");
    let store = DynamoStore::new(aws.dynamodb.clone(), &table);
    store.create_table().await.unwrap();
    let sqs = aws_sdk_sqs::Client::new(&config);
    let (topic, queue_url) = topic_with_queue(&aws.sns, &sqs, "silence").await;

    let api = RuntimeApi::start().await;
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_finding-alerts"));
    lambda_env(&mut cmd, &api.address);
    cmd.env("GDALERT_STATE_TABLE", &table)
        .env("GDALERT_TOPIC_ARN", &topic)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let _function = Function(cmd.spawn().unwrap());

    // Added while the function runs (what `gdalert silence add --state-table` writes).
    let now = chrono::Utc::now();
    let silence = gdalert_pipeline::silence::NewSilence {
        pattern: r#"{"detail": {"type": ["Backdoor:Runtime/C&CActivity.B"]}}"#.into(),
        route: None,
        destination: None,
        owner: "alice".into(),
        reason: "pentest".into(),
        ticket: None,
        expires_at: now + chrono::Duration::hours(1),
    }
    .check("sil-e2e".into(), now)
    .unwrap();
    gdalert_pipeline::silence::update(&store, now, |list| {
        list.silences.push(silence.clone());
        Ok(())
    })
    .await
    .unwrap();

    let event: Value = serde_json::from_str(&fixture("runtime-fargate-c2-high.json")).unwrap();
    api.invoke("req-1", event.clone());
    let answers = within("muted invocation", api.answers(1)).await;
    let answer = answers[0].result.as_ref().unwrap_or_else(|e| panic!("{e}"));
    let rows = answer["deliveries"].as_array().unwrap();
    assert!(!rows.is_empty(), "{answer}");
    for row in rows {
        assert_eq!(row["decision"], "suppressed", "{answer}");
        assert!(
            row["reason"].as_str().unwrap().contains("sil-e2e"),
            "{answer}"
        );
    }
    assert!(
        receive(&sqs, &queue_url).await.is_empty(),
        "muted, yet published"
    );

    // Ended early: the next publication of the finding is alerted.
    gdalert_pipeline::silence::update(&store, now, |list| {
        for s in &mut list.silences {
            s.expires_at = chrono::Utc::now();
        }
        Ok(())
    })
    .await
    .unwrap();
    let mut again = event;
    again["id"] = serde_json::json!("evt-after-silence");
    api.invoke("req-2", again);
    let answers = within("invocation after the silence", api.answers(2)).await;
    let answer = answers[1].result.as_ref().unwrap_or_else(|e| panic!("{e}"));
    assert!(
        answer["deliveries"]
            .as_array()
            .unwrap()
            .iter()
            .any(|row| row["decision"] == "sent"),
        "{answer}"
    );
    assert_eq!(receive(&sqs, &queue_url).await.len(), 1);
}
