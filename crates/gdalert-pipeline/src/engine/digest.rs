//! The digest run: what was held back, sent as summaries.
//!
//! Every due record is one of four kinds ([`StateKey`] says which): a route's
//! group window with alerts held, a destination's storm window with alerts
//! held, a silence's count of what it muted (see [`super::muted`]), or a
//! coverage incident whose resolved message waited for the flap hold. Beside
//! them, each silence that ends within a day is announced once. Summaries
//! are combined into **one digest per destination per run**, so a storm of
//! many finding types on one cluster gives each destination one message (and
//! PagerDuty one incident), not one per group.
//!
//! A record is cleared only after every destination it feeds has its
//! message: a destination that fails leaves it due, the next run sends it
//! again under the same claim key, and the destinations that already have it
//! are not posted to twice. Clearing subtracts what was sent, so alerts held
//! while the digest was being delivered wait for the next one.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};

use crate::alert::{Alert, AlertKind, Item, Section, HELD_BACK, MUTED};
use crate::lifecycle::{IncidentState, IncidentStatus, Lifecycle};
use crate::severity::Band;
use crate::silence::Silence;
use crate::store::{Store, StoreError, Versioned};

use super::decide::{parse, record};
use super::group::{GroupState, MAX_TITLES};
use super::muted::MutedState;
use super::report::{Report, Status};
use super::storm::StormState;
use super::subject::Subject;
use super::{human, Decided, Decision, Pipeline, RunOptions, Sender, StateKey, MAX_ATTEMPTS};

/// One held summary and the destinations it goes to.
#[derive(Debug)]
struct Held {
    key: String,
    version: u64,
    expires_at: DateTime<Utc>,
    summary: Summary,
    destinations: Vec<String>,
    due_stamp: i64,
}

#[derive(Debug, Clone)]
enum Summary {
    Group(GroupState),
    Storm(StormState),
    Muted(MutedState),
    /// A silence that ends within a day (announced once).
    Ending(Silence),
}

impl Held {
    fn count(&self) -> u64 {
        match &self.summary {
            Summary::Group(g) => g.suppressed,
            Summary::Storm(s) => s.held,
            Summary::Muted(m) => m.muted,
            Summary::Ending(_) => 0,
        }
    }

    /// Whether there is something to say.
    fn worth_sending(&self) -> bool {
        self.count() > 0 || matches!(self.summary, Summary::Ending(_))
    }

    /// The titles it lists, under which heading.
    fn titles(&self) -> (&'static str, &[String]) {
        match &self.summary {
            Summary::Group(g) => (HELD_BACK, &g.titles),
            Summary::Storm(s) => (HELD_BACK, &s.titles),
            Summary::Muted(m) => (MUTED, &m.titles),
            Summary::Ending(_) => (MUTED, &[]),
        }
    }

    fn title(&self) -> String {
        match &self.summary {
            Summary::Group(g) => format!("{} more alert(s) like: {}", g.suppressed, g.first_title),
            Summary::Storm(s) => {
                format!(
                    "Alert storm: {} alert(s) held for {}",
                    s.held, s.destination
                )
            }
            Summary::Muted(m) => format!("Muted by silence {}: {} alert(s)", m.silence, m.muted),
            Summary::Ending(s) => format!(
                "Silence {} ends {}",
                s.id,
                s.expires_at.format("%Y-%m-%d %H:%M UTC")
            ),
        }
    }

    fn line(&self, storm_threshold: u32) -> String {
        match &self.summary {
            Summary::Muted(m) => format!(
                "{} alert(s) were not sent since {}: {}.",
                m.muted,
                m.since.format("%Y-%m-%d %H:%M UTC"),
                m.about
            ),
            Summary::Ending(s) => format!(
                "Silence {} ({}; owner {}) mutes {} on {}. After it ends these alerts are sent again; if it is still needed, its owner adds a new one with `gdalert silence add`.",
                s.id,
                s.reason,
                s.owner,
                s.pattern,
                s.scope()
            ),
            Summary::Group(g) => format!(
                "{} alert(s) in this group were held back since {} so the channel is not flooded.",
                g.suppressed,
                g.since.format("%Y-%m-%d %H:%M UTC")
            ),
            Summary::Storm(s) => format!(
                "More than {storm_threshold} alerts went to this destination between {} and {}; these were summarised instead.",
                s.window_start.format("%H:%M"),
                s.window_end.format("%H:%M UTC")
            ),
        }
    }
}

