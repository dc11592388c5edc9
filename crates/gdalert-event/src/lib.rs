//! GuardDuty events as EventBridge delivers them.
//!
//! Real events drift from the documentation: Runtime Protection events carry
//! `accountId` where the docs say `resourceAccountId`, statuses come as
//! `Healthy` or `HEALTHY`, timestamps as ISO strings or epoch numbers in
//! seconds, milliseconds or microseconds (sometimes in E-notation), and
//! fields come and go. So every typed field here is optional or defaulted,
//! unknown fields are ignored, and the raw JSON is kept beside the typed view
//! ([`GuardDutyEvent::raw`]) for patterns and templates that need any field.
//!
//! Only what an alert cannot do without is required: the envelope's
//! `detail-type`, and a finding's `id` and `type`. A missing or mistyped
//! required field gives an [`EventError`] naming the field and the reason.

mod coverage;
mod finding;
mod timestamp;

use serde::Deserialize;
use serde_json::Value;

pub use coverage::{CoverageChange, CoverageIssue, CoverageResource, ProtectionStatus};
pub use finding::{
    Actor, ContainerDetails, Detection, EcsClusterDetails, EcsTaskDetails, EksClusterDetails,
    Finding, Indicator, InstanceDetails, KubernetesDetails, LineageEntry, NetworkEndpoint, Process,
    Resource, RuntimeDetails, Sequence, SequenceResource, Service, Signal,
};
pub use timestamp::Timestamp;

/// `detail-type` of a GuardDuty finding event.
pub const FINDING: &str = "GuardDuty Finding";
/// `detail-type` when Runtime Monitoring coverage of a resource breaks.
pub const RUNTIME_UNHEALTHY: &str = "GuardDuty Runtime Protection Unhealthy";
/// `detail-type` when Runtime Monitoring coverage of a resource comes back.
pub const RUNTIME_HEALTHY: &str = "GuardDuty Runtime Protection Healthy";

/// Why an event could not be read.
#[derive(Debug, thiserror::Error)]
pub enum EventError {
    #[error("event is not valid JSON: {0}")]
    Json(#[source] serde_json::Error),
    #[error("event field `{field}` is invalid: {reason}")]
    Field { field: String, reason: String },
}

/// An EventBridge event from GuardDuty, typed where we know the shape.
#[derive(Debug, Clone)]
pub struct GuardDutyEvent {
    pub id: String,
    pub account: String,
    pub region: String,
    pub source: String,
    pub detail_type: String,
    pub time: Option<Timestamp>,
    pub resources: Vec<String>,
    pub detail: Detail,
    /// The event exactly as received.
    pub raw: Value,
    /// Optional fields that were present but unreadable, each named with why;
    /// they were left out of the typed view (`raw` still has them).
    pub warnings: Vec<String>,
}

/// The typed `detail`, by `detail-type`.
#[derive(Debug, Clone)]
pub enum Detail {
    Finding(Box<Finding>),
    Coverage(CoverageChange),
    /// Any other detail-type: kept raw, never an error.
    Other,
}

#[derive(Deserialize)]
struct Envelope {
    #[serde(default)]
    id: String,
    #[serde(default)]
    account: String,
    #[serde(default)]
    region: String,
    #[serde(default)]
    source: String,
    #[serde(rename = "detail-type")]
    detail_type: String,
    #[serde(default)]
    time: Option<Timestamp>,
    #[serde(default)]
    resources: Vec<String>,
}

fn typed<'de, T: Deserialize<'de>>(value: &'de Value, prefix: &str) -> Result<T, EventError> {
    // Well-formed events (nearly all) skip the path bookkeeping; a failure is
    // read again with it, to say which field was wrong.
    if let Ok(typed) = T::deserialize(value) {
        return Ok(typed);
    }
    serde_path_to_error::deserialize(value).map_err(|e| field_error(prefix, e))
}

fn field_error(prefix: &str, e: serde_path_to_error::Error<serde_json::Error>) -> EventError {
    let path = e.path().to_string();
    let field = match (prefix.is_empty(), path.as_str()) {
        (true, p) => p.to_string(),
        (false, ".") => prefix.to_string(),
        (false, p) => format!("{prefix}.{p}"),
    };
    EventError::Field {
        field,
        reason: e.into_inner().to_string(),
    }
}

/// Like [`typed`], but an optional field that is present and mistyped
/// (`"startTime": ""`, `"containers": null`, `"count": "many"`) is dropped
/// with a warning naming it, instead of costing the whole alert: EventBridge
/// delivered the event, and its patterns matched it. Fields in `required`
/// (top-level names) still fail.
fn typed_lenient<T: serde::de::DeserializeOwned>(
    value: &Value,
    prefix: &str,
    required: &[&str],
    warnings: &mut Vec<String>,
) -> Result<T, EventError> {
    if let Ok(typed) = T::deserialize(value) {
        return Ok(typed);
    }
    let mut work = value.clone();
    // Each round drops one offending field; a finding has far fewer fields.
    for _ in 0..64 {
        let e = match serde_path_to_error::deserialize::<_, T>(&work) {
            Ok(typed) => return Ok(typed),
            Err(e) => e,
        };
        let segments: Vec<serde_path_to_error::Segment> = e.path().iter().cloned().collect();
        let required_field = match segments.first() {
            None => true,
            Some(serde_path_to_error::Segment::Map { key }) => required.contains(&key.as_str()),
            Some(_) => false,
        };
        if required_field || !remove_at(&mut work, &segments) {
            return Err(field_error(prefix, e));
        }
        let EventError::Field { field, reason } = field_error(prefix, e) else {
            continue;
        };
        warnings.push(format!("`{field}` ignored: {reason}"));
    }
    typed(value, prefix)
}

/// Removes the value at `path` (a map key or an array element); false if
/// there is nothing there to remove.
fn remove_at(value: &mut Value, path: &[serde_path_to_error::Segment]) -> bool {
    use serde_path_to_error::Segment;
    let Some((last, parents)) = path.split_last() else {
        return false;
    };
    let mut cur = value;
    for segment in parents {
        cur = match (segment, cur) {
            (Segment::Map { key }, Value::Object(map)) => match map.get_mut(key) {
                Some(next) => next,
                None => return false,
            },
            (Segment::Seq { index }, Value::Array(items)) => match items.get_mut(*index) {
                Some(next) => next,
                None => return false,
            },
            _ => return false,
        };
    }
    match (last, cur) {
        (Segment::Map { key }, Value::Object(map)) => map.remove(key).is_some(),
        (Segment::Seq { index }, Value::Array(items)) if *index < items.len() => {
            items.remove(*index);
            true
        }
        _ => false,
    }
}

impl GuardDutyEvent {
    /// Reads an EventBridge event from JSON text.
    pub fn from_json(text: &str) -> Result<Self, EventError> {
        let raw: Value = serde_json::from_str(text).map_err(EventError::Json)?;
        Self::from_value(raw)
    }

