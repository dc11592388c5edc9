//! The function handler with an in-memory store and a recording sender
//! (unit level; the real clients are exercised in finding-alerts' end-to-end
//! test): failures are classified, and the fallback destination hears about them.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, Mutex};

use gdalert_lambda::{App, FunctionEnv, Role};
use gdalert_pipeline::{
    Alert, Config, Destination, Failure, MemoryStore, Payload, Pipeline, Sender,
};
use serde_json::Value;

/// Fails `failing` destinations (retryable or not); records the rest.
struct Recording {
    failing: &'static str,
    retryable: bool,
    sent: Mutex<Vec<(String, String)>>,
}

impl Recording {
    fn failing(destination: &'static str, retryable: bool) -> Arc<Recording> {
        Arc::new(Recording {
            failing: destination,
            retryable,
            sent: Mutex::new(Vec::new()),
        })
    }
}

#[async_trait::async_trait]
impl Sender for Recording {
    async fn send(&self, d: &Destination, alert: &Alert, _: &Payload) -> Result<String, Failure> {
        if d.name == self.failing {
            return Err(Failure::new(self.retryable, "HTTP 503"));
        }
        self.sent
            .lock()
            .unwrap()
            .push((d.name.clone(), alert.title.clone()));
        Ok("ok".into())
    }
}

const ROUTES: &str = r#"
[settings]
fallback_destination = "log"

[destinations.chat]
kind = "slack"
webhook_url_secret = "/gdalert/slack"

[destinations.pager]
kind = "pagerduty"
routing_key_secret = "/gdalert/pd"

[destinations.log]
kind = "stdout"

[[routes]]
name = "runtime"
destinations = ["chat", "pager"]
"#;

fn app(sender: Arc<Recording>) -> App {
    let env = FunctionEnv::read(|n| match n {
        "GDALERT_STATE_TABLE" => Some("t".into()),
        "GDALERT_METRICS" => Some("off".into()),
        _ => None,
    })
    .unwrap();
    App::new(
        Role::Findings,
        Pipeline::new(Config::load("routes.toml", ROUTES, &Default::default()).unwrap()),
        Arc::new(MemoryStore::new()),
        sender,
        env,
    )
}

fn event() -> Value {
    serde_json::from_str(include_str!(
        "../../../tests/fixtures/events/runtime-fargate-c2-high.json"
    ))
    .unwrap()
}

#[tokio::test]
async fn a_failed_destination_fails_the_invocation_retryably_and_tells_the_fallback() {
    let sender = Recording::failing("chat", true);
    let app = app(sender.clone());
    let err = app.handle(event()).await.unwrap_err();
    assert!(err.retryable, "{}", err.message);
    assert!(err.message.contains("chat"), "{}", err.message);
    let sent = sender.sent.lock().unwrap().clone();
    assert!(sent.iter().any(|(d, _)| d == "pager"), "{sent:?}");
    assert!(
        sent.iter()
            .any(|(d, t)| d == "log" && t.starts_with("Delivery failed to chat")),
        "{sent:?}"
    );
    // The retry delivers nothing twice: pager is done, the notice is done.
    let again = app.handle(event()).await.unwrap_err();
    assert!(again.retryable);
    let sent_again = sender.sent.lock().unwrap().clone();
    assert_eq!(sent_again.len(), sent.len(), "{sent_again:?}");
}

#[tokio::test]
async fn a_configuration_failure_is_not_retryable() {
    let sender = Recording::failing("pager", false);
    let err = app(sender).handle(event()).await.unwrap_err();
    assert!(!err.retryable, "{}", err.message);
    let diagnostic: lambda_runtime::Diagnostic = err.into();
    assert_eq!(diagnostic.error_type, "gdalert.NotRetryable");
}

#[tokio::test]
async fn a_malformed_event_is_not_retryable_and_says_which_field() {
    let sender = Recording::failing("", false);
    let mut bad = event();
    bad["detail"]["type"] = serde_json::json!(7);
    let err = app(sender).handle(bad).await.unwrap_err();
    assert!(!err.retryable);
    assert!(err.message.contains("detail.type"), "{}", err.message);
}

#[tokio::test]
async fn a_mistyped_optional_field_still_gives_an_alert() {
    // It used to fail the event as NotRetryable: the alert went to the
    // dead-letter queue although EventBridge delivered it and a rule matched.
    let sender = Recording::failing("", false);
    let mut odd = event();
    odd["detail"]["severity"] = serde_json::json!("very");
    let answer = app(sender.clone()).handle(odd).await.unwrap();
    assert_eq!(answer["deliveries"][0]["decision"], "sent", "{answer}");
    assert_eq!(sender.sent.lock().unwrap().len(), 2);
}
