//! What is remembered about the subject of an event (a finding, a coverage
//! incident, or any other event): its lifecycle state and the plans of its
//! last events, one record, written with the rest of the decision.

use std::time::Duration;

use chrono::{DateTime, Utc};
use gdalert_event::{Detail, GuardDutyEvent, ProtectionStatus};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::alert::Alert;
use crate::lifecycle::{
    classify_coverage, classify_finding, FindingState, IncidentState, IncidentStatus, Lifecycle,
};
use crate::severity::Band;
use crate::store::expiry;

use super::decide::Plan;
use super::Pipeline;

/// A subject record: its lifecycle state and the plans of its last events.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct Subject<T> {
    #[serde(flatten)]
    pub state: T,
    #[serde(default)]
    pub plans: Vec<Plan>,
}

/// The lifecycle state of an event that is neither a finding nor a coverage change.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(super) struct NoState {}

/// When a coverage change happened: GuardDuty's `lastUpdatedAt`, else the
/// envelope's `time`, else `now`. Outage durations come from these, so a
/// late retry or a redrive measures the outage, not the delay.
pub(super) fn event_time(event: &GuardDutyEvent, now: DateTime<Utc>) -> DateTime<Utc> {
    let updated = match &event.detail {
        Detail::Coverage(c) => c.last_updated_at.map(|t| t.0),
        _ => None,
    };
    updated.or(event.time.map(|t| t.0)).unwrap_or(now)
}

/// What the lifecycle step decided, for the route decisions.
#[derive(Debug, Clone)]
pub(super) struct Step {
    pub lifecycle: Lifecycle,
    pub suppressed_since_last: u64,
    pub outage_secs: Option<u64>,
    pub previous_band: Option<Band>,
    pub notified_at: Option<DateTime<Utc>>,
}

impl Step {
    /// A lifecycle with nothing remembered about earlier events.
    fn new(lifecycle: Lifecycle) -> Step {
        Step {
            lifecycle,
            suppressed_since_last: 0,
            outage_secs: None,
            previous_band: None,
            notified_at: None,
        }
    }
}

/// The lifecycle state of one kind of subject.
pub(super) trait SubjectState: Serialize + DeserializeOwned + Sized {
    /// Classifies the event against the state read; returns the subject to write.
    fn step(
        previous: Option<Subject<Self>>,
        event: &GuardDutyEvent,
        alert: &Alert,
        pipeline: &Pipeline,
        now: DateTime<Utc>,
    ) -> (Subject<Self>, Step);

    /// Updates the state once the route decisions are known.
    fn after_decisions(&mut self, _any_sent: bool, _updates_suppressed: bool, _now: DateTime<Utc>) {
    }

    /// Remembers the routes an opening alert took (the resolved message follows them).
    fn opened_by(&mut self, _routes: Vec<String>) {}

    /// When the digest must visit this record.
    fn due(&self, _flap_hold: Duration) -> Option<DateTime<Utc>> {
        None
    }
}

impl SubjectState for FindingState {
    fn step(
        previous: Option<Subject<Self>>,
        event: &GuardDutyEvent,
        alert: &Alert,
        _pipeline: &Pipeline,
        _now: DateTime<Utc>,
    ) -> (Subject<Self>, Step) {
        let count = event.finding().and_then(|f| f.service.count).unwrap_or(1);
        let prev_state = previous.as_ref().map(|p| &p.state);
        let (lifecycle, next) = classify_finding(
            prev_state,
            &event.id,
            count,
            alert.band,
            alert.archived,
            alert.sample,
        );
        let step = Step {
            lifecycle,
            suppressed_since_last: prev_state.map_or(0, |p| p.suppressed_updates),
            outage_secs: None,
            previous_band: prev_state.map(|p| p.band),
            notified_at: prev_state.and_then(|p| p.notified_at),
        };
        let plans = previous.map(|p| p.plans).unwrap_or_default();
        (Subject { state: next, plans }, step)
    }

    fn after_decisions(&mut self, any_sent: bool, updates_suppressed: bool, now: DateTime<Utc>) {
        if any_sent {
            self.notified_at = Some(now);
            self.suppressed_updates = 0;
        } else if updates_suppressed {
            self.suppressed_updates += 1;
        }
    }
}

impl SubjectState for IncidentState {
    fn step(
        previous: Option<Subject<Self>>,
        event: &GuardDutyEvent,
        alert: &Alert,
        pipeline: &Pipeline,
        now: DateTime<Utc>,
    ) -> (Subject<Self>, Step) {
        let healthy = matches!(&event.detail, Detail::Coverage(c) if c.current_status == ProtectionStatus::Healthy);
        let at = event_time(event, now);
        let hold = pipeline.config.settings.flap_hold;
        let prev_state = previous.as_ref().map(|p| &p.state);
        let (lifecycle, next) = classify_coverage(prev_state, &event.id, healthy, hold, at);
        let mut step = Step::new(lifecycle);
        let plans = previous
            .as_ref()
            .map(|p| p.plans.clone())
            .unwrap_or_default();
        let state = match next {
            Some(mut next) => {
                if lifecycle == Lifecycle::Opened {
                    next.opening = serde_json::to_value(alert).ok();
                }
                if lifecycle == Lifecycle::Resolved {
                    step.outage_secs = (at - next.opened_at).to_std().ok().map(|d| d.as_secs());
                }
                next
            }
            // Nothing to change (a Healthy for a resource never seen): keep
            // what was there, or remember the event so its retry is answered.
            None => previous.map(|p| p.state).unwrap_or(IncidentState {
                status: IncidentStatus::Closed,
                opened_at: at,
                resolving_since: None,
                repeats: 0,
                flaps: 0,
                last_event: event.id.clone(),
                last_lifecycle: lifecycle,
                routes: Vec::new(),
                opening: None,
            }),
        };
        (Subject { state, plans }, step)
    }

    fn opened_by(&mut self, routes: Vec<String>) {
        self.routes = routes;
    }

    fn due(&self, flap_hold: Duration) -> Option<DateTime<Utc>> {
        match self.status {
            IncidentStatus::Resolving => self.resolving_since.map(|s| expiry(s, flap_hold)),
            _ => None,
        }
    }
}

impl SubjectState for NoState {
    fn step(
        previous: Option<Subject<Self>>,
        _event: &GuardDutyEvent,
        _alert: &Alert,
        _pipeline: &Pipeline,
        _now: DateTime<Utc>,
    ) -> (Subject<Self>, Step) {
        let step = Step::new(Lifecycle::Other);
        (
            Subject {
                state: NoState {},
                plans: previous.map(|p| p.plans).unwrap_or_default(),
            },
            step,
        )
    }
}
