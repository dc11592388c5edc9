//! `kind = "pagerduty"`: PagerDuty's Events API v2.

use serde::{Deserialize, Serialize};
use toml::Spanned;

use super::{DestinationKind, KindSettings, Reach, SecretRef};
use crate::config::Loader;

pub const REACH: Reach = Reach::Vendor(&["events.pagerduty.com", "events.eu.pagerduty.com"]);

/// `kind = "pagerduty"` (Events API v2).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Pagerduty {
    pub routing_key: SecretRef,
    /// The Events API URL (`url`); PagerDuty's US endpoint when not given
    /// (`https://events.eu.pagerduty.com/v2/enqueue` for EU accounts).
    pub events_url: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Raw {
    routing_key_secret: Option<Spanned<String>>,
    url: Option<String>,
}

pub(super) fn check(
    loader: &mut Loader<'_>,
    name: &str,
    start: usize,
    raw: Raw,
) -> Option<KindSettings> {
    if raw.routing_key_secret.is_none() {
        loader.needs(
            name,
            DestinationKind::Pagerduty,
            start,
            "`routing_key_secret`",
        );
    }
    Some(KindSettings::Pagerduty(Pagerduty {
        routing_key: loader.secret(&raw.routing_key_secret, "routing_key_secret")?,
        events_url: raw.url,
    }))
}
