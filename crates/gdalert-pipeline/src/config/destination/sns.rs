//! `kind = "sns"`: an SNS topic (email, SMS or any subscriber of it).

use serde::{Deserialize, Serialize};

use super::{DestinationKind, KindSettings, Reach};
use crate::config::Loader;

/// Published through the AWS SDK, never over a webhook.
pub const REACH: Reach = Reach::NotHttp;

/// `kind = "sns"`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Sns {
    pub topic_arn: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Raw {
    topic_arn: Option<String>,
}

pub(super) fn check(
    loader: &mut Loader<'_>,
    name: &str,
    start: usize,
    raw: Raw,
) -> Option<KindSettings> {
    let Some(topic_arn) = raw.topic_arn else {
        loader.needs(name, DestinationKind::Sns, start, "`topic_arn`");
        return None;
    };
    Some(KindSettings::Sns(Sns { topic_arn }))
}
