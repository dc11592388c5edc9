//! Where an event stands in the life of the thing it reports.
//!
//! GuardDuty re-publishes an active finding every 15 min, 1 h or 6 h with a
//! higher `service.count`; coverage flips Unhealthy and Healthy. These pure
//! functions turn "what we remembered" plus "what just arrived" into a
//! [`Lifecycle`] and the state to remember next.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::severity::Band;

/// What this event is, relative to what came before.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Lifecycle {
    /// A finding id never seen before.
    New,
    /// Same finding, higher count, same severity band.
    Update,
    /// Same finding, severity band went up.
    Escalation,
    /// Same finding, nothing new (a retry or a replay).
    Duplicate,
    /// `service.archived` is true.
    Archived,
    /// A GuardDuty sample finding, first seen.
    Sample,
    /// Coverage lost: a new incident.
    Opened,
    /// Coverage still lost, or a repeated Healthy: nothing new.
    Repeat,
    /// Coverage back: the incident is closed.
    Resolved,
    /// Coverage back, but the resolved message waits for the flap hold.
    Resolving,
    /// Healthy for a resource with no open incident.
    Recovered,
    /// A summary of held-back alerts.
    Digest,
    /// Any other event.
    Other,
}

impl Lifecycle {
    pub fn as_str(self) -> &'static str {
        match self {
            Lifecycle::New => "new",
            Lifecycle::Update => "update",
            Lifecycle::Escalation => "escalation",
            Lifecycle::Duplicate => "duplicate",
            Lifecycle::Archived => "archived",
            Lifecycle::Sample => "sample",
            Lifecycle::Opened => "opened",
            Lifecycle::Repeat => "repeat",
            Lifecycle::Resolved => "resolved",
            Lifecycle::Resolving => "resolving",
            Lifecycle::Recovered => "recovered",
            Lifecycle::Digest => "digest",
            Lifecycle::Other => "other",
        }
    }
}

/// What we remember about a finding.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FindingState {
    pub count: u64,
    /// Highest band seen.
    pub band: Band,
    /// When an alert was last sent for it (not suppressed).
    pub notified_at: Option<DateTime<Utc>>,
    /// Count bumps held back since then.
    pub suppressed_updates: u64,
    /// The last event applied, with its result: a retried event gets the same answer.
    pub last_event: String,
    pub last_lifecycle: Lifecycle,
}

/// Classifies a finding event against the remembered state. Returns the
/// lifecycle and the state to store.
pub fn classify_finding(
    previous: Option<&FindingState>,
    event_id: &str,
    count: u64,
    band: Band,
    archived: bool,
    sample: bool,
) -> (Lifecycle, FindingState) {
    if let Some(prev) = previous.filter(|p| p.last_event == event_id) {
        return (prev.last_lifecycle, prev.clone());
    }
    let lifecycle = match previous {
        _ if archived => Lifecycle::Archived,
        None if sample => Lifecycle::Sample,
        None => Lifecycle::New,
        Some(prev) if band > prev.band => Lifecycle::Escalation,
        Some(prev) if count > prev.count => Lifecycle::Update,
        Some(_) => Lifecycle::Duplicate,
    };
    let state = FindingState {
        count: previous.map_or(count, |p| p.count.max(count)),
        band: previous.map_or(band, |p| p.band.max(band)),
        notified_at: previous.and_then(|p| p.notified_at),
        suppressed_updates: previous.map_or(0, |p| p.suppressed_updates),
        last_event: event_id.to_string(),
        last_lifecycle: lifecycle,
    };
    (lifecycle, state)
}

/// Whether an incident is open.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IncidentStatus {
    Open,
    /// Healthy came, the resolved message waits until `due`.
    Resolving,
    Closed,
}

/// What we remember about a coverage incident (one resource).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IncidentState {
    pub status: IncidentStatus,
    pub opened_at: DateTime<Utc>,
    /// When Healthy came (kept once closed: the end of the gap).
    pub resolving_since: Option<DateTime<Utc>>,
    /// Unhealthy events while open.
    pub repeats: u64,
    /// Times coverage came back and went again within the hold.
    pub flaps: u64,
    pub last_event: String,
    pub last_lifecycle: Lifecycle,
    /// Routes the opening alert took (the resolved message follows them).
    pub routes: Vec<String>,
    /// The opening alert, for the held resolved message.
    pub opening: Option<serde_json::Value>,
}

