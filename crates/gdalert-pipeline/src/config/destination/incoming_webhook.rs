//! What Teams and Google Chat share: an incoming webhook whose URL is a
//! secret (the URL is the credential).

use serde::{Deserialize, Serialize};
use toml::Spanned;

use super::{DestinationKind, SecretRef};
use crate::config::Loader;

/// `kind = "teams"` and `kind = "google_chat"`: an incoming webhook whose
/// URL is a secret.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IncomingWebhook {
    pub webhook_url: SecretRef,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Raw {
    webhook_url_secret: Option<Spanned<String>>,
}

pub(super) fn check(
    loader: &mut Loader<'_>,
    name: &str,
    kind: DestinationKind,
    start: usize,
    raw: Raw,
) -> Option<IncomingWebhook> {
    if raw.webhook_url_secret.is_none() {
        loader.needs(name, kind, start, "`webhook_url_secret`");
    }
    Some(IncomingWebhook {
        webhook_url: loader.secret(&raw.webhook_url_secret, "webhook_url_secret")?,
    })
}
