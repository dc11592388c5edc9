//! Deciding one event: one read of every record the decision needs, a pure
//! computation, one atomic write of everything it changed.
//!
//! The records an event can touch are all known before anything is read:
//! its subject (the finding, coverage incident or event), the group of each
//! route it takes, the storm counter of each destination, and the claim of
//! each delivery. They are read with one [`Store::get_many`], the next state
//! of each is computed from what was read, and every change (the subject
//! with its plan, groups, storm counters, and the claims of the deliveries to
//! make) is written with one [`Store::put_all`], each record conditional on
//! the version read. If any record changed in between (a concurrent copy of
//! the event, another finding of the same group), nothing is written and the
//! whole decision is made again from a fresh read.
//!
//! That one write is what keeps the promises under concurrency: copies of
//! an event cannot each count towards a group or the storm budget, and the
//! repeat-interval decision is written together with `notified_at`.
//!
//! The plan (the decisions and why) is kept on the subject record, for the
//! last few events of that subject: a retried event reads it back and gets
//! the same answer without deciding again. An event that only causes
//! suppressed or dropped decisions writes nothing but its subject record.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use gdalert_event::{Detail, GuardDutyEvent, ProtectionStatus};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::alert::{Alert, Verdict};
use crate::config::Route;
use crate::lifecycle::{FindingState, IncidentState, Lifecycle};
use crate::severity::Band;
use crate::store::{expiry, Record, Store, StoreError, Versioned, Write};

use super::deliver::{claim_record, claim_state, Ticket};
use super::group::{self, GroupState};
use super::keys::StateKey;
use super::storm::{self, StormState};
use super::subject::{NoState, Step, Subject, SubjectState};
use super::{gate, human, Decided, Decision, Mutes, Pipeline, RunOptions, MAX_ATTEMPTS};

/// Plans kept per subject: enough for the retries of recent events.
const MAX_PLANS: usize = 8;

/// What was decided for one event, kept so a retry gets the same answer.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct Plan {
    pub event: String,
    pub lifecycle: Lifecycle,
    pub suppressed_since_last: u64,
    pub outage_secs: Option<u64>,
    pub deliveries: Vec<Decided>,
}

/// The decisions for one event, each with where its delivery stands.
#[derive(Debug)]
pub(super) struct Decisions {
    pub items: Vec<(Decided, Ticket)>,
    pub replayed: bool,
}

pub(super) fn parse<T: DeserializeOwned>(key: &str, v: &Versioned) -> Result<T, StoreError> {
    T::deserialize(&v.record.value).map_err(|e| StoreError::Corrupt {
        key: key.to_string(),
        reason: e.to_string(),
    })
}

pub(super) fn record<T: Serialize>(
    key: &str,
    value: &T,
    expires_at: DateTime<Utc>,
    due_at: Option<DateTime<Utc>>,
) -> Result<Record, StoreError> {
    Ok(Record {
        value: serde_json::to_value(value).map_err(|e| StoreError::Corrupt {
            key: key.to_string(),
            reason: e.to_string(),
        })?,
        expires_at,
        due_at,
    })
}

/// The lifecycle of an event when no state can be read.
pub(super) fn stateless_lifecycle(event: &GuardDutyEvent, alert: &Alert) -> Lifecycle {
    match &event.detail {
        Detail::Finding(_) if alert.archived => Lifecycle::Archived,
        Detail::Finding(_) if alert.sample => Lifecycle::Sample,
        Detail::Finding(_) => Lifecycle::New,
        Detail::Coverage(c) if c.current_status == ProtectionStatus::Healthy => Lifecycle::Resolved,
        Detail::Coverage(_) => Lifecycle::Opened,
        Detail::Other => Lifecycle::Other,
    }
}

/// Records read for one decision, and the writes it makes.
struct Working<'a> {
    keys: &'a [String],
    read: Vec<Option<Versioned>>,
    writes: Vec<Write>,
}

