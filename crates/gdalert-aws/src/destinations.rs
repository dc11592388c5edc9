//! SNS, SES v2 and EventBridge destinations: one attempt each; the shared
//! delivery path in `gdalert-delivery` retries.

use aws_sdk_eventbridge::types::PutEventsRequestEntry;
use aws_sdk_sesv2::types::{Body, Content, Destination as SesDestination, EmailContent, Message};
use aws_sdk_sns::types::MessageAttributeValue;
use gdalert_delivery::senders::{json_body, wrong_kind};
use gdalert_delivery::{DestinationClient, Failure};
use gdalert_pipeline::config::{Destination, KindSettings};
use gdalert_pipeline::{Alert, Payload};

use crate::sdk_error::failure;

/// Publishes to an SNS topic, with the message attributes subscription
/// filter policies use (`severity`, `type`, `account`, `region`, `cluster` and
/// `instance` when known,
/// `lifecycle`).
#[derive(Debug, Clone)]
pub struct SnsClient {
    client: aws_sdk_sns::Client,
}

impl SnsClient {
    pub fn new(client: aws_sdk_sns::Client) -> SnsClient {
        SnsClient { client }
    }
}

#[async_trait::async_trait]
impl DestinationClient for SnsClient {
    async fn attempt(
        &self,
        destination: &Destination,
        _alert: &Alert,
        payload: &Payload,
    ) -> Result<String, Failure> {
        let Payload::Sns {
            subject,
            message,
            attributes,
        } = payload
        else {
            return Err(Failure::fatal("SNS needs an SNS payload"));
        };
        let KindSettings::Sns(sns) = &destination.settings else {
            return Err(wrong_kind(destination, "SNS"));
        };
        let topic = sns.topic_arn.as_str();
        let mut request = self
            .client
            .publish()
            .topic_arn(topic)
            .subject(subject)
            .message(message);
        for (name, value) in attributes {
            // SNS refuses empty attribute values; an absent one filters the same way.
            if value.is_empty() {
                continue;
            }
            let attribute = MessageAttributeValue::builder()
                .data_type("String")
                .string_value(value)
                .build()
                .map_err(|e| Failure::fatal(format!("SNS attribute {name}: {e}")))?;
            request = request.message_attributes(name, attribute);
        }
        let out = request
            .send()
            .await
            .map_err(|e| failure("SNS Publish", &e))?;
        Ok(format!("sns:{}", out.message_id().unwrap_or_default()))
    }
}

/// Sends email through SES v2.
#[derive(Debug, Clone)]
pub struct SesClient {
    client: aws_sdk_sesv2::Client,
}

impl SesClient {
    pub fn new(client: aws_sdk_sesv2::Client) -> SesClient {
        SesClient { client }
    }
}

fn content(text: &str) -> Result<Content, Failure> {
    Content::builder()
        .data(text)
        .charset("UTF-8")
        .build()
        .map_err(|e| Failure::fatal(format!("SES content: {e}")))
}

#[async_trait::async_trait]
impl DestinationClient for SesClient {
    async fn attempt(
        &self,
        destination: &Destination,
        _alert: &Alert,
        payload: &Payload,
    ) -> Result<String, Failure> {
        let Payload::Email {
            subject,
            text,
            html,
        } = payload
        else {
            return Err(Failure::fatal("email needs an email payload"));
        };
        let KindSettings::Email(email) = &destination.settings else {
            return Err(wrong_kind(destination, "SES email"));
        };
        let from = email.from.as_str();
        let message = Message::builder()
            .subject(content(subject)?)
            .body(
                Body::builder()
                    .text(content(text)?)
                    .html(content(html)?)
                    .build(),
            )
            .build();
        let out = self
            .client
            .send_email()
            .from_email_address(from)
            .destination(
                SesDestination::builder()
                    .set_to_addresses(Some(email.to.clone()))
                    .build(),
            )
            .content(EmailContent::builder().simple(message).build())
            .send()
            .await
            .map_err(|e| failure("SES SendEmail", &e))?;
        Ok(format!("ses:{}", out.message_id().unwrap_or_default()))
    }
}

/// Puts the alert on an event bus (source `gdalert`) for downstream automation.
#[derive(Debug, Clone)]
pub struct EventBridgeClient {
    client: aws_sdk_eventbridge::Client,
}

impl EventBridgeClient {
    pub fn new(client: aws_sdk_eventbridge::Client) -> EventBridgeClient {
        EventBridgeClient { client }
    }
}

#[async_trait::async_trait]
impl DestinationClient for EventBridgeClient {
    async fn attempt(
        &self,
        destination: &Destination,
        _alert: &Alert,
        payload: &Payload,
    ) -> Result<String, Failure> {
        let KindSettings::Eventbridge(settings) = &destination.settings else {
            return Err(wrong_kind(destination, "EventBridge"));
        };
        let body = json_body(payload, "EventBridge")?;
        let detail = body
            .get("Detail")
            .and_then(|d| d.as_str().map(str::to_string))
            .unwrap_or_else(|| body.to_string());
        let entry = PutEventsRequestEntry::builder()
            .source(body["Source"].as_str().unwrap_or("gdalert"))
            .detail_type(body["DetailType"].as_str().unwrap_or("gdalert Alert"))
            .detail(detail)
            .event_bus_name(settings.event_bus.as_deref().unwrap_or("default"))
            .build();
        let out = self
            .client
            .put_events()
            .entries(entry)
            .send()
            .await
            .map_err(|e| failure("EventBridge PutEvents", &e))?;
        // PutEvents answers 200 even when the entry failed.
        let first = out.entries().first();
        if out.failed_entry_count() > 0 || first.is_some_and(|e| e.error_code().is_some()) {
            let code = first.and_then(|e| e.error_code()).unwrap_or("unknown");
            let message = first.and_then(|e| e.error_message()).unwrap_or_default();
            let text = format!("EventBridge PutEvents entry failed: {code} {message}");
            return Err(if code.contains("Throttl") || code.contains("Internal") {
                Failure::retry(text)
            } else {
                Failure::fatal(text)
            });
        }
        Ok(format!(
            "eventbridge:{}",
            first.and_then(|e| e.event_id()).unwrap_or_default()
        ))
    }
}
