//! Every key the pipeline writes, as one type.
//!
//! The strings are the stored form (and stay compatible with state written by
//! earlier versions); code builds and reads keys only through [`StateKey`],
//! so the digest dispatches on a variant, never on a string prefix.

use std::fmt;

use sha2::{Digest, Sha256};

/// Longest key written as is. DynamoDB refuses partition keys over 2,048
/// bytes, and group keys carry attacker-written fields (`group_by`): a key
/// over this is shortened to a readable prefix and the SHA-256 of the whole.
pub const MAX_KEY_BYTES: usize = 1024;
const PREFIX_BYTES: usize = 200;

/// `key` itself, or a readable prefix of it with the hash of the whole.
fn bounded(key: String) -> String {
    if key.len() <= MAX_KEY_BYTES {
        return key;
    }
    let mut cut = PREFIX_BYTES;
    while !key.is_char_boundary(cut) {
        cut -= 1;
    }
    let digest = Sha256::digest(key.as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("{}~sha256:{hex}", &key[..cut])
}

/// A record in the state store.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum StateKey {
    /// What is remembered about one finding (`finding/<account>/<region>/<id>`),
    /// one coverage incident (`coverage/<account>/<region>/<resource>`), or one
    /// other event (`event/<id>`): the alert's identity, computed by
    /// [`crate::alert::enrich`] before anything is decided.
    Subject(String),
    /// A route's group window (`group/<route>/<group key>`).
    Group { route: String, group: String },
    /// A destination's storm counter for one window (`storm/<destination>/<window start>`).
    Storm {
        destination: String,
        window_start: i64,
    },
    /// The claim that makes one delivery happen at most once
    /// (`delivery/<alert id>/<route>/<destination>`).
    Delivery {
        alert: String,
        route: String,
        destination: String,
    },
    /// The silences, one record (`silence/all`, see [`crate::silence`]).
    Silences,
    /// What one silence muted since its last report (`muted/<silence id>`).
    Muted { silence: String },
    /// When each unmonitored resource was last reported (`coverage-report/all`).
    CoverageReport,
}

impl StateKey {
    /// Reads a stored key back. Keys no variant produces give `None`.
    pub fn parse(key: &str) -> Option<StateKey> {
        let (kind, rest) = key.split_once('/')?;
        match kind {
            "finding" | "coverage" | "event" => Some(StateKey::Subject(key.to_string())),
            "silence" if rest == "all" => Some(StateKey::Silences),
            "coverage-report" if rest == "all" => Some(StateKey::CoverageReport),
            "muted" => Some(StateKey::Muted {
                silence: rest.to_string(),
            }),
            "group" => {
                let (route, group) = rest.split_once('/')?;
                Some(StateKey::Group {
                    route: route.to_string(),
                    group: group.to_string(),
                })
            }
            "storm" => {
                let (destination, start) = rest.rsplit_once('/')?;
                Some(StateKey::Storm {
                    destination: destination.to_string(),
                    window_start: start.parse().ok()?,
                })
            }
            "delivery" => {
                let (rest, destination) = rest.rsplit_once('/')?;
                let (alert, route) = rest.rsplit_once('/')?;
                Some(StateKey::Delivery {
                    alert: alert.to_string(),
                    route: route.to_string(),
                    destination: destination.to_string(),
                })
            }
            _ => None,
        }
    }

    /// Whether this is a coverage incident's record.
    pub fn is_coverage(&self) -> bool {
        matches!(self, StateKey::Subject(k) if k.starts_with("coverage/"))
    }
}

impl fmt::Display for StateKey {
    /// The stored key: at most [`MAX_KEY_BYTES`] plus a hash, in every store.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let key = match self {
            StateKey::Subject(key) => key.clone(),
            StateKey::Group { route, group } => format!("group/{route}/{group}"),
            StateKey::Storm {
                destination,
                window_start,
            } => format!("storm/{destination}/{window_start}"),
            StateKey::Delivery {
                alert,
                route,
                destination,
            } => format!("delivery/{alert}/{route}/{destination}"),
            StateKey::Silences => crate::silence::SILENCES_KEY.to_string(),
            StateKey::Muted { silence } => format!("muted/{silence}"),
            StateKey::CoverageReport => "coverage-report/all".to_string(),
        };
        f.write_str(&bounded(key))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_read_back_as_written() {
        let keys = [
            StateKey::Subject("finding/123456789012/us-east-1/abc".into()),
            StateKey::Subject("coverage/123456789012/us-east-1/ecs/prod".into()),
            StateKey::Group {
                route: "runtime".into(),
                group: "Execution:Runtime/X|1|prod/a".into(),
            },
            StateKey::Storm {
                destination: "chat".into(),
                window_start: 1_700_000_400,
            },
            StateKey::Delivery {
                alert: "digest/abc".into(),
                route: "runtime".into(),
                destination: "chat".into(),
            },
            StateKey::Silences,
            StateKey::Muted {
                silence: "sil-0a1b2c3d".into(),
            },
            StateKey::CoverageReport,
        ];
        for key in keys {
            assert_eq!(StateKey::parse(&key.to_string()), Some(key));
        }
        assert_eq!(StateKey::parse("plan/x"), None);
        assert!(StateKey::parse("coverage/a/b/c").is_some_and(|k| k.is_coverage()));
    }

    #[test]
    fn attacker_sized_keys_are_bounded_distinct_and_still_read_as_their_kind() {
        // Regression: a group key built from a long attacker-written field
        // exceeded DynamoDB's 2,048-byte key limit; every write failed and
        // the pipeline failed open for good.
        let long = |c: char| StateKey::Group {
            route: "runtime".into(),
            group: std::iter::repeat_n(c, 5000).collect(),
        };
        let (a, b) = (long('a').to_string(), long('b').to_string());
        assert!(
            a.len() <= MAX_KEY_BYTES && b.len() <= MAX_KEY_BYTES,
            "{}",
            a.len()
        );
        assert_ne!(a, b);
        assert!(a.starts_with("group/runtime/aaaa"), "readable prefix: {a}");
        assert!(matches!(StateKey::parse(&a), Some(StateKey::Group { .. })));
        let emoji = StateKey::Group {
            route: "r".into(),
            group: "🙂".repeat(2000),
        };
        assert!(emoji.to_string().len() <= MAX_KEY_BYTES);
    }
}
