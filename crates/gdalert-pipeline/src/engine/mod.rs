//! The pipeline: route, classify, dedupe, group, guard against storms,
//! deliver, and tell the fallback destination when delivery failed.
//!
//! **One entry point per kind of run.** [`Pipeline::run_event`] handles one
//! event end to end and [`Pipeline::run_digest`] sends what was held back;
//! each returns a [`Report`]. The Lambda functions, `gdalert replay`,
//! `gdalert redrive` and `gdalert test` all call these two and only map the
//! report to metrics, exit codes and printing.
//!
//! ```text
//! run_event: enrich (identity) ─► routes ─► decide (1 read, 1 atomic write) ─► send ─► complete claims
//!                                                                                 └─► fallback notice on failure
//! run_digest: due records ─► one digest per destination, resolved messages ─► send ─► clear what was delivered
//! ```
//!
//! Modules: [`keys`] (every state key, one type), `decide` (the decision and
//! its one write), `digest` (summaries), `deliver` (claims and sending),
//! [`report`] (what a run did, in one vocabulary).
//!
//! **State calls per event**, counted at the DynamoDB API (D = destinations
//! sent to): a new finding sent costs 3 + D (one `GetItem` of the silences,
//! one `BatchGetItem`, one `TransactWriteItems` holding the decision and the
//! claims, one `PutItem` per completed delivery) in 4 sequential round trips;
//! the same event again costs 2; a suppressed count bump 3; a new finding of
//! an open group 3. An event no route takes costs nothing.
//!
//! **Failure policy**: our own state must never cost an alert. If the store
//! fails, the event is handled as if seen for the first time, delivered,
//! marked "dedupe unavailable", and the report carries the store's error so
//! the caller can log and count it.

mod coverage_report;
mod decide;
mod deliver;
mod digest;
mod group;
pub mod keys;
mod muted;
pub mod report;
mod storm;
mod subject;

use std::time::Duration;

use chrono::{DateTime, Utc};
use gdalert_event::GuardDutyEvent;
use gdalert_pattern::ParsedEvent;
use serde::{Deserialize, Serialize};

use crate::alert::{enrich, Alert, EnrichOptions, Verdict};
use crate::config::{Config, Destination, Route};
use crate::failure::Failure;
use crate::lifecycle::Lifecycle;
use crate::render::Payload;
use crate::silence::{ActiveSilences, Silence};
use crate::store::{Store, StoreError};

pub use keys::StateKey;
pub use report::{DeliveryReport, Report, Status};

/// What the pipeline decides for one alert at one destination.
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
    ) -> Result<String, Failure>;
}

/// How a run delivers.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Names this run in delivery claims (function name and process id,
    /// `gdalert-replay-<pid>`...).
    pub owner: String,
    /// Remote destinations are rendered, not contacted, and not recorded as
    /// delivered (so a later real run still sends them). Local ones (`stdout`,
    /// `file`) are delivered.
    pub dry_run: bool,
    /// When the run must be done sending (a Lambda invocation's deadline,
    /// less time to record the outcome): each destination's `timeout` is cut
    /// to what is left, and a delivery with no time left is not started
    /// (its claim is released, so the retry sends it).
    pub deadline: Option<std::time::Instant>,
}

impl RunOptions {
    /// Real delivery, claims held by `owner`.
    pub fn deliver(owner: impl Into<String>) -> RunOptions {
        RunOptions {
            owner: owner.into(),
            dry_run: false,
            deadline: None,
        }
    }
}

/// Configuration plus the compiled route patterns.
#[derive(Debug)]
pub struct Pipeline {
    pub config: Config,
    enrich: EnrichOptions,
}

/// How long a delivery claim holds off other runs.
const LEASE: Duration = Duration::from_secs(120);
/// Tries at a decision when concurrent runs keep changing its records.
const MAX_ATTEMPTS: usize = 8;

pub(crate) fn human(d: Duration) -> String {
    // humantime writes "1day 2h"; people and the routes file write "1d 2h".
    humantime::format_duration(Duration::from_secs(d.as_secs()))
        .to_string()
        .replace("days", "d")
        .replace("day", "d")
}

impl Pipeline {
    pub fn new(config: Config) -> Pipeline {
        let enrich = config.enrich_options();
        Pipeline { config, enrich }
    }

    /// The alert an event gives with no history: what `gdalert render` and
    /// `gdalert preview` show (a first alert, an archive, a sample, a lost
    /// or restored coverage).
    pub fn first_alert(&self, event: &GuardDutyEvent) -> Alert {
        let said = enrich(event, Lifecycle::Other, &self.enrich);
        let lifecycle = decide::stateless_lifecycle(event, &said);
        said.decided(Verdict::new(lifecycle))
    }

