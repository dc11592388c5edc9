//! `kind = "slack"`: an incoming webhook, or a bot that threads updates.

use serde::{Deserialize, Serialize};
use toml::Spanned;

use super::{DestinationKind, KindSettings, Reach, SecretRef};
use crate::config::Loader;

pub const REACH: Reach = Reach::Vendor(&["hooks.slack.com", "slack.com"]);

/// `kind = "slack"`: an incoming webhook, or a bot token and channel
/// (`chat.postMessage`, which threads updates under the first alert).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Slack {
    Webhook {
        webhook_url: SecretRef,
    },
    Bot {
        bot_token: SecretRef,
        channel: String,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Raw {
    webhook_url_secret: Option<Spanned<String>>,
    bot_token_secret: Option<Spanned<String>>,
    channel: Option<String>,
}

pub(super) fn check(
    loader: &mut Loader<'_>,
    name: &str,
    start: usize,
    raw: Raw,
) -> Option<KindSettings> {
    let kind = DestinationKind::Slack;
    let webhook_url = loader.secret(&raw.webhook_url_secret, "webhook_url_secret");
    let bot_token = loader.secret(&raw.bot_token_secret, "bot_token_secret");
    if raw.bot_token_secret.is_some() {
        let Some(channel) = raw.channel else {
            loader.needs(name, kind, start, "`channel` with `bot_token_secret`");
            return None;
        };
        return Some(KindSettings::Slack(Slack::Bot {
            bot_token: bot_token?,
            channel,
        }));
    }
    if raw.webhook_url_secret.is_none() {
        loader.needs(
            name,
            kind,
            start,
            "`webhook_url_secret`, or `bot_token_secret` with `channel`",
        );
    }
    Some(KindSettings::Slack(Slack::Webhook {
        webhook_url: webhook_url?,
    }))
}
