//! The pipeline: route, classify, dedupe, group, guard against storms, deliver.
//!
//! One call per event, [`Pipeline::process`], decides for every matched route
//! and destination whether the alert is `sent`, `suppressed`, `grouped` or
//! `dropped`, and why. [`Pipeline::deliver`] then sends what was decided,
//! each delivery under a claim in the store so a retried event never posts
//! twice. [`Pipeline::digest`] sends the summaries of what was held back.
//!
//! Failure policy: our own state must never cost an alert. If the store
//! fails, the event is handled as if seen for the first time, delivered, and
//! marked "dedupe unavailable".

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use gdalert_event::{Detail, GuardDutyEvent, ProtectionStatus};
use gdalert_pattern::ParsedEvent;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::alert::{enrich, Alert, AlertKind, Band, EnrichOptions};
use crate::config::{Config, Destination, DestinationKind, Route};
use crate::lifecycle::{
    classify_coverage, classify_finding, FindingState, IncidentState, IncidentStatus, Lifecycle,
};
use crate::render::{self, Payload};
use crate::store::{expiry, Claim, Record, Store, StoreError};

/// What happens to one alert at one destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    Sent,
    Suppressed,
    Grouped,
    Dropped,
}

impl Decision {
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Sent => "sent",
            Decision::Suppressed => "suppressed",
            Decision::Grouped => "grouped",
            Decision::Dropped => "dropped",
        }
    }
}

/// The decision for one route and destination.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decided {
    pub route: String,
    pub destination: String,
    pub decision: Decision,
    pub reason: String,
    /// Claim key that makes this delivery happen at most once.
    pub key: String,
}

