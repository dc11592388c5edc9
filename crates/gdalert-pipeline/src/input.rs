//! Reading an event's text: one function, one answer, for the functions and
//! every CLI command.
//!
//! An event is read twice, by two readers with different jobs: the pattern
//! engine's flat layout ([`ParsedEvent`]) for matching, and the typed model
//! ([`GuardDutyEvent`]) for the alert. If they disagreed on what an event is,
//! an event the rules matched (EventBridge delivered it) could still be lost
//! as "not JSON". So the matcher's reader, which follows EventBridge's grammar
//! and limits, decides; the typed model is built with serde_json when serde
//! can read the text (nearly always, and fastest), and from the matcher's
//! grammar when it cannot: nesting deeper than serde's 128 levels, or
//! numbers outside float64's range, which are kept as their text.

use gdalert_event::{EventError, GuardDutyEvent};
use gdalert_pattern::ParsedEvent;

/// One event, read by both readers.
#[derive(Debug)]
pub struct Input<'a> {
    pub event: GuardDutyEvent,
    pub node: ParsedEvent<'a>,
}

/// Why an event's text cannot become an alert. Never retryable: the same
/// text fails the same way.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    /// Not JSON as EventBridge reads it (or larger than an event can be).
    #[error(transparent)]
    Syntax(#[from] gdalert_pattern::EventError),
    /// JSON, but not a GuardDuty event (a required field missing or mistyped).
    #[error(transparent)]
    Event(#[from] EventError),
}

/// Reads one event's text.
pub fn read(text: &str) -> Result<Input<'_>, InputError> {
    let node = gdalert_pattern::parse_event(text)?;
    let event = match GuardDutyEvent::from_json(text) {
        Err(EventError::Json(_)) => {
            let value = gdalert_pattern::json::to_value(text).map_err(|e| {
                let (line, column) = gdalert_pattern::json::line_column(text, e.offset);
                gdalert_pattern::EventError::Syntax {
                    message: e.message,
                    line,
                    column,
                }
            })?;
            GuardDutyEvent::from_value(value)?
        }
        other => other?,
    };
    Ok(Input { event, node })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finding_with(extra: &str) -> String {
        format!(
            r#"{{"version":"0","id":"e1","detail-type":"GuardDuty Finding","source":"aws.guardduty",
            "account":"111122223333","time":"2026-01-01T00:00:00Z","region":"us-east-1","resources":[],
            "detail":{{"id":"f1","type":"Execution:Runtime/NewBinaryExecuted","severity":5,
            "service":{{"additionalInfo":{extra}}}}}}}"#
        )
    }

    #[test]
    fn an_event_nested_deeper_than_serde_allows_is_still_an_alert() {
        let deep = format!("{}\"x\"{}", "[".repeat(200), "]".repeat(200));
        let text = finding_with(&deep);
        assert!(
            GuardDutyEvent::from_json(&text).is_err(),
            "serde refuses it"
        );
        let input = read(&text).unwrap();
        assert_eq!(input.event.finding().unwrap().id, "f1");
    }

    #[test]
    fn a_number_beyond_float64_is_kept_as_text_not_a_lost_alert() {
        let text = finding_with(r#"{"score": 1e400, "n": -1e999}"#);
        let input = read(&text).unwrap();
        assert_eq!(
            input.event.raw["detail"]["service"]["additionalInfo"]["score"],
            "1e400"
        );
    }

    #[test]
    fn what_the_matcher_refuses_is_refused_with_its_location() {
        let err = read("{\n  \"a\": tru }").unwrap_err();
        assert!(matches!(err, InputError::Syntax(_)), "{err}");
        assert!(err.to_string().contains("line 2"), "{err}");
        let err = read(&finding_with(&"[".repeat(300))).unwrap_err();
        assert!(matches!(err, InputError::Syntax(_)), "{err}");
    }
}
