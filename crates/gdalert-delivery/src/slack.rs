//! Slack: incoming webhook, or `chat.postMessage` with a bot token so that
//! updates and the resolved message go into the first alert's thread.

use std::sync::Arc;

use chrono::Utc;
use gdalert_pipeline::config::{Destination, DestinationKind, KindSettings, SecretRef, Slack};
use gdalert_pipeline::store::{expiry, Record, Store};
use gdalert_pipeline::{Alert, Lifecycle, Payload};
use serde_json::{json, Value};

use crate::http::HttpClient;
use crate::retry::Failure;
use crate::senders::{json_body, json_bytes, DestinationClient};

/// How long a thread root is remembered.
const THREAD_TTL: std::time::Duration = std::time::Duration::from_secs(30 * 24 * 3600);

/// Slack client. Threads need a store (where the first message's `ts`
/// lives); without one, every alert is a new message.
#[derive(Clone)]
pub struct SlackClient {
    http: HttpClient,
    api_base: String,
    threads: Option<Arc<dyn Store>>,
}

impl std::fmt::Debug for SlackClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SlackClient")
            .field("api_base", &self.api_base)
            .finish_non_exhaustive()
    }
}

impl SlackClient {
    pub fn new(http: HttpClient, threads: Option<Arc<dyn Store>>) -> SlackClient {
        SlackClient {
            http,
            api_base: "https://slack.com".into(),
            threads,
        }
    }

    /// Points `chat.postMessage` elsewhere (tests).
    pub fn with_api_base(mut self, base: &str) -> SlackClient {
        self.api_base = base.trim_end_matches('/').to_string();
        self
    }

    fn thread_key(destination: &Destination, subject: &str) -> String {
        format!("slack-thread/{}/{subject}", destination.name)
    }

    async fn thread_ts(&self, destination: &Destination, subject: &str) -> Option<String> {
        let store = self.threads.as_ref()?;
        let record = store
            .get(&Self::thread_key(destination, subject), Utc::now())
            .await
            .ok()??;
        record.record.value["ts"].as_str().map(str::to_string)
    }

    async fn remember(&self, destination: &Destination, alert: &Alert, ts: &str) {
        let Some(store) = &self.threads else { return };
        let now = Utc::now();
        let record = Record {
            value: json!({ "ts": ts }),
            expires_at: expiry(now, THREAD_TTL),
            due_at: None,
        };
        // First root wins; losing the race only means this alert is not a root.
        let _ = store
            .put(
                &Self::thread_key(destination, &alert.dedupe_key),
                None,
                record,
                now,
            )
            .await;
    }

    async fn post_message(
        &self,
        destination: &Destination,
        (token, channel): (&SecretRef, &str),
        alert: &Alert,
        body: &Value,
    ) -> Result<String, Failure> {
        let token = self.http.secret(token).await?;
        let opens = matches!(
            alert.verdict.lifecycle,
            Lifecycle::New | Lifecycle::Opened | Lifecycle::Sample
        );
        // A finding that is a signal of an attack sequence goes into the
        // sequence's thread when the sequence was posted here; otherwise a
        // new alert opens its own thread and the rest go into theirs.
        let thread = match (&alert.part_of, opens) {
            (Some(sequence), _) => match self.thread_ts(destination, sequence).await {
                Some(ts) => Some(ts),
                None if opens => None,
                None => self.thread_ts(destination, &alert.dedupe_key).await,
            },
            (None, true) => None,
            (None, false) => self.thread_ts(destination, &alert.dedupe_key).await,
        };
        let mut message = body.clone();
        message["channel"] = json!(channel);
        if let Some(ts) = &thread {
            message["thread_ts"] = json!(ts);
            // Escalations and resolutions also show in the channel.
            if matches!(
                alert.verdict.lifecycle,
                Lifecycle::Escalation | Lifecycle::Resolved
            ) {
                message["reply_broadcast"] = json!(true);
            }
        }
        let bytes = json_bytes(&message)?;
        let url = format!("{}/api/chat.postMessage", self.api_base);
        let answer = self
            .http
            .post_json(
                DestinationKind::Slack,
                &url,
                &[("authorization", format!("Bearer {}", token.expose()))],
                &bytes,
            )
            .await?;
        // The Web API answers HTTP 200 with `ok: false` on failure.
        let reply = answer.json().unwrap_or(Value::Null);
        if reply["ok"] != json!(true) {
            let error = reply["error"]
                .as_str()
                .unwrap_or("unreadable answer")
                .to_string();
            return Err(match error.as_str() {
                "ratelimited"
                | "internal_error"
                | "fatal_error"
                | "service_unavailable"
                | "request_timeout" => Failure::retry(format!("Slack API: {error}")),
                _ => Failure::fatal(format!("Slack API: {error}")),
            });
        }
        let ts = reply["ts"].as_str().unwrap_or_default().to_string();
        if thread.is_none() && !ts.is_empty() {
            self.remember(destination, alert, &ts).await;
        }
        Ok(format!("slack:{channel}/{ts}"))
    }
}

#[async_trait::async_trait]
impl DestinationClient for SlackClient {
    async fn attempt(
        &self,
        destination: &Destination,
        alert: &Alert,
        payload: &Payload,
    ) -> Result<String, Failure> {
        let body = json_body(payload, "Slack")?;
        if let KindSettings::Slack(Slack::Bot { bot_token, channel }) = &destination.settings {
            return self
                .post_message(destination, (bot_token, channel), alert, body)
                .await;
        }
        let url = self.http.webhook_url(destination).await?;
        let bytes = json_bytes(body)?;
        let answer = self
            .http
            .post_json(DestinationKind::Slack, url.expose(), &[], &bytes)
            .await?;
        Ok(format!("slack:HTTP {}", answer.status))
    }
}
