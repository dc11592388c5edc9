//! PagerDuty Events API v2: trigger, then resolve on the same `dedup_key`.

use gdalert_pipeline::config::{Destination, DestinationKind, KindSettings};
use gdalert_pipeline::{Alert, Payload};
use serde_json::json;

use crate::http::HttpClient;
use crate::retry::Failure;
use crate::senders::{json_body, json_bytes, wrong_kind, DestinationClient};

/// The Events API v2 endpoint (`url` on the destination overrides it, e.g.
/// for the EU service region).
pub const EVENTS_URL: &str = "https://events.pagerduty.com/v2/enqueue";

/// PagerDuty client.
#[derive(Debug, Clone)]
pub struct PagerDutyClient {
    http: HttpClient,
}

impl PagerDutyClient {
    pub fn new(http: HttpClient) -> PagerDutyClient {
        PagerDutyClient { http }
    }
}

#[async_trait::async_trait]
impl DestinationClient for PagerDutyClient {
    async fn attempt(
        &self,
        destination: &Destination,
        _alert: &Alert,
        payload: &Payload,
    ) -> Result<String, Failure> {
        let body = json_body(payload, "PagerDuty")?;
        let KindSettings::Pagerduty(settings) = &destination.settings else {
            return Err(wrong_kind(destination, "PagerDuty"));
        };
        let key = self.http.secret(&settings.routing_key).await?;
        // The renderer leaves the routing key out so it never reaches a dry run.
        let mut event = body.clone();
        event["routing_key"] = json!(key.expose());
        let bytes = json_bytes(&event)?;
        let url = settings.events_url.as_deref().unwrap_or(EVENTS_URL);
        let answer = self
            .http
            .post_json(DestinationKind::Pagerduty, url, &[], &bytes)
            .await?;
        let dedup = answer
            .json()
            .and_then(|v| v["dedup_key"].as_str().map(str::to_string))
            .unwrap_or_default();
        Ok(format!("pagerduty:{dedup}"))
    }
}