impl Working<'_> {
    fn version(&self, i: usize) -> Option<u64> {
        self.read[i].as_ref().map(|v| v.version)
    }

    /// Queues `value` for read slot `i`, conditional on the version read there.
    fn write<T: Serialize>(
        &mut self,
        i: usize,
        value: &T,
        expires_at: DateTime<Utc>,
        due_at: Option<DateTime<Utc>>,
    ) -> Result<(), StoreError> {
        let key = self.keys[i].clone();
        let record = record(&key, value, expires_at, due_at)?;
        self.writes.push(Write {
            expected: self.version(i),
            key,
            record,
        });
        Ok(())
    }
}

/// The record at read slot `i` as read (and whether it has changed since),
/// parsed on first use and then kept in `records` for the rest of the decision.
fn as_read<'m, T: DeserializeOwned>(
    records: &'m mut BTreeMap<usize, (Option<T>, bool)>,
    work: &Working<'_>,
    i: usize,
) -> Result<&'m mut (Option<T>, bool), StoreError> {
    match records.entry(i) {
        std::collections::btree_map::Entry::Occupied(entry) => Ok(entry.into_mut()),
        std::collections::btree_map::Entry::Vacant(entry) => {
            let read = work.read[i]
                .as_ref()
                .map(|v| parse::<T>(&work.keys[i], v))
                .transpose()?;
            Ok(entry.insert((read, false)))
        }
    }
}

/// Where each key sits in the one read.
struct Layout {
    keys: Vec<String>,
    subject: usize,
    /// Per route (in `routes` order): its group key's index, for open routes.
    groups: Vec<Option<usize>>,
    /// Storm key index per destination name.
    storms: BTreeMap<String, usize>,
    /// Claim key index per (route index, destination index).
    claims: BTreeMap<(usize, usize), usize>,
    /// For an attack sequence: its findings' record indexes, with their labels.
    signals: Vec<(usize, String)>,
    /// For a runtime finding: the coverage incidents of where it happened
    /// (record index, what is covered: `ECS cluster payments-prod`).
    coverage: Vec<(usize, String)>,
}

impl Pipeline {
    fn layout(
        &self,
        event: &GuardDutyEvent,
        alert: &Alert,
        routes: &[&Route],
        open: &[bool],
        now: DateTime<Utc>,
    ) -> Layout {
        let mut keys = vec![alert.dedupe_key.clone()];
        let mut groups = Vec::with_capacity(routes.len());
        let mut storms = BTreeMap::new();
        let mut claims = BTreeMap::new();
        let window = self.config.settings.storm_window.as_secs().max(1) as i64;
        let window_start = now.timestamp().div_euclid(window) * window;
        for (r, route) in routes.iter().enumerate() {
            if !open[r] {
                groups.push(None);
                continue;
            }
            keys.push(
                StateKey::Group {
                    route: route.name.clone(),
                    group: self.group_key(route, alert, event),
                }
                .to_string(),
            );
            groups.push(Some(keys.len() - 1));
            for (d, destination) in route.destinations.iter().enumerate() {
                if !storms.contains_key(destination) {
                    keys.push(
                        StateKey::Storm {
                            destination: destination.clone(),
                            window_start,
                        }
                        .to_string(),
                    );
                    storms.insert(destination.clone(), keys.len() - 1);
                }
                keys.push(self.delivery_key(&alert.event_id, route, destination));
                claims.insert((r, d), keys.len() - 1);
            }
        }
        // An attack sequence reads its findings' records in the same batch,
        // to list the ones already alerted on (read only, never written).
        let mut signals = Vec::new();
        if let Detail::Finding(finding) = &event.detail {
            if let Some(sequence) = finding
                .service
                .detection
                .as_ref()
                .and_then(|d| d.sequence.as_ref())
            {
                for (key, label) in
                    crate::sequence::signal_findings(sequence, &alert.account_id, &alert.region)
                {
                    keys.push(key);
                    signals.push((keys.len() - 1, label));
                }
            }
        }
        // A runtime finding reads the coverage incidents of its cluster and
        // instance, to say whether GuardDuty was blind there (read only).
        let mut coverage = Vec::new();
        if let Detail::Finding(finding) = &event.detail {
            if finding.is_runtime() {
                for (resource, label) in covered_resources(alert) {
                    keys.push(crate::alert::coverage_key(
                        &alert.account_id,
                        &alert.region,
                        &resource,
                    ));
                    coverage.push((keys.len() - 1, label));
                }
            }
        }
        Layout {
            keys,
            subject: 0,
            groups,
            storms,
            claims,
            signals,
            coverage,
        }
    }

