//! The shared delivery path: one small client per destination kind behind it.
//!
//! [`Senders`] implements the pipeline's `Sender`. For each delivery it
//! picks the client for the destination, then owns everything the clients
//! must not each reinvent: the per-destination deadline, retries with
//! backoff and jitter, `Retry-After`, classification of the final failure
//! as retryable or not, and log lines that carry the event id, finding id
//! and dedupe key. A client makes exactly one attempt per call.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use gdalert_pipeline::config::{Config, Destination, EmailTransport, KindSettings, WebhookTarget};
use gdalert_pipeline::{Alert, Failure, Payload, Sender};

use crate::retry::RetryPolicy;
use crate::url_policy::UrlPolicy;

/// Delivers one payload to one kind of destination, in one attempt.
#[async_trait::async_trait]
pub trait DestinationClient: Send + Sync {
    /// Returns a receipt (message id, HTTP status...) on success.
    async fn attempt(
        &self,
        destination: &Destination,
        alert: &Alert,
        payload: &Payload,
    ) -> Result<String, Failure>;
}

/// The JSON body of a payload, or a fatal failure naming who needed it.
pub fn json_body<'a>(payload: &'a Payload, who: &str) -> Result<&'a serde_json::Value, Failure> {
    match payload {
        Payload::Json { body } => Ok(body),
        _ => Err(Failure::fatal(format!("{who} needs a JSON payload"))),
    }
}

/// `value` as JSON bytes for a request body.
pub fn json_bytes(value: &serde_json::Value) -> Result<Vec<u8>, Failure> {
    serde_json::to_vec(value).map_err(|e| Failure::fatal(format!("cannot encode the payload: {e}")))
}

/// Which client serves a destination: one per kind, and for email one per
/// transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Channel {
    Sns,
    EmailSes,
    EmailSmtp,
    Slack,
    Teams,
    GoogleChat,
    Pagerduty,
    Webhook,
    Eventbridge,
    Jira,
    Stdout,
    File,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Sns => "sns",
            Channel::EmailSes => "email-ses",
            Channel::EmailSmtp => "email-smtp",
            Channel::Slack => "slack",
            Channel::Teams => "teams",
            Channel::GoogleChat => "google_chat",
            Channel::Pagerduty => "pagerduty",
            Channel::Webhook => "webhook",
            Channel::Eventbridge => "eventbridge",
            Channel::Jira => "jira",
            Channel::Stdout => "stdout",
            Channel::File => "file",
        }
    }
}

impl std::fmt::Display for Channel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which client serves a destination.
pub fn channel_of(destination: &Destination) -> Channel {
    match &destination.settings {
        KindSettings::Sns(_) => Channel::Sns,
        KindSettings::Email(email) => match email.transport {
            EmailTransport::Smtp(_) => Channel::EmailSmtp,
            EmailTransport::Ses => Channel::EmailSes,
        },
        KindSettings::Slack(_) => Channel::Slack,
        KindSettings::Teams(_) => Channel::Teams,
        KindSettings::GoogleChat(_) => Channel::GoogleChat,
        KindSettings::Pagerduty(_) => Channel::Pagerduty,
        KindSettings::Webhook(_) => Channel::Webhook,
        KindSettings::Eventbridge(_) => Channel::Eventbridge,
        KindSettings::Jira(_) => Channel::Jira,
        KindSettings::Stdout => Channel::Stdout,
        KindSettings::File(_) => Channel::File,
    }
}

/// The URL a destination's settings name in the routes file (not in a
/// secret), which can be checked against the URL policy before any alert.
fn plain_url(settings: &KindSettings) -> Option<&str> {
    match settings {
        KindSettings::Webhook(w) => match &w.target {
            WebhookTarget::Url(url) => Some(url),
            WebhookTarget::Secret(_) => None,
        },
        KindSettings::Jira(jira) => Some(&jira.site),
        KindSettings::Pagerduty(p) => p.events_url.as_deref(),
        KindSettings::Sns(_)
        | KindSettings::Email(_)
        | KindSettings::Slack(_)
        | KindSettings::Teams(_)
        | KindSettings::GoogleChat(_)
        | KindSettings::Eventbridge(_)
        | KindSettings::Stdout
        | KindSettings::File(_) => None,
    }
}

/// The failure of a client handed a destination of another kind (a wiring
/// mistake: [`channel_of`] picks the client by kind).
pub fn wrong_kind(destination: &Destination, client: &str) -> Failure {
    Failure::fatal(format!(
        "the {client} client was given destination {:?} of kind {}",
        destination.name,
        destination.kind().as_str()
    ))
}

/// The clients, keyed by [`channel_of`], the retry policy, and the URL
/// policy the HTTP clients apply (for [`Senders::ready`]).
#[derive(Clone, Default)]
pub struct Senders {
    clients: BTreeMap<Channel, Arc<dyn DestinationClient>>,
    pub retry: RetryPolicy,
    policy: Option<UrlPolicy>,
}

impl std::fmt::Debug for Senders {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Senders")
            .field("channels", &self.clients.keys().collect::<Vec<_>>())
            .field("retry", &self.retry)
            .finish()
    }
}

impl Senders {
    pub fn new(retry: RetryPolicy) -> Senders {
        Senders {
            clients: BTreeMap::new(),
            retry,
            policy: None,
        }
    }

    /// Serves `channel` (see [`channel_of`]) with `client`.
    pub fn with(mut self, channel: Channel, client: Arc<dyn DestinationClient>) -> Senders {
        self.clients.insert(channel, client);
        self
    }

