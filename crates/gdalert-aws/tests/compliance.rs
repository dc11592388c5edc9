//! The one compliance harness: every remote destination kind (the HTTP
//! kinds, the AWS kinds and SMTP) against a real stand-in for its service
//! on loopback (a scripted HTTP server answering as the vendor or the AWS
//! API would, or a scripted SMTP server), through the pipeline's
//! claim/complete, the production sender registry
//! (`gdalert_aws::remote_senders`) and the shared delivery path, under the
//! same faults: success, rate limited (429 with `Retry-After`; a deferral
//! for SMTP), a server error then success, no answer, a refused
//! connection, a client error (400; 550 for SMTP), and a "2xx but failed"
//! answer where the service has one. Each alert is delivered exactly once
//! per destination, or reported failed (retryable or not) so the event goes
//! back to EventBridge; never dropped silently, never posted twice.
//!
//! A new kind gets every case by adding one line to [`KINDS`] and its
//! answers to [`answer`].
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use gdalert_aws::AwsClients;
use gdalert_delivery::{HttpClient, RetryPolicy, Senders, StaticSecrets, UrlPolicy};
use gdalert_event::GuardDutyEvent;
use gdalert_pipeline::{Config, MemoryStore, Pipeline, RunOptions};
use gdalert_testkit::{deliveries, sdk_config, Delivery, ScriptedSmtp, SmtpReply};
use gdalert_testkit::{refused_base, Receiver, Reply};

/// Every remote kind, as `Channel` names it.
const KINDS: [&str; 10] = [
    "slack",
    "teams",
    "google_chat",
    "pagerduty",
    "webhook",
    "jira",
    "sns",
    "eventbridge",
    "email-ses",
    "email-smtp",
];

/// The kinds that post JSON over HTTPS to a vendor or a webhook.
const HTTP_KINDS: [&str; 6] = [
    "slack",
    "teams",
    "google_chat",
    "pagerduty",
    "webhook",
    "jira",
];

/// What a service can do to one request (or SMTP session).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fault {
    Ok,
    /// Throttled, asking for a wait of one second where the service can.
    RateLimited,
    ServerError,
    NoAnswer,
    ClientError,
    /// A success status whose body says it failed.
    Failed2xx,
}

/// Requests one delivery makes when all goes well: Jira looks the alert's
/// issue up before creating it; the others post once.
fn posts(kind: &str) -> usize {
    match kind {
        "jira" => 2,
        _ => 1,
    }
}

/// Whether the kind waits as long as the service asks: the HTTP kinds read
/// `Retry-After`; the AWS SDK keeps its own backoff; SMTP has no such reply.
fn honours_retry_after(kind: &str) -> bool {
    HTTP_KINDS.contains(&kind)
}

