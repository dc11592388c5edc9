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

use gdalert_pipeline::config::{Destination, EmailTransport, KindSettings};
use gdalert_pipeline::{Alert, Failure, Payload, Sender};

use crate::retry::RetryPolicy;

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

/// Which client serves a destination: its kind, and for email its transport.
pub fn channel_of(destination: &Destination) -> &'static str {
    match &destination.settings {
        KindSettings::Email(email) => match email.transport {
            EmailTransport::Smtp(_) => "email-smtp",
            EmailTransport::Ses => "email-ses",
        },
        other => other.kind().as_str(),
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

/// The clients, keyed by [`channel_of`], and the retry policy.
#[derive(Clone, Default)]
pub struct Senders {
    clients: BTreeMap<&'static str, Arc<dyn DestinationClient>>,
    pub retry: RetryPolicy,
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
        }
    }

    /// Serves `channel` (see [`channel_of`]) with `client`.
    pub fn with(mut self, channel: &'static str, client: Arc<dyn DestinationClient>) -> Senders {
        self.clients.insert(channel, client);
        self
    }

    /// Channels that have a client.
    pub fn channels(&self) -> Vec<&'static str> {
        self.clients.keys().copied().collect()
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
        let Some(client) = self.clients.get(channel) else {
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
                        kind = channel,
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
                kind = channel,
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
