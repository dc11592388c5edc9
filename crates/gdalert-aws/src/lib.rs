//! gdalert's AWS adapters, all on aws-sdk-rust with one shared SDK config:
//! SNS, SES v2 and EventBridge destination clients (plugged into the
//! shared delivery path of `gdalert-delivery`), the DynamoDB state store,
//! Secrets Manager / SSM secrets, EventBridge's own `TestEventPattern`, and
//! GuardDuty's coverage API for the coverage report.
//!
//! Endpoints follow the SDK's standard settings, so `AWS_ENDPOINT_URL`
//! points every client at a local AWS API server in tests.

pub mod coverage;
pub mod destinations;
pub mod dynamodb;
pub mod pattern_check;
pub mod sdk_error;
pub mod secrets;

pub use coverage::GuardDutyCoverage;
pub use destinations::{EventBridgeClient, SesClient, SnsClient};
pub use dynamodb::DynamoStore;
pub use secrets::AwsSecrets;

use std::sync::Arc;

use aws_config::retry::RetryConfig;
use aws_config::BehaviorVersion;
use gdalert_delivery::{
    Channel, GoogleChatClient, HttpClient, JiraClient, PagerDutyClient, RetryPolicy, SecretSource,
    Senders, SlackClient, SmtpClient, TeamsClient, WebhookClient,
};
use gdalert_pipeline::Store;

/// Every remote destination kind behind the shared delivery path: the AWS
/// kinds through `aws`, webhooks through `http`, SMTP with `secrets`. Slack
/// threads are remembered in `slack_threads` when given. The caller adds
/// its own `stdout`/`file` handling (the log in Lambda, the terminal locally).
pub fn remote_senders(
    aws: &AwsClients,
    http: &HttpClient,
    secrets: Arc<dyn SecretSource>,
    slack: SlackClient,
    state: Option<Arc<dyn Store>>,
) -> Senders {
    Senders::new(RetryPolicy::default())
        .with_policy(http.policy.clone())
        .with(Channel::Sns, Arc::new(SnsClient::new(aws.sns.clone())))
        .with(
            Channel::EmailSes,
            Arc::new(SesClient::new(aws.sesv2.clone())),
        )
        .with(Channel::EmailSmtp, Arc::new(SmtpClient::new(secrets)))
        .with(
            Channel::Eventbridge,
            Arc::new(EventBridgeClient::new(aws.eventbridge.clone())),
        )
        .with(Channel::Slack, Arc::new(slack))
        .with(Channel::Teams, Arc::new(TeamsClient::new(http.clone())))
        .with(
            Channel::GoogleChat,
            Arc::new(GoogleChatClient::new(http.clone())),
        )
        .with(
            Channel::Pagerduty,
            Arc::new(PagerDutyClient::new(http.clone())),
        )
        .with(Channel::Webhook, Arc::new(WebhookClient::new(http.clone())))
        .with(
            Channel::Jira,
            Arc::new(JiraClient::new(http.clone(), state)),
        )
}

/// A Slack client keeping thread roots in `store` (when given).
pub fn slack_client(
    http: &HttpClient,
    store: Option<Arc<dyn Store>>,
    api_base: Option<&str>,
) -> SlackClient {
    let slack = SlackClient::new(http.clone(), store);
    match api_base {
        Some(base) => slack.with_api_base(base),
        None => slack,
    }
}

/// The SDK clients gdalert uses, built once per process.
#[derive(Debug, Clone)]
pub struct AwsClients {
    pub sns: aws_sdk_sns::Client,
    pub sesv2: aws_sdk_sesv2::Client,
    pub eventbridge: aws_sdk_eventbridge::Client,
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub secrets_manager: aws_sdk_secretsmanager::Client,
    pub ssm: aws_sdk_ssm::Client,
    pub guardduty: aws_sdk_guardduty::Client,
}

impl AwsClients {
    /// Loads the standard SDK configuration (environment, profile, Lambda
    /// role). Destination clients make one attempt per call: the delivery
    /// path retries, within each destination's deadline. State and secrets
    /// keep the SDK's standard retries; state calls are also bounded in time
    /// (see [`dynamodb::STORE_OPERATION_TIMEOUT`]) so a silent store fails open.
    pub async fn load() -> AwsClients {
        let shared = aws_config::defaults(BehaviorVersion::latest()).load().await;
        AwsClients::from_config(&shared)
    }

    /// Builds the clients from an SDK configuration (tests point it at a
    /// local AWS API server).
    pub fn from_config(shared: &aws_config::SdkConfig) -> AwsClients {
        let single = aws_sdk_sns::config::Builder::from(shared)
            .retry_config(RetryConfig::disabled())
            .build();
        let ses = aws_sdk_sesv2::config::Builder::from(shared)
            .retry_config(RetryConfig::disabled())
            .build();
        let eb = aws_sdk_eventbridge::config::Builder::from(shared)
            .retry_config(RetryConfig::disabled())
            .build();
        AwsClients {
            sns: aws_sdk_sns::Client::from_conf(single),
            sesv2: aws_sdk_sesv2::Client::from_conf(ses),
            eventbridge: aws_sdk_eventbridge::Client::from_conf(eb),
            dynamodb: aws_sdk_dynamodb::Client::from_conf(
                aws_sdk_dynamodb::config::Builder::from(shared)
                    .timeout_config(
                        aws_config::timeout::TimeoutConfig::builder()
                            .connect_timeout(dynamodb::STORE_ATTEMPT_TIMEOUT)
                            .operation_attempt_timeout(dynamodb::STORE_ATTEMPT_TIMEOUT)
                            .operation_timeout(dynamodb::STORE_OPERATION_TIMEOUT)
                            .build(),
                    )
                    .build(),
            ),
            secrets_manager: aws_sdk_secretsmanager::Client::new(shared),
            ssm: aws_sdk_ssm::Client::new(shared),
            guardduty: aws_sdk_guardduty::Client::new(shared),
        }
    }
}
