//! `kind = "eventbridge"`: the alert as an event on a bus.

use serde::{Deserialize, Serialize};

use super::{is_event_bus, KindSettings, Reach};
use crate::config::Loader;

/// `PutEvents` through the AWS SDK.
pub const REACH: Reach = Reach::NotHttp;

/// `kind = "eventbridge"`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Eventbridge {
    /// Bus name or ARN; `default` when not given.
    pub event_bus: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Raw {
    event_bus: Option<String>,
}

pub(super) fn check(
    loader: &mut Loader<'_>,
    name: &str,
    start: usize,
    raw: Raw,
) -> Option<KindSettings> {
    if let Some(bus) = raw.event_bus.as_deref().filter(|b| !is_event_bus(b)) {
        loader.problem(
            start,
            format!("destination {name:?}: {bus:?} is not an event bus name or ARN (letters, digits, . - _ /, up to 256)"),
        );
    }
    Some(KindSettings::Eventbridge(Eventbridge {
        event_bus: raw.event_bus,
    }))
}
