//! The storm guard: past `storm_threshold` alerts to one destination within
//! `storm_window`, alerts are held for a digest. A pure step over the
//! destination's window record; the caller writes it back.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::alert::Alert;
use crate::config::Settings;
use crate::store::expiry;

use super::group::MAX_TITLES;
use super::{human, Decision};

/// A destination's alerts within one storm window.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct StormState {
    pub destination: String,
    pub window_start: DateTime<Utc>,
    pub window_end: DateTime<Utc>,
    pub sent: u64,
    pub held: u64,
    pub titles: Vec<String>,
}

/// Counts one alert against `destination`'s storm budget; `Some` when it
/// is held instead.
pub(super) fn step(
    settings: &Settings,
    (state, changed): &mut (Option<StormState>, bool),
    destination: &str,
    alert: &Alert,
    now: DateTime<Utc>,
) -> Option<(Decision, String)> {
    let window = settings.storm_window.as_secs().max(1) as i64;
    let start = now.timestamp().div_euclid(window) * window;
    let window_start = DateTime::from_timestamp(start, 0).unwrap_or(now);
    let threshold = u64::from(settings.storm_threshold);
    let s = state.get_or_insert_with(|| StormState {
        destination: destination.to_string(),
        window_start,
        window_end: expiry(window_start, settings.storm_window),
        sent: 0,
        held: 0,
        titles: Vec::new(),
    });
    *changed = true;
    if s.sent < threshold {
        s.sent += 1;
        return None;
    }
    s.held += 1;
    if s.titles.len() < MAX_TITLES {
        s.titles.push(alert.title.clone());
    }
    Some((
        Decision::Grouped,
        format!(
            "storm guard: more than {threshold} alerts to {destination:?} within {}; summarised in the digest",
            human(settings.storm_window)
        ),
    ))
}