/// FNV-1a: a digest's identity must be the same in every build and process.
pub(super) fn fingerprint(parts: impl IntoIterator<Item = String>) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for byte in part.bytes().chain([0]) {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    format!("{hash:016x}")
}

impl Pipeline {
    /// Sends the summaries due at `now`: one digest per destination for the
    /// group and storm windows that held alerts, and the resolved messages
    /// held for the flap hold (see the module docs).
    pub async fn run_digest(
        &self,
        store: &dyn Store,
        sender: &dyn Sender,
        now: DateTime<Utc>,
        opts: &RunOptions,
    ) -> Result<Vec<Report>, StoreError> {
        let mut reports = Vec::new();
        let mut held = Vec::new();
        for (key, versioned) in store.due(now, 1000).await? {
            let due_stamp = versioned.record.due_at.map_or(0, |d| d.timestamp());
            let summary = match StateKey::parse(&key) {
                Some(StateKey::Group { .. }) => {
                    parse::<GroupState>(&key, &versioned).map(Summary::Group)
                }
                Some(StateKey::Storm { .. }) => {
                    parse::<StormState>(&key, &versioned).map(Summary::Storm)
                }
                Some(StateKey::Muted { .. }) => {
                    parse::<MutedState>(&key, &versioned).map(Summary::Muted)
                }
                Some(k) if k.is_coverage() => {
                    if let Some(report) = self
                        .resolve_incident(store, sender, &key, versioned, now, opts)
                        .await?
                    {
                        reports.push(report);
                    }
                    continue;
                }
                _ => continue,
            };
            let summary = match summary {
                Ok(summary) => summary,
                Err(e) => {
                    tracing::warn!(key = %key, error = %e, "unreadable digest record skipped");
                    continue;
                }
            };
            let destinations = match &summary {
                Summary::Group(g) => self
                    .config
                    .route(&g.route)
                    .map(|r| r.destinations.clone())
                    .unwrap_or_default(),
                Summary::Storm(s) => vec![s.destination.clone()],
                Summary::Muted(m) => m.destinations.iter().cloned().collect(),
                Summary::Ending(_) => Vec::new(),
            };
            let item = Held {
                key,
                version: versioned.version,
                expires_at: versioned.record.expires_at,
                summary,
                destinations,
                due_stamp,
            };
            if item.worth_sending() {
                held.push(item);
            }
        }
        held.extend(self.ending_silences(store, now).await);

        let mut by_destination: BTreeMap<&str, Vec<&Held>> = BTreeMap::new();
        for item in &held {
            for d in &item.destinations {
                by_destination.entry(d.as_str()).or_default().push(item);
            }
        }
        let mut delivered: BTreeSet<String> = BTreeSet::new();
        for (destination, items) in by_destination {
            let report = self
                .send_digest(store, sender, destination, &items, now, opts)
                .await;
            if report.deliveries.iter().all(|d| delivered_ok(d.status)) {
                delivered.insert(destination.to_string());
            }
            reports.push(report);
        }
        for item in &held {
            if item.destinations.iter().all(|d| delivered.contains(d)) {
                self.clear(store, item, now).await?;
            }
        }
        Ok(reports)
    }

    async fn send_digest(
        &self,
        store: &dyn Store,
        sender: &dyn Sender,
        destination: &str,
        items: &[&Held],
        now: DateTime<Utc>,
        opts: &RunOptions,
    ) -> Report {
        let threshold = self.config.settings.storm_threshold;
        let total: u64 = items.iter().map(|i| i.count()).sum();
        let id = format!(
            "digest/{destination}/{}",
            fingerprint(items.iter().map(|i| format!("{}@{}", i.key, i.due_stamp)))
        );
        let (title, meaning) = match items {
            [one] => (one.title(), one.line(threshold)),
            _ => (
                format!("{total} alert(s) held back ({} summaries)", items.len()),
                items
                    .iter()
                    .map(|i| format!("{}: {}", i.title(), i.line(threshold)))
                    .collect::<Vec<_>>()
                    .join(" "),
            ),
        };
        let mut lists: BTreeMap<&str, (Vec<String>, u64)> = BTreeMap::new();
        for item in items {
            let (heading, titles) = item.titles();
            let (list, count) = lists.entry(heading).or_default();
            list.extend(
                titles
                    .iter()
                    .take(MAX_TITLES - list.len().min(MAX_TITLES))
                    .cloned(),
            );
            *count += item.count();
        }
        let alert = digest_alert(&id, title, meaning, total, lists);
        let decided = Decided {
            route: "digest".into(),
            destination: destination.to_string(),
            decision: Decision::Sent,
            reason: format!("digest of {total} held alert(s)"),
            key: StateKey::Delivery {
                alert: id.clone(),
                route: "digest".into(),
                destination: destination.to_string(),
            }
            .to_string(),
        };
        self.send_own(store, alert, vec![decided], sender, opts, now)
            .await
    }

