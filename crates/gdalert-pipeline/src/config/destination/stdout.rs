//! `kind = "stdout"`: the alert as text on standard output (local runs,
//! CloudWatch Logs in Lambda).

use serde::Deserialize;

use super::{KindSettings, Reach};
use crate::config::Loader;

pub const REACH: Reach = Reach::NotHttp;

/// No settings of its own.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Raw {}

pub(super) fn check(
    _loader: &mut Loader<'_>,
    _name: &str,
    _start: usize,
    _raw: Raw,
) -> Option<KindSettings> {
    Some(KindSettings::Stdout)
}
