//! Sending what was decided, each delivery under a claim so it happens once.
//!
//! A claim is a record under [`StateKey::Delivery`]: `claimed` (with an owner
//! and a lease), `done` (with the receiver's receipt) or `released`. The
//! event path takes its claims in the same atomic write as its decision (see
//! [`super::decide`]); digests and the fallback notice take theirs here, with
//! one read and one write for all their destinations.

use chrono::{DateTime, Utc};
use serde_json::json;

use crate::alert::Alert;
use crate::config::Destination;
use crate::render;
use crate::store::{claim_settled, expiry, Claim, Record, Store, StoreError, Versioned, Write};

use super::report::{DeliveryReport, Report, Status};
use super::{Decided, Decision, Failure, Pipeline, RunOptions, Sender, LEASE};

/// Where one decided delivery stands before sending.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Ticket {
    /// This run holds the claim, written at `version`: send, then complete.
    Owned { version: u64 },
    /// No claim could be taken (the store failed): send anyway, say so.
    Unclaimed,
    /// An earlier run delivered it.
    Done { receipt: String },
    /// Another run holds a live lease on it.
    Busy { until: DateTime<Utc> },
    /// Dry run and a remote destination: render only.
    DryRun,
    /// Not a `sent` decision.
    NotSent,
}

/// What a claim record read says: deliverable (writing at the version to
/// expect), or already settled (see [`crate::store::claim_settled`]).
pub(super) fn claim_state(
    read: Option<&Versioned>,
    owner: &str,
    now: DateTime<Utc>,
) -> Result<Option<u64>, Ticket> {
    let Some(current) = read else { return Ok(None) };
    match claim_settled(current, owner, now) {
        Some(Claim::Done { receipt }) => Err(Ticket::Done { receipt }),
        Some(Claim::Busy { until }) => Err(Ticket::Busy { until }),
        Some(Claim::Won) | None => Ok(Some(current.version)),
    }
}

/// The record that claims a delivery for `owner`.
pub(super) fn claim_record(owner: &str, now: DateTime<Utc>, ttl: std::time::Duration) -> Record {
    let until = expiry(now, LEASE);
    Record {
        value: json!({"state": "claimed", "owner": owner, "until": until.to_rfc3339()}),
        expires_at: expiry(now, ttl),
        due_at: None,
    }
}

impl Pipeline {
    /// Whether `decided` goes to a remote destination that a dry run only renders.
    pub(super) fn dry_run_only(&self, decided: &Decided, opts: &RunOptions) -> bool {
        opts.dry_run
            && self
                .config
                .destinations
                .get(&decided.destination)
                .is_some_and(|d| d.kind().is_remote())
    }

    /// A message of gdalert's own (a digest, a held resolved message, the
    /// coverage report) sent through [`Pipeline::deliver_claimed`], as a
    /// report.
    pub(super) async fn send_own(
        &self,
        store: &dyn Store,
        alert: Alert,
        decided: Vec<Decided>,
        sender: &dyn Sender,
        opts: &RunOptions,
        now: DateTime<Utc>,
    ) -> Report {
        let (deliveries, store_error) = self
            .deliver_claimed(store, &alert, decided, sender, opts, now)
            .await;
        Report {
            alert,
            deliveries,
            replayed: false,
            store_error,
            fallback: None,
            silences: Default::default(),
        }
    }

    /// Claims (one read, one write for all) and sends `decided`: the path of
    /// digests and the fallback notice.
    pub(super) async fn deliver_claimed(
        &self,
        store: &dyn Store,
        alert: &Alert,
        decided: Vec<Decided>,
        sender: &dyn Sender,
        opts: &RunOptions,
        now: DateTime<Utc>,
    ) -> (Vec<DeliveryReport>, Option<StoreError>) {
        match self.claim_all(store, &decided, opts, now).await {
            Ok(tickets) => {
                let items = decided.into_iter().zip(tickets).collect();
                (
                    self.send_all(store, alert, items, sender, opts, now).await,
                    None,
                )
            }
            Err(e) => {
                let items = decided
                    .into_iter()
                    .map(|d| {
                        let ticket = self.unclaimed_ticket(&d, opts);
                        (d, ticket)
                    })
                    .collect();
                let mut marked = alert.clone();
                marked.verdict.dedupe_unavailable = true;
                (
                    self.send_all(store, &marked, items, sender, opts, now)
                        .await,
                    Some(e),
                )
            }
        }
    }

