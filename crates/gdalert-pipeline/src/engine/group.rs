//! A route's group window: the first alert of a group is sent, the rest are
//! counted for the digest until the window closes. A pure step over the
//! record read; the caller writes it back with the rest of the decision.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::alert::{Alert, Verdict};
use crate::config::Route;
use crate::store::expiry;

use super::{human, Decision};

/// Titles kept for a digest.
pub(super) const MAX_TITLES: usize = 20;

/// A route's group window.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct GroupState {
    pub route: String,
    pub window_end: DateTime<Utc>,
    pub first_event: String,
    pub first_title: String,
    pub since: DateTime<Utc>,
    pub suppressed: u64,
    pub titles: Vec<String>,
}

/// Decides `alert` on `route` against its group window `state` (as read),
/// updating it; `changed` says whether it must be written.
pub(super) fn step(
    route: &Route,
    alert: &Alert,
    verdict: &mut Verdict,
    (state, changed): &mut (Option<GroupState>, bool),
    now: DateTime<Utc>,
) -> (Decision, String) {
    let window = route.group_window;
    match state {
        Some(s) if s.first_event == alert.event_id => {}
        Some(s) if now < s.window_end => {
            s.suppressed += 1;
            if s.titles.len() < MAX_TITLES {
                s.titles.push(alert.title.clone());
            }
            *changed = true;
            return (
                Decision::Grouped,
                format!(
                    "same group as an alert sent less than {} ago; counted for the digest",
                    human(window)
                ),
            );
        }
        previous => {
            let carried = previous.as_ref().map_or(0, |p| p.suppressed);
            verdict.suppressed_since_last += carried;
            *previous = Some(GroupState {
                route: route.name.clone(),
                window_end: expiry(now, window),
                first_event: alert.event_id.clone(),
                first_title: alert.title.clone(),
                since: now,
                suppressed: 0,
                titles: Vec::new(),
            });
            *changed = true;
        }
    }
    (
        Decision::Sent,
        format!("{} alert", verdict.lifecycle.as_str()),
    )
}
