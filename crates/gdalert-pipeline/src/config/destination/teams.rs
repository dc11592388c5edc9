//! `kind = "teams"`: a Microsoft Teams channel through a Workflows (Power
//! Automate) incoming webhook.

use super::incoming_webhook;
use super::{DestinationKind, KindSettings, Reach};
use crate::config::Loader;

/// Workflows webhooks live under Azure Logic Apps and Power Platform hosts;
/// the retired Office 365 connectors under `webhook.office.com`.
pub const REACH: Reach = Reach::Vendor(&[
    "*.logic.azure.com",
    "*.webhook.office.com",
    "*.powerplatform.com",
    "*.api.powerplatform.com",
]);

pub(super) type Raw = incoming_webhook::Raw;

pub(super) fn check(
    loader: &mut Loader<'_>,
    name: &str,
    start: usize,
    raw: Raw,
) -> Option<KindSettings> {
    incoming_webhook::check(loader, name, DestinationKind::Teams, start, raw)
        .map(KindSettings::Teams)
}