    pub(super) fn delivery_key(&self, alert_id: &str, route: &Route, destination: &str) -> String {
        StateKey::Delivery {
            alert: alert_id.to_string(),
            route: route.name.clone(),
            destination: destination.to_string(),
        }
        .to_string()
    }

    /// Decides `event` (see the module docs). Fails only when the store does;
    /// the caller then fails open.
    #[allow(clippy::too_many_arguments)] // the event, its two halves, and the run's context
    pub(super) async fn decide(
        &self,
        store: &dyn Store,
        event: &GuardDutyEvent,
        alert: &Alert,
        verdict: &mut Verdict,
        routes: &[&Route],
        mutes: &Mutes,
        now: DateTime<Utc>,
        opts: &RunOptions,
    ) -> Result<Decisions, StoreError> {
        let gates: Vec<Option<(Decision, String)>> =
            routes.iter().map(|r| gate(r, alert, mutes)).collect();
        let open: Vec<bool> = gates.iter().map(Option::is_none).collect();
        if !open.iter().any(|o| *o) {
            // Nothing to remember: every route turns this event away.
            verdict.lifecycle = stateless_lifecycle(event, alert);
            let items = self.gated_items(alert, routes, &gates);
            return Ok(Decisions {
                items,
                replayed: false,
            });
        }
        let layout = self.layout(event, alert, routes, &open, now);
        for _ in 0..MAX_ATTEMPTS {
            let read = store.get_many(&layout.keys, now).await?;
            verdict.alerted_before = alerted_before(&layout, &read);
            verdict.coverage_gaps = coverage_gaps(&layout, &read, event, now);
            let mut work = Working {
                keys: &layout.keys,
                read,
                writes: Vec::new(),
            };
            let attempt = match &event.detail {
                Detail::Finding(_) => self.attempt::<FindingState>(
                    event, alert, verdict, routes, &gates, mutes, &layout, &mut work, now, opts,
                )?,
                Detail::Coverage(_) => self.attempt::<IncidentState>(
                    event, alert, verdict, routes, &gates, mutes, &layout, &mut work, now, opts,
                )?,
                Detail::Other => self.attempt::<NoState>(
                    event, alert, verdict, routes, &gates, mutes, &layout, &mut work, now, opts,
                )?,
            };
            let (items, replayed, claim_slots) = attempt;
            if work.writes.is_empty() {
                return Ok(Decisions { items, replayed });
            }
            if let Some(versions) = store.put_all(&work.writes, now).await? {
                let mut items = items;
                for (item, write) in claim_slots {
                    items[item].1 = Ticket::Owned {
                        version: versions[write],
                    };
                }
                return Ok(Decisions { items, replayed });
            }
        }
        Err(StoreError::Unavailable(format!(
            "state for {} kept changing under concurrent runs ({MAX_ATTEMPTS} tries)",
            alert.dedupe_key
        )))
    }

    fn gated_items(
        &self,
        alert: &Alert,
        routes: &[&Route],
        gates: &[Option<(Decision, String)>],
    ) -> Vec<(Decided, Ticket)> {
        let mut items = Vec::new();
        for (route, gated) in routes.iter().zip(gates) {
            let (decision, reason) = gated.clone().unwrap_or((Decision::Dropped, String::new()));
            for destination in &route.destinations {
                items.push((
                    self.decided(route, destination, alert, decision, reason.clone()),
                    Ticket::NotSent,
                ));
            }
        }
        items
    }

