//! Every HTTP destination kind against a real loopback receiver, through
//! the pipeline's claim/complete and the shared delivery path, under
//! {200, 429 + Retry-After, 500 then 200, no answer, refused, 400, store
//! down}: each alert is delivered exactly once per destination, or reported
//! failed (retryable or not) so the event goes back to EventBridge — never
//! dropped silently, never posted twice.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use gdalert_delivery::{
    Channel, GoogleChatClient, HttpClient, JiraClient, PagerDutyClient, RetryPolicy, Senders,
    SlackClient, StaticSecrets, TeamsClient, UrlPolicy, WebhookClient,
};
use gdalert_event::GuardDutyEvent;
use gdalert_pipeline::{Config, MemoryStore, Pipeline, RunOptions};
use gdalert_testkit::{deliveries, Delivery};
use gdalert_testkit::{refused_base, Receiver, Reply};

const KINDS: [&str; 6] = [
    "slack",
    "teams",
    "google_chat",
    "pagerduty",
    "webhook",
    "jira",
];

fn fixture() -> String {
    gdalert_testkit::fixture("runtime-fargate-c2-high.json")
}

/// A routes file with one destination of `kind` pointing at `base`.
fn routes(kind: &str, base: &str) -> (String, StaticSecrets) {
    let (settings, secrets) = match kind {
        "slack" | "teams" | "google_chat" => (
            format!("webhook_url_secret = \"/gdalert/{kind}\""),
            StaticSecrets::new().with(
                &format!("/gdalert/{kind}"),
                &format!("{base}/hook/T0/S3CRETPART?sig=S3CRETSIG"),
            ),
        ),
        "pagerduty" => (
            format!("routing_key_secret = \"/gdalert/pd\"\nurl = \"{base}/v2/enqueue\""),
            StaticSecrets::new().with("/gdalert/pd", "R0UTINGKEY"),
        ),
        "jira" => (
            format!("site = \"{base}\"\nemail = \"bot@example.com\"\napi_token_secret = \"/gdalert/jira\"\nproject = \"SEC\""),
            StaticSecrets::new().with("/gdalert/jira", "S3CRETJIRATOKEN"),
        ),
        _ => (
            "url_secret = \"/gdalert/hook\"\nhmac_secret = \"/gdalert/hmac\"".to_string(),
            StaticSecrets::new()
                .with("/gdalert/hook", &format!("{base}/in/S3CRETHOOK"))
                .with("/gdalert/hmac", "shared-key"),
        ),
    };
    let text = format!(
        r#"
[destinations.target]
kind = "{kind}"
timeout = "2s"
{settings}

[[routes]]
name = "runtime"
destinations = ["target"]
"#
    );
    (text, secrets)
}

struct Run {
    pipeline: Pipeline,
    senders: Senders,
    store: MemoryStore,
}

impl Run {
    fn new(kind: &str, base: &str) -> Run {
        let (text, secrets) = routes(kind, base);
        let config = Config::load("routes.toml", &text, &BTreeMap::new()).unwrap();
        let http = HttpClient::new(
            UrlPolicy {
                allow_loopback_http: true,
                ..UrlPolicy::default()
            },
            Arc::new(secrets),
        )
        .unwrap();
        let senders = Senders::new(RetryPolicy {
            max_attempts: 3,
            base_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(50),
        })
        .with(
            Channel::Slack,
            Arc::new(SlackClient::new(http.clone(), None)),
        )
        .with(Channel::Teams, Arc::new(TeamsClient::new(http.clone())))
        .with(
            Channel::GoogleChat,
            Arc::new(GoogleChatClient::new(http.clone())),
        )
        .with(
            Channel::Pagerduty,
            Arc::new(PagerDutyClient::new(http.clone())),
        )
        .with(Channel::Jira, Arc::new(JiraClient::new(http.clone(), None)))
        .with(Channel::Webhook, Arc::new(WebhookClient::new(http)));
        Run {
            pipeline: Pipeline::new(config),
            senders,
            store: MemoryStore::new(),
        }
    }

    /// One invocation for the fixture event (EventBridge's retry = another call).
    async fn invoke(&self) -> Delivery {
        let text = fixture();
        let event = GuardDutyEvent::from_json(&text).unwrap();
        let node = gdalert_pattern::parse_event(&text).unwrap();
        let now = Utc::now();
        let report = self
            .pipeline
            .run_event(
                &self.store,
                &self.senders,
                &event,
                &node,
                now,
                &RunOptions::deliver("test"),
            )
            .await;
        let mut deliveries = deliveries(&report);
        assert_eq!(deliveries.len(), 1);
        deliveries.remove(0)
    }
}

/// Requests one delivery makes when all goes well: Jira looks the alert's
/// issue up before creating it; the others post once.
fn posts(kind: &str) -> usize {
    match kind {
        "jira" => 2,
        _ => 1,
    }
}