/// `fault` as `kind`'s service answers it; `None` where the service has no
/// such answer ("2xx but failed" exists for Teams and EventBridge only).
fn answer(kind: &str, fault: Fault) -> Option<Reply> {
    let (status, body): (u16, &'static str) = match (kind, fault) {
        (_, Fault::NoAnswer) => return Some(Reply::Hang),
        (_, Fault::RateLimited) => return Some(Reply::RateLimited(1)),
        ("pagerduty", Fault::Ok) => (202, r#"{"status":"success","dedup_key":"k"}"#),
        ("teams", Fault::Ok) => (202, ""),
        ("teams", Fault::Failed2xx) => (
            200,
            "Microsoft Teams endpoint returned HTTP error 400 with ContextId x",
        ),
        ("google_chat", Fault::Ok) => (200, r#"{"name":"spaces/AAA/messages/BBB.CCC"}"#),
        // One answer for both calls: the search finds nothing, the create
        // names the new issue.
        ("jira", Fault::Ok) => (201, r#"{"issues":[],"id":"10001","key":"SEC-1"}"#),
        ("sns", Fault::Ok) => (
            200,
            r#"<PublishResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><PublishResult><MessageId>m-1</MessageId></PublishResult><ResponseMetadata><RequestId>r-1</RequestId></ResponseMetadata></PublishResponse>"#,
        ),
        ("sns", Fault::ServerError) => (500, "<ErrorResponse><Error><Type>Receiver</Type><Code>InternalFailure</Code><Message>oops</Message></Error></ErrorResponse>"),
        ("sns", Fault::ClientError) => (400, "<ErrorResponse><Error><Type>Sender</Type><Code>InvalidParameter</Code><Message>Invalid parameter: Subject</Message></Error></ErrorResponse>"),
        ("eventbridge", Fault::Ok) => (200, r#"{"FailedEntryCount":0,"Entries":[{"EventId":"e-1"}]}"#),
        ("eventbridge", Fault::Failed2xx) => (
            200,
            r#"{"FailedEntryCount":1,"Entries":[{"ErrorCode":"MalformedDetail","ErrorMessage":"Detail is malformed."}]}"#,
        ),
        ("eventbridge", Fault::ServerError) => (500, r#"{"__type":"InternalException","message":"oops"}"#),
        ("eventbridge", Fault::ClientError) => (400, r#"{"__type":"ValidationException","message":"bad entry"}"#),
        ("email-ses", Fault::Ok) => (200, r#"{"MessageId":"m-1"}"#),
        ("email-ses", Fault::ServerError) => (500, r#"{"__type":"InternalServiceErrorException","message":"oops"}"#),
        ("email-ses", Fault::ClientError) => (400, r#"{"__type":"BadRequestException","message":"bad address"}"#),
        (_, Fault::Ok) => (200, "ok"),
        (_, Fault::ServerError) => (500, "oops"),
        (_, Fault::ClientError) => (400, "invalid_payload"),
        (_, Fault::Failed2xx) => return None,
    };
    Some(Reply::Status(status, body))
}

/// `fault` as an SMTP server shows it.
fn smtp_answer(fault: Fault) -> Option<SmtpReply> {
    match fault {
        Fault::Ok => Some(SmtpReply::Accept),
        Fault::RateLimited | Fault::ServerError => Some(SmtpReply::Defer),
        Fault::NoAnswer => Some(SmtpReply::Hang),
        Fault::ClientError => Some(SmtpReply::Refuse),
        Fault::Failed2xx => None,
    }
}

/// The stand-in service a run talks to.
enum Stand {
    Http(Receiver),
    Smtp(ScriptedSmtp),
    /// Nothing listens there.
    Refused(String),
}

impl Stand {
    /// A stand-in for `kind` answering `script` in order, then its last
    /// answer; `None` when the service has no such answer.
    async fn start(kind: &str, script: &[Fault]) -> Option<Stand> {
        if kind == "email-smtp" {
            let replies: Option<Vec<SmtpReply>> = script.iter().map(|f| smtp_answer(*f)).collect();
            return Some(Stand::Smtp(ScriptedSmtp::start(replies?).await));
        }
        let replies: Option<Vec<Reply>> = script.iter().map(|f| answer(kind, *f)).collect();
        Some(Stand::Http(Receiver::start(replies?).await))
    }

    async fn refused(kind: &str) -> Stand {
        let base = refused_base().await;
        Stand::Refused(if kind == "email-smtp" {
            base.trim_start_matches("http://").to_string()
        } else {
            base
        })
    }

    /// Where the destination points: an HTTP base URL, or `host:port`.
    fn base(&self) -> String {
        match self {
            Stand::Http(rx) => rx.base.clone(),
            Stand::Smtp(smtp) => smtp.addr.clone(),
            Stand::Refused(base) => base.clone(),
        }
    }

    /// Requests (SMTP: sessions that reached `MAIL FROM`, or hung) so far.
    fn requests(&self) -> usize {
        match self {
            Stand::Http(rx) => rx.seen().len(),
            Stand::Smtp(smtp) => smtp.attempts(),
            Stand::Refused(_) => 0,
        }
    }

    fn rescript(&self, kind: &str, script: &[Fault]) {
        match self {
            Stand::Http(rx) => {
                rx.rescript(script.iter().filter_map(|f| answer(kind, *f)).collect())
            }
            Stand::Smtp(smtp) => {
                smtp.rescript(script.iter().filter_map(|f| smtp_answer(*f)).collect())
            }
            Stand::Refused(_) => {}
        }
    }
}

fn fixture() -> String {
    gdalert_testkit::fixture("runtime-fargate-c2-high.json")
}

/// A routes file with one destination of `kind` pointing at `base`.
fn routes(kind: &str, base: &str) -> (String, StaticSecrets) {
    let (settings, secrets) = match kind {
        "slack" | "teams" | "google_chat" => (
            format!("kind = \"{kind}\"\nwebhook_url_secret = \"/gdalert/{kind}\""),
            StaticSecrets::new().with(
                &format!("/gdalert/{kind}"),
                &format!("{base}/hook/T0/S3CRETPART?sig=S3CRETSIG"),
            ),
        ),
        "pagerduty" => (
            format!("kind = \"pagerduty\"\nrouting_key_secret = \"/gdalert/pd\"\nurl = \"{base}/v2/enqueue\""),
            StaticSecrets::new().with("/gdalert/pd", "R0UTINGKEY"),
        ),
        "jira" => (
            format!("kind = \"jira\"\nsite = \"{base}\"\nemail = \"bot@example.com\"\napi_token_secret = \"/gdalert/jira\"\nproject = \"SEC\""),
            StaticSecrets::new().with("/gdalert/jira", "S3CRETJIRATOKEN"),
        ),
        "webhook" => (
            "kind = \"webhook\"\nurl_secret = \"/gdalert/hook\"\nhmac_secret = \"/gdalert/hmac\"".to_string(),
            StaticSecrets::new()
                .with("/gdalert/hook", &format!("{base}/in/S3CRETHOOK"))
                .with("/gdalert/hmac", "shared-key"),
        ),
        "sns" => (
            "kind = \"sns\"\ntopic_arn = \"arn:aws:sns:us-east-1:123456789012:alerts\"".to_string(),
            StaticSecrets::new(),
        ),
        "eventbridge" => ("kind = \"eventbridge\"".to_string(), StaticSecrets::new()),
        "email-ses" => (
            "kind = \"email\"\nfrom = \"gdalert@example.com\"\nto = [\"soc@example.com\"]".to_string(),
            StaticSecrets::new(),
        ),
        "email-smtp" => {
            let (host, port) = base.rsplit_once(':').unwrap();
            (
                format!("kind = \"email\"\ntransport = \"smtp\"\nsmtp_host = \"{host}\"\nsmtp_port = {port}\nsmtp_username = \"gdalert\"\nsmtp_password_secret = \"/gdalert/smtp\"\nfrom = \"gdalert@example.com\"\nto = [\"soc@example.com\"]"),
                StaticSecrets::new().with("/gdalert/smtp", "S3CRETSMTP"),
            )
        }
        other => panic!("no routes for {other}"),
    };
    let text = format!(
        r#"
[destinations.target]
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
    /// The production registry (`remote_senders`), its AWS clients and its
    /// HTTP client pointed at `base`, with short waits.
    async fn new(kind: &str, base: &str) -> Run {
        let (text, secrets) = routes(kind, base);
        let config = Config::load("routes.toml", &text, &BTreeMap::new()).unwrap();
        let secrets = Arc::new(secrets);
        let http = HttpClient::new(
            UrlPolicy {
                allow_loopback_http: true,
                ..UrlPolicy::default()
            },
            secrets.clone(),
        )
        .unwrap();
        let endpoint = if base.starts_with("http") {
            base.to_string()
        } else {
            format!("http://{base}")
        };
        let aws = AwsClients::from_config(&sdk_config(&endpoint).await);
        let slack = gdalert_aws::slack_client(&http, None, None);
        let mut senders = gdalert_aws::remote_senders(&aws, &http, secrets, slack, None);
        senders.retry = RetryPolicy {
            max_attempts: 3,
            base_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(50),
        };
        senders.ready(&config).unwrap();
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

/// The stand-in for `kind` answering `script`, and a run pointed at it.
async fn setup(kind: &str, script: &[Fault]) -> (Stand, Run) {
    let stand = Stand::start(kind, script).await.unwrap();
    let run = Run::new(kind, &stand.base()).await;
    (stand, run)
}

/// Secrets and secret URL parts that must never reach a message.
const SECRETS: [&str; 7] = [
    "S3CRET",
    "R0UTINGKEY",
    "/hook/T0",
    "sig=",
    "S3CRETJIRATOKEN",
    "S3CRETSMTP",
    "/in/S3CRETHOOK",
];

fn assert_no_secret(kind: &str, message: &str) {
    for secret in SECRETS {
        assert!(
            !message.contains(secret),
            "{kind}: {secret} leaked: {message}"
        );
    }
}

#[tokio::test]
async fn success_is_delivered_once_and_a_retried_event_is_not_posted_again() {
    for kind in KINDS {
        let (stand, run) = setup(kind, &[Fault::Ok]).await;
        let got = run.invoke().await;
        assert!(matches!(got, Delivery::Delivered { .. }), "{kind}: {got:?}");
        assert!(
            matches!(run.invoke().await, Delivery::AlreadyDelivered { .. }),
            "{kind}: the retried event must not post again"
        );
        assert_eq!(stand.requests(), posts(kind), "{kind}");
        if let Stand::Smtp(smtp) = &stand {
            assert_eq!(smtp.accepted().len(), 1, "one mail");
        }
    }
}

#[tokio::test]
async fn rate_limited_waits_then_delivers() {
    for kind in KINDS {
        let (stand, run) = setup(kind, &[Fault::RateLimited, Fault::Ok]).await;
        let got = run.invoke().await;
        assert!(matches!(got, Delivery::Delivered { .. }), "{kind}: {got:?}");
        assert_eq!(stand.requests(), 1 + posts(kind), "{kind}");
        if let (Stand::Http(rx), true) = (&stand, honours_retry_after(kind)) {
            let seen = rx.seen();
            // Behaviour, not speed: the retry came no sooner than the server asked.
            assert!(
                seen[1].at.duration_since(seen[0].at) >= Duration::from_millis(950),
                "{kind}: Retry-After not honoured"
            );
        }
    }
}

#[tokio::test]
async fn a_server_error_is_retried_then_delivered_once() {
    for kind in KINDS {
        let (stand, run) = setup(kind, &[Fault::ServerError, Fault::Ok]).await;
        let got = run.invoke().await;
        assert!(matches!(got, Delivery::Delivered { .. }), "{kind}: {got:?}");
        assert_eq!(stand.requests(), 1 + posts(kind), "{kind}");
        assert!(matches!(
            run.invoke().await,
            Delivery::AlreadyDelivered { .. }
        ));
        assert_eq!(stand.requests(), 1 + posts(kind), "{kind}");
    }
}

#[tokio::test]
async fn no_answer_fails_retryably_and_the_event_retry_delivers() {
    for kind in KINDS {
        let (stand, run) = setup(kind, &[Fault::NoAnswer]).await;
        match run.invoke().await {
            Delivery::Failed(e) => {
                assert!(e.is_retryable(), "{kind}: {}", e.message());
                assert!(e.message().contains("timeout"), "{kind}: {}", e.message());
            }
            other => panic!("{kind}: {other:?}"),
        }
        stand.rescript(kind, &[Fault::Ok]);
        let got = run.invoke().await;
        assert!(matches!(got, Delivery::Delivered { .. }), "{kind}: {got:?}");
        assert!(matches!(
            run.invoke().await,
            Delivery::AlreadyDelivered { .. }
        ));
    }
}

#[tokio::test]
async fn a_refused_connection_fails_retryably_and_names_no_secret() {
    for kind in KINDS {
        let stand = Stand::refused(kind).await;
        let run = Run::new(kind, &stand.base()).await;
        match run.invoke().await {
            Delivery::Failed(e) => {
                assert!(e.is_retryable(), "{kind}: {}", e.message());
                assert_no_secret(kind, e.message());
            }
            other => panic!("{kind}: {other:?}"),
        }
    }
}

#[tokio::test]
async fn a_client_error_is_not_retried_and_says_it_is_configuration() {
    for kind in KINDS {
        let (stand, run) = setup(kind, &[Fault::ClientError]).await;
        match run.invoke().await {
            Delivery::Failed(e) => {
                assert!(!e.is_retryable(), "{kind}: {}", e.message());
                assert!(
                    e.message().contains("configuration"),
                    "{kind}: {}",
                    e.message()
                );
                assert_no_secret(kind, e.message());
            }
            other => panic!("{kind}: {other:?}"),
        }
        assert_eq!(
            stand.requests(),
            1,
            "{kind}: a client error must not be retried"
        );
    }
}

#[tokio::test]
async fn a_2xx_that_says_it_failed_is_a_failure_not_a_delivery() {
    let mut checked = Vec::new();
    for kind in KINDS {
        let Some(stand) = Stand::start(kind, &[Fault::Failed2xx]).await else {
            continue;
        };
        let run = Run::new(kind, &stand.base()).await;
        match run.invoke().await {
            Delivery::Failed(e) => assert!(!e.is_retryable(), "{kind}: {}", e.message()),
            other => panic!("{kind}: {other:?}"),
        }
        checked.push(kind);
    }
    assert_eq!(checked, ["teams", "eventbridge"]);
}

#[tokio::test]
async fn an_smtp_server_that_offers_no_login_is_a_configuration_error_not_retried() {
    // Regression (found by this harness): lettre's "no compatible
    // authentication mechanism" was retried as if the server were busy.
    let smtp = ScriptedSmtp::start(vec![SmtpReply::NoAuth]).await;
    let run = Run::new("email-smtp", &smtp.addr).await;
    match run.invoke().await {
        Delivery::Failed(e) => {
            assert!(!e.is_retryable(), "{}", e.message());
            assert!(e.message().contains("authentication"), "{}", e.message());
        }
        other => panic!("{other:?}"),
    }
    assert!(smtp.accepted().is_empty());
}

#[tokio::test]
async fn a_store_outage_still_delivers() {
    for kind in HTTP_KINDS {
        let rx = Receiver::start(vec![ok_reply(kind)]).await;
        let run = Run::new(kind, &rx.base).await;
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
    let run = Run::new("webhook", &rx.base).await;
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
    let run = Run::new("pagerduty", &rx.base).await;
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
    for kind in HTTP_KINDS {
        let rx = Receiver::start(vec![Reply::Echo(404)]).await;
        let run = Run::new(kind, &rx.base).await;
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
        let run = Run::new(kind, &rx.base).await;
        let got = run.invoke().await;
        assert!(matches!(got, Delivery::Delivered { .. }), "{kind}: {got:?}");
        assert_eq!(rx.seen().len(), 1, "{kind}: posted more than once");
    }
}

#[tokio::test]
async fn google_chat_threads_by_the_alert_and_names_each_request_so_a_retry_is_not_a_second_message(
) {
    let rx = Receiver::start(vec![Reply::Hang]).await;
    let run = Run::new("google_chat", &rx.base).await;
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

fn ok_reply(kind: &str) -> Reply {
    answer(kind, Fault::Ok).unwrap()
}
