//! Generic webhook: the versioned JSON body, signed with HMAC-SHA256.
//!
//! Headers: `X-Gdalert-Timestamp` (Unix seconds), `X-Gdalert-Signature`
//! (`v1=` + hex HMAC-SHA256 over `"{timestamp}.{body}"`, keyed with the
//! destination's `hmac_key` secret), and `Idempotency-Key` (the same for
//! every retry of one alert to one destination, so receivers can drop
//! repeats that at-least-once delivery allows).

use gdalert_pipeline::config::{Destination, DestinationKind, KindSettings, WebhookTarget};
use gdalert_pipeline::{Alert, Payload};
use hmac::{KeyInit, Mac};

use crate::http::HttpClient;
use crate::retry::Failure;
use crate::senders::{json_body, json_bytes, wrong_kind, DestinationClient};

type HmacSha256 = hmac::Hmac<sha2::Sha256>;

/// Signs `body` at `timestamp` the way receivers verify it.
pub fn signature(key: &[u8], timestamp: i64, body: &[u8]) -> String {
    let mut mac = match HmacSha256::new_from_slice(key) {
        Ok(mac) => mac,
        // HMAC takes keys of any length; this arm is unreachable in practice.
        Err(_) => return String::new(),
    };
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("v1={}", hex::encode(mac.finalize().into_bytes()))
}

/// Generic webhook client.
#[derive(Debug, Clone)]
pub struct WebhookClient {
    http: HttpClient,
}

impl WebhookClient {
    pub fn new(http: HttpClient) -> WebhookClient {
        WebhookClient { http }
    }
}

#[async_trait::async_trait]
impl DestinationClient for WebhookClient {
    async fn attempt(
        &self,
        destination: &Destination,
        alert: &Alert,
        payload: &Payload,
    ) -> Result<String, Failure> {
        let body = json_body(payload, "a webhook")?;
        let KindSettings::Webhook(settings) = &destination.settings else {
            return Err(wrong_kind(destination, "webhook"));
        };
        let url = match &settings.target {
            WebhookTarget::Secret(secret) => self.http.secret(secret).await?.expose().to_string(),
            WebhookTarget::Url(url) => url.clone(),
        };
        let bytes = json_bytes(body)?;
        let timestamp = chrono::Utc::now().timestamp();
        let mut headers = vec![
            ("x-gdalert-timestamp", timestamp.to_string()),
            (
                "idempotency-key",
                format!("{}/{}", alert.event_id, destination.name),
            ),
        ];
        if let Some(key) = &settings.hmac_key {
            let key = self.http.secret(key).await?;
            headers.push((
                "x-gdalert-signature",
                signature(key.expose().as_bytes(), timestamp, &bytes),
            ));
        }
        let answer = self
            .http
            .post_json(DestinationKind::Webhook, &url, &headers, &bytes)
            .await?;
        Ok(format!("webhook:HTTP {}", answer.status))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_rfc_4231_hmac_sha256_over_timestamp_dot_body() {
        // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?".
        // Here the data is "{timestamp}.{body}", so split it accordingly.
        let sig = signature(b"Jefe", 0, b"what do ya want for nothing?");
        assert!(sig.starts_with("v1="));
        assert_eq!(sig.len(), 3 + 64);
        let direct = {
            let mut mac = HmacSha256::new_from_slice(b"Jefe").unwrap_or_else(|_| unreachable!());
            mac.update(b"0.what do ya want for nothing?");
            hex::encode(mac.finalize().into_bytes())
        };
        assert_eq!(sig, format!("v1={direct}"));
        assert_ne!(sig, signature(b"Jefe", 1, b"what do ya want for nothing?"));
    }
}
