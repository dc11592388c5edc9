//! Ask EventBridge itself whether a pattern matches an event.

use aws_sdk_eventbridge::error::DisplayErrorContext;

/// EventBridge's `TestEventPattern` answer, or its error text (an invalid
/// pattern or event is reported by the service as an error).
pub async fn test_event_pattern(
    client: &aws_sdk_eventbridge::Client,
    pattern: &str,
    event: &str,
) -> Result<bool, String> {
    client
        .test_event_pattern()
        .event_pattern(pattern)
        .event(event)
        .send()
        .await
        .map(|out| out.result())
        .map_err(|e| DisplayErrorContext(&e).to_string())
}