    /// Takes what was sent out of a summary record, keeping what was held
    /// since. The first try writes against the version the due read gave.
    async fn clear(
        &self,
        store: &dyn Store,
        item: &Held,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        if let Summary::Ending(silence) = &item.summary {
            let id = silence.id.clone();
            let marked = crate::silence::update(store, now, |list| {
                if let Some(s) = list.silences.iter_mut().find(|s| s.id == id) {
                    s.announced_at = Some(now);
                }
                Ok(())
            })
            .await;
            if let Err(e) = marked {
                tracing::warn!(silence = %silence.id, error = %e, "silence end announced but not marked: it may be announced again");
            }
            return Ok(());
        }
        let mut version = item.version;
        let mut expires_at = item.expires_at;
        let mut current = item.summary.clone();
        for _ in 0..MAX_ATTEMPTS {
            let next = match (&item.summary, current) {
                (Summary::Group(taken), Summary::Group(mut g)) => {
                    g.suppressed = g.suppressed.saturating_sub(taken.suppressed);
                    g.titles.drain(..taken.titles.len().min(g.titles.len()));
                    let due = (g.suppressed > 0).then_some(g.window_end);
                    record(&item.key, &g, expires_at, due)?
                }
                (Summary::Storm(taken), Summary::Storm(mut st)) => {
                    st.held = st.held.saturating_sub(taken.held);
                    st.titles.drain(..taken.titles.len().min(st.titles.len()));
                    let due = (st.held > 0).then_some(st.window_end);
                    record(&item.key, &st, expires_at, due)?
                }
                (Summary::Muted(taken), Summary::Muted(mut m)) => {
                    m.muted = m.muted.saturating_sub(taken.muted);
                    m.titles.drain(..taken.titles.len().min(m.titles.len()));
                    // Counted since the report began: reported at the next run.
                    let due = (m.muted > 0).then_some(m.report_at);
                    record(&item.key, &m, expires_at, due)?
                }
                _ => return Ok(()),
            };
            if store.put(&item.key, Some(version), next, now).await? {
                return Ok(());
            }
            let Some(read) = store.get(&item.key, now).await? else {
                return Ok(());
            };
            version = read.version;
            expires_at = read.record.expires_at;
            current = match &item.summary {
                Summary::Group(_) => Summary::Group(parse(&item.key, &read)?),
                Summary::Storm(_) => Summary::Storm(parse(&item.key, &read)?),
                Summary::Muted(_) => Summary::Muted(parse(&item.key, &read)?),
                Summary::Ending(_) => return Ok(()),
            };
        }
        Ok(())
    }
}

pub(super) fn delivered_ok(status: Status) -> bool {
    matches!(
        status,
        Status::Sent | Status::AlreadyDelivered | Status::DryRun
    )
}

/// The alert of a digest: one list of titles per heading (held back,
/// muted), each with the count of alerts it stands for.
fn digest_alert(
    id: &str,
    title: String,
    meaning: String,
    count: u64,
    lists: BTreeMap<&str, (Vec<String>, u64)>,
) -> Alert {
    let mut alert = Alert::summary(id, title, meaning);
    alert.kind = AlertKind::Digest;
    alert.verdict.lifecycle = Lifecycle::Digest;
    alert.band = Band::Informational;
    alert.count = Some(count);
    alert.verdict.suppressed_since_last = count;
    for (heading, (titles, count)) in lists {
        if titles.is_empty() {
            continue;
        }
        let shown = titles.len();
        alert.sections.push(Section {
            heading: heading.into(),
            items: titles
                .into_iter()
                .map(|title| Item {
                    lead: String::new(),
                    text: title,
                })
                .collect(),
            left_out: usize::try_from(count)
                .unwrap_or(usize::MAX)
                .saturating_sub(shown),
        });
    }
    alert
}

