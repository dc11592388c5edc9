//! The coverage report: resources GuardDuty says are unmonitored now, sent
//! to `settings.coverage_report_route`'s destinations.
//!
//! One record (`coverage-report/all`) remembers when each unhealthy
//! resource was last reported. A run reports the unhealthy resources not
//! reported within `coverage_report_every` (new ones at once, ones that
//! stay unhealthy once per period), so the digest function can ask
//! GuardDuty every few minutes without repeating itself. A resource that is
//! healthy again is forgotten: if it is lost again, it is new again.
//!
//! The report is remembered only once every destination has it; a failed
//! destination leaves it to the next run, under the same claim keys (the
//! report's id is the set of resources it names, each with when it was last
//! reported), so the ones that have it are not posted to twice.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::alert::{Alert, AlertKind, Item, Section};
use crate::coverage::CoverageResource;
use crate::lifecycle::Lifecycle;
use crate::severity::Band;
use crate::store::{expiry, Store, StoreError};

use super::decide::{parse, record};
use super::digest::{delivered_ok, fingerprint};
use super::report::Report;
use super::{Decided, Decision, Pipeline, RunOptions, Sender, StateKey, MAX_ATTEMPTS};

/// Groups (account and cluster) a report lists; the rest are counted.
const MAX_GROUPS: usize = 10;

/// Resources remembered; past this the oldest reports are forgotten (and
/// may be reported again sooner).
const MAX_REMEMBERED: usize = 5000;

/// When each unhealthy resource was last reported.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct Reported {
    resources: BTreeMap<String, DateTime<Utc>>,
}

impl Pipeline {
    /// Reports the unhealthy `resources` due for a report (see the module
    /// docs). `None` when no report is configured or none is due.
    pub async fn run_coverage_report(
        &self,
        store: &dyn Store,
        sender: &dyn Sender,
        resources: &[CoverageResource],
        now: DateTime<Utc>,
        opts: &RunOptions,
    ) -> Result<Option<Report>, StoreError> {
        let settings = &self.config.settings;
        let Some(route) = settings
            .coverage_report_route
            .as_deref()
            .and_then(|name| self.config.route(name))
        else {
            return Ok(None);
        };
        let every = chrono::Duration::from_std(settings.coverage_report_every)
            .unwrap_or(chrono::Duration::days(1));
        let key = StateKey::CoverageReport.to_string();
        let read = store.get(&key, now).await?;
        let mut version = read.as_ref().map(|v| v.version);
        let mut reported: Reported = match &read {
            Some(v) => parse(&key, v).unwrap_or_default(),
            None => Reported::default(),
        };
        let mut unhealthy: Vec<&CoverageResource> =
            resources.iter().filter(|r| !r.healthy).collect();
        unhealthy.sort_by_cached_key(|r| (r.account_id.clone(), r.place(), r.resource_id.clone()));
        let unhealthy_keys: std::collections::BTreeSet<String> =
            unhealthy.iter().map(|r| r.key()).collect();
        let due: Vec<&CoverageResource> = unhealthy
            .iter()
            .copied()
            .filter(|r| {
                reported
                    .resources
                    .get(&r.key())
                    .is_none_or(|at| *at + every <= now)
            })
            .collect();

        let mut report = None;
        if !due.is_empty() {
            // The same report until it is remembered (a retry's claims
            // match), a new one after: each resource with its last report.
            let id = format!(
                "coverage-report/{}",
                fingerprint(due.iter().map(|r| {
                    let last = reported.resources.get(&r.key()).map(|t| t.timestamp());
                    format!("{}@{}", r.key(), last.unwrap_or(0))
                }))
            );
            let alert = report_alert(&id, &due, unhealthy.len(), settings.coverage_report_every);
            let decided: Vec<Decided> = route
                .destinations
                .iter()
                .map(|d| self.decided(route, d, &alert, Decision::Sent, "coverage report".into()))
                .collect();
            let sent = self
                .send_own(store, alert, decided, sender, opts, now)
                .await;
            let all_sent = sent.deliveries.iter().all(|d| delivered_ok(d.status));
            report = Some(sent);
            if !all_sent || opts.dry_run {
                // The next run sends it again where it is missing.
                return Ok(report);
            }
        }

        // Remember what was reported; forget what is healthy again.
        for _ in 0..MAX_ATTEMPTS {
            let before = reported.clone();
            reported.resources.retain(|k, _| unhealthy_keys.contains(k));
            for r in &due {
                reported.resources.insert(r.key(), now);
            }
            if let Some(extra) = reported.resources.len().checked_sub(MAX_REMEMBERED) {
                let mut by_age: Vec<(DateTime<Utc>, String)> = reported
                    .resources
                    .iter()
                    .map(|(k, at)| (*at, k.clone()))
                    .collect();
                by_age.sort_unstable();
                for (_, k) in by_age.into_iter().take(extra) {
                    reported.resources.remove(&k);
                }
            }
            if reported == before && version.is_some() {
                break;
            }
            let ttl = expiry(now, self.config.settings.state_ttl);
            if store
                .put(&key, version, record(&key, &reported, ttl, None)?, now)
                .await?
            {
                break;
            }
            let Some(fresh) = store.get(&key, now).await? else {
                version = None;
                continue;
            };
            version = Some(fresh.version);
            reported = parse(&key, &fresh).unwrap_or_default();
        }
        Ok(report)
    }
}