    /// The URL policy the HTTP clients apply, so [`Senders::ready`] can
    /// check the URLs a routes file names before the first alert.
    pub fn with_policy(mut self, policy: UrlPolicy) -> Senders {
        self.policy = Some(policy);
        self
    }

    /// Channels that have a client.
    pub fn channels(&self) -> Vec<Channel> {
        self.clients.keys().copied().collect()
    }

    /// Checks at start-up that every destination of `config` can be served:
    /// it has a client in this process, and a URL it names in the routes
    /// file is one the URL policy lets it reach. Each problem names the
    /// destination and says what to change; nothing is sent.
    pub fn ready(&self, config: &Config) -> Result<(), Vec<String>> {
        let mut problems = Vec::new();
        for destination in config.destinations.values() {
            let channel = channel_of(destination);
            let kind = destination.kind();
            if !self.clients.contains_key(&channel) {
                problems.push(format!(
                    "destination {:?} ({channel}): this process has no {channel} client",
                    destination.name
                ));
            }
            if let (Some(url), Some(policy)) = (plain_url(&destination.settings), &self.policy) {
                if let Err(why) = policy.check(kind, url) {
                    problems.push(format!(
                        "destination {:?} ({kind}): {why}",
                        destination.name,
                        kind = kind.as_str()
                    ));
                }
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems)
        }
    }
}

#[async_trait::async_trait]
impl Sender for Senders {
    async fn send(
        &self,
        destination: &Destination,
        alert: &Alert,
        payload: &Payload,
    ) -> Result<String, Failure> {
        let channel = channel_of(destination);
        let Some(client) = self.clients.get(&channel) else {
            return Err(Failure::fatal(format!(
                "no {channel} client is configured in this process (destination {:?})",
                destination.name
            )));
        };
        let deadline = Instant::now() + destination.timeout;
        let mut attempts = 0;
        loop {
            attempts += 1;
            let left = deadline.saturating_duration_since(Instant::now());
            let result =
                match tokio::time::timeout(left, client.attempt(destination, alert, payload)).await
                {
                    Ok(result) => result,
                    Err(_) => Err(Failure::retry(format!(
                        "no answer within the destination timeout ({})",
                        humantime::format_duration(destination.timeout)
                    ))),
                };
            let failure = match result {
                Ok(receipt) => {
                    tracing::info!(
                        event_id = %alert.event_id,
                        finding_id = alert.finding_id.as_deref().unwrap_or(""),
                        dedupe_key = %alert.dedupe_key,
                        destination = %destination.name,
                        kind = channel.as_str(),
                        attempts,
                        receipt = %receipt,
                        "delivered"
                    );
                    return Ok(receipt);
                }
                Err(failure) => failure,
            };
            tracing::warn!(
                event_id = %alert.event_id,
                finding_id = alert.finding_id.as_deref().unwrap_or(""),
                dedupe_key = %alert.dedupe_key,
                destination = %destination.name,
                kind = channel.as_str(),
                attempts,
                error = failure.message(),
                "delivery attempt failed"
            );
            let (after, message) = match failure {
                Failure::Fatal { message } => {
                    return Err(Failure::fatal(format!(
                            "{} ({channel}) refused the alert: {message}; this is a configuration problem, retrying will not help",
                            destination.name
                        )))
                }
                Failure::Retry { after, message } => (after, message),
            };
            let wait = self.retry.wait(attempts, after);
            let left = deadline.saturating_duration_since(Instant::now());
            if attempts >= self.retry.max_attempts || wait >= left {
                let why = if attempts >= self.retry.max_attempts {
                    format!("gave up after {attempts} attempt(s)")
                } else {
                    format!(
                        "gave up after {attempts} attempt(s): the next wait ({}) does not fit in the timeout",
                        humantime::format_duration(Duration::from_millis(wait.as_millis() as u64))
                    )
                };
                return Err(Failure::retry(format!(
                    "{} ({channel}): {message}; {why}",
                    destination.name
                )));
            }
            tokio::time::sleep(wait).await;
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    struct Nothing;

    #[async_trait::async_trait]
    impl DestinationClient for Nothing {
        async fn attempt(
            &self,
            _: &Destination,
            _: &Alert,
            _: &Payload,
        ) -> Result<String, Failure> {
            Ok(String::new())
        }
    }

    #[test]
    fn a_destination_without_a_client_or_with_a_forbidden_url_fails_at_start_up() {
        let routes = r#"
[destinations.chat]
kind = "teams"
webhook_url_secret = "/t"

[destinations.tickets]
kind = "jira"
site = "https://jira.internal.example"
email = "a@example.com"
api_token_secret = "/j"
project = "SEC"

[destinations.siem]
kind = "webhook"
url = "https://siem.example/in"

[[routes]]
name = "all"
destinations = ["chat", "tickets", "siem"]
"#;
        let config =
            Config::load("routes.toml", routes, &std::collections::BTreeMap::new()).unwrap();
        let senders = Senders::default()
            .with(Channel::Jira, Arc::new(Nothing))
            .with(Channel::Webhook, Arc::new(Nothing))
            .with_policy(UrlPolicy::default());
        let problems = senders.ready(&config).unwrap_err();
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems[0].contains("\"chat\" (teams): this process has no teams client"));
        assert!(
            problems[1].contains("\"tickets\" (jira): host jira.internal.example is not allowed")
        );
        let all = senders.with(Channel::Teams, Arc::new(Nothing));
        assert!(
            all.ready(&config).is_err(),
            "the Jira host is still refused"
        );
    }
}