    /// The routes an event takes, in file order: each matching route, up to
    /// the first one without `continue`; the fallback route when none match.
    pub fn routes_for(&self, node: &ParsedEvent<'_>) -> Vec<&Route> {
        self.config.routes_for(node)
    }

    /// The routes that would send `alert` (taken by [`Pipeline::routes_for`]
    /// and not turned away by a route's gates: samples, archived), before
    /// any state or silence: what `replay --compare` compares.
    pub fn routes_sending(&self, node: &ParsedEvent<'_>, alert: &Alert) -> Vec<&Route> {
        self.routes_for(node)
            .into_iter()
            .filter(|route| gate(route, alert, &Mutes::new()).is_none())
            .collect()
    }

    /// The key grouping `alert` on `route`: `group_by` over the event, or
    /// finding type (detail-type), account and cluster (instance).
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
                jsonpath_rust::query::js_path_process(query, &event.raw)
                    .map(|refs| {
                        refs.into_iter()
                            .map(|r| r.val().to_string())
                            .collect::<Vec<_>>()
                            .join(",")
                    })
                    .unwrap_or_default()
            })
            .collect::<Vec<_>>()
            .join("|")
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
            key: self.delivery_key(&alert.event_id, route, destination),
        }
    }

    /// Handles one event end to end: decides, delivers what was decided
    /// (each delivery at most once), and sends the fallback notice if a
    /// destination failed. Never fails: a store error makes it fail open
    /// (see the module docs) and is reported in [`Report::store_error`].
    pub async fn run_event(
        &self,
        store: &dyn Store,
        sender: &dyn Sender,
        event: &GuardDutyEvent,
        node: &ParsedEvent<'_>,
        now: DateTime<Utc>,
        opts: &RunOptions,
    ) -> Report {
        // What the alert says (and its identity) comes first; what the
        // pipeline decides about it is kept apart and joined once.
        let said = enrich(event, Lifecycle::Other, &self.enrich);
        let routes = self.routes_for(node);
        let mut verdict = Verdict::new(Lifecycle::Other);
        // The silences are read first; a store that cannot answer them is
        // not asked again for the decision (one timeout, not two).
        let (mutes, decided) = match self.mutes(store, node, &said, &routes, now).await {
            Ok(mutes) => {
                let decided = self
                    .decide(
                        store,
                        event,
                        &said,
                        &mut verdict,
                        &routes,
                        &mutes,
                        now,
                        opts,
                    )
                    .await;
                (mutes, decided)
            }
            Err(e) => (Mutes::new(), Err(e)),
        };
        let (items, replayed, store_error) = match decided {
            Ok(decisions) => (decisions.items, decisions.replayed, None),
            Err(e) => {
                verdict = Verdict::new(decide::stateless_lifecycle(event, &said));
                verdict.dedupe_unavailable = true;
                (self.fail_open(&said, &routes, &mutes, opts), false, Some(e))
            }
        };
        let alert = said.decided(verdict);
        let silences = self
            .tally_mutes(store, &alert, &items, &mutes, now, opts)
            .await;
        let deliveries = self.send_all(store, &alert, items, sender, opts, now).await;
        let mut report = Report {
            alert,
            deliveries,
            replayed,
            store_error,
            fallback: None,
            silences,
        };
        report.fallback = self
            .notify_fallback(store, &report, sender, opts, now)
            .await;
        report
    }

    /// The decisions when the store cannot be used: every route that takes
    /// the event, sent without dedupe.
    fn fail_open(
        &self,
        alert: &Alert,
        routes: &[&Route],
        mutes: &Mutes,
        opts: &RunOptions,
    ) -> Vec<(Decided, deliver::Ticket)> {
        let mut items = Vec::new();
        for route in routes {
            let (decision, reason) = gate(route, alert, mutes).unwrap_or((
                Decision::Sent,
                "state store unavailable: sent without dedupe".to_string(),
            ));
            for destination in &route.destinations {
                let (decision, reason) = match mutes.destination(&route.name, destination) {
                    Some(silence) if decision == Decision::Sent => {
                        (Decision::Suppressed, crate::silence::reason(silence))
                    }
                    _ => (decision, reason.clone()),
                };
                let decided = self.decided(route, destination, alert, decision, reason);
                let ticket = self.unclaimed_ticket(&decided, opts);
                items.push((decided, ticket));
            }
        }
        items
    }

    /// Tells the fallback destination that others failed (once per event
    /// and set of failed destinations).
    async fn notify_fallback(
        &self,
        store: &dyn Store,
        report: &Report,
        sender: &dyn Sender,
        opts: &RunOptions,
        now: DateTime<Utc>,
    ) -> Option<DeliveryReport> {
        let fallback = self.config.settings.fallback_destination.as_deref()?;
        let names: Vec<&str> = report
            .failures()
            .map(|d| d.destination.as_str())
            .filter(|d| *d != fallback)
            .collect();
        if names.is_empty() {
            return None;
        }
        let mut notice = report.alert.clone();
        notice.title = format!(
            "Delivery failed to {}: {}",
            names.join(", "),
            report.alert.title
        );
        notice.meaning = "gdalert could not deliver this alert; the event is kept for retry and the dead-letter queue.".into();
        let key = StateKey::Delivery {
            alert: format!(
                "delivery-failed/{}/{}",
                report.alert.event_id,
                names.join(",")
            ),
            route: "delivery-failed".into(),
            destination: fallback.to_string(),
        };
        let decided = Decided {
            route: "delivery-failed".into(),
            destination: fallback.to_string(),
            decision: Decision::Sent,
            reason: "a destination failed".into(),
            key: key.to_string(),
        };
        let (mut reports, _) = self
            .deliver_claimed(store, &notice, vec![decided], sender, opts, now)
            .await;
        reports.pop()
    }
}