fn ok_reply(kind: &str) -> Reply {
    match kind {
        "pagerduty" => Reply::Status(202, r#"{"status":"success","dedup_key":"k"}"#),
        "teams" => Reply::Status(202, ""),
        "google_chat" => Reply::Status(200, r#"{"name":"spaces/AAA/messages/BBB.CCC"}"#),
        // One answer for both calls: the search finds nothing, the create
        // names the new issue.
        "jira" => Reply::Status(201, r#"{"issues":[],"id":"10001","key":"SEC-1"}"#),
        _ => Reply::Status(200, "ok"),
    }
}

#[tokio::test]
async fn success_is_delivered_once_and_a_retried_event_is_not_posted_again() {
    for kind in KINDS {
        let rx = Receiver::start(vec![ok_reply(kind)]).await;
        let run = Run::new(kind, &rx.base);
        assert!(
            matches!(run.invoke().await, Delivery::Delivered { .. }),
            "{kind}"
        );
        assert!(
            matches!(run.invoke().await, Delivery::AlreadyDelivered { .. }),
            "{kind}: the retried event must not post again"
        );
        assert_eq!(rx.seen().len(), posts(kind), "{kind}");
    }
}

#[tokio::test]
async fn rate_limited_waits_for_retry_after_then_delivers() {
    for kind in KINDS {
        let rx = Receiver::start(vec![Reply::RateLimited(1), ok_reply(kind)]).await;
        let run = Run::new(kind, &rx.base);
        assert!(
            matches!(run.invoke().await, Delivery::Delivered { .. }),
            "{kind}"
        );
        let seen = rx.seen();
        assert_eq!(seen.len(), 1 + posts(kind), "{kind}");
        // Behaviour, not speed: the retry came no sooner than the server asked.
        assert!(
            seen[1].at.duration_since(seen[0].at) >= Duration::from_millis(950),
            "{kind}: Retry-After not honoured"
        );
    }
}

#[tokio::test]
async fn a_server_error_is_retried_then_delivered_once() {
    for kind in KINDS {
        let rx = Receiver::start(vec![Reply::Status(500, "oops"), ok_reply(kind)]).await;
        let run = Run::new(kind, &rx.base);
        assert!(
            matches!(run.invoke().await, Delivery::Delivered { .. }),
            "{kind}"
        );
        assert_eq!(rx.seen().len(), 1 + posts(kind), "{kind}");
        assert!(matches!(
            run.invoke().await,
            Delivery::AlreadyDelivered { .. }
        ));
        assert_eq!(rx.seen().len(), 1 + posts(kind), "{kind}");
    }
}

#[tokio::test]
async fn no_answer_fails_retryably_and_the_event_retry_delivers() {
    for kind in KINDS {
        let rx = Receiver::start(vec![Reply::Hang]).await;
        let run = Run::new(kind, &rx.base);
        match run.invoke().await {
            Delivery::Failed(e) => {
                assert!(e.is_retryable(), "{kind}: {}", e.message());
                assert!(e.message().contains("timeout"), "{kind}: {}", e.message());
            }
            other => panic!("{kind}: {other:?}"),
        }
        rx.rescript(vec![ok_reply(kind)]);
        assert!(
            matches!(run.invoke().await, Delivery::Delivered { .. }),
            "{kind}"
        );
        assert!(matches!(
            run.invoke().await,
            Delivery::AlreadyDelivered { .. }
        ));
    }
}

#[tokio::test]
async fn a_refused_connection_fails_retryably_and_names_no_secret() {
    for kind in KINDS {
        let base = refused_base().await;
        let run = Run::new(kind, &base);
        match run.invoke().await {
            Delivery::Failed(e) => {
                assert!(e.is_retryable(), "{kind}");
                assert!(
                    e.message().contains("could not connect"),
                    "{kind}: {}",
                    e.message()
                );
                assert!(
                    !e.message().contains("/hook"),
                    "{kind}: URL leaked: {}",
                    e.message()
                );
                assert!(!e.message().contains("R0UTINGKEY"), "{kind}: key leaked");
            }
            other => panic!("{kind}: {other:?}"),
        }
    }
}

#[tokio::test]
async fn a_client_error_is_not_retried_and_says_it_is_configuration() {
    for kind in KINDS {
        let rx = Receiver::start(vec![Reply::Status(400, "invalid_payload")]).await;
        let run = Run::new(kind, &rx.base);
        match run.invoke().await {
            Delivery::Failed(e) => {
                assert!(!e.is_retryable(), "{kind}");
                assert!(
                    e.message().contains("configuration"),
                    "{kind}: {}",
                    e.message()
                );
            }
            other => panic!("{kind}: {other:?}"),
        }
        assert_eq!(rx.seen().len(), 1, "{kind}: a 400 must not be retried");
    }
}

#[tokio::test]
async fn a_store_outage_still_delivers() {
    for kind in KINDS {
        let rx = Receiver::start(vec![ok_reply(kind)]).await;
        let run = Run::new(kind, &rx.base);
        run.store.set_down(true);
        assert!(
            matches!(run.invoke().await, Delivery::Delivered { .. }),
            "{kind}"
        );
        let seen = rx.seen();
        assert_eq!(seen.len(), posts(kind), "{kind}");
        let body = seen[seen.len() - 1].body.to_string().to_lowercase();
        assert!(
            body.contains("dedupe unavailable") || body.contains(r#""dedupe_unavailable":true"#),
            "{kind}: the alert must say dedupe was unavailable: {}",
            seen[0].body
        );
    }
}

#[tokio::test]
async fn the_generic_webhook_is_signed_and_carries_an_idempotency_key() {
    let rx = Receiver::start(vec![Reply::Status(200, "ok")]).await;
    let run = Run::new("webhook", &rx.base);
    assert!(matches!(run.invoke().await, Delivery::Delivered { .. }));
    let seen = rx.seen();
    let h = &seen[0].headers;
    let ts: i64 = h["x-gdalert-timestamp"].to_str().unwrap().parse().unwrap();
    let body = serde_json::to_vec(&seen[0].body).unwrap();
    assert_eq!(
        h["x-gdalert-signature"].to_str().unwrap(),
        gdalert_delivery::webhook::signature(b"shared-key", ts, &body)
    );
    assert!(h.contains_key("idempotency-key"));
}

#[tokio::test]
async fn pagerduty_gets_the_routing_key_only_on_the_wire() {
    let rx = Receiver::start(vec![ok_reply("pagerduty")]).await;
    let run = Run::new("pagerduty", &rx.base);
    assert!(matches!(run.invoke().await, Delivery::Delivered { .. }));
    let body = &rx.seen()[0].body;
    assert_eq!(body["routing_key"], "R0UTINGKEY");
    assert_eq!(body["event_action"], "trigger");
}

#[tokio::test]
async fn a_receiver_that_echoes_the_request_never_gets_a_secret_into_our_errors() {
    // Regression: the first 200 characters of an error body were copied into
    // errors, logs and dead letters; a receiver that echoes the request line
    // (Express's default 404 page does) leaked the secret part of the URL.
    for kind in KINDS {
        let rx = Receiver::start(vec![Reply::Echo(404)]).await;
        let run = Run::new(kind, &rx.base);
        match run.invoke().await {
            Delivery::Failed(e) => {
                for secret in ["S3CRET", "R0UTINGKEY", "/hook/T0", "sig="] {
                    assert!(
                        !e.message().contains(secret),
                        "{kind}: {secret} leaked: {}",
                        e.message()
                    );
                }
                assert!(e.message().contains("404"), "{kind}: {}", e.message());
            }
            other => panic!("{kind}: {other:?}"),
        }
        assert_eq!(rx.seen().len(), 1, "{kind}");
    }
}

#[tokio::test]
async fn a_2xx_whose_body_is_cut_counts_as_delivered_and_is_not_posted_again() {
    // Regression: an unreadable body after a 2xx made the delivery path
    // retry, and Slack and Teams showed the alert twice.
    for kind in ["slack", "teams", "google_chat", "webhook"] {
        let rx = Receiver::start(vec![Reply::CutBody(200)]).await;
        let run = Run::new(kind, &rx.base);
        let got = run.invoke().await;
        assert!(matches!(got, Delivery::Delivered { .. }), "{kind}: {got:?}");
        assert_eq!(rx.seen().len(), 1, "{kind}: posted more than once");
    }
}

#[tokio::test]
async fn google_chat_threads_by_the_alert_and_names_each_request_so_a_retry_is_not_a_second_message(
) {
    let rx = Receiver::start(vec![Reply::Hang]).await;
    let run = Run::new("google_chat", &rx.base);
    assert!(matches!(run.invoke().await, Delivery::Failed(_)));
    rx.rescript(vec![ok_reply("google_chat")]);
    match run.invoke().await {
        Delivery::Delivered { receipt } => {
            assert_eq!(receipt, "google_chat:spaces/AAA/messages/BBB.CCC")
        }
        other => panic!("{other:?}"),
    }
    let seen = rx.seen();
    assert!(seen.len() >= 2, "{}", seen.len());
    let queries: Vec<&str> = seen.iter().map(|r| r.query.as_deref().unwrap()).collect();
    for q in &queries {
        assert!(
            q.starts_with("sig=S3CRETSIG&"),
            "the webhook's own query is kept: {q}"
        );
        assert!(
            q.contains("messageReplyOption=REPLY_MESSAGE_FALLBACK_TO_NEW_THREAD"),
            "{q}"
        );
    }
    // The same request id on every try: Chat answers a repeat with the
    // message it already made.
    let id = |q: &str| {
        q.split('&')
            .find(|p| p.starts_with("requestId="))
            .unwrap()
            .to_string()
    };
    assert!(
        queries.iter().all(|q| id(q) == id(queries[0])),
        "{queries:?}"
    );
    let body = &seen.last().unwrap().body;
    assert!(body["thread"]["threadKey"]
        .as_str()
        .unwrap()
        .starts_with("gdalert-"));
    assert!(body["cardsV2"][0]["card"]["header"]["title"]
        .as_str()
        .unwrap()
        .contains("C&CActivity"));
}
