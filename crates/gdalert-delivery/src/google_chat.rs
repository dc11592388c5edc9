//! Google Chat through a space's incoming webhook.
//!
//! The message names its thread (`thread.threadKey`, set by the renderer);
//! the client asks Chat to reply in that thread or start it
//! (`messageReplyOption=REPLY_MESSAGE_FALLBACK_TO_NEW_THREAD`), and names
//! the request (`requestId`, one per alert event and destination): Chat
//! answers a repeated request id with the message it already created, so a
//! retry after an answer that never arrived does not post twice.

use gdalert_pipeline::config::{Destination, DestinationKind};
use gdalert_pipeline::{Alert, Payload};
use sha2::{Digest, Sha256};

use crate::http::HttpClient;
use crate::retry::Failure;
use crate::senders::{json_body, json_bytes, DestinationClient};

/// Google Chat incoming-webhook client.
#[derive(Debug, Clone)]
pub struct GoogleChatClient {
    http: HttpClient,
}

impl GoogleChatClient {
    pub fn new(http: HttpClient) -> GoogleChatClient {
        GoogleChatClient { http }
    }
}

/// The request id of one alert event to one destination.
pub fn request_id(alert: &Alert, destination: &Destination) -> String {
    let digest = Sha256::digest(format!("{}\n{}", alert.event_id, destination.name).as_bytes());
    digest.iter().take(16).map(|b| format!("{b:02x}")).collect()
}

#[async_trait::async_trait]
impl DestinationClient for GoogleChatClient {
    async fn attempt(
        &self,
        destination: &Destination,
        alert: &Alert,
        payload: &Payload,
    ) -> Result<String, Failure> {
        let body = json_body(payload, "Google Chat")?;
        let hook = self.http.webhook_url(destination).await?;
        let mut url = reqwest::Url::parse(hook.expose())
            .map_err(|e| Failure::fatal(format!("the webhook URL does not parse ({e})")))?;
        url.query_pairs_mut()
            .append_pair("messageReplyOption", "REPLY_MESSAGE_FALLBACK_TO_NEW_THREAD")
            .append_pair("requestId", &request_id(alert, destination));
        let bytes = json_bytes(body)?;
        let answer = self
            .http
            .post_json(DestinationKind::GoogleChat, url.as_str(), &[], &bytes)
            .await?;
        // The created message's name (`spaces/S/messages/M`) is the receipt.
        let name = answer
            .json()
            .and_then(|v| v.get("name").and_then(|n| n.as_str()).map(str::to_string))
            .unwrap_or_else(|| format!("HTTP {}", answer.status));
        Ok(format!("google_chat:{name}"))
    }
}
