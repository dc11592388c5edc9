//! The AWS adapters with the real aws-sdk-rust clients against a real local
//! AWS API server (moto in server mode) on loopback.
//!
//! `.ci/run` starts the server; see `gdalert_testkit::moto_url`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use gdalert_aws::{AwsClients, AwsSecrets, DynamoStore, EventBridgeClient, SesClient, SnsClient};
use gdalert_delivery::{CachedSecrets, Channel, RetryPolicy, SecretSource, Senders};
use gdalert_event::GuardDutyEvent;
use gdalert_pipeline::config::SecretRef;
use gdalert_pipeline::store::contract;
use gdalert_pipeline::{Config, Pipeline, RunOptions, Store};
use gdalert_testkit::aws::{queue, receive, topic_with_queue};
use gdalert_testkit::{deliveries, Delivery};
use gdalert_testkit::{moto_url, sdk_config, unique};
use serde_json::Value;

async fn clients() -> AwsClients {
    AwsClients::from_config(&sdk_config(&moto_url()).await)
}

fn fixture() -> String {
    gdalert_testkit::fixture("runtime-fargate-c2-high.json")
}

fn senders(aws: &AwsClients) -> Senders {
    Senders::new(RetryPolicy {
        max_attempts: 2,
        base_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(20),
    })
    .with(Channel::Sns, Arc::new(SnsClient::new(aws.sns.clone())))
    .with(
        Channel::EmailSes,
        Arc::new(SesClient::new(aws.sesv2.clone())),
    )
    .with(
        Channel::Eventbridge,
        Arc::new(EventBridgeClient::new(aws.eventbridge.clone())),
    )
}

/// Runs the fixture through the pipeline to one destination described by `toml`.
async fn deliver(aws: &AwsClients, store: &dyn Store, destination: &str) -> Vec<Delivery> {
    let text = format!(
        "[destinations.target]\n{destination}\n\n[[routes]]\nname = \"all\"\ndestinations = [\"target\"]\n"
    );
    let pipeline = Pipeline::new(Config::load("routes.toml", &text, &BTreeMap::new()).unwrap());
    let event_text = fixture();
    let event = GuardDutyEvent::from_json(&event_text).unwrap();
    let node = gdalert_pattern::parse_event(&event_text).unwrap();
    let now = Utc::now();
    let report = pipeline
        .run_event(
            store,
            &senders(aws),
            &event,
            &node,
            now,
            &RunOptions::deliver("moto-test"),
        )
        .await;
    deliveries(&report)
}

async fn table(aws: &AwsClients) -> DynamoStore {
    let store = DynamoStore::new(aws.dynamodb.clone(), unique("gdalert-state"));
    store.create_table().await.unwrap();
    store
}

#[tokio::test]
async fn sns_publish_reaches_an_sqs_subscriber_with_the_attributes() {
    let aws = clients().await;
    let sqs = aws_sdk_sqs::Client::new(&sdk_config(&moto_url()).await);
    let (topic, queue_url) = topic_with_queue(&aws.sns, &sqs, "alerts").await;
    let store = table(&aws).await;
    let deliveries = deliver(
        &aws,
        &store,
        &format!("kind = \"sns\"\ntopic_arn = \"{topic}\""),
    )
    .await;
    assert!(
        matches!(&deliveries[0], Delivery::Delivered { receipt } if receipt.starts_with("sns:")),
        "{deliveries:?}"
    );

    let bodies = receive(&sqs, &queue_url).await;
    assert_eq!(bodies.len(), 1, "{bodies:?}");
    let envelope: Value = serde_json::from_str(&bodies[0]).unwrap();
    assert!(
        envelope["Subject"]
            .as_str()
            .unwrap()
            .contains("C&CActivity"),
        "{envelope}"
    );
    assert!(envelope["Message"]
        .as_str()
        .unwrap()
        .contains("payments-prod"));
    let attributes = &envelope["MessageAttributes"];
    assert_eq!(attributes["severity"]["Value"], "High", "{attributes}");
    assert_eq!(
        attributes["type"]["Value"],
        "Backdoor:Runtime/C&CActivity.B"
    );
    assert_eq!(attributes["lifecycle"]["Value"], "new");

    // The same event again (an EventBridge retry): nothing new on the queue.
    let again = deliver(
        &aws,
        &store,
        &format!("kind = \"sns\"\ntopic_arn = \"{topic}\""),
    )
    .await;
    assert!(
        again
            .iter()
            .all(|d| !matches!(d, Delivery::Delivered { .. })),
        "{again:?}"
    );
    assert!(receive(&sqs, &queue_url).await.is_empty());
}