    /// Reads an EventBridge event from parsed JSON.
    pub fn from_value(raw: Value) -> Result<Self, EventError> {
        if !raw.is_object() {
            return Err(EventError::Field {
                field: ".".into(),
                reason: "an event must be a JSON object".into(),
            });
        }
        let mut warnings = Vec::new();
        let envelope: Envelope = typed_lenient(&raw, "", &["detail-type"], &mut warnings)?;
        let detail_value = raw.get("detail").unwrap_or(&Value::Null);
        let detail = match envelope.detail_type.as_str() {
            FINDING => {
                if !detail_value.is_object() {
                    return Err(EventError::Field {
                        field: "detail".into(),
                        reason: "a GuardDuty Finding event needs the finding object in `detail`"
                            .into(),
                    });
                }
                Detail::Finding(Box::new(typed_lenient(
                    detail_value,
                    "detail",
                    &["id", "type"],
                    &mut warnings,
                )?))
            }
            RUNTIME_HEALTHY | RUNTIME_UNHEALTHY => {
                Detail::Coverage(typed_lenient(detail_value, "detail", &[], &mut warnings)?)
            }
            _ => Detail::Other,
        };
        Ok(GuardDutyEvent {
            id: envelope.id,
            account: envelope.account,
            region: envelope.region,
            source: envelope.source,
            detail_type: envelope.detail_type,
            time: envelope.time,
            resources: envelope.resources,
            detail,
            raw,
            warnings,
        })
    }

    /// Wraps a bare finding (what GuardDuty's API returns) in the envelope
    /// EventBridge would deliver it in.
    pub fn wrap_finding(finding: Value) -> Value {
        let get = |k: &str| {
            finding
                .get(k)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        let time = finding.get("updatedAt").cloned().unwrap_or(Value::Null);
        serde_json::json!({
            "version": "0",
            "id": format!("wrapped-{}", get("id")),
            "detail-type": FINDING,
            "source": "aws.guardduty",
            "account": get("accountId"),
            "time": time,
            "region": get("region"),
            "resources": [],
            "detail": finding,
        })
    }

    pub fn finding(&self) -> Option<&Finding> {
        match &self.detail {
            Detail::Finding(f) => Some(f),
            _ => None,
        }
    }

    pub fn coverage(&self) -> Option<&CoverageChange> {
        match &self.detail {
            Detail::Coverage(c) => Some(c),
            _ => None,
        }
    }
}

/// Accepts a string, or any other JSON scalar rendered as a string.
pub(crate) fn lenient_string<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<String>, D::Error> {
    Ok(match Option::<Value>::deserialize(d)? {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s),
        Some(Value::Bool(b)) => Some(b.to_string()),
        Some(Value::Number(n)) => Some(n.to_string()),
        Some(other) => {
            return Err(serde::de::Error::custom(format!(
                "expected a string, found {other}"
            )))
        }
    })
}
