//! `kind = "webhook"`: a JSON POST to any public https endpoint.

use serde::{Deserialize, Serialize};
use toml::Spanned;

use super::{url_has_credentials, DestinationKind, KindSettings, Reach, SecretRef};
use crate::config::Loader;

/// The only kind whose host the user picks: any public https host, unless
/// `GDALERT_WEBHOOK_ALLOWED_HOSTS` narrows it.
pub const REACH: Reach = Reach::AnyPublicHost;

/// `kind = "webhook"`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Webhook {
    pub target: WebhookTarget,
    /// Key of the `x-gdalert-signature` HMAC.
    pub hmac_key: Option<SecretRef>,
}

/// Where a generic webhook posts: a URL without credentials, or one kept as
/// a secret.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum WebhookTarget {
    Url(String),
    Secret(SecretRef),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Raw {
    url: Option<Spanned<String>>,
    url_secret: Option<Spanned<String>>,
    hmac_secret: Option<Spanned<String>>,
}

pub(super) fn check(
    loader: &mut Loader<'_>,
    name: &str,
    start: usize,
    raw: Raw,
) -> Option<KindSettings> {
    let hmac_key = loader.secret(&raw.hmac_secret, "hmac_secret");
    let target = match (&raw.url, loader.secret(&raw.url_secret, "url_secret")) {
        (_, Some(secret)) => WebhookTarget::Secret(secret),
        (Some(url), None) => {
            if url_has_credentials(url.get_ref()) {
                loader.problem(
                    url.span().start,
                    format!("inline secret in `url` of destination {name:?}: the URL carries credentials; put it in Secrets Manager and write `url_secret = \"<ARN>\"`"),
                );
            }
            WebhookTarget::Url(url.get_ref().clone())
        }
        (None, None) => {
            if raw.url_secret.is_none() {
                loader.needs(
                    name,
                    DestinationKind::Webhook,
                    start,
                    "`url` or `url_secret`",
                );
            }
            return None;
        }
    };
    Some(KindSettings::Webhook(Webhook { target, hmac_key }))
}