    /// The ticket of a decision when no claim can be taken.
    pub(super) fn unclaimed_ticket(&self, decided: &Decided, opts: &RunOptions) -> Ticket {
        if decided.decision != Decision::Sent {
            Ticket::NotSent
        } else if self.dry_run_only(decided, opts) {
            Ticket::DryRun
        } else {
            Ticket::Unclaimed
        }
    }

    async fn claim_all(
        &self,
        store: &dyn Store,
        decided: &[Decided],
        opts: &RunOptions,
        now: DateTime<Utc>,
    ) -> Result<Vec<Ticket>, StoreError> {
        let ttl = self.config.settings.state_ttl;
        let keys: Vec<String> = decided.iter().map(|d| d.key.clone()).collect();
        for _ in 0..super::MAX_ATTEMPTS {
            let read = store.get_many(&keys, now).await?;
            let mut tickets = Vec::with_capacity(decided.len());
            let mut writes = Vec::new();
            let mut owned = Vec::new();
            for (i, (d, current)) in decided.iter().zip(&read).enumerate() {
                if d.decision != Decision::Sent {
                    tickets.push(Ticket::NotSent);
                } else if self.dry_run_only(d, opts) {
                    tickets.push(Ticket::DryRun);
                } else {
                    match claim_state(current.as_ref(), &opts.owner, now) {
                        Err(settled) => tickets.push(settled),
                        Ok(expected) => {
                            owned.push(i);
                            writes.push(Write {
                                key: d.key.clone(),
                                expected,
                                record: claim_record(&opts.owner, now, ttl),
                            });
                            tickets.push(Ticket::NotSent);
                        }
                    }
                }
            }
            if writes.is_empty() {
                return Ok(tickets);
            }
            if let Some(versions) = store.put_all(&writes, now).await? {
                for (i, version) in owned.into_iter().zip(versions) {
                    tickets[i] = Ticket::Owned { version };
                }
                return Ok(tickets);
            }
        }
        Err(StoreError::Unavailable(
            "delivery claims kept changing under concurrent runs".into(),
        ))
    }

    /// Sends every ticketed decision, all destinations concurrently, each
    /// within its sender's own deadline; completes or releases the claims.
    pub(super) async fn send_all(
        &self,
        store: &dyn Store,
        alert: &Alert,
        items: Vec<(Decided, Ticket)>,
        sender: &dyn Sender,
        opts: &RunOptions,
        now: DateTime<Utc>,
    ) -> Vec<DeliveryReport> {
        let sends = items
            .into_iter()
            .map(|item| self.send_one(store, alert, item, sender, opts.deadline, now));
        futures_util::future::join_all(sends).await
    }

