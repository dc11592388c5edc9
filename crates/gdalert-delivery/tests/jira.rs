//! Jira Cloud against a loopback site that checks requests as Jira would
//! (auth, fields, ADF): one issue per alert, comments for what follows, and
//! a create whose answer was lost is found by its label, not made twice.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use gdalert_delivery::{
    Channel, HttpClient, JiraClient, RetryPolicy, Senders, StaticSecrets, UrlPolicy,
};
use gdalert_event::GuardDutyEvent;
use gdalert_pipeline::{Config, MemoryStore, Pipeline, RunOptions, Store};
use gdalert_testkit::{deliveries, fixture, Delivery, JiraSite};
use serde_json::{json, Value};

const TOKEN: &str = "ATATT3xFfGF0-test-api-token";

fn routes(site: &str) -> String {
    format!(
        r#"
[destinations.tickets]
kind = "jira"
site = "{site}"
email = "soc-bot@example.com"
api_token_secret = "/gdalert/jira-token"
project = "SEC"
issue_type = "Bug"
labels = ["guardduty"]
timeout = "2s"

[[routes]]
name = "all"
destinations = ["tickets"]
"#
    )
}

struct Run {
    pipeline: Pipeline,
    state: MemoryStore,
    senders: Senders,
}

/// A run whose issue keys live in `keys` (a fresh store = the key write
/// was lost).
fn run(site: &str, token: &str, keys: Arc<dyn Store>) -> Run {
    let http = HttpClient::new(
        UrlPolicy {
            allow_loopback_http: true,
            ..UrlPolicy::default()
        },
        Arc::new(StaticSecrets::new().with("/gdalert/jira-token", token)),
    )
    .unwrap();
    Run {
        pipeline: Pipeline::new(
            Config::load("routes.toml", &routes(site), &BTreeMap::new()).unwrap(),
        ),
        state: MemoryStore::new(),
        senders: Senders::new(RetryPolicy {
            max_attempts: 2,
            base_delay: Duration::from_millis(5),
            max_delay: Duration::from_millis(10),
        })
        .with(Channel::Jira, Arc::new(JiraClient::new(http, Some(keys)))),
    }
}

impl Run {
    async fn send(&self, event: &Value) -> Delivery {
        let text = event.to_string();
        let parsed = GuardDutyEvent::from_json(&text).unwrap();
        let node = gdalert_pattern::parse_event(&text).unwrap();
        let report = self
            .pipeline
            .run_event(
                &self.state,
                &self.senders,
                &parsed,
                &node,
                Utc::now(),
                &RunOptions::deliver("t"),
            )
            .await;
        deliveries(&report).remove(0)
    }
}

fn first() -> Value {
    serde_json::from_str(&fixture("runtime-fargate-c2-high.json")).unwrap()
}

fn texts(node: &Value, out: &mut Vec<String>) {
    if let Some(t) = node["text"].as_str() {
        out.push(t.to_string());
    }
    for child in node["content"].as_array().into_iter().flatten() {
        texts(child, out);
    }
}