/// Classifies a coverage event. `healthy` is the new status; `hold` is the flap hold.
pub fn classify_coverage(
    previous: Option<&IncidentState>,
    event_id: &str,
    healthy: bool,
    hold: std::time::Duration,
    now: DateTime<Utc>,
) -> (Lifecycle, Option<IncidentState>) {
    if let Some(prev) = previous.filter(|p| p.last_event == event_id) {
        return (prev.last_lifecycle, Some(prev.clone()));
    }
    let open = previous.filter(|p| p.status != IncidentStatus::Closed);
    let (lifecycle, mut state) = match (open, healthy) {
        (None, false) => (
            Lifecycle::Opened,
            IncidentState {
                status: IncidentStatus::Open,
                opened_at: now,
                resolving_since: None,
                repeats: 0,
                flaps: 0,
                last_event: String::new(),
                last_lifecycle: Lifecycle::Opened,
                routes: Vec::new(),
                opening: None,
            },
        ),
        (None, true) => return (Lifecycle::Recovered, previous.cloned()),
        (Some(prev), false) => {
            let mut next = prev.clone();
            if prev.status == IncidentStatus::Resolving {
                next.flaps += 1;
                next.resolving_since = None;
            } else {
                next.repeats += 1;
            }
            next.status = IncidentStatus::Open;
            (Lifecycle::Repeat, next)
        }
        (Some(prev), true) if prev.status == IncidentStatus::Resolving => {
            (Lifecycle::Repeat, prev.clone())
        }
        (Some(prev), true) => {
            let mut next = prev.clone();
            if hold.is_zero() {
                next.status = IncidentStatus::Closed;
                // When coverage came back: the end of the gap findings are told of.
                next.resolving_since = Some(now);
                (Lifecycle::Resolved, next)
            } else {
                next.status = IncidentStatus::Resolving;
                next.resolving_since = Some(now);
                (Lifecycle::Resolving, next)
            }
        }
    };
    state.last_event = event_id.to_string();
    state.last_lifecycle = lifecycle;
    (lifecycle, Some(state))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn t(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000 + secs, 0).unwrap()
    }

    #[test]
    fn finding_lifecycle() {
        let (l, s) = classify_finding(None, "e1", 1, Band::Medium, false, false);
        assert_eq!(l, Lifecycle::New);
        let (l, s) = classify_finding(Some(&s), "e2", 2, Band::Medium, false, false);
        assert_eq!(l, Lifecycle::Update);
        let (l, s) = classify_finding(Some(&s), "e3", 2, Band::Medium, false, false);
        assert_eq!(l, Lifecycle::Duplicate);
        let (l, s) = classify_finding(Some(&s), "e4", 3, Band::High, false, false);
        assert_eq!(l, Lifecycle::Escalation);
        // A band going down is not an escalation, and the highest band is kept.
        let (l, s) = classify_finding(Some(&s), "e5", 4, Band::Low, false, false);
        assert_eq!((l, s.band), (Lifecycle::Update, Band::High));
        let (l, _) = classify_finding(Some(&s), "e6", 5, Band::High, true, false);
        assert_eq!(l, Lifecycle::Archived);
        assert_eq!(
            classify_finding(None, "x", 1, Band::Low, false, true).0,
            Lifecycle::Sample
        );
    }

    #[test]
    fn a_retried_event_gets_the_same_answer() {
        let (_, s) = classify_finding(None, "e1", 1, Band::Medium, false, false);
        let (l, s2) = classify_finding(Some(&s), "e1", 1, Band::Medium, false, false);
        assert_eq!((l, &s2), (Lifecycle::New, &s));
    }

    #[test]
    fn coverage_opens_suppresses_repeats_and_resolves() {
        let zero = Duration::ZERO;
        let (l, s) = classify_coverage(None, "u1", false, zero, t(0));
        assert_eq!(l, Lifecycle::Opened);
        let (l, s) = classify_coverage(s.as_ref(), "u2", false, zero, t(60));
        assert_eq!(l, Lifecycle::Repeat);
        let (l, s) = classify_coverage(s.as_ref(), "h1", true, zero, t(600));
        assert_eq!(l, Lifecycle::Resolved);
        assert_eq!(s.as_ref().unwrap().opened_at, t(0));
        let (l, _) = classify_coverage(s.as_ref(), "h2", true, zero, t(700));
        assert_eq!(l, Lifecycle::Recovered);
        assert_eq!(
            classify_coverage(None, "h", true, zero, t(0)).0,
            Lifecycle::Recovered
        );
    }

    #[test]
    fn the_flap_hold_keeps_a_flapping_resource_quiet() {
        let hold = Duration::from_secs(300);
        let (_, s) = classify_coverage(None, "u1", false, hold, t(0));
        let (l, s) = classify_coverage(s.as_ref(), "h1", true, hold, t(100));
        assert_eq!(l, Lifecycle::Resolving);
        let (l, s) = classify_coverage(s.as_ref(), "u2", false, hold, t(150));
        assert_eq!(l, Lifecycle::Repeat);
        let s = s.unwrap();
        assert_eq!((s.status, s.flaps), (IncidentStatus::Open, 1));
    }
}