impl Pipeline {
    /// The silences ending within a day not announced yet, each with the
    /// destinations to tell: those of its scope, else those its count says
    /// it muted. A store that cannot answer delays the announcement.
    async fn ending_silences(&self, store: &dyn Store, now: DateTime<Utc>) -> Vec<Held> {
        let list = match crate::silence::load(store, now).await {
            Ok((list, _)) => list,
            Err(e) => {
                tracing::warn!(error = %e, "silences unreadable: endings not announced this run");
                return Vec::new();
            }
        };
        let mut held = Vec::new();
        for silence in list.silences.into_iter().filter(|s| s.ends_soon(now)) {
            let destinations = match (&silence.destination, &silence.route) {
                (Some(d), _) => vec![d.clone()],
                (None, Some(r)) => self
                    .config
                    .route(r)
                    .map(|r| r.destinations.clone())
                    .unwrap_or_default(),
                (None, None) => {
                    let key = StateKey::Muted {
                        silence: silence.id.clone(),
                    }
                    .to_string();
                    match store.get(&key, now).await {
                        Ok(Some(v)) => parse::<MutedState>(&key, &v)
                            .map(|m| m.destinations.into_iter().collect())
                            .unwrap_or_default(),
                        _ => Vec::new(),
                    }
                }
            };
            if destinations.is_empty() {
                // It muted nothing anywhere: nobody to tell.
                continue;
            }
            held.push(Held {
                key: format!("{}#ending/{}", StateKey::Silences, silence.id),
                version: 0,
                expires_at: silence.expires_at,
                due_stamp: silence.expires_at.timestamp(),
                summary: Summary::Ending(silence),
                destinations,
            });
        }
        held
    }
}

impl Pipeline {
    /// Sends the resolved message an incident held for the flap hold, then
    /// closes the incident once every destination has it.
    async fn resolve_incident(
        &self,
        store: &dyn Store,
        sender: &dyn Sender,
        key: &str,
        versioned: Versioned,
        now: DateTime<Utc>,
        opts: &RunOptions,
    ) -> Result<Option<Report>, StoreError> {
        let subject: Subject<IncidentState> = match parse(key, &versioned) {
            Ok(subject) => subject,
            Err(e) => {
                tracing::warn!(key = %key, error = %e, "unreadable incident record skipped");
                return Ok(None);
            }
        };
        let incident = subject.state.clone();
        if incident.status != IncidentStatus::Resolving {
            return Ok(None);
        }
        let due_stamp = versioned.record.due_at.map_or(0, |d| d.timestamp());
        let opening = incident
            .opening
            .clone()
            .and_then(|v| serde_json::from_value::<Alert>(v).ok());
        let report = match opening {
            Some(mut alert) => {
                let hold = self.config.settings.flap_hold;
                let resolved_at = incident.resolving_since.unwrap_or(now);
                alert.kind = AlertKind::CoverageRestored;
                alert.verdict.lifecycle = Lifecycle::Resolved;
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
                alert.verdict.outage_secs = (resolved_at - incident.opened_at)
                    .to_std()
                    .ok()
                    .map(|d| d.as_secs());
                alert.verdict.suppressed_since_last = incident.repeats + incident.flaps;
                let reason = format!("coverage stayed back for the flap hold ({})", human(hold));
                let mut decided = Vec::new();
                for name in &incident.routes {
                    if let Some(route) = self.config.route(name) {
                        for d in &route.destinations {
                            decided.push(self.decided(
                                route,
                                d,
                                &alert,
                                Decision::Sent,
                                reason.clone(),
                            ));
                        }
                    }
                }
                Some(
                    self.send_own(store, alert, decided, sender, opts, now)
                        .await,
                )
            }
            None => None,
        };
        if report
            .as_ref()
            .is_some_and(|r| !r.deliveries.iter().all(|d| delivered_ok(d.status)))
        {
            // Stays due: the next run sends it to the destinations still missing it.
            return Ok(report);
        }
        let mut subject = subject;
        let mut version = versioned.version;
        let mut expires_at = versioned.record.expires_at;
        for _ in 0..MAX_ATTEMPTS {
            subject.state.status = IncidentStatus::Closed;
            let next = record(key, &subject, expires_at, None)?;
            if store.put(key, Some(version), next, now).await? {
                break;
            }
            // Changed meanwhile: close it only if it is still the same resolution.
            let Some(read) = store.get(key, now).await? else {
                break;
            };
            let fresh: Subject<IncidentState> = parse(key, &read)?;
            if fresh.state.status != IncidentStatus::Resolving
                || fresh.state.resolving_since != incident.resolving_since
            {
                break;
            }
            version = read.version;
            expires_at = read.record.expires_at;
            subject = fresh;
        }
        Ok(report)
    }
}