#[tokio::test]
async fn sns_to_a_missing_topic_is_a_configuration_error() {
    let aws = clients().await;
    let store = table(&aws).await;
    let deliveries = deliver(
        &aws,
        &store,
        "kind = \"sns\"\ntopic_arn = \"arn:aws:sns:us-east-1:123456789012:does-not-exist\"",
    )
    .await;
    match &deliveries[0] {
        Delivery::Failed(e) => assert!(!e.is_retryable(), "{}", e.message()),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn ses_mail_is_sent_and_readable_from_the_server() {
    let aws = clients().await;
    let from = format!("{}@gdalert.example", unique("alerts"));
    aws.sesv2
        .create_email_identity()
        .email_identity(&from)
        .send()
        .await
        .unwrap();
    let store = table(&aws).await;
    let deliveries = deliver(
        &aws,
        &store,
        &format!("kind = \"email\"\nfrom = \"{from}\"\nto = [\"soc@gdalert.example\"]"),
    )
    .await;
    assert!(
        matches!(&deliveries[0], Delivery::Delivered { .. }),
        "{deliveries:?}"
    );
    let data: Value = reqwest::get(format!("{}/moto-api/data.json", moto_url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let text = data["ses"].to_string();
    assert!(
        text.contains(&from),
        "sent mail not found in {}",
        &text[..text.len().min(2000)]
    );
    assert!(text.contains("C&amp;CActivity") || text.contains("C&CActivity"));
}

#[tokio::test]
async fn eventbridge_put_events_reaches_a_rule_with_an_sqs_target() {
    let aws = clients().await;
    let sqs = aws_sdk_sqs::Client::new(&sdk_config(&moto_url()).await);
    let (queue_url, queue_arn) = queue(&sqs, "automation").await;
    let bus = unique("gdalert-bus");
    aws.eventbridge
        .create_event_bus()
        .name(&bus)
        .send()
        .await
        .unwrap();
    let rule = unique("gdalert-alerts");
    aws.eventbridge
        .put_rule()
        .name(&rule)
        .event_bus_name(&bus)
        .event_pattern(r#"{"source": ["gdalert"]}"#)
        .send()
        .await
        .unwrap();
    aws.eventbridge
        .put_targets()
        .rule(&rule)
        .event_bus_name(&bus)
        .targets(
            aws_sdk_eventbridge::types::Target::builder()
                .id("queue")
                .arn(&queue_arn)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let store = table(&aws).await;
    let deliveries = deliver(
        &aws,
        &store,
        &format!("kind = \"eventbridge\"\nevent_bus = \"{bus}\""),
    )
    .await;
    assert!(
        matches!(&deliveries[0], Delivery::Delivered { .. }),
        "{deliveries:?}"
    );
    let bodies = receive(&sqs, &queue_url).await;
    assert_eq!(bodies.len(), 1, "{bodies:?}");
    let event: Value = serde_json::from_str(&bodies[0]).unwrap();
    assert_eq!(event["source"], "gdalert");
    assert_eq!(
        event["detail"]["alert"]["finding_type"], "Backdoor:Runtime/C&CActivity.B",
        "{event}"
    );
}

#[tokio::test]
async fn the_dynamodb_store_meets_the_store_contract() {
    let aws = clients().await;
    contract::check(&table(&aws).await).await;
}

#[tokio::test]
async fn concurrent_claims_in_dynamodb_have_exactly_one_winner() {
    let aws = clients().await;
    // Real concurrent requests: each claimer has its own in-flight HTTP call.
    contract::check_concurrent_claims(&table(&aws).await, 8).await;
}

#[tokio::test]
async fn a_dynamodb_outage_fails_open_and_still_delivers() {
    let aws = clients().await;
    let sqs = aws_sdk_sqs::Client::new(&sdk_config(&moto_url()).await);
    let (topic, queue_url) = topic_with_queue(&aws.sns, &sqs, "failopen").await;
    // A table that does not exist behaves like a store that is down.
    let missing = DynamoStore::new(aws.dynamodb.clone(), unique("no-such-table"));
    let deliveries = deliver(
        &aws,
        &missing,
        &format!("kind = \"sns\"\ntopic_arn = \"{topic}\""),
    )
    .await;
    assert!(
        matches!(&deliveries[0], Delivery::Delivered { .. }),
        "{deliveries:?}"
    );
    let bodies = receive(&sqs, &queue_url).await;
    assert_eq!(bodies.len(), 1);
    assert!(
        bodies[0].contains("dedupe unavailable") || bodies[0].contains("Dedupe unavailable"),
        "{}",
        bodies[0]
    );
}

#[tokio::test]
async fn secrets_come_from_secrets_manager_and_ssm_and_are_cached() {
    let aws = clients().await;
    let arn = aws
        .secrets_manager
        .create_secret()
        .name(unique("gdalert/slack"))
        .secret_string("https://hooks.slack.com/services/T0/B0/SECRET")
        .send()
        .await
        .unwrap()
        .arn()
        .unwrap()
        .to_string();
    let name = format!("/{}", unique("gdalert/pd"));
    aws.ssm
        .put_parameter()
        .name(&name)
        .value("pd-routing-key")
        .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
        .send()
        .await
        .unwrap();
    let secrets = CachedSecrets::new(
        AwsSecrets::new(aws.secrets_manager.clone(), aws.ssm.clone()),
        Duration::from_secs(300),
    );
    let sm = secrets
        .read(&SecretRef::SecretsManager(arn.clone()))
        .await
        .unwrap();
    assert_eq!(sm.expose(), "https://hooks.slack.com/services/T0/B0/SECRET");
    assert_eq!(format!("{sm:?}"), "[redacted]");
    let p = secrets
        .read(&SecretRef::Parameter(name.clone()))
        .await
        .unwrap();
    assert_eq!(p.expose(), "pd-routing-key");
    // Cached: deleting the secret does not break the next read within the TTL.
    aws.secrets_manager
        .delete_secret()
        .secret_id(&arn)
        .force_delete_without_recovery(true)
        .send()
        .await
        .unwrap();
    assert!(secrets
        .read(&SecretRef::SecretsManager(arn.clone()))
        .await
        .is_ok());
    // Uncached, a missing secret is an error that names the reference only.
    let direct = AwsSecrets::new(aws.secrets_manager.clone(), aws.ssm.clone());
    let err = direct
        .read(&SecretRef::SecretsManager(arn.clone()))
        .await
        .unwrap_err();
    assert!(err.to_string().contains(&arn));
    assert!(!err.to_string().contains("SECRET"), "{err}");
}

/// The AWS destination clients against a scripted loopback server standing
/// in for the service endpoint: the real SDK client, real HTTP, real
/// answers (a local AWS API server cannot be told to fail on cue).
mod faults {
    use super::*;
    use gdalert_pipeline::MemoryStore;
    use gdalert_testkit::{refused_base, Receiver, Reply};

    async fn at(endpoint: &str) -> AwsClients {
        AwsClients::from_config(&sdk_config(endpoint).await)
    }

    const SNS: &str =
        "kind = \"sns\"\ntopic_arn = \"arn:aws:sns:us-east-1:123456789012:t\"\ntimeout = \"2s\"";
    const EB: &str = "kind = \"eventbridge\"\ntimeout = \"2s\"";

    fn failed(d: &[Delivery]) -> (bool, String) {
        match &d[0] {
            Delivery::Failed(e) => (e.is_retryable(), e.message().to_string()),
            other => panic!("expected a failure, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn server_errors_throttling_timeouts_and_refusals_are_retryable() {
        for destination in [SNS, EB] {
            for script in [
                vec![Reply::Status(
                    500,
                    "<Error><Code>InternalFailure</Code></Error>",
                )],
                vec![Reply::RateLimited(0)],
                vec![Reply::Hang],
            ] {
                let rx = Receiver::start(script.clone()).await;
                let aws = at(&rx.base).await;
                let d = deliver(&aws, &MemoryStore::new(), destination).await;
                let (retryable, message) = failed(&d);
                assert!(retryable, "{destination} {script:?}: {message}");
                assert_one_line(&message);
                assert!(
                    rx.seen().len() >= 2 || matches!(script[0], Reply::Hang),
                    "{destination} {script:?}: retried"
                );
            }
            let aws = at(&refused_base().await).await;
            let (retryable, message) =
                failed(&deliver(&aws, &MemoryStore::new(), destination).await);
            assert!(retryable, "{destination} refused: {message}");
            assert_one_line(&message);
        }
    }

    /// Regression: errors were the SDK's debug dump (`DispatchFailure(...`).
    fn assert_one_line(message: &str) {
        assert!(
            !message.contains('\n') && !message.contains("Failure(") && !message.contains(" { "),
            "not one readable line: {message}"
        );
    }

    #[tokio::test]
    async fn without_a_region_or_credentials_the_error_says_what_to_set_and_is_not_retried() {
        let rx = Receiver::start(vec![Reply::Status(200, "")]).await;
        let no_region = aws_config::SdkConfig::builder()
            .endpoint_url(&rx.base)
            .credentials_provider(aws_sdk_sns::config::SharedCredentialsProvider::new(
                aws_sdk_sns::config::Credentials::new("t", "t", None, None, "test"),
            ))
            .behavior_version(aws_config::BehaviorVersion::latest())
            .build();
        let aws = AwsClients::from_config(&no_region);
        let (retryable, message) = failed(&deliver(&aws, &MemoryStore::new(), SNS).await);
        assert!(!retryable, "{message}");
        assert!(message.contains("set AWS_REGION"), "{message}");
        assert_one_line(&message);

        let no_credentials = aws_config::SdkConfig::builder()
            .endpoint_url(&rx.base)
            .region(aws_config::Region::new("us-east-1"))
            .behavior_version(aws_config::BehaviorVersion::latest())
            .build();
        let aws = AwsClients::from_config(&no_credentials);
        let (retryable, message) = failed(&deliver(&aws, &MemoryStore::new(), SNS).await);
        assert!(!retryable, "{message}");
        assert!(message.contains("credentials"), "{message}");
        assert_one_line(&message);
        assert!(rx.seen().is_empty(), "nothing was sent");
    }

    #[tokio::test]
    async fn a_client_error_from_the_service_is_not_retried() {
        let rx = Receiver::start(vec![Reply::Status(
            403,
            "<ErrorResponse><Error><Type>Sender</Type><Code>AuthorizationError</Code><Message>not authorized</Message></Error></ErrorResponse>",
        )])
        .await;
        let aws = at(&rx.base).await;
        let (retryable, message) = failed(&deliver(&aws, &MemoryStore::new(), SNS).await);
        assert!(!retryable, "{message}");
        assert!(
            message.contains("AuthorizationError: not authorized (the role lacks"),
            "{message}"
        );
        assert_one_line(&message);
        assert_eq!(rx.seen().len(), 1, "a 403 must not be retried");
    }
}