    /// One try at deciding from what `work` read. Returns the items, whether
    /// the plan was read back, and (item index, write index) of each claim
    /// this try writes.
    #[allow(clippy::too_many_arguments, clippy::type_complexity)]
    fn attempt<T>(
        &self,
        event: &GuardDutyEvent,
        alert: &Alert,
        verdict: &mut Verdict,
        routes: &[&Route],
        gates: &[Option<(Decision, String)>],
        mutes: &Mutes,
        layout: &Layout,
        work: &mut Working<'_>,
        now: DateTime<Utc>,
        opts: &RunOptions,
    ) -> Result<(Vec<(Decided, Ticket)>, bool, Vec<(usize, usize)>), StoreError>
    where
        T: SubjectState,
    {
        let settings = &self.config.settings;
        let ttl = settings.state_ttl;
        let subject_key = &layout.keys[layout.subject];
        let subject: Option<Subject<T>> = work.read[layout.subject]
            .as_ref()
            .map(|v| parse(subject_key, v))
            .transpose()?;
        let mut claim_slots = Vec::new();

        // A retry, or a copy that lost the race: the plan is already made.
        if let Some(plan) = subject
            .as_ref()
            .and_then(|s| s.plans.iter().find(|p| p.event == event.id))
        {
            verdict.lifecycle = plan.lifecycle;
            verdict.suppressed_since_last = plan.suppressed_since_last;
            verdict.outage_secs = plan.outage_secs;
            let mut items = Vec::new();
            for decided in &plan.deliveries {
                // Found by key: the plan was made by an earlier run (rare path).
                let slot = layout.keys.iter().position(|k| *k == decided.key);
                let ticket = self.ticket(
                    decided,
                    slot,
                    work,
                    opts,
                    now,
                    &mut claim_slots,
                    items.len(),
                );
                items.push((decided.clone(), ticket));
            }
            return Ok((items, true, claim_slots));
        }

        let (mut subject, step) = T::step(subject, event, alert, self, now);
        verdict.lifecycle = step.lifecycle;
        verdict.suppressed_since_last = step.suppressed_since_last;
        verdict.outage_secs = step.outage_secs;
        if verdict.lifecycle == Lifecycle::Opened {
            let names: Vec<String> = routes.iter().map(|r| r.name.clone()).collect();
            subject.state.opened_by(names);
        }

        // Groups and storm counters as read, changed in memory, written once.
        let mut groups: BTreeMap<usize, (Option<GroupState>, bool)> = BTreeMap::new();
        let mut storms: BTreeMap<usize, (Option<StormState>, bool)> = BTreeMap::new();
        let mut items = Vec::new();
        let mut any_sent = false;
        let mut updates_suppressed = false;
        for (r, route) in routes.iter().enumerate() {
            let (decision, reason) = match (&gates[r], layout.groups[r]) {
                (Some(gated), _) => gated.clone(),
                (None, Some(g)) => {
                    let entry = as_read(&mut groups, work, g)?;
                    self.route_decision(route, alert, verdict, &step, entry, now)
                }
                (None, None) => (Decision::Dropped, String::new()),
            };
            if decision == Decision::Suppressed && verdict.lifecycle == Lifecycle::Update {
                updates_suppressed = true;
            }
            for (d, destination) in route.destinations.iter().enumerate() {
                // A silence on this destination alone, then the storm guard
                // (a muted alert does not count against the storm budget).
                let muted = mutes.destination(&route.name, destination);
                let (decision, reason) = match (decision, muted, layout.storms.get(destination)) {
                    (Decision::Sent, Some(silence), _) => {
                        (Decision::Suppressed, crate::silence::reason(silence))
                    }
                    (Decision::Sent, None, Some(&s)) => {
                        let entry = as_read(&mut storms, work, s)?;
                        storm::step(&self.config.settings, entry, destination, alert, now)
                            .unwrap_or((decision, reason.clone()))
                    }
                    _ => (decision, reason.clone()),
                };
                any_sent |= decision == Decision::Sent;
                let decided = self.decided(route, destination, alert, decision, reason);
                let slot = layout.claims.get(&(r, d)).copied();
                let ticket = self.ticket(
                    &decided,
                    slot,
                    work,
                    opts,
                    now,
                    &mut claim_slots,
                    items.len(),
                );
                items.push((decided, ticket));
            }
        }

        // The subject: its next state and this event's plan, in the same write.
        subject
            .state
            .after_decisions(any_sent, updates_suppressed, now);
        subject.plans.push(Plan {
            event: event.id.clone(),
            lifecycle: verdict.lifecycle,
            suppressed_since_last: verdict.suppressed_since_last,
            outage_secs: verdict.outage_secs,
            deliveries: items.iter().map(|(d, _)| d.clone()).collect(),
        });
        if subject.plans.len() > MAX_PLANS {
            let extra = subject.plans.len() - MAX_PLANS;
            subject.plans.drain(..extra);
        }
        let due = subject.state.due(settings.flap_hold);
        work.write(layout.subject, &subject, expiry(now, ttl), due)?;
        for (g, (state, changed)) in groups {
            let Some(state) = state.filter(|_| changed) else {
                continue;
            };
            let due = (state.suppressed > 0).then_some(state.window_end);
            let open_for = state.window_end.signed_duration_since(now).to_std();
            let group_ttl = ttl.max(open_for.unwrap_or_default());
            work.write(g, &state, expiry(now, group_ttl), due)?;
        }
        for (s, (state, changed)) in storms {
            let Some(state) = state.filter(|_| changed) else {
                continue;
            };
            let due = (state.held > 0).then_some(state.window_end);
            work.write(s, &state, expiry(now, ttl), due)?;
        }
        Ok((items, false, claim_slots))
    }