/// The silences muting this event: a whole route (by route name), or one
/// destination of a route (by route and destination).
#[derive(Debug, Clone, Default)]
pub(crate) struct Mutes {
    routes: std::collections::BTreeMap<String, Silence>,
    destinations: std::collections::BTreeMap<(String, String), Silence>,
}

impl Mutes {
    pub(crate) fn new() -> Mutes {
        Mutes::default()
    }

    /// The silence muting every delivery of `route`.
    fn route(&self, route: &str) -> Option<&Silence> {
        self.routes.get(route)
    }

    /// The silence muting `route`'s delivery to `destination` alone.
    pub(crate) fn destination(&self, route: &str, destination: &str) -> Option<&Silence> {
        self.destinations
            .get(&(route.to_string(), destination.to_string()))
    }

    /// The silence muting `route` to `destination`, whole route first.
    pub(crate) fn muting(&self, route: &str, destination: &str) -> Option<&Silence> {
        self.route(route)
            .or_else(|| self.destination(route, destination))
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.routes.is_empty() && self.destinations.is_empty()
    }
}

impl Pipeline {
    /// Which of `routes` (or of their destinations) an active silence mutes
    /// for this alert: one read of the silences record. A store that cannot
    /// answer is an error (the caller fails open: nothing muted, the alert
    /// sent); a record that cannot be read mutes nothing and is logged.
    async fn mutes(
        &self,
        store: &dyn Store,
        node: &ParsedEvent<'_>,
        alert: &Alert,
        routes: &[&Route],
        now: DateTime<Utc>,
    ) -> Result<Mutes, StoreError> {
        let mut mutes = Mutes::new();
        if routes.is_empty() {
            return Ok(mutes);
        }
        let active = match crate::silence::load(store, now).await {
            Ok((list, _)) => ActiveSilences::new(&list, now),
            Err(e @ StoreError::Corrupt { .. }) => {
                tracing::warn!(error = %e, "silences unreadable: none applied to this event");
                return Ok(mutes);
            }
            Err(e) => return Err(e),
        };
        if active.is_empty() {
            return Ok(mutes);
        }
        for route in routes {
            if let Some(silence) = active.muting(node, alert, &route.name, None) {
                tracing::info!(silence = %silence.id, route = %route.name, event = %alert.event_id, "muted by silence");
                mutes.routes.insert(route.name.clone(), silence.clone());
                continue;
            }
            for destination in &route.destinations {
                if let Some(silence) = active.muting(node, alert, &route.name, Some(destination)) {
                    tracing::info!(silence = %silence.id, route = %route.name, destination = %destination, event = %alert.event_id, "muted by silence");
                    mutes
                        .destinations
                        .insert((route.name.clone(), destination.clone()), silence.clone());
                }
            }
        }
        Ok(mutes)
    }
}

/// Route-level rules that need no state: archived and sample findings, and
/// a silence muting the whole route.
fn gate(route: &Route, alert: &Alert, mutes: &Mutes) -> Option<(Decision, String)> {
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
    if let Some(silence) = mutes.route(&route.name) {
        return Some((Decision::Suppressed, crate::silence::reason(silence)));
    }
    None
}
