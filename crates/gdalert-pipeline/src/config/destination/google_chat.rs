//! `kind = "google_chat"`: a Google Chat space's incoming webhook.

use super::incoming_webhook;
use super::{DestinationKind, KindSettings, Reach};
use crate::config::Loader;

pub const REACH: Reach = Reach::Vendor(&["chat.googleapis.com"]);

pub(super) type Raw = incoming_webhook::Raw;

pub(super) fn check(
    loader: &mut Loader<'_>,
    name: &str,
    start: usize,
    raw: Raw,
) -> Option<KindSettings> {
    incoming_webhook::check(loader, name, DestinationKind::GoogleChat, start, raw)
        .map(KindSettings::GoogleChat)
}