#[tokio::test]
async fn a_new_finding_opens_one_issue_and_its_escalation_comments_on_it() {
    let site = JiraSite::start("soc-bot@example.com", TOKEN).await;
    let r = run(&site.base, TOKEN, Arc::new(MemoryStore::new()));
    match r.send(&first()).await {
        Delivery::Delivered { receipt } => assert_eq!(receipt, "jira:SEC-1"),
        other => panic!("{other:?}"),
    }
    let mut escalated = first();
    escalated["id"] = json!("evt-escalated");
    escalated["detail"]["severity"] = json!(9.5);
    escalated["detail"]["service"]["count"] = json!(4);
    match r.send(&escalated).await {
        Delivery::Delivered { receipt } => assert_eq!(receipt, "jira:SEC-1/comment/1"),
        other => panic!("{other:?}"),
    }
    let issues = site.issues();
    assert_eq!(issues.len(), 1, "{issues:?}");
    let issue = &issues[0];
    assert_eq!(issue.fields["issuetype"]["name"], "Bug");
    assert_eq!(issue.fields["priority"]["name"], "High");
    let labels: Vec<&str> = issue.fields["labels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap())
        .collect();
    assert!(
        labels.contains(&"guardduty") && labels.contains(&"gdalert"),
        "{labels:?}"
    );
    assert!(
        labels.iter().any(|l| l.starts_with("gdalert-")),
        "{labels:?}"
    );
    assert!(issue.fields["summary"]
        .as_str()
        .unwrap()
        .contains("Backdoor:Runtime/C&CActivity.B"));
    assert_eq!(issue.comments.len(), 1);
    let mut words = Vec::new();
    texts(&issue.comments[0], &mut words);
    assert!(words[0].starts_with("Escalated: "), "{words:?}");
    // The remembered key answered: one search, for the first alert only.
    assert_eq!(site.searches(), 1);
}

#[tokio::test]
async fn an_issue_created_whose_answer_was_lost_is_found_by_its_label_not_created_twice() {
    let site = JiraSite::start("soc-bot@example.com", TOKEN).await;
    site.lose_next_create_answer();
    let r = run(&site.base, TOKEN, Arc::new(MemoryStore::new()));
    match r.send(&first()).await {
        Delivery::Failed(e) => assert!(e.is_retryable(), "{}", e.message()),
        other => panic!("{other:?}"),
    }
    assert_eq!(site.issues().len(), 1, "the site did create it");
    // EventBridge's retry of the same event.
    match r.send(&first()).await {
        Delivery::Delivered { receipt } => {
            assert_eq!(receipt, "jira:SEC-1 (already created)")
        }
        other => panic!("{other:?}"),
    }
    let issues = site.issues();
    assert_eq!(issues.len(), 1, "{issues:?}");
    assert!(issues[0].comments.is_empty());
}

#[tokio::test]
async fn a_wrong_token_is_a_configuration_error_that_shows_no_token() {
    let site = JiraSite::start("soc-bot@example.com", TOKEN).await;
    let r = run(
        &site.base,
        "ATATT3xFfGF0-wrong-token",
        Arc::new(MemoryStore::new()),
    );
    match r.send(&first()).await {
        Delivery::Failed(e) => {
            assert!(!e.is_retryable(), "{}", e.message());
            assert!(e.message().contains("HTTP 401"), "{}", e.message());
            assert!(!e.message().contains("wrong-token"), "{}", e.message());
        }
        other => panic!("{other:?}"),
    }
    assert!(site.issues().is_empty());
}

#[tokio::test]
async fn attacker_text_reaches_jira_as_plain_text_nodes_only() {
    let site = JiraSite::start("soc-bot@example.com", TOKEN).await;
    let r = run(&site.base, TOKEN, Arc::new(MemoryStore::new()));
    let mut event = first();
    let hostile = "[click|https://evil.example/x] {html}<b>x</b>{html} [~accountid:5b10a2844c20165700ede21g] \n\n\u{0}h1. Title";
    event["detail"]["service"]["runtimeDetails"]["process"]["commandLine"] = json!(hostile);
    event["detail"]["resource"]["ecsClusterDetails"]["name"] = json!("x".repeat(50_000));
    assert!(matches!(r.send(&event).await, Delivery::Delivered { .. }));
    let issue = &site.issues()[0];
    let description = &issue.fields["description"];
    // The site refused anything that is not ADF; here: the size and what
    // the hostile text became.
    assert!(
        description.to_string().len() <= 32_767,
        "{}",
        &description.to_string()[..3000]
    );
    let text = description.to_string();
    assert!(!text.contains("https://evil.example"), "links are defanged");
    let mut links = Vec::new();
    fn marks(node: &Value, out: &mut Vec<String>) {
        for m in node["marks"].as_array().into_iter().flatten() {
            if m["type"] == "link" {
                out.push(m["attrs"]["href"].as_str().unwrap().to_string());
            }
        }
        for child in node["content"].as_array().into_iter().flatten() {
            marks(child, out);
        }
    }
    marks(description, &mut links);
    assert!(
        links
            .iter()
            .all(|l| l.starts_with("https://") && l.contains("aws.amazon.com")),
        "{links:?}"
    );
}
