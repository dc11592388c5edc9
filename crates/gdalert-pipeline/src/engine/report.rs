//! What running one event (or one digest) did: one report type, one set of
//! words, for every caller. The functions turn it into metrics and an error
//! class, `replay` into lines, `redrive` into "delete or keep", `gdalert test`
//! into a comparison; none of them decides anything itself.

use serde::Serialize;

use crate::alert::Alert;
use crate::config::DestinationKind;
use crate::render::Payload;
use crate::store::StoreError;

use super::{Decision, Failure};

/// What finally happened at one destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Delivered by this run.
    Sent,
    /// An earlier run (a retry, a copy of the event, a re-run replay) delivered it.
    AlreadyDelivered,
    /// Dry run: rendered, not contacted, not recorded as delivered.
    DryRun,
    /// Held back: nothing new, or within the repeat interval.
    Suppressed,
    /// Held for a digest (group window, storm guard, flap hold).
    Grouped,
    /// Not for this route (sample, archived, no open incident).
    Dropped,
    /// The destination gave up; the event must be retried.
    Failed,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Sent => "sent",
            Status::AlreadyDelivered => "already_delivered",
            Status::DryRun => "dry_run",
            Status::Suppressed => "suppressed",
            Status::Grouped => "grouped",
            Status::Dropped => "dropped",
            Status::Failed => "failed",
        }
    }

    /// The status of a decision that was not to send.
    pub(crate) fn of_decision(decision: Decision) -> Status {
        match decision {
            Decision::Sent => Status::Sent,
            Decision::Suppressed => Status::Suppressed,
            Decision::Grouped => Status::Grouped,
            Decision::Dropped => Status::Dropped,
        }
    }
}

/// One route and destination of a report.
#[derive(Debug, Clone)]
pub struct DeliveryReport {
    pub route: String,
    pub destination: String,
    /// `None` when the routes name a destination that is not configured.
    pub kind: Option<DestinationKind>,
    /// What the pipeline decided before delivery.
    pub decision: Decision,
    pub status: Status,
    /// Why, in words for people (the decision's reason, or the error).
    pub reason: String,
    /// The receiver's id for the message (SNS message id, Slack ts...).
    pub receipt: Option<String>,
    pub error: Option<Failure>,
    /// What was (or, in a dry run, would have been) sent.
    pub payload: Option<Payload>,
    /// Template overrides that failed at render time; the built-in text
    /// stood in for them.
    pub template_errors: Vec<String>,
}

/// Everything one event (or one digest summary) caused.
#[derive(Debug, Clone)]
pub struct Report {
    pub alert: Alert,
    /// One per route and destination; empty when no route took the event
    /// and there is no fallback route.
    pub deliveries: Vec<DeliveryReport>,
    /// The decisions were read back from an earlier run of the same event.
    pub replayed: bool,
    /// The state store failed: the event was handled as if new and sent
    /// without dedupe (the alert says so).
    pub store_error: Option<StoreError>,
    /// The "delivery failed" notice sent to `settings.fallback_destination`.
    pub fallback: Option<DeliveryReport>,
    /// (route, destination) → id of the silence that muted that delivery.
    pub silences: std::collections::BTreeMap<(String, String), String>,
}

impl Report {
    /// The id of the silence that muted `route`'s delivery to `destination`.
    pub fn silence(&self, route: &str, destination: &str) -> Option<&str> {
        self.silences
            .get(&(route.to_string(), destination.to_string()))
            .map(String::as_str)
    }

    /// The deliveries that failed.
    pub fn failures(&self) -> impl Iterator<Item = &DeliveryReport> {
        self.deliveries
            .iter()
            .filter(|d| d.status == Status::Failed)
    }

    /// Whether a retry may succeed where this run failed (any failure retryable).
    pub fn retryable(&self) -> bool {
        self.failures()
            .any(|d| d.error.as_ref().is_some_and(|e| e.is_retryable()))
    }

    /// The failures as one line: `destination: error; ...`.
    pub fn failure_summary(&self) -> String {
        self.failures()
            .map(|d| format!("{}: {}", d.destination, d.reason))
            .collect::<Vec<_>>()
            .join("; ")
    }
}