/// Everything decided about one event (or one digest summary).
#[derive(Debug, Clone)]
pub struct Outcome {
    pub alert: Alert,
    /// Empty when no route matched and there is no fallback route.
    pub deliveries: Vec<Decided>,
    /// The decisions were read back from an earlier run of the same event.
    pub replayed: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Plan {
    lifecycle: Lifecycle,
    suppressed_since_last: u64,
    outage_secs: Option<u64>,
    dedupe_unavailable: bool,
    deliveries: Vec<Decided>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct GroupState {
    route: String,
    window_end: DateTime<Utc>,
    first_event: String,
    first_title: String,
    since: DateTime<Utc>,
    suppressed: u64,
    titles: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct StormState {
    destination: String,
    window_start: DateTime<Utc>,
    window_end: DateTime<Utc>,
    sent: u64,
    held: u64,
    titles: Vec<String>,
}

/// A destination gave up.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct SendError {
    /// Worth retrying (5xx, timeout, connection refused, throttled).
    pub retryable: bool,
    pub message: String,
}

/// Delivers one payload to one destination; returns a receipt (message id...).
///
/// Implementations own their timeouts and retries; an error means the
/// destination gave up for this attempt.
#[async_trait::async_trait]
pub trait Sender: Send + Sync {
    async fn send(
        &self,
        destination: &Destination,
        alert: &Alert,
        payload: &Payload,
    ) -> Result<String, SendError>;
}

/// What happened when delivering one decision.
#[derive(Debug, Clone, PartialEq)]
pub enum Delivery {
    /// Delivered now.
    Delivered { receipt: String },
    /// An earlier run delivered it; not sent again.
    AlreadyDelivered { receipt: String },
    /// Not sent: retry the event later.
    Failed(SendError),
    /// Not a `sent` decision: nothing to do.
    NotSent,
}

/// Configuration plus the compiled route patterns.
#[derive(Debug)]
pub struct Pipeline {
    pub config: Config,
    enrich: EnrichOptions,
    route_of_pattern: Vec<usize>,
}

const MAX_TITLES: usize = 20;
const LEASE: Duration = Duration::from_secs(120);

fn add(now: DateTime<Utc>, d: Duration) -> DateTime<Utc> {
    expiry(now, d)
}

/// Read-modify-write with compare-and-swap; `f` returns the new state (or
/// `None` to leave it), its `due_at`, and a result.
async fn update<T, R>(
    store: &dyn Store,
    key: &str,
    ttl: Duration,
    now: DateTime<Utc>,
    mut f: impl FnMut(Option<T>) -> (Option<T>, Option<DateTime<Utc>>, R),
) -> Result<R, StoreError>
where
    T: Serialize + DeserializeOwned,
{
    loop {
        let current = store.get(key, now).await?;
        let value = match &current {
            Some(v) => Some(
                T::deserialize(&v.record.value).map_err(|e| StoreError::Corrupt {
                    key: key.to_string(),
                    reason: e.to_string(),
                })?,
            ),
            None => None,
        };
        let (next, due_at, result) = f(value);
        let Some(next) = next else { return Ok(result) };
        let value = serde_json::to_value(&next).map_err(|e| StoreError::Corrupt {
            key: key.to_string(),
            reason: e.to_string(),
        })?;
        let record = Record {
            value,
            expires_at: add(now, ttl),
            due_at,
        };
        if store
            .put(key, current.map(|c| c.version), record, now)
            .await?
        {
            return Ok(result);
        }
    }
}

async fn get<T: DeserializeOwned>(
    store: &dyn Store,
    key: &str,
    now: DateTime<Utc>,
) -> Result<Option<T>, StoreError> {
    match store.get(key, now).await? {
        None => Ok(None),
        Some(v) => serde_json::from_value(v.record.value)
            .map(Some)
            .map_err(|e| StoreError::Corrupt {
                key: key.to_string(),
                reason: e.to_string(),
            }),
    }
}

fn human(d: Duration) -> String {
    humantime::format_duration(Duration::from_secs(d.as_secs())).to_string()
}

impl Pipeline {
    pub fn new(config: Config) -> Pipeline {
        let route_of_pattern = (0..config.patterns.len())
            .map(|id| {
                config
                    .patterns
                    .name(id)
                    .parse::<usize>()
                    .unwrap_or(usize::MAX)
            })
            .collect();
        let enrich = config.enrich_options();
        Pipeline {
            config,
            enrich,
            route_of_pattern,
        }
    }

    /// The routes an event takes, in file order: each matching route, up to
    /// the first one without `continue`; the fallback route when none match.
    pub fn routes_for(&self, node: &ParsedEvent<'_>) -> Vec<&Route> {
        let mut matched: Vec<usize> = self
            .config
            .patterns
            .matches(node)
            .into_iter()
            .filter_map(|id| self.route_of_pattern.get(id).copied())
            .chain(self.config.match_all.iter().copied())
            .collect();
        matched.sort_unstable();
        let mut routes = Vec::new();
        for index in matched {
            let Some(route) = self.config.routes.get(index) else {
                continue;
            };
            routes.push(route);
            if !route.continue_ {
                break;
            }
        }
        if routes.is_empty() {
            routes.extend(self.config.routes.iter().filter(|r| r.fallback));
        }
        routes
    }

    fn group_key(&self, route: &Route, alert: &Alert, event: &GuardDutyEvent) -> String {
        if route.group_by.is_empty() {
            let place = alert
                .resource
                .cluster
                .as_deref()
                .or(alert.resource.instance.as_deref())
                .unwrap_or("-");
            let what = alert.finding_type.as_deref().unwrap_or(&event.detail_type);
            return format!("{what}|{}|{place}", alert.account_id);
        }
        route
            .group_by
            .iter()
            .map(|(_, query)| {
                let values = jsonpath_rust::query::js_path_process(query, &event.raw)
                    .map(|refs| {
                        refs.into_iter()
                            .map(|r| r.val().to_string())
                            .collect::<Vec<_>>()
                            .join(",")
                    })
                    .unwrap_or_default();
                values
            })
            .collect::<Vec<_>>()
            .join("|")
    }

    /// Decides what to do with `event`. Never fails: store errors make it
    /// fail open (see the module docs).
    pub async fn process(
        &self,
        store: &dyn Store,
        event: &GuardDutyEvent,
        node: &ParsedEvent<'_>,
        now: DateTime<Utc>,
    ) -> Outcome {
        let mut alert = enrich(event, Lifecycle::Other, &self.enrich);
        let routes = self.routes_for(node);
        let plan_key = format!("plan/{}", event.id);
        let ttl = self.config.settings.state_ttl;
        match get::<Plan>(store, &plan_key, now).await {
            Ok(Some(plan)) => {
                apply_plan(&mut alert, &plan);
                return Outcome {
                    alert,
                    deliveries: plan.deliveries,
                    replayed: true,
                };
            }
            Ok(None) => {}
            Err(_) => return self.fail_open(alert, &routes, event),
        }
        let plan = match self.decide(store, event, &mut alert, &routes, now).await {
            Ok(plan) => plan,
            Err(_) => return self.fail_open(alert, &routes, event),
        };
        // Keep the first plan written: a concurrent run of the same event adopts it.
        let stored = update::<Plan, Plan>(store, &plan_key, ttl, now, |existing| match existing {
            Some(existing) => (None, None, existing),
            None => (Some(plan.clone()), None, plan.clone()),
        })
        .await;
        let plan = stored.unwrap_or(plan);
        apply_plan(&mut alert, &plan);
        Outcome {
            alert,
            deliveries: plan.deliveries,
            replayed: false,
        }
    }

    fn fail_open(&self, mut alert: Alert, routes: &[&Route], event: &GuardDutyEvent) -> Outcome {
        alert.dedupe_unavailable = true;
        alert.lifecycle = match &event.detail {
            Detail::Finding(_) if alert.archived => Lifecycle::Archived,
            Detail::Finding(_) if alert.sample => Lifecycle::Sample,
            Detail::Finding(_) => Lifecycle::New,
            Detail::Coverage(c) if c.current_status == ProtectionStatus::Healthy => {
                Lifecycle::Resolved
            }
            Detail::Coverage(_) => Lifecycle::Opened,
            Detail::Other => Lifecycle::Other,
        };
        let mut deliveries = Vec::new();
        for route in routes {
            let (decision, reason) = match gate(route, &alert) {
                Some(dropped) => dropped,
                None => (
                    Decision::Sent,
                    "state store unavailable: sent without dedupe".to_string(),
                ),
            };
            for destination in &route.destinations {
                deliveries.push(self.decided(route, destination, &alert, decision, reason.clone()));
            }
        }
        Outcome {
            alert,
            deliveries,
            replayed: false,
        }
    }

    fn decided(
        &self,
        route: &Route,
        destination: &str,
        alert: &Alert,
        decision: Decision,
        reason: String,
    ) -> Decided {
        Decided {
            route: route.name.clone(),
            destination: destination.to_string(),
            decision,
            reason,
            key: format!("delivery/{}/{}/{}", alert.event_id, route.name, destination),
        }
    }

    async fn decide(
        &self,
        store: &dyn Store,
        event: &GuardDutyEvent,
        alert: &mut Alert,
        routes: &[&Route],
        now: DateTime<Utc>,
    ) -> Result<Plan, StoreError> {
        let settings = &self.config.settings;
        let ttl = settings.state_ttl;
        let event_id = event.id.clone();
        let mut previous_band = None;
        let mut notified_at = None;
        match &event.detail {
            Detail::Finding(finding) => {
                let count = finding.service.count.unwrap_or(1);
                let (band, archived, sample) = (alert.band, alert.archived, alert.sample);
                let key = alert.dedupe_key.clone();
                let (lifecycle, prev) = update::<FindingState, _>(store, &key, ttl, now, |prev| {
                    let (lifecycle, next) =
                        classify_finding(prev.as_ref(), &event_id, count, band, archived, sample);
                    (Some(next), None, (lifecycle, prev))
                })
                .await?;
                alert.lifecycle = lifecycle;
                previous_band = prev.as_ref().map(|p| p.band);
                notified_at = prev.as_ref().and_then(|p| p.notified_at);
                alert.suppressed_since_last = prev.map_or(0, |p| p.suppressed_updates);
            }
            Detail::Coverage(change) => {
                let healthy = change.current_status == ProtectionStatus::Healthy;
                let key = alert.dedupe_key.clone();
                let opening = serde_json::to_value(&*alert).ok();
                let route_names: Vec<String> = routes.iter().map(|r| r.name.clone()).collect();
                let hold = settings.flap_hold;
                let (lifecycle, state) =
                    update::<IncidentState, _>(store, &key, ttl, now, |prev| {
                        let (lifecycle, next) =
                            classify_coverage(prev.as_ref(), &event_id, healthy, hold, now);
                        let Some(mut next) = next else {
                            return (None, None, (lifecycle, None));
                        };
                        if lifecycle == Lifecycle::Opened {
                            next.routes = route_names.clone();
                            next.opening = opening.clone();
                        }
                        let due = match next.status {
                            IncidentStatus::Resolving => next.resolving_since.map(|s| add(s, hold)),
                            _ => None,
                        };
                        (Some(next.clone()), due, (lifecycle, Some(next)))
                    })
                    .await?;
                alert.lifecycle = lifecycle;
                if lifecycle == Lifecycle::Resolved {
                    if let Some(state) = &state {
                        alert.outage_secs =
                            (now - state.opened_at).to_std().ok().map(|d| d.as_secs());
                    }
                }
            }
            Detail::Other => alert.lifecycle = Lifecycle::Other,
        }

        let mut deliveries = Vec::new();
        let mut any_sent = false;
        let mut updates_suppressed = false;
        for route in routes {
            let (decision, reason) = match gate(route, alert) {
                Some(dropped) => dropped,
                None => {
                    self.route_decision(store, route, alert, event, previous_band, notified_at, now)
                        .await?
                }
            };
            if decision == Decision::Suppressed && alert.lifecycle == Lifecycle::Update {
                updates_suppressed = true;
            }
            for destination in &route.destinations {
                let (decision, reason) = if decision == Decision::Sent {
                    self.storm_guard(store, destination, alert, now)
                        .await?
                        .unwrap_or((decision, reason.clone()))
                } else {
                    (decision, reason.clone())
                };
                any_sent |= decision == Decision::Sent;
                deliveries.push(self.decided(route, destination, alert, decision, reason));
            }
        }
        if let Detail::Finding(_) = &event.detail {
            let key = alert.dedupe_key.clone();
            update::<FindingState, _>(store, &key, ttl, now, |state| {
                let Some(mut state) = state else {
                    return (None, None, ());
                };
                if any_sent {
                    state.notified_at = Some(now);
                    state.suppressed_updates = 0;
                } else if updates_suppressed {
                    state.suppressed_updates += 1;
                }
                (Some(state), None, ())
            })
            .await?;
        }
        Ok(Plan {
            lifecycle: alert.lifecycle,
            suppressed_since_last: alert.suppressed_since_last,
            outage_secs: alert.outage_secs,
            dedupe_unavailable: false,
            deliveries,
        })
    }

    #[allow(clippy::too_many_arguments)]
    async fn route_decision(
        &self,
        store: &dyn Store,
        route: &Route,
        alert: &mut Alert,
        event: &GuardDutyEvent,
        previous_band: Option<Band>,
        notified_at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<(Decision, String), StoreError> {
        let ok = |reason: String| Ok((Decision::Sent, reason));
        match alert.lifecycle {
            Lifecycle::Duplicate => Ok((
                Decision::Suppressed,
                "no change since the last event of this finding (same count and severity)".into(),
            )),
            Lifecycle::Update => match notified_at {
                Some(at) if now < add(at, route.repeat_interval) => Ok((
                    Decision::Suppressed,
                    format!(
                        "count bump within the repeat interval ({}); counted for the next message",
                        human(route.repeat_interval)
                    ),
                )),
                _ => ok(format!(
                    "still active after the repeat interval ({})",
                    human(route.repeat_interval)
                )),
            },
            Lifecycle::Escalation => ok(format!(
                "severity rose from {} to {}",
                previous_band.map_or("unknown", Band::as_str),
                alert.band.as_str()
            )),
            Lifecycle::Repeat => Ok((
                Decision::Suppressed,
                "coverage incident already open (or flapping); counted".into(),
            )),
            Lifecycle::Recovered => Ok((
                Decision::Dropped,
                "Healthy with no open incident for this resource".into(),
            )),
            Lifecycle::Resolving => Ok((
                Decision::Grouped,
                format!(
                    "resolved message held for the flap hold ({}); the digest sends it",
                    human(self.config.settings.flap_hold)
                ),
            )),
            Lifecycle::Resolved => ok("coverage restored: closes the open incident".into()),
            Lifecycle::New
            | Lifecycle::Sample
            | Lifecycle::Opened
            | Lifecycle::Other
            | Lifecycle::Archived
            | Lifecycle::Digest => self.group(store, route, alert, event, now).await,
        }
    }

    async fn group(
        &self,
        store: &dyn Store,
        route: &Route,
        alert: &mut Alert,
        event: &GuardDutyEvent,
        now: DateTime<Utc>,
    ) -> Result<(Decision, String), StoreError> {
        let group_key = self.group_key(route, alert, event);
        let key = format!("group/{}/{}", route.name, group_key);
        let window = route.group_window;
        let title = alert.title.clone();
        let event_id = alert.event_id.clone();
        let ttl = self.config.settings.state_ttl.max(window);
        let (decision, carried) =
            update::<GroupState, _>(store, &key, ttl, now, |state| match state {
                Some(state) if state.first_event == event_id => (None, None, (Decision::Sent, 0)),
                Some(mut state) if now < state.window_end => {
                    state.suppressed += 1;
                    if state.titles.len() < MAX_TITLES {
                        state.titles.push(title.clone());
                    }
                    let due = Some(state.window_end);
                    (Some(state), due, (Decision::Grouped, 0))
                }
                previous => {
                    let carried = previous.map_or(0, |p| p.suppressed);
                    let state = GroupState {
                        route: route.name.clone(),
                        window_end: add(now, window),
                        first_event: event_id.clone(),
                        first_title: title.clone(),
                        since: now,
                        suppressed: 0,
                        titles: Vec::new(),
                    };
                    (Some(state), None, (Decision::Sent, carried))
                }
            })
            .await?;
        alert.suppressed_since_last += carried;
        Ok(match decision {
            Decision::Grouped => (
                Decision::Grouped,
                format!("same group as an alert sent less than {} ago ({group_key}); counted for the digest", human(window)),
            ),
            _ => (Decision::Sent, format!("{} alert", alert.lifecycle.as_str())),
        })
    }

    async fn storm_guard(
        &self,
        store: &dyn Store,
        destination: &str,
        alert: &Alert,
        now: DateTime<Utc>,
    ) -> Result<Option<(Decision, String)>, StoreError> {
        let settings = &self.config.settings;
        let window = settings.storm_window.as_secs().max(1) as i64;
        let start_secs = now.timestamp().div_euclid(window) * window;
        let window_start = DateTime::from_timestamp(start_secs, 0).unwrap_or(now);
        let window_end = add(window_start, settings.storm_window);
        let key = format!("storm/{destination}/{start_secs}");
        let threshold = u64::from(settings.storm_threshold);
        let title = alert.title.clone();
        let held = update::<StormState, _>(store, &key, settings.state_ttl, now, |state| {
            let mut state = state.unwrap_or_else(|| StormState {
                destination: destination.to_string(),
                window_start,
                window_end,
                sent: 0,
                held: 0,
                titles: Vec::new(),
            });
            if state.sent < threshold {
                state.sent += 1;
                let due = (state.held > 0).then_some(state.window_end);
                (Some(state), due, false)
            } else {
                state.held += 1;
                if state.titles.len() < MAX_TITLES {
                    state.titles.push(title.clone());
                }
                let due = Some(state.window_end);
                (Some(state), due, true)
            }
        })
        .await?;
        Ok(held.then(|| {
            (
                Decision::Grouped,
                format!(
                    "storm guard: more than {threshold} alerts to {destination:?} within {}; summarised in the digest",
                    human(settings.storm_window)
                ),
            )
        }))
    }

    /// Summaries that are due at `now`: group and storm digests, and resolved
    /// messages held for the flap hold. Each is returned once.
    pub async fn digest(
        &self,
        store: &dyn Store,
        now: DateTime<Utc>,
    ) -> Result<Vec<Outcome>, StoreError> {
        let mut outcomes = Vec::new();
        let ttl = self.config.settings.state_ttl;
        for (key, versioned) in store.due(now, 1000).await? {
            let due_stamp = versioned.record.due_at.map_or(0, |d| d.timestamp());
            if key.starts_with("group/") {
                let taken = update::<GroupState, _>(store, &key, ttl, now, |state| match state {
                    Some(mut state) if state.suppressed > 0 => {
                        let taken = state.clone();
                        state.suppressed = 0;
                        state.titles.clear();
                        (Some(state), None, Some(taken))
                    }
                    Some(state) => (Some(state), None, None),
                    None => (None, None, None),
                })
                .await?;
                let Some(group) = taken else { continue };
                let Some(route) = self.config.route(&group.route) else {
                    continue;
                };
                let alert = digest_alert(
                    &format!("digest/{key}/{due_stamp}"),
                    format!("{} more alert(s) like: {}", group.suppressed, group.first_title),
                    format!(
                        "{} alert(s) in this group were held back since {} so the channel is not flooded.",
                        group.suppressed,
                        group.since.format("%Y-%m-%d %H:%M UTC")
                    ),
                    group.suppressed,
                    group.titles,
                );
                let deliveries = route
                    .destinations
                    .iter()
                    .map(|d| self.decided(route, d, &alert, Decision::Sent, "group digest".into()))
                    .collect();
                outcomes.push(Outcome {
                    alert,
                    deliveries,
                    replayed: false,
                });
            } else if key.starts_with("storm/") {
                let taken = update::<StormState, _>(store, &key, ttl, now, |state| match state {
                    Some(mut state) if state.held > 0 => {
                        let taken = state.clone();
                        state.held = 0;
                        state.titles.clear();
                        (Some(state), None, Some(taken))
                    }
                    Some(state) => (Some(state), None, None),
                    None => (None, None, None),
                })
                .await?;
                let Some(storm) = taken else { continue };
                let alert = digest_alert(
                    &format!("digest/{key}/{due_stamp}"),
                    format!("Alert storm: {} alert(s) held for {}", storm.held, storm.destination),
                    format!(
                        "More than {} alerts went to this destination between {} and {}; these were summarised instead.",
                        self.config.settings.storm_threshold,
                        storm.window_start.format("%H:%M"),
                        storm.window_end.format("%H:%M UTC")
                    ),
                    storm.held,
                    storm.titles,
                );
                let route = Route {
                    name: "storm-guard".into(),
                    destinations: vec![storm.destination.clone()],
                    group_by: Vec::new(),
                    repeat_interval: Duration::ZERO,
                    group_window: Duration::ZERO,
                    continue_: false,
                    fallback: false,
                    samples: true,
                    archived: true,
                };
                let deliveries = vec![self.decided(
                    &route,
                    &storm.destination,
                    &alert,
                    Decision::Sent,
                    "storm digest".into(),
                )];
                outcomes.push(Outcome {
                    alert,
                    deliveries,
                    replayed: false,
                });
            } else if key.starts_with("coverage/") {
                let hold = self.config.settings.flap_hold;
                let taken =
                    update::<IncidentState, _>(store, &key, ttl, now, |state| match state {
                        Some(mut state) if state.status == IncidentStatus::Resolving => {
                            let taken = state.clone();
                            state.status = IncidentStatus::Closed;
                            (Some(state), None, Some(taken))
                        }
                        Some(state) => (Some(state), None, None),
                        None => (None, None, None),
                    })
                    .await?;
                let Some(incident) = taken else { continue };
                let Some(mut alert) = incident
                    .opening
                    .and_then(|v| serde_json::from_value::<Alert>(v).ok())
                else {
                    continue;
                };
                let resolved_at = incident.resolving_since.unwrap_or(now);
                alert.kind = AlertKind::CoverageRestored;
                alert.lifecycle = Lifecycle::Resolved;
                alert.title = alert.title.replacen(
                    "Runtime protection lost",
                    "Runtime protection restored",
                    1,
                );
                alert.meaning =
                    "The GuardDuty security agent reports again for this resource.".into();
                alert.triage.clear();
                alert.coverage_issues.clear();
                alert.event_id = format!("resolved/{key}/{due_stamp}");
                alert.outage_secs = (resolved_at - incident.opened_at)
                    .to_std()
                    .ok()
                    .map(|d| d.as_secs());
                alert.suppressed_since_last = incident.repeats + incident.flaps;
                let reason = format!("coverage stayed back for the flap hold ({})", human(hold));
                let mut deliveries = Vec::new();
                for name in &incident.routes {
                    if let Some(route) = self.config.route(name) {
                        for d in &route.destinations {
                            deliveries.push(self.decided(
                                route,
                                d,
                                &alert,
                                Decision::Sent,
                                reason.clone(),
                            ));
                        }
                    }
                }
                outcomes.push(Outcome {
                    alert,
                    deliveries,
                    replayed: false,
                });
            }
        }
        Ok(outcomes)
    }

    /// Sends every `sent` decision of `outcome` through `sender`, once, all
    /// destinations concurrently. Returns one [`Delivery`] per decision, in
    /// order. Timeouts belong to the sender: each destination has its own.
    pub async fn deliver(
        &self,
        store: &dyn Store,
        outcome: &Outcome,
        sender: &dyn Sender,
        owner: &str,
        now: DateTime<Utc>,
    ) -> Vec<Delivery> {
        let sends = outcome
            .deliveries
            .iter()
            .map(|decided| self.deliver_one(store, &outcome.alert, decided, sender, owner, now));
        futures_util::future::join_all(sends).await
    }

    async fn deliver_one(
        &self,
        store: &dyn Store,
        alert: &Alert,
        decided: &Decided,
        sender: &dyn Sender,
        owner: &str,
        now: DateTime<Utc>,
    ) -> Delivery {
        let ttl = self.config.settings.state_ttl;
        if decided.decision != Decision::Sent {
            return Delivery::NotSent;
        }
        let Some(destination) = self.config.destinations.get(&decided.destination) else {
            return Delivery::Failed(SendError {
                retryable: false,
                message: format!("destination {:?} is not configured", decided.destination),
            });
        };
        let claim = store.claim(&decided.key, owner, LEASE, ttl, now).await;
        match claim {
            Ok(Claim::Done { receipt }) => return Delivery::AlreadyDelivered { receipt },
            Ok(Claim::Busy { until }) => {
                return Delivery::Failed(SendError {
                    retryable: true,
                    message: format!(
                        "another run is delivering this until {until}; retry after it"
                    ),
                })
            }
            Ok(Claim::Won) | Err(_) => {}
        }
        let marked;
        let alert = if claim.is_err() && !alert.dedupe_unavailable {
            let mut copy = alert.clone();
            copy.dedupe_unavailable = true;
            marked = copy;
            &marked
        } else {
            alert
        };
        let payload = match render::render(alert, destination) {
            Ok(payload) => payload,
            Err(e) => {
                let _ = store.release(&decided.key, owner, now).await;
                return Delivery::Failed(SendError {
                    retryable: false,
                    message: e.to_string(),
                });
            }
        };
        match sender.send(destination, alert, &payload).await {
            Ok(receipt) => {
                if claim.is_ok() {
                    // If this fails the alert went out anyway; a retry may repeat it,
                    // which at-least-once allows and losing it would not.
                    let _ = store.complete(&decided.key, &receipt, ttl, now).await;
                }
                Delivery::Delivered { receipt }
            }
            Err(e) => {
                let _ = store.release(&decided.key, owner, now).await;
                Delivery::Failed(e)
            }
        }
    }
}

/// Route-level rules that need no state: archived and sample findings.
fn gate(route: &Route, alert: &Alert) -> Option<(Decision, String)> {
    if alert.archived && !route.archived {
        return Some((
            Decision::Dropped,
            "archived finding; set `archived = true` on the route to receive these".into(),
        ));
    }
    if alert.sample && !route.samples {
        return Some((
            Decision::Dropped,
            "GuardDuty sample finding; set `samples = true` on the route to receive these".into(),
        ));
    }
    None
}

fn apply_plan(alert: &mut Alert, plan: &Plan) {
    alert.lifecycle = plan.lifecycle;
    alert.suppressed_since_last = plan.suppressed_since_last;
    alert.outage_secs = plan.outage_secs;
    alert.dedupe_unavailable = plan.dedupe_unavailable;
}

fn digest_alert(
    id: &str,
    title: String,
    meaning: String,
    count: u64,
    titles: Vec<String>,
) -> Alert {
    Alert {
        kind: AlertKind::Digest,
        lifecycle: Lifecycle::Digest,
        event_id: id.to_string(),
        finding_id: None,
        dedupe_key: id.to_string(),
        title,
        finding_type: None,
        severity: None,
        band: Band::Informational,
        account_id: String::new(),
        account_name: None,
        region: String::new(),
        partition: "aws".into(),
        tactic: None,
        meaning,
        triage: Vec::new(),
        description: None,
        resource: Default::default(),
        links: Vec::new(),
        count: Some(count),
        first_seen: None,
        last_seen: None,
        updated_at: None,
        sample: false,
        archived: false,
        coverage_issues: Vec::new(),
        outage_secs: None,
        suppressed_since_last: count,
        dedupe_unavailable: false,
        held_titles: titles,
    }
}

/// Kinds of destination each outcome touches (for summaries).
pub fn kinds_of(config: &Config, outcome: &Outcome) -> BTreeMap<DestinationKind, usize> {
    let mut kinds = BTreeMap::new();
    for d in &outcome.deliveries {
        if let Some(dest) = config.destinations.get(&d.destination) {
            *kinds.entry(dest.kind).or_insert(0) += 1;
        }
    }
    kinds
}
