//! `kind = "file"`: one JSON line per alert appended to a local file.

use serde::{Deserialize, Serialize};

use super::{DestinationKind, KindSettings, Reach};
use crate::config::Loader;

pub const REACH: Reach = Reach::NotHttp;

/// `kind = "file"`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct File {
    pub path: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Raw {
    path: Option<String>,
}

pub(super) fn check(
    loader: &mut Loader<'_>,
    name: &str,
    start: usize,
    raw: Raw,
) -> Option<KindSettings> {
    let Some(path) = raw.path else {
        loader.needs(name, DestinationKind::File, start, "`path`");
        return None;
    };
    Some(KindSettings::File(File { path }))
}
