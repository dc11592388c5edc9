//! Slack with a bot token: the first alert opens a thread, its escalation
//! goes into that thread (and to the channel), and Web API answers of
//! `ok: false` are failures.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use gdalert_delivery::{
    Channel, HttpClient, RetryPolicy, Senders, SlackClient, StaticSecrets, UrlPolicy,
};
use gdalert_event::GuardDutyEvent;
use gdalert_pipeline::{Config, MemoryStore, Pipeline, RunOptions, Store};
use gdalert_testkit::{deliveries, fixture, Delivery, Receiver, Reply};
use serde_json::Value;

const ROUTES: &str = r#"
[destinations.chat]
kind = "slack"
bot_token_secret = "/gdalert/slack-bot"
channel = "C0SECURITY"
timeout = "2s"

[[routes]]
name = "all"
destinations = ["chat"]
"#;

struct Run {
    pipeline: Pipeline,
    store: Arc<MemoryStore>,
    senders: Senders,
}

fn run(api: &str) -> Run {
    let store = Arc::new(MemoryStore::new());
    let http = HttpClient::new(
        UrlPolicy {
            allow_loopback_http: true,
            ..UrlPolicy::default()
        },
        Arc::new(StaticSecrets::new().with("/gdalert/slack-bot", "xoxb-test-token")),
    )
    .unwrap();
    let threads: Arc<dyn Store> = store.clone();
    let slack = SlackClient::new(http, Some(threads)).with_api_base(api);
    Run {
        pipeline: Pipeline::new(Config::load("routes.toml", ROUTES, &BTreeMap::new()).unwrap()),
        store,
        senders: Senders::new(RetryPolicy {
            max_attempts: 2,
            base_delay: Duration::from_millis(5),
            max_delay: Duration::from_millis(10),
        })
        .with(Channel::Slack, Arc::new(slack)),
    }
}

impl Run {
    async fn send(&self, event: &Value) -> Delivery {
        let text = event.to_string();
        let parsed = GuardDutyEvent::from_json(&text).unwrap();
        let node = gdalert_pattern::parse_event(&text).unwrap();
        let now = Utc::now();
        let report = self
            .pipeline
            .run_event(
                self.store.as_ref(),
                &self.senders,
                &parsed,
                &node,
                now,
                &RunOptions::deliver("t"),
            )
            .await;
        deliveries(&report).remove(0)
    }
}

#[tokio::test]
async fn an_escalation_goes_into_the_first_alerts_thread() {
    let rx = Receiver::start(vec![Reply::Status(
        200,
        r#"{"ok":true,"channel":"C0SECURITY","ts":"1700000000.000100"}"#,
    )])
    .await;
    let r = run(&rx.base);
    let first: Value = serde_json::from_str(&fixture("runtime-fargate-c2-high.json")).unwrap();
    assert!(matches!(r.send(&first).await, Delivery::Delivered { .. }));
    let mut escalated = first.clone();
    escalated["id"] = serde_json::json!("evt-escalated");
    escalated["detail"]["severity"] = serde_json::json!(9.5);
    escalated["detail"]["service"]["count"] = serde_json::json!(4);
    assert!(matches!(
        r.send(&escalated).await,
        Delivery::Delivered { .. }
    ));

    let seen = rx.seen();
    assert_eq!(seen.len(), 2);
    assert!(seen.iter().all(|s| s.path == "/api/chat.postMessage"));
    assert_eq!(seen[0].headers["authorization"], "Bearer xoxb-test-token");
    assert_eq!(seen[0].body["channel"], "C0SECURITY");
    assert!(
        seen[0].body.get("thread_ts").is_none(),
        "the first alert opens the thread"
    );
    assert_eq!(
        seen[1].body["thread_ts"], "1700000000.000100",
        "{}",
        seen[1].body
    );
    assert_eq!(seen[1].body["reply_broadcast"], true);
}

#[tokio::test]
async fn a_finding_that_arrives_after_its_attack_sequence_goes_into_the_sequences_thread() {
    let rx = Receiver::start(vec![Reply::Status(
        200,
        r#"{"ok":true,"channel":"C0SECURITY","ts":"1700000000.000200"}"#,
    )])
    .await;
    let r = run(&rx.base);
    let sequence: Value =
        serde_json::from_str(&fixture("attack-sequence-ecs-compromised-cluster.json")).unwrap();
    assert!(matches!(
        r.send(&sequence).await,
        Delivery::Delivered { .. }
    ));
    // A runtime finding GuardDuty has since tied to that sequence.
    let mut late: Value = serde_json::from_str(&fixture("runtime-fargate-c2-high.json")).unwrap();
    late["detail"]["associatedAttackSequenceArn"] = sequence["detail"]["arn"].clone();
    assert!(matches!(r.send(&late).await, Delivery::Delivered { .. }));
    // And one that is not tied to any sequence opens its own thread.
    let mut alone: Value =
        serde_json::from_str(&fixture("runtime-eks-reverse-shell-high.json")).unwrap();
    alone["id"] = serde_json::json!("evt-alone");

    assert!(matches!(r.send(&alone).await, Delivery::Delivered { .. }));
    let seen = rx.seen();
    assert_eq!(seen.len(), 3);
    assert!(
        seen[0].body.get("thread_ts").is_none(),
        "the sequence opens its thread"
    );
    assert_eq!(
        seen[1].body["thread_ts"], "1700000000.000200",
        "{}",
        seen[1].body
    );
    assert!(
        seen[1].body.to_string().contains("Part of attack sequence"),
        "the finding says which sequence it belongs to"
    );
    assert!(seen[2].body.get("thread_ts").is_none(), "{}", seen[2].body);
}

#[tokio::test]
async fn web_api_errors_in_a_200_answer_are_failures() {
    let rx = Receiver::start(vec![Reply::Status(
        200,
        r#"{"ok":false,"error":"channel_not_found"}"#,
    )])
    .await;
    let r = run(&rx.base);
    let event: Value = serde_json::from_str(&fixture("runtime-fargate-c2-high.json")).unwrap();
    match r.send(&event).await {
        Delivery::Failed(e) => {
            assert!(!e.is_retryable(), "{}", e.message());
            assert!(e.message().contains("channel_not_found"));
            assert!(
                !e.message().contains("xoxb"),
                "token leaked: {}",
                e.message()
            );
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(rx.seen().len(), 1);

    let rx = Receiver::start(vec![
        Reply::Status(200, r#"{"ok":false,"error":"ratelimited"}"#),
        Reply::Status(200, r#"{"ok":true,"ts":"1.2"}"#),
    ])
    .await;
    let r = run(&rx.base);
    assert!(matches!(r.send(&event).await, Delivery::Delivered { .. }));
    assert_eq!(rx.seen().len(), 2, "ratelimited is retried");
}
