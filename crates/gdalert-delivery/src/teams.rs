//! Microsoft Teams through a Workflows (Power Automate) webhook.

use gdalert_pipeline::config::{Destination, DestinationKind};
use gdalert_pipeline::{Alert, Payload};

use crate::http::{Answer, HttpClient};
use crate::retry::Failure;
use crate::senders::{json_body, json_bytes, DestinationClient};

/// Teams Workflows webhook client.
#[derive(Debug, Clone)]
pub struct TeamsClient {
    http: HttpClient,
}

impl TeamsClient {
    pub fn new(http: HttpClient) -> TeamsClient {
        TeamsClient { http }
    }
}

/// Teams endpoints have answered 2xx while dropping the card (the legacy
/// connector's "HTTP 200, body: Microsoft Teams endpoint returned HTTP
/// error 429", a flow that accepted and then failed). A 2xx counts only if
/// its body is empty, `1`, or carries no error.
pub fn check_teams_answer(answer: &Answer) -> Result<(), Failure> {
    let body = answer.body.trim();
    if body.is_empty() || body == "1" {
        return Ok(());
    }
    let lower = body.to_ascii_lowercase();
    let json_error = answer
        .json()
        .is_some_and(|v| v.get("error").is_some() || v.get("errors").is_some());
    if !(json_error || lower.contains("error") || lower.contains("fail")) {
        return Ok(());
    }
    let snippet: String = body.chars().take(200).collect();
    let message = format!(
        "Teams answered HTTP {} but reported a failure: {snippet}",
        answer.status
    );
    let throttled =
        lower.contains("429") || lower.contains("throttl") || lower.contains("too many");
    let server_side = lower.contains("http error 5");
    if throttled || server_side {
        Err(Failure::retry(message))
    } else {
        Err(Failure::fatal(message))
    }
}

#[async_trait::async_trait]
impl DestinationClient for TeamsClient {
    async fn attempt(
        &self,
        destination: &Destination,
        _alert: &Alert,
        payload: &Payload,
    ) -> Result<String, Failure> {
        let body = json_body(payload, "Teams")?;
        let url = self.http.webhook_url(destination).await?;
        let bytes = json_bytes(body)?;
        let answer = self
            .http
            .post_json(DestinationKind::Teams, url.expose(), &[], &bytes)
            .await?;
        check_teams_answer(&answer)?;
        Ok(format!("teams:HTTP {}", answer.status))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(status: u16, body: &str) -> Answer {
        Answer {
            status,
            body: body.into(),
        }
    }

    #[test]
    fn two_hundred_with_an_error_body_is_a_failure() {
        assert!(check_teams_answer(&answer(202, "")).is_ok());
        assert!(check_teams_answer(&answer(200, "1")).is_ok());
        assert!(matches!(
            check_teams_answer(&answer(
                200,
                "Microsoft Teams endpoint returned HTTP error 429 with ContextId tcid=0"
            )),
            Err(Failure::Retry { .. })
        ));
        assert!(matches!(
            check_teams_answer(&answer(202, r#"{"error":{"code":"InvalidTemplate"}}"#)),
            Err(Failure::Fatal { .. })
        ));
    }
}