    /// The ticket of one decided delivery, pushing its claim write if this
    /// run is to send it.
    #[allow(clippy::too_many_arguments)]
    fn ticket(
        &self,
        decided: &Decided,
        slot: Option<usize>,
        work: &mut Working<'_>,
        opts: &RunOptions,
        now: DateTime<Utc>,
        claim_slots: &mut Vec<(usize, usize)>,
        item: usize,
    ) -> Ticket {
        if decided.decision != Decision::Sent {
            return Ticket::NotSent;
        }
        if self.dry_run_only(decided, opts) {
            return Ticket::DryRun;
        }
        let Some(index) = slot else {
            return Ticket::Unclaimed;
        };
        match claim_state(work.read[index].as_ref(), &opts.owner, now) {
            Err(settled) => settled,
            Ok(expected) => {
                claim_slots.push((item, work.writes.len()));
                work.writes.push(Write {
                    key: decided.key.clone(),
                    expected,
                    record: claim_record(&opts.owner, now, self.config.settings.state_ttl),
                });
                // Filled in with the written version once the write succeeds.
                Ticket::NotSent
            }
        }
    }

    fn route_decision(
        &self,
        route: &Route,
        alert: &Alert,
        verdict: &mut Verdict,
        step: &Step,
        group: &mut (Option<GroupState>, bool),
        now: DateTime<Utc>,
    ) -> (Decision, String) {
        let sent = |reason: String| (Decision::Sent, reason);
        match verdict.lifecycle {
            Lifecycle::Duplicate => (
                Decision::Suppressed,
                "no change since the last event of this finding (same count and severity)".into(),
            ),
            Lifecycle::Update => match step.notified_at {
                Some(at) if now < expiry(at, route.repeat_interval) => (
                    Decision::Suppressed,
                    format!(
                        "count bump within the repeat interval ({}); counted for the next message",
                        human(route.repeat_interval)
                    ),
                ),
                _ => sent(format!(
                    "still active after the repeat interval ({})",
                    human(route.repeat_interval)
                )),
            },
            Lifecycle::Escalation => sent(format!(
                "severity rose from {} to {}",
                step.previous_band.map_or("unknown", Band::as_str),
                alert.band.as_str()
            )),
            Lifecycle::Archived => sent("archived in GuardDuty: sent at once, not grouped".into()),
            Lifecycle::Repeat => (
                Decision::Suppressed,
                "coverage incident already open (or flapping); counted".into(),
            ),
            Lifecycle::Recovered => (
                Decision::Dropped,
                "Healthy with no open incident for this resource".into(),
            ),
            Lifecycle::Resolving => (
                Decision::Grouped,
                format!(
                    "resolved message held for the flap hold ({}); the digest sends it",
                    human(self.config.settings.flap_hold)
                ),
            ),
            Lifecycle::Resolved => sent("coverage restored: closes the open incident".into()),
            Lifecycle::New
            | Lifecycle::Sample
            | Lifecycle::Opened
            | Lifecycle::Other
            | Lifecycle::Digest => group::step(route, alert, verdict, group, now),
        }
    }
}

