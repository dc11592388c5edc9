//! What silences muted, counted for the digest.
//!
//! Each silence that mutes a delivery has one record (`muted/<silence id>`)
//! counting the alerts it muted, where they would have gone and their first
//! titles. The record is due at the end of its report period (a day, or the
//! silence's end if sooner), not at the next digest run: the destinations
//! hear "muted by silence S: N alerts" once a day, so a mute does not turn
//! into a message every few minutes.
//!
//! The count is kept beside the decision, not inside its batch: a store that
//! cannot count leaves the alert muted (the decision stands) and is logged.
//! The record remembers the last events it counted, so a retried event is
//! not counted twice.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::alert::Alert;
use crate::silence::Silence;
use crate::store::{expiry, Store, StoreError};

use super::decide::{parse, record};
use super::deliver::Ticket;
use super::group::MAX_TITLES;
use super::{Decided, Decision, Mutes, Pipeline, RunOptions, StateKey, MAX_ATTEMPTS};

/// How often a silence's count is reported.
pub(super) const REPORT_EVERY: Duration = Duration::days(1);

/// Events remembered per record so a retry is not counted twice.
const REMEMBERED_EVENTS: usize = 50;

/// One silence's count since its last report.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct MutedState {
    pub silence: String,
    /// The silence in words (reason, owner, ticket, end), as when counted.
    pub about: String,
    pub since: DateTime<Utc>,
    /// When this count is reported.
    pub report_at: DateTime<Utc>,
    pub muted: u64,
    pub titles: Vec<String>,
    /// Where the muted alerts would have gone (the digest goes there).
    pub destinations: BTreeSet<String>,
    #[serde(default)]
    pub events: VecDeque<String>,
}

impl MutedState {
    fn start(silence: &Silence, now: DateTime<Utc>) -> MutedState {
        MutedState {
            silence: silence.id.clone(),
            about: crate::silence::reason(silence),
            since: now,
            report_at: (now + REPORT_EVERY).min(silence.expires_at),
            muted: 0,
            titles: Vec::new(),
            destinations: BTreeSet::new(),
            events: VecDeque::new(),
        }
    }

    /// Counts `alert` (once per event); false when it was counted already.
    fn count(
        &mut self,
        silence: &Silence,
        alert: &Alert,
        destinations: &BTreeSet<String>,
        now: DateTime<Utc>,
    ) -> bool {
        if self.events.contains(&alert.event_id) {
            return false;
        }
        if self.muted == 0 {
            // The first since the last report opens a new period.
            *self = MutedState {
                destinations: std::mem::take(&mut self.destinations),
                events: std::mem::take(&mut self.events),
                ..MutedState::start(silence, now)
            };
        }
        self.muted += 1;
        if self.titles.len() < MAX_TITLES {
            self.titles.push(alert.title.clone());
        }
        self.destinations.extend(destinations.iter().cloned());
        self.events.push_back(alert.event_id.clone());
        while self.events.len() > REMEMBERED_EVENTS {
            self.events.pop_front();
        }
        true
    }
}

impl Pipeline {
    /// The deliveries of `items` a silence muted ((route, destination) →
    /// silence id), each silence's count raised by one for this alert.
    pub(super) async fn tally_mutes(
        &self,
        store: &dyn Store,
        alert: &Alert,
        items: &[(Decided, Ticket)],
        mutes: &Mutes,
        now: DateTime<Utc>,
        opts: &RunOptions,
    ) -> BTreeMap<(String, String), String> {
        let mut muted = BTreeMap::new();
        if mutes.is_empty() {
            return muted;
        }
        let mut by_silence: BTreeMap<&str, (&Silence, BTreeSet<String>)> = BTreeMap::new();
        for (decided, _) in items {
            let Some(silence) = mutes.muting(&decided.route, &decided.destination) else {
                continue;
            };
            // Muted by the silence, not turned away by an earlier gate.
            if decided.decision != Decision::Suppressed
                || decided.reason != crate::silence::reason(silence)
            {
                continue;
            }
            muted.insert(
                (decided.route.clone(), decided.destination.clone()),
                silence.id.clone(),
            );
            by_silence
                .entry(&silence.id)
                .or_insert_with(|| (silence, BTreeSet::new()))
                .1
                .insert(decided.destination.clone());
        }
        if opts.dry_run {
            return muted;
        }
        for (silence, destinations) in by_silence.into_values() {
            if let Err(e) = self
                .count_muted(store, silence, alert, &destinations, now)
                .await
            {
                tracing::warn!(silence = %silence.id, error = %e, "muted alert not counted for the digest");
            }
        }
        muted
    }

    async fn count_muted(
        &self,
        store: &dyn Store,
        silence: &Silence,
        alert: &Alert,
        destinations: &BTreeSet<String>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let key = StateKey::Muted {
            silence: silence.id.clone(),
        }
        .to_string();
        for _ in 0..MAX_ATTEMPTS {
            let read = store.get(&key, now).await?;
            let (mut state, version) = match &read {
                Some(v) => (parse::<MutedState>(&key, v)?, Some(v.version)),
                None => (MutedState::start(silence, now), None),
            };
            if !state.count(silence, alert, destinations, now) {
                return Ok(());
            }
            let ttl = self.config.settings.state_ttl;
            let until = expiry(state.report_at, ttl);
            let next = record(&key, &state, until, Some(state.report_at))?;
            if store.put(&key, version, next, now).await? {
                return Ok(());
            }
        }
        Err(StoreError::Unavailable(format!(
            "{key} kept changing under concurrent runs ({MAX_ATTEMPTS} tries)"
        )))
    }
}