/// The report: resources grouped by account and cluster, each with
/// GuardDuty's reason.
fn report_alert(
    id: &str,
    due: &[&CoverageResource],
    unhealthy: usize,
    every: std::time::Duration,
) -> Alert {
    let again = unhealthy - due.len();
    let title = if again == 0 {
        format!("Runtime coverage: {} resource(s) not monitored", due.len())
    } else {
        format!(
            "Runtime coverage: {} resource(s) not monitored ({} reported before)",
            due.len(),
            again
        )
    };
    let meaning = format!(
        "GuardDuty's coverage API lists these resources as unhealthy now: runtime activity there is not observed, so no runtime finding can come from them. A resource still unhealthy is listed again after {}.",
        super::human(every)
    );
    let mut alert = Alert::summary(id, title, meaning);
    alert.kind = AlertKind::CoverageReport;
    alert.verdict.lifecycle = Lifecycle::Other;
    alert.band = Band::Medium;
    alert.count = Some(due.len() as u64);
    let accounts: std::collections::BTreeSet<&str> =
        due.iter().map(|r| r.account_id.as_str()).collect();
    if let [one] = accounts.into_iter().collect::<Vec<_>>()[..] {
        alert.account_id = one.to_string();
    }
    alert.triage = vec![
        "Fargate tasks started before Runtime Monitoring was enabled are covered only once replaced: force a new deployment of their services.".into(),
        "A sidecar that could not be pulled: check the task execution role and the VPC endpoints (or NAT) to ECR.".into(),
        "EKS: check the GuardDuty add-on's status; EC2: check the SSM agent and the GuardDuty agent.".into(),
        "GuardDuty console: Runtime Monitoring, Runtime coverage, for the full list.".into(),
    ];
    let mut groups: BTreeMap<(String, String), Vec<Item>> = BTreeMap::new();
    for r in due {
        let issue = if r.issues.is_empty() {
            "unhealthy, no reason given".to_string()
        } else {
            r.issues.join("; ")
        };
        groups
            .entry((r.account_id.clone(), r.place()))
            .or_default()
            .push(Item {
                lead: r.resource_id.clone(),
                text: issue,
            });
    }
    let total_groups = groups.len();
    for ((account, place), items) in groups.into_iter().take(MAX_GROUPS) {
        alert
            .sections
            .push(Section::of(format!("Account {account} · {place}"), items));
    }
    if total_groups > MAX_GROUPS {
        alert.sections.push(Section {
            heading: "Other clusters".into(),
            items: Vec::new(),
            left_out: total_groups - MAX_GROUPS,
        });
    }
    alert
}