/// The sequence's findings whose records say an alert was sent, labelled
/// with when (`notified_at` of their finding state).
fn alerted_before(layout: &Layout, read: &[Option<Versioned>]) -> Vec<String> {
    layout
        .signals
        .iter()
        .filter_map(|(index, label)| {
            let record = read.get(*index)?.as_ref()?;
            let state: FindingState = serde_json::from_value(record.record.value.clone()).ok()?;
            let at = state.notified_at?;
            Some(format!(
                "{label} · alerted {}",
                at.format("%Y-%m-%d %H:%M UTC")
            ))
        })
        .collect()
}

/// The resources whose coverage a finding depends on, as coverage events
/// name them: its ECS or EKS cluster, and its instance.
fn covered_resources(alert: &Alert) -> Vec<(gdalert_event::CoverageResource, String)> {
    use gdalert_event::CoverageResource;
    let mut out = Vec::new();
    let r = &alert.resource;
    if let Some(cluster) = r.cluster.clone() {
        match r.platform.as_deref() {
            Some(p) if p.starts_with("ECS") => out.push((
                CoverageResource::EcsCluster {
                    name: cluster.clone(),
                },
                format!("ECS cluster {cluster}"),
            )),
            Some("EKS") => out.push((
                CoverageResource::EksCluster {
                    name: cluster.clone(),
                },
                format!("EKS cluster {cluster}"),
            )),
            _ => {}
        }
    }
    if let Some(instance) = r.instance.clone() {
        out.push((
            CoverageResource::Ec2Instance {
                instance_id: instance.clone(),
                cluster_arn: None,
            },
            format!("instance {instance}"),
        ));
    }
    out
}

/// What the coverage incidents read say about the finding: coverage lost
/// now, or lost during the finding's activity (first to last seen).
fn coverage_gaps(
    layout: &Layout,
    read: &[Option<Versioned>],
    event: &GuardDutyEvent,
    now: DateTime<Utc>,
) -> Vec<String> {
    let Detail::Finding(finding) = &event.detail else {
        return Vec::new();
    };
    let last = finding
        .service
        .event_last_seen
        .or(finding.updated_at)
        .map_or(now, |t| t.0);
    let first = finding.service.event_first_seen.map_or(last, |t| t.0);
    let time = |t: DateTime<Utc>| t.format("%Y-%m-%d %H:%M UTC").to_string();
    layout
        .coverage
        .iter()
        .filter_map(|(index, what)| {
            let record = read.get(*index)?.as_ref()?;
            let state: IncidentState =
                serde_json::from_value(record.record.value.clone()).ok()?;
            let restored = match state.status {
                crate::lifecycle::IncidentStatus::Open => None,
                _ => Some(state.resolving_since?),
            };
            match restored {
                None => Some(format!(
                    "runtime coverage of {what} is lost now (since {}): activity there is not being observed",
                    time(state.opened_at)
                )),
                Some(back) if state.opened_at <= last && back >= first => Some(format!(
                    "runtime coverage of {what} was lost {} to {}: activity then was not observed",
                    time(state.opened_at),
                    time(back)
                )),
                _ => None,
            }
        })
        .collect()
}