    async fn send_one(
        &self,
        store: &dyn Store,
        alert: &Alert,
        (decided, ticket): (Decided, Ticket),
        sender: &dyn Sender,
        deadline: Option<std::time::Instant>,
        now: DateTime<Utc>,
    ) -> DeliveryReport {
        let destination = self.config.destinations.get(&decided.destination);
        let mut report = DeliveryReport {
            kind: destination.map(|d| d.kind()),
            decision: decided.decision,
            status: Status::of_decision(decided.decision),
            reason: decided.reason.clone(),
            receipt: None,
            error: None,
            payload: None,
            template_errors: Vec::new(),
            route: decided.route.clone(),
            destination: decided.destination.clone(),
        };
        let version = match ticket {
            Ticket::NotSent => return report,
            Ticket::Done { receipt } => {
                report.status = Status::AlreadyDelivered;
                report.reason = format!("already delivered by an earlier run ({receipt})");
                report.receipt = Some(receipt);
                return report;
            }
            Ticket::Busy { until } => {
                return failed(
                    report,
                    Failure::retry(format!(
                        "another run is delivering this until {until}; retry after it"
                    )),
                )
            }
            Ticket::Owned { version } => Some(version),
            Ticket::Unclaimed | Ticket::DryRun => None,
        };
        let Some(destination) = destination else {
            self.release(store, &decided, version, now).await;
            return failed(
                report,
                Failure::fatal(format!(
                    "destination {:?} is not configured",
                    decided.destination
                )),
            );
        };
        let marked;
        let alert = if ticket == Ticket::Unclaimed && !alert.verdict.dedupe_unavailable {
            let mut copy = alert.clone();
            copy.verdict.dedupe_unavailable = true;
            marked = copy;
            &marked
        } else {
            alert
        };
        let payload = match render::render_noting(alert, destination) {
            Ok(rendered) => {
                report.template_errors = rendered.template_errors;
                rendered.payload
            }
            Err(e) => {
                self.release(store, &decided, version, now).await;
                return failed(report, Failure::fatal(e.to_string()));
            }
        };
        if ticket == Ticket::DryRun {
            report.status = Status::DryRun;
            report.reason = format!("{}; dry run: not delivered", decided.reason);
            report.payload = Some(payload);
            return report;
        }
        // Within the invocation's time: a timeout longer than what is left
        // would be cut off by Lambda with nothing recorded. Only remote
        // destinations wait on anything; the log and a file are written at
        // once (and `cargo lambda watch`'s first invoke, which compiles the
        // function, arrives past its emulated deadline).
        let capped;
        let left = deadline
            .filter(|_| destination.kind().is_remote())
            .map(|d| d.saturating_duration_since(std::time::Instant::now()));
        let destination = match left {
            Some(left) if left.is_zero() => {
                self.release(store, &decided, version, now).await;
                report.payload = Some(payload);
                return failed(
                    report,
                    Failure::retry("no time left in this invocation to deliver; the retry will (raise the function's timeout if this repeats)"),
                );
            }
            Some(left) if left < destination.timeout => {
                capped = Destination {
                    timeout: left,
                    ..destination.clone()
                };
                &capped
            }
            _ => destination,
        };
        let result = sender.send(destination, alert, &payload).await;
        report.payload = Some(payload);
        match result {
            Ok(receipt) => {
                if let Some(version) = version {
                    // If this fails the alert went out anyway; a retry may repeat it,
                    // which at-least-once allows and losing it would not.
                    let done = Record {
                        value: json!({"state": "done", "receipt": receipt}),
                        expires_at: expiry(now, self.config.settings.state_ttl),
                        due_at: None,
                    };
                    if let Err(e) = store.put(&decided.key, Some(version), done, now).await {
                        tracing::warn!(key = %decided.key, error = %e, "delivered, but could not record it as done: a retry may repeat it");
                    }
                }
                report.status = Status::Sent;
                report.receipt = Some(receipt);
                report
            }
            Err(e) => {
                self.release(store, &decided, version, now).await;
                failed(report, e)
            }
        }
    }

    /// Gives a claim up so a retry can take it at once.
    async fn release(
        &self,
        store: &dyn Store,
        decided: &Decided,
        version: Option<u64>,
        now: DateTime<Utc>,
    ) {
        let Some(version) = version else { return };
        let record = Record {
            value: json!({"state": "released"}),
            expires_at: expiry(now, self.config.settings.state_ttl),
            due_at: None,
        };
        let _ = store.put(&decided.key, Some(version), record, now).await;
    }
}

fn failed(mut report: DeliveryReport, error: Failure) -> DeliveryReport {
    report.status = Status::Failed;
    report.reason = error.message().to_string();
    report.error = Some(error);
    report
}
